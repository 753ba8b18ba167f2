/* SPDX-License-Identifier: ISC */
/*
 * conn.c - protocol-agnostic client connections.
 *
 * DESIGN
 * A conn wraps one bufferevent: a socket bufferevent for plain listeners,
 * an OpenSSL socket bufferevent for implicit TLS, and after STARTTLS an
 * OpenSSL filter stacked on the plain one. Protocols see the same API in
 * every case. Callbacks are deferred (BEV_OPT_DEFER_CALLBACKS), so writing
 * from inside a callback never re-enters the protocol.
 *
 * Life cycle (conn_set_state logs every step):
 *   HANDSHAKE -> OPEN <-> STARTTLS -> FLUSHING -> LINGER -> CLOSED
 * conn_close() runs the protocol's `closed` callback once, unlinks the
 * conn from the id table and defers the free to a loop safe point, so a
 * pointer held by the current callback chain stays valid until it unwinds.
 *
 * Bounds: input is read up to CONN_INPUT_MAX bytes ahead of the protocol,
 * output past CONN_OUTPUT_HIGH stops reading until the peer catches up, so
 * a client that never reads cannot make us buffer without limit.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/conn.h"
#include "core/loop.h"
#include "core/tls.h"

#include <assert.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* Unread input we accept ahead of the protocol; above every protocol's
 * line limit (SMTP 1000, RFC 5321 4.5.3.1.6; IMAP lines are longer but
 * literals are read raw). */
#define CONN_INPUT_MAX (64 * 1024)
/* Output queued beyond this pauses input until it drains. */
#define CONN_OUTPUT_HIGH (256 * 1024)
/* conn_printf output up to this size is formatted on the stack (replies,
 * FETCH lines), longer output straight into the output buffer. */
#define CONN_PRINTF_STACK 1024
/* A TLS handshake must not hold a connection slot longer than this. */
#define CONN_HANDSHAKE_TIMEOUT_MS (30 * 1000)
/* A peer that reads nothing for this long is gone (RFC 5321 4.5.3.2
 * allows a client minutes per data block; we time writes alike). */
#define CONN_WRITE_TIMEOUT_MS (5 * 60 * 1000)
/* After our last reply, how long we wait for the peer to close. */
#define CONN_LINGER_MS 2000
/* How long a peer that sends nothing may take to read our last reply. */
#define CONN_FLUSH_TIMEOUT_MS (30 * 1000)
#define CONN_FLUSH_POLL_MS 10
/* Buckets of the id table; chains stay short at the global conn cap. */
#define CONN_HASH_BUCKETS 1024

enum conn_state {
	CONN_STATE_HANDSHAKE,
	CONN_STATE_OPEN,
	CONN_STATE_STARTTLS,
	CONN_STATE_FLUSHING,
	CONN_STATE_LINGER,
	CONN_STATE_CLOSED,
};

struct conn {
	uint64_t id;
	char sid[32];
	enum conn_state state;
	enum listener_kind kind;
	int fd;
	struct bufferevent *bev;
	bool tls;
	char peer[NI_MAXHOST];
	uint16_t peer_port;
	uint64_t started_ms;
	unsigned idle_ms;
	bool input_paused;   /* by the protocol */
	bool output_blocked; /* by CONN_OUTPUT_HIGH */
	bool want_drained;   /* call handler->output_drained when output is empty */
	bool discarding;     /* skipping the rest of an overlong line */
	char *line;          /* last line returned by conn_read_line */
	char *finish_reason;
	struct event *flush_timer;
	conn_open_fn *open;
	void *open_ctx;
	const struct conn_handler *handler;
	void *ctx;
	const struct config *cfg; /* referenced snapshot */
	TAILQ_ENTRY(conn) entry;
	struct conn *hash_next;
};

TAILQ_HEAD(conn_list, conn);

static struct conn_list conns = TAILQ_HEAD_INITIALIZER(conns);
static struct conn *conn_hash[CONN_HASH_BUCKETS];
static unsigned conn_total;
static unsigned conn_by_kind[LISTENER_COUNT];
static uint64_t conn_next_id = 1;
static uint32_t conn_epoch; /* process start, makes sids unique across restarts */

static const char *const conn_state_names[] = {
	[CONN_STATE_HANDSHAKE] = "handshake",
	[CONN_STATE_OPEN] = "open",
	[CONN_STATE_STARTTLS] = "starttls",
	[CONN_STATE_FLUSHING] = "flushing",
	[CONN_STATE_LINGER] = "linger",
	[CONN_STATE_CLOSED] = "closed",
};

static void conn_on_read(struct bufferevent *bev, void *ctx);
static void conn_on_write(struct bufferevent *bev, void *ctx);
static void conn_on_event(struct bufferevent *bev, short what, void *ctx);
static void conn_flush_check(struct conn *conn);

static void conn_set_state(struct conn *conn, enum conn_state state)
{
	log_write(LOG_LEVEL_DEBUG, conn_listener_name(conn), "state sid=%s %s -> %s", conn->sid,
		  conn_state_names[conn->state], conn_state_names[state]);
	conn->state = state;
}

static void conn_set_timeouts(struct conn *conn, unsigned read_ms)
{
	struct timeval rtv = { read_ms / 1000, (read_ms % 1000) * 1000 };
	struct timeval wtv = { CONN_WRITE_TIMEOUT_MS / 1000, 0 };

	bufferevent_set_timeouts(conn->bev, read_ms > 0 ? &rtv : NULL, &wtv);
}

/* conn_setup_bev - callbacks and bounds, for every bufferevent a conn
 * gets (the first one, and the TLS filter after STARTTLS). */
static void conn_setup_bev(struct conn *conn, unsigned read_timeout_ms)
{
	bufferevent_setcb(conn->bev, conn_on_read, conn_on_write, conn_on_event, conn);
	bufferevent_setwatermark(conn->bev, EV_READ, 0, CONN_INPUT_MAX);
	/* the write callback fires when output is empty: backpressure, finish */
	bufferevent_setwatermark(conn->bev, EV_WRITE, 0, 0);
	conn_set_timeouts(conn, read_timeout_ms);
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
}

static void conn_hash_add(struct conn *conn)
{
	struct conn **bucket = &conn_hash[conn->id % CONN_HASH_BUCKETS];

	conn->hash_next = *bucket;
	*bucket = conn;
}

static void conn_hash_remove(struct conn *conn)
{
	for (struct conn **cp = &conn_hash[conn->id % CONN_HASH_BUCKETS]; *cp != NULL;
	     cp = &(*cp)->hash_next) {
		if (*cp == conn) {
			*cp = conn->hash_next;
			return;
		}
	}
}

/* conn_ready - the protocol takes over (plain accept, or TLS handshake
 * done on an implicit-TLS listener). */
static void conn_ready(struct conn *conn)
{
	conn_set_state(conn, CONN_STATE_OPEN);
	conn_set_timeouts(conn, conn->idle_ms);
	conn->open(conn, conn->open_ctx);
}

static void conn_log_tls(struct conn *conn)
{
	SSL *ssl = bufferevent_openssl_get_ssl(conn->bev);

	if (ssl != NULL)
		log_write(LOG_LEVEL_INFO, conn_listener_name(conn),
			  "tls sid=%s version=%s cipher=%s", conn->sid, SSL_get_version(ssl),
			  SSL_get_cipher_name(ssl));
}

void conn_new(int fd, const struct sockaddr *peer, int peer_len, enum listener_kind kind,
	      struct ssl_ctx_st *tls_ctx, conn_open_fn *open, void *open_ctx)
{
	struct conn *conn;
	char port[NI_MAXSERV];
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	SSL *ssl = NULL;

	if (tls_ctx != NULL && (ssl = SSL_new(tls_ctx)) == NULL) {
		log_error("tls: SSL_new failed; dropping connection");
		ERR_clear_error();
		close(fd);
		return;
	}
	if (conn_epoch == 0)
		conn_epoch = (uint32_t)time_now();
	conn = xcalloc(1, sizeof(*conn));
	conn->id = conn_next_id++;
	if (str_printf(conn->sid, sizeof(conn->sid), "%08" PRIx32 ".%" PRIu64, conn_epoch,
		       conn->id) < 0)
		panic("conn: sid does not fit");
	conn->kind = kind;
	conn->fd = fd;
	conn->tls = ssl != NULL;
	conn->idle_ms = CONN_IDLE_TIMEOUT_DEFAULT_MS;
	conn->started_ms = time_monotonic_ms();
	conn->open = open;
	conn->open_ctx = open_ctx;
	conn->cfg = loop_config_ref();
	if (getnameinfo(peer, (socklen_t)peer_len, conn->peer, sizeof(conn->peer), port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		if (str_copy(conn->peer, "unknown", sizeof(conn->peer)) < 0)
			panic("conn: peer buffer too small");
		port[0] = '\0';
	}
	conn->peer_port = (uint16_t)atoi(port);
	/* Replies often leave in several writes (an IMAP FETCH, a multi-line
	 * SMTP reply): without TCP_NODELAY the second one waits for the peer's
	 * delayed ACK, up to 40 ms per command. Unix sockets (tests) refuse it. */
	if (peer->sa_family == AF_INET || peer->sa_family == AF_INET6) {
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (ssl != NULL) {
		conn->bev = bufferevent_openssl_socket_new(loop_base(), fd, ssl,
							   BUFFEREVENT_SSL_ACCEPTING, opts);
		conn->state = CONN_STATE_HANDSHAKE;
	} else {
		conn->bev = bufferevent_socket_new(loop_base(), fd, opts);
		conn->state = CONN_STATE_OPEN;
	}
	if (conn->bev == NULL)
		panic("conn: cannot create a bufferevent");
	if (ssl != NULL) {
		/* clients that just close without close_notify are normal */
		bufferevent_openssl_set_allow_dirty_shutdown(conn->bev, 1);
	}
	TAILQ_INSERT_TAIL(&conns, conn, entry);
	conn_hash_add(conn);
	conn_total++;
	conn_by_kind[kind]++;
	log_write(LOG_LEVEL_INFO, conn_listener_name(conn), "connect sid=%s peer=%s:%u tls=%s",
		  conn->sid, conn->peer, conn->peer_port, conn->tls ? "yes" : "no");
	if (ssl != NULL) {
		conn_setup_bev(conn, CONN_HANDSHAKE_TIMEOUT_MS);
		return;
	}
	conn_setup_bev(conn, conn->idle_ms);
	conn->open(conn, conn->open_ctx);
}

void conn_set_handler(struct conn *conn, const struct conn_handler *handler, void *ctx)
{
	conn->handler = handler;
	conn->ctx = ctx;
}

uint64_t conn_id(const struct conn *conn)
{
	return conn->id;
}

const char *conn_sid(const struct conn *conn)
{
	return conn->sid;
}

const char *conn_peer(const struct conn *conn)
{
	return conn->peer;
}

uint16_t conn_peer_port(const struct conn *conn)
{
	return conn->peer_port;
}

enum listener_kind conn_listener(const struct conn *conn)
{
	return conn->kind;
}

const char *conn_listener_name(const struct conn *conn)
{
	const char *key = config_listener_key(conn->kind);
	const char *dot = strchr(key, '.');

	return dot != NULL ? dot + 1 : key;
}

bool conn_is_tls(const struct conn *conn)
{
	return conn->tls;
}

const struct config *conn_config(const struct conn *conn)
{
	return conn->cfg;
}

struct conn *conn_lookup(uint64_t id)
{
	for (struct conn *c = conn_hash[id % CONN_HASH_BUCKETS]; c != NULL; c = c->hash_next) {
		if (c->id == id)
			return c;
	}
	return NULL;
}

void *conn_session(uint64_t id, const struct conn_handler *handler)
{
	struct conn *c = conn_lookup(id);

	/* conn_close() clears the handler before its closed callback */
	return c != NULL && c->handler == handler ? c->ctx : NULL;
}

unsigned conn_count_sessions(const struct conn_handler *handler, conn_session_match_fn *match,
			     const void *arg)
{
	unsigned n = 0;
	struct conn *c;

	TAILQ_FOREACH(c, &conns, entry) {
		if (c->handler == handler && match(c->ctx, arg))
			n++;
	}
	return n;
}

/* ---- input ---- */

int conn_read_line(struct conn *conn, size_t max, char **line_r, size_t *len_r)
{
	struct evbuffer *in = bufferevent_get_input(conn->bev);
	struct evbuffer_ptr eol;
	size_t eol_len, len;

	free(conn->line);
	conn->line = NULL;
	if (conn->state != CONN_STATE_OPEN)
		return 0;
	for (;;) {
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
		if (conn->discarding) {
			if (eol.pos < 0) {
				evbuffer_drain(in, evbuffer_get_length(in));
				return 0;
			}
			evbuffer_drain(in, (size_t)eol.pos + eol_len);
			conn->discarding = false;
			continue;
		}
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) <= max)
				return 0;
			/* no line end within max: drop it all, then up to the end */
			evbuffer_drain(in, evbuffer_get_length(in));
			conn->discarding = true;
			return -1;
		}
		len = (size_t)eol.pos;
		if (len > max) {
			evbuffer_drain(in, len + eol_len);
			return -1;
		}
		conn->line = xmalloc(len + 1);
		if (evbuffer_remove(in, conn->line, len) != (int)len)
			panic("conn: evbuffer_remove short read");
		conn->line[len] = '\0';
		evbuffer_drain(in, eol_len);
		*line_r = conn->line;
		*len_r = len;
		return 1;
	}
}

struct evbuffer *conn_input(struct conn *conn)
{
	return bufferevent_get_input(conn->bev);
}

static void conn_update_reading(struct conn *conn)
{
	if (conn->input_paused || conn->output_blocked)
		bufferevent_disable(conn->bev, EV_READ);
	else
		bufferevent_enable(conn->bev, EV_READ);
}

void conn_pause_input(struct conn *conn)
{
	conn->input_paused = true;
	conn_update_reading(conn);
}

void conn_resume_input(struct conn *conn)
{
	if (conn->state != CONN_STATE_OPEN)
		return;
	conn->input_paused = false;
	conn_update_reading(conn);
	/* input buffered while paused would otherwise wait for the next byte */
	if (evbuffer_get_length(bufferevent_get_input(conn->bev)) > 0)
		bufferevent_trigger(conn->bev, EV_READ,
				    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* ---- output ---- */

static bool conn_may_write(const struct conn *conn)
{
	return conn->state == CONN_STATE_OPEN || conn->state == CONN_STATE_HANDSHAKE;
}

static void conn_after_write(struct conn *conn)
{
	if (!conn->output_blocked &&
	    evbuffer_get_length(bufferevent_get_output(conn->bev)) > CONN_OUTPUT_HIGH) {
		conn->output_blocked = true;
		conn_update_reading(conn);
	}
}

/* conn_send_now - on a plaintext connection with nothing queued, hand
 * the bytes to the kernel at once: a reply then leaves before whatever
 * the callback does next (journal rows), and costs one send() instead of
 * enabling the write event, waking for it and disabling it again. Returns
 * how much went; the rest is queued as usual (and any error is met by
 * the bufferevent's own write). */
static size_t conn_send_now(struct conn *conn, const void *data, size_t len)
{
	ssize_t n;

	if (conn->tls || conn->state != CONN_STATE_OPEN ||
	    evbuffer_get_length(bufferevent_get_output(conn->bev)) > 0)
		return 0;
	n = send(conn->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	return n > 0 ? (size_t)n : 0;
}

void conn_write(struct conn *conn, const void *data, size_t len)
{
	size_t sent;

	if (!conn_may_write(conn))
		return;
	sent = conn_send_now(conn, data, len);
	if (sent == len)
		return;
	if (bufferevent_write(conn->bev, (const char *)data + sent, len - sent) < 0)
		panic("conn: bufferevent_write failed");
	conn_after_write(conn);
}

void conn_vprintf(struct conn *conn, const char *fmt, va_list ap)
{
	char line[CONN_PRINTF_STACK];
	va_list copy;
	int n;

	if (!conn_may_write(conn))
		return;
	va_copy(copy, ap);
	n = vsnprintf(line, sizeof(line), fmt, copy);
	va_end(copy);
	if (n >= 0 && (size_t)n < sizeof(line)) {
		conn_write(conn, line, (size_t)n);
		return;
	}
	if (evbuffer_add_vprintf(bufferevent_get_output(conn->bev), fmt, ap) < 0)
		panic("conn: evbuffer_add_vprintf failed");
	conn_after_write(conn);
}

void conn_printf(struct conn *conn, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vprintf(conn, fmt, ap);
	va_end(ap);
}

size_t conn_output_pending(const struct conn *conn)
{
	struct bufferevent *under = bufferevent_get_underlying(conn->bev);
	size_t n = evbuffer_get_length(bufferevent_get_output(conn->bev));

	if (under != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

void conn_set_idle_timeout(struct conn *conn, unsigned ms)
{
	conn->idle_ms = ms;
	if (conn->state == CONN_STATE_OPEN)
		conn_set_timeouts(conn, ms);
}

/* ---- STARTTLS ---- */

int conn_starttls(struct conn *conn)
{
	struct ssl_ctx_st *ctx = tls_server_ctx();
	struct bufferevent *filter;
	SSL *ssl;

	if (conn->tls || conn->state != CONN_STATE_OPEN || ctx == NULL)
		return -1;
	if ((ssl = SSL_new(ctx)) == NULL) {
		ERR_clear_error();
		return -1;
	}
	/* plaintext pipelined after STARTTLS must not be read as if it had
	 * come over TLS (CVE-2011-0411) */
	evbuffer_drain(bufferevent_get_input(conn->bev),
		       evbuffer_get_length(bufferevent_get_input(conn->bev)));
	/* the filter's timeouts rule from now on, not the plain layer's */
	bufferevent_set_timeouts(conn->bev, NULL, NULL);
	filter = bufferevent_openssl_filter_new(loop_base(), conn->bev, ssl,
						BUFFEREVENT_SSL_ACCEPTING,
						BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (filter == NULL)
		panic("conn: cannot create a TLS filter");
	bufferevent_openssl_set_allow_dirty_shutdown(filter, 1);
	conn->bev = filter;
	conn->tls = true;
	conn_set_state(conn, CONN_STATE_STARTTLS);
	conn_setup_bev(conn, CONN_HANDSHAKE_TIMEOUT_MS);
	return 0;
}

/* ---- closing ---- */

static void conn_destroy(void *ptr)
{
	struct conn *conn = ptr;

	if (conn->flush_timer != NULL)
		event_free(conn->flush_timer);
	bufferevent_free(conn->bev);
	loop_config_unref(&conn->cfg);
	free(conn->line);
	free(conn->finish_reason);
	free(conn);
}

void conn_close(struct conn *conn, const char *reason)
{
	const struct conn_handler *handler = conn->handler;

	if (conn->state == CONN_STATE_CLOSED)
		return;
	conn_set_state(conn, CONN_STATE_CLOSED);
	bufferevent_disable(conn->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(conn->bev, NULL, NULL, NULL, NULL);
	if (conn->flush_timer != NULL)
		event_del(conn->flush_timer);
	log_write(LOG_LEVEL_INFO, conn_listener_name(conn),
		  "disconnect sid=%s peer=%s reason=\"%s\" duration_ms=%" PRIu64, conn->sid,
		  conn->peer, reason, time_monotonic_ms() - conn->started_ms);
	conn->handler = NULL;
	if (handler != NULL && handler->closed != NULL)
		handler->closed(conn, conn->ctx, reason);
	TAILQ_REMOVE(&conns, conn, entry);
	conn_hash_remove(conn);
	conn_total--;
	conn_by_kind[conn->kind]--;
	loop_defer_free(conn_destroy, conn);
}

static void conn_on_flush_timer(evutil_socket_t fd, short what, void *ctx)
{
	conn_flush_check(ctx);
}

/* conn_flush_check - FLUSHING: once every byte has left (including the
 * plain layer under a STARTTLS filter), end TLS, half-close and linger. */
static void conn_flush_check(struct conn *conn)
{
	struct timeval poll = { 0, CONN_FLUSH_POLL_MS * 1000 };

	if (conn->state != CONN_STATE_FLUSHING)
		return;
	if (conn_output_pending(conn) > 0) {
		if (conn->flush_timer == NULL)
			conn->flush_timer = evtimer_new(loop_base(), conn_on_flush_timer, conn);
		evtimer_add(conn->flush_timer, &poll);
		return;
	}
	if (conn->tls) {
		SSL *ssl = bufferevent_openssl_get_ssl(conn->bev);
		if (ssl != NULL && !(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN)) {
			(void)SSL_shutdown(ssl); /* one close_notify; no waiting */
			ERR_clear_error();
			if (conn_output_pending(conn) > 0) {
				/* after STARTTLS it went to the plain layer */
				conn_flush_check(conn);
				return;
			}
		}
	}
	(void)shutdown(conn->fd, SHUT_WR);
	conn_set_state(conn, CONN_STATE_LINGER);
	conn_set_timeouts(conn, CONN_LINGER_MS);
	bufferevent_enable(conn->bev, EV_READ);
}

void conn_finish(struct conn *conn, const char *reason)
{
	if (conn->state == CONN_STATE_CLOSED || conn->state == CONN_STATE_FLUSHING ||
	    conn->state == CONN_STATE_LINGER)
		return;
	if (conn->state == CONN_STATE_HANDSHAKE || conn->state == CONN_STATE_STARTTLS) {
		conn_close(conn, reason);
		return;
	}
	conn->finish_reason = xstrdup(reason);
	conn_set_state(conn, CONN_STATE_FLUSHING);
	/* keep reading (and discarding) so the peer's late bytes do not turn
	 * our close into a reset that destroys the reply */
	conn->input_paused = conn->output_blocked = false;
	conn_set_timeouts(conn, CONN_FLUSH_TIMEOUT_MS);
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
	conn_flush_check(conn);
}

void conn_want_drained(struct conn *conn)
{
	conn->want_drained = true;
	/* the write callback only runs after a write: an empty queue gets
	 * one through the same path, never from inside this call */
	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0)
		bufferevent_trigger(conn->bev, EV_WRITE,
				    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* ---- bufferevent callbacks ---- */

static void conn_on_read(struct bufferevent *bev, void *ctx)
{
	struct conn *conn = ctx;
	struct evbuffer *in = bufferevent_get_input(bev);

	bool listened = conn->handler != NULL && conn->handler->input != NULL;

	switch (conn->state) {
	case CONN_STATE_OPEN:
		if (!listened)
			evbuffer_drain(in, evbuffer_get_length(in)); /* nobody reads it */
		else if (!conn->input_paused)
			conn->handler->input(conn, conn->ctx);
		return;
	case CONN_STATE_FLUSHING:
	case CONN_STATE_LINGER:
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	case CONN_STATE_HANDSHAKE:
	case CONN_STATE_STARTTLS:
	case CONN_STATE_CLOSED:
		return;
	}
}

static void conn_on_write(struct bufferevent *bev, void *ctx)
{
	struct conn *conn = ctx;

	if (conn->state == CONN_STATE_FLUSHING) {
		conn_flush_check(conn);
		return;
	}
	if (conn->output_blocked) {
		conn->output_blocked = false;
		conn_update_reading(conn);
	}
	if (conn->want_drained && conn->state == CONN_STATE_OPEN &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		conn->want_drained = false;
		if (conn->handler != NULL && conn->handler->output_drained != NULL)
			conn->handler->output_drained(conn, conn->ctx);
	}
}

/* conn_error_text - why the bufferevent failed, for the disconnect line. */
static const char *conn_error_text(struct conn *conn, char *buf, size_t size)
{
	unsigned long e = conn->tls ? bufferevent_get_openssl_error(conn->bev) : 0;

	if (e != 0) {
		ERR_error_string_n(e, buf, size);
		ERR_clear_error();
		return buf;
	}
	int err = EVUTIL_SOCKET_ERROR();
	return err != 0 ? evutil_socket_error_to_string(err) : "connection error";
}

static void conn_on_event(struct bufferevent *bev, short what, void *ctx)
{
	struct conn *conn = ctx;
	char buf[256];

	if (what & BEV_EVENT_CONNECTED) {
		conn_log_tls(conn);
		if (conn->state == CONN_STATE_HANDSHAKE) {
			conn_ready(conn);
		} else if (conn->state == CONN_STATE_STARTTLS) {
			conn_set_state(conn, CONN_STATE_OPEN);
			conn_set_timeouts(conn, conn->idle_ms);
			if (conn->handler != NULL && conn->handler->tls_ready != NULL)
				conn->handler->tls_ready(conn, conn->ctx);
		}
		return;
	}
	if (conn->state == CONN_STATE_LINGER || conn->state == CONN_STATE_FLUSHING) {
		/* the peer closed, failed or stayed silent: we are done either way */
		conn_close(conn, conn->finish_reason != NULL ? conn->finish_reason : "finished");
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (conn->state == CONN_STATE_HANDSHAKE || conn->state == CONN_STATE_STARTTLS) {
			conn_close(conn, "tls handshake timeout");
		} else if ((what & BEV_EVENT_READING) && conn->handler != NULL &&
			   conn->handler->timeout != NULL) {
			conn->handler->timeout(conn, conn->ctx);
		} else {
			conn_close(conn, (what & BEV_EVENT_READING) ? "idle timeout"
								    : "write timeout");
		}
		return;
	}
	if (what & BEV_EVENT_EOF) {
		conn_close(conn, conn->state == CONN_STATE_OPEN
					 ? "peer closed"
					 : "peer closed during tls handshake");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		const char *text = conn_error_text(conn, buf, sizeof(buf));
		bool handshake = conn->state == CONN_STATE_HANDSHAKE ||
				 conn->state == CONN_STATE_STARTTLS;
		char reason[300];

		if (handshake &&
		    str_printf(reason, sizeof(reason), "tls handshake failed: %s", text) == 0)
			text = reason;
		conn_close(conn, text);
	}
}

/* ---- all connections ---- */

unsigned conn_count(void)
{
	return conn_total;
}

unsigned conn_count_listener(enum listener_kind kind)
{
	return conn_by_kind[kind];
}

unsigned conn_count_peer(const char *peer)
{
	unsigned n = 0;
	struct conn *c;

	TAILQ_FOREACH(c, &conns, entry) {
		if (strcmp(c->peer, peer) == 0)
			n++;
	}
	return n;
}

/* conn_each - call fn on every conn present now, by id, so fn may close
 * any of them (including ones later in the list). */
static void conn_each(void (*fn)(struct conn *conn, const char *arg), const char *arg)
{
	uint64_t *ids = xcalloc(conn_total + 1, sizeof(*ids));
	size_t n = 0;
	struct conn *c;

	TAILQ_FOREACH(c, &conns, entry)
		ids[n++] = c->id;
	for (size_t i = 0; i < n; i++) {
		if ((c = conn_lookup(ids[i])) != NULL)
			fn(c, arg);
	}
	free(ids);
}

static void conn_drain_one(struct conn *conn, const char *reason)
{
	switch (conn->state) {
	case CONN_STATE_OPEN:
		if (conn->handler != NULL && conn->handler->drain != NULL) {
			conn->handler->drain(conn, conn->ctx);
			return;
		}
		conn_close(conn, reason);
		return;
	case CONN_STATE_FLUSHING:
		return; /* its last reply is on the way; the drain waits for it */
	case CONN_STATE_HANDSHAKE:
	case CONN_STATE_STARTTLS:
	case CONN_STATE_LINGER:
		conn_close(conn, reason);
		return;
	case CONN_STATE_CLOSED:
		return;
	}
}

static bool conn_kick_one(struct conn *conn, const char *reason)
{
	switch (conn->state) {
	case CONN_STATE_OPEN:
		if (conn->handler != NULL && conn->handler->kick != NULL) {
			conn->handler->kick(conn, conn->ctx, reason);
			return true;
		}
		conn_close(conn, reason);
		return true;
	case CONN_STATE_HANDSHAKE:
	case CONN_STATE_STARTTLS:
		conn_close(conn, reason);
		return true;
	case CONN_STATE_FLUSHING:
	case CONN_STATE_LINGER:
	case CONN_STATE_CLOSED:
		return false; /* already on its way out */
	}
	return false;
}

unsigned conn_kick_peers(conn_peer_match_fn *match, const void *arg, const char *reason)
{
	uint64_t *ids = xcalloc(conn_total + 1, sizeof(*ids));
	unsigned kicked = 0;
	size_t n = 0;
	struct conn *c;

	/* by id, so a kick may close any of them (conn_each's reasoning) */
	TAILQ_FOREACH(c, &conns, entry) {
		if (match(c->peer, arg))
			ids[n++] = c->id;
	}
	for (size_t i = 0; i < n; i++) {
		if ((c = conn_lookup(ids[i])) != NULL && conn_kick_one(c, reason))
			kicked++;
	}
	free(ids);
	return kicked;
}

void conn_drain_all(void)
{
	conn_each(conn_drain_one, "server shutting down");
}

void conn_close_all(const char *reason)
{
	conn_each(conn_close, reason);
}
