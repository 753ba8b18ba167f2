/* SPDX-License-Identifier: ISC */
/*
 * cli.c - helpers shared by every subcommand: the database, refusals,
 * usage errors, JSON output, reading a password, and journalling changes.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/fs.h"
#include "cli/cli.h"
#include "core/config.h"
#include "directory/directory.h"
#include "directory/schema.h"

#include <sys/stat.h>
#include <unistd.h>

#define PASSWORD_STDIN_MAX 1024

struct config *cli_load_config(struct cli *cli)
{
	char *path = xasprintf("%s/%s", cli->data_dir, CONFIG_FILE_NAME), *error;
	struct config *cfg;

	if (config_load(path, &cfg, &error) < 0) {
		fprintf(stderr, "postino: warning: %s; using default settings\n", error);
		free(error);
		cfg = config_new_defaults();
	}
	free(path);
	return cfg;
}

struct db *cli_db(struct cli *cli)
{
	char *error;
	char *conf;
	struct stat st;

	if (cli->db != NULL)
		return cli->db;
	conf = xasprintf("%s/postino.conf", cli->data_dir);
	if (stat(conf, &st) < 0) {
		cli_refuse(cli, "%s is not a postino data directory (run 'postino init --data %s')",
			   cli->data_dir, cli->data_dir);
		free(conf);
		return NULL;
	}
	free(conf);
	if (schema_open(cli->data_dir, false, &cli->db, &error) < 0) {
		cli_refuse(cli, "%s", error);
		free(error);
		return NULL;
	}
	return cli->db;
}

int cli_refuse(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fputs("postino: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_REFUSED;
}

int cli_usage(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		fputs("postino: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "usage: postino %s %s\n", cli->command, cli->usage);
	return CLI_USAGE;
}

void cli_journal_change(struct cli *cli, const char *reason, const char *account,
			const char *fmt, ...)
{
	char *detail = NULL;
	va_list ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&detail, fmt, ap) < 0)
			detail = NULL;
		va_end(ap);
	}
	struct journal_entry e = {
		.service = "cli",
		.decision = "change",
		.reason = reason,
		.actor = cli->actor,
		.account = account,
		.detail = detail,
	};
	if (cli->db == NULL || journal_add(cli->db, &e) < 0)
		fprintf(stderr, "postino: warning: change not journalled (%s)\n", reason);
	free(detail);
}

void cli_print_json(json_t *value)
{
	json_dumpf(value, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(value);
}

int cli_read_password_stdin(struct cli *cli, char **password_r)
{
	char buf[PASSWORD_STDIN_MAX + 2];
	size_t len;

	if (fgets(buf, sizeof(buf), stdin) == NULL) {
		cli_refuse(cli, "no password on standard input");
		return -1;
	}
	len = strlen(buf);
	if (len > PASSWORD_STDIN_MAX && buf[len - 1] != '\n') {
		cli_refuse(cli, "password too long (max %d bytes)", PASSWORD_STDIN_MAX);
		return -1;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0) {
		cli_refuse(cli, "empty password");
		return -1;
	}
	*password_r = xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

void cli_chown_like_data_dir(struct cli *cli, const char *path)
{
	struct stat st;

	if (geteuid() != 0 || stat(cli->data_dir, &st) < 0 || st.st_uid == 0)
		return;
	if (chown_tree(path, st.st_uid, st.st_gid) < 0)
		fprintf(stderr, "postino: warning: cannot chown %s: %s\n", path, strerror(errno));
}

const char *cli_opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t len = strlen(name);

	if (strncmp(argv[*i], name, len) != 0)
		return NULL;
	if (argv[*i][len] == '=')
		return argv[*i] + len + 1;
	if (argv[*i][len] == '\0' && *i + 1 < argc) {
		(*i)++;
		return argv[*i];
	}
	return NULL;
}

int cli_domain_filter(struct cli *cli, int argc, char **argv, struct db **db_r,
		      const char **domain_r)
{
	const char *domain = NULL;
	struct domain d;
	struct db *db;
	int ret;

	if (argc > 1 || (argc == 1 && argv[0][0] == '-'))
		return cli_usage(cli, "unexpected argument '%s'", argv[argc - 1]);
	if (argc == 1)
		domain = argv[0];
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	if (domain != NULL) {
		if ((ret = domain_get(db, domain, &d)) <= 0)
			return ret < 0 ? cli_refuse(cli, "cannot read domains: %s", db_errmsg(db))
				       : cli_refuse(cli, "no domain %s", domain);
		domain_clear(&d);
	}
	*db_r = db;
	*domain_r = domain;
	return CLI_OK;
}
