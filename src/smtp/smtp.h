/* SPDX-License-Identifier: ISC */
/*
 * smtp.h - the SMTP server: MX on port 25, submission on 587 (STARTTLS)
 * and 465 (implicit TLS). The only entry point for other modules.
 */
#ifndef POSTINO_SMTP_H
#define POSTINO_SMTP_H

#include "lib/lib.h"
#include "core/config.h"

struct conn;

/* Take over a new connection from core/listen.c (TLS already up on 465):
 * install the session's handlers, then greet (after a short pause on
 * port 25, so early talkers show themselves). */
void smtp_accept(struct conn *conn, enum listener_kind kind);
/* The server stops: write the journal rows still waiting now (they wait a
 * few milliseconds to be written together) and from now on at once. */
void smtp_deliver_drain(void);

#endif
