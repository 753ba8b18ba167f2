/* SPDX-License-Identifier: ISC */
/*
 * cli-why.c - `postino why ADDR`: why a user cannot log in, send or
 * receive (F31), from live state and the journal.
 *
 * The answer comes first, one line per direction, in the words an admin
 * repeats to the user ("can log in: no - account disabled by ... Fix:
 * ..."); then every check with its evidence. --json prints the same
 * report as data (doctor/why.c builds both), for tools and the API.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/config.h"
#include "doctor/why.h"
#include "cli/cli.h"
#include "cli/commands.h"

#define TIME_TEXT_MAX 32
#define CHECK_ID_WIDTH 17
#define ROWS_SHOWN WHY_ROWS_PER_FINDING

static const char *const dir_labels[WHY_DIR_COUNT] = {
	"can log in:", "can send:", "can receive:",
};

/* The direction options, in enum why_dir order. */
static const struct {
	const char *option;
	unsigned dir;
} dir_options[] = {
	{ "--login", WHY_LOGIN },
	{ "--send", WHY_SEND },
	{ "--receive", WHY_RECEIVE },
};

static void print_verdict(const struct why_report *report, size_t d)
{
	const struct why_verdict *v = &report->verdicts[d];
	size_t problems = 0;

	for (size_t i = 0; i < report->count; i++) {
		const struct why_finding *f = &report->findings[i];
		if (!(f->dirs & (1u << d)))
			continue;
		problems += f->status == WHY_PROBLEM;
	}
	printf("%-13s", dir_labels[d]);
	if (v->status == WHY_PROBLEM) {
		printf("no — %s.", v->cause->summary);
		if (v->cause->fix != NULL)
			printf(" Fix: %s", v->cause->fix);
		if (problems > 1)
			printf(" (and %zu more problem%s below)", problems - 1,
			       problems > 2 ? "s" : "");
		putchar('\n');
		return;
	}
	if (v->status == WHY_OK) {
		printf("yes\n");
		return;
	}
	printf("yes, but:");
	for (size_t i = 0, n = 0; i < report->count; i++) {
		const struct why_finding *f = &report->findings[i];
		if ((f->dirs & (1u << d)) && f->status == WHY_NOTE)
			printf("%s %s", n++ > 0 ? ";" : "", f->summary);
	}
	printf(".\n");
}

static void print_row(const struct journal_row *r)
{
	char when[TIME_TEXT_MAX];

	time_format_iso(r->time_ms / 1000, when, sizeof(when));
	printf("%*s journal: %s %s %s %s", CHECK_ID_WIDTH + 10, "", when, r->service, r->decision,
	       r->reason);
	if (r->actor != NULL)
		printf(" actor=%s", r->actor);
	if (r->ip != NULL)
		printf(" ip=%s", r->ip);
	if (r->detail != NULL)
		printf(" -- %s", r->detail);
	putchar('\n');
}

static void print_finding(const struct why_finding *f)
{
	static const char *const marks[] = {
		[WHY_OK] = "ok", [WHY_NOTE] = "NOTE", [WHY_PROBLEM] = "PROBLEM",
		[WHY_SKIPPED] = "-",
	};

	printf("  %-7s %-*s %s\n", marks[f->status], CHECK_ID_WIDTH, f->check->id, f->summary);
	if (f->status == WHY_SKIPPED)
		return;
	for (size_t i = 0; i < f->evidence_count; i++)
		printf("%*s %s: %s\n", CHECK_ID_WIDTH + 10, "", f->evidence[i].label,
		       f->evidence[i].value);
	if (f->status != WHY_OK) {
		for (size_t i = 0; i < f->row_count && i < ROWS_SHOWN; i++)
			print_row(&f->rows[i]);
	}
	if (f->status != WHY_OK && f->fix != NULL)
		printf("%*s fix: %s\n", CHECK_ID_WIDTH + 10, "", f->fix);
}

static void print_report(const struct why_report *report)
{
	char when[TIME_TEXT_MAX];

	time_format_iso(report->now_ms / 1000, when, sizeof(when));
	printf("%s (checked %s)\n", report->address, when);
	for (size_t d = 0; d < WHY_DIR_COUNT; d++) {
		if (report->verdicts[d].status != WHY_SKIPPED)
			print_verdict(report, d);
	}
	printf("\nchecks:\n");
	for (size_t i = 0; i < report->count; i++)
		print_finding(&report->findings[i]);
}

static int cmd_why(struct cli *cli, int argc, char **argv)
{
	struct why_input in = { .now_ms = time_now() * 1000, .history_ms = WHY_HISTORY_DEFAULT_MS };
	struct why_report report;
	struct config *cfg;
	const char *error;
	struct db *db;

	for (int i = 0; i < argc; i++) {
		const char *v;
		bool matched = false;
		for (size_t o = 0; o < N_ELEMENTS(dir_options); o++) {
			if (strcmp(argv[i], dir_options[o].option) == 0) {
				in.dirs |= dir_options[o].dir;
				matched = true;
			}
		}
		if (matched)
			continue;
		if ((v = cli_opt_value(argc, argv, &i, "--from")) != NULL)
			in.from = v;
		else if ((v = cli_opt_value(argc, argv, &i, "--since")) != NULL) {
			int64_t secs;
			if (time_parse_duration(v, &secs) < 0 || secs <= 0)
				return cli_usage(cli, "--since: '%s' is not an age (30m, 2h, 7d)", v);
			in.history_ms = secs * 1000;
		} else if (argv[i][0] == '-')
			return cli_usage(cli, "unknown option or missing value: '%s'", argv[i]);
		else if (in.address == NULL)
			in.address = argv[i];
		else
			return cli_usage(cli, "unexpected argument '%s'", argv[i]);
	}
	if (in.address == NULL)
		return cli_usage(cli, "which address?");
	if (in.dirs == 0)
		in.dirs = WHY_DIRS_ALL;
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	cfg = cli_load_config(cli);
	in.cfg = cfg;
	in.data_dir = cli->data_dir;
	if (why_run(db, &in, &report, &error) < 0) {
		config_free(&cfg);
		return cli_refuse(cli, "%s: %s", in.address, error);
	}
	if (cli->json)
		cli_print_json(why_report_json(&report));
	else
		print_report(&report);
	why_report_free(&report);
	config_free(&cfg);
	return CLI_OK;
}

const struct cli_command cli_why_commands[] = {
	{ "why", cmd_why, "ADDR [--login|--send|--receive] [--from SENDER] [--since AGE] [--json]",
	  "why a mailbox cannot log in, send or receive: verdicts, evidence, fixes" },
};
const size_t cli_why_commands_count = N_ELEMENTS(cli_why_commands);
