/* SPDX-License-Identifier: ISC */
/* test-dkim-sign.c - DKIM-Signature fields over fixed messages with fixed
 * keys (RSA and Ed25519), checked with OpenSSL's EVP verify against a
 * canonical form written out by hand here, so a wrong field choice or
 * order, hash input or padding fails; also generated keys against their
 * published p=, the From: domain, bodies of every shape, and the TXT
 * record's zone-file form. */
#include "lib/lib.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/fs.h"
#include "lib/mem.h"
#include "dkim/dkim.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define FIXED_TIME 1700000000

static const char rsa_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAKoGWRiiYJhWEiaK\n"
	"K/1tgBC3vAbpzMtjZPgombnjpNzecHpzEOFtiEIWK+E93Nbz7QB+SpIis8OgmaUP\n"
	"I03c2g9qKfKgF+lE6hBrxfuTwHWc8w9ULHWkjZoYh5fIe6JZW3OOC84X5axlNaPB\n"
	"rQRV9ump6WEq2stKspuEI6GgizlTAgMBAAECgYAU/vWvqhWdmjthkPx/ri77YYUR\n"
	"oXuNvjdwwarCHs90Cu/+3wi9ncYOyygeB4Km9LZWskHJLAng5Yszq9vjOJugyiRJ\n"
	"P/HtUk6rzxIbpVNIZ2YUMz8L6MUUhHm8A/Y0lFnb9Q1gyEVOlPLNxmt4toK6I6VE\n"
	"xwbqu+PXS5DrKyr+uQJBANVBwwZ12jlmPKy69xQa6M+Ju7KtYBlrQ9nK0p94bbVc\n"
	"l1W3Gk3OCD9x6RGRqG0wgAenUciIGRAFlsyeyhXAbJcCQQDMGlejp6Y1TSmzBoDM\n"
	"vJ5WNKvwGEY7Ozjvnfn2zhwLc2pYvkvLKj7icFr2KiCJO04SAIEwCZHoOVVVrGwd\n"
	"wCSlAkBrgWFdil/ee8mukfooqoAez6JNqtU9OzPTQUn4lm9H9EteLJYYDvtdcIE8\n"
	"GB++G6sPMKwr2WA5EXg54vqhCIY1AkAGWAdDUfGrlHNoWhpkwrQVL9vsQYTlUGjr\n"
	"obhkQHHEtVin23pVnUGJHj7liderDEnX62YYjSOY2Tday1os7oz1AkEApgN2wo1J\n"
	"CGwHXH3IqsjE1hCbkL1/Fh5FXaBMKikwlV/DpIHP+k3x5ceugvui/4QKTlOnppvU\n"
	"xokeTlz4u3Oavg==\n"
	"-----END PRIVATE KEY-----\n";

static const char ed25519_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJyqkfctaGIE3XUakJx+1qZgjstSVIVUWDy5flalma8J\n"
	"-----END PRIVATE KEY-----\n";

/* The fixed message: an unsigned Received:, a folded Subject with odd
 * blanks, two To: fields (taken bottom-up), a body with trailing blanks
 * and empty lines at the end. */
static const char message[] =
	"Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	"From: \"Alice Example\" <alice@Example.COM>\r\n"
	"To: bob@example.net\r\n"
	"Subject:  Hello\r\n\tworld  \r\n"
	"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
	"To: carol@example.net\r\n"
	"Message-ID: <1@example.com>\r\n"
	"X-Other: not signed\r\n"
	"\r\n"
	"Hi Bob,  \r\n"
	"\r\n"
	"  indented\t line\r\n"
	"\r\n"
	"\r\n";

static const char message_h[] = "from:from:reply-to:subject:subject:date:to:to:to:cc:message-id";
static const char message_headers[] = "from:\"Alice Example\" <alice@Example.COM>\r\n"
				      "subject:Hello world\r\n"
				      "date:Mon, 01 Jan 2024 00:00:00 +0000\r\n"
				      "to:carol@example.net\r\n"
				      "to:bob@example.net\r\n"
				      "message-id:<1@example.com>\r\n";
static const char message_body[] = "Hi Bob,\r\n\r\n indented line\r\n";

static EVP_PKEY *pem_key(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	BIO_free(bio);
	assert_non_null(key);
	return key;
}

/* sign_text - the field for text (written to a file, read back). */
static char *sign_text(const char *text, size_t len, EVP_PKEY *key)
{
	char *dir = test_tmpdir(), *path = xasprintf("%s/msg", dir), *field = NULL;
	struct dkim_msg *m;
	const char *error;
	int fd;

	assert_int_equal(file_write_durable(path, text, len, 0600), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dkim_msg_open(NULL, fd, &m, &error), 0);
	struct dkim_sign_params p = {
		.key = key, .domain = "example.com", .selector = "sel1", .time = FIXED_TIME,
	};
	if (dkim_msg_sign(m, &p, &field, &error) < 0)
		fail_msg("sign: %s", error);
	dkim_msg_free(&m);
	close(fd);
	test_rmtree(dir);
	free(path);
	free(dir);
	return field;
}

/* tag - the value of tag name in the unfolded field (blanks removed). */
static char *tag(const char *field, const char *name)
{
	char *flat = xstrdup(strchr(field, ':') + 1), *save = NULL, *value = NULL;
	size_t n = 0;

	for (size_t i = 0; flat[i] != '\0'; i++) {
		if (flat[i] != ' ' && flat[i] != '\t' && flat[i] != '\r' && flat[i] != '\n')
			flat[n++] = flat[i];
	}
	flat[n] = '\0';
	for (char *t = strtok_r(flat, ";", &save); t != NULL; t = strtok_r(NULL, ";", &save)) {
		if (strncmp(t, name, strlen(name)) == 0 && t[strlen(name)] == '=')
			value = xstrdup(t + strlen(name) + 1);
	}
	free(flat);
	return value;
}

static char *b64_sha256(const void *data, size_t len)
{
	unsigned char digest[32];
	unsigned digest_len;
	struct buf b;

	assert_int_equal(EVP_Digest(data, len, digest, &digest_len, EVP_sha256(), NULL), 1);
	buf_init(&b, 0);
	assert_int_equal(base64_encode(digest, digest_len, &b), 0);
	return b.data;
}

/* verify - true when field is a valid signature over the given
 * canonical header and body, by pub (RFC 6376 6.1.3; RFC 8463 3). */
static bool verify(const char *field, const char *headers, const char *body, EVP_PKEY *pub)
{
	char *bh = tag(field, "bh"), *b = tag(field, "b"), *want_bh = b64_sha256(body, strlen(body));
	const char *b_tag = strstr(field, "\tb=");
	struct buf data, sig;
	bool ok = false;

	assert_non_null(b_tag);
	buf_init(&data, 0);
	buf_init(&sig, 0);
	if (bh == NULL || strcmp(bh, want_bh) != 0)
		goto out;
	assert_int_equal(buf_append_str(&data, headers), 0);
	/* the field itself, b= emptied, relaxed, without its final CRLF */
	assert_int_equal(dkim_canon_header(DKIM_CANON_RELAXED, field,
					   (size_t)(b_tag - field) + 3, &data), 0);
	data.len -= 2;
	assert_int_equal(base64_decode(b, strlen(b), &sig), 0);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_ED25519) {
		unsigned char digest[32];
		unsigned digest_len;
		assert_int_equal(EVP_Digest(data.data, data.len, digest, &digest_len, EVP_sha256(),
					    NULL), 1);
		ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, pub) == 1 &&
		     EVP_DigestVerify(md, (unsigned char *)sig.data, sig.len, digest, digest_len) == 1;
	} else {
		ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
		     EVP_DigestVerify(md, (unsigned char *)sig.data, sig.len,
				      (unsigned char *)data.data, data.len) == 1;
	}
	EVP_MD_CTX_free(md);
out:
	buf_release(&data);
	buf_release(&sig);
	free(bh);
	free(b);
	free(want_bh);
	return ok;
}

/* check_tags - the tags every field of ours carries. */
static void check_tags(const char *field, const char *alg, const char *h)
{
	static const char *const want[][2] = {
		{ "v", "1" }, { "c", "relaxed/relaxed" }, { "d", "example.com" },
		{ "s", "sel1" }, { "t", "1700000000" },
	};

	assert_true(strncmp(field, "DKIM-Signature: v=1; ", 21) == 0);
	for (size_t i = 0; i < N_ELEMENTS(want); i++) {
		char *v = tag(field, want[i][0]);
		assert_non_null(v);
		assert_string_equal(v, want[i][1]);
		free(v);
	}
	char *a = tag(field, "a"), *hv = tag(field, "h");
	assert_string_equal(a, alg);
	assert_string_equal(hv, h);
	free(a);
	free(hv);
	/* folded: every line within RFC 5322 2.1.1's 78, CRLF at the end */
	for (const char *line = field, *end; *line != '\0'; line = end + 2) {
		end = strstr(line, "\r\n");
		assert_non_null(end);
		assert_true(end - line <= 78);
	}
}

/* to_lf - text with every CRLF made LF. */
static char *to_lf(const char *text)
{
	char *out = xmalloc(strlen(text) + 1), *o = out;

	for (const char *p = text; *p != '\0'; p++) {
		if (p[0] != '\r' || p[1] != '\n')
			*o++ = *p;
	}
	*o = '\0';
	return out;
}

static void fixed_key(const char *pem, const char *alg)
{
	EVP_PKEY *key = pem_key(pem);
	char *field = sign_text(message, strlen(message), key);

	check_tags(field, alg, message_h);
	assert_true(verify(field, message_headers, message_body, key));
	/* the check can fail: a changed body octet, another header value */
	assert_false(verify(field, message_headers, "Hi Bob!\r\n\r\n indented line\r\n", key));
	char *other = xstrdup(message_headers);
	other[strlen("from:\"Alice Example\" <alice@Example.COM>\r\nsubject:H")] = 'J';
	assert_false(verify(field, other, message_body, key));
	free(other);
	/* both are deterministic: the same message with LF line ends gives
	 * the very same field */
	char *lf = to_lf(message);
	char *field2 = sign_text(lf, strlen(lf), key);
	assert_string_equal(field, field2);
	free(field2);
	free(lf);
	free(field);
	EVP_PKEY_free(key);
}

static void test_rsa_fixed(void **state)
{
	(void)state;
	fixed_key(rsa_pem, "rsa-sha256");
}

static void test_ed25519_fixed(void **state)
{
	(void)state;
	fixed_key(ed25519_pem, "ed25519-sha256");
}

/* record_key - the public key that the TXT record p= publishes. */
static EVP_PKEY *record_key(const char *record, enum dkim_alg alg)
{
	const char *want = alg == DKIM_ALG_RSA ? "v=DKIM1; k=rsa; p=" : "v=DKIM1; k=ed25519; p=";
	struct buf der;
	EVP_PKEY *pub;

	assert_true(strncmp(record, want, strlen(want)) == 0);
	buf_init(&der, 0);
	assert_int_equal(base64_decode(record + strlen(want), strlen(record + strlen(want)), &der),
			 0);
	if (alg == DKIM_ALG_RSA) {
		const unsigned char *p = (const unsigned char *)der.data;
		pub = d2i_PUBKEY(NULL, &p, (long)der.len);
	} else {
		assert_int_equal(der.len, 32); /* RFC 8463 4.2: the bare key */
		pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
						  (unsigned char *)der.data, der.len);
	}
	assert_non_null(pub);
	buf_release(&der);
	return pub;
}

/* generated - a new key, through its file, signs; the record verifies. */
static void generated(enum dkim_alg alg, unsigned bits)
{
	char *dir = test_tmpdir(), *path = xasprintf("%s/k.key", dir), *error = NULL;
	EVP_PKEY *key = NULL, *loaded = NULL;
	enum dkim_alg got;
	unsigned got_bits;

	assert_int_equal(dkim_key_generate(alg, bits, &key, &error), 0);
	assert_int_equal(dkim_key_write(path, key, &error), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(dkim_key_load(path, &loaded, &error), 0);
	assert_int_equal(dkim_key_alg(loaded, &got, &got_bits), 0);
	assert_int_equal(got, alg);
	assert_int_equal(got_bits, alg == DKIM_ALG_RSA ? bits : 256);
	char *record = dkim_key_record(loaded);
	EVP_PKEY *pub = record_key(record, alg);
	char *field = sign_text(message, strlen(message), loaded);
	assert_true(verify(field, message_headers, message_body, pub));
	EVP_PKEY_free(pub);
	free(field);
	free(record);
	dkim_key_free(&key);
	dkim_key_free(&loaded);
	assert_null(key);
	test_rmtree(dir);
	free(path);
	free(dir);
}

static void test_generated_keys(void **state)
{
	(void)state;
	char *error = NULL;
	EVP_PKEY *key = NULL;

	generated(DKIM_ALG_RSA, 2048);
	generated(DKIM_ALG_ED25519, 0);
	/* RFC 8301 3.2 bounds */
	assert_int_equal(dkim_key_generate(DKIM_ALG_RSA, 512, &key, &error), -1);
	free(error);
	error = NULL;
	assert_int_equal(dkim_key_generate(DKIM_ALG_RSA, 8192, &key, &error), -1);
	free(error);
}

static void test_load_refuses(void **state)
{
	(void)state;
	char *dir = test_tmpdir(), *path = xasprintf("%s/k.key", dir), *error = NULL;
	EVP_PKEY *key = NULL;

	assert_int_equal(dkim_key_load(path, &key, &error), -1); /* missing */
	free(error);
	assert_int_equal(file_write_durable(path, "junk\n", 5, 0600), 0);
	assert_int_equal(dkim_key_load(path, &key, &error), -1);
	free(error);
	assert_null(key);
	test_rmtree(dir);
	free(path);
	free(dir);
}

/* from_domain - the From: domain of a message with header hdr. */
static char *from_domain(const char *hdr)
{
	char *dir = test_tmpdir(), *path = xasprintf("%s/msg", dir), *domain;
	struct dkim_msg *m;
	const char *error, *d;
	int fd;

	assert_int_equal(file_write_durable(path, hdr, strlen(hdr), 0600), 0);
	fd = open(path, O_RDONLY);
	assert_int_equal(dkim_msg_open(NULL, fd, &m, &error), 0);
	d = dkim_msg_from_domain(m);
	domain = d != NULL ? xstrdup(d) : NULL;
	dkim_msg_free(&m);
	close(fd);
	test_rmtree(dir);
	free(path);
	free(dir);
	return domain;
}

static void test_from_domain(void **state)
{
	(void)state;
	char *d;

	d = from_domain("From: Alice <alice@Example.COM>\r\n\r\nx\r\n");
	assert_string_equal(d, "example.com");
	free(d);
	d = from_domain("Subject: x\r\nFROM: a@one.example, b@two.example\r\n\r\n");
	assert_string_equal(d, "one.example");
	free(d);
	d = from_domain("From: x@B\xc3\x9c" "CHER.example\r\n\r\n"); /* IDNA A-label */
	assert_string_equal(d, "xn--bcher-kva.example");
	free(d);
	/* no From, two From, no domain: nothing to sign for */
	assert_null(from_domain("Subject: x\r\n\r\n"));
	assert_null(from_domain("From: a@one.example\r\nFrom: b@two.example\r\n\r\n"));
	assert_null(from_domain("From: MAILER-DAEMON\r\n\r\n"));
}

static void test_bodies(void **state)
{
	(void)state;
	EVP_PKEY *key = pem_key(ed25519_pem);
	char *field, *bh;

	/* no empty line at all: the body is empty; relaxed hashes nothing
	 * (the well-known value of SHA-256 over "") */
	static const char no_body[] = "From: a@example.com\r\nSubject: x";
	field = sign_text(no_body, strlen(no_body), key);
	bh = tag(field, "bh");
	assert_string_equal(bh, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	free(bh);
	assert_true(verify(field, "from:a@example.com\r\nsubject:x\r\n", "", key));
	free(field);
	/* a body of one CRLF is empty too */
	static const char crlf_body[] = "From: a@example.com\r\n\r\n\r\n";
	field = sign_text(crlf_body, strlen(crlf_body), key);
	bh = tag(field, "bh");
	assert_string_equal(bh, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	free(bh);
	free(field);
	/* 4 MiB of body, read in chunks, hashed the same as in one piece */
	struct buf big, canon;
	buf_init(&big, 0);
	buf_init(&canon, 0);
	assert_int_equal(buf_append_str(&big, "From: a@example.com\r\n\r\n"), 0);
	for (int i = 0; big.len < 4 * 1024 * 1024; i++) {
		assert_int_equal(buf_printf(&big, "line %d  \r\n", i), 0);
		assert_int_equal(buf_printf(&canon, "line %d\r\n", i), 0);
	}
	field = sign_text(big.data, big.len, key);
	assert_true(verify(field, "from:a@example.com\r\n", canon.data, key));
	free(field);
	buf_release(&big);
	buf_release(&canon);
	EVP_PKEY_free(key);
}

static void test_zone_line(void **state)
{
	(void)state;
	char value[601];
	char *line;

	memset(value, 'A', 600);
	value[600] = '\0';
	line = dkim_zone_line("s._domainkey.example.com.", value);
	/* 255 + 255 + 90 octets in three strings */
	char want[700];
	snprintf(want, sizeof(want), "s._domainkey.example.com. IN TXT \"%.255s\" \"%.255s\" \"%.90s\"",
		 value, value, value);
	assert_string_equal(line, want);
	free(line);
	line = dkim_zone_line("n.", "v=DKIM1; k=ed25519; p=abc");
	assert_string_equal(line, "n. IN TXT \"v=DKIM1; k=ed25519; p=abc\"");
	free(line);
}

static void test_selector(void **state)
{
	(void)state;
	assert_true(dkim_selector_valid("p202611"));
	assert_true(dkim_selector_valid("p202611-2"));
	assert_true(dkim_selector_valid("mail.2026"));
	assert_false(dkim_selector_valid(""));
	assert_false(dkim_selector_valid("-a"));
	assert_false(dkim_selector_valid("a-"));
	assert_false(dkim_selector_valid("a..b"));
	assert_false(dkim_selector_valid("a/b"));
	assert_false(dkim_selector_valid("../x"));
	assert_false(dkim_selector_valid("a_b"));
	char longer[DKIM_SELECTOR_MAX + 2];
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_false(dkim_selector_valid(longer));
	longer[DKIM_SELECTOR_MAX] = '\0';
	assert_true(dkim_selector_valid(longer));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_fixed),
		cmocka_unit_test(test_ed25519_fixed),
		cmocka_unit_test(test_generated_keys),
		cmocka_unit_test(test_load_refuses),
		cmocka_unit_test(test_from_domain),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_zone_line),
		cmocka_unit_test(test_selector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
