/* SPDX-License-Identifier: ISC */
/*
 * base64.c - base64 per RFC 4648 section 4.
 *
 * Decoding is strict (RFC 4648 3.3, 3.5): characters outside the alphabet,
 * misplaced padding and non-zero pad bits are errors, because every input
 * here comes from a peer (SMTP AUTH, IMAP AUTHENTICATE) and a lenient
 * decoder is how two components end up disagreeing about a credential.
 */
#include "lib/lib.h"
#include "lib/base64.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_len(size_t len)
{
	return (len + 2) / 3 * 4;
}

int base64_encode(const void *data, size_t len, struct buf *out)
{
	const unsigned char *p = data;
	char quad[4];

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		quad[0] = alphabet[(v >> 18) & 63];
		quad[1] = alphabet[(v >> 12) & 63];
		quad[2] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		quad[3] = i + 2 < len ? alphabet[v & 63] : '=';
		if (buf_append(out, quad, 4) < 0)
			return -1;
	}
	return 0;
}

static int decode_char(char c)
{
	const char *p = c != '\0' ? strchr(alphabet, c) : NULL;
	return p != NULL ? (int)(p - alphabet) : -1;
}

int base64_decode(const char *in, size_t len, struct buf *out)
{
	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int pad = 0, v[4];
		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=' && last && k >= 2) {
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad > 0 || (v[k] = decode_char(in[i + k])) < 0)
				return -1; /* data after padding, or not base64 */
		}
		uint32_t n = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		unsigned char bytes[3] = { (unsigned char)(n >> 16), (unsigned char)(n >> 8),
					   (unsigned char)n };
		if ((pad == 1 && (n & 0xff) != 0) || (pad == 2 && (n & 0xffff) != 0))
			return -1; /* non-zero pad bits: not canonical */
		if (buf_append(out, bytes, (size_t)(3 - pad)) < 0)
			return -1;
	}
	return 0;
}
