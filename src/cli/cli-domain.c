/* SPDX-License-Identifier: ISC */
/*
 * cli-domain.c - `postino domain add|set|del|list|show`.
 *
 * The rules live in directory/; this file turns arguments into calls,
 * refusals into "postino: ..." lines (exit 1) and malformed command lines
 * into usage errors (exit 2), and journals every change.
 */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "mail/addr.h"
#include "directory/directory.h"
#include "directory/sendlimit.h"
#include "cli/cli.h"
#include "cli/commands.h"

#define SIZE_TEXT_MAX 32
#define TIME_TEXT_MAX 32

/* The numbers shown by list and show, gathered once. */
struct domain_view {
	const struct domain *d;
	uint64_t used_bytes;
};

static uint64_t domain_used(struct cli *cli, const char *name)
{
	char *path = xasprintf("%s/mail/%s", cli->data_dir, name);
	uint64_t used = dir_size(path);

	free(path);
	return used;
}

static json_t *domain_json(const struct domain_view *v)
{
	char created[TIME_TEXT_MAX];

	time_format_iso(v->d->created_at, created, sizeof(created));
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:I}", "name", v->d->name,
			 "max_accounts", (json_int_t)v->d->max_accounts, "quota_bytes",
			 (json_int_t)v->d->quota_bytes, "mailboxes",
			 (json_int_t)v->d->account_count, "aliases", (json_int_t)v->d->alias_count,
			 "used_bytes", (json_int_t)v->used_bytes, "created_at", created,
			 "password_max_age_days", (json_int_t)v->d->password_max_age_days);
}

/* format_limit - "unlimited" for 0, else a count or a size. */
static void format_limit(uint64_t value, bool size, char *dst, size_t dst_size)
{
	if (value == 0)
		snprintf(dst, dst_size, "unlimited");
	else if (size)
		size_format(value, dst, dst_size);
	else
		snprintf(dst, dst_size, "%" PRIu64, value);
}

/* send_limits_show - the domain's hijack limits (directory/sendlimit.h):
 * its own, or the server's limits.send-* ("default"). */
static int send_limits_show(struct cli *cli, struct db *db, const char *name, json_t *obj)
{
	int64_t limit[2];
	static const char *const keys[2] = { "send-messages", "send-recipients" };
	static const char *const json_keys[2] = { "send_messages", "send_recipients" };

	if (sendlimit_domain_get(db, name, &limit[0], &limit[1]) < 0)
		return cli_refuse(cli, "cannot read domains: %s", db_errmsg(db));
	for (size_t i = 0; i < 2; i++) {
		if (obj != NULL)
			json_object_set_new(obj, json_keys[i],
					    limit[i] < 0 ? json_null() : json_integer(limit[i]));
		else if (limit[i] < 0)
			printf("%-14s default (limits.%s per limits.send-window)\n", keys[i], keys[i]);
		else
			printf("%-14s %" PRId64 "%s\n", keys[i], limit[i],
			       limit[i] == 0 ? " (no limit)" : " per limits.send-window");
	}
	return CLI_OK;
}

/* split_settings - "key=value" arguments; NULL after a usage error. */
static struct directory_setting *split_settings(struct cli *cli, int argc, char **argv)
{
	struct directory_setting *settings = xcalloc((size_t)argc, sizeof(*settings));

	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq == NULL || eq == argv[i]) {
			cli_usage(cli, "expected key=value, got '%s'", argv[i]);
			free(settings);
			return NULL;
		}
		*eq = '\0';
		settings[i].key = argv[i];
		settings[i].value = eq + 1;
	}
	return settings;
}

/* normalize_domain - the canonical name, or a refusal printed. */
static int normalize_domain(struct cli *cli, const char *in, char **name_r)
{
	const char *error;

	if (addr_domain_normalize(in, name_r, &error) < 0)
		return cli_refuse(cli, "bad domain '%s': %s", in, error);
	return 0;
}

static int cmd_domain_add(struct cli *cli, int argc, char **argv)
{
	struct directory_error error;
	uint64_t max_accounts = 0, quota = 0;
	char quota_text[SIZE_TEXT_MAX];
	const char *arg = NULL;
	struct db *db;
	char *name;

	for (int i = 0; i < argc; i++) {
		const char *v;
		if ((v = cli_opt_value(argc, argv, &i, "--max-accounts")) != NULL) {
			if (str_to_uint64(v, 0, INT64_MAX, &max_accounts) < 0)
				return cli_usage(cli, "--max-accounts: '%s' is not a number", v);
		} else if ((v = cli_opt_value(argc, argv, &i, "--quota")) != NULL) {
			if (size_parse(v, &quota) < 0)
				return cli_usage(cli, "--quota: '%s' is not a size (0, 500M, 2G)", v);
		} else if (argv[i][0] == '-')
			return cli_usage(cli, "unknown option or missing value: '%s'", argv[i]);
		else if (arg == NULL)
			arg = argv[i];
		else
			return cli_usage(cli, "unexpected argument '%s'", argv[i]);
	}
	if (arg == NULL)
		return cli_usage(cli, "which domain?");
	if (normalize_domain(cli, arg, &name) != 0)
		return CLI_REFUSED;
	if ((db = cli_db(cli)) == NULL) {
		free(name);
		return CLI_REFUSED;
	}
	if (domain_add(db, name, max_accounts, quota, &error) < 0) {
		free(name);
		return cli_refuse(cli, "%s", error.text);
	}
	size_format(quota, quota_text, sizeof(quota_text));
	cli_journal_change(cli, "admin.domain-add", NULL, "domain=%s max-accounts=%" PRIu64
			   " quota=%s", name, max_accounts, quota_text);
	printf("domain %s added\n", name);
	free(name);
	return CLI_OK;
}

static int cmd_domain_set(struct cli *cli, int argc, char **argv)
{
	struct directory_setting *settings;
	struct directory_error error;
	struct db *db;
	char *name, *detail;
	int ret;

	if (argc < 2)
		return cli_usage(cli, argc == 0 ? "which domain?" : "nothing to set");
	if (argv[0][0] == '-')
		return cli_usage(cli, "unknown option '%s'", argv[0]);
	/* the detail is the command line as typed, before split_settings cuts it */
	detail = xstrdup("");
	for (int i = 1; i < argc; i++) {
		char *next = xasprintf("%s%s%s", detail, i > 1 ? " " : "", argv[i]);
		free(detail);
		detail = next;
	}
	if ((settings = split_settings(cli, argc - 1, argv + 1)) == NULL) {
		free(detail);
		return CLI_USAGE;
	}
	name = NULL;
	ret = normalize_domain(cli, argv[0], &name);
	if (ret == 0 && (db = cli_db(cli)) == NULL)
		ret = CLI_REFUSED;
	else if (ret == 0 && domain_set(db, name, settings, (size_t)argc - 1, &error) < 0)
		ret = cli_refuse(cli, "%s", error.text);
	else if (ret == 0) {
		cli_journal_change(cli, "admin.domain-set", NULL, "domain=%s %s", name, detail);
		printf("domain %s changed\n", name);
	}
	free(name);
	free(settings);
	free(detail);
	return ret;
}

/* remove_domain_mail - the Maildirs of the mailboxes a forced delete
 * took with it. */
static void remove_domain_mail(struct cli *cli, const struct account *accounts, size_t count)
{
	const char *error;

	for (size_t i = 0; i < count; i++) {
		if (account_remove_mail(cli->data_dir, accounts[i].domain, accounts[i].local,
					&error) < 0)
			fprintf(stderr, "postino: warning: mail of %s not removed: %s\n",
				accounts[i].address, error);
	}
}

static int cmd_domain_del(struct cli *cli, int argc, char **argv)
{
	struct directory_error error;
	struct account *accounts = NULL;
	size_t count = 0;
	bool force = false, keep_mail = false;
	const char *arg = NULL;
	struct db *db;
	char *name;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (strcmp(argv[i], "--keep-mail") == 0)
			keep_mail = true;
		else if (argv[i][0] == '-')
			return cli_usage(cli, "unknown option '%s'", argv[i]);
		else if (arg == NULL)
			arg = argv[i];
		else
			return cli_usage(cli, "unexpected argument '%s'", argv[i]);
	}
	if (arg == NULL)
		return cli_usage(cli, "which domain?");
	if (normalize_domain(cli, arg, &name) != 0)
		return CLI_REFUSED;
	if ((db = cli_db(cli)) == NULL) {
		free(name);
		return CLI_REFUSED;
	}
	/* remember whose mail to remove before the rows are gone */
	if (force && account_list(db, name, &accounts, &count) < 0) {
		free(name);
		return cli_refuse(cli, "cannot list the mailboxes of %s: %s", arg, db_errmsg(db));
	}
	if (domain_del(db, name, force, &error) < 0) {
		accounts_free(&accounts, count);
		free(name);
		bool in_use = error.reason != NULL && strcmp(error.reason, "directory.in-use") == 0;
		return cli_refuse(cli, "%s%s", error.text, in_use ? " (--force)" : "");
	}
	if (!keep_mail)
		remove_domain_mail(cli, accounts, count);
	cli_journal_change(cli, "admin.domain-del", NULL, "domain=%s mailboxes=%zu%s", name, count,
			   count > 0 ? (keep_mail ? " mail kept" : " mail removed") : "");
	printf("domain %s deleted\n", name);
	accounts_free(&accounts, count);
	free(name);
	return CLI_OK;
}

static int cmd_domain_list(struct cli *cli, int argc, char **argv)
{
	struct domain *domains;
	size_t count, width = strlen("DOMAIN");
	struct db *db;

	if (argc > 0)
		return cli_usage(cli, "unexpected argument '%s'", argv[0]);
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	if (domain_list(db, &domains, &count) < 0)
		return cli_refuse(cli, "cannot list domains: %s", db_errmsg(db));
	json_t *arr = cli->json ? json_array() : NULL;
	for (size_t i = 0; i < count; i++)
		width = strlen(domains[i].name) > width ? strlen(domains[i].name) : width;
	if (!cli->json)
		printf("%-*s  %9s  %9s  %9s  %9s  %7s\n", (int)width, "DOMAIN", "MAILBOXES", "MAX",
		       "QUOTA", "USED", "ALIASES");
	for (size_t i = 0; i < count; i++) {
		struct domain_view v = { &domains[i], domain_used(cli, domains[i].name) };
		char max[SIZE_TEXT_MAX], quota[SIZE_TEXT_MAX], used[SIZE_TEXT_MAX];
		if (arr != NULL) {
			json_t *obj = domain_json(&v);
			(void)send_limits_show(cli, db, v.d->name, obj);
			json_array_append_new(arr, obj);
			continue;
		}
		format_limit(v.d->max_accounts, false, max, sizeof(max));
		format_limit(v.d->quota_bytes, true, quota, sizeof(quota));
		size_format(v.used_bytes, used, sizeof(used));
		printf("%-*s  %9" PRIu64 "  %9s  %9s  %9s  %7" PRIu64 "\n", (int)width, v.d->name,
		       v.d->account_count, max, quota, used, v.d->alias_count);
	}
	if (arr != NULL)
		cli_print_json(arr);
	domains_free(&domains, count);
	return CLI_OK;
}

static int cmd_domain_show(struct cli *cli, int argc, char **argv)
{
	char max[SIZE_TEXT_MAX], quota[SIZE_TEXT_MAX], used[SIZE_TEXT_MAX];
	char created[TIME_TEXT_MAX];
	struct domain d;
	struct db *db;
	int ret;

	if (argc != 1 || argv[0][0] == '-')
		return cli_usage(cli, argc == 0 ? "which domain?" : "unexpected argument '%s'",
				 argv[argc - 1]);
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	if ((ret = domain_get(db, argv[0], &d)) <= 0)
		return ret < 0 ? cli_refuse(cli, "cannot read domains: %s", db_errmsg(db))
			       : cli_refuse(cli, "no domain %s", argv[0]);
	struct domain_view v = { &d, domain_used(cli, d.name) };
	if (cli->json) {
		json_t *obj = domain_json(&v);
		ret = send_limits_show(cli, db, d.name, obj);
		cli_print_json(obj);
	} else {
		format_limit(d.max_accounts, false, max, sizeof(max));
		format_limit(d.quota_bytes, true, quota, sizeof(quota));
		size_format(v.used_bytes, used, sizeof(used));
		time_format_iso(d.created_at, created, sizeof(created));
		printf("%-14s %s\n", "domain", d.name);
		printf("%-14s %" PRIu64 "\n", "mailboxes", d.account_count);
		printf("%-14s %s\n", "max-accounts", max);
		printf("%-14s %s\n", "quota", quota);
		printf("%-14s %s\n", "used", used);
		printf("%-14s %" PRIu64 "\n", "aliases", d.alias_count);
		printf("%-14s %s\n", "created", created);
		if (d.password_max_age_days == 0)
			printf("%-14s 0 (never expires)\n", "password-max-age");
		else
			printf("%-14s %" PRIu64 " days (mailboxes without their own)\n",
			       "password-max-age", d.password_max_age_days);
		ret = send_limits_show(cli, db, d.name, NULL);
	}
	domain_clear(&d);
	return ret;
}

const struct cli_command cli_domain_commands[] = {
	{ "domain add", cmd_domain_add, "DOMAIN [--max-accounts N] [--quota SIZE]",
	  "add a local domain (0 = unlimited)" },
	{ "domain set", cmd_domain_set,
	  "DOMAIN max-accounts=N quota=SIZE password-max-age=DAYS send-messages=N|default "
	  "send-recipients=N|default ...",
	  "change a domain's limits" },
	{ "domain del", cmd_domain_del, "DOMAIN [--force [--keep-mail]]",
	  "delete a domain (--force: with its mailboxes and aliases)" },
	{ "domain list", cmd_domain_list, "[--json]", "list domains with counts and space used" },
	{ "domain show", cmd_domain_show, "DOMAIN [--json]", "a domain's limits and usage" },
};
const size_t cli_domain_commands_count = N_ELEMENTS(cli_domain_commands);
