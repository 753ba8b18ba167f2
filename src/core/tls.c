/* SPDX-License-Identifier: ISC */
/*
 * tls.c - the server's SSL_CTX and its hot swap on SIGHUP.
 *
 * One context serves every TLS listener (implicit TLS on 465/993/995 and
 * STARTTLS elsewhere). Reload builds a complete new context first and only
 * then replaces the current one, so a missing or mismatched key leaves the
 * server on its old certificate. SSL objects hold a reference to the
 * context they were created from, which is why open connections are not
 * disturbed by a swap. (SNI with several certificates is for later.)
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "core/tls.h"

#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* TLS 1.2 ciphers: Mozilla "intermediate" (forward secrecy, AEAD only).
 * TLS 1.3 suites are OpenSSL's defaults, which are all fine. Mail servers
 * talking to each other on port 25 tolerate old peers by falling back to
 * plaintext, not by us accepting weak TLS. */
#define TLS_CIPHERS_TLS12                                                         \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"            \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"            \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"            \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"                  \
	"DHE-RSA-CHACHA20-POLY1305"
#define TLS_SESSION_ID_CONTEXT "postino"
#define TLS_DESCRIBE_MAX 512

static SSL_CTX *tls_current;
static char tls_description[TLS_DESCRIBE_MAX];

/* tls_error - the first queued OpenSSL error, readable, then clear them. */
static int tls_error(char **error_r, const char *fmt, const char *path)
{
	unsigned long e = ERR_peek_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	*error_r = xasprintf("%s %s: %s", fmt, path,
			     reason != NULL ? reason : "unknown OpenSSL error");
	ERR_clear_error();
	return -1;
}

/* tls_check_readable - say "Permission denied" rather than OpenSSL's
 * "system lib" when the service user cannot read a file after the drop. */
static int tls_check_readable(const char *what, const char *path, char **error_r)
{
	if (access(path, R_OK) == 0)
		return 0;
	*error_r = xasprintf("%s %s: %s", what, path, strerror(errno));
	return -1;
}

int tls_server_ctx_new(const char *cert_path, const char *key_path, SSL_CTX **ctx_r,
		       char **error_r)
{
	SSL_CTX *ctx;

	if (tls_check_readable("certificate", cert_path, error_r) < 0 ||
	    tls_check_readable("key", key_path, error_r) < 0)
		return -1;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		return tls_error(error_r, "cannot create TLS context for", cert_path);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_dh_auto(ctx, 1);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)TLS_SESSION_ID_CONTEXT,
				       sizeof(TLS_SESSION_ID_CONTEXT) - 1);
	if (SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_TLS12) != 1) {
		SSL_CTX_free(ctx);
		return tls_error(error_r, "bad cipher list for", cert_path);
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		SSL_CTX_free(ctx);
		return tls_error(error_r, "cannot load certificate", cert_path);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
		SSL_CTX_free(ctx);
		return tls_error(error_r, "cannot load key", key_path);
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		SSL_CTX_free(ctx);
		return tls_error(error_r, "key does not match certificate", cert_path);
	}
	*ctx_r = ctx;
	return 0;
}

/* tls_describe - subject and expiry of ctx's certificate; warn when it has
 * expired (clients will refuse it, but mail must still flow on port 25). */
static void tls_describe(SSL_CTX *ctx, const char *cert_path)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	char subject[256] = "?", not_after[32] = "?";
	struct tm tm;

	if (cert == NULL) {
		tls_description[0] = '\0';
		return;
	}
	X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		strftime(not_after, sizeof(not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
		log_warn("tls certificate %s expired at %s", cert_path, not_after);
	if (str_printf(tls_description, sizeof(tls_description),
		       "cert=%s subject=%s not-after=%s", cert_path, subject, not_after) < 0)
		tls_description[0] = '\0';
}

int tls_server_load(const char *cert_path, const char *key_path, char **error_r)
{
	SSL_CTX *ctx;

	if (tls_server_ctx_new(cert_path, key_path, &ctx, error_r) < 0)
		return -1;
	/* connections made with the old context hold their own reference */
	SSL_CTX_free(tls_current);
	tls_current = ctx;
	tls_describe(ctx, cert_path);
	return 0;
}

SSL_CTX *tls_server_ctx(void)
{
	return tls_current;
}

const char *tls_server_describe(void)
{
	return tls_description;
}

void tls_server_deinit(void)
{
	SSL_CTX_free(tls_current);
	tls_current = NULL;
	tls_description[0] = '\0';
}
