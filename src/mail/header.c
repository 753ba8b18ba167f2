/* SPDX-License-Identifier: ISC */
/*
 * header.c - incremental RFC 5322 header parser and the Received: writer.
 *
 * Bytes are taken one at a time into a bounded copy of the header, so the
 * result is the same however the input is split. A field is complete only
 * when the first octet of the next line shows it is not folded (RFC 5322
 * 2.2.3), or at the empty line, or at the end of input. Lines that are no
 * field (no colon, bad name) are kept as nameless fields rather than
 * ending the header: what follows them is still header to the next MTA and
 * to the user's client, and a filter must see it the same way. LF alone is
 * taken as a line end here (unlike in dot.c) because this parser also reads
 * stored messages; the SMTP path has refused bare LF before we get here.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/date.h"
#include "mail/header.h"

/* Names and unfolded values are small: one pool block holds many. */
#define HEADER_POOL_BLOCK 4096

enum header_state {
	HEADER_STATE_LINE_START, /* first octet of a line is next */
	HEADER_STATE_LINE,       /* inside a line */
	HEADER_STATE_CR,         /* a line began with CR: empty line if LF follows */
	HEADER_STATE_DONE,
	HEADER_STATE_ERROR,
};

struct header {
	enum header_state state;
	enum header_end end;
	unsigned flags;
	struct buf raw;
	struct pool *pool; /* names and unfolded values */
	struct header_field *fields;
	size_t count, alloc;
	bool pending;        /* a field is open at pending_start */
	size_t pending_start;
	size_t line_start;
};

struct header *header_new(void)
{
	struct header *h = xcalloc(1, sizeof(*h));

	buf_init(&h->raw, HEADER_BLOCK_MAX);
	h->pool = pool_new(HEADER_POOL_BLOCK);
	h->state = HEADER_STATE_LINE_START;
	return h;
}

void header_free(struct header **_h)
{
	struct header *h = *_h;

	if (h == NULL)
		return;
	*_h = NULL;
	buf_release(&h->raw);
	pool_free(&h->pool);
	free(h->fields);
	free(h);
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* field_close - turn raw[pending_start..end) into a header_field. */
static void field_close(struct header *h, size_t end)
{
	const char *raw = h->raw.data + h->pending_start;
	size_t len = end - h->pending_start, n = 0, colon = 0;
	struct header_field *f;
	char *value;

	h->pending = false;
	/* field-name = 1*ftext (%d33-57 / %d59-126), then obs-optional's
	 * *WSP before the colon (RFC 5322 3.6.8, 4.5.8) */
	while (n < len && raw[n] >= 33 && raw[n] <= 126 && raw[n] != ':')
		n++;
	colon = n;
	while (colon < len && is_wsp(raw[colon]))
		colon++;
	if (h->count == h->alloc) {
		h->alloc = h->alloc == 0 ? 16 : h->alloc * 2;
		h->fields = xrealloc(h->fields, h->alloc * sizeof(*h->fields));
	}
	f = &h->fields[h->count++];
	f->raw_offset = h->pending_start;
	f->raw_len = len;
	if (n > 0 && colon < len && raw[colon] == ':') {
		f->name = p_strndup(h->pool, raw, n);
		raw += colon + 1;
		len -= colon + 1;
	} else {
		f->name = "";
		h->flags |= HEADER_INVALID;
	}
	/* unfold: drop every CRLF (and lone LF) that ends a line, keep the
	 * blanks after it (RFC 5322 2.2.3) */
	value = p_alloc(h->pool, len + 1);
	n = 0;
	for (size_t i = 0; i < len; i++) {
		if (raw[i] == '\n' || (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n'))
			continue;
		value[n++] = raw[i];
	}
	size_t start = 0;
	while (start < n && is_wsp(value[start]))
		start++;
	while (n > start && is_wsp(value[n - 1]))
		n--;
	value[n] = '\0';
	f->value = value + start;
	f->value_len = n - start;
}

/* field_open - a new line that is not a continuation starts a field. */
static int field_open(struct header *h, size_t at, const char **error_r)
{
	if (h->count >= HEADER_FIELDS_MAX) {
		*error_r = "too many header fields";
		return -1;
	}
	h->pending = true;
	h->pending_start = at;
	return 0;
}

static void header_done(struct header *h, enum header_end end)
{
	if (h->pending)
		field_close(h, h->line_start);
	h->end = end;
	h->state = HEADER_STATE_DONE;
}

int header_feed(struct header *h, const void *data_, size_t len, size_t *consumed_r,
		const char **error_r)
{
	const unsigned char *data = data_;
	size_t i;

	*consumed_r = 0;
	if (h->state == HEADER_STATE_ERROR) {
		*error_r = "header parsing failed earlier";
		return -1;
	}
	if (h->state == HEADER_STATE_DONE)
		return 1;
	for (i = 0; i < len; i++) {
		unsigned char c = data[i];
		size_t at = h->raw.len;

		if (buf_append(&h->raw, &c, 1) < 0) {
			*error_r = "header too large";
			h->state = HEADER_STATE_ERROR;
			*consumed_r = i;
			return -1;
		}
		if (c >= 0x80)
			h->flags |= HEADER_8BIT;
		switch (h->state) {
		case HEADER_STATE_LINE_START:
			if (is_wsp((char)c) && h->pending) {
				h->state = HEADER_STATE_LINE; /* folded */
				break;
			}
			if (h->pending)
				field_close(h, at);
			h->line_start = at;
			if (c == '\n') {
				h->flags |= HEADER_BARE_LF;
				header_done(h, HEADER_END_BLANK_LINE);
				*consumed_r = i + 1;
				return 1;
			}
			if (c == '\r') {
				h->state = HEADER_STATE_CR;
				break;
			}
			if (field_open(h, at, error_r) < 0) {
				h->state = HEADER_STATE_ERROR;
				*consumed_r = i;
				h->raw.data[--h->raw.len] = '\0'; /* not consumed */
				return -1;
			}
			h->state = HEADER_STATE_LINE;
			break;
		case HEADER_STATE_CR:
			if (c == '\n') {
				header_done(h, HEADER_END_BLANK_LINE);
				*consumed_r = i + 1;
				return 1;
			}
			/* a line starting with a lone CR: no field, but kept */
			if (field_open(h, h->line_start, error_r) < 0) {
				h->state = HEADER_STATE_ERROR;
				*consumed_r = i;
				h->raw.data[--h->raw.len] = '\0';
				return -1;
			}
			h->state = HEADER_STATE_LINE;
			break;
		case HEADER_STATE_LINE:
			break;
		case HEADER_STATE_DONE:
		case HEADER_STATE_ERROR:
			break;
		}
		if (c == '\n' && h->state == HEADER_STATE_LINE) {
			if (at == 0 || h->raw.data[at - 1] != '\r')
				h->flags |= HEADER_BARE_LF;
			h->state = HEADER_STATE_LINE_START;
			h->line_start = h->raw.len;
		}
	}
	*consumed_r = len;
	return 0;
}

int header_finish(struct header *h)
{
	if (h->state == HEADER_STATE_ERROR)
		return -1;
	if (h->state == HEADER_STATE_DONE)
		return 0;
	if (h->state == HEADER_STATE_CR) {
		/* the input ended in a lone CR at a line start: keep it as a
		 * nameless line rather than lose octets */
		const char *error;
		if (h->pending)
			field_close(h, h->line_start);
		if (field_open(h, h->line_start, &error) < 0) {
			h->state = HEADER_STATE_ERROR;
			return -1;
		}
	}
	h->line_start = h->raw.len;
	header_done(h, HEADER_END_EOF);
	return 0;
}

enum header_end header_end(const struct header *h)
{
	return h->end;
}

unsigned header_flags(const struct header *h)
{
	return h->flags;
}

size_t header_field_count(const struct header *h)
{
	return h->count;
}

const struct header_field *header_field_at(const struct header *h, size_t i)
{
	return i < h->count ? &h->fields[i] : NULL;
}

const char *header_raw(const struct header *h, size_t *len_r)
{
	*len_r = h->raw.len;
	return h->raw.data != NULL ? h->raw.data : "";
}

unsigned header_count(const struct header *h, const char *name)
{
	unsigned n = 0;

	for (size_t i = 0; i < h->count; i++) {
		if (h->fields[i].name[0] != '\0' && str_casecmp(h->fields[i].name, name) == 0)
			n++;
	}
	return n;
}

const struct header_field *header_find(const struct header *h, const char *name, size_t *iter)
{
	while (*iter < h->count) {
		const struct header_field *f = &h->fields[(*iter)++];
		if (f->name[0] != '\0' && str_casecmp(f->name, name) == 0)
			return f;
	}
	return NULL;
}

/* ---- Received: (RFC 5321 4.4) ---- */

/* Protocol names for the WITH clause: [smtputf8][authenticated][tls], from
 * RFC 3848 (ESMTPA/S/SA) and RFC 6531 3.7.3 (UTF8SMTP...). */
static const char *const with_protocols[2][2][2] = {
	{ { "ESMTP", "ESMTPS" }, { "ESMTPA", "ESMTPSA" } },
	{ { "UTF8SMTP", "UTF8SMTPS" }, { "UTF8SMTPA", "UTF8SMTPSA" } },
};

/* append_token - s with anything that could end a clause, a comment or the
 * field (space, controls, "()<>;\\\"") replaced by '?'. */
static int append_token(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char out = c <= ' ' || c >= 0x7f || strchr("()<>;\\\"", c) != NULL ? '?' : (char)c;
		if (buf_append(b, &out, 1) < 0)
			return -1;
	}
	return 0;
}

/* append_comment_text - inside "( )": only ctext survives (RFC 5322 3.2.2). */
static int append_comment_text(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char out = (c < ' ' && c != '\t') || c >= 0x7f || strchr("()\\", c) != NULL ? '?' :
											  (char)c;
		if (buf_append(b, &out, 1) < 0)
			return -1;
	}
	return 0;
}

/* append_path - a recipient inside "<>": printable ASCII, and UTF-8 only
 * when the message is SMTPUTF8 (RFC 6532 3.2). */
static int append_path(struct buf *b, const char *s, bool utf8)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char out = c < ' ' || c == 0x7f || (c >= 0x80 && !utf8) || c == '>' || c == '<' ?
				   '?' :
				   (char)c;
		if (buf_append(b, &out, 1) < 0)
			return -1;
	}
	return 0;
}

const char *header_received(struct pool *pool, const struct header_received *r)
{
	char date[DATE_TEXT_MAX];
	struct buf b;
	const char *result = NULL;
	int ret = 0;

	if (date_format(r->time, r->tz_minutes, date, sizeof(date)) < 0)
		return NULL;
	buf_init(&b, 0);
	/* From-domain: "from" helo "(" [rdns] address-literal ")" */
	ret |= buf_append_str(&b, "Received: from ");
	ret |= append_token(&b, r->helo != NULL && r->helo[0] != '\0' ? r->helo : "unknown");
	ret |= buf_append_str(&b, " (");
	if (r->rdns != NULL && r->rdns[0] != '\0') {
		ret |= append_token(&b, r->rdns);
		ret |= buf_append_str(&b, " ");
	}
	/* TCP-info is an address-literal (RFC 5321 4.1.3): IPv6 is tagged */
	ret |= buf_append_str(&b, strchr(r->ip, ':') != NULL ? "[IPv6:" : "[");
	ret |= append_token(&b, r->ip);
	ret |= buf_append_str(&b, "])\r\n\tby ");
	ret |= append_token(&b, r->by);
	ret |= buf_append_str(&b, " with ");
	ret |= buf_append_str(&b, r->esmtp ? with_protocols[r->smtputf8][r->authenticated][r->tls_used] :
					     "SMTP");
	if (r->tls != NULL && r->tls[0] != '\0') {
		ret |= buf_append_str(&b, " (");
		ret |= append_comment_text(&b, r->tls);
		ret |= buf_append_str(&b, ")");
	}
	if (r->id != NULL && r->id[0] != '\0') {
		ret |= buf_append_str(&b, " id ");
		ret |= append_token(&b, r->id);
	}
	if (r->rcpt != NULL && r->rcpt[0] != '\0') {
		/* one recipient only: more would disclose Bcc (RFC 5321 4.4, 7.2) */
		ret |= buf_append_str(&b, "\r\n\tfor <");
		ret |= append_path(&b, r->rcpt, r->smtputf8);
		ret |= buf_append_str(&b, ">");
	}
	ret |= buf_append_str(&b, ";\r\n\t");
	ret |= buf_append_str(&b, date);
	ret |= buf_append_str(&b, "\r\n");
	if (ret == 0)
		result = p_strdup(pool, b.data);
	buf_release(&b);
	return result;
}
