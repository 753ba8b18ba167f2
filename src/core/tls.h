/* SPDX-License-Identifier: ISC */
/*
 * tls.h - OpenSSL contexts for every TLS-capable listener.
 *
 * The daemon keeps one SSL_CTX built from tls.cert/tls.key; SIGHUP builds a
 * new one and swaps it in, so existing connections keep theirs and new ones
 * get the new certificate (no downtime).
 */
#ifndef POSTINO_TLS_H
#define POSTINO_TLS_H

#include "lib/lib.h"

/* Create a self-signed certificate (SAN = hostname, RSA 2048 / SHA-256,
 * ten years) and its key (mode 0600), durably. */
int tls_selfsigned_create(const char *hostname, const char *cert_path, const char *key_path,
			  char **error_r);

/* OpenSSL's SSL_CTX, without pulling <openssl/ssl.h> into every includer. */
struct ssl_ctx_st;

/* Build a server context from PEM files: TLS 1.2 or later, forward-secret
 * AEAD ciphers, no compression or renegotiation. The key must match the
 * certificate. */
int tls_server_ctx_new(const char *cert_path, const char *key_path,
		       struct ssl_ctx_st **ctx_r, char **error_r);
/* Build a context and make it current; on error the previous one stays in
 * force (a bad certificate on SIGHUP never takes TLS down). */
int tls_server_load(const char *cert_path, const char *key_path, char **error_r);
/* The current context, borrowed: SSL_new() takes its own reference, so a
 * connection keeps its context across a swap. NULL before the first load. */
struct ssl_ctx_st *tls_server_ctx(void);
/* "subject=... not-after=..." of the current certificate, for logs. */
const char *tls_server_describe(void);
void tls_server_deinit(void);

/* tls_openssl_error - "what: <OpenSSL's first queued error>" in *error_r, the
 * OpenSSL error queue cleared; returns -1 for `return tls_error(...)`. */
int tls_openssl_error(const char *what, char **error_r);

#endif
