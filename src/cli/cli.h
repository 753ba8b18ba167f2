/* SPDX-License-Identifier: ISC */
/*
 * cli.h - what every `postino` subcommand shares: the data directory, the
 * database, --json output, exit codes and the admin journal.
 *
 * Exit codes (DESIGN.md): 0 success, 1 refused (one line on stderr),
 * 2 usage error.
 */
#ifndef POSTINO_CLI_H
#define POSTINO_CLI_H

#include "lib/lib.h"
#include "core/db.h"
#include "core/journal.h"

#include <jansson.h>

struct config;

enum cli_exit {
	CLI_OK = 0,
	CLI_REFUSED = 1,
	CLI_USAGE = 2,
};

struct cli {
	const char *data_dir; /* --data, $POSTINO_DATA or /var/lib/postino */
	bool json;            /* --json was given */
	const char *command;  /* "user add", for messages */
	const char *usage;    /* the command's usage line */
	struct db *db;        /* opened on demand by cli_db() */
	char *actor;          /* "cli:<login name>" for the journal */
};

/* argv[0] is the first argument after the command words ("user add" X ...). */
typedef int cli_fn(struct cli *cli, int argc, char **argv);

struct cli_command {
	const char *name;  /* "user add" */
	cli_fn *fn;
	const char *usage; /* arguments after the name */
	const char *help;  /* one line */
};

/* The database, opened and migrated on first use; NULL after printing a
 * refusal (data directory missing or not initialised). */
struct db *cli_db(struct cli *cli);
/* postino.conf of the data directory as the server reads it; the defaults
 * (with a warning on stderr) when it cannot be read. Free with config_free. */
struct config *cli_load_config(struct cli *cli);
/* Print "postino: <message>" to stderr and return CLI_REFUSED. */
int cli_refuse(struct cli *cli, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
/* Print the usage of cli->command (with an optional complaint) and return
 * CLI_USAGE. */
int cli_usage(struct cli *cli, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
/* Journal an admin change made by this CLI invocation. */
void cli_journal_change(struct cli *cli, const char *reason, const char *account,
			const char *fmt, ...) ATTR_FORMAT(printf, 4, 5);
/* Print a JSON value (pretty, sorted keys) to stdout and release it. */
void cli_print_json(json_t *value);
/* Read a password from stdin (first line, without CR/LF), bounded. */
int cli_read_password_stdin(struct cli *cli, char **password_r);
/* When running as root, give a file or tree created by the CLI to the
 * data directory's owner, so the daemon (after dropping privileges) can
 * use it. */
void cli_chown_like_data_dir(struct cli *cli, const char *path);

/* The optional DOMAIN argument of a listing ("user list [DOMAIN]"): opens
 * the database and checks that the domain exists. CLI_OK with domain_r
 * NULL when none was given; otherwise the exit code to return. */
int cli_domain_filter(struct cli *cli, int argc, char **argv, struct db **db_r,
		      const char **domain_r);

/* Options parsing helper: argv[i] is "--name VALUE" or "--name=VALUE";
 * returns the value and advances *i, or NULL when argv[i] is not --name. */
const char *cli_opt_value(int argc, char **argv, int *i, const char *name);

#endif
