/* SPDX-License-Identifier: ISC */
/*
 * imap-mailbox.c - mailbox names between the wire and the index, and
 * LIST's wildcards.
 *
 * Every name a client sends goes through imap_mailbox_name_in(): modified
 * UTF-7 decoded strictly (mail/utf7.h: one encoding per name), then
 * mail/mailbox-name.c's rules, so ".." levels, empty levels, control
 * characters and names too long for a Maildir++ folder never reach the
 * store. There is no way to name another account's mailbox: names are
 * relative to the account's own Maildir and '/' is only a level
 * separator, never a path.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/mailbox-name.h"
#include "mail/utf7.h"
#include "store/index.h"
#include "imap/imap-private.h"


int imap_mailbox_name_in(struct imap_cmd *cmd, const struct imap_arg *arg, char **name_r,
			 const char **detail_r)
{
	const char *sent, *error;
	char *storage;
	struct buf b;

	if (imap_arg_get_astring(arg, &sent) < 0) {
		*detail_r = "mailbox name is not a string";
		return -1;
	}
	if (mailbox_name_is_inbox(sent)) {
		*name_r = p_strdup(cmd->pool, "INBOX");
		return 0;
	}
	buf_init(&b, IMAP_MAILBOX_NAME_MAX);
	if (cmd->s->enabled & IMAP_FEATURE_UTF8_NAMES) {
		if (!utf8_valid(sent, strlen(sent)) || buf_append_str(&b, sent) < 0) {
			buf_release(&b);
			*detail_r = "invalid UTF-8 or too long";
			return -1;
		}
	} else if (utf7_decode(sent, strlen(sent), &b, &error) < 0) {
		buf_release(&b);
		*detail_r = "invalid modified UTF-7 (RFC 3501 5.1.3)";
		return -1;
	}
	const char *name = b.len > 0 ? b.data : "";
	if (mailbox_name_validate(name, &error) < 0 ||
	    mailbox_name_to_storage(name, &storage, &error) < 0) {
		buf_release(&b);
		*detail_r = error;
		return -1;
	}
	free(storage);
	*name_r = p_strdup(cmd->pool, name);
	buf_release(&b);
	return 0;
}

int imap_mailbox_name_out(const struct imap_session *s, const char *name, struct buf *out)
{
	return imap_mailbox_name_write((s->enabled & IMAP_FEATURE_UTF8_NAMES) != 0, name, out);
}

int imap_mailbox_name_write(bool utf8, const char *name, struct buf *out)
{
	const char *error;
	struct buf b;
	int ret;

	if (utf8)
		return imap_astring_write_utf8(out, name);
	buf_init(&b, 4 * IMAP_MAILBOX_NAME_MAX);
	if (utf7_encode(name, strlen(name), &b, &error) < 0) {
		buf_release(&b);
		return -1;
	}
	ret = imap_astring_write(out, b.len > 0 ? b.data : "");
	buf_release(&b);
	return ret;
}

/* match_here - wildcard match as dynamic programming over (pattern
 * prefix, name prefix): linear in both, whatever the pattern, so no
 * "*a*a*a*" can make it backtrack. */
static bool match_here(const char *p, const char *n)
{
	size_t k = strlen(n);
	bool *prev = xcalloc(k + 1, sizeof(bool)), *cur = xcalloc(k + 1, sizeof(bool)), *t;
	bool ok;

	prev[0] = true;
	for (; *p != '\0'; p++) {
		cur[0] = prev[0] && (*p == '*' || *p == '%');
		for (size_t j = 1; j <= k; j++) {
			if (*p == '*')
				cur[j] = prev[j] || cur[j - 1];
			else if (*p == '%')
				cur[j] = prev[j] || (cur[j - 1] && n[j - 1] != MAILBOX_SEPARATOR);
			else
				cur[j] = prev[j - 1] && *p == n[j - 1];
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	ok = prev[k];
	free(prev);
	free(cur);
	return ok;
}

bool imap_mailbox_match(const char *pattern, const char *name)
{
	/* RFC 3501 5.1: INBOX is case-insensitive, also as a pattern's first
	 * level ("inbox", "Inbox/%") */
	if (str_has_prefix(name, "INBOX") && str_ncasecmp(pattern, "INBOX", 5) == 0 &&
	    (pattern[5] == '\0' || pattern[5] == MAILBOX_SEPARATOR || pattern[5] == '*' ||
	     pattern[5] == '%'))
		return match_here(pattern + 5, name + 5);
	return match_here(pattern, name);
}

/* ---- one-call mailbox operations on a worker ---- */

struct op_job {
	struct imap_job job;
	imap_mailbox_op_fn *fn;
	struct imap_mailbox_op op;
	int ret;
	struct index_error error;
};

static void op_run(struct imap_job *job)
{
	struct op_job *j = (struct op_job *)job;

	j->ret = j->fn(job->index, &j->op, &j->error);
}

static void op_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct op_job *j = (struct op_job *)job;

	if (j->ret < 0) {
		/* what a user simply got wrong is no event for the journal */
		if (strcmp(j->error.reason, "store.no-mailbox") == 0 ||
		    strcmp(j->error.reason, "store.mailbox-exists") == 0 ||
		    strcmp(j->error.reason, "store.has-children") == 0)
			imap_cmd_reason(cmd, j->error.reason, NULL);
		else
			imap_cmd_refuse(cmd, j->error.reason, j->error.text);
		return;
	}
	imap_cmd_ok(cmd, "%s completed.", cmd->def->name);
}

static void op_free(struct imap_job *job)
{
	struct op_job *j = (struct op_job *)job;

	free(j->op.name);
	free(j->op.name2);
	free(j);
}

void imap_mailbox_op_submit(struct imap_cmd *cmd, imap_mailbox_op_fn *fn, const char *name,
			    const char *name2, const char *special_use, bool flag)
{
	struct op_job *j = xcalloc(1, sizeof(*j));

	j->job.run = op_run;
	j->job.done = op_done;
	j->job.free = op_free;
	j->fn = fn;
	j->op.name = xstrdup(name);
	j->op.name2 = name2 != NULL ? xstrdup(name2) : NULL;
	j->op.special_use = special_use;
	j->op.flag = flag;
	imap_job_submit(cmd, &j->job);
}
