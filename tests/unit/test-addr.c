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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_addr_domain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
