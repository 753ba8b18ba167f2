/* SPDX-License-Identifier: ISC */
/*
 * rfc2047.c - encoded-words (RFC 2047) and charsets to UTF-8.
 *
 * Real mail is lenient about both: encoded-words glued to other text,
 * multi-byte characters split across two words, "iso-8859-1" text that is
 * really Windows-1252, and charset names iconv has never heard of. We
 * accept all of that the way mail clients do, because this text is only
 * ever shown or searched, never trusted: the output is always valid UTF-8
 * with no NUL, CR or LF in it (so a decoded Subject cannot inject a header
 * into an autoreply). Conversion goes through glibc iconv(3); the guesses
 * (UTF-8, else Windows-1252) are done here so they need no gconv module.
 */
#include "lib/lib.h"
#include "lib/utf8.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/rfc2047.h"

#include <iconv.h>

/* How a charset label is decoded. */
enum charset_kind {
	CHARSET_ICONV,  /* hand the (mapped) name to iconv_open(3) */
	CHARSET_UTF8,   /* validate, U+FFFD for what is not UTF-8 */
	CHARSET_CP1252, /* our own table */
	CHARSET_GUESS,  /* UTF-8 when it is, Windows-1252 otherwise */
};

struct charset_alias {
	const char *label; /* lower-case */
	enum charset_kind kind;
	const char *iconv_name; /* CHARSET_ICONV only; NULL = the label itself */
};

/*
 * Labels decoded as something else than their name says. Most follow the
 * WHATWG Encoding Standard ("labels"), which records what mail and web
 * clients learned: senders that say Latin-1 or GB2312 mean the superset.
 * ISO-2022-CN-EXT is refused outright: glibc's converter for it wrote out
 * of bounds (CVE-2024-2961) and no real mail uses it.
 */
static const struct charset_alias charset_aliases[] = {
	{ "us-ascii", CHARSET_GUESS, NULL },
	{ "ascii", CHARSET_GUESS, NULL },
	{ "ansi_x3.4-1968", CHARSET_GUESS, NULL },
	{ "unknown", CHARSET_GUESS, NULL },
	{ "unknown-8bit", CHARSET_GUESS, NULL },
	{ "x-unknown", CHARSET_GUESS, NULL },
	{ "x-user-defined", CHARSET_GUESS, NULL },
	{ "default", CHARSET_GUESS, NULL },
	{ "iso-2022-cn-ext", CHARSET_GUESS, NULL },
	{ "utf-8", CHARSET_UTF8, NULL },
	{ "utf8", CHARSET_UTF8, NULL },
	{ "iso-8859-1", CHARSET_CP1252, NULL },
	{ "iso8859-1", CHARSET_CP1252, NULL },
	{ "iso_8859-1", CHARSET_CP1252, NULL },
	{ "latin1", CHARSET_CP1252, NULL },
	{ "l1", CHARSET_CP1252, NULL },
	{ "cp819", CHARSET_CP1252, NULL },
	{ "windows-1252", CHARSET_CP1252, NULL },
	{ "cp1252", CHARSET_CP1252, NULL },
	{ "x-cp1252", CHARSET_CP1252, NULL },
	{ "gb2312", CHARSET_ICONV, "GB18030" },
	{ "gbk", CHARSET_ICONV, "GB18030" },
	{ "x-gbk", CHARSET_ICONV, "GB18030" },
	{ "euc-cn", CHARSET_ICONV, "GB18030" },
	{ "cn-gb", CHARSET_ICONV, "GB18030" },
	{ "csgb2312", CHARSET_ICONV, "GB18030" },
	{ "euc-kr", CHARSET_ICONV, "CP949" },
	{ "ks_c_5601-1987", CHARSET_ICONV, "CP949" },
	{ "ks_c_5601-1989", CHARSET_ICONV, "CP949" },
	{ "windows-949", CHARSET_ICONV, "CP949" },
	{ "shift_jis", CHARSET_ICONV, "CP932" },
	{ "shift-jis", CHARSET_ICONV, "CP932" },
	{ "sjis", CHARSET_ICONV, "CP932" },
	{ "x-sjis", CHARSET_ICONV, "CP932" },
	{ "ms_kanji", CHARSET_ICONV, "CP932" },
	{ "windows-31j", CHARSET_ICONV, "CP932" },
	{ "big5", CHARSET_ICONV, "BIG5-HKSCS" },
	{ "iso-8859-8-i", CHARSET_ICONV, "ISO-8859-8" },
	{ "iso-8859-9", CHARSET_ICONV, "WINDOWS-1254" },
	{ "tis-620", CHARSET_ICONV, "CP874" },
	{ "iso-8859-11", CHARSET_ICONV, "CP874" },
};

/* Windows-1252 0x80-0x9f (WHATWG index; unassigned bytes map to the C1
 * control of the same value, as browsers do). 0xa0-0xff are Latin-1. */
static const uint16_t cp1252_high[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

static const char replacement_char[] = "\xef\xbf\xbd"; /* U+FFFD */

/* An encoded-word, "=?" charset "?" encoding "?" encoded-text "?=". */
struct encoded_word {
	const char *charset;
	size_t charset_len;
	char encoding; /* 'b' or 'q' */
	const char *text;
	size_t text_len;
	size_t total_len;
};

/* out_append - grow an unbounded buffer (which cannot refuse). */
static void out_append(struct buf *out, const void *data, size_t len)
{
	if (buf_append(out, data, len) < 0)
		panic("rfc2047: unbounded buffer refused %zu bytes", len);
}

bool rfc2047_utf8_valid(const void *in, size_t len)
{
	return utf8_valid(in, len);
}

static void append_codepoint(struct buf *out, uint32_t cp)
{
	unsigned char u[3];

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		out_append(out, u, 1);
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		out_append(out, u, 2);
	} else {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		out_append(out, u, 3);
	}
}

/* append_utf8 - copy UTF-8, each invalid octet becoming U+FFFD and NUL,
 * CR and LF a space: the guarantee every caller relies on. */
static void append_utf8(struct buf *out, const unsigned char *in, size_t len)
{
	size_t i = 0, start = 0;

	while (i < len) {
		size_t n = utf8_seq_len(in + i, len - i);
		if (n == 1 && in[i] != '\0' && in[i] != '\r' && in[i] != '\n') {
			i++;
			continue;
		}
		if (n > 1) {
			i += n;
			continue;
		}
		out_append(out, in + start, i - start);
		if (n == 0)
			out_append(out, replacement_char, 3);
		else
			out_append(out, " ", 1);
		start = ++i;
	}
	out_append(out, in + start, i - start);
}

static void append_cp1252(struct buf *out, const unsigned char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = in[i];
		if (c == '\0' || c == '\r' || c == '\n')
			out_append(out, " ", 1);
		else if (c < 0x80)
			out_append(out, &in[i], 1);
		else if (c < 0xa0)
			append_codepoint(out, cp1252_high[c - 0x80]);
		else
			append_codepoint(out, c);
	}
}

static void append_guess(struct buf *out, const unsigned char *in, size_t len)
{
	if (rfc2047_utf8_valid(in, len))
		append_utf8(out, in, len);
	else
		append_cp1252(out, in, len);
}

/* append_iconv - convert through iconv(3); false when the charset is
 * unknown to it (nothing appended then). */
static bool append_iconv(struct buf *out, const char *name, const unsigned char *in, size_t len)
{
	iconv_t cd = iconv_open("UTF-8", name);
	struct buf conv;
	char tmp[1024];
	char *inp = (char *)in, *outp;
	size_t inleft = len, outleft;

	if (cd == (iconv_t)-1)
		return false;
	buf_init(&conv, 0);
	while (inleft > 0) {
		outp = tmp;
		outleft = sizeof(tmp);
		size_t ret = iconv(cd, &inp, &inleft, &outp, &outleft);
		out_append(&conv, tmp, (size_t)(outp - tmp));
		if (ret != (size_t)-1 || errno == E2BIG)
			continue;
		/* EILSEQ or a truncated sequence (EINVAL): mark it, skip one
		 * octet and start over from the initial shift state. */
		out_append(&conv, replacement_char, 3);
		inp++;
		inleft--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	outp = tmp;
	outleft = sizeof(tmp);
	iconv(cd, NULL, NULL, &outp, &outleft); /* close a stateful encoding */
	out_append(&conv, tmp, (size_t)(outp - tmp));
	iconv_close(cd);
	/* Re-validate: a gconv module is C code fed hostile input too. */
	append_utf8(out, (const unsigned char *)conv.data, conv.len);
	buf_release(&conv);
	return true;
}

/* charset_lookup - the decoding for a label; *name_r gets the iconv name
 * (in buffer name[], size RFC2047_CHARSET_MAX + 1) for CHARSET_ICONV. */
static enum charset_kind charset_lookup(const char *charset, char *name, const char **name_r)
{
	size_t len;

	if (charset == NULL)
		return CHARSET_GUESS;
	/* RFC 2231 5: "=?utf-8*en?q?...?=" carries a language after '*'. */
	len = strcspn(charset, "*");
	if (len == 0 || len > RFC2047_CHARSET_MAX)
		return CHARSET_GUESS;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)charset[i];
		/* Only what IANA names use: nothing iconv_open(3) would read as
		 * "//TRANSLIT" or a path. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '(' || c == ')'))
			return CHARSET_GUESS;
		name[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	name[len] = '\0';
	*name_r = name;
	for (size_t i = 0; i < N_ELEMENTS(charset_aliases); i++) {
		if (strcmp(charset_aliases[i].label, name) == 0) {
			if (charset_aliases[i].iconv_name != NULL)
				*name_r = charset_aliases[i].iconv_name;
			return charset_aliases[i].kind;
		}
	}
	return CHARSET_ICONV;
}

static void append_charset(struct buf *out, const char *charset, const unsigned char *in,
			   size_t len)
{
	char name[RFC2047_CHARSET_MAX + 1];
	const char *iconv_name = NULL;

	switch (charset_lookup(charset, name, &iconv_name)) {
	case CHARSET_UTF8:
		append_utf8(out, in, len);
		return;
	case CHARSET_CP1252:
		append_cp1252(out, in, len);
		return;
	case CHARSET_ICONV:
		if (append_iconv(out, iconv_name, in, len))
			return;
		break;
	case CHARSET_GUESS:
		break;
	}
	append_guess(out, in, len);
}

char *rfc2047_charset_to_utf8(struct pool *pool, const char *charset, const void *in, size_t len)
{
	struct buf out;
	char *s;

	buf_init(&out, 0);
	append_charset(&out, charset, in, len);
	s = p_strndup(pool, out.data != NULL ? out.data : "", out.len);
	buf_release(&out);
	return s;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* parse_encoded_word - an encoded-word at s[0..len)? (RFC 2047 2). More
 * lenient than the RFC on length (75 octets) and on spaces inside Q text,
 * as clients are; strict on what delimits the word. */
static bool parse_encoded_word(const char *s, size_t len, struct encoded_word *w)
{
	size_t i = 2, j;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return false;
	while (i < len && s[i] != '?' && (unsigned char)s[i] > ' ' && (unsigned char)s[i] < 0x7f)
		i++;
	if (i == 2 || i - 2 > RFC2047_CHARSET_MAX || i + 2 >= len || s[i] != '?' || s[i + 2] != '?')
		return false;
	w->charset = s + 2;
	w->charset_len = i - 2;
	w->encoding = (char)(s[i + 1] | 0x20);
	if (w->encoding != 'b' && w->encoding != 'q')
		return false;
	for (j = i + 3; j + 1 < len; j++) {
		if (s[j] == '?' && s[j + 1] == '=')
			break;
		if (s[j] == '\r' || s[j] == '\n' || s[j] == '\0' ||
		    (w->encoding == 'b' && (s[j] == ' ' || s[j] == '\t')))
			return false;
	}
	if (j + 1 >= len)
		return false;
	w->text = s + i + 3;
	w->text_len = j - (i + 3);
	w->total_len = j + 2;
	return true;
}

/* decode_q - RFC 2047 4.2: "_" is a space, "=XX" an octet; a stray "="
 * is kept as it is (clients do the same). */
static void decode_q(struct buf *raw, const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		int hi, lo;

		if (c == '_')
			c = ' ';
		else if (c == '=' && i + 2 < len && (hi = hex_value((unsigned char)text[i + 1])) >= 0 &&
			 (lo = hex_value((unsigned char)text[i + 2])) >= 0) {
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		out_append(raw, &c, 1);
	}
}

/* decode_b - RFC 2047 4.1 (base64, RFC 4648 4). Mailers drop the final
 * padding often enough that we add it back; anything else that is not
 * strict base64 makes the word malformed. */
static bool decode_b(struct buf *raw, const char *text, size_t len)
{
	char padded[4];
	size_t whole = len - len % 4;

	if (len % 4 == 1)
		return false;
	if (base64_decode(text, whole, raw) < 0)
		return false;
	if (len == whole)
		return true;
	memcpy(padded, text + whole, len - whole);
	memset(padded + (len - whole), '=', 4 - (len - whole));
	return base64_decode(padded, 4, raw) == 0;
}

/* A run of encoded-words in one charset, kept as octets until the run
 * ends: a multi-byte character split across two words (RFC 2047 5 forbids
 * it, some mailers do it) is then converted whole. */
struct pending {
	char charset[RFC2047_CHARSET_MAX + 1];
	struct buf raw;
	bool active;
};

static void pending_flush(struct buf *out, struct pending *p)
{
	if (!p->active)
		return;
	append_charset(out, p->charset, (const unsigned char *)p->raw.data, p->raw.len);
	buf_reset(&p->raw);
	p->active = false;
}

/* append_space - whitespace kept between words, minus the CR and LF of
 * folding (RFC 5322 2.2.3). */
static void append_space(struct buf *out, const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (in[i] == ' ' || in[i] == '\t')
			out_append(out, &in[i], 1);
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *rfc2047_decode(struct pool *pool, const char *in, size_t len)
{
	struct pending pend = { .active = false };
	struct buf out, word;
	size_t i = 0, space_start = 0;
	char *s;

	buf_init(&out, 0);
	buf_init(&word, 0);
	buf_init(&pend.raw, 0);
	while (i < len) {
		struct encoded_word w;

		if (in[i] == '=' && parse_encoded_word(in + i, len - i, &w)) {
			buf_reset(&word);
			bool ok = w.encoding == 'b' ? decode_b(&word, w.text, w.text_len)
						    : (decode_q(&word, w.text, w.text_len), true);
			if (ok) {
				/* RFC 2047 6.2: the space between two encoded-words
				 * is dropped (nothing is appended for it here). */
				if (pend.active && (strlen(pend.charset) != w.charset_len ||
						    str_ncasecmp(pend.charset, w.charset, w.charset_len) != 0))
					pending_flush(&out, &pend);
				if (!pend.active) {
					memcpy(pend.charset, w.charset, w.charset_len);
					pend.charset[w.charset_len] = '\0';
					pend.active = true;
				}
				out_append(&pend.raw, word.data, word.len);
				i += w.total_len;
				space_start = i;
				continue;
			}
		}
		if (is_space(in[i])) {
			if (!pend.active)
				append_space(&out, in + i, 1);
			i++;
			continue;
		}
		if (pend.active) {
			pending_flush(&out, &pend);
			append_space(&out, in + space_start, i - space_start);
		}
		size_t j = i + 1;
		while (j < len && !is_space(in[j]) && !(in[j] == '=' && j + 1 < len && in[j + 1] == '?'))
			j++;
		append_guess(&out, (const unsigned char *)in + i, j - i);
		i = j;
	}
	if (pend.active) {
		pending_flush(&out, &pend);
		append_space(&out, in + space_start, len - space_start);
	}
	s = p_strndup(pool, out.data != NULL ? out.data : "", out.len);
	buf_release(&out);
	buf_release(&word);
	buf_release(&pend.raw);
	return s;
}
