/* SPDX-License-Identifier: ISC */
/*
 * cli-screen.c - `postino screen list|unblock`: what dynamic screening
 * (F20) has blocked or locked, and lifting it.
 *
 * The CLI writes postino.db and the running daemon notices (its copy of
 * the blocks is reloaded when PRAGMA data_version moves), so an unblock
 * takes effect at the client's next connection, with no signal and no
 * restart. Blocks also end by themselves; the list shows until when.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "directory/screen.h"
#include "cli/cli.h"
#include "cli/commands.h"

#define TIME_TEXT_MAX 32

static const char *kind_name(enum screen_kind kind)
{
	return kind == SCREEN_KIND_IP ? "ip" : "account";
}

static json_t *json_time_ms(int64_t ms)
{
	char text[TIME_TEXT_MAX];

	time_format_iso(ms / 1000, text, sizeof(text));
	return json_string(text);
}

static json_t *block_json(const struct screen_block *b)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:s}", "kind", kind_name(b->kind),
			 "subject", b->subject, "since", json_time_ms(b->since_ms), "until",
			 json_time_ms(b->until_ms), "since_ms", (json_int_t)b->since_ms, "until_ms",
			 (json_int_t)b->until_ms, "failures", (json_int_t)b->failures, "detail",
			 b->detail);
}

static int cmd_screen_list(struct cli *cli, int argc, char **argv)
{
	struct screen_block *blocks;
	size_t count, width = strlen("SUBJECT");
	struct db *db;

	if (argc > 0)
		return cli_usage(cli, "unexpected argument '%s'", argv[0]);
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	if (screen_list(db, screen_now_ms(), &blocks, &count) < 0)
		return cli_refuse(cli, "cannot read the blocks: %s", db_errmsg(db));
	if (cli->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < count; i++)
			json_array_append_new(arr, block_json(&blocks[i]));
		cli_print_json(arr);
		free(blocks);
		return CLI_OK;
	}
	if (count == 0)
		printf("no address is blocked and no account is locked\n");
	for (size_t i = 0; i < count; i++)
		width = strlen(blocks[i].subject) > width ? strlen(blocks[i].subject) : width;
	if (count > 0)
		printf("%-7s  %-*s  %-20s  %-20s  %8s  %s\n", "KIND", (int)width, "SUBJECT", "SINCE",
		       "UNTIL", "FAILURES", "FROM");
	for (size_t i = 0; i < count; i++) {
		const struct screen_block *b = &blocks[i];
		char since[TIME_TEXT_MAX], until[TIME_TEXT_MAX];
		time_format_iso(b->since_ms / 1000, since, sizeof(since));
		time_format_iso(b->until_ms / 1000, until, sizeof(until));
		printf("%-7s  %-*s  %-20s  %-20s  %8" PRIu64 "  %s\n", kind_name(b->kind), (int)width,
		       b->subject, since, until, b->failures, b->detail[0] != '\0' ? b->detail : "-");
	}
	if (count > 0)
		printf("lift one with: postino screen unblock IP|ADDR\n");
	free(blocks);
	return CLI_OK;
}

static int cmd_screen_unblock(struct cli *cli, int argc, char **argv)
{
	struct screen_block block;
	enum screen_kind kind;
	char key[SCREEN_SUBJECT_MAX], until[TIME_TEXT_MAX], *detail;
	int64_t now = screen_now_ms();
	struct db *db;
	int had, ret;

	if (argc != 1 || argv[0][0] == '-')
		return cli_usage(cli, argc == 0 ? "which address or account?"
						: "unexpected argument '%s'", argv[argc - 1]);
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	/* what is lifted, for the journal (the same key screen_unblock picks) */
	had = screen_get(db, screen_ip_key(argv[0], key, sizeof(key)) == 0 ? SCREEN_KIND_IP
									   : SCREEN_KIND_ACCOUNT,
			 argv[0], now, &block);
	if (had < 0 || (ret = screen_unblock(db, argv[0], now, &kind, key, sizeof(key))) < 0)
		return cli_refuse(cli, "cannot change the blocks: %s", db_errmsg(db));
	if (ret == 0)
		return cli_refuse(cli, "%s %s is not %s (its failed logins so far are forgotten)",
				  kind == SCREEN_KIND_IP ? "address" : "account", key,
				  kind == SCREEN_KIND_IP ? "blocked" : "locked");
	time_format_iso((had > 0 ? block.until_ms : now) / 1000, until, sizeof(until));
	detail = xasprintf("%s %s lifted (was until %s, %" PRIu64 " failures)", kind_name(kind), key,
			   until, had > 0 ? block.failures : 0);
	struct journal_entry e = {
		.service = "cli",
		.decision = "change",
		.reason = "screen.unblock",
		.actor = cli->actor,
		.ip = kind == SCREEN_KIND_IP ? key : NULL,
		.account = kind == SCREEN_KIND_ACCOUNT ? key : NULL,
		.detail = detail,
	};
	if (journal_add(db, &e) < 0)
		fprintf(stderr, "postino: warning: change not journalled (screen.unblock)\n");
	free(detail);
	printf("%s %s %s\n", kind == SCREEN_KIND_IP ? "address" : "account", key,
	       kind == SCREEN_KIND_IP ? "unblocked" : "unlocked");
	return CLI_OK;
}

const struct cli_command cli_screen_commands[] = {
	{ "screen list", cmd_screen_list, "[--json]",
	  "addresses blocked and accounts locked after failed logins" },
	{ "screen unblock", cmd_screen_unblock, "IP|ADDR",
	  "lift a block or lock now (and forget its failures)" },
};
const size_t cli_screen_commands_count = N_ELEMENTS(cli_screen_commands);
