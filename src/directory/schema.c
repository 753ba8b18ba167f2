/* SPDX-License-Identifier: ISC */
/*
 * schema.c - every table of postino.db, as an ordered list of migrations.
 *
 * A migration is applied once, in a transaction, and PRAGMA user_version
 * records the last one applied. Released migrations are never edited:
 * a change is a new row.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "directory/schema.h"

const struct db_migration schema_migrations[] = {
	{ 1,
	  /* The journal: one row per decision (core/journal.c). */
	  "CREATE TABLE journal ("
	  "  id INTEGER PRIMARY KEY,"
	  "  time_ms INTEGER NOT NULL,"
	  "  service TEXT NOT NULL,"
	  "  decision TEXT NOT NULL,"
	  "  reason TEXT NOT NULL,"
	  "  actor TEXT, ip TEXT, account TEXT, msgid TEXT, queueid TEXT, sid TEXT,"
	  "  detail TEXT);"
	  "CREATE INDEX journal_time ON journal(time_ms);"
	  "CREATE INDEX journal_account ON journal(account, time_ms);"
	  "CREATE INDEX journal_ip ON journal(ip, time_ms);"
	  /* Server-wide settings that the admin changes at run time. */
	  "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);" },
	{ 2,
	  /* The directory (domain.c, account.c, alias.c). Limits and quotas of 0 mean
	   * "unlimited"; times are epoch seconds. Deleting a domain takes its
	   * mailboxes and aliases with it (domain_del refuses unless forced). */
	  "CREATE TABLE domains ("
	  "  name TEXT PRIMARY KEY,"
	  "  max_accounts INTEGER NOT NULL DEFAULT 0 CHECK (max_accounts >= 0),"
	  "  quota_bytes INTEGER NOT NULL DEFAULT 0 CHECK (quota_bytes >= 0),"
	  "  created_at INTEGER NOT NULL);"
	  "CREATE TABLE accounts ("
	  "  id INTEGER PRIMARY KEY,"
	  "  address TEXT NOT NULL UNIQUE,"
	  "  domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE,"
	  "  local TEXT NOT NULL,"
	  "  password_hash TEXT,"
	  "  quota_bytes INTEGER NOT NULL DEFAULT 0 CHECK (quota_bytes >= 0),"
	  "  max_messages INTEGER NOT NULL DEFAULT 0 CHECK (max_messages >= 0),"
	  "  disabled INTEGER NOT NULL DEFAULT 0,"
	  "  disabled_reason TEXT, disabled_at INTEGER, disabled_by TEXT,"
	  "  can_send INTEGER NOT NULL DEFAULT 1,"
	  "  can_receive INTEGER NOT NULL DEFAULT 1,"
	  "  can_imap INTEGER NOT NULL DEFAULT 1,"
	  "  can_pop3 INTEGER NOT NULL DEFAULT 1,"
	  "  can_webmail INTEGER NOT NULL DEFAULT 1,"
	  "  forward_keep_copy INTEGER NOT NULL DEFAULT 1,"
	  "  password_changed_at INTEGER,"
	  "  password_max_age_days INTEGER NOT NULL DEFAULT 0 CHECK (password_max_age_days >= 0),"
	  "  created_at INTEGER NOT NULL,"
	  "  UNIQUE (domain, local));"
	  "CREATE INDEX accounts_domain ON accounts(domain);"
	  /* Forward targets of an account, in rowid (given) order. */
	  "CREATE TABLE forwards ("
	  "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	  "  target TEXT NOT NULL,"
	  "  PRIMARY KEY (account_id, target));"
	  /* One row per alias target; a catch-all's address is "@domain". */
	  "CREATE TABLE aliases ("
	  "  address TEXT NOT NULL,"
	  "  domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE,"
	  "  target TEXT NOT NULL,"
	  "  created_at INTEGER NOT NULL,"
	  "  PRIMARY KEY (address, target));"
	  "CREATE INDEX aliases_domain ON aliases(domain);" },
	{ 3,
	  /* Autoresponders (directory/autoreply.c): one per mailbox, and the
	   * last reply per sender so each gets one per interval (RFC 3834 2). */
	  "CREATE TABLE autoreplies ("
	  "  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,"
	  "  subject TEXT,"
	  "  body TEXT NOT NULL,"
	  "  starts_at INTEGER NOT NULL DEFAULT 0,"
	  "  ends_at INTEGER NOT NULL DEFAULT 0,"
	  "  interval_s INTEGER NOT NULL CHECK (interval_s > 0),"
	  "  updated_at INTEGER NOT NULL);"
	  "CREATE TABLE autoreply_sent ("
	  "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	  "  sender TEXT NOT NULL,"
	  "  sent_at INTEGER NOT NULL,"
	  "  PRIMARY KEY (account_id, sender));" },
	{ 4,
	  /* The outbound queue (queue/queue.c): one message file under
	   * DATA/queue/msg/<file>, one row per recipient. Issue 3 only writes
	   * rows in state 'held' (nothing acknowledged is ever lost); the
	   * outbound transport moves them on. Times are epoch seconds. */
	  "CREATE TABLE queue ("
	  "  id INTEGER PRIMARY KEY,"
	  "  queueid TEXT NOT NULL,"
	  "  file TEXT NOT NULL,"
	  "  sender TEXT NOT NULL,"
	  "  recipient TEXT NOT NULL,"
	  "  state TEXT NOT NULL DEFAULT 'held',"
	  "  origin TEXT NOT NULL,"
	  "  account TEXT,"
	  "  size INTEGER NOT NULL DEFAULT 0,"
	  "  dsn_notify INTEGER NOT NULL DEFAULT 0,"
	  "  dsn_orcpt TEXT, dsn_ret INTEGER NOT NULL DEFAULT 0, dsn_envid TEXT,"
	  "  attempts INTEGER NOT NULL DEFAULT 0,"
	  "  next_attempt_at INTEGER,"
	  "  last_error TEXT,"
	  "  created_at INTEGER NOT NULL);"
	  "CREATE INDEX queue_state ON queue(state, next_attempt_at);"
	  "CREATE INDEX queue_queueid ON queue(queueid);"
	  /* Messages submitted per account (F21 hijack detection reads a
	   * window of these; policy.c writes one row per accepted message). */
	  "CREATE TABLE send_log ("
	  "  id INTEGER PRIMARY KEY,"
	  "  account TEXT NOT NULL,"
	  "  time_ms INTEGER NOT NULL,"
	  "  recipients INTEGER NOT NULL,"
	  "  queueid TEXT);"
	  "CREATE INDEX send_log_account ON send_log(account, time_ms);" },
	{ 5,
	  /* Screening (directory/screen.c, F20). One row per counted failed
	   * login: the windows are counts over these rows, so they survive a
	   * restart. `login` is the normalised login name, set to NULL when the
	   * account later logs in (its own count restarts; the address's does
	   * not). Rows older than the longest window are pruned. */
	  "CREATE TABLE screen_failures ("
	  "  id INTEGER PRIMARY KEY,"
	  "  time_ms INTEGER NOT NULL,"
	  "  ip TEXT NOT NULL,"
	  "  login TEXT,"
	  "  service TEXT NOT NULL);"
	  "CREATE INDEX screen_failures_ip ON screen_failures(ip, time_ms);"
	  "CREATE INDEX screen_failures_login ON screen_failures(login, time_ms);"
	  "CREATE INDEX screen_failures_time ON screen_failures(time_ms);"
	  /* Blocked addresses and locked accounts, until until_ms (epoch ms).
	   * `detail` lists where the failures came from (the addresses for a
	   * lock, the login names tried for a block). Expired rows are pruned;
	   * the journal keeps the history. */
	  "CREATE TABLE screen_blocks ("
	  "  kind TEXT NOT NULL CHECK (kind IN ('ip', 'account')),"
	  "  subject TEXT NOT NULL,"
	  "  since_ms INTEGER NOT NULL,"
	  "  until_ms INTEGER NOT NULL,"
	  "  failures INTEGER NOT NULL,"
	  "  detail TEXT,"
	  "  PRIMARY KEY (kind, subject));" },
	{ 6,
	  /* The outbound transport (queue/qmgr.c). States: 'queued' (due at
	   * next_attempt_at), 'sending' (in flight; back to 'queued' at
	   * start-up), 'failed' (a bounce is owed), 'hold' (the admin's).
	   * A delivered or bounced row is deleted; the journal keeps it.
	   * last_status/last_reply/remote_mta: the last attempt's outcome for
	   * `postino queue show` and the DSN; warned_at: delay warning sent. */
	  "UPDATE queue SET state = 'queued' WHERE state = 'held';"
	  "ALTER TABLE queue ADD COLUMN last_attempt_at INTEGER;"
	  "ALTER TABLE queue ADD COLUMN last_status TEXT;"
	  "ALTER TABLE queue ADD COLUMN last_reply TEXT;"
	  "ALTER TABLE queue ADD COLUMN remote_mta TEXT;"
	  "ALTER TABLE queue ADD COLUMN warned_at INTEGER;"
	  "ALTER TABLE queue ADD COLUMN domain TEXT NOT NULL DEFAULT '';"
	  "UPDATE queue SET domain = lower(substr(recipient, instr(recipient, '@') + 1));"
	  "CREATE INDEX queue_file ON queue(file);" },
	{ 7,
	  /* Hijack detection (directory/sendlimit.c, F21). A domain may
	   * override the server's limits.send-messages/-recipients (NULL =
	   * the server's, 0 = unlimited). send_holds keeps each account's last
	   * trip: the figures that tripped it, and lifted_ms once the admin
	   * lets it send again (the triggers below, so `user set can-send=yes`
	   * or `disabled=no` from any front end lifts it). Counting restarts
	   * at lifted_ms, or the account would trip again at once. A deleted
	   * mailbox takes its figures along (a new one of that name starts
	   * clean). */
	  "ALTER TABLE domains ADD COLUMN send_messages INTEGER CHECK (send_messages >= 0);"
	  "ALTER TABLE domains ADD COLUMN send_recipients INTEGER CHECK (send_recipients >= 0);"
	  "CREATE TABLE send_holds ("
	  "  account TEXT PRIMARY KEY,"
	  "  action TEXT NOT NULL CHECK (action IN ('suspend', 'disable')),"
	  "  since_ms INTEGER NOT NULL,"
	  "  lifted_ms INTEGER,"
	  "  exceeded TEXT NOT NULL,"
	  "  messages INTEGER NOT NULL, recipients INTEGER NOT NULL,"
	  "  limit_messages INTEGER NOT NULL, limit_recipients INTEGER NOT NULL,"
	  "  window_s INTEGER NOT NULL,"
	  "  ips TEXT,"
	  "  reason TEXT NOT NULL);"
	  "CREATE TRIGGER send_holds_lift_send AFTER UPDATE OF can_send ON accounts"
	  "  WHEN NEW.can_send = 1 AND OLD.can_send = 0 BEGIN"
	  "  UPDATE send_holds SET lifted_ms = CAST((julianday('now') - 2440587.5) * 86400000"
	  "   AS INTEGER) WHERE account = NEW.address AND action = 'suspend'"
	  "   AND lifted_ms IS NULL; END;"
	  "CREATE TRIGGER send_holds_lift_enable AFTER UPDATE OF disabled ON accounts"
	  "  WHEN NEW.disabled = 0 AND OLD.disabled = 1 BEGIN"
	  "  UPDATE send_holds SET lifted_ms = CAST((julianday('now') - 2440587.5) * 86400000"
	  "   AS INTEGER) WHERE account = NEW.address AND action = 'disable'"
	  "   AND lifted_ms IS NULL; END;"
	  "CREATE TRIGGER send_holds_account_del AFTER DELETE ON accounts BEGIN"
	  "  DELETE FROM send_holds WHERE account = OLD.address;"
	  "  DELETE FROM send_log WHERE account = OLD.address; END;" },
	{ 8,
	  /* DKIM signing keys (dkim/dkim-store.c); the private key is the file
	   * DATA/dkim/<domain>/<selector>.key. At most one active key per
	   * domain: the one that signs. */
	  "CREATE TABLE dkim_keys ("
	  "  domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE,"
	  "  selector TEXT NOT NULL,"
	  "  algorithm TEXT NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),"
	  "  bits INTEGER NOT NULL,"
	  "  created_at INTEGER NOT NULL,"
	  "  active INTEGER NOT NULL DEFAULT 0,"
	  "  PRIMARY KEY (domain, selector));"
	  "CREATE UNIQUE INDEX dkim_keys_active ON dkim_keys(domain) WHERE active = 1;" },
	{ 9,
	  /* Password expiry (F16, directory/expiry.c). A domain default for
	   * password-max-age (0 = never), which a mailbox follows unless it
	   * has its own: password_max_age_own = 1 makes password_max_age_days
	   * the mailbox's (0 there = never, whatever the domain says). Before
	   * this migration only an account value above 0 meant anything, so
	   * those become the mailbox's own. password_warned_at: when the
	   * "your password expires soon" mail went out for the current
	   * password; a new password clears it (account_set_password). */
	  "ALTER TABLE domains ADD COLUMN password_max_age_days INTEGER NOT NULL DEFAULT 0"
	  "  CHECK (password_max_age_days >= 0);"
	  "ALTER TABLE accounts ADD COLUMN password_max_age_own INTEGER NOT NULL DEFAULT 0;"
	  "UPDATE accounts SET password_max_age_own = 1 WHERE password_max_age_days > 0;"
	  "ALTER TABLE accounts ADD COLUMN password_warned_at INTEGER;" },
};

const size_t schema_migrations_count = N_ELEMENTS(schema_migrations);

int schema_open(const char *data_dir, bool create, struct db **db_r, char **error_r)
{
	char *path = xasprintf("%s/%s", data_dir, DB_FILE_NAME);
	struct db *db;
	int ret = db_open(path, create, &db, error_r);

	free(path);
	if (ret < 0)
		return -1;
	if (db_migrate(db, schema_migrations, schema_migrations_count, error_r) < 0) {
		db_close(&db);
		return -1;
	}
	*db_r = db;
	return 0;
}
