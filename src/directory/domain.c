/* SPDX-License-Identifier: ISC */
/*
 * domain.c - local domains and their limits (F10).
 *
 * A domain's limits (max mailboxes, total quota) are the open-source
 * counterpart of a licence cap: exceeding one is refused with a message
 * that names the limit, and lowering one below what already exists is
 * refused too, because the alternative (disabling existing mailboxes) is
 * exactly the silent failure F10 forbids.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "mail/addr.h"
#include "directory/directory-private.h"

#define SIZE_TEXT_MAX 32

struct domain_key {
	const char *key;
	int (*parse)(const char *value, uint64_t *value_r);
	const char *column;
	/* refuse a value that existing mailboxes already exceed */
	int (*check)(struct db *db, const char *domain, uint64_t value,
		     struct directory_error *error_r);
};

static int parse_count(const char *value, uint64_t *value_r);
static int parse_send_limit(const char *value, uint64_t *value_r);
static int parse_max_age(const char *value, uint64_t *value_r);
static int check_max_accounts(struct db *db, const char *domain, uint64_t value,
			      struct directory_error *error_r);
static int check_quota(struct db *db, const char *domain, uint64_t value,
		       struct directory_error *error_r);

static const struct domain_key domain_keys[] = {
	{ "max-accounts", parse_count, "max_accounts", check_max_accounts },
	{ "quota", size_parse, "quota_bytes", check_quota },
	/* password expiry (F16): mailboxes without their own value follow it */
	{ "password-max-age", parse_max_age, "password_max_age_days", NULL },
	/* hijack detection (directory/sendlimit.h): NULL = the server's */
	{ "send-messages", parse_send_limit, "send_messages", NULL },
	{ "send-recipients", parse_send_limit, "send_recipients", NULL },
};

/* A setting's value "default": the column goes back to NULL. */
#define DOMAIN_VALUE_DEFAULT UINT64_MAX
/* Send limits above this are no limit at all (config.c's bound). */
#define DOMAIN_SEND_LIMIT_MAX 10000000

/* Every domain column, plus the counts shown by `domain show`. */
#define DOMAIN_SELECT                                                              \
	"SELECT name, max_accounts, quota_bytes, created_at,"                      \
	" (SELECT COUNT(*) FROM accounts a WHERE a.domain = d.name),"              \
	" (SELECT COUNT(DISTINCT address) FROM aliases l WHERE l.domain = d.name)," \
	" password_max_age_days FROM domains d"

static int parse_count(const char *value, uint64_t *value_r)
{
	return str_to_uint64(value, 0, INT64_MAX, value_r);
}

/* parse_send_limit - a number (0 = no limit) or "default" (the
 * server's limits.send-*). */
static int parse_send_limit(const char *value, uint64_t *value_r)
{
	if (strcmp(value, "default") == 0) {
		*value_r = DOMAIN_VALUE_DEFAULT;
		return 0;
	}
	return str_to_uint64(value, 0, DOMAIN_SEND_LIMIT_MAX, value_r);
}

/* parse_max_age - days, 0 = never ("default" has no meaning here: the
 * domain's value is the default). */
static int parse_max_age(const char *value, uint64_t *value_r)
{
	return str_to_uint64(value, 0, PASSWORD_MAX_AGE_DAYS_MAX, value_r);
}

static int check_max_accounts(struct db *db, const char *domain, uint64_t value,
			      struct directory_error *error_r)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT COUNT(*) FROM accounts WHERE domain = ?1");
	int64_t count;

	sqlite3_bind_text(st, 1, domain, -1, SQLITE_TRANSIENT);
	if (dir_query_int(st, &count) < 0)
		return dir_db_error(db, error_r);
	if (value != 0 && (uint64_t)count > value)
		return dir_refuse(error_r, DIR_REASON_IN_USE,
				  "domain %s already has %" PRId64 " mailboxes, more than %" PRIu64
				  "; delete some first",
				  domain, count, value);
	return 0;
}

static int check_quota(struct db *db, const char *domain, uint64_t value,
		       struct directory_error *error_r)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT address, quota_bytes FROM accounts"
					  " WHERE domain = ?1 AND quota_bytes > ?2"
					  " ORDER BY quota_bytes DESC LIMIT 1");
	char mine[SIZE_TEXT_MAX], want[SIZE_TEXT_MAX];
	int rc;

	if (value == 0)
		return 0;
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)value);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		size_format((uint64_t)sqlite3_column_int64(st, 1), mine, sizeof(mine));
		size_format(value, want, sizeof(want));
		dir_refuse(error_r, DIR_REASON_IN_USE,
			   "mailbox %s has a quota of %s, larger than the new domain quota %s; "
			   "lower it first",
			   (const char *)sqlite3_column_text(st, 0), mine, want);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return -1;
	return rc == SQLITE_DONE ? 0 : dir_db_error(db, error_r);
}

static void domain_read(sqlite3_stmt *st, struct domain *d)
{
	d->name = dir_column_strdup(st, 0);
	d->max_accounts = (uint64_t)sqlite3_column_int64(st, 1);
	d->quota_bytes = (uint64_t)sqlite3_column_int64(st, 2);
	d->created_at = sqlite3_column_int64(st, 3);
	d->account_count = (uint64_t)sqlite3_column_int64(st, 4);
	d->alias_count = (uint64_t)sqlite3_column_int64(st, 5);
	d->password_max_age_days = (uint64_t)sqlite3_column_int64(st, 6);
}

int domain_add(struct db *db, const char *name, uint64_t max_accounts, uint64_t quota_bytes,
	       struct directory_error *error_r)
{
	sqlite3_stmt *st;
	char *domain;
	int rc;

	if (dir_normalize_domain(name, &domain, error_r) < 0)
		return -1;
	if (max_accounts > INT64_MAX || quota_bytes > INT64_MAX) {
		free(domain);
		return dir_refuse(error_r, DIR_REASON_INVALID, "limit out of range");
	}
	st = db_prepare(db, "INSERT INTO domains (name, max_accounts, quota_bytes, created_at)"
			    " VALUES (?1, ?2, ?3, ?4)");
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max_accounts);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)quota_bytes);
	sqlite3_bind_int64(st, 4, time_now());
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		dir_refuse(error_r, DIR_REASON_EXISTS, "domain %s already exists", domain);
	else if (rc != SQLITE_DONE)
		dir_db_error(db, error_r);
	free(domain);
	return rc == SQLITE_DONE ? 0 : -1;
}

int domain_del(struct db *db, const char *name, bool force, struct directory_error *error_r)
{
	struct domain d;
	char *domain;
	int ret;

	if (dir_normalize_domain(name, &domain, error_r) < 0)
		return -1;
	if (db_begin(db) < 0) {
		free(domain);
		return dir_db_error(db, error_r);
	}
	ret = domain_get(db, domain, &d);
	if (ret <= 0) {
		if (ret < 0)
			dir_db_error(db, error_r);
		else
			dir_refuse(error_r, DIR_REASON_UNKNOWN, "no domain %s", domain);
		db_rollback(db);
		free(domain);
		return -1;
	}
	if (!force && (d.account_count > 0 || d.alias_count > 0)) {
		dir_refuse(error_r, DIR_REASON_IN_USE,
			   "domain %s still has %" PRIu64 " mailbox(es) and %" PRIu64
			   " alias(es); delete them first or force the deletion",
			   domain, d.account_count, d.alias_count);
		domain_clear(&d);
		db_rollback(db);
		free(domain);
		return -1;
	}
	domain_clear(&d);
	/* ON DELETE CASCADE takes the mailboxes, their forwards and the aliases */
	sqlite3_stmt *st = db_prepare(db, "DELETE FROM domains WHERE name = ?1");
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_TRANSIENT);
	free(domain);
	if (dir_step_done(st) < 0 || db_commit(db) < 0)
		return dir_db_error(db, error_r);
	return 0;
}

int domain_get(struct db *db, const char *name, struct domain *domain_r)
{
	sqlite3_stmt *st;
	const char *error;
	char *domain;
	int rc;

	memset(domain_r, 0, sizeof(*domain_r));
	if (addr_domain_normalize(name, &domain, &error) < 0)
		return 0; /* no such domain can exist */
	st = db_prepare_cached(db, DOMAIN_SELECT " WHERE name = ?1");
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_TRANSIENT);
	free(domain);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		domain_read(st, domain_r);
	db_release(db, st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int domain_list(struct db *db, struct domain **domains_r, size_t *count_r)
{
	sqlite3_stmt *st = db_prepare(db, DOMAIN_SELECT " ORDER BY name");
	struct domain *domains = NULL;
	size_t count = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		domains = xrealloc(domains, (count + 1) * sizeof(*domains));
		domain_read(st, &domains[count++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		domains_free(&domains, count);
		return -1;
	}
	*domains_r = domains;
	*count_r = count;
	return 0;
}

static const struct domain_key *domain_key_find(const char *key)
{
	for (size_t i = 0; i < N_ELEMENTS(domain_keys); i++) {
		if (strcmp(domain_keys[i].key, key) == 0)
			return &domain_keys[i];
	}
	return NULL;
}

int domain_set(struct db *db, const char *name, const struct directory_setting *settings,
	       size_t count, struct directory_error *error_r)
{
	uint64_t *values;
	char *domain;
	int ret;

	if (count == 0)
		return dir_refuse(error_r, DIR_REASON_INVALID, "nothing to set");
	if (dir_normalize_domain(name, &domain, error_r) < 0)
		return -1;
	values = xcalloc(count, sizeof(*values));
	/* parse everything first: one bad key changes nothing */
	for (size_t i = 0; i < count; i++) {
		const struct domain_key *k = domain_key_find(settings[i].key);
		if (k == NULL) {
			dir_refuse(error_r, DIR_REASON_INVALID,
				   "unknown domain setting '%s' (known: max-accounts, quota, "
				   "password-max-age, send-messages, send-recipients)",
				   settings[i].key);
			goto fail;
		}
		if (k->parse(settings[i].value, &values[i]) < 0 ||
		    (values[i] > INT64_MAX && values[i] != DOMAIN_VALUE_DEFAULT)) {
			dir_refuse(error_r, DIR_REASON_INVALID, "bad value for %s: '%s'",
				   settings[i].key, settings[i].value);
			goto fail;
		}
	}
	if (db_begin(db) < 0) {
		dir_db_error(db, error_r);
		goto fail;
	}
	if ((ret = dir_domain_exists(db, domain)) <= 0) {
		if (ret < 0)
			dir_db_error(db, error_r);
		else
			dir_refuse(error_r, DIR_REASON_UNKNOWN, "no domain %s", domain);
		db_rollback(db);
		goto fail;
	}
	for (size_t i = 0; i < count; i++) {
		const struct domain_key *k = domain_key_find(settings[i].key);
		if (k->check != NULL && k->check(db, domain, values[i], error_r) < 0) {
			db_rollback(db);
			goto fail;
		}
	}
	for (size_t i = 0; i < count; i++) {
		const struct domain_key *k = domain_key_find(settings[i].key);
		/* the column name comes from the static table, never from input */
		char *sql = xasprintf("UPDATE domains SET %s = ?1 WHERE name = ?2", k->column);
		sqlite3_stmt *st = db_prepare(db, sql);
		free(sql);
		if (values[i] == DOMAIN_VALUE_DEFAULT)
			sqlite3_bind_null(st, 1);
		else
			sqlite3_bind_int64(st, 1, (sqlite3_int64)values[i]);
		sqlite3_bind_text(st, 2, domain, -1, SQLITE_TRANSIENT);
		if (dir_step_done(st) < 0) {
			dir_db_error(db, error_r);
			goto fail;
		}
	}
	if (db_commit(db) < 0) {
		dir_db_error(db, error_r);
		goto fail;
	}
	free(values);
	free(domain);
	return 0;
fail:
	free(values);
	free(domain);
	return -1;
}

void domain_clear(struct domain *domain)
{
	free(domain->name);
	memset(domain, 0, sizeof(*domain));
}

void domains_free(struct domain **_domains, size_t count)
{
	struct domain *domains = *_domains;

	if (domains == NULL)
		return;
	*_domains = NULL;
	for (size_t i = 0; i < count; i++)
		domain_clear(&domains[i]);
	free(domains);
}
