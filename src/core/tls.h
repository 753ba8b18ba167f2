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

#endif
