/* SPDX-License-Identifier: ISC */
/*
 * deliver.h - local delivery of one received message to local mailboxes.
 *
 * How the SMTP layer uses it (issue 3):
 *
 *   loop thread   RCPT: account_get() each local recipient; keep the
 *                 struct account and the domain's quota_bytes.
 *                 After DATA: fill a struct deliver_job (spool file,
 *                 return path, recipients) and worker_submit() it.
 *   worker        deliver_run(job), or deliver_run_batch() over every job
 *                 waiting, so concurrent sessions share directory fsyncs.
 *                 File I/O only: no SQLite, no session, no loop.
 *                 Then deliver_journal(dbpool_get(), job) on the same
 *                 worker (core/dbpool.h: its own connection), or
 *   loop thread   in the done callback with the loop's connection;
 *                 reply per recipient from reason_lookup(rcpt->reason);
 *                 hand rcpt->forward[] to the outbound queue; send the
 *                 quota warning where rcpt->quota_warning is set.
 *
 * Why the journal is a separate call: a SQLite connection must not be
 * shared between threads, and the storing itself needs none. deliver_run
 * records every decision in the job (reason code and detail per
 * recipient); deliver_journal turns them into rows with whatever
 * connection belongs to the calling thread. Journalling on the worker
 * keeps SQLite writes off the loop (DESIGN.md); the job's strings must
 * then stay valid until the done callback, which they do anyway.
 */
#ifndef POSTINO_DELIVER_H
#define POSTINO_DELIVER_H

#include "lib/lib.h"
#include "store/maildir.h"
#include "store/quota.h"

struct account;
struct db;

/* RFC 5321 6.3: servers counting Received fields "SHOULD use a large
 * rejection threshold, normally at least 100". Postfix's hopcount_limit
 * is 50; we follow the RFC. A message with more is refused. */
#define DELIVER_HOPS_MAX 100
/* Loop detection reads at most this much of the header block: Postfix's
 * header_size_limit (102400), past which it stops treating lines as
 * headers. 100 hops of Received fields fit many times over. */
#define DELIVER_HEADER_SCAN_MAX (100 * 1024)
#define DELIVER_DETAIL_MAX 256

enum deliver_action {
	DELIVER_REFUSED,   /* nothing stored, nothing to forward */
	DELIVER_STORED,    /* local copy stored (and forward[] to queue, if any) */
	DELIVER_FORWARDED, /* forward-keep-copy=no: only forward[] to queue */
};

struct deliver_rcpt {
	/* in: the caller's, valid until deliver_journal has run */
	const struct account *account;
	uint64_t domain_quota_bytes;     /* the account's domain's quota; 0 = none */
	const char *folder;              /* NULL = INBOX (filters may choose "Junk") */
	/* out */
	enum deliver_action action;
	const char *reason;              /* core/reason.c code for reply and journal */
	const char *const *forward;      /* targets for the outbound queue (the account's) */
	size_t forward_count;            /* 0 unless action != DELIVER_REFUSED */
	char file[MAILDIR_NAME_MAX];     /* stored file name in new/, "" if none */
	uint64_t stored_size;
	struct quota_usage usage;        /* after this delivery, when stored */
	bool quota_warning;              /* just crossed QUOTA_WARN_PERCENT: warn once */
	char detail[DELIVER_DETAIL_MAX]; /* for the journal, never for the client */
};

struct deliver_job {
	/* in */
	const char *data_dir;
	const char *return_path;   /* envelope sender without <>; "" = null sender */
	const char *spool_path;    /* the message as received (with our Received) */
	int spool_fd;              /* > 0: spool_path already open (the caller
				    * closes it); 0 or -1: opened here */
	/* > 0: spool_path is already the copy of the job's one recipient, in
	 * its INBOX's tmp/ (maildir_tmp_create), and starts with that many
	 * bytes of deliver_header_prefix(return_path, address, CRLF); the
	 * message follows, CRLF throughout. It is stored by rename, not
	 * copied; a refused recipient leaves it to the caller to remove. */
	size_t in_place_prefix;
	const void *data;          /* ... or in memory, when spool_path is NULL */
	size_t size;
	const char *sid, *msgid;   /* for the journal; may be NULL */
	struct deliver_rcpt *rcpts;
	size_t rcpt_count;
	/* out */
	unsigned hops;             /* Received fields seen */
	int64_t decided_ms;        /* when the outcomes were known (journal rows) */
};

/* deliver_run - decide and store for every recipient of job (worker
 * thread). Returns 0 when every recipient was stored or forwarded, -1
 * when any was refused; each recipient carries its own reason. */
int deliver_run(struct deliver_job *job);
/* The same for several jobs at once: every local copy of every job is in
 * one maildir_deliver_batch(), so each new/ directory is fsynced once. */
int deliver_run_batch(struct deliver_job *const *jobs, size_t count);
/* Journal every decision of a finished job (service "deliver"); run on
 * the thread that owns db. -1 when a row could not be written (logged). */
int deliver_journal(struct db *db, const struct deliver_job *job);

/* ---- loop detection on a header block (the message's start) ---- */

/* Received fields before the first empty line. */
unsigned deliver_count_received(const char *msg, size_t len);
/* Whether a "Delivered-To:" field names address (ASCII case-insensitive,
 * with or without angle brackets). */
bool deliver_has_delivered_to(const char *msg, size_t len, const char *address);
/* The lines a local copy starts with: "Return-Path: <sender>" (RFC 5321
 * 4.4) and "Delivered-To: address", ending in CRLF or LF like the
 * message. Forwarded copies should carry the Delivered-To line too (pass
 * return_path NULL to omit Return-Path), which is what lets the next hop
 * see the loop. Caller frees. */
char *deliver_header_prefix(const char *return_path, const char *address, bool crlf);

#endif
