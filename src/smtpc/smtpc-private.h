/* SPDX-License-Identifier: ISC */
/*
 * smtpc-private.h - the SMTP client's session, shared by smtpc-*.c (and
 * its unit tests); nothing outside src/smtpc/ includes it.
 */
#ifndef POSTINO_SMTPC_PRIVATE_H
#define POSTINO_SMTPC_PRIVATE_H

#include "lib/lib.h"
#include "smtpc/smtpc.h"

#include <sys/socket.h>

struct bufferevent;
struct event;
struct ssl_st;

/* A reply line longer than this is a protocol error (RFC 5321 4.5.3.1.5
 * says 512 with the code; servers send longer EHLO lines, nobody 2048). */
#define SMTPC_REPLY_LINE_MAX 2048
/* Input read ahead of the parser: libevent stops reading past it. */
#define SMTPC_INPUT_MAX (64 * 1024)
/* The message file is read this much at a time ... */
#define SMTPC_CHUNK (64 * 1024)
/* ... and reading stops while this much output is queued (resumes below
 * SMTPC_OUTPUT_LOW), so a slow peer never makes us buffer the message. */
#define SMTPC_OUTPUT_HIGH (256 * 1024)
#define SMTPC_OUTPUT_LOW (128 * 1024)
/* Under a STARTTLS filter: ciphertext queued on the socket layer at most. */
#define SMTPC_TLS_UNDER_HIGH (64 * 1024)

/* Timeouts in ms at timeout_scale_pct 100. RFC 5321 4.5.3.2 gives the
 * greeting, MAIL, RCPT, DATA, data block and final dot; the others follow
 * Postfix's defaults (connect 30 s, HELO/STARTTLS/AUTH 5 min), and QUIT is
 * short because nothing depends on its answer. */
#define SMTPC_TIMEOUT_CONNECT_MS (30 * 1000)
#define SMTPC_TIMEOUT_GREETING_MS (5 * 60 * 1000)
#define SMTPC_TIMEOUT_CMD_MS (5 * 60 * 1000)  /* EHLO, STARTTLS, AUTH, RSET, MAIL, RCPT */
#define SMTPC_TIMEOUT_DATA_MS (2 * 60 * 1000)
#define SMTPC_TIMEOUT_BLOCK_MS (3 * 60 * 1000)
#define SMTPC_TIMEOUT_DOT_MS (10 * 60 * 1000)
#define SMTPC_TIMEOUT_QUIT_MS (10 * 1000)

enum smtpc_state {
	SMTPC_STATE_CONNECT,    /* TCP connect (and the implicit TLS handshake) */
	SMTPC_STATE_GREETING,
	SMTPC_STATE_EHLO,
	SMTPC_STATE_HELO,
	SMTPC_STATE_STARTTLS,   /* waiting for 220 */
	SMTPC_STATE_HANDSHAKE,  /* STARTTLS handshake */
	SMTPC_STATE_AUTH,       /* AUTH PLAIN, or AUTH LOGIN's last step */
	SMTPC_STATE_AUTH_USER,  /* AUTH LOGIN: waiting for the user prompt */
	SMTPC_STATE_AUTH_PASS,  /* AUTH LOGIN: waiting for the password prompt */
	SMTPC_STATE_READY,      /* idle between transactions */
	SMTPC_STATE_TX,         /* RSET/MAIL/RCPT/DATA replies pending */
	SMTPC_STATE_BODY,       /* streaming the message */
	SMTPC_STATE_DOT,        /* waiting for the final reply */
	SMTPC_STATE_QUIT,       /* QUIT sent, waiting (briefly) for 221 */
	SMTPC_STATE_BROKEN,     /* failed: only smtpc_quit() is valid */
	SMTPC_STATE_CLOSED,     /* freed at the next safe point */
};

enum smtpc_auth_mech {
	SMTPC_AUTH_PLAIN = 0x01,
	SMTPC_AUTH_LOGIN = 0x02,
};

/* The body encoder: LF or CR LF (or a bare CR) in, CR LF out, dots
 * doubled at line starts (RFC 5321 4.5.2). */
struct smtpc_dot_encoder {
	bool line_start;
	bool pending_cr;
	bool any;         /* some octet was produced (an empty file is just ".") */
};

enum smtpc_notify_kind {
	SMTPC_NOTIFY_NONE,
	SMTPC_NOTIFY_READY,
	SMTPC_NOTIFY_SENT,
};

struct smtpc {
	enum smtpc_state state;
	char *log_id, *peer_name, *helo, *auth_user, *auth_pass;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	enum smtpc_tls tls_mode;
	unsigned scale_pct;
	struct ssl_ctx_st *tls_ctx;    /* our reference */
	struct bufferevent *bev;       /* the top layer (the TLS filter after STARTTLS) */
	struct event *timer;           /* the current step's deadline */
	struct event *notify_ev;       /* runs the caller's callback on the loop */
	struct smtpc_info info;
	unsigned auth_mechs;           /* enum smtpc_auth_mech offered */
	bool size_offered;             /* SIZE was in the EHLO reply (maybe without a limit) */
	bool authenticated;
	bool need_rset;                /* the last transaction was left open */
	bool in_sync;                  /* after a failure: the server still expects a command */

	/* the reply being read */
	struct smtpc_reply_parser parser;
	struct smtpc_info caps;        /* capabilities collected from an EHLO reply */
	unsigned caps_auth;
	bool caps_size;

	/* the caller */
	smtpc_ready_fn *ready_fn;
	smtpc_sent_fn *sent_fn;
	void *ctx;
	enum smtpc_notify_kind notify;
	bool notify_ok, notify_lost;
	struct smtpc_reply notify_reply;

	/* the transaction */
	struct smtpc_msg *msg;
	/* replies still due, answered in this order (RFC 2920 3.1) */
	bool expect_rset, expect_mail, expect_data;
	size_t rcpt_sent, rcpt_replied, rcpt_accepted;
	bool pipelined, mail_ok, aborting;
	struct smtpc_reply mail_reply, last_rcpt_reply;
	int body_fd;
	struct smtpc_dot_encoder enc;
	char *chunk_in, *chunk_out;
	uint64_t body_bytes;
	uint64_t tx_started_ms;
};

/* smtpc-reply.c */
const char *smtpc_reason_for_code(int code);
void smtpc_reply_set(struct smtpc_reply *r, int code, const char *enhanced, const char *stage,
		     const char *reason, const char *fmt, ...) ATTR_FORMAT(printf, 6, 7);

/* smtpc-session.c */
void smtpc_set_state(struct smtpc *c, enum smtpc_state state);
const char *smtpc_state_name(enum smtpc_state state);
unsigned smtpc_timeout_ms(const struct smtpc *c, unsigned base_ms);
void smtpc_arm_timer(struct smtpc *c, unsigned base_ms);
void smtpc_write(struct smtpc *c, const void *data, size_t len);
void smtpc_printf(struct smtpc *c, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
size_t smtpc_output_pending(const struct smtpc *c);
/* Report to the caller at the next loop turn (never from inside a call). */
void smtpc_notify_ready(struct smtpc *c, bool ok, const struct smtpc_reply *reply);
void smtpc_notify_sent(struct smtpc *c, const struct smtpc_reply *reply, bool conn_lost);
/* A fatal failure: drop the transport and report reply. */
void smtpc_fail(struct smtpc *c, const struct smtpc_reply *reply);
/* After a successful EHLO/HELO/AUTH: the next connection step. */
void smtpc_session_advance(struct smtpc *c);
/* Read and dispatch complete replies while the state expects one. */
void smtpc_read_replies(struct smtpc *c);
/* Callbacks, watermarks and enabling of c->bev (again after STARTTLS). */
void smtpc_setup_bev(struct smtpc *c);

/* smtpc-tx.c */
void smtpc_tx_reply(struct smtpc *c, struct smtpc_reply *reply);
void smtpc_tx_dot_reply(struct smtpc *c, struct smtpc_reply *reply);
/* The connection broke during a transaction: settle every recipient. */
void smtpc_tx_lost(struct smtpc *c, const struct smtpc_reply *reply);

/* smtpc-data.c */
void smtpc_dot_encoder_init(struct smtpc_dot_encoder *e);
/* Encode in[0..len) into out (room for 2 * len + 8 octets); returns the
 * octets written. last: also end the final line and add ".\r\n". */
size_t smtpc_dot_encode(struct smtpc_dot_encoder *e, const char *in, size_t len, char *out,
			bool last);
int smtpc_data_begin(struct smtpc *c, char **error_r);
/* Write more of the body while the output is below SMTPC_OUTPUT_HIGH. */
void smtpc_data_pump(struct smtpc *c);
void smtpc_data_end(struct smtpc *c);

/* smtpc-tls.c */
/* Push a TLS filter on the plain connection (after 220 to STARTTLS). */
int smtpc_tls_start(struct smtpc *c);
struct ssl_st *smtpc_tls_new_ssl(struct smtpc *c);
void smtpc_tls_describe(struct smtpc *c);
/* The context used when smtpc_connect() gets none (built once). */
struct ssl_ctx_st *smtpc_tls_ctx_default(void);

#endif
