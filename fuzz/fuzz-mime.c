/* SPDX-License-Identifier: ISC */
/*
 * fuzz-mime.c - libFuzzer: any octets parse into a consistent MIME tree
 * (ranges inside the message and nested in their parents, limits kept),
 * every part is found again by its IMAP section number, and ENVELOPE,
 * BODY and BODYSTRUCTURE are well-formed IMAP; decoded text is UTF-8.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "mail/imap-bodystructure.h"
#include "mail/mime.h"
#include "mail/rfc2047.h"
#include "fuzz-imap-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_range(const struct mime_size *r, size_t lo, size_t hi)
{
	if (r->offset < lo || r->offset > hi || r->size > hi - r->offset)
		abort();
	if (r->vsize < r->size || r->vsize > 2 * r->size || r->lines > r->size)
		abort();
}

static void check_utf8(const char *s)
{
	if (s != NULL && (!rfc2047_utf8_valid(s, strlen(s)) || strpbrk(s, "\r\n") != NULL))
		abort();
}

static unsigned check_part(const struct mime_part *part, size_t lo, size_t hi)
{
	unsigned n = 1, children = 0;

	check_range(&part->header, lo, hi);
	check_range(&part->body, lo, hi);
	if (part->header.offset + part->header.size != part->body.offset)
		abort();
	if (part->depth > MIME_MAX_DEPTH || part->type == NULL || part->subtype == NULL)
		abort();
	if ((part->flags & MIME_PART_MULTIPART) && part->children == NULL)
		abort(); /* IMAP needs at least one part */
	for (unsigned i = 0; i < part->n_params; i++)
		check_utf8(part->params[i].utf8);
	check_utf8(part->filename);
	for (const struct mime_part *c = part->children; c != NULL; c = c->next) {
		if (c->parent != part || c->depth != part->depth + 1)
			abort();
		n += check_part(c, part->body.offset, part->body.offset + part->body.size);
		children++;
	}
	if (children != part->n_children)
		abort();
	if (part->envelope != NULL && part->envelope->subject != NULL) {
		struct pool *pool = pool_new(256);
		check_utf8(rfc2047_decode(pool, part->envelope->subject,
					  strlen(part->envelope->subject)));
		pool_free(&pool);
	}
	return n;
}

static void expect_section(const struct mime_part *root, const char *spec,
			   const struct mime_part *expected)
{
	const struct mime_part *found;
	struct mime_size range;
	const char *error;

	if (imap_section_find(root, spec, &range, &found, &error) < 0 || found != expected)
		abort();
}

/* check_numbering - RFC 3501 6.4.5: parts of a multipart are numbered
 * from 1; a message/rfc822 part's number continues into its message. */
static void check_numbering(const struct mime_part *root, const struct mime_part *entity,
			    const char *prefix)
{
	char num[512], spec[600];
	unsigned n = 0;

	if (strlen(prefix) > sizeof(num) - 16)
		return;
	if (!(entity->flags & MIME_PART_MULTIPART)) {
		/* a message that is not multipart has only its part 1 */
		snprintf(spec, sizeof(spec), "%s1", prefix);
		expect_section(root, spec, entity);
		return;
	}
	for (const struct mime_part *c = entity->children; c != NULL; c = c->next) {
		snprintf(num, sizeof(num), "%s%u", prefix, ++n);
		expect_section(root, num, c);
		snprintf(spec, sizeof(spec), "%s.MIME", num);
		expect_section(root, spec, c);
		if ((c->flags & MIME_PART_MESSAGE) && c->children != NULL) {
			snprintf(spec, sizeof(spec), "%s.HEADER", num);
			expect_section(root, spec, c->children);
			snprintf(spec, sizeof(spec), "%s.", num);
			check_numbering(root, c->children, spec);
		} else if (c->flags & MIME_PART_MULTIPART) {
			snprintf(spec, sizeof(spec), "%s.", num);
			check_numbering(root, c, spec);
		}
	}
}

static void check_envelope(const struct mime_envelope *env)
{
	struct buf out;

	buf_init(&out, 0);
	if (imap_envelope_write(&out, env) < 0)
		abort();
	fuzz_check_imap_list(out.data, out.len);
	buf_release(&out);
}

static void check_envelopes(const struct mime_part *part)
{
	if (part->envelope != NULL)
		check_envelope(part->envelope);
	for (const struct mime_part *c = part->children; c != NULL; c = c->next)
		check_envelopes(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pool *pool = pool_new(4096);
	struct mime_part *root = mime_parse(pool, data, size);
	struct mime_size range;
	const struct mime_part *found;
	const char *error;
	struct buf out;

	if (root->header.offset != 0 || root->body.offset + root->body.size != size)
		abort();
	if (check_part(root, 0, size) > 2 * MIME_MAX_PARTS)
		abort();
	check_envelopes(root);
	for (int extended = 0; extended < 2; extended++) {
		buf_init(&out, 0);
		if (imap_bodystructure_write(&out, root, extended) < 0)
			abort();
		fuzz_check_imap_list(out.data, out.len);
		buf_release(&out);
	}
	/* a bounded buffer refuses cleanly */
	buf_init(&out, 16);
	(void)!imap_bodystructure_write(&out, root, true);
	buf_release(&out);

	if (imap_section_find(root, "", &range, &found, &error) < 0 || range.size != size)
		abort();
	expect_section(root, "HEADER", root);
	expect_section(root, "TEXT", root);
	check_numbering(root, root, "");
	pool_free(&pool);
	return 0;
}
