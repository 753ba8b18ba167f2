/* SPDX-License-Identifier: ISC */
/*
 * deliver.c - local delivery: per-recipient decisions, Return-Path and
 * Delivered-To, quota, forwarding, and one durable batch for all copies.
 *
 * DESIGN. deliver_run_batch() takes received messages (a spool file or a
 * buffer) with their local recipients and, for each recipient, walks a
 * table of refusals (disabled, cannot receive, too many hops, Delivered-To
 * loop), then forwarding without a copy, then quota. Every copy that may
 * be stored goes into one maildir_deliver_batch(), so N concurrent
 * messages for one mailbox share one directory fsync. The result of a
 * recipient is all or nothing: if its local copy cannot be stored it is
 * refused (and its forwards are not handed out), so the sender's retry
 * cannot produce a forwarded duplicate.
 *
 * Threads: deliver_run*() does file I/O only and runs on a worker; it
 * writes every decision into the job. deliver_journal() takes the calling
 * thread's own database connection (the worker's from core/dbpool.h, or
 * the loop's). See deliver.h.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/journal.h"
#include "directory/directory.h"
#include "store/deliver.h"
#include "store/maildir.h"
#include "store/quota.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define REASON_OK "deliver.ok"
#define REASON_IO "deliver.io-error"
#define REASON_FORWARD "deliver.forward"
#define REASON_FORWARD_NO_COPY "deliver.forward-no-copy"
#define REASON_QUOTA_WARNING "deliver.quota-warning"
#define NO_ITEM SIZE_MAX

/* One message of the batch. */
struct job_work {
	struct deliver_job *job;
	struct maildir_source src;
	bool src_owned;      /* src.fd was opened here */
	char *hdr_buf;       /* the header block read from the spool */
	const char *hdr;     /* hdr_buf, or the job's buffer */
	size_t hdr_len;
	bool crlf;           /* the message's line ending, for our lines */
	int error;           /* errno when the spool could not be read */
};

/* Usage of one mailbox (or domain) as read, plus what this batch adds. */
struct usage_entry {
	const char *key;     /* account address or domain name */
	struct quota_usage usage;
};

struct usage_table {
	struct usage_entry *entries;
	size_t count;        /* capacity is the batch's recipient count */
};

/* One recipient of the batch. */
struct rcpt_work {
	struct job_work *jw;
	struct deliver_rcpt *rcpt;
	char *prefix;
	char *dir;
	size_t item;         /* index in the maildir batch, or NO_ITEM */
};

/* A refusal that depends on the account or the message, not on space. */
struct deliver_check {
	const char *reason;
	bool (*refuses)(const struct job_work *jw, struct deliver_rcpt *rcpt);
};

static bool refuse_disabled(const struct job_work *jw, struct deliver_rcpt *rcpt);
static bool refuse_no_receive(const struct job_work *jw, struct deliver_rcpt *rcpt);
static bool refuse_hops(const struct job_work *jw, struct deliver_rcpt *rcpt);
static bool refuse_loop(const struct job_work *jw, struct deliver_rcpt *rcpt);

/* In order: what the admin set comes first, so `why` names the cause the
 * admin can act on; then what the message itself shows. */
static const struct deliver_check deliver_checks[] = {
	{ "deliver.disabled", refuse_disabled },
	{ "deliver.no-receive", refuse_no_receive },
	{ "deliver.too-many-hops", refuse_hops },
	{ "deliver.loop", refuse_loop },
};

/* The journal's decision word per action. */
static const char *const action_decisions[] = {
	[DELIVER_REFUSED] = "refuse",
	[DELIVER_STORED] = "deliver",
	[DELIVER_FORWARDED] = "forward",
};

/* ---- header fields ---- */

struct header_iter {
	const char *p, *end;
};

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl != NULL ? nl : end;
}

/* header_next - the next field before the empty line that ends the
 * header block: its name and raw (possibly folded) value. Lines that are
 * neither a field nor a continuation are skipped. */
static bool header_next(struct header_iter *it, const char **name_r, size_t *name_len_r,
			const char **value_r, size_t *value_len_r)
{
	while (it->p < it->end) {
		const char *start = it->p, *eol = line_end(start, it->end);
		size_t len = (size_t)(eol - start);
		if (len > 0 && start[len - 1] == '\r')
			len--;
		if (len == 0) {
			it->p = it->end; /* the empty line: the body follows */
			return false;
		}
		it->p = eol < it->end ? eol + 1 : eol;
		if (start[0] == ' ' || start[0] == '\t')
			continue; /* a continuation without a field */
		const char *colon = memchr(start, ':', len);
		if (colon == NULL)
			continue;
		size_t name_len = (size_t)(colon - start);
		while (name_len > 0 && (start[name_len - 1] == ' ' || start[name_len - 1] == '\t'))
			name_len--; /* RFC 5322 4.5.3: obsolete WSP before the colon */
		const char *value_end = start + len;
		/* RFC 5322 2.2.3: unfold the lines that start with WSP */
		while (it->p < it->end && (*it->p == ' ' || *it->p == '\t')) {
			const char *next = line_end(it->p, it->end);
			value_end = next > it->p && next[-1] == '\r' ? next - 1 : next;
			it->p = next < it->end ? next + 1 : next;
		}
		*name_r = start;
		*name_len_r = name_len;
		*value_r = colon + 1;
		*value_len_r = (size_t)(value_end - (colon + 1));
		return true;
	}
	return false;
}

static bool name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && str_ncasecmp(name, want, len) == 0;
}

unsigned deliver_count_received(const char *msg, size_t len)
{
	struct header_iter it = { msg, msg + len };
	const char *name, *value;
	size_t name_len, value_len;
	unsigned n = 0;

	while (header_next(&it, &name, &name_len, &value, &value_len)) {
		if (name_is(name, name_len, "Received"))
			n++;
	}
	return n;
}

/* value_is_address - the unfolded value, trimmed, without <>, is address. */
static bool value_is_address(const char *value, size_t len, const char *address)
{
	size_t alen = strlen(address), start = 0, end = len;

	while (start < end && strchr(" \t\r\n", value[start]) != NULL)
		start++;
	while (end > start && strchr(" \t\r\n", value[end - 1]) != NULL)
		end--;
	if (end - start >= 2 && value[start] == '<' && value[end - 1] == '>') {
		start++;
		end--;
	}
	return end - start == alen && str_ncasecmp(value + start, address, alen) == 0;
}

bool deliver_has_delivered_to(const char *msg, size_t len, const char *address)
{
	struct header_iter it = { msg, msg + len };
	const char *name, *value;
	size_t name_len, value_len;

	while (header_next(&it, &name, &name_len, &value, &value_len)) {
		if (name_is(name, name_len, "Delivered-To") &&
		    value_is_address(value, value_len, address))
			return true;
	}
	return false;
}

/* printable - s without control characters: a header line must stay one
 * line whatever the envelope held. Caller frees. */
static char *printable(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p >= 0x20 && *p != 0x7f)
			*o++ = (char)*p;
	}
	*o = '\0';
	return out;
}

char *deliver_header_prefix(const char *return_path, const char *address, bool crlf)
{
	const char *eol = crlf ? "\r\n" : "\n";
	char *addr = printable(address), *rp = NULL, *prefix;

	if (return_path != NULL) {
		rp = printable(return_path);
		prefix = xasprintf("Return-Path: <%s>%sDelivered-To: %s%s", rp, eol, addr, eol);
	} else {
		prefix = xasprintf("Delivered-To: %s%s", addr, eol);
	}
	free(rp);
	free(addr);
	return prefix;
}

/* ---- the message ---- */

static int read_at(int fd, char *buf, size_t len, uint64_t start)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = pread(fd, buf + off, len - off, (off_t)(start + off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* job_open - the spool (or buffer), its header block, hops, line ending. */
static void job_open(struct job_work *jw)
{
	struct deliver_job *job = jw->job;
	struct stat st;

	jw->src.fd = -1;
	if (job->spool_path != NULL) {
		int fd = job->spool_fd > 0 ? job->spool_fd : open(job->spool_path, O_RDONLY | O_CLOEXEC);
		jw->src_owned = job->spool_fd <= 0;
		if (fd < 0 || fstat(fd, &st) < 0)
			jw->error = errno;
		else if ((uint64_t)st.st_size < job->in_place_prefix)
			jw->error = EIO; /* shorter than our own first lines */
		if (jw->error != 0) {
			if (fd >= 0 && jw->src_owned)
				close(fd);
			return;
		}
		jw->src.fd = fd;
		/* the message without the in-place copy's own first lines */
		jw->src.size = (uint64_t)st.st_size - job->in_place_prefix;
		jw->hdr_len = jw->src.size < DELIVER_HEADER_SCAN_MAX ? (size_t)jw->src.size :
								      DELIVER_HEADER_SCAN_MAX;
		jw->hdr_buf = xmalloc(jw->hdr_len + 1);
		if (read_at(fd, jw->hdr_buf, jw->hdr_len, job->in_place_prefix) < 0) {
			jw->error = errno;
			return;
		}
		jw->hdr = jw->hdr_buf;
	} else {
		jw->src.data = job->data;
		jw->src.size = job->size;
		jw->hdr = job->data;
		jw->hdr_len = job->size < DELIVER_HEADER_SCAN_MAX ? job->size : DELIVER_HEADER_SCAN_MAX;
	}
	const char *nl = jw->hdr_len > 0 ? memchr(jw->hdr, '\n', jw->hdr_len) : NULL;
	jw->crlf = nl != NULL && nl > jw->hdr && nl[-1] == '\r';
	job->hops = deliver_count_received(jw->hdr, jw->hdr_len);
}

static void job_close(struct job_work *jw)
{
	if (jw->src.fd >= 0 && jw->src_owned)
		close(jw->src.fd);
	jw->src.fd = -1;
	free(jw->hdr_buf);
	jw->hdr_buf = NULL;
}

/* ---- decisions ---- */

static void detail_set(struct deliver_rcpt *rcpt, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);

/* detail_set - journal text; a truncated one says so. */
static void detail_set(struct deliver_rcpt *rcpt, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rcpt->detail, sizeof(rcpt->detail), fmt, ap);
	va_end(ap);
	if (n < 0)
		rcpt->detail[0] = '\0';
	else if ((size_t)n >= sizeof(rcpt->detail))
		memcpy(rcpt->detail + sizeof(rcpt->detail) - 4, "...", 4);
}

static bool refuse_disabled(const struct job_work *jw, struct deliver_rcpt *rcpt)
{
	const struct account *a = rcpt->account;

	if (!a->disabled)
		return false;
	/* the admin's reason goes to the journal only: the client is told
	 * the row's fixed text (reason.c) */
	detail_set(rcpt, "mailbox disabled by %s: %s", a->disabled_by != NULL ? a->disabled_by : "?",
		   a->disabled_reason != NULL ? a->disabled_reason : "");
	return true;
}

static bool refuse_no_receive(const struct job_work *jw, struct deliver_rcpt *rcpt)
{
	if (rcpt->account->can_receive)
		return false;
	detail_set(rcpt, "can-receive=no");
	return true;
}

static bool refuse_hops(const struct job_work *jw, struct deliver_rcpt *rcpt)
{
	if (jw->job->hops <= DELIVER_HOPS_MAX)
		return false;
	detail_set(rcpt, "%u Received fields, limit %u", jw->job->hops, DELIVER_HOPS_MAX);
	return true;
}

static bool refuse_loop(const struct job_work *jw, struct deliver_rcpt *rcpt)
{
	if (!deliver_has_delivered_to(jw->hdr, jw->hdr_len, rcpt->account->address))
		return false;
	detail_set(rcpt, "message already has Delivered-To: %s", rcpt->account->address);
	return true;
}

static struct usage_entry *usage_find(struct usage_table *t, const char *key)
{
	for (size_t i = 0; i < t->count; i++) {
		if (strcmp(t->entries[i].key, key) == 0)
			return &t->entries[i];
	}
	return NULL;
}

/* usage_of - the mailbox's usage, read once per batch; NULL on error. */
static struct usage_entry *usage_of(struct usage_table *t, const char *data_dir,
				    const struct account *a)
{
	struct usage_entry *e = usage_find(t, a->address);

	if (e != NULL)
		return e;
	e = &t->entries[t->count];
	if (quota_usage(data_dir, a, &e->usage) < 0)
		return NULL;
	e->key = a->address;
	t->count++;
	return e;
}

static struct usage_entry *domain_usage_of(struct usage_table *t, const char *data_dir,
					   const char *domain)
{
	struct usage_entry *e = usage_find(t, domain);

	if (e != NULL)
		return e;
	e = &t->entries[t->count];
	if (quota_domain_usage(data_dir, domain, &e->usage) < 0)
		return NULL;
	e->key = domain;
	t->count++;
	return e;
}

static void refuse(struct deliver_rcpt *rcpt, const char *reason)
{
	rcpt->action = DELIVER_REFUSED;
	rcpt->reason = reason;
	rcpt->forward = NULL;
	rcpt->forward_count = 0;
}

static void set_forward(struct deliver_rcpt *rcpt)
{
	rcpt->forward = (const char *const *)rcpt->account->forward;
	rcpt->forward_count = rcpt->account->forward_count;
}

/* rcpt_quota - room for this copy; it is counted as used by the batch. */
static bool rcpt_quota(struct rcpt_work *rw, struct usage_table *users,
		       struct usage_table *domains, uint64_t incoming)
{
	struct deliver_rcpt *rcpt = rw->rcpt;
	const char *data_dir = rw->jw->job->data_dir;
	struct usage_entry *u, *d = NULL;
	struct quota_result res;

	u = usage_of(users, data_dir, rcpt->account);
	if (u != NULL && rcpt->domain_quota_bytes != 0)
		d = domain_usage_of(domains, data_dir, rcpt->account->domain);
	if (u == NULL || (rcpt->domain_quota_bytes != 0 && d == NULL)) {
		detail_set(rcpt, "quota: %s", strerror(errno));
		refuse(rcpt, REASON_IO);
		return false;
	}
	quota_evaluate(rcpt->account, rcpt->domain_quota_bytes, &u->usage,
		       d != NULL ? &d->usage : NULL, incoming, &res);
	if (res.verdict != QUOTA_ALLOWED) {
		detail_set(rcpt, "would use %" PRIu64 " of %" PRIu64 " (message %" PRIu64 " bytes)",
			   res.used, res.limit, incoming);
		refuse(rcpt, res.reason);
		return false;
	}
	u->usage.bytes += incoming;
	u->usage.messages++;
	if (d != NULL) {
		d->usage.bytes += incoming;
		d->usage.messages++;
	}
	rcpt->usage = u->usage;
	return true;
}

/* rcpt_decide - everything but the storing; adds a batch item when the
 * recipient gets a local copy. */
static void rcpt_decide(struct rcpt_work *rw, struct usage_table *users,
			struct usage_table *domains, struct maildir_delivery *items, size_t *nitems)
{
	struct deliver_rcpt *rcpt = rw->rcpt;
	const struct account *a = rcpt->account;
	struct job_work *jw = rw->jw;
	const char *error;
	char *root;

	rw->item = NO_ITEM;
	if (jw->error != 0) {
		detail_set(rcpt, "spool %s: %s", jw->job->spool_path, strerror(jw->error));
		refuse(rcpt, REASON_IO);
		return;
	}
	for (size_t i = 0; i < N_ELEMENTS(deliver_checks); i++) {
		if (deliver_checks[i].refuses(jw, rcpt)) {
			refuse(rcpt, deliver_checks[i].reason);
			return;
		}
	}
	if (a->forward_count > 0 && !a->forward_keep_copy) {
		rcpt->action = DELIVER_FORWARDED;
		rcpt->reason = REASON_FORWARD_NO_COPY;
		set_forward(rcpt);
		detail_set(rcpt, "forward-keep-copy=no: no local copy, %zu forward target(s)",
			   a->forward_count);
		return;
	}
	root = maildir_account_path(jw->job->data_dir, a);
	if (maildir_folder_path(root, rcpt->folder, &rw->dir, &error) < 0) {
		/* never lose mail over a filter's bad folder name */
		log_warn("deliver: rcpt=%s folder '%s': %s, using INBOX", a->address, rcpt->folder,
			 error);
		rw->dir = xstrdup(root);
	}
	free(root);
	rw->prefix = deliver_header_prefix(jw->job->return_path, a->address, jw->crlf);
	if (jw->job->in_place_prefix > 0 && (jw->job->rcpt_count != 1 || rcpt->folder != NULL ||
					     strlen(rw->prefix) != jw->job->in_place_prefix)) {
		/* the copy was written for another recipient or folder */
		detail_set(rcpt, "in-place copy %s does not match the recipient",
			   jw->job->spool_path);
		refuse(rcpt, REASON_IO);
		return;
	}
	if (!rcpt_quota(rw, users, domains, strlen(rw->prefix) + jw->src.size))
		return;
	rcpt->action = DELIVER_STORED;
	rcpt->reason = REASON_OK;
	rw->item = (*nitems)++;
	items[rw->item] = (struct maildir_delivery){
		.dir = rw->dir,
		.prefix = rw->prefix,
		.prefix_len = strlen(rw->prefix),
		.src = &jw->src,
		.written = jw->job->in_place_prefix > 0 ? jw->job->spool_path : NULL,
	};
}

/* rcpt_finish - the storing's outcome, the quota file and the warning. */
static void rcpt_finish(struct rcpt_work *rw, const struct maildir_delivery *items)
{
	struct deliver_rcpt *rcpt = rw->rcpt;
	const char *data_dir = rw->jw->job->data_dir;
	const struct maildir_delivery *it;

	if (rw->item == NO_ITEM)
		return;
	it = &items[rw->item];
	if (it->error != 0) {
		detail_set(rcpt, "%s: %s", it->failed_step, strerror(it->error));
		refuse(rcpt, REASON_IO);
		return;
	}
	memcpy(rcpt->file, it->name, sizeof(rcpt->file));
	rcpt->stored_size = it->size;
	set_forward(rcpt);
	detail_set(rcpt, "folder=%s file=%s size=%" PRIu64, rcpt->folder != NULL ? rcpt->folder : "INBOX",
		   it->name, it->size);
	/* the message is safe; bookkeeping failures only cost a recount */
	if (quota_update(data_dir, rcpt->account, (int64_t)it->size, 1) < 0)
		log_warn("deliver: rcpt=%s quota update: %s", rcpt->account->address, strerror(errno));
	if (quota_warning_update(data_dir, rcpt->account, &rcpt->usage, &rcpt->quota_warning) < 0)
		log_warn("deliver: rcpt=%s quota warning: %s", rcpt->account->address, strerror(errno));
}

static void rcpt_reset(struct deliver_rcpt *rcpt)
{
	rcpt->action = DELIVER_REFUSED;
	rcpt->reason = NULL;
	rcpt->forward = NULL;
	rcpt->forward_count = 0;
	rcpt->file[0] = '\0';
	rcpt->stored_size = 0;
	memset(&rcpt->usage, 0, sizeof(rcpt->usage));
	rcpt->quota_warning = false;
	rcpt->detail[0] = '\0';
}

int deliver_run_batch(struct deliver_job *const *jobs, size_t count)
{
	size_t total = 0, k = 0, nitems = 0;
	int ret = 0;

	for (size_t j = 0; j < count; j++)
		total += jobs[j]->rcpt_count;
	struct job_work *jw = xcalloc(count, sizeof(*jw));
	struct rcpt_work *rw = xcalloc(total, sizeof(*rw));
	struct maildir_delivery *items = xcalloc(total, sizeof(*items));
	struct usage_table users = { xcalloc(total, sizeof(struct usage_entry)), 0 };
	struct usage_table domains = { xcalloc(total, sizeof(struct usage_entry)), 0 };

	for (size_t j = 0; j < count; j++) {
		jw[j].job = jobs[j];
		jobs[j]->hops = 0;
		job_open(&jw[j]);
		for (size_t i = 0; i < jobs[j]->rcpt_count; i++, k++) {
			rw[k].jw = &jw[j];
			rw[k].rcpt = &jobs[j]->rcpts[i];
			rcpt_reset(rw[k].rcpt);
			rcpt_decide(&rw[k], &users, &domains, items, &nitems);
		}
	}
	if (nitems > 0)
		(void)maildir_deliver_batch(items, nitems); /* outcomes are per item */
	for (k = 0; k < total; k++) {
		rcpt_finish(&rw[k], items);
		if (rw[k].rcpt->action == DELIVER_REFUSED)
			ret = -1;
		free(rw[k].prefix);
		free(rw[k].dir);
	}
	for (size_t j = 0; j < count; j++) {
		jobs[j]->decided_ms = time_now_ms();
		job_close(&jw[j]);
	}
	free(users.entries);
	free(domains.entries);
	free(items);
	free(rw);
	free(jw);
	return ret;
}

int deliver_run(struct deliver_job *job)
{
	return deliver_run_batch(&job, 1);
}

/* ---- the journal (on the db's thread) ---- */

static int journal_row(struct db *db, const struct deliver_job *job,
		       const struct deliver_rcpt *rcpt, const char *decision, const char *reason,
		       const char *detail)
{
	struct journal_entry e = {
		.service = "deliver",
		.decision = decision,
		.reason = reason,
		.account = rcpt->account->address,
		.msgid = job->msgid,
		.sid = job->sid,
		.detail = detail,
		.time_ms = job->decided_ms,
	};

	return journal_add(db, &e);
}

int deliver_journal(struct db *db, const struct deliver_job *job)
{
	int ret = 0;

	for (size_t i = 0; i < job->rcpt_count; i++) {
		const struct deliver_rcpt *r = &job->rcpts[i];
		if (r->reason == NULL)
			continue; /* deliver_run has not decided it */
		log_info("deliver sid=%s msgid=%s rcpt=%s decision=%s reason=%s %s",
			 job->sid != NULL ? job->sid : "-", job->msgid != NULL ? job->msgid : "-",
			 r->account->address, action_decisions[r->action], r->reason, r->detail);
		if (journal_row(db, job, r, action_decisions[r->action], r->reason, r->detail) < 0)
			ret = -1;
		for (size_t f = 0; f < r->forward_count; f++) {
			char *detail = xasprintf("to=%s (handed to the outbound queue)", r->forward[f]);
			if (journal_row(db, job, r, "forward", REASON_FORWARD, detail) < 0)
				ret = -1;
			free(detail);
		}
		if (r->quota_warning) {
			char *detail = xasprintf("usage %" PRIu64 " bytes, %" PRIu64 " messages",
						 r->usage.bytes, r->usage.messages);
			if (journal_row(db, job, r, "warn", REASON_QUOTA_WARNING, detail) < 0)
				ret = -1;
			free(detail);
		}
	}
	return ret;
}
