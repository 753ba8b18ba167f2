/* SPDX-License-Identifier: ISC */
/*
 * fts-text.c - a message as searchable text: decoded header fields and the
 * UTF-8 text of its body parts.
 *
 * The MIME tree (mail/mime.h) says where each part is and what it is;
 * this undoes what transport did to the text (base64, quoted-printable,
 * the charset, HTML markup) so that SEARCH BODY "Grüße" finds a
 * quoted-printable ISO-8859-1 part. Decoding is lenient by design: this
 * text is only ever searched, so a broken base64 line yields what it can
 * rather than nothing. Every bound is counted before work is done, so a
 * 50 MB text attachment costs FTS_BODY_MAX, not 50 MB.
 *
 * The transfer-encoding decoders here are lenient readers for search
 * only (lib/base64.c is strict, for AUTH); if mail/ grows a shared body
 * decoder they belong there.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/mime.h"
#include "mail/rfc2047.h"
#include "store/fts-private.h"
#include "store/fts.h"

/* Encoded input decoded per text part, at most: quoted-printable needs
 * up to three octets per character, base64 four per three. */
#define FTS_RAW_FACTOR 4

struct extract {
	struct pool *pool;
	const char *data;
	size_t size;
	struct buf body;
};

/* Tags after which HTML text continues on a new line: without the break
 * "<p>one</p><p>two</p>" would read "onetwo" and match "etw". */
static const char *const html_block_tags[] = {
	"br", "p", "div", "tr", "td", "th", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
	"ul", "ol", "blockquote", "hr", "title",
};

/* Elements whose content is no text. */
static const char *const html_skip_tags[] = { "script", "style", "head" };

static const struct {
	const char *name;
	const char *utf8;
} html_entities[] = {
	{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" }, { "apos", "'" },
	{ "nbsp", " " },
};

/* ---- bounded text ---- */

static size_t utf8_clip(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	/* never cut a character in two: back off continuation octets */
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

static void body_append(struct extract *x, const char *s, size_t len)
{
	size_t room = FTS_BODY_MAX - x->body.len;

	len = utf8_clip(s, len, room);
	if (len > 0 && buf_append(&x->body, s, len) < 0)
		panic("fts: bounded body refused %zu bytes", len);
}

static size_t body_room(const struct extract *x)
{
	return FTS_BODY_MAX - x->body.len;
}

/* ---- transfer encodings ---- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static void out_byte(struct buf *out, char c)
{
	if (buf_append(out, &c, 1) < 0)
		panic("fts: unbounded buffer refused a byte");
}

/* decode_base64 - skipping line breaks and junk, stopping at padding. */
static void decode_base64(const char *in, size_t len, struct buf *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < len && in[i] != '='; i++) {
		int v = b64_value((unsigned char)in[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out_byte(out, (char)((acc >> bits) & 0xff));
		}
	}
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* decode_qp - RFC 2045 6.7: =XX octets, '=' at a line end joins lines;
 * a '=' followed by anything else is kept as written (rule 1 says so for
 * robust decoders). */
static void decode_qp(const char *in, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (in[i] != '=') {
			out_byte(out, in[i]);
			continue;
		}
		size_t j = i + 1;
		while (j < len && (in[j] == ' ' || in[j] == '\t'))
			j++;
		if (j < len && (in[j] == '\r' || in[j] == '\n')) {
			if (in[j] == '\r' && j + 1 < len && in[j + 1] == '\n')
				j++;
			i = j;
			continue;
		}
		if (j == len) {
			i = j;
			continue;
		}
		int hi = i + 2 < len ? hex_value(in[i + 1]) : -1;
		int lo = hi >= 0 ? hex_value(in[i + 2]) : -1;
		if (lo >= 0) {
			out_byte(out, (char)(hi * 16 + lo));
			i += 2;
		} else {
			out_byte(out, '=');
		}
	}
}

/* part_decode - the part's body octets with its transfer encoding undone,
 * at most what could still fit the document. */
static void part_decode(struct extract *x, const struct mime_part *part, struct buf *out)
{
	const char *in = x->data + part->body.offset;
	size_t len = part->body.size;
	size_t max = body_room(x) * FTS_RAW_FACTOR;

	if (len > max)
		len = max;
	if (part->encoding != NULL && strcmp(part->encoding, "base64") == 0)
		decode_base64(in, len, out);
	else if (part->encoding != NULL && strcmp(part->encoding, "quoted-printable") == 0)
		decode_qp(in, len, out);
	else if (len > 0 && buf_append(out, in, len) < 0)
		panic("fts: unbounded buffer refused %zu bytes", len);
}

/* ---- HTML ---- */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* tag_find - the entry of table naming the tag name[0..len), or NULL. */
static const char *tag_find(const char *name, size_t len, const char *const *table, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(table[i]) == len && str_ncasecmp(table[i], name, len) == 0)
			return table[i];
	}
	return NULL;
}

/* entity - decode "&name;" / "&#NNN;" / "&#xHH;" at s; returns the
 * octets consumed (0: not an entity, copy the '&'). */
static size_t entity(const char *s, size_t len, struct buf *out)
{
	size_t end = 1;
	uint32_t cp = 0;

	while (end < len && end < 12 && s[end] != ';')
		end++;
	if (end >= len || s[end] != ';')
		return 0;
	if (s[1] == '#') {
		bool hex = end > 2 && (s[2] == 'x' || s[2] == 'X');
		for (size_t i = hex ? 3 : 2; i < end; i++) {
			int v = hex ? hex_value(s[i]) : (s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1);
			if (v < 0 || cp > 0x10ffff)
				return 0;
			cp = cp * (hex ? 16 : 10) + (uint32_t)v;
		}
		if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		char u[4];
		size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		if (n == 1) {
			u[0] = (char)cp;
		} else {
			for (size_t i = n - 1; i > 0; i--, cp >>= 6)
				u[i] = (char)(0x80 | (cp & 0x3f));
			u[0] = (char)((n == 2 ? 0xc0 : n == 3 ? 0xe0 : 0xf0) | cp);
		}
		if (buf_append(out, u, n) < 0)
			panic("fts: unbounded buffer refused a character");
		return end + 1;
	}
	for (size_t i = 0; i < N_ELEMENTS(html_entities); i++) {
		if (strlen(html_entities[i].name) == end - 1 &&
		    strncmp(html_entities[i].name, s + 1, end - 1) == 0) {
			if (buf_append_str(out, html_entities[i].utf8) < 0)
				panic("fts: unbounded buffer refused an entity");
			return end + 1;
		}
	}
	return 0;
}

/* html_text - the text of an HTML document: tags dropped (block tags as
 * line breaks), script/style content dropped, entities decoded. */
static void html_text(const char *in, size_t len, struct buf *out)
{
	const char *skip_until = NULL;

	for (size_t i = 0; i < len;) {
		if (in[i] == '<') {
			size_t end = i + 1, name = i + 1, nlen;
			bool closing = end < len && in[end] == '/';
			while (end < len && in[end] != '>')
				end++;
			if (closing)
				name++;
			for (nlen = 0; name + nlen < end && is_alnum(in[name + nlen]); nlen++)
				;
			if (skip_until != NULL) {
				if (closing && strlen(skip_until) == nlen &&
				    str_ncasecmp(skip_until, in + name, nlen) == 0)
					skip_until = NULL;
			} else if (!closing && (skip_until = tag_find(in + name, nlen, html_skip_tags,
								      N_ELEMENTS(html_skip_tags))) != NULL) {
				/* skipped until its end tag */
			} else if (tag_find(in + name, nlen, html_block_tags,
					    N_ELEMENTS(html_block_tags)) != NULL) {
				out_byte(out, '\n');
			}
			i = end < len ? end + 1 : len;
			continue;
		}
		if (skip_until != NULL) {
			i++;
			continue;
		}
		if (in[i] == '&') {
			size_t n = entity(in + i, len - i, out);
			if (n > 0) {
				i += n;
				continue;
			}
		}
		out_byte(out, in[i++]);
	}
}

/* ---- parts ---- */

/* header_text - every field of a header block as "Name: value\n", the
 * value unfolded and decoded (RFC 2047). */
static void header_text(struct extract *x, const struct mime_part *part, struct buf *out,
			size_t max)
{
	const char *p = x->data + part->header.offset;
	const char *end = p + part->header.size;

	while (p < end && out->len < max) {
		const char *line_end = p, *colon;
		/* a field runs until a line that does not start with blank */
		for (;;) {
			line_end = memchr(line_end, '\n', (size_t)(end - line_end));
			if (line_end == NULL) {
				line_end = end;
				break;
			}
			line_end++;
			if (line_end >= end || (*line_end != ' ' && *line_end != '\t'))
				break;
		}
		colon = memchr(p, ':', (size_t)(line_end - p));
		if (colon != NULL) {
			const char *v = colon + 1;
			char *decoded = rfc2047_decode(x->pool, v, (size_t)(line_end - v));
			char *line = p_printf(x->pool, "%.*s:%s\n", (int)(colon - p), p, decoded);
			size_t len = utf8_clip(line, strlen(line), max - out->len);
			if (buf_append(out, line, len) < 0)
				panic("fts: bounded headers refused %zu bytes", len);
		}
		p = line_end;
	}
}

static void part_text(struct extract *x, const struct mime_part *part)
{
	const struct mime_param *charset;
	struct buf raw, html;
	const char *text;

	if (body_room(x) == 0 || (part->flags & MIME_PART_TRUNCATED) != 0)
		return;
	if ((part->flags & MIME_PART_MULTIPART) != 0) {
		for (const struct mime_part *c = part->children; c != NULL; c = c->next)
			part_text(x, c);
		return;
	}
	if ((part->flags & MIME_PART_MESSAGE) != 0) {
		/* an attached message's header is part of the outer body */
		for (const struct mime_part *c = part->children; c != NULL; c = c->next) {
			header_text(x, c, &x->body, FTS_BODY_MAX);
			part_text(x, c);
		}
		return;
	}
	if (!mime_part_is_type(part, "text", NULL))
		return;
	buf_init(&raw, 0);
	part_decode(x, part, &raw);
	charset = mime_param_get(part->params, part->n_params, "charset");
	text = rfc2047_charset_to_utf8(x->pool, charset != NULL ? charset->value : NULL,
				       raw.data != NULL ? raw.data : "", raw.len);
	buf_release(&raw);
	if (mime_part_is_type(part, "text", "html")) {
		buf_init(&html, 0);
		html_text(text, strlen(text), &html);
		body_append(x, html.data != NULL ? html.data : "", html.len);
		buf_release(&html);
	} else {
		body_append(x, text, strlen(text));
	}
	body_append(x, "\n", 1);
}

static const char *env_decode(struct pool *pool, const char *value)
{
	return value != NULL ? rfc2047_decode(pool, value, strlen(value)) : "";
}

void fts_doc_extract(struct pool *pool, const void *data, size_t size,
		     const struct mime_part *root, struct fts_doc *doc_r)
{
	const struct mime_envelope *env = root->envelope;
	struct extract x = { .pool = pool, .data = data, .size = size };
	struct buf headers;

	buf_init(&x.body, FTS_BODY_MAX);
	buf_init(&headers, FTS_HEADERS_MAX);
	doc_r->from = env_decode(pool, env != NULL ? env->from : NULL);
	doc_r->to = env_decode(pool, env != NULL ? env->to : NULL);
	doc_r->cc = env_decode(pool, env != NULL ? env->cc : NULL);
	doc_r->bcc = env_decode(pool, env != NULL ? env->bcc : NULL);
	doc_r->subject = env_decode(pool, env != NULL ? env->subject : NULL);
	header_text(&x, root, &headers, FTS_HEADERS_MAX);
	part_text(&x, root);
	doc_r->headers = p_strndup(pool, headers.data != NULL ? headers.data : "", headers.len);
	doc_r->body = p_strndup(pool, x.body.data != NULL ? x.body.data : "", x.body.len);
	buf_release(&headers);
	buf_release(&x.body);
}
