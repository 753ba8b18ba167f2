/* SPDX-License-Identifier: ISC */
/*
 * inject.h - a message the server writes itself (autoreply, quota warning,
 * bounce, delay warning, postmaster notice) sent to one address.
 *
 * A mailbox of ours gets it at once through local delivery; anyone else
 * gets it through the outbound queue, like any remote recipient. The
 * envelope sender is whatever the caller gives: "" (the null sender) for
 * every automatic message that must never be answered by a bounce.
 */
#ifndef POSTINO_QUEUE_INJECT_H
#define POSTINO_QUEUE_INJECT_H

#include "lib/lib.h"

struct db;

struct inject_msg {
	const char *data_dir;
	const char *queueid;   /* journal/queue id the notice belongs to */
	const char *sid;       /* session id for the journal, or NULL */
	const char *sender;    /* envelope sender; "" = null sender */
	const char *to;        /* one recipient address */
	const char *origin;    /* queue origin: "autoreply", "bounce", ... */
	const void *data;      /* the whole message, CRLF line ends */
	size_t len;
};

/* inject_send - deliver or queue msg (blocks: call on a worker with that
 * thread's db, or from the CLI). 0 when it is durable, -1 on failure
 * (logged; local refusals are journalled by the delivery). */
int inject_send(struct db *db, const struct inject_msg *msg);

#endif
