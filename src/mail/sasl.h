/* SPDX-License-Identifier: ISC */
/*
 * sasl.h - the client's side of a SASL exchange as SMTP AUTH (RFC 4954),
 * IMAP AUTHENTICATE (RFC 9051 6.2.2) and POP3 AUTH (RFC 5034) carry it:
 * one base64 response per line, and the PLAIN message (RFC 4616).
 */
#ifndef POSTINO_MAIL_SASL_H
#define POSTINO_MAIL_SASL_H

#include "lib/lib.h"
#include "lib/buf.h"

/* RFC 4616 2: authzid and authcid are at most 255 octets each; the
 * password may be as long as the directory allows (password_max). */
#define SASL_PLAIN_DECODED_MAX(password_max) ((password_max) + 2 * 256 + 2)

/* sasl_decode - one response line (without CRLF): strict base64, or "="
 * for an empty response. Appends to out (NUL-terminated, as every buf);
 * -1 for an empty line, bad base64, or more than out's limit. Callers
 * wipe out afterwards: it holds a password. */
int sasl_decode(const char *text, size_t len, struct buf *out);

enum sasl_plain_error {
	SASL_PLAIN_OK = 0,
	SASL_PLAIN_SYNTAX = -1, /* not [authzid] NUL authcid NUL passwd */
	SASL_PLAIN_PROXY = -2,  /* an authzid other than the authcid */
};

/* sasl_plain_split - the decoded PLAIN message msg[0..len) (with a NUL
 * at msg[len], as a buf has): exactly two NULs. No account may act for
 * another, so an authzid must be empty or equal the authcid. On success
 * *authcid_r and *passwd_r point into msg (the authcid may be empty). */
enum sasl_plain_error sasl_plain_split(const char *msg, size_t len, const char **authcid_r,
				       const char **passwd_r);

#endif
