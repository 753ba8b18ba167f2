/* SPDX-License-Identifier: ISC */
/*
 * smtp-hijack.h - the SMTP side of hijack detection (F21,
 * directory/sendlimit.h): the checks at MAIL and RCPT, the trip, and the
 * one notice to the postmaster.
 *
 * A session's figures are checked where the command is decided: MAIL on
 * the loop (two indexed reads), RCPT on the worker that already resolves
 * the recipient. Over a limit, the trip and the notice run on a worker
 * (the notice is a local delivery or a queued message), and only then is
 * the command answered "452 4.7.1 Too many messages in a short time", so
 * the next command finds the account stopped.
 */
#ifndef POSTINO_SMTP_HIJACK_H
#define POSTINO_SMTP_HIJACK_H

#include "lib/lib.h"
#include "directory/sendlimit.h"

struct db;
struct smtp_session;

/* Room for the journal detail of a refused command. */
#define SMTP_HIJACK_DETAIL_MAX 384

/* What a worker needs, copied from the session and its config (the job
 * must not read either). */
struct smtp_hijack_ctx {
	struct sendlimit_params limits; /* the server's; the domain's apply on top */
	char *account;
	char *peer;
	char *sid;
	char *hostname;
	char *postmaster;               /* the postmaster key ("" = postmaster@hostname) */
	char *data_dir;
};

void smtp_hijack_ctx_init(struct smtp_hijack_ctx *ctx, const struct smtp_session *s);
void smtp_hijack_ctx_clear(struct smtp_hijack_ctx *ctx);

/* smtp_hijack_check - on a worker: may ctx->account take one more
 * recipient after tx_rcpts (0 at MAIL)? Over a limit the account is
 * stopped and, the first time, the postmaster told. 0 = within, 1 =
 * over (answer SENDLIMIT_REASON_LIMITED; detail holds the figures), -1 =
 * error. */
int smtp_hijack_check(struct db *db, const struct smtp_hijack_ctx *ctx, unsigned tx_rcpts,
		      char *detail, size_t size);

/* smtp_hijack_mail - at MAIL, on the loop, for an authenticated session:
 * 0 = within the limits (go on), 1 = over (the session waits for the
 * trip and then gets the 452; the caller sends nothing), -1 = the figures
 * could not be read (answered with a temporary failure). */
int smtp_hijack_mail(struct smtp_session *s, struct db *db);

#endif
