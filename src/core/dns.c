/* SPDX-License-Identifier: ISC */
/*
 * dns.c - c-ares driven by the libevent loop.
 *
 * DESIGN
 * c-ares owns the sockets; it tells us which ones to watch through
 * ARES_OPT_SOCK_STATE_CB and we give each an event that calls
 * ares_process_fd(). One timer per channel, armed from ares_timeout()
 * after every step, drives retransmissions and timeouts.
 *
 * A channel is one server configuration. c-ares refuses to change the
 * servers of a channel with queries in flight, so dns_set_servers() makes
 * a new channel for new lookups and retires the old one, which is freed
 * once its last query has answered.
 *
 * c-ares may answer inside ares_query() itself (a bad name, no server).
 * Such answers wait on the ready list and are delivered from an event on
 * the next loop iteration: a caller never sees its callback run before
 * dns_lookup_*() returned.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "core/dns.h"

#include <assert.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <event2/event.h>
#include <netinet/in.h>

/* Per try; c-ares doubles it on each retry round, so with DNS_TRIES a
 * lookup against one server that never answers gives up after 2+4+8 s. */
#define DNS_TIMEOUT_MS 2000
#define DNS_TRIES 3
/* Answers kept per lookup: a hostile zone cannot make us hold more. */
#define DNS_MX_MAX 32
#define DNS_ADDRS_MAX 16   /* per address family */
#define DNS_TXT_MAX 64     /* records (each record's strings are joined) */

struct dns_channel {
	ares_channel ares;
	struct event *timer;
	struct dns_sock *socks;
	unsigned queries;     /* ares queries in flight */
	bool retired;         /* dns_set_servers() replaced it */
	struct dns_channel *next;
};

struct dns_sock {
	ares_socket_t fd;
	struct event *ev;
	struct dns_channel *ch;
	struct dns_sock *next;
};

enum dns_kind { DNS_KIND_MX, DNS_KIND_ADDR, DNS_KIND_TXT, DNS_KIND_DEFER };

/* One ares query of a lookup: MX/TXT have one, AF_UNSPEC two. */
struct dns_part {
	struct dns_query *q;
	struct dns_channel *ch;
	int family;              /* address lookups */
	enum dns_status status;
	struct dns_addr addrs[DNS_ADDRS_MAX];
	size_t count;
};

struct dns_query {
	enum dns_kind kind;
	char name[DNS_NAME_MAX];
	union {
		dns_mx_fn *mx;
		dns_addr_fn *addr;
		dns_txt_fn *txt;
		dns_defer_fn *defer;
	} fn;
	void *ctx;
	struct dns_part parts[2];
	size_t nparts;
	/* parts not answered yet, plus one held by dns_query_start() while
	 * it runs, so an answer given inside ares_query() cannot finish it */
	unsigned pending;
	enum dns_status status;  /* MX and TXT */
	struct dns_mx *mx;
	char **txt;
	size_t count;
	struct dns_query *prev, *next;  /* dns.queries or dns.ready */
};

struct dns_query_list {
	struct dns_query *head, *tail;
};

static struct {
	struct event_base *base;
	struct dns_channel *current;   /* new lookups */
	struct dns_channel *retired;   /* finishing their queries */
	struct event *ready_ev;        /* delivers dns.ready, frees idle retired channels */
	struct dns_query_list queries; /* waiting for c-ares */
	struct dns_query_list ready;   /* answered, waiting for ready_ev */
	bool library;                  /* ares_library_init() done */
} dns;

static const char *const status_names[] = {
	[DNS_OK] = "ok",
	[DNS_NODATA] = "nodata",
	[DNS_NXDOMAIN] = "nxdomain",
	[DNS_TEMPFAIL] = "tempfail",
	[DNS_BADNAME] = "badname",
};

static void dns_channel_arm(struct dns_channel *ch);

/* ---- query lists ---- */

static void list_append(struct dns_query_list *l, struct dns_query *q)
{
	q->next = NULL;
	q->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = q;
	else
		l->head = q;
	l->tail = q;
}

static void list_remove(struct dns_query_list *l, struct dns_query *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		l->head = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	else
		l->tail = q->prev;
	q->prev = q->next = NULL;
}

const char *dns_status_name(enum dns_status status)
{
	return (size_t)status < N_ELEMENTS(status_names) ? status_names[status] : "unknown";
}

/* dns_status_from_ares - the four answers the callers tell apart;
 * everything else (SERVFAIL, REFUSED, timeouts, shutdown) is worth a retry. */
static enum dns_status dns_status_from_ares(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENODATA:
		return DNS_NODATA;
	case ARES_ENOTFOUND:
		return DNS_NXDOMAIN;
	case ARES_EBADNAME:
		return DNS_BADNAME;
	default:
		return DNS_TEMPFAIL;
	}
}

/* ---- delivering answers ---- */

static void dns_query_free(struct dns_query *q)
{
	for (size_t i = 0; q->txt != NULL && i < q->count; i++)
		free(q->txt[i]);
	free(q->txt);
	free(q->mx);
	free(q);
}

/* dns_addr_status - AF_UNSPEC: an answer from either family wins, then a
 * temporary failure of either (the other family may exist), then the
 * most telling permanent answer. */
static enum dns_status dns_addr_status(const struct dns_query *q)
{
	bool any[DNS_BADNAME + 1] = { false };

	for (size_t i = 0; i < q->nparts; i++)
		any[q->parts[i].status] = true;
	if (any[DNS_OK])
		return DNS_OK;
	if (any[DNS_TEMPFAIL])
		return DNS_TEMPFAIL;
	if (any[DNS_BADNAME])
		return DNS_BADNAME;
	if (any[DNS_NODATA])
		return DNS_NODATA;
	return DNS_NXDOMAIN;
}

static void dns_deliver_addr(struct dns_query *q)
{
	struct dns_addr addrs[2 * DNS_ADDRS_MAX];
	enum dns_status status = dns_addr_status(q);
	size_t n = 0;

	/* parts are in order: IPv6 first (dns_lookup_addr) */
	for (size_t i = 0; i < q->nparts; i++) {
		for (size_t j = 0; j < q->parts[i].count; j++)
			addrs[n++] = q->parts[i].addrs[j];
	}
	log_debug("dns lookup name=%s type=addr status=%s count=%zu", q->name,
		  dns_status_name(status), n);
	q->fn.addr(q->ctx, status, status == DNS_OK ? addrs : NULL, status == DNS_OK ? n : 0);
}

/* dns_deliver - run the caller's callback once, then forget the query. */
static void dns_deliver(struct dns_query *q)
{
	switch (q->kind) {
	case DNS_KIND_MX:
		log_debug("dns lookup name=%s type=mx status=%s count=%zu", q->name,
			  dns_status_name(q->status), q->count);
		q->fn.mx(q->ctx, q->status, q->mx, q->count);
		break;
	case DNS_KIND_TXT:
		log_debug("dns lookup name=%s type=txt status=%s count=%zu", q->name,
			  dns_status_name(q->status), q->count);
		q->fn.txt(q->ctx, q->status, (const char *const *)q->txt, q->count);
		break;
	case DNS_KIND_ADDR:
		dns_deliver_addr(q);
		break;
	case DNS_KIND_DEFER:
		q->fn.defer(q->ctx);
		break;
	}
	dns_query_free(q);
}

/* dns_query_ready - answered inside the dns_lookup_*() call: the
 * callback runs from the loop. */
static void dns_query_ready(struct dns_query *q)
{
	list_remove(&dns.queries, q);
	list_append(&dns.ready, q);
	event_active(dns.ready_ev, EV_TIMEOUT, 0);
}

static void dns_channel_free(struct dns_channel **_ch)
{
	struct dns_channel *ch = *_ch;

	if (ch == NULL)
		return;
	*_ch = NULL;
	/* in-flight queries get ARES_EDESTRUCTION; sockets are reported closed */
	ares_destroy(ch->ares);
	while (ch->socks != NULL) {
		struct dns_sock *s = ch->socks;
		ch->socks = s->next;
		event_free(s->ev);
		free(s);
	}
	event_free(ch->timer);
	free(ch);
}

/* dns_on_ready - answers that arrived inside dns_lookup_*(), and retired
 * channels that have nothing left to do (freed here, never from inside
 * one of their own callbacks). */
static void dns_on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q;

	for (struct dns_channel **chp = &dns.retired; *chp != NULL;) {
		struct dns_channel *ch = *chp;
		if (ch->queries > 0) {
			chp = &ch->next;
			continue;
		}
		*chp = ch->next;
		dns_channel_free(&ch);
	}
	while ((q = dns.ready.head) != NULL) {
		list_remove(&dns.ready, q);
		dns_deliver(q);
	}
}

/* ---- parsing answers ---- */

/* copy_name - a host name without its trailing dot; -1 when it does not
 * fit (c-ares escapes odd bytes, so a legal name can still grow). */
static int copy_name(char dst[DNS_NAME_MAX], const char *src)
{
	size_t len = strlen(src);

	if (len > 0 && src[len - 1] == '.')
		len--;
	if (len >= DNS_NAME_MAX)
		return -1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

static enum dns_status parse_mx(struct dns_query *q, const unsigned char *abuf, int alen)
{
	struct ares_mx_reply *reply = NULL;
	size_t n = 0, skipped = 0;
	int ret = ares_parse_mx_reply(abuf, alen, &reply);

	if (ret != ARES_SUCCESS)
		return ret == ARES_ENODATA ? DNS_NODATA : DNS_TEMPFAIL;
	q->mx = xcalloc(DNS_MX_MAX, sizeof(*q->mx));
	for (struct ares_mx_reply *r = reply; r != NULL && n < DNS_MX_MAX; r = r->next) {
		/* the root name "." (null MX, RFC 7505) comes out as "" */
		if (copy_name(q->mx[n].host, r->host) < 0) {
			skipped++;
			continue;
		}
		q->mx[n++].pref = r->priority;
	}
	ares_free_data(reply);
	q->count = n;
	if (skipped > 0)
		log_warn("dns: %s: %zu MX host names too long, ignored", q->name, skipped);
	/* records there, none usable: not "no MX" (that would mean the
	 * implicit MX), so let the caller try again later */
	return n > 0 ? DNS_OK : DNS_TEMPFAIL;
}

static enum dns_status parse_txt(struct dns_query *q, const unsigned char *abuf, int alen)
{
	struct ares_txt_ext *reply = NULL;
	struct ares_txt_ext *r;
	size_t n = 0;
	int ret = ares_parse_txt_reply_ext(abuf, alen, &reply);

	if (ret != ARES_SUCCESS)
		return ret == ARES_ENODATA ? DNS_NODATA : DNS_TEMPFAIL;
	q->txt = xcalloc(DNS_TXT_MAX, sizeof(*q->txt));
	r = reply;
	/* RFC 7208 3.3: the strings of one record are concatenated without
	 * separator; their total is bounded by the DNS message (64 KiB). */
	while (r != NULL && n < DNS_TXT_MAX) {
		size_t len = 0;
		struct ares_txt_ext *end = r;
		do {
			len += end->length;
			end = end->next;
		} while (end != NULL && !end->record_start);
		char *text = xmalloc(len + 1);
		len = 0;
		for (; r != end; r = r->next) {
			memcpy(text + len, r->txt, r->length);
			len += r->length;
		}
		text[len] = '\0';
		q->txt[n++] = text;
	}
	ares_free_data(reply);
	q->count = n;
	return n > 0 ? DNS_OK : DNS_NODATA;
}

static enum dns_status parse_addr(struct dns_part *p, const unsigned char *abuf, int alen)
{
	int n = DNS_ADDRS_MAX, ret;

	if (p->family == AF_INET) {
		struct ares_addrttl ttls[DNS_ADDRS_MAX];
		ret = ares_parse_a_reply(abuf, alen, NULL, ttls, &n);
		for (int i = 0; ret == ARES_SUCCESS && i < n; i++) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&p->addrs[p->count].ss;
			sin->sin_family = AF_INET;
			sin->sin_addr = ttls[i].ipaddr;
			p->addrs[p->count++].len = sizeof(*sin);
		}
	} else {
		struct ares_addr6ttl ttls[DNS_ADDRS_MAX];
		ret = ares_parse_aaaa_reply(abuf, alen, NULL, ttls, &n);
		for (int i = 0; ret == ARES_SUCCESS && i < n; i++) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->addrs[p->count].ss;
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, &ttls[i].ip6addr, sizeof(sin6->sin6_addr));
			p->addrs[p->count++].len = sizeof(*sin6);
		}
	}
	if (ret != ARES_SUCCESS)
		return ret == ARES_ENODATA ? DNS_NODATA : DNS_TEMPFAIL;
	/* an answer holding only a CNAME without its target's records */
	return p->count > 0 ? DNS_OK : DNS_NODATA;
}

/* dns_on_answer - c-ares' callback for one part. */
static void dns_on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_part *p = arg;
	struct dns_query *q = p->q;
	enum dns_status st = dns_status_from_ares(status);

	p->ch->queries--;
	if (p->ch->retired && p->ch->queries == 0)
		event_active(dns.ready_ev, EV_TIMEOUT, 0);
	if (st == DNS_OK) {
		switch (q->kind) {
		case DNS_KIND_MX:
			st = parse_mx(q, abuf, alen);
			break;
		case DNS_KIND_TXT:
			st = parse_txt(q, abuf, alen);
			break;
		case DNS_KIND_ADDR:
			st = parse_addr(p, abuf, alen);
			break;
		case DNS_KIND_DEFER:
			panic("dns: answer for a deferred call");
		}
	} else if (st == DNS_TEMPFAIL) {
		log_debug("dns: %s: %s (timeouts=%d)", q->name, ares_strerror(status), timeouts);
	}
	p->status = q->status = st;
	if (--q->pending == 0) {
		list_remove(&dns.queries, q);
		dns_deliver(q);
	}
}

/* ---- starting lookups ---- */

/* dns_name_valid - what a query can carry (RFC 1035 2.3.4): labels of 1
 * to 63 octets, 253 in all without the root's dot. Characters are not
 * checked: TXT names built by SPF macros may hold anything but a dot. */
static bool dns_name_valid(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (name[i] != '.') {
			if (++label > 63)
				return false;
		} else if (label == 0) {
			return false;
		} else {
			label = 0;
		}
	}
	return true;
}

static struct dns_query *dns_query_new(enum dns_kind kind, const char *name, void *ctx)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));

	q->kind = kind;
	q->ctx = ctx;
	q->status = DNS_TEMPFAIL;
	/* too long for a domain name: BADNAME without asking anyone */
	if (str_copy(q->name, name, sizeof(q->name)) < 0)
		q->name[0] = '\0';
	list_append(&dns.queries, q);
	return q;
}

/* dns_query_start - send each part; answers given synchronously by
 * c-ares wait for the loop. */
static void dns_query_start(struct dns_query *q, int type, const char *name)
{
	assert(dns.base != NULL);
	q->pending = (unsigned)q->nparts + 1;
	for (size_t i = 0; i < q->nparts; i++) {
		struct dns_part *p = &q->parts[i];
		p->q = q;
		p->status = DNS_TEMPFAIL;
		if (!dns_name_valid(name)) {
			p->status = q->status = DNS_BADNAME;
			q->pending--;
			continue;
		}
		if (dns.current == NULL) {
			/* dns_deinit() is running: answer "try later" */
			q->pending--;
			continue;
		}
		p->ch = dns.current;
		p->ch->queries++;
		ares_query(p->ch->ares, name, ns_c_in,
			   q->kind == DNS_KIND_ADDR ? (p->family == AF_INET6 ? ns_t_aaaa : ns_t_a)
						    : type,
			   dns_on_answer, p);
	}
	if (--q->pending == 0)
		dns_query_ready(q);
	if (dns.current != NULL)
		dns_channel_arm(dns.current);
}

void dns_lookup_mx(const char *domain, dns_mx_fn *fn, void *ctx)
{
	struct dns_query *q = dns_query_new(DNS_KIND_MX, domain, ctx);

	q->fn.mx = fn;
	q->nparts = 1;
	dns_query_start(q, ns_t_mx, q->name);
}

void dns_lookup_txt(const char *name, dns_txt_fn *fn, void *ctx)
{
	struct dns_query *q = dns_query_new(DNS_KIND_TXT, name, ctx);

	q->fn.txt = fn;
	q->nparts = 1;
	dns_query_start(q, ns_t_txt, q->name);
}

void dns_defer(dns_defer_fn *fn, void *ctx)
{
	struct dns_query *q = dns_query_new(DNS_KIND_DEFER, "", ctx);

	assert(dns.base != NULL);
	q->fn.defer = fn;
	dns_query_ready(q);
}

/* numeric_addr - host is already an address: the one answer, no query. */
static bool numeric_addr(struct dns_query *q, const char *host, int family)
{
	struct dns_part *p = &q->parts[0];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		if (family != AF_INET6) {
			memcpy(&p->addrs[0].ss, &sin, sizeof(sin));
			p->addrs[0].len = sizeof(sin);
			p->count = 1;
		}
	} else if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
		if (family != AF_INET) {
			memcpy(&p->addrs[0].ss, &sin6, sizeof(sin6));
			p->addrs[0].len = sizeof(sin6);
			p->count = 1;
		}
	} else {
		return false;
	}
	q->nparts = 1;
	p->status = p->count > 0 ? DNS_OK : DNS_NODATA;
	dns_query_ready(q);
	return true;
}

void dns_lookup_addr(const char *host, int family, dns_addr_fn *fn, void *ctx)
{
	struct dns_query *q = dns_query_new(DNS_KIND_ADDR, host, ctx);

	assert(family == AF_INET || family == AF_INET6 || family == AF_UNSPEC);
	q->fn.addr = fn;
	if (numeric_addr(q, q->name, family))
		return;
	if (family == AF_UNSPEC) {
		q->parts[0].family = AF_INET6;
		q->parts[1].family = AF_INET;
		q->nparts = 2;
	} else {
		q->parts[0].family = family;
		q->nparts = 1;
	}
	dns_query_start(q, ns_t_a, q->name);
}

/* ---- c-ares on the loop ---- */

static struct dns_sock **dns_sock_find(struct dns_channel *ch, ares_socket_t fd)
{
	struct dns_sock **sp;

	for (sp = &ch->socks; *sp != NULL; sp = &(*sp)->next) {
		if ((*sp)->fd == fd)
			break;
	}
	return sp;
}

/* dns_channel_arm - the next retransmission or timeout, if any query is
 * still waiting. */
static void dns_channel_arm(struct dns_channel *ch)
{
	struct timeval tv;

	if (ares_timeout(ch->ares, NULL, &tv) == NULL)
		evtimer_del(ch->timer);
	else
		evtimer_add(ch->timer, &tv);
}

static void dns_on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct dns_channel *ch = arg;

	/* may free this socket's event (c-ares closes idle sockets) */
	ares_process_fd(ch->ares, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_channel_arm(ch);
}

static void dns_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_channel *ch = arg;

	ares_process_fd(ch->ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_channel_arm(ch);
}

/* dns_on_sock_state - ARES_OPT_SOCK_STATE_CB: watch fd as c-ares asks. */
static void dns_on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_channel *ch = data;
	struct dns_sock **sp = dns_sock_find(ch, fd), *s = *sp;
	short what = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);

	if (s != NULL) {
		*sp = s->next;
		event_free(s->ev);
		free(s);
	}
	if (what == 0)
		return;
	s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->ch = ch;
	s->ev = event_new(dns.base, fd, what | EV_PERSIST, dns_on_socket, ch);
	if (s->ev == NULL)
		panic("dns: event_new failed for fd %d", (int)fd);
	event_add(s->ev, NULL);
	s->next = ch->socks;
	ch->socks = s;
}

/* dns_server_valid - one item of dns.servers: ADDR, ADDR:PORT, [V6] or
 * [V6]:PORT with a numeric address (c-ares alone lets some typos by). */
static bool dns_server_valid(const char *item, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr a;
	const char *end = item + len, *port = NULL, *close;
	size_t alen;
	uint64_t p;

	if (len > 0 && item[0] == '[') {
		if ((close = memchr(item, ']', len)) == NULL)
			return false;
		alen = (size_t)(close - item - 1);
		item++;
		if (close + 1 < end) {
			if (close[1] != ':')
				return false;
			port = close + 2;
		}
	} else {
		const char *colon = memchr(item, ':', len);
		/* a bare IPv6 address has several colons and no port */
		if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL)
			port = colon + 1;
		alen = port != NULL ? (size_t)(colon - item) : len;
	}
	if (alen == 0 || alen >= sizeof(addr))
		return false;
	memcpy(addr, item, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, &a) != 1 && inet_pton(AF_INET6, addr, &a) != 1)
		return false;
	if (port != NULL) {
		char text[8];
		size_t plen = (size_t)(end - port);
		if (plen == 0 || plen >= sizeof(text))
			return false;
		memcpy(text, port, plen);
		text[plen] = '\0';
		if (str_to_uint64(text, 1, UINT16_MAX, &p) < 0)
			return false;
	}
	return true;
}

static bool dns_servers_valid(const char *servers)
{
	for (const char *p = servers;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (!dns_server_valid(p, len))
			return false;
		if (comma == NULL)
			return true;
		p = comma + 1;
	}
}

/* dns_channel_new - a channel on servers ("" = /etc/resolv.conf). */
static struct dns_channel *dns_channel_new(const char *servers, char **error_r)
{
	struct dns_channel *ch = xcalloc(1, sizeof(*ch));
	struct ares_options opts = {
		.timeout = DNS_TIMEOUT_MS,
		.tries = DNS_TRIES,
		.sock_state_cb = dns_on_sock_state,
		.sock_state_cb_data = ch,
	};
	int ret;

	ret = ares_init_options(&ch->ares, &opts,
				ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB);
	if (ret != ARES_SUCCESS) {
		*error_r = xasprintf("dns: cannot set up the resolver: %s", ares_strerror(ret));
		free(ch);
		return NULL;
	}
	ch->timer = evtimer_new(dns.base, dns_on_timer, ch);
	if (servers[0] != '\0' &&
	    (!dns_servers_valid(servers) ||
	     (ret = ares_set_servers_ports_csv(ch->ares, servers)) != ARES_SUCCESS)) {
		*error_r = xasprintf("dns.servers '%s': not a list of resolver addresses (ADDR, "
				     "ADDR:PORT or [IPV6]:PORT, comma-separated)", servers);
		dns_channel_free(&ch);
		return NULL;
	}
	return ch;
}

int dns_init(struct event_base *base, const char *servers, char **error_r)
{
	int ret;

	assert(dns.base == NULL);
	if ((ret = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		*error_r = xasprintf("dns: c-ares: %s", ares_strerror(ret));
		return -1;
	}
	dns.library = true;
	dns.base = base;
	dns.ready_ev = event_new(base, -1, 0, dns_on_ready, NULL);
	if ((dns.current = dns_channel_new(servers, error_r)) == NULL) {
		dns_deinit();
		return -1;
	}
	log_debug("dns resolver servers=%s", servers[0] != '\0' ? servers : "(resolv.conf)");
	return 0;
}

int dns_set_servers(const char *servers, char **error_r)
{
	struct dns_channel *ch;

	assert(dns.base != NULL);
	if ((ch = dns_channel_new(servers, error_r)) == NULL)
		return -1;
	/* the old channel finishes what it has (freed by dns_on_ready) */
	dns.current->retired = true;
	dns.current->next = dns.retired;
	dns.retired = dns.current;
	if (dns.retired->queries == 0)
		event_active(dns.ready_ev, EV_TIMEOUT, 0);
	dns.current = ch;
	log_info("dns resolver servers=%s", servers[0] != '\0' ? servers : "(resolv.conf)");
	return 0;
}

void dns_deinit(void)
{
	struct dns_channel *ch = dns.current;
	struct dns_query *q;

	if (dns.base == NULL) {
		if (dns.library)
			ares_library_cleanup();
		dns.library = false;
		return;
	}
	/* lookups started by the callbacks below fail at once (current NULL) */
	dns.current = NULL;
	dns_channel_free(&ch);
	while ((ch = dns.retired) != NULL) {
		dns.retired = ch->next;
		dns_channel_free(&ch);
	}
	/* answered but not yet delivered, and lookups made meanwhile */
	while ((q = dns.ready.head) != NULL) {
		list_remove(&dns.ready, q);
		dns_deliver(q);
	}
	assert(dns.queries.head == NULL);
	event_free(dns.ready_ev);
	ares_library_cleanup();
	memset(&dns, 0, sizeof(dns));
}
