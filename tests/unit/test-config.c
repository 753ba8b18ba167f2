/* SPDX-License-Identifier: ISC */
/* test-config.c - postino.conf parsing: keys, errors with file:line, writing. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/fs.h"
#include "core/config.h"

#include <setjmp.h>
#include <cmocka.h>
#include <unistd.h>

static char *write_tmp(const char *content)
{
	char path[] = "/tmp/postino-conf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, content, strlen(content)), 0);
	close(fd);
	return xstrdup(path);
}

static void test_defaults(void **state)
{
	struct config *cfg = config_new_defaults();

	assert_string_equal(cfg->listen[LISTENER_SMTP], "0.0.0.0:25");
	assert_string_equal(cfg->listen[LISTENER_HTTP], "127.0.0.1:8080");
	assert_string_equal(cfg->hostname, "localhost");
	assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
	assert_true(config_listener_implicit_tls(LISTENER_IMAPS));
	assert_false(config_listener_implicit_tls(LISTENER_IMAP));
	assert_string_equal(config_listener_key(LISTENER_POP3S), "listen.pop3s");
	config_free(&cfg);
	assert_null(cfg);
}

static void test_load_ok(void **state)
{
	char *path = write_tmp("# comment\n\n  hostname =  mx.example.com  \n"
			       "listen.smtp = [::1]:2525\nlisten.imap=off\nworkers = 8\n"
			       "log.level = debug\n");
	struct config *cfg;
	char *error = NULL;

	assert_int_equal(config_load(path, &cfg, &error), 0);
	assert_string_equal(cfg->hostname, "mx.example.com");
	assert_string_equal(cfg->listen[LISTENER_SMTP], "[::1]:2525");
	assert_string_equal(cfg->listen[LISTENER_IMAP], "off");
	assert_int_equal(cfg->workers, 8);
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	config_free(&cfg);
	unlink(path);
	free(path);
}

/* Each bad file must fail with "path:LINE: ..." naming the right line. */
static void test_load_errors(void **state)
{
	static const struct {
		const char *content;
		unsigned line;
		const char *needle;
	} cases[] = {
		{ "hostname = a.b\nbogus line\n", 2, "expected 'key = value'" },
		{ "nosuch.key = 1\n", 1, "unknown key 'nosuch.key'" },
		{ "\n\nlisten.smtp = 127.0.0.1\n", 3, "listen.smtp" },
		{ "listen.smtp = 127.0.0.1:70000\n", 1, "listen.smtp" },
		{ "listen.smtp = ::1:25\n", 1, "listen.smtp" },
		{ "listen.smtp = not-an-ip:25\n", 1, "listen.smtp" },
		{ "workers = 0\n", 1, "workers" },
		{ "workers = lots\n", 1, "workers" },
		{ "log.level = loud\n", 1, "log.level" },
		{ "hostname = bad_host!\n", 1, "hostname" },
		{ " = value\n", 1, "missing key" },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		char *path = write_tmp(cases[i].content);
		char *prefix = xasprintf("%s:%u: ", path, cases[i].line);
		struct config *cfg = NULL;
		char *error = NULL;

		assert_int_equal(config_load(path, &cfg, &error), -1);
		assert_null(cfg);
		assert_non_null(error);
		if (strncmp(error, prefix, strlen(prefix)) != 0 || strstr(error, cases[i].needle) == NULL)
			fail_msg("case %zu: got '%s', want prefix '%s' and '%s'", i, error, prefix,
				 cases[i].needle);
		free(error);
		free(prefix);
		unlink(path);
		free(path);
	}
}

static void test_missing_file(void **state)
{
	struct config *cfg;
	char *error;

	assert_int_equal(config_load("/nonexistent/postino.conf", &cfg, &error), -1);
	assert_non_null(strstr(error, "No such file"));
	free(error);
}

static void test_write_roundtrip(void **state)
{
	struct config *cfg = config_new_defaults(), *back;
	char *error, *path = write_tmp("");

	assert_int_equal(config_set(cfg, "listen.pop3", "127.0.0.2:1110", &error), 0);
	assert_int_equal(config_set(cfg, "user", "postino", &error), 0);
	assert_int_equal(config_set(cfg, "listen.pop3", "nope", &error), -1);
	free(error);
	assert_int_equal(config_write(cfg, path, &error), 0);
	assert_int_equal(config_load(path, &back, &error), 0);
	for (size_t i = 0; config_key_name(i) != NULL; i++) {
		char *a = config_get(cfg, config_key_name(i));
		char *b = config_get(back, config_key_name(i));
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	assert_null(config_get(cfg, "no.such"));
	config_free(&cfg);
	config_free(&back);
	unlink(path);
	free(path);
}

static void test_hostport(void **state)
{
	char *host;
	uint16_t port;

	assert_int_equal(config_parse_hostport("[::1]:993", &host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 993);
	free(host);
	assert_int_equal(config_parse_hostport("0.0.0.0:0", &host, &port), 0);
	free(host);
	assert_int_equal(config_parse_hostport("[::1]993", &host, &port), -1);
	assert_int_equal(config_parse_hostport(":25", &host, &port), -1);
	assert_int_equal(config_parse_hostport("1.2.3.4:", &host, &port), -1);
	assert_int_equal(config_parse_hostport("1.2.3.4:-1", &host, &port), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_load_ok),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_write_roundtrip),
		cmocka_unit_test(test_hostport),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
