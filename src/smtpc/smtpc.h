/* SPDX-License-Identifier: ISC */
/*
 * smtpc.h - the SMTP client of the outbound queue: one connection to one
 * address, on the daemon's loop, carrying one or more messages.
 *
 *   smtpc_connect()  TCP connect, greeting, EHLO (HELO when EHLO is
 *                    refused), STARTTLS (opportunistic: used when offered,
 *                    no certificate check, TLS 1.2+, SNI = peer_name), EHLO
 *                    again (the pre-TLS capabilities are forgotten), AUTH
 *                    PLAIN/LOGIN when credentials are given (only over TLS)
 *                    -> ready_fn
 *                    A failed STARTTLS handshake is reported as a failure
 *                    with reason smtpc.tls-failed; the connection is gone,
 *                    and the caller reconnects with SMTPC_TLS_NONE when TLS
 *                    is not required (smtpc never falls back by itself).
 *                    SMTPC_TLS_REQUIRED and no STARTTLS offered ->
 *                    smtpc.tls-required. tls_ctx NULL: a built-in
 *                    smtpc_tls_ctx_new() context is used.
 *   smtpc_send()     MAIL FROM (SIZE=, BODY=8BITMIME, SMTPUTF8, RET=,
 *                    ENVID= as the peer supports), RCPT TO for each
 *                    recipient (NOTIFY=, ORCPT= when DSN is offered),
 *                    pipelined when PIPELINING is offered, DATA with the
 *                    message file dot-stuffed and line ends made CRLF
 *                    -> sent_fn with a result per recipient
 *                    Before the transaction the client checks what the
 *                    peer can take: a message larger than its SIZE, 8-bit
 *                    data to a peer without 8BITMIME, SMTPUTF8 needed but
 *                    not offered: permanent failure without sending, as a
 *                    reply of our own making (stage "local", codes 552
 *                    5.3.4 smtpc.too-big, 554 5.6.3 smtpc.no-8bitmime, 553
 *                    5.6.7 smtpc.no-smtputf8); the connection stays usable.
 *   smtpc_send() again on the same connection (connection reuse; RSET
 *                    first when the last transaction did not end cleanly)
 *   smtpc_quit()     QUIT, close, free (asynchronously; no callback).
 *
 * Every callback runs on the loop, never from inside the call that
 * started the step. After ready_fn reported a failure, or a sent_fn
 * whose result says the connection is gone (result.conn_lost), the only
 * valid call is smtpc_quit(). Timeouts per RFC 5321 4.5.3.2 (greeting
 * 5 min, MAIL 5, RCPT 5, DATA 2, data block 3, final dot 10 minutes;
 * connect 30 s, EHLO/STARTTLS/AUTH/RSET 5 min, QUIT 10 s), scaled by
 * smtpc_opts.timeout_scale_pct for tests. A 421 reply at any point means
 * the server is closing: conn_lost. Reply lines over 2048 octets, more
 * than SMTPC_REPLY_LINES_MAX lines or malformed lines: smtpc.protocol.
 */
#ifndef POSTINO_SMTPC_H
#define POSTINO_SMTPC_H

#include "lib/lib.h"

#include <sys/socket.h>

struct smtpc;
struct ssl_ctx_st;

enum smtpc_tls {
	SMTPC_TLS_NONE,           /* never STARTTLS */
	SMTPC_TLS_OPPORTUNISTIC,  /* STARTTLS when offered; no certificate check */
	SMTPC_TLS_REQUIRED,       /* STARTTLS must succeed (smarthost tls=yes) */
	SMTPC_TLS_IMPLICIT,       /* TLS from the first byte (port 465 relays) */
};

struct smtpc_opts {
	const struct sockaddr *addr;  /* with port */
	socklen_t addr_len;
	const char *peer_name;        /* host name: SNI, logs */
	const char *helo;             /* our host name */
	enum smtpc_tls tls;
	const char *auth_user;        /* smarthost credentials, NULL = no AUTH */
	const char *auth_pass;
	unsigned timeout_scale_pct;   /* 100 = RFC timeouts; 0 means 100 */
	const char *log_id;           /* prefix for log lines (queue id) */
};

/* The deciding reply of a step, or a local/connection failure. */
struct smtpc_reply {
	int code;                     /* 250, 451, 550...; 0 = no reply (network, timeout, local) */
	char enhanced[16];            /* "5.1.1" or "" */
	char text[512];               /* the reply's text (lines joined by "; "), or our sentence */
	const char *stage;            /* "connect", "greeting", "ehlo", "starttls", "auth",
				       * "mail", "rcpt", "data", "dot", "local" */
	const char *reason;           /* core/reason.c code: "smtpc.ok", "smtpc.connect",
				       * "smtpc.timeout", "smtpc.lost", "smtpc.protocol",
				       * "smtpc.tls-failed", "smtpc.tls-required",
				       * "smtpc.refused-4xx", "smtpc.refused-5xx", "smtpc.too-big",
				       * "smtpc.no-8bitmime", "smtpc.no-smtputf8",
				       * "smtpc.auth-failed", "smtpc.auth-needs-tls",
				       * "smtpc.auth-unavailable", "smtpc.local-error" */
};

struct smtpc_rcpt {
	const char *address;
	unsigned dsn_notify;          /* RFC 3461 NOTIFY bits as the queue stores them, 0 = none */
	const char *dsn_orcpt;        /* "rfc822;addr" or NULL */
	struct smtpc_reply reply;     /* out: RCPT reply, or the DATA/dot reply when accepted;
				       * filled for every recipient when sent_fn runs */
	bool delivered;               /* out: the peer took it (250 after the final dot) */
};

struct smtpc_msg {
	const char *sender;           /* "" = null sender */
	const char *path;             /* message file (CRLF or LF line ends, not dot-stuffed) */
	uint64_t size;                /* its size (SIZE=) */
	bool eight_bit;               /* needs BODY=8BITMIME */
	bool smtputf8;                /* needs SMTPUTF8 (non-ASCII addresses) */
	int dsn_ret;                  /* 0 none, 1 FULL, 2 HDRS */
	const char *dsn_envid;
	struct smtpc_rcpt *rcpts;
	size_t rcpt_count;
};

struct smtpc_info {
	bool tls;                     /* the session is encrypted */
	char tls_desc[64];            /* "TLSv1.3 TLS_AES_256_GCM_SHA384" */
	char peer_addr[64];
	const char *peer_name;
	uint64_t size_limit;          /* peer's SIZE, 0 = none announced */
	bool pipelining, eightbitmime, smtputf8, dsn, starttls_offered;
};

/* ok: ready to send; otherwise reply says why (then smtpc_quit()). */
typedef void smtpc_ready_fn(struct smtpc *c, void *ctx, bool ok, const struct smtpc_reply *reply);
/* Per-recipient outcomes are in msg->rcpts[]; reply is the transaction's
 * deciding reply (MAIL's when MAIL failed, the dot's otherwise);
 * conn_lost: the connection cannot be reused. */
typedef void smtpc_sent_fn(struct smtpc *c, void *ctx, const struct smtpc_reply *reply,
			   bool conn_lost);

struct smtpc *smtpc_connect(const struct smtpc_opts *opts, struct ssl_ctx_st *tls_ctx,
			    smtpc_ready_fn *ready, void *ctx);
void smtpc_send(struct smtpc *c, struct smtpc_msg *msg, smtpc_sent_fn *sent, void *ctx);
void smtpc_quit(struct smtpc *c);
const struct smtpc_info *smtpc_info(const struct smtpc *c);

/* The reply parser (network input; fuzzed). Feed lines without CRLF;
 * returns 1 when the reply is complete (code/enhanced/text filled), 0
 * when more lines follow, -1 on a malformed line (then reply->code is 0
 * and text says why). Bounded: text is truncated, at most
 * SMTPC_REPLY_LINES_MAX lines are accepted. */
#define SMTPC_REPLY_LINES_MAX 100
struct smtpc_reply_parser {
	int code;
	unsigned lines;
	size_t text_len;
	struct smtpc_reply reply;
};
void smtpc_reply_parser_init(struct smtpc_reply_parser *p);
int smtpc_reply_parser_feed(struct smtpc_reply_parser *p, const char *line, size_t len);

/* TLS context for outbound (no verification, TLS 1.2+, system CAs loaded
 * for a later DANE/MTA-STS). */
struct ssl_ctx_st *smtpc_tls_ctx_new(char **error_r);

#endif
