/* SPDX-License-Identifier: ISC */
/* mime-private.h - shared by mime.c (the tree) and mime-field.c (the
 * Content-* fields) only. */
#ifndef POSTINO_MIME_PRIVATE_H
#define POSTINO_MIME_PRIVATE_H

#include "lib/lib.h"
#include "mail/mime.h"

struct pool;

/* The Content-* fields of one header: unfolded values as written, NULL
 * when absent. */
struct mime_fields {
	const char *type, *encoding, *id, *description, *disposition, *language, *location,
		*md5;
};

/* mime_fields_apply - set part's type, parameters, encoding, disposition,
 * file name and the ATTACHMENT, SIGNED and TEXT flags from f. in_digest:
 * the parent is multipart/digest, so the default type is message/rfc822
 * (RFC 2046 5.1.5). */
void mime_fields_apply(struct pool *pool, struct mime_part *part, const struct mime_fields *f,
		       bool in_digest);

#endif
