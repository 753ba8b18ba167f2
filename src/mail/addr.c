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
 *
 * The second half parses RFC 5321 paths as clients send them, where every
 * form is grammatical: quoted local parts, address literals and source
 * routes are parsed, flagged and canonicalised rather than refused, since
 * refusing is policy's call. The parser is a hand-written walk over the
 * ABNF of RFC 5321 4.1.2 (with RFC 6531 3.3), one function per production,
 * so each error names the production that failed.
 */
#include "lib/lib.h"
#include "lib/utf8.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/addr.h"

#include <arpa/inet.h>
#include <idn2.h>

/* RFC 5322 3.2.3 atext, beyond letters and digits. */
static const char atext_specials[] = "!#$%&'*+-/=?^_`{|}~";

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
			size_t n = utf8_seq_len(s + i, len - i);
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

/* ---- RFC 5321 paths ----------------------------------------------------- */

static const char err_literal_tag[] = "unsupported address literal (only IPv4 and IPv6)";
#define ADDR_IPV6_TEXT_MAX 45 /* INET6_ADDRSTRLEN - 1: longest IPv6 text form */

static bool is_let_dig(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int addr_domain_syntax(const char *in, size_t len, bool utf8, const char **error_r)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t label = 0;

	if (len == 0) {
		*error_r = "empty domain";
		return -1;
	}
	for (size_t i = 0; i <= len;) {
		if (i == len || s[i] == '.') {
			/* sub-domain = Let-dig [Ldh-str]: no empty label, no hyphen
			 * at either end (RFC 5321 4.1.2) */
			if (i == label) {
				*error_r = "empty label in domain";
				return -1;
			}
			if (s[label] == '-' || s[i - 1] == '-') {
				*error_r = "domain label starts or ends with a hyphen";
				return -1;
			}
			label = ++i;
		} else if (s[i] < 0x80) {
			if (!is_let_dig(s[i]) && s[i] != '-') {
				*error_r = "invalid character in domain";
				return -1;
			}
			i++;
		} else {
			size_t n = utf8 ? utf8_seq_len(s + i, len - i) : 0;
			if (n == 0) {
				*error_r = utf8 ? "domain is not valid UTF-8" : "invalid character in domain";
				return -1;
			}
			i += n;
		}
	}
	return 0;
}

/* ipv4_literal - Snum 3("." Snum), Snum = 1*3DIGIT up to 255 (RFC 5321
 * 4.1.3); leading zeros are grammatical, so they are accepted and dropped. */
static int ipv4_literal(const char *s, size_t len, unsigned octets[4])
{
	size_t i = 0;

	for (int n = 0; n < 4; n++) {
		unsigned v = 0;
		size_t digits = 0;

		if (n > 0) {
			if (i >= len || s[i] != '.')
				return -1;
			i++;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(s[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || v > 255)
			return -1;
		octets[n] = v;
	}
	return i == len ? 0 : -1;
}

/* general_literal - Standardized-tag ":" 1*dcontent (RFC 5321 4.1.3). */
static bool general_literal(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (is_let_dig((unsigned char)s[i]) || s[i] == '-'))
		i++;
	if (i == 0 || i == len || s[i] != ':' || s[0] == '-' || s[i - 1] == '-' || i + 1 == len)
		return false;
	for (i++; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126 || (c >= 91 && c <= 93))
			return false;
	}
	return true;
}

int addr_literal_normalize(struct pool *pool, const char *in, size_t len, const char **literal_r,
			   const char **error_r)
{
	const char *body = in + 1;
	size_t blen = len - 2;
	unsigned o[4];

	if (len < 3 || in[0] != '[' || in[len - 1] != ']') {
		*error_r = "address literal must be enclosed in []";
		return -1;
	}
	if (blen >= 5 && str_ncasecmp(body, "IPv6:", 5) == 0) {
		char text[ADDR_IPV6_TEXT_MAX + 1], out[INET6_ADDRSTRLEN];
		struct in6_addr a6;

		if (blen - 5 > ADDR_IPV6_TEXT_MAX || memchr(body + 5, '\0', blen - 5) != NULL) {
			*error_r = "invalid IPv6 address literal";
			return -1;
		}
		memcpy(text, body + 5, blen - 5);
		text[blen - 5] = '\0';
		if (inet_pton(AF_INET6, text, &a6) != 1 ||
		    inet_ntop(AF_INET6, &a6, out, sizeof(out)) == NULL) {
			*error_r = "invalid IPv6 address literal";
			return -1;
		}
		*literal_r = p_printf(pool, "[IPv6:%s]", out);
		return 0;
	}
	if (ipv4_literal(body, blen, o) == 0) {
		*literal_r = p_printf(pool, "[%u.%u.%u.%u]", o[0], o[1], o[2], o[3]);
		return 0;
	}
	if (blen > 0 && body[0] >= '0' && body[0] <= '9' && memchr(body, ':', blen) == NULL) {
		*error_r = "invalid IPv4 address literal";
		return -1;
	}
	*error_r = general_literal(body, blen) ? err_literal_tag : "invalid address literal";
	return -1;
}

/* One addr_parse_path() call. */
struct path_parser {
	struct pool *pool;
	unsigned opts;
	struct mail_error *error_r;
	bool utf8_seen;
};

static int path_error(struct path_parser *pp, unsigned code, const char *text)
{
	/* RFC 3463 3.2: X.1.7 is the sender's address, X.1.3 a recipient's */
	pp->error_r->code = code;
	pp->error_r->enhanced = (pp->opts & ADDR_PATH_OPT_REVERSE) != 0 ? "5.1.7" : "5.1.3";
	pp->error_r->text = text;
	return -1;
}

/* path_utf8 - length of the UTF-8 character at s (avail bytes readable),
 * or -1 with the error set: 553 5.6.7 when SMTPUTF8 is not in force (RFC
 * 6531 3.5), 501 when the octets are not UTF-8 at all. */
static ssize_t path_utf8(struct path_parser *pp, const char *s, size_t avail)
{
	size_t n;

	if ((pp->opts & ADDR_PATH_OPT_UTF8) == 0) {
		path_error(pp, 553, "non-ASCII address without SMTPUTF8");
		pp->error_r->enhanced = "5.6.7";
		return -1;
	}
	n = utf8_seq_len((const unsigned char *)s, avail);
	if (n == 0)
		return path_error(pp, 501, "address is not valid UTF-8");
	pp->utf8_seen = true;
	return (ssize_t)n;
}

/* path_domain_span - the Domain at s ends at the first of stop (or NUL);
 * check its grammar; *end_r is where it stopped. */
static int path_domain_span(struct path_parser *pp, const char *s, const char *stop,
			    const char **end_r)
{
	const char *e = s, *error;

	while (*e != '\0' && strchr(stop, *e) == NULL)
		e++;
	for (const char *q = s; q < e; q++) {
		if ((unsigned char)*q >= 0x80) {
			ssize_t n = path_utf8(pp, q, (size_t)(e - q));
			if (n < 0)
				return -1;
			q += n - 1;
		}
	}
	if (addr_domain_syntax(s, (size_t)(e - s), (pp->opts & ADDR_PATH_OPT_UTF8) != 0, &error) < 0)
		return path_error(pp, 501, error);
	*end_r = e;
	return 0;
}

/* path_route - "@a,@b:" before the mailbox (RFC 5321 4.1.2 A-d-l). Servers
 * "SHOULD NOT" route by it (RFC 5321 3.3, appendix C), so it is checked
 * and skipped. */
static int path_route(struct path_parser *pp, const char *s, const char **end_r)
{
	for (;;) {
		if (*s != '@')
			return path_error(pp, 501, "invalid source route");
		if (path_domain_span(pp, s + 1, ",:>", &s) < 0)
			return -1;
		if (*s == ':') {
			*end_r = s + 1;
			return 0;
		}
		if (*s != ',')
			return path_error(pp, 501, "source route must end with ':'");
		s++;
	}
}

/* path_quoted - Quoted-string = DQUOTE *QcontentSMTP DQUOTE, unquoted into
 * dst (which has room for the whole input). */
static int path_quoted(struct path_parser *pp, const char *s, char *dst, const char **end_r)
{
	size_t n = 0;

	for (s++;; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"')
			break;
		if (c == '\\') {
			/* quoted-pairSMTP = %d92 %d32-126 */
			c = (unsigned char)*++s;
			if (c < 32 || c > 126)
				return path_error(pp, 501, "invalid quoted-pair in local part");
			dst[n++] = (char)c;
		} else if (c >= 0x80) {
			ssize_t len = path_utf8(pp, s, strnlen(s, 4));
			if (len < 0)
				return -1;
			memcpy(dst + n, s, (size_t)len);
			n += (size_t)len;
			s += len - 1;
		} else if (c == '\0') {
			return path_error(pp, 501, "unterminated quoted local part");
		} else if (c < 32 || c == 127) {
			/* qtextSMTP = %d32-33 / %d35-91 / %d93-126 */
			return path_error(pp, 501, "invalid character in quoted local part");
		} else {
			dst[n++] = (char)c;
		}
	}
	dst[n] = '\0';
	*end_r = s + 1;
	return 0;
}

/* path_dot_string - Dot-string = Atom *("." Atom), copied into dst. */
static int path_dot_string(struct path_parser *pp, const char *s, char *dst, const char **end_r)
{
	size_t n = 0;
	bool atom_empty = true;

	for (;; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '@' || c == '>' || c == '\0')
			break;
		if (c == '.') {
			if (atom_empty)
				return path_error(pp, 501, n == 0 ? "local part starts with a dot" :
							     "local part has two dots in a row");
			atom_empty = true;
		} else if (c >= 0x80) {
			ssize_t len = path_utf8(pp, s, strnlen(s, 4));
			if (len < 0)
				return -1;
			memcpy(dst + n, s, (size_t)len);
			n += (size_t)len;
			s += len - 1;
			atom_empty = false;
			continue;
		} else if (!is_atext(c)) {
			return path_error(pp, 501, "invalid character in local part");
		} else {
			atom_empty = false;
		}
		dst[n++] = (char)c;
	}
	if (n == 0)
		return path_error(pp, 501, "empty local part");
	if (atom_empty)
		return path_error(pp, 501, "local part ends with a dot");
	dst[n] = '\0';
	*end_r = s;
	return 0;
}

/* is_dot_string - could local have been sent without quotes? */
static bool is_dot_string(const char *local)
{
	const char *error;
	return check_local(local, strlen(local), &error) == 0;
}

/* quote_local - the shortest Quoted-string for local, ASCII lower-cased. */
static char *quote_local(struct pool *pool, const char *local)
{
	char *q = p_alloc(pool, strlen(local) * 2 + 3), *d = q;

	*d++ = '"';
	for (const char *s = local; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			*d++ = '\\';
		*d++ = *s >= 'A' && *s <= 'Z' ? (char)(*s + ('a' - 'A')) : *s;
	}
	*d++ = '"';
	*d = '\0';
	return q;
}

/* path_canonical - fill path->addr and path->domain from the unquoted local
 * part and the domain as sent; every refusal here is a 553 (the path is
 * grammatical, the mailbox name is not one we can use). */
static int path_canonical(struct path_parser *pp, struct addr_path *path, const char *dom,
			  size_t dom_len)
{
	const char *error, *domain;
	char *tmp, *addr;

	if (dom[0] != '[' && is_dot_string(path->local)) {
		/* RFC 5322 3.4.1: quoting is semantically invisible, so "a"@b
		 * and a@b are one mailbox */
		tmp = xasprintf("%s@%.*s", path->local, (int)dom_len, dom);
		if (addr_normalize(tmp, &addr, &error) < 0) {
			free(tmp);
			return path_error(pp, 553, error);
		}
		free(tmp);
		path->addr = p_strdup(pp->pool, addr);
		path->domain = addr_domain(path->addr);
		free(addr);
		return 0;
	}
	if (dom[0] == '[') {
		if (addr_literal_normalize(pp->pool, dom, dom_len, &domain, &error) < 0)
			return path_error(pp, error == err_literal_tag ? 553 : 501, error);
	} else {
		char *name = xstrndup(dom, dom_len), *norm;
		if (addr_domain_normalize(name, &norm, &error) < 0) {
			free(name);
			return path_error(pp, 553, error);
		}
		free(name);
		domain = p_strdup(pp->pool, norm);
		free(norm);
	}
	if (is_dot_string(path->local)) {
		tmp = p_strdup(pp->pool, path->local);
		str_lcase(tmp);
	} else {
		tmp = quote_local(pp->pool, path->local);
	}
	path->addr = p_printf(pp->pool, "%s@%s", tmp, domain);
	path->domain = domain;
	if (strlen(path->addr) > ADDR_MAX)
		return path_error(pp, 553, "address too long (max 254)");
	return 0;
}

int addr_parse_path(struct pool *pool, const char *in, unsigned opts, struct addr_path *path_r,
		    const char **end_r, struct mail_error *error_r)
{
	struct path_parser pp = { .pool = pool, .opts = opts, .error_r = error_r };
	struct addr_path path = { .flags = 0, .addr = "", .local = "", .domain = "" };
	const char *s = in + 1, *local_start, *local_end, *dom, *gt;
	char *local;

	if (in[0] != '<')
		return path_error(&pp, 501, "path must be enclosed in <>");
	if (*s == '>') {
		/* Reverse-path = Path / "<>" (RFC 5321 4.1.2) */
		if ((opts & ADDR_PATH_OPT_REVERSE) == 0)
			return path_error(&pp, 501, "the null path <> is only valid in MAIL FROM");
		path.flags |= ADDR_PATH_NULL;
		*path_r = path;
		*end_r = s + 1;
		return 0;
	}
	if (*s == '@') {
		if (path_route(&pp, s, &s) < 0)
			return -1;
		path.flags |= ADDR_PATH_SOURCE_ROUTE;
	}
	/* the unquoted local part is never longer than the rest of the line */
	local = p_alloc(pool, strlen(s) + 1);
	local_start = s;
	if (*s == '"') {
		if (path_quoted(&pp, s, local, &local_end) < 0)
			return -1;
		path.flags |= ADDR_PATH_QUOTED;
	} else if (path_dot_string(&pp, s, local, &local_end) < 0) {
		return -1;
	}
	path.local = local;
	if (*local_end == '>' && (path.flags & (ADDR_PATH_SOURCE_ROUTE | ADDR_PATH_QUOTED)) == 0 &&
	    str_casecmp(local, "postmaster") == 0 && (opts & ADDR_PATH_OPT_REVERSE) == 0) {
		/* "<Postmaster>", case-insensitive (RFC 5321 4.1.1.3, 4.5.1) */
		if (local_end + 1 - in > ADDR_PATH_MAX)
			return path_error(&pp, 501, "path too long (max 256)");
		path.flags |= ADDR_PATH_POSTMASTER;
		path.addr = "postmaster";
		*path_r = path;
		*end_r = local_end + 1;
		return 0;
	}
	if (*local_end != '@')
		return path_error(&pp, 501, *local_end == '>' || *local_end == '\0' ?
						    "missing @ in path" : "invalid character in local part");
	dom = local_end + 1;
	if (*dom == '[') {
		const char *rb = dom;
		while (*rb != '\0' && *rb != ']')
			rb++;
		if (*rb != ']')
			return path_error(&pp, 501, "unterminated address literal");
		gt = rb + 1;
		path.flags |= ADDR_PATH_LITERAL;
	} else if (*dom == '>' || *dom == '\0') {
		return path_error(&pp, 501, "missing domain after @");
	} else if (path_domain_span(&pp, dom, ">", &gt) < 0) {
		return -1;
	}
	if (*gt != '>')
		return path_error(&pp, 501, "path must end with >");
	if (gt + 1 - in > ADDR_PATH_MAX)
		return path_error(&pp, 501, "path too long (max 256)");
	/* RFC 5321 4.5.3.1.1-2 count the parts as sent */
	if (local_end - local_start > ADDR_LOCAL_MAX)
		return path_error(&pp, 553, "local part too long (max 64)");
	if (gt - dom > ADDR_PATH_DOMAIN_MAX)
		return path_error(&pp, 553, "domain too long (max 255)");
	if (path_canonical(&pp, &path, dom, (size_t)(gt - dom)) < 0)
		return -1;
	if (strpbrk(local, "%!@") != NULL)
		path.flags |= ADDR_PATH_ROUTING;
	if (pp.utf8_seen)
		path.flags |= ADDR_PATH_UTF8;
	*path_r = path;
	*end_r = gt + 1;
	return 0;
}
