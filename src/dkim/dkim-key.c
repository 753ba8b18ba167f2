/* SPDX-License-Identifier: ISC */
/*
 * dkim-key.c - DKIM keys: generation through OpenSSL 3's EVP API, the
 * PEM file, and the DNS TXT record that publishes the public half.
 *
 * RSA's p= is the DER SubjectPublicKeyInfo, base64 (what every signer
 * publishes and every verifier reads, RFC 6376 3.6.1); Ed25519's p= is
 * the bare 32-octet public key (RFC 8463 4.2).
 */
#include "lib/lib.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/fs.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "core/tls.h"
#include "dkim/dkim.h"

#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* A PEM private key of 4096 bits is about 3.3 KiB. */
#define DKIM_KEY_FILE_MAX (64 * 1024)
#define ED25519_KEY_LEN 32

static const char *const alg_names[] = {
	[DKIM_ALG_RSA] = "rsa",
	[DKIM_ALG_ED25519] = "ed25519",
};

static const char *const alg_sig_names[] = {
	[DKIM_ALG_RSA] = "rsa-sha256",
	[DKIM_ALG_ED25519] = "ed25519-sha256",
};

const char *dkim_alg_name(enum dkim_alg alg)
{
	return alg_names[alg];
}

const char *dkim_alg_sig_name(enum dkim_alg alg)
{
	return alg_sig_names[alg];
}

int dkim_alg_parse(const char *name, enum dkim_alg *alg_r)
{
	for (size_t i = 0; i < N_ELEMENTS(alg_names); i++) {
		if (str_casecmp(name, alg_names[i]) == 0) {
			*alg_r = (enum dkim_alg)i;
			return 0;
		}
	}
	return -1;
}

bool dkim_selector_valid(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > DKIM_SELECTOR_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			/* labels are non-empty and do not start or end with '-' */
			if (label == 0 || s[i - 1] == '-' || s[i - label] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
		label++;
	}
	return true;
}

char *dkim_key_path(const char *data_dir, const char *domain, const char *selector)
{
	return xasprintf("%s/%s/%s/%s.key", data_dir, DKIM_DIR, domain, selector);
}

int dkim_key_generate(enum dkim_alg alg, unsigned bits, EVP_PKEY **key_r, char **error_r)
{
	EVP_PKEY *key;

	if (alg == DKIM_ALG_RSA) {
		if (bits < DKIM_RSA_BITS_MIN || bits > DKIM_RSA_BITS_MAX) {
			*error_r = xasprintf("RSA key size must be %u to %u bits", DKIM_RSA_BITS_MIN,
					     DKIM_RSA_BITS_MAX);
			return -1;
		}
		key = EVP_RSA_gen(bits);
	} else {
		key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
	if (key == NULL)
		return tls_openssl_error("key generation", error_r);
	*key_r = key;
	return 0;
}

int dkim_key_write(const char *path, EVP_PKEY *key, char **error_r)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ret;

	if (!PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(bio);
		return tls_openssl_error("PEM encoding", error_r);
	}
	len = BIO_get_mem_data(bio, &data);
	ret = file_write_durable(path, data, (size_t)len, 0600);
	/* the umask may have changed the mode file_write_durable asked for */
	if (ret < 0 || chmod(path, 0600) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		ret = -1;
	}
	OPENSSL_cleanse(data, (size_t)len);
	BIO_free(bio);
	return ret;
}

int dkim_key_alg(EVP_PKEY *key, enum dkim_alg *alg_r, unsigned *bits_r)
{
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		*alg_r = DKIM_ALG_RSA;
		break;
	case EVP_PKEY_ED25519:
		*alg_r = DKIM_ALG_ED25519;
		break;
	default:
		return -1;
	}
	*bits_r = (unsigned)EVP_PKEY_get_bits(key);
	return 0;
}

int dkim_key_load(const char *path, EVP_PKEY **key_r, char **error_r)
{
	enum dkim_alg alg;
	unsigned bits;
	char *data;
	size_t len;
	BIO *bio;
	EVP_PKEY *key;

	if (file_read_all(path, DKIM_KEY_FILE_MAX, &data, &len) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	bio = BIO_new_mem_buf(data, (int)len);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	OPENSSL_cleanse(data, len);
	free(data);
	if (key == NULL) {
		char *what = xasprintf("%s: not a PEM private key", path);
		tls_openssl_error(what, error_r);
		free(what);
		return -1;
	}
	if (dkim_key_alg(key, &alg, &bits) < 0) {
		EVP_PKEY_free(key);
		*error_r = xasprintf("%s: neither an RSA nor an Ed25519 key", path);
		return -1;
	}
	*key_r = key;
	return 0;
}

void dkim_key_free(EVP_PKEY **_key)
{
	EVP_PKEY_free(*_key);
	*_key = NULL;
}

char *dkim_key_record(EVP_PKEY *key)
{
	unsigned char raw[ED25519_KEY_LEN], *der = NULL;
	size_t raw_len = sizeof(raw);
	enum dkim_alg alg;
	unsigned bits;
	struct buf b;
	int len;

	if (dkim_key_alg(key, &alg, &bits) < 0)
		return NULL;
	buf_init(&b, 0);
	if (buf_printf(&b, "v=DKIM1; k=%s; p=", dkim_alg_name(alg)) < 0)
		goto fail;
	if (alg == DKIM_ALG_RSA) {
		if ((len = i2d_PUBKEY(key, &der)) <= 0 || base64_encode(der, (size_t)len, &b) < 0)
			goto fail;
	} else {
		if (EVP_PKEY_get_raw_public_key(key, raw, &raw_len) != 1 ||
		    base64_encode(raw, raw_len, &b) < 0)
			goto fail;
	}
	OPENSSL_free(der);
	char *record = xstrdup(b.data);
	buf_release(&b);
	return record;
fail:
	OPENSSL_free(der);
	buf_release(&b);
	ERR_clear_error();
	return NULL;
}

char *dkim_zone_line(const char *name, const char *value)
{
	size_t len = strlen(value);
	struct buf b;

	buf_init(&b, 0);
	if (buf_printf(&b, "%s IN TXT", name) < 0)
		goto fail;
	/* the value holds no '"' or '\\' (tags, base64), so no escaping */
	for (size_t at = 0; at < len || at == 0; at += DKIM_TXT_STRING_MAX) {
		size_t n = len - at < DKIM_TXT_STRING_MAX ? len - at : DKIM_TXT_STRING_MAX;
		if (buf_printf(&b, " \"%.*s\"", (int)n, value + at) < 0)
			goto fail;
	}
	char *line = xstrdup(b.data);
	buf_release(&b);
	return line;
fail:
	buf_release(&b);
	return NULL;
}
