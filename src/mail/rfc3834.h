/* SPDX-License-Identifier: ISC */
/*
 * rfc3834.h - when an automatic reply may be sent, and what it says
 * (RFC 3834 "Recommendations for Automatic Responses to Electronic Mail",
 * with the sender exclusions of Sieve vacation, RFC 5230 4.5).
 *
 * Pure functions: the caller extracts the header values and the envelope,
 * and sends the composed reply with a null envelope sender.
 */
#ifndef POSTINO_RFC3834_H
#define POSTINO_RFC3834_H

#include "lib/lib.h"

/* What we know about the incoming message. NULL = header absent. */
struct rfc3834_input {
	const char *sender;     /* envelope MAIL FROM, "" for the null path */
	const char *recipient;  /* the mailbox that would answer */
	const char *auto_submitted;
	const char *precedence;
	const char *list_id;
	const char *list_unsubscribe;
	const char *list_post;
	const char *x_auto_response_suppress; /* Microsoft's, honoured for OOF/All */
	const char *subject;
	const char *message_id;
	const char *references;
	bool is_spam;           /* the spam filter's verdict: never answer spam */
};

/* NULL when a reply may go; otherwise the reason code (core/reason.c)
 * saying why not: autoreply.skip-null-sender, -auto-submitted, -list,
 * -bulk, -system-sender, -self, -spam. */
const char *rfc3834_skip_reason(const struct rfc3834_input *in);

/* The reply as a complete RFC 5322 message with CRLF line ends:
 * From the recipient, To the sender, Subject (subject, or "Auto: " + the
 * original), In-Reply-To/References, Auto-Submitted: auto-replied
 * (RFC 3834 5), a fresh Message-ID at hostname, UTF-8 text/plain body.
 * Header values are sanitised (no CR/LF injection). Caller frees. */
char *rfc3834_compose(const struct rfc3834_input *in, const char *subject, const char *body,
		      const char *hostname, int64_t now, size_t *len_r);

#endif
