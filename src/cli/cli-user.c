/* SPDX-License-Identifier: ISC */
/*
 * cli-user.c - `postino user add|set|passwd|del|list|show`.
 *
 * Mailboxes as the admin sees them: `show` prints every setting under the
 * same name `set` takes, so what is read can be typed back. Passwords
 * only ever arrive on stdin (never argv, which `ps` shows) and are never
 * printed; `show` says whether one is set and when it expires. A refusal
 * caused by a domain limit is journalled too, so `postino log` explains
 * why a mailbox was not created.
 */
#include "lib/lib.h"
#include "lib/buf.h"
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
#define SHOW_KEY_WIDTH 18

/* The per-service flags, in `user set` key order. */
static const struct {
	const char *key;  /* "can-send" */
	const char *name; /* "send", for the list column */
	size_t offset;
} services[] = {
	{ "can-send", "send", offsetof(struct account, can_send) },
	{ "can-receive", "receive", offsetof(struct account, can_receive) },
	{ "can-imap", "imap", offsetof(struct account, can_imap) },
	{ "can-pop3", "pop3", offsetof(struct account, can_pop3) },
	{ "can-webmail", "webmail", offsetof(struct account, can_webmail) },
};

static bool service_on(const struct account *a, size_t i)
{
	return *(const bool *)((const char *)a + services[i].offset);
}

static uint64_t account_used(struct cli *cli, const struct account *a)
{
	char *path = account_mail_path(cli->data_dir, a->domain, a->local);
	uint64_t used = dir_size(path);

	free(path);
	return used;
}

static json_t *json_time(int64_t t)
{
	char text[TIME_TEXT_MAX];

	if (t == 0)
		return json_null();
	time_format_iso(t, text, sizeof(text));
	return json_string(text);
}

static json_t *json_str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *account_json(struct cli *cli, const struct account *a)
{
	json_t *obj = json_object(), *fwd = json_array();

	json_object_set_new(obj, "address", json_string(a->address));
	json_object_set_new(obj, "domain", json_string(a->domain));
	json_object_set_new(obj, "local", json_string(a->local));
	json_object_set_new(obj, "disabled", json_boolean(a->disabled));
	json_object_set_new(obj, "disabled_reason", json_str_or_null(a->disabled_reason));
	json_object_set_new(obj, "disabled_at", json_time(a->disabled_at));
	json_object_set_new(obj, "disabled_by", json_str_or_null(a->disabled_by));
	for (size_t i = 0; i < N_ELEMENTS(services); i++) {
		char *key = xasprintf("can_%s", services[i].name);
		json_object_set_new(obj, key, json_boolean(service_on(a, i)));
		free(key);
	}
	json_object_set_new(obj, "quota_bytes", json_integer((json_int_t)a->quota_bytes));
	json_object_set_new(obj, "used_bytes", json_integer((json_int_t)account_used(cli, a)));
	json_object_set_new(obj, "max_messages", json_integer((json_int_t)a->max_messages));
	for (size_t i = 0; i < a->forward_count; i++)
		json_array_append_new(fwd, json_string(a->forward[i]));
	json_object_set_new(obj, "forward", fwd);
	json_object_set_new(obj, "forward_keep_copy", json_boolean(a->forward_keep_copy));
	json_object_set_new(obj, "password_set", json_boolean(a->password_hash != NULL));
	json_object_set_new(obj, "password_changed_at", json_time(a->password_changed_at));
	json_object_set_new(obj, "password_max_age_days",
			    json_integer((json_int_t)a->password_max_age_days));
	json_object_set_new(obj, "password_max_age_source",
			    json_string(a->password_max_age_own ? "mailbox" : "domain"));
	json_object_set_new(obj, "password_warned_at", json_time(a->password_warned_at));
	json_object_set_new(obj, "password_expires_at", json_time(password_expires_at(a)));
	json_object_set_new(obj, "password_expired", json_boolean(password_expired(a, time_now())));
	json_object_set_new(obj, "created_at", json_time(a->created_at));
	return obj;
}

/* normalize_address - the canonical address, or a refusal printed. */
static int normalize_address(struct cli *cli, const char *in, char **addr_r)
{
	const char *error;

	if (addr_normalize(in, addr_r, &error) < 0)
		return cli_refuse(cli, "bad address '%s': %s", in, error);
	return 0;
}

/* refuse_change - print the refusal; a domain limit also goes to the
 * journal, since it is a decision an admin may later ask about. */
static int refuse_change(struct cli *cli, const char *addr, const struct directory_error *error)
{
	if (error->reason != NULL && str_has_prefix(error->reason, "domain.")) {
		struct journal_entry e = {
			.service = "cli",
			.decision = "refuse",
			.reason = error->reason,
			.actor = cli->actor,
			.account = addr,
			.detail = error->text,
		};
		if (journal_add(cli->db, &e) < 0)
			fprintf(stderr, "postino: warning: refusal not journalled\n");
	}
	return cli_refuse(cli, "%s", error->text);
}

static int cmd_user_add(struct cli *cli, int argc, char **argv)
{
	struct directory_error error;
	uint64_t quota = 0, max_messages = 0;
	char quota_text[SIZE_TEXT_MAX];
	bool password_stdin = false;
	char *addr = NULL, *password = NULL;
	const char *arg = NULL;
	struct db *db;
	int ret = CLI_REFUSED;

	for (int i = 0; i < argc; i++) {
		const char *v;
		if ((v = cli_opt_value(argc, argv, &i, "--quota")) != NULL) {
			if (size_parse(v, &quota) < 0)
				return cli_usage(cli, "--quota: '%s' is not a size (0, 500M, 2G)", v);
		} else if ((v = cli_opt_value(argc, argv, &i, "--max-messages")) != NULL) {
			if (str_to_uint64(v, 0, INT64_MAX, &max_messages) < 0)
				return cli_usage(cli, "--max-messages: '%s' is not a number", v);
		} else if (strcmp(argv[i], "--password-stdin") == 0)
			password_stdin = true;
		else if (argv[i][0] == '-')
			return cli_usage(cli, "unknown option or missing value: '%s'", argv[i]);
		else if (arg == NULL)
			arg = argv[i];
		else
			return cli_usage(cli, "unexpected argument '%s'", argv[i]);
	}
	if (arg == NULL)
		return cli_usage(cli, "which address?");
	if (normalize_address(cli, arg, &addr) != 0 || (db = cli_db(cli)) == NULL)
		goto out;
	if (password_stdin && cli_read_password_stdin(cli, &password) < 0)
		goto out;
	if (account_add(db, addr, password, quota, max_messages, &error) < 0) {
		refuse_change(cli, addr, &error);
		goto out;
	}
	size_format(quota, quota_text, sizeof(quota_text));
	cli_journal_change(cli, "admin.user-add", addr,
			   "quota=%s max-messages=%" PRIu64 " password=%s", quota_text,
			   max_messages, password != NULL ? "set" : "none");
	printf("mailbox %s added\n", addr);
	if (password == NULL)
		printf("it has no password and cannot log in until: postino user passwd %s "
		       "--password-stdin\n", addr);
	ret = CLI_OK;
out:
	if (password != NULL)
		explicit_bzero(password, strlen(password));
	free(password);
	free(addr);
	return ret;
}

/* journal_set - one record per kind of change: disable/enable carry the
 * reason, everything else is listed as typed. */
static void journal_set(struct cli *cli, const char *addr,
			const struct directory_setting *settings, size_t count)
{
	const char *disabled = NULL, *reason = NULL;
	struct buf detail;

	buf_init(&detail, 0);
	for (size_t i = 0; i < count; i++) {
		if (strcmp(settings[i].key, "disabled") == 0)
			disabled = settings[i].value;
		else if (strcmp(settings[i].key, "reason") == 0)
			reason = settings[i].value;
		else if (buf_printf(&detail, "%s%s=%s", detail.len > 0 ? " " : "",
				    settings[i].key, settings[i].value) < 0)
			break;
	}
	if (disabled != NULL) {
		bool on = false;
		(void)str_to_bool(disabled, &on); /* validated by account_set */
		if (on)
			cli_journal_change(cli, "admin.user-disable", addr, "%s",
					   reason != NULL && reason[0] != '\0' ? reason
									       : "no reason given");
		else
			cli_journal_change(cli, "admin.user-enable", addr, NULL);
	}
	if (detail.len > 0)
		cli_journal_change(cli, "admin.user-set", addr, "%s", detail.data);
	buf_release(&detail);
}

static int cmd_user_set(struct cli *cli, int argc, char **argv)
{
	struct directory_setting *settings;
	struct directory_error error;
	struct db *db;
	char *addr = NULL;
	int ret = CLI_REFUSED;

	if (argc < 2)
		return cli_usage(cli, argc == 0 ? "which address?" : "nothing to set");
	if (argv[0][0] == '-')
		return cli_usage(cli, "unknown option '%s'", argv[0]);
	settings = xcalloc((size_t)argc - 1, sizeof(*settings));
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq == NULL || eq == argv[i]) {
			free(settings);
			return cli_usage(cli, "expected key=value, got '%s'", argv[i]);
		}
		*eq = '\0';
		settings[i - 1] = (struct directory_setting){ argv[i], eq + 1 };
	}
	if (normalize_address(cli, argv[0], &addr) != 0 || (db = cli_db(cli)) == NULL)
		goto out;
	if (account_set(db, addr, settings, (size_t)argc - 1, cli->actor, &error) < 0) {
		refuse_change(cli, addr, &error);
		goto out;
	}
	journal_set(cli, addr, settings, (size_t)argc - 1);
	printf("mailbox %s changed\n", addr);
	ret = CLI_OK;
out:
	free(settings);
	free(addr);
	return ret;
}

static int cmd_user_passwd(struct cli *cli, int argc, char **argv)
{
	struct directory_error error;
	bool password_stdin = false;
	const char *arg = NULL;
	char *addr = NULL, *password = NULL;
	struct db *db;
	int ret = CLI_REFUSED;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--password-stdin") == 0)
			password_stdin = true;
		else if (argv[i][0] == '-')
			return cli_usage(cli, "unknown option '%s'", argv[i]);
		else if (arg == NULL)
			arg = argv[i];
		else
			return cli_usage(cli, "unexpected argument '%s'", argv[i]);
	}
	if (arg == NULL)
		return cli_usage(cli, "which address?");
	if (!password_stdin)
		return cli_usage(cli, "the password is read from standard input: --password-stdin");
	if (normalize_address(cli, arg, &addr) != 0 || (db = cli_db(cli)) == NULL)
		goto out;
	if (cli_read_password_stdin(cli, &password) < 0)
		goto out;
	if (account_set_password(db, addr, password, &error) < 0) {
		cli_refuse(cli, "%s", error.text);
		goto out;
	}
	cli_journal_change(cli, "admin.user-passwd", addr, NULL);
	printf("password of %s changed\n", addr);
	ret = CLI_OK;
out:
	if (password != NULL)
		explicit_bzero(password, strlen(password));
	free(password);
	free(addr);
	return ret;
}

static int cmd_user_del(struct cli *cli, int argc, char **argv)
{
	struct directory_error error;
	struct account a;
	bool keep_mail = false;
	const char *arg = NULL, *rm_error;
	struct db *db;
	int ret;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--keep-mail") == 0)
			keep_mail = true;
		else if (argv[i][0] == '-')
			return cli_usage(cli, "unknown option '%s'", argv[i]);
		else if (arg == NULL)
			arg = argv[i];
		else
			return cli_usage(cli, "unexpected argument '%s'", argv[i]);
	}
	if (arg == NULL)
		return cli_usage(cli, "which address?");
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	/* look it up first: the Maildir path needs domain and local part */
	if ((ret = account_get(db, arg, &a)) <= 0) {
		if (ret < 0)
			return cli_refuse(cli, "cannot read mailboxes: %s", db_errmsg(db));
		char *addr;
		if (normalize_address(cli, arg, &addr) != 0)
			return CLI_REFUSED;
		ret = cli_refuse(cli, "no mailbox %s", addr);
		free(addr);
		return ret;
	}
	if (account_del(db, a.address, &error) < 0) {
		account_clear(&a);
		return cli_refuse(cli, "%s", error.text);
	}
	if (!keep_mail && account_remove_mail(cli->data_dir, a.domain, a.local, &rm_error) < 0)
		fprintf(stderr, "postino: warning: mail of %s not removed: %s\n", a.address,
			rm_error);
	cli_journal_change(cli, "admin.user-del", a.address, "%s",
			   keep_mail ? "mail kept" : "mail removed");
	printf("mailbox %s deleted%s\n", a.address, keep_mail ? " (mail kept)" : "");
	account_clear(&a);
	return CLI_OK;
}

/* services_text - "send,receive,imap" or "none". */
static void services_text(const struct account *a, char *dst, size_t size)
{
	dst[0] = '\0';
	for (size_t i = 0; i < N_ELEMENTS(services); i++) {
		if (service_on(a, i) && ((dst[0] != '\0' && str_append(dst, ",", size) < 0) ||
					 str_append(dst, services[i].name, size) < 0))
			break;
	}
	if (dst[0] == '\0' && str_copy(dst, "none", size) < 0)
		dst[0] = '\0';
}

static int cmd_user_list(struct cli *cli, int argc, char **argv)
{
	struct account *accounts;
	size_t count, width = strlen("ADDRESS");
	const char *domain;
	struct db *db;
	int ret;

	if ((ret = cli_domain_filter(cli, argc, argv, &db, &domain)) != CLI_OK)
		return ret;
	if (account_list(db, domain, &accounts, &count) < 0)
		return cli_refuse(cli, "cannot list mailboxes: %s", db_errmsg(db));
	json_t *arr = cli->json ? json_array() : NULL;
	for (size_t i = 0; i < count; i++)
		width = strlen(accounts[i].address) > width ? strlen(accounts[i].address) : width;
	if (arr == NULL)
		printf("%-*s  %-8s  %9s  %9s  %s\n", (int)width, "ADDRESS", "STATUS", "QUOTA",
		       "USED", "SERVICES");
	for (size_t i = 0; i < count; i++) {
		const struct account *a = &accounts[i];
		char quota[SIZE_TEXT_MAX], used[SIZE_TEXT_MAX], svc[64];
		if (arr != NULL) {
			json_array_append_new(arr, account_json(cli, a));
			continue;
		}
		if (a->quota_bytes == 0)
			snprintf(quota, sizeof(quota), "unlimited");
		else
			size_format(a->quota_bytes, quota, sizeof(quota));
		size_format(account_used(cli, a), used, sizeof(used));
		services_text(a, svc, sizeof(svc));
		printf("%-*s  %-8s  %9s  %9s  %s\n", (int)width, a->address,
		       a->disabled ? "disabled" : "active", quota, used, svc);
	}
	if (arr != NULL)
		cli_print_json(arr);
	accounts_free(&accounts, count);
	return CLI_OK;
}

static void show_line(const char *key, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
static void show_line(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%-*s ", SHOW_KEY_WIDTH, key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void show_time(const char *key, int64_t t, const char *none)
{
	char text[TIME_TEXT_MAX];

	if (t == 0) {
		show_line(key, "%s", none);
		return;
	}
	time_format_iso(t, text, sizeof(text));
	show_line(key, "%s", text);
}

/* send_hold_reason - the trip that turned can-send off (hijack
 * detection, F21), while it is why can-send is off; NULL otherwise. */
static const char *send_hold_reason(struct cli *cli, const struct account *a,
				    struct sendlimit_hold *hold)
{
	struct db *db = cli_db(cli);

	if (a->can_send || db == NULL || sendlimit_hold_get(db, a->address, hold) != 1 ||
	    hold->action != SENDLIMIT_SUSPEND)
		return NULL;
	return hold->reason;
}

/* show_account - every setting under its `user set` name. */
static void show_account(struct cli *cli, const struct account *a)
{
	char size[SIZE_TEXT_MAX];
	int64_t now = time_now();

	show_line("address", "%s", a->address);
	show_line("disabled", "%s", a->disabled ? "yes" : "no");
	if (a->disabled) {
		show_line("reason", "%s", a->disabled_reason != NULL ? a->disabled_reason : "-");
		show_time("disabled-at", a->disabled_at, "-");
		show_line("disabled-by", "%s", a->disabled_by != NULL ? a->disabled_by : "-");
	}
	for (size_t i = 0; i < N_ELEMENTS(services); i++)
		show_line(services[i].key, "%s", service_on(a, i) ? "yes" : "no");
	struct sendlimit_hold hold;
	const char *held = send_hold_reason(cli, a, &hold);
	if (held != NULL)
		show_line("can-send-reason", "%s; to lift: postino user set %s can-send=yes", held,
			  a->address);
	if (a->quota_bytes == 0)
		show_line("quota", "0 (unlimited)");
	else {
		size_format(a->quota_bytes, size, sizeof(size));
		show_line("quota", "%s", size);
	}
	size_format(account_used(cli, a), size, sizeof(size));
	show_line("used", "%s", size);
	if (a->max_messages == 0)
		show_line("max-messages", "0 (unlimited)");
	else
		show_line("max-messages", "%" PRIu64, a->max_messages);
	printf("%-*s ", SHOW_KEY_WIDTH, "forward");
	for (size_t i = 0; i < a->forward_count; i++)
		printf("%s%s", i > 0 ? "," : "", a->forward[i]);
	printf("%s\n", a->forward_count == 0 ? "-" : "");
	show_line("forward-keep-copy", "%s", a->forward_keep_copy ? "yes" : "no");
	show_line("password", "%s", a->password_hash != NULL ? "set" : "not set (cannot log in)");
	show_time("password-changed", a->password_changed_at, "never");
	/* the value in force, and whose it is (password-max-age=default
	 * follows the domain's: postino domain set DOMAIN password-max-age=N) */
	const char *source = a->password_max_age_own ? "this mailbox's own" : "domain default";
	if (a->password_max_age_days == 0)
		show_line("password-max-age", "0 (never expires; %s)", source);
	else
		show_line("password-max-age", "%" PRIu64 " days (%s)", a->password_max_age_days,
			  source);
	show_time("password-expires", password_expires_at(a), "never");
	if (a->password_warned_at != 0)
		show_time("password-warned", a->password_warned_at, "-");
	if (password_expired(a, now))
		show_line("password-expired", "yes (the user must change it)");
	show_time("created", a->created_at, "-");
}

static int cmd_user_show(struct cli *cli, int argc, char **argv)
{
	struct account a;
	struct db *db;
	char *addr;
	int ret;

	if (argc != 1 || argv[0][0] == '-')
		return cli_usage(cli, argc == 0 ? "which address?" : "unexpected argument '%s'",
				 argv[argc - 1]);
	if (normalize_address(cli, argv[0], &addr) != 0)
		return CLI_REFUSED;
	if ((db = cli_db(cli)) == NULL) {
		free(addr);
		return CLI_REFUSED;
	}
	if ((ret = account_get(db, addr, &a)) <= 0) {
		ret = ret < 0 ? cli_refuse(cli, "cannot read mailboxes: %s", db_errmsg(db))
			      : cli_refuse(cli, "no mailbox %s", addr);
		free(addr);
		return ret;
	}
	free(addr);
	if (cli->json) {
		struct sendlimit_hold hold;
		const char *held = send_hold_reason(cli, &a, &hold);
		json_t *obj = account_json(cli, &a);
		json_object_set_new(obj, "can_send_reason", held != NULL ? json_string(held)
									 : json_null());
		cli_print_json(obj);
	} else {
		show_account(cli, &a);
	}
	account_clear(&a);
	return CLI_OK;
}

const struct cli_command cli_user_commands[] = {
	{ "user add", cmd_user_add, "ADDR [--password-stdin] [--quota SIZE] [--max-messages N]",
	  "add a mailbox (its domain must exist)" },
	{ "user set", cmd_user_set, "ADDR key=value ...",
	  "change settings (disabled=, quota=, forward=, can-imap=, password-max-age=DAYS|default, "
	  "...)" },
	{ "user passwd", cmd_user_passwd, "ADDR --password-stdin", "set a mailbox's password" },
	{ "user del", cmd_user_del, "ADDR [--keep-mail]", "delete a mailbox and its mail" },
	{ "user list", cmd_user_list, "[DOMAIN] [--json]", "list mailboxes" },
	{ "user show", cmd_user_show, "ADDR [--json]", "every setting of a mailbox, and space used" },
};
const size_t cli_user_commands_count = N_ELEMENTS(cli_user_commands);
