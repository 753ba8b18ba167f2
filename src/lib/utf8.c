/* SPDX-License-Identifier: ISC */
/* utf8.c - the RFC 3629 section 4 table, once. */
#include "lib/lib.h"
#include "lib/utf8.h"

size_t utf8_seq_len(const void *data, size_t avail)
{
	const unsigned char *s = data;
	unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
	size_t n;

	if (avail == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0; /* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90; /* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else {
		return 0;
	}
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return n;
}

int utf8_next(const void *data, size_t len, size_t *pos, uint32_t *cp_r)
{
	static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	const unsigned char *s = (const unsigned char *)data + *pos;
	size_t n = utf8_seq_len(s, len - *pos);
	uint32_t cp;

	if (n == 0)
		return -1;
	cp = s[0] & lead_mask[n];
	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	*cp_r = cp;
	*pos += n;
	return 0;
}

bool utf8_valid(const void *data, size_t size)
{
	const unsigned char *s = data;

	for (size_t i = 0; i < size;) {
		size_t n = utf8_seq_len(s + i, size - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}
