/* SPDX-License-Identifier: ISC */
/*
 * utf7.c - modified UTF-7 (RFC 3501 section 5.1.3) and UTF-8 validation.
 *
 * IMAP4rev1 clients name mailboxes in modified UTF-7: printable ASCII
 * stands for itself ("&" is "&-"), anything else is UTF-16BE in a BASE64
 * run between "&" and "-", with ',' for '/' and no '=' padding. Decoding
 * refuses every other spelling (see utf7.h) so names have one form only;
 * the mailbox layer relies on that to map names to folders one to one.
 */
#include "lib/lib.h"
#include "lib/utf8.h"
#include "lib/buf.h"
#include "mail/utf7.h"

/* RFC 3501 section 5.1.3: RFC 2152's BASE64 with ',' in place of '/'. */
static const char mbase64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Printable US-ASCII, 0x20-0x7e: these represent themselves. */
static bool is_printable(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

static int mbase64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

static int utf8_put(struct buf *out, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(out, b, n);
}

/* The BASE64 encoder's state within one run. */
struct b64_out {
	uint32_t bits;  /* the low nbits are pending */
	unsigned nbits;
};

static int b64_put_unit(struct buf *out, struct b64_out *st, uint16_t unit)
{
	st->bits = (st->bits << 16) | unit;
	st->nbits += 16;
	while (st->nbits >= 6) {
		st->nbits -= 6;
		if (buf_append(out, &mbase64[(st->bits >> st->nbits) & 0x3f], 1) < 0)
			return -1;
	}
	st->bits &= (1u << st->nbits) - 1;
	return 0;
}

int utf7_encode(const void *in_, size_t len, struct buf *out, const char **error_r)
{
	const unsigned char *in = in_;
	size_t i = 0;

	while (i < len) {
		if (is_printable(in[i])) {
			int ret = in[i] == '&' ? buf_append(out, "&-", 2) : buf_append(out, &in[i], 1);
			if (ret < 0)
				goto too_long;
			i++;
			continue;
		}
		/* one run for everything up to the next printable ASCII, as a
		 * second run right after would be a "-&" null shift */
		struct b64_out st = { 0, 0 };
		if (buf_append(out, "&", 1) < 0)
			goto too_long;
		while (i < len && !is_printable(in[i])) {
			uint32_t cp;
			if (utf8_next(in, len, &i, &cp) < 0) {
				*error_r = "Mailbox name is not valid UTF-8";
				return -1;
			}
			if (cp == 0) {
				*error_r = "NUL in mailbox name";
				return -1;
			}
			if (cp >= 0x10000) {
				cp -= 0x10000;
				if (b64_put_unit(out, &st, (uint16_t)(0xd800 | (cp >> 10))) < 0 ||
				    b64_put_unit(out, &st, (uint16_t)(0xdc00 | (cp & 0x3ff))) < 0)
					goto too_long;
			} else if (b64_put_unit(out, &st, (uint16_t)cp) < 0) {
				goto too_long;
			}
		}
		/* zero padding bits up to the next 6 */
		if (st.nbits > 0 &&
		    buf_append(out, &mbase64[(st.bits << (6 - st.nbits)) & 0x3f], 1) < 0)
			goto too_long;
		if (buf_append(out, "-", 1) < 0)
			goto too_long;
	}
	return 0;
too_long:
	*error_r = "Mailbox name too long";
	return -1;
}

/* decode_run - the BASE64 run at in[*pos] (after '&', up to and including
 * its '-'), appended to out as UTF-8. */
static int decode_run(const unsigned char *in, size_t len, size_t *pos, struct buf *out,
		      const char **error_r)
{
	uint32_t bits = 0, high = 0; /* high: a pending high surrogate */
	unsigned nbits = 0;
	size_t i = *pos;

	for (; i < len && in[i] != '-'; i++) {
		int v = mbase64_value(in[i]);
		if (v < 0) {
			*error_r = "Invalid character in modified BASE64";
			return -1;
		}
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t unit = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;

		uint32_t cp;
		if (high != 0) {
			if (unit < 0xdc00 || unit > 0xdfff) {
				*error_r = "Unpaired UTF-16 surrogate in modified UTF-7";
				return -1;
			}
			cp = 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00);
			high = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff) {
			high = unit;
			continue;
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
			*error_r = "Unpaired UTF-16 surrogate in modified UTF-7";
			return -1;
		} else if (unit >= 0x20 && unit <= 0x7e) {
			/* RFC 3501 5.1.3: BASE64 MUST NOT encode what can
			 * represent itself */
			*error_r = "Printable ASCII encoded in modified BASE64";
			return -1;
		} else if (unit == 0) {
			*error_r = "NUL in mailbox name";
			return -1;
		} else {
			cp = unit;
		}
		if (utf8_put(out, cp) < 0) {
			*error_r = "Mailbox name too long";
			return -1;
		}
	}
	if (i == len) {
		/* names MUST end in US-ASCII */
		*error_r = "Modified BASE64 not terminated by '-'";
		return -1;
	}
	if (high != 0) {
		*error_r = "Unpaired UTF-16 surrogate in modified UTF-7";
		return -1;
	}
	if (nbits >= 6 || bits != 0) {
		*error_r = "Bad padding in modified BASE64";
		return -1;
	}
	*pos = i + 1;
	return 0;
}

int utf7_decode(const void *in_, size_t len, struct buf *out, const char **error_r)
{
	const unsigned char *in = in_;
	bool after_run = false; /* the last thing read was a run's '-' */
	size_t i = 0;

	while (i < len) {
		unsigned char c = in[i];

		if (!is_printable(c)) {
			*error_r = c == 0 ? "NUL in mailbox name" :
				"8-bit or control character in modified UTF-7";
			return -1;
		}
		if (c != '&') {
			if (buf_append(out, &c, 1) < 0)
				goto too_long;
			after_run = false;
			i++;
			continue;
		}
		if (i + 1 < len && in[i + 1] == '-') {
			if (buf_append(out, "&", 1) < 0)
				goto too_long;
			after_run = false;
			i += 2;
			continue;
		}
		if (after_run) {
			/* RFC 3501 5.1.3: null shifts ("-&") are not permitted */
			*error_r = "Two adjacent modified BASE64 runs";
			return -1;
		}
		i++;
		if (decode_run(in, len, &i, out, error_r) < 0)
			return -1;
		after_run = true;
	}
	return 0;
too_long:
	*error_r = "Mailbox name too long";
	return -1;
}

bool utf7_valid(const void *in, size_t len)
{
	struct buf tmp;
	const char *error;
	int ret;

	buf_init(&tmp, 0);
	ret = utf7_decode(in, len, &tmp, &error);
	buf_release(&tmp);
	return ret == 0;
}
