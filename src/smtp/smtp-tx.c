/* SPDX-License-Identifier: ISC */
/*
 * smtp-tx.c - one mail transaction: MAIL .. end of data.
 *
 * The transaction owns a pool (its strings), the accepted recipients and
 * their destinations (policy's answers, with the accounts delivery will
 * use), and the spool file the message streams into: DATA/queue/tmp/<id>,
 * starting with our Received field. Nothing of the message is held in
 * memory but its header fields. At the end of data smtp_tx_commit() runs
 * the message-wide checks and hands everything to smtp-deliver.c; a
 * transaction that ends any other way removes its spool file.
 *
 * A message for exactly one local mailbox (the usual case on port 25)
 * is written in place: the spool is a file in that mailbox's tmp/,
 * starting with the Return-Path and Delivered-To lines delivery would
 * add, and its writeback is started as it arrives. Delivery then only
 * fsyncs and renames it (store/deliver.h in_place_prefix) instead of
 * copying a spool file and fsyncing the copy: one file written instead
 * of two, and most of its data already on disk at the final fsync.
 */
#include "lib/lib.h"
#include "core/dbpool.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/conn.h"
#include "queue/queue.h"
#include "store/deliver.h"
#include "store/maildir.h"
#include "smtp/smtp-private.h"
#include "smtp/smtp-deliver.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define SMTP_TX_POOL_SIZE 4096

static uint32_t smtp_tx_counter;

/* smtp_tx_make_id - time in ms, pid and a counter, in hex: unique across
 * restarts and sortable by arrival. */
static void smtp_tx_make_id(char id[SMTP_TXID_MAX])
{
	uint64_t ms = (uint64_t)time_now_ms();

	if (str_printf(id, SMTP_TXID_MAX, "%011" PRIX64 "%04X%05X", ms,
		       (unsigned)getpid() & 0xffff, ++smtp_tx_counter & 0xfffff) < 0)
		panic("smtp: transaction id does not fit");
}

enum smtp_state smtp_idle_state(const struct smtp_session *s)
{
	return s->helo[0] != '\0' ? SMTP_STATE_READY : SMTP_STATE_HELO;
}

struct smtp_tx *smtp_tx_new(struct smtp_session *s)
{
	struct smtp_tx *tx = xcalloc(1, sizeof(*tx));

	tx->pool = pool_new(SMTP_TX_POOL_SIZE);
	tx->spool_fd = -1;
	smtp_tx_make_id(tx->id);
	return tx;
}

void smtp_tx_free(struct smtp_tx **_tx)
{
	struct smtp_tx *tx = *_tx;

	if (tx == NULL)
		return;
	*_tx = NULL;
	if (tx->spool_fd >= 0)
		close(tx->spool_fd);
	if (tx->spool_path != NULL) {
		(void)unlink(tx->spool_path);
		free(tx->spool_path);
	}
	for (unsigned i = 0; i < tx->dest_count; i++) {
		free(tx->dests[i].d.address);
		if (tx->dests[i].d.local)
			account_clear(&tx->dests[i].d.account);
	}
	free(tx->dests);
	free(tx->rcpts);
	header_free(&tx->hdr);
	pool_free(&tx->pool);
	free(tx);
}

void smtp_tx_reset(struct smtp_session *s)
{
	smtp_tx_free(&s->tx);
	switch (s->state) {
	case SMTP_STATE_MAIL:
	case SMTP_STATE_RCPT:
	case SMTP_STATE_DATA:
	case SMTP_STATE_BDAT:
		smtp_set_state(s, smtp_idle_state(s));
		break;
	default:
		break;
	}
}

static bool smtp_tx_has_dest(const struct smtp_tx *tx, const char *address)
{
	for (unsigned i = 0; i < tx->dest_count; i++) {
		if (strcmp(tx->dests[i].d.address, address) == 0)
			return true;
	}
	return false;
}

void smtp_tx_add_rcpt(struct smtp_tx *tx, const char *addr, unsigned notify, const char *orcpt,
		      struct policy_rcpt_result *result)
{
	struct smtp_rcpt *r;

	if (tx->rcpt_count == tx->rcpt_cap) {
		tx->rcpt_cap = tx->rcpt_cap == 0 ? 4 : tx->rcpt_cap * 2;
		tx->rcpts = xrealloc(tx->rcpts, tx->rcpt_cap * sizeof(*tx->rcpts));
	}
	r = &tx->rcpts[tx->rcpt_count];
	r->addr = p_strdup(tx->pool, addr);
	r->notify = notify;
	r->orcpt = orcpt != NULL ? p_strdup(tx->pool, orcpt) : NULL;
	for (size_t i = 0; i < result->dest_count; i++) {
		struct policy_dest *d = &result->dests[i];
		if (smtp_tx_has_dest(tx, d->address)) {
			/* the same mailbox twice (alias and itself): one copy */
			free(d->address);
			if (d->local)
				account_clear(&d->account);
			continue;
		}
		if (tx->dest_count == tx->dest_cap) {
			tx->dest_cap = tx->dest_cap == 0 ? 4 : tx->dest_cap * 2;
			tx->dests = xrealloc(tx->dests, tx->dest_cap * sizeof(*tx->dests));
		}
		tx->dests[tx->dest_count].rcpt = tx->rcpt_count;
		tx->dests[tx->dest_count].d = *d; /* moved: account and address */
		tx->dest_count++;
	}
	free(result->dests);
	result->dests = NULL;
	result->dest_count = 0;
	tx->rcpt_count++;
}

/* smtp_tz_minutes - the local zone's offset for Received's date. */
static int smtp_tz_minutes(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}

/* spool_in_place - open the spool as the one recipient's copy when the
 * transaction allows it: 1 = done, 0 = use the queue's spool, -1 = the
 * copy was created but could not be started (it is removed). Never
 * creates a mailbox: on the loop, a folder that does not exist yet is
 * made by delivery on a worker. */
static int spool_in_place(struct smtp_session *s, const char *data_dir)
{
	struct smtp_tx *tx = s->tx;
	const struct account *a;
	char *root, *prefix;
	int fd;

	if (tx->dest_count != 1 || !tx->dests[0].d.local)
		return 0;
	a = &tx->dests[0].d.account;
	if (a->forward_count > 0 || a->disabled || !a->can_receive)
		return 0; /* forwards copy the spool; a refusal needs no copy */
	root = maildir_account_path(data_dir, a);
	fd = maildir_tmp_create(root, &tx->spool_path);
	free(root);
	if (fd <= 0) {
		/* fd 0 would read as "not open" downstream (store/deliver.h) */
		if (fd == 0) {
			close(fd);
			(void)unlink(tx->spool_path);
			free(tx->spool_path);
			tx->spool_path = NULL;
		}
		return 0;
	}
	tx->spool_fd = fd;
	prefix = deliver_header_prefix(tx->from, a->address, true);
	tx->in_place_prefix = strlen(prefix);
	int ret = write_all(fd, prefix, tx->in_place_prefix);
	free(prefix);
	if (ret < 0) {
		log_error("smtp spool: write %s: %s", tx->spool_path, strerror(errno));
		return -1;
	}
	tx->spool_bytes = tx->in_place_prefix;
	return 1;
}

/* spool_in_queue - DATA/queue/tmp/<id>; the directory is made once (and
 * again if it has gone since). */
static int spool_in_queue(struct smtp_tx *tx, const char *data_dir)
{
	char *dir = xasprintf("%s/%s", data_dir, QUEUE_TMP_DIR);
	static bool dir_made; /* loop thread only */

	tx->spool_path = xasprintf("%s/%s", dir, tx->id);
	for (int tries = 0; tries < 2; tries++) {
		if (!dir_made && mkdir_p(dir, 0700) < 0) {
			log_error("smtp spool: mkdir %s: %s", dir, strerror(errno));
			break;
		}
		dir_made = true;
		tx->spool_fd = open(tx->spool_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (tx->spool_fd >= 0) {
			free(dir);
			return 0;
		}
		if (errno != ENOENT)
			break;
		dir_made = false;
	}
	log_error("smtp spool: open %s: %s", tx->spool_path, strerror(errno));
	free(tx->spool_path);
	tx->spool_path = NULL;
	free(dir);
	return -1;
}

int smtp_tx_spool_open(struct smtp_session *s, bool in_place)
{
	struct smtp_tx *tx = s->tx;
	const char *data_dir = dbpool_data_dir();
	const char *received;
	int ret;
	struct header_received r = {
		.helo = s->helo,
		.ip = s->peer,
		.by = s->cfg->hostname,
		.id = tx->id,
		.rcpt = tx->rcpt_count == 1 ? tx->rcpts[0].addr : NULL,
		.esmtp = s->esmtp,
		.tls_used = s->conn != NULL && conn_is_tls(s->conn),
		.authenticated = s->account != NULL,
		.smtputf8 = tx->mail.smtputf8,
		.time = time_now(),
	};

	if (data_dir == NULL)
		return -1;
	r.tz_minutes = smtp_tz_minutes(r.time);
	ret = in_place ? spool_in_place(s, data_dir) : 0;
	if (ret == 0)
		ret = spool_in_queue(tx, data_dir);
	if (ret < 0)
		return -1;
	received = header_received(tx->pool, &r);
	if (received == NULL || write_all(tx->spool_fd, received, strlen(received)) < 0) {
		log_error("smtp spool: write %s: %s", tx->spool_path, strerror(errno));
		return -1;
	}
	tx->spool_bytes += strlen(received);
	tx->hdr = header_new();
	return 0;
}

/* spool_writeback - an in-place copy: start writing what arrived to disk
 * (a hint; the fsync at delivery is what counts). */
static void spool_writeback(struct smtp_tx *tx)
{
	if (tx->in_place_prefix == 0 || tx->spool_bytes - tx->spool_flushed < SMTP_WRITEBACK_STEP)
		return;
	(void)sync_file_range(tx->spool_fd, (off_t)tx->spool_flushed,
			      (off_t)(tx->spool_bytes - tx->spool_flushed), SYNC_FILE_RANGE_WRITE);
	tx->spool_flushed = tx->spool_bytes;
}

void smtp_tx_spool_write(struct smtp_tx *tx, const void *data, size_t len, uint64_t max)
{
	if (len == 0)
		return;
	tx->size += len;
	if (tx->size > max)
		tx->too_big = true;
	if (!tx->hdr_done && tx->hdr != NULL) {
		size_t consumed;
		const char *error;
		if (header_feed(tx->hdr, data, len, &consumed, &error) != 0)
			tx->hdr_done = true; /* ended, or past its limits: the rest is body */
	}
	if (tx->too_big || tx->write_failed)
		return;
	if (write_all(tx->spool_fd, data, len) < 0) {
		log_error("smtp spool: write %s: %s", tx->spool_path, strerror(errno));
		tx->write_failed = true;
		return;
	}
	tx->spool_bytes += len;
	spool_writeback(tx);
}

/* smtp_tx_msgid - the Message-ID for the journal, or NULL. */
static const char *smtp_tx_msgid(struct smtp_tx *tx)
{
	size_t iter = 0;
	const struct header_field *f;

	if (tx->hdr == NULL || (f = header_find(tx->hdr, "Message-ID", &iter)) == NULL)
		return NULL;
	return p_strndup(tx->pool, f->value, f->value_len < SMTP_MSGID_MAX ? f->value_len
									 : SMTP_MSGID_MAX);
}

/* smtp_tx_refusal - what makes the whole message unacceptable, checked in
 * this order once the last octet is in. */
static const char *smtp_tx_refusal(struct smtp_tx *tx)
{
	if (tx->bare_newline)
		return "smtp.bare-newline";
	if (tx->too_big)
		return "smtp.message-too-big";
	if (tx->write_failed)
		return "smtp.storage-failed";
	/* RFC 5321 6.3; ours is one more hop */
	if (tx->hdr != NULL && header_count(tx->hdr, "Received") + 1 > DELIVER_HOPS_MAX)
		return "deliver.too-many-hops";
	return NULL;
}

void smtp_tx_commit(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	const char *reason, *msgid;
	char detail[128];

	if (tx->hdr != NULL && !tx->hdr_done)
		(void)header_finish(tx->hdr);
	msgid = smtp_tx_msgid(tx);
	if ((reason = smtp_tx_refusal(tx)) != NULL) {
		(void)snprintf(detail, sizeof(detail), "size=%" PRIu64 " nrcpt=%u", tx->size,
			       tx->rcpt_count);
		log_info("smtp refuse sid=%s peer=%s id=%s reason=%s %s", s->sid, s->peer, tx->id,
			 reason, detail);
		smtp_journal(s, "refuse", reason, s->account, msgid, tx->id, detail);
		smtp_reply_reason(s, reason, NULL);
		smtp_tx_reset(s);
		return;
	}
	/* no fsync here: the mailbox copies and the queue file are what is
	 * made durable (on a worker); the spool is only their source. Its
	 * descriptor goes with it (smtp_deliver_submit). */
	s->messages++;
	smtp_deliver_submit(s, msgid);
	smtp_tx_reset(s);
}
