/* SPDX-License-Identifier: ISC */
/*
 * directory.h - who exists: domains, mailboxes (accounts) and aliases.
 *
 * The one public API of directory/ for the CLI, the API, SMTP/IMAP/POP3
 * and `why`. Lookups return plain structs that own their strings; changes
 * return -1 with a one-line error (and a reason code where one exists) so
 * every front end refuses in the same words. Addresses may be passed in any
 * case or as Unicode; they are normalised (mail/addr.h) before use, and
 * every address handed back is normalised.
 *
 * Lookups return 1 when found, 0 when not, -1 on a database error.
 */
#ifndef POSTINO_DIRECTORY_H
#define POSTINO_DIRECTORY_H

#include "lib/lib.h"

struct db;

#define DIRECTORY_ERROR_MAX 512
#define DIRECTORY_TARGETS_MAX 100   /* alias targets and forwards per address */
#define PASSWORD_MAX 1024           /* bytes; longer is a paste accident or an attack */
#define PASSWORD_MAX_AGE_DAYS_MAX 36500 /* password-max-age: a century is "never" spelt long */

struct directory_error {
	const char *reason;            /* code from core/reason.c, NULL when none fits */
	char text[DIRECTORY_ERROR_MAX]; /* "domain example.com has reached ..." */
};

/* One "key=value" of `domain set` / `user set`. */
struct directory_setting {
	const char *key;
	const char *value;
};

/* ---- domains (domain.c) ---- */

struct domain {
	char *name;             /* A-label, lower case */
	uint64_t max_accounts;  /* 0 = unlimited */
	uint64_t quota_bytes;   /* total for the domain; 0 = unlimited */
	int64_t created_at;
	uint64_t account_count; /* filled by lookups */
	uint64_t alias_count;   /* distinct alias addresses */
	uint64_t password_max_age_days; /* default of its mailboxes; 0 = never expires */
};

int domain_add(struct db *db, const char *name, uint64_t max_accounts, uint64_t quota_bytes,
	       struct directory_error *error_r);
/* Refused while the domain has mailboxes or aliases, unless force (which
 * deletes them too; their mail is the caller's business). */
int domain_del(struct db *db, const char *name, bool force, struct directory_error *error_r);
int domain_get(struct db *db, const char *name, struct domain *domain_r);
int domain_list(struct db *db, struct domain **domains_r, size_t *count_r);
/* Keys "max-accounts", "quota", "password-max-age" (days, 0 = never: the
 * default of mailboxes without their own), and the hijack limits
 * "send-messages" and "send-recipients" (a number, 0 = no limit, or
 * "default" for the server's; read with sendlimit_domain_get), all
 * validated before any is applied. */
int domain_set(struct db *db, const char *name, const struct directory_setting *settings,
	       size_t count, struct directory_error *error_r);
void domain_clear(struct domain *domain);
void domains_free(struct domain **_domains, size_t count);

/* ---- accounts (account.c) ---- */

struct account {
	int64_t id;
	char *address, *domain, *local;
	char *password_hash;    /* NULL: no password set, cannot log in */
	uint64_t quota_bytes;   /* 0 = unlimited (within the domain's quota) */
	uint64_t max_messages;  /* 0 = unlimited */
	bool disabled;
	char *disabled_reason;  /* NULL unless disabled */
	int64_t disabled_at;    /* 0 unless disabled */
	char *disabled_by;
	bool can_send, can_receive, can_imap, can_pop3, can_webmail;
	char **forward;         /* forward targets, in the order given */
	size_t forward_count;
	bool forward_keep_copy;
	int64_t password_changed_at;     /* 0 = never set */
	/* The max age in force: the mailbox's own value when
	 * password_max_age_own, else its domain's default. 0 = never expires. */
	uint64_t password_max_age_days;
	bool password_max_age_own;       /* false: inherited from the domain */
	int64_t password_warned_at;      /* expiry warning sent for this password; 0 = not */
	int64_t created_at;
};

/* password may be NULL (no login until account_set_password). */
int account_add(struct db *db, const char *address, const char *password, uint64_t quota_bytes,
		uint64_t max_messages, struct directory_error *error_r);
int account_del(struct db *db, const char *address, struct directory_error *error_r);
int account_get(struct db *db, const char *address, struct account *account_r);
/* domain NULL = every account; sorted by address. */
int account_list(struct db *db, const char *domain, struct account **accounts_r,
		 size_t *count_r);
/* The `user set` keys of DESIGN.md; every setting is validated before any
 * is applied, so one bad key changes nothing. actor is recorded as
 * disabled_by. password-max-age=default makes the mailbox follow its
 * domain's password-max-age again. */
int account_set(struct db *db, const char *address, const struct directory_setting *settings,
		size_t count, const char *actor, struct directory_error *error_r);
/* Known `user set` keys, for help texts: NULL past the end. */
const char *account_setting_key(size_t i);
/* Store a new hash and restart the expiry clock (and the expiry warning:
 * the new password gets its own). */
int account_set_password(struct db *db, const char *address, const char *password,
			 struct directory_error *error_r);
/* 1 when the account exists, has a password and it matches; 0 otherwise.
 * Slow by design (password hashing): daemons call it on a worker. */
int account_verify_password(struct db *db, const char *address, const char *password);
/* DATA/mail/<domain>/<local>: where the mailbox's Maildir lives (until
 * store/maildir.c owns mail paths). Caller frees. */
char *account_mail_path(const char *data_dir, const char *domain, const char *local);
/* Remove that Maildir (rm -r, symlinks not followed), then the domain's
 * directory when it is left empty; a missing Maildir is not an error. */
int account_remove_mail(const char *data_dir, const char *domain, const char *local,
			const char **error_r);
void account_clear(struct account *account);
void accounts_free(struct account **_accounts, size_t count);

/* ---- aliases (alias.c) ---- */

struct alias {
	char *address;          /* "sales@example.com", or "@example.com" (catch-all) */
	char *domain;
	char **targets;
	size_t target_count;
};

/* Create the alias or add targets to it; targets are addresses, local or
 * remote. The alias may not shadow a mailbox and its domain must be local. */
int alias_add(struct db *db, const char *address, const char *const *targets, size_t count,
	      struct directory_error *error_r);
/* count 0 deletes the whole alias. */
int alias_del(struct db *db, const char *address, const char *const *targets, size_t count,
	      struct directory_error *error_r);
int alias_get(struct db *db, const char *address, struct alias *alias_r);
/* domain NULL = every alias; sorted by address. */
int alias_list(struct db *db, const char *domain, struct alias **aliases_r, size_t *count_r);
/* alias_resolve - one level: the targets of address's own alias, else of
 * its domain's catch-all when no mailbox has the address. */
int alias_resolve(struct db *db, const char *address, struct alias *alias_r);
void alias_clear(struct alias *alias);
void aliases_free(struct alias **_aliases, size_t count);

/* ---- passwords (password.c) ---- */

/* Refuse empty passwords and those over PASSWORD_MAX bytes. */
int password_check(const char *password, const char **error_r);
/* A new yescrypt ("$y$") hash. */
int password_hash(const char *password, char **hash_r, const char **error_r);
/* Match against a "$y$", "$6$" or "$2b$"/"$2y$" hash, made here or imported. */
bool password_verify(const char *password, const char *hash);
/* When the account's password expires (epoch seconds), or 0 for never. */
int64_t password_expires_at(const struct account *account);
bool password_expired(const struct account *account, int64_t now);

#endif
