/* SPDX-License-Identifier: ISC */
/*
 * config.c - postino.conf parsing, validation and writing.
 *
 * One table describes every key: its type, default, bounds and where it
 * lives in struct config. Parsing, `init --set`, reload and writing all go
 * through the same table, so a key cannot be valid in one path and
 * rejected in another.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/buf.h"
#include "lib/fs.h"
#include "lib/time.h"
#include "core/config.h"

#include <arpa/inet.h>

#define CONFIG_LINE_MAX 4096
#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_WORKERS_MAX 64
/* smtp.max-message-size ceiling: a spool file, not memory, holds it */
#define CONFIG_SMTP_MESSAGE_MAX (2ULL * 1024 * 1024 * 1024)
/* Screening windows and blocks: a second at least, a month at most (a
 * longer block is a firewall rule, not screening). */
#define CONFIG_SCREEN_DURATION_MAX (30 * 86400)
/* Failures per window: above this the counter protects nothing. */
#define CONFIG_SCREEN_FAILURES_MAX 100000
/* A refused login waits at most this long: longer only holds sockets. */
#define CONFIG_SCREEN_DELAY_MAX_MS 10000
/* Hijack detection's window: a minute to a week (send_log keeps a week). */
#define CONFIG_SEND_WINDOW_MAX (7 * 86400)

enum config_type {
	CONFIG_TYPE_STRING,
	CONFIG_TYPE_HOSTNAME,
	CONFIG_TYPE_LISTEN,
	CONFIG_TYPE_UINT,
	CONFIG_TYPE_LOG_LEVEL,
	CONFIG_TYPE_SIZE,    /* uint64_t bytes, written "50M" (lib/time.h size_parse) */
	CONFIG_TYPE_BOOL,    /* bool, written yes/no */
	CONFIG_TYPE_DURATION, /* uint64_t seconds, written "10m" (lib/time.h time_parse_duration) */
	CONFIG_TYPE_CIDRS,   /* string: comma-separated networks (config_cidr_list_parse) */
	CONFIG_TYPE_CHOICE,  /* string: one of .choices ("a|b") */
};

struct config_key {
	const char *key;
	enum config_type type;
	const char *def;
	size_t offset;
	uint64_t min, max;   /* CONFIG_TYPE_UINT */
	bool reloadable;     /* takes effect on SIGHUP without restart */
	const char *comment; /* written above the key by config_write */
	const char *choices; /* CONFIG_TYPE_CHOICE: "suspend|disable" */
};

#define OFF(field) offsetof(struct config, field)
#define LISTEN(kind, name, port, what)                                                  \
	{ .key = "listen." name, .type = CONFIG_TYPE_LISTEN, .def = "0.0.0.0:" port,     \
	  .offset = OFF(listen[kind]), .comment = what }

static const struct config_key keys[] = {
	{ .key = "hostname", .type = CONFIG_TYPE_HOSTNAME, .def = "localhost",
	  .offset = OFF(hostname), .reloadable = true,
	  .comment = "the server's name: greeting banners, Received headers, certificate" },
	{ .key = "user", .type = CONFIG_TYPE_STRING, .def = "", .offset = OFF(user),
	  .comment = "account to run as after binding ports when started as root" },
	{ .key = "tls.cert", .type = CONFIG_TYPE_STRING, .def = "tls/cert.pem",
	  .offset = OFF(tls_cert), .reloadable = true,
	  .comment = "PEM certificate chain (relative to the data directory); reloaded on SIGHUP" },
	{ .key = "tls.key", .type = CONFIG_TYPE_STRING, .def = "tls/key.pem",
	  .offset = OFF(tls_key), .reloadable = true, .comment = "PEM private key" },
	{ .key = "dns.servers", .type = CONFIG_TYPE_STRING, .def = "", .offset = OFF(dns_servers),
	  .reloadable = true, .comment = "comma-separated resolvers; empty = /etc/resolv.conf" },
	{ .key = "log.level", .type = CONFIG_TYPE_LOG_LEVEL, .def = "info",
	  .offset = OFF(log_level), .reloadable = true, .comment = "debug, info, warn or error" },
	{ .key = "workers", .type = CONFIG_TYPE_UINT, .def = "4", .offset = OFF(workers),
	  .min = 1, .max = CONFIG_WORKERS_MAX,
	  .comment = "threads for blocking work (fsync, password hashing)" },
	LISTEN(LISTENER_SMTP, "smtp", "25", "listeners: ADDR:PORT, [IPV6]:PORT or off"),
	LISTEN(LISTENER_SUBMISSION, "submission", "587", NULL),
	LISTEN(LISTENER_SUBMISSIONS, "submissions", "465", NULL),
	LISTEN(LISTENER_IMAP, "imap", "143", NULL),
	LISTEN(LISTENER_IMAPS, "imaps", "993", NULL),
	LISTEN(LISTENER_POP3, "pop3", "110", NULL),
	LISTEN(LISTENER_POP3S, "pop3s", "995", NULL),
	{ .key = "listen.http", .type = CONFIG_TYPE_LISTEN, .def = "127.0.0.1:8080",
	  .offset = OFF(listen[LISTENER_HTTP]),
	  .comment = "admin console and API: keep it on loopback unless behind a proxy" },
	/* ---- connection limits (src/core/listen.c) ---- */
	{ .key = "limits.connections", .type = CONFIG_TYPE_UINT, .def = "1024",
	  .offset = OFF(conn_max), .min = 1, .max = 1000000, .reloadable = true,
	  .comment = "connections in all; past it clients get 'try again later' "
		     "(raise the open-files limit with it)" },
	{ .key = "limits.connections-per-listener", .type = CONFIG_TYPE_UINT, .def = "512",
	  .offset = OFF(conn_max_per_listener), .min = 1, .max = 1000000, .reloadable = true,
	  .comment = "connections per listener, so one protocol cannot starve the others" },
	{ .key = "limits.connections-per-ip", .type = CONFIG_TYPE_UINT, .def = "64",
	  .offset = OFF(conn_max_per_ip), .min = 1, .max = 1000000, .reloadable = true,
	  .comment = "connections from one address: an office behind NAT shares one" },
	/* ---- hijack detection (directory/sendlimit.c, F21) ---- */
	{ .key = "limits.send-messages", .type = CONFIG_TYPE_UINT, .def = "200",
	  .offset = OFF(send_messages), .min = 0, .max = 1000000, .reloadable = true,
	  .comment = "messages one account may submit within limits.send-window before its "
		     "sending is stopped as a likely hijack (0 = no limit; per domain: postino "
		     "domain set DOMAIN send-messages=N)" },
	{ .key = "limits.send-recipients", .type = CONFIG_TYPE_UINT, .def = "1000",
	  .offset = OFF(send_recipients), .min = 0, .max = 10000000, .reloadable = true,
	  .comment = "recipients (all its messages together) one account may address within "
		     "limits.send-window (0 = no limit; per domain: send-recipients=N)" },
	{ .key = "limits.send-window", .type = CONFIG_TYPE_DURATION, .def = "1h",
	  .offset = OFF(send_window), .min = 60, .max = CONFIG_SEND_WINDOW_MAX, .reloadable = true,
	  .comment = "the sliding window both send limits count over" },
	{ .key = "limits.send-action", .type = CONFIG_TYPE_CHOICE, .def = "suspend",
	  .choices = "suspend|disable", .offset = OFF(send_action), .reloadable = true,
	  .comment = "over a send limit: suspend (can-send=no, it can still read mail) or "
		     "disable the account; the postmaster is told either way" },
	{ .key = "postmaster", .type = CONFIG_TYPE_STRING, .def = "", .offset = OFF(postmaster),
	  .reloadable = true,
	  .comment = "where notices for the administrator go when postmaster@DOMAIN is not a "
		     "mailbox or alias here (empty = postmaster@HOSTNAME)" },
	/* ---- smtp (src/smtp/) ---- */
	{ .key = "smtp.max-message-size", .type = CONFIG_TYPE_SIZE, .def = "50M",
	  .offset = OFF(smtp_max_message_size), .min = 1024, .max = CONFIG_SMTP_MESSAGE_MAX,
	  .reloadable = true,
	  .comment = "largest message accepted (SIZE, RFC 1870), counted as received" },
	{ .key = "smtp.max-recipients", .type = CONFIG_TYPE_UINT, .def = "100",
	  .offset = OFF(smtp_max_recipients), .min = 100, .max = 10000, .reloadable = true,
	  .comment = "recipients per message; RFC 5321 4.5.3.1.8 requires at least 100" },
	{ .key = "smtp.quota-temporary", .type = CONFIG_TYPE_BOOL, .def = "yes",
	  .offset = OFF(smtp_quota_temporary), .reloadable = true,
	  .comment = "over-quota recipients: yes = 452 4.2.2 (sender retries), no = 552 5.2.2" },
	{ .key = "smtp.protocol-log", .type = CONFIG_TYPE_BOOL, .def = "no",
	  .offset = OFF(smtp_protocol_log), .reloadable = true,
	  .comment = "log every SMTP command and reply (AUTH data masked)" },
	{ .key = "smtp.timeout", .type = CONFIG_TYPE_UINT, .def = "300",
	  .offset = OFF(smtp_timeout), .min = 1, .max = 3600, .reloadable = true,
	  .comment = "seconds to wait for a command or data; RFC 5321 4.5.3.2.7 says 300" },
	{ .key = "smtp.greeting-delay-ms", .type = CONFIG_TYPE_UINT, .def = "1000",
	  .offset = OFF(smtp_greeting_delay_ms), .min = 0, .max = 30000, .reloadable = true,
	  .comment = "port 25 waits this long before its greeting; clients that talk first are refused" },
	/* ---- pop3 (src/pop3/) ---- */
	{ .key = "pop3.timeout", .type = CONFIG_TYPE_DURATION, .def = "10m",
	  .offset = OFF(pop3_timeout), .min = 1, .max = 86400, .reloadable = true,
	  .comment = "autologout after this long without a command; RFC 1939 3 asks for at "
		     "least 10 minutes" },
	{ .key = "pop3.protocol-log", .type = CONFIG_TYPE_BOOL, .def = "no",
	  .offset = OFF(pop3_protocol_log), .reloadable = true,
	  .comment = "log every POP3 command and reply line (PASS and AUTH data masked)" },
	/* ---- screening (directory/screen.c, F20) ---- */
	{ .key = "screen.ip-failures", .type = CONFIG_TYPE_UINT, .def = "10",
	  .offset = OFF(screen_ip_failures), .min = 0, .max = CONFIG_SCREEN_FAILURES_MAX,
	  .reloadable = true,
	  .comment = "failed logins from one address within screen.ip-window that block it "
		     "(0 = never block); catches password spraying over many accounts" },
	{ .key = "screen.ip-window", .type = CONFIG_TYPE_DURATION, .def = "10m",
	  .offset = OFF(screen_ip_window), .min = 1, .max = CONFIG_SCREEN_DURATION_MAX,
	  .reloadable = true },
	{ .key = "screen.ip-block", .type = CONFIG_TYPE_DURATION, .def = "30m",
	  .offset = OFF(screen_ip_block), .min = 1, .max = CONFIG_SCREEN_DURATION_MAX,
	  .reloadable = true,
	  .comment = "how long a blocked address is refused at connect (postino screen unblock IP)" },
	{ .key = "screen.account-failures", .type = CONFIG_TYPE_UINT, .def = "5",
	  .offset = OFF(screen_account_failures), .min = 0, .max = CONFIG_SCREEN_FAILURES_MAX,
	  .reloadable = true,
	  .comment = "failed logins to one account within screen.account-window that lock it "
		     "(0 = never lock)" },
	{ .key = "screen.account-window", .type = CONFIG_TYPE_DURATION, .def = "15m",
	  .offset = OFF(screen_account_window), .min = 1, .max = CONFIG_SCREEN_DURATION_MAX,
	  .reloadable = true },
	{ .key = "screen.account-lock", .type = CONFIG_TYPE_DURATION, .def = "15m",
	  .offset = OFF(screen_account_lock), .min = 1, .max = CONFIG_SCREEN_DURATION_MAX,
	  .reloadable = true,
	  .comment = "how long a locked account refuses even its right password "
		     "(postino screen unblock ADDR)" },
	{ .key = "screen.failure-delay-ms", .type = CONFIG_TYPE_UINT, .def = "1000",
	  .offset = OFF(screen_failure_delay_ms), .min = 0, .max = CONFIG_SCREEN_DELAY_MAX_MS,
	  .reloadable = true,
	  .comment = "a refused login is answered after this pause (slows guessing; 0 = at once)" },
	{ .key = "screen.trusted", .type = CONFIG_TYPE_CIDRS, .def = "",
	  .offset = OFF(screen_trusted), .reloadable = true,
	  .comment = "networks never blocked or locked out, e.g. 192.168.1.0/24,::1 (empty = none; "
		     "loopback is not trusted by default: a webmail or proxy on this host should be "
		     "listed here)" },
	/* ---- password expiry warnings (queue/expiry-warn.c, F16) ---- */
	{ .key = "password.warn-days", .type = CONFIG_TYPE_UINT, .def = "7",
	  .offset = OFF(password_warn_days), .min = 0, .max = 365, .reloadable = true,
	  .comment = "mail a user this many days before the password expires (password-max-age "
		     "of the mailbox or its domain); 0 = never" },
	{ .key = "password.warn-interval", .type = CONFIG_TYPE_DURATION, .def = "1d",
	  .offset = OFF(password_warn_interval), .min = 1, .max = 7 * 86400, .reloadable = true,
	  .comment = "how often the server looks for passwords to warn about (first look a minute "
		     "after start); tests shorten it" },
	/* ---- imap (src/imap/) ---- */
	{ .key = "imap.protocol-log", .type = CONFIG_TYPE_BOOL, .def = "no",
	  .offset = OFF(imap_protocol_log), .reloadable = true,
	  .comment = "log every IMAP command and response line (passwords masked, message data "
		     "not logged)" },
	{ .key = "imap.login-timeout", .type = CONFIG_TYPE_UINT, .def = "60",
	  .offset = OFF(imap_login_timeout), .min = 5, .max = 3600, .reloadable = true,
	  .comment = "seconds a client may stay connected without logging in" },
	{ .key = "imap.idle-timeout", .type = CONFIG_TYPE_UINT, .def = "1800",
	  .offset = OFF(imap_idle_timeout), .min = 10, .max = 86400, .reloadable = true,
	  .comment = "seconds of silence (IDLE included) before a logged-in client is logged out; "
		     "RFC 9051 5.4 asks for at least 1800" },
	{ .key = "imap.max-connections-per-user", .type = CONFIG_TYPE_UINT, .def = "20",
	  .offset = OFF(imap_max_connections_per_user), .min = 1, .max = 10000, .reloadable = true,
	  .comment = "IMAP sessions one account may have open at once (phones, laptops, "
		     "webmail)" },
	{ .key = "imap.search-time-limit", .type = CONFIG_TYPE_UINT, .def = "15000",
	  .offset = OFF(imap_search_time_limit), .min = 1, .max = 600000, .reloadable = true,
	  .comment = "milliseconds a full-text SEARCH may run before it is stopped with NO [LIMIT] "
		     "(a worker is not held by one pathological term)" },
	/* ---- outbound queue (src/queue/qmgr*.c, issue 5) ---- */
	{ .key = "queue.retry-schedule", .type = CONFIG_TYPE_STRING, .def = "5m,10m,20m,40m,1h,2h,4h",
	  .offset = OFF(queue_retry_schedule), .reloadable = true,
	  .comment = "waits between attempts after a temporary failure; the last one repeats" },
	{ .key = "queue.max-lifetime", .type = CONFIG_TYPE_DURATION, .def = "5d",
	  .offset = OFF(queue_max_lifetime), .min = 1, .max = 30 * 86400, .reloadable = true,
	  .comment = "a message still undelivered this long after arrival is bounced" },
	{ .key = "queue.delay-warning", .type = CONFIG_TYPE_DURATION, .def = "4h",
	  .offset = OFF(queue_delay_warning), .min = 0, .max = 30 * 86400, .reloadable = true,
	  .comment = "tell the sender once when a message waits this long (0 = never)" },
	{ .key = "queue.concurrency", .type = CONFIG_TYPE_UINT, .def = "20",
	  .offset = OFF(queue_concurrency), .min = 1, .max = 1000, .reloadable = true,
	  .comment = "outbound SMTP connections in all" },
	{ .key = "queue.destination-concurrency", .type = CONFIG_TYPE_UINT, .def = "5",
	  .offset = OFF(queue_destination_concurrency), .min = 1, .max = 100, .reloadable = true,
	  .comment = "outbound SMTP connections to one destination (domain or relay)" },
	{ .key = "outbound.port", .type = CONFIG_TYPE_UINT, .def = "25",
	  .offset = OFF(outbound_port), .min = 1, .max = 65535, .reloadable = true,
	  .comment = "port of the MX hosts we deliver to (25; tests and benchmarks change it)" },
	{ .key = "outbound.tls", .type = CONFIG_TYPE_BOOL, .def = "yes",
	  .offset = OFF(outbound_tls), .reloadable = true,
	  .comment = "use STARTTLS with MX hosts that offer it (opportunistic, RFC 3207)" },
	{ .key = "outbound.ipv6", .type = CONFIG_TYPE_BOOL, .def = "yes",
	  .offset = OFF(outbound_ipv6), .reloadable = true,
	  .comment = "deliver to MX hosts over IPv6 too (AAAA records, tried before IPv4); "
		     "no = IPv4 only, for hosts without IPv6 connectivity" },
	{ .key = "relay.host", .type = CONFIG_TYPE_STRING, .def = "", .offset = OFF(relay_host),
	  .reloadable = true,
	  .comment = "smarthost for all remote mail: [host]:port (no MX lookup) or host:port; "
		     "empty = deliver directly to each domain's MX" },
	{ .key = "relay.domains", .type = CONFIG_TYPE_STRING, .def = "", .offset = OFF(relay_domains),
	  .reloadable = true,
	  .comment = "per-domain smarthosts: domain=[host]:port,domain2=host (these win over "
		     "relay.host; domain=direct bypasses relay.host)" },
	{ .key = "relay.tls", .type = CONFIG_TYPE_STRING, .def = "required", .offset = OFF(relay_tls),
	  .reloadable = true,
	  .comment = "required (STARTTLS must work), opportunistic, implicit (port 465) or none" },
	{ .key = "relay.user", .type = CONFIG_TYPE_STRING, .def = "", .offset = OFF(relay_user),
	  .reloadable = true, .comment = "AUTH login at the smarthost (empty = no AUTH)" },
	{ .key = "relay.password", .type = CONFIG_TYPE_STRING, .def = "",
	  .offset = OFF(relay_password), .reloadable = true,
	  .comment = "AUTH password at the smarthost (keep postino.conf mode 0640 or stricter)" },
};

static const bool implicit_tls[LISTENER_COUNT] = {
	[LISTENER_SUBMISSIONS] = true,
	[LISTENER_IMAPS] = true,
	[LISTENER_POP3S] = true,
};

const char *config_listener_key(enum listener_kind kind)
{
	for (size_t i = 0; i < N_ELEMENTS(keys); i++) {
		if (keys[i].type == CONFIG_TYPE_LISTEN && keys[i].offset == OFF(listen[kind]))
			return keys[i].key;
	}
	panic("config: no key for listener %d", kind);
}

bool config_listener_implicit_tls(enum listener_kind kind)
{
	return implicit_tls[kind];
}

static const struct config_key *key_lookup(const char *key)
{
	for (size_t i = 0; i < N_ELEMENTS(keys); i++) {
		if (strcmp(keys[i].key, key) == 0)
			return &keys[i];
	}
	return NULL;
}

const char *config_key_name(size_t i)
{
	return i < N_ELEMENTS(keys) ? keys[i].key : NULL;
}

bool config_key_reloadable(const char *key)
{
	const struct config_key *k = key_lookup(key);
	return k != NULL && k->reloadable;
}

int config_parse_hostport(const char *value, char **host_r, uint16_t *port_r)
{
	const char *colon, *host = value;
	size_t hostlen;
	uint64_t port;

	if (value[0] == '[') {
		const char *end = strchr(value, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		host = value + 1;
		hostlen = (size_t)(end - host);
		colon = end + 1;
	} else {
		colon = strrchr(value, ':');
		if (colon == NULL || memchr(value, ':', (size_t)(colon - value)) != NULL)
			return -1; /* bare IPv6 must be bracketed */
		hostlen = (size_t)(colon - value);
	}
	if (hostlen == 0 || str_to_uint64(colon + 1, 0, 65535, &port) < 0)
		return -1;
	char *h = xstrndup(host, hostlen);
	unsigned char addr[16];
	if (inet_pton(value[0] == '[' ? AF_INET6 : AF_INET, h, addr) != 1) {
		free(h);
		return -1;
	}
	*host_r = h;
	*port_r = (uint16_t)port;
	return 0;
}

int config_cidr_parse(const char *text, struct config_cidr *cidr_r)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t len = slash != NULL ? (size_t)(slash - text) : strlen(text);
	uint64_t prefix;
	unsigned bits;

	memset(cidr_r, 0, sizeof(*cidr_r));
	if (len == 0 || len >= sizeof(addr))
		return -1;
	memcpy(addr, text, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, cidr_r->addr) == 1)
		cidr_r->family = 4;
	else if (inet_pton(AF_INET6, addr, cidr_r->addr) == 1)
		cidr_r->family = 6;
	else
		return -1;
	bits = cidr_r->family == 4 ? 32 : 128;
	if (slash == NULL)
		prefix = bits;
	else if (str_to_uint64(slash + 1, 0, bits, &prefix) < 0)
		return -1;
	cidr_r->prefix = (unsigned)prefix;
	/* "192.168.1.7/24" is a typo for a host or a network: say so */
	for (unsigned b = cidr_r->prefix; b < bits; b++) {
		if (cidr_r->addr[b / 8] & (0x80 >> (b % 8)))
			return -1;
	}
	return 0;
}

int config_cidr_list_parse(const char *text, struct config_cidr *cidrs, size_t max,
			   size_t *count_r)
{
	char *copy = xstrdup(text), *item, *save = NULL;
	size_t count = 0;
	int ret = 0;

	for (item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		char *t = str_trim(item);
		if (*t == '\0')
			continue;
		if (count == max || config_cidr_parse(t, &cidrs[count]) < 0) {
			ret = -1;
			break;
		}
		count++;
	}
	free(copy);
	*count_r = ret == 0 ? count : 0;
	return ret;
}

static bool hostname_valid(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || (c == '-' && label > 0);
		if (!ok || ++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

/* choice_valid - value is one of the '|'-separated words of choices. */
static bool choice_valid(const char *choices, const char *value)
{
	size_t len = strlen(value);

	for (const char *p = choices; len > 0 && *p != '\0';) {
		const char *end = strchr(p, '|');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n == len && memcmp(p, value, n) == 0)
			return true;
		p += n + (end != NULL);
	}
	return false;
}

/* key_apply - validate text and store it in cfg; error_r is a phrase. */
static int key_apply(struct config *cfg, const struct config_key *k, const char *value,
		     char **error_r)
{
	void *field = (char *)cfg + k->offset;
	uint64_t n;

	switch (k->type) {
	case CONFIG_TYPE_HOSTNAME:
		if (!hostname_valid(value)) {
			*error_r = xasprintf("%s: '%s' is not a valid host name", k->key, value);
			return -1;
		}
		break;
	case CONFIG_TYPE_LISTEN:
		if (strcmp(value, "off") != 0) {
			char *host;
			uint16_t port;
			if (config_parse_hostport(value, &host, &port) < 0) {
				*error_r = xasprintf("%s: '%s' is not ADDR:PORT, [IPV6]:PORT or off",
						     k->key, value);
				return -1;
			}
			free(host);
		}
		break;
	case CONFIG_TYPE_UINT:
		if (str_to_uint64(value, k->min, k->max, &n) < 0) {
			*error_r = xasprintf("%s: '%s' is not a number from %" PRIu64 " to %" PRIu64,
					     k->key, value, k->min, k->max);
			return -1;
		}
		*(uint64_t *)field = n;
		return 0;
	case CONFIG_TYPE_LOG_LEVEL:
		if (log_level_parse(value, (enum log_level *)field) < 0) {
			*error_r = xasprintf("%s: '%s' is not debug, info, warn or error", k->key, value);
			return -1;
		}
		return 0;
	case CONFIG_TYPE_SIZE:
		if (size_parse(value, &n) < 0 || n < k->min || n > k->max) {
			*error_r = xasprintf("%s: '%s' is not a size from %" PRIu64 " to %" PRIu64
					     " bytes (like 512K, 50M, 1G)", k->key, value, k->min, k->max);
			return -1;
		}
		*(uint64_t *)field = n;
		return 0;
	case CONFIG_TYPE_BOOL:
		if (str_to_bool(value, (bool *)field) < 0) {
			*error_r = xasprintf("%s: '%s' is not yes or no", k->key, value);
			return -1;
		}
		return 0;
	case CONFIG_TYPE_DURATION: {
		int64_t secs;
		if (time_parse_duration(value, &secs) < 0 || (uint64_t)secs < k->min ||
		    (uint64_t)secs > k->max) {
			*error_r = xasprintf("%s: '%s' is not a duration from %" PRIu64 " to %" PRIu64
					     " seconds (like 30s, 10m, 2h, 1d)", k->key, value, k->min,
					     k->max);
			return -1;
		}
		*(uint64_t *)field = (uint64_t)secs;
		return 0;
	}
	case CONFIG_TYPE_CIDRS: {
		struct config_cidr cidrs[CONFIG_CIDRS_MAX];
		size_t count;
		if (config_cidr_list_parse(value, cidrs, N_ELEMENTS(cidrs), &count) < 0) {
			*error_r = xasprintf("%s: '%s' is not a comma-separated list of at most %d "
					     "networks (like 192.168.1.0/24,2001:db8::/32,10.0.0.1)",
					     k->key, value, CONFIG_CIDRS_MAX);
			return -1;
		}
		break;
	}
	case CONFIG_TYPE_CHOICE:
		if (!choice_valid(k->choices, value)) {
			*error_r = xasprintf("%s: '%s' is not one of %s", k->key, value, k->choices);
			return -1;
		}
		break;
	case CONFIG_TYPE_STRING:
		break;
	}
	char **s = field;
	free(*s);
	*s = xstrdup(value);
	return 0;
}

int config_set(struct config *cfg, const char *key, const char *value, char **error_r)
{
	const struct config_key *k = key_lookup(key);

	if (k == NULL) {
		*error_r = xasprintf("unknown key '%s'", key);
		return -1;
	}
	return key_apply(cfg, k, value, error_r);
}

struct config *config_new_defaults(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	char *error;

	for (size_t i = 0; i < N_ELEMENTS(keys); i++) {
		if (key_apply(cfg, &keys[i], keys[i].def, &error) < 0)
			panic("config: bad default: %s", error);
	}
	return cfg;
}

char *config_get(const struct config *cfg, const char *key)
{
	const struct config_key *k = key_lookup(key);
	const void *field;

	if (k == NULL)
		return NULL;
	field = (const char *)cfg + k->offset;
	switch (k->type) {
	case CONFIG_TYPE_UINT:
		return xasprintf("%" PRIu64, *(const uint64_t *)field);
	case CONFIG_TYPE_LOG_LEVEL: {
		static const char *const names[] = { "debug", "info", "warn", "error" };
		return xstrdup(names[*(const enum log_level *)field]);
	}
	case CONFIG_TYPE_SIZE: {
		/* "50M" when a unit divides it, else exact bytes (so it re-parses) */
		uint64_t bytes = *(const uint64_t *)field;
		char text[32];
		size_format(bytes, text, sizeof(text));
		if (strchr(text, '.') != NULL)
			return xasprintf("%" PRIu64, bytes);
		return xstrdup(text);
	}
	case CONFIG_TYPE_BOOL:
		return xstrdup(*(const bool *)field ? "yes" : "no");
	case CONFIG_TYPE_DURATION: {
		/* the largest unit that divides it, so it reads as typed */
		static const struct { char unit; uint64_t secs; } units[] = {
			{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 },
		};
		uint64_t secs = *(const uint64_t *)field;
		for (size_t i = 0; i < N_ELEMENTS(units); i++) {
			if (secs > 0 && secs % units[i].secs == 0)
				return xasprintf("%" PRIu64 "%c", secs / units[i].secs, units[i].unit);
		}
		return xasprintf("%" PRIu64 "s", secs);
	}
	default:
		return xstrdup(*(char *const *)field);
	}
}

/* parse_line - one "key = value" line; blank and # lines are fine. */
static int parse_line(struct config *cfg, char *line, char **error_r)
{
	char *p = str_trim(line);

	if (*p == '\0' || *p == '#')
		return 0;
	char *eq = strchr(p, '=');
	if (eq == NULL) {
		*error_r = xasprintf("expected 'key = value', got '%s'", p);
		return -1;
	}
	*eq = '\0';
	char *key = str_trim(p), *value = str_trim(eq + 1);
	if (*key == '\0') {
		*error_r = xstrdup("missing key before '='");
		return -1;
	}
	return config_set(cfg, key, value, error_r);
}

int config_parse(const char *name, const char *text, size_t len, struct config **cfg_r,
		 char **error_r)
{
	struct config *cfg = config_new_defaults();
	char *data = xstrndup(text, len), *line, *next, *error;
	unsigned lineno = 0;

	if (strlen(data) != len) {
		*error_r = xasprintf("%s: contains a NUL byte", name);
		goto fail;
	}
	for (line = data; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		if (strlen(line) > CONFIG_LINE_MAX) {
			*error_r = xasprintf("%s:%u: line too long (max %d)", name, lineno,
					     CONFIG_LINE_MAX);
			goto fail;
		}
		if (parse_line(cfg, line, &error) < 0) {
			*error_r = xasprintf("%s:%u: %s", name, lineno, error);
			free(error);
			goto fail;
		}
	}
	free(data);
	*cfg_r = cfg;
	return 0;
fail:
	free(data);
	config_free(&cfg);
	return -1;
}

int config_load(const char *path, struct config **cfg_r, char **error_r)
{
	char *data;
	size_t len;
	int ret;

	if (file_read_all(path, CONFIG_FILE_MAX, &data, &len) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	ret = config_parse(path, data, len, cfg_r, error_r);
	free(data);
	return ret;
}

int config_write(const struct config *cfg, const char *path, char **error_r)
{
	struct buf out;
	int ret = 0;

	buf_init(&out, 0);
	if (buf_append_str(&out, "# postino.conf - written by 'postino init'; edit freely,\n"
				 "# then 'kill -HUP' the server (listeners and user need a restart).\n") < 0)
		panic("config: write");
	for (size_t i = 0; i < N_ELEMENTS(keys); i++) {
		char *value = config_get(cfg, keys[i].key);
		if ((keys[i].comment != NULL && buf_printf(&out, "\n# %s\n", keys[i].comment) < 0) ||
		    buf_printf(&out, "%s = %s\n", keys[i].key, value) < 0)
			panic("config: write");
		free(value);
	}
	if (file_write_durable(path, out.data, out.len, 0644) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		ret = -1;
	}
	buf_release(&out);
	return ret;
}

char *config_path(const char *data_dir, const char *value)
{
	if (value[0] == '/')
		return xstrdup(value);
	return xasprintf("%s/%s", data_dir, value);
}

void config_free(struct config **_cfg)
{
	struct config *cfg = *_cfg;
	if (cfg == NULL)
		return;
	*_cfg = NULL;
	for (size_t i = 0; i < N_ELEMENTS(keys); i++) {
		if (keys[i].type == CONFIG_TYPE_STRING || keys[i].type == CONFIG_TYPE_HOSTNAME ||
		    keys[i].type == CONFIG_TYPE_LISTEN || keys[i].type == CONFIG_TYPE_CIDRS ||
		    keys[i].type == CONFIG_TYPE_CHOICE)
			free(*(char **)((char *)cfg + keys[i].offset));
	}
	free(cfg);
}
