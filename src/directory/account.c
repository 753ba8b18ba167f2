/* SPDX-License-Identifier: ISC */
/*
 * account.c - mailboxes: creation within domain limits, settings, passwords.
 *
 * `user set` is a table of keys {key, parser, column}: a change is parsed
 * and checked in full before anything is written, inside one transaction,
 * so a bad key (or a quota the domain cannot hold) changes nothing.
 * Limits are enforced when a mailbox is created or a quota raised, never
 * by disabling what already exists (F10).
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "mail/addr.h"
#include "directory/directory-private.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIZE_TEXT_MAX 32
#define DISABLED_REASON_MAX 200  /* one line in `user show` and the journal */
#define REMOVE_FDS_MAX 16        /* nftw's open directory budget */

/* One parsed `user set` value. */
struct account_change {
	const struct account_key *key;
	uint64_t number;  /* numbers, sizes, and booleans as 0/1 */
	const char *text; /* reason= */
	char **list;      /* forward= targets, normalised */
	size_t list_count;
};

/* What the checks and special appliers need to know. */
struct set_ctx {
	struct db *db;
	const struct account *account;
	const char *actor;
	const char *reason;              /* reason=, when given */
	const struct account_change *disabled; /* disabled=, when given */
};

struct account_key {
	const char *key;
	int (*parse)(struct set_ctx *ctx, const char *value, struct account_change *change,
		     struct directory_error *error_r);
	/* integer column written with the parsed number; NULL when apply does it */
	const char *column;
	int (*apply)(struct set_ctx *ctx, const struct account_change *change);
};

static int parse_bool(struct set_ctx *ctx, const char *value, struct account_change *change,
		      struct directory_error *error_r);
static int parse_size(struct set_ctx *ctx, const char *value, struct account_change *change,
		      struct directory_error *error_r);
static int parse_count(struct set_ctx *ctx, const char *value, struct account_change *change,
		       struct directory_error *error_r);
static int parse_days(struct set_ctx *ctx, const char *value, struct account_change *change,
		      struct directory_error *error_r);
static int parse_reason(struct set_ctx *ctx, const char *value, struct account_change *change,
			struct directory_error *error_r);
static int parse_forward(struct set_ctx *ctx, const char *value, struct account_change *change,
			 struct directory_error *error_r);
static int apply_disabled(struct set_ctx *ctx, const struct account_change *change);
static int apply_forward(struct set_ctx *ctx, const struct account_change *change);
static int apply_max_age(struct set_ctx *ctx, const struct account_change *change);

/* password-max-age=default: the mailbox follows its domain's value. */
#define MAX_AGE_DEFAULT UINT64_MAX

/* DESIGN.md's `user set` keys. */
static const struct account_key account_keys[] = {
	{ "disabled", parse_bool, NULL, apply_disabled },
	{ "reason", parse_reason, NULL, NULL }, /* consumed by apply_disabled */
	{ "can-send", parse_bool, "can_send", NULL },
	{ "can-receive", parse_bool, "can_receive", NULL },
	{ "can-imap", parse_bool, "can_imap", NULL },
	{ "can-pop3", parse_bool, "can_pop3", NULL },
	{ "can-webmail", parse_bool, "can_webmail", NULL },
	{ "quota", parse_size, "quota_bytes", NULL },
	{ "max-messages", parse_count, "max_messages", NULL },
	{ "forward", parse_forward, NULL, apply_forward },
	{ "forward-keep-copy", parse_bool, "forward_keep_copy", NULL },
	{ "password-max-age", parse_days, NULL, apply_max_age },
};

/* Column 18 is the max age in force: the mailbox's own, or its domain's
 * default (the one place that rule lives, so every reader of an account
 * (policy.c's logins, `why`, `user show`) gets the same answer). */
#define ACCOUNT_SELECT                                                                 \
	"SELECT id, address, domain, local, password_hash, quota_bytes, max_messages,"  \
	" disabled, disabled_reason, disabled_at, disabled_by, can_send, can_receive," \
	" can_imap, can_pop3, can_webmail, forward_keep_copy, password_changed_at,"    \
	" CASE WHEN password_max_age_own THEN password_max_age_days ELSE"              \
	"  COALESCE((SELECT d.password_max_age_days FROM domains d"                   \
	"   WHERE d.name = accounts.domain), 0) END,"                                  \
	" created_at, password_max_age_own, password_warned_at FROM accounts"

static void account_read(sqlite3_stmt *st, struct account *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	a->address = dir_column_strdup(st, 1);
	a->domain = dir_column_strdup(st, 2);
	a->local = dir_column_strdup(st, 3);
	a->password_hash = dir_column_strdup(st, 4);
	a->quota_bytes = (uint64_t)sqlite3_column_int64(st, 5);
	a->max_messages = (uint64_t)sqlite3_column_int64(st, 6);
	a->disabled = sqlite3_column_int(st, 7) != 0;
	a->disabled_reason = dir_column_strdup(st, 8);
	a->disabled_at = sqlite3_column_int64(st, 9);
	a->disabled_by = dir_column_strdup(st, 10);
	a->can_send = sqlite3_column_int(st, 11) != 0;
	a->can_receive = sqlite3_column_int(st, 12) != 0;
	a->can_imap = sqlite3_column_int(st, 13) != 0;
	a->can_pop3 = sqlite3_column_int(st, 14) != 0;
	a->can_webmail = sqlite3_column_int(st, 15) != 0;
	a->forward_keep_copy = sqlite3_column_int(st, 16) != 0;
	a->password_changed_at = sqlite3_column_int64(st, 17);
	a->password_max_age_days = (uint64_t)sqlite3_column_int64(st, 18);
	a->created_at = sqlite3_column_int64(st, 19);
	a->password_max_age_own = sqlite3_column_int(st, 20) != 0;
	a->password_warned_at = sqlite3_column_int64(st, 21);
}

static int account_read_forwards(struct db *db, struct account *a)
{
	sqlite3_stmt *st = db_prepare_cached(db, "SELECT target FROM forwards"
						 " WHERE account_id = ?1 ORDER BY rowid");
	int rc;

	sqlite3_bind_int64(st, 1, a->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		dir_strv_add(&a->forward, &a->forward_count, (const char *)sqlite3_column_text(st, 0));
	db_release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- `user set` parsers ---- */

static int parse_bool(struct set_ctx *ctx, const char *value, struct account_change *change,
		      struct directory_error *error_r)
{
	bool b;

	if (str_to_bool(value, &b) < 0)
		return dir_refuse(error_r, DIR_REASON_INVALID, "%s must be yes or no, not '%s'",
				  change->key->key, value);
	change->number = b ? 1 : 0;
	return 0;
}

/* parse_size - a quota must fit within the domain's total quota. */
static int parse_size(struct set_ctx *ctx, const char *value, struct account_change *change,
		      struct directory_error *error_r)
{
	struct domain d;
	char mine[SIZE_TEXT_MAX], total[SIZE_TEXT_MAX];
	int ret;

	if (size_parse(value, &change->number) < 0)
		return dir_refuse(error_r, DIR_REASON_INVALID,
				  "bad size for %s: '%s' (examples: 0, 500M, 2G)", change->key->key,
				  value);
	if ((ret = domain_get(ctx->db, ctx->account->domain, &d)) < 0)
		return dir_db_error(ctx->db, error_r);
	/* 0 (unlimited) is fine: the domain's total still bounds the mailbox */
	if (ret > 0 && d.quota_bytes != 0 && change->number > d.quota_bytes) {
		size_format(change->number, mine, sizeof(mine));
		size_format(d.quota_bytes, total, sizeof(total));
		dir_refuse(error_r, "domain.quota",
			   "mailbox quota %s is larger than the total quota of domain %s (%s)",
			   mine, d.name, total);
		domain_clear(&d);
		return -1;
	}
	domain_clear(&d);
	return 0;
}

static int parse_count(struct set_ctx *ctx, const char *value, struct account_change *change,
		       struct directory_error *error_r)
{
	if (str_to_uint64(value, 0, INT64_MAX, &change->number) < 0)
		return dir_refuse(error_r, DIR_REASON_INVALID, "%s must be a number, not '%s'",
				  change->key->key, value);
	return 0;
}

/* parse_days - a number of days (0 = never), or "default" (the domain's). */
static int parse_days(struct set_ctx *ctx, const char *value, struct account_change *change,
		      struct directory_error *error_r)
{
	if (strcmp(value, "default") == 0) {
		change->number = MAX_AGE_DEFAULT;
		return 0;
	}
	if (str_to_uint64(value, 0, PASSWORD_MAX_AGE_DAYS_MAX, &change->number) < 0)
		return dir_refuse(error_r, DIR_REASON_INVALID,
				  "%s must be a number of days from 0 (never) to %d, or default "
				  "(the domain's), not '%s'",
				  change->key->key, PASSWORD_MAX_AGE_DAYS_MAX, value);
	return 0;
}

static int parse_reason(struct set_ctx *ctx, const char *value, struct account_change *change,
			struct directory_error *error_r)
{
	if (strlen(value) > DISABLED_REASON_MAX)
		return dir_refuse(error_r, DIR_REASON_INVALID, "reason too long (max %d bytes)",
				  DISABLED_REASON_MAX);
	for (const char *p = value; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return dir_refuse(error_r, DIR_REASON_INVALID,
					  "reason must be one line of text");
	}
	change->text = value;
	ctx->reason = value;
	return 0;
}

/* parse_forward - "a@x,b@y"; empty clears the list. */
static int parse_forward(struct set_ctx *ctx, const char *value, struct account_change *change,
			 struct directory_error *error_r)
{
	char *copy = xstrdup(value), *save = NULL;
	const char **in = NULL;
	size_t n = 0;
	int ret;

	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		t = str_trim(t);
		if (*t == '\0')
			continue;
		in = xrealloc(in, (n + 1) * sizeof(*in));
		in[n++] = t;
	}
	ret = dir_targets_normalize(ctx->db, ctx->account->address, in, n, &change->list,
				    &change->list_count, error_r);
	free(in);
	free(copy);
	return ret;
}

/* ---- `user set` appliers for keys that are not one column ---- */

static int apply_disabled(struct set_ctx *ctx, const struct account_change *change)
{
	sqlite3_stmt *st;

	if (change->number == 0) {
		st = db_prepare(ctx->db, "UPDATE accounts SET disabled = 0, disabled_reason = NULL,"
					 " disabled_at = NULL, disabled_by = NULL WHERE id = ?1");
	} else {
		st = db_prepare(ctx->db, "UPDATE accounts SET disabled = 1, disabled_reason = ?2,"
					 " disabled_at = ?3, disabled_by = ?4 WHERE id = ?1");
		if (ctx->reason != NULL && ctx->reason[0] != '\0')
			sqlite3_bind_text(st, 2, ctx->reason, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, time_now());
		if (ctx->actor != NULL)
			sqlite3_bind_text(st, 4, ctx->actor, -1, SQLITE_TRANSIENT);
	}
	sqlite3_bind_int64(st, 1, ctx->account->id);
	return dir_step_done(st);
}

static int apply_forward(struct set_ctx *ctx, const struct account_change *change)
{
	sqlite3_stmt *st = db_prepare(ctx->db, "DELETE FROM forwards WHERE account_id = ?1");

	sqlite3_bind_int64(st, 1, ctx->account->id);
	if (dir_step_done(st) < 0)
		return -1;
	for (size_t i = 0; i < change->list_count; i++) {
		st = db_prepare(ctx->db, "INSERT INTO forwards (account_id, target) VALUES (?1, ?2)");
		sqlite3_bind_int64(st, 1, ctx->account->id);
		sqlite3_bind_text(st, 2, change->list[i], -1, SQLITE_TRANSIENT);
		if (dir_step_done(st) < 0)
			return -1;
	}
	return 0;
}

/* apply_max_age - the mailbox's own max age, or back to its domain's. */
static int apply_max_age(struct set_ctx *ctx, const struct account_change *change)
{
	bool inherit = change->number == MAX_AGE_DEFAULT;
	sqlite3_stmt *st = db_prepare(ctx->db, "UPDATE accounts SET password_max_age_days = ?1,"
					       " password_max_age_own = ?2 WHERE id = ?3");

	sqlite3_bind_int64(st, 1, inherit ? 0 : (sqlite3_int64)change->number);
	sqlite3_bind_int(st, 2, inherit ? 0 : 1);
	sqlite3_bind_int64(st, 3, ctx->account->id);
	return dir_step_done(st);
}

static int apply_column(struct set_ctx *ctx, const struct account_change *change)
{
	/* the column name comes from the static table, never from input */
	char *sql = xasprintf("UPDATE accounts SET %s = ?1 WHERE id = ?2", change->key->column);
	sqlite3_stmt *st = db_prepare(ctx->db, sql);

	free(sql);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)change->number);
	sqlite3_bind_int64(st, 2, ctx->account->id);
	return dir_step_done(st);
}

static const struct account_key *account_key_find(const char *key)
{
	for (size_t i = 0; i < N_ELEMENTS(account_keys); i++) {
		if (strcmp(account_keys[i].key, key) == 0)
			return &account_keys[i];
	}
	return NULL;
}

const char *account_setting_key(size_t i)
{
	return i < N_ELEMENTS(account_keys) ? account_keys[i].key : NULL;
}

static void unknown_key(const char *key, struct directory_error *error_r)
{
	char known[DIRECTORY_ERROR_MAX / 2] = "";

	for (size_t i = 0; i < N_ELEMENTS(account_keys); i++) {
		if ((i > 0 && str_append(known, ", ", sizeof(known)) < 0) ||
		    str_append(known, account_keys[i].key, sizeof(known)) < 0)
			break;
	}
	dir_refuse(error_r, DIR_REASON_INVALID, "unknown setting '%s' (known: %s)", key, known);
}

/* account_lookup_normalized - account_get for an address already in
 * canonical form; 1/0/-1. */
static int account_lookup_normalized(struct db *db, const char *address, struct account *a)
{
	sqlite3_stmt *st = db_prepare_cached(db, ACCOUNT_SELECT " WHERE address = ?1");
	int rc;

	memset(a, 0, sizeof(*a));
	sqlite3_bind_text(st, 1, address, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		account_read(st, a);
	db_release(db, st);
	if (rc == SQLITE_ROW) {
		if (account_read_forwards(db, a) < 0) {
			account_clear(a);
			return -1;
		}
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- public API ---- */

/* check_new_mailbox - everything that must hold before the INSERT: the
 * domain is local, the address free, and the domain's limits allow it. */
static int check_new_mailbox(struct db *db, const char *address, uint64_t quota_bytes,
			     struct directory_error *error_r)
{
	const char *domain = addr_domain(address);
	char mine[SIZE_TEXT_MAX], total[SIZE_TEXT_MAX];
	struct domain d;
	int ret;

	if ((ret = domain_get(db, domain, &d)) <= 0) {
		if (ret < 0)
			return dir_db_error(db, error_r);
		return dir_refuse(error_r, DIR_REASON_UNKNOWN,
				  "no domain %s (add it first: postino domain add %s)", domain,
				  domain);
	}
	if ((ret = dir_account_exists(db, address)) != 0) {
		domain_clear(&d);
		if (ret < 0)
			return dir_db_error(db, error_r);
		return dir_refuse(error_r, DIR_REASON_EXISTS, "mailbox %s already exists",
				  address);
	}
	if ((ret = dir_alias_exists(db, address)) != 0) {
		domain_clear(&d);
		if (ret < 0)
			return dir_db_error(db, error_r);
		return dir_refuse(error_r, DIR_REASON_IN_USE,
				  "%s is an alias; a mailbox cannot have the same address "
				  "(postino alias del %s first)",
				  address, address);
	}
	ret = 0;
	if (d.max_accounts != 0 && d.account_count >= d.max_accounts) {
		ret = dir_refuse(error_r, "domain.max-accounts",
				 "domain %s has reached its limit of %" PRIu64 " mailboxes", d.name,
				 d.max_accounts);
	} else if (d.quota_bytes != 0 && quota_bytes > d.quota_bytes) {
		size_format(quota_bytes, mine, sizeof(mine));
		size_format(d.quota_bytes, total, sizeof(total));
		ret = dir_refuse(error_r, "domain.quota",
				 "mailbox quota %s is larger than the total quota of domain %s (%s)",
				 mine, d.name, total);
	}
	domain_clear(&d);
	return ret;
}

int account_add(struct db *db, const char *address, const char *password, uint64_t quota_bytes,
		uint64_t max_messages, struct directory_error *error_r)
{
	char *addr = NULL, *hash = NULL;
	const char *error;
	int64_t now = time_now();

	if (dir_normalize_address(address, &addr, error_r) < 0)
		return -1;
	/* the local part names the Maildir (mail/<domain>/<local>/) */
	if (strchr(addr, '/') != NULL) {
		dir_refuse(error_r, DIR_REASON_INVALID,
			   "bad address '%s': a mailbox name may not contain '/'", address);
		goto fail;
	}
	if (quota_bytes > INT64_MAX || max_messages > INT64_MAX) {
		dir_refuse(error_r, DIR_REASON_INVALID, "quota out of range");
		goto fail;
	}
	/* hash before the transaction: it is slow and needs no lock */
	if (password != NULL && password_hash(password, &hash, &error) < 0) {
		dir_refuse(error_r, DIR_REASON_INVALID, "%s", error);
		goto fail;
	}
	if (db_begin(db) < 0) {
		dir_db_error(db, error_r);
		goto fail;
	}
	if (check_new_mailbox(db, addr, quota_bytes, error_r) < 0) {
		db_rollback(db);
		goto fail;
	}
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO accounts (address, domain, local,"
					  " password_hash, quota_bytes, max_messages,"
					  " password_changed_at, created_at)"
					  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	const char *domain = addr_domain(addr);
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, domain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, addr, (int)(domain - 1 - addr), SQLITE_TRANSIENT);
	if (hash != NULL) {
		sqlite3_bind_text(st, 4, hash, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 7, now);
	}
	sqlite3_bind_int64(st, 5, (sqlite3_int64)quota_bytes);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)max_messages);
	sqlite3_bind_int64(st, 8, now);
	if (dir_step_done(st) < 0 || db_commit(db) < 0) {
		dir_db_error(db, error_r);
		goto fail;
	}
	free(hash);
	free(addr);
	return 0;
fail:
	free(hash);
	free(addr);
	return -1;
}

int account_del(struct db *db, const char *address, struct directory_error *error_r)
{
	sqlite3_stmt *st;
	char *addr;

	if (dir_normalize_address(address, &addr, error_r) < 0)
		return -1;
	st = db_prepare(db, "DELETE FROM accounts WHERE address = ?1");
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_TRANSIENT);
	if (dir_step_done(st) < 0) {
		free(addr);
		return dir_db_error(db, error_r);
	}
	if (sqlite3_changes(db->sql) == 0) {
		dir_refuse(error_r, DIR_REASON_UNKNOWN, "no mailbox %s", addr);
		free(addr);
		return -1;
	}
	free(addr);
	return 0;
}

int account_get(struct db *db, const char *address, struct account *account_r)
{
	const char *error;
	char *addr;
	int ret;

	memset(account_r, 0, sizeof(*account_r));
	if (addr_normalize(address, &addr, &error) < 0)
		return 0; /* no such mailbox can exist */
	ret = account_lookup_normalized(db, addr, account_r);
	free(addr);
	return ret;
}

int account_list(struct db *db, const char *domain, struct account **accounts_r,
		 size_t *count_r)
{
	struct account *accounts = NULL;
	size_t count = 0;
	char *name = NULL;
	const char *error;
	sqlite3_stmt *st;
	int rc;

	*accounts_r = NULL;
	*count_r = 0;
	if (domain != NULL) {
		if (addr_domain_normalize(domain, &name, &error) < 0)
			return 0;
		st = db_prepare(db, ACCOUNT_SELECT " WHERE domain = ?1 ORDER BY address");
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		free(name);
	} else
		st = db_prepare(db, ACCOUNT_SELECT " ORDER BY address");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		accounts = xrealloc(accounts, (count + 1) * sizeof(*accounts));
		account_read(st, &accounts[count++]);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; rc == SQLITE_DONE && i < count; i++) {
		if (account_read_forwards(db, &accounts[i]) < 0)
			rc = SQLITE_ERROR;
	}
	if (rc != SQLITE_DONE) {
		accounts_free(&accounts, count);
		return -1;
	}
	*accounts_r = accounts;
	*count_r = count;
	return 0;
}

/* parse_settings - every key known and every value valid, or nothing. */
static int parse_settings(struct set_ctx *ctx, const struct directory_setting *settings,
			  size_t count, struct account_change *changes,
			  struct directory_error *error_r)
{
	for (size_t i = 0; i < count; i++) {
		const struct account_key *k = account_key_find(settings[i].key);
		if (k == NULL) {
			unknown_key(settings[i].key, error_r);
			return -1;
		}
		changes[i].key = k;
		if (k->parse(ctx, settings[i].value, &changes[i], error_r) < 0)
			return -1;
		if (k->apply == apply_disabled)
			ctx->disabled = &changes[i];
	}
	if (ctx->reason != NULL && (ctx->disabled == NULL || ctx->disabled->number == 0))
		return dir_refuse(error_r, DIR_REASON_INVALID,
				  "reason= goes with disabled=yes");
	return 0;
}

int account_set(struct db *db, const char *address, const struct directory_setting *settings,
		size_t count, const char *actor, struct directory_error *error_r)
{
	struct account_change *changes;
	struct account a;
	struct set_ctx ctx = { .db = db, .account = &a, .actor = actor };
	char *addr;
	int ret = -1;

	if (count == 0)
		return dir_refuse(error_r, DIR_REASON_INVALID, "nothing to set");
	if (dir_normalize_address(address, &addr, error_r) < 0)
		return -1;
	if (db_begin(db) < 0) {
		free(addr);
		return dir_db_error(db, error_r);
	}
	if ((ret = account_lookup_normalized(db, addr, &a)) <= 0) {
		if (ret < 0)
			dir_db_error(db, error_r);
		else
			dir_refuse(error_r, DIR_REASON_UNKNOWN, "no mailbox %s", addr);
		db_rollback(db);
		free(addr);
		return -1;
	}
	free(addr);
	changes = xcalloc(count, sizeof(*changes));
	ret = parse_settings(&ctx, settings, count, changes, error_r);
	for (size_t i = 0; ret == 0 && i < count; i++) {
		const struct account_key *k = changes[i].key;
		if (k->column != NULL)
			ret = apply_column(&ctx, &changes[i]);
		else if (k->apply != NULL)
			ret = k->apply(&ctx, &changes[i]);
		if (ret < 0)
			dir_db_error(db, error_r);
	}
	if (ret == 0 && db_commit(db) < 0)
		ret = dir_db_error(db, error_r);
	if (ret < 0)
		db_rollback(db);
	for (size_t i = 0; i < count; i++)
		dir_strv_free(&changes[i].list, changes[i].list_count);
	free(changes);
	account_clear(&a);
	return ret;
}

int account_set_password(struct db *db, const char *address, const char *password,
			 struct directory_error *error_r)
{
	const char *error;
	sqlite3_stmt *st;
	char *addr, *hash;

	if (dir_normalize_address(address, &addr, error_r) < 0)
		return -1;
	if (password_hash(password, &hash, &error) < 0) {
		free(addr);
		return dir_refuse(error_r, DIR_REASON_INVALID, "%s", error);
	}
	/* a new password restarts the clock and earns its own warning */
	st = db_prepare(db, "UPDATE accounts SET password_hash = ?1, password_changed_at = ?2,"
			    " password_warned_at = NULL WHERE address = ?3");
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, time_now());
	sqlite3_bind_text(st, 3, addr, -1, SQLITE_TRANSIENT);
	explicit_bzero(hash, strlen(hash));
	free(hash);
	if (dir_step_done(st) < 0) {
		free(addr);
		return dir_db_error(db, error_r);
	}
	if (sqlite3_changes(db->sql) == 0) {
		dir_refuse(error_r, DIR_REASON_UNKNOWN, "no mailbox %s", addr);
		free(addr);
		return -1;
	}
	free(addr);
	return 0;
}

int account_verify_password(struct db *db, const char *address, const char *password)
{
	struct account a;
	int ret = account_get(db, address, &a);

	if (ret > 0)
		ret = password_verify(password, a.password_hash) ? 1 : 0;
	account_clear(&a);
	return ret;
}

char *account_mail_path(const char *data_dir, const char *domain, const char *local)
{
	return xasprintf("%s/mail/%s/%s", data_dir, domain, local);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int account_remove_mail(const char *data_dir, const char *domain, const char *local,
			const char **error_r)
{
	char *path = account_mail_path(data_dir, domain, local);
	int ret = 0;

	/* the local part cannot escape: dot-atom has no "..", and '/' is
	 * refused in mailbox names (account_add) */
	if (nftw(path, remove_entry, REMOVE_FDS_MAX, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT) {
		*error_r = strerror(errno);
		ret = -1;
	}
	free(path);
	path = xasprintf("%s/mail/%s", data_dir, domain);
	(void)rmdir(path); /* only succeeds when empty, as meant */
	free(path);
	return ret;
}

void account_clear(struct account *account)
{
	free(account->address);
	free(account->domain);
	free(account->local);
	if (account->password_hash != NULL)
		explicit_bzero(account->password_hash, strlen(account->password_hash));
	free(account->password_hash);
	free(account->disabled_reason);
	free(account->disabled_by);
	dir_strv_free(&account->forward, account->forward_count);
	memset(account, 0, sizeof(*account));
}

void accounts_free(struct account **_accounts, size_t count)
{
	struct account *accounts = *_accounts;

	if (accounts == NULL)
		return;
	*_accounts = NULL;
	for (size_t i = 0; i < count; i++)
		account_clear(&accounts[i]);
	free(accounts);
}
