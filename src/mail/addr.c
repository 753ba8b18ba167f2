/* SPDX-License-Identifier: ISC */
/*
 * addr.c - validation and canonical form of mailbox addresses.
 *
 * Only the forms an administrator or a directory should hold are accepted:
 * dot-atom local parts (RFC 5321 4.1.2, with UTF-8 per RFC 6531 3.3) and
 * host names as domains. Quoted local parts and address literals are valid
 * in SMTP paths but never name a mailbox we create, so they are refused
 * here with a message that says so. Lookups are case-insensitive because
 * ASCII letters are lower-cased on the way in; non-ASCII local parts are
 * kept byte for byte (case mapping them needs a locale, and RFC 6531 leaves
 * it to the receiving server).
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/addr.h"

#include <idn2.h>

/* RFC 5322 3.2.3 atext, beyond letters and digits. */
static const char atext_specials[] = "!#$%&'*+-/=?^_`{|}~";

/* utf8_char_len - length of the well-formed UTF-8 sequence at s (RFC 3629
 * 4: no overlongs, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_char_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return len;
}

static bool is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr(atext_specials, c) != NULL);
}

/* check_local - the local part is a dot-atom of at most 64 octets. */
static int check_local(const char *local, size_t len, const char **error_r)
{
	const unsigned char *s = (const unsigned char *)local;

	if (len == 0) {
		*error_r = "empty local part";
		return -1;
	}
	if (s[0] == '"') {
		*error_r = "quoted local parts are not supported";
		return -1;
	}
	if (len > ADDR_LOCAL_MAX) {
		*error_r = "local part too long (max 64)";
		return -1;
	}
	if (s[0] == '.') {
		*error_r = "local part starts with a dot";
		return -1;
	}
	if (s[len - 1] == '.') {
		*error_r = "local part ends with a dot";
		return -1;
	}
	for (size_t i = 0; i < len;) {
		if (s[i] == '.') {
			if (s[i + 1] == '.') {
				*error_r = "local part has two dots in a row";
				return -1;
			}
			i++;
		} else if (s[i] < 0x80) {
			if (!is_atext(s[i])) {
				*error_r = "invalid character in local part";
				return -1;
			}
			i++;
		} else {
			size_t n = utf8_char_len(s + i);
			if (n == 0 || i + n > len) {
				*error_r = "local part is not valid UTF-8";
				return -1;
			}
			i += n;
		}
	}
	return 0;
}

/* check_ldh - an ASCII host name (RFC 1035 2.3.1, RFC 5891 4.2.3.1). */
static int check_ldh(const char *domain, const char **error_r)
{
	size_t len = strlen(domain);
	const char *label = domain;

	if (len > ADDR_DOMAIN_MAX) {
		*error_r = "domain too long (max 253)";
		return -1;
	}
	for (;;) {
		const char *end = strchr(label, '.');
		size_t n = end != NULL ? (size_t)(end - label) : strlen(label);
		bool digits_only = true;

		if (n == 0) {
			*error_r = "empty label in domain";
			return -1;
		}
		if (n > ADDR_LABEL_MAX) {
			*error_r = "domain label too long (max 63)";
			return -1;
		}
		if (label[0] == '-' || label[n - 1] == '-') {
			*error_r = "domain label starts or ends with a hyphen";
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			char c = label[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
				*error_r = "invalid character in domain";
				return -1;
			}
			if (c < '0' || c > '9')
				digits_only = false;
		}
		/* "ab--" is reserved for IDNA: only "xn--" labels may carry it */
		if (n >= 4 && label[2] == '-' && label[3] == '-' && !str_has_prefix(label, "xn--")) {
			*error_r = "domain label has '--' in positions 3-4 but is not an A-label";
			return -1;
		}
		if (end == NULL) {
			/* RFC 3696 2: an all-numeric top-level label is an IP address */
			if (digits_only) {
				*error_r = "domain looks like an IP address";
				return -1;
			}
			return 0;
		}
		label = end + 1;
	}
}

static bool needs_idna(const char *s)
{
	if (str_has_prefix(s, "xn--") || strstr(s, ".xn--") != NULL)
		return true;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return true;
	}
	return false;
}

int addr_domain_normalize(const char *in, char **domain_r, const char **error_r)
{
	char *domain;

	if (in == NULL || in[0] == '\0') {
		*error_r = "empty domain";
		return -1;
	}
	if (in[0] == '[') {
		*error_r = "address literals are not supported";
		return -1;
	}
	if (strlen(in) > ADDR_DOMAIN_MAX * 4) {
		/* not even a Unicode form of a legal name; keep idn2 bounded */
		*error_r = "domain too long (max 253)";
		return -1;
	}
	domain = xstrdup(in);
	str_lcase(domain);
	if (needs_idna(domain)) {
		char *ascii = NULL;
		/* Also run for ASCII "xn--" labels: idn2 rejects bad punycode. */
		if (idn2_to_ascii_8z(domain, &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) !=
		    IDN2_OK) {
			idn2_free(ascii);
			free(domain);
			*error_r = "invalid international domain name";
			return -1;
		}
		free(domain);
		domain = xstrdup(ascii);
		idn2_free(ascii);
		str_lcase(domain);
	}
	if (check_ldh(domain, error_r) < 0) {
		free(domain);
		return -1;
	}
	*domain_r = domain;
	return 0;
}

int addr_normalize(const char *in, char **addr_r, const char **error_r)
{
	const char *at;
	char *local, *domain;

	if (in == NULL || in[0] == '\0') {
		*error_r = "empty address";
		return -1;
	}
	at = strrchr(in, '@');
	if (at == NULL) {
		*error_r = "missing @";
		return -1;
	}
	if (in[0] != '"' && strchr(in, '@') != at) {
		*error_r = "more than one @";
		return -1;
	}
	if (check_local(in, (size_t)(at - in), error_r) < 0)
		return -1;
	if (at[1] == '\0') {
		*error_r = "missing domain after @";
		return -1;
	}
	if (addr_domain_normalize(at + 1, &domain, error_r) < 0)
		return -1;
	local = xstrndup(in, (size_t)(at - in));
	str_lcase(local);
	char *addr = xasprintf("%s@%s", local, domain);
	free(local);
	free(domain);
	if (strlen(addr) > ADDR_MAX) {
		free(addr);
		*error_r = "address too long (max 254)";
		return -1;
	}
	*addr_r = addr;
	return 0;
}

const char *addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at != NULL ? at + 1 : NULL;
}
