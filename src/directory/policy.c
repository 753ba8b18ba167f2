/* SPDX-License-Identifier: ISC */
/*
 * policy.c - who may do what: authenticate, send as a sender, send to a
 * recipient, receive. The one place these rules live (engine/policy
 * split): protocols ask and turn the reason code into their own reply.
 *
 * Relay rule (F1, F2): an unauthenticated client may only send to our
 * own domains, with plain addresses; an authenticated one may send
 * anywhere. Local recipients are resolved through mailboxes, aliases and
 * the catch-all, and each local mailbox is checked the way delivery will
 * check it (the same reason codes as store/deliver.c), so a refusal
 * happens at RCPT time and never becomes a bounce to a forged sender.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "mail/addr.h"
#include "store/quota.h"
#include "directory/directory-private.h"
#include "directory/policy.h"
#include "directory/sendlimit.h"

#include <pthread.h>

static int deny(const char **reason_r, const char *reason)
{
	*reason_r = reason;
	return POLICY_DENY;
}

int policy_domain_is_local(struct db *db, const char *domain)
{
	return dir_domain_exists(db, domain);
}

/* ---- authentication ---- */

/* The hash an unknown login (or one without a password) is checked
 * against, so that it costs the same time as a wrong password and the
 * answer's timing does not tell which names exist. Made once, with the
 * cost of real hashes. */
static char *dummy_hash;
static pthread_once_t dummy_hash_once = PTHREAD_ONCE_INIT;

static void dummy_hash_make(void)
{
	const char *error;

	if (password_hash("postino: no account has this password", &dummy_hash, &error) < 0) {
		log_warn("policy: cannot make the dummy hash: %s", error);
		dummy_hash = NULL;
	}
}

static void verify_dummy(const char *password)
{
	(void)pthread_once(&dummy_hash_once, dummy_hash_make);
	if (dummy_hash != NULL)
		(void)password_verify(password, dummy_hash);
}

/* auth_failure - which kind of wrong the credentials are, or NULL. */
static const char *auth_failure(int found, const struct account *a, const char *password)
{
	if (found == 0) {
		verify_dummy(password);
		return "policy.auth-unknown-user";
	}
	if (a->password_hash == NULL) {
		verify_dummy(password);
		return "policy.auth-no-password";
	}
	return password_verify(password, a->password_hash) ? NULL : "policy.auth-failed";
}

/* Login services an account may have turned off (F12), each with the
 * refusal its clients hear. SMTP is not here: can-send is asked when mail
 * is submitted (policy_may_send), not at login. */
static const struct {
	const char *service;
	size_t flag;        /* offsetof(struct account, can_*) */
	const char *reason;
} login_services[] = {
	{ "imap", offsetof(struct account, can_imap), "policy.imap-disabled" },
	{ "pop3", offsetof(struct account, can_pop3), "policy.pop3-disabled" },
};

/* service_refusal - why service is off for account a, or NULL. */
static const char *service_refusal(const struct account *a, const char *service)
{
	for (size_t i = 0; service != NULL && i < N_ELEMENTS(login_services); i++) {
		if (strcmp(login_services[i].service, service) == 0)
			return *(const bool *)((const char *)a + login_services[i].flag)
				       ? NULL : login_services[i].reason;
	}
	return NULL;
}

int policy_auth(struct db *db, const struct policy_auth_request *req,
		struct policy_auth_result *result_r)
{
	struct screen_who who = { .service = req->service, .ip = req->ip, .login = req->login,
				  .sid = req->sid };
	const char *failure, *why;
	struct account a;
	int ret;

	memset(result_r, 0, sizeof(*result_r));
	if (req->screen != NULL) {
		ret = screen_check_login(db, req->screen, req->ip, req->login, req->now_ms, &why,
					 &result_r->block);
		if (ret < 0)
			return -1;
		if (ret > 0) {
			result_r->ip_blocked = strcmp(why, SCREEN_REASON_IP_BLOCKED) == 0;
			result_r->reason = result_r->journal_reason = why;
			/* guessing at a locked account still counts against the address */
			who.login_locked = true;
			if (!result_r->ip_blocked &&
			    screen_login_failed(db, req->screen, &who, req->now_ms,
						&result_r->screen) == 0)
				result_r->ip_blocked = result_r->screen.ip_blocked_now;
			return POLICY_DENY;
		}
	}
	if ((ret = account_get(db, req->login, &a)) < 0)
		return -1;
	/* the password first: an attacker without it learns nothing about
	 * whether the account exists, is disabled or expired */
	if ((failure = auth_failure(ret, &a, req->password)) != NULL) {
		account_clear(&a);
		result_r->reason = "policy.auth-failed";
		result_r->journal_reason = failure;
		/* a failure that cannot be counted is still a failure */
		if (req->screen != NULL &&
		    screen_login_failed(db, req->screen, &who, req->now_ms, &result_r->screen) == 0)
			result_r->ip_blocked = result_r->screen.ip_blocked_now;
		return POLICY_DENY;
	}
	/* the right password: none of these is a guess, none is counted */
	if (a.disabled)
		ret = deny(&result_r->reason, "policy.auth-disabled");
	else if ((why = service_refusal(&a, req->service)) != NULL)
		ret = deny(&result_r->reason, why);
	else if (password_expired(&a, req->now_ms / 1000))
		ret = deny(&result_r->reason, "policy.auth-expired");
	else {
		result_r->account = xstrdup(a.address);
		if (req->screen != NULL)
			(void)screen_login_succeeded(db, &who);
		ret = POLICY_ALLOW;
	}
	result_r->journal_reason = result_r->reason;
	account_clear(&a);
	return ret;
}

void policy_auth_result_clear(struct policy_auth_result *result)
{
	free(result->account);
	memset(result, 0, sizeof(*result));
}

/* ---- sending ---- */

int policy_may_send(struct db *db, const char *account, const char **reason_r)
{
	struct account a;
	int ret = account_get(db, account, &a);

	if (ret < 0)
		return -1;
	if (ret == 0 || a.disabled)
		ret = deny(reason_r, "policy.send-account-disabled");
	else if (!a.can_send)
		ret = deny(reason_r, "policy.send-disabled");
	else
		ret = POLICY_ALLOW;
	account_clear(&a);
	return ret;
}

/* alias_owned_by - does the alias (or catch-all) that receives addr
 * deliver to account? That makes addr one the account may send as. */
static int alias_owned_by(struct db *db, const char *addr, const char *account)
{
	struct alias alias;
	int ret = alias_resolve(db, addr, &alias);

	if (ret <= 0)
		return ret;
	ret = 0;
	for (size_t i = 0; i < alias.target_count; i++) {
		if (strcmp(alias.targets[i], account) == 0)
			ret = 1;
	}
	alias_clear(&alias);
	return ret;
}

int policy_mail_from(struct db *db, const struct policy_client *client,
		     const struct addr_path *from, const char **reason_r)
{
	int ret;

	if (client->account == NULL)
		return POLICY_ALLOW; /* MX: SPF/DMARC judge the sender (filter/) */
	if (from->flags & (ADDR_PATH_NULL | ADDR_PATH_POSTMASTER | ADDR_PATH_QUOTED |
			   ADDR_PATH_ROUTING | ADDR_PATH_LITERAL))
		return deny(reason_r, "policy.sender-not-owned");
	if (strcmp(from->addr, client->account) == 0)
		return POLICY_ALLOW;
	if ((ret = alias_owned_by(db, from->addr, client->account)) < 0)
		return -1;
	return ret > 0 ? POLICY_ALLOW : deny(reason_r, "policy.sender-not-owned");
}

int policy_send_limit(struct db *db, const char *account, unsigned nrcpt,
		      const char **reason_r)
{
	/* The windows themselves are counted at MAIL and RCPT
	 * (directory/sendlimit.h), where a trip stops the account. Here,
	 * before the message is taken, only the outcome is asked again: a
	 * parallel session of the same account may have tripped it since
	 * this transaction's MAIL. */
	(void)nrcpt;
	return policy_may_send(db, account, reason_r);
}

int policy_send_record(struct db *db, const char *account, unsigned nrcpt, const char *queueid)
{
	int64_t now = time_now_ms();
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO send_log (account, time_ms, recipients,"
					  " queueid) VALUES (?1, ?2, ?3, ?4)");

	sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, nrcpt);
	sqlite3_bind_text(st, 4, queueid, -1, SQLITE_TRANSIENT);
	if (dir_step_done(st) < 0)
		return -1;
	/* older rows than any window can count are dead weight */
	st = db_prepare(db, "DELETE FROM send_log WHERE account = ?1 AND time_ms < ?2");
	sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now - SENDLIMIT_KEEP_MS);
	return dir_step_done(st);
}

/* ---- recipients ---- */

/* receive_check - what delivery will refuse (store/deliver.c's order
 * and codes), asked before the message is sent. */
static const char *receive_check(const struct policy_client *client, const struct account *a,
				 uint64_t domain_quota, char *detail, size_t detail_size)
{
	struct quota_result q;

	if (a->disabled)
		return "deliver.disabled";
	if (!a->can_receive)
		return "deliver.no-receive";
	if (a->forward_count > 0 && !a->forward_keep_copy)
		return NULL; /* no local copy: no quota to fit in */
	if (client->data_dir == NULL ||
	    (a->quota_bytes == 0 && a->max_messages == 0 && domain_quota == 0))
		return NULL; /* no limit: nothing to read */
	if (quota_check(client->data_dir, a, domain_quota, client->size_hint, &q) < 0) {
		log_warn("policy: quota of %s: %s; deciding at delivery", a->address, strerror(errno));
		return NULL;
	}
	if (q.verdict == QUOTA_ALLOWED)
		return NULL;
	(void)snprintf(detail, detail_size, "quota: used %" PRIu64 " of %" PRIu64, q.used, q.limit);
	if (!client->quota_temporary && q.verdict != QUOTA_TOO_BIG)
		return "smtp.over-quota-permanent";
	return q.reason;
}

struct expand {
	struct db *db;
	const struct policy_client *client;
	struct policy_rcpt_result *r;
	const char *refusal; /* the last local refusal, if nothing was accepted */
};

static bool dest_seen(const struct policy_rcpt_result *r, const char *address)
{
	for (size_t i = 0; i < r->dest_count; i++) {
		if (strcmp(r->dests[i].address, address) == 0)
			return true;
	}
	return false;
}

static struct policy_dest *dest_add(struct policy_rcpt_result *r, const char *address)
{
	struct policy_dest *d;

	r->dests = xrealloc(r->dests, (r->dest_count + 1) * sizeof(*r->dests));
	d = &r->dests[r->dest_count++];
	memset(d, 0, sizeof(*d));
	d->address = xstrdup(address);
	return d;
}

/* expand_local - one address of a local domain: a mailbox, or an alias
 * (one level per call, POLICY_ALIAS_DEPTH_MAX deep). 1 = something
 * accepts it, 0 = nothing does (x->refusal says why), -1 = error. */
static int expand_local(struct expand *x, const char *addr, unsigned depth)
{
	struct account a;
	struct alias alias;
	struct domain dom = { 0 };
	int ret, found = 0;

	if (dest_seen(x->r, addr))
		return 1;
	if ((ret = account_get(x->db, addr, &a)) < 0)
		return -1;
	if (ret > 0) {
		uint64_t domain_quota = 0;
		if (domain_get(x->db, a.domain, &dom) > 0)
			domain_quota = dom.quota_bytes;
		domain_clear(&dom);
		const char *why = receive_check(x->client, &a, domain_quota, x->r->detail,
						sizeof(x->r->detail));
		if (why != NULL) {
			x->refusal = why;
			account_clear(&a);
			return 0;
		}
		struct policy_dest *d = dest_add(x->r, addr);
		d->local = true;
		d->account = a;
		d->domain_quota = domain_quota;
		return 1;
	}
	if ((ret = alias_resolve(x->db, addr, &alias)) < 0)
		return -1;
	if (ret == 0 || depth >= POLICY_ALIAS_DEPTH_MAX) {
		if (ret > 0)
			(void)snprintf(x->r->detail, sizeof(x->r->detail), "alias chain deeper than %d",
				       POLICY_ALIAS_DEPTH_MAX);
		alias_clear(&alias);
		if (x->refusal == NULL)
			x->refusal = "policy.unknown-recipient";
		return 0;
	}
	for (size_t i = 0; i < alias.target_count && x->r->dest_count < POLICY_DESTS_MAX; i++) {
		const char *t = alias.targets[i];
		int local = policy_domain_is_local(x->db, addr_domain(t));
		if (local < 0) {
			found = -1;
			break;
		}
		if (!local) {
			if (!dest_seen(x->r, t))
				dest_add(x->r, t); /* the admin's forward: the held queue */
			found = 1;
			continue;
		}
		ret = expand_local(x, t, depth + 1);
		if (ret < 0) {
			found = -1;
			break;
		}
		if (ret > 0)
			found = 1;
	}
	alias_clear(&alias);
	return found;
}

/* relay_hack - syntax only ever used to probe for open relays. */
static bool relay_hack(const struct addr_path *to)
{
	return (to->flags & (ADDR_PATH_ROUTING | ADDR_PATH_SOURCE_ROUTE | ADDR_PATH_QUOTED)) != 0;
}

/* postmaster_address - RFC 5321 4.5.1: "<Postmaster>" without a domain
 * must be accepted; it goes to postmaster of our first domain. */
static char *postmaster_address(struct db *db)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT name FROM domains ORDER BY name LIMIT 1");
	char *addr = NULL;

	if (sqlite3_step(st) == SQLITE_ROW)
		addr = xasprintf("postmaster@%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return addr;
}

int policy_rcpt(struct db *db, const struct policy_client *client, const struct addr_path *to,
		struct policy_rcpt_result *result_r)
{
	struct expand x = { .db = db, .client = client, .r = result_r };
	char *postmaster = NULL;
	const char *addr = to->addr;
	int local, ret;

	memset(result_r, 0, sizeof(*result_r));
	if (to->flags & ADDR_PATH_POSTMASTER) {
		if ((postmaster = postmaster_address(db)) == NULL) {
			result_r->reason = "policy.unknown-recipient";
			return POLICY_DENY;
		}
		addr = postmaster;
		local = 1;
	} else if (to->flags & ADDR_PATH_LITERAL) {
		local = 0; /* we route no address literals to ourselves */
	} else if ((local = policy_domain_is_local(db, to->domain)) < 0) {
		return -1;
	}
	if (client->account == NULL && (!local || relay_hack(to))) {
		result_r->reason = local ? "policy.relay-hack" : "policy.relay-denied";
		(void)snprintf(result_r->detail, sizeof(result_r->detail), "to=%.200s", to->addr);
		free(postmaster);
		return POLICY_DENY;
	}
	if (!local) {
		dest_add(result_r, addr);
		return POLICY_ALLOW;
	}
	ret = expand_local(&x, addr, 0);
	free(postmaster);
	if (ret < 0) {
		policy_rcpt_clear(result_r);
		return -1;
	}
	if (ret == 0 || result_r->dest_count == 0) {
		char detail[sizeof(result_r->detail)];
		memcpy(detail, result_r->detail, sizeof(detail));
		policy_rcpt_clear(result_r);
		memcpy(result_r->detail, detail, sizeof(detail));
		result_r->reason = x.refusal != NULL ? x.refusal : "policy.unknown-recipient";
		return POLICY_DENY;
	}
	return POLICY_ALLOW;
}

void policy_rcpt_clear(struct policy_rcpt_result *result)
{
	for (size_t i = 0; i < result->dest_count; i++) {
		free(result->dests[i].address);
		if (result->dests[i].local)
			account_clear(&result->dests[i].account);
	}
	free(result->dests);
	memset(result, 0, sizeof(*result));
}
