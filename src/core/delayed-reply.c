/* SPDX-License-Identifier: ISC */
/*
 * delayed-reply.c - a refusal answered later, on a timer (see
 * delayed-reply.h).
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "core/delayed-reply.h"
#include "core/loop.h"

#include <event2/event.h>

static void delayed_reply_fire(evutil_socket_t fd, short what, void *arg)
{
	struct delayed_reply *d = arg;
	const char *reason = d->reason;

	d->reason = NULL;
	if (reason != NULL)
		d->send(d->ctx, reason);
}

void delayed_reply_start(struct delayed_reply *d, uint64_t ms, const char *reason,
			 delayed_reply_fn *send, void *ctx)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	if (ms == 0) {
		send(ctx, reason);
		return;
	}
	if (d->ev == NULL) {
		d->ev = evtimer_new(loop_base(), delayed_reply_fire, d);
		if (d->ev == NULL)
			panic("delayed reply: evtimer_new failed");
	}
	d->reason = reason;
	d->send = send;
	d->ctx = ctx;
	evtimer_add(d->ev, &tv);
}

void delayed_reply_cancel(struct delayed_reply *d)
{
	d->reason = NULL;
	if (d->ev != NULL)
		evtimer_del(d->ev);
}

void delayed_reply_free(struct delayed_reply *d)
{
	delayed_reply_cancel(d);
	if (d->ev != NULL)
		event_free(d->ev);
	d->ev = NULL;
}
