/* SPDX-License-Identifier: ISC */
/*
 * policy.h - the one answer to "may this client, account or address do
 * X": authenticate, send as a sender, send to a recipient, receive.
 *
 * SMTP asks here today; IMAP, POP3, the API and `postino why` ask the same
 * questions later, so one account gets one answer everywhere. Answers are
 * reason codes (core/reason.c): the protocol turns a code into its own
 * reply from the same row, and the journal records the same code. No
 * protocol text is written here.
 *
 * Every function returns POLICY_ALLOW (0), POLICY_DENY (1, with
 * *reason_r set) or -1 when it could not decide (a database error; the
 * caller answers "try again later").
 */
#ifndef POSTINO_POLICY_H
#define POSTINO_POLICY_H

#include "lib/lib.h"
#include "directory/directory.h"
#include "directory/screen.h"

struct addr_path;
struct db;

#define POLICY_ALLOW 0
#define POLICY_DENY 1

/* Alias levels followed for one recipient (an alias of an alias...). */
#define POLICY_ALIAS_DEPTH_MAX 4
/* Destinations one RCPT may expand to (alias targets, catch-all). */
#define POLICY_DESTS_MAX DIRECTORY_TARGETS_MAX

/* Temporary failure: the answer could not be looked up. */
#define POLICY_REASON_TEMPFAIL "policy.tempfail"

struct policy_client {
	bool mx;               /* port 25: mail from the world to local domains */
	const char *account;   /* authenticated account, NULL when none */
	const char *data_dir;  /* for the mailbox quota files */
	bool quota_temporary;  /* over quota: 4xx (true) or 5xx */
	uint64_t size_hint;    /* MAIL SIZE=, 0 when unknown */
};

/* One place a recipient's copy goes. */
struct policy_dest {
	char *address;           /* canonical */
	bool local;              /* a local mailbox (account filled) */
	struct account account;  /* local only */
	uint64_t domain_quota;   /* the account's domain quota (0 = none) */
};

struct policy_rcpt_result {
	struct policy_dest *dests;  /* at least one when allowed */
	size_t dest_count;
	const char *reason;         /* when denied */
	char detail[256];           /* for the journal, never for the client */
};

/* One login attempt, from any protocol. */
struct policy_auth_request {
	const char *service;   /* "smtp", "imap", "pop3", "http": the journal's service */
	const char *ip;        /* the client's numeric address */
	const char *sid;       /* session id for screening's journal rows, or NULL */
	const char *login;     /* as the client sent it */
	const char *password;
	int64_t now_ms;        /* wall clock, epoch milliseconds */
	/* Screening (directory/screen.h) with these settings; NULL = none
	 * (tools and tests that only want the password answer). */
	const struct screen_params *screen;
};

struct policy_auth_result {
	char *account;              /* allowed: the canonical address (owned) */
	/* Denied: what the client is told (a reason row). Wrong password,
	 * unknown login and no password set all answer policy.auth-failed,
	 * word for word, so a client cannot tell which. */
	const char *reason;
	/* What the journal records: reason, or the exact failure
	 * (policy.auth-unknown-user, policy.auth-no-password). */
	const char *journal_reason;
	/* The client's address is blocked (before, or by this failure): the
	 * protocol closes every session of it (conn_kick_peer). */
	bool ip_blocked;
	struct screen_event screen; /* what this attempt did to screening */
	struct screen_block block;  /* the block or lock that refused it */
};

/* policy_auth - may this client log in as login with password? Screening
 * first (a blocked address or locked account is refused without looking
 * at the password), then the password, then the account's state. A wrong
 * password or an unknown login counts as a failure (an attempt at a
 * locked account counts against the address only); an expired password
 * or a disabled account proves the password was right and counts for
 * nothing. Unknown
 * logins are checked against a dummy hash so both cost the same time.
 * Hashes, so call it on a worker. Refusals: policy.auth-failed,
 * policy.auth-disabled, policy.auth-expired, policy.auth-locked,
 * screen.ip-blocked, and the service's own when the account has it off
 * (policy.pop3-disabled for req.service "pop3", can-pop3=no). Free the
 * result with policy_auth_result_clear. */
int policy_auth(struct db *db, const struct policy_auth_request *req,
		struct policy_auth_result *result_r);
void policy_auth_result_clear(struct policy_auth_result *result);

/* policy_may_send - may the authenticated account submit mail at all
 * (disabled, can-send)? */
int policy_may_send(struct db *db, const char *account, const char **reason_r);

/* policy_mail_from - may the client use this reverse-path? On submission
 * the sender must be the account itself or an alias whose targets
 * include it (policy.sender-not-owned). */
int policy_mail_from(struct db *db, const struct policy_client *client,
		     const struct addr_path *from, const char **reason_r);

/* policy_rcpt - may the client send to this recipient, and where does it
 * go? Local recipients are resolved (mailbox, alias, catch-all) and
 * checked (disabled, can-receive, quota); remote ones need an
 * authenticated client (no relay otherwise, no routing tricks). Runs on a
 * worker: it reads quota files. Free result with policy_rcpt_clear. */
int policy_rcpt(struct db *db, const struct policy_client *client, const struct addr_path *to,
		struct policy_rcpt_result *result_r);
void policy_rcpt_clear(struct policy_rcpt_result *result);

/* policy_send_limit - asked before a message from account to nrcpt
 * recipients is taken (DATA/BDAT): may the account still send? The
 * hijack windows are counted at MAIL and RCPT (directory/sendlimit.h);
 * this catches a trip by a parallel session since MAIL, answering
 * policy_may_send's refusal. */
int policy_send_limit(struct db *db, const char *account, unsigned nrcpt,
		      const char **reason_r);
/* policy_send_record - count a message sent by account (the figures the
 * hijack check reads): one row in send_log. */
int policy_send_record(struct db *db, const char *account, unsigned nrcpt, const char *queueid);

/* Whether domain is one of ours. 1/0/-1. */
int policy_domain_is_local(struct db *db, const char *domain);

#endif
