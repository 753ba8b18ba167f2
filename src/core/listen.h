/* SPDX-License-Identifier: ISC */
/*
 * listen.h - the listener table: one socket per `listen.*` key that is not
 * "off", each handing its connections to one protocol's accept function.
 *
 * A protocol plugs in with one function, `void smtp_accept(struct conn *,
 * enum listener_kind)`, registered with listen_set_accept() by the layer
 * that knows every protocol (cli-serve.c). A listener without one greets
 * with its protocol's "service not available" reply and closes.
 */
#ifndef POSTINO_LISTEN_H
#define POSTINO_LISTEN_H

#include "lib/lib.h"
#include "core/config.h"

struct conn;

/* Take over a new connection (TLS already up on implicit-TLS listeners):
 * conn_set_handler(), then the greeting. kind tells smtp from submission. */
typedef void listen_accept_fn(struct conn *conn, enum listener_kind kind);

/* Bind every listener whose value is not "off", before privileges are
 * dropped. All failures are reported at once, one line per listener
 * ("listen.smtp 0.0.0.0:25: Address already in use"), and then nothing
 * stays bound. */
int listen_bind_all(const struct config *cfg, char **error_r);
/* Who serves a listener; NULL (the default) = "service not available". */
void listen_set_accept(enum listener_kind kind, listen_accept_fn *fn);
/* Start accepting on the loop. */
void listen_start(void);
/* Stop accepting and close the listening sockets (start of a drain). */
void listen_stop(void);
/* "smtp=127.0.0.1:25,imaps=127.0.0.1:993" of the bound listeners, for the
 * readiness line (caller frees). */
char *listen_describe(void);
void listen_deinit(void);

#endif
