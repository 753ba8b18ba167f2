/* SPDX-License-Identifier: ISC */
/*
 * cmd-store.c - STORE and UID STORE (RFC 9051 6.4.6) with UNCHANGEDSINCE
 * (RFC 7162 3.1.3): FLAGS, +FLAGS, -FLAGS (and .SILENT), system flags and
 * keywords. The change runs on a worker (it renames message files); the
 * answer is a FETCH (FLAGS) per message unless .SILENT, and [MODIFIED
 * set] for messages changed since the client's MODSEQ.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "store/index.h"
#include "imap/imap-private.h"

struct store_job {
	struct imap_job job;
	int64_t mailbox_id;
	struct index_uid_range *ranges;
	size_t count;
	struct index_store store;
	char **keywords;
	size_t keyword_count;
	bool silent;
	/* out */
	int ret;
	struct index_store_result result;
	struct index_error error;
};

static void store_run(struct imap_job *job)
{
	struct store_job *j = (struct store_job *)job;

	j->store.keywords = (const char *const *)j->keywords;
	j->store.keyword_count = j->keyword_count;
	j->ret = index_store_flags(job->index, j->mailbox_id, j->ranges, j->count, &j->store,
				   &j->result, &j->error);
}

static void store_free(struct imap_job *job)
{
	struct store_job *j = (struct store_job *)job;

	for (size_t i = 0; i < j->keyword_count; i++)
		free(j->keywords[i]);
	free(j->keywords);
	free(j->ranges);
	index_store_result_clear(&j->result);
	free(j);
}

static void store_fetch(struct imap_cmd *cmd, const struct index_change *c)
{
	struct imap_session *s = cmd->s;
	uint32_t seq = imap_view_seq(s->sel, c->uid);
	struct buf b;

	if (seq == 0)
		return;
	buf_init(&b, 0);
	if (buf_printf(&b, "* %u FETCH (", seq) < 0 ||
	    ((cmd->uid || (s->enabled & IMAP_FEATURE_QRESYNC)) && buf_printf(&b, "UID %u ", c->uid) < 0) ||
	    buf_append_str(&b, "FLAGS ") < 0 || imap_flags_write(&b, c->flags, c->keywords) < 0 ||
	    ((s->enabled & IMAP_FEATURE_CONDSTORE) &&
	     buf_printf(&b, " MODSEQ (%llu)", (unsigned long long)c->modseq) < 0) ||
	    buf_append_str(&b, ")") < 0)
		panic("imap: FETCH does not fit");
	imap_send_buf(s, &b);
	buf_release(&b);
}

static void store_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct store_job *j = (struct store_job *)job;
	struct imap_session *s = cmd->s;
	struct imap_seqset modified;
	struct buf b;
	bool any = false;

	if (j->ret < 0) {
		imap_cmd_refuse(cmd, j->error.reason, j->error.text);
		return;
	}
	if (j->keyword_count > 0 && j->store.mode != INDEX_STORE_REMOVE)
		imap_send_new_keywords(s);
	for (size_t i = 0; i < j->result.count; i++) {
		const struct index_change *c = &j->result.changes[i];
		any |= c->changed;
		/* RFC 7162 3.1.3: with .SILENT, changed messages still get
		 * their new MODSEQ when CONDSTORE is on */
		if (!j->silent || (c->changed && (s->enabled & IMAP_FEATURE_CONDSTORE)))
			store_fetch(cmd, c);
	}
	if (any)
		imap_sync_own_change(s, j->result.highestmodseq);
	if (j->result.modified_count == 0) {
		imap_cmd_ok(cmd, "Store completed.");
		return;
	}
	imap_seqset_init(&modified);
	for (size_t i = 0; i < j->result.modified_count; i++) {
		uint32_t n = cmd->uid ? j->result.modified[i]
				      : imap_view_seq(s->sel, j->result.modified[i]);
		if (n != 0)
			imap_seqset_add(&modified, n);
	}
	buf_init(&b, 0);
	if (imap_seqset_write(&modified, &b) < 0)
		panic("imap: MODIFIED does not fit");
	imap_cmd_ok(cmd, "[MODIFIED %s] Conditional STORE failed", b.data);
	buf_release(&b);
	imap_seqset_clear(&modified);
}

/* store_flags - the flag list (or one flag) into j; -1 = BAD/NO sent. */
static int store_flags(struct imap_cmd *cmd, const struct imap_arg *arg, struct store_job *j)
{
	const struct imap_arg *list = arg;
	unsigned count = 1;
	const char *name;

	if (arg->type == IMAP_ARG_LIST && imap_arg_get_list(arg, &list, &count) < 0)
		return -1;
	j->keywords = xcalloc(count + 1, sizeof(char *));
	for (unsigned i = 0; i < count; i++) {
		unsigned flag;
		if (imap_arg_get_atom(&list[i], &name) < 0)
			return -1;
		if (name[0] == '\\') {
			if (index_flag_lookup(name, &flag) == 1)
				j->store.flags |= flag;
			else if (str_casecmp(name, "\\Recent") != 0)
				return -1; /* RFC 9051 2.3.2: \Recent cannot be stored */
			continue;
		}
		if (!index_keyword_valid(name)) {
			imap_cmd_refuse(cmd, "store.bad-keyword", name);
			return -2;
		}
		j->keywords[j->keyword_count++] = xstrdup(name);
	}
	return 0;
}

/* store_unchangedsince - "(UNCHANGEDSINCE n)" */
static int store_unchangedsince(struct imap_cmd *cmd, const struct imap_arg *arg,
				struct store_job *j)
{
	const struct imap_arg *list;
	unsigned count;

	if (imap_arg_get_list(arg, &list, &count) < 0 || count != 2 ||
	    !imap_arg_atom_equals(&list[0], "UNCHANGEDSINCE") ||
	    imap_arg_get_number64(&list[1], &j->store.unchanged_since) < 0)
		return -1;
	j->store.unchanged_since_set = true;
	cmd->s->enabled |= IMAP_FEATURE_CONDSTORE;
	return 0;
}

void cmd_store(struct imap_cmd *cmd)
{
	struct store_job *j;
	const char *set, *item;
	unsigned i = 1;
	int ret;

	if (cmd->count < 3 || imap_arg_get_atom(&cmd->args[0], &set) < 0) {
		imap_cmd_bad(cmd, "Syntax: STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] (flags)");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->job.run = store_run;
	j->job.done = store_done;
	j->job.free = store_free;
	if (cmd->args[1].type == IMAP_ARG_LIST && store_unchangedsince(cmd, &cmd->args[i++], j) < 0)
		goto bad;
	if (i + 2 != cmd->count)
		goto bad;
	if (imap_arg_get_atom(&cmd->args[i], &item) < 0)
		goto bad;
	j->store.mode = item[0] == '+' ? INDEX_STORE_ADD
			: item[0] == '-' ? INDEX_STORE_REMOVE
					 : INDEX_STORE_REPLACE;
	if (item[0] == '+' || item[0] == '-')
		item++;
	if (str_casecmp(item, "FLAGS.SILENT") == 0)
		j->silent = true;
	else if (str_casecmp(item, "FLAGS") != 0)
		goto bad;
	if ((ret = store_flags(cmd, &cmd->args[i + 1], j)) < 0)
		goto fail;
	if (imap_view_ranges(cmd, set, cmd->uid, &j->ranges, &j->count) < 0) {
		j->ranges = NULL;
		store_free(&j->job);
		return;
	}
	/* the ranges live in the command's pool: the job gets its own copy */
	struct index_uid_range *copy = xmalloc((j->count + 1) * sizeof(*copy));
	memcpy(copy, j->ranges, j->count * sizeof(*copy));
	j->ranges = copy;
	j->mailbox_id = cmd->s->sel->id;
	if (cmd->s->sel->readonly) {
		store_free(&j->job);
		imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	imap_job_submit(cmd, &j->job);
	return;
fail:
	if (ret == -2) {
		j->ranges = NULL;
		store_free(&j->job);
		return;
	}
bad:
	j->ranges = NULL;
	store_free(&j->job);
	imap_cmd_bad(cmd, "Syntax: STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] (flags)");
}
