/* SPDX-License-Identifier: ISC */
/*
 * imap-bodystructure.c - IMAP renderings of a MIME tree.
 *
 * Each function follows one production of the RFC 3501 9 / RFC 9051 9
 * grammar, so reading it against the RFC is the review. Choices the
 * grammar leaves open follow Dovecot, which clients are tested against:
 * lower-case types and parameter names, "7bit" when no encoding is given,
 * ("charset" "us-ascii") for a text part without parameters, RFC 2231
 * parameters sent encoded under "name*", a language list only when there
 * are several, and containers we did not open sent as
 * application/octet-stream.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/addrlist.h"
#include "mail/imap-bodystructure.h"
#include "mail/mime.h"

/* An output buffer whose first refusal sticks, so writers need no error
 * path after every token. */
struct writer {
	struct buf *out;
	bool failed;
};

static void w_add(struct writer *w, const char *s, size_t len)
{
	if (!w->failed && buf_append(w->out, s, len) < 0)
		w->failed = true;
}

static void w_str(struct writer *w, const char *s)
{
	w_add(w, s, strlen(s));
}

/* w_nstring - RFC 3501 9 nstring: quoted when every octet is a
 * QUOTED-CHAR (7-bit, no CR or LF; '"' and '\' escaped), else a literal
 * (which carries any octet but NUL, and C strings have none). */
static void w_nstring(struct writer *w, const char *s)
{
	char head[32];
	size_t len;
	bool quotable = true;

	if (s == NULL) {
		w_str(w, "NIL");
		return;
	}
	len = strlen(s);
	for (size_t i = 0; i < len && quotable; i++) {
		unsigned char c = (unsigned char)s[i];
		quotable = c < 0x80 && c != '\r' && c != '\n';
	}
	if (!quotable) {
		if (str_printf(head, sizeof(head), "{%zu}\r\n", len) < 0)
			w->failed = true;
		w_str(w, head);
		w_add(w, s, len);
		return;
	}
	w_add(w, "\"", 1);
	for (size_t i = 0, start = 0; i <= len; i++) {
		if (i == len || s[i] == '"' || s[i] == '\\') {
			w_add(w, s + start, i - start);
			if (i < len)
				w_add(w, "\\", 1);
			start = i;
		}
	}
	w_add(w, "\"", 1);
}

/* w_string - a string that may not be NIL. */
static void w_string(struct writer *w, const char *s)
{
	w_nstring(w, s == NULL ? "" : s);
}

static void w_number(struct writer *w, uintmax_t n)
{
	char num[24];

	if (str_printf(num, sizeof(num), "%ju", n) < 0)
		w->failed = true;
	w_str(w, num);
}

int imap_string_write(struct buf *out, const char *s)
{
	struct writer w = { .out = out };

	w_nstring(&w, s);
	return w.failed ? -1 : 0;
}

/* Addresses: RFC 3501 9 address = "(" addr-name SP addr-adl SP
 * addr-mailbox SP addr-host ")". */
static void w_address(struct writer *w, const struct addrlist_addr *a)
{
	w_add(w, "(", 1);
	switch (a->kind) {
	case ADDRLIST_GROUP_START:
		/* RFC 3501 7.4.2: host NIL, mailbox the group name */
		w_str(w, "NIL NIL ");
		w_string(w, a->name);
		w_str(w, " NIL");
		break;
	case ADDRLIST_GROUP_END:
		w_str(w, "NIL NIL NIL NIL");
		break;
	case ADDRLIST_MAILBOX:
		w_nstring(w, a->name);
		w_add(w, " ", 1);
		w_nstring(w, a->route);
		w_add(w, " ", 1);
		w_string(w, a->mailbox);
		w_add(w, " ", 1);
		w_string(w, a->domain != NULL ? a->domain : IMAP_MISSING_HOST);
		break;
	}
	w_add(w, ")", 1);
}

/* w_addresses - env-from etc.: "(" 1*address ")" / nil; false when the
 * field held no address (so the caller can fall back to From). */
static bool w_addresses(struct writer *w, struct pool *pool, const char *value, bool fallback_ok)
{
	const struct addrlist_addr *list =
		value == NULL ? NULL : addrlist_parse(pool, value, strlen(value));

	if (list == NULL) {
		if (!fallback_ok)
			w_str(w, "NIL");
		return false;
	}
	w_add(w, "(", 1);
	for (; list != NULL; list = list->next)
		w_address(w, list);
	w_add(w, ")", 1);
	return true;
}

static void w_envelope(struct writer *w, const struct mime_envelope *env)
{
	static const struct mime_envelope empty;
	struct pool *pool = pool_new(1024);

	if (env == NULL)
		env = &empty;
	w_add(w, "(", 1);
	w_nstring(w, env->date);
	w_add(w, " ", 1);
	w_nstring(w, env->subject);
	w_add(w, " ", 1);
	w_addresses(w, pool, env->from, false);
	/* RFC 3501 7.4.2: absent or empty Sender and Reply-To are From */
	w_add(w, " ", 1);
	if (!w_addresses(w, pool, env->sender, true))
		w_addresses(w, pool, env->from, false);
	w_add(w, " ", 1);
	if (!w_addresses(w, pool, env->reply_to, true))
		w_addresses(w, pool, env->from, false);
	w_add(w, " ", 1);
	w_addresses(w, pool, env->to, false);
	w_add(w, " ", 1);
	w_addresses(w, pool, env->cc, false);
	w_add(w, " ", 1);
	w_addresses(w, pool, env->bcc, false);
	w_add(w, " ", 1);
	w_nstring(w, env->in_reply_to);
	w_add(w, " ", 1);
	w_nstring(w, env->message_id);
	w_add(w, ")", 1);
	pool_free(&pool);
}

int imap_envelope_write(struct buf *out, const struct mime_envelope *env)
{
	struct writer w = { .out = out };

	w_envelope(&w, env);
	return w.failed ? -1 : 0;
}

/* body-fld-param = "(" string SP string *(SP string SP string) ")" / nil */
static void w_params(struct writer *w, const struct mime_param *params, unsigned n, bool text)
{
	if (n == 0) {
		/* RFC 2045 5.2: text without a charset is us-ascii */
		w_str(w, text ? "(\"charset\" \"us-ascii\")" : "NIL");
		return;
	}
	w_add(w, "(", 1);
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			w_add(w, " ", 1);
		if (params[i].extended) {
			char *name = xasprintf("%s*", params[i].name);
			w_string(w, name);
			free(name);
		} else
			w_string(w, params[i].name);
		w_add(w, " ", 1);
		w_string(w, params[i].value);
	}
	w_add(w, ")", 1);
}

/* body-fld-dsp = "(" string SP body-fld-param ")" / nil */
static void w_disposition(struct writer *w, const struct mime_part *part)
{
	if (part->disposition == NULL) {
		w_str(w, "NIL");
		return;
	}
	w_add(w, "(", 1);
	w_string(w, part->disposition);
	w_add(w, " ", 1);
	w_params(w, part->disposition_params, part->n_disposition_params, false);
	w_add(w, ")", 1);
}

/* body-fld-lang = nstring / "(" string *(SP string) ")": the tags of
 * Content-Language (RFC 3282 2), comments and white space dropped. */
static void w_language(struct writer *w, const char *value)
{
	char *tags, *tag[64], *save = NULL;
	unsigned n = 0, depth = 0;
	size_t len = 0;

	if (value == NULL) {
		w_str(w, "NIL");
		return;
	}
	tags = xmalloc(strlen(value) + 1);
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0)
			tags[len++] = *p;
	}
	tags[len] = '\0';
	for (char *t = strtok_r(tags, ", \t", &save); t != NULL && n < N_ELEMENTS(tag);
	     t = strtok_r(NULL, ", \t", &save))
		tag[n++] = t;
	if (n == 0)
		w_str(w, "NIL");
	else if (n == 1)
		w_string(w, tag[0]);
	else {
		w_add(w, "(", 1);
		for (unsigned i = 0; i < n; i++) {
			if (i > 0)
				w_add(w, " ", 1);
			w_string(w, tag[i]);
		}
		w_add(w, ")", 1);
	}
	free(tags);
}

/* The extension data both part kinds end with: [body-fld-dsp SP
 * body-fld-lang SP body-fld-loc]. */
static void w_ext_tail(struct writer *w, const struct mime_part *part)
{
	w_add(w, " ", 1);
	w_disposition(w, part);
	w_add(w, " ", 1);
	w_language(w, part->language);
	w_add(w, " ", 1);
	w_nstring(w, part->location);
}

static void w_body(struct writer *w, const struct mime_part *part, bool extended);

/* body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart] */
static void w_multipart(struct writer *w, const struct mime_part *part, bool extended)
{
	for (const struct mime_part *c = part->children; c != NULL; c = c->next)
		w_body(w, c, extended);
	w_add(w, " ", 1);
	w_string(w, part->subtype);
	if (!extended)
		return;
	w_add(w, " ", 1);
	w_params(w, part->params, part->n_params, false);
	w_ext_tail(w, part);
}

/* body-type-1part: basic, msg or text, then [SP body-ext-1part]. */
static void w_leaf(struct writer *w, const struct mime_part *part, bool extended)
{
	bool opaque = (part->flags & MIME_PART_TRUNCATED) != 0;
	bool text = (part->flags & MIME_PART_TEXT) != 0;

	w_string(w, opaque ? "application" : part->type);
	w_add(w, " ", 1);
	w_string(w, opaque ? "octet-stream" : part->subtype);
	/* body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP
	 * body-fld-enc SP body-fld-octets */
	w_add(w, " ", 1);
	w_params(w, part->params, part->n_params, text);
	w_add(w, " ", 1);
	w_nstring(w, part->id);
	w_add(w, " ", 1);
	w_nstring(w, part->description);
	w_add(w, " ", 1);
	w_string(w, part->encoding != NULL ? part->encoding : "7bit");
	w_add(w, " ", 1);
	w_number(w, part->body.vsize);
	if ((part->flags & MIME_PART_MESSAGE) && part->children != NULL) {
		/* body-type-msg: ... SP envelope SP body SP body-fld-lines */
		w_add(w, " ", 1);
		w_envelope(w, part->children->envelope);
		w_add(w, " ", 1);
		w_body(w, part->children, extended);
		w_add(w, " ", 1);
		w_number(w, part->body.lines);
	} else if (text) {
		w_add(w, " ", 1);
		w_number(w, part->body.lines);
	}
	if (!extended)
		return;
	/* body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang
	 * [SP body-fld-loc]]] */
	w_add(w, " ", 1);
	w_nstring(w, part->md5);
	w_ext_tail(w, part);
}

static void w_body(struct writer *w, const struct mime_part *part, bool extended)
{
	w_add(w, "(", 1);
	if ((part->flags & MIME_PART_MULTIPART) && part->children != NULL)
		w_multipart(w, part, extended);
	else
		w_leaf(w, part, extended);
	w_add(w, ")", 1);
}

int imap_bodystructure_write(struct buf *out, const struct mime_part *part, bool extended)
{
	struct writer w = { .out = out };

	w_body(&w, part, extended);
	return w.failed ? -1 : 0;
}

/* Section text specifiers (RFC 3501 6.4.5) and which range they name. */
enum section_what {
	SECTION_CONTENT,
	SECTION_HEADER,
	SECTION_TEXT,
	SECTION_MIME,
};

static const struct {
	const char *name;
	enum section_what what;
} section_texts[] = {
	{ "HEADER", SECTION_HEADER },
	{ "HEADER.FIELDS", SECTION_HEADER },
	{ "HEADER.FIELDS.NOT", SECTION_HEADER },
	{ "TEXT", SECTION_TEXT },
	{ "MIME", SECTION_MIME },
};

/* is_message_part - part is a message: the root, or the encapsulated
 * message of a message/rfc822 part. */
static bool is_message_part(const struct mime_part *part)
{
	return part->parent == NULL || (part->parent->flags & MIME_PART_MESSAGE) != 0;
}

/* message_of - the message a HEADER or TEXT specifier refers to: the root
 * itself, or the encapsulated message of a message/rfc822 part. */
static const struct mime_part *message_of(const struct mime_part *part)
{
	if (part->parent == NULL)
		return part;
	return (part->flags & MIME_PART_MESSAGE) ? part->children : NULL;
}

static void range_join(const struct mime_size *a, const struct mime_size *b, struct mime_size *r)
{
	r->offset = a->offset;
	r->size = a->size + b->size;
	r->vsize = a->vsize + b->vsize;
	r->lines = a->lines + b->lines;
}

/* child_by_number - part number n (from 1) inside entity x: a child of a
 * multipart, or x itself as part 1 of a message that is not multipart. */
static const struct mime_part *child_by_number(const struct mime_part *x, unsigned long n)
{
	if ((x->flags & MIME_PART_MULTIPART) && x->children != NULL) {
		const struct mime_part *c = x->children;
		for (; c != NULL && n > 1; n--)
			c = c->next;
		return c;
	}
	return n == 1 && is_message_part(x) ? x : NULL;
}

int imap_section_find(const struct mime_part *root, const char *section,
		      struct mime_size *range_r, const struct mime_part **part_r,
		      const char **error_r)
{
	const struct mime_part *x = root, *part = NULL;
	enum section_what what = SECTION_CONTENT;
	const char *s = section;

	/* the numeric part: 1*digit *("." 1*digit) */
	while (*s >= '0' && *s <= '9') {
		char *end;
		unsigned long n;

		if (*s == '0') {
			*error_r = "part numbers start at 1";
			return -1;
		}
		errno = 0;
		n = strtoul(s, &end, 10);
		if (part != NULL) {
			/* descend: a message's body, or a multipart's parts */
			if ((part->flags & MIME_PART_MESSAGE) && part->children != NULL)
				x = part->children;
			else if ((part->flags & MIME_PART_MULTIPART) && part->children != NULL)
				x = part;
			else {
				*error_r = "no such part";
				return -1;
			}
		}
		if (errno != 0 || (part = child_by_number(x, n)) == NULL) {
			*error_r = "no such part";
			return -1;
		}
		s = end;
		if (*s != '.')
			break;
		s++;
		if (*s < '0' || *s > '9')
			break;
	}
	if (s > section && s[-1] == '.' && *s == '\0') {
		*error_r = "invalid section";
		return -1;
	}
	if (*s != '\0') {
		size_t i;
		for (i = 0; i < N_ELEMENTS(section_texts); i++) {
			if (str_casecmp(s, section_texts[i].name) == 0)
				break;
		}
		if (i == N_ELEMENTS(section_texts) || (part == NULL && section_texts[i].what == SECTION_MIME) ||
		    (part != NULL && s[-1] != '.')) {
			*error_r = "invalid section";
			return -1;
		}
		what = section_texts[i].what;
	}
	if (part == NULL)
		part = root;
	else if (what == SECTION_HEADER || what == SECTION_TEXT) {
		/* RFC 3501 6.4.5: only after a part of type MESSAGE/RFC822 */
		if (part->parent == NULL || (part = message_of(part)) == NULL) {
			*error_r = "HEADER and TEXT need a message/rfc822 part";
			return -1;
		}
	}
	switch (what) {
	case SECTION_CONTENT:
		if (part == root && section[0] == '\0')
			range_join(&root->header, &root->body, range_r);
		else
			*range_r = part->body;
		break;
	case SECTION_HEADER:
		*range_r = part->header;
		break;
	case SECTION_TEXT:
		*range_r = part->body;
		break;
	case SECTION_MIME:
		*range_r = part->header;
		break;
	}
	*part_r = part;
	return 0;
}
