/* SPDX-License-Identifier: ISC */
/*
 * route.h - where a message for a domain goes: the ordered list of
 * (host, address) the SMTP client tries, from MX records (RFC 5321 5.1)
 * or the configured smarthost.
 *
 *   MX records sorted by preference, equal preferences shuffled;
 *   no MX (NODATA) -> the domain itself is the implicit MX (its A/AAAA);
 *   null MX (one MX "." preference 0, RFC 7505) -> permanent failure;
 *   NXDOMAIN -> permanent failure; any temporary DNS failure that leaves
 *   no usable address -> temporary failure;
 *   each host's addresses: IPv6 first then IPv4 (config outbound.ipv6=no
 *   skips IPv6), unusable ones (0.0.0.0/8, multicast) and repeats
 *   dropped; at most ROUTE_TARGETS_MAX targets in all;
 *   an MX host that is an IP address is tolerated (RFC 5321 5.1 says a
 *   name, some domains publish one anyway);
 *   a domain literal "[192.0.2.1]" / "[IPv6:2001:db8::1]" is its address.
 * The callback never runs inside route_resolve*() (dns_defer()).
 * A smarthost "[host]:port" is used as it is; "host:port" looks up the
 * MX of host (the brackets mean: no MX lookup, as in Postfix's relayhost).
 */
#ifndef POSTINO_ROUTE_H
#define POSTINO_ROUTE_H

#include "lib/lib.h"
#include "core/dns.h"

#define ROUTE_TARGETS_MAX 20

enum route_status {
	ROUTE_OK,
	ROUTE_TEMPFAIL,
	ROUTE_PERMFAIL,
};

struct route_target {
	char host[DNS_NAME_MAX];      /* MX host name (TLS SNI, logs, DSN remote-mta) */
	char addr_text[64];           /* numeric address, for logs */
	struct sockaddr_storage ss;   /* with the port set */
	socklen_t len;
	unsigned pref;
};

struct route_result {
	enum route_status status;
	/* core/reason.c code when not ROUTE_OK: "route.nxdomain",
	 * "route.null-mx", "route.no-address", "route.dns-tempfail", ... */
	const char *reason;
	char text[256];               /* human sentence for the DSN and the journal */
	const struct route_target *targets;
	size_t count;
};

/* Valid only during the callback. */
typedef void route_done_fn(void *ctx, const struct route_result *result);

/* route_resolve - targets for mail to domain, on port (25 normally;
 * config outbound.port lets tests and benches use another). */
void route_resolve(const char *domain, uint16_t port, route_done_fn *done, void *ctx);
/* route_resolve_relay - targets for a smarthost spec "[host]:port",
 * "host:port" or "host" (MX lookup unless bracketed; default port 25). */
void route_resolve_relay(const char *spec, route_done_fn *done, void *ctx);

/* route_set_ipv6 - outbound.ipv6: use AAAA records (default yes). serve
 * sets it at start and on reload, the CLI from postino.conf. */
void route_set_ipv6(bool enabled);

/* Pure helpers (unit tested). */
/* Sort by preference, shuffling equal ones with rnd(). */
void route_order_mx(struct dns_mx *mx, size_t count, uint32_t (*rnd)(void));
/* True when the answer is a null MX (RFC 7505 3: a single record "."). */
bool route_is_null_mx(const struct dns_mx *mx, size_t count);
/* Parse a relay spec; host_r gets the name without brackets. */
int route_parse_relay(const char *spec, char host_r[DNS_NAME_MAX], uint16_t *port_r,
		      bool *mx_lookup_r) ATTR_NODISCARD;

#endif
