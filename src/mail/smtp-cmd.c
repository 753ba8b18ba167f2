/* SPDX-License-Identifier: ISC */
/*
 * smtp-cmd.c - SMTP command-line grammar: verbs, MAIL/RCPT with their ESMTP
 * parameters, BDAT, HELO/EHLO.
 *
 * Pure functions over one line, so the session code holds no parsing and
 * everything here is fuzzed. The grammar is RFC 5321 4.1 with two
 * tolerances real clients need: one space after "FROM:"/"TO:" and blanks
 * at the end of the line. Parameters are one table; a parameter whose
 * extension was not advertised, or which belongs to the other command, is
 * unknown (555, RFC 5321 4.1.1.11). Enhanced codes (RFC 3463 3.6): X.5.2
 * for a line that does not parse, X.5.4 for bad arguments.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/addr.h"
#include "mail/smtp-cmd.h"

/* Only this much of an unknown keyword goes back in the reply. */
#define SMTP_CMD_KEYWORD_ECHO_MAX 32

enum param_cmd {
	PARAM_ON_MAIL = 0x01,
	PARAM_ON_RCPT = 0x02,
};

/* State of one MAIL/RCPT parameter list. */
struct param_ctx {
	struct pool *pool;
	struct smtp_params *params;
	struct mail_error *error_r;
	unsigned ext;
};

struct param_def {
	const char *keyword;
	enum smtp_param bit;
	unsigned on;      /* enum param_cmd */
	unsigned ext;     /* advertised if any of these enum smtp_ext bits is */
	bool has_value;   /* "KEY=value" (true) or a bare "KEY" */
	int (*parse)(struct param_ctx *ctx, const char *value);
};

static int param_size(struct param_ctx *ctx, const char *value);
static int param_body(struct param_ctx *ctx, const char *value);
static int param_smtputf8(struct param_ctx *ctx, const char *value);
static int param_ret(struct param_ctx *ctx, const char *value);
static int param_envid(struct param_ctx *ctx, const char *value);
static int param_auth(struct param_ctx *ctx, const char *value);
static int param_notify(struct param_ctx *ctx, const char *value);
static int param_orcpt(struct param_ctx *ctx, const char *value);

static const struct param_def param_defs[] = {
	{ "SIZE", SMTP_PARAM_SIZE, PARAM_ON_MAIL, SMTP_EXT_SIZE, true, param_size },
	{ "BODY", SMTP_PARAM_BODY, PARAM_ON_MAIL, SMTP_EXT_8BITMIME | SMTP_EXT_BINARYMIME, true,
	  param_body },
	{ "SMTPUTF8", SMTP_PARAM_SMTPUTF8, PARAM_ON_MAIL, SMTP_EXT_SMTPUTF8, false, param_smtputf8 },
	{ "RET", SMTP_PARAM_RET, PARAM_ON_MAIL, SMTP_EXT_DSN, true, param_ret },
	{ "ENVID", SMTP_PARAM_ENVID, PARAM_ON_MAIL, SMTP_EXT_DSN, true, param_envid },
	{ "AUTH", SMTP_PARAM_AUTH, PARAM_ON_MAIL, SMTP_EXT_AUTH, true, param_auth },
	{ "NOTIFY", SMTP_PARAM_NOTIFY, PARAM_ON_RCPT, SMTP_EXT_DSN, true, param_notify },
	{ "ORCPT", SMTP_PARAM_ORCPT, PARAM_ON_RCPT, SMTP_EXT_DSN, true, param_orcpt },
};

/* Keyword/value pairs of the fixed-choice parameters. */
struct choice {
	const char *name;
	unsigned value;
};

static const struct choice body_choices[] = {
	{ "7BIT", SMTP_BODY_7BIT },
	{ "8BITMIME", SMTP_BODY_8BITMIME },
	{ "BINARYMIME", SMTP_BODY_BINARYMIME },
};

static const struct choice ret_choices[] = {
	{ "FULL", SMTP_RET_FULL },
	{ "HDRS", SMTP_RET_HDRS },
};

static const struct choice notify_choices[] = {
	{ "NEVER", SMTP_NOTIFY_NEVER },
	{ "SUCCESS", SMTP_NOTIFY_SUCCESS },
	{ "FAILURE", SMTP_NOTIFY_FAILURE },
	{ "DELAY", SMTP_NOTIFY_DELAY },
};

static int cmd_error(struct mail_error *error_r, unsigned code, const char *enhanced,
		     const char *text)
{
	error_r->code = code;
	error_r->enhanced = enhanced;
	error_r->text = text;
	return -1;
}

/* bad_arg - 501 5.5.4: "a valid command with invalid arguments" (RFC 3463 3.6). */
static int bad_arg(struct mail_error *error_r, const char *text)
{
	return cmd_error(error_r, 501, "5.5.4", text);
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* choice_lookup - case-insensitive match of s[0..len) in a choice table. */
static int choice_lookup(const struct choice *choices, size_t n, const char *s, size_t len,
			 unsigned *value_r)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(choices[i].name) == len && str_ncasecmp(choices[i].name, s, len) == 0) {
			*value_r = choices[i].value;
			return 0;
		}
	}
	return -1;
}

int smtp_cmd_split(struct pool *pool, const char *line, size_t len, struct smtp_cmd *cmd_r,
		   struct mail_error *error_r)
{
	size_t v = 0, end = len;

	if (memchr(line, '\0', len) != NULL)
		return cmd_error(error_r, 500, "5.5.2", "NUL in command line");
	while (v < len && is_alpha((unsigned char)line[v]))
		v++;
	if (v == 0 || (v < len && line[v] != ' '))
		return cmd_error(error_r, 500, "5.5.2", "syntax error, command unrecognized");
	if (v > SMTP_CMD_VERB_MAX)
		return cmd_error(error_r, 500, "5.5.1", "command unrecognized");
	for (size_t i = 0; i < v; i++) {
		char c = line[i];
		cmd_r->verb[i] = c >= 'a' && c <= 'z' ? (char)(c - ('a' - 'A')) : c;
	}
	cmd_r->verb[v] = '\0';
	/* Blanks before the CRLF are harmless and some clients send them. */
	while (end > v && (line[end - 1] == ' ' || line[end - 1] == '\t'))
		end--;
	cmd_r->args = v < end ? p_strndup(pool, line + v + 1, end - v - 1) : "";
	return 0;
}

/* ---- ESMTP parameters (RFC 5321 4.1.2 esmtp-param) ---- */

static int xdigit_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10; /* RFC 3461 says upper case; lower is harmless */
	return -1;
}

int smtp_xtext_decode(struct pool *pool, const char *in, const char **out_r)
{
	char *out = p_alloc(pool, strlen(in) + 1), *d = out;

	for (const unsigned char *s = (const unsigned char *)in; *s != '\0'; s++) {
		int c = *s;

		if (c == '+') {
			int hi = xdigit_value(s[1]), lo = hi < 0 ? -1 : xdigit_value(s[2]);
			if (lo < 0)
				return -1;
			c = hi * 16 + lo;
			s += 2;
			if (c < 0x20 || c > 0x7e)
				return -1;
		} else if (c < 33 || c > 126 || c == '=') {
			/* xchar = %d33-42 / %d44-60 / %d62-126 */
			return -1;
		}
		*d++ = (char)c;
	}
	*d = '\0';
	*out_r = out;
	return 0;
}

const char *smtp_xtext_encode(struct pool *pool, const char *in)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = p_alloc(pool, strlen(in) * 3 + 1), *d = out;

	for (const unsigned char *s = (const unsigned char *)in; *s != '\0'; s++) {
		if (*s < 33 || *s > 126 || *s == '+' || *s == '=') {
			*d++ = '+';
			*d++ = hex[*s >> 4];
			*d++ = hex[*s & 0xf];
		} else {
			*d++ = (char)*s;
		}
	}
	*d = '\0';
	return out;
}

static int param_size(struct param_ctx *ctx, const char *value)
{
	uint64_t v = 0;
	size_t n = strlen(value);

	if (n > SMTP_CMD_SIZE_DIGITS)
		return bad_arg(ctx->error_r, "SIZE value too long (max 20 digits)");
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)value[i]))
			return bad_arg(ctx->error_r, "SIZE value must be a number");
		unsigned d = (unsigned)(value[i] - '0');
		/* 20 digits can exceed 2^64: anything that large is refused by
		 * the size check anyway, so saturate */
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	ctx->params->size = v;
	return 0;
}

static int param_body(struct param_ctx *ctx, const char *value)
{
	unsigned v;

	if (choice_lookup(body_choices, N_ELEMENTS(body_choices), value, strlen(value), &v) < 0)
		return bad_arg(ctx->error_r, "BODY must be 7BIT, 8BITMIME or BINARYMIME");
	if ((v == SMTP_BODY_8BITMIME && (ctx->ext & SMTP_EXT_8BITMIME) == 0) ||
	    (v == SMTP_BODY_BINARYMIME && (ctx->ext & SMTP_EXT_BINARYMIME) == 0))
		return cmd_error(ctx->error_r, 555, "5.5.4", "BODY type not supported");
	ctx->params->body = (enum smtp_body)v;
	return 0;
}

static int param_smtputf8(struct param_ctx *ctx, const char *value)
{
	ctx->params->smtputf8 = true;
	return 0;
}

static int param_ret(struct param_ctx *ctx, const char *value)
{
	unsigned v;

	if (choice_lookup(ret_choices, N_ELEMENTS(ret_choices), value, strlen(value), &v) < 0)
		return bad_arg(ctx->error_r, "RET must be FULL or HDRS");
	ctx->params->ret = (enum smtp_ret)v;
	return 0;
}

static int param_envid(struct param_ctx *ctx, const char *value)
{
	if (strlen(value) > SMTP_CMD_ENVID_MAX)
		return bad_arg(ctx->error_r, "ENVID too long (max 100)");
	if (smtp_xtext_decode(ctx->pool, value, &ctx->params->envid) < 0)
		return bad_arg(ctx->error_r, "ENVID is not valid xtext");
	return 0;
}

/* param_auth - RFC 4954 5: AUTH=<> or AUTH=addr-spec in xtext. Whether to
 * believe it is the session's decision, not the parser's. */
static int param_auth(struct param_ctx *ctx, const char *value)
{
	if (strcmp(value, "<>") == 0) {
		ctx->params->auth = "";
		return 0;
	}
	if (smtp_xtext_decode(ctx->pool, value, &ctx->params->auth) < 0)
		return bad_arg(ctx->error_r, "AUTH is not valid xtext");
	return 0;
}

/* param_notify - "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ), RFC 3461 4.1. */
static int param_notify(struct param_ctx *ctx, const char *value)
{
	unsigned all = 0;

	for (const char *s = value;;) {
		const char *comma = strchr(s, ',');
		size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);
		unsigned v;

		if (choice_lookup(notify_choices, N_ELEMENTS(notify_choices), s, n, &v) < 0)
			return bad_arg(ctx->error_r,
				       "NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY");
		if ((all & v) != 0)
			return bad_arg(ctx->error_r, "NOTIFY lists a value twice");
		all |= v;
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	if ((all & SMTP_NOTIFY_NEVER) != 0 && all != SMTP_NOTIFY_NEVER)
		return bad_arg(ctx->error_r, "NOTIFY=NEVER cannot be combined");
	ctx->params->notify = all;
	return 0;
}

/* param_orcpt - addr-type ";" xtext (RFC 3461 4.2); addr-type is an atom,
 * kept lower-cased for the DSN code ("rfc822", RFC 6533 "utf-8"). */
static int param_orcpt(struct param_ctx *ctx, const char *value)
{
	const char *semi = strchr(value, ';');
	char *type;

	if (strlen(value) > SMTP_CMD_ORCPT_MAX)
		return bad_arg(ctx->error_r, "ORCPT too long (max 500)");
	if (semi == NULL || semi == value)
		return bad_arg(ctx->error_r, "ORCPT must be addr-type;address");
	for (const char *s = value; s < semi; s++) {
		/* atext (RFC 5322 3.2.3) is what an atom holds; the value
		 * grammar already excluded space, '=' and controls */
		if (strchr("()<>[]:@\\,.\"", *s) != NULL)
			return bad_arg(ctx->error_r, "ORCPT address type is not an atom");
	}
	type = p_strndup(ctx->pool, value, (size_t)(semi - value));
	str_lcase(type);
	if (semi[1] == '\0' || smtp_xtext_decode(ctx->pool, semi + 1, &ctx->params->orcpt) < 0)
		return bad_arg(ctx->error_r, "ORCPT address is not valid xtext");
	ctx->params->orcpt_type = type;
	return 0;
}

/* param_one - "keyword[=value]" at s[0..len). */
static int param_one(struct param_ctx *ctx, unsigned on, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	size_t klen = eq != NULL ? (size_t)(eq - s) : len;
	const struct param_def *def = NULL;
	char *value;

	/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
	if (klen == 0 || s[0] == '-')
		return bad_arg(ctx->error_r, "invalid parameter name");
	for (size_t i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!is_alpha(c) && !is_digit(c) && c != '-')
			return bad_arg(ctx->error_r, "invalid parameter name");
	}
	if (eq != NULL) {
		/* esmtp-value = 1*(%d33-60 / %d62-126) */
		if (eq + 1 == s + len)
			return bad_arg(ctx->error_r, "empty parameter value");
		for (const char *v = eq + 1; v < s + len; v++) {
			unsigned char c = (unsigned char)*v;
			if (c < 33 || c > 126 || c == '=')
				return bad_arg(ctx->error_r, "invalid character in parameter value");
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(param_defs); i++) {
		if (strlen(param_defs[i].keyword) == klen &&
		    str_ncasecmp(param_defs[i].keyword, s, klen) == 0) {
			def = &param_defs[i];
			break;
		}
	}
	if (def == NULL || (def->on & on) == 0 || (def->ext & ctx->ext) == 0) {
		int n = klen > SMTP_CMD_KEYWORD_ECHO_MAX ? SMTP_CMD_KEYWORD_ECHO_MAX : (int)klen;
		return cmd_error(ctx->error_r, 555, "5.5.4",
				 p_printf(ctx->pool, "parameter %.*s not supported", n, s));
	}
	if ((ctx->params->given & def->bit) != 0)
		return bad_arg(ctx->error_r, "duplicate parameter");
	if (def->has_value != (eq != NULL))
		return bad_arg(ctx->error_r, def->has_value ? "parameter needs a value" :
							      "parameter takes no value");
	value = eq != NULL ? p_strndup(ctx->pool, eq + 1, (size_t)(s + len - eq - 1)) : NULL;
	if (def->parse(ctx, value) < 0)
		return -1;
	ctx->params->given |= def->bit;
	return 0;
}

/* params_parse - Mail-parameters / Rcpt-parameters: esmtp-param separated
 * by spaces (runs of them tolerated: they hurt nobody). */
static int params_parse(struct param_ctx *ctx, unsigned on, const char *s)
{
	while (*s != '\0') {
		const char *e;

		if (*s == ' ') {
			s++;
			continue;
		}
		for (e = s; *e != '\0' && *e != ' '; e++)
			;
		if (param_one(ctx, on, s, (size_t)(e - s)) < 0)
			return -1;
		s = e;
	}
	return 0;
}

/* path_cmd_parse - shared by MAIL and RCPT: prefix, path, parameters. */
static int path_cmd_parse(struct pool *pool, const char *args, const char *prefix, unsigned on,
			  unsigned ext, bool smtputf8, struct smtp_path_cmd *cmd_r,
			  struct mail_error *error_r)
{
	struct param_ctx ctx = { .pool = pool, .error_r = error_r, .ext = ext };
	size_t plen = strlen(prefix);
	unsigned opts = on == PARAM_ON_MAIL ? ADDR_PATH_OPT_REVERSE : 0;
	const char *s, *end;

	memset(cmd_r, 0, sizeof(*cmd_r));
	ctx.params = &cmd_r->params;
	if (str_ncasecmp(args, prefix, plen) != 0)
		return cmd_error(error_r, 501, "5.5.2",
				 on == PARAM_ON_MAIL ? "syntax: MAIL FROM:<address>" :
						       "syntax: RCPT TO:<address>");
	s = args + plen;
	if (*s == ' ')
		s++; /* "MAIL FROM: <a@b>" is common enough to tolerate; one space only */
	if (*s != '<')
		return cmd_error(error_r, 501, "5.5.2",
				 on == PARAM_ON_MAIL ? "syntax: MAIL FROM:<address>" :
						       "syntax: RCPT TO:<address>");
	/* The path may be UTF-8 only under SMTPUTF8: advertised, and for RCPT
	 * given on the MAIL; for MAIL the parameter comes after the path, so
	 * it is checked once the parameters are known. */
	if ((on == PARAM_ON_MAIL && (ext & SMTP_EXT_SMTPUTF8) != 0) || smtputf8)
		opts |= ADDR_PATH_OPT_UTF8;
	if (addr_parse_path(pool, s, opts, &cmd_r->path, &end, error_r) < 0)
		return -1;
	if (*end != '\0' && *end != ' ')
		return cmd_error(error_r, 501, "5.5.2", "unexpected text after the address");
	if (params_parse(&ctx, on, end) < 0)
		return -1;
	if (on == PARAM_ON_MAIL && (cmd_r->path.flags & ADDR_PATH_UTF8) != 0 &&
	    !cmd_r->params.smtputf8)
		return cmd_error(error_r, 553, "5.6.7", "non-ASCII address without SMTPUTF8");
	return 0;
}

int smtp_cmd_parse_mail(struct pool *pool, const char *args, unsigned ext,
			struct smtp_path_cmd *mail_r, struct mail_error *error_r)
{
	return path_cmd_parse(pool, args, "FROM:", PARAM_ON_MAIL, ext, false, mail_r, error_r);
}

int smtp_cmd_parse_rcpt(struct pool *pool, const char *args, unsigned ext, bool smtputf8,
			struct smtp_path_cmd *rcpt_r, struct mail_error *error_r)
{
	return path_cmd_parse(pool, args, "TO:", PARAM_ON_RCPT, ext, smtputf8, rcpt_r, error_r);
}

int smtp_cmd_parse_bdat(const char *args, uint64_t *size_r, bool *last_r,
			struct mail_error *error_r)
{
	const char *s = args;
	uint64_t v = 0;

	/* bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CR LF */
	if (!is_digit((unsigned char)*s))
		return cmd_error(error_r, 501, "5.5.4", "syntax: BDAT size [LAST]");
	for (; is_digit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return bad_arg(error_r, "BDAT chunk size too large");
		v = v * 10 + d;
	}
	if (*s == '\0') {
		*last_r = false;
	} else if (*s == ' ' && str_casecmp(s + 1, "LAST") == 0) {
		*last_r = true;
	} else {
		return cmd_error(error_r, 501, "5.5.4", "syntax: BDAT size [LAST]");
	}
	*size_r = v;
	return 0;
}

int smtp_cmd_parse_helo(struct pool *pool, const char *args, struct smtp_helo *helo_r,
			struct mail_error *error_r)
{
	size_t len = strlen(args);
	const char *error, *last;
	char *domain;

	helo_r->flags = 0;
	if (len == 0)
		return cmd_error(error_r, 501, "5.5.4", "HELO/EHLO needs a domain name");
	if (len > ADDR_PATH_DOMAIN_MAX)
		return bad_arg(error_r, "domain too long (max 255)");
	if (args[0] == '[') {
		if (addr_literal_normalize(pool, args, len, &helo_r->domain, &error) < 0)
			return bad_arg(error_r, error);
		helo_r->flags |= SMTP_HELO_LITERAL;
		return 0;
	}
	/* SMTPUTF8 is a MAIL parameter, so at EHLO time the name is ASCII. */
	if (addr_domain_syntax(args, len, false, &error) < 0)
		return bad_arg(error_r, error);
	domain = p_strdup(pool, args);
	str_lcase(domain);
	last = strrchr(domain, '.');
	last = last != NULL ? last + 1 : domain;
	if (strspn(last, "0123456789") == strlen(last))
		helo_r->flags |= SMTP_HELO_NUMERIC;
	helo_r->domain = domain;
	return 0;
}
