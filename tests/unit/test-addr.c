/* SPDX-License-Identifier: ISC */
/* test-addr.c - address and domain normalisation: forms kept, forms
 * refused, exact limits, case, IDNA and UTF-8 local parts. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "mail/addr.h"

#include <setjmp.h>
#include <cmocka.h>

struct good_case {
	const char *in, *out;
};

struct bad_case {
	const char *in, *error;
};

static const struct good_case good_addrs[] = {
	{ "user@example.com", "user@example.com" },
	{ "User@Example.COM", "user@example.com" },
	{ "first.last@example.com", "first.last@example.com" },
	{ "a+tag@example.com", "a+tag@example.com" },
	{ "!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com" },
	{ "x@a.b", "x@a.b" },
	{ "x@localhost", "x@localhost" },
	{ "x@sub-domain.ex-ample.co.uk", "x@sub-domain.ex-ample.co.uk" },
	{ "x@1and1.com", "x@1and1.com" },
	/* RFC 6531: UTF-8 local parts, kept as bytes (only ASCII is folded) */
	{ "J\xc3\xbcrgen@Example.com", "j\xc3\xbcrgen@example.com" },
	{ "\xe7\x94\xa8\xe6\x88\xb7@example.com", "\xe7\x94\xa8\xe6\x88\xb7@example.com" },
	{ "\xf0\x9f\x98\x80@example.com", "\xf0\x9f\x98\x80@example.com" },
	/* IDNA: Unicode domains become A-labels; A-labels stay */
	{ "info@B\xc3\xbc" "cher.example", "info@xn--bcher-kva.example" },
	{ "info@xn--bcher-kva.example", "info@xn--bcher-kva.example" },
	{ "info@XN--BCHER-KVA.example", "info@xn--bcher-kva.example" },
	{ "a@m\xc3\xbcnchen.DE", "a@xn--mnchen-3ya.de" },
	/* non-transitional (IDNA2008): sharp s is kept, not mapped to "ss" */
	{ "a@fa\xc3\x9f.de", "a@xn--fa-hia.de" },
};

static const struct bad_case bad_addrs[] = {
	{ "", "empty address" },
	{ "userexample.com", "missing @" },
	{ "@example.com", "empty local part" },
	{ "user@", "missing domain after @" },
	{ "a@b@example.com", "more than one @" },
	{ "\"quoted\"@example.com", "quoted local parts are not supported" },
	{ ".user@example.com", "local part starts with a dot" },
	{ "user.@example.com", "local part ends with a dot" },
	{ "us..er@example.com", "local part has two dots in a row" },
	{ "us er@example.com", "invalid character in local part" },
	{ "us(er)@example.com", "invalid character in local part" },
	{ "us\ter@example.com", "invalid character in local part" },
	{ "<user@example.com>", "invalid character in local part" },
	{ "us\xc3@example.com", "local part is not valid UTF-8" },
	{ "\xc0\xaf@example.com", "local part is not valid UTF-8" },   /* overlong '/' */
	{ "\xed\xa0\x80@example.com", "local part is not valid UTF-8" }, /* surrogate */
	{ "\xf4\x90\x80\x80@example.com", "local part is not valid UTF-8" }, /* > U+10FFFF */
	{ "\xff@example.com", "local part is not valid UTF-8" },
	{ "user@[192.0.2.1]", "address literals are not supported" },
	{ "user@192.0.2.1", "domain looks like an IP address" },
	{ "user@example..com", "empty label in domain" },
	{ "user@.example.com", "empty label in domain" },
	{ "user@example.com.", "empty label in domain" },
	{ "user@-example.com", "domain label starts or ends with a hyphen" },
	{ "user@example-.com", "domain label starts or ends with a hyphen" },
	{ "user@exa_mple.com", "invalid character in domain" },
	{ "user@exa mple.com", "invalid character in domain" },
	{ "user@ab--cd.com", "domain label has '--' in positions 3-4 but is not an A-label" },
	{ "user@xn--zz.com", "invalid international domain name" },
	{ "user@\xe2\x98\x83.net", "invalid international domain name" }, /* snowman */
};

static void test_good(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(good_addrs); i++) {
		char *out = NULL, *again = NULL;
		const char *error = NULL;
		if (addr_normalize(good_addrs[i].in, &out, &error) < 0)
			fail_msg("'%s' refused: %s", good_addrs[i].in, error);
		assert_string_equal(out, good_addrs[i].out);
		/* the canonical form is a fixed point */
		assert_int_equal(addr_normalize(out, &again, &error), 0);
		assert_string_equal(again, out);
		free(again);
		free(out);
	}
}

static void test_bad(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(bad_addrs); i++) {
		char *out = NULL;
		const char *error = NULL;
		if (addr_normalize(bad_addrs[i].in, &out, &error) == 0)
			fail_msg("'%s' accepted as '%s'", bad_addrs[i].in, out);
		assert_null(out);
		if (strcmp(error, bad_addrs[i].error) != 0)
			fail_msg("'%s': got '%s', want '%s'", bad_addrs[i].in, error,
				 bad_addrs[i].error);
	}
}

static char *repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* test_lengths - each limit accepted exactly at its value, refused one past. */
static void test_lengths(void **state)
{
	const char *error;
	char *local, *in, *out, *label, *domain;

	/* local part: 64 octets (RFC 5321 4.5.3.1.1), counted in bytes */
	local = repeat('a', 64);
	in = xasprintf("%s@example.com", local);
	assert_int_equal(addr_normalize(in, &out, &error), 0);
	free(out);
	free(in);
	in = xasprintf("%sa@example.com", local);
	assert_int_equal(addr_normalize(in, &out, &error), -1);
	assert_string_equal(error, "local part too long (max 64)");
	free(in);
	free(local);
	/* 32 two-byte characters = 64 octets: ok; 33 are too many */
	local = xstrdup("");
	for (int i = 0; i < 33; i++) {
		char *next = xasprintf("%s\xc3\xa9", local);
		free(local);
		local = next;
	}
	in = xasprintf("%s@example.com", local + 2);
	assert_int_equal(addr_normalize(in, &out, &error), 0);
	free(out);
	free(in);
	in = xasprintf("%s@example.com", local);
	assert_int_equal(addr_normalize(in, &out, &error), -1);
	assert_string_equal(error, "local part too long (max 64)");
	free(in);
	free(local);

	/* labels: 63 (RFC 1035 2.3.4) */
	label = repeat('b', 63);
	in = xasprintf("x@%s.com", label);
	assert_int_equal(addr_normalize(in, &out, &error), 0);
	free(out);
	free(in);
	in = xasprintf("x@%sb.com", label);
	assert_int_equal(addr_normalize(in, &out, &error), -1);
	assert_string_equal(error, "domain label too long (max 63)");
	free(in);

	/* domain: 253 characters; 4 x 63 + 3 dots = 255 is too long */
	domain = xasprintf("%s.%s.%s.%s", label, label, label, label);
	assert_int_equal(addr_domain_normalize(domain, &out, &error), -1);
	assert_string_equal(error, "domain too long (max 253)");
	domain[253] = '\0'; /* ends in "bb": still a valid label */
	assert_int_equal(addr_domain_normalize(domain, &out, &error), 0);
	assert_int_equal(strlen(out), 253);
	free(out);

	/* whole address: 254 (RFC 5321 4.5.3.1.3 path of 256 minus "<>") */
	local = repeat('c', 64);
	char *d189 = xasprintf("%s.%s.%s", label, label, label); /* 191 */
	d189[189] = '\0';
	in = xasprintf("%s@%s", local, d189); /* 64 + 1 + 189 = 254 */
	assert_int_equal(addr_normalize(in, &out, &error), 0);
	assert_int_equal(strlen(out), 254);
	free(out);
	free(in);
	d189[188] = 'x'; /* keep the last label legal */
	d189[189] = 'y';
	d189[190] = '\0';
	in = xasprintf("%s@%s", local, d189); /* 255 */
	assert_int_equal(addr_normalize(in, &out, &error), -1);
	assert_string_equal(error, "address too long (max 254)");
	free(in);
	free(d189);
	free(local);
	free(domain);
	free(label);
}

static void test_domain(void **state)
{
	const char *error;
	char *out;

	assert_int_equal(addr_domain_normalize("Example.COM", &out, &error), 0);
	assert_string_equal(out, "example.com");
	free(out);
	assert_int_equal(addr_domain_normalize("\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95",
					       &out, &error), 0);
	assert_string_equal(out, "xn--fsqu00a.xn--0zwm56d");
	free(out);
	assert_int_equal(addr_domain_normalize("", &out, &error), -1);
	assert_string_equal(error, "empty domain");
	assert_int_equal(addr_domain_normalize("a@b.com", &out, &error), -1);
	assert_string_equal(error, "invalid character in domain");
	assert_int_equal(addr_domain_normalize("123", &out, &error), -1);
	assert_int_equal(addr_domain_normalize("[::1]", &out, &error), -1);
	assert_string_equal(error, "address literals are not supported");
}

static void test_addr_domain(void **state)
{
	assert_string_equal(addr_domain("a@example.com"), "example.com");
	assert_null(addr_domain("nodomain"));
}

/* ---- RFC 5321 paths ---- */

#define REV ADDR_PATH_OPT_REVERSE
#define UTF ADDR_PATH_OPT_UTF8

struct path_good {
	const char *in;
	unsigned opts;
	unsigned flags;
	const char *addr, *local, *domain;
	const char *rest; /* what follows the path */
};

static const struct path_good path_goods[] = {
	{ "<user@example.com>", 0, 0, "user@example.com", "user", "example.com", "" },
	{ "<User@Example.COM> SIZE=1", 0, 0, "user@example.com", "User", "example.com", " SIZE=1" },
	{ "<>", REV, ADDR_PATH_NULL, "", "", "", "" },
	{ "<> BODY=8BITMIME", REV, ADDR_PATH_NULL, "", "", "", " BODY=8BITMIME" },
	{ "<Postmaster>", 0, ADDR_PATH_POSTMASTER, "postmaster", "Postmaster", "", "" },
	{ "<POSTMASTER>", 0, ADDR_PATH_POSTMASTER, "postmaster", "POSTMASTER", "", "" },
	{ "<postmaster@example.com>", 0, 0, "postmaster@example.com", "postmaster", "example.com", "" },
	{ "<postmaster@example.com>", REV, 0, "postmaster@example.com", "postmaster", "example.com", "" },
	/* quoted local parts: unquoted, flagged, canonical when equivalent */
	{ "<\"user\"@example.com>", 0, ADDR_PATH_QUOTED, "user@example.com", "user", "example.com", "" },
	{ "<\"John Doe\"@Example.com>", 0, ADDR_PATH_QUOTED, "\"john doe\"@example.com", "John Doe",
	  "example.com", "" },
	{ "<\"a\\\"b\"@x.org>", 0, ADDR_PATH_QUOTED, "\"a\\\"b\"@x.org", "a\"b", "x.org", "" },
	{ "<\"a\\b\"@x.org>", 0, ADDR_PATH_QUOTED, "ab@x.org", "ab", "x.org", "" },
	{ "<\"a>b\"@x.org>", 0, ADDR_PATH_QUOTED, "\"a>b\"@x.org", "a>b", "x.org", "" },
	{ "<\"\"@x.org>", 0, ADDR_PATH_QUOTED, "\"\"@x.org", "", "x.org", "" },
	{ "<\"a@b\"@x.org>", 0, ADDR_PATH_QUOTED | ADDR_PATH_ROUTING, "\"a@b\"@x.org", "a@b", "x.org", "" },
	{ "<\"a.\"@x.org>", 0, ADDR_PATH_QUOTED, "\"a.\"@x.org", "a.", "x.org", "" },
	/* relay hacks in a dot-string are legal atext but flagged */
	{ "<a%b@x.org>", 0, ADDR_PATH_ROUTING, "a%b@x.org", "a%b", "x.org", "" },
	{ "<b!a@x.org>", 0, ADDR_PATH_ROUTING, "b!a@x.org", "b!a", "x.org", "" },
	/* source routes: checked, ignored, flagged */
	{ "<@a.example,@b.example:user@c.example>", 0, ADDR_PATH_SOURCE_ROUTE, "user@c.example",
	  "user", "c.example", "" },
	{ "<@a.example:user@c.example>", REV, ADDR_PATH_SOURCE_ROUTE, "user@c.example", "user",
	  "c.example", "" },
	/* address literals */
	{ "<user@[192.0.2.1]>", 0, ADDR_PATH_LITERAL, "user@[192.0.2.1]", "user", "[192.0.2.1]", "" },
	{ "<User@[192.000.002.001]>", 0, ADDR_PATH_LITERAL, "user@[192.0.2.1]", "User", "[192.0.2.1]", "" },
	{ "<u@[IPv6:2001:DB8:0:0:0:0:0:1]>", 0, ADDR_PATH_LITERAL, "u@[IPv6:2001:db8::1]", "u",
	  "[IPv6:2001:db8::1]", "" },
	{ "<u@[ipv6:::ffff:192.0.2.1]>", 0, ADDR_PATH_LITERAL, "u@[IPv6:::ffff:192.0.2.1]", "u",
	  "[IPv6:::ffff:192.0.2.1]", "" },
	{ "<\"a b\"@[192.0.2.1]>", 0, ADDR_PATH_LITERAL | ADDR_PATH_QUOTED, "\"a b\"@[192.0.2.1]",
	  "a b", "[192.0.2.1]", "" },
	/* SMTPUTF8 (RFC 6531) */
	{ "<J\xc3\xbcrgen@b\xc3\xbc" "cher.example>", UTF, ADDR_PATH_UTF8,
	  "j\xc3\xbcrgen@xn--bcher-kva.example", "J\xc3\xbcrgen", "xn--bcher-kva.example", "" },
	{ "<\"\xc3\xa9 \xc3\xa9\"@x.org>", UTF, ADDR_PATH_UTF8 | ADDR_PATH_QUOTED,
	  "\"\xc3\xa9 \xc3\xa9\"@x.org", "\xc3\xa9 \xc3\xa9", "x.org", "" },
	{ "<user@xn--bcher-kva.example>", 0, 0, "user@xn--bcher-kva.example", "user",
	  "xn--bcher-kva.example", "" },
};

struct path_bad {
	const char *in;
	unsigned opts;
	unsigned code;
	const char *enhanced, *text;
};

static const struct path_bad path_bads[] = {
	{ "user@example.com", 0, 501, "5.1.3", "path must be enclosed in <>" },
	{ "", 0, 501, "5.1.3", "path must be enclosed in <>" },
	{ "<user@example.com", 0, 501, "5.1.3", "path must end with >" },
	{ "<user@example.com", REV, 501, "5.1.7", "path must end with >" },
	{ "<user@example.com x>", 0, 501, "5.1.3", "invalid character in domain" },
	{ "<>", 0, 501, "5.1.3", "the null path <> is only valid in MAIL FROM" },
	{ "<Postmaster>", REV, 501, "5.1.7", "missing @ in path" },
	{ "<user>", 0, 501, "5.1.3", "missing @ in path" },
	{ "<user@>", 0, 501, "5.1.3", "missing domain after @" },
	{ "<@example.com>", 0, 501, "5.1.3", "source route must end with ':'" },
	{ "<@a,b:u@c>", 0, 501, "5.1.3", "invalid source route" },
	{ "<@a;u@c>", 0, 501, "5.1.3", "invalid character in domain" },
	{ "<@:u@c>", 0, 501, "5.1.3", "empty domain" },
	{ "<.user@x.org>", 0, 501, "5.1.3", "local part starts with a dot" },
	{ "<user.@x.org>", 0, 501, "5.1.3", "local part ends with a dot" },
	{ "<us..er@x.org>", 0, 501, "5.1.3", "local part has two dots in a row" },
	{ "<us er@x.org>", 0, 501, "5.1.3", "invalid character in local part" },
	{ "<us(er)@x.org>", 0, 501, "5.1.3", "invalid character in local part" },
	{ "<a@b@x.org>", 0, 501, "5.1.3", "invalid character in domain" },
	{ "<\"unterminated@x.org>", 0, 501, "5.1.3", "unterminated quoted local part" },
	{ "<\"a\tb\"@x.org>", 0, 501, "5.1.3", "invalid character in quoted local part" },
	{ "<\"a\\\x01\"@x.org>", 0, 501, "5.1.3", "invalid quoted-pair in local part" },
	{ "<\"a\"b@x.org>", 0, 501, "5.1.3", "invalid character in local part" },
	{ "<user@exa_mple.com>", 0, 501, "5.1.3", "invalid character in domain" },
	{ "<user@-x.com>", 0, 501, "5.1.3", "domain label starts or ends with a hyphen" },
	{ "<user@x..com>", 0, 501, "5.1.3", "empty label in domain" },
	{ "<user@x.com.>", 0, 501, "5.1.3", "empty label in domain" },
	{ "<user@x.com>>", 0, 0, NULL, NULL }, /* fine: the caller sees ">" after it */
	{ "<user@[192.0.2.1>", 0, 501, "5.1.3", "unterminated address literal" },
	{ "<user@[192.0.2.256]>", 0, 501, "5.1.3", "invalid IPv4 address literal" },
	{ "<user@[192.0.2]>", 0, 501, "5.1.3", "invalid IPv4 address literal" },
	{ "<user@[1.2.3.4.5]>", 0, 501, "5.1.3", "invalid IPv4 address literal" },
	{ "<user@[IPv6:1::2::3]>", 0, 501, "5.1.3", "invalid IPv6 address literal" },
	{ "<user@[IPv6:192.0.2.1]>", 0, 501, "5.1.3", "invalid IPv6 address literal" },
	{ "<user@[x-tag:stuff]>", 0, 553, "5.1.3", "unsupported address literal (only IPv4 and IPv6)" },
	{ "<user@[]>", 0, 501, "5.1.3", "address literal must be enclosed in []" },
	{ "<user@[a b]>", 0, 501, "5.1.3", "invalid address literal" },
	{ "<user@[1.2.3.4]x>", 0, 501, "5.1.3", "path must end with >" },
	/* grammatical, but not a mailbox we can use */
	{ "<user@192.0.2.1>", 0, 553, "5.1.3", "domain looks like an IP address" },
	{ "<user@xn--zz.com>", 0, 553, "5.1.3", "invalid international domain name" },
	{ "<user@ab--cd.com>", 0, 553, "5.1.3",
	  "domain label has '--' in positions 3-4 but is not an A-label" },
	/* UTF-8 */
	{ "<j\xc3\xbcrgen@x.org>", 0, 553, "5.6.7", "non-ASCII address without SMTPUTF8" },
	{ "<j@b\xc3\xbc" "cher.example>", 0, 553, "5.6.7", "non-ASCII address without SMTPUTF8" },
	{ "<j\xc3@x.org>", UTF, 501, "5.1.3", "address is not valid UTF-8" },
	{ "<j\xc0\xaf@x.org>", UTF, 501, "5.1.3", "address is not valid UTF-8" },
	{ "<j@x\xff.org>", UTF, 501, "5.1.3", "address is not valid UTF-8" },
	{ "<j@\xe2\x98\x83.net>", UTF, 553, "5.1.3", "invalid international domain name" },
};

static void test_path_good(void **state)
{
	struct pool *pool = pool_new(0);

	for (size_t i = 0; i < N_ELEMENTS(path_goods); i++) {
		const struct path_good *c = &path_goods[i];
		struct addr_path path;
		struct mail_error error;
		const char *end;

		if (addr_parse_path(pool, c->in, c->opts, &path, &end, &error) < 0)
			fail_msg("'%s' refused: %u %s %s", c->in, error.code, error.enhanced, error.text);
		if (path.flags != c->flags)
			fail_msg("'%s': flags %#x, want %#x", c->in, path.flags, c->flags);
		assert_string_equal(path.addr, c->addr);
		assert_string_equal(path.local, c->local);
		assert_string_equal(path.domain, c->domain);
		assert_string_equal(end, c->rest);
	}
	pool_free(&pool);
}

static void test_path_bad(void **state)
{
	struct pool *pool = pool_new(0);

	for (size_t i = 0; i < N_ELEMENTS(path_bads); i++) {
		const struct path_bad *c = &path_bads[i];
		struct addr_path path;
		struct mail_error error = { 0, NULL, NULL };
		const char *end;
		int ret = addr_parse_path(pool, c->in, c->opts, &path, &end, &error);

		if (c->code == 0) {
			assert_int_equal(ret, 0);
			continue;
		}
		if (ret == 0)
			fail_msg("'%s' accepted as '%s'", c->in, path.addr);
		if (error.code != c->code || strcmp(error.enhanced, c->enhanced) != 0 ||
		    strcmp(error.text, c->text) != 0)
			fail_msg("'%s': got %u %s '%s', want %u %s '%s'", c->in, error.code,
				 error.enhanced, error.text, c->code, c->enhanced, c->text);
	}
	pool_free(&pool);
}

/* test_path_limits - local part 64, domain 255, path 256 octets (RFC 5321
 * 4.5.3.1.1-3): each accepted exactly at the limit, refused one past it. */
static void test_path_limits(void **state)
{
	struct pool *pool = pool_new(0);
	struct addr_path path;
	struct mail_error error;
	const char *end;
	char *local = repeat('a', 64), *label = repeat('b', 63), *in;

	/* local part: 64 accepted, 65 refused with 553 */
	in = xasprintf("<%s@example.com>", local);
	assert_int_equal(addr_parse_path(pool, in, 0, &path, &end, &error), 0);
	free(in);
	in = xasprintf("<%sa@example.com>", local);
	assert_int_equal(addr_parse_path(pool, in, 0, &path, &end, &error), -1);
	assert_int_equal(error.code, 553);
	assert_string_equal(error.text, "local part too long (max 64)");
	free(in);
	/* quotes count: "62 a" is 64 octets as sent */
	in = xasprintf("<\"%.62s\"@example.com>", local);
	assert_int_equal(addr_parse_path(pool, in, 0, &path, &end, &error), 0);
	free(in);
	in = xasprintf("<\"%.63s\"@example.com>", local);
	assert_int_equal(addr_parse_path(pool, in, 0, &path, &end, &error), -1);
	assert_string_equal(error.text, "local part too long (max 64)");
	free(in);

	/* domain: RFC 5321 allows 255 octets, but a path of 256 leaves at most
	 * 252 after "<a@" and ">", so the path limit is the one that bites */
	char *d255 = xasprintf("%s.%s.%s.%s", label, label, label, label); /* 255 */
	in = xasprintf("<a@%s>", d255 + 3); /* 252 */
	assert_int_equal(strlen(in), 256);
	assert_int_equal(addr_parse_path(pool, in, 0, &path, &end, &error), 0);
	assert_int_equal(strlen(path.domain), 252);
	free(in);
	in = xasprintf("<a@%s>", d255 + 2); /* 253: the path is 257 */
	assert_int_equal(addr_parse_path(pool, in, 0, &path, &end, &error), -1);
	assert_int_equal(error.code, 501);
	assert_string_equal(error.text, "path too long (max 256)");
	free(in);

	/* path: 256 octets with <> accepted (a source route makes it long
	 * without touching the other limits), 257 refused with 501 */
	char *r = xasprintf("@%.61s.example", label); /* 70 octets */
	char *route = xasprintf("%s,%s,%s", r, r, r); /* 212 */
	/* "<" + 212 + ":" + "u@" + domain + ">" = 256 -> domain 39 */
	in = xasprintf("<%s:u@%.27s.example.com>", route, label);
	assert_int_equal(strlen(in), 256);
	assert_int_equal(addr_parse_path(pool, in, 0, &path, &end, &error), 0);
	assert_int_equal(path.flags, ADDR_PATH_SOURCE_ROUTE);
	free(in);
	in = xasprintf("<%s:u@%.28s.example.com>", route, label);
	assert_int_equal(addr_parse_path(pool, in, 0, &path, &end, &error), -1);
	assert_int_equal(error.code, 501);
	assert_string_equal(error.text, "path too long (max 256)");
	free(in);
	/* a 254-octet mailbox is the longest path */
	in = xasprintf("<%s@%s.%s.%.61s>", local, label, label, label); /* 64+1+189 */
	assert_int_equal(strlen(in), 256);
	assert_int_equal(addr_parse_path(pool, in, 0, &path, &end, &error), 0);
	assert_int_equal(strlen(path.addr), 254);
	free(in);

	free(r);
	free(route);
	free(d255);
	free(label);
	free(local);
	pool_free(&pool);
}

static void test_literal_and_syntax(void **state)
{
	struct pool *pool = pool_new(0);
	const char *lit, *error;

	assert_int_equal(addr_literal_normalize(pool, "[10.0.0.1]", 10, &lit, &error), 0);
	assert_string_equal(lit, "[10.0.0.1]");
	assert_int_equal(addr_literal_normalize(pool, "[IPv6:::1]", 10, &lit, &error), 0);
	assert_string_equal(lit, "[IPv6:::1]");
	assert_int_equal(addr_literal_normalize(pool, "[1.2.3.4", 8, &lit, &error), -1);
	assert_int_equal(addr_literal_normalize(pool, "[IPv6:fe80::1%eth0]", 19, &lit, &error), -1);
	assert_int_equal(addr_literal_normalize(pool, "[01234.1.1.1]", 13, &lit, &error), -1);

	assert_int_equal(addr_domain_syntax("a.b-c.d", 7, false, &error), 0);
	assert_int_equal(addr_domain_syntax("a.b-c.d", 3, false, &error), 0); /* "a.b" */
	assert_int_equal(addr_domain_syntax("a.b-", 4, false, &error), -1);
	assert_int_equal(addr_domain_syntax("\xc3\xa9.fr", 5, true, &error), 0);
	assert_int_equal(addr_domain_syntax("\xc3\xa9.fr", 5, false, &error), -1);
	assert_int_equal(addr_domain_syntax("\xc3\xa9.fr", 1, true, &error), -1); /* cut UTF-8 */
	pool_free(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_addr_domain),
		cmocka_unit_test(test_path_good),
		cmocka_unit_test(test_path_bad),
		cmocka_unit_test(test_path_limits),
		cmocka_unit_test(test_literal_and_syntax),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
