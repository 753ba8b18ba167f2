/* SPDX-License-Identifier: ISC */
/*
 * dns.h - asynchronous DNS on the daemon's loop, through c-ares.
 *
 * The servers come from the configuration key dns.servers ("" = the
 * system's /etc/resolv.conf; otherwise a comma-separated list of
 * ADDR or ADDR:PORT, [v6]:PORT for IPv6), so tests can point the server
 * at a resolver of their own on loopback. Every lookup calls its
 * callback exactly once, on the loop thread, never from inside the
 * dns_lookup_*() call itself; the caller keeps ctx alive until then.
 *
 * The same API works outside the daemon (the CLI): dns_init() on an
 * event_base of the caller's, then event_base_dispatch() until the
 * callbacks have run.
 */
#ifndef POSTINO_DNS_H
#define POSTINO_DNS_H

#include "lib/lib.h"

#include <sys/socket.h>

struct event_base;

enum dns_status {
	DNS_OK,        /* answers (count > 0) */
	DNS_NODATA,    /* the name exists, no record of that type */
	DNS_NXDOMAIN,  /* the name does not exist */
	DNS_TEMPFAIL,  /* timeout, SERVFAIL, refused, network: try later */
	DNS_BADNAME,   /* not a valid domain name (empty label, label > 63,
	                * name > 253 octets): permanent */
};

#define DNS_NAME_MAX 256

struct dns_mx {
	char host[DNS_NAME_MAX];  /* without the trailing dot; "" = null MX (RFC 7505) */
	unsigned pref;
};

struct dns_addr {
	struct sockaddr_storage ss;  /* port 0 */
	socklen_t len;
};

/* Results are valid only during the callback. */
typedef void dns_mx_fn(void *ctx, enum dns_status status, const struct dns_mx *mx,
		       size_t count);
typedef void dns_addr_fn(void *ctx, enum dns_status status, const struct dns_addr *addrs,
			 size_t count);
typedef void dns_txt_fn(void *ctx, enum dns_status status, const char *const *txt,
			size_t count);

/* servers as dns.servers above. */
int dns_init(struct event_base *base, const char *servers, char **error_r) ATTR_NODISCARD;
/* SIGHUP: new servers for lookups started from now on. */
int dns_set_servers(const char *servers, char **error_r) ATTR_NODISCARD;
/* Cancels what is in flight (callbacks run with DNS_TEMPFAIL, from
 * inside this call); never call it from a lookup's callback. */
void dns_deinit(void);

void dns_lookup_mx(const char *domain, dns_mx_fn *fn, void *ctx);
/* family AF_INET, AF_INET6 or AF_UNSPEC (both: IPv6 first, then IPv4;
 * DNS_OK when either has answers, DNS_TEMPFAIL when either failed
 * temporarily and neither answered). A numeric address is returned as is. */
void dns_lookup_addr(const char *host, int family, dns_addr_fn *fn, void *ctx);
/* TXT strings of one record joined (RFC 7208 3.3), one entry per record. */
void dns_lookup_txt(const char *name, dns_txt_fn *fn, void *ctx);
/* Run fn(ctx) from the loop, after the caller has returned (dns_deinit()
 * runs what still waits): lets a module built on these lookups answer
 * from its own checks and keep the "never inside the call" promise. */
typedef void dns_defer_fn(void *ctx);
void dns_defer(dns_defer_fn *fn, void *ctx);

/* "nxdomain", ... for logs and journal details. */
const char *dns_status_name(enum dns_status status);

#endif
