/* SPDX-License-Identifier: ISC */
/*
 * inject.c - send a message the server wrote itself: local delivery for
 * our mailboxes, the outbound queue for everyone else.
 */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "directory/directory.h"
#include "queue/inject.h"
#include "queue/queue.h"
#include "store/deliver.h"

#include <unistd.h>

static uint32_t inject_counter;

static int inject_local(struct db *db, const struct inject_msg *m, struct account *a)
{
	struct domain d = { 0 };
	struct deliver_rcpt rcpt = { .account = a };
	int ret;

	if (domain_get(db, a->domain, &d) == 1)
		rcpt.domain_quota_bytes = d.quota_bytes;
	domain_clear(&d);
	struct deliver_job job = {
		.data_dir = m->data_dir, .return_path = m->sender, .data = m->data,
		.size = m->len, .sid = m->sid, .rcpts = &rcpt, .rcpt_count = 1,
	};
	ret = deliver_run(&job);
	(void)deliver_journal(db, &job);
	return ret;
}

/* inject_queue - queue_enqueue copies from a file: stage the message in
 * queue/tmp (same file system), enqueue, remove the stage. */
static int inject_queue(struct db *db, const struct inject_msg *m)
{
	uint32_t n = __atomic_add_fetch(&inject_counter, 1, __ATOMIC_RELAXED);
	char *id = xasprintf("%s.n%" PRIu64 ".%" PRIu32, m->queueid, time_monotonic_ms(), n);
	char *dir = xasprintf("%s/%s", m->data_dir, QUEUE_TMP_DIR);
	char *tmp = xasprintf("%s/%s", dir, id);
	const char *error;
	struct queue_rcpt rcpt = { .address = m->to, .origin = m->origin };
	struct queue_msg msg = {
		.file = id, .queueid = m->queueid, .sender = m->sender, .spool_path = tmp,
		.rcpts = &rcpt, .rcpt_count = 1,
		.dkim_sign = true, /* our own words: signed when From's domain has a key */
	};
	int ret = mkdir_p(dir, 0750) == 0 && file_write_durable(tmp, m->data, m->len, 0600) == 0
			  ? 0
			  : -1;

	if (ret == 0 && queue_enqueue(db, m->data_dir, &msg, &error) < 0) {
		log_error("inject: queue %s for %s: %s", id, m->to, error);
		ret = -1;
	}
	(void)unlink(tmp);
	free(tmp);
	free(dir);
	free(id);
	return ret;
}

int inject_send(struct db *db, const struct inject_msg *m)
{
	struct account a;
	int ret = account_get(db, m->to, &a);

	if (ret < 0)
		return -1;
	if (ret == 1) {
		ret = inject_local(db, m, &a);
		account_clear(&a);
		return ret;
	}
	return inject_queue(db, m);
}
