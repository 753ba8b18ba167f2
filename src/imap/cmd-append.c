/* SPDX-License-Identifier: ISC */
/*
 * cmd-append.c - APPEND (RFC 9051 6.3.12) with LITERAL+ (RFC 7888),
 * APPENDLIMIT (RFC 7889), UIDPLUS's APPENDUID (RFC 4315 3) and quotas
 * (RFC 9208: NO [OVERQUOTA]).
 *
 * Messages up to the parser's buffer size (64 KiB) arrive as a buffered
 * literal. Larger ones are announced as a LITERAL event before the
 * command is complete: imap_append_literal() accepts them into an
 * unlinked spool file in the account's Maildir tmp/ (O_TMPFILE: nothing
 * is left behind when the session dies), and the bytes are written there
 * as they arrive, so no message is ever held in memory. The store then
 * copies it durably into the mailbox on a worker.
 */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "store/index.h"
#include "store/maildir.h"
#include "imap/imap-private.h"

#include <fcntl.h>
#include <unistd.h>

struct imap_append_spool {
	int fd;
	uint64_t size, written;
	bool failed;
};

void imap_append_spool_free(struct imap_append_spool **_spool)
{
	struct imap_append_spool *sp = *_spool;

	if (sp == NULL)
		return;
	*_spool = NULL;
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp);
}

/* spool_open - an anonymous file in the Maildir's tmp/ (same file system
 * as the mail, so the store's copy is cheap). */
static int spool_open(struct imap_session *s)
{
	char dir[4096];
	int fd;

	if (s->root == NULL || str_printf(dir, sizeof(dir), "%s/tmp", s->root) < 0)
		return -1;
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		log_warn("imap append sid=%s: spool in %s: %s", s->sid, dir, strerror(errno));
	return fd;
}

int imap_append_literal(struct imap_session *s)
{
	const struct imap_command *pc = imap_parser_command(s->parser);
	const struct imap_parser_literal *lit = imap_parser_get_literal(s->parser);
	char line[IMAP_LINE_MAX];
	const char *why = NULL;
	int fd = -1;

	if (strcmp(pc->name, "APPEND") != 0)
		why = "BAD [TOOBIG] Literal too large for this command";
	else if (s->state != IMAP_STATE_AUTH && s->state != IMAP_STATE_SELECTED)
		why = "BAD Log in first";
	else if (s->spool != NULL)
		why = "BAD One message per APPEND";
	else if ((fd = spool_open(s)) < 0)
		why = "NO [SERVERBUG] Internal error, the server log has the details";
	if (why != NULL) {
		(void)snprintf(line, sizeof(line), "%s %s", pc->tag, why);
		imap_send_line(s, line, strlen(line));
		return -1;
	}
	s->spool = xcalloc(1, sizeof(*s->spool));
	s->spool->fd = fd;
	s->spool->size = lit->size;
	return 0;
}

void imap_append_literal_data(struct imap_session *s, const void *data, size_t len)
{
	struct imap_append_spool *sp = s->spool;

	if (sp == NULL || sp->failed)
		return;
	if (write_all(sp->fd, data, len) < 0) {
		log_warn("imap append sid=%s: spool write: %s", s->sid, strerror(errno));
		sp->failed = true;
		return;
	}
	sp->written += len;
}

struct append_job {
	struct imap_job job;
	char *mailbox;
	unsigned flags;
	char **keywords;
	size_t keyword_count;
	int64_t internaldate;
	struct maildir_source src;
	char *data;                       /* buffered literal (copy) */
	struct imap_append_spool *spool;  /* or the spool file */
	/* out */
	int ret;                          /* -1 error, 0 no mailbox, 1 stored */
	uint32_t uidvalidity, uid;
	struct index_error error;
};

static void append_run(struct imap_job *job)
{
	struct append_job *j = (struct append_job *)job;
	struct index_append a = {
		.src = &j->src,
		.flags = j->flags,
		.keywords = (const char *const *)j->keywords,
		.keyword_count = j->keyword_count,
		.internaldate = j->internaldate,
	};
	int64_t id;

	j->ret = index_mailbox_find(job->index, j->mailbox, &id);
	if (j->ret <= 0) {
		if (j->ret < 0) {
			j->error.reason = "store.io-error";
			(void)snprintf(j->error.text, sizeof(j->error.text), "mailbox lookup failed");
		}
		return;
	}
	if (index_append(job->index, id, &a, &j->uidvalidity, &j->uid, &j->error) < 0)
		j->ret = -1;
}

static void append_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct append_job *j = (struct append_job *)job;

	if (j->ret == 0) {
		imap_cmd_no(cmd, "[TRYCREATE] Mailbox does not exist");
		return;
	}
	if (j->ret < 0) {
		imap_cmd_refuse(cmd, j->error.reason, j->error.text);
		return;
	}
	log_info("imap append sid=%s account=%s mailbox=%s uid=%u size=%llu", cmd->s->sid,
		 cmd->s->account, j->mailbox, j->uid, (unsigned long long)j->src.size);
	imap_cmd_ok(cmd, "[APPENDUID %u %u] Append completed.", j->uidvalidity, j->uid);
}

static void append_free(struct imap_job *job)
{
	struct append_job *j = (struct append_job *)job;

	for (size_t i = 0; i < j->keyword_count; i++)
		free(j->keywords[i]);
	free(j->keywords);
	free(j->mailbox);
	free(j->data);
	imap_append_spool_free(&j->spool);
	free(j);
}

/* append_flags - "(\Seen $Label)"; -1 = BAD. */
static int append_flags(struct append_job *j, const struct imap_arg *arg)
{
	const struct imap_arg *list;
	unsigned count;
	const char *name;

	if (imap_arg_get_list(arg, &list, &count) < 0)
		return -1;
	j->keywords = xcalloc(count + 1, sizeof(char *));
	for (unsigned i = 0; i < count; i++) {
		unsigned flag;
		if (imap_arg_get_atom(&list[i], &name) < 0)
			return -1;
		if (name[0] == '\\') {
			if (index_flag_lookup(name, &flag) == 1)
				j->flags |= flag;
			else if (str_casecmp(name, "\\Recent") != 0)
				return -1;
		} else if (index_keyword_valid(name)) {
			j->keywords[j->keyword_count++] = xstrdup(name);
		} else {
			return -1;
		}
	}
	return 0;
}

void cmd_append(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct append_job *j = xcalloc(1, sizeof(*j));
	const struct imap_arg *msg;
	const char *detail, *date;
	unsigned i = 1;
	char *name;

	j->job.run = append_run;
	j->job.done = append_done;
	j->job.free = append_free;
	j->src.fd = -1;
	if (cmd->count < 2)
		goto bad;
	if (i < cmd->count - 1 && cmd->args[i].type == IMAP_ARG_LIST &&
	    append_flags(j, &cmd->args[i++]) < 0)
		goto bad;
	if (i < cmd->count - 1 &&
	    !(i == cmd->count - 2 && imap_arg_atom_equals(&cmd->args[i], "UTF8"))) {
		if (imap_arg_get_astring(&cmd->args[i++], &date) < 0 ||
		    imap_datetime_parse(date, &j->internaldate) < 0)
			goto bad;
	}
	/* RFC 6855 4: "UTF8 (~{n}...)" once UTF8=ACCEPT is enabled */
	if (i == cmd->count - 2 && imap_arg_atom_equals(&cmd->args[i], "UTF8") &&
	    (s->enabled & IMAP_FEATURE_UTF8_NAMES)) {
		const struct imap_arg *list;
		unsigned n;
		if (imap_arg_get_list(&cmd->args[i + 1], &list, &n) < 0 || n != 1 ||
		    !list[0].literal8)
			goto bad;
		msg = &list[0];
	} else if (i == cmd->count - 1) {
		msg = &cmd->args[i];
	} else {
		goto bad; /* one message per APPEND (no MULTIAPPEND) */
	}
	if (msg->type == IMAP_ARG_LITERAL) {
		j->data = xmalloc(msg->len + 1);
		memcpy(j->data, msg->str, msg->len);
		j->src.data = j->data;
		j->src.size = msg->len;
	} else if (msg->type == IMAP_ARG_LITERAL_STREAM && s->spool != NULL) {
		j->spool = s->spool;
		s->spool = NULL;
		if (j->spool->failed || j->spool->written != j->spool->size) {
			append_free(&j->job);
			imap_cmd_refuse(cmd, "store.io-error", "spool write failed");
			return;
		}
		j->src.fd = j->spool->fd;
		j->src.size = j->spool->size;
	} else {
		goto bad;
	}
	if (j->src.size == 0) {
		append_free(&j->job);
		imap_cmd_bad(cmd, "Empty message");
		return;
	}
	if (imap_mailbox_name_in(cmd, &cmd->args[0], &name, &detail) < 0) {
		append_free(&j->job);
		imap_cmd_refuse(cmd, "store.bad-name", detail);
		return;
	}
	j->mailbox = xstrdup(name);
	imap_job_submit(cmd, &j->job);
	return;
bad:
	append_free(&j->job);
	imap_append_spool_free(&s->spool);
	imap_cmd_bad(cmd, "Syntax: APPEND mailbox [(flags)] [\"date-time\"] {size}");
}
