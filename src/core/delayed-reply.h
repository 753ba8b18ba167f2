/* SPDX-License-Identifier: ISC */
/*
 * delayed-reply.h - a refusal answered later, on a timer: a failed login
 * is answered after screen.failure-delay-ms so that guessing is slow,
 * while the loop never sleeps. The session stays suspended until the
 * reply is sent, so pipelined guesses wait too. SMTP and POP3 keep one
 * in their session (IMAP's command timer does the same for a command).
 */
#ifndef POSTINO_CORE_DELAYED_REPLY_H
#define POSTINO_CORE_DELAYED_REPLY_H

#include "lib/lib.h"

struct event;

/* send: answer with the reason row and resume the session; it must
 * itself check that the session can still be answered. */
typedef void delayed_reply_fn(void *ctx, const char *reason);

struct delayed_reply {
	struct event *ev; /* created on first use */
	const char *reason; /* a static reason code while pending */
	delayed_reply_fn *send;
	void *ctx;
};

/* delayed_reply_start - call send(ctx, reason) after ms milliseconds;
 * at once when ms is 0. */
void delayed_reply_start(struct delayed_reply *d, uint64_t ms, const char *reason,
			 delayed_reply_fn *send, void *ctx);
/* delayed_reply_cancel - the session closed: never send. */
void delayed_reply_cancel(struct delayed_reply *d);
void delayed_reply_free(struct delayed_reply *d);

#endif
