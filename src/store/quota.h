/* SPDX-License-Identifier: ISC */
/*
 * quota.h - how much a mailbox (and its domain) holds, and whether one
 * more message fits (F10, F11).
 *
 * Usage lives in the Maildir's "maildirsize" file (Maildir++ quota, as
 * Courier, maildrop and Dovecot keep it), so it costs one small read at
 * delivery time, needs no database handle (delivery runs on a worker
 * thread), and survives an import. It is recounted from the file names'
 * S= sizes when missing, broken, too long, out of date with the limits,
 * or over quota and possibly stale.
 *
 * All functions do file I/O only and may run on any thread.
 */
#ifndef POSTINO_QUOTA_H
#define POSTINO_QUOTA_H

#include "lib/lib.h"

struct account;

#define QUOTA_FILE_NAME "maildirsize"
/* Maildir++ (README.maildirquota): a file that grew past 5120 bytes of
 * deltas is recounted; Dovecot reads at most that much. */
#define QUOTA_FILE_MAX 5120
/* Dovecot's MAILDIRSIZE_STALE_SECS: an over-quota figure from a file
 * older than this is recounted before a delivery is refused on it. */
#define QUOTA_STALE_SECS (15 * 60)
/* The one-time "your mailbox is almost full" warning fires here. */
#define QUOTA_WARN_PERCENT 90
/* Marker in the Maildir root: the warning was sent and usage has not
 * fallen back under QUOTA_WARN_PERCENT since. Not a folder (no leading
 * dot), so IMAP servers reading the Maildir ignore it. */
#define QUOTA_WARNED_FILE "postino-quota-warned"

struct quota_usage {
	uint64_t bytes, messages;
};

enum quota_verdict {
	QUOTA_ALLOWED,
	QUOTA_TOO_BIG,     /* the message alone exceeds the mailbox's (or domain's)
			    * whole quota: it can never fit */
	QUOTA_OVER_SIZE,   /* it would exceed the mailbox's byte quota */
	QUOTA_OVER_COUNT,  /* it would exceed max-messages */
	QUOTA_DOMAIN_FULL, /* it would exceed the domain's total quota */
};

struct quota_result {
	enum quota_verdict verdict;
	const char *reason;   /* core/reason.c code; NULL when allowed */
	uint64_t used, limit; /* the figures of the limit that refused */
};

/* The mailbox's usage, recounting (and rewriting maildirsize) when the
 * file cannot be trusted. A mailbox without a Maildir uses nothing. */
int quota_usage(const char *data_dir, const struct account *account,
		struct quota_usage *usage_r) ATTR_NODISCARD;
/* Recount from the Maildir now; maildirsize is rewritten unless the
 * Maildir changed during the count. */
int quota_recalc(const char *data_dir, const struct account *account,
		 struct quota_usage *usage_r) ATTR_NODISCARD;
/* Sum over every mailbox directory of DATA/mail/<domain>/ (each from its
 * maildirsize when readable, else counted). */
int quota_domain_usage(const char *data_dir, const char *domain,
		       struct quota_usage *usage_r) ATTR_NODISCARD;

/* quota_evaluate - may a message of incoming bytes be added? Pure: the
 * caller brings the usage (domain_usage may be NULL when domain_quota_bytes
 * is 0, which means no domain limit). A message that reaches a limit
 * exactly still fits. */
void quota_evaluate(const struct account *account, uint64_t domain_quota_bytes,
		    const struct quota_usage *usage, const struct quota_usage *domain_usage,
		    uint64_t incoming, struct quota_result *result_r);
/* quota_usage (+ quota_domain_usage when the domain has a quota), then
 * quota_evaluate. */
int quota_check(const char *data_dir, const struct account *account,
		uint64_t domain_quota_bytes, uint64_t incoming,
		struct quota_result *result_r) ATTR_NODISCARD;

/* Record stored (+) or removed (-) mail: one "<bytes> <count>" line
 * appended to maildirsize (O_APPEND, as the Maildir++ spec does it). A
 * missing file is left for the next quota_usage to count. On a write
 * error the file is removed so the next read recounts; -1 is returned. */
int quota_update(const char *data_dir, const struct account *account, int64_t bytes,
		 int64_t messages) ATTR_NODISCARD;

/* At or over QUOTA_WARN_PERCENT of the mailbox's byte or message limit. */
bool quota_over_warning(const struct account *account, const struct quota_usage *usage);
/* quota_warning_update - after a delivery: *send_r is true exactly once
 * per crossing of QUOTA_WARN_PERCENT (the marker file is created with
 * O_EXCL, so concurrent deliveries agree on who sends it); falling back
 * under the threshold removes the marker. */
int quota_warning_update(const char *data_dir, const struct account *account,
			 const struct quota_usage *usage, bool *send_r) ATTR_NODISCARD;

#endif
