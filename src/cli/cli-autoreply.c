/* SPDX-License-Identifier: ISC */
/*
 * cli-autoreply.c - `postino autoreply set|off|show`: a mailbox's
 * out-of-office answer (F14).
 */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "directory/autoreply.h"
#include "directory/directory.h"

#define DATE_ONLY_LEN 10 /* "2026-12-24": --until means the end of that day */

/* read_body - the text from a file, or stdin for "-". */
static int read_body(struct cli *cli, const char *path, char **body_r)
{
	size_t len = 0, cap = 0;
	char *data = NULL;

	if (strcmp(path, "-") != 0) {
		if (file_read_all(path, AUTOREPLY_BODY_MAX, body_r, NULL) < 0)
			return cli_refuse(cli, "cannot read %s: %s", path,
					  errno == EFBIG ? "longer than 64 KiB" : strerror(errno));
		return 0;
	}
	for (;;) {
		if (len + 4096 + 1 > cap)
			data = xrealloc(data, cap = len + 4096 + 1);
		size_t n = fread(data + len, 1, 4096, stdin);
		len += n;
		if (len > AUTOREPLY_BODY_MAX) {
			free(data);
			return cli_refuse(cli, "the text on standard input is longer than 64 KiB");
		}
		if (n == 0)
			break;
	}
	data[len] = '\0';
	*body_r = data;
	return 0;
}

static int parse_date(struct cli *cli, const char *opt, const char *value, bool end_of_day,
		      int64_t *t_r)
{
	if (strlen(value) < DATE_ONLY_LEN || time_parse_when(value, time_now(), t_r) < 0)
		return cli_usage(cli, "%s: '%s' is not a date like 2026-12-24 or 2026-12-24T18:00",
				 opt, value);
	if (end_of_day && strlen(value) == DATE_ONLY_LEN)
		*t_r += 86400;
	return 0;
}

static void describe_window(const struct autoreply *ar, char *dst, size_t size)
{
	char from[32] = "now", until[32] = "turned off";

	if (ar->starts_at != 0)
		time_format_iso(ar->starts_at, from, sizeof(from));
	if (ar->ends_at != 0)
		time_format_iso(ar->ends_at, until, sizeof(until));
	snprintf(dst, size, "from=%s until=%s interval=%" PRId64 "s", from, until, ar->interval);
}

static int cmd_autoreply_set(struct cli *cli, int argc, char **argv)
{
	struct autoreply ar = { .interval = AUTOREPLY_INTERVAL_DEFAULT };
	const char *address = NULL, *body_file = NULL;
	struct directory_error error;
	char window[160];
	struct db *db;
	int ret;

	for (int i = 0; i < argc; i++) {
		const char *v;
		if ((v = cli_opt_value(argc, argv, &i, "--subject")) != NULL)
			ar.subject = (char *)v;
		else if ((v = cli_opt_value(argc, argv, &i, "--body-file")) != NULL)
			body_file = v;
		else if ((v = cli_opt_value(argc, argv, &i, "--from")) != NULL) {
			if (parse_date(cli, "--from", v, false, &ar.starts_at) != 0)
				return CLI_USAGE;
		} else if ((v = cli_opt_value(argc, argv, &i, "--until")) != NULL) {
			if (parse_date(cli, "--until", v, true, &ar.ends_at) != 0)
				return CLI_USAGE;
		} else if ((v = cli_opt_value(argc, argv, &i, "--interval")) != NULL) {
			if (time_parse_duration(v, &ar.interval) < 0 || ar.interval <= 0)
				return cli_usage(cli, "--interval: '%s' is not a duration like 1d or 12h", v);
		} else if (argv[i][0] != '-' && address == NULL)
			address = argv[i];
		else
			return cli_usage(cli, "unexpected argument '%s'", argv[i]);
	}
	if (address == NULL || body_file == NULL)
		return cli_usage(cli, "an address and --body-file are required");
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	char *body;
	if (read_body(cli, body_file, &body) != 0)
		return CLI_REFUSED;
	ar.body = body;
	if (autoreply_set(db, address, &ar, &error) < 0) {
		ret = cli_refuse(cli, "%s", error.text);
	} else {
		describe_window(&ar, window, sizeof(window));
		struct account a = { .id = 0 };
		bool found = account_get(db, address, &a) == 1;
		const char *who = found ? a.address : address;
		cli_journal_change(cli, "admin.autoreply-set", who, "%s", window);
		printf("autoreply on for %s (%s)\n", who, window);
		if (found)
			account_clear(&a);
		ret = CLI_OK;
	}
	free(body);
	return ret;
}

static int cmd_autoreply_off(struct cli *cli, int argc, char **argv)
{
	struct directory_error error;
	struct account a;
	struct db *db;

	if (argc != 1 || argv[0][0] == '-')
		return cli_usage(cli, NULL);
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	if (autoreply_off(db, argv[0], &error) < 0)
		return cli_refuse(cli, "%s", error.text);
	if (account_get(db, argv[0], &a) == 1) {
		cli_journal_change(cli, "admin.autoreply-off", a.address, NULL);
		account_clear(&a);
	}
	printf("autoreply off for %s\n", argv[0]);
	return CLI_OK;
}

static int cmd_autoreply_show(struct cli *cli, int argc, char **argv)
{
	struct autoreply ar;
	struct db *db;
	int ret;

	if (argc != 1 || argv[0][0] == '-')
		return cli_usage(cli, NULL);
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	struct account a;
	if ((ret = account_get(db, argv[0], &a)) != 1)
		return ret < 0 ? cli_refuse(cli, "cannot read mailboxes: %s", db_errmsg(db))
			       : cli_refuse(cli, "no mailbox %s", argv[0]);
	account_clear(&a);
	if ((ret = autoreply_get(db, argv[0], &ar)) < 0)
		return cli_refuse(cli, "cannot read autoreplies: %s", db_errmsg(db));
	bool active = ret == 1 && autoreply_in_window(&ar, time_now());
	if (cli->json) {
		json_t *o = json_pack("{s:b, s:b}", "set", ret == 1, "active", active);
		if (ret == 1) {
			json_object_set_new(o, "subject", ar.subject != NULL ? json_string(ar.subject)
									     : json_null());
			json_object_set_new(o, "body", json_string(ar.body));
			json_object_set_new(o, "from", json_integer(ar.starts_at));
			json_object_set_new(o, "until", json_integer(ar.ends_at));
			json_object_set_new(o, "interval", json_integer(ar.interval));
		}
		cli_print_json(o);
	} else if (ret == 0) {
		printf("no autoreply\n");
	} else {
		char window[160];
		describe_window(&ar, window, sizeof(window));
		printf("%-9s %s\n%-9s %s\n%-9s %s\n\n%s", "state", active ? "active" : "inactive (outside its dates)",
		       "window", window, "subject",
		       ar.subject != NULL ? ar.subject : "Auto: <original subject>", ar.body);
		if (ar.body[0] != '\0' && ar.body[strlen(ar.body) - 1] != '\n')
			putchar('\n');
	}
	autoreply_clear(&ar);
	return CLI_OK;
}

const struct cli_command cli_autoreply_commands[] = {
	{ "autoreply set", cmd_autoreply_set,
	  "ADDR --body-file FILE|- [--subject S] [--from DATE] [--until DATE] [--interval 7d]",
	  "turn on a mailbox's autoresponder (RFC 3834)" },
	{ "autoreply off", cmd_autoreply_off, "ADDR", "turn the autoresponder off" },
	{ "autoreply show", cmd_autoreply_show, "ADDR [--json]", "the autoresponder's settings" },
};
const size_t cli_autoreply_commands_count = N_ELEMENTS(cli_autoreply_commands);
