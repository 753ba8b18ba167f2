/* SPDX-License-Identifier: ISC */
/*
 * addrlist.h - RFC 5322 address lists as they appear in From, To, Cc ...
 *
 * addr.h answers "which mailbox is this" for addresses we route; this
 * answers "what does this header say" for ENVELOPE, display and search.
 * It never refuses: obsolete syntax (RFC 5322 4.4: routes, comments and
 * spaces anywhere, empty list members) is read, and broken input (a
 * missing '>', a lone display name, an unterminated quote or group) is
 * repaired and flagged, the way IMAP servers and clients have always done.
 */
#ifndef POSTINO_ADDRLIST_H
#define POSTINO_ADDRLIST_H

#include "lib/lib.h"

struct pool;

/* Entries read from one header field; the rest is ignored. Far above any
 * real recipient list, low enough that a hostile header cannot make an
 * ENVELOPE of megabytes. */
#define ADDRLIST_MAX 2000

enum addrlist_kind {
	ADDRLIST_MAILBOX,
	/* "name:" opens a group (RFC 5322 3.4); name holds its display name.
	 * Members follow as mailboxes until ADDRLIST_GROUP_END (";"), which
	 * is added even when the ";" is missing. */
	ADDRLIST_GROUP_START,
	ADDRLIST_GROUP_END,
};

struct addrlist_addr {
	struct addrlist_addr *next;
	enum addrlist_kind kind;
	/* Display name (or group name) with RFC 5322 quoting removed and
	 * encoded-words left for the reader (RFC 3501 7.4.2 addr-name); for
	 * "user@host (Name)" the comment. NULL when there is none. */
	const char *name;
	/* Obsolete source route without its ':' ("@a,@b"), or NULL. */
	const char *route;
	/* Local part as written (quoted-strings keep their quotes, spaces
	 * and comments removed); "" when missing. NULL for group markers. */
	const char *mailbox;
	/* Domain as written (spaces and comments removed), or NULL when
	 * missing ("MAILER-DAEMON"); NULL for group markers. */
	const char *domain;
	/* Repaired: something in this entry was not RFC 5322 syntax. */
	bool invalid;
};

/* addrlist_parse - the entries of in[0..len) (an unfolded or folded field
 * value), allocated from pool; NULL when there is none. Never fails. */
struct addrlist_addr *addrlist_parse(struct pool *pool, const char *in, size_t len);

#endif
