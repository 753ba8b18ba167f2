/* SPDX-License-Identifier: ISC */
/*
 * screen.c - dynamic screening (F20): the counting, the decisions and
 * their storage. No protocol text and no connections here: protocols ask
 * (screen_check_connect, policy_auth) and act (reply, close) themselves.
 *
 * DESIGN
 * A window is a count of rows: screen_failures holds one row per failed
 * login (time, address key, login key), and "n failures within w" is
 * COUNT(*) over time_ms > now - w. Counting in SQL rather than in memory
 * keeps every worker thread in agreement without locks of our own
 * (BEGIN IMMEDIATE serialises two failures that race for the threshold),
 * and the counts survive a restart, so restarting the server does not
 * hand an attacker a fresh set of guesses. Rows older than the longest
 * window are pruned on each write, so the table stays at most a window
 * of failures long.
 *
 * Reads at connect time must not cost a query per connection: the loop
 * thread keeps a copy of the address blocks and reloads it only when
 * PRAGMA data_version says another connection (a worker, or the CLI's
 * `screen unblock`) committed, or a write in this process bumped
 * screen_generation (a same-connection write does not move data_version).
 * data_version moves with every commit to postino.db (the journal's
 * too), so it is asked at most once per SCREEN_CACHE_TRUST_MS while
 * nothing in this process changed a block: only this process creates
 * blocks, so an address the copy does not block is not blocked. An
 * address the copy does block is checked against the database before
 * the refusal, so an unblock from the CLI takes effect at once.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "mail/addr.h"
#include "core/db.h"
#include "core/journal.h"
#include "directory/screen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <time.h>

#define MS_PER_SECOND 1000
/* Text of a time in details: "2026-11-22T10:00:00Z". */
#define SCREEN_TIME_TEXT_MAX 32
/* Bits of an IPv6 address that name one site (RFC 6177: a /64 is the
 * smallest allocation, one LAN). */
#define SCREEN_IPV6_KEY_BITS 64

static const char *const kind_names[] = {
	[SCREEN_KIND_IP] = "ip",
	[SCREEN_KIND_ACCOUNT] = "account",
};

/* How long the loop's copy answers "not blocked" without asking the
 * database whether anything changed. */
#define SCREEN_CACHE_TRUST_MS 1000

/* Bumped by every write in this process: the loop's copy is stale. */
static atomic_uint_fast64_t screen_generation = 1;

/* The loop thread's copy of the address blocks in force. */
static struct {
	bool loaded;
	const struct db *db;    /* data_version is per connection */
	int64_t data_version;
	int64_t checked_ms;     /* when data_version was last asked */
	uint_fast64_t generation;
	struct screen_block *blocks;
	size_t count;
} cache;

int64_t screen_now_ms(void)
{
	return time_now_ms();
}

void screen_params_from_config(const struct config *cfg, struct screen_params *params_r)
{
	memset(params_r, 0, sizeof(*params_r));
	params_r->ip_failures = cfg->screen_ip_failures;
	params_r->ip_window_ms = (int64_t)cfg->screen_ip_window * MS_PER_SECOND;
	params_r->ip_block_ms = (int64_t)cfg->screen_ip_block * MS_PER_SECOND;
	params_r->account_failures = cfg->screen_account_failures;
	params_r->account_window_ms = (int64_t)cfg->screen_account_window * MS_PER_SECOND;
	params_r->account_lock_ms = (int64_t)cfg->screen_account_lock * MS_PER_SECOND;
	/* validated when the configuration was read */
	if (config_cidr_list_parse(cfg->screen_trusted, params_r->trusted,
				   N_ELEMENTS(params_r->trusted), &params_r->trusted_count) < 0)
		params_r->trusted_count = 0;
}

/* ---- addresses and names ---- */

/* parse_ip - a numeric address as family 4/6 and bytes; an IPv4-mapped
 * IPv6 address (::ffff:192.0.2.7, what a dual-stack socket reports) is
 * the IPv4 address it carries. */
static int parse_ip(const char *ip, int *family_r, uint8_t addr[16])
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(addr, 0, 16);
	if (inet_pton(AF_INET, ip, addr) == 1) {
		*family_r = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, addr) != 1)
		return -1;
	if (memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family_r = 4;
		return 0;
	}
	*family_r = 6;
	return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

bool screen_is_trusted(const struct screen_params *params, const char *ip)
{
	uint8_t addr[16];
	int family;

	if (parse_ip(ip, &family, addr) < 0)
		return false;
	for (size_t i = 0; i < params->trusted_count; i++) {
		const struct config_cidr *c = &params->trusted[i];
		if (c->family == family && prefix_match(addr, c->addr, c->prefix))
			return true;
	}
	return false;
}

int screen_ip_key(const char *ip, char *key, size_t size)
{
	char buf[INET6_ADDRSTRLEN + 4], text[INET6_ADDRSTRLEN];
	char *slash;
	uint8_t addr[16];
	int family;

	if (str_copy(buf, ip, sizeof(buf)) < 0)
		return -1;
	if ((slash = strchr(buf, '/')) != NULL) {
		/* a key given back (`screen unblock 2001:db8::/64`) */
		if (strcmp(slash, "/64") != 0)
			return -1;
		*slash = '\0';
	}
	if (parse_ip(buf, &family, addr) < 0 || (slash != NULL && family != 6))
		return -1;
	if (family == 4) {
		if (inet_ntop(AF_INET, addr, text, sizeof(text)) == NULL)
			return -1;
		return str_copy(key, text, size);
	}
	memset(addr + SCREEN_IPV6_KEY_BITS / 8, 0, 16 - SCREEN_IPV6_KEY_BITS / 8);
	if (inet_ntop(AF_INET6, addr, text, sizeof(text)) == NULL)
		return -1;
	return str_printf(key, size, "%s/%d", text, SCREEN_IPV6_KEY_BITS);
}

bool screen_same_address(const char *peer, const void *ip)
{
	char a[SCREEN_SUBJECT_MAX], b[SCREEN_SUBJECT_MAX];

	return screen_ip_key(peer, a, sizeof(a)) == 0 && screen_ip_key(ip, b, sizeof(b)) == 0 &&
	       strcmp(a, b) == 0;
}

void screen_login_key(const char *login, char *key, size_t size)
{
	const char *error;
	char *addr;

	if (addr_normalize(login, &addr, &error) == 0) {
		/* a cut key still names one login; an address never needs it */
		(void)snprintf(key, size, "%s", addr);
		free(addr);
		return;
	}
	(void)snprintf(key, size, "%s", login);
	str_lcase(key);
}

static void format_time_ms(int64_t ms, char *dst, size_t size)
{
	time_format_iso(ms / MS_PER_SECOND, dst, size);
}

/* format_window - "10m", "2h", "90s": how an admin typed it. */
static void format_window(int64_t ms, char *dst, size_t size)
{
	int64_t s = ms / MS_PER_SECOND;

	if (s > 0 && s % 3600 == 0)
		(void)snprintf(dst, size, "%" PRId64 "h", s / 3600);
	else if (s > 0 && s % 60 == 0)
		(void)snprintf(dst, size, "%" PRId64 "m", s / 60);
	else
		(void)snprintf(dst, size, "%" PRId64 "s", s);
}

/* ---- rows ---- */

static void block_from_row(sqlite3_stmt *st, int col, struct screen_block *b)
{
	const char *kind = (const char *)sqlite3_column_text(st, col);
	const char *subject = (const char *)sqlite3_column_text(st, col + 1);
	const char *detail = (const char *)sqlite3_column_text(st, col + 5);

	memset(b, 0, sizeof(*b));
	b->kind = kind != NULL && strcmp(kind, "account") == 0 ? SCREEN_KIND_ACCOUNT
								: SCREEN_KIND_IP;
	(void)snprintf(b->subject, sizeof(b->subject), "%s", subject != NULL ? subject : "");
	b->since_ms = sqlite3_column_int64(st, col + 2);
	b->until_ms = sqlite3_column_int64(st, col + 3);
	b->failures = (uint64_t)sqlite3_column_int64(st, col + 4);
	(void)snprintf(b->detail, sizeof(b->detail), "%s", detail != NULL ? detail : "");
}

#define BLOCK_COLUMNS "kind, subject, since_ms, until_ms, failures, detail"

/* subject_key - the stored key for a subject given by a person or a
 * protocol; -1 when an address is not numeric. */
static int subject_key(enum screen_kind kind, const char *subject, char *key, size_t size)
{
	if (kind == SCREEN_KIND_IP)
		return screen_ip_key(subject, key, size);
	screen_login_key(subject, key, size);
	return 0;
}

int screen_get(struct db *db, enum screen_kind kind, const char *subject, int64_t now_ms,
	       struct screen_block *block_r)
{
	char key[SCREEN_SUBJECT_MAX];
	sqlite3_stmt *st;
	int rc;

	if (subject_key(kind, subject, key, sizeof(key)) < 0)
		return 0;
	st = db_prepare(db, "SELECT " BLOCK_COLUMNS " FROM screen_blocks"
			    " WHERE kind = ?1 AND subject = ?2 AND until_ms > ?3");
	sqlite3_bind_text(st, 1, kind_names[kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		block_from_row(st, 0, block_r);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_error("screen: cannot read blocks: %s", db_errmsg(db));
		return -1;
	}
	return rc == SQLITE_ROW;
}

int screen_failure_count(struct db *db, enum screen_kind kind, const char *subject,
			 int64_t since_ms, uint64_t *count_r)
{
	char key[SCREEN_SUBJECT_MAX];
	sqlite3_stmt *st;
	int rc;

	*count_r = 0;
	if (subject_key(kind, subject, key, sizeof(key)) < 0)
		return 0;
	st = db_prepare(db, kind == SCREEN_KIND_IP
				    ? "SELECT count(*) FROM screen_failures WHERE ip = ?1 AND time_ms > ?2"
				    : "SELECT count(*) FROM screen_failures WHERE login = ?1"
				      " AND time_ms > ?2");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, since_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*count_r = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int screen_list(struct db *db, int64_t now_ms, struct screen_block **blocks_r, size_t *count_r)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT " BLOCK_COLUMNS " FROM screen_blocks"
					  " WHERE until_ms > ?1"
					  " ORDER BY kind = 'account', until_ms, subject");
	struct screen_block *blocks = NULL;
	size_t count = 0;
	int rc;

	sqlite3_bind_int64(st, 1, now_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		blocks = xrealloc(blocks, (count + 1) * sizeof(*blocks));
		block_from_row(st, 0, &blocks[count++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(blocks);
		return -1;
	}
	*blocks_r = blocks;
	*count_r = count;
	return 0;
}

/* ---- the loop's copy, for connect checks ---- */

static int cache_refresh(struct db *db, int64_t now_ms)
{
	uint_fast64_t generation = atomic_load(&screen_generation);
	int64_t version = db_data_version(db);
	struct screen_block *all;
	size_t count, n = 0;

	if (version < 0)
		return -1;
	if (cache.loaded && cache.db == db && cache.data_version == version &&
	    cache.generation == generation) {
		cache.checked_ms = now_ms;
		return 0;
	}
	if (screen_list(db, now_ms, &all, &count) < 0) {
		log_error("screen: cannot read blocks: %s", db_errmsg(db));
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (all[i].kind == SCREEN_KIND_IP)
			all[n++] = all[i];
	}
	free(cache.blocks);
	cache.blocks = all;
	cache.count = n;
	cache.db = db;
	cache.data_version = version;
	cache.checked_ms = now_ms;
	cache.generation = generation;
	cache.loaded = true;
	return 0;
}

/* cache_trusted - the copy may answer without asking the database. */
static bool cache_trusted(const struct db *db, int64_t now_ms)
{
	return cache.loaded && cache.db == db &&
	       cache.generation == atomic_load(&screen_generation) &&
	       now_ms >= cache.checked_ms && now_ms - cache.checked_ms < SCREEN_CACHE_TRUST_MS;
}

/* cache_find - the copy's block of the address key, if any. */
static bool cache_find(const char *key, int64_t now_ms, struct screen_block *block_r)
{
	/* a linear scan: blocks number in the tens, a connect is rarer than
	 * the cost of keeping a hash in step */
	for (size_t i = 0; i < cache.count; i++) {
		if (cache.blocks[i].until_ms > now_ms && strcmp(cache.blocks[i].subject, key) == 0) {
			*block_r = cache.blocks[i];
			return true;
		}
	}
	return false;
}

int screen_check_connect(struct db *db, const struct screen_params *params, const char *ip,
			 int64_t now_ms, struct screen_block *block_r)
{
	char key[SCREEN_SUBJECT_MAX];

	if (db == NULL)
		return -1;
	if (screen_ip_key(ip, key, sizeof(key)) < 0 || screen_is_trusted(params, ip))
		return 0;
	if (cache_trusted(db, now_ms)) {
		if (!cache_find(key, now_ms, block_r))
			return 0;
		/* a refusal is confirmed: the CLI may have lifted the block */
	}
	if (cache_refresh(db, now_ms) < 0)
		return -1;
	return cache_find(key, now_ms, block_r) ? 1 : 0;
}

/* ---- logins ---- */

int screen_check_login(struct db *db, const struct screen_params *params, const char *ip,
		       const char *login, int64_t now_ms, const char **reason_r,
		       struct screen_block *block_r)
{
	int ret;

	if (screen_is_trusted(params, ip))
		return 0; /* the office is never locked out by a stranger's guesses */
	if ((ret = screen_get(db, SCREEN_KIND_IP, ip, now_ms, block_r)) != 0) {
		*reason_r = SCREEN_REASON_IP_BLOCKED;
		return ret;
	}
	if ((ret = screen_get(db, SCREEN_KIND_ACCOUNT, login, now_ms, block_r)) != 0) {
		*reason_r = SCREEN_REASON_ACCOUNT_LOCKED;
		return ret;
	}
	return 0;
}

static int count_since(struct db *db, const char *sql, const char *key, int64_t since_ms,
		       uint64_t *count_r)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	int rc;

	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, since_ms);
	rc = sqlite3_step(st);
	*count_r = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* sources_detail - "a x3, b x1": the busiest values of column `what`
 * among the failures of key in the window. */
static void sources_detail(struct db *db, const char *sql, const char *key, int64_t since_ms,
			   char *dst, size_t size)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	size_t used = 0;

	dst[0] = '\0';
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, since_ms);
	sqlite3_bind_int(st, 3, SCREEN_DETAIL_ITEMS_MAX);
	while (sqlite3_step(st) == SQLITE_ROW && used < size) {
		int n = snprintf(dst + used, size - used, "%s%s x%" PRId64, used > 0 ? ", " : "",
				 (const char *)sqlite3_column_text(st, 0),
				 (int64_t)sqlite3_column_int64(st, 1));
		if (n < 0)
			break;
		used += (size_t)n;
	}
	sqlite3_finalize(st);
}

/* add_block - 1 when this call set it, 0 when one was already in force. */
static int add_block(struct db *db, enum screen_kind kind, const char *key, int64_t now_ms,
		     int64_t until_ms, uint64_t failures, const char *detail)
{
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO screen_blocks (kind, subject, since_ms,"
					  " until_ms, failures, detail)"
					  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
					  " ON CONFLICT (kind, subject) DO NOTHING");
	int rc;

	sqlite3_bind_text(st, 1, kind_names[kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now_ms);
	sqlite3_bind_int64(st, 4, until_ms);
	sqlite3_bind_int64(st, 5, (int64_t)failures);
	sqlite3_bind_text(st, 6, detail, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(db->sql) > 0;
}

static int exec_bound(struct db *db, const char *sql, int64_t value)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	int rc;

	sqlite3_bind_int64(st, 1, value);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* record_failure - the row, the pruning, the counts and the thresholds,
 * in the caller's transaction. */
static int record_failure(struct db *db, const struct screen_params *params,
			  const struct screen_who *who, const char *ipkey, const char *loginkey,
			  int64_t now_ms, struct screen_event *ev, char *ip_detail,
			  char *account_detail, size_t detail_size)
{
	int64_t longest = params->ip_window_ms > params->account_window_ms
				  ? params->ip_window_ms
				  : params->account_window_ms;
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO screen_failures (time_ms, ip, login, service)"
					  " VALUES (?1, ?2, ?3, ?4)");
	int rc, ret;

	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_text(st, 2, ipkey, -1, SQLITE_TRANSIENT);
	if (loginkey[0] != '\0')
		sqlite3_bind_text(st, 3, loginkey, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_text(st, 4, who->service, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE ||
	    exec_bound(db, "DELETE FROM screen_failures WHERE time_ms <= ?1", now_ms - longest) < 0 ||
	    exec_bound(db, "DELETE FROM screen_blocks WHERE until_ms <= ?1", now_ms) < 0)
		return -1;
	ev->counted = true;

	if (count_since(db, "SELECT count(*) FROM screen_failures WHERE ip = ?1 AND time_ms > ?2",
			ipkey, now_ms - params->ip_window_ms, &ev->ip_failures) < 0)
		return -1;
	if (params->ip_failures > 0 && ev->ip_failures >= params->ip_failures) {
		sources_detail(db, "SELECT login, count(*) FROM screen_failures WHERE ip = ?1"
				   " AND time_ms > ?2 AND login IS NOT NULL"
				   " GROUP BY login ORDER BY 2 DESC, login LIMIT ?3",
			       ipkey, now_ms - params->ip_window_ms, ip_detail, detail_size);
		ev->ip_until_ms = now_ms + params->ip_block_ms;
		if ((ret = add_block(db, SCREEN_KIND_IP, ipkey, now_ms, ev->ip_until_ms,
				     ev->ip_failures, ip_detail)) < 0)
			return -1;
		ev->ip_blocked_now = ret > 0;
	}
	if (loginkey[0] == '\0')
		return 0;
	if (count_since(db, "SELECT count(*) FROM screen_failures WHERE login = ?1 AND time_ms > ?2",
			loginkey, now_ms - params->account_window_ms, &ev->account_failures) < 0)
		return -1;
	if (params->account_failures > 0 && ev->account_failures >= params->account_failures) {
		sources_detail(db, "SELECT ip, count(*) FROM screen_failures WHERE login = ?1"
				   " AND time_ms > ?2 GROUP BY ip ORDER BY 2 DESC, ip LIMIT ?3",
			       loginkey, now_ms - params->account_window_ms, account_detail,
			       detail_size);
		ev->account_until_ms = now_ms + params->account_lock_ms;
		if ((ret = add_block(db, SCREEN_KIND_ACCOUNT, loginkey, now_ms, ev->account_until_ms,
				     ev->account_failures, account_detail)) < 0)
			return -1;
		ev->account_locked_now = ret > 0;
	}
	return 0;
}

/* journal_block - one record for a block or lock just set. */
static void journal_block(struct db *db, const struct screen_who *who, const char *reason,
			  const char *decision, const char *loginkey, uint64_t failures,
			  int64_t window_ms, int64_t until_ms, const char *from_what,
			  const char *sources)
{
	char until[SCREEN_TIME_TEXT_MAX], window[32];
	struct journal_entry e = {
		.service = who->service,
		.decision = decision,
		.reason = reason,
		.actor = "screen",
		.ip = who->ip,
		.account = loginkey[0] != '\0' ? loginkey : NULL,
		.sid = who->sid,
	};
	char *detail;

	format_time_ms(until_ms, until, sizeof(until));
	format_window(window_ms, window, sizeof(window));
	detail = xasprintf("%" PRIu64 " failed logins within %s; until %s; %s: %s", failures, window,
			   until, from_what, sources[0] != '\0' ? sources : "-");
	e.detail = detail;
	if (journal_add(db, &e) < 0)
		log_warn("screen: %s of %s not journalled", decision, who->ip);
	free(detail);
}

int screen_login_failed(struct db *db, const struct screen_params *params,
			const struct screen_who *who, int64_t now_ms, struct screen_event *event_r)
{
	char ipkey[SCREEN_SUBJECT_MAX], loginkey[SCREEN_SUBJECT_MAX];
	char ip_detail[SCREEN_DETAIL_MAX] = "", account_detail[SCREEN_DETAIL_MAX] = "";

	memset(event_r, 0, sizeof(*event_r));
	if (screen_is_trusted(params, who->ip)) {
		event_r->trusted = true;
		return 0;
	}
	if (screen_ip_key(who->ip, ipkey, sizeof(ipkey)) < 0)
		return 0; /* not from a network address (a test harness): nothing to key on */
	screen_login_key(who->login != NULL && !who->login_locked ? who->login : "", loginkey,
			 sizeof(loginkey));
	if (db_begin(db) < 0)
		return -1;
	if (record_failure(db, params, who, ipkey, loginkey, now_ms, event_r, ip_detail,
			   account_detail, sizeof(ip_detail)) < 0 ||
	    db_commit(db) < 0) {
		log_error("screen: cannot record a failed login from %s: %s", who->ip, db_errmsg(db));
		db_rollback(db);
		memset(event_r, 0, sizeof(*event_r));
		return -1;
	}
	atomic_fetch_add(&screen_generation, 1);
	if (event_r->ip_blocked_now) {
		log_info("screen block ip=%s key=%s failures=%" PRIu64, who->ip, ipkey,
			 event_r->ip_failures);
		journal_block(db, who, "screen.ip-block", "block", loginkey, event_r->ip_failures,
			      params->ip_window_ms, event_r->ip_until_ms, "logins tried", ip_detail);
	}
	if (event_r->account_locked_now) {
		log_info("screen lock account=%s ip=%s failures=%" PRIu64, loginkey, who->ip,
			 event_r->account_failures);
		journal_block(db, who, "screen.account-lock", "lock", loginkey,
			      event_r->account_failures, params->account_window_ms,
			      event_r->account_until_ms, "from", account_detail);
	}
	return 0;
}

int screen_login_succeeded(struct db *db, const struct screen_who *who)
{
	char loginkey[SCREEN_SUBJECT_MAX];
	sqlite3_stmt *st;
	int rc;

	screen_login_key(who->login, loginkey, sizeof(loginkey));
	st = db_prepare(db, "UPDATE screen_failures SET login = NULL WHERE login = ?1");
	sqlite3_bind_text(st, 1, loginkey, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_error("screen: cannot reset the count of %s: %s", loginkey, db_errmsg(db));
		return -1;
	}
	return 0;
}

/* ---- the admin ---- */

int screen_unblock(struct db *db, const char *subject, int64_t now_ms, enum screen_kind *kind_r,
		   char *key_r, size_t key_size)
{
	enum screen_kind kind = SCREEN_KIND_IP;
	char key[SCREEN_SUBJECT_MAX];
	sqlite3_stmt *st;
	int lifted, rc;

	if (screen_ip_key(subject, key, sizeof(key)) < 0) {
		kind = SCREEN_KIND_ACCOUNT;
		screen_login_key(subject, key, sizeof(key));
	}
	if (db_begin(db) < 0)
		return -1;
	st = db_prepare(db, "DELETE FROM screen_blocks WHERE kind = ?1 AND subject = ?2"
			    " AND until_ms > ?3");
	sqlite3_bind_text(st, 1, kind_names[kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now_ms);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	lifted = sqlite3_changes(db->sql) > 0;
	/* forget the failures too: one more typo must not block again at once */
	st = db_prepare(db, kind == SCREEN_KIND_IP
				    ? "DELETE FROM screen_failures WHERE ip = ?1"
				    : "UPDATE screen_failures SET login = NULL WHERE login = ?1");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_DONE)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || db_commit(db) < 0) {
		db_rollback(db);
		return -1;
	}
	atomic_fetch_add(&screen_generation, 1);
	*kind_r = kind;
	if (str_copy(key_r, key, key_size) < 0)
		key_r[0] = '\0';
	return lifted;
}
