/* SPDX-License-Identifier: ISC */
/*
 * cmd-list.c - LIST (RFC 9051 6.3.9) with LIST-EXTENDED (RFC 5258:
 * selection SUBSCRIBED, SPECIAL-USE, RECURSIVEMATCH with CHILDINFO; RETURN
 * SUBSCRIBED, CHILDREN, SPECIAL-USE, several patterns), LIST-STATUS (RFC
 * 5819), SPECIAL-USE (RFC 6154) and CHILDREN (RFC 3348); and LSUB (RFC
 * 3501 6.3.9, deprecated by RFC 9051 but still answered).
 *
 * The answer is built on a worker (STATUS counts sync each mailbox) as
 * lines in one buffer, sent on the loop. Special-use attributes and
 * \HasChildren/\HasNoChildren are always given: Thunderbird and iOS read
 * them from a plain LIST. A level that has children but is no mailbox
 * itself ("a" of "a/b") is shown as \Noselect \HasChildren to '%'
 * patterns, so hierarchy-walking clients find its children.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/utf7.h"
#include "store/index.h"
#include "imap/imap-private.h"

/* Patterns in one LIST (RFC 5258 allows a list of them). */
#define LIST_PATTERNS_MAX 32
/* The whole answer for 1000 mailboxes with STATUS fits easily. */
#define LIST_OUTPUT_MAX (4 * 1024 * 1024)

enum list_opt {
	LIST_SEL_SUBSCRIBED = 0x01,
	LIST_SEL_SPECIAL_USE = 0x02,
	LIST_RET_SUBSCRIBED = 0x04,
	LIST_RET_STATUS = 0x08,
	LIST_LSUB = 0x10,
	LIST_SEL_RECURSIVE = 0x20, /* RECURSIVEMATCH: parents get CHILDINFO */
};

struct list_job {
	struct imap_job job;
	char *patterns[LIST_PATTERNS_MAX];
	unsigned pattern_count;
	unsigned opts;          /* enum list_opt */
	unsigned status_items;  /* LIST_RET_STATUS */
	bool utf8;
	/* out */
	int ret;
	struct index_error error;
	struct buf out;         /* CRLF-separated lines */
};

static bool list_matches(const struct list_job *j, const char *name, bool virtual_only)
{
	for (unsigned i = 0; i < j->pattern_count; i++) {
		if (virtual_only && strchr(j->patterns[i], '%') == NULL)
			continue;
		if (imap_mailbox_match(j->patterns[i], name))
			return true;
	}
	return false;
}

/* list_line - one LIST/LSUB line; childinfo adds RFC 5258's
 * ("CHILDINFO" (...)) naming the selection options a child matched. */
static int list_line(struct list_job *j, const char *attrs, const char *name, bool childinfo)
{
	if (buf_printf(&j->out, "* %s (%s) \"/\" ", (j->opts & LIST_LSUB) ? "LSUB" : "LIST",
		       attrs) < 0 ||
	    imap_mailbox_name_write(j->utf8, name, &j->out) < 0)
		return -1;
	if (childinfo &&
	    (buf_append_str(&j->out, " (\"CHILDINFO\" (") < 0 ||
	     ((j->opts & LIST_SEL_SUBSCRIBED) && buf_append_str(&j->out, "\"SUBSCRIBED\"") < 0) ||
	     ((j->opts & LIST_SEL_SUBSCRIBED) && (j->opts & LIST_SEL_SPECIAL_USE) &&
	      buf_append_str(&j->out, " ") < 0) ||
	     ((j->opts & LIST_SEL_SPECIAL_USE) && buf_append_str(&j->out, "\"SPECIAL-USE\"") < 0) ||
	     buf_append_str(&j->out, "))") < 0))
		return -1;
	return buf_append_str(&j->out, "\r\n");
}

int imap_list_attrs(const struct index_mailbox_info *m, bool subscribed, char *attrs, size_t size)
{
	attrs[0] = '\0';
	if (m->nonexistent) {
		if (str_append(attrs, "\\NonExistent", size) < 0)
			return -1;
	} else if (str_append(attrs, m->has_children ? "\\HasChildren" : "\\HasNoChildren",
			      size) < 0) {
		return -1;
	}
	if (m->special_use != NULL &&
	    (str_append(attrs, " ", size) < 0 || str_append(attrs, m->special_use, size) < 0))
		return -1;
	if (subscribed && m->subscribed && str_append(attrs, " \\Subscribed", size) < 0)
		return -1;
	return 0;
}

/* list_selected - whether m passes the selection options (RFC 5258 3):
 * subscribed names (which may be no mailbox) or mailboxes, special use. */
static bool list_selected(const struct list_job *j, const struct index_mailbox_info *m)
{
	bool sub_sel = (j->opts & (LIST_SEL_SUBSCRIBED | LIST_LSUB)) != 0;

	if (sub_sel && !m->subscribed)
		return false;
	if (m->nonexistent && !sub_sel)
		return false;
	return (j->opts & LIST_SEL_SPECIAL_USE) == 0 || m->special_use != NULL;
}

/* list_is_below - name is a child (at any depth) of parent (len bytes). */
static bool list_is_below(const char *name, const char *parent, size_t len)
{
	return strncmp(name, parent, len) == 0 && name[len] == '/';
}

/* list_child_selected - RECURSIVEMATCH: some name below parent passes the
 * selection, so parent is listed with CHILDINFO (RFC 5258 3). */
static bool list_child_selected(const struct list_job *j, const struct index_mailbox_info *list,
				size_t count, const char *parent, size_t len)
{
	if ((j->opts & LIST_SEL_RECURSIVE) == 0)
		return false;
	for (size_t i = 0; i < count; i++) {
		if (list_is_below(list[i].name, parent, len) && list_selected(j, &list[i]))
			return true;
	}
	return false;
}

static int list_status(struct list_job *j, struct index *index, const char *name)
{
	struct index_status st;
	struct index_error err;

	if (index_mailbox_status(index, name, 0, &st, &err) < 0)
		return 0; /* vanished meanwhile: no STATUS for it */
	if (buf_append_str(&j->out, "* STATUS ") < 0 ||
	    imap_mailbox_name_write(j->utf8, name, &j->out) < 0 ||
	    buf_append_str(&j->out, " ") < 0 || imap_status_write(&j->out, j->status_items, &st) < 0 ||
	    buf_append_str(&j->out, "\r\n") < 0)
		return -1;
	return 0;
}

/* list_entry - one mailbox (or subscription) of the index; a parent
 * that only has selected children with RECURSIVEMATCH. */
static int list_entry(struct list_job *j, struct index *index,
		      const struct index_mailbox_info *list, size_t count,
		      const struct index_mailbox_info *m)
{
	char attrs[256];
	bool childinfo;

	if (!list_matches(j, m->name, false))
		return 0;
	childinfo = list_child_selected(j, list, count, m->name, strlen(m->name));
	if (!list_selected(j, m) && !childinfo)
		return 0;
	attrs[0] = '\0';
	if (j->opts & LIST_LSUB) {
		if (m->nonexistent && str_append(attrs, "\\Noselect", sizeof(attrs)) < 0)
			return -1;
		return list_line(j, attrs, m->name, false);
	}
	if (imap_list_attrs(m, (j->opts & (LIST_SEL_SUBSCRIBED | LIST_RET_SUBSCRIBED)) != 0,
			    attrs, sizeof(attrs)) < 0 ||
	    list_line(j, attrs, m->name, childinfo) < 0)
		return -1;
	if ((j->opts & LIST_RET_STATUS) && !m->nonexistent)
		return list_status(j, index, m->name);
	return 0;
}

/* list_known - whether name is a mailbox (or, with subscriptions too, a
 * subscribed name): list_entry() has shown it already. */
static bool list_known(const struct index_mailbox_info *list, size_t count, const char *name,
		       size_t len, bool subscriptions)
{
	for (size_t i = 0; i < count; i++) {
		if ((subscriptions || !list[i].nonexistent) && strlen(list[i].name) == len &&
		    strncmp(list[i].name, name, len) == 0)
			return true;
	}
	return false;
}

/* list_parent_line - one hierarchy level that is no mailbox (already
 * known not to be listed): without RECURSIVEMATCH "a" of a mailbox "a/b"
 * (\Noselect); with it, "a" of a subscribed "a/b", with CHILDINFO
 * (RFC 5258 3), \NonExistent unless a mailbox lies below it. */
static int list_parent_line(struct list_job *j, const struct index_mailbox_info *list,
			    size_t count, const char *level, bool recursive)
{
	bool real = false;

	if (!recursive)
		return list_matches(j, level, true) ?
			       list_line(j, "\\Noselect \\HasChildren", level, false) : 0;
	if (!list_matches(j, level, false))
		return 0;
	for (size_t k = 0; k < count && !real; k++)
		real = !list[k].nonexistent && list_is_below(list[k].name, level, strlen(level));
	return list_line(j, real ? "\\Noselect \\HasChildren" : "\\NonExistent", level, true);
}

/* list_parents - the levels above the listed names that are not listed
 * themselves, each once: mailboxes' parents, or with RECURSIVEMATCH the
 * parents of the selected (subscribed) names. */
static int list_parents(struct list_job *j, const struct index_mailbox_info *list, size_t count,
			bool recursive)
{
	char **seen = NULL;
	size_t nseen = 0;
	int ret = 0;

	for (size_t i = 0; i < count && ret == 0; i++) {
		const char *name = list[i].name;
		if (recursive ? !list_selected(j, &list[i]) : list[i].nonexistent)
			continue;
		for (const char *p = strchr(name, '/'); p != NULL && ret == 0;
		     p = strchr(p + 1, '/')) {
			size_t len = (size_t)(p - name);
			bool dup = list_known(list, count, name, len, recursive);
			for (size_t k = 0; k < nseen && !dup; k++)
				dup = strlen(seen[k]) == len && strncmp(seen[k], name, len) == 0;
			if (dup)
				continue;
			seen = xrealloc(seen, (nseen + 1) * sizeof(*seen));
			seen[nseen++] = xstrndup(name, len);
			ret = list_parent_line(j, list, count, seen[nseen - 1], recursive);
		}
	}
	for (size_t k = 0; k < nseen; k++)
		free(seen[k]);
	free(seen);
	return ret;
}

static void list_run(struct imap_job *job)
{
	struct list_job *j = (struct list_job *)job;
	struct index_mailbox_info *list = NULL;
	size_t count = 0;

	buf_init(&j->out, LIST_OUTPUT_MAX);
	if ((j->ret = index_mailbox_list(job->index, &list, &count, &j->error)) < 0)
		return;
	for (size_t i = 0; i < count && j->ret == 0; i++)
		j->ret = list_entry(j, job->index, list, count, &list[i]);
	if (j->ret == 0 && (j->opts & (LIST_LSUB | LIST_SEL_SUBSCRIBED | LIST_SEL_SPECIAL_USE)) == 0)
		j->ret = list_parents(j, list, count, false);
	else if (j->ret == 0 && (j->opts & LIST_SEL_RECURSIVE))
		j->ret = list_parents(j, list, count, true);
	if (j->ret < 0) {
		j->error.reason = "store.io-error";
		(void)snprintf(j->error.text, sizeof(j->error.text), "LIST answer too large");
	}
	index_mailbox_list_free(&list, count);
}

static void list_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct list_job *j = (struct list_job *)job;
	const char *p = j->out.data, *end = p + j->out.len;

	if (j->ret < 0) {
		imap_cmd_refuse(cmd, j->error.reason, j->error.text);
		return;
	}
	/* lines may hold literals: sent as built, logged in short */
	if (j->out.len > 0) {
		imap_protolog(cmd->s, '>', "%.*s", (int)(end - p), p);
		imap_write(cmd->s, p, (size_t)(end - p));
	}
	imap_cmd_ok(cmd, "%s completed.", cmd->def->name);
}

static void list_free(struct imap_job *job)
{
	struct list_job *j = (struct list_job *)job;

	for (unsigned i = 0; i < j->pattern_count; i++)
		free(j->patterns[i]);
	buf_release(&j->out);
	free(j);
}

/* list_pattern_add - reference + pattern as UTF-8 (RFC 3501 6.3.8). */
static int list_pattern_add(struct imap_cmd *cmd, struct list_job *j, const char *ref,
			    const struct imap_arg *arg)
{
	const char *pattern, *error;
	struct buf b;

	if (imap_arg_get_astring(arg, &pattern) < 0 || j->pattern_count >= LIST_PATTERNS_MAX)
		return -1;
	buf_init(&b, 2 * IMAP_MAILBOX_NAME_MAX);
	if (ref[0] != '\0' && (buf_append_str(&b, ref) < 0 ||
			       (ref[strlen(ref) - 1] != '/' && pattern[0] != '/' &&
				buf_append_str(&b, "/") < 0))) {
		buf_release(&b);
		return -1;
	}
	if (cmd->s->enabled & IMAP_FEATURE_UTF8_NAMES) {
		if (buf_append_str(&b, pattern) < 0) {
			buf_release(&b);
			return -1;
		}
	} else if (utf7_decode(pattern, strlen(pattern), &b, &error) < 0 &&
		   buf_append_str(&b, pattern) < 0) {
		buf_release(&b);
		return -1;
	}
	j->patterns[j->pattern_count++] = xstrdup(b.len > 0 ? b.data : "");
	buf_release(&b);
	return 0;
}

static int list_options(struct imap_cmd *cmd, struct list_job *j, const struct imap_arg *arg,
			bool selection)
{
	const struct imap_arg *list;
	unsigned count;

	if (imap_arg_get_list(arg, &list, &count) < 0)
		return -1;
	for (unsigned i = 0; i < count; i++) {
		if (selection && imap_arg_atom_equals(&list[i], "SUBSCRIBED"))
			j->opts |= LIST_SEL_SUBSCRIBED;
		else if (selection && imap_arg_atom_equals(&list[i], "SPECIAL-USE"))
			j->opts |= LIST_SEL_SPECIAL_USE;
		else if (selection && imap_arg_atom_equals(&list[i], "RECURSIVEMATCH"))
			j->opts |= LIST_SEL_RECURSIVE;
		else if (selection && imap_arg_atom_equals(&list[i], "REMOTE"))
			continue; /* no remote mailboxes */
		else if (!selection && imap_arg_atom_equals(&list[i], "SUBSCRIBED"))
			j->opts |= LIST_RET_SUBSCRIBED;
		else if (!selection && (imap_arg_atom_equals(&list[i], "CHILDREN") ||
					imap_arg_atom_equals(&list[i], "SPECIAL-USE")))
			continue; /* always given */
		else if (!selection && imap_arg_atom_equals(&list[i], "STATUS") && i + 1 < count &&
			 imap_status_items_parse(&list[i + 1], &j->status_items) == 0) {
			j->opts |= LIST_RET_STATUS;
			i++;
		} else
			return -1;
	}
	return 0;
}

static int list_parse(struct imap_cmd *cmd, struct list_job *j, bool lsub)
{
	const struct imap_arg *args = cmd->args, *plist;
	unsigned n = cmd->count, i = 0, pcount;
	const char *ref;

	if (!lsub && i < n && args[i].type == IMAP_ARG_LIST &&
	    list_options(cmd, j, &args[i++], true) < 0)
		return -1;
	/* RFC 5258 3: RECURSIVEMATCH alone (or with REMOTE) is BAD */
	if ((j->opts & LIST_SEL_RECURSIVE) &&
	    (j->opts & (LIST_SEL_SUBSCRIBED | LIST_SEL_SPECIAL_USE)) == 0)
		return -1;
	if (i + 2 > n || imap_arg_get_astring(&args[i++], &ref) < 0)
		return -1;
	if (!lsub && args[i].type == IMAP_ARG_LIST) {
		if (imap_arg_get_list(&args[i++], &plist, &pcount) < 0 || pcount == 0)
			return -1;
		for (unsigned k = 0; k < pcount; k++) {
			if (list_pattern_add(cmd, j, ref, &plist[k]) < 0)
				return -1;
		}
	} else if (list_pattern_add(cmd, j, ref, &args[i++]) < 0) {
		return -1;
	}
	if (!lsub && i + 2 == n && imap_arg_atom_equals(&args[i], "RETURN")) {
		if (list_options(cmd, j, &args[i + 1], false) < 0)
			return -1;
		i += 2;
	}
	return i == n ? 0 : -1;
}

static void list_start(struct imap_cmd *cmd, bool lsub)
{
	struct list_job *j = xcalloc(1, sizeof(*j));

	j->job.run = list_run;
	j->job.done = list_done;
	j->job.free = list_free;
	j->utf8 = (cmd->s->enabled & IMAP_FEATURE_UTF8_NAMES) != 0;
	if (lsub)
		j->opts |= LIST_LSUB;
	if (list_parse(cmd, j, lsub) < 0) {
		list_free(&j->job);
		imap_cmd_bad(cmd, lsub ? "Syntax: LSUB reference pattern"
				       : "Syntax: LIST [(options)] reference pattern "
					 "[RETURN (options)]");
		return;
	}
	/* LIST "" "": the hierarchy delimiter (RFC 9051 6.3.9) */
	if (!lsub && j->pattern_count == 1 && j->patterns[0][0] == '\0') {
		list_free(&j->job);
		imap_untagged(cmd->s, "LIST (\\Noselect) \"/\" \"\"");
		imap_cmd_ok(cmd, "%s completed.", cmd->def->name);
		return;
	}
	imap_job_submit(cmd, &j->job);
}

void cmd_list(struct imap_cmd *cmd)
{
	list_start(cmd, false);
}

void cmd_lsub(struct imap_cmd *cmd)
{
	list_start(cmd, true);
}
