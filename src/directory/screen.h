/* SPDX-License-Identifier: ISC */
/*
 * screen.h - dynamic screening (F20): failed logins are counted per
 * client address and per account in sliding windows; past a threshold
 * the address is blocked (refused at connect, its sessions closed) or
 * the account locked (even the right password fails) for a while.
 *
 * State lives in postino.db (tables screen_failures, screen_blocks), so
 * blocks survive a restart and `postino screen list|unblock` works from
 * the CLI while the daemon runs. The daemon notices the CLI's changes
 * without a query per connection: screen_check_connect() keeps an
 * in-memory copy of the blocks, reloaded when PRAGMA data_version says
 * another connection committed.
 *
 * Addresses are screened by key: an IPv4 address as is, an IPv6 address
 * by its /64 (one customer's allocation: an attacker rotating through it
 * is still one attacker), an IPv4-mapped IPv6 address as the IPv4 one.
 * Login names are screened whether or not such an account exists, so a
 * lock never tells an attacker which names are real.
 *
 * HOW A PROTOCOL PLUGS IN (SMTP does this today; IMAP, POP3 and the HTTP
 * login do the same three things):
 *
 *   1. At connect, on the loop thread, before the greeting:
 *
 *        struct screen_params sp;
 *        struct screen_block b;
 *        screen_params_from_config(conn_config(conn), &sp);
 *        if (screen_check_connect(dbpool_get(), &sp, conn_peer(conn),
 *                                 screen_now_ms(), &b) > 0)
 *                // reply from reason row SCREEN_REASON_IP_BLOCKED in the
 *                // protocol's words (IMAP "* BYE [UNAVAILABLE] text",
 *                // POP3 "-ERR [SYS/TEMP] text"), journal "refuse", and
 *                // conn_finish(); see smtp_accept() in smtp-session.c.
 *
 *   2. At login, on a worker: policy_auth() (directory/policy.h) with
 *      req.service, req.ip, req.sid and req.screen = a copy of sp. It
 *      refuses blocked addresses and locked accounts before looking at
 *      the password, counts failures (never an expired password or a
 *      disabled account: the password was right), journals any block
 *      or lock it causes, and restarts the account's count on success.
 *
 *   3. In the completion, on the loop: when result.screen.ip_blocked,
 *      conn_kick_peer(peer, SCREEN_REASON_IP_BLOCKED) closes every
 *      session of that address, this one included, through each
 *      protocol's conn_handler.kick. Otherwise answer the refusal after
 *      cfg->screen_failure_delay_ms with a timer (never sleep on the
 *      loop or a worker): see auth_job_done() in smtp/cmd-auth.c.
 *
 * Trusted networks (screen.trusted) are never counted, blocked or locked
 * out; loopback is not trusted unless listed.
 */
#ifndef POSTINO_SCREEN_H
#define POSTINO_SCREEN_H

#include "lib/lib.h"
#include "core/config.h"

struct db;

/* Refusal codes (core/reason.c) a protocol answers with. */
#define SCREEN_REASON_IP_BLOCKED "screen.ip-blocked"
#define SCREEN_REASON_ACCOUNT_LOCKED "policy.auth-locked"

/* A screening key: an address (RFC 5321 4.5.3.1.3: a path is at most 256
 * octets) or "2001:db8:1:2::/64". Longer login names are cut. */
#define SCREEN_SUBJECT_MAX 256
/* Where the failures came from, as stored with a block or lock. */
#define SCREEN_DETAIL_MAX 512
/* Sources named in that detail (the busiest first). */
#define SCREEN_DETAIL_ITEMS_MAX 8

enum screen_kind {
	SCREEN_KIND_IP,      /* a blocked client address (or IPv6 /64) */
	SCREEN_KIND_ACCOUNT, /* a locked login name */
};

/* The screen.* settings as plain values, so a worker job can carry a copy
 * (ids and values, never pointers into the loop's config, cross threads).
 * A threshold of 0 turns that half off. */
struct screen_params {
	uint64_t ip_failures;
	int64_t ip_window_ms, ip_block_ms;
	uint64_t account_failures;
	int64_t account_window_ms, account_lock_ms;
	struct config_cidr trusted[CONFIG_CIDRS_MAX];
	size_t trusted_count;
};

/* A block or lock in force. */
struct screen_block {
	enum screen_kind kind;
	char subject[SCREEN_SUBJECT_MAX]; /* the key: address, /64, or login */
	int64_t since_ms, until_ms;       /* epoch milliseconds */
	uint64_t failures;                /* counted when it was set */
	char detail[SCREEN_DETAIL_MAX];   /* "127.0.0.1 x5" or "ann@x x3, bob@x x2" */
};

/* Who tried to log in: for the failure row and the journal. */
struct screen_who {
	const char *service; /* "smtp", "imap", "pop3", "http" */
	const char *ip;      /* numeric peer address */
	const char *login;   /* as the client typed it */
	const char *sid;     /* session id, NULL when none */
	/* The login is locked already: the attempt counts toward the address
	 * only (hammering a locked account is still abuse from that address,
	 * but must not stretch the lock). */
	bool login_locked;
};

/* What one failed login did. */
struct screen_event {
	bool trusted;            /* from screen.trusted: nothing counted */
	bool counted;            /* recorded toward both windows */
	bool ip_blocked_now;     /* this failure crossed the address threshold */
	bool account_locked_now; /* this failure crossed the account threshold */
	int64_t ip_until_ms, account_until_ms;
	uint64_t ip_failures, account_failures; /* counts in their windows, this one included */
};

/* Wall clock in epoch milliseconds (what blocks are stored in). */
int64_t screen_now_ms(void);
void screen_params_from_config(const struct config *cfg, struct screen_params *params_r);
/* Whether ip (numeric) is inside one of the trusted networks. */
bool screen_is_trusted(const struct screen_params *params, const char *ip);
/* The key an address is screened under: "192.0.2.7", "2001:db8:1:2::/64".
 * -1 when ip is not a numeric address (then nothing is screened). An
 * input that already is a /64 key maps to itself. */
int screen_ip_key(const char *ip, char *key, size_t size);
/* Whether peer falls under the same key as ip (a const char *): the
 * matcher for conn_kick_peers() when ip has just been blocked. */
bool screen_same_address(const char *peer, const void *ip);
/* The key a login name is counted and locked under: the normalised
 * address when it is one, else the lower-cased name (cut to fit). */
void screen_login_key(const char *login, char *key, size_t size);

/* screen_check_connect - loop thread only: is ip blocked right now? 1 =
 * yes (block_r filled), 0 = no, -1 = the blocks could not be read (the
 * caller lets the client in: screening must not become an outage). Costs
 * a PRAGMA data_version and a scan of the in-memory blocks. */
int screen_check_connect(struct db *db, const struct screen_params *params, const char *ip,
			 int64_t now_ms, struct screen_block *block_r);
/* screen_check_login - before a password is looked at (policy_auth): 1 =
 * refused with *reason_r SCREEN_REASON_IP_BLOCKED or
 * SCREEN_REASON_ACCOUNT_LOCKED and block_r filled; 0 = go on; -1 = error.
 * Reads the tables, so it sees a block made a moment ago by another
 * worker. */
int screen_check_login(struct db *db, const struct screen_params *params, const char *ip,
		       const char *login, int64_t now_ms, const char **reason_r,
		       struct screen_block *block_r);
/* screen_login_failed - count a failed login (wrong password, unknown
 * name); block the address and/or lock the login past their thresholds,
 * journalling each (screen.ip-block, screen.account-lock). */
int screen_login_failed(struct db *db, const struct screen_params *params,
			const struct screen_who *who, int64_t now_ms, struct screen_event *event_r);
/* screen_login_succeeded - the account logged in: its own count starts
 * over (the address's does not, or one known account would let an
 * attacker reset the counter between guesses at others). */
int screen_login_succeeded(struct db *db, const struct screen_who *who);

/* The block of an address (key or plain address) or the lock of a login
 * in force at now_ms: 1 and block_r, 0 when none, -1 on error. */
int screen_get(struct db *db, enum screen_kind kind, const char *subject, int64_t now_ms,
	       struct screen_block *block_r);
/* Failures counted for subject since since_ms (for `why`). */
int screen_failure_count(struct db *db, enum screen_kind kind, const char *subject,
			 int64_t since_ms, uint64_t *count_r);
/* Every block and lock in force, addresses first, each by until. */
int screen_list(struct db *db, int64_t now_ms, struct screen_block **blocks_r, size_t *count_r);
/* screen_unblock - lift the block of an address (IP literal) or the lock
 * of a login (anything else) and forget its counted failures, so the next
 * mistake does not block again at once. 1 = something was lifted (kind_r
 * and the key in key_r), 0 = nothing was in force, -1 = error. The caller
 * journals screen.unblock. */
int screen_unblock(struct db *db, const char *subject, int64_t now_ms, enum screen_kind *kind_r,
		   char *key_r, size_t key_size);

#endif
