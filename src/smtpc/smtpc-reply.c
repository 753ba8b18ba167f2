/* SPDX-License-Identifier: ISC */
/*
 * smtpc-reply.c - SMTP replies as the client reads them (RFC 5321 4.2),
 * line by line: a three-digit code, '-' on every line but the last, the
 * same code on every line, an RFC 3463 enhanced status code (RFC 2034) on
 * the first line when the server uses them.
 *
 * The input is whatever a remote server sends, so everything is bounded:
 * line length, number of lines, text kept; control and 8-bit octets in the
 * text become '?' because it ends up in logs, the journal and bounces.
 */
#include "lib/lib.h"
#include "lib/str.h"
#include "smtpc/smtpc-private.h"

#define SMTPC_TEXT_JOIN "; "

static void parser_error(struct smtpc_reply_parser *p, const char *why)
{
	p->reply.code = 0;
	p->reply.enhanced[0] = '\0';
	p->reply.reason = "smtpc.protocol";
	if (str_copy(p->reply.text, why, sizeof(p->reply.text)) < 0)
		p->reply.text[0] = '\0';
}

void smtpc_reply_parser_init(struct smtpc_reply_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->reply.stage = "";
	p->reply.reason = "";
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* enhanced_len - length of "c.sss.ddd" at s (RFC 3463 2: class 2/4/5 and
 * the reply's class, subject and detail 1-3 digits), followed by a space
 * or the end; 0 when s does not start with one. */
static size_t enhanced_len(const char *s, size_t len, char reply_class)
{
	size_t i = 0;

	if (len < 5 || s[0] != reply_class || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return 0;
	i = 2;
	for (unsigned part = 0; part < 2; part++) {
		size_t start = i;
		while (i < len && is_digit(s[i]) && i - start < 4)
			i++;
		if (i == start || i - start > 3)
			return 0;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && s[i] != ' ')
		return 0;
	return i;
}

/* text_append - add a line's text, sanitised, joined with "; ". */
static void text_append(struct smtpc_reply_parser *p, const char *s, size_t len)
{
	size_t room = sizeof(p->reply.text) - 1;

	if (p->text_len > 0 && len > 0) {
		for (const char *j = SMTPC_TEXT_JOIN; *j != '\0' && p->text_len < room; j++)
			p->reply.text[p->text_len++] = *j;
	}
	for (size_t i = 0; i < len && p->text_len < room; i++) {
		unsigned char ch = (unsigned char)s[i];
		p->reply.text[p->text_len++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	p->reply.text[p->text_len] = '\0';
}

int smtpc_reply_parser_feed(struct smtpc_reply_parser *p, const char *line, size_t len)
{
	const char *text;
	size_t text_len, elen;
	bool last;
	int code;

	if (len > SMTPC_REPLY_LINE_MAX) {
		parser_error(p, "reply line too long");
		return -1;
	}
	/* Reply-code = %x32-35 %x30-35 %x30-39 (RFC 5321 4.2) */
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
	    !is_digit(line[2]) || (len > 3 && line[3] != ' ' && line[3] != '-')) {
		parser_error(p, "malformed reply line");
		return -1;
	}
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (p->lines > 0 && code != p->code) {
		parser_error(p, "reply lines carry different codes");
		return -1;
	}
	if (p->lines >= SMTPC_REPLY_LINES_MAX) {
		parser_error(p, "too many reply lines");
		return -1;
	}
	p->lines++;
	p->code = code;
	last = len == 3 || line[3] == ' ';
	text = len > 4 ? line + 4 : "";
	text_len = len > 4 ? len - 4 : 0;
	/* RFC 2034 3: every line carries the code; keep it once */
	elen = enhanced_len(text, text_len, line[0]);
	if (elen > 0) {
		if (p->lines == 1) {
			memcpy(p->reply.enhanced, text, elen);
			p->reply.enhanced[elen] = '\0';
		}
		if (p->reply.enhanced[0] != '\0') {
			text += elen;
			text_len -= elen;
			while (text_len > 0 && *text == ' ') {
				text++;
				text_len--;
			}
		}
	}
	text_append(p, text, text_len);
	if (!last)
		return 0;
	p->reply.code = code;
	p->reply.reason = smtpc_reason_for_code(code);
	return 1;
}

const char *smtpc_reason_for_code(int code)
{
	switch (code / 100) {
	case 2:
	case 3:
		return "smtpc.ok";
	case 4:
		return "smtpc.refused-4xx";
	case 5:
		return "smtpc.refused-5xx";
	default:
		return "smtpc.protocol";
	}
}

void smtpc_reply_set(struct smtpc_reply *r, int code, const char *enhanced, const char *stage,
		     const char *reason, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	if (str_copy(r->enhanced, enhanced != NULL ? enhanced : "", sizeof(r->enhanced)) < 0)
		r->enhanced[0] = '\0';
	r->stage = stage;
	r->reason = reason;
	va_start(ap, fmt);
	/* truncation is fine: the text is a sentence for people */
	if (vsnprintf(r->text, sizeof(r->text), fmt, ap) < 0)
		r->text[0] = '\0';
	va_end(ap);
}
