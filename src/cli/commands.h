/* SPDX-License-Identifier: ISC */
/*
 * commands.h - each cli-*.c exports one table of its subcommands; main.c
 * concatenates them. Adding a command group = one file + one line here
 * + one row in main.c's group list.
 */
#ifndef POSTINO_CLI_COMMANDS_H
#define POSTINO_CLI_COMMANDS_H

#include "cli/cli.h"

#define CLI_GROUP(name)                                      \
	extern const struct cli_command cli_##name##_commands[]; \
	extern const size_t cli_##name##_commands_count

CLI_GROUP(init);
CLI_GROUP(serve);
CLI_GROUP(domain);
CLI_GROUP(user);
CLI_GROUP(alias);
CLI_GROUP(autoreply);
CLI_GROUP(log);
CLI_GROUP(reasons);
CLI_GROUP(screen);
CLI_GROUP(why);
CLI_GROUP(route);
CLI_GROUP(dkim);
CLI_GROUP(queue);

#endif
