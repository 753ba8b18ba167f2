/* SPDX-License-Identifier: ISC */
/*
 * expiry-warn.c - mail users whose password is about to expire (F16).
 *
 * A one-shot timer on the loop, re-armed after each look with the
 * password.warn-interval then in force (so a reload changes the pace
 * without a restart). The look itself runs on a worker: it reads every
 * mailbox and writes mail. Each warning is claimed in the database before
 * it is sent (directory/expiry.h), so it goes out once per password even
 * if looks overlap or the server restarts; a failed send releases the
 * claim for the next look. The message comes from postmaster@hostname
 * with the null envelope sender (RFC 3834 3.3: nothing may answer it).
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/config.h"
#include "core/dbpool.h"
#include "core/journal.h"
#include "core/loop.h"
#include "core/worker.h"
#include "directory/expiry.h"
#include "queue/expiry-warn.h"
#include "queue/inject.h"

#include <event2/event.h>

/* One look, carried to a worker: copies, never the live config. */
struct expiry_look {
	char *data_dir;
	char *hostname;
	uint64_t warn_days;
	size_t sent, failed;
};

static struct {
	struct event *timer;
	char *data_dir;
	bool running;  /* a look is on a worker */
	bool draining;
} ew;

static void expiry_journal(struct db *db, const char *decision, const char *reason,
			   const char *account, const char *detail)
{
	struct journal_entry e = {
		.service = "expiry",
		.decision = decision,
		.reason = reason,
		.actor = "postino",
		.account = account,
		.detail = detail,
	};

	if (journal_add(db, &e) < 0)
		log_warn("expiry: could not journal %s for %s", reason, account);
}

/* warn_one - claim, compose, send; the claim is released when the mail
 * could not be made durable. */
static void warn_one(struct db *db, struct expiry_look *look, const struct account *a,
		     int64_t now)
{
	char expires[32], *detail, *queueid;
	size_t len;
	int ret;

	if ((ret = expiry_claim(db, a, now)) <= 0) {
		if (ret < 0)
			log_warn("expiry: cannot mark %s warned: %s", a->address, db_errmsg(db));
		return;
	}
	char *msg = expiry_notice_compose(a, now, look->hostname, &len);
	queueid = xasprintf("pwexpiry.%" PRId64 ".%" PRId64, a->id, a->password_changed_at);
	struct inject_msg m = {
		.data_dir = look->data_dir, .queueid = queueid, .sender = "", .to = a->address,
		.origin = "password-expiry", .data = msg, .len = len,
	};
	time_format_iso(password_expires_at(a), expires, sizeof(expires));
	detail = xasprintf("expires=%s max-age=%" PRIu64 "d (%s) days-left=%" PRIu64, expires,
			   a->password_max_age_days, a->password_max_age_own ? "mailbox" : "domain",
			   expiry_days_left(password_expires_at(a), now));
	if (inject_send(db, &m) == 0) {
		expiry_journal(db, "send", EXPIRY_REASON_SENT, a->address, detail);
		log_info("expiry: warned %s (password expires %s)", a->address, expires);
		look->sent++;
	} else {
		(void)expiry_unclaim(db, a);
		expiry_journal(db, "fail", EXPIRY_REASON_FAILED, a->address, detail);
		log_error("expiry: the warning to %s could not be delivered", a->address);
		look->failed++;
	}
	free(detail);
	free(queueid);
	free(msg);
}

static void look_job(void *arg)
{
	struct expiry_look *look = arg;
	struct db *db = dbpool_get();
	struct account *due;
	size_t count;
	int64_t now = time_now();

	if (db == NULL)
		return;
	if (expiry_due_list(db, now, look->warn_days, &due, &count) < 0) {
		log_warn("expiry: cannot list mailboxes: %s", db_errmsg(db));
		return;
	}
	for (size_t i = 0; i < count; i++)
		warn_one(db, look, &due[i], now);
	accounts_free(&due, count);
}

static void look_free(struct expiry_look *look)
{
	free(look->data_dir);
	free(look->hostname);
	free(look);
}

/* arm - the next look, password.warn-interval from now (the first one
 * at most EXPIRY_WARN_FIRST_S after start). */
static void arm(bool first)
{
	uint64_t s = loop_config()->password_warn_interval;
	struct timeval tv;

	if (first && s > EXPIRY_WARN_FIRST_S)
		s = EXPIRY_WARN_FIRST_S;
	tv.tv_sec = (time_t)s;
	tv.tv_usec = 0;
	evtimer_add(ew.timer, &tv);
}

static void look_done(uint64_t id, void *arg)
{
	struct expiry_look *look = arg;

	if (look->sent > 0 || look->failed > 0)
		log_info("expiry: look done warned=%zu failed=%zu", look->sent, look->failed);
	look_free(look);
	ew.running = false;
	if (!ew.draining && ew.timer != NULL)
		arm(false);
}

static void look_start(evutil_socket_t fd, short what, void *arg)
{
	const struct config *cfg = loop_config();
	struct expiry_look *look;

	if (ew.draining || ew.running)
		return;
	if (cfg->password_warn_days == 0) {
		arm(false); /* off: look again later, the admin may turn it on */
		return;
	}
	look = xcalloc(1, sizeof(*look));
	look->data_dir = xstrdup(ew.data_dir);
	look->hostname = xstrdup(cfg->hostname);
	look->warn_days = cfg->password_warn_days;
	ew.running = true;
	worker_submit(look_job, look_done, 0, look);
}

void expiry_warn_start(const char *data_dir)
{
	memset(&ew, 0, sizeof(ew));
	ew.data_dir = xstrdup(data_dir);
	if ((ew.timer = evtimer_new(loop_base(), look_start, NULL)) == NULL)
		panic("expiry: cannot create the timer");
	arm(true);
}

void expiry_warn_drain(void)
{
	ew.draining = true;
	if (ew.timer != NULL)
		event_del(ew.timer);
}

void expiry_warn_stop(void)
{
	if (ew.timer == NULL)
		return;
	/* the worker pool is gone: a look still listed as running never
	 * completes, and its argument went with the pool */
	event_free(ew.timer);
	free(ew.data_dir);
	memset(&ew, 0, sizeof(ew));
}
