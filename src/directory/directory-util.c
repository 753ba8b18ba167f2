/* SPDX-License-Identifier: ISC */
/*
 * directory-util.c - helpers shared by domain.c, account.c and alias.c.
 *
 * The rules that span tables live here, once: an address is either a
 * mailbox or an alias, never both, and a target in a local domain must
 * reach something, so a typo in an alias is refused instead of bouncing
 * mail later.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mail/addr.h"
#include "directory/directory-private.h"

int dir_refuse(struct directory_error *error_r, const char *reason, const char *fmt, ...)
{
	va_list ap;

	error_r->reason = reason;
	va_start(ap, fmt);
	/* truncation only shortens a message for humans */
	(void)vsnprintf(error_r->text, sizeof(error_r->text), fmt, ap);
	va_end(ap);
	return -1;
}

int dir_db_error(struct db *db, struct directory_error *error_r)
{
	log_error("directory: database error: %s", db_errmsg(db));
	dir_refuse(error_r, NULL, "database error: %s", db_errmsg(db));
	db_rollback(db);
	return -1;
}

int dir_normalize_address(const char *in, char **addr_r, struct directory_error *error_r)
{
	const char *error;

	if (addr_normalize(in, addr_r, &error) < 0)
		return dir_refuse(error_r, DIR_REASON_INVALID, "bad address '%s': %s", in, error);
	return 0;
}

int dir_normalize_domain(const char *in, char **domain_r, struct directory_error *error_r)
{
	const char *error;

	if (addr_domain_normalize(in, domain_r, &error) < 0)
		return dir_refuse(error_r, DIR_REASON_INVALID, "bad domain '%s': %s", in, error);
	return 0;
}

int dir_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int dir_query_int(sqlite3_stmt *st, int64_t *value_r)
{
	int rc = sqlite3_step(st);

	*value_r = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

char *dir_column_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return s != NULL ? xstrdup((const char *)s) : NULL;
}

void dir_strv_add(char ***strv, size_t *count, const char *s)
{
	*strv = xrealloc(*strv, (*count + 1) * sizeof(**strv));
	(*strv)[(*count)++] = xstrdup(s);
}

void dir_strv_free(char ***_strv, size_t count)
{
	char **strv = *_strv;

	if (strv == NULL)
		return;
	*_strv = NULL;
	for (size_t i = 0; i < count; i++)
		free(strv[i]);
	free(strv);
}

/* exists - 1/0/-1 for "SELECT EXISTS(...)" with one text parameter.
 * Cached: RCPT asks these for every recipient (policy_domain_is_local,
 * alias_resolve). */
static int exists(struct db *db, const char *sql, const char *param)
{
	sqlite3_stmt *st = db_prepare_cached(db, sql);
	int rc;
	int64_t v;

	sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	db_release(db, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return v != 0 ? 1 : 0;
}

int dir_domain_exists(struct db *db, const char *domain)
{
	return exists(db, "SELECT EXISTS(SELECT 1 FROM domains WHERE name = ?1)", domain);
}

int dir_account_exists(struct db *db, const char *address)
{
	return exists(db, "SELECT EXISTS(SELECT 1 FROM accounts WHERE address = ?1)", address);
}

int dir_alias_exists(struct db *db, const char *address)
{
	return exists(db, "SELECT EXISTS(SELECT 1 FROM aliases WHERE address = ?1)", address);
}

int dir_check_target(struct db *db, const char *target, struct directory_error *error_r)
{
	const char *domain = addr_domain(target);
	char *catchall;
	int ret;

	if ((ret = dir_domain_exists(db, domain)) <= 0)
		return ret < 0 ? dir_db_error(db, error_r) : 0; /* remote: not ours to check */
	if ((ret = dir_account_exists(db, target)) != 0 ||
	    (ret = dir_alias_exists(db, target)) != 0)
		return ret < 0 ? dir_db_error(db, error_r) : 0;
	catchall = xasprintf("@%s", domain);
	ret = dir_alias_exists(db, catchall);
	free(catchall);
	if (ret != 0)
		return ret < 0 ? dir_db_error(db, error_r) : 0;
	return dir_refuse(error_r, DIR_REASON_UNKNOWN,
			  "target %s is in local domain %s but no mailbox or alias has that address",
			  target, domain);
}

int dir_targets_normalize(struct db *db, const char *self, const char *const *in, size_t count,
			  char ***targets_r, size_t *count_r, struct directory_error *error_r)
{
	char **targets = NULL;
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		char *t;
		bool dup = false;

		if (dir_normalize_address(in[i], &t, error_r) < 0)
			goto fail;
		if (self != NULL && strcmp(t, self) == 0) {
			dir_refuse(error_r, DIR_REASON_INVALID, "%s cannot point to itself", self);
			free(t);
			goto fail;
		}
		for (size_t j = 0; j < n; j++)
			dup = dup || strcmp(targets[j], t) == 0;
		if (!dup && dir_check_target(db, t, error_r) < 0) {
			free(t);
			goto fail;
		}
		if (!dup)
			dir_strv_add(&targets, &n, t);
		free(t);
		if (n > DIRECTORY_TARGETS_MAX) {
			dir_refuse(error_r, DIR_REASON_INVALID, "too many targets (max %d)",
				   DIRECTORY_TARGETS_MAX);
			goto fail;
		}
	}
	*targets_r = targets;
	*count_r = n;
	return 0;
fail:
	dir_strv_free(&targets, n);
	return -1;
}
