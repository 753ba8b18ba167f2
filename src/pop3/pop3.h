/* SPDX-License-Identifier: ISC */
/*
 * pop3.h - the POP3 server (RFC 1939): STLS on port 110 (RFC 2595) and
 * implicit TLS on 995. The only entry point for other modules.
 */
#ifndef POSTINO_POP3_H
#define POSTINO_POP3_H

#include "lib/lib.h"
#include "core/config.h"

struct conn;

/* Take over a new connection from core/listen.c (TLS already up on 995):
 * install the session's handlers, then greet. */
void pop3_accept(struct conn *conn, enum listener_kind kind);

#endif
