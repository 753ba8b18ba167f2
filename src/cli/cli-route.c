/* SPDX-License-Identifier: ISC */
/*
 * cli-route.c - `postino route DOMAIN [--relay SPEC]`: where mail for
 * DOMAIN would go from this host, asked exactly as the queue asks
 * (queue/route.c, the resolvers of dns.servers, outbound.port and
 * outbound.ipv6 from postino.conf).
 *
 * It runs the lookups on an event base of its own: no daemon needed, and
 * none disturbed. Exit 0 when the domain is routable, 1 with the reason
 * code and sentence otherwise (--json prints the same result as data).
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "core/config.h"
#include "core/dns.h"
#include "core/reason.h"
#include "queue/route.h"
#include "cli/cli.h"
#include "cli/commands.h"

#include <arpa/inet.h>
#include <event2/event.h>

struct route_cli {
	struct cli *cli;
	struct event_base *base;
	const char *domain;
	const char *relay;
	bool answered;
	int ret;
};

static const char *const status_names[] = {
	[ROUTE_OK] = "ok",
	[ROUTE_TEMPFAIL] = "tempfail",
	[ROUTE_PERMFAIL] = "permfail",
};

/* target_endpoint - "192.0.2.1:25" or "[2001:db8::1]:25". */
static void target_endpoint(const struct route_target *t, char *buf, size_t size)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&t->ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&t->ss;

	if (t->ss.ss_family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", t->addr_text, ntohs(sin6->sin6_port));
	else
		snprintf(buf, size, "%s:%u", t->addr_text, ntohs(sin->sin_port));
}

static json_t *result_json(const struct route_cli *rc, const struct route_result *r)
{
	json_t *targets = json_array();

	for (size_t i = 0; i < r->count; i++) {
		const struct route_target *t = &r->targets[i];
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&t->ss;
		json_array_append_new(
			targets, json_pack("{s:I, s:s, s:s, s:s, s:I}", "pref", (json_int_t)t->pref,
					   "host", t->host, "address", t->addr_text, "family",
					   t->ss.ss_family == AF_INET6 ? "ipv6" : "ipv4", "port",
					   (json_int_t)ntohs(sin->sin_port)));
	}
	return json_pack("{s:s, s:s?, s:s, s:s?, s:s, s:o}", "domain", rc->domain, "relay",
			 rc->relay, "status", status_names[r->status], "reason", r->reason, "text",
			 r->text, "targets", targets);
}

static void print_result(struct route_cli *rc, const struct route_result *r)
{
	char endpoint[96];
	size_t width = strlen("HOST");

	printf("%s: %s\n", rc->domain, r->text);
	for (size_t i = 0; i < r->count; i++) {
		size_t len = strlen(r->targets[i].host);
		width = len > width ? len : width;
	}
	printf("  %-5s %-*s %s\n", "PREF", (int)width, "HOST", "ADDRESS");
	for (size_t i = 0; i < r->count; i++) {
		const struct route_target *t = &r->targets[i];
		target_endpoint(t, endpoint, sizeof(endpoint));
		printf("  %-5u %-*s %s\n", t->pref, (int)width, t->host, endpoint);
	}
}

static void on_route(void *ctx, const struct route_result *r)
{
	struct route_cli *rc = ctx;

	rc->answered = true;
	rc->ret = r->status == ROUTE_OK ? CLI_OK : CLI_REFUSED;
	if (rc->cli->json)
		cli_print_json(result_json(rc, r));
	else if (r->status == ROUTE_OK)
		print_result(rc, r);
	if (r->status != ROUTE_OK) {
		const struct reason *reason = reason_lookup(r->reason);
		cli_refuse(rc->cli, "route %s: %s (%s, %s): %s", rc->domain, r->reason,
			   r->status == ROUTE_TEMPFAIL ? "temporary" : "permanent",
			   reason != NULL ? reason->text : "?", r->text);
	}
	event_base_loopbreak(rc->base);
}

static int cmd_route(struct cli *cli, int argc, char **argv)
{
	struct route_cli rc = { .cli = cli, .ret = CLI_REFUSED };
	struct config *cfg;
	char *error;

	for (int i = 0; i < argc; i++) {
		const char *v;
		if ((v = cli_opt_value(argc, argv, &i, "--relay")) != NULL)
			rc.relay = v;
		else if (argv[i][0] == '-')
			return cli_usage(cli, "unknown option '%s'", argv[i]);
		else if (rc.domain == NULL)
			rc.domain = argv[i];
		else
			return cli_usage(cli, "unexpected argument '%s'", argv[i]);
	}
	if (rc.domain == NULL)
		return cli_usage(cli, "missing DOMAIN");
	cfg = cli_load_config(cli);
	if ((rc.base = event_base_new()) == NULL) {
		config_free(&cfg);
		return cli_refuse(cli, "libevent: cannot create an event base");
	}
	if (dns_init(rc.base, cfg->dns_servers, &error) < 0) {
		cli_refuse(cli, "%s", error);
		free(error);
		event_base_free(rc.base);
		config_free(&cfg);
		return CLI_REFUSED;
	}
	route_set_ipv6(cfg->outbound_ipv6);
	if (rc.relay != NULL)
		route_resolve_relay(rc.relay, on_route, &rc);
	else
		route_resolve(rc.domain, (uint16_t)cfg->outbound_port, on_route, &rc);
	/* dns.c times every lookup out, so this ends */
	event_base_dispatch(rc.base);
	dns_deinit();
	if (!rc.answered)
		cli_refuse(cli, "route %s: no answer (internal error)", rc.domain);
	event_base_free(rc.base);
	config_free(&cfg);
	return rc.ret;
}

const struct cli_command cli_route_commands[] = {
	{ "route", cmd_route, "DOMAIN [--relay SPEC]",
	  "where mail for DOMAIN goes from here: MX hosts and addresses, in order" },
};

const size_t cli_route_commands_count = N_ELEMENTS(cli_route_commands);
