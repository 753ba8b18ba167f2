/* SPDX-License-Identifier: ISC */
/* test-route.c - MX ordering, null MX, relay specs; and the answers
 * route.c gives without asking DNS (literals, bad names), which must
 * still arrive from the loop. DNS answers themselves are covered by
 * tests/integration/test_route.py against a real dnsmasq. */
#include "lib/lib.h"
#include "core/dns.h"
#include "queue/route.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <setjmp.h>
#include <cmocka.h>

/* ---- route_order_mx ---- */

/* a fake rnd(): replays a script of values */
static uint32_t script[64];
static size_t script_len, script_pos;

static uint32_t scripted_rnd(void)
{
	uint32_t v = script[script_pos % script_len];
	script_pos++;
	return v;
}

static void set_script(const uint32_t *values, size_t n)
{
	memcpy(script, values, n * sizeof(*values));
	script_len = n;
	script_pos = 0;
}

static void mx_set(struct dns_mx *mx, const char *host, unsigned pref)
{
	snprintf(mx->host, sizeof(mx->host), "%s", host);
	mx->pref = pref;
}

static void test_order_sorts_by_preference(void **state)
{
	struct dns_mx mx[5];
	const uint32_t zero = 0;

	mx_set(&mx[0], "c", 30);
	mx_set(&mx[1], "a", 10);
	mx_set(&mx[2], "e", 50);
	mx_set(&mx[3], "b", 20);
	mx_set(&mx[4], "d", 40);
	set_script(&zero, 1);
	route_order_mx(mx, 5, scripted_rnd);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(mx[i].pref, 10 * (i + 1));
		assert_int_equal(mx[i].host[0], 'a' + (int)i);
	}
	/* distinct preferences: rnd() is never asked */
	assert_int_equal(script_pos, 0);
	/* empty and single lists are fine */
	route_order_mx(mx, 0, scripted_rnd);
	route_order_mx(mx, 1, scripted_rnd);
	assert_string_equal(mx[0].host, "a");
}

static void test_order_shuffles_only_equals(void **state)
{
	struct dns_mx mx[4];
	/* Fisher-Yates over the run of three: i=2 picks j=0, i=1 picks j=0 */
	const uint32_t values[] = { 0, 0 };

	mx_set(&mx[0], "x10", 10);
	mx_set(&mx[1], "b20", 20);
	mx_set(&mx[2], "a10", 10);
	mx_set(&mx[3], "c10", 10);
	set_script(values, 2);
	route_order_mx(mx, 4, scripted_rnd);
	/* sorted stably: x10 a10 c10 b20; then the 10s shuffled:
	 * swap(2,0) -> c10 a10 x10; swap(1,0) -> a10 c10 x10 */
	assert_string_equal(mx[0].host, "a10");
	assert_string_equal(mx[1].host, "c10");
	assert_string_equal(mx[2].host, "x10");
	assert_string_equal(mx[3].host, "b20");
	assert_int_equal(script_pos, 2);
}

static void test_order_shuffle_reaches_every_order(void **state)
{
	/* with a varied rnd every permutation of three equals shows up, and
	 * the lower preference always stays first */
	bool seen[3][3][3] = { { { false } } };
	size_t distinct = 0;

	for (uint32_t seed = 0; seed < 36; seed++) {
		struct dns_mx mx[4];
		const uint32_t values[] = { seed % 3, seed / 3 % 2 };
		mx_set(&mx[0], "b", 20);
		mx_set(&mx[1], "c", 20);
		mx_set(&mx[2], "a", 5);
		mx_set(&mx[3], "d", 20);
		set_script(values, 2);
		route_order_mx(mx, 4, scripted_rnd);
		assert_string_equal(mx[0].host, "a");
		int i = mx[1].host[0] - 'b', j = mx[2].host[0] - 'b', k = mx[3].host[0] - 'b';
		assert_true(i != j && j != k && i != k);
		if (!seen[i][j][k]) {
			seen[i][j][k] = true;
			distinct++;
		}
	}
	assert_int_equal(distinct, 6);
}

/* ---- route_is_null_mx ---- */

static void test_null_mx(void **state)
{
	struct dns_mx mx[2];

	mx_set(&mx[0], "", 0);
	assert_true(route_is_null_mx(mx, 1));
	mx_set(&mx[1], "mx.example.test", 10);
	/* RFC 7505 3: only a single record is a null MX */
	assert_false(route_is_null_mx(mx, 2));
	mx_set(&mx[0], "mx.example.test", 0);
	assert_false(route_is_null_mx(mx, 1));
	assert_false(route_is_null_mx(mx, 0));
}

/* ---- route_parse_relay ---- */

static void test_parse_relay(void **state)
{
	static const struct {
		const char *spec;
		const char *host;
		uint16_t port;
		bool mx;
	} good[] = {
		{ "[smtp.example.test]:587", "smtp.example.test", 587, false },
		{ "[smtp.example.test]", "smtp.example.test", 25, false },
		{ "smtp.example.test:2525", "smtp.example.test", 2525, true },
		{ "smtp.example.test", "smtp.example.test", 25, true },
		{ "smtp.example.test.", "smtp.example.test", 25, true },
		{ "[192.0.2.7]:26", "192.0.2.7", 26, false },
		{ "192.0.2.7:26", "192.0.2.7", 26, false },   /* an address has no MX */
		{ "[::1]:2525", "::1", 2525, false },
		{ "[IPv6:2001:db8::1]", "2001:db8::1", 25, false },
		{ "relay_1.example.test:65535", "relay_1.example.test", 65535, true },
	};
	static const char *const bad[] = {
		"", "[]", "[]:25", ":25", "[smtp.example.test", "smtp.example.test]",
		"smtp.example.test:", "smtp.example.test:0", "smtp.example.test:65536",
		"smtp.example.test:25x", "[smtp.example.test]x", "[smtp.example.test]:",
		"::1", "2001:db8::1:25", "smtp..example.test", "smtp example.test",
		"smtp.example.test:-1", ".example.test",
	};
	char host[DNS_NAME_MAX], longname[300];
	uint16_t port;
	bool mx;

	for (size_t i = 0; i < N_ELEMENTS(good); i++) {
		port = 0;
		assert_int_equal(route_parse_relay(good[i].spec, host, &port, &mx), 0);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
		assert_int_equal(mx, good[i].mx);
	}
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		if (route_parse_relay(bad[i], host, &port, &mx) == 0)
			fail_msg("accepted bad relay spec '%s'", bad[i]);
	}
	/* a name longer than DNS allows */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(route_parse_relay(longname, host, &port, &mx), -1);
	/* a label of 64 octets */
	memset(longname, 'a', 64);
	strcpy(longname + 64, ".test");
	assert_int_equal(route_parse_relay(longname, host, &port, &mx), -1);
}

/* ---- answers without DNS: still from the loop ---- */

struct answer {
	int calls;
	enum route_status status;
	char reason[64];
	size_t count;
	struct route_target first;
};

static void on_route(void *ctx, const struct route_result *r)
{
	struct answer *a = ctx;

	a->calls++;
	a->status = r->status;
	snprintf(a->reason, sizeof(a->reason), "%s", r->reason != NULL ? r->reason : "");
	a->count = r->count;
	if (r->count > 0)
		a->first = r->targets[0];
}

static void test_resolve_without_dns(void **state)
{
	struct event_base *base = event_base_new();
	struct answer lit = { 0 }, lit6 = { 0 }, bad = { 0 }, relay = { 0 }, badrelay = { 0 },
		      zero = { 0 };
	char *error = NULL;

	/* a resolver nobody needs: these answers come from route.c itself */
	assert_int_equal(dns_init(base, "127.0.0.1:9", &error), 0);
	route_resolve("[192.0.2.1]", 2525, on_route, &lit);
	route_resolve("[IPv6:2001:db8::5]", 25, on_route, &lit6);
	route_resolve("exa mple.test", 25, on_route, &bad);
	route_resolve("[0.0.0.0]", 25, on_route, &zero);
	route_resolve_relay("[198.51.100.2]:587", on_route, &relay);
	route_resolve_relay("[broken", on_route, &badrelay);
	/* nothing before the loop runs (dns.h's promise, kept by route.c) */
	assert_int_equal(lit.calls + lit6.calls + bad.calls + relay.calls + badrelay.calls +
				 zero.calls,
			 0);
	event_base_dispatch(base);

	assert_int_equal(lit.calls, 1);
	assert_int_equal(lit.status, ROUTE_OK);
	assert_int_equal(lit.count, 1);
	assert_string_equal(lit.first.addr_text, "192.0.2.1");
	assert_int_equal(ntohs(((struct sockaddr_in *)&lit.first.ss)->sin_port), 2525);

	assert_int_equal(lit6.calls, 1);
	assert_int_equal(lit6.status, ROUTE_OK);
	assert_string_equal(lit6.first.addr_text, "2001:db8::5");
	assert_int_equal(lit6.first.ss.ss_family, AF_INET6);

	assert_int_equal(bad.calls, 1);
	assert_int_equal(bad.status, ROUTE_PERMFAIL);
	assert_string_equal(bad.reason, "route.bad-domain");

	/* 0.0.0.0 is never a destination */
	assert_int_equal(zero.calls, 1);
	assert_int_equal(zero.status, ROUTE_PERMFAIL);
	assert_string_equal(zero.reason, "route.no-address");

	assert_int_equal(relay.calls, 1);
	assert_int_equal(relay.status, ROUTE_OK);
	assert_int_equal(ntohs(((struct sockaddr_in *)&relay.first.ss)->sin_port), 587);
	assert_string_equal(relay.first.host, "198.51.100.2");

	assert_int_equal(badrelay.calls, 1);
	assert_int_equal(badrelay.status, ROUTE_PERMFAIL);
	assert_string_equal(badrelay.reason, "route.bad-domain");

	dns_deinit();
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_sorts_by_preference),
		cmocka_unit_test(test_order_shuffles_only_equals),
		cmocka_unit_test(test_order_shuffle_reaches_every_order),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_parse_relay),
		cmocka_unit_test(test_resolve_without_dns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
