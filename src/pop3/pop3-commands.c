/* SPDX-License-Identifier: ISC */
/*
 * pop3-commands.c - the command table, the dispatcher, and every POP3
 * command (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH).
 *
 * POP3's commands are small, so they live together, one short function
 * each (Dovecot's pop3-commands.c precedent); what takes a worker or a
 * stream lives beside them (pop3-auth.c, pop3-maildrop.c, pop3-retr.c).
 * The dispatcher does the generic checks once, in a fixed order, so every
 * command gets the same answer to the same mistake: the line length, the
 * state (RFC 1939 3), TLS before credentials (RFC 2595 2.4), the number
 * of arguments, and a message number that names a message of the
 * maildrop not marked deleted (RFC 1939 5).
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "core/conn.h"
#include "core/tls.h"
#include "pop3/pop3-private.h"

/* Verbs are 3 or 4 characters (RFC 1939 3, RFC 2449 3). */
#define POP3_VERB_MAX 4

static void cmd_capa(struct pop3_session *s, const struct pop3_args *a);
static void cmd_stls(struct pop3_session *s, const struct pop3_args *a);
static void cmd_user(struct pop3_session *s, const struct pop3_args *a);
static void cmd_pass(struct pop3_session *s, const struct pop3_args *a);
static void cmd_auth(struct pop3_session *s, const struct pop3_args *a);
static void cmd_quit(struct pop3_session *s, const struct pop3_args *a);
static void cmd_stat(struct pop3_session *s, const struct pop3_args *a);
static void cmd_list(struct pop3_session *s, const struct pop3_args *a);
static void cmd_uidl(struct pop3_session *s, const struct pop3_args *a);
static void cmd_retr(struct pop3_session *s, const struct pop3_args *a);
static void cmd_top(struct pop3_session *s, const struct pop3_args *a);
static void cmd_dele(struct pop3_session *s, const struct pop3_args *a);
static void cmd_noop(struct pop3_session *s, const struct pop3_args *a);
static void cmd_rset(struct pop3_session *s, const struct pop3_args *a);

#define AUTHZ POP3_CMD_AUTHORIZATION
#define TRANS POP3_CMD_TRANSACTION

static const struct pop3_command pop3_commands[] = {
	{ "CAPA", cmd_capa, AUTHZ | TRANS, 0, 0 },
	{ "STLS", cmd_stls, AUTHZ, 0, 0 },
	{ "USER", cmd_user, AUTHZ | POP3_CMD_NEEDS_TLS, 1, 1 },
	{ "PASS", cmd_pass, AUTHZ | POP3_CMD_NEEDS_TLS | POP3_CMD_RAW | POP3_CMD_LONG, 1, 1 },
	{ "AUTH", cmd_auth, AUTHZ | POP3_CMD_NEEDS_TLS | POP3_CMD_LONG, 0, 2 },
	{ "QUIT", cmd_quit, AUTHZ | TRANS, 0, 0 },
	{ "STAT", cmd_stat, TRANS, 0, 0 },
	{ "LIST", cmd_list, TRANS | POP3_CMD_MSG, 0, 1 },
	{ "UIDL", cmd_uidl, TRANS | POP3_CMD_MSG, 0, 1 },
	{ "RETR", cmd_retr, TRANS | POP3_CMD_MSG, 1, 1 },
	{ "TOP", cmd_top, TRANS | POP3_CMD_MSG, 2, 2 },
	{ "DELE", cmd_dele, TRANS | POP3_CMD_MSG, 1, 1 },
	{ "NOOP", cmd_noop, TRANS, 0, 0 },
	{ "RSET", cmd_rset, TRANS, 0, 0 },
};

const struct pop3_command *pop3_command_find(const char *verb)
{
	for (size_t i = 0; i < N_ELEMENTS(pop3_commands); i++) {
		if (str_casecmp(pop3_commands[i].name, verb) == 0)
			return &pop3_commands[i];
	}
	return NULL;
}

/* ---- the dispatcher ---- */

/* pop3_split_args - the arguments after the verb, separated by spaces
 * (RFC 1939 3; runs of spaces are forgiven). -1 when there are more than
 * POP3_ARGS_MAX. */
static int pop3_split_args(const struct pop3_command *cmd, char *rest, struct pop3_args *a)
{
	char *save = NULL, *tok;

	if (cmd->flags & POP3_CMD_RAW) {
		/* PASS: the rest of the line, spaces included (RFC 1939 7) */
		if (rest[0] != '\0')
			a->argv[a->argc++] = rest;
		return 0;
	}
	for (tok = strtok_r(rest, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		if (a->argc == POP3_ARGS_MAX)
			return -1;
		a->argv[a->argc++] = tok;
	}
	return 0;
}

/* pop3_msg_arg - a message number that names a live message. */
static int pop3_msg_arg(struct pop3_session *s, const char *arg, uint32_t *msg_r)
{
	char text[POP3_REPLY_MAX];
	uint64_t n;

	if (str_to_uint64(arg, 1, UINT32_MAX, &n) < 0) {
		pop3_err(s, "pop3.syntax", "Invalid message number", true);
		return -1;
	}
	if (n > s->drop.count) {
		(void)snprintf(text, sizeof(text), "No such message, only %u in the maildrop",
			       s->drop.count);
		pop3_err(s, "pop3.no-message", text, false);
		return -1;
	}
	if (s->drop.msgs[n - 1].deleted) {
		(void)snprintf(text, sizeof(text), "Message %" PRIu64 " is deleted", n);
		pop3_err(s, "pop3.message-deleted", text, false);
		return -1;
	}
	*msg_r = (uint32_t)n;
	return 0;
}

/* pop3_generic_checks - the row's rules, in order; -1 = refused. */
static int pop3_generic_checks(struct pop3_session *s, const struct pop3_command *cmd,
			       size_t len, char *rest, struct pop3_args *a)
{
	unsigned state_flag = s->state == POP3_STATE_TRANSACTION ? TRANS : AUTHZ;

	if (len > POP3_LINE_MAX && !(cmd->flags & POP3_CMD_LONG)) {
		pop3_err(s, "pop3.line-too-long", NULL, true);
		return -1;
	}
	if (!(cmd->flags & state_flag)) {
		pop3_err(s, "pop3.bad-sequence", NULL, true);
		return -1;
	}
	if ((cmd->flags & POP3_CMD_NEEDS_TLS) && !conn_is_tls(s->conn)) {
		log_info("pop3 refuse sid=%s peer=%s reason=pop3.auth-encryption-required",
			 s->sid, s->peer);
		pop3_journal(s, "refuse", "pop3.auth-encryption-required", NULL, cmd->name);
		pop3_err(s, "pop3.auth-encryption-required", NULL, true);
		return -1;
	}
	if (pop3_split_args(cmd, rest, a) < 0 || a->argc < cmd->min_args ||
	    a->argc > cmd->max_args) {
		pop3_err(s, "pop3.syntax", NULL, true);
		return -1;
	}
	if ((cmd->flags & POP3_CMD_MSG) && a->argc > 0 && pop3_msg_arg(s, a->argv[0], &a->msg) < 0)
		return -1;
	return 0;
}

/* pop3_protolog_command - the line as logged: PASS and AUTH's initial
 * response carry a password and are masked ("PASS ****", "AUTH PLAIN
 * ****"); an unknown line might be a password typed in the wrong place. */
static void pop3_protolog_command(struct pop3_session *s, const struct pop3_command *cmd,
				  const char *line, const char *rest)
{
	char masked[64];
	size_t keep;

	if (!s->cfg->pop3_protocol_log)
		return;
	if (cmd == NULL) {
		pop3_protolog(s, '<', "(unknown command)");
		return;
	}
	if (!(cmd->flags & POP3_CMD_LONG)) {
		pop3_protolog(s, '<', line);
		return;
	}
	keep = (cmd->flags & POP3_CMD_RAW) ? 0 : strcspn(rest, " ");
	(void)snprintf(masked, sizeof(masked), "%s%s%.*s%s", cmd->name, keep > 0 ? " " : "",
		       (int)(keep < 20 ? keep : 20), rest, rest[keep] != '\0' ? " ****" : "");
	pop3_protolog(s, '<', masked);
}

void pop3_command_dispatch(struct pop3_session *s, char *line, size_t len)
{
	size_t vlen = strcspn(line, " ");
	char verb[POP3_VERB_MAX + 1];
	const struct pop3_command *cmd = NULL;
	struct pop3_args a = { 0 };
	char *rest = line[vlen] == ' ' ? line + vlen + 1 : line + vlen;

	if (vlen > 0 && vlen <= POP3_VERB_MAX) {
		memcpy(verb, line, vlen);
		verb[vlen] = '\0';
		cmd = pop3_command_find(verb);
	}
	pop3_protolog_command(s, cmd, line, rest);
	if (cmd == NULL) {
		log_info("pop3 unknown command sid=%s peer=%s verb=%.*s", s->sid, s->peer,
			 (int)(vlen < 20 ? vlen : 20), line);
		pop3_err(s, "pop3.unknown-command", NULL, true);
		return;
	}
	if (pop3_generic_checks(s, cmd, len, rest, &a) < 0)
		return;
	cmd->fn(s, &a);
}

/* ---- AUTHORIZATION ---- */

/* cmd_capa - RFC 2449 5. USER and SASL only where they may be used (over
 * TLS), STLS only where it may be (RFC 2595 4); what AUTHORIZATION
 * offered is offered in TRANSACTION too (RFC 2449 5). */
static void cmd_capa(struct pop3_session *s, const struct pop3_args *a)
{
	bool tls = conn_is_tls(s->conn);

	pop3_ok(s, "Capability list follows");
	pop3_send(s, "TOP");
	pop3_send(s, "UIDL");
	pop3_send(s, "RESP-CODES");
	pop3_send(s, "AUTH-RESP-CODE");
	pop3_send(s, "PIPELINING");
	pop3_send(s, "EXPIRE NEVER");
	if (!tls && s->state == POP3_STATE_AUTHORIZATION && tls_server_ctx() != NULL)
		pop3_send(s, "STLS");
	if (tls) {
		pop3_send(s, "USER");
		pop3_send(s, "SASL PLAIN");
	}
	pop3_send(s, "IMPLEMENTATION postino");
	pop3_send(s, ".");
}

/* cmd_stls - RFC 2595 4. conn_starttls() throws away whatever the
 * client pipelined after the command (CVE-2011-0411). */
static void cmd_stls(struct pop3_session *s, const struct pop3_args *a)
{
	if (conn_is_tls(s->conn)) {
		pop3_err(s, "pop3.tls-active", NULL, true);
		return;
	}
	if (tls_server_ctx() == NULL) {
		pop3_refuse(s, "pop3.tls-unavailable", NULL, "no TLS context");
		return;
	}
	pop3_ok(s, "Begin TLS negotiation");
	pop3_set_state(s, POP3_STATE_STLS);
	if (conn_starttls(s->conn) < 0) {
		pop3_set_state(s, POP3_STATE_AUTHORIZATION);
		pop3_refuse(s, "pop3.tls-unavailable", NULL, "conn_starttls failed");
	}
}

/* pop3_stls_ready - RFC 2595 4: the client forgets what it learnt before
 * TLS, and so do we (a USER given in clear is dropped). */
void pop3_stls_ready(struct pop3_session *s)
{
	free(s->user);
	s->user = NULL;
	pop3_set_state(s, POP3_STATE_AUTHORIZATION);
}

/* cmd_user - RFC 1939 7. The answer never says whether the name exists;
 * the line limit bounds the name. */
static void cmd_user(struct pop3_session *s, const struct pop3_args *a)
{
	free(s->user);
	s->user = xstrdup(a->argv[0]);
	pop3_ok(s, "Send your password");
}

/* cmd_pass - RFC 1939 7: only right after USER; either way USER must be
 * given again after a failure. */
static void cmd_pass(struct pop3_session *s, const struct pop3_args *a)
{
	char *login = s->user;

	if (login == NULL) {
		pop3_err(s, "pop3.bad-sequence", "No user name given: send USER first", true);
		return;
	}
	s->user = NULL;
	pop3_login(s, login, a->argv[0]);
	free(login);
}

/* cmd_auth - RFC 5034; without a mechanism, the list (RFC 1734 clients
 * still ask that way). */
static void cmd_auth(struct pop3_session *s, const struct pop3_args *a)
{
	free(s->user);
	s->user = NULL;
	if (a->argc == 0) {
		pop3_ok(s, "Methods supported");
		pop3_send(s, "PLAIN");
		pop3_send(s, ".");
		return;
	}
	pop3_auth_begin(s, a->argv[0], a->argc > 1 ? a->argv[1] : NULL);
}

/* cmd_quit - RFC 1939 6: in TRANSACTION, enter UPDATE and apply the
 * deletions; before login just say goodbye. */
static void cmd_quit(struct pop3_session *s, const struct pop3_args *a)
{
	if (s->state == POP3_STATE_TRANSACTION) {
		pop3_maildrop_update(s);
		return;
	}
	pop3_ok(s, "postino signing off");
	pop3_session_close(s, "quit");
}

/* ---- TRANSACTION ---- */

/* cmd_stat - RFC 1939 5: messages not marked deleted, and their octets. */
static void cmd_stat(struct pop3_session *s, const struct pop3_args *a)
{
	pop3_ok(s, "%u %" PRIu64, s->drop.count - s->drop.deleted,
		s->drop.size - s->drop.deleted_size);
}

/* cmd_list - RFC 1939 5: one scan listing, or all of them. */
static void cmd_list(struct pop3_session *s, const struct pop3_args *a)
{
	char line[64];

	if (a->msg != 0) {
		pop3_ok(s, "%u %" PRIu64, a->msg, s->drop.msgs[a->msg - 1].size);
		return;
	}
	pop3_ok(s, "%u messages (%" PRIu64 " octets)", s->drop.count - s->drop.deleted,
		s->drop.size - s->drop.deleted_size);
	for (uint32_t i = 0; i < s->drop.count; i++) {
		if (s->drop.msgs[i].deleted)
			continue;
		(void)snprintf(line, sizeof(line), "%u %" PRIu64, i + 1, s->drop.msgs[i].size);
		pop3_send(s, line);
	}
	pop3_send(s, ".");
}

/* cmd_uidl - RFC 1939 7: unique ids, the same for a message in every
 * session (pop3_uidl: the index's UID and UIDVALIDITY). */
static void cmd_uidl(struct pop3_session *s, const struct pop3_args *a)
{
	char uidl[POP3_UIDL_MAX], line[64];

	if (a->msg != 0) {
		pop3_uidl(s->drop.uidvalidity, s->drop.msgs[a->msg - 1].uid, uidl);
		pop3_ok(s, "%u %s", a->msg, uidl);
		return;
	}
	pop3_ok(s, "Unique-ID listing follows");
	for (uint32_t i = 0; i < s->drop.count; i++) {
		if (s->drop.msgs[i].deleted)
			continue;
		pop3_uidl(s->drop.uidvalidity, s->drop.msgs[i].uid, uidl);
		(void)snprintf(line, sizeof(line), "%u %s", i + 1, uidl);
		pop3_send(s, line);
	}
	pop3_send(s, ".");
}

static void cmd_retr(struct pop3_session *s, const struct pop3_args *a)
{
	pop3_retr_start(s, a->msg, -1);
}

/* cmd_top - RFC 1939 7: the header, the empty line, n body lines. */
static void cmd_top(struct pop3_session *s, const struct pop3_args *a)
{
	uint64_t lines;

	if (str_to_uint64(a->argv[1], 0, INT64_MAX, &lines) < 0) {
		pop3_err(s, "pop3.syntax", "Invalid number of lines", true);
		return;
	}
	pop3_retr_start(s, a->msg, (int64_t)lines);
}

/* cmd_dele - RFC 1939 5: only a mark; QUIT applies it. */
static void cmd_dele(struct pop3_session *s, const struct pop3_args *a)
{
	struct pop3_message *m = &s->drop.msgs[a->msg - 1];

	m->deleted = true;
	s->drop.deleted++;
	s->drop.deleted_size += m->size;
	pop3_ok(s, "Message %u deleted", a->msg);
}

static void cmd_noop(struct pop3_session *s, const struct pop3_args *a)
{
	pop3_ok(s, "Still here");
}

/* cmd_rset - RFC 1939 5: unmark every message marked deleted. */
static void cmd_rset(struct pop3_session *s, const struct pop3_args *a)
{
	for (uint32_t i = 0; i < s->drop.count; i++)
		s->drop.msgs[i].deleted = false;
	s->drop.deleted = 0;
	s->drop.deleted_size = 0;
	pop3_ok(s, "Maildrop has %u messages (%" PRIu64 " octets)", s->drop.count, s->drop.size);
}
