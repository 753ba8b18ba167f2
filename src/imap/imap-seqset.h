/* SPDX-License-Identifier: ISC */
/*
 * imap-seqset.h - IMAP sequence sets and UID sets.
 *
 * Parsing: sequence-set (RFC 9051 section 9) with "*", and "$", the saved
 * SEARCH result of SEARCHRES (RFC 5182). A parsed set keeps '*' as
 * IMAP_SEQ_STAR until the command knows the mailbox: imap_seqset_resolve()
 * replaces it (by the message count for sequence numbers, by the last UID
 * for UIDs) and normalises the set to sorted, disjoint, non-adjacent
 * ranges, which membership and iteration need.
 *
 * Building: imap_seqset_add() appends in call order, merging only a
 * number that extends the last range upwards, and imap_seqset_write()
 * keeps that order. COPYUID's two uid-sets (RFC 4315 section 3) are
 * matched by position, so a copy that walks source UIDs upwards and
 * assigns destination UIDs upwards yields two compact, aligned sets.
 *
 * Every number is uint32 (nz-number: 1..4294967295); arithmetic near
 * UINT32_MAX is done so that nothing wraps.
 */
#ifndef POSTINO_IMAP_SEQSET_H
#define POSTINO_IMAP_SEQSET_H

#include "lib/lib.h"

struct buf;

/* "*" in a parsed set: seq-number is nz-number / "*", so 0 is free. */
#define IMAP_SEQ_STAR 0
/* Comma-separated items in one set: a 64 KiB command line (the parser's
 * IMAP_PARSER_LINE_MAX) holds at most ~32k "n," items. */
#define IMAP_SEQSET_RANGES_MAX 32768

struct imap_seq_range {
	uint32_t first, last;
};

struct imap_seqset {
	struct imap_seq_range *ranges; /* xmalloc'd: imap_seqset_clear() */
	unsigned count, alloc;
	bool saved;       /* "$": use the saved SEARCH result (RFC 5182 2.1) */
	bool normalized;  /* sorted, disjoint, first <= last, no star */
};

/* An empty, normalised set. */
void imap_seqset_init(struct imap_seqset *set);
/* Free the ranges; the set is empty (and reusable) afterwards. */
void imap_seqset_clear(struct imap_seqset *set);

/* imap_seqset_parse - str into an initialised, empty set. "$" only as the
 * whole set (as Dovecot takes it). max_ranges 0 = IMAP_SEQSET_RANGES_MAX.
 * -1 with error_r on bad syntax, 0, overflow or too many items. */
int imap_seqset_parse(const char *str, unsigned max_ranges, struct imap_seqset *set,
		      const char **error_r);

bool imap_seqset_has_star(const struct imap_seqset *set);

/* imap_seqset_resolve - replace "*" by star and normalise. RFC 9051
 * section 9: for sequence numbers star is the message count, and "*" in
 * an empty mailbox is BAD (-1 here when the set uses "*" and star is 0);
 * for UIDs it is the last UID, or UIDNEXT when the mailbox is empty. */
int imap_seqset_resolve(struct imap_seqset *set, uint32_t star);
/* Sort and merge (the set must have no star). */
void imap_seqset_normalize(struct imap_seqset *set);

/* Append n, or first..last in either order (both nonzero). */
void imap_seqset_add(struct imap_seqset *set, uint32_t n);
void imap_seqset_add_range(struct imap_seqset *set, uint32_t first, uint32_t last);

/* On a normalised set. */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
uint64_t imap_seqset_count(const struct imap_seqset *set);
/* The largest number (0 when empty): sequence numbers past EXISTS make
 * the command BAD. */
uint32_t imap_seqset_last(const struct imap_seqset *set);

/* Every number of a star-free set, range by range in stored order. */
struct imap_seqset_iter {
	const struct imap_seqset *set;
	unsigned range;
	uint32_t next;
	bool started;
};
void imap_seqset_iter_init(struct imap_seqset_iter *iter, const struct imap_seqset *set);
bool imap_seqset_iter_next(struct imap_seqset_iter *iter, uint32_t *n_r);

/* imap_seqset_write - the ranges in stored order as a compact set
 * ("1:3,7,9:12"), '*' as "*", "$" as "$". -1 when out's limit is
 * reached. */
int imap_seqset_write(const struct imap_seqset *set, struct buf *out);

#endif
