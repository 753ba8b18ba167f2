/* SPDX-License-Identifier: ISC */
/*
 * tls-cert.c - the self-signed certificate `postino init` creates, so that
 * every TLS port works from the first start (replaced later by a real one).
 *
 * Generated through OpenSSL's API rather than by running openssl(1): no
 * dependency on a binary being installed, and errors come back to us.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/fs.h"
#include "core/tls.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define SELFSIGNED_RSA_BITS 2048
#define SELFSIGNED_DAYS 3650

int tls_openssl_error(const char *what, char **error_r)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	*error_r = xasprintf("%s: %s", what, e != 0 ? buf : "unknown OpenSSL error");
	ERR_clear_error();
	return -1;
}

static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	int ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* write_pem - PEM-encode the key (or else the certificate) into path, durably. */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert, char **error_r)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ok = key != NULL ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
			     : PEM_write_bio_X509(bio, cert);

	if (!ok) {
		BIO_free(bio);
		return tls_openssl_error("PEM encoding", error_r);
	}
	len = BIO_get_mem_data(bio, &data);
	int ret = file_write_durable(path, data, (size_t)len, mode);
	if (ret < 0)
		*error_r = xasprintf("%s: %s", path, strerror(errno));
	else if (chmod(path, mode) < 0) /* umask may have narrowed or widened it */
		ret = -1;
	BIO_free(bio);
	return ret;
}

int tls_selfsigned_create(const char *hostname, const char *cert_path, const char *key_path,
			  char **error_r)
{
	EVP_PKEY *key = EVP_RSA_gen(SELFSIGNED_RSA_BITS);
	X509 *cert = NULL;
	int ret = -1;

	if (key == NULL)
		return tls_openssl_error("generating RSA key", error_r);
	cert = X509_new();
	if (cert == NULL) {
		tls_openssl_error("X509_new", error_r);
		goto out;
	}
	X509_set_version(cert, 2);
	/* a random serial, so reissued certs never collide in client caches */
	unsigned char serial[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, serial, sizeof(serial)) != (ssize_t)sizeof(serial)) {
		*error_r = xasprintf("/dev/urandom: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	serial[0] &= 0x7f; /* positive */
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), (long)SELFSIGNED_DAYS * 86400);
	X509_set_pubkey(cert, key);
	X509_NAME *name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"postino", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)hostname, -1, -1, 0);
	X509_set_issuer_name(cert, name);
	char *san = xasprintf("DNS:%s", hostname);
	int ext_ok = add_ext(cert, NID_subject_alt_name, san) == 0 &&
		     add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
		     add_ext(cert, NID_key_usage, "critical,digitalSignature,keyEncipherment") == 0 &&
		     add_ext(cert, NID_ext_key_usage, "serverAuth") == 0 &&
		     add_ext(cert, NID_subject_key_identifier, "hash") == 0;
	free(san);
	if (!ext_ok) {
		tls_openssl_error("certificate extensions", error_r);
		goto out;
	}
	if (X509_sign(cert, key, EVP_sha256()) == 0) {
		tls_openssl_error("signing certificate", error_r);
		goto out;
	}
	if (write_pem(key_path, 0600, key, NULL, error_r) < 0 ||
	    write_pem(cert_path, 0644, NULL, cert, error_r) < 0)
		goto out;
	ret = 0;
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}
