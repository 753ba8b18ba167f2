/* SPDX-License-Identifier: ISC */
/*
 * cmd-enable.c - ENABLE (RFC 5161, RFC 9051 6.3.1): CONDSTORE, QRESYNC
 * (which implies CONDSTORE, RFC 7162 3.2.3), UTF8=ACCEPT (RFC 6855 3) and
 * IMAP4rev2 (RFC 9051: the session follows rev2's rules from now on).
 * Unknown extensions are ignored, as RFC 5161 3.1 asks; "* ENABLED" lists
 * only what this command newly turned on.
 *
 * IMAP4rev2 and UTF8=ACCEPT are separate bits although both make names
 * UTF-8 (IMAP_FEATURE_UTF8_NAMES): a client asking for both after rev2
 * still hears that UTF8=ACCEPT is on.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "imap/imap-private.h"

static const struct {
	const char *name;
	unsigned features; /* enum imap_feature, implied ones included */
} enable_names[] = {
	{ "CONDSTORE", IMAP_FEATURE_CONDSTORE },
	{ "QRESYNC", IMAP_FEATURE_QRESYNC | IMAP_FEATURE_CONDSTORE },
	{ "UTF8=ACCEPT", IMAP_FEATURE_UTF8 },
	{ "IMAP4rev2", IMAP_FEATURE_REV2 },
};

void cmd_enable(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct buf b;

	if (cmd->count == 0) {
		imap_cmd_bad(cmd, "Syntax: ENABLE capability ...");
		return;
	}
	buf_init(&b, IMAP_LINE_MAX);
	if (buf_append_str(&b, "* ENABLED") < 0)
		panic("imap: ENABLED does not fit");
	for (unsigned i = 0; i < cmd->count; i++) {
		const char *name;
		if (imap_arg_get_atom(&cmd->args[i], &name) < 0) {
			buf_release(&b);
			imap_cmd_bad(cmd, "ENABLE takes capability names");
			return;
		}
		for (size_t k = 0; k < N_ELEMENTS(enable_names); k++) {
			if (str_casecmp(name, enable_names[k].name) != 0 ||
			    (s->enabled & enable_names[k].features) == enable_names[k].features)
				continue;
			s->enabled |= enable_names[k].features;
			if (buf_printf(&b, " %s", enable_names[k].name) < 0)
				panic("imap: ENABLED does not fit");
		}
	}
	/* RFC 6855 3, 4 and RFC 9051 4.3: UTF-8 quoted strings, and
	 * APPEND's UTF8 (~{n}) */
	if (s->enabled & IMAP_FEATURE_UTF8_NAMES)
		imap_parser_set_flags(s->parser, IMAP_PARSER_FLAG_UTF8 | IMAP_PARSER_FLAG_LITERAL8);
	imap_send_buf(s, &b);
	buf_release(&b);
	imap_cmd_ok(cmd, "Enabled.");
}
