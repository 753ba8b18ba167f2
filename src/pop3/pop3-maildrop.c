/* SPDX-License-Identifier: ISC */
/*
 * pop3-maildrop.c - a session's maildrop: the lock, the listing taken at
 * login, and the UPDATE state that applies deletions at QUIT.
 *
 * The maildrop is INBOX as the account's mail index (store/index.h)
 * lists it, the index IMAP uses: same messages, same UIDs. At login it is
 * synced with the Maildir (new mail moves to cur/, as Dovecot does) and
 * listed once; message numbers, sizes (the CRLF octet counts of RFC 1939,
 * the Maildir W= size) and UIDs stay fixed for the session (RFC 1939 5),
 * even when IMAP expunges meanwhile (RETR of such a message says so).
 *
 * UIDL is "%08X%08X" of the message's UID and its mailbox's UIDVALIDITY,
 * Dovecot's default pop3_uidl_format (%08Xu%08Xv): stable across sessions
 * and restarts because the index keeps UIDs; if the index ever has to be
 * rebuilt it hands out a new UIDVALIDITY, every UIDL changes, and clients
 * that "leave mail on the server" download it again rather than miss any.
 *
 * DELE only marks. QUIT in TRANSACTION enters UPDATE: on a worker the
 * retrieved messages get \Seen (Dovecot does the same unless
 * pop3_no_flag_updates), the marked ones \Deleted and are expunged -
 * exactly those UIDs, never another client's \Deleted messages. A
 * session that ends any other way deletes nothing (RFC 1939 6).
 *
 * The lock (RFC 1939 8: "exclusive-access lock on the maildrop") is an
 * in-process table keyed by account, on the loop thread: postino is one
 * process, so nothing else needs to see it. It is taken before the
 * listing and released only after the UPDATE is on disk, so the next
 * session never lists a message the last one deleted.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "core/dbpool.h"
#include "core/journal.h"
#include "core/worker.h"
#include "directory/directory.h"
#include "store/index.h"
#include "pop3/pop3-private.h"

#define POP3_LOCK_BUCKETS 256
/* The journal detail of a QUIT or an abandoned session. */
#define POP3_SUMMARY_MAX 256

struct pop3_lock {
	char *account;
	uint64_t owner;          /* session id */
	struct pop3_lock *next;
};

static struct pop3_lock *pop3_locks[POP3_LOCK_BUCKETS];

/* ---- the lock table ---- */

static struct pop3_lock **pop3_lock_bucket(const char *account)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)account; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return &pop3_locks[h % POP3_LOCK_BUCKETS];
}

int pop3_lock_take(const char *account, uint64_t owner)
{
	struct pop3_lock **bucket = pop3_lock_bucket(account), *l;

	for (l = *bucket; l != NULL; l = l->next) {
		if (strcmp(l->account, account) == 0)
			return l->owner == owner ? 0 : -1;
	}
	l = xcalloc(1, sizeof(*l));
	l->account = xstrdup(account);
	l->owner = owner;
	l->next = *bucket;
	*bucket = l;
	return 0;
}

void pop3_lock_release(const char *account, uint64_t owner)
{
	for (struct pop3_lock **lp = pop3_lock_bucket(account); *lp != NULL; lp = &(*lp)->next) {
		struct pop3_lock *l = *lp;
		if (strcmp(l->account, account) == 0) {
			if (l->owner == owner) {
				*lp = l->next;
				free(l->account);
				free(l);
			}
			return;
		}
	}
}

/* ---- pure helpers ---- */

size_t pop3_uid_ranges(const uint32_t *uids, size_t count, uint32_t (*ranges)[2])
{
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		if (n > 0 && ranges[n - 1][1] != UINT32_MAX && uids[i] == ranges[n - 1][1] + 1) {
			ranges[n - 1][1] = uids[i];
			continue;
		}
		ranges[n][0] = ranges[n][1] = uids[i];
		n++;
	}
	return n;
}

void pop3_uidl(uint32_t uidvalidity, uint32_t uid, char out[POP3_UIDL_MAX])
{
	(void)snprintf(out, POP3_UIDL_MAX, "%08X%08X", uid, uidvalidity);
}

void pop3_maildrop_clear(struct pop3_maildrop *drop)
{
	free(drop->msgs);
	memset(drop, 0, sizeof(*drop));
}

/* ---- login: open and list ---- */

struct open_job {
	char *account;
	/* out */
	int ret;
	struct index *index;
	struct pop3_maildrop drop;
	struct index_error error;
};

static int open_error(struct index_error *error_r, const char *text)
{
	error_r->reason = "store.io-error";
	(void)snprintf(error_r->text, sizeof(error_r->text), "%s", text);
	return -1;
}

/* open_list - the messages of INBOX, ascending UIDs. */
static int open_list(struct index *index, struct pop3_maildrop *drop, struct index_error *error_r)
{
	struct index_iter *it;
	struct index_message m;
	uint32_t cap = 0;
	int ret;

	if (index_iter_init(index, drop->mailbox_id, NULL, 0, false, &it) < 0)
		return open_error(error_r, "cannot list INBOX");
	while ((ret = index_iter_next(it, &m)) > 0) {
		if (drop->count == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			drop->msgs = xrealloc(drop->msgs, cap * sizeof(*drop->msgs));
		}
		drop->msgs[drop->count++] = (struct pop3_message){ .uid = m.uid, .size = m.vsize };
		drop->size += m.vsize;
	}
	index_iter_deinit(&it);
	return ret < 0 ? open_error(error_r, "reading INBOX failed") : 0;
}

/* open_index - the account's index, with its quota limits. */
static int open_index(struct db *db, const char *address, struct index **index_r,
		      struct index_error *error_r)
{
	struct index_settings set = { .data_dir = dbpool_data_dir() };
	struct account a;
	struct domain d;
	int ret;

	if (db == NULL || account_get(db, address, &a) <= 0)
		return open_error(error_r, "account lookup failed");
	if (domain_get(db, a.domain, &d) > 0) {
		set.domain_quota_bytes = d.quota_bytes;
		domain_clear(&d);
	}
	set.account = &a;
	ret = index_open(&set, index_r, error_r);
	account_clear(&a);
	return ret;
}

static void open_job_run(void *arg)
{
	struct open_job *job = arg;
	struct index_status st;

	job->ret = -1;
	if (open_index(dbpool_get(), job->account, &job->index, &job->error) < 0)
		return;
	if (index_mailbox_status(job->index, "INBOX", INDEX_SYNC_READ_WRITE, &st, &job->error) < 0)
		return;
	job->drop.mailbox_id = st.mailbox_id;
	job->drop.uidvalidity = st.uidvalidity;
	job->ret = open_list(job->index, &job->drop, &job->error);
}

static void open_job_free(struct open_job *job)
{
	index_close(&job->index);
	pop3_maildrop_clear(&job->drop);
	free(job->account);
	free(job);
}

static void open_job_done(uint64_t id, void *arg)
{
	struct open_job *job = arg;
	struct pop3_session *s = pop3_session_lookup(id);

	if (s == NULL || job->ret < 0) {
		pop3_lock_release(job->account, id);
		if (s != NULL) {
			log_error("pop3 maildrop sid=%s account=%s: %s: %s", s->sid, job->account,
				  job->error.reason, job->error.text);
			s->locked = false;
			free(s->account);
			s->account = NULL;
			pop3_refuse(s, "pop3.store-error", job->account, job->error.text);
			pop3_session_resume(s);
		}
		open_job_free(job);
		return;
	}
	s->index = job->index;
	job->index = NULL;
	s->drop = job->drop;
	memset(&job->drop, 0, sizeof(job->drop));
	pop3_set_state(s, POP3_STATE_TRANSACTION);
	log_info("pop3 maildrop sid=%s account=%s messages=%u octets=%" PRIu64, s->sid,
		 s->account, s->drop.count, s->drop.size);
	pop3_ok(s, "Maildrop locked and ready, %u messages (%" PRIu64 " octets)", s->drop.count,
		s->drop.size);
	open_job_free(job);
	pop3_session_resume(s);
}

void pop3_maildrop_open(struct pop3_session *s)
{
	struct open_job *job = xcalloc(1, sizeof(*job));

	job->account = xstrdup(s->account);
	pop3_session_suspend(s);
	worker_submit(open_job_run, open_job_done, s->id, job);
}

/* ---- QUIT: the UPDATE state ---- */

struct update_job {
	char *account;
	char sid[32], peer[64];
	struct index *index;
	int64_t mailbox_id;
	uint32_t *seen, *deleted;   /* ascending UIDs */
	size_t seen_count, deleted_count;
	uint32_t retrieved;
	uint64_t retrieved_octets;
	/* out */
	int ret;
	size_t expunged;
};

/* update_flag - add flag to the messages of uids. */
static int update_flag(struct update_job *job, const uint32_t *uids, size_t count,
		       unsigned flag, struct index_error *error_r)
{
	uint32_t (*pairs)[2] = xcalloc(count, sizeof(*pairs));
	struct index_uid_range *ranges = xcalloc(count, sizeof(*ranges));
	struct index_store store = { .mode = INDEX_STORE_ADD, .flags = flag };
	struct index_store_result result;
	size_t n = pop3_uid_ranges(uids, count, pairs);
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		ranges[i] = (struct index_uid_range){ pairs[i][0], pairs[i][1] };
	if (index_store_flags(job->index, job->mailbox_id, ranges, n, &store, &result, error_r) < 0)
		ret = -1;
	else
		index_store_result_clear(&result);
	if (ret == 0 && flag == INDEX_FLAG_DELETED) {
		uint32_t *expunged = NULL;
		if (index_expunge(job->index, job->mailbox_id, ranges, n, &expunged,
				  &job->expunged, error_r) < 0)
			ret = -1;
		free(expunged);
	}
	free(ranges);
	free(pairs);
	return ret;
}

static void update_journal(struct update_job *job, const char *reason, const char *detail)
{
	struct journal_session who = { "pop3", job->sid, job->peer, job->account };

	journal_session_add(&who, "change", reason, job->account, detail);
}

static void update_job_run(void *arg)
{
	struct update_job *job = arg;
	struct index_error error = { .reason = NULL };
	char detail[POP3_SUMMARY_MAX];

	job->ret = 0;
	/* \Seen is a courtesy to IMAP clients: its failure deletes nothing */
	if (job->seen_count > 0 &&
	    update_flag(job, job->seen, job->seen_count, INDEX_FLAG_SEEN, &error) < 0)
		log_warn("pop3 update sid=%s: \\Seen not stored: %s", job->sid, error.text);
	if (job->deleted_count > 0 &&
	    update_flag(job, job->deleted, job->deleted_count, INDEX_FLAG_DELETED, &error) < 0) {
		log_error("pop3 update sid=%s account=%s: %s: %s", job->sid, job->account,
			  error.reason, error.text);
		job->ret = -1;
	}
	index_close(&job->index);
	(void)snprintf(detail, sizeof(detail),
		       "retrieved=%u octets=%" PRIu64 " deleted=%zu expunged=%zu%s%.100s",
		       job->retrieved, job->retrieved_octets, job->deleted_count, job->expunged,
		       job->ret < 0 ? " error=" : "", job->ret < 0 ? error.text : "");
	update_journal(job, job->ret < 0 ? "pop3.update-failed" : "pop3.update", detail);
}

static void update_job_free(struct update_job *job)
{
	index_close(&job->index);
	free(job->seen);
	free(job->deleted);
	free(job->account);
	free(job);
}

static void update_job_done(uint64_t id, void *arg)
{
	struct update_job *job = arg;
	struct pop3_session *s = pop3_session_lookup(id);

	/* the deletions are on disk: the next session may list the maildrop */
	pop3_lock_release(job->account, id);
	if (s != NULL) {
		s->locked = false;
		log_info("pop3 update sid=%s account=%s retrieved=%u deleted=%zu expunged=%zu",
			 s->sid, s->account, job->retrieved, job->deleted_count, job->expunged);
		if (job->ret < 0)
			pop3_err(s, "pop3.update-failed", NULL, false);
		else
			pop3_ok(s, "postino signing off (%zu messages deleted)", job->expunged);
		pop3_session_close(s, "quit");
	}
	update_job_free(job);
}

void pop3_maildrop_update(struct pop3_session *s)
{
	struct update_job *job = xcalloc(1, sizeof(*job));
	const struct pop3_maildrop *d = &s->drop;

	job->account = xstrdup(s->account);
	if (str_copy(job->sid, s->sid, sizeof(job->sid)) < 0 ||
	    str_copy(job->peer, s->peer, sizeof(job->peer)) < 0)
		panic("pop3: sid or peer does not fit the update job");
	job->index = s->index;
	s->index = NULL;
	job->mailbox_id = d->mailbox_id;
	job->seen = xcalloc(d->count + 1, sizeof(*job->seen));
	job->deleted = xcalloc(d->count + 1, sizeof(*job->deleted));
	for (uint32_t i = 0; i < d->count; i++) {
		if (d->msgs[i].deleted)
			job->deleted[job->deleted_count++] = d->msgs[i].uid;
		else if (d->msgs[i].retrieved)
			job->seen[job->seen_count++] = d->msgs[i].uid;
	}
	job->retrieved = s->retrieved;
	job->retrieved_octets = s->retrieved_octets;
	pop3_set_state(s, POP3_STATE_UPDATE);
	pop3_session_suspend(s);
	worker_submit(update_job_run, update_job_done, s->id, job);
}

void pop3_maildrop_abandon(struct pop3_session *s, const char *why)
{
	char detail[POP3_SUMMARY_MAX];

	(void)snprintf(detail, sizeof(detail),
		       "%s; retrieved=%u octets=%" PRIu64 " marked-deleted=%u (kept)", why,
		       s->retrieved, s->retrieved_octets, s->drop.deleted);
	log_info("pop3 abandon sid=%s account=%s %s", s->sid, s->account, detail);
	pop3_journal(s, "stop", "pop3.aborted", s->account, detail);
}
