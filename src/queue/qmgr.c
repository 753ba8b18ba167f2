/* SPDX-License-Identifier: ISC */
/*
 * qmgr.c - the queue manager's loop side: scans, destinations and the
 * SMTP client connections that carry deliveries (see qmgr.h).
 *
 *   tick/kick -> scan job (worker, qmgr-db.c) -> deliveries grouped by
 *   message and domain -> destination (domain, or smarthost: every domain
 *   relayed through one host shares it) -> route (DNS, cached a minute)
 *   -> connections, at most queue.destination-concurrency per destination
 *   and queue.concurrency in all -> each connection tries the targets in
 *   order (RFC 5321 5.1: next MX on a connection failure) and then carries
 *   deliveries one after another while its destination has some ->
 *   outcomes batched into result jobs (worker, qmgr-db.c).
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/config.h"
#include "core/dbpool.h"
#include "core/loop.h"
#include "core/worker.h"
#include "queue/qmgr-private.h"
#include "queue/queue.h"
#include "queue/route.h"
#include "smtpc/smtpc.h"
#include "store/maildir.h"

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdio.h>

#define QMGR_TICK_MS 1000
/* A destination's route is looked up again after this long. */
#define QMGR_ROUTE_TTL_MS (60 * 1000)
/* A connection with nothing to carry stays open this long for the next
 * message to its destination (Postfix's connection cache keeps 2 s too);
 * far below the 5 minutes RFC 5321 4.5.3.2.7 lets a server wait. */
#define QMGR_IDLE_KEEP_MS 2000

struct qmgr_dest {
	TAILQ_ENTRY(qmgr_dest) entry;
	char *key;                  /* the domain, or "[relay] spec" */
	char *name;                 /* domain to resolve, or the relay spec */
	bool relay;
	struct qmgr_delivery_list pending;
	TAILQ_HEAD(, qmgr_conn) idle; /* open connections waiting for work */
	unsigned active;            /* connections, parked ones included */
	bool resolving;
	struct route_target *targets;
	size_t target_count;
	uint64_t route_until_ms;
};

struct qmgr_conn {
	TAILQ_ENTRY(qmgr_conn) entry;
	TAILQ_ENTRY(qmgr_conn) idle_entry; /* in dest->idle while parked */
	struct qmgr_dest *dest;
	struct smtpc *c;
	struct event *idle_timer;          /* parked: closes the connection */
	size_t target;
	enum smtpc_tls tls;
	bool tls_fallback_done;
	struct qmgr_delivery *cur;
	struct smtpc_rcpt *srcpts;
	struct smtpc_msg msg;
	struct smtpc_reply last_error;
	bool have_error;
};

static struct {
	char *data_dir;
	struct event *tick, *kick, *flush;
	bool started, scanning, rescan, draining;
	unsigned jobs;              /* worker jobs of ours in flight */
	unsigned conns;
	unsigned in_flight;         /* deliveries picked, not yet written back */
	TAILQ_HEAD(, qmgr_dest) dests;
	TAILQ_HEAD(, qmgr_conn) conn_list;
	struct qmgr_delivery_list results;
	unsigned results_count;
	struct ssl_ctx_st *tls;
} qm;

static void qmgr_pump_all(void);
static void dest_pump(struct qmgr_dest *dest);

/* ---- results ---- */

static void results_done(uint64_t id, void *arg)
{
	struct qmgr_results *res = arg;
	struct qmgr_delivery *d;
	bool failures = false;

	while ((d = TAILQ_FIRST(&res->done)) != NULL) {
		TAILQ_REMOVE(&res->done, d, entry);
		for (size_t i = 0; i < d->rcpt_count; i++)
			failures |= d->rcpts[i].outcome == QMGR_FAILED;
		qm.in_flight--;
		qmgr_delivery_free(d);
	}
	free(res->data_dir);
	free(res->hostname);
	free(res);
	qm.jobs--;
	if (failures)
		qmgr_kick(); /* the bounce is owed now, not at the next tick */
}

static void results_job(void *arg)
{
	struct db *db = dbpool_get();

	if (db != NULL)
		qmgr_db_results(db, arg);
}

static void results_flush(evutil_socket_t fd, short what, void *arg)
{
	const struct config *cfg = loop_config();
	struct qmgr_results *res;

	if (TAILQ_EMPTY(&qm.results))
		return;
	res = xcalloc(1, sizeof(*res));
	res->data_dir = xstrdup(qm.data_dir);
	res->hostname = xstrdup(cfg->hostname);
	res->max_lifetime = (int64_t)cfg->queue_max_lifetime;
	if (qmgr_schedule_parse(cfg->queue_retry_schedule, res->schedule, QMGR_SCHEDULE_MAX,
				&res->schedule_count) < 0) {
		log_warn("queue: queue.retry-schedule '%s' is not a list of durations; using 5m",
			 cfg->queue_retry_schedule);
		res->schedule[0] = 300;
		res->schedule_count = 1;
	}
	TAILQ_INIT(&res->done);
	TAILQ_CONCAT(&res->done, &qm.results, entry);
	qm.results_count = 0;
	qm.jobs++;
	worker_submit(results_job, results_done, 0, res);
}

/* delivery_done - the delivery's outcomes are known: batch them. */
static void delivery_done(struct qmgr_delivery *d)
{
	TAILQ_INSERT_TAIL(&qm.results, d, entry);
	if (qm.results_count++ == 0)
		event_active(qm.flush, EV_TIMEOUT, 0);
}

/* delivery_settle - every recipient of d gets the same outcome. */
static void delivery_settle(struct qmgr_delivery *d, enum qmgr_outcome outcome,
			    const char *reason, const char *status, const char *text,
			    const char *remote_mta)
{
	for (size_t i = 0; i < d->rcpt_count; i++) {
		struct qmgr_rcpt *r = &d->rcpts[i];
		r->outcome = outcome;
		r->reason = reason;
		if (str_copy(r->status, status, sizeof(r->status)) < 0)
			r->status[0] = '\0';
		free(r->reply);
		r->reply = xstrdup(text);
		free(r->remote_mta);
		r->remote_mta = remote_mta != NULL ? xstrdup(remote_mta) : NULL;
	}
	delivery_done(d);
}

/* ---- SMTP replies to outcomes ---- */

static bool reason_is(const char *reason, const char *code)
{
	return reason != NULL && strcmp(reason, code) == 0;
}

/* Refusals we decide before sending: permanent whatever code they carry. */
static bool reply_permanent(const struct smtpc_reply *rp)
{
	return rp->code >= 500 || reason_is(rp->reason, "smtpc.too-big") ||
	       reason_is(rp->reason, "smtpc.no-8bitmime") ||
	       reason_is(rp->reason, "smtpc.no-smtputf8");
}

static char *reply_text(const struct smtpc_reply *rp)
{
	if (rp->code != 0)
		return xasprintf("%d %s%s%s", rp->code, rp->enhanced,
				 rp->enhanced[0] != '\0' ? " " : "", rp->text);
	return xstrdup(rp->text[0] != '\0' ? rp->text : "no reply");
}

static void rcpt_from_reply(struct qmgr_rcpt *r, const struct smtpc_reply *rp, bool delivered,
			    const char *peer_name)
{
	bool perm = !delivered && reply_permanent(rp);
	const char *status = rp->enhanced[0] != '\0' ? rp->enhanced
			     : delivered		 ? "2.0.0"
			     : perm			 ? "5.0.0"
			     : rp->code == 0		 ? "4.4.1"
							 : "4.0.0";

	r->outcome = delivered ? QMGR_DELIVERED : perm ? QMGR_FAILED : QMGR_DEFERRED;
	r->reason = delivered ? "queue.delivered" : perm ? "queue.failed" : "queue.deferred";
	if (str_copy(r->status, status, sizeof(r->status)) < 0)
		r->status[0] = '\0';
	free(r->reply);
	r->reply = reply_text(rp);
	free(r->remote_mta);
	r->remote_mta = rp->code != 0 && peer_name != NULL ? xstrdup(peer_name) : NULL;
}

/* ---- connections ---- */

static void conn_connect(struct qmgr_conn *qc);

static void conn_free(struct qmgr_conn *qc)
{
	struct qmgr_dest *dest = qc->dest;

	TAILQ_REMOVE(&qm.conn_list, qc, entry);
	if (qc->idle_timer != NULL) {
		TAILQ_REMOVE(&dest->idle, qc, idle_entry);
		event_free(qc->idle_timer);
	}
	free(qc->srcpts);
	free(qc);
	dest->active--;
	qm.conns--;
}

static void conn_end(struct qmgr_conn *qc)
{
	if (qc->c != NULL)
		smtpc_quit(qc->c);
	qc->c = NULL;
	conn_free(qc);
	qmgr_pump_all();
}

static void conn_send(struct qmgr_conn *qc);

static void conn_idle_expired(evutil_socket_t fd, short what, void *arg)
{
	conn_end(arg);
}

/* conn_park - nothing waits for this destination now: keep the
 * connection a moment for the next message (a scan a second later, a
 * burst from one sender) rather than paying TCP and TLS again. */
static void conn_park(struct qmgr_conn *qc)
{
	struct timeval tv = { QMGR_IDLE_KEEP_MS / 1000, (QMGR_IDLE_KEEP_MS % 1000) * 1000 };

	qc->idle_timer = evtimer_new(loop_base(), conn_idle_expired, qc);
	if (qc->idle_timer == NULL)
		panic("qmgr: cannot create a timer");
	evtimer_add(qc->idle_timer, &tv);
	TAILQ_INSERT_TAIL(&qc->dest->idle, qc, idle_entry);
	qmgr_pump_all(); /* a connection slot may matter to other destinations */
}

/* conn_unpark - a parked connection takes the destination's next delivery. */
static void conn_unpark(struct qmgr_conn *qc)
{
	struct qmgr_dest *dest = qc->dest;

	TAILQ_REMOVE(&dest->idle, qc, idle_entry);
	event_free(qc->idle_timer);
	qc->idle_timer = NULL;
	qc->cur = TAILQ_FIRST(&dest->pending);
	TAILQ_REMOVE(&dest->pending, qc->cur, entry);
	conn_send(qc);
}

static void conn_sent(struct smtpc *c, void *ctx, const struct smtpc_reply *reply, bool lost)
{
	struct qmgr_conn *qc = ctx;
	struct qmgr_delivery *d = qc->cur;
	const struct smtpc_info *info = smtpc_info(c);

	d->tls = info->tls;
	d->peer_dsn = info->dsn;
	free(d->peer);
	d->peer = xasprintf("%s[%s]", info->peer_name != NULL ? info->peer_name : "?",
			    info->peer_addr);
	for (size_t i = 0; i < d->rcpt_count; i++) {
		const struct smtpc_rcpt *sr = &qc->srcpts[i];
		/* a recipient without its own reply shares the transaction's */
		const struct smtpc_reply *rp = sr->reply.code != 0 || sr->reply.stage != NULL
						       ? &sr->reply
						       : reply;
		rcpt_from_reply(&d->rcpts[i], rp, sr->delivered, info->peer_name);
	}
	bool clean = true;
	for (size_t i = 0; i < d->rcpt_count; i++)
		clean &= d->rcpts[i].outcome == QMGR_DELIVERED;
	qc->cur = NULL;
	delivery_done(d);
	if (!lost && !qm.draining && (qc->cur = TAILQ_FIRST(&qc->dest->pending)) != NULL) {
		TAILQ_REMOVE(&qc->dest->pending, qc->cur, entry);
		conn_send(qc);
		return;
	}
	/* only a session that just worked is kept for later: after a refusal
	 * the next attempt (a retry of this very message, perhaps) deserves a
	 * fresh session, as the server's state or settings may have changed */
	if (!lost && !qm.draining && clean) {
		conn_park(qc);
		return;
	}
	conn_end(qc);
}

static void conn_send(struct qmgr_conn *qc)
{
	struct qmgr_delivery *d = qc->cur;

	free(qc->srcpts);
	qc->srcpts = xcalloc(d->rcpt_count, sizeof(*qc->srcpts));
	for (size_t i = 0; i < d->rcpt_count; i++) {
		qc->srcpts[i].address = d->rcpts[i].address;
		qc->srcpts[i].dsn_notify = d->rcpts[i].dsn_notify;
		qc->srcpts[i].dsn_orcpt = d->rcpts[i].dsn_orcpt;
	}
	qc->msg = (struct smtpc_msg){
		.sender = d->sender, .path = d->path, .size = d->size, .eight_bit = d->eight_bit,
		.smtputf8 = d->smtputf8, .dsn_ret = d->dsn_ret, .dsn_envid = d->dsn_envid,
		.rcpts = qc->srcpts, .rcpt_count = d->rcpt_count,
	};
	smtpc_send(qc->c, &qc->msg, conn_sent, qc);
}

/* conn_all_failed - no target took a connection: this delivery and every
 * other one waiting for the destination wait for the next retry. */
static void conn_all_failed(struct qmgr_conn *qc)
{
	struct qmgr_dest *dest = qc->dest;
	struct qmgr_delivery *d;
	const struct smtpc_reply *e = &qc->last_error;
	char *text = reply_text(e);
	const char *status = e->enhanced[0] != '\0' && e->enhanced[0] == '4' ? e->enhanced
			     : reason_is(e->reason, "smtpc.timeout") ? "4.4.2"
								      : "4.4.1";

	delivery_settle(qc->cur, QMGR_DEFERRED, "queue.deferred", status, text, NULL);
	qc->cur = NULL;
	while ((d = TAILQ_FIRST(&dest->pending)) != NULL) {
		TAILQ_REMOVE(&dest->pending, d, entry);
		delivery_settle(d, QMGR_DEFERRED, "queue.deferred", status, text, NULL);
	}
	/* the next attempt resolves again */
	dest->route_until_ms = 0;
	free(text);
	conn_end(qc);
}

static void conn_ready(struct smtpc *c, void *ctx, bool ok, const struct smtpc_reply *reply)
{
	struct qmgr_conn *qc = ctx;

	if (qm.draining) {
		conn_end(qc);
		return;
	}
	if (ok) {
		conn_send(qc);
		return;
	}
	smtpc_quit(c);
	qc->c = NULL;
	if (reason_is(reply->reason, "smtpc.tls-failed") && qc->tls == SMTPC_TLS_OPPORTUNISTIC &&
	    !qc->tls_fallback_done) {
		/* RFC 3207 4.1 leaves it to us: opportunistic TLS falls back to
		 * plaintext with the same host rather than not delivering */
		log_info("queue: %s: TLS handshake failed, retrying without TLS",
			 qc->dest->targets[qc->target].addr_text);
		qc->tls = SMTPC_TLS_NONE;
		qc->tls_fallback_done = true;
		conn_connect(qc);
		return;
	}
	qc->last_error = *reply;
	qc->have_error = true;
	if (++qc->target < qc->dest->target_count) {
		qc->tls_fallback_done = false;
		conn_connect(qc);
		return;
	}
	conn_all_failed(qc);
}

static enum smtpc_tls relay_tls_mode(const char *mode)
{
	if (strcmp(mode, "none") == 0)
		return SMTPC_TLS_NONE;
	if (strcmp(mode, "opportunistic") == 0)
		return SMTPC_TLS_OPPORTUNISTIC;
	if (strcmp(mode, "implicit") == 0)
		return SMTPC_TLS_IMPLICIT;
	return SMTPC_TLS_REQUIRED;
}

static void conn_connect(struct qmgr_conn *qc)
{
	const struct config *cfg = loop_config();
	const struct route_target *t = &qc->dest->targets[qc->target];
	bool relay = qc->dest->relay;
	struct smtpc_opts opts = {
		.addr = (const struct sockaddr *)&t->ss, .addr_len = t->len, .peer_name = t->host,
		.helo = cfg->hostname, .tls = qc->tls,
		.auth_user = relay && cfg->relay_user[0] != '\0' ? cfg->relay_user : NULL,
		.auth_pass = relay && cfg->relay_user[0] != '\0' ? cfg->relay_password : NULL,
		.log_id = qc->cur->queueid,
	};

	qc->c = smtpc_connect(&opts, qm.tls, conn_ready, qc);
}

static void conn_start(struct qmgr_dest *dest)
{
	const struct config *cfg = loop_config();
	struct qmgr_conn *qc = xcalloc(1, sizeof(*qc));

	qc->dest = dest;
	qc->cur = TAILQ_FIRST(&dest->pending);
	TAILQ_REMOVE(&dest->pending, qc->cur, entry);
	qc->tls = dest->relay		  ? relay_tls_mode(cfg->relay_tls)
		  : cfg->outbound_tls ? SMTPC_TLS_OPPORTUNISTIC
				      : SMTPC_TLS_NONE;
	TAILQ_INSERT_TAIL(&qm.conn_list, qc, entry);
	dest->active++;
	qm.conns++;
	conn_connect(qc);
}

/* ---- destinations ---- */

static const char *route_status_code(const struct route_result *r)
{
	if (reason_is(r->reason, "route.null-mx"))
		return "5.1.10"; /* RFC 7505 4.2 */
	if (r->status == ROUTE_PERMFAIL)
		return reason_is(r->reason, "route.nxdomain") ? "5.1.2" : "5.4.4";
	return "4.4.3";
}

static void dest_routed(void *ctx, const struct route_result *r)
{
	struct qmgr_dest *dest = ctx;
	struct qmgr_delivery *d;

	dest->resolving = false;
	if (qm.draining)
		return;
	if (r->status == ROUTE_OK && r->count > 0) {
		free(dest->targets);
		dest->targets = xcalloc(r->count, sizeof(*dest->targets));
		memcpy(dest->targets, r->targets, r->count * sizeof(*dest->targets));
		dest->target_count = r->count;
		dest->route_until_ms = time_monotonic_ms() + QMGR_ROUTE_TTL_MS;
		dest_pump(dest);
		return;
	}
	bool perm = r->status == ROUTE_PERMFAIL;
	const char *reason = perm ? "queue.failed" : "queue.deferred";
	char *text = xasprintf("%s (%s)", r->text, r->reason != NULL ? r->reason : "route");
	log_info("queue: route to %s: %s", dest->name, text);
	while ((d = TAILQ_FIRST(&dest->pending)) != NULL) {
		TAILQ_REMOVE(&dest->pending, d, entry);
		delivery_settle(d, perm ? QMGR_FAILED : QMGR_DEFERRED, reason,
				route_status_code(r), text, NULL);
	}
	free(text);
}

static void dest_pump(struct qmgr_dest *dest)
{
	const struct config *cfg = loop_config();

	if (qm.draining || dest->resolving)
		return;
	while (!TAILQ_EMPTY(&dest->pending) && !TAILQ_EMPTY(&dest->idle))
		conn_unpark(TAILQ_FIRST(&dest->idle));
	while (!TAILQ_EMPTY(&dest->pending) && dest->active < cfg->queue_destination_concurrency &&
	       qm.conns < cfg->queue_concurrency) {
		if (dest->target_count == 0 || time_monotonic_ms() >= dest->route_until_ms) {
			if (dest->active > 0)
				return; /* let the running connections finish first */
			dest->resolving = true;
			if (dest->relay)
				route_resolve_relay(dest->name, dest_routed, dest);
			else
				route_resolve(dest->name, (uint16_t)cfg->outbound_port, dest_routed, dest);
			return;
		}
		conn_start(dest);
	}
}

/* evict_idle - at the global connection limit with work waiting, a
 * parked connection of a destination with nothing to send goes. */
static bool evict_idle(void)
{
	const struct config *cfg = loop_config();
	struct qmgr_dest *dest;
	bool waiting = false;

	if (qm.conns < cfg->queue_concurrency)
		return false;
	TAILQ_FOREACH(dest, &qm.dests, entry)
		waiting |= !TAILQ_EMPTY(&dest->pending) && TAILQ_EMPTY(&dest->idle);
	if (!waiting)
		return false;
	TAILQ_FOREACH(dest, &qm.dests, entry) {
		if (TAILQ_EMPTY(&dest->pending) && !TAILQ_EMPTY(&dest->idle)) {
			conn_end(TAILQ_FIRST(&dest->idle)); /* pumps again */
			return true;
		}
	}
	return false;
}

static void qmgr_pump_all(void)
{
	struct qmgr_dest *dest, *next;

	for (dest = TAILQ_FIRST(&qm.dests); dest != NULL; dest = next) {
		next = TAILQ_NEXT(dest, entry);
		dest_pump(dest);
		/* forget idle destinations (their route is cheap to find again) */
		if (TAILQ_EMPTY(&dest->pending) && dest->active == 0 && !dest->resolving) {
			TAILQ_REMOVE(&qm.dests, dest, entry);
			free(dest->targets);
			free(dest->key);
			free(dest->name);
			free(dest);
		}
	}
	(void)evict_idle();
}

/* relay_for - the smarthost spec for domain, or NULL for direct MX
 * delivery: relay.domains first ("domain=spec" pairs, spec "direct"
 * meaning no relay), then relay.host. */
static char *relay_for(const struct config *cfg, const char *domain)
{
	const char *p = cfg->relay_domains;
	size_t dlen = strlen(domain);

	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		const char *eq = memchr(p, '=', len);
		if (eq != NULL && (size_t)(eq - p) == dlen && str_ncasecmp(p, domain, dlen) == 0) {
			char *spec = xstrndup(eq + 1, len - (size_t)(eq + 1 - p));
			(void)str_trim(spec);
			if (strcmp(spec, "direct") == 0) {
				free(spec);
				return NULL;
			}
			return spec;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return cfg->relay_host[0] != '\0' ? xstrdup(cfg->relay_host) : NULL;
}

static struct qmgr_dest *dest_get(const char *domain)
{
	const struct config *cfg = loop_config();
	char *relay = relay_for(cfg, domain);
	char *key = relay != NULL ? xasprintf("[relay] %s", relay) : xstrdup(domain);
	struct qmgr_dest *dest;

	TAILQ_FOREACH(dest, &qm.dests, entry) {
		if (strcmp(dest->key, key) == 0) {
			free(key);
			free(relay);
			return dest;
		}
	}
	dest = xcalloc(1, sizeof(*dest));
	dest->key = key;
	dest->relay = relay != NULL;
	dest->name = relay != NULL ? relay : xstrdup(domain);
	TAILQ_INIT(&dest->pending);
	TAILQ_INIT(&dest->idle);
	TAILQ_INSERT_TAIL(&qm.dests, dest, entry);
	return dest;
}

/* dest_add - queue d at dest; recipients of a message already waiting
 * there (other domains behind the same smarthost) join its transaction. */
static void dest_add(struct qmgr_dest *dest, struct qmgr_delivery *d)
{
	struct qmgr_delivery *w;

	TAILQ_FOREACH(w, &dest->pending, entry) {
		if (strcmp(w->file, d->file) != 0)
			continue;
		w->rcpts = xreallocarray(w->rcpts, w->rcpt_count + d->rcpt_count, sizeof(*w->rcpts));
		memcpy(w->rcpts + w->rcpt_count, d->rcpts, d->rcpt_count * sizeof(*d->rcpts));
		w->rcpt_count += d->rcpt_count;
		w->smtputf8 |= d->smtputf8;
		d->rcpt_count = 0; /* the recipients' strings moved to w */
		qmgr_delivery_free(d);
		return;
	}
	qm.in_flight++;
	TAILQ_INSERT_TAIL(&dest->pending, d, entry);
}

/* ---- scans ---- */

static void scan_job(void *arg)
{
	struct db *db = dbpool_get();

	if (db != NULL)
		qmgr_db_scan(db, arg);
	else
		TAILQ_INIT(&((struct qmgr_scan *)arg)->picked);
}

static void scan_done(uint64_t id, void *arg)
{
	struct qmgr_scan *scan = arg;
	struct qmgr_delivery *d;

	qm.jobs--;
	qm.scanning = false;
	while ((d = TAILQ_FIRST(&scan->picked)) != NULL) {
		TAILQ_REMOVE(&scan->picked, d, entry);
		if (qm.draining) {
			qmgr_delivery_free(d); /* rows stay 'sending': the next start recovers them */
			continue;
		}
		dest_add(dest_get(d->domain), d);
	}
	if (scan->more)
		qm.rescan = true;
	free(scan->data_dir);
	free(scan->hostname);
	free(scan);
	qmgr_pump_all();
	if (qm.rescan && !qm.draining) {
		qm.rescan = false;
		event_active(qm.kick, EV_TIMEOUT, 0);
	}
}

static void scan_start(evutil_socket_t fd, short what, void *arg)
{
	const struct config *cfg = loop_config();
	struct qmgr_scan *scan;

	if (qm.draining)
		return;
	if (qm.scanning) {
		qm.rescan = true;
		return;
	}
	scan = xcalloc(1, sizeof(*scan));
	scan->data_dir = xstrdup(qm.data_dir);
	scan->hostname = xstrdup(cfg->hostname);
	scan->max_lifetime = (int64_t)cfg->queue_max_lifetime;
	scan->delay_warning = (int64_t)cfg->queue_delay_warning;
	scan->pick_max = qm.in_flight >= QMGR_PICK_MAX ? 0 : QMGR_PICK_MAX - qm.in_flight;
	qm.scanning = true;
	qm.jobs++;
	worker_submit(scan_job, scan_done, 0, scan);
}

static void recover_job(void *arg)
{
	struct db *db = dbpool_get();
	char *queue_dir = xasprintf("%s/%s", qm.data_dir, QUEUE_DIR);
	unsigned removed;

	if (db != NULL)
		qmgr_db_recover(db);
	/* spool and stage files a crash abandoned: the Maildir 36-hour rule
	 * (a CLI staging one right now is younger) */
	removed = maildir_tmp_clean(queue_dir, time_now(), MAILDIR_TMP_STALE_SECS);
	if (removed > 0)
		log_info("qmgr: removed %u abandoned file(s) from %s", removed, QUEUE_TMP_DIR);
	free(queue_dir);
}

static void recover_done(uint64_t id, void *arg)
{
	struct timeval tv = { QMGR_TICK_MS / 1000, (QMGR_TICK_MS % 1000) * 1000 };

	qm.jobs--;
	if (qm.draining)
		return;
	qm.started = true;
	event_add(qm.tick, &tv);
	event_active(qm.kick, EV_TIMEOUT, 0);
}

/* ---- public ---- */

int qmgr_start(const char *data_dir, char **error_r)
{
	memset(&qm, 0, sizeof(qm));
	TAILQ_INIT(&qm.dests);
	TAILQ_INIT(&qm.conn_list);
	TAILQ_INIT(&qm.results);
	if ((qm.tls = smtpc_tls_ctx_new(error_r)) == NULL)
		return -1;
	qm.data_dir = xstrdup(data_dir);
	qm.tick = event_new(loop_base(), -1, EV_PERSIST, scan_start, NULL);
	qm.kick = event_new(loop_base(), -1, 0, scan_start, NULL);
	qm.flush = event_new(loop_base(), -1, 0, results_flush, NULL);
	if (qm.tick == NULL || qm.kick == NULL || qm.flush == NULL)
		panic("qmgr: cannot create events");
	qm.jobs++;
	worker_submit(recover_job, recover_done, 0, NULL);
	return 0;
}

void qmgr_reload(void)
{
	struct qmgr_dest *dest;
	bool closed;

	if (qm.tick == NULL || qm.draining)
		return;
	/* parked connections were opened (and authenticated) under the old
	 * settings; routes may depend on them too */
	do {
		closed = false;
		TAILQ_FOREACH(dest, &qm.dests, entry) {
			dest->route_until_ms = 0;
			if (!TAILQ_EMPTY(&dest->idle)) {
				conn_end(TAILQ_FIRST(&dest->idle)); /* may free destinations */
				closed = true;
				break;
			}
		}
	} while (closed);
}

void qmgr_kick(void)
{
	if (qm.kick != NULL && qm.started && !qm.draining)
		event_active(qm.kick, EV_TIMEOUT, 0);
}

void qmgr_drain(void)
{
	struct qmgr_conn *qc;
	struct qmgr_dest *dest;
	struct qmgr_delivery *d;

	if (qm.tick == NULL || qm.draining)
		return;
	qm.draining = true;
	event_del(qm.tick);
	/* finished deliveries are still written back */
	results_flush(-1, 0, NULL);
	/* unfinished ones stay 'sending' in the database: recovered at start */
	while ((qc = TAILQ_FIRST(&qm.conn_list)) != NULL) {
		if (qc->cur != NULL) {
			qm.in_flight--;
			qmgr_delivery_free(qc->cur);
			qc->cur = NULL;
		}
		if (qc->c != NULL)
			smtpc_quit(qc->c);
		qc->c = NULL;
		conn_free(qc);
	}
	TAILQ_FOREACH(dest, &qm.dests, entry) {
		while ((d = TAILQ_FIRST(&dest->pending)) != NULL) {
			TAILQ_REMOVE(&dest->pending, d, entry);
			qm.in_flight--;
			qmgr_delivery_free(d);
		}
	}
}

bool qmgr_idle(void)
{
	return qm.jobs == 0;
}

void qmgr_stop(void)
{
	struct qmgr_dest *dest;

	if (qm.tick == NULL)
		return;
	/* the worker pool is gone: nothing may be submitted any more */
	TAILQ_INIT(&qm.results);
	qmgr_drain();
	/* a route lookup still in flight ends (dns_deinit) with its callback,
	 * which sees draining: the destinations stay until here */
	while ((dest = TAILQ_FIRST(&qm.dests)) != NULL) {
		TAILQ_REMOVE(&qm.dests, dest, entry);
		free(dest->targets);
		free(dest->key);
		free(dest->name);
		free(dest);
	}
	event_free(qm.tick);
	event_free(qm.kick);
	event_free(qm.flush);
	SSL_CTX_free(qm.tls);
	free(qm.data_dir);
	memset(&qm, 0, sizeof(qm));
}
