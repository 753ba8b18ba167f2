/* SPDX-License-Identifier: ISC */
/*
 * imap-seqset.c - sequence sets: parse, resolve "*", normalise, test,
 * iterate, and write compact UID sets (see imap-seqset.h).
 *
 * Ranges are kept as parsed (either order, stars in place) until
 * resolved, because "*" means a different number for every command; after
 * normalisation contains() is a binary search, so a 32k-range UID set
 * costs 15 comparisons per message.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "imap/imap-seqset.h"

#include <assert.h>

void imap_seqset_init(struct imap_seqset *set)
{
	memset(set, 0, sizeof(*set));
	set->normalized = true;
}

void imap_seqset_clear(struct imap_seqset *set)
{
	free(set->ranges);
	imap_seqset_init(set);
}

static void range_append(struct imap_seqset *set, uint32_t first, uint32_t last)
{
	if (set->count == set->alloc) {
		set->alloc = set->alloc < 8 ? 8 : set->alloc * 2;
		set->ranges = xrealloc(set->ranges, set->alloc * sizeof(*set->ranges));
	}
	set->ranges[set->count].first = first;
	set->ranges[set->count].last = last;
	set->count++;
}

/* seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT, at most
 * 4294967295 (RFC 9051 section 9). */
static int parse_number(const char **p, uint32_t *num_r)
{
	const char *s = *p;
	uint64_t num = 0;

	if (*s == '*') {
		*num_r = IMAP_SEQ_STAR;
		*p = s + 1;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		num = num * 10 + (uint64_t)(*s - '0');
		if (num > UINT32_MAX)
			return -1;
	}
	*num_r = (uint32_t)num;
	*p = s;
	return 0;
}

int imap_seqset_parse(const char *str, unsigned max_ranges, struct imap_seqset *set,
		      const char **error_r)
{
	const char *p = str;

	assert(set->count == 0);
	if (max_ranges == 0)
		max_ranges = IMAP_SEQSET_RANGES_MAX;
	if (strcmp(str, "$") == 0) {
		set->saved = true;
		return 0;
	}
	for (;;) {
		uint32_t first, last;

		if (parse_number(&p, &first) < 0)
			goto invalid;
		last = first;
		if (*p == ':') {
			p++;
			if (parse_number(&p, &last) < 0)
				goto invalid;
		}
		if (set->count >= max_ranges) {
			*error_r = "Too many ranges in sequence set";
			imap_seqset_clear(set);
			return -1;
		}
		range_append(set, first, last);
		set->normalized = false;
		if (*p == '\0')
			return 0;
		if (*p++ != ',')
			goto invalid;
	}
invalid:
	*error_r = "Invalid sequence set";
	imap_seqset_clear(set);
	return -1;
}

bool imap_seqset_has_star(const struct imap_seqset *set)
{
	for (unsigned i = 0; i < set->count; i++) {
		if (set->ranges[i].first == IMAP_SEQ_STAR || set->ranges[i].last == IMAP_SEQ_STAR)
			return true;
	}
	return false;
}

static int range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *ra = a, *rb = b;

	if (ra->first != rb->first)
		return ra->first < rb->first ? -1 : 1;
	return 0;
}

void imap_seqset_normalize(struct imap_seqset *set)
{
	unsigned out = 0;

	if (set->normalized)
		return;
	assert(!imap_seqset_has_star(set));
	for (unsigned i = 0; i < set->count; i++) {
		struct imap_seq_range *r = &set->ranges[i];
		if (r->first > r->last) {
			uint32_t tmp = r->first; /* "n:m and m:n are equivalent" */
			r->first = r->last;
			r->last = tmp;
		}
	}
	if (set->count > 0)
		qsort(set->ranges, set->count, sizeof(*set->ranges), range_cmp);
	for (unsigned i = 0; i < set->count; i++) {
		struct imap_seq_range r = set->ranges[i];
		/* overlapping or adjacent: compare in 64 bits, last + 1
		 * must not wrap at UINT32_MAX */
		if (out > 0 && (uint64_t)r.first <= (uint64_t)set->ranges[out - 1].last + 1) {
			if (r.last > set->ranges[out - 1].last)
				set->ranges[out - 1].last = r.last;
			continue;
		}
		set->ranges[out++] = r;
	}
	set->count = out;
	set->normalized = true;
}

int imap_seqset_resolve(struct imap_seqset *set, uint32_t star)
{
	for (unsigned i = 0; i < set->count; i++) {
		struct imap_seq_range *r = &set->ranges[i];
		if ((r->first == IMAP_SEQ_STAR || r->last == IMAP_SEQ_STAR) && star == 0)
			return -1;
		if (r->first == IMAP_SEQ_STAR)
			r->first = star;
		if (r->last == IMAP_SEQ_STAR)
			r->last = star;
	}
	imap_seqset_normalize(set);
	return 0;
}

void imap_seqset_add_range(struct imap_seqset *set, uint32_t first, uint32_t last)
{
	assert(first != 0 && last != 0);
	if (first > last) {
		uint32_t tmp = first;
		first = last;
		last = tmp;
	}
	if (set->count > 0) {
		struct imap_seq_range *prev = &set->ranges[set->count - 1];
		/* extends the last range upwards: merge, order is kept */
		if (first >= prev->first && (uint64_t)first <= (uint64_t)prev->last + 1) {
			if (last > prev->last)
				prev->last = last;
			return;
		}
		if (set->normalized && first <= prev->last)
			set->normalized = false;
	}
	range_append(set, first, last);
}

void imap_seqset_add(struct imap_seqset *set, uint32_t n)
{
	imap_seqset_add_range(set, n, n);
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	unsigned lo = 0, hi = set->count;

	assert(set->normalized);
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (n < set->ranges[mid].first)
			hi = mid;
		else if (n > set->ranges[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t count = 0;

	assert(set->normalized);
	for (unsigned i = 0; i < set->count; i++)
		count += (uint64_t)set->ranges[i].last - set->ranges[i].first + 1;
	return count;
}

uint32_t imap_seqset_last(const struct imap_seqset *set)
{
	assert(set->normalized);
	return set->count == 0 ? 0 : set->ranges[set->count - 1].last;
}

void imap_seqset_iter_init(struct imap_seqset_iter *iter, const struct imap_seqset *set)
{
	assert(!imap_seqset_has_star(set));
	memset(iter, 0, sizeof(*iter));
	iter->set = set;
}

bool imap_seqset_iter_next(struct imap_seqset_iter *iter, uint32_t *n_r)
{
	const struct imap_seqset *set = iter->set;

	while (iter->range < set->count) {
		const struct imap_seq_range *r = &set->ranges[iter->range];
		uint32_t lo = r->first < r->last ? r->first : r->last;
		uint32_t hi = r->first < r->last ? r->last : r->first;

		if (!iter->started) {
			iter->next = lo;
			iter->started = true;
		}
		*n_r = iter->next;
		if (iter->next == hi) {
			/* never next + 1 here: hi may be UINT32_MAX */
			iter->range++;
			iter->started = false;
		} else {
			iter->next++;
		}
		return true;
	}
	return false;
}

static int write_number(struct buf *out, uint32_t n)
{
	if (n == IMAP_SEQ_STAR)
		return buf_append(out, "*", 1);
	return buf_printf(out, "%" PRIu32, n);
}

int imap_seqset_write(const struct imap_seqset *set, struct buf *out)
{
	if (set->saved)
		return buf_append(out, "$", 1);
	for (unsigned i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];
		if (i > 0 && buf_append(out, ",", 1) < 0)
			return -1;
		if (write_number(out, r->first) < 0)
			return -1;
		if (r->last != r->first && (buf_append(out, ":", 1) < 0 || write_number(out, r->last) < 0))
			return -1;
	}
	return 0;
}
