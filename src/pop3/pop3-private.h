/* SPDX-License-Identifier: ISC */
/*
 * pop3-private.h - what the files of src/pop3/ share: the session, its
 * maildrop, the state enum, the command table's row type, and the pure
 * helpers the unit tests call.
 *
 * A session is one connection. Before login it holds what the client said
 * (USER, a SASL exchange); after login the account, its maildrop lock,
 * the index handle and the maildrop snapshot taken at login (message
 * numbers, UIDs, sizes, deletion marks). Worker jobs never see the
 * session: they get copies, and the index handle moves into the job and
 * back, so only one thread ever uses it. Completions find the session
 * again by id (pop3_session_lookup) and cope with it being gone.
 */
#ifndef POSTINO_POP3_PRIVATE_H
#define POSTINO_POP3_PRIVATE_H

#include "lib/lib.h"
#include "core/config.h"
#include "core/delayed-reply.h"

struct conn;
struct event;
struct index;
struct pop3_retr;

/* RFC 2449 4: a command line is at most 255 octets with its CRLF. */
#define POP3_LINE_MAX (255 - 2)
/* PASS and AUTH carry a password (directory.h PASSWORD_MAX) or its base64,
 * and RFC 5034 4 lets a SASL response exceed the command limit; 12288
 * octets is the SASL line SMTP allows too (RFC 4954 4). */
#define POP3_AUTH_LINE_MAX (12288 - 2)
/* RFC 2449 4: a response line is at most 512 octets with its CRLF. */
#define POP3_REPLY_MAX (512 - 2)
/* Bad commands before we hang up (Dovecot's CLIENT_MAX_BAD_COMMANDS). */
#define POP3_ERRORS_MAX 20
/* Arguments a command may have (TOP msg n; AUTH mech initial). */
#define POP3_ARGS_MAX 2
/* UIDL: Dovecot's default pop3_uidl_format %08Xu%08Xv, 16 hex digits
 * (RFC 1939 7: 1 to 70 characters 0x21..0x7E). */
#define POP3_UIDL_MAX 17

enum pop3_state {
	POP3_STATE_AUTHORIZATION, /* greeted: USER/PASS, AUTH, STLS, CAPA, QUIT */
	POP3_STATE_STLS,          /* TLS handshake after "+OK Begin TLS" */
	POP3_STATE_SASL,          /* AUTH: waiting for a SASL response line */
	POP3_STATE_TRANSACTION,   /* logged in, maildrop locked */
	POP3_STATE_UPDATE,        /* QUIT: deletions being applied on a worker */
	POP3_STATE_LOGOUT,        /* last reply sent, closing */
	POP3_STATE_COUNT
};

/* Command table flags: the dispatcher checks these once, in this order. */
enum pop3_cmd_flag {
	POP3_CMD_AUTHORIZATION = 0x01, /* valid before login */
	POP3_CMD_TRANSACTION = 0x02,   /* valid after login */
	POP3_CMD_NEEDS_TLS = 0x04,     /* carries credentials: refused before TLS */
	POP3_CMD_RAW = 0x08,           /* one argument, the rest of the line (PASS) */
	POP3_CMD_MSG = 0x10,           /* the first argument is a live message number */
	POP3_CMD_LONG = 0x20,          /* may use POP3_AUTH_LINE_MAX (PASS, AUTH) */
};

/* One message of the maildrop, as listed at login. */
struct pop3_message {
	uint32_t uid;
	uint64_t size;   /* RFC 1939 octets: lines end in CRLF (the Maildir W=) */
	bool deleted;    /* DELE in this session; applied only at QUIT */
	bool retrieved;  /* RETR in this session; marked \Seen at QUIT */
};

/* The maildrop: INBOX as it was at login (RFC 1939 5: message numbers
 * stay fixed for the session). */
struct pop3_maildrop {
	int64_t mailbox_id;
	uint32_t uidvalidity;
	struct pop3_message *msgs;
	uint32_t count;
	uint32_t deleted;          /* messages marked */
	uint64_t size, deleted_size;
};

struct pop3_args {
	unsigned argc;
	const char *argv[POP3_ARGS_MAX]; /* POP3_CMD_RAW: argv[0] is the rest of the line */
	uint32_t msg;                    /* POP3_CMD_MSG with an argument: 1-based */
};

struct pop3_session;

struct pop3_command {
	const char *name;
	void (*fn)(struct pop3_session *s, const struct pop3_args *a);
	unsigned flags;                  /* enum pop3_cmd_flag */
	unsigned min_args, max_args;
};

struct pop3_session {
	uint64_t id;                /* conn_id(): what crosses worker calls */
	struct conn *conn;          /* NULL once closed */
	const struct config *cfg;   /* the connection's snapshot */
	enum listener_kind kind;
	enum pop3_state state;
	char sid[32];               /* conn_sid(), kept for journal rows after close */
	char peer[64];              /* numeric address */

	char *user;                 /* USER's name until PASS */
	char *account;              /* logged in (canonical address), NULL before */
	bool locked;                /* holds the account's maildrop lock */
	struct index *index;        /* after login; NULL while a job holds it */
	struct pop3_maildrop drop;
	struct pop3_retr *retr;     /* RETR/TOP being streamed */
	struct delayed_reply auth_delay; /* a refusal held back by screen.failure-delay-ms */

	unsigned errors;
	uint32_t retrieved;         /* RETR completed (the QUIT summary) */
	uint64_t retrieved_octets;
	bool busy;                  /* a worker job or a stream runs: input paused */
	bool draining;              /* server stopping: goodbye when idle */
};

/* ---- pop3-session.c ---- */

const char *pop3_state_name(enum pop3_state state);
void pop3_set_state(struct pop3_session *s, enum pop3_state state);
/* The session of connection id, or NULL when it has gone or is closing. */
struct pop3_session *pop3_session_lookup(uint64_t id);
/* One line as is (no CRLF): a multi-line response's lines, "." included. */
void pop3_send(struct pop3_session *s, const char *line);
/* "+OK text". */
void pop3_ok(struct pop3_session *s, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
/* "-ERR [CODE] text" from a core/reason.c row (text NULL = the row's);
 * bad_command counts it towards POP3_ERRORS_MAX. */
void pop3_err(struct pop3_session *s, const char *reason, const char *text, bool bad_command);
/* A refusal worth recording: journal (decision "refuse"), log, reply. */
void pop3_refuse(struct pop3_session *s, const char *reason, const char *account,
		 const char *detail);
/* Journal one decision of this session (loop thread). */
void pop3_journal(struct pop3_session *s, const char *decision, const char *reason,
		  const char *account, const char *detail);
/* Protocol log line, when pop3.protocol-log is on. */
void pop3_protolog(struct pop3_session *s, char dir, const char *line);
/* A worker job or stream starts / ended: pause and resume the input. */
void pop3_session_suspend(struct pop3_session *s);
void pop3_session_resume(struct pop3_session *s);
/* Close after the flush (the last reply is already sent). */
void pop3_session_close(struct pop3_session *s, const char *reason);

/* ---- pop3-commands.c ---- */

const struct pop3_command *pop3_command_find(const char *verb);
/* Run one command line through the table's generic checks. */
void pop3_command_dispatch(struct pop3_session *s, char *line, size_t len);
/* STLS's handshake finished: back to AUTHORIZATION, knowing nothing. */
void pop3_stls_ready(struct pop3_session *s);

/* ---- pop3-auth.c: USER/PASS and AUTH PLAIN end here ---- */

void pop3_auth_begin(struct pop3_session *s, const char *mech, const char *initial);
/* A SASL response line in POP3_STATE_SASL; NULL when it was too long. */
void pop3_auth_input(struct pop3_session *s, const char *line, size_t len);
/* Check login/password on a worker, then lock and open the maildrop. */
void pop3_login(struct pop3_session *s, const char *login, const char *password);

/* ---- pop3-maildrop.c ---- */

/* The maildrop lock (RFC 1939 8): one POP3 session per account, an
 * in-process table on the loop thread. -1 when another session has it. */
int pop3_lock_take(const char *account, uint64_t owner);
/* Release when owner holds it (a no-op otherwise). */
void pop3_lock_release(const char *account, uint64_t owner);
/* Login: open the index and list INBOX on a worker, then TRANSACTION. */
void pop3_maildrop_open(struct pop3_session *s);
/* QUIT in TRANSACTION: the UPDATE state on a worker, then goodbye. */
void pop3_maildrop_update(struct pop3_session *s);
/* The session ends without QUIT: journal pop3.aborted (nothing is deleted). */
void pop3_maildrop_abandon(struct pop3_session *s, const char *why);
void pop3_maildrop_clear(struct pop3_maildrop *drop);
/* Coalesce ascending UIDs into ranges of consecutive ones; ranges must
 * hold count entries. Returns how many ranges. Pure: unit-tested. */
size_t pop3_uid_ranges(const uint32_t *uids, size_t count, uint32_t (*ranges)[2]);
/* The UIDL of a message: "%08X%08X" of UID and UIDVALIDITY (Dovecot's
 * default), stable across sessions and restarts as long as the index
 * keeps its UIDs. */
void pop3_uidl(uint32_t uidvalidity, uint32_t uid, char out[POP3_UIDL_MAX]);

/* ---- pop3-retr.c: RETR and TOP stream the file ---- */

/* Start streaming message msg (1-based); lines < 0 = the whole message
 * (RETR), else TOP's header plus that many body lines. */
void pop3_retr_start(struct pop3_session *s, uint32_t msg, int64_t lines);
/* The session ends: stop streaming and free (closed handler). */
void pop3_retr_free(struct pop3_retr **_retr);
/* The output a stream waited for has drained (conn's output_drained). */
void pop3_retr_output_drained(struct pop3_session *s);

/* ---- pop3-stuff.c: the RETR/TOP encoder (pure, unit-tested) ---- */

/* Octets out may need per octet in: a bare LF becomes CRLF, a '.' at a
 * line start becomes "..". */
#define POP3_STUFF_OUT_MAX(len) (2 * (len) + 2)
/* pop3_stuff_finish's output: CRLF to end an unterminated last line and
 * ".\r\n" (RFC 1939 3). */
#define POP3_STUFF_FINISH_MAX 6

struct pop3_stuff {
	bool line_start;     /* the next octet starts a line */
	bool line_empty;     /* nothing but the line end on the current line */
	bool pending_cr;     /* a CR whose meaning the next octet decides */
	bool in_body;        /* past the empty line after the header */
	bool limited;        /* TOP: count body lines */
	uint64_t lines_left; /* TOP: body lines still to send */
	bool done;           /* TOP has sent what it must: ignore the rest */
};

/* lines < 0: everything (RETR); else TOP's body line count. */
void pop3_stuff_init(struct pop3_stuff *st, int64_t lines);
/* Encode len octets of the stored message into out (room for
 * POP3_STUFF_OUT_MAX(len)); returns the octets written. Lines end in
 * CRLF whatever the file has, lines starting with '.' are byte-stuffed. */
size_t pop3_stuff_feed(struct pop3_stuff *st, const char *in, size_t len, char *out);
/* End the response: complete the last line, then the ".\r\n". */
size_t pop3_stuff_finish(struct pop3_stuff *st, char *out);

#endif
