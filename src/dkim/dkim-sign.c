/* SPDX-License-Identifier: ISC */
/*
 * dkim-sign.c - the DKIM-Signature field of a message read from a file
 * (RFC 6376 5; RFC 8463 for ed25519-sha256).
 *
 * The header (bounded by HEADER_BLOCK_MAX) is parsed with mail/header.c
 * and kept; the body is streamed through the canonicaliser into SHA-256
 * in fixed-size chunks, so a 50 MB message costs 64 KiB of memory. Both
 * header and body use "relaxed", the choice that survives the re-folding
 * and whitespace changes relays make (RFC 6376 3.4, 5.3).
 */
#include "lib/lib.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/addr.h"
#include "mail/addrlist.h"
#include "mail/header.h"
#include "core/db.h"
#include "dkim/dkim.h"

#include <fcntl.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#define DKIM_READ_CHUNK (64 * 1024)
/* RFC 5322 2.1.1 asks for lines of at most 78 octets. */
#define DKIM_FOLD_AT 76
#define SHA256_LEN 32
/* RSA 4096 signs 512 octets; Ed25519 64. */
#define DKIM_SIG_MAX 512

/* The fields we sign (RFC 6376 5.4.1's list plus the MIME fields that
 * decide how the body is shown). "oversign" fields are listed once more
 * than they occur, so nobody can add one (5.4.2, 8.15): From, which the
 * signature is about, and the fields a reader trusts next to it. */
static const struct {
	const char *name;
	bool oversign;
} sign_fields[] = {
	{ "from", true },
	{ "reply-to", true },
	{ "subject", true },
	{ "date", false },
	{ "to", true },
	{ "cc", true },
	{ "message-id", false },
	{ "in-reply-to", false },
	{ "references", false },
	{ "sender", false },
	{ "mime-version", false },
	{ "content-type", false },
	{ "content-transfer-encoding", false },
	{ "content-disposition", false },
	{ "resent-date", false },
	{ "resent-from", false },
	{ "resent-to", false },
	{ "resent-cc", false },
	{ "list-id", false },
	{ "list-help", false },
	{ "list-unsubscribe", false },
	{ "list-unsubscribe-post", false },
	{ "list-subscribe", false },
	{ "list-post", false },
	{ "list-owner", false },
	{ "list-archive", false },
};

struct dkim_msg {
	int fd;
	struct header *header;
	char *body_start; /* body octets that came with the header's last read */
	size_t body_len;
	char *from_domain;
	bool from_done;
};

int dkim_msg_open(const char *prefix, int fd, struct dkim_msg **msg_r, const char **error_r)
{
	struct dkim_msg *m = xcalloc(1, sizeof(*m));
	char *buf = xmalloc(DKIM_READ_CHUNK);
	size_t consumed;
	int ret = 0;

	m->fd = fd;
	m->header = header_new();
	if (prefix != NULL && prefix[0] != '\0') {
		size_t len = strlen(prefix);
		ret = header_feed(m->header, prefix, len, &consumed, error_r);
		if (ret == 1 && consumed < len) {
			m->body_len = len - consumed;
			m->body_start = xstrndup(prefix + consumed, m->body_len);
		}
	}
	while (ret == 0) {
		ssize_t n = read(fd, buf, DKIM_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = "cannot read the message";
			ret = -1;
		} else if (n == 0) {
			ret = header_finish(m->header) < 0 ? -1 : 1;
			if (ret < 0)
				*error_r = "cannot parse the header";
		} else if ((ret = header_feed(m->header, buf, (size_t)n, &consumed, error_r)) == 1 &&
			   consumed < (size_t)n) {
			m->body_len = (size_t)n - consumed;
			m->body_start = xmalloc(m->body_len);
			memcpy(m->body_start, buf + consumed, m->body_len);
		}
	}
	free(buf);
	if (ret < 0) {
		dkim_msg_free(&m);
		return -1;
	}
	*msg_r = m;
	return 0;
}

void dkim_msg_free(struct dkim_msg **_m)
{
	struct dkim_msg *m = *_m;

	if (m == NULL)
		return;
	*_m = NULL;
	header_free(&m->header);
	free(m->body_start);
	free(m->from_domain);
	free(m);
}

const char *dkim_msg_from_domain(struct dkim_msg *m)
{
	const struct header_field *f;
	struct addrlist_addr *a;
	struct pool *pool;
	const char *error;
	size_t iter = 0;

	if (m->from_done)
		return m->from_domain;
	m->from_done = true;
	/* RFC 5322 3.6: exactly one From; with two, whose signature is it? */
	if (header_count(m->header, "From") != 1)
		return NULL;
	f = header_find(m->header, "From", &iter);
	pool = pool_new(1024);
	for (a = addrlist_parse(pool, f->value, f->value_len); a != NULL; a = a->next) {
		if (a->kind == ADDRLIST_MAILBOX && a->domain != NULL && a->domain[0] != '\0')
			break;
	}
	if (a != NULL && addr_domain_normalize(a->domain, &m->from_domain, &error) < 0)
		m->from_domain = NULL;
	pool_free(&pool);
	return m->from_domain;
}

/* nth_from_bottom - the k-th instance of name counted from the last one
 * (RFC 6376 5.4.2: repeated names in h= take instances bottom-up). */
static const struct header_field *nth_from_bottom(struct header *h, const char *name, unsigned k)
{
	unsigned count = header_count(h, name);
	const struct header_field *f = NULL;
	size_t iter = 0;

	if (k >= count)
		return NULL;
	for (unsigned i = 0; i < count - k; i++)
		f = header_find(h, name, &iter);
	return f;
}

char *dkim_msg_signed_fields(struct dkim_msg *m)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < N_ELEMENTS(sign_fields); i++) {
		unsigned n = header_count(m->header, sign_fields[i].name);
		n += sign_fields[i].oversign ? 1 : 0;
		for (unsigned k = 0; k < n; k++) {
			if (buf_printf(&b, "%s%s", b.len > 0 ? ":" : "", sign_fields[i].name) < 0)
				panic("dkim: unbounded buffer refused");
		}
	}
	char *list = xstrdup(b.len > 0 ? b.data : "");
	buf_release(&b);
	return list;
}

static void digest_sink(void *ctx, const void *data, size_t len)
{
	(void)EVP_DigestUpdate(ctx, data, len);
}

/* body_hash - bh= (RFC 6376 3.7): the rest of the body, streamed. */
static int body_hash(struct dkim_msg *m, struct buf *bh_r, const char **error_r)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned digest_len = 0;
	struct dkim_body *body = xmalloc(sizeof(*body));
	char *buf = xmalloc(DKIM_READ_CHUNK);
	int ret = 0;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		*error_r = "SHA-256 unavailable";
		ret = -1;
		goto out;
	}
	dkim_body_init(body, DKIM_CANON_RELAXED, digest_sink, md);
	dkim_body_feed(body, m->body_start, m->body_len);
	for (;;) {
		ssize_t n = read(m->fd, buf, DKIM_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = "cannot read the message body";
			ret = -1;
			goto out;
		}
		if (n == 0)
			break;
		dkim_body_feed(body, buf, (size_t)n);
	}
	dkim_body_finish(body);
	if (EVP_DigestFinal_ex(md, digest, &digest_len) != 1 ||
	    base64_encode(digest, digest_len, bh_r) < 0) {
		*error_r = "cannot compute the body hash";
		ret = -1;
	}
out:
	EVP_MD_CTX_free(md);
	free(buf);
	free(body);
	return ret;
}

/* field_start - everything up to and including "b=", folded. */
static int field_start(struct dkim_msg *m, const struct dkim_sign_params *p, enum dkim_alg alg,
		       const char *bh, struct buf *out)
{
	char *fields = dkim_msg_signed_fields(m), *name, *save = NULL;
	size_t line;
	int ret;

	ret = buf_printf(out,
			 "DKIM-Signature: v=1; a=%s; c=relaxed/relaxed; d=%s;\r\n"
			 "\ts=%s; t=%" PRId64 "; h=",
			 dkim_alg_sig_name(alg), p->domain, p->selector, p->time);
	line = ret == 0 ? out->len - (size_t)(strrchr(out->data, '\n') + 1 - out->data) : 0;
	/* FWS is allowed around the colons of h= (RFC 6376 3.5) */
	for (name = strtok_r(fields, ":", &save); name != NULL && ret == 0;
	     name = strtok_r(NULL, ":", &save)) {
		bool first = name == fields;
		if (line + strlen(name) + 2 > DKIM_FOLD_AT) {
			ret = buf_append(out, "\r\n\t", 3);
			line = 1;
		}
		if (ret == 0)
			ret = buf_printf(out, "%s%s", first ? "" : ":", name);
		line += strlen(name) + 1;
	}
	if (ret == 0)
		ret = buf_printf(out, ";\r\n\tbh=%s;\r\n\tb=", bh);
	free(fields);
	return ret;
}

/* header_hash - SHA-256 over the signed fields and the signature field
 * itself with an empty b= and no final CRLF (RFC 6376 3.7). */
static int header_hash(struct dkim_msg *m, const char *sig_field, size_t sig_len,
		       unsigned char digest[SHA256_LEN], const char **error_r)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned digest_len = 0;
	size_t raw_len;
	const char *raw = header_raw(m->header, &raw_len);
	struct buf c;
	int ret = -1;

	buf_init(&c, 0);
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < N_ELEMENTS(sign_fields); i++) {
		unsigned n = header_count(m->header, sign_fields[i].name);
		for (unsigned k = 0; k < n; k++) {
			const struct header_field *f = nth_from_bottom(m->header, sign_fields[i].name, k);
			buf_reset(&c);
			if (dkim_canon_header(DKIM_CANON_RELAXED, raw + f->raw_offset, f->raw_len, &c) < 0 ||
			    EVP_DigestUpdate(md, c.data, c.len) != 1)
				goto out;
		}
		/* an oversigned name's extra instance does not exist: it hashes
		 * as nothing (5.4.2) */
	}
	buf_reset(&c);
	if (dkim_canon_header(DKIM_CANON_RELAXED, sig_field, sig_len, &c) < 0 || c.len < 2 ||
	    EVP_DigestUpdate(md, c.data, c.len - 2) != 1 ||
	    EVP_DigestFinal_ex(md, digest, &digest_len) != 1 || digest_len != SHA256_LEN)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		*error_r = "cannot compute the header hash";
	EVP_MD_CTX_free(md);
	buf_release(&c);
	return ret;
}

/* sign_digest - RSASSA-PKCS1-v1_5 with SHA-256 (RFC 6376 3.3.1), or
 * PureEdDSA over the SHA-256 digest (RFC 8463 3). */
static int sign_digest(EVP_PKEY *key, enum dkim_alg alg, const unsigned char *digest,
		       unsigned char *sig, size_t *sig_len)
{
	int ok = 0;

	if (alg == DKIM_ALG_RSA) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
		ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		     EVP_PKEY_sign(ctx, sig, sig_len, digest, SHA256_LEN) == 1;
		EVP_PKEY_CTX_free(ctx);
	} else {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ok = md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
		     EVP_DigestSign(md, sig, sig_len, digest, SHA256_LEN) == 1;
		EVP_MD_CTX_free(md);
	}
	ERR_clear_error();
	return ok ? 0 : -1;
}

/* append_folded - b= value in lines of DKIM_FOLD_AT (FWS is allowed
 * anywhere inside base64 in DKIM tags, RFC 6376 2.4). */
static int append_folded(struct buf *out, const char *b64, size_t len)
{
	size_t line = strlen("\tb=");

	for (size_t at = 0; at < len;) {
		size_t n = DKIM_FOLD_AT - line;
		n = n > len - at ? len - at : n;
		if (buf_append(out, b64 + at, n) < 0)
			return -1;
		at += n;
		if (at < len && buf_append(out, "\r\n\t", 3) < 0)
			return -1;
		line = 1;
	}
	return buf_append(out, "\r\n", 2);
}

int dkim_msg_sign(struct dkim_msg *m, const struct dkim_sign_params *p, char **field_r,
		  const char **error_r)
{
	unsigned char digest[SHA256_LEN], sig[DKIM_SIG_MAX];
	size_t sig_len = sizeof(sig);
	struct buf bh, field, b64;
	enum dkim_alg alg;
	unsigned bits;
	int ret = -1;

	if (dkim_key_alg(p->key, &alg, &bits) < 0 || EVP_PKEY_get_size(p->key) > DKIM_SIG_MAX) {
		*error_r = "unsupported key";
		return -1;
	}
	buf_init(&bh, 0);
	buf_init(&field, 0);
	buf_init(&b64, 0);
	if (body_hash(m, &bh, error_r) < 0)
		goto out;
	if (field_start(m, p, alg, bh.data, &field) < 0) {
		*error_r = "cannot build the signature field";
		goto out;
	}
	if (header_hash(m, field.data, field.len, digest, error_r) < 0)
		goto out;
	if (sign_digest(p->key, alg, digest, sig, &sig_len) < 0) {
		*error_r = "signing failed";
		goto out;
	}
	if (base64_encode(sig, sig_len, &b64) < 0 || append_folded(&field, b64.data, b64.len) < 0) {
		*error_r = "cannot build the signature field";
		goto out;
	}
	*field_r = xstrdup(field.data);
	ret = 0;
out:
	buf_release(&bh);
	buf_release(&field);
	buf_release(&b64);
	return ret;
}

int dkim_sign_spool(struct db *db, const char *data_dir, const char *prefix, const char *path,
		    char **field_r, char **error_r)
{
	struct dkim_keyinfo info = { 0 };
	struct dkim_msg *m = NULL;
	EVP_PKEY *key = NULL;
	const char *error, *domain;
	char *key_path = NULL;
	int fd, ret = -1;

	*field_r = NULL;
	*error_r = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (dkim_msg_open(prefix, fd, &m, &error) < 0) {
		*error_r = xstrdup(error);
		goto out;
	}
	if ((domain = dkim_msg_from_domain(m)) == NULL) {
		log_debug("dkim: not signed: no single From: domain");
		ret = 0;
		goto out;
	}
	if ((ret = dkim_store_active(db, domain, &info)) <= 0) {
		if (ret == 0)
			log_debug("dkim: not signed: no key for %s", domain);
		else
			*error_r = xasprintf("cannot read dkim_keys: %s", db_errmsg(db));
		goto out;
	}
	ret = -1;
	key_path = dkim_key_path(data_dir, info.domain, info.selector);
	if (dkim_key_load(key_path, &key, error_r) < 0)
		goto out;
	struct dkim_sign_params params = {
		.key = key, .domain = info.domain, .selector = info.selector, .time = time(NULL),
	};
	if (dkim_msg_sign(m, &params, field_r, &error) < 0) {
		*error_r = xstrdup(error);
		goto out;
	}
	ret = 1;
out:
	dkim_key_free(&key);
	free(key_path);
	dkim_keyinfo_clear(&info);
	dkim_msg_free(&m);
	close(fd);
	return ret;
}
