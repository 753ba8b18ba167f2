/* SPDX-License-Identifier: ISC */
/*
 * conn.h - one client connection, whatever the protocol: a bufferevent
 * (optionally TLS), bounded line reading, printf output with backpressure,
 * timeouts, STARTTLS, an id and the peer's address.
 *
 * A protocol session owns a conn through its handler: conn_set_handler()
 * in its accept function, then input/timeout/drain/closed callbacks. The
 * conn stays valid until `closed` has run and the current callback has
 * returned; after that only its id may be kept (conn_lookup()).
 */
#ifndef POSTINO_CONN_H
#define POSTINO_CONN_H

#include "lib/lib.h"
#include "core/config.h"

struct conn;
struct evbuffer;
struct sockaddr;
struct ssl_ctx_st;

/* Until a protocol says otherwise: RFC 5321 4.5.3.2.7 asks an SMTP server
 * to wait at least 5 minutes for the next command. */
#define CONN_IDLE_TIMEOUT_DEFAULT_MS (5 * 60 * 1000)

struct conn_handler {
	/* Input is buffered: take it with conn_read_line()/conn_input(). */
	void (*input)(struct conn *conn, void *ctx);
	/* Nothing arrived for the idle timeout. NULL = close ("idle timeout");
	 * otherwise the protocol says goodbye and calls conn_finish() (or
	 * conn_resume_input() to keep waiting: a timeout pauses reading). */
	void (*timeout)(struct conn *conn, void *ctx);
	/* The server is shutting down. NULL = close now; otherwise end the
	 * current command, reply, and conn_finish(). */
	void (*drain)(struct conn *conn, void *ctx);
	/* conn_starttls() completed; a failed handshake closes instead. */
	void (*tls_ready)(struct conn *conn, void *ctx);
	/* The peer must go (screening blocked its address): say goodbye
	 * with the words of reason (a core/reason.c code) and conn_finish().
	 * NULL = close now, without a reply. */
	void (*kick)(struct conn *conn, void *ctx, const char *reason);
	/* Called once when the connection goes away, whoever closed it:
	 * forget the conn and free the session with loop_defer_free(). */
	void (*closed)(struct conn *conn, void *ctx, const char *reason);
	/* Once after conn_want_drained(): every queued output byte has gone
	 * to the kernel (a paused command producing output may go on). */
	void (*output_drained)(struct conn *conn, void *ctx);
};

/* The connection is ready for the protocol (after the TLS handshake on
 * implicit-TLS listeners). */
typedef void conn_open_fn(struct conn *conn, void *ctx);

/* Adopt an accepted, non-blocking fd. With tls_ctx the TLS handshake runs
 * first. open runs when the conn is ready; on failure fd is closed. */
void conn_new(int fd, const struct sockaddr *peer, int peer_len, enum listener_kind kind,
	      struct ssl_ctx_st *tls_ctx, conn_open_fn *open, void *open_ctx);
void conn_set_handler(struct conn *conn, const struct conn_handler *handler, void *ctx);

uint64_t conn_id(const struct conn *conn);
/* "66f3a8b1.17": unique across restarts, for logs and the journal. */
const char *conn_sid(const struct conn *conn);
/* Numeric address ("192.0.2.1", "2001:db8::1") and port of the peer. */
const char *conn_peer(const struct conn *conn);
uint16_t conn_peer_port(const struct conn *conn);
enum listener_kind conn_listener(const struct conn *conn);
/* "smtp", "imaps", ... */
const char *conn_listener_name(const struct conn *conn);
bool conn_is_tls(const struct conn *conn);
/* The configuration the connection started with (stable for its life). */
const struct config *conn_config(const struct conn *conn);
/* An open connection by id, or NULL once it has closed. */
struct conn *conn_lookup(uint64_t id);
/* conn_session - the session (handler ctx) of the open connection with
 * this id, if handler serves it; NULL once it has closed (from the start
 * of its closed callback). Worker jobs keep the id, never the pointer,
 * and find their session again with this. */
void *conn_session(uint64_t id, const struct conn_handler *handler);
/* How many open connections served by handler have a session that
 * match(ctx, arg) accepts. */
typedef bool conn_session_match_fn(const void *ctx, const void *arg);
unsigned conn_count_sessions(const struct conn_handler *handler, conn_session_match_fn *match,
			     const void *arg);

/* Next line without its CRLF (or bare LF); 1 = line (valid until the next
 * call), 0 = need more input, -1 = the line exceeds max bytes: it is
 * discarded through its line end and reading may go on. */
int conn_read_line(struct conn *conn, size_t max, char **line_r, size_t *len_r);
/* Raw input (message bodies, literals). */
struct evbuffer *conn_input(struct conn *conn);
/* Stop/restart calling input (e.g. while a worker job runs); resuming
 * replays input already buffered. */
void conn_pause_input(struct conn *conn);
void conn_resume_input(struct conn *conn);

void conn_write(struct conn *conn, const void *data, size_t len);
void conn_printf(struct conn *conn, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
void conn_vprintf(struct conn *conn, const char *fmt, va_list ap) ATTR_FORMAT(printf, 2, 0);
size_t conn_output_pending(const struct conn *conn);
/* Call the handler's output_drained once the output queue is empty
 * (at once, from the loop, when it already is). */
void conn_want_drained(struct conn *conn);

void conn_set_idle_timeout(struct conn *conn, unsigned ms);
/* Upgrade to TLS with the current server context; buffered plaintext is
 * discarded first (CVE-2011-0411). -1 when already TLS or no context. */
int conn_starttls(struct conn *conn);

/* Flush output, end TLS, half-close, read until the peer closes (so it
 * sees our last reply, not a reset), then close. */
void conn_finish(struct conn *conn, const char *reason);
/* Close now, discarding unsent output. */
void conn_close(struct conn *conn, const char *reason);

/* Every connection (listen.c's limits, the drain). */
unsigned conn_count(void);
unsigned conn_count_listener(enum listener_kind kind);
unsigned conn_count_peer(const char *peer);
/* Whether a peer address is one to kick (arg is the caller's). */
typedef bool conn_peer_match_fn(const char *peer, const void *arg);
/* Kick every open connection whose peer matches (handler kick, or a
 * close): screening ends all sessions of an address it blocks. The
 * current callback's own conn may be among them; it stays valid until
 * that callback returns. Returns how many were kicked. */
unsigned conn_kick_peers(conn_peer_match_fn *match, const void *arg, const char *reason);
/* Shutdown: ask each session to finish (handler drain) or close it. */
void conn_drain_all(void);
void conn_close_all(const char *reason);

#endif
