/* SPDX-License-Identifier: ISC */
/*
 * dsn.h - delivery status notifications the server writes (RFC 3464,
 * RFC 3461 6): failure bounces, delay warnings and (NOTIFY=SUCCESS
 * relays) success reports, as multipart/report; report-type=
 * delivery-status with a human part, the message/delivery-status part and
 * the original message (RET=FULL, or the default for failures) or its
 * header (RET=HDRS, and always for delay warnings) as text/rfc822-headers.
 *
 * From: "Mail Delivery System" <MAILER-DAEMON@hostname>, To: the original
 * envelope sender, Auto-Submitted: auto-replied (RFC 3834), sent from
 * the null sender so it can never be bounced itself.
 */
#ifndef POSTINO_QUEUE_DSN_H
#define POSTINO_QUEUE_DSN_H

#include "lib/lib.h"

enum dsn_kind {
	DSN_FAILURE,   /* Action: failed */
	DSN_DELAY,     /* Action: delayed (a warning; still retrying) */
	DSN_SUCCESS,   /* Action: relayed (NOTIFY=SUCCESS to a peer without DSN) */
};

struct dsn_rcpt {
	const char *address;        /* final recipient */
	const char *orcpt;          /* "rfc822;addr" from ORCPT=, or NULL */
	const char *status;         /* "5.1.1", "4.4.1", "2.0.0" */
	const char *remote_mta;     /* MX host that answered, or NULL */
	const char *diagnostic;     /* "550 5.1.1 no such user" (the peer's reply), or NULL */
	const char *text;           /* our explanation when there was no reply, or NULL */
	int64_t last_attempt;       /* unix time, 0 = none */
	int64_t will_retry_until;   /* DSN_DELAY: unix time, 0 = not said */
};

struct dsn_report {
	enum dsn_kind kind;
	const char *hostname;       /* Reporting-MTA and From domain */
	const char *sender;         /* original envelope sender (the report's To) */
	const char *queueid;        /* X-Postfix-Queue-ID-like: X-Postino-Queue-ID */
	const char *envid;          /* RFC 3461 ENVID=, or NULL */
	int64_t arrival;            /* Arrival-Date */
	int ret;                    /* 0 default, 1 FULL, 2 HDRS */
	const char *msg_path;       /* the original message (queue file) */
	size_t full_max;            /* larger originals are cut to their header: 0 = 10 MB */
	const struct dsn_rcpt *rcpts;
	size_t rcpt_count;
};

/* dsn_build - the whole report message in *data_r (CRLF line ends,
 * xmalloc'd). -1 when the original cannot be read, or (a safety net)
 * when sender is the null sender "" (then *error_r). */
int dsn_build(const struct dsn_report *report, char **data_r, size_t *len_r,
	      const char **error_r) ATTR_NODISCARD;

#endif
