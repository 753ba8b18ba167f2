/* SPDX-License-Identifier: ISC */
/*
 * imap-commands.c - the command table and the dispatcher.
 *
 * Adding a command is one cmd-*.c file and one row here. The dispatcher
 * makes the generic checks once, in a fixed order, so every command gets
 * the same answer to the same mistake: unknown command, wrong state (not
 * logged in, already logged in, nothing selected), arguments where none
 * are taken. RFC 3501 6 and RFC 9051 6 say which state each command
 * belongs to; a command in the wrong one is BAD.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "core/dbpool.h"
#include "store/index.h"
#include "imap/imap-private.h"

/* How much of a command the protocol log shows. */
#define IMAP_PROTOLOG_ARGS_MAX 256

#define AUTH IMAP_CMD_NEEDS_AUTH
#define SEL (IMAP_CMD_NEEDS_AUTH | IMAP_CMD_NEEDS_SELECTED)
#define NOIX IMAP_CMD_NO_INDEX

static const struct imap_cmd_def imap_commands[] = {
	/* any state (RFC 9051 6.1) */
	{ "CAPABILITY", cmd_capability, IMAP_CMD_NO_ARGS | NOIX },
	{ "NOOP", cmd_noop, IMAP_CMD_NO_ARGS },
	{ "LOGOUT", cmd_logout, IMAP_CMD_NO_ARGS | NOIX },
	{ "ID", cmd_id, NOIX },
	/* not authenticated (6.2) */
	{ "STARTTLS", cmd_starttls, IMAP_CMD_NOT_AUTH | IMAP_CMD_NO_ARGS | NOIX },
	{ "LOGIN", cmd_login, IMAP_CMD_NOT_AUTH | NOIX },
	{ "AUTHENTICATE", cmd_authenticate, IMAP_CMD_NOT_AUTH | NOIX },
	/* authenticated (6.3) */
	{ "ENABLE", cmd_enable, AUTH | NOIX },
	{ "NAMESPACE", cmd_namespace, AUTH | IMAP_CMD_NO_ARGS | NOIX },
	{ "IDLE", cmd_idle, AUTH | IMAP_CMD_NO_ARGS | NOIX },
	{ "SELECT", cmd_select, AUTH },
	{ "EXAMINE", cmd_examine, AUTH },
	{ "CREATE", cmd_create, AUTH },
	{ "DELETE", cmd_delete, AUTH },
	{ "RENAME", cmd_rename, AUTH },
	{ "SUBSCRIBE", cmd_subscribe, AUTH },
	{ "UNSUBSCRIBE", cmd_unsubscribe, AUTH },
	{ "LIST", cmd_list, AUTH },
	{ "LSUB", cmd_lsub, AUTH },
	{ "STATUS", cmd_status, AUTH },
	{ "APPEND", cmd_append, AUTH },
	{ "GETQUOTA", cmd_getquota, AUTH | NOIX },
	{ "GETQUOTAROOT", cmd_getquotaroot, AUTH | NOIX },
	{ "SETQUOTA", cmd_setquota, AUTH | NOIX },
	/* selected (6.4) */
	{ "CHECK", cmd_check, SEL | IMAP_CMD_NO_ARGS },
	{ "CLOSE", cmd_close, SEL | IMAP_CMD_NO_ARGS | IMAP_CMD_BREAKS_SEQS },
	{ "UNSELECT", cmd_unselect, SEL | IMAP_CMD_NO_ARGS },
	{ "EXPUNGE", cmd_expunge, SEL | IMAP_CMD_NO_ARGS | IMAP_CMD_BREAKS_SEQS },
	{ "UID EXPUNGE", cmd_expunge, SEL | IMAP_CMD_BREAKS_SEQS },
	{ "SEARCH", cmd_search, SEL | IMAP_CMD_USES_SEQS },
	{ "UID SEARCH", cmd_search, SEL },
	{ "FETCH", cmd_fetch, SEL | IMAP_CMD_USES_SEQS },
	{ "UID FETCH", cmd_fetch, SEL },
	{ "STORE", cmd_store, SEL | IMAP_CMD_USES_SEQS },
	{ "UID STORE", cmd_store, SEL },
	{ "COPY", cmd_copy, SEL | IMAP_CMD_USES_SEQS },
	{ "UID COPY", cmd_copy, SEL },
	{ "MOVE", cmd_move, SEL | IMAP_CMD_BREAKS_SEQS },
	{ "UID MOVE", cmd_move, SEL | IMAP_CMD_BREAKS_SEQS },
};

const struct imap_cmd_def *imap_command_find(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(imap_commands); i++) {
		if (strcmp(imap_commands[i].name, name) == 0)
			return &imap_commands[i];
	}
	return NULL;
}

/* imap_generic_checks - the row's flags, in order; -1 = BAD sent. */
static int imap_generic_checks(struct imap_cmd *cmd)
{
	enum imap_state state = cmd->s->state;
	unsigned f = cmd->def->flags;

	if ((f & IMAP_CMD_NOT_AUTH) && state != IMAP_STATE_NOT_AUTH) {
		imap_cmd_bad(cmd, "Already logged in");
		return -1;
	}
	if ((f & IMAP_CMD_NEEDS_AUTH) && state == IMAP_STATE_NOT_AUTH) {
		imap_cmd_bad(cmd, "Log in first");
		return -1;
	}
	if ((f & IMAP_CMD_NEEDS_SELECTED) && state != IMAP_STATE_SELECTED) {
		imap_cmd_bad(cmd, "No mailbox selected");
		return -1;
	}
	if ((f & IMAP_CMD_NO_ARGS) && cmd->count > 0) {
		imap_cmd_bad(cmd, "%s takes no arguments", cmd->def->name);
		return -1;
	}
	return 0;
}

/* imap_protolog_command - the command as logged: passwords are masked
 * and a message being appended is not copied into the log. */
static void imap_protolog_command(struct imap_session *s, const struct imap_command *pc)
{
	struct buf b;
	unsigned shown = pc->count;

	if (!s->cfg->imap_protocol_log)
		return;
	if (strcmp(pc->name, "LOGIN") == 0) {
		imap_protolog(s, '<', "%s LOGIN %s ****", pc->tag,
			      pc->count > 0 && pc->args[0].str != NULL ? pc->args[0].str : "");
		return;
	}
	if (strcmp(pc->name, "AUTHENTICATE") == 0) {
		imap_protolog(s, '<', "%s AUTHENTICATE %s%s", pc->tag,
			      pc->count > 0 && pc->args[0].str != NULL ? pc->args[0].str : "",
			      pc->count > 1 ? " ****" : "");
		return;
	}
	if (strcmp(pc->name, "APPEND") == 0 && shown > 1)
		shown = 1; /* the mailbox name only */
	buf_init(&b, IMAP_PROTOLOG_ARGS_MAX);
	int ret = imap_args_write(&b, pc->args, shown);
	imap_protolog(s, '<', "%s %s%s%s%s", pc->tag, pc->name, b.len > 0 ? " " : "",
		      b.len > 0 ? b.data : "", ret < 0 || shown < pc->count ? " ..." : "");
	buf_release(&b);
}

void imap_cmd_free(struct imap_cmd **_cmd)
{
	struct imap_cmd *cmd = *_cmd;

	if (cmd == NULL)
		return;
	*_cmd = NULL;
	if (cmd->deinit != NULL)
		cmd->deinit(cmd);
	struct imap_command *pc = cmd->pc; /* cmd lives in its pool */
	imap_command_free(&pc);
}

void imap_command_finished(struct imap_session *s)
{
	if (s->cmd == NULL)
		return;
	if (s->cmd->resume != NULL)
		imap_cmd_stop_timer(s->cmd);
	imap_cmd_free(&s->cmd);
}

/* ---- the index, given back during IDLE, reopened on demand ---- */

struct reopen_job {
	struct imap_job job;
	char *account;
	const char *data_dir;
	int ret;
	struct index_error error;
};

static void reopen_run(struct imap_job *job)
{
	struct reopen_job *j = (struct reopen_job *)job;

	j->ret = job->index != NULL ? 0
				    : imap_index_open(j->data_dir, j->account, &job->index, &j->error);
}

static void reopen_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct reopen_job *j = (struct reopen_job *)job;

	if (j->ret < 0) {
		imap_session_fatal(cmd->s, j->error.reason, j->error.text);
		return;
	}
	cmd->def->fn(cmd);
}

static void reopen_free(struct imap_job *job)
{
	struct reopen_job *j = (struct reopen_job *)job;

	free(j->account);
	free(j);
}

void imap_index_reopen_then(struct imap_cmd *cmd)
{
	struct reopen_job *j = xcalloc(1, sizeof(*j));

	j->job.run = reopen_run;
	j->job.done = reopen_done;
	j->job.free = reopen_free;
	j->account = xstrdup(cmd->s->account);
	j->data_dir = dbpool_data_dir();
	imap_job_submit(cmd, &j->job);
}

void imap_command_dispatch(struct imap_session *s, struct imap_command *pc)
{
	struct imap_cmd *cmd = p_alloc(pc->pool, sizeof(*cmd));

	memset(cmd, 0, sizeof(*cmd));
	cmd->s = s;
	cmd->pc = pc;
	cmd->pool = pc->pool;
	cmd->tag = pc->tag;
	cmd->args = pc->args;
	cmd->count = pc->count;
	cmd->uid = str_has_prefix(pc->name, "UID ");
	s->cmd = cmd;
	imap_protolog_command(s, pc);
	if ((cmd->def = imap_command_find(pc->name)) == NULL) {
		log_info("imap unknown command sid=%s peer=%s name=%.30s", s->sid, s->peer,
			 pc->name);
		imap_cmd_bad(cmd, "Unknown command %.30s", pc->name);
	} else if (imap_generic_checks(cmd) == 0) {
		if (s->state != IMAP_STATE_NOT_AUTH && s->index == NULL &&
		    (cmd->def->flags & IMAP_CMD_NO_INDEX) == 0)
			imap_index_reopen_then(cmd);
		else
			cmd->def->fn(cmd);
	}
	if (s->cmd == cmd && cmd->finished)
		imap_command_finished(s);
}
