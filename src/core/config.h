/* SPDX-License-Identifier: ISC */
/*
 * config.h - postino.conf: "key = value" lines, one table of known keys.
 *
 * A struct config is an immutable snapshot: reload builds a new one and
 * swaps it in, so a session that holds the old one never sees a half-read
 * file.
 */
#ifndef POSTINO_CONFIG_H
#define POSTINO_CONFIG_H

#include "lib/lib.h"
#include "lib/log.h"

#define CONFIG_FILE_NAME "postino.conf"

/* Listeners of DESIGN.md's contract, in config order. */
enum listener_kind {
	LISTENER_SMTP,
	LISTENER_SUBMISSION,
	LISTENER_SUBMISSIONS,
	LISTENER_IMAP,
	LISTENER_IMAPS,
	LISTENER_POP3,
	LISTENER_POP3S,
	LISTENER_HTTP,
	LISTENER_COUNT
};

struct config {
	char *hostname;
	char *user;         /* drop to this user when started as root; "" = none */
	char *tls_cert;     /* absolute, or relative to the data directory */
	char *tls_key;
	char *dns_servers;  /* "" = the system resolver */
	enum log_level log_level;
	uint64_t workers;   /* worker threads for blocking work */
	char *listen[LISTENER_COUNT]; /* "ADDR:PORT", "[V6]:PORT" or "off" */
	/* smtp.* (src/smtp/) */
	uint64_t conn_max;              /* connections in all */
	uint64_t conn_max_per_listener;
	uint64_t conn_max_per_ip;       /* one office behind NAT shares an address */
	uint64_t smtp_max_message_size; /* bytes */
	uint64_t smtp_max_recipients;
	bool smtp_quota_temporary;      /* over quota: 452 4.2.2 (yes) or 552 5.2.2 */
	bool smtp_protocol_log;
	uint64_t smtp_timeout;          /* seconds */
	uint64_t smtp_greeting_delay_ms;
	/* pop3.* (src/pop3/) */
	uint64_t pop3_timeout;          /* seconds of silence before autologout */
	bool pop3_protocol_log;
	/* screen.* (directory/screen.c): authentication-failure screening (F20) */
	uint64_t screen_ip_failures;      /* failures from one address ... */
	uint64_t screen_ip_window;        /* ... within this many seconds ... */
	uint64_t screen_ip_block;         /* ... block it this many seconds; 0 failures = never */
	uint64_t screen_account_failures; /* likewise per account (login name) */
	uint64_t screen_account_window;
	uint64_t screen_account_lock;
	uint64_t screen_failure_delay_ms; /* a refused login is answered this late */
	char *screen_trusted;             /* CIDR list never screened; "" = none */
	/* limits.send-* (directory/sendlimit.c): hijack detection (F21) */
	uint64_t send_messages;           /* per send-window per account; 0 = no limit */
	uint64_t send_recipients;         /* likewise, recipients */
	uint64_t send_window;             /* seconds */
	char *send_action;                /* "suspend" (can-send=no) or "disable" */
	char *postmaster;                 /* admin notices when postmaster@DOMAIN has no
					   * mailbox; "" = postmaster@hostname */
	/* password.* (directory/expiry.c, queue/expiry-warn.c): expiry warnings (F16) */
	uint64_t password_warn_days;      /* mail this many days before expiry; 0 = never */
	uint64_t password_warn_interval;  /* seconds between looks for mailboxes to warn */
	/* imap.* (src/imap/) */
	bool imap_protocol_log;
	uint64_t imap_login_timeout;      /* seconds before login */
	uint64_t imap_idle_timeout;       /* seconds once logged in, IDLE included */
	uint64_t imap_max_connections_per_user;
	uint64_t imap_search_time_limit;  /* ms for one full-text query */
	/* queue.*, outbound.*, relay.* (src/queue/qmgr*.c) */
	char *queue_retry_schedule;       /* "5m,10m,..." */
	uint64_t queue_max_lifetime;      /* seconds */
	uint64_t queue_delay_warning;     /* seconds, 0 = never */
	uint64_t queue_concurrency;
	uint64_t queue_destination_concurrency;
	uint64_t outbound_port;
	bool outbound_tls;
	bool outbound_ipv6;               /* AAAA records used (queue/route.c) */
	char *relay_host;                 /* "" = direct */
	char *relay_domains;              /* "dom=spec,..." */
	char *relay_tls;                  /* required|opportunistic|implicit|none */
	char *relay_user;
	char *relay_password;
};

/* Networks in one list key (screen.trusted). */
#define CONFIG_CIDRS_MAX 32

/* One network: "192.0.2.0/24", "2001:db8::/32", or a bare address. */
struct config_cidr {
	int family;       /* 4 or 6 */
	unsigned prefix;  /* bits that must match */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
};

/* Listener key ("listen.smtp") and protocol name ("smtp") by kind. */
const char *config_listener_key(enum listener_kind kind);
/* True for ports that speak TLS from the first byte (465, 993, 995). */
bool config_listener_implicit_tls(enum listener_kind kind);

/* All keys at their defaults. */
struct config *config_new_defaults(void);
/* Parse text (named name in errors) over the defaults. */
int config_parse(const char *name, const char *text, size_t len, struct config **cfg_r,
		 char **error_r);
/* Read a file over the defaults; error "file:line: what" on failure. */
int config_load(const char *path, struct config **cfg_r, char **error_r);
/* Set one key from its text form, validated by the same table. */
int config_set(struct config *cfg, const char *key, const char *value, char **error_r);
/* Text form of a key's value (caller frees); NULL for an unknown key. */
char *config_get(const struct config *cfg, const char *key);
/* Write every key durably (0600 not needed: no secrets in the file). */
int config_write(const struct config *cfg, const char *path, char **error_r);
/* Resolve a path setting against the data directory (caller frees). */
char *config_path(const char *data_dir, const char *value);
/* Split "ADDR:PORT" / "[V6]:PORT"; host_r is allocated. */
int config_parse_hostport(const char *value, char **host_r, uint16_t *port_r);
/* Keys whose new value only takes effect at restart, for reload logging. */
bool config_key_reloadable(const char *key);
/* Parse one network; host bits beyond the prefix must be zero. */
int config_cidr_parse(const char *text, struct config_cidr *cidr_r);
/* Parse a comma-separated list of networks ("" is an empty list). */
int config_cidr_list_parse(const char *text, struct config_cidr *cidrs, size_t max,
			   size_t *count_r);
/* Iterate keys: NULL past the end. */
const char *config_key_name(size_t i);
void config_free(struct config **_cfg);

#endif
