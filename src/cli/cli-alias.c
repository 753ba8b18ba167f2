/* SPDX-License-Identifier: ISC */
/*
 * cli-alias.c - `postino alias add|del|list`.
 *
 * ALIAS is "name@domain" or "@domain" for the domain's catch-all. `add`
 * on an existing alias adds targets; `del` with targets removes only
 * those, without targets the whole alias.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "mail/addr.h"
#include "directory/directory.h"
#include "cli/cli.h"
#include "cli/commands.h"

/* targets_text - "a@x,b@y" in canonical form, for the journal and the
 * human listing. */
static char *targets_text(const char *const *targets, size_t count)
{
	const char *error;
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < count; i++) {
		char *t;
		if (addr_normalize(targets[i], &t, &error) < 0)
			t = xstrdup(targets[i]);
		int ret = buf_printf(&b, "%s%s", i > 0 ? "," : "", t);
		free(t);
		if (ret < 0)
			break;
	}
	char *text = xstrdup(b.len > 0 ? b.data : "");
	buf_release(&b);
	return text;
}

/* check_args - ALIAS then TARGETs, no options. */
static int check_args(struct cli *cli, int argc, char **argv, int min)
{
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] == '-')
			return cli_usage(cli, "unknown option '%s'", argv[i]);
	}
	if (argc < min)
		return cli_usage(cli, argc == 0 ? "which alias?" : "which target(s)?");
	return 0;
}

/* canonical - the alias as stored, for the journal and messages. */
static char *canonical(struct db *db, const char *in)
{
	struct alias a;
	char *name;

	if (alias_get(db, in, &a) <= 0)
		return xstrdup(in);
	name = xstrdup(a.address);
	alias_clear(&a);
	return name;
}

static int cmd_alias_add(struct cli *cli, int argc, char **argv)
{
	struct directory_error error;
	struct db *db;
	int ret;

	if ((ret = check_args(cli, argc, argv, 2)) != 0)
		return ret;
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	if (alias_add(db, argv[0], (const char *const *)argv + 1, (size_t)argc - 1, &error) < 0)
		return cli_refuse(cli, "%s", error.text);
	char *name = canonical(db, argv[0]);
	char *targets = targets_text((const char *const *)argv + 1, (size_t)argc - 1);
	cli_journal_change(cli, "admin.alias-add", name, "targets=%s", targets);
	printf("alias %s -> %s\n", name, targets);
	free(targets);
	free(name);
	return CLI_OK;
}

static int cmd_alias_del(struct cli *cli, int argc, char **argv)
{
	struct directory_error error;
	struct db *db;
	int ret;

	if ((ret = check_args(cli, argc, argv, 1)) != 0)
		return ret;
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	/* before the delete: the alias may be gone afterwards */
	char *name = canonical(db, argv[0]);
	if (alias_del(db, argv[0], (const char *const *)argv + 1, (size_t)argc - 1, &error) < 0) {
		free(name);
		return cli_refuse(cli, "%s", error.text);
	}
	if (argc == 1) {
		cli_journal_change(cli, "admin.alias-del", name, "whole alias");
		printf("alias %s deleted\n", name);
	} else {
		char *targets = targets_text((const char *const *)argv + 1, (size_t)argc - 1);
		cli_journal_change(cli, "admin.alias-del", name, "targets=%s", targets);
		printf("alias %s: removed %s\n", name, targets);
		free(targets);
	}
	free(name);
	return CLI_OK;
}

static json_t *alias_json(const struct alias *a)
{
	json_t *targets = json_array();

	for (size_t i = 0; i < a->target_count; i++)
		json_array_append_new(targets, json_string(a->targets[i]));
	return json_pack("{s:s, s:s, s:b, s:o}", "address", a->address, "domain", a->domain,
			 "catch_all", a->address[0] == '@', "targets", targets);
}

static int cmd_alias_list(struct cli *cli, int argc, char **argv)
{
	struct alias *aliases;
	size_t count, width = strlen("ALIAS");
	const char *domain;
	struct db *db;
	int ret;

	if ((ret = cli_domain_filter(cli, argc, argv, &db, &domain)) != CLI_OK)
		return ret;
	if (alias_list(db, domain, &aliases, &count) < 0)
		return cli_refuse(cli, "cannot list aliases: %s", db_errmsg(db));
	if (cli->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < count; i++)
			json_array_append_new(arr, alias_json(&aliases[i]));
		cli_print_json(arr);
	} else {
		for (size_t i = 0; i < count; i++)
			width = strlen(aliases[i].address) > width ? strlen(aliases[i].address) : width;
		printf("%-*s  %s\n", (int)width, "ALIAS", "TARGETS");
		for (size_t i = 0; i < count; i++) {
			char *targets = targets_text((const char *const *)aliases[i].targets,
						     aliases[i].target_count);
			printf("%-*s  %s\n", (int)width, aliases[i].address, targets);
			free(targets);
		}
	}
	aliases_free(&aliases, count);
	return CLI_OK;
}

const struct cli_command cli_alias_commands[] = {
	{ "alias add", cmd_alias_add, "ALIAS TARGET...",
	  "add an alias or targets to it (@domain = catch-all)" },
	{ "alias del", cmd_alias_del, "ALIAS [TARGET...]", "delete an alias or some targets" },
	{ "alias list", cmd_alias_list, "[DOMAIN] [--json]", "list aliases and their targets" },
};
const size_t cli_alias_commands_count = N_ELEMENTS(cli_alias_commands);
