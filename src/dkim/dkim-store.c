/* SPDX-License-Identifier: ISC */
/*
 * dkim-store.c - postino.db table dkim_keys: which selectors a domain has
 * and which one signs.
 *
 * Rotation keeps old keys listed (their DNS records must stay published
 * while mail signed with them may still be verified) until the admin
 * deletes them; only the active one signs. A partial unique index keeps
 * "at most one active key per domain" true whatever the caller does.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "core/db.h"
#include "dkim/dkim.h"

#define KEY_COLUMNS "domain, selector, algorithm, bits, created_at, active"

static void row_to_key(sqlite3_stmt *st, struct dkim_keyinfo *k)
{
	memset(k, 0, sizeof(*k));
	k->domain = xstrdup((const char *)sqlite3_column_text(st, 0));
	k->selector = xstrdup((const char *)sqlite3_column_text(st, 1));
	if (dkim_alg_parse((const char *)sqlite3_column_text(st, 2), &k->alg) < 0)
		k->alg = DKIM_ALG_RSA; /* the CHECK constraint makes this unreachable */
	k->bits = (unsigned)sqlite3_column_int64(st, 3);
	k->created_at = sqlite3_column_int64(st, 4);
	k->active = sqlite3_column_int64(st, 5) != 0;
}

void dkim_keyinfo_clear(struct dkim_keyinfo *k)
{
	free(k->domain);
	free(k->selector);
	memset(k, 0, sizeof(*k));
}

void dkim_keyinfos_free(struct dkim_keyinfo **_keys, size_t count)
{
	struct dkim_keyinfo *keys = *_keys;

	if (keys == NULL)
		return;
	*_keys = NULL;
	for (size_t i = 0; i < count; i++)
		dkim_keyinfo_clear(&keys[i]);
	free(keys);
}

/* step_done - run a write statement and finalize it. */
static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* deactivate - no key of domain signs any more (inside a transaction). */
static int deactivate(struct db *db, const char *domain)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE dkim_keys SET active = 0 WHERE domain = ?1");

	sqlite3_bind_text(st, 1, domain, -1, SQLITE_TRANSIENT);
	return step_done(st);
}

int dkim_store_add(struct db *db, const struct dkim_keyinfo *k)
{
	sqlite3_stmt *st;

	if (db_begin(db) < 0)
		return -1;
	if (deactivate(db, k->domain) < 0)
		goto fail;
	st = db_prepare(db, "INSERT INTO dkim_keys (" KEY_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, 1)");
	sqlite3_bind_text(st, 1, k->domain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, k->selector, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, dkim_alg_name(k->alg), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, k->bits);
	sqlite3_bind_int64(st, 5, k->created_at);
	if (step_done(st) < 0)
		goto fail;
	if (db_commit(db) < 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

int dkim_store_activate(struct db *db, const char *domain, const char *selector)
{
	struct dkim_keyinfo k;
	int ret;

	if ((ret = dkim_store_get(db, domain, selector, &k)) <= 0)
		return ret;
	dkim_keyinfo_clear(&k);
	if (db_begin(db) < 0)
		return -1;
	if (deactivate(db, domain) < 0)
		goto fail;
	sqlite3_stmt *st = db_prepare(db, "UPDATE dkim_keys SET active = 1"
					  " WHERE domain = ?1 AND selector = ?2");
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, selector, -1, SQLITE_TRANSIENT);
	if (step_done(st) < 0 || db_commit(db) < 0)
		goto fail;
	return 1;
fail:
	db_rollback(db);
	return -1;
}

int dkim_store_del(struct db *db, const char *domain, const char *selector, char **promoted_r)
{
	struct dkim_keyinfo k, next;
	int ret;

	*promoted_r = NULL;
	if ((ret = dkim_store_get(db, domain, selector, &k)) <= 0)
		return ret;
	if (db_begin(db) < 0) {
		dkim_keyinfo_clear(&k);
		return -1;
	}
	sqlite3_stmt *st = db_prepare(db, "DELETE FROM dkim_keys WHERE domain = ?1 AND selector = ?2");
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, selector, -1, SQLITE_TRANSIENT);
	if (step_done(st) < 0)
		goto fail;
	if (k.active) {
		/* the domain keeps signing with its newest remaining key */
		st = db_prepare(db, "UPDATE dkim_keys SET active = 1 WHERE rowid ="
				    " (SELECT rowid FROM dkim_keys WHERE domain = ?1"
				    "  ORDER BY created_at DESC, rowid DESC LIMIT 1)");
		sqlite3_bind_text(st, 1, domain, -1, SQLITE_TRANSIENT);
		if (step_done(st) < 0)
			goto fail;
	}
	if (db_commit(db) < 0)
		goto fail;
	if (k.active && dkim_store_active(db, domain, &next) == 1) {
		*promoted_r = xstrdup(next.selector);
		dkim_keyinfo_clear(&next);
	}
	dkim_keyinfo_clear(&k);
	return 1;
fail:
	db_rollback(db);
	dkim_keyinfo_clear(&k);
	return -1;
}

/* get_one - the first row of st (bound by the caller), finalized. */
static int get_one(sqlite3_stmt *st, struct dkim_keyinfo *k_r)
{
	int rc = sqlite3_step(st), ret = -1;

	if (rc == SQLITE_ROW) {
		row_to_key(st, k_r);
		ret = 1;
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

int dkim_store_get(struct db *db, const char *domain, const char *selector,
		   struct dkim_keyinfo *k_r)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT " KEY_COLUMNS " FROM dkim_keys"
					  " WHERE domain = ?1 AND selector = ?2");

	sqlite3_bind_text(st, 1, domain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, selector, -1, SQLITE_TRANSIENT);
	return get_one(st, k_r);
}

int dkim_store_active(struct db *db, const char *domain, struct dkim_keyinfo *k_r)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT " KEY_COLUMNS " FROM dkim_keys"
					  " WHERE domain = ?1 AND active = 1");

	sqlite3_bind_text(st, 1, domain, -1, SQLITE_TRANSIENT);
	return get_one(st, k_r);
}

int dkim_store_list(struct db *db, const char *domain, struct dkim_keyinfo **keys_r,
		    size_t *count_r)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT " KEY_COLUMNS " FROM dkim_keys"
					  " WHERE ?1 IS NULL OR domain = ?1"
					  " ORDER BY domain, active DESC, created_at DESC, rowid DESC");
	struct dkim_keyinfo *keys = NULL;
	size_t count = 0, alloc = 0;
	int rc;

	if (domain != NULL)
		sqlite3_bind_text(st, 1, domain, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == alloc) {
			alloc = alloc == 0 ? 8 : alloc * 2;
			keys = xrealloc(keys, alloc * sizeof(*keys));
		}
		row_to_key(st, &keys[count++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		dkim_keyinfos_free(&keys, count);
		return -1;
	}
	*keys_r = keys;
	*count_r = count;
	return 0;
}
