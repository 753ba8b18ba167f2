/* SPDX-License-Identifier: ISC */
/*
 * mime.c - one pass over a message builds its MIME tree.
 *
 * DESIGN. The message is read line by line, once. Open multiparts form a
 * stack of boundaries ("frames"); a line starting with "--" is checked
 * against them innermost first, and a match closes every part opened
 * inside that multipart, as RFC 2046 5.1.2 asks (an inner part missing its
 * close-delimiter ends at an outer boundary). A part's header is read when
 * the part opens; a message/rfc822 part opens its encapsulated message
 * right away. So the work is linear in the message size, plus depth times
 * boundary length for lines starting with "--"; sizes and line counts come
 * from two running counters (LFs, and LFs without a CR) sampled where a
 * range starts and ends, never from rescanning a range.
 *
 * Ranges follow RFC 2046 5.1.1: the CRLF before a boundary line belongs to
 * the boundary, so a part's body ends before it. A header includes the
 * empty line that ends it. Header lines may end in LF or CRLF.
 *
 * What real mail breaks and what we do (flags in mime.h):
 * - no empty line after the header: the header ends at the first line that
 *   is not a field (as Python's email package and clients read it);
 * - an mbox "From " line first in the message: kept in the header;
 * - multipart without a boundary, or whose boundary never appears: its
 *   body becomes one text/plain child, readable by any client;
 * - no close-delimiter: the multipart ends with its parent or the message;
 * - nesting past MIME_MAX_DEPTH, parts past MIME_MAX_PARTS, an encoded
 *   message/rfc822: the container is kept as an opaque leaf.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/mime.h"
#include "mail/mime-private.h"

/* Header fields we keep; everything else is skipped. */
enum field_id {
	FIELD_CONTENT_TYPE,
	FIELD_CONTENT_TRANSFER_ENCODING,
	FIELD_CONTENT_ID,
	FIELD_CONTENT_DESCRIPTION,
	FIELD_CONTENT_DISPOSITION,
	FIELD_CONTENT_LANGUAGE,
	FIELD_CONTENT_LOCATION,
	FIELD_CONTENT_MD5,
	FIELD_DATE,
	FIELD_SUBJECT,
	FIELD_FROM,
	FIELD_SENDER,
	FIELD_REPLY_TO,
	FIELD_TO,
	FIELD_CC,
	FIELD_BCC,
	FIELD_IN_REPLY_TO,
	FIELD_MESSAGE_ID,
	FIELD_COUNT
};

static const char *const field_names[FIELD_COUNT] = {
	[FIELD_CONTENT_TYPE] = "Content-Type",
	[FIELD_CONTENT_TRANSFER_ENCODING] = "Content-Transfer-Encoding",
	[FIELD_CONTENT_ID] = "Content-ID",
	[FIELD_CONTENT_DESCRIPTION] = "Content-Description",
	[FIELD_CONTENT_DISPOSITION] = "Content-Disposition",
	[FIELD_CONTENT_LANGUAGE] = "Content-Language",
	[FIELD_CONTENT_LOCATION] = "Content-Location",
	[FIELD_CONTENT_MD5] = "Content-MD5",
	[FIELD_DATE] = "Date",
	[FIELD_SUBJECT] = "Subject",
	[FIELD_FROM] = "From",
	[FIELD_SENDER] = "Sender",
	[FIELD_REPLY_TO] = "Reply-To",
	[FIELD_TO] = "To",
	[FIELD_CC] = "Cc",
	[FIELD_BCC] = "Bcc",
	[FIELD_IN_REPLY_TO] = "In-Reply-To",
	[FIELD_MESSAGE_ID] = "Message-ID",
};

/* Raw field values: [start, end) of the first occurrence, folded. */
struct raw_fields {
	size_t start[FIELD_COUNT], end[FIELD_COUNT];
	bool seen[FIELD_COUNT];
};

/* An open multipart and the boundary that ends its parts. */
struct frame {
	struct mime_part *part;
	const char *boundary;
	size_t boundary_len;
};

struct parser {
	struct pool *pool;
	const unsigned char *data;
	size_t size;
	size_t pos;   /* start of the next line to read */
	size_t lf;    /* LFs in data[0..pos) */
	size_t bare;  /* of which not preceded by CR */
	struct mime_part *cur; /* the deepest open part */
	struct mime_part *last_child[MIME_MAX_DEPTH + 2]; /* by depth of parent */
	struct frame frames[MIME_MAX_DEPTH + 1];
	unsigned n_frames;
	unsigned n_parts;
};

static void open_part(struct parser *p, struct mime_part *part);

/* line_next - start of the line after the one at pos. */
static size_t line_next(const struct parser *p, size_t pos)
{
	const unsigned char *lf = memchr(p->data + pos, '\n', p->size - pos);

	return lf == NULL ? p->size : (size_t)(lf - p->data) + 1;
}

/* advance - move to next, counting the LF that ends the line. */
static void advance(struct parser *p, size_t next)
{
	if (next > p->pos && p->data[next - 1] == '\n') {
		p->lf++;
		if (next < 2 || p->data[next - 2] != '\r')
			p->bare++;
	}
	p->pos = next;
}

/* range_start - open a range at the current position. Until range_end()
 * the vsize and lines fields hold the counters sampled here. */
static void range_start(const struct parser *p, struct mime_size *r)
{
	r->offset = p->pos;
	r->lines = 0;
	r->vsize = p->bare;
	r->size = p->lf; /* parked; see range_end */
}

/* range_end - close r at end, where lf/bare are the counters at end. */
static void range_end(struct mime_size *r, size_t end, size_t lf, size_t bare)
{
	size_t lf0 = r->size, bare0 = r->vsize;

	r->size = end - r->offset;
	r->lines = (unsigned)(lf - lf0);
	r->vsize = r->size + (bare - bare0);
}

/* match_boundary - index of the innermost frame whose boundary the line
 * data[start..next) is (RFC 2046 5.1.1: "--" boundary ["--"] padding),
 * or -1. *close_r tells a close-delimiter. */
static int match_boundary(const struct parser *p, size_t start, size_t next, bool *close_r)
{
	const unsigned char *line = p->data + start;
	size_t len = next - start;

	if (len < 3 || line[0] != '-' || line[1] != '-')
		return -1;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	for (unsigned i = p->n_frames; i-- > 0;) {
		const struct frame *f = &p->frames[i];
		size_t j = 2 + f->boundary_len;

		if (len < j || memcmp(line + 2, f->boundary, f->boundary_len) != 0)
			continue;
		*close_r = len >= j + 2 && line[j] == '-' && line[j + 1] == '-';
		if (*close_r)
			j += 2;
		while (j < len && (line[j] == ' ' || line[j] == '\t'))
			j++;
		if (j == len)
			return (int)i;
	}
	return -1;
}

static enum field_id field_lookup(const unsigned char *name, size_t len)
{
	for (unsigned i = 0; i < FIELD_COUNT; i++) {
		if (strlen(field_names[i]) == len &&
		    str_ncasecmp(field_names[i], (const char *)name, len) == 0)
			return (enum field_id)i;
	}
	return FIELD_COUNT;
}

/* field_value - an unfolded copy (RFC 5322 2.2.3: CR and LF removed, the
 * white space kept; NULs dropped), outer white space trimmed. */
static const char *field_value(struct parser *p, const struct raw_fields *raw, enum field_id id)
{
	size_t start = raw->start[id], end = raw->end[id];
	char *v, *d;

	if (!raw->seen[id])
		return NULL;
	v = d = p_alloc(p->pool, end - start + 1);
	for (size_t i = start; i < end; i++) {
		unsigned char c = p->data[i];
		if (c == '\r' || c == '\n' || c == '\0')
			continue;
		if (d == v && (c == ' ' || c == '\t'))
			continue;
		*d++ = (char)c;
	}
	while (d > v && (d[-1] == ' ' || d[-1] == '\t'))
		d--;
	*d = '\0';
	return v;
}

/* is_field_line - the line at data[start..end) starts a header field:
 * a name of printable ASCII (RFC 5322 3.6.8 ftext), optional white space
 * (obs-optional, RFC 5322 4.5) and ':'. *name_len_r gets the name's
 * length and *value_r where the value starts. */
static bool is_field_line(const struct parser *p, size_t start, size_t end, size_t *name_len_r,
			  size_t *value_r)
{
	size_t i = start;

	while (i < end && p->data[i] > ' ' && p->data[i] < 0x7f && p->data[i] != ':')
		i++;
	*name_len_r = i - start;
	while (i < end && (p->data[i] == ' ' || p->data[i] == '\t'))
		i++;
	*value_r = i + 1;
	return *name_len_r > 0 && i < end && p->data[i] == ':';
}

/* read_header - read the header at the current position into part. */
static void read_header(struct parser *p, struct mime_part *part, struct raw_fields *raw)
{
	enum field_id current = FIELD_COUNT;
	bool first = true, ended = false;

	range_start(p, &part->header);
	while (p->pos < p->size) {
		size_t start = p->pos, next = line_next(p, start), end = next, name_len, value;
		bool close;

		while (end > start && (p->data[end - 1] == '\n' || p->data[end - 1] == '\r'))
			end--;
		if (end == start) {
			advance(p, next);
			ended = true;
			break;
		}
		for (size_t i = start; i < end && !(part->flags & MIME_PART_8BIT_HEADER); i++) {
			if (p->data[i] >= 0x80)
				part->flags |= MIME_PART_8BIT_HEADER;
		}
		if (p->data[start] == ' ' || p->data[start] == '\t') {
			if (current != FIELD_COUNT)
				raw->end[current] = next; /* folded continuation */
		} else if (match_boundary(p, start, next, &close) >= 0) {
			break; /* "--a:b" is a boundary, not a field */
		} else if (is_field_line(p, start, end, &name_len, &value)) {
			current = field_lookup(p->data + start, name_len);
			if (current != FIELD_COUNT && !raw->seen[current]) {
				raw->seen[current] = true; /* the first occurrence counts */
				raw->start[current] = value;
				raw->end[current] = next;
			} else
				current = FIELD_COUNT;
		} else if (first && part->parent == NULL && end - start >= 5 &&
			   memcmp(p->data + start, "From ", 5) == 0) {
			current = FIELD_COUNT; /* mbox separator */
		} else
			break; /* not a header line: the body starts here */
		first = false;
		advance(p, next);
	}
	if (!ended)
		part->flags |= MIME_PART_NO_HEADER_END;
	range_end(&part->header, p->pos, p->lf, p->bare);
}

static struct mime_part *new_part(struct parser *p, struct mime_part *parent)
{
	struct mime_part *part = p_alloc(p->pool, sizeof(*part));

	p->n_parts++;
	part->parent = parent;
	if (parent == NULL)
		return part;
	part->depth = parent->depth + 1;
	if (parent->children == NULL)
		parent->children = part;
	else
		p->last_child[parent->depth]->next = part;
	p->last_child[parent->depth] = part;
	parent->n_children++;
	return part;
}

static bool is_message_root(const struct mime_part *part)
{
	return part->parent == NULL || (part->parent->flags & MIME_PART_MESSAGE) != 0;
}

static void set_envelope(struct parser *p, struct mime_part *part, const struct raw_fields *raw)
{
	struct mime_envelope *env = p_alloc(p->pool, sizeof(*env));

	env->date = field_value(p, raw, FIELD_DATE);
	env->subject = field_value(p, raw, FIELD_SUBJECT);
	env->from = field_value(p, raw, FIELD_FROM);
	env->sender = field_value(p, raw, FIELD_SENDER);
	env->reply_to = field_value(p, raw, FIELD_REPLY_TO);
	env->to = field_value(p, raw, FIELD_TO);
	env->cc = field_value(p, raw, FIELD_CC);
	env->bcc = field_value(p, raw, FIELD_BCC);
	env->in_reply_to = field_value(p, raw, FIELD_IN_REPLY_TO);
	env->message_id = field_value(p, raw, FIELD_MESSAGE_ID);
	part->envelope = env;
}

/* encoding_is_identity - RFC 2045 6.2: content in 7bit, 8bit or binary
 * is the content itself, so a message/rfc822 in it can be parsed in
 * place (RFC 2046 5.2.1 allows no other). */
static bool encoding_is_identity(const char *encoding)
{
	return encoding == NULL || strcmp(encoding, "7bit") == 0 || strcmp(encoding, "8bit") == 0 ||
	       strcmp(encoding, "binary") == 0;
}

/* open_body - the body of part starts at the current position: push its
 * boundary or open its encapsulated message. */
static void open_body(struct parser *p, struct mime_part *part)
{
	bool room = part->depth < MIME_MAX_DEPTH && p->n_parts < MIME_MAX_PARTS;

	range_start(p, &part->body);
	p->cur = part;
	if (strcmp(part->type, "multipart") == 0) {
		const struct mime_param *b = mime_param_get(part->params, part->n_params, "boundary");
		const char *boundary = b == NULL ? NULL : b->extended ? b->utf8 : b->value;
		size_t len = boundary == NULL ? 0 : strlen(boundary);

		if (!room) {
			part->flags |= MIME_PART_TRUNCATED;
			return;
		}
		part->flags |= MIME_PART_MULTIPART;
		/* trailing spaces are not part of it (RFC 2046 5.1.1 bchars) */
		while (len > 0 && (boundary[len - 1] == ' ' || boundary[len - 1] == '\t'))
			len--;
		if (len > 0 && len <= MIME_BOUNDARY_MAX) {
			struct frame *f = &p->frames[p->n_frames++];
			f->part = part;
			f->boundary = boundary;
			f->boundary_len = len;
		}
	} else if (strcmp(part->type, "message") == 0 && strcmp(part->subtype, "rfc822") == 0) {
		if (!room || !encoding_is_identity(part->encoding)) {
			part->flags |= MIME_PART_TRUNCATED;
			return;
		}
		part->flags |= MIME_PART_MESSAGE;
		open_part(p, new_part(p, part));
	}
}

/* open_part - read a part's header at the current position and open its
 * body. Recursion is bounded by MIME_MAX_DEPTH (message/rfc822 chains). */
static void open_part(struct parser *p, struct mime_part *part)
{
	struct raw_fields raw = { .seen = { false } };
	struct mime_fields f;
	bool in_digest = part->parent != NULL && (part->parent->flags & MIME_PART_MULTIPART) &&
			 strcmp(part->parent->subtype, "digest") == 0;

	read_header(p, part, &raw);
	f.type = field_value(p, &raw, FIELD_CONTENT_TYPE);
	f.encoding = field_value(p, &raw, FIELD_CONTENT_TRANSFER_ENCODING);
	f.id = field_value(p, &raw, FIELD_CONTENT_ID);
	f.description = field_value(p, &raw, FIELD_CONTENT_DESCRIPTION);
	f.disposition = field_value(p, &raw, FIELD_CONTENT_DISPOSITION);
	f.language = field_value(p, &raw, FIELD_CONTENT_LANGUAGE);
	f.location = field_value(p, &raw, FIELD_CONTENT_LOCATION);
	f.md5 = field_value(p, &raw, FIELD_CONTENT_MD5);
	mime_fields_apply(p->pool, part, &f, in_digest);
	if (is_message_root(part))
		set_envelope(p, part, &raw);
	open_body(p, part);
}

/* add_synthetic_child - a multipart in which no part was found gets its
 * whole body as one header-less text/plain part (IMAP needs at least one,
 * RFC 3501 body-type-mpart; and the reader gets to see the text). */
static void add_synthetic_child(struct parser *p, struct mime_part *part)
{
	struct mime_part *child;

	if (p->n_parts >= MIME_MAX_PARTS) {
		part->flags = (part->flags & ~(unsigned)MIME_PART_MULTIPART) | MIME_PART_TRUNCATED;
		return;
	}
	part->flags |= MIME_PART_NO_BOUNDARY;
	child = new_part(p, part);
	child->flags = MIME_PART_SYNTHETIC | MIME_PART_TEXT;
	child->header.offset = part->body.offset;
	child->body = part->body;
	child->type = "text";
	child->subtype = "plain";
}

/* close_part - end part's body at end (counters lf, bare there). */
static void close_part(struct parser *p, struct mime_part *part, size_t end, size_t lf,
		       size_t bare)
{
	if (end < part->body.offset)
		end = part->body.offset;
	range_end(&part->body, end, lf, bare);
	if ((part->flags & MIME_PART_MULTIPART) && part->n_children == 0)
		add_synthetic_child(p, part);
}

/* close_before_line - close the open parts below top at the boundary line
 * starting at the current position: their bodies end before the line's
 * preceding [CR]LF (RFC 2046 5.1.1). */
static void close_before_line(struct parser *p, struct mime_part *top)
{
	for (struct mime_part *part = p->cur; part != top; part = part->parent) {
		size_t end = p->pos, lf = p->lf, bare = p->bare;

		if (end == part->body.offset && part->header.size > 0 &&
		    part->header.offset + part->header.size == end) {
			/* No body, and the header's last [CR]LF (its empty
			 * line's, or that of a header the boundary cut short)
			 * is the one RFC 2046 5.1.1 gives to the boundary. */
			bool crlf = part->header.size >= 2 && p->data[end - 2] == '\r';
			part->header.size -= crlf ? 2 : 1;
			part->header.vsize -= 2;
			part->header.lines--;
			part->body.offset = part->header.offset + part->header.size;
			part->body.size = part->body.vsize = part->body.lines = 0;
			if (part->flags & MIME_PART_MESSAGE) {
				/* its message, opened at the boundary line, is empty */
				part->children->header.offset = part->body.offset;
				part->children->body.offset = part->body.offset;
			}
			if ((part->flags & MIME_PART_MULTIPART) && part->n_children == 0)
				add_synthetic_child(p, part);
			continue;
		}
		if (end > part->body.offset) {
			/* the LF at end-1 and a CR before it belong to the boundary */
			end--;
			lf--;
			if (end > part->body.offset && p->data[end - 1] == '\r')
				end--;
			else
				bare--;
		}
		close_part(p, part, end, lf, bare);
	}
	p->cur = top;
}

/* at_boundary - the line at the current position is frame i's boundary. */
static void at_boundary(struct parser *p, unsigned i, bool close, size_t next)
{
	struct mime_part *multipart = p->frames[i].part;

	if (!close && p->n_parts >= MIME_MAX_PARTS) {
		advance(p, next); /* no more parts: read it as content */
		return;
	}
	close_before_line(p, multipart);
	/* inner multiparts ended without their close-delimiter */
	for (unsigned j = i + 1; j < p->n_frames; j++)
		p->frames[j].part->flags |= MIME_PART_NO_END;
	p->n_frames = close ? i : i + 1;
	advance(p, next);
	if (close)
		return;
	/* More separators right after this one delimit no part: RFC 2046
	 * 5.1.1 puts the CRLF before a delimiter inside it, so there is no
	 * empty body part between two delimiter lines (Python's email package
	 * reads the BNF the same way). */
	while (p->pos < p->size) {
		next = line_next(p, p->pos);
		if (match_boundary(p, p->pos, next, &close) != (int)i || close)
			break;
		advance(p, next);
	}
	open_part(p, new_part(p, multipart));
}

struct mime_part *mime_parse(struct pool *pool, const void *data, size_t size)
{
	struct parser p = { .pool = pool, .data = data, .size = size };
	struct mime_part *root = new_part(&p, NULL);

	open_part(&p, root);
	while (p.pos < p.size) {
		size_t next = line_next(&p, p.pos);
		bool close;
		int i;

		if (p.n_frames > 0 && (i = match_boundary(&p, p.pos, next, &close)) >= 0)
			at_boundary(&p, (unsigned)i, close, next);
		else
			advance(&p, next);
	}
	for (unsigned j = 0; j < p.n_frames; j++)
		p.frames[j].part->flags |= MIME_PART_NO_END;
	for (struct mime_part *part = p.cur; part != NULL; part = part->parent)
		close_part(&p, part, p.size, p.lf, p.bare);
	return root;
}

bool mime_part_is_type(const struct mime_part *part, const char *type, const char *subtype)
{
	return str_casecmp(part->type, type) == 0 &&
	       (subtype == NULL || str_casecmp(part->subtype, subtype) == 0);
}

unsigned mime_part_count(const struct mime_part *part)
{
	unsigned n = 1;

	for (const struct mime_part *c = part->children; c != NULL; c = c->next)
		n += mime_part_count(c);
	return n;
}
