/* SPDX-License-Identifier: ISC */
/*
 * addr.h - mailbox addresses and domain names in one canonical form.
 *
 * Everything that stores or looks up an address (directory, policy, SMTP
 * RCPT) passes it through addr_normalize() first, so "User@Example.COM"
 * and "user@example.com" are one mailbox and a Unicode domain is always
 * its IDNA A-label.
 */
#ifndef POSTINO_ADDR_H
#define POSTINO_ADDR_H

#include "lib/lib.h"

struct pool;

#define ADDR_LOCAL_MAX 64   /* octets, RFC 5321 4.5.3.1.1 */
#define ADDR_MAX 254        /* RFC 5321 4.5.3.1.3: a 256-octet path minus "<>" */
#define ADDR_LABEL_MAX 63   /* RFC 1035 2.3.4 */
/* RFC 5321 4.5.3.1.2 allows 255 octets, but the DNS wire form (length
 * octets and the root label, RFC 1035 2.3.4) leaves 253 for the text. */
#define ADDR_DOMAIN_MAX 253

/* addr_normalize - validate "local@domain" and return its canonical form:
 * the local part a dot-atom (RFC 5322 3.2.3, UTF-8 allowed per RFC 6531
 * 3.3) with ASCII lower-cased, the domain as addr_domain_normalize().
 * Quoted local parts and address literals are refused. */
int addr_normalize(const char *in, char **addr_r, const char **error_r);

/* addr_domain_normalize - validate a domain name and return it lower-cased,
 * with any Unicode label converted to its IDNA A-label (UTS #46,
 * non-transitional). */
int addr_domain_normalize(const char *in, char **domain_r, const char **error_r);

/* The domain of a normalised address (after its '@'), or NULL. */
const char *addr_domain(const char *addr);

/*
 * RFC 5321 paths, as they follow "MAIL FROM:" and "RCPT TO:".
 *
 * addr_normalize() answers "which mailbox is this"; addr_parse_path()
 * answers "what did the client send, and is it a path at all". It accepts
 * every form RFC 5321 4.1.2 allows (and RFC 6531 3.3 when SMTPUTF8 was
 * given), flags the ones policy must look at twice, and refuses the rest
 * with the SMTP reply the client should get.
 */

#define ADDR_PATH_MAX 256        /* octets including "<>", RFC 5321 4.5.3.1.3 */
#define ADDR_PATH_DOMAIN_MAX 255 /* octets as sent, RFC 5321 4.5.3.1.2 */

/* A refusal ready to send: reply code (RFC 5321 4.2.3), enhanced status
 * code (RFC 3463) and a short text for the client. */
struct mail_error {
	unsigned code;        /* 501, 553, 555 ... */
	const char *enhanced; /* "5.1.3" */
	const char *text;     /* static, or from the caller's pool */
};

/* addr_parse_path() options */
enum addr_path_opt {
	/* A reverse-path (MAIL FROM): "<>" is allowed, "<Postmaster>" is not,
	 * and syntax errors say X.1.7 instead of X.1.3 (RFC 3463 3.2). */
	ADDR_PATH_OPT_REVERSE = 0x01,
	/* SMTPUTF8 is in force: UTF-8 local parts and U-labels (RFC 6531 3.3).
	 * Without it a non-ASCII path gets 553 5.6.7 (RFC 6531 3.5). */
	ADDR_PATH_OPT_UTF8 = 0x02,
};

/* What the path looked like; policy decides what to do about it. */
enum addr_path_flag {
	ADDR_PATH_NULL = 0x01,         /* "<>", the null reverse-path */
	ADDR_PATH_POSTMASTER = 0x02,   /* "<Postmaster>" without a domain, RFC 5321 4.5.1 */
	ADDR_PATH_QUOTED = 0x04,       /* local part sent as a Quoted-string */
	ADDR_PATH_ROUTING = 0x08,      /* local part holds '%', '!' or '@' (relay hacks) */
	ADDR_PATH_SOURCE_ROUTE = 0x10, /* "<@a,@b:u@c>": route ignored, RFC 5321 4.1.2, 3.3 */
	ADDR_PATH_LITERAL = 0x20,      /* domain is an address literal "[...]" */
	ADDR_PATH_UTF8 = 0x40,         /* non-ASCII octets in the mailbox */
};

struct addr_path {
	unsigned flags; /* enum addr_path_flag */
	/* The canonical mailbox for lookups: addr_normalize()'s form when the
	 * local part is (or unquotes to) a dot-string and the domain is a name;
	 * otherwise the ASCII-lower-cased local part, quoted again only if it
	 * must be, "@", and the canonical literal. "" for "<>", "postmaster"
	 * for "<Postmaster>". */
	const char *addr;
	/* The local part unquoted, case kept (RFC 5321 2.4: relays preserve
	 * it); "" for "<>". */
	const char *local;
	/* The domain lower-cased with A-labels, or the literal in canonical
	 * form ("[192.0.2.1]", "[IPv6:2001:db8::1]"); "" when none. */
	const char *domain;
};

/* addr_parse_path - parse the path at the start of in ("<...>"). On success
 * *end_r points just past the '>' and the strings in *path_r come from
 * pool. On failure *error_r says why: 501 for what is not a path (or is
 * longer than 256 octets), 553 for a path naming a mailbox we cannot
 * accept (local part over 64, bad domain name, unknown literal tag). */
int addr_parse_path(struct pool *pool, const char *in, unsigned opts, struct addr_path *path_r,
		    const char **end_r, struct mail_error *error_r);

/* addr_domain_syntax - in[0..len) is a Domain of RFC 5321 4.1.2 (labels of
 * letters, digits and inner hyphens), with U-labels when utf8 (RFC 6531
 * 3.3). Grammar only: no IDNA and no DNS length rules. */
int addr_domain_syntax(const char *in, size_t len, bool utf8, const char **error_r);

/* addr_literal_normalize - in[0..len) is an address literal of RFC 5321
 * 4.1.3 ("[192.0.2.1]", "[IPv6:...]"); returns its canonical form
 * (decimal octets without leading zeros, inet_ntop(3) IPv6) from pool.
 * General-address-literals (a tag other than IPv6) are refused: none is
 * standardised, so nothing could route them. */
int addr_literal_normalize(struct pool *pool, const char *in, size_t len, const char **literal_r,
			   const char **error_r);

#endif
