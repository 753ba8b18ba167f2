/* SPDX-License-Identifier: ISC */
/*
 * main.c - `postino <command> [args]`: find the subcommand in the command
 * tables and run it. Global options (--data DIR, --json) may appear
 * anywhere; everything else belongs to the subcommand.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "cli/cli.h"
#include "cli/commands.h"

#include <pwd.h>
#include <unistd.h>

#define DEFAULT_DATA_DIR "/var/lib/postino"
#define COMMAND_WORDS_MAX 2

struct command_group {
	const struct cli_command *commands;
	const size_t *count;
};

#define GROUP(name) { cli_##name##_commands, &cli_##name##_commands_count }
static const struct command_group groups[] = {
	GROUP(init), GROUP(serve), GROUP(domain), GROUP(user),
	GROUP(alias), GROUP(autoreply), GROUP(log), GROUP(reasons),
	GROUP(screen), GROUP(why), GROUP(route), GROUP(dkim), GROUP(queue),
};

static void usage_all(FILE *fp)
{
	fprintf(fp, "usage: postino [--data DIR] [--json] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t g = 0; g < N_ELEMENTS(groups); g++) {
		for (size_t i = 0; i < *groups[g].count; i++) {
			const struct cli_command *c = &groups[g].commands[i];
			fprintf(fp, "  %-14s %-44s %s\n", c->name, c->usage, c->help);
		}
	}
	fprintf(fp, "\nDIR defaults to $POSTINO_DATA, then %s.\n", DEFAULT_DATA_DIR);
}

/* find_command - the command whose name matches the most leading words. */
static const struct cli_command *find_command(int argc, char **argv, int *words_r)
{
	for (int words = COMMAND_WORDS_MAX; words >= 1; words--) {
		if (argc < words)
			continue;
		char name[128] = "";
		for (int w = 0; w < words; w++) {
			if (w > 0)
				strncat(name, " ", sizeof(name) - strlen(name) - 1);
			strncat(name, argv[w], sizeof(name) - strlen(name) - 1);
		}
		for (size_t g = 0; g < N_ELEMENTS(groups); g++) {
			for (size_t i = 0; i < *groups[g].count; i++) {
				if (strcmp(groups[g].commands[i].name, name) == 0) {
					*words_r = words;
					return &groups[g].commands[i];
				}
			}
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct cli cli = { .data_dir = getenv("POSTINO_DATA") };
	char **args = xcalloc((size_t)argc + 1, sizeof(*args));
	int nargs = 0, words, ret;

	/* strip the global options, wherever they are */
	for (int i = 1; i < argc; i++) {
		const char *v;
		if ((v = cli_opt_value(argc, argv, &i, "--data")) != NULL)
			cli.data_dir = v;
		else if (strcmp(argv[i], "--json") == 0)
			cli.json = true;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage_all(stdout);
			free(args);
			return CLI_OK;
		} else if (strcmp(argv[i], "--data") == 0) {
			fprintf(stderr, "postino: --data needs a directory\n");
			free(args);
			return CLI_USAGE;
		} else
			args[nargs++] = argv[i];
	}
	if (cli.data_dir == NULL || cli.data_dir[0] == '\0')
		cli.data_dir = DEFAULT_DATA_DIR;

	const struct cli_command *cmd = find_command(nargs, args, &words);
	if (cmd == NULL) {
		if (nargs > 0)
			fprintf(stderr, "postino: unknown command '%s'\n", args[0]);
		usage_all(stderr);
		free(args);
		return CLI_USAGE;
	}
	struct passwd *pw = getpwuid(getuid());
	cli.actor = xasprintf("cli:%s", pw != NULL ? pw->pw_name : "unknown");
	cli.command = cmd->name;
	cli.usage = cmd->usage;
	ret = cmd->fn(&cli, nargs - words, args + words);
	db_close(&cli.db);
	free(cli.actor);
	free(args);
	return ret;
}
