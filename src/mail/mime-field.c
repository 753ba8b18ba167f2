/* SPDX-License-Identifier: ISC */
/*
 * mime-field.c - Content-Type, Content-Disposition and their parameters
 * (RFC 2045 5.1, RFC 2183, RFC 2231), Content-Transfer-Encoding and the
 * other Content-* fields of one MIME header.
 *
 * The grammar is strict; mail is not. We read what mail clients read:
 * parameters split at ';' outside quotes, unquoted values running to the
 * next ';' (so name=my file.pdf keeps its space), comments dropped,
 * backslashes kept unless they escape '"' or '\' (Windows paths in
 * quoted file names), RFC 2231 sections joined in numeric order whatever
 * order they came in. An invalid type falls back to text/plain as
 * RFC 2045 5.2 says, keeping the parameters (a charset is still useful).
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/mime-private.h"
#include "mail/rfc2047.h"

/* A parameter as read, before RFC 2231 sections are joined. */
struct raw_param {
	char *name;    /* lower-case, "*" and section removed */
	int section;   /* RFC 2231 section number, -1 when none */
	bool rfc2231;  /* the name carried a '*' */
	bool encoded;  /* this section is charset/percent encoded (trailing '*') */
	char *value;   /* quotes removed */
	bool used;
};

/* Digitally signed files and signatures, which the filters must leave
 * alone (MISSION F26): CAdES/PKCS #7 envelopes (.p7m, and the Italian
 * time-stamped .m7m), detached signatures (.p7s), RFC 5544 time-stamped
 * data (.tsd). */
static const char *const signed_types[] = {
	"application/pkcs7-mime",
	"application/x-pkcs7-mime",
	"application/pkcs7-signature",
	"application/x-pkcs7-signature",
	"application/timestamped-data",
};
static const char *const signed_suffixes[] = { ".p7m", ".p7s", ".m7m", ".tsd" };

/* RFC 2045 5.1 tspecials: not allowed in a token. */
static const char tspecials[] = "()<>@,;:\\\"/[]?=";

static void out_append(struct buf *b, const void *data, size_t len)
{
	if (buf_append(b, data, len) < 0)
		panic("mime: unbounded buffer refused %zu bytes", len);
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_token_char(char c)
{
	return c > ' ' && c < 0x7f && strchr(tspecials, c) == NULL;
}

/* skip_cfws - past white space and (nested) comments. */
static const char *skip_cfws(const char *s)
{
	for (;;) {
		while (is_wsp(*s))
			s++;
		if (*s != '(')
			return s;
		unsigned depth = 0;
		for (; *s != '\0'; s++) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '(')
				depth++;
			else if (*s == ')' && --depth == 0) {
				s++;
				break;
			}
		}
	}
}

/* read_token - a lower-cased RFC 2045 token at *sp (CFWS skipped first),
 * or NULL. */
static char *read_token(struct pool *pool, const char **sp)
{
	const char *s = skip_cfws(*sp), *start = s;
	char *t;

	while (is_token_char(*s))
		s++;
	if (s == start)
		return NULL;
	t = p_strndup(pool, start, (size_t)(s - start));
	str_lcase(t);
	*sp = skip_cfws(s);
	return t;
}

/* param_end - where the parameter starting at s ends: the next ';' that
 * is not inside a quoted-string or comment. */
static const char *param_end(const char *s)
{
	while (*s != '\0' && *s != ';') {
		if (*s == '"') {
			for (s++; *s != '\0' && *s != '"'; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
			}
			if (*s == '"')
				s++;
		} else if (*s == '(') {
			const char *after = skip_cfws(s);
			s = after > s ? after : s + 1;
		} else
			s++;
	}
	return s;
}

/* unquote_value - a quoted-string's content: '\' escapes only '"' and '\'
 * (others are kept: "C:\dir\f.txt" from Windows mailers). */
static char *unquote_value(struct pool *pool, const char *s, const char *end)
{
	struct buf b;
	char *v;

	buf_init(&b, 0);
	for (s++; s < end && *s != '"'; s++) {
		if (*s == '\\' && s + 1 < end && (s[1] == '"' || s[1] == '\\'))
			s++;
		out_append(&b, s, 1);
	}
	v = p_strndup(pool, b.data != NULL ? b.data : "", b.len);
	buf_release(&b);
	return v;
}

/* plain_value - an unquoted value up to end: comments dropped, outer
 * white space trimmed, inner kept ("my file.pdf"). */
static char *plain_value(struct pool *pool, const char *s, const char *end)
{
	struct buf b;
	char *v;

	buf_init(&b, 0);
	while (s < end) {
		if (*s == '(') {
			const char *after = skip_cfws(s);
			s = after > end ? end : after;
			continue;
		}
		out_append(&b, s, 1);
		s++;
	}
	while (b.len > 0 && is_wsp(b.data[b.len - 1]))
		b.len--;
	v = p_strndup(pool, b.data != NULL ? b.data : "", b.len);
	buf_release(&b);
	return v;
}

/* parse_name - split "name*2*" into name, section and flags (RFC 2231 3,
 * 4); false when it is not a usable attribute. */
static bool parse_name(struct pool *pool, const char *s, size_t len, struct raw_param *rp)
{
	size_t base = 0;

	while (base < len && s[base] != '*')
		base++;
	if (base == 0)
		return false;
	for (size_t i = 0; i < base; i++) {
		if (!is_token_char(s[i]))
			return false;
	}
	rp->name = p_strndup(pool, s, base);
	str_lcase(rp->name);
	rp->section = -1;
	rp->rfc2231 = base < len;
	rp->encoded = false;
	if (base == len)
		return true;
	size_t i = base + 1;
	if (i < len && s[i] >= '0' && s[i] <= '9') {
		unsigned n = 0;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			n = n * 10 + (unsigned)(s[i] - '0');
			if (n >= MIME_MAX_PARAM_SECTIONS)
				return false;
		}
		rp->section = (int)n;
		if (i < len && s[i] == '*') {
			rp->encoded = true;
			i++;
		}
	} else
		rp->encoded = true; /* "name*=" */
	return i == len;
}

/* read_params - the parameters after s (which points at ';' or the end),
 * up to MIME_MAX_PARAMS of them. */
static unsigned read_params(struct pool *pool, const char *s, struct raw_param *out)
{
	unsigned n = 0;

	while (*s != '\0' && n < MIME_MAX_PARAMS) {
		if (*s != ';') {
			/* junk between parameters ("text/plain foo"): skip it */
			s = param_end(s);
			continue;
		}
		const char *start = skip_cfws(s + 1), *end = param_end(start);
		const char *eq = start;
		s = end;
		while (eq < end && *eq != '=')
			eq++;
		if (eq == end)
			continue; /* no '=': not a parameter */
		const char *name_end = eq;
		while (name_end > start && is_wsp(name_end[-1]))
			name_end--;
		if (!parse_name(pool, start, (size_t)(name_end - start), &out[n]))
			continue;
		const char *v = skip_cfws(eq + 1);
		if (v > end)
			v = end;
		out[n].value = *v == '"' ? unquote_value(pool, v, end) : plain_value(pool, v, end);
		out[n].used = false;
		n++;
	}
	return n;
}

static bool is_attr_char(unsigned char c)
{
	/* RFC 2231 7 attribute-char: token chars except '*', '\'' and '%' */
	return is_token_char((char)c) && c != '*' && c != '\'' && c != '%';
}

static void append_pct(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (is_attr_char(c))
			out_append(b, s, 1);
		else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			out_append(b, e, 3);
		}
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* decode_extended - "charset'lang'%XX..." to UTF-8 (RFC 2231 4). */
static const char *decode_extended(struct pool *pool, const char *v)
{
	const char *q1 = strchr(v, '\''), *q2 = q1 == NULL ? NULL : strchr(q1 + 1, '\'');
	const char *text = v, *charset = NULL;
	struct buf b;

	if (q2 != NULL) {
		charset = q1 > v ? p_strndup(pool, v, (size_t)(q1 - v)) : NULL;
		text = q2 + 1;
	}
	buf_init(&b, 0);
	for (; *text != '\0'; text++) {
		int hi, lo;
		char c = *text;
		if (c == '%' && (hi = hexval(text[1])) >= 0 && (lo = hexval(text[2])) >= 0) {
			c = (char)(hi << 4 | lo);
			text += 2;
		}
		out_append(&b, &c, 1);
	}
	const char *s = rfc2047_charset_to_utf8(pool, charset, b.data != NULL ? b.data : "", b.len);
	buf_release(&b);
	return s;
}

static bool is_printable_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s < ' ' || *s >= 0x7f)
			return false;
	}
	return true;
}

/* section_no - "name*" is a whole value, the same as section 0 */
static int section_no(const struct raw_param *r)
{
	return r->section < 0 ? 0 : r->section;
}

/* section_cmp - numeric order; equal numbers keep their order of
 * appearance (the pointers are into one array), so the first wins. */
static int section_cmp(const void *a, const void *b)
{
	const struct raw_param *x = *(const struct raw_param *const *)a;
	const struct raw_param *y = *(const struct raw_param *const *)b;

	if (section_no(x) != section_no(y))
		return section_no(x) < section_no(y) ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* join_rfc2231 - the parameter whose sections start at raw[first]: all
 * sections of that name, in numeric order (RFC 2231 3). Sections mixing
 * encoded and plain values become one encoded value, plain ones
 * percent-encoded, so IMAP can send a single "name*". */
static void join_rfc2231(struct pool *pool, struct raw_param *raw, unsigned n, unsigned first,
			 struct mime_param *out)
{
	struct raw_param *sec[MIME_MAX_PARAMS];
	unsigned count = 0;
	bool extended = false;
	struct buf b;

	for (unsigned i = first; i < n; i++) {
		if (raw[i].rfc2231 && !raw[i].used && strcmp(raw[i].name, raw[first].name) == 0) {
			raw[i].used = true;
			sec[count++] = &raw[i];
			extended |= raw[i].encoded;
		}
	}
	qsort(sec, count, sizeof(sec[0]), section_cmp);
	buf_init(&b, 0);
	for (unsigned i = 0; i < count; i++) {
		/* a repeated section number: the first one counts */
		if (i > 0 && section_no(sec[i - 1]) == section_no(sec[i]))
			continue;
		if (!extended)
			out_append(&b, sec[i]->value, strlen(sec[i]->value));
		else if (i == 0) {
			const char *q = strchr(sec[i]->value, '\'');
			if (!sec[i]->encoded || q == NULL || strchr(q + 1, '\'') == NULL)
				out_append(&b, "''", 2); /* no charset'lang' given */
			if (sec[i]->encoded)
				out_append(&b, sec[i]->value, strlen(sec[i]->value));
			else
				append_pct(&b, sec[i]->value);
		} else if (sec[i]->encoded)
			out_append(&b, sec[i]->value, strlen(sec[i]->value));
		else
			append_pct(&b, sec[i]->value);
	}
	out->name = raw[first].name;
	out->value = p_strndup(pool, b.data != NULL ? b.data : "", b.len);
	out->rfc2231 = true;
	out->extended = extended;
	out->utf8 = extended ? decode_extended(pool, out->value)
			     : rfc2047_decode(pool, out->value, strlen(out->value));
	if (extended && is_printable_ascii(out->utf8)) {
		out->value = out->utf8;
		out->extended = false;
	}
	buf_release(&b);
}

/* parse_params - the final parameter list of the text after the value. */
static const struct mime_param *parse_params(struct pool *pool, const char *s, unsigned *n_r)
{
	struct raw_param raw[MIME_MAX_PARAMS];
	struct mime_param *params;
	unsigned n = read_params(pool, s, raw), count = 0;

	*n_r = 0;
	if (n == 0)
		return NULL;
	params = p_alloc(pool, n * sizeof(*params));
	for (unsigned i = 0; i < n; i++) {
		if (raw[i].used)
			continue;
		if (raw[i].rfc2231) {
			join_rfc2231(pool, raw, n, i, &params[count++]);
			continue;
		}
		params[count].name = raw[i].name;
		params[count].value = raw[i].value;
		params[count].utf8 = rfc2047_decode(pool, raw[i].value, strlen(raw[i].value));
		count++;
	}
	*n_r = count;
	return params;
}

const struct mime_param *mime_param_get(const struct mime_param *params, unsigned n,
					const char *name)
{
	const struct mime_param *plain = NULL;

	for (unsigned i = 0; i < n; i++) {
		if (strcmp(params[i].name, name) != 0)
			continue;
		if (params[i].rfc2231)
			return &params[i];
		if (plain == NULL)
			plain = &params[i];
	}
	return plain;
}

/* trimmed - value with outer white space removed, NULL stays NULL. */
static const char *trimmed(struct pool *pool, const char *v)
{
	if (v == NULL)
		return NULL;
	while (is_wsp(*v))
		v++;
	size_t len = strlen(v);
	while (len > 0 && is_wsp(v[len - 1]))
		len--;
	return p_strndup(pool, v, len);
}

/* no_space - a URI with folding white space removed (RFC 2557 4.4.1). */
static const char *no_space(struct pool *pool, const char *v)
{
	char *s, *d;

	if (v == NULL)
		return NULL;
	s = d = p_strdup(pool, v);
	for (const char *p = v; *p != '\0'; p++) {
		if (!is_wsp(*p))
			*d++ = *p;
	}
	*d = '\0';
	return s;
}

static void set_type(struct pool *pool, struct mime_part *part, const char *value, bool in_digest)
{
	const char *s = value;
	char *type = NULL, *subtype = NULL;

	if (value != NULL && (type = read_token(pool, &s)) != NULL && *s == '/') {
		s++;
		subtype = read_token(pool, &s);
	}
	if (type != NULL && subtype != NULL) {
		part->type = type;
		part->subtype = subtype;
	} else if (value == NULL && in_digest) {
		part->type = "message";
		part->subtype = "rfc822";
	} else {
		/* RFC 2045 5.2: absent or invalid means text/plain. */
		part->type = "text";
		part->subtype = "plain";
	}
	if (value == NULL)
		return;
	if (subtype == NULL) {
		/* invalid: parameters start at the first ';', if any */
		s = param_end(value);
	}
	part->params = parse_params(pool, s, &part->n_params);
}

static void set_disposition(struct pool *pool, struct mime_part *part, const char *value)
{
	const char *s = value;

	if (value == NULL || (part->disposition = read_token(pool, &s)) == NULL)
		return;
	part->disposition_params = parse_params(pool, s, &part->n_disposition_params);
}

static const char *get_filename(struct pool *pool, const struct mime_part *part)
{
	const struct mime_param *p =
		mime_param_get(part->disposition_params, part->n_disposition_params, "filename");

	if (p == NULL)
		p = mime_param_get(part->params, part->n_params, "name");
	if (p == NULL)
		return NULL;
	const char *name = trimmed(pool, p->utf8);
	return *name == '\0' ? NULL : name;
}

static bool is_signed(const struct mime_part *part)
{
	for (size_t i = 0; i < N_ELEMENTS(signed_types); i++) {
		size_t tlen = strlen(part->type);
		if (strncmp(signed_types[i], part->type, tlen) == 0 && signed_types[i][tlen] == '/' &&
		    strcmp(signed_types[i] + tlen + 1, part->subtype) == 0)
			return true;
	}
	if (part->filename == NULL)
		return false;
	for (size_t i = 0; i < N_ELEMENTS(signed_suffixes); i++) {
		size_t flen = strlen(part->filename), slen = strlen(signed_suffixes[i]);
		if (flen >= slen &&
		    str_casecmp(part->filename + flen - slen, signed_suffixes[i]) == 0)
			return true;
	}
	return false;
}

void mime_fields_apply(struct pool *pool, struct mime_part *part, const struct mime_fields *f,
		       bool in_digest)
{
	const char *s;

	set_type(pool, part, f->type, in_digest);
	if ((s = f->encoding) != NULL) {
		part->encoding = read_token(pool, &s);
		if (part->encoding != NULL && *s != '\0')
			part->encoding = NULL; /* "8bit junk": not a mechanism */
	}
	part->id = trimmed(pool, f->id);
	part->description = trimmed(pool, f->description);
	part->md5 = trimmed(pool, f->md5);
	part->language = trimmed(pool, f->language);
	part->location = no_space(pool, f->location);
	set_disposition(pool, part, f->disposition);
	part->filename = get_filename(pool, part);

	if (strcmp(part->type, "text") == 0)
		part->flags |= MIME_PART_TEXT;
	if (strcmp(part->type, "multipart") != 0 &&
	    (part->filename != NULL ||
	     (part->disposition != NULL && strcmp(part->disposition, "attachment") == 0)))
		part->flags |= MIME_PART_ATTACHMENT;
	if (is_signed(part))
		part->flags |= MIME_PART_SIGNED;
}
