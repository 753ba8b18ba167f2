/* SPDX-License-Identifier: ISC */
/*
 * smtp-deliver.c - make a received message durable for every accepted
 * recipient, then answer the client.
 *
 * DESIGN
 * A finished transaction becomes a struct smtp_delivery that owns copies
 * of everything the worker needs (ids, not pointers, cross the boundary).
 * Deliveries wait in a list; up to SMTP_BATCHES_MAX batches run on
 * workers at once, each taking every delivery waiting when it starts, so
 * sessions that finish together share one maildir group commit
 * (store/deliver.h deliver_run_batch) instead of one fsync each.
 *
 * On the worker, per delivery: local copies (deliver_run_batch), then
 * forwards of the mailboxes that took the message (local targets are
 * delivered, remote ones queued with a Delivered-To line so the next hop
 * sees loops), then remote recipients into the held queue. Only then does
 * the loop thread reply. The answer is 250 when every recipient's copy is
 * durable somewhere; a recipient whose mailbox refused at delivery time
 * although RCPT had accepted it (it filled up meanwhile, an I/O error) is
 * queued 'held' with the reason, so nothing acknowledged is lost; if no
 * recipient got a copy the reply is the refusal itself.
 *
 * The journal rows of answered batches wait up to SMTP_JOURNAL_DELAY_MS
 * (or until SMTP_JOURNAL_WAITING_MAX deliveries wait) and are then
 * written by one worker job in one transaction: a job and a commit per
 * message would wake a worker and contend for the CPU and the database
 * just when the client's next command arrives. Only routine rows wait
 * (delivery_is_routine); each row carries the time of its decision, not
 * of its writing, and the journal is read in time order. A drain writes
 * them at once.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/dbpool.h"
#include "core/journal.h"
#include "core/loop.h"
#include "core/worker.h"
#include "directory/directory.h"
#include "directory/policy.h"
#include "mail/addr.h"
#include "queue/qmgr.h"
#include "queue/queue.h"
#include "store/deliver.h"
#include "smtp/smtp.h"
#include "smtp/smtp-private.h"
#include "smtp/smtp-deliver.h"
#include "smtp/smtp-notices.h"

#include <event2/event.h>
#include <unistd.h>

struct smtp_remote {
	char *address;
	const char *origin;   /* "submission" or "alias" */
	unsigned notify;
	char *orcpt;
};

struct smtp_delivery {
	struct smtp_delivery *next;
	uint64_t session_id;
	char *sid, *peer, *account, *txid, *msgid, *from, *spool_path, *envid, *hostname;
	int spool_fd;         /* open on spool_path until the answer, or -1 */
	const char *data_dir;
	int dsn_ret;
	unsigned rcpt_count;
	uint64_t size;
	bool quota_temporary;
	/* local mailboxes */
	struct account *accounts;
	struct deliver_rcpt *rcpts;
	struct deliver_job job;
	/* remote recipients (the held queue) */
	struct smtp_remote *remote;
	size_t remote_count;
	/* forwards to local mailboxes: a second pass */
	struct account *fwd_accounts;
	struct deliver_rcpt *fwd_rcpts;
	struct deliver_job fwd_job;
	/* outcome */
	int64_t answered_ms;  /* the decision's time, for rows written later */
	const char *reason;   /* NULL = accepted */
	unsigned stored, queued, held;
	char detail[256];
};

struct smtp_batch {
	struct smtp_batch *next;   /* waiting for its journal rows */
	struct smtp_delivery *list;
	size_t count;
};

static struct smtp_delivery *smtp_pending_head, **smtp_pending_tail = &smtp_pending_head;
static unsigned smtp_batches_running;
/* answered batches whose journal rows are not written yet, oldest first */
static struct smtp_batch *smtp_journal_head, **smtp_journal_tail = &smtp_journal_head;
static size_t smtp_journal_waiting;
static struct event *smtp_journal_timer;

static void smtp_batch_kick(void);

/* ---- on the worker ---- */

/* forward_is_local - a forward target with a mailbox here: 1 and the
 * account (and domain quota), 0 for the queue, -1 on error. */
static int forward_is_local(struct db *db, const char *target, struct account *a_r,
			    uint64_t *quota_r)
{
	struct domain dom = { 0 };
	int ret = policy_domain_is_local(db, addr_domain(target));

	if (ret <= 0)
		return ret;
	if ((ret = account_get(db, target, a_r)) <= 0)
		return ret;
	*quota_r = domain_get(db, a_r->domain, &dom) > 0 ? dom.quota_bytes : 0;
	domain_clear(&dom);
	return 1;
}

/* deliver_enqueue - one queue file with its rows; false on failure.
 * sign: DKIM-sign it (our user's own submission, not a forward). */
static bool deliver_enqueue(struct db *db, struct smtp_delivery *d, const char *file,
			    const char *prefix, const struct queue_rcpt *rcpts, size_t count,
			    bool sign)
{
	const char *error;
	struct queue_msg msg = {
		.file = file,
		.queueid = d->txid,
		.sender = d->from,
		.account = d->account,
		.spool_path = d->spool_path,
		.prefix = prefix,
		.dsn_ret = d->dsn_ret,
		.dsn_envid = d->envid,
		.rcpts = rcpts,
		.rcpt_count = count,
		.dkim_sign = sign,
	};

	if (count == 0)
		return true;
	if (queue_enqueue(db, d->data_dir, &msg, &error) < 0) {
		log_error("smtp deliver: id=%s queue %s: %s: %s", d->txid, file, error,
			  strerror(errno));
		return false;
	}
	return true;
}

/* deliver_forwards - targets of the mailboxes that took the message:
 * local mailboxes in a second delivery pass, the rest queued with the
 * forwarding mailbox's Delivered-To line. false when a copy could not be
 * made durable. */
static bool deliver_forwards(struct db *db, struct smtp_delivery *d)
{
	size_t nfwd = 0, cap = 0;
	bool ok = true;

	for (size_t i = 0; i < d->job.rcpt_count; i++) {
		struct deliver_rcpt *r = &d->rcpts[i];
		struct queue_rcpt *q = xcalloc(r->forward_count + 1, sizeof(*q));
		size_t nq = 0;

		for (size_t f = 0; f < r->forward_count; f++) {
			struct account a;
			uint64_t quota = 0;
			int local = forward_is_local(db, r->forward[f], &a, &quota);
			if (local > 0) {
				if (nfwd == cap) {
					cap = cap == 0 ? 4 : cap * 2;
					d->fwd_accounts = xrealloc(d->fwd_accounts,
								   cap * sizeof(*d->fwd_accounts));
				}
				d->fwd_accounts[nfwd] = a;
				d->fwd_rcpts = xrealloc(d->fwd_rcpts, cap * sizeof(*d->fwd_rcpts));
				memset(&d->fwd_rcpts[nfwd], 0, sizeof(*d->fwd_rcpts));
				d->fwd_rcpts[nfwd].domain_quota_bytes = quota;
				nfwd++;
				continue;
			}
			q[nq++] = (struct queue_rcpt){ .address = r->forward[f], .origin = "forward" };
		}
		if (nq > 0) {
			char *prefix = deliver_header_prefix(NULL, r->account->address, true);
			char *file = xasprintf("%s.f%zu", d->txid, i);
			if (deliver_enqueue(db, d, file, prefix, q, nq, false))
				d->queued += (unsigned)nq;
			else
				ok = false;
			free(file);
			free(prefix);
		}
		free(q);
	}
	if (nfwd == 0)
		return ok;
	for (size_t i = 0; i < nfwd; i++)
		d->fwd_rcpts[i].account = &d->fwd_accounts[i];
	d->fwd_job = d->job;
	d->fwd_job.rcpts = d->fwd_rcpts;
	d->fwd_job.rcpt_count = nfwd;
	(void)deliver_run(&d->fwd_job);
	/* a forward copy refused here (full, disabled) waits in the queue */
	struct queue_rcpt *held = xcalloc(nfwd, sizeof(*held));
	size_t nheld = 0;
	for (size_t i = 0; i < nfwd; i++) {
		struct deliver_rcpt *r = &d->fwd_rcpts[i];
		if (r->action == DELIVER_REFUSED)
			held[nheld++] = (struct queue_rcpt){ .address = r->account->address,
							     .origin = "forward",
							     .last_error = r->reason };
		else
			d->stored++;
	}
	if (nheld > 0) {
		char *file = xasprintf("%s.fr", d->txid);
		if (deliver_enqueue(db, d, file, NULL, held, nheld, false))
			d->held += (unsigned)nheld;
		else
			ok = false;
		free(file);
	}
	free(held);
	return ok;
}

/* map_reason - the refusal as the client sees it: over quota is
 * permanent when smtp.quota-temporary = no. */
static const char *map_reason(const struct smtp_delivery *d, const char *reason)
{
	if (!d->quota_temporary &&
	    (strcmp(reason, "deliver.over-quota") == 0 || strcmp(reason, "deliver.over-messages") == 0 ||
	     strcmp(reason, "deliver.domain-full") == 0))
		return "smtp.over-quota-permanent";
	return reason;
}

/* deliver_after_local - everything after the local copies of d. */
static void deliver_after_local(struct db *db, struct smtp_delivery *d)
{
	size_t ok_local = 0;
	const char *first_refusal = NULL;
	bool ok = true;

	for (size_t i = 0; i < d->job.rcpt_count; i++) {
		if (d->rcpts[i].action == DELIVER_REFUSED) {
			if (first_refusal == NULL)
				first_refusal = d->rcpts[i].reason;
		} else {
			ok_local++;
			if (d->rcpts[i].action == DELIVER_STORED)
				d->stored++;
		}
	}
	if (db == NULL) {
		d->reason = "smtp.storage-failed";
		return;
	}
	if (d->remote_count > 0) {
		struct queue_rcpt *q = xcalloc(d->remote_count, sizeof(*q));
		for (size_t i = 0; i < d->remote_count; i++)
			q[i] = (struct queue_rcpt){ .address = d->remote[i].address,
						    .origin = d->remote[i].origin,
						    .dsn_notify = d->remote[i].notify,
						    .dsn_orcpt = d->remote[i].orcpt };
		if (deliver_enqueue(db, d, d->txid, NULL, q, d->remote_count,
				    d->account != NULL))
			d->queued += (unsigned)d->remote_count;
		else
			ok = false;
		free(q);
	}
	if (!deliver_forwards(db, d))
		ok = false;
	if (!ok) {
		d->reason = "smtp.storage-failed";
		return;
	}
	if (ok_local == 0 && d->remote_count == 0) {
		/* nobody got a copy: the refusal is the answer */
		d->reason = map_reason(d, first_refusal != NULL ? first_refusal : "deliver.io-error");
		return;
	}
	if (first_refusal != NULL) {
		/* accepted at RCPT, refused now: keep it, never lose it */
		struct queue_rcpt *held = xcalloc(d->job.rcpt_count, sizeof(*held));
		size_t n = 0;
		char *file = xasprintf("%s.r", d->txid);
		for (size_t i = 0; i < d->job.rcpt_count; i++) {
			if (d->rcpts[i].action == DELIVER_REFUSED)
				held[n++] = (struct queue_rcpt){ .address = d->rcpts[i].account->address,
								 .origin = "retry",
								 .last_error = d->rcpts[i].reason };
		}
		if (deliver_enqueue(db, d, file, NULL, held, n, false))
			d->held += (unsigned)n;
		else
			d->reason = "smtp.storage-failed";
		free(file);
		free(held);
	}
	if (d->reason == NULL && d->account != NULL &&
	    policy_send_record(db, d->account, d->rcpt_count, d->txid) < 0)
		log_warn("smtp deliver: id=%s send_log not updated", d->txid);
}

static void smtp_batch_run(void *arg)
{
	struct smtp_batch *b = arg;
	struct deliver_job **jobs = xcalloc(b->count, sizeof(*jobs));
	struct db *db = dbpool_get();
	size_t njobs = 0;

	for (struct smtp_delivery *d = b->list; d != NULL; d = d->next) {
		if (d->job.rcpt_count > 0)
			jobs[njobs++] = &d->job;
	}
	if (njobs > 0)
		(void)deliver_run_batch(jobs, njobs);
	free(jobs);
	for (struct smtp_delivery *d = b->list; d != NULL; d = d->next) {
		deliver_after_local(db, d);
		if (d->reason == NULL && d->job.rcpt_count > 0) {
			struct smtp_notices_ctx ctx = {
				.data_dir = d->data_dir, .hostname = d->hostname, .sender = d->from,
				.queueid = d->txid, .sid = d->sid,
			};
			smtp_notices_run(db, &ctx, &d->job);
		}
		(void)unlink(d->spool_path);
	}
}

/* ---- on the loop ---- */

static void smtp_delivery_free(struct smtp_delivery *d)
{
	if (d->spool_fd >= 0)
		close(d->spool_fd);
	for (size_t i = 0; i < d->job.rcpt_count; i++)
		account_clear(&d->accounts[i]);
	for (size_t i = 0; i < d->fwd_job.rcpt_count; i++)
		account_clear(&d->fwd_accounts[i]);
	for (size_t i = 0; i < d->remote_count; i++) {
		free(d->remote[i].address);
		free(d->remote[i].orcpt);
	}
	free(d->remote);
	free(d->accounts);
	free(d->rcpts);
	free(d->fwd_accounts);
	free(d->fwd_rcpts);
	free(d->sid);
	free(d->peer);
	free(d->account);
	free(d->txid);
	free(d->msgid);
	free(d->from);
	free(d->spool_path);
	free(d->envid);
	free(d->hostname);
	free(d);
}

static void smtp_delivery_journal(struct db *db, const struct smtp_delivery *d,
				  const char *decision, const char *reason, const char *account,
				  const char *detail)
{
	struct journal_entry e = {
		.service = "smtp",
		.decision = decision,
		.reason = reason,
		.actor = d->account != NULL ? d->account : d->peer,
		.ip = d->peer,
		.account = account,
		.msgid = d->msgid,
		.queueid = d->txid,
		.sid = d->sid,
		.detail = detail,
		.time_ms = d->answered_ms,
	};

	if (journal_add(db, &e) < 0)
		log_warn("smtp journal: could not record %s %s id=%s", decision, reason, d->txid);
}

/* smtp_delivery_answer - the client's answer, and the session goes on. */
static void smtp_delivery_answer(struct smtp_delivery *d)
{
	struct smtp_session *s = smtp_session_lookup(d->session_id);

	d->answered_ms = time_now_ms();
	(void)snprintf(d->detail, sizeof(d->detail),
		       "from=<%.200s> size=%" PRIu64 " nrcpt=%u stored=%u queued=%u held=%u",
		       d->from, d->size, d->rcpt_count, d->stored, d->queued, d->held);
	log_info("smtp message sid=%s id=%s msgid=%s %s result=%s", d->sid, d->txid,
		 d->msgid != NULL ? d->msgid : "-", d->detail,
		 d->reason == NULL ? "accepted" : d->reason);
	if (s == NULL)
		return; /* the client left before the answer; the copies stay */
	if (d->reason == NULL)
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", d->txid);
	else
		smtp_reply_reason(s, d->reason, NULL);
	smtp_session_resume(s);
}

/* smtp_delivery_record - the journal rows of one delivery. */
static void smtp_delivery_record(struct db *db, const struct smtp_delivery *d)
{
	if (d->job.rcpt_count > 0)
		(void)deliver_journal(db, &d->job);
	if (d->fwd_job.rcpt_count > 0)
		(void)deliver_journal(db, &d->fwd_job);
	smtp_delivery_journal(db, d, d->reason == NULL ? "accept" : "refuse",
			      d->reason == NULL ? "smtp.accepted" : d->reason, d->account, d->detail);
	for (size_t i = 0; d->reason == NULL && i < d->remote_count; i++)
		smtp_delivery_journal(db, d, "queue", "smtp.queued", d->remote[i].address,
				      "state=queued");
}

/* smtp_journal_run - on a worker, after the answers: the journal rows of
 * a chain of batches in one transaction (DESIGN.md: SQLite writes stay off
 * the loop). A crash before it commits loses journal rows, never mail. */
static void smtp_journal_run(void *arg)
{
	struct db *db = dbpool_get();
	size_t count = 0;

	if (db == NULL)
		return;
	bool in_tx = db_begin(db) == 0;
	for (struct smtp_batch *b = arg; b != NULL; b = b->next) {
		for (struct smtp_delivery *d = b->list; d != NULL; d = d->next)
			smtp_delivery_record(db, d);
		count += b->count;
	}
	if (in_tx && db_commit(db) < 0) {
		log_warn("smtp journal: could not commit the rows of %zu deliveries", count);
		db_rollback(db);
	}
}

/* smtp_journal_free - on the loop: the chain of batches is done with. */
static void smtp_journal_free(uint64_t id, void *arg)
{
	struct smtp_batch *b = arg, *next_batch;
	struct smtp_delivery *next;

	for (; b != NULL; b = next_batch) {
		next_batch = b->next;
		for (struct smtp_delivery *d = b->list; d != NULL; d = next) {
			next = d->next;
			smtp_delivery_free(d);
		}
		free(b);
	}
}

/* smtp_journal_flush - hand every waiting batch to one worker job. */
static void smtp_journal_flush(void)
{
	struct smtp_batch *chain = smtp_journal_head;

	if (smtp_journal_timer != NULL)
		evtimer_del(smtp_journal_timer);
	if (chain == NULL)
		return;
	smtp_journal_head = NULL;
	smtp_journal_tail = &smtp_journal_head;
	smtp_journal_waiting = 0;
	worker_submit(smtp_journal_run, smtp_journal_free, 0, chain);
}

static void smtp_journal_on_timer(evutil_socket_t fd, short what, void *ctx)
{
	smtp_journal_flush();
}

/* delivery_is_routine - a message from outside stored in every local
 * mailbox it was for, and nothing else: rows nobody is waiting to read.
 * Anything else is written at once: refusals and held copies (what an
 * admin running `postino why` right now asks about), and an account's
 * submissions (directory/sendlimit.c reads them as evidence). */
static bool delivery_is_routine(const struct smtp_delivery *d)
{
	if (d->reason != NULL || d->account != NULL || d->queued > 0 || d->held > 0 ||
	    d->remote_count > 0 || d->fwd_job.rcpt_count > 0)
		return false;
	for (size_t i = 0; i < d->job.rcpt_count; i++) {
		if (d->rcpts[i].action != DELIVER_STORED || d->rcpts[i].quota_warning)
			return false;
	}
	return true;
}

/* smtp_journal_later - b's rows wait for the next flush when they are
 * all routine, and not once the server is stopping. */
static void smtp_journal_later(struct smtp_batch *b)
{
	static const struct timeval delay = { 0, SMTP_JOURNAL_DELAY_MS * 1000 };
	bool now = loop_draining();

	b->next = NULL;
	*smtp_journal_tail = b;
	smtp_journal_tail = &b->next;
	smtp_journal_waiting += b->count;
	for (const struct smtp_delivery *d = b->list; d != NULL && !now; d = d->next)
		now = !delivery_is_routine(d);
	if (now || smtp_journal_waiting >= SMTP_JOURNAL_WAITING_MAX) {
		smtp_journal_flush();
		return;
	}
	if (smtp_journal_timer == NULL)
		smtp_journal_timer = evtimer_new(loop_base(), smtp_journal_on_timer, NULL);
	if (!evtimer_pending(smtp_journal_timer, NULL))
		evtimer_add(smtp_journal_timer, &delay);
}

void smtp_deliver_drain(void)
{
	smtp_journal_flush();
}

/* smtp_batch_done - on the loop: answer every client of the batch (the
 * copies are durable; bookkeeping need not delay the answers), free the
 * batch's slot; the journal rows follow shortly (smtp_journal_later). */
static void smtp_batch_done(uint64_t id, void *arg)
{
	struct smtp_batch *b = arg;
	bool kick = false;

	for (struct smtp_delivery *d = b->list; d != NULL; d = d->next) {
		smtp_delivery_answer(d);
		kick = kick || d->queued > 0 || d->held > 0 || d->remote_count > 0;
		if (d->spool_fd >= 0)
			close(d->spool_fd); /* the spool is gone; do not hold its space */
		d->spool_fd = -1;
	}
	if (kick)
		qmgr_kick(); /* send now rather than at the queue manager's next tick */
	smtp_batches_running--;
	smtp_batch_kick();
	smtp_journal_later(b);
}

/* smtp_batch_kick - start a batch with everything waiting, when a slot
 * is free. */
static void smtp_batch_kick(void)
{
	struct smtp_batch *b;

	if (smtp_pending_head == NULL || smtp_batches_running >= SMTP_BATCHES_MAX)
		return;
	b = xcalloc(1, sizeof(*b));
	b->list = smtp_pending_head;
	for (struct smtp_delivery *d = b->list; d != NULL; d = d->next)
		b->count++;
	smtp_pending_head = NULL;
	smtp_pending_tail = &smtp_pending_head;
	smtp_batches_running++;
	worker_submit(smtp_batch_run, smtp_batch_done, 0, b);
}

void smtp_deliver_submit(struct smtp_session *s, const char *msgid)
{
	struct smtp_tx *tx = s->tx;
	struct smtp_delivery *d = xcalloc(1, sizeof(*d));
	size_t nlocal = 0;

	d->session_id = s->id;
	d->sid = xstrdup(s->sid);
	d->peer = xstrdup(s->peer);
	d->account = s->account != NULL ? xstrdup(s->account) : NULL;
	d->txid = xstrdup(tx->id);
	d->msgid = msgid != NULL ? xstrdup(msgid) : NULL;
	d->from = xstrdup(tx->from);
	d->spool_path = tx->spool_path;
	tx->spool_path = NULL; /* the delivery removes it */
	d->spool_fd = tx->spool_fd;
	tx->spool_fd = -1;
	d->envid = tx->mail.envid != NULL ? xstrdup(tx->mail.envid) : NULL;
	d->dsn_ret = (int)tx->mail.ret;
	d->data_dir = dbpool_data_dir();
	d->hostname = xstrdup(s->cfg->hostname);
	d->rcpt_count = tx->rcpt_count;
	d->size = tx->size;
	d->quota_temporary = s->cfg->smtp_quota_temporary;
	d->accounts = xcalloc(tx->dest_count + 1, sizeof(*d->accounts));
	d->rcpts = xcalloc(tx->dest_count + 1, sizeof(*d->rcpts));
	d->remote = xcalloc(tx->dest_count + 1, sizeof(*d->remote));
	for (unsigned i = 0; i < tx->dest_count; i++) {
		struct smtp_dest *dest = &tx->dests[i];
		const struct smtp_rcpt *r = &tx->rcpts[dest->rcpt];
		if (dest->d.local) {
			d->accounts[nlocal] = dest->d.account; /* moved */
			memset(&dest->d.account, 0, sizeof(dest->d.account));
			dest->d.local = false;
			d->rcpts[nlocal].domain_quota_bytes = dest->d.domain_quota;
			nlocal++;
			continue;
		}
		struct smtp_remote *rem = &d->remote[d->remote_count++];
		rem->address = xstrdup(dest->d.address);
		rem->origin = s->account != NULL ? "submission" : "alias";
		rem->notify = r->notify;
		rem->orcpt = r->orcpt != NULL ? xstrdup(r->orcpt) : NULL;
	}
	for (size_t i = 0; i < nlocal; i++)
		d->rcpts[i].account = &d->accounts[i];
	d->job = (struct deliver_job){
		.data_dir = d->data_dir,
		.return_path = d->from,
		.spool_path = d->spool_path,
		.spool_fd = d->spool_fd,
		.in_place_prefix = tx->in_place_prefix,
		.sid = d->sid,
		.msgid = d->msgid,
		.rcpts = d->rcpts,
		.rcpt_count = nlocal,
	};
	smtp_session_suspend(s);
	*smtp_pending_tail = d;
	smtp_pending_tail = &d->next;
	smtp_batch_kick();
}
