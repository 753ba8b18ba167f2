/* SPDX-License-Identifier: ISC */
/*
 * sasl.c - SASL responses and the PLAIN message (see sasl.h).
 */
#include "lib/lib.h"
#include "lib/base64.h"
#include "mail/sasl.h"

int sasl_decode(const char *text, size_t len, struct buf *out)
{
	if (len == 1 && text[0] == '=')
		return 0; /* RFC 4954 4, RFC 5034 4: an empty response */
	if (len == 0)
		return -1;
	return base64_decode(text, len, out);
}

enum sasl_plain_error sasl_plain_split(const char *msg, size_t len, const char **authcid_r,
				       const char **passwd_r)
{
	const char *nul1 = memchr(msg, '\0', len), *nul2, *end = msg + len;

	if (nul1 == NULL || (nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1))) == NULL ||
	    memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)) != NULL)
		return SASL_PLAIN_SYNTAX;
	if (msg[0] != '\0' && strcmp(msg, nul1 + 1) != 0)
		return SASL_PLAIN_PROXY;
	*authcid_r = nul1 + 1;
	*passwd_r = nul2 + 1;
	return SASL_PLAIN_OK;
}
