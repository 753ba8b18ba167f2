/* SPDX-License-Identifier: ISC */
/*
 * route.c - the ordered (host, address) list for a destination domain or
 * smarthost, from DNS (RFC 5321 5.1, RFC 7505).
 *
 * One job per call: the MX lookup, then the addresses of every MX host
 * at once (a slow host does not delay the others), then the targets in
 * MX order. The permanent/temporary split decides between a bounce and a
 * retry, so it errs towards "temporary" whenever DNS did not answer.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "queue/route.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#define ROUTE_DEFAULT_PORT 25   /* RFC 5321 4.5.4.2 */
/* MX hosts whose addresses are looked up: each yields one target at least. */
#define ROUTE_HOSTS_MAX ROUTE_TARGETS_MAX
#define ROUTE_LABEL_MAX 63      /* RFC 1035 2.3.4 */
#define ROUTE_DOMAIN_MAX 253

struct route_job;

struct route_host {
	struct route_job *job;
	char host[DNS_NAME_MAX];
	unsigned pref;
	enum dns_status status;
	struct dns_addr *addrs;
	size_t count;
};

struct route_job {
	route_done_fn *done;
	void *ctx;
	uint16_t port;
	char domain[DNS_NAME_MAX];
	const char *via;               /* "MX", "implicit MX", "relay" ... for the text */
	struct route_host hosts[ROUTE_HOSTS_MAX];
	size_t nhosts, pending;
	struct route_target targets[ROUTE_TARGETS_MAX];
	struct route_result result;
};

static bool route_ipv6 = true;

void route_set_ipv6(bool enabled)
{
	route_ipv6 = enabled;
}

/* ---- pure helpers ---- */

static uint32_t route_random(void)
{
	return arc4random();
}

void route_order_mx(struct dns_mx *mx, size_t count, uint32_t (*rnd)(void))
{
	/* insertion sort: stable, and count is small (bounded by dns.c) */
	for (size_t i = 1; i < count; i++) {
		struct dns_mx tmp = mx[i];
		size_t j = i;
		for (; j > 0 && mx[j - 1].pref > tmp.pref; j--)
			mx[j] = mx[j - 1];
		mx[j] = tmp;
	}
	/* RFC 5321 5.1: hosts of equal preference are tried in random order,
	 * spreading the load; Fisher-Yates within each run */
	for (size_t start = 0, end; start < count; start = end) {
		for (end = start + 1; end < count && mx[end].pref == mx[start].pref; end++)
			;
		for (size_t i = end - start - 1; i > 0; i--) {
			size_t j = rnd() % (i + 1);
			struct dns_mx tmp = mx[start + i];
			mx[start + i] = mx[start + j];
			mx[start + j] = tmp;
		}
	}
}

bool route_is_null_mx(const struct dns_mx *mx, size_t count)
{
	/* RFC 7505 3: one record, the root name; dns.c gives it as "" */
	return count == 1 && mx[0].host[0] == '\0';
}

/* route_domain_valid - LDH labels (underscore tolerated: it is in real
 * zones), 1-63 octets each, 253 in all; no trailing dot. */
static bool route_domain_valid(const char *d)
{
	size_t len = strlen(d), label = 0;

	if (len == 0 || len > ROUTE_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
		if (++label > ROUTE_LABEL_MAX)
			return false;
	}
	return label > 0;
}

static bool route_is_ip(const char *host)
{
	struct in6_addr a;

	return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
}

int route_parse_relay(const char *spec, char host_r[DNS_NAME_MAX], uint16_t *port_r,
		      bool *mx_lookup_r)
{
	char host[DNS_NAME_MAX];
	const char *rest, *h;
	size_t len;
	uint64_t port = ROUTE_DEFAULT_PORT;

	if (spec[0] == '[') {
		/* "[host]": the host itself, no MX lookup (Postfix relayhost) */
		if ((rest = strchr(spec, ']')) == NULL)
			return -1;
		h = spec + 1;
		len = (size_t)(rest - h);
		rest++;
		*mx_lookup_r = false;
		if (len >= 5 && str_ncasecmp(h, "IPv6:", 5) == 0) {
			h += 5;      /* RFC 5321 4.1.3 address literal */
			len -= 5;
		}
	} else {
		/* a bare IPv6 address cannot be told from host:port: brackets */
		rest = strchr(spec, ':');
		if (rest != NULL && strchr(rest + 1, ':') != NULL)
			return -1;
		h = spec;
		len = rest != NULL ? (size_t)(rest - spec) : strlen(spec);
		if (rest == NULL)
			rest = "";
		*mx_lookup_r = true;
	}
	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, h, len);
	host[len] = '\0';
	if (len > 1 && host[len - 1] == '.' && !route_is_ip(host))
		host[len - 1] = '\0';
	if (rest[0] == ':') {
		if (str_to_uint64(rest + 1, 1, UINT16_MAX, &port) < 0)
			return -1;
	} else if (rest[0] != '\0') {
		return -1;
	}
	if (route_is_ip(host))
		*mx_lookup_r = false;   /* an address has no MX records */
	else if (!route_domain_valid(host))
		return -1;
	memcpy(host_r, host, strlen(host) + 1);
	*port_r = (uint16_t)port;
	return 0;
}

/* ---- the job ---- */

static struct route_job *route_job_new(uint16_t port, route_done_fn *done, void *ctx)
{
	struct route_job *job = xcalloc(1, sizeof(*job));

	job->done = done;
	job->ctx = ctx;
	job->port = port;
	job->result.targets = job->targets;
	return job;
}

static void route_job_free(struct route_job *job)
{
	for (size_t i = 0; i < job->nhosts; i++)
		free(job->hosts[i].addrs);
	free(job);
}

static void route_finish(struct route_job *job)
{
	struct route_result *r = &job->result;

	if (r->status == ROUTE_OK)
		log_debug("route domain=%s via=%s targets=%zu", job->domain, job->via, r->count);
	else
		log_debug("route domain=%s status=%s reason=%s text=%s", job->domain,
			  r->status == ROUTE_TEMPFAIL ? "tempfail" : "permfail", r->reason, r->text);
	job->done(job->ctx, r);
	route_job_free(job);
}

static void route_on_deferred(void *ctx)
{
	route_finish(ctx);
}

static void route_text(struct route_job *job, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
static void route_fail(struct route_job *job, enum route_status status, const char *reason,
		       const char *fmt, ...) ATTR_FORMAT(printf, 4, 5);

/* route_text - the result's sentence; a long name may cut it short. */
static void route_text(struct route_job *job, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(job->result.text, sizeof(job->result.text), fmt, ap);
	va_end(ap);
}

/* route_fail - record the failure; the caller then finishes the job
 * (from route_resolve*() itself only through dns_defer()). */
static void route_fail(struct route_job *job, enum route_status status, const char *reason,
		       const char *fmt, ...)
{
	va_list ap;

	job->result.status = status;
	job->result.reason = reason;
	job->result.count = 0;
	va_start(ap, fmt);
	vsnprintf(job->result.text, sizeof(job->result.text), fmt, ap);
	va_end(ap);
}

/* route_addr_usable - an address a connection could reach: not
 * 0.0.0.0/8 ("this network", RFC 1122 3.2.1.3), not multicast or the
 * reserved 240/4 block, not :: or ff00::/8. Loopback is allowed: a
 * test or a local relay may well live there. */
static bool route_addr_usable(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const uint8_t *b = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
		return b[0] != 0 && b[0] < 224;
	}
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (IN6_IS_ADDR_UNSPECIFIED(a6) || IN6_IS_ADDR_MULTICAST(a6))
		return false;
	if (IN6_IS_ADDR_V4MAPPED(a6))
		return a6->s6_addr[12] != 0 && a6->s6_addr[12] < 224;
	return true;
}

static bool route_addr_seen(const struct route_job *job, const struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < job->result.count; i++) {
		const struct sockaddr_storage *t = &job->targets[i].ss;
		if (t->ss_family != ss->ss_family)
			continue;
		if (ss->ss_family == AF_INET &&
		    memcmp(&((const struct sockaddr_in *)t)->sin_addr,
			   &((const struct sockaddr_in *)ss)->sin_addr, sizeof(struct in_addr)) == 0)
			return true;
		if (ss->ss_family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)t)->sin6_addr,
			   &((const struct sockaddr_in6 *)ss)->sin6_addr, sizeof(struct in6_addr)) == 0)
			return true;
	}
	return false;
}

/* route_add_target - one (host, address), the port set; false when the
 * address is unusable or already listed. */
static bool route_add_target(struct route_job *job, const struct route_host *h,
			     const struct dns_addr *a)
{
	struct route_target *t = &job->targets[job->result.count];
	const void *raw;

	if (!route_addr_usable(&a->ss) || route_addr_seen(job, &a->ss))
		return false;
	memset(t, 0, sizeof(*t));
	memcpy(&t->ss, &a->ss, a->len);
	t->len = a->len;
	t->pref = h->pref;
	if (str_copy(t->host, h->host, sizeof(t->host)) < 0)
		panic("route: host name longer than DNS_NAME_MAX");
	if (t->ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t->ss;
		sin->sin_port = htons(job->port);
		raw = &sin->sin_addr;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->ss;
		sin6->sin6_port = htons(job->port);
		raw = &sin6->sin6_addr;
	}
	/* cannot fail: addr_text holds INET6_ADDRSTRLEN */
	inet_ntop(t->ss.ss_family, raw, t->addr_text, sizeof(t->addr_text));
	job->result.count++;
	return true;
}

/* route_assemble - every host has answered: targets in MX order, each
 * host's addresses IPv6 first (dns.c's order). */
static void route_assemble(struct route_job *job)
{
	bool tempfail = false;
	size_t unusable = 0;
	const struct route_host *failed = NULL;

	for (size_t i = 0; i < job->nhosts; i++) {
		const struct route_host *h = &job->hosts[i];
		if (h->status == DNS_TEMPFAIL)
			tempfail = true;
		if (h->status != DNS_OK) {
			if (failed == NULL || h->status == DNS_TEMPFAIL)
				failed = h;
			continue;
		}
		for (size_t j = 0; j < h->count && job->result.count < ROUTE_TARGETS_MAX; j++) {
			if (!route_add_target(job, h, &h->addrs[j]) && !route_addr_usable(&h->addrs[j].ss))
				unusable++;
		}
	}
	if (job->result.count > 0) {
		job->result.status = ROUTE_OK;
		route_text(job, "%zu target%s for %s (%s)", job->result.count,
			   job->result.count == 1 ? "" : "s", job->domain, job->via);
	} else if (tempfail) {
		route_fail(job, ROUTE_TEMPFAIL, "route.dns-tempfail",
			   "DNS lookup of the address of %s (%s of %s) failed temporarily",
			   failed->host, job->via, job->domain);
	} else if (unusable > 0) {
		route_fail(job, ROUTE_PERMFAIL, "route.no-address",
			   "the mail servers of %s (%s) have only unusable addresses (%zu, e.g. "
			   "0.0.0.0)", job->domain, job->via, unusable);
	} else {
		route_fail(job, ROUTE_PERMFAIL, "route.no-address",
			   "no %saddress for the mail server%s of %s (%s: %s)",
			   route_ipv6 ? "" : "IPv4 ", job->nhosts == 1 ? "" : "s", job->domain,
			   job->via, failed != NULL ? dns_status_name(failed->status) : "none");
	}
	route_finish(job);
}

static void route_on_addr(void *ctx, enum dns_status status, const struct dns_addr *addrs,
			  size_t count)
{
	struct route_host *h = ctx;
	struct route_job *job = h->job;

	h->status = status;
	if (status == DNS_OK) {
		if (count > ROUTE_TARGETS_MAX)
			count = ROUTE_TARGETS_MAX;
		h->addrs = xcalloc(count, sizeof(*h->addrs));
		memcpy(h->addrs, addrs, count * sizeof(*addrs));
		h->count = count;
	}
	if (--job->pending == 0)
		route_assemble(job);
}

/* route_lookup_hosts - all hosts' addresses in parallel. */
static void route_lookup_hosts(struct route_job *job)
{
	job->pending = job->nhosts;
	for (size_t i = 0; i < job->nhosts; i++) {
		job->hosts[i].job = job;
		job->hosts[i].status = DNS_TEMPFAIL;
		dns_lookup_addr(job->hosts[i].host, route_ipv6 ? AF_UNSPEC : AF_INET, route_on_addr,
				&job->hosts[i]);
	}
}

static void route_add_host(struct route_job *job, const char *host, unsigned pref)
{
	struct route_host *h = &job->hosts[job->nhosts++];

	if (str_copy(h->host, host, sizeof(h->host)) < 0)
		panic("route: host name longer than DNS_NAME_MAX");
	h->pref = pref;
}

static void route_on_mx(void *ctx, enum dns_status status, const struct dns_mx *mx,
			size_t count)
{
	struct route_job *job = ctx;
	struct dns_mx *sorted;

	switch (status) {
	case DNS_OK:
		break;
	case DNS_NODATA:
		/* RFC 5321 5.1: no MX, the domain is its own (implicit) MX */
		job->via = strcmp(job->via, "MX") == 0 ? "implicit MX" : "relay, implicit MX";
		route_add_host(job, job->domain, 0);
		route_lookup_hosts(job);
		return;
	case DNS_NXDOMAIN:
		route_fail(job, ROUTE_PERMFAIL, "route.nxdomain",
			   "domain %s does not exist (DNS: NXDOMAIN)", job->domain);
		route_finish(job);
		return;
	case DNS_BADNAME:
		route_fail(job, ROUTE_PERMFAIL, "route.bad-domain",
			   "%s is not a valid domain name", job->domain);
		route_finish(job);
		return;
	case DNS_TEMPFAIL:
		route_fail(job, ROUTE_TEMPFAIL, "route.dns-tempfail",
			   "MX lookup of %s failed temporarily (timeout, SERVFAIL or refused)",
			   job->domain);
		route_finish(job);
		return;
	}
	if (route_is_null_mx(mx, count)) {
		route_fail(job, ROUTE_PERMFAIL, "route.null-mx",
			   "domain %s accepts no mail (null MX, RFC 7505)", job->domain);
		route_finish(job);
		return;
	}
	sorted = xcalloc(count, sizeof(*sorted));
	memcpy(sorted, mx, count * sizeof(*mx));
	route_order_mx(sorted, count, route_random);
	/* a "." among real hosts breaks RFC 7505 3; it can never take mail,
	 * so it is skipped and the real ones are used */
	for (size_t i = 0; i < count && job->nhosts < ROUTE_HOSTS_MAX; i++) {
		if (sorted[i].host[0] != '\0')
			route_add_host(job, sorted[i].host, sorted[i].pref);
	}
	free(sorted);
	if (job->nhosts == 0) {
		route_fail(job, ROUTE_PERMFAIL, "route.null-mx",
			   "domain %s accepts no mail (only null MX records, RFC 7505)", job->domain);
		route_finish(job);
		return;
	}
	route_lookup_hosts(job);
}

/* route_domain_literal - "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321
 * 4.1.3) into its address text; false when d is no literal. */
static bool route_domain_literal(const char *d, char addr_r[DNS_NAME_MAX])
{
	size_t len = strlen(d);

	if (len < 3 || d[0] != '[' || d[len - 1] != ']')
		return false;
	d++;
	len -= 2;
	if (len > 5 && str_ncasecmp(d, "IPv6:", 5) == 0) {
		d += 5;
		len -= 5;
	}
	if (len >= DNS_NAME_MAX)
		return false;
	memcpy(addr_r, d, len);
	addr_r[len] = '\0';
	return route_is_ip(addr_r);
}

void route_resolve(const char *domain, uint16_t port, route_done_fn *done, void *ctx)
{
	struct route_job *job = route_job_new(port, done, ctx);
	char literal[DNS_NAME_MAX];
	size_t len;

	if (str_copy(job->domain, domain, sizeof(job->domain)) < 0)
		job->domain[0] = '\0';
	len = strlen(job->domain);
	if (len > 1 && job->domain[len - 1] == '.')
		job->domain[len - 1] = '\0';
	job->via = "MX";
	if (route_domain_literal(job->domain, literal)) {
		job->via = "address literal";
		route_add_host(job, literal, 0);
		route_lookup_hosts(job);
		return;
	}
	if (!route_domain_valid(job->domain)) {
		route_fail(job, ROUTE_PERMFAIL, "route.bad-domain",
			   "'%.200s' is not a valid domain name", domain);
		dns_defer(route_on_deferred, job);
		return;
	}
	dns_lookup_mx(job->domain, route_on_mx, job);
}

void route_resolve_relay(const char *spec, route_done_fn *done, void *ctx)
{
	struct route_job *job = route_job_new(ROUTE_DEFAULT_PORT, done, ctx);
	bool mx_lookup;

	if (route_parse_relay(spec, job->domain, &job->port, &mx_lookup) < 0) {
		if (str_copy(job->domain, spec, sizeof(job->domain)) < 0)
			job->domain[0] = '\0';
		route_fail(job, ROUTE_PERMFAIL, "route.bad-domain",
			   "relay '%.200s' is not [host]:port, host:port or host", spec);
		dns_defer(route_on_deferred, job);
		return;
	}
	if (mx_lookup) {
		job->via = "relay, MX";
		dns_lookup_mx(job->domain, route_on_mx, job);
		return;
	}
	job->via = "relay";
	route_add_host(job, job->domain, 0);
	route_lookup_hosts(job);
}
