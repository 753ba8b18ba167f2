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

#endif
