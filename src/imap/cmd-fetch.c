/* SPDX-License-Identifier: ISC */
/*
 * cmd-fetch.c - FETCH and UID FETCH (RFC 9051 6.4.5): the arguments, the
 * macros ALL/FAST/FULL, BINARY[]/BINARY.SIZE[] (RFC 3516), the
 * CHANGEDSINCE and VANISHED modifiers (RFC 7162 3.1.4, 3.2.6).
 * imap-fetch.c does the work.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "store/index.h"
#include "imap/imap-private.h"

/* Items in one FETCH (far above any client's list). */
#define FETCH_ITEMS_MAX 64

static const struct {
	const char *name;
	enum imap_fetch_type type;
} simple_items[] = {
	{ "UID", IMAP_FETCH_UID },
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "BODY", IMAP_FETCH_BODY },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
};

/* RFC 3501 6.4.5: the RFC822 forms are BODY[...] under other names */
static const struct {
	const char *name;
	const char *spec;
	bool peek;
} rfc822_items[] = {
	{ "RFC822", "", false },
	{ "RFC822.HEADER", "HEADER", true },
	{ "RFC822.TEXT", "TEXT", false },
};

struct fetch_parse {
	struct imap_cmd *cmd;
	struct imap_fetch_item *items;
	unsigned count;
};

static struct imap_fetch_item *item_add(struct fetch_parse *p, enum imap_fetch_type type)
{
	struct imap_fetch_item *it;

	/* "UID FETCH 1 (UID)", "(FLAGS FAST)": a plain item is answered once */
	if (type != IMAP_FETCH_SECTION && type != IMAP_FETCH_BINARY &&
	    type != IMAP_FETCH_BINARY_SIZE) {
		for (unsigned i = 0; i < p->count; i++) {
			if (p->items[i].type == type)
				return &p->items[i];
		}
	}
	if (p->count >= FETCH_ITEMS_MAX)
		return NULL;
	it = &p->items[p->count++];
	memset(it, 0, sizeof(*it));
	it->type = type;
	return it;
}

/* field_name_write - a header field name as an atom when it is one (as
 * the client most likely sent it), else as a string. */
static int field_name_write(struct buf *b, const char *f)
{
	bool atom = f[0] != '\0';

	for (const char *p = f; *p != '\0' && atom; p++)
		atom = *p > ' ' && *p < 127 && strchr("(){%*\"\\]", *p) == NULL;
	return atom ? buf_append_str(b, f) : imap_astring_write(b, f);
}

/* section_label - "BODY[1.HEADER.FIELDS (From To)]" as the response names it. */
static int section_label(struct fetch_parse *p, struct imap_fetch_item *it,
			 const struct imap_section *sec)
{
	struct buf b;

	buf_init(&b, IMAP_LINE_MAX);
	if (buf_printf(&b, "BODY[%s", sec->spec) < 0)
		goto fail;
	if (sec->fields != NULL) {
		const char **fields = p_alloc(p->cmd->pool, (sec->fields_count + 1) * sizeof(char *));
		if (buf_append_str(&b, " (") < 0)
			goto fail;
		for (unsigned i = 0; i < sec->fields_count; i++) {
			const char *f;
			if (imap_arg_get_astring(&sec->fields[i], &f) < 0 ||
			    (i > 0 && buf_append_str(&b, " ") < 0) || field_name_write(&b, f) < 0)
				goto fail;
			fields[i] = f;
		}
		if (buf_append_str(&b, ")") < 0)
			goto fail;
		it->fields = fields;
		it->field_count = sec->fields_count;
	}
	if (buf_append_str(&b, "]") < 0)
		goto fail;
	if (sec->partial && buf_printf(&b, "<%llu>", (unsigned long long)sec->partial_offset) < 0)
		goto fail;
	it->label = p_strdup(p->cmd->pool, b.data);
	buf_release(&b);
	return 0;
fail:
	buf_release(&b);
	return -1;
}

/* section_valid - RFC 9051 9 "section-spec": part numbers, then at most
 * one of HEADER, HEADER.FIELDS(.NOT), TEXT, MIME (MIME only after a part
 * number). The field list itself is the parser's. */
static bool section_valid(const char *spec)
{
	static const char *const texts[] = { "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
					     "TEXT", "MIME" };
	const char *p = spec;
	bool parts = false;

	while (*p >= '1' && *p <= '9') {
		while (*p >= '0' && *p <= '9')
			p++;
		parts = true;
		if (*p == '\0')
			return true;
		if (*p++ != '.')
			return false;
	}
	if (*p == '\0')
		return !parts;
	for (size_t i = 0; i < N_ELEMENTS(texts); i++) {
		if (str_casecmp(p, texts[i]) == 0)
			return parts || i != 4;
	}
	return false;
}

/* parse_binary - BINARY[part]<partial>, BINARY.PEEK[...], BINARY.SIZE[part]
 * (RFC 3516 4.2): part numbers only, no field lists. */
static int parse_binary(struct fetch_parse *p, const struct imap_arg *arg)
{
	const struct imap_section *sec = arg->section;
	bool size = str_casecmp(arg->str, "BINARY.SIZE") == 0;
	struct imap_fetch_item *it;
	const char *c;

	if (!size && str_casecmp(arg->str, "BINARY") != 0 &&
	    str_casecmp(arg->str, "BINARY.PEEK") != 0)
		return -1;
	for (c = sec->spec; (*c >= '0' && *c <= '9') || *c == '.'; c++)
		;
	if (*c != '\0' || sec->fields != NULL || (size && sec->partial) ||
	    !section_valid(sec->spec))
		return -1;
	if ((it = item_add(p, size ? IMAP_FETCH_BINARY_SIZE : IMAP_FETCH_BINARY)) == NULL)
		return -1;
	it->peek = size || str_casecmp(arg->str, "BINARY.PEEK") == 0;
	it->spec = sec->spec;
	it->partial = sec->partial;
	it->partial_offset = sec->partial_offset;
	it->partial_size = sec->partial_size;
	it->label = sec->partial ? p_printf(p->cmd->pool, "%s[%s]<%llu>", size ? "BINARY.SIZE" :
					    "BINARY", sec->spec,
					    (unsigned long long)sec->partial_offset)
				 : p_printf(p->cmd->pool, "%s[%s]", size ? "BINARY.SIZE" : "BINARY",
					    sec->spec);
	return 0;
}

static int parse_section(struct fetch_parse *p, const struct imap_arg *arg)
{
	const struct imap_section *sec = arg->section;
	struct imap_fetch_item *it;
	bool peek;

	if (str_casecmp(arg->str, "BODY") == 0)
		peek = false;
	else if (str_casecmp(arg->str, "BODY.PEEK") == 0)
		peek = true;
	else
		return parse_binary(p, arg);
	if (!section_valid(sec->spec) || (it = item_add(p, IMAP_FETCH_SECTION)) == NULL)
		return -1;
	it->peek = peek;
	it->spec = sec->spec;
	it->partial = sec->partial;
	it->partial_offset = sec->partial_offset;
	it->partial_size = sec->partial_size;
	if (sec->fields != NULL) {
		size_t n = strlen(sec->spec);
		if (n < 13 || (str_casecmp(sec->spec + n - 13, "HEADER.FIELDS") != 0 &&
			       (n < 17 || str_casecmp(sec->spec + n - 17, "HEADER.FIELDS.NOT") != 0)))
			return -1;
		it->fields_not = str_casecmp(sec->spec + n - 4, ".NOT") == 0;
	}
	return section_label(p, it, sec);
}

static int parse_item(struct fetch_parse *p, const struct imap_arg *arg)
{
	const char *name;

	if (arg->type == IMAP_ARG_SECTION)
		return parse_section(p, arg);
	if (imap_arg_get_atom(arg, &name) < 0)
		return -1;
	for (size_t i = 0; i < N_ELEMENTS(simple_items); i++) {
		if (str_casecmp(name, simple_items[i].name) == 0)
			return item_add(p, simple_items[i].type) != NULL ? 0 : -1;
	}
	for (size_t i = 0; i < N_ELEMENTS(rfc822_items); i++) {
		struct imap_fetch_item *it;
		if (str_casecmp(name, rfc822_items[i].name) != 0)
			continue;
		if ((it = item_add(p, IMAP_FETCH_SECTION)) == NULL)
			return -1;
		it->label = rfc822_items[i].name;
		it->spec = rfc822_items[i].spec;
		it->peek = rfc822_items[i].peek;
		return 0;
	}
	/* the macros (RFC 9051 6.4.5) */
	static const enum imap_fetch_type fast[] = { IMAP_FETCH_FLAGS, IMAP_FETCH_INTERNALDATE,
						     IMAP_FETCH_RFC822_SIZE, IMAP_FETCH_ENVELOPE,
						     IMAP_FETCH_BODY };
	size_t n = str_casecmp(name, "FAST") == 0 ? 3
		   : str_casecmp(name, "ALL") == 0 ? 4
		   : str_casecmp(name, "FULL") == 0 ? 5
						    : 0;
	for (size_t i = 0; i < n; i++) {
		if (item_add(p, fast[i]) == NULL)
			return -1;
	}
	return n > 0 ? 0 : -1;
}

static bool has_item(const struct fetch_parse *p, enum imap_fetch_type type)
{
	for (unsigned i = 0; i < p->count; i++) {
		if (p->items[i].type == type)
			return true;
	}
	return false;
}

/* parse_modifiers - "(CHANGEDSINCE n [VANISHED])"; -1 = bad. */
static int parse_modifiers(struct imap_cmd *cmd, const struct imap_arg *arg,
			   struct imap_fetch_request *req, bool *vanished_r)
{
	const struct imap_arg *list;
	unsigned count;

	if (imap_arg_get_list(arg, &list, &count) < 0)
		return -1;
	for (unsigned i = 0; i < count; i++) {
		if (imap_arg_atom_equals(&list[i], "CHANGEDSINCE") && i + 1 < count &&
		    imap_arg_get_number64(&list[i + 1], &req->changedsince) == 0) {
			req->changedsince_set = true;
			i++;
		} else if (imap_arg_atom_equals(&list[i], "VANISHED") && cmd->uid &&
			   (cmd->s->enabled & IMAP_FEATURE_QRESYNC)) {
			*vanished_r = true;
		} else {
			return -1;
		}
	}
	/* RFC 7162 3.2.6: VANISHED only with CHANGEDSINCE */
	return *vanished_r && !req->changedsince_set ? -1 : 0;
}

/* fetch_vanished - UID FETCH ... (CHANGEDSINCE m VANISHED): the UIDs of
 * the set expunged since m, as VANISHED (EARLIER) (RFC 7162 3.2.6). */
static void fetch_vanished(struct imap_cmd *cmd, const char *settext, uint64_t since)
{
	struct imap_session *s = cmd->s;
	struct imap_seqset set, out;
	struct index_changes ch;
	struct index_error err;
	const char *error;
	struct buf b;

	imap_seqset_init(&set);
	imap_seqset_init(&out);
	if (imap_seqset_parse(settext, 0, &set, &error) < 0 ||
	    imap_seqset_resolve(&set, s->sel->uidnext > 0 ? s->sel->uidnext : 1) < 0 ||
	    index_changes_since(s->index, s->sel->id, since, &ch, &err) < 0) {
		imap_seqset_clear(&set);
		return;
	}
	for (size_t i = 0; i < ch.vanished_count; i++) {
		if (imap_seqset_contains(&set, ch.vanished[i]))
			imap_seqset_add(&out, ch.vanished[i]);
	}
	if (out.count > 0) {
		buf_init(&b, 0);
		if (buf_append_str(&b, "* VANISHED (EARLIER) ") < 0 || imap_seqset_write(&out, &b) < 0)
			panic("imap: VANISHED does not fit");
		imap_send_buf(s, &b);
		buf_release(&b);
	}
	index_changes_clear(&ch);
	imap_seqset_clear(&set);
	imap_seqset_clear(&out);
}

void cmd_fetch(struct imap_cmd *cmd)
{
	struct imap_fetch_request *req = p_alloc(cmd->pool, sizeof(*req));
	struct fetch_parse p = { .cmd = cmd };
	const struct imap_arg *list;
	const char *set;
	unsigned count;
	bool vanished = false;

	memset(req, 0, sizeof(*req));
	p.items = p_alloc(cmd->pool, FETCH_ITEMS_MAX * sizeof(*p.items));
	if (cmd->count < 2 || cmd->count > 3 || imap_arg_get_atom(&cmd->args[0], &set) < 0)
		goto bad;
	if (cmd->uid && item_add(&p, IMAP_FETCH_UID) == NULL)
		goto bad;
	if (cmd->args[1].type == IMAP_ARG_LIST) {
		if (imap_arg_get_list(&cmd->args[1], &list, &count) < 0 || count == 0)
			goto bad;
		for (unsigned i = 0; i < count; i++) {
			if (parse_item(&p, &list[i]) < 0)
				goto bad;
		}
	} else if (parse_item(&p, &cmd->args[1]) < 0) {
		goto bad;
	}
	if (cmd->count == 3 && parse_modifiers(cmd, &cmd->args[2], req, &vanished) < 0)
		goto bad;
	if (has_item(&p, IMAP_FETCH_MODSEQ) || req->changedsince_set)
		cmd->s->enabled |= IMAP_FEATURE_CONDSTORE; /* RFC 7162 3.1 */
	/* RFC 7162 3.1.4.1: once CONDSTORE is on, FLAGS come with MODSEQ */
	if ((cmd->s->enabled & IMAP_FEATURE_CONDSTORE) && has_item(&p, IMAP_FETCH_FLAGS) &&
	    !has_item(&p, IMAP_FETCH_MODSEQ) && item_add(&p, IMAP_FETCH_MODSEQ) == NULL)
		goto bad;
	req->items = p.items;
	req->count = p.count;
	if (imap_view_ranges(cmd, set, cmd->uid, &req->ranges, &req->range_count) < 0)
		return;
	if (vanished)
		fetch_vanished(cmd, set, req->changedsince);
	imap_fetch_start(cmd, req);
	return;
bad:
	imap_cmd_bad(cmd, "Invalid FETCH arguments");
}
