/* SPDX-License-Identifier: ISC */
/*
 * test-conn.c - connections over real loopback sockets: line splitting
 * across reads, overlong lines, pause/resume, a finish that delivers the
 * last reply before EOF, peer close, and the id table and counters.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/conn.h"
#include "core/loop.h"
#include "core/tls.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#define TEST_LINE_MAX 10
#define TEST_DEADLINE_MS 5000

struct session {
	struct conn *conn;
	uint64_t id;
	char lines[8][64];
	unsigned nlines;
	unsigned too_long;
	unsigned closed;
	unsigned tls_ready;
	char close_reason[64];
};

static struct session sess;
static int client_fd = -1;

static void on_input(struct conn *conn, void *ctx)
{
	struct session *s = ctx;
	char *line;
	size_t len;
	int ret;

	while ((ret = conn_read_line(conn, TEST_LINE_MAX, &line, &len)) != 0) {
		if (ret < 0) {
			s->too_long++;
			continue;
		}
		assert_int_equal(strlen(line), len);
		snprintf(s->lines[s->nlines++ % 8], sizeof(s->lines[0]), "%s", line);
		if (strcmp(line, "STARTTLS") == 0) {
			conn_printf(conn, "220 go\r\n");
			assert_int_equal(conn_starttls(conn), 0);
			return;
		}
		if (strcmp(line, "NOOP") == 0)
			conn_printf(conn, "250 tls=%s\r\n", conn_is_tls(conn) ? "yes" : "no");
		if (strcmp(line, "QUIT") == 0) {
			conn_printf(conn, "221 %s\r\n", "bye");
			conn_finish(conn, "quit");
			return;
		}
	}
}

static void on_closed(struct conn *conn, void *ctx, const char *reason)
{
	struct session *s = ctx;

	s->closed++;
	snprintf(s->close_reason, sizeof(s->close_reason), "%s", reason);
	s->conn = NULL;
}

static void on_tls_ready(struct conn *conn, void *ctx)
{
	struct session *s = ctx;

	s->tls_ready++;
}

static const struct conn_handler handler = {
	.input = on_input,
	.tls_ready = on_tls_ready,
	.closed = on_closed,
};

static void on_open(struct conn *conn, void *ctx)
{
	struct session *s = ctx;

	s->conn = conn;
	s->id = conn_id(conn);
	conn_set_handler(conn, &handler, s);
	conn_printf(conn, "220 %s ready\r\n", "test");
}

static void on_tick(evutil_socket_t fd, short what, void *ctx)
{
}

/* pump - run the loop until *flag becomes true (or fail at the deadline). */
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

/* pump_a_little - give the loop a few rounds when waiting for nothing. */
static bool rounds_done(void)
{
	static unsigned rounds;
	return ++rounds % 10 == 0;
}

static int setup(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int lfd, sfd;
	char *error;

	memset(&sess, 0, sizeof(sess));
	assert_int_equal(loop_init(NULL, &error), 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	client_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(client_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	len = sizeof(sa);
	sfd = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(sfd >= 0);
	close(lfd);
	conn_new(sfd, (struct sockaddr *)&sa, (int)len, LISTENER_SMTP, NULL, on_open, &sess);
	assert_non_null(sess.conn);
	return 0;
}

static int teardown(void **state)
{
	conn_close_all("test over");
	loop_run_deferred();
	loop_deinit();
	if (client_fd >= 0)
		close(client_fd);
	client_fd = -1;
	assert_int_equal(conn_count(), 0);
	return 0;
}

static void client_send(const char *s)
{
	assert_int_equal(write(client_fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* client_read_all - everything the server sent until EOF. */
static void client_read_all(char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size && (n = read(client_fd, buf + len, size - len - 1)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
}

static unsigned want_lines;
static bool have_lines(void)
{
	return sess.nlines >= want_lines;
}

static bool is_closed(void)
{
	return sess.closed > 0;
}

static void test_lines_across_reads(void **state)
{
	client_send("HELO a\r\nNOOP\nPART");
	want_lines = 2;
	pump_until(have_lines);
	client_send("IAL\r\n");
	want_lines = 3;
	pump_until(have_lines);
	assert_string_equal(sess.lines[0], "HELO a");
	assert_string_equal(sess.lines[1], "NOOP");
	assert_string_equal(sess.lines[2], "PARTIAL");
	assert_string_equal(conn_peer(sess.conn), "127.0.0.1");
	assert_string_equal(conn_listener_name(sess.conn), "smtp");
	assert_false(conn_is_tls(sess.conn));
}

static void test_overlong_lines(void **state)
{
	/* too long with its end in the buffer, then too long without one */
	client_send("0123456789AB\r\nok\r\n");
	want_lines = 1;
	pump_until(have_lines);
	assert_int_equal(sess.too_long, 1);
	client_send("0123456789ABCDEFGHIJ");
	pump_until(rounds_done);
	assert_int_equal(sess.too_long, 2);
	client_send("tail\r\nnext\r\n");
	want_lines = 2;
	pump_until(have_lines);
	assert_int_equal(sess.too_long, 2);
	assert_string_equal(sess.lines[0], "ok");
	assert_string_equal(sess.lines[1], "next");
}

static void test_pause_resume(void **state)
{
	conn_pause_input(sess.conn);
	client_send("one\r\n");
	pump_until(rounds_done);
	assert_int_equal(sess.nlines, 0);
	conn_resume_input(sess.conn);
	want_lines = 1;
	pump_until(have_lines);
	assert_string_equal(sess.lines[0], "one");
}

static void test_finish_delivers_last_reply(void **state)
{
	char buf[256];
	uint64_t id = sess.id;

	assert_ptr_equal(conn_lookup(id), sess.conn);
	assert_int_equal(conn_count(), 1);
	assert_int_equal(conn_count_listener(LISTENER_SMTP), 1);
	assert_int_equal(conn_count_peer("127.0.0.1"), 1);
	/* a pipelined command after QUIT is read and thrown away, so the
	 * close is clean rather than a reset */
	client_send("QUIT\r\nNOOP\r\n");
	want_lines = 1;
	pump_until(have_lines);
	shutdown(client_fd, SHUT_WR);
	pump_until(is_closed);
	client_read_all(buf, sizeof(buf));
	assert_string_equal(buf, "220 test ready\r\n221 bye\r\n");
	assert_int_equal(sess.closed, 1);
	assert_string_equal(sess.close_reason, "quit");
	assert_null(conn_lookup(id));
	assert_int_equal(conn_count(), 0);
}

static void test_peer_close(void **state)
{
	char greeting[64];

	/* the greeting is already in our socket (plaintext replies are sent
	 * at once); closing with it unread would be a reset, not a close */
	assert_int_equal(read(client_fd, greeting, sizeof(greeting)), 16);
	close(client_fd);
	client_fd = -1;
	pump_until(is_closed);
	assert_int_equal(sess.closed, 1);
	assert_string_equal(sess.close_reason, "peer closed");
}

static void test_drain_closes_idle(void **state)
{
	conn_drain_all();
	assert_int_equal(sess.closed, 1);
	assert_string_equal(sess.close_reason, "server shutting down");
	loop_run_deferred();
	assert_int_equal(conn_count(), 0);
}

/* ---- STARTTLS, with a blocking OpenSSL client on its own thread ---- */

struct tls_client {
	const char *first; /* what is sent in plaintext */
	char got[256];     /* everything read over TLS until close_notify/EOF */
	bool handshake_ok;
};

static void *tls_client_main(void *ctx)
{
	struct tls_client *c = ctx;
	char plain[128];
	size_t len = 0;
	int n;

	if (write(client_fd, c->first, strlen(c->first)) < 0)
		return NULL;
	/* byte by byte, so no TLS byte is swallowed with the plaintext */
	while (len + 1 < sizeof(plain) && read(client_fd, plain + len, 1) == 1) {
		plain[++len] = '\0';
		if (len >= 8 && strcmp(plain + len - 8, "220 go\r\n") == 0)
			break;
	}
	SSL_CTX *ctx_c = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx_c);
	SSL_set_fd(ssl, client_fd);
	if (SSL_connect(ssl) == 1) {
		c->handshake_ok = true;
		SSL_write(ssl, "NOOP\r\nQUIT\r\n", 12);
		len = 0;
		while (len + 1 < sizeof(c->got) &&
		       (n = SSL_read(ssl, c->got + len, (int)(sizeof(c->got) - len - 1))) > 0)
			len += (size_t)n;
		c->got[len] = '\0';
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx_c);
	return NULL;
}

static void run_starttls(const char *first, struct tls_client *c)
{
	char *dir = test_tmpdir(), *cert = xasprintf("%s/cert.pem", dir);
	char *key = xasprintf("%s/key.pem", dir), *error = NULL;
	pthread_t thread;

	assert_int_equal(tls_selfsigned_create("mail.example.test", cert, key, &error), 0);
	assert_int_equal(tls_server_load(cert, key, &error), 0);
	c->first = first;
	assert_int_equal(pthread_create(&thread, NULL, tls_client_main, c), 0);
	pump_until(is_closed);
	pthread_join(thread, NULL);
	tls_server_deinit();
	test_rmtree(dir);
	free(cert);
	free(key);
	free(dir);
}

static void test_starttls(void **state)
{
	struct tls_client c = { 0 };

	run_starttls("STARTTLS\r\n", &c);
	assert_true(c.handshake_ok);
	assert_int_equal(sess.tls_ready, 1);
	/* the last reply arrives over TLS before the close (filter flushed) */
	assert_string_equal(c.got, "250 tls=yes\r\n221 bye\r\n");
	assert_string_equal(sess.close_reason, "quit");
}

static void test_starttls_discards_injected_plaintext(void **state)
{
	struct tls_client c = { 0 };

	/* CVE-2011-0411: a command pipelined after STARTTLS in plaintext
	 * must not be executed as if it had arrived over TLS */
	run_starttls("STARTTLS\r\nINJECTED\r\n", &c);
	assert_true(c.handshake_ok);
	for (unsigned i = 0; i < sess.nlines && i < 8; i++)
		assert_string_not_equal(sess.lines[i], "INJECTED");
	assert_string_equal(sess.lines[1], "NOOP");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lines_across_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_delivers_last_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_closes_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_starttls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_starttls_discards_injected_plaintext, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
