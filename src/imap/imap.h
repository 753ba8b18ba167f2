/* SPDX-License-Identifier: ISC */
/*
 * imap.h - the IMAP server: port 143 (STARTTLS, LOGINDISABLED until TLS)
 * and 993 (implicit TLS). The only entry point for other modules.
 */
#ifndef POSTINO_IMAP_H
#define POSTINO_IMAP_H

#include "lib/lib.h"
#include "core/config.h"

struct conn;

/* Take over a new connection from core/listen.c (TLS already up on 993):
 * install the session's handlers, then greet with "* OK [CAPABILITY ...]"
 * (or "* BYE [UNAVAILABLE]" when screening has blocked the address). */
void imap_accept(struct conn *conn, enum listener_kind kind);

#endif
