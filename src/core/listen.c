/* SPDX-License-Identifier: ISC */
/*
 * listen.c - listening sockets, connection limits and the placeholder
 * greeting of protocols not served yet.
 *
 * Sockets are bound before the privilege drop (ports below 1024) but only
 * start accepting once the loop runs. Every accepted fd becomes a conn;
 * the listener then checks the limits and hands the conn to its protocol,
 * or refuses it politely with the protocol's own "try later" reply, so
 * clients and their admins see a proper answer rather than a reset.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "core/conn.h"
#include "core/listen.h"
#include "core/loop.h"
#include "core/tls.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/listener.h>

/* Connection limits are config keys (limits.connections*, reloadable);
 * beyond them we answer "try later" (RFC 5321 3.8: 421 and close). */
/* Refused conns live until their reply is read; past this many extra we
 * drop without a reply rather than spend memory being polite. */
#define LISTEN_REFUSING_MAX 64
#define LISTEN_BACKLOG 128
/* After EMFILE/ENFILE, pause accepting instead of spinning on the error. */
#define LISTEN_ACCEPT_PAUSE_MS 1000

enum listen_family {
	LISTEN_FAMILY_SMTP,
	LISTEN_FAMILY_IMAP,
	LISTEN_FAMILY_POP3,
	LISTEN_FAMILY_HTTP,
};

enum listen_refusal {
	LISTEN_REFUSE_UNAVAILABLE,
	LISTEN_REFUSE_BUSY,
	LISTEN_REFUSE_BUSY_IP,
};

/* One refusal in each protocol's words. */
struct listen_reply {
	const char *reason; /* core/reason.c code, for the log */
	const char *smtp;   /* RFC 5321 3.8 / 4.2.3, RFC 3463 enhanced code */
	const char *imap;   /* RFC 9051 7.1.5 BYE with an RFC 5530 code */
	const char *pop3;   /* RFC 2449 -ERR with an RFC 3206 code */
	const char *http;   /* RFC 9110 15.6.4: 503 body */
};

static const struct listen_reply listen_replies[] = {
	[LISTEN_REFUSE_UNAVAILABLE] = {
		.reason = "serve.unavailable",
		.smtp = "421 4.3.2 Service not available, closing transmission channel",
		.imap = "* BYE [UNAVAILABLE] Service not available",
		.pop3 = "-ERR [SYS/TEMP] Service not available",
		.http = "Service not available",
	},
	[LISTEN_REFUSE_BUSY] = {
		.reason = "serve.busy",
		.smtp = "421 4.3.2 Too many connections, try again later",
		.imap = "* BYE [UNAVAILABLE] Too many connections, try again later",
		.pop3 = "-ERR [SYS/TEMP] Too many connections, try again later",
		.http = "Too many connections, try again later",
	},
	[LISTEN_REFUSE_BUSY_IP] = {
		.reason = "serve.busy-ip",
		.smtp = "421 4.7.0 Too many connections from your address, try again later",
		.imap = "* BYE [UNAVAILABLE] Too many connections from your address",
		.pop3 = "-ERR [IN-USE] Too many connections from your address",
		.http = "Too many connections from your address",
	},
};

static const enum listen_family listen_families[LISTENER_COUNT] = {
	[LISTENER_SMTP] = LISTEN_FAMILY_SMTP,
	[LISTENER_SUBMISSION] = LISTEN_FAMILY_SMTP,
	[LISTENER_SUBMISSIONS] = LISTEN_FAMILY_SMTP,
	[LISTENER_IMAP] = LISTEN_FAMILY_IMAP,
	[LISTENER_IMAPS] = LISTEN_FAMILY_IMAP,
	[LISTENER_POP3] = LISTEN_FAMILY_POP3,
	[LISTENER_POP3S] = LISTEN_FAMILY_POP3,
	[LISTENER_HTTP] = LISTEN_FAMILY_HTTP,
};

struct listener {
	enum listener_kind kind;
	int fd;          /* -1 when off or stopped */
	char *address;   /* as bound, with the real port */
	struct evconnlistener *evl;
	struct event *pause_timer;
	listen_accept_fn *accept;
};

static struct listener listeners[LISTENER_COUNT];
static bool listen_initialised;

static void listen_init_table(void)
{
	if (listen_initialised)
		return;
	for (size_t i = 0; i < LISTENER_COUNT; i++) {
		listeners[i].kind = (enum listener_kind)i;
		listeners[i].fd = -1;
	}
	listen_initialised = true;
}

static const char *listen_name(enum listener_kind kind)
{
	const char *key = config_listener_key(kind);
	const char *dot = strchr(key, '.');

	return dot != NULL ? dot + 1 : key;
}

/* listen_sockname - "127.0.0.1:2525" / "[::1]:25" of a bound socket. */
static char *listen_sockname(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return xstrdup("?");
	return xasprintf(ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* listen_bind_one - socket, bind, listen; a one-line error on failure. */
static int listen_bind_one(struct listener *l, const char *value, char **error_r)
{
	const char *key = config_listener_key(l->kind);
	struct addrinfo hints = {
		.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *ai;
	char *host, portstr[8];
	uint16_t port;
	int fd, one = 1, err;

	if (config_parse_hostport(value, &host, &port) < 0) {
		*error_r = xasprintf("%s %s: not ADDR:PORT", key, value);
		return -1;
	}
	if (str_printf(portstr, sizeof(portstr), "%u", port) < 0)
		panic("listen: port does not fit");
	err = getaddrinfo(host, portstr, &hints, &ai);
	free(host);
	if (err != 0) {
		*error_r = xasprintf("%s %s: %s", key, value, gai_strerror(err));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = xasprintf("%s %s: socket: %s", key, value, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	/* restart while old connections sit in TIME_WAIT */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		err = errno;
		*error_r = xasprintf("%s %s: %s%s", key, value, strerror(err),
				     err == EACCES ? " (ports below 1024 need root)" : "");
		close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	l->fd = fd;
	l->address = listen_sockname(fd);
	return 0;
}

int listen_bind_all(const struct config *cfg, char **error_r)
{
	struct buf errors;
	int ret = 0;

	listen_init_table();
	buf_init(&errors, 0);
	for (size_t i = 0; i < LISTENER_COUNT; i++) {
		struct listener *l = &listeners[i];
		char *error;
		if (strcmp(cfg->listen[i], "off") == 0)
			continue;
		if (listen_bind_one(l, cfg->listen[i], &error) < 0) {
			if ((errors.len > 0 && buf_append_str(&errors, "\n") < 0) ||
			    buf_append_str(&errors, error) < 0)
				panic("listen: unbounded buffer refused an append");
			free(error);
			ret = -1;
		}
	}
	if (ret < 0) {
		listen_deinit();
		*error_r = xstrdup(errors.data);
	}
	buf_release(&errors);
	return ret;
}

void listen_set_accept(enum listener_kind kind, listen_accept_fn *fn)
{
	listen_init_table();
	listeners[kind].accept = fn;
}

/* listen_refuse - the protocol's polite "not now", then a clean close. */
static void listen_refuse(struct conn *conn, enum listen_refusal refusal)
{
	const struct listen_reply *r = &listen_replies[refusal];

	switch (listen_families[conn_listener(conn)]) {
	case LISTEN_FAMILY_SMTP:
		conn_printf(conn, "%s\r\n", r->smtp);
		break;
	case LISTEN_FAMILY_IMAP:
		conn_printf(conn, "%s\r\n", r->imap);
		break;
	case LISTEN_FAMILY_POP3:
		conn_printf(conn, "%s\r\n", r->pop3);
		break;
	case LISTEN_FAMILY_HTTP:
		/* sent before the request is read; the linger in conn_finish
		 * consumes it so the client still gets this response */
		conn_printf(conn,
			    "HTTP/1.1 503 Service Unavailable\r\n"
			    "Content-Type: text/plain; charset=utf-8\r\n"
			    "Content-Length: %zu\r\n"
			    "Retry-After: 60\r\n"
			    "Connection: close\r\n"
			    "\r\n"
			    "%s\n",
			    strlen(r->http) + 1, r->http);
		break;
	}
	log_write(LOG_LEVEL_INFO, conn_listener_name(conn), "refused sid=%s peer=%s reason=%s",
		  conn_sid(conn), conn_peer(conn), r->reason);
	conn_finish(conn, r->reason);
}

static void listen_open_refused(struct conn *conn, void *ctx)
{
	const enum listen_refusal *refusal = ctx;

	listen_refuse(conn, *refusal);
}

/* listen_open - the conn is ready (TLS up): check the per-address limit,
 * then hand it to the protocol. */
static void listen_open(struct conn *conn, void *ctx)
{
	struct listener *l = ctx;

	if (conn_count_peer(conn_peer(conn)) > loop_config()->conn_max_per_ip) {
		listen_refuse(conn, LISTEN_REFUSE_BUSY_IP);
		return;
	}
	if (l->accept == NULL) {
		listen_refuse(conn, LISTEN_REFUSE_UNAVAILABLE);
		return;
	}
	l->accept(conn, l->kind);
}

static void listen_on_accept(struct evconnlistener *evl, evutil_socket_t fd,
			     struct sockaddr *sa, int salen, void *ctx)
{
	static const enum listen_refusal busy = LISTEN_REFUSE_BUSY;
	struct listener *l = ctx;
	struct ssl_ctx_st *tls = NULL;
	const struct config *cfg = loop_config();

	if (config_listener_implicit_tls(l->kind) && (tls = tls_server_ctx()) == NULL) {
		log_error("%s: no TLS context; dropping connection", listen_name(l->kind));
		close(fd);
		return;
	}
	if (conn_count() >= cfg->conn_max + LISTEN_REFUSING_MAX) {
		log_warn("%s: connection dropped without reply reason=serve.busy conns=%u",
			 listen_name(l->kind), conn_count());
		close(fd);
		return;
	}
	if (conn_count() >= cfg->conn_max ||
	    conn_count_listener(l->kind) >= cfg->conn_max_per_listener) {
		conn_new(fd, sa, salen, l->kind, tls, listen_open_refused, (void *)&busy);
		return;
	}
	conn_new(fd, sa, salen, l->kind, tls, listen_open, l);
}

static void listen_on_pause_end(evutil_socket_t fd, short what, void *ctx)
{
	struct listener *l = ctx;

	if (l->evl != NULL)
		evconnlistener_enable(l->evl);
}

/* listen_on_error - accept() failed: out of descriptors, usually. Pause
 * instead of spinning; existing connections will free some. */
static void listen_on_error(struct evconnlistener *evl, void *ctx)
{
	struct listener *l = ctx;
	struct timeval tv = { LISTEN_ACCEPT_PAUSE_MS / 1000,
			      (LISTEN_ACCEPT_PAUSE_MS % 1000) * 1000 };
	int err = EVUTIL_SOCKET_ERROR();

	log_warn("%s: accept: %s; pausing %d ms", listen_name(l->kind),
		 evutil_socket_error_to_string(err), LISTEN_ACCEPT_PAUSE_MS);
	evconnlistener_disable(evl);
	if (l->pause_timer == NULL)
		l->pause_timer = evtimer_new(loop_base(), listen_on_pause_end, l);
	evtimer_add(l->pause_timer, &tv);
}

void listen_start(void)
{
	listen_init_table();
	for (size_t i = 0; i < LISTENER_COUNT; i++) {
		struct listener *l = &listeners[i];
		if (l->fd < 0)
			continue;
		/* backlog 0: the socket is listening already */
		l->evl = evconnlistener_new(loop_base(), listen_on_accept, l,
					    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
					    l->fd);
		if (l->evl == NULL)
			panic("listen: evconnlistener_new failed for %s", listen_name(l->kind));
		evconnlistener_set_error_cb(l->evl, listen_on_error);
	}
}

void listen_stop(void)
{
	for (size_t i = 0; listen_initialised && i < LISTENER_COUNT; i++) {
		struct listener *l = &listeners[i];
		if (l->pause_timer != NULL) {
			event_free(l->pause_timer);
			l->pause_timer = NULL;
		}
		if (l->evl != NULL) {
			evconnlistener_free(l->evl); /* closes l->fd */
			l->evl = NULL;
		} else if (l->fd >= 0) {
			close(l->fd);
		}
		l->fd = -1;
	}
}

char *listen_describe(void)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	for (size_t i = 0; listen_initialised && i < LISTENER_COUNT; i++) {
		if (listeners[i].address == NULL)
			continue;
		if (buf_printf(&b, "%s%s=%s", b.len > 0 ? "," : "", listen_name(listeners[i].kind),
			       listeners[i].address) < 0)
			panic("listen: unbounded buffer refused an append");
	}
	s = xstrdup(b.len > 0 ? b.data : "none");
	buf_release(&b);
	return s;
}

void listen_deinit(void)
{
	listen_stop();
	for (size_t i = 0; listen_initialised && i < LISTENER_COUNT; i++) {
		free(listeners[i].address);
		listeners[i].address = NULL;
		listeners[i].accept = NULL;
	}
}
