/* SPDX-License-Identifier: ISC */
/*
 * smtp-private.h - what the files of src/smtp/ share: the session, the
 * transaction, the state enum and the command table's row type.
 *
 * A session (one per connection) holds what survives between messages:
 * the greeting state, EHLO name, TLS and the authenticated account. A
 * transaction (MAIL .. end of data) lives in its own pool and is freed as
 * a unit by RSET, EHLO, STARTTLS, the end of a message or the close.
 * Worker jobs never see either: they get their own copies, and their
 * completions find the session again by its id (smtp_session_lookup).
 */
#ifndef POSTINO_SMTP_PRIVATE_H
#define POSTINO_SMTP_PRIVATE_H

#include "lib/lib.h"
#include "core/config.h"
#include "core/delayed-reply.h"
#include "directory/directory.h"
#include "directory/policy.h"
#include "mail/dot.h"
#include "mail/header.h"
#include "mail/smtp-cmd.h"

struct conn;
struct event;
struct pool;

/* RFC 5321 4.5.3.1.4: 512 octets with CRLF; extensions add their own
 * (smtp-cmd.h). Lines are read up to the AUTH limit and then held to the
 * command's own. */
#define SMTP_LINE_MAX (SMTP_CMD_LINE_MAX - 2)
#define SMTP_LINE_MAX_ESMTP (SMTP_CMD_LINE_MAX_ESMTP - 2)
/* RFC 4954 4: an AUTH command or SASL response line may be 12288 octets. */
#define SMTP_AUTH_LINE_MAX (12288 - 2)
/* Replies that are errors before we give up on a client (Postfix's
 * smtpd_hard_error_limit is 20). */
#define SMTP_ERRORS_MAX 20
/* EHLO/HELO argument as kept for Received (a Domain is at most 255
 * octets, RFC 5321 4.5.3.1.2; a literal is shorter). */
#define SMTP_HELO_MAX 256
/* Transaction id: 16 hex digits of time and 8 of counter/randomness. */
#define SMTP_TXID_MAX 32
/* Message-ID kept for the journal (RFC 5322 3.6.4 ids are short; we cut). */
#define SMTP_MSGID_MAX 256
/* Deliveries (batches of finished messages) on workers at once: while one
 * batch waits for its fsyncs the next one fills (group commit). */
#define SMTP_BATCHES_MAX 2
/* Journal rows of answered messages are written together: at the latest
 * this long after the first of them, or once this many messages wait. */
#define SMTP_JOURNAL_DELAY_MS 50
#define SMTP_JOURNAL_WAITING_MAX 256
/* Body bytes consumed per input callback before yielding to the loop. */
#define SMTP_DATA_SLICE (64 * 1024)
/* An in-place copy's writeback is started every this many octets while
 * it arrives, so the fsync at its end finds little left to write. */
#define SMTP_WRITEBACK_STEP (64 * 1024)

enum smtp_state {
	SMTP_STATE_CONNECTED, /* before the greeting: talking now is an error */
	SMTP_STATE_HELO,      /* greeted (or after STARTTLS): EHLO/HELO first */
	SMTP_STATE_READY,     /* no transaction */
	SMTP_STATE_MAIL,      /* MAIL accepted, no recipient yet */
	SMTP_STATE_RCPT,      /* at least one recipient */
	SMTP_STATE_DATA,      /* reading the message after 354 */
	SMTP_STATE_BDAT,      /* reading a BDAT chunk's octets */
	SMTP_STATE_AUTH,      /* reading a SASL response line */
	SMTP_STATE_STARTTLS,  /* TLS handshake after 220 */
	SMTP_STATE_QUIT,      /* last reply sent, closing */
	SMTP_STATE_COUNT
};

/* Command table flags: the dispatcher checks these once, in this order. */
enum smtp_cmd_flag {
	SMTP_CMD_NO_ARGS = 0x01,    /* takes no argument: 501 otherwise */
	SMTP_CMD_NEEDS_HELO = 0x02, /* 503 before EHLO/HELO */
	SMTP_CMD_NEEDS_AUTH = 0x04, /* submission ports: 530 5.7.0 until AUTH */
	SMTP_CMD_NO_TX = 0x08,      /* 503 inside a mail transaction */
	SMTP_CMD_NEEDS_MAIL = 0x10, /* 503 before MAIL */
	SMTP_CMD_NEEDS_RCPT = 0x20, /* 503 before a valid RCPT */
	SMTP_CMD_NO_BDAT = 0x40,    /* 503 once BDAT chunks have started */
};

struct smtp_session;

struct smtp_command {
	const char *name;
	/* Arguments and the command's own preconditions; -1 = refused (the
	 * reply is sent). NULL = nothing to check. */
	int (*check)(struct smtp_session *s, const char *args);
	void (*proceed)(struct smtp_session *s, const char *args);
	unsigned flags; /* enum smtp_cmd_flag */
};

/* One accepted RCPT, as the client named it. */
struct smtp_rcpt {
	const char *addr;       /* canonical mailbox (addr_path.addr) */
	unsigned notify;        /* DSN NOTIFY= (enum smtp_notify), 0 = absent */
	const char *orcpt;      /* DSN ORCPT= "type;address", NULL when absent */
};

/* Where an accepted recipient's copy goes (after alias expansion): a
 * local mailbox (with its account as policy read it) or a remote
 * address for the held queue. */
struct smtp_dest {
	unsigned rcpt;              /* index of the RCPT it came from */
	struct policy_dest d;       /* owned: policy_rcpt's answer */
};

struct smtp_tx {
	struct pool *pool;
	char id[SMTP_TXID_MAX];
	const char *from;           /* reverse-path mailbox; "" = null sender */
	struct smtp_params mail;    /* MAIL parameters (SIZE, BODY, DSN RET/ENVID) */
	struct smtp_rcpt *rcpts;
	unsigned rcpt_count, rcpt_cap;
	struct smtp_dest *dests;
	unsigned dest_count, dest_cap;
	unsigned rcpt_refused;

	/* the message */
	char *spool_path;           /* DATA/queue/tmp/<id>, or the in-place copy
				     * in the one recipient's tmp/; NULL before data */
	int spool_fd;
	size_t in_place_prefix;     /* > 0: spool_path is the recipient's copy
				     * (store/deliver.h), this many bytes are
				     * its Return-Path and Delivered-To lines */
	uint64_t spool_bytes;       /* written to the spool so far */
	uint64_t spool_flushed;     /* writeback started up to here */
	uint64_t size;              /* message octets received (after unstuffing) */
	bool too_big;               /* over smtp.max-message-size: discard the rest */
	bool write_failed;
	struct dot_decoder dot;     /* DATA unstuffing and end-of-data state */
	bool bare_newline;          /* DATA held a bare CR or LF: refuse at the end */
	bool bdat;                  /* BDAT chunks have started */
	struct header *hdr;         /* the message's header block, parsed as it streams */
	bool hdr_done;
};

struct smtp_session {
	uint64_t id;                /* conn_id(): what crosses worker calls */
	struct conn *conn;          /* NULL once closed */
	const struct config *cfg;   /* the connection's snapshot */
	enum listener_kind kind;
	enum smtp_state state;
	char sid[32];               /* conn_sid(), kept for journal rows after close */
	char peer[64];              /* numeric address */

	char helo[SMTP_HELO_MAX];   /* "" before EHLO/HELO */
	bool esmtp;
	unsigned ext;               /* enum smtp_ext advertised by our EHLO */
	char *account;              /* authenticated account (xstrdup), NULL before */

	/* AUTH exchange (cmd-auth.c) */
	int auth_mech;              /* enum in cmd-auth.c */
	char *auth_login;           /* LOGIN: the user name while the password is asked */
	struct delayed_reply auth_delay; /* a refusal held back by screen.failure-delay-ms */

	struct smtp_tx *tx;
	/* BDAT chunk being read (cmd-data.c); its octets are always consumed,
	 * even when the command is refused, so they are never read as commands */
	uint64_t bdat_left;
	bool bdat_last;
	const char *bdat_refusal;   /* reason to answer once the chunk is read */
	const char *bdat_refusal_text;
	unsigned errors;
	unsigned messages;
	bool busy;                  /* a worker job runs: input paused */
	bool draining;              /* server stopping: say 421 when idle */
	struct event *greet_timer;
};

/* ---- smtp-session.c ---- */

const char *smtp_state_name(enum smtp_state state);
void smtp_set_state(struct smtp_session *s, enum smtp_state state);
/* The session of connection id, or NULL when it has gone. */
struct smtp_session *smtp_session_lookup(uint64_t id);
/* One reply line (no CRLF in fmt); 4xx/5xx count towards SMTP_ERRORS_MAX. */
void smtp_reply(struct smtp_session *s, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
/* A multi-line reply: every line but the last uses "code-". */
void smtp_reply_lines(struct smtp_session *s, const char *code, const char *const *lines,
		      size_t count);
/* Reply from a core/reason.c row: "<smtp> <text>" (text may be overridden). */
void smtp_reply_reason(struct smtp_session *s, const char *reason, const char *text);
/* A refusal worth recording: journal (decision "refuse") and reply. */
void smtp_refuse(struct smtp_session *s, const char *reason, const char *rcpt,
		 const char *detail);
/* A parser's refusal (struct mail_error) with the reason for the log. */
void smtp_reply_error(struct smtp_session *s, const struct mail_error *error,
		      const char *reason);
/* Journal one decision of this session (loop thread). */
void smtp_journal(struct smtp_session *s, const char *decision, const char *reason,
		  const char *account, const char *msgid, const char *queueid, const char *detail);
/* Protocol log line, when smtp.protocol-log is on. */
void smtp_protolog(struct smtp_session *s, char dir, const char *line);
/* A worker job starts / ended: pause and resume the command loop. */
void smtp_session_suspend(struct smtp_session *s);
void smtp_session_resume(struct smtp_session *s);
/* Say goodbye ("221"/"421" already sent) and close after the flush. */
void smtp_session_close(struct smtp_session *s, const char *reason);
bool smtp_is_submission(const struct smtp_session *s);

/* ---- smtp-commands.c ---- */

const struct smtp_command *smtp_command_find(const char *verb);
/* Run one command line through the table's generic checks. */
void smtp_command_dispatch(struct smtp_session *s, const char *line, size_t len);

/* ---- smtp-tx.c ---- */

struct smtp_tx *smtp_tx_new(struct smtp_session *s);
void smtp_tx_free(struct smtp_tx **_tx);
/* End the transaction (RSET, EHLO, after a message): back to READY. */
void smtp_tx_reset(struct smtp_session *s);
/* The session's resting state: READY after EHLO/HELO, else HELO. */
enum smtp_state smtp_idle_state(const struct smtp_session *s);
/* Record an accepted RCPT and take over policy's destinations. */
void smtp_tx_add_rcpt(struct smtp_tx *tx, const char *addr, unsigned notify, const char *orcpt,
		      struct policy_rcpt_result *result);
/* Open the spool file and write our Received field; -1 on a disk error.
 * in_place: the octets will be CRLF throughout (DATA refuses bare CR and
 * LF), so a message for one local mailbox may be written straight into
 * it (smtp-tx.c). */
int smtp_tx_spool_open(struct smtp_session *s, bool in_place);
/* Append message octets (after unstuffing), counting the size against
 * max; past it the message is marked too big and nothing more is kept. */
void smtp_tx_spool_write(struct smtp_tx *tx, const void *data, size_t len, uint64_t max);
/* The last octets are in: check, make durable on a worker, reply. */
void smtp_tx_commit(struct smtp_session *s);

/* ---- one file per command ---- */

int cmd_helo_check(struct smtp_session *s, const char *args);
void cmd_helo_proceed(struct smtp_session *s, const char *args);
void cmd_ehlo_proceed(struct smtp_session *s, const char *args);
int cmd_starttls_check(struct smtp_session *s, const char *args);
void cmd_starttls_proceed(struct smtp_session *s, const char *args);
void cmd_starttls_ready(struct smtp_session *s);
int cmd_auth_check(struct smtp_session *s, const char *args);
void cmd_auth_proceed(struct smtp_session *s, const char *args);
void cmd_auth_input(struct smtp_session *s, const char *line, size_t len);
int cmd_mail_check(struct smtp_session *s, const char *args);
void cmd_mail_proceed(struct smtp_session *s, const char *args);
int cmd_rcpt_check(struct smtp_session *s, const char *args);
void cmd_rcpt_proceed(struct smtp_session *s, const char *args);
int cmd_data_check(struct smtp_session *s, const char *args);
void cmd_data_proceed(struct smtp_session *s, const char *args);
int cmd_bdat_check(struct smtp_session *s, const char *args);
void cmd_bdat_proceed(struct smtp_session *s, const char *args);
/* Body input in DATA/BDAT state; 1 = message complete, 0 = need more. */
int cmd_data_input(struct smtp_session *s);
void cmd_rset_proceed(struct smtp_session *s, const char *args);
void cmd_noop_proceed(struct smtp_session *s, const char *args);
void cmd_quit_proceed(struct smtp_session *s, const char *args);
void cmd_help_proceed(struct smtp_session *s, const char *args);
void cmd_vrfy_proceed(struct smtp_session *s, const char *args);

#endif
