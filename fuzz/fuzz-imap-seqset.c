/* SPDX-License-Identifier: ISC */
/*
 * fuzz-imap-seqset.c - libFuzzer: sequence sets parse, write back to what
 * parses the same, resolve into sorted disjoint ranges, and membership,
 * counting and iteration agree, near UINT32_MAX too.
 *
 * Input: 4 bytes of "*" value (big-endian), then the set as text.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "imap/imap-seqset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Iterate at most this many numbers when cross-checking. */
#define FUZZ_ITER_MAX 4096

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_resolved(const struct imap_seqset *set)
{
	check(set->normalized);
	for (unsigned i = 0; i < set->count; i++) {
		check(set->ranges[i].first != 0 && set->ranges[i].first <= set->ranges[i].last);
		/* disjoint and not adjacent */
		if (i > 0)
			check((uint64_t)set->ranges[i - 1].last + 1 < set->ranges[i].first);
		check(imap_seqset_contains(set, set->ranges[i].first));
		check(imap_seqset_contains(set, set->ranges[i].last));
		if (set->ranges[i].first > 1)
			check(imap_seqset_contains(set, set->ranges[i].first - 1) == (i > 0 &&
			      set->ranges[i - 1].last == set->ranges[i].first - 1));
	}
	if (imap_seqset_count(set) <= FUZZ_ITER_MAX) {
		struct imap_seqset_iter iter;
		uint64_t n = 0;
		uint32_t num, prev = 0;
		imap_seqset_iter_init(&iter, set);
		while (imap_seqset_iter_next(&iter, &num)) {
			check(num > prev || n == 0);
			check(imap_seqset_contains(set, num));
			prev = num;
			n++;
		}
		check(n == imap_seqset_count(set));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_seqset set, again;
	struct buf out;
	const char *error;

	if (size < 4)
		return 0;
	uint32_t star = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
		(uint32_t)data[2] << 8 | data[3];
	char *str = xstrndup((const char *)data + 4, size - 4);

	imap_seqset_init(&set);
	imap_seqset_init(&again);
	buf_init(&out, 0);
	if (imap_seqset_parse(str, 64, &set, &error) == 0) {
		/* the written form parses to the same ranges */
		check(imap_seqset_write(&set, &out) == 0);
		check(imap_seqset_parse(out.data, 64, &again, &error) == 0);
		check(again.count == set.count && again.saved == set.saved);
		if (set.count > 0)
			check(memcmp(again.ranges, set.ranges, set.count * sizeof(*set.ranges)) == 0);
		bool star_used = imap_seqset_has_star(&set);
		int ret = imap_seqset_resolve(&set, star);
		check(ret == ((star_used && star == 0) ? -1 : 0));
		if (ret == 0) {
			check_resolved(&set);
			/* rebuilding from the ranges gives the same set */
			struct imap_seqset built;
			imap_seqset_init(&built);
			for (unsigned i = 0; i < set.count; i++)
				imap_seqset_add_range(&built, set.ranges[i].last, set.ranges[i].first);
			check(built.normalized && built.count == set.count);
			imap_seqset_clear(&built);
		}
	}
	imap_seqset_clear(&set);
	imap_seqset_clear(&again);
	buf_release(&out);
	free(str);
	return 0;
}
