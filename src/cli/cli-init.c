/* SPDX-License-Identifier: ISC */
/*
 * cli-init.c - `postino init`: create a data directory that works at once.
 *
 * postino.conf is written last: it is the marker of a finished init, so an
 * init that failed half-way can simply be run again, and an init over a
 * finished directory refuses without touching anything.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/fs.h"
#include "lib/str.h"
#include "core/config.h"
#include "core/tls.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "directory/schema.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#define INIT_DEFAULT_USER "postino"

/* Subdirectories of the data directory (DESIGN.md "Storage"). */
static const struct {
	const char *name;
	mode_t mode;
} subdirs[] = {
	{ "tls", 0750 }, { "dkim", 0750 }, { "mail", 0750 }, { "queue", 0750 }, { "backup", 0750 },
};

/* init_choose_user - the account the daemon will drop to. */
static int init_choose_user(struct cli *cli, struct config *cfg, bool user_given)
{
	char *error;

	if (!user_given && geteuid() == 0) {
		if (getpwnam(INIT_DEFAULT_USER) == NULL)
			return cli_refuse(cli, "running as root, but there is no '%s' system user to "
					       "run the server as: create it (scripts/deps does) or "
					       "pass --set user=NAME", INIT_DEFAULT_USER);
		if (config_set(cfg, "user", INIT_DEFAULT_USER, &error) < 0)
			panic("init: %s", error);
	}
	if (cfg->user[0] != '\0' && getpwnam(cfg->user) == NULL)
		return cli_refuse(cli, "user '%s' does not exist on this system", cfg->user);
	return 0;
}

static int init_create_tls(struct cli *cli, const struct config *cfg)
{
	char *cert = config_path(cli->data_dir, cfg->tls_cert);
	char *key = config_path(cli->data_dir, cfg->tls_key);
	struct stat st;
	char *error;
	int ret = 0;

	if (stat(cert, &st) == 0 && stat(key, &st) == 0) {
		printf("using existing certificate %s\n", cert);
	} else if (tls_selfsigned_create(cfg->hostname, cert, key, &error) < 0) {
		ret = cli_refuse(cli, "cannot create a self-signed certificate: %s", error);
		free(error);
	} else {
		printf("created a self-signed certificate for %s in %s\n", cfg->hostname, cert);
	}
	free(cert);
	free(key);
	return ret;
}

static int cmd_init(struct cli *cli, int argc, char **argv)
{
	struct config *cfg = config_new_defaults();
	bool user_given = false;
	char *path = NULL, *error;
	struct stat st;
	int ret = CLI_REFUSED;

	for (int i = 0; i < argc; i++) {
		const char *v;
		if ((v = cli_opt_value(argc, argv, &i, "--hostname")) != NULL) {
			if (config_set(cfg, "hostname", v, &error) < 0)
				goto usage;
		} else if ((v = cli_opt_value(argc, argv, &i, "--set")) != NULL) {
			char *kv = xstrdup(v), *eq = strchr(kv, '=');
			int r = -1;
			if (eq == NULL)
				error = xasprintf("--set needs key=value, got '%s'", v);
			else {
				*eq = '\0';
				r = config_set(cfg, kv, eq + 1, &error);
				user_given |= strcmp(kv, "user") == 0;
			}
			free(kv);
			if (r < 0)
				goto usage;
		} else {
			error = xasprintf("unexpected argument '%s'", argv[i]);
			goto usage;
		}
	}

	path = xasprintf("%s/%s", cli->data_dir, CONFIG_FILE_NAME);
	if (stat(path, &st) == 0) {
		ret = cli_refuse(cli, "%s is already initialised (%s exists); nothing changed",
				 cli->data_dir, path);
		goto out;
	}
	if (init_choose_user(cli, cfg, user_given) != 0)
		goto out;
	if (mkdir_p(cli->data_dir, 0755) < 0) {
		ret = cli_refuse(cli, "cannot create %s: %s", cli->data_dir, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < N_ELEMENTS(subdirs); i++) {
		char *dir = xasprintf("%s/%s", cli->data_dir, subdirs[i].name);
		int r = mkdir(dir, subdirs[i].mode);
		int err = errno;
		free(dir);
		if (r < 0 && err != EEXIST) {
			ret = cli_refuse(cli, "cannot create %s/%s: %s", cli->data_dir,
					 subdirs[i].name, strerror(err));
			goto out;
		}
	}
	if (schema_open(cli->data_dir, true, &cli->db, &error) < 0) {
		ret = cli_refuse(cli, "%s", error);
		free(error);
		goto out;
	}
	if (init_create_tls(cli, cfg) != 0)
		goto out;
	if (config_write(cfg, path, &error) < 0) {
		ret = cli_refuse(cli, "%s", error);
		free(error);
		goto out;
	}
	if (cfg->user[0] != '\0' && geteuid() == 0) {
		struct passwd *pw = getpwnam(cfg->user);
		if (pw == NULL || chown_tree(cli->data_dir, pw->pw_uid, pw->pw_gid) < 0) {
			ret = cli_refuse(cli, "cannot give %s to user %s: %s", cli->data_dir,
					 cfg->user, strerror(errno));
			goto out;
		}
	}
	cli_journal_change(cli, "admin.init", NULL, "hostname=%s", cfg->hostname);
	printf("initialised %s for %s\n", cli->data_dir, cfg->hostname);
	for (int k = 0; k < LISTENER_COUNT; k++)
		printf("  %-18s %s\n", config_listener_key((enum listener_kind)k), cfg->listen[k]);
	printf("start it with: postino serve --data %s\n", cli->data_dir);
	ret = CLI_OK;
	goto out;
usage:
	ret = cli_usage(cli, "%s", error);
	free(error);
out:
	free(path);
	config_free(&cfg);
	return ret;
}

const struct cli_command cli_init_commands[] = {
	{ "init", cmd_init, "[--hostname FQDN] [--set key=value ...]",
	  "create a data directory (config, database, self-signed certificate)" },
};
const size_t cli_init_commands_count = N_ELEMENTS(cli_init_commands);
