/* SPDX-License-Identifier: ISC */
/*
 * smtpc-tls.c - TLS for outbound SMTP: the client context, STARTTLS
 * (RFC 3207) as an OpenSSL filter over the plain connection, and SNI.
 *
 * Server-to-server TLS on port 25 is opportunistic (RFC 7435): certificates
 * are not verified, because refusing an unverifiable peer would only push
 * the mail to plaintext. TLS 1.2 is the floor all the same. The system CA
 * store is loaded so DANE/MTA-STS can verify later without a new context.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "core/loop.h"
#include "smtpc/smtpc-private.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

static SSL_CTX *smtpc_default_ctx;

struct ssl_ctx_st *smtpc_tls_ctx_new(char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		unsigned long e = ERR_get_error();
		*error_r = xasprintf("cannot create the outbound TLS context: %s",
				     e != 0 ? ERR_reason_error_string(e) : "unknown error");
		ERR_clear_error();
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* missing CA files are no reason to stop: nothing verifies yet */
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		ERR_clear_error();
	return ctx;
}

struct ssl_ctx_st *smtpc_tls_ctx_default(void)
{
	char *error = NULL;

	if (smtpc_default_ctx == NULL && (smtpc_default_ctx = smtpc_tls_ctx_new(&error)) == NULL) {
		log_error("smtpc: %s", error);
		free(error);
	}
	return smtpc_default_ctx;
}

/* smtpc_is_ip_literal - SNI carries host names only (RFC 6066 3). */
static bool smtpc_is_ip_literal(const char *name)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

struct ssl_st *smtpc_tls_new_ssl(struct smtpc *c)
{
	SSL *ssl = SSL_new(c->tls_ctx);

	if (ssl == NULL) {
		ERR_clear_error();
		return NULL;
	}
	if (c->peer_name[0] != '\0' && !smtpc_is_ip_literal(c->peer_name) &&
	    SSL_set_tlsext_host_name(ssl, c->peer_name) != 1)
		ERR_clear_error(); /* a name OpenSSL refuses: go on without SNI */
	return ssl;
}

int smtpc_tls_start(struct smtpc *c)
{
	struct bufferevent *filter;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	SSL *ssl;

	if (c->tls_ctx == NULL || (ssl = smtpc_tls_new_ssl(c)) == NULL)
		return -1;
	/* anything the server sent after its 220 in plaintext is not part
	 * of the TLS session (the client side of CVE-2011-0411) */
	evbuffer_drain(in, evbuffer_get_length(in));
	/* the filter encrypts only while the socket layer holds less than
	 * this, so our backpressure measure (both layers) stays bounded */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, SMTPC_TLS_UNDER_HIGH);
	filter = bufferevent_openssl_filter_new(loop_base(), c->bev, ssl,
						BUFFEREVENT_SSL_CONNECTING,
						BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (filter == NULL) {
		SSL_free(ssl);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(filter, 1);
	c->bev = filter;
	smtpc_set_state(c, SMTPC_STATE_HANDSHAKE);
	smtpc_setup_bev(c);
	smtpc_arm_timer(c, SMTPC_TIMEOUT_CMD_MS);
	return 0;
}

void smtpc_tls_describe(struct smtpc *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

	if (ssl == NULL)
		return;
	c->info.tls = true;
	snprintf(c->info.tls_desc, sizeof(c->info.tls_desc), "%s %s", SSL_get_version(ssl),
		 SSL_get_cipher_name(ssl));
}
