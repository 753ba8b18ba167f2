/* SPDX-License-Identifier: ISC */
/*
 * alias.c - aliases (one or many targets) and catch-alls (F15).
 *
 * An alias is stored as one row per target; "@example.com" is the
 * domain's catch-all. An address is either a mailbox or an alias, never
 * both, so delivery never has to guess which one was meant. Resolution
 * here is one level only; recursive expansion with loop detection belongs
 * to delivery, which must also handle remote targets.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "mail/addr.h"
#include "directory/directory-private.h"

/* alias_normalize - "local@domain" or "@domain" (catch-all) in canonical
 * form. */
static int alias_normalize(const char *in, char **alias_r, struct directory_error *error_r)
{
	char *domain;

	if (in[0] != '@')
		return dir_normalize_address(in, alias_r, error_r);
	if (dir_normalize_domain(in + 1, &domain, error_r) < 0)
		return -1;
	*alias_r = xasprintf("@%s", domain);
	free(domain);
	return 0;
}

static const char *alias_domain(const char *alias)
{
	return alias[0] == '@' ? alias + 1 : addr_domain(alias);
}

/* alias_read - rows of (address, domain, target) into aliases grouped by
 * address; the statement must order by address. It is released. */
static int alias_read(struct db *db, sqlite3_stmt *st, struct alias **aliases_r,
		      size_t *count_r)
{
	struct alias *aliases = NULL;
	size_t count = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *address = (const char *)sqlite3_column_text(st, 0);
		if (count == 0 || strcmp(aliases[count - 1].address, address) != 0) {
			aliases = xrealloc(aliases, (count + 1) * sizeof(*aliases));
			memset(&aliases[count], 0, sizeof(*aliases));
			aliases[count].address = xstrdup(address);
			aliases[count].domain = dir_column_strdup(st, 1);
			count++;
		}
		struct alias *a = &aliases[count - 1];
		dir_strv_add(&a->targets, &a->target_count, (const char *)sqlite3_column_text(st, 2));
	}
	db_release(db, st);
	if (rc != SQLITE_DONE) {
		aliases_free(&aliases, count);
		return -1;
	}
	*aliases_r = aliases;
	*count_r = count;
	return 0;
}

/* alias_lookup_normalized - 1/0/-1 */
static int alias_lookup_normalized(struct db *db, const char *alias, struct alias *alias_r)
{
	sqlite3_stmt *st = db_prepare_cached(db, "SELECT address, domain, target FROM aliases"
						 " WHERE address = ?1 ORDER BY address, rowid");
	struct alias *aliases;
	size_t count;

	memset(alias_r, 0, sizeof(*alias_r));
	sqlite3_bind_text(st, 1, alias, -1, SQLITE_TRANSIENT);
	if (alias_read(db, st, &aliases, &count) < 0)
		return -1;
	if (count == 0)
		return 0;
	*alias_r = aliases[0];
	free(aliases);
	return 1;
}

/* check_new_alias - the domain is local and no mailbox has the address. */
static int check_new_alias(struct db *db, const char *alias, struct directory_error *error_r)
{
	const char *domain = alias_domain(alias);
	int ret;

	if ((ret = dir_domain_exists(db, domain)) <= 0) {
		if (ret < 0)
			return dir_db_error(db, error_r);
		return dir_refuse(error_r, DIR_REASON_UNKNOWN,
				  "no domain %s (an alias must be in a local domain)", domain);
	}
	if ((ret = dir_account_exists(db, alias)) != 0) {
		if (ret < 0)
			return dir_db_error(db, error_r);
		return dir_refuse(error_r, DIR_REASON_IN_USE,
				  "%s is a mailbox; an alias cannot have the same address", alias);
	}
	return 0;
}

int alias_add(struct db *db, const char *address, const char *const *targets, size_t count,
	      struct directory_error *error_r)
{
	char *alias, **norm = NULL;
	size_t n = 0, added = 0;
	int64_t existing;
	int ret = -1;

	if (count == 0)
		return dir_refuse(error_r, DIR_REASON_INVALID, "an alias needs at least one target");
	if (alias_normalize(address, &alias, error_r) < 0)
		return -1;
	if (db_begin(db) < 0) {
		free(alias);
		return dir_db_error(db, error_r);
	}
	if (check_new_alias(db, alias, error_r) < 0 ||
	    dir_targets_normalize(db, alias, targets, count, &norm, &n, error_r) < 0)
		goto out;
	sqlite3_stmt *st = db_prepare(db, "SELECT COUNT(*) FROM aliases WHERE address = ?1");
	sqlite3_bind_text(st, 1, alias, -1, SQLITE_TRANSIENT);
	if (dir_query_int(st, &existing) < 0) {
		dir_db_error(db, error_r);
		goto out;
	}
	int64_t now = time_now();
	for (size_t i = 0; i < n; i++) {
		st = db_prepare(db, "INSERT OR IGNORE INTO aliases (address, domain, target,"
				    " created_at) VALUES (?1, ?2, ?3, ?4)");
		sqlite3_bind_text(st, 1, alias, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, alias_domain(alias), -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, norm[i], -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, now);
		if (dir_step_done(st) < 0) {
			dir_db_error(db, error_r);
			goto out;
		}
		added += (size_t)sqlite3_changes(db->sql);
	}
	if (added == 0) {
		dir_refuse(error_r, DIR_REASON_EXISTS, "alias %s already has %s", alias,
			   n == 1 ? "that target" : "those targets");
		goto out;
	}
	if ((size_t)existing + added > DIRECTORY_TARGETS_MAX) {
		dir_refuse(error_r, DIR_REASON_INVALID, "alias %s would have too many targets (max %d)",
			   alias, DIRECTORY_TARGETS_MAX);
		goto out;
	}
	if (db_commit(db) < 0) {
		dir_db_error(db, error_r);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		db_rollback(db);
	dir_strv_free(&norm, n);
	free(alias);
	return ret;
}

int alias_del(struct db *db, const char *address, const char *const *targets, size_t count,
	      struct directory_error *error_r)
{
	sqlite3_stmt *st;
	char *alias, *target = NULL;
	int ret = -1;

	if (alias_normalize(address, &alias, error_r) < 0)
		return -1;
	if (db_begin(db) < 0) {
		free(alias);
		return dir_db_error(db, error_r);
	}
	if (count == 0) {
		st = db_prepare(db, "DELETE FROM aliases WHERE address = ?1");
		sqlite3_bind_text(st, 1, alias, -1, SQLITE_TRANSIENT);
		if (dir_step_done(st) < 0) {
			dir_db_error(db, error_r);
			goto out;
		}
		if (sqlite3_changes(db->sql) == 0) {
			dir_refuse(error_r, DIR_REASON_UNKNOWN, "no alias %s", alias);
			goto out;
		}
	}
	for (size_t i = 0; i < count; i++) {
		if (dir_normalize_address(targets[i], &target, error_r) < 0)
			goto out;
		st = db_prepare(db, "DELETE FROM aliases WHERE address = ?1 AND target = ?2");
		sqlite3_bind_text(st, 1, alias, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, target, -1, SQLITE_TRANSIENT);
		if (dir_step_done(st) < 0) {
			dir_db_error(db, error_r);
			goto out;
		}
		if (sqlite3_changes(db->sql) == 0) {
			dir_refuse(error_r, DIR_REASON_UNKNOWN, "alias %s has no target %s", alias,
				   target);
			goto out;
		}
		free(target);
		target = NULL;
	}
	if (db_commit(db) < 0) {
		dir_db_error(db, error_r);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		db_rollback(db);
	free(target);
	free(alias);
	return ret;
}

int alias_get(struct db *db, const char *address, struct alias *alias_r)
{
	struct directory_error error;
	char *alias;
	int ret;

	memset(alias_r, 0, sizeof(*alias_r));
	if (alias_normalize(address, &alias, &error) < 0)
		return 0; /* no such alias can exist */
	ret = alias_lookup_normalized(db, alias, alias_r);
	free(alias);
	return ret;
}

int alias_list(struct db *db, const char *domain, struct alias **aliases_r, size_t *count_r)
{
	const char *error;
	sqlite3_stmt *st;
	char *name;

	*aliases_r = NULL;
	*count_r = 0;
	if (domain == NULL) {
		st = db_prepare(db, "SELECT address, domain, target FROM aliases"
				    " ORDER BY address, rowid");
	} else {
		if (addr_domain_normalize(domain, &name, &error) < 0)
			return 0;
		st = db_prepare(db, "SELECT address, domain, target FROM aliases WHERE domain = ?1"
				    " ORDER BY address, rowid");
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		free(name);
	}
	return alias_read(db, st, aliases_r, count_r);
}

int alias_resolve(struct db *db, const char *address, struct alias *alias_r)
{
	const char *error;
	char *addr, *catchall;
	int ret;

	memset(alias_r, 0, sizeof(*alias_r));
	if (addr_normalize(address, &addr, &error) < 0)
		return 0;
	ret = alias_lookup_normalized(db, addr, alias_r);
	if (ret == 0) {
		/* a mailbox takes its own mail: the catch-all is for the rest */
		ret = dir_account_exists(db, addr);
		if (ret == 0) {
			catchall = xasprintf("@%s", addr_domain(addr));
			ret = alias_lookup_normalized(db, catchall, alias_r);
			free(catchall);
		} else if (ret > 0)
			ret = 0;
	}
	free(addr);
	return ret;
}

void alias_clear(struct alias *alias)
{
	free(alias->address);
	free(alias->domain);
	dir_strv_free(&alias->targets, alias->target_count);
	memset(alias, 0, sizeof(*alias));
}

void aliases_free(struct alias **_aliases, size_t count)
{
	struct alias *aliases = *_aliases;

	if (aliases == NULL)
		return;
	*_aliases = NULL;
	for (size_t i = 0; i < count; i++)
		alias_clear(&aliases[i]);
	free(aliases);
}
