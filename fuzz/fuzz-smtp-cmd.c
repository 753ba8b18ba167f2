/* SPDX-License-Identifier: ISC */
/*
 * fuzz-smtp-cmd.c - libFuzzer: SMTP command lines (MAIL, RCPT, BDAT,
 * HELO/EHLO and anything else) never crash, every refusal is a complete
 * SMTP reply, and what is accepted is stable: the canonical address of a
 * path parses back to itself, a HELO name to itself, xtext round-trips.
 *
 * Input: one selector octet (the advertised extensions, and whether the
 * MAIL carried SMTPUTF8 for RCPT), then the line without CRLF.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "mail/addr.h"
#include "mail/smtp-cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const struct mail_error *e)
{
	if (e->text == NULL || e->enhanced == NULL || e->enhanced[0] != '5' ||
	    (e->code != 500 && e->code != 501 && e->code != 553 && e->code != 555))
		abort();
}

/* check_path - the canonical address is a fixed point of the parser. */
static void check_path(struct pool *pool, const struct addr_path *path, bool reverse)
{
	struct addr_path again;
	struct mail_error error;
	const char *end;
	unsigned opts = ADDR_PATH_OPT_UTF8 | (reverse ? ADDR_PATH_OPT_REVERSE : 0);

	if (path->addr == NULL || path->local == NULL || path->domain == NULL)
		abort();
	if ((path->flags & ADDR_PATH_NULL) != 0) {
		if (path->addr[0] != '\0')
			abort();
		return;
	}
	if (strlen(path->addr) > ADDR_MAX)
		abort();
	char *in = p_printf(pool, "<%s>", path->addr);
	if (addr_parse_path(pool, in, opts, &again, &end, &error) < 0 || *end != '\0' ||
	    strcmp(again.addr, path->addr) != 0 || strcmp(again.domain, path->domain) != 0)
		abort();
}

static void check_params(struct pool *pool, const struct smtp_params *p)
{
	const char *s[] = { p->envid, p->auth, p->orcpt };

	for (size_t i = 0; i < N_ELEMENTS(s); i++) {
		const char *decoded;
		if (s[i] == NULL)
			continue;
		if (smtp_xtext_decode(pool, smtp_xtext_encode(pool, s[i]), &decoded) < 0 ||
		    strcmp(decoded, s[i]) != 0)
			abort();
	}
	if ((p->given & SMTP_PARAM_NOTIFY) != 0 &&
	    (p->notify == 0 || ((p->notify & SMTP_NOTIFY_NEVER) != 0 && p->notify != SMTP_NOTIFY_NEVER)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pool *pool;
	struct smtp_cmd cmd;
	struct smtp_path_cmd pc;
	struct smtp_helo helo;
	struct mail_error error;
	unsigned ext;
	bool utf8;
	uint64_t bdat_size;
	bool last;

	if (size < 1)
		return 0;
	ext = data[0] & 0x3f;
	utf8 = (data[0] & 0x40) != 0;
	pool = pool_new(0);
	if (smtp_cmd_split(pool, (const char *)data + 1, size - 1, &cmd, &error) < 0) {
		check_error(&error);
		pool_free(&pool);
		return 0;
	}
	if (strlen(cmd.verb) == 0 || strlen(cmd.verb) > SMTP_CMD_VERB_MAX)
		abort();
	/* every parser sees every argument: the verb only picks the order */
	if (smtp_cmd_parse_mail(pool, cmd.args, ext, &pc, &error) == 0) {
		check_path(pool, &pc.path, true);
		check_params(pool, &pc.params);
		if ((pc.path.flags & ADDR_PATH_UTF8) != 0 && !pc.params.smtputf8)
			abort();
	} else {
		check_error(&error);
	}
	if (smtp_cmd_parse_rcpt(pool, cmd.args, ext, utf8, &pc, &error) == 0) {
		if ((pc.path.flags & ADDR_PATH_POSTMASTER) == 0)
			check_path(pool, &pc.path, false);
		check_params(pool, &pc.params);
		if ((pc.path.flags & ADDR_PATH_NULL) != 0 || ((pc.path.flags & ADDR_PATH_UTF8) != 0 && !utf8))
			abort();
	} else {
		check_error(&error);
	}
	if (smtp_cmd_parse_bdat(cmd.args, &bdat_size, &last, &error) < 0)
		check_error(&error);
	if (smtp_cmd_parse_helo(pool, cmd.args, &helo, &error) == 0) {
		struct smtp_helo again;
		if (smtp_cmd_parse_helo(pool, helo.domain, &again, &error) < 0 ||
		    strcmp(again.domain, helo.domain) != 0 || again.flags != helo.flags)
			abort();
	} else {
		check_error(&error);
	}
	pool_free(&pool);
	return 0;
}
