/* SPDX-License-Identifier: ISC */
/*
 * test-smtpc-session.c - the SMTP client against scripted servers: a peer
 * thread on a real 127.0.0.1 socket plays a script (expect this exact
 * line, send that reply, check the exact DATA bytes, start TLS, go quiet,
 * hang up), and against Postfix's smtp-sink.
 *
 * Pipelining is proven by the scripts themselves: a pipelined test expects
 * RCPT and DATA before it has answered MAIL, which a client waiting for
 * each reply would never send (the peer's read would time out). TLS is
 * real: the peer runs OpenSSL with a certificate made by
 * tls_selfsigned_create().
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/loop.h"
#include "core/tls.h"
#include "smtpc/smtpc-private.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#define PEER_WAIT_MS 5000
#define TEST_DEADLINE_MS 15000

/* ---- the scripted peer ---- */

enum step_kind {
	S_END,
	S_SEND,       /* write text as is */
	S_EXPECT,     /* the next line, without its CRLF, must be text */
	S_DATA,       /* the bytes up to and including CR LF "." CR LF must be text */
	S_STARTTLS,   /* TLS handshake as the server */
	S_JUNK_TLS,   /* answer the client's TLS hello with garbage and hang up */
	S_READ_SOME,  /* read at least atoi(text) bytes, then go on */
	S_CLOSE,      /* hang up now */
	S_SILENT,     /* say nothing until the client hangs up */
	S_EOF,        /* the client must hang up (nothing more is read) */
	S_PAUSE,      /* read nothing for atoi(text) ms (the client's output backs up) */
	S_DRAIN,      /* read to CR LF "." CR LF: exactly atoi(text) bytes in all */
	S_SMALL_RCVBUF, /* shrink the socket's receive buffer */
};

struct step {
	enum step_kind kind;
	const char *text;
};

#define SEND(t) { S_SEND, t }
#define EXPECT(t) { S_EXPECT, t }

struct peer {
	int lfd, fd;
	uint16_t port;
	bool implicit_tls;
	const struct step *script;
	SSL *ssl;
	char buf[1 << 16];
	size_t len;
	char error[512];
	char sni[256];  /* the server name the client asked for */
	atomic_bool done;
	pthread_t thread;
	bool running; /* started and not yet joined */
};

static struct peer peer;
static SSL_CTX *server_ctx;
static char *tmpdir;

static void peer_fail(struct peer *p, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
static void peer_fail(struct peer *p, const char *fmt, ...)
{
	va_list ap;

	if (p->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
}

/* peer_fill - read more into buf; 0 on EOF, -1 on timeout/error. */
static int peer_fill(struct peer *p)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	ssize_t n;

	if (p->len >= sizeof(p->buf))
		return -1;
	if (p->ssl == NULL || SSL_pending(p->ssl) == 0) {
		if (poll(&pfd, 1, PEER_WAIT_MS) != 1)
			return -1;
	}
	if (p->ssl != NULL)
		n = SSL_read(p->ssl, p->buf + p->len, (int)(sizeof(p->buf) - p->len));
	else
		n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
	if (n <= 0)
		return n == 0 || p->ssl != NULL ? 0 : -1;
	p->len += (size_t)n;
	return 1;
}

static void peer_consume(struct peer *p, size_t n)
{
	memmove(p->buf, p->buf + n, p->len - n);
	p->len -= n;
}

static void peer_write(struct peer *p, const char *s, size_t len)
{
	ssize_t n = p->ssl != NULL ? SSL_write(p->ssl, s, (int)len) : write(p->fd, s, len);

	if (n != (ssize_t)len)
		peer_fail(p, "write failed");
}

static void peer_expect(struct peer *p, const char *want)
{
	char *eol;

	while ((eol = memchr(p->buf, '\n', p->len)) == NULL) {
		if (peer_fill(p) <= 0) {
			peer_fail(p, "expected \"%s\", got nothing", want);
			return;
		}
	}
	size_t len = (size_t)(eol - p->buf);
	if (len == 0 || p->buf[len - 1] != '\r') {
		peer_fail(p, "expected \"%s\": line without CRLF", want);
		return;
	}
	if (len - 1 != strlen(want) || memcmp(p->buf, want, len - 1) != 0)
		peer_fail(p, "expected \"%s\", got \"%.*s\"", want, (int)(len - 1), p->buf);
	peer_consume(p, len + 1);
}

static void peer_data(struct peer *p, const char *want)
{
	size_t want_len = strlen(want);

	while (p->len < want_len) {
		if (peer_fill(p) <= 0) {
			peer_fail(p, "DATA: got %zu of %zu bytes", p->len, want_len);
			return;
		}
	}
	if (memcmp(p->buf, want, want_len) != 0)
		peer_fail(p, "DATA differs: got \"%.*s\"", (int)want_len, p->buf);
	peer_consume(p, want_len);
}

static void peer_tls(struct peer *p)
{
	if (p->len != 0) {
		peer_fail(p, "plaintext after STARTTLS");
		return;
	}
	p->ssl = SSL_new(server_ctx);
	SSL_set_fd(p->ssl, p->fd);
	if (SSL_accept(p->ssl) != 1) {
		peer_fail(p, "TLS handshake failed");
		return;
	}
	const char *sni = SSL_get_servername(p->ssl, TLSEXT_NAMETYPE_host_name);
	snprintf(p->sni, sizeof(p->sni), "%s", sni != NULL ? sni : "");
}

static void peer_run(struct peer *p)
{
	for (const struct step *s = p->script; s->kind != S_END && p->error[0] == '\0'; s++) {
		switch (s->kind) {
		case S_SEND:
			peer_write(p, s->text, strlen(s->text));
			break;
		case S_EXPECT:
			peer_expect(p, s->text);
			break;
		case S_DATA:
			peer_data(p, s->text);
			break;
		case S_STARTTLS:
			peer_tls(p);
			break;
		case S_JUNK_TLS:
			if (peer_fill(p) <= 0)
				peer_fail(p, "no TLS hello");
			peer_write(p, "this is not TLS\r\n", 17);
			return;
		case S_READ_SOME: {
			size_t total = 0, want = (size_t)atoi(s->text);
			while (total < want) {
				if (peer_fill(p) <= 0) {
					peer_fail(p, "READ_SOME: only %zu bytes", total);
					return;
				}
				total += p->len;
				p->len = 0;
			}
			break;
		}
		case S_CLOSE:
			return;
		case S_SILENT:
		case S_EOF: {
			uint64_t until = time_monotonic_ms() + (s->kind == S_SILENT ? 10000 : PEER_WAIT_MS);
			int ret;
			p->len = 0;
			while ((ret = peer_fill(p)) > 0 && time_monotonic_ms() < until)
				p->len = 0;
			if (ret != 0)
				peer_fail(p, "the client did not hang up");
			return;
		}
		case S_PAUSE:
			usleep((useconds_t)atoi(s->text) * 1000);
			break;
		case S_DRAIN: {
			size_t total = 0, want = (size_t)atoll(s->text);
			char tail[5] = { 0 };
			while (total < want || memcmp(tail, "\r\n.\r\n", 5) != 0) {
				if (total > want || peer_fill(p) <= 0) {
					peer_fail(p, "DRAIN: %zu bytes, wanted %zu", total, want);
					return;
				}
				for (size_t i = 0; i < p->len; i++) {
					memmove(tail, tail + 1, 4);
					tail[4] = p->buf[i];
				}
				total += p->len;
				p->len = 0;
			}
			break;
		}
		case S_SMALL_RCVBUF: {
			int size = 16384;
			setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
			break;
		}
		case S_END:
			break;
		}
	}
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	struct pollfd pfd = { .fd = p->lfd, .events = POLLIN };

	if (poll(&pfd, 1, PEER_WAIT_MS) != 1 || (p->fd = accept(p->lfd, NULL, NULL)) < 0) {
		peer_fail(p, "no connection");
	} else {
		if (p->implicit_tls)
			peer_tls(p);
		if (p->error[0] == '\0')
			peer_run(p);
		if (p->ssl != NULL)
			SSL_free(p->ssl);
		close(p->fd);
	}
	atomic_store(&p->done, true);
	return NULL;
}

static void peer_start(const struct step *script, bool implicit_tls)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	memset(&peer, 0, sizeof(peer));
	peer.script = script;
	peer.implicit_tls = implicit_tls;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	peer.lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(peer.lfd >= 0);
	assert_int_equal(bind(peer.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(peer.lfd, 4), 0);
	assert_int_equal(getsockname(peer.lfd, (struct sockaddr *)&sa, &len), 0);
	peer.port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&peer.thread, NULL, peer_main, &peer), 0);
	peer.running = true;
}

/* ---- the client side ---- */

struct outcome {
	bool ready_called, ok, sent_called, conn_lost;
	unsigned ready_calls, sent_calls;
	struct smtpc_reply ready, sent;
	bool quit_in_callback;
};

static struct outcome out;
static struct smtpc *client;

static void on_ready(struct smtpc *c, void *ctx, bool ok, const struct smtpc_reply *reply)
{
	struct outcome *o = ctx;

	o->ready_called = true;
	o->ready_calls++;
	o->ok = ok;
	o->ready = *reply;
	if (o->quit_in_callback) {
		smtpc_quit(c);
		client = NULL;
	}
}

static void on_sent(struct smtpc *c, void *ctx, const struct smtpc_reply *reply, bool conn_lost)
{
	struct outcome *o = ctx;

	o->sent_called = true;
	o->sent_calls++;
	o->sent = *reply;
	o->conn_lost = conn_lost;
}

static void on_tick(evutil_socket_t fd, short what, void *ctx)
{
}

static bool flag_ready(void)
{
	return out.ready_called;
}

static bool flag_sent(void)
{
	return out.sent_called;
}

static bool flag_peer_done(void)
{
	return atomic_load(&peer.done);
}

static void pump_until(bool (*cond)(void))
{
	uint64_t deadline = time_monotonic_ms() + TEST_DEADLINE_MS;
	struct timeval tick = { 0, 5000 };
	struct event *t = event_new(loop_base(), -1, EV_PERSIST, on_tick, NULL);

	event_add(t, &tick);
	while (!cond()) {
		assert_true(time_monotonic_ms() < deadline);
		event_base_loop(loop_base(), EVLOOP_ONCE);
	}
	event_free(t);
	loop_run_deferred();
}

struct client_opts {
	enum smtpc_tls tls;
	const char *user, *pass;
	unsigned scale;
};

static void client_connect(const struct client_opts *co)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(peer.port) };
	struct smtpc_opts opts = {
		.addr = (struct sockaddr *)&sa,
		.addr_len = sizeof(sa),
		.peer_name = "mx.example.test",
		.helo = "client.example.org",
		.tls = co != NULL ? co->tls : SMTPC_TLS_NONE,
		.auth_user = co != NULL ? co->user : NULL,
		.auth_pass = co != NULL ? co->pass : NULL,
		.timeout_scale_pct = co != NULL ? co->scale : 0,
		.log_id = "T1",
	};

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	client = smtpc_connect(&opts, NULL, on_ready, &out);
	assert_non_null(client);
	/* callbacks never run inside the call that started the step */
	assert_false(out.ready_called);
	pump_until(flag_ready);
}

static void client_send(struct smtpc_msg *msg)
{
	out.sent_called = false;
	smtpc_send(client, msg, on_sent, &out);
	assert_false(out.sent_called);
	pump_until(flag_sent);
}

/* finish - quit, let the peer end its script, check it found no fault. */
static void finish(void)
{
	smtpc_quit(client);
	client = NULL;
	pump_until(flag_peer_done);
	pthread_join(peer.thread, NULL);
	peer.running = false;
	close(peer.lfd);
	loop_run_deferred();
	if (peer.error[0] != '\0')
		fail_msg("peer: %s", peer.error);
}

static char *write_file(const char *name, const char *content, size_t len)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

static struct smtpc_rcpt rcpts[3];
static struct smtpc_msg msg;
static char *msg_path;

/* a message "Subject: hi\n\nbody\n" to n recipients */
static void msg_init(size_t n)
{
	static const char body[] = "Subject: hi\n\nbody\n";
	static const char *const addrs[] = { "r1@example.test", "r2@example.test",
					     "r3@example.test" };

	memset(rcpts, 0, sizeof(rcpts));
	for (size_t i = 0; i < n; i++)
		rcpts[i].address = addrs[i];
	free(msg_path);
	msg_path = write_file("msg", body, sizeof(body) - 1);
	msg = (struct smtpc_msg){ .sender = "s@example.org", .path = msg_path,
				  .size = sizeof(body) - 1, .rcpts = rcpts, .rcpt_count = n };
}

#define BODY_WIRE "Subject: hi\r\n\r\nbody\r\n.\r\n"

/* ---- setup ---- */

static int group_setup(void **state)
{
	char *cert, *key, *error = NULL;

	tmpdir = test_tmpdir();
	cert = xasprintf("%s/cert.pem", tmpdir);
	key = xasprintf("%s/key.pem", tmpdir);
	if (tls_selfsigned_create("mx.example.test", cert, key, &error) < 0 ||
	    tls_server_ctx_new(cert, key, &server_ctx, &error) < 0) {
		fprintf(stderr, "tls: %s\n", error);
		return -1;
	}
	free(cert);
	free(key);
	return 0;
}

static int group_teardown(void **state)
{
	SSL_CTX_free(server_ctx);
	test_rmtree(tmpdir);
	free(tmpdir);
	free(msg_path);
	return 0;
}

static int setup(void **state)
{
	char *error;

	memset(&out, 0, sizeof(out));
	assert_int_equal(loop_init(NULL, &error), 0);
	return 0;
}

static pid_t sink_pid; /* smtp-sink, killed here when its test fails half-way */

static int teardown(void **state)
{
	if (sink_pid > 0) {
		kill(sink_pid, SIGTERM);
		waitpid(sink_pid, NULL, 0);
		sink_pid = 0;
	}
	/* a failed test: say what the peer saw, and wait for it */
	if (client != NULL)
		smtpc_quit(client);
	client = NULL;
	if (peer.running) {
		pthread_join(peer.thread, NULL);
		close(peer.lfd);
		peer.running = false;
	}
	if (peer.error[0] != '\0')
		fprintf(stderr, "peer: %s\n", peer.error);
	loop_run_deferred();
	loop_deinit();
	return 0;
}

/* ---- tests ---- */

static void test_pipelined(void **state)
{
	static const struct step script[] = {
		SEND("220 mx.example.test ESMTP\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 100000\r\n"
		     "250-8BITMIME\r\n250-DSN\r\n250 ENHANCEDSTATUSCODES\r\n"),
		/* everything before the first reply: pipelined */
		EXPECT("MAIL FROM:<s@example.org> SIZE=18 BODY=8BITMIME RET=HDRS ENVID=q+2B1+3Dx"),
		EXPECT("RCPT TO:<r1@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@x.test"),
		EXPECT("RCPT TO:<r2@example.test> NOTIFY=NEVER"),
		EXPECT("RCPT TO:<r3@example.test>"),
		EXPECT("DATA"),
		SEND("250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n250 2.1.5 ok\r\n"
		     "354 go\r\n"),
		{ S_DATA, BODY_WIRE },
		SEND("250 2.0.0 queued as X\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};
	const struct smtpc_info *info;

	peer_start(script, false);
	client_connect(NULL);
	assert_true(out.ok);
	info = smtpc_info(client);
	assert_true(info->pipelining && info->eightbitmime && info->dsn);
	assert_false(info->tls || info->smtputf8 || info->starttls_offered);
	assert_int_equal(info->size_limit, 100000);
	assert_string_equal(info->peer_addr, "127.0.0.1");

	msg_init(3);
	msg.eight_bit = true;
	msg.dsn_ret = 2;
	msg.dsn_envid = "q+1=x";
	rcpts[0].dsn_notify = 0x02 | 0x04; /* SUCCESS, FAILURE */
	rcpts[0].dsn_orcpt = "rfc822;a+b@x.test";
	rcpts[1].dsn_notify = 0x01;        /* NEVER */
	client_send(&msg);
	assert_false(out.conn_lost);
	assert_int_equal(out.sent.code, 250);
	assert_string_equal(out.sent.enhanced, "2.0.0");
	assert_string_equal(out.sent.stage, "dot");
	assert_string_equal(out.sent.reason, "smtpc.ok");
	assert_true(rcpts[0].delivered);
	assert_int_equal(rcpts[0].reply.code, 250);
	assert_false(rcpts[1].delivered);
	assert_int_equal(rcpts[1].reply.code, 550);
	assert_string_equal(rcpts[1].reply.enhanced, "5.1.1");
	assert_string_equal(rcpts[1].reply.stage, "rcpt");
	assert_string_equal(rcpts[1].reply.reason, "smtpc.refused-5xx");
	assert_string_equal(rcpts[1].reply.text, "no such user");
	assert_true(rcpts[2].delivered);
	finish();
}

static void test_no_pipelining(void **state)
{
	static const struct step script[] = {
		SEND("220 mx ESMTP\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250-mx\r\n250 HELP\r\n"),
		/* no extensions offered: no parameters, however the message is */
		EXPECT("MAIL FROM:<s@example.org>"),
		SEND("250 ok\r\n"),
		EXPECT("RCPT TO:<r1@example.test>"),
		SEND("450 4.2.0 mailbox busy\r\n"),
		EXPECT("RCPT TO:<r2@example.test>"),
		SEND("250 ok\r\n"),
		EXPECT("DATA"),
		SEND("354 go\r\n"),
		{ S_DATA, BODY_WIRE },
		SEND("250 ok\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};

	peer_start(script, false);
	client_connect(NULL);
	assert_true(out.ok);
	assert_false(smtpc_info(client)->pipelining);
	msg_init(2);
	msg.dsn_ret = 1;
	msg.dsn_envid = "x";
	rcpts[0].dsn_notify = 0x02;
	client_send(&msg);
	assert_int_equal(out.sent.code, 250);
	assert_false(rcpts[0].delivered);
	assert_int_equal(rcpts[0].reply.code, 450);
	assert_string_equal(rcpts[0].reply.reason, "smtpc.refused-4xx");
	assert_true(rcpts[1].delivered);
	finish();
}

static void test_helo_fallback(void **state)
{
	static const struct step script[] = {
		SEND("220 old mailer\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("502 what?\r\n"),
		EXPECT("HELO client.example.org"),
		SEND("250 hello\r\n"),
		EXPECT("MAIL FROM:<s@example.org>"),
		SEND("250 ok\r\n"),
		EXPECT("RCPT TO:<r1@example.test>"),
		SEND("250 ok\r\n"),
		EXPECT("DATA"),
		SEND("354 go\r\n"),
		{ S_DATA, BODY_WIRE },
		SEND("250 ok\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};

	peer_start(script, false);
	client_connect(NULL);
	assert_true(out.ok);
	msg_init(1);
	client_send(&msg);
	assert_true(rcpts[0].delivered);
	finish();
}

static void test_greeting_421(void **state)
{
	/* 421: the server is going away, so no QUIT (RFC 5321 3.8) */
	static const struct step script[] = {
		SEND("421 4.3.2 too busy\r\n"),
		{ S_EOF, NULL },
	};

	peer_start(script, false);
	client_connect(NULL);
	assert_false(out.ok);
	assert_int_equal(out.ready.code, 421);
	assert_string_equal(out.ready.stage, "greeting");
	assert_string_equal(out.ready.reason, "smtpc.refused-4xx");
	assert_string_equal(out.ready.text, "too busy");
	finish();
}

static void test_greeting_554_quit(void **state)
{
	/* RFC 5321 3.1: after a 554 greeting the client says QUIT */
	static const struct step script[] = {
		SEND("554 5.7.1 go away\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};

	peer_start(script, false);
	client_connect(NULL);
	assert_false(out.ok);
	assert_int_equal(out.ready.code, 554);
	assert_string_equal(out.ready.reason, "smtpc.refused-5xx");
	finish();
}

static void test_mail_4xx_then_reuse(void **state)
{
	static const struct step script[] = {
		SEND("220 mx\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250 mx\r\n"),
		EXPECT("MAIL FROM:<s@example.org>"),
		SEND("451 4.3.0 try later\r\n"),
		/* MAIL failed: no transaction is open, so no RSET */
		EXPECT("MAIL FROM:<s@example.org>"),
		SEND("250 ok\r\n"),
		EXPECT("RCPT TO:<r1@example.test>"),
		SEND("250 ok\r\n"),
		EXPECT("RCPT TO:<r2@example.test>"),
		SEND("250 ok\r\n"),
		EXPECT("DATA"),
		SEND("354 go\r\n"),
		{ S_DATA, BODY_WIRE },
		SEND("250 ok\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};

	peer_start(script, false);
	client_connect(NULL);
	msg_init(2);
	client_send(&msg);
	assert_false(out.conn_lost);
	assert_int_equal(out.sent.code, 451);
	assert_string_equal(out.sent.stage, "mail");
	assert_string_equal(out.sent.reason, "smtpc.refused-4xx");
	for (size_t i = 0; i < 2; i++) {
		assert_false(rcpts[i].delivered);
		assert_int_equal(rcpts[i].reply.code, 451);
		assert_string_equal(rcpts[i].reply.stage, "mail");
	}
	client_send(&msg);
	assert_int_equal(out.sent.code, 250);
	assert_true(rcpts[0].delivered && rcpts[1].delivered);
	finish();
}

static void test_reuse_with_rset(void **state)
{
	static const struct step script[] = {
		SEND("220 mx\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250-mx\r\n250 PIPELINING\r\n"),
		EXPECT("MAIL FROM:<s@example.org>"),
		EXPECT("RCPT TO:<r1@example.test>"),
		EXPECT("DATA"),
		SEND("250 ok\r\n550 5.1.1 unknown\r\n554 5.5.1 no valid recipients\r\n"),
		/* MAIL opened a transaction that DATA did not close */
		EXPECT("RSET"),
		EXPECT("MAIL FROM:<s@example.org>"),
		EXPECT("RCPT TO:<r1@example.test>"),
		EXPECT("DATA"),
		SEND("250 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
		{ S_DATA, BODY_WIRE },
		SEND("250 ok\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};

	peer_start(script, false);
	client_connect(NULL);
	msg_init(1);
	client_send(&msg);
	assert_false(out.conn_lost);
	/* the deciding reply is the recipient's refusal, not DATA's 554 */
	assert_int_equal(out.sent.code, 550);
	assert_string_equal(out.sent.stage, "rcpt");
	assert_int_equal(rcpts[0].reply.code, 550);
	assert_false(rcpts[0].delivered);
	client_send(&msg);
	assert_int_equal(out.sent.code, 250);
	assert_true(rcpts[0].delivered);
	assert_int_equal(out.sent_calls, 2);
	finish();
}

static void test_pipelined_mail_refused(void **state)
{
	static const struct step script[] = {
		SEND("220 mx\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250-mx\r\n250 PIPELINING\r\n"),
		EXPECT("MAIL FROM:<s@example.org>"),
		EXPECT("RCPT TO:<r1@example.test>"),
		EXPECT("RCPT TO:<r2@example.test>"),
		EXPECT("DATA"),
		SEND("553 5.7.1 sender refused\r\n503 5.5.1 no MAIL\r\n503 5.5.1 no MAIL\r\n"
		     "503 5.5.1 no MAIL\r\n"),
		/* no transaction was opened: the next one needs no RSET */
		EXPECT("MAIL FROM:<s@example.org>"),
		EXPECT("RCPT TO:<r1@example.test>"),
		EXPECT("RCPT TO:<r2@example.test>"),
		EXPECT("DATA"),
		/* 354 to MAIL: the server is out of step; the connection goes */
		SEND("354 what\r\n"),
		{ S_EOF, NULL },
	};

	peer_start(script, false);
	client_connect(NULL);
	msg_init(2);
	client_send(&msg);
	assert_false(out.conn_lost);
	assert_int_equal(out.sent.code, 553);
	assert_string_equal(out.sent.stage, "mail");
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(rcpts[i].reply.code, 553);
		assert_string_equal(rcpts[i].reply.text, "sender refused");
	}
	client_send(&msg);
	assert_true(out.conn_lost);
	assert_string_equal(out.sent.reason, "smtpc.protocol");
	assert_false(rcpts[0].delivered);
	finish();
}

static void test_pipelined_354_without_rcpt(void **state)
{
	/* RFC 2920 3.1 wants 554 to DATA without recipients; a server that
	 * says 354 gets an empty message ended at once, nothing delivered */
	static const struct step script[] = {
		SEND("220 mx\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250-mx\r\n250 PIPELINING\r\n"),
		EXPECT("MAIL FROM:<s@example.org>"),
		EXPECT("RCPT TO:<r1@example.test>"),
		EXPECT("DATA"),
		SEND("250 ok\r\n550 5.1.1 unknown\r\n354 go\r\n"),
		EXPECT("."),
		SEND("554 5.5.1 no valid recipients\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};

	peer_start(script, false);
	client_connect(NULL);
	msg_init(1);
	client_send(&msg);
	assert_false(out.conn_lost);
	assert_int_equal(out.sent.code, 550);
	assert_int_equal(rcpts[0].reply.code, 550);
	assert_false(rcpts[0].delivered);
	finish();
}

static void test_starttls_auth_plain(void **state)
{
	static const struct step script[] = {
		SEND("220 relay\r\n"),
		EXPECT("EHLO client.example.org"),
		/* PIPELINING before TLS only: it must be forgotten */
		SEND("250-relay\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 SIZE 10\r\n"),
		EXPECT("STARTTLS"),
		SEND("220 go ahead\r\n"),
		{ S_STARTTLS, NULL },
		EXPECT("EHLO client.example.org"),
		SEND("250-relay\r\n250-AUTH LOGIN PLAIN\r\n250 8BITMIME\r\n"),
		EXPECT("AUTH PLAIN AGpvZQBzM2NyZXQ="),
		SEND("235 2.7.0 ok\r\n"),
		EXPECT("MAIL FROM:<s@example.org>"),
		SEND("250 ok\r\n"),
		EXPECT("RCPT TO:<r1@example.test>"),
		SEND("250 ok\r\n"),
		EXPECT("DATA"),
		SEND("354 go\r\n"),
		{ S_DATA, BODY_WIRE },
		SEND("250 ok\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};
	struct client_opts co = { .tls = SMTPC_TLS_REQUIRED, .user = "joe", .pass = "s3cret" };
	const struct smtpc_info *info;

	peer_start(script, false);
	client_connect(&co);
	assert_true(out.ok);
	info = smtpc_info(client);
	assert_true(info->tls);
	assert_true(strncmp(info->tls_desc, "TLSv1.", 6) == 0);
	assert_string_equal(peer.sni, "mx.example.test");
	assert_false(info->pipelining);
	assert_false(info->starttls_offered);
	assert_true(info->eightbitmime);
	assert_int_equal(info->size_limit, 0); /* the pre-TLS SIZE 10 is gone */
	msg_init(1);
	client_send(&msg);
	assert_true(rcpts[0].delivered);
	finish();
}

static void test_implicit_tls_auth_login_refused(void **state)
{
	static const struct step script[] = {
		SEND("220 relay\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250-relay\r\n250 AUTH=LOGIN\r\n"),
		EXPECT("AUTH LOGIN"),
		SEND("334 VXNlcm5hbWU6\r\n"),
		EXPECT("am9l"),
		SEND("334 UGFzc3dvcmQ6\r\n"),
		EXPECT("czNjcmV0"),
		SEND("535 5.7.8 bad credentials\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};
	struct client_opts co = { .tls = SMTPC_TLS_IMPLICIT, .user = "joe", .pass = "s3cret" };

	peer_start(script, true);
	client_connect(&co);
	assert_false(out.ok);
	assert_int_equal(out.ready.code, 535);
	assert_string_equal(out.ready.reason, "smtpc.auth-failed");
	assert_string_equal(out.ready.stage, "auth");
	assert_true(smtpc_info(client)->tls);
	finish();
}

static void test_tls_handshake_fails(void **state)
{
	static const struct step script[] = {
		SEND("220 mx\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250-mx\r\n250 STARTTLS\r\n"),
		EXPECT("STARTTLS"),
		SEND("220 go ahead\r\n"),
		{ S_JUNK_TLS, NULL },
	};
	struct client_opts co = { .tls = SMTPC_TLS_OPPORTUNISTIC };

	peer_start(script, false);
	client_connect(&co);
	assert_false(out.ok);
	assert_int_equal(out.ready.code, 0);
	assert_string_equal(out.ready.reason, "smtpc.tls-failed");
	assert_string_equal(out.ready.stage, "starttls");
	finish();
}

static void test_tls_required_not_offered(void **state)
{
	static const struct step script[] = {
		SEND("220 mx\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250-mx\r\n250 PIPELINING\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};
	struct client_opts co = { .tls = SMTPC_TLS_REQUIRED };

	peer_start(script, false);
	client_connect(&co);
	assert_false(out.ok);
	assert_string_equal(out.ready.reason, "smtpc.tls-required");
	finish();
}

static void test_auth_needs_tls(void **state)
{
	static const struct step script[] = {
		SEND("220 mx\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250-mx\r\n250 AUTH PLAIN\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};
	struct client_opts co = { .tls = SMTPC_TLS_OPPORTUNISTIC, .user = "joe", .pass = "x" };

	peer_start(script, false);
	client_connect(&co);
	assert_false(out.ok);
	assert_string_equal(out.ready.reason, "smtpc.auth-needs-tls");
	finish();
}

/* the peer announces limits; the client refuses without sending MAIL */
static const struct step script_limits[] = {
	SEND("220 mx\r\n"),
	EXPECT("EHLO client.example.org"),
	SEND("250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n"),
	EXPECT("QUIT"),
	SEND("221 bye\r\n"),
	{ S_EOF, NULL },
};

static void test_precheck_size(void **state)
{
	peer_start(script_limits, false);
	client_connect(NULL);
	msg_init(2);
	client_send(&msg);
	assert_false(out.conn_lost);
	assert_int_equal(out.sent.code, 552);
	assert_string_equal(out.sent.enhanced, "5.3.4");
	assert_string_equal(out.sent.reason, "smtpc.too-big");
	assert_string_equal(out.sent.stage, "local");
	assert_int_equal(rcpts[1].reply.code, 552);
	assert_false(rcpts[1].delivered);
	finish();
}

static void test_precheck_8bit_utf8(void **state)
{
	peer_start(script_limits, false);
	client_connect(NULL);
	msg_init(1);
	msg.size = 5; /* under SIZE */
	msg.eight_bit = true;
	client_send(&msg);
	assert_string_equal(out.sent.reason, "smtpc.no-8bitmime");
	assert_int_equal(out.sent.code / 100, 5);
	msg.eight_bit = false;
	msg.smtputf8 = true;
	client_send(&msg);
	assert_string_equal(out.sent.reason, "smtpc.no-smtputf8");
	assert_int_equal(rcpts[0].reply.code / 100, 5);
	finish();
}

static void test_dot_stuffing(void **state)
{
	static const char body[] = "Subject: dots\n\n.hidden\n..two\r\n.\nlast";
	static const struct step script[] = {
		SEND("220 mx\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250 mx\r\n"),
		EXPECT("MAIL FROM:<>"),
		SEND("250 ok\r\n"),
		EXPECT("RCPT TO:<r1@example.test>"),
		SEND("250 ok\r\n"),
		EXPECT("DATA"),
		SEND("354 go\r\n"),
		{ S_DATA, "Subject: dots\r\n\r\n..hidden\r\n...two\r\n..\r\nlast\r\n.\r\n" },
		SEND("250 ok\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};

	peer_start(script, false);
	client_connect(NULL);
	msg_init(1);
	free(msg_path);
	msg_path = write_file("dots", body, sizeof(body) - 1);
	msg.path = msg_path;
	msg.sender = "";
	client_send(&msg);
	assert_true(rcpts[0].delivered);
	finish();
}

static void test_timeout(void **state)
{
	static const struct step script[] = {
		SEND("220 mx\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250 mx\r\n"),
		EXPECT("MAIL FROM:<s@example.org>"),
		SEND("250 ok\r\n"),
		EXPECT("RCPT TO:<r1@example.test>"),
		SEND("250 ok\r\n"),
		EXPECT("DATA"),
		{ S_SILENT, NULL },
	};
	struct client_opts co = { .scale = 1 }; /* DATA: 2 min -> 1.2 s */
	uint64_t start;

	peer_start(script, false);
	client_connect(&co);
	msg_init(1);
	start = time_monotonic_ms();
	client_send(&msg);
	assert_true(time_monotonic_ms() - start >= 1000);
	assert_true(out.conn_lost);
	assert_int_equal(out.sent.code, 0);
	assert_string_equal(out.sent.reason, "smtpc.timeout");
	assert_string_equal(out.sent.stage, "data");
	assert_int_equal(rcpts[0].reply.code, 0);
	assert_string_equal(rcpts[0].reply.reason, "smtpc.timeout");
	assert_false(rcpts[0].delivered);
	finish();
}

static void test_peer_closes_mid_data(void **state)
{
	static const struct step script[] = {
		SEND("220 mx\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250-mx\r\n250 PIPELINING\r\n"),
		EXPECT("MAIL FROM:<s@example.org>"),
		EXPECT("RCPT TO:<r1@example.test>"),
		EXPECT("RCPT TO:<r2@example.test>"),
		EXPECT("DATA"),
		SEND("250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n"),
		{ S_READ_SOME, "100000" },
		{ S_CLOSE, NULL },
	};
	size_t size = 4 << 20;
	char *big = xmalloc(size);

	/* 4 MB of 100-octet lines: far more than the output high-water mark */
	for (size_t i = 0; i < size; i++)
		big[i] = i % 100 == 99 ? '\n' : 'x';
	peer_start(script, false);
	client_connect(NULL);
	msg_init(2);
	free(msg_path);
	msg_path = write_file("big", big, size);
	free(big);
	msg.path = msg_path;
	msg.size = size;
	client_send(&msg);
	assert_true(out.conn_lost);
	assert_int_equal(out.sent.code, 0);
	assert_string_equal(out.sent.reason, "smtpc.lost");
	assert_int_equal(rcpts[0].reply.code, 0);
	assert_string_equal(rcpts[0].reply.reason, "smtpc.lost");
	assert_false(rcpts[0].delivered);
	/* the refused recipient keeps its own permanent answer */
	assert_int_equal(rcpts[1].reply.code, 550);
	finish();
}

/* test_output_bounded - a peer that stops reading: the client stops
 * reading the file at the high-water mark, then sends all of it. */
static void test_output_bounded(void **state)
{
	static const struct step script[] = {
		{ S_SMALL_RCVBUF, NULL },
		SEND("220 mx\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250-mx\r\n250 PIPELINING\r\n"),
		EXPECT("MAIL FROM:<s@example.org>"),
		EXPECT("RCPT TO:<r1@example.test>"),
		EXPECT("DATA"),
		SEND("250 ok\r\n250 ok\r\n354 go\r\n"),
		{ S_PAUSE, "400" },
		{ S_DRAIN, "4040003" }, /* 40000 lines of 99 + CR LF, then . CR LF */
		SEND("250 ok\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};
	size_t size = 40000 * 100, max_pending = 0;
	char *big = xmalloc(size);
	uint64_t deadline;
	int sndbuf = 16384;

	for (size_t i = 0; i < size; i++)
		big[i] = i % 100 == 99 ? '\n' : 'x';
	peer_start(script, false);
	client_connect(NULL);
	/* small kernel buffers, so the backlog builds up in ours */
	setsockopt(bufferevent_getfd(client->bev), SOL_SOCKET, SO_SNDBUF, &sndbuf,
		   sizeof(sndbuf));
	msg_init(1);
	free(msg_path);
	msg_path = write_file("big", big, size);
	free(big);
	msg.path = msg_path;
	msg.size = size;
	out.sent_called = false;
	smtpc_send(client, &msg, on_sent, &out);
	deadline = time_monotonic_ms() + TEST_DEADLINE_MS;
	while (!out.sent_called) {
		size_t pending = client != NULL ? smtpc_output_pending(client) : 0;
		if (pending > max_pending)
			max_pending = pending;
		assert_true(time_monotonic_ms() < deadline);
		event_base_loop(loop_base(), EVLOOP_ONCE);
	}
	assert_int_equal(out.sent.code, 250);
	assert_true(rcpts[0].delivered);
	assert_true(max_pending >= SMTPC_OUTPUT_HIGH);
	assert_true(max_pending <= SMTPC_OUTPUT_HIGH + 2 * SMTPC_CHUNK + 16);
	finish();
}

static void test_reply_line_too_long(void **state)
{
	static char greeting[4096];
	static const struct step script[] = {
		{ S_SEND, greeting },
		{ S_EOF, NULL },
	};

	memset(greeting, 'x', sizeof(greeting) - 3);
	memcpy(greeting, "220-", 4);
	memcpy(greeting + sizeof(greeting) - 3, "\r\n", 3);
	peer_start(script, false);
	client_connect(NULL);
	assert_false(out.ok);
	assert_string_equal(out.ready.reason, "smtpc.protocol");
	assert_string_equal(out.ready.stage, "greeting");
	finish();
}

static void test_connect_refused(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* a port that was just free: nothing listens there */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	memset(&peer, 0, sizeof(peer));
	peer.port = ntohs(sa.sin_port);
	client_connect(NULL);
	assert_false(out.ok);
	assert_int_equal(out.ready.code, 0);
	assert_string_equal(out.ready.reason, "smtpc.connect");
	assert_string_equal(out.ready.stage, "connect");
	smtpc_quit(client);
	client = NULL;
	loop_run_deferred();
}

static void test_quit_inside_callback(void **state)
{
	static const struct step script[] = {
		SEND("220 mx\r\n"),
		EXPECT("EHLO client.example.org"),
		SEND("250 mx\r\n"),
		EXPECT("QUIT"),
		SEND("221 bye\r\n"),
		{ S_EOF, NULL },
	};

	out.quit_in_callback = true;
	peer_start(script, false);
	client_connect(NULL);
	assert_true(out.ok);
	assert_null(client);
	finish();
	assert_int_equal(out.ready_calls, 1);
}

/* ---- Postfix's smtp-sink ---- */

#define SMTP_SINK "/usr/sbin/smtp-sink"

static bool dump_has(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		char *path = xasprintf("%s/%s", dir, e->d_name), buf[4096];
		FILE *fp = fopen(path, "r");
		if (fp != NULL) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
			buf[n] = '\0';
			found = strstr(buf, needle) != NULL;
			fclose(fp);
		}
		free(path);
	}
	closedir(d);
	return found;
}

static void test_smtp_sink(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	char *dump_dir = xasprintf("%s/sink", tmpdir), *tmpl, *addr;
	static const char body[] = "Subject: sink\n\nsmtp-sink body line\n";
	uint64_t deadline;
	pid_t pid;
	int fd, status;

	/* scripts/deps installs postfix, which brings smtp-sink: missing is a failure */
	if (access(SMTP_SINK, X_OK) != 0) {
		free(dump_dir);
		fail_msg("%s is missing: run scripts/deps", SMTP_SINK);
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	assert_int_equal(mkdir(dump_dir, 0777), 0);
	assert_int_equal(chmod(dump_dir, 0777), 0);
	assert_int_equal(chmod(tmpdir, 0755), 0);
	tmpl = xasprintf("%s/msg.", dump_dir);
	addr = xasprintf("127.0.0.1:%u", ntohs(sa.sin_port));
	pid = fork();
	assert_true(pid >= 0);
	sink_pid = pid;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		execl(SMTP_SINK, "smtp-sink", "-u", "nobody", "-d", tmpl, addr, "10", (char *)NULL);
		_exit(127);
	}
	/* wait for it to listen */
	memset(&peer, 0, sizeof(peer));
	peer.port = ntohs(sa.sin_port);
	deadline = time_monotonic_ms() + 5000;
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			break;
		}
		close(fd);
		assert_true(time_monotonic_ms() < deadline);
		usleep(20000);
	}

	client_connect(NULL);
	assert_true(out.ok);
	assert_true(smtpc_info(client)->pipelining);
	msg_init(2);
	free(msg_path);
	msg_path = write_file("sink-msg", body, sizeof(body) - 1);
	msg.path = msg_path;
	msg.size = sizeof(body) - 1;
	rcpts[0].dsn_notify = 0x04;
	rcpts[0].dsn_orcpt = "rfc822;r1@example.test";
	client_send(&msg);
	assert_int_equal(out.sent.code, 250);
	assert_true(rcpts[0].delivered && rcpts[1].delivered);
	/* a second message on the same connection */
	client_send(&msg);
	assert_int_equal(out.sent.code, 250);
	smtpc_quit(client);
	client = NULL;
	deadline = time_monotonic_ms() + 5000;
	while (!dump_has(dump_dir, "smtp-sink body line") && time_monotonic_ms() < deadline) {
		event_base_loop(loop_base(), EVLOOP_NONBLOCK);
		usleep(20000);
	}
	loop_run_deferred();
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	sink_pid = 0;
	assert_true(dump_has(dump_dir, "smtp-sink body line"));
	free(tmpl);
	free(addr);
	free(dump_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_pipelining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_helo_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_greeting_421, setup, teardown),
		cmocka_unit_test_setup_teardown(test_greeting_554_quit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mail_4xx_then_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse_with_rset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_mail_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_354_without_rcpt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_starttls_auth_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_implicit_tls_auth_login_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tls_handshake_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_required_not_offered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_needs_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precheck_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precheck_8bit_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dot_stuffing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_closes_mid_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_line_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit_inside_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smtp_sink, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
