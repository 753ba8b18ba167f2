/* SPDX-License-Identifier: ISC */
/*
 * quota.c - mailbox and domain usage from Maildir++ "maildirsize" files,
 * the checks against the limits of struct account and struct domain, and
 * the one-time 90% warning.
 *
 * DESIGN. maildirsize (Maildir++ quota, README.maildirquota) is a first
 * line with the limits ("<bytes>S,<count>C", "0S" for none) and then
 * "<bytes> <count>" lines whose sum is the usage: the first is the total
 * at the last count, every delivery or expunge appends its delta with one
 * O_APPEND write. That keeps a delivery-time check to one small read and
 * one append, with no database handle on the worker thread, and Dovecot
 * reading the same Maildir sees the same numbers.
 *
 * The file is a cache. It is recounted (from the S= sizes of the file
 * names, stat() for names without) when it is missing, broken, longer than
 * QUOTA_FILE_MAX, written for other limits, or shows the mailbox over
 * quota while it holds deltas or is older than QUOTA_STALE_SECS (the rules
 * Dovecot applies, so a refusal is never based on a drifted sum). Races
 * between a recount and a concurrent append can make the sum drift by a
 * message until the next recount, exactly as in Courier and Dovecot;
 * quota is a limit for people, not a transaction.
 */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "directory/directory.h"
#include "store/maildir.h"
#include "store/quota.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QUOTA_FILE_MODE 0600
#define QUOTA_LINE_MAX 64 /* "<int64> <int64>\n" */

/* A parsed maildirsize. */
struct quota_file {
	uint64_t limit_bytes, limit_messages;
	int64_t bytes, messages;
	unsigned deltas;  /* lines after the limits line (the first is the total) */
	int64_t mtime;
};

/* One rule of quota_evaluate, checked in table order. */
struct quota_rule {
	enum quota_verdict verdict;
	const char *reason;
	/* the limit and what would be used with the message; 0 limit = none */
	void (*figures)(const struct account *account, uint64_t domain_quota_bytes,
			const struct quota_usage *usage, const struct quota_usage *domain_usage,
			uint64_t incoming, uint64_t *used_r, uint64_t *limit_r);
};

static void fig_too_big(const struct account *account, uint64_t domain_quota_bytes,
			const struct quota_usage *usage, const struct quota_usage *domain_usage,
			uint64_t incoming, uint64_t *used_r, uint64_t *limit_r);
static void fig_too_big_domain(const struct account *account, uint64_t domain_quota_bytes,
			       const struct quota_usage *usage,
			       const struct quota_usage *domain_usage, uint64_t incoming,
			       uint64_t *used_r, uint64_t *limit_r);
static void fig_bytes(const struct account *account, uint64_t domain_quota_bytes,
		      const struct quota_usage *usage, const struct quota_usage *domain_usage,
		      uint64_t incoming, uint64_t *used_r, uint64_t *limit_r);
static void fig_messages(const struct account *account, uint64_t domain_quota_bytes,
			 const struct quota_usage *usage, const struct quota_usage *domain_usage,
			 uint64_t incoming, uint64_t *used_r, uint64_t *limit_r);
static void fig_domain(const struct account *account, uint64_t domain_quota_bytes,
		       const struct quota_usage *usage, const struct quota_usage *domain_usage,
		       uint64_t incoming, uint64_t *used_r, uint64_t *limit_r);

/* Permanent refusals first: a message that can never fit should bounce
 * now, not be retried for days (RFC 3463 X.2.2 allows either). */
static const struct quota_rule quota_rules[] = {
	{ QUOTA_TOO_BIG, "deliver.over-quota-permanent", fig_too_big },
	{ QUOTA_TOO_BIG, "deliver.over-quota-permanent", fig_too_big_domain },
	{ QUOTA_OVER_SIZE, "deliver.over-quota", fig_bytes },
	{ QUOTA_OVER_COUNT, "deliver.over-messages", fig_messages },
	{ QUOTA_DOMAIN_FULL, "deliver.domain-full", fig_domain },
};

/* ---- evaluating ---- */

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void fig_too_big(const struct account *account, uint64_t domain_quota_bytes,
			const struct quota_usage *usage, const struct quota_usage *domain_usage,
			uint64_t incoming, uint64_t *used_r, uint64_t *limit_r)
{
	*used_r = incoming;
	*limit_r = account->quota_bytes;
}

static void fig_too_big_domain(const struct account *account, uint64_t domain_quota_bytes,
			       const struct quota_usage *usage,
			       const struct quota_usage *domain_usage, uint64_t incoming,
			       uint64_t *used_r, uint64_t *limit_r)
{
	*used_r = incoming;
	*limit_r = domain_quota_bytes;
}

static void fig_bytes(const struct account *account, uint64_t domain_quota_bytes,
		      const struct quota_usage *usage, const struct quota_usage *domain_usage,
		      uint64_t incoming, uint64_t *used_r, uint64_t *limit_r)
{
	*used_r = add_sat(usage->bytes, incoming);
	*limit_r = account->quota_bytes;
}

static void fig_messages(const struct account *account, uint64_t domain_quota_bytes,
			 const struct quota_usage *usage, const struct quota_usage *domain_usage,
			 uint64_t incoming, uint64_t *used_r, uint64_t *limit_r)
{
	*used_r = add_sat(usage->messages, 1);
	*limit_r = account->max_messages;
}

static void fig_domain(const struct account *account, uint64_t domain_quota_bytes,
		       const struct quota_usage *usage, const struct quota_usage *domain_usage,
		       uint64_t incoming, uint64_t *used_r, uint64_t *limit_r)
{
	*used_r = domain_usage != NULL ? add_sat(domain_usage->bytes, incoming) : 0;
	*limit_r = domain_usage != NULL ? domain_quota_bytes : 0;
}

void quota_evaluate(const struct account *account, uint64_t domain_quota_bytes,
		    const struct quota_usage *usage, const struct quota_usage *domain_usage,
		    uint64_t incoming, struct quota_result *result_r)
{
	memset(result_r, 0, sizeof(*result_r));
	result_r->verdict = QUOTA_ALLOWED;
	for (size_t i = 0; i < N_ELEMENTS(quota_rules); i++) {
		uint64_t used, limit;
		quota_rules[i].figures(account, domain_quota_bytes, usage, domain_usage, incoming,
				       &used, &limit);
		if (limit != 0 && used > limit) {
			result_r->verdict = quota_rules[i].verdict;
			result_r->reason = quota_rules[i].reason;
			result_r->used = used;
			result_r->limit = limit;
			return;
		}
	}
}

/* ---- maildirsize ---- */

static char *quota_file_path(const char *root)
{
	return xasprintf("%s/%s", root, QUOTA_FILE_NAME);
}

/* parse_limits - "<n>S,<n>C" in any order, either part optional; 0 means
 * none (Dovecot's maildir_parse_limit). */
static int parse_limits(const char *line, struct quota_file *qf)
{
	char *copy = xstrdup(line), *save = NULL;
	int ret = 0;

	for (char *part = strtok_r(copy, ",", &save); part != NULL && ret == 0;
	     part = strtok_r(NULL, ",", &save)) {
		size_t len = strlen(part);
		uint64_t value;
		char kind = len > 0 ? part[len - 1] : '\0';
		if (len < 2 || (kind != 'S' && kind != 'C')) {
			ret = -1;
			break;
		}
		part[len - 1] = '\0';
		if (str_to_uint64(part, 0, INT64_MAX, &value) < 0)
			ret = -1;
		else if (kind == 'S')
			qf->limit_bytes = value;
		else
			qf->limit_messages = value;
	}
	free(copy);
	return ret;
}

/* parse_delta - "<bytes> <count>" with any blank padding (Courier pads). */
static int parse_delta(const char *line, int64_t *bytes_r, int64_t *count_r)
{
	char *end;

	errno = 0;
	long long b = strtoll(line, &end, 10);
	if (end == line || (*end != ' ' && *end != '\t') || errno != 0)
		return -1;
	const char *p = end;
	long long c = strtoll(p, &end, 10);
	if (end == p || errno != 0)
		return -1;
	while (*end == ' ' || *end == '\t' || *end == '\r')
		end++;
	if (*end != '\0')
		return -1;
	*bytes_r = b;
	*count_r = c;
	return 0;
}

/* quota_file_read - 1 parsed, 0 missing or unusable (recount), -1 error. */
static int quota_file_read(const char *path, struct quota_file *qf)
{
	struct stat st;
	char *data, *save = NULL;
	size_t len;
	int ret = 1;

	memset(qf, 0, sizeof(*qf));
	if (file_read_all(path, QUOTA_FILE_MAX, &data, &len) < 0)
		return errno == ENOENT || errno == EFBIG ? 0 : -1;
	if (stat(path, &st) == 0)
		qf->mtime = st.st_mtime;
	/* an append torn by a crash leaves a last line without LF: ignore it,
	 * like Dovecot; a NUL anywhere means the file is broken */
	while (len > 0 && data[len - 1] != '\n')
		len--;
	data[len] = '\0';
	if (len == 0 || memchr(data, '\0', len) != NULL) {
		free(data);
		return 0;
	}
	char *line = strtok_r(data, "\n", &save);
	if (line == NULL || parse_limits(line, qf) < 0)
		ret = 0;
	while (ret == 1 && (line = strtok_r(NULL, "\n", &save)) != NULL) {
		int64_t b, c;
		if (parse_delta(line, &b, &c) < 0 || __builtin_add_overflow(qf->bytes, b, &qf->bytes) ||
		    __builtin_add_overflow(qf->messages, c, &qf->messages))
			ret = 0;
		else
			qf->deltas++;
	}
	if (ret == 1 && (qf->deltas == 0 || qf->bytes < 0 || qf->messages < 0))
		ret = 0;
	free(data);
	return ret;
}

/* quota_file_trusted - Dovecot's rules for using a parsed file as is. */
static bool quota_file_trusted(const struct quota_file *qf, const struct account *account)
{
	if (qf->limit_bytes != account->quota_bytes || qf->limit_messages != account->max_messages)
		return false; /* rewrite with the current limits */
	bool over = (account->quota_bytes != 0 && (uint64_t)qf->bytes > account->quota_bytes) ||
		    (account->max_messages != 0 && (uint64_t)qf->messages > account->max_messages);
	if (!over)
		return true;
	/* refusing on this figure: only when it is a fresh count */
	return qf->deltas <= 1 && qf->mtime >= (int64_t)time(NULL) - QUOTA_STALE_SECS;
}

/* quota_file_write - replace maildirsize with limits and a total. Not
 * fsynced: it is a cache that a crash at worst makes us recount. */
static int quota_file_write(const char *root, const struct account *account,
			    const struct quota_usage *usage)
{
	char name[MAILDIR_NAME_MAX], limits[QUOTA_LINE_MAX], text[3 * QUOTA_LINE_MAX];
	char *path = quota_file_path(root), *tmp;
	int fd, ret = -1;

	/* Dovecot's form: "0S" when there is no limit at all */
	if (account->quota_bytes != 0 || account->max_messages == 0) {
		if (str_printf(limits, sizeof(limits), "%" PRIu64 "S%s", account->quota_bytes,
			       account->max_messages != 0 ? "," : "") < 0)
			goto out_path;
	} else {
		limits[0] = '\0';
	}
	if ((account->max_messages != 0 &&
	     str_printf(limits + strlen(limits), sizeof(limits) - strlen(limits), "%" PRIu64 "C",
			account->max_messages) < 0) ||
	    str_printf(text, sizeof(text), "%s\n%" PRIu64 " %" PRIu64 "\n", limits, usage->bytes,
		       usage->messages) < 0)
		goto out_path;
	/* in tmp/, so a crash's leftover goes with Maildir's 36-hour rule */
	maildir_unique_name(name);
	tmp = xasprintf("%s/tmp/%s.%s", root, QUOTA_FILE_NAME, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, QUOTA_FILE_MODE);
	if (fd >= 0) {
		if (write_all(fd, text, strlen(text)) == 0 && close(fd) == 0) {
			fd = -1;
			ret = rename_file(tmp, path);
		}
		if (fd >= 0)
			close(fd);
		if (ret < 0)
			(void)unlink(tmp);
	}
	free(tmp);
out_path:
	free(path);
	return ret;
}

static void sum_message(const char *folder_dir, const char *name, uint64_t size, void *context)
{
	struct quota_usage *usage = context;

	usage->bytes = add_sat(usage->bytes, size);
	usage->messages++;
}

/* count_root - usage from the file names; -1 on I/O error. */
static int count_root(const char *root, struct quota_usage *usage_r, int64_t *stamp_r)
{
	memset(usage_r, 0, sizeof(*usage_r));
	if (maildir_mtime(root, stamp_r) < 0)
		return -1;
	return maildir_scan(root, sum_message, usage_r);
}

static int recalc_root(const char *root, const struct account *account,
		       struct quota_usage *usage_r)
{
	struct stat st;
	int64_t before, after;

	if (stat(root, &st) < 0) {
		memset(usage_r, 0, sizeof(*usage_r));
		return errno == ENOENT ? 0 : -1; /* no Maildir yet: nothing used */
	}
	if (count_root(root, usage_r, &before) < 0 || maildir_mtime(root, &after) < 0)
		return -1;
	/* a Maildir that changed under the count gives a sum that may miss
	 * or double a message: use it now, but do not write it down */
	if (before == after && quota_file_write(root, account, usage_r) < 0)
		log_warn("quota: cannot write %s/%s: %s", root, QUOTA_FILE_NAME, strerror(errno));
	return 0;
}

int quota_recalc(const char *data_dir, const struct account *account,
		 struct quota_usage *usage_r)
{
	char *root = maildir_account_path(data_dir, account);
	int ret = recalc_root(root, account, usage_r);

	free(root);
	return ret;
}

int quota_usage(const char *data_dir, const struct account *account,
		struct quota_usage *usage_r)
{
	char *root = maildir_account_path(data_dir, account);
	char *path = quota_file_path(root);
	struct quota_file qf;
	int ret = quota_file_read(path, &qf);

	if (ret > 0 && quota_file_trusted(&qf, account)) {
		usage_r->bytes = (uint64_t)qf.bytes;
		usage_r->messages = (uint64_t)qf.messages;
		ret = 0;
	} else if (ret >= 0) {
		ret = recalc_root(root, account, usage_r);
	}
	free(path);
	free(root);
	return ret;
}

int quota_domain_usage(const char *data_dir, const char *domain, struct quota_usage *usage_r)
{
	char *dir = xasprintf("%s/mail/%s", data_dir, domain);
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = 0;

	memset(usage_r, 0, sizeof(*usage_r));
	if (d == NULL) {
		ret = errno == ENOENT ? 0 : -1;
		free(dir);
		return ret;
	}
	while (ret == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		struct quota_file qf;
		struct quota_usage u;
		int64_t stamp;
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		char *root = xasprintf("%s/%s", dir, de->d_name);
		char *path = quota_file_path(root);
		int r = quota_file_read(path, &qf);
		if (r > 0) {
			/* the limits line is the mailbox's business, not ours */
			u.bytes = (uint64_t)qf.bytes;
			u.messages = (uint64_t)qf.messages;
		} else if (r < 0 || count_root(root, &u, &stamp) < 0) {
			ret = -1;
		}
		if (ret == 0) {
			usage_r->bytes = add_sat(usage_r->bytes, u.bytes);
			usage_r->messages = add_sat(usage_r->messages, u.messages);
		}
		free(path);
		free(root);
	}
	closedir(d);
	free(dir);
	return ret;
}

int quota_check(const char *data_dir, const struct account *account,
		uint64_t domain_quota_bytes, uint64_t incoming, struct quota_result *result_r)
{
	struct quota_usage usage, domain_usage;

	if (quota_usage(data_dir, account, &usage) < 0)
		return -1;
	if (domain_quota_bytes != 0 &&
	    quota_domain_usage(data_dir, account->domain, &domain_usage) < 0)
		return -1;
	quota_evaluate(account, domain_quota_bytes, &usage,
		       domain_quota_bytes != 0 ? &domain_usage : NULL, incoming, result_r);
	return 0;
}

int quota_update(const char *data_dir, const struct account *account, int64_t bytes,
		 int64_t messages)
{
	char *root = maildir_account_path(data_dir, account);
	char *path = quota_file_path(root);
	char line[QUOTA_LINE_MAX];
	int fd, ret = 0;

	if (bytes == 0 && messages == 0)
		goto out;
	/* no O_CREAT: a missing file is recounted, which includes this change */
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == ENOENT ? 0 : -1;
		goto out;
	}
	if (str_printf(line, sizeof(line), "%" PRId64 " %" PRId64 "\n", bytes, messages) < 0 ||
	    write_all(fd, line, strlen(line)) < 0)
		ret = -1;
	if (close(fd) < 0)
		ret = -1;
	if (ret < 0) {
		int err = errno;
		(void)unlink(path); /* a torn sum must not be trusted: recount */
		errno = err;
	}
out:
	free(path);
	free(root);
	return ret;
}

/* ---- the 90% warning ---- */

static bool at_percent(uint64_t used, uint64_t limit, unsigned percent)
{
	return limit != 0 && (unsigned __int128)used * 100 >= (unsigned __int128)limit * percent;
}

bool quota_over_warning(const struct account *account, const struct quota_usage *usage)
{
	return at_percent(usage->bytes, account->quota_bytes, QUOTA_WARN_PERCENT) ||
	       at_percent(usage->messages, account->max_messages, QUOTA_WARN_PERCENT);
}

int quota_warning_update(const char *data_dir, const struct account *account,
			 const struct quota_usage *usage, bool *send_r)
{
	char *root = maildir_account_path(data_dir, account);
	char *path = xasprintf("%s/%s", root, QUOTA_WARNED_FILE);
	int ret = 0;

	*send_r = false;
	if (quota_over_warning(account, usage)) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, QUOTA_FILE_MODE);
		if (fd >= 0) {
			close(fd);
			*send_r = true;
		} else if (errno != EEXIST && errno != ENOENT) {
			ret = -1;
		}
	} else if (unlink(path) < 0 && errno != ENOENT) {
		ret = -1;
	}
	free(path);
	free(root);
	return ret;
}
