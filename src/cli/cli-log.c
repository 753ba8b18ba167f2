/* SPDX-License-Identifier: ISC */
/*
 * cli-log.c - `postino log`: read the decision journal back.
 *
 * Human output is one line per decision, oldest first, so it reads like a
 * log file; --json gives the same rows with every field for tools.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "cli/cli.h"
#include "cli/commands.h"

#define LOG_DEFAULT_LIMIT 1000

static json_t *json_str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *row_to_json(const struct journal_row *r)
{
	char when[32];

	time_format_iso(r->time_ms / 1000, when, sizeof(when));
	return json_pack("{s:I, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "id", (json_int_t)r->id, "time", when, "time_ms", (json_int_t)r->time_ms,
			 "service", json_str_or_null(r->service),
			 "decision", json_str_or_null(r->decision),
			 "reason", json_str_or_null(r->reason), "actor", json_str_or_null(r->actor),
			 "ip", json_str_or_null(r->ip), "account", json_str_or_null(r->account),
			 "msgid", json_str_or_null(r->msgid),
			 "queueid", json_str_or_null(r->queueid), "sid", json_str_or_null(r->sid),
			 "detail", json_str_or_null(r->detail));
}

static void print_row(const struct journal_row *r)
{
	char when[32];

	time_format_iso(r->time_ms / 1000, when, sizeof(when));
	printf("%s %s %s %s", when, r->service, r->decision, r->reason);
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		{ "actor", offsetof(struct journal_row, actor) },
		{ "account", offsetof(struct journal_row, account) },
		{ "ip", offsetof(struct journal_row, ip) },
		{ "msgid", offsetof(struct journal_row, msgid) },
		{ "queueid", offsetof(struct journal_row, queueid) },
		{ "sid", offsetof(struct journal_row, sid) },
	};
	for (size_t i = 0; i < N_ELEMENTS(fields); i++) {
		const char *v = *(char *const *)((const char *)r + fields[i].offset);
		if (v != NULL)
			printf(" %s=%s", fields[i].name, v);
	}
	if (r->detail != NULL)
		printf(" -- %s", r->detail);
	putchar('\n');
}

static int parse_when(struct cli *cli, const char *opt, const char *value, int64_t *ms_r)
{
	int64_t t;

	if (time_parse_when(value, time_now(), &t) < 0)
		return cli_usage(cli, "%s: '%s' is neither a date (2026-11-22T10:00) nor an age "
				      "(30m, 2h, 7d)", opt, value);
	*ms_r = t * 1000;
	return 0;
}

static int cmd_log(struct cli *cli, int argc, char **argv)
{
	struct journal_query q = { .limit = LOG_DEFAULT_LIMIT };
	struct journal_row *rows;
	size_t count;
	struct db *db;

	for (int i = 0; i < argc; i++) {
		const char *v;
		uint64_t n;
		if ((v = cli_opt_value(argc, argv, &i, "--account")) != NULL)
			q.account = v;
		else if ((v = cli_opt_value(argc, argv, &i, "--ip")) != NULL)
			q.ip = v;
		else if ((v = cli_opt_value(argc, argv, &i, "--reason")) != NULL)
			q.reason = v;
		else if ((v = cli_opt_value(argc, argv, &i, "--service")) != NULL)
			q.service = v;
		else if ((v = cli_opt_value(argc, argv, &i, "--since")) != NULL) {
			if (parse_when(cli, "--since", v, &q.since_ms) != 0)
				return CLI_USAGE;
		} else if ((v = cli_opt_value(argc, argv, &i, "--until")) != NULL) {
			if (parse_when(cli, "--until", v, &q.until_ms) != 0)
				return CLI_USAGE;
		} else if ((v = cli_opt_value(argc, argv, &i, "--limit")) != NULL) {
			if (str_to_uint64(v, 0, UINT32_MAX, &n) < 0)
				return cli_usage(cli, "--limit: '%s' is not a number", v);
			q.limit = (unsigned)n;
		} else
			return cli_usage(cli, "unexpected argument '%s'", argv[i]);
	}
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	if (journal_query(db, &q, &rows, &count) < 0)
		return cli_refuse(cli, "cannot read the journal: %s", db_errmsg(db));
	if (cli->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < count; i++)
			json_array_append_new(arr, row_to_json(&rows[i]));
		cli_print_json(arr);
	} else {
		for (size_t i = 0; i < count; i++)
			print_row(&rows[i]);
	}
	journal_rows_free(&rows, count);
	return CLI_OK;
}

const struct cli_command cli_log_commands[] = {
	{ "log", cmd_log,
	  "[--account A] [--ip IP] [--reason CODE|PREFIX.] [--service S] [--since T] "
	  "[--until T] [--limit N] [--json]",
	  "show the decision journal (newest N, oldest first)" },
};
const size_t cli_log_commands_count = N_ELEMENTS(cli_log_commands);
