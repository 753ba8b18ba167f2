/* SPDX-License-Identifier: ISC */
/* test-dns.c - the promises of dns.h that need no DNS server: callbacks
 * only from the loop, exactly once; numeric addresses as they are; bad
 * names and bad dns.servers refused; dns_deinit() answering what is in
 * flight. Real answers: tests/integration/test_route.py (dnsmasq). */
#include "lib/lib.h"
#include "core/dns.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <setjmp.h>
#include <cmocka.h>

struct got {
	int calls;
	enum dns_status status;
	size_t count;
	struct dns_addr first;
};

static void on_addr(void *ctx, enum dns_status status, const struct dns_addr *addrs,
		    size_t count)
{
	struct got *g = ctx;

	g->calls++;
	g->status = status;
	g->count = count;
	if (count > 0)
		g->first = addrs[0];
}

static void on_mx(void *ctx, enum dns_status status, const struct dns_mx *mx, size_t count)
{
	struct got *g = ctx;

	g->calls++;
	g->status = status;
	g->count = count;
}

static void on_txt(void *ctx, enum dns_status status, const char *const *txt, size_t count)
{
	struct got *g = ctx;

	g->calls++;
	g->status = status;
	g->count = count;
}

static void on_defer(void *ctx)
{
	(*(int *)ctx)++;
}

static void test_answers_wait_for_the_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct got v4 = { 0 }, v6 = { 0 }, v6only = { 0 }, mismatch = { 0 }, empty = { 0 },
		   label = { 0 }, dots = { 0 }, txt = { 0 };
	char longlabel[80], *error = NULL;
	int deferred = 0;

	assert_int_equal(dns_init(base, "127.0.0.1:9", &error), 0);
	dns_lookup_addr("192.0.2.9", AF_UNSPEC, on_addr, &v4);
	dns_lookup_addr("2001:db8::9", AF_UNSPEC, on_addr, &v6);
	dns_lookup_addr("::1", AF_INET6, on_addr, &v6only);
	dns_lookup_addr("::1", AF_INET, on_addr, &mismatch);
	dns_lookup_mx("", on_mx, &empty);
	memset(longlabel, 'a', 64);
	strcpy(longlabel + 64, ".test");
	dns_lookup_mx(longlabel, on_mx, &label);
	dns_lookup_mx("a..test", on_mx, &dots);
	dns_lookup_txt(".", on_txt, &txt);
	dns_defer(on_defer, &deferred);
	assert_int_equal(v4.calls + v6.calls + v6only.calls + mismatch.calls + empty.calls +
				 label.calls + dots.calls + txt.calls + deferred,
			 0);
	event_base_dispatch(base);

	assert_int_equal(v4.calls, 1);
	assert_int_equal(v4.status, DNS_OK);
	assert_int_equal(v4.count, 1);
	assert_int_equal(v4.first.ss.ss_family, AF_INET);
	assert_int_equal(v4.first.len, sizeof(struct sockaddr_in));
	assert_int_equal(((struct sockaddr_in *)&v4.first.ss)->sin_addr.s_addr,
			 inet_addr("192.0.2.9"));
	assert_int_equal(v6.status, DNS_OK);
	assert_int_equal(v6.first.ss.ss_family, AF_INET6);
	assert_int_equal(v6only.status, DNS_OK);
	/* an IPv6 address asked for as IPv4: the name has no such record */
	assert_int_equal(mismatch.calls, 1);
	assert_int_equal(mismatch.status, DNS_NODATA);
	assert_int_equal(mismatch.count, 0);
	for (struct got *g = &empty; g != NULL;
	     g = g == &empty ? &label : g == &label ? &dots : g == &dots ? &txt : NULL) {
		assert_int_equal(g->calls, 1);
		assert_int_equal(g->status, DNS_BADNAME);
	}
	assert_int_equal(deferred, 1);
	dns_deinit();
	event_base_free(base);
}

static void test_bad_servers(void **state)
{
	struct event_base *base = event_base_new();
	char *error = NULL;

	assert_int_equal(dns_init(base, "resolver.example.test", &error), -1);
	assert_non_null(strstr(error, "dns.servers"));
	free(error);
	error = NULL;
	assert_int_equal(dns_init(base, "127.0.0.1:53,[::1]:5353", &error), 0);
	assert_int_equal(dns_set_servers("1.2.3.4.5", &error), -1);
	free(error);
	assert_int_equal(dns_set_servers("127.0.0.1:9", &error), 0);
	dns_deinit();
	event_base_free(base);
}

/* nothing listens on 127.0.0.1:9: the lookup is still in flight (or
 * refused by then) when dns_deinit() answers it */
static void test_deinit_answers_in_flight(void **state)
{
	struct event_base *base = event_base_new();
	struct got mx = { 0 }, addr = { 0 }, numeric = { 0 };
	char *error = NULL;

	assert_int_equal(dns_init(base, "127.0.0.1:9", &error), 0);
	dns_lookup_mx("example.test", on_mx, &mx);
	dns_lookup_addr("mx.example.test", AF_UNSPEC, on_addr, &addr);
	dns_lookup_addr("192.0.2.1", AF_INET, on_addr, &numeric);
	/* a retired channel with a query in flight is freed too */
	assert_int_equal(dns_set_servers("127.0.0.1:9", &error), 0);
	dns_deinit();
	assert_int_equal(mx.calls, 1);
	assert_int_equal(mx.status, DNS_TEMPFAIL);
	assert_int_equal(addr.calls, 1);
	assert_int_equal(addr.status, DNS_TEMPFAIL);
	/* answered already, delivered at deinit with its real answer */
	assert_int_equal(numeric.calls, 1);
	assert_int_equal(numeric.status, DNS_OK);
	event_base_free(base);
}

/* a refused lookup ends through the loop (sockets watched, timer armed)
 * instead of hanging, and the base runs dry afterwards */
static void test_refused_server_is_tempfail(void **state)
{
	struct event_base *base = event_base_new();
	struct got mx = { 0 };
	char *error = NULL;

	assert_int_equal(dns_init(base, "127.0.0.1:9", &error), 0);
	dns_lookup_mx("example.test", on_mx, &mx);
	event_base_dispatch(base);
	assert_int_equal(mx.calls, 1);
	assert_int_equal(mx.status, DNS_TEMPFAIL);
	dns_deinit();
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers_wait_for_the_loop),
		cmocka_unit_test(test_bad_servers),
		cmocka_unit_test(test_deinit_answers_in_flight),
		cmocka_unit_test(test_refused_server_is_tempfail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
