/* SPDX-License-Identifier: ISC */
/*
 * dkim.h - DKIM signing of outgoing mail (RFC 6376, RFC 8463).
 *
 * Four parts, one file each: canonicalisation (dkim-canon.c, pure, no
 * I/O), the signature over a message read from a file (dkim-sign.c), the
 * keys themselves (dkim-key.c: OpenSSL generation, PEM files, the DNS
 * record) and the table of keys per domain in postino.db
 * (dkim-store.c). The queue signs once, at enqueue, so every retry sends
 * the same bytes; the CLI manages keys (`postino dkim ...`).
 *
 * Keys live in DATA/dkim/<domain>/<selector>.key (PKCS#8 PEM, mode 0600);
 * postino.db table dkim_keys says which selectors exist and which one
 * signs (at most one active key per domain).
 */
#ifndef POSTINO_DKIM_H
#define POSTINO_DKIM_H

#include "lib/lib.h"
#include "lib/buf.h"

struct db;
struct evp_pkey_st; /* OpenSSL's EVP_PKEY */

#define DKIM_DIR "dkim"
#define DKIM_RSA_BITS_DEFAULT 2048
/* RFC 8301 3.2: verifiers must accept 1024..4096; below 1024 they refuse. */
#define DKIM_RSA_BITS_MIN 1024
#define DKIM_RSA_BITS_MAX 4096
/* RFC 1035 2.3.4 label; a selector is one or more labels (RFC 6376 3.1). */
#define DKIM_SELECTOR_MAX 63
/* RFC 1035 3.3.14: one <character-string> of a TXT record. */
#define DKIM_TXT_STRING_MAX 255

/* ---- canonicalisation (RFC 6376 3.4) ---- */

enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

/* dkim_canon_header - append one header field (raw octets as in the
 * message, its line end included or not; LF alone counts as CRLF) in
 * canonical form ending in CRLF. -1 when out's limit is reached. */
int dkim_canon_header(enum dkim_canon canon, const char *raw, size_t len, struct buf *out)
	ATTR_NODISCARD;

typedef void dkim_sink_fn(void *ctx, const void *data, size_t len);

#define DKIM_BODY_OUT 4096

/* The body, canonicalised as it streams past (any split gives the same
 * output). Line ends may be CRLF or LF; a CR not before LF is data. */
struct dkim_body {
	enum dkim_canon canon;
	dkim_sink_fn *sink;
	void *ctx;
	uint64_t empty_lines; /* held back: they vanish if nothing follows */
	bool cr;              /* a CR was read, its meaning waits for the next octet */
	bool wsp;             /* relaxed: blanks held back (dropped at line end) */
	bool content;         /* the current line has output */
	bool any;             /* some line was output */
	size_t out_len;
	char out[DKIM_BODY_OUT];
};

void dkim_body_init(struct dkim_body *b, enum dkim_canon canon, dkim_sink_fn *sink, void *ctx);
void dkim_body_feed(struct dkim_body *b, const void *data, size_t len);
/* The end of the body: output the last line end and flush the sink. */
void dkim_body_finish(struct dkim_body *b);

/* ---- keys (dkim-key.c) ---- */

enum dkim_alg {
	DKIM_ALG_RSA,     /* rsa-sha256 (RFC 6376 3.3.1) */
	DKIM_ALG_ED25519, /* ed25519-sha256 (RFC 8463) */
};

/* "rsa" / "ed25519" (the k= tag and the CLI's --algorithm). */
const char *dkim_alg_name(enum dkim_alg alg);
int dkim_alg_parse(const char *name, enum dkim_alg *alg_r);
/* "rsa-sha256" / "ed25519-sha256" (the a= tag). */
const char *dkim_alg_sig_name(enum dkim_alg alg);

/* A selector: dot-separated labels of letters, digits and '-' (no '-' at
 * either end), at most DKIM_SELECTOR_MAX octets; stored lower-cased. */
bool dkim_selector_valid(const char *selector);

/* DATA/dkim/<domain>/<selector>.key (xmalloc'ed). */
char *dkim_key_path(const char *data_dir, const char *domain, const char *selector);

int dkim_key_generate(enum dkim_alg alg, unsigned bits, struct evp_pkey_st **key_r,
		      char **error_r) ATTR_NODISCARD;
/* Write the private key as PKCS#8 PEM, mode 0600, durably. */
int dkim_key_write(const char *path, struct evp_pkey_st *key, char **error_r) ATTR_NODISCARD;
/* Load a key written by dkim_key_write; refuses other key types. */
int dkim_key_load(const char *path, struct evp_pkey_st **key_r, char **error_r) ATTR_NODISCARD;
void dkim_key_free(struct evp_pkey_st **_key);
int dkim_key_alg(struct evp_pkey_st *key, enum dkim_alg *alg_r, unsigned *bits_r);
/* The TXT record value "v=DKIM1; k=rsa; p=<base64>" (RFC 6376 3.6.1;
 * RFC 8463 4.2 for ed25519: p= is the raw 32-octet key). */
char *dkim_key_record(struct evp_pkey_st *key);
/* One zone-file line: `NAME IN TXT "..." "..."`, the value split into
 * strings of at most DKIM_TXT_STRING_MAX octets. */
char *dkim_zone_line(const char *name, const char *value);

/* ---- the table of keys (dkim-store.c) ---- */

struct dkim_keyinfo {
	char *domain;
	char *selector;
	enum dkim_alg alg;
	unsigned bits;      /* RSA modulus; 256 for ed25519 */
	int64_t created_at; /* epoch seconds */
	bool active;
};

/* Record a new key and make it the domain's active one. */
int dkim_store_add(struct db *db, const struct dkim_keyinfo *key) ATTR_NODISCARD;
/* 1 deleted, 0 no such key, -1 error. When the active key goes, the
 * newest remaining one becomes active (*promoted_r, or NULL). */
int dkim_store_del(struct db *db, const char *domain, const char *selector, char **promoted_r);
/* 1 activated, 0 no such key, -1 error. */
int dkim_store_activate(struct db *db, const char *domain, const char *selector);
/* 1 found, 0 none, -1 error. */
int dkim_store_get(struct db *db, const char *domain, const char *selector,
		   struct dkim_keyinfo *key_r);
int dkim_store_active(struct db *db, const char *domain, struct dkim_keyinfo *key_r);
/* Every key (of domain, or all when NULL): domain, then active first,
 * then newest first. */
int dkim_store_list(struct db *db, const char *domain, struct dkim_keyinfo **keys_r,
		    size_t *count_r);
void dkim_keyinfo_clear(struct dkim_keyinfo *key);
void dkim_keyinfos_free(struct dkim_keyinfo **_keys, size_t count);

/* ---- signing (dkim-sign.c) ---- */

/* A message being signed: the header read (bounded by HEADER_BLOCK_MAX),
 * the body still to be streamed from the file. */
struct dkim_msg;

/* dkim_msg_open - read prefix (or NULL) and the header from fd. */
int dkim_msg_open(const char *prefix, int fd, struct dkim_msg **msg_r, const char **error_r)
	ATTR_NODISCARD;
void dkim_msg_free(struct dkim_msg **_msg);
/* The domain of the (first) From: mailbox, normalised; NULL when none. */
const char *dkim_msg_from_domain(struct dkim_msg *msg);
/* The h= tag: every signed field name, separated by ':' (for tests). */
char *dkim_msg_signed_fields(struct dkim_msg *msg);

struct dkim_sign_params {
	struct evp_pkey_st *key;
	const char *domain;   /* d= */
	const char *selector; /* s= */
	int64_t time;         /* t= */
};

/* dkim_msg_sign - read the rest of the body and return the whole
 * "DKIM-Signature: ...\r\n" field, folded, to be put first. */
int dkim_msg_sign(struct dkim_msg *msg, const struct dkim_sign_params *params, char **field_r,
		  const char **error_r) ATTR_NODISCARD;

/* dkim_sign_spool - the queue's entry point: sign prefix + the file at
 * path with the From: domain's active key. 1 with *field_r (free it), 0
 * when that domain has no key, -1 on error (*error_r, free it). */
int dkim_sign_spool(struct db *db, const char *data_dir, const char *prefix, const char *path,
		    char **field_r, char **error_r);

#endif
