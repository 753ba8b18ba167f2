/* SPDX-License-Identifier: ISC */
/*
 * imap-arg.h - the argument tree of a parsed IMAP command, and the
 * readers command handlers use on it (Dovecot's imap-arg.h idea: check
 * and convert in one call, so no handler casts on a type it assumed).
 *
 * Arguments are arrays: a command's args[0..count) and each list's
 * list[0..list_count), all in the command's pool (imap-parser.h).
 */
#ifndef POSTINO_IMAP_ARG_H
#define POSTINO_IMAP_ARG_H

#include "lib/lib.h"

struct buf;

enum imap_arg_type {
	IMAP_ARG_NIL,            /* "NIL" in any case: str keeps it as sent */
	IMAP_ARG_ATOM,           /* also numbers, sequence sets, flags, search keys */
	IMAP_ARG_STRING,         /* quoted, escapes removed */
	IMAP_ARG_LITERAL,        /* {n} / {n+} / ~{n}, buffered */
	IMAP_ARG_LITERAL_STREAM, /* a streamed literal: only its size is here */
	IMAP_ARG_LIST,
	IMAP_ARG_SECTION,        /* FETCH BODY[...]<...>, BINARY[...]: str is the name */
};

struct imap_section;

struct imap_arg {
	enum imap_arg_type type;
	bool literal8;      /* sent as ~{n}: str may hold NUL bytes */
	/* NIL, ATOM, STRING, LITERAL: the bytes, NUL-terminated; SECTION:
	 * the part before '[' ("BODY.PEEK") */
	const char *str;
	size_t len;
	const struct imap_arg *list; /* LIST */
	unsigned list_count;
	uint64_t literal_size;        /* LITERAL, LITERAL_STREAM */
	const struct imap_section *section;
};

/* BODY[section]<partial> (RFC 3501 section 6.4.5, RFC 9051 section 9
 * "section", "partial"). The parser checks the shape; what the spec means
 * (part numbers, HEADER.FIELDS, MIME) is imap-fetch's business. */
struct imap_section {
	const char *spec;               /* "1.2.MIME", "HEADER.FIELDS", "" */
	const struct imap_arg *fields;  /* header-list (astrings), or NULL */
	unsigned fields_count;
	bool partial;                   /* <offset.size> was given */
	uint64_t partial_offset, partial_size;
};

/*
 * Reading arguments. Each returns 0 and fills *_r when arg is of that
 * kind, else -1.
 */
/* ATOM only. */
int imap_arg_get_atom(const struct imap_arg *arg, const char **str_r);
/* astring: ATOM, NIL (a mailbox may be called "nil"), STRING, LITERAL
 * without NUL bytes. */
int imap_arg_get_astring(const struct imap_arg *arg, const char **str_r);
/* string: STRING or LITERAL (with its length: literal8 may hold NULs). */
int imap_arg_get_string(const struct imap_arg *arg, const char **str_r, size_t *len_r);
/* nstring: NIL gives NULL, else as imap_arg_get_string(). */
int imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r, size_t *len_r);
/* number (RFC 9051 section 9: 32-bit) and number64; digits only. */
int imap_arg_get_number(const struct imap_arg *arg, uint32_t *num_r);
int imap_arg_get_number64(const struct imap_arg *arg, uint64_t *num_r);
int imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r,
		      unsigned *count_r);
/* An ATOM equal to word, ignoring ASCII case. */
bool imap_arg_atom_equals(const struct imap_arg *arg, const char *word);

/* imap_args_write - the tree in a canonical text form, for debug logs and
 * tests: atoms as sent, strings quoted, literals as {n}data (~{n} for
 * literal8), streamed literals as {n:stream}, sections rebuilt. -1 when
 * out's limit is reached. Beware: it shows passwords as they came. */
int imap_args_write(struct buf *out, const struct imap_arg *args, unsigned count);

#endif
