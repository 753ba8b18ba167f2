/* SPDX-License-Identifier: ISC */
/*
 * reason.h - the one list of machine-readable reason codes.
 *
 * SMTP replies, IMAP/POP3 responses, the journal, the API and `postino
 * why` all speak these codes, so an admin can grep one word from a client
 * error to the log line to the fix. docs/REASONS.md is generated from the
 * table (`postino reasons --markdown`).
 */
#ifndef POSTINO_REASON_H
#define POSTINO_REASON_H

#include "lib/lib.h"

struct reason {
	const char *code;        /* "auth.bad-password" */
	const char *smtp;        /* "535 5.7.8" or NULL when not an SMTP answer */
	const char *imap;        /* RFC 5530 code "AUTHENTICATIONFAILED" or NULL */
	const char *pop3;        /* RFC 3206 code "AUTH" or NULL */
	const char *text;        /* what the client is told */
	const char *explanation; /* what it means, for the admin */
	const char *fix;         /* what to do about it */
};

const struct reason *reason_lookup(const char *code);
/* Iterate the table: NULL past the end. */
const struct reason *reason_at(size_t i);

#endif
