/* SPDX-License-Identifier: ISC */
/*
 * cli-serve.c - `postino serve`: assemble the daemon from core/ and run it
 * in the foreground until SIGTERM.
 *
 * Start-up order matters and is the whole point of this file:
 *   config -> data directory ownership -> postino.db -> bind listeners ->
 *   TLS context -> drop privileges -> worker threads -> accept -> "ready".
 * Everything that needs root (ports < 1024, a root-only key) happens
 * before the drop; threads start after it, so none ever runs as root.
 *
 * This is the one place that knows every protocol: serve_protocols[] pairs
 * each listener with its accept function as the protocols land.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "core/config.h"
#include "core/conn.h"
#include "core/dbpool.h"
#include "core/dns.h"
#include "core/journal.h"
#include "core/listen.h"
#include "core/loop.h"
#include "core/privs.h"
#include "core/tls.h"
#include "core/worker.h"
#include "imap/imap.h"
#include "smtp/smtp.h"
#include "pop3/pop3.h"
#include "queue/expiry-warn.h"
#include "queue/qmgr.h"
#include "queue/route.h"
#include "cli/cli.h"
#include "cli/commands.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* After the drain (LOOP_DRAIN_TIMEOUT_MS), how long threads may take to
 * finish a job that outlived it. */
#define SERVE_WORKER_STOP_MS 2000

struct serve {
	struct cli *cli;
	char *conf_path;
	struct db *db;
	struct privs privs;
};

/* Who answers each listener. NULL = "service not available" (listen.c).
 * A protocol plugs in by filling its row: [LISTENER_SMTP] = smtp_accept. */
static listen_accept_fn *const serve_protocols[LISTENER_COUNT] = {
	[LISTENER_SMTP] = smtp_accept,
	[LISTENER_SUBMISSION] = smtp_accept,
	[LISTENER_SUBMISSIONS] = smtp_accept,
	[LISTENER_IMAP] = imap_accept,
	[LISTENER_IMAPS] = imap_accept,
	[LISTENER_POP3] = pop3_accept,
	[LISTENER_POP3S] = pop3_accept,
	[LISTENER_HTTP] = NULL,
};

static void serve_journal(struct serve *s, const char *decision, const char *reason,
			  const char *detail)
{
	struct journal_entry e = {
		.service = "serve",
		.decision = decision,
		.reason = reason,
		.actor = "serve",
		.detail = detail,
	};

	if (journal_add(s->db, &e) < 0)
		log_warn("journal: could not record %s", reason);
}

/* serve_tls_load - build the server context from cfg's cert and key. */
static int serve_tls_load(struct serve *s, const struct config *cfg, char **error_r)
{
	char *cert = config_path(s->cli->data_dir, cfg->tls_cert);
	char *key = config_path(s->cli->data_dir, cfg->tls_key);
	int ret = tls_server_load(cert, key, error_r);

	free(cert);
	free(key);
	return ret;
}

/* serve_keep_restart_keys - a running server cannot rebind or re-drop, so
 * keys that need a restart keep their running value in the new snapshot,
 * and the admin is told. */
static void serve_keep_restart_keys(const struct config *old, struct config *cfg)
{
	const char *key;

	for (size_t i = 0; (key = config_key_name(i)) != NULL; i++) {
		if (config_key_reloadable(key))
			continue;
		char *was = config_get(old, key), *now = config_get(cfg, key), *error;
		if (strcmp(was, now) != 0) {
			log_warn("%s changed in %s (%s -> %s): needs a restart of postino serve; "
				 "still using %s", key, CONFIG_FILE_NAME, was, now, was);
			if (config_set(cfg, key, was, &error) < 0)
				panic("config: running value of %s rejected: %s", key, error);
		}
		free(was);
		free(now);
	}
}

/* serve_dns_switch - new resolvers when dns.servers changed (lookups in
 * flight finish on the old ones). */
static int serve_dns_switch(const struct config *from, const struct config *to, char **error_r)
{
	if (strcmp(from->dns_servers, to->dns_servers) == 0)
		return 0;
	return dns_set_servers(to->dns_servers, error_r);
}

static void serve_reload_failed(struct serve *s, char *error)
{
	log_error("reload failed: %s; still running with the previous configuration", error);
	serve_journal(s, "refuse", "serve.reload-failed", error);
	free(error);
}

/* serve_reload - SIGHUP: all or nothing. A new snapshot and a new TLS
 * context are both built before either replaces the running one. */
static void serve_reload(void *ctx)
{
	struct serve *s = ctx;
	struct config *cfg;
	char *error;

	if (config_load(s->conf_path, &cfg, &error) < 0) {
		serve_reload_failed(s, error);
		return;
	}
	serve_keep_restart_keys(loop_config(), cfg);
	if (serve_dns_switch(loop_config(), cfg, &error) < 0) {
		config_free(&cfg);
		serve_reload_failed(s, error);
		return;
	}
	if (serve_tls_load(s, cfg, &error) < 0) {
		char *ignored;
		if (serve_dns_switch(cfg, loop_config(), &ignored) < 0) /* worked before */
			free(ignored);
		config_free(&cfg);
		serve_reload_failed(s, error);
		return;
	}
	log_set_level(cfg->log_level);
	route_set_ipv6(cfg->outbound_ipv6);
	loop_config_set(cfg); /* open connections keep the snapshot they hold */
	qmgr_reload();
	log_info("reload done: configuration re-read, tls %s", tls_server_describe());
	serve_journal(s, "change", "serve.reload", NULL);
}

static void serve_drain_begin(void *ctx)
{
	listen_stop();
	conn_drain_all();
	qmgr_drain();
	expiry_warn_drain();
	smtp_deliver_drain();
}

static bool serve_drain_done(void *ctx)
{
	return conn_count() == 0 && worker_pending() == 0 && qmgr_idle();
}

/* serve_raise_fd_limit - every connection is a descriptor; the default
 * soft limit (1024) is below what the connection caps allow. */
static void serve_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open-file limit: %s", strerror(errno));
	}
}

/* serve_setup - everything up to (not including) the loop; a refusal is
 * printed and returned as CLI_REFUSED. */
static int serve_setup(struct serve *s, struct config **cfg_r)
{
	struct cli *cli = s->cli;
	struct config *cfg;
	struct stat st;
	char *error;

	if (stat(s->conf_path, &st) < 0)
		return cli_refuse(cli, "%s is not a postino data directory (%s: %s); run "
				       "'postino init --data %s'", cli->data_dir, s->conf_path,
				  strerror(errno), cli->data_dir);
	if (config_load(s->conf_path, &cfg, &error) < 0)
		goto refused;
	*cfg_r = cfg;
	log_set_level(cfg->log_level);
	if (privs_resolve(cfg->user, &s->privs, &error) < 0 ||
	    privs_fix_ownership(&s->privs, cli->data_dir, &error) < 0)
		goto refused;
	/* opened as root, yet SQLite gives the WAL files the database's owner */
	if ((s->db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	/* sessions and worker jobs each get their own connection from here */
	dbpool_init(cli->data_dir);
	if (loop_init(&(struct loop_hooks){ .reload = serve_reload,
					     .drain_begin = serve_drain_begin,
					     .drain_done = serve_drain_done,
					     .ctx = s },
		      &error) < 0)
		goto refused;
	/* a dns.servers value c-ares cannot use refuses the start */
	if (dns_init(loop_base(), cfg->dns_servers, &error) < 0)
		goto refused;
	route_set_ipv6(cfg->outbound_ipv6);
	if (listen_bind_all(cfg, &error) < 0) {
		/* one line per listener that failed, so each can be fixed at once */
		for (char *line = strtok(error, "\n"); line != NULL; line = strtok(NULL, "\n"))
			cli_refuse(cli, "cannot listen: %s", line);
		free(error);
		return CLI_REFUSED;
	}
	if (serve_tls_load(s, cfg, &error) < 0 || privs_drop(&s->privs, &error) < 0 ||
	    worker_pool_start(loop_base(), (unsigned)cfg->workers, &error) < 0)
		goto refused;
	return CLI_OK;
refused:
	cli_refuse(cli, "%s", error);
	free(error);
	return CLI_REFUSED;
}

static void serve_teardown(struct serve *s)
{
	worker_pool_stop(SERVE_WORKER_STOP_MS);
	dbpool_deinit();
	listen_deinit();
	conn_close_all("server stopped");
	loop_run_deferred();
	tls_server_deinit();
	dns_deinit(); /* lookups still in flight answer "try again later" */
	qmgr_stop();  /* after dns_deinit: route callbacks point at its destinations */
	expiry_warn_stop();
	loop_deinit();
	privs_clear(&s->privs);
	free(s->conf_path);
}

static int cmd_serve(struct cli *cli, int argc, char **argv)
{
	struct serve s = { .cli = cli };
	struct config *cfg = NULL;
	char *listeners, *error;
	int ret;

	if (argc > 0)
		return cli_usage(cli, "unexpected argument '%s'", argv[0]);
	log_set_output(stderr);
	serve_raise_fd_limit();
	s.conf_path = xasprintf("%s/%s", cli->data_dir, CONFIG_FILE_NAME);
	if ((ret = serve_setup(&s, &cfg)) != CLI_OK) {
		config_free(&cfg); /* never handed to the loop */
		serve_teardown(&s);
		return ret;
	}
	loop_config_set(cfg);
	for (size_t i = 0; i < LISTENER_COUNT; i++)
		listen_set_accept((enum listener_kind)i, serve_protocols[i]);
	listen_start();
	if (qmgr_start(cli->data_dir, &error) < 0) {
		cli_refuse(cli, "cannot start the outbound queue: %s", error);
		free(error);
		serve_teardown(&s);
		return CLI_REFUSED;
	}
	expiry_warn_start(cli->data_dir); /* password expiry warnings (F16) */
	listeners = listen_describe();
	log_info("tls %s", tls_server_describe());
	log_info("postino ready listeners=%s pid=%ld workers=%u", listeners, (long)getpid(),
		 (unsigned)cfg->workers);
	serve_journal(&s, "start", "serve.start", listeners);
	free(listeners);

	ret = loop_run();
	if (ret < 0)
		conn_close_all("server stopped before the drain finished");
	serve_journal(&s, "stop", "serve.stop", ret < 0 ? "drain timed out" : NULL);
	serve_teardown(&s);
	log_info("postino stopped%s", ret < 0 ? " (drain timed out)" : "");
	return CLI_OK;
}

const struct cli_command cli_serve_commands[] = {
	{ "serve", cmd_serve, "[--data DIR]",
	  "run the server in the foreground (SIGTERM stops, SIGHUP reloads)" },
};

const size_t cli_serve_commands_count = N_ELEMENTS(cli_serve_commands);
