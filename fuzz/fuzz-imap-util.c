/* SPDX-License-Identifier: ISC */
/*
 * fuzz-imap-util.c - libFuzzer: the IMAP server's pure helpers on
 * hostile input.
 *
 *   the input split at its first NUL is a LIST pattern and a name: the
 *   wildcard match never crashes and stays linear (libFuzzer's timeout
 *   catches a backtracking matcher), '*' matches everything, a pattern
 *   without wildcards matches only itself (INBOX's case aside)
 *   date-time and date parsing never crash; a date-time accepted is
 *   written back in a form that parses to the same instant
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "imap/imap-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	/* pattern NUL name (the name ends at the next NUL) */
	size_t plen = strlen(text);
	char *name_copy = xstrdup(plen < size ? text + plen + 1 : "");
	char out[IMAP_DATETIME_MAX];
	int64_t t, t2;

	if (strlen(text) <= 2 * IMAP_MAILBOX_NAME_MAX && strlen(name_copy) <= IMAP_MAILBOX_NAME_MAX) {
		bool m = imap_mailbox_match(text, name_copy);
		if (strpbrk(text, "*%") == NULL && strncmp(text, "INBOX", 5) != 0 &&
		    strncmp(name_copy, "INBOX", 5) != 0)
			check(m == (strcmp(text, name_copy) == 0));
		check(imap_mailbox_match("*", name_copy));
	}
	if (imap_datetime_parse(text, &t) == 0 && t >= 0 && t < 253402300800LL) {
		imap_datetime_format(t, out);
		check(imap_datetime_parse(out, &t2) == 0 && t2 == t);
	}
	(void)imap_date_parse(text, &t);
	free(name_copy);
	free(text);
	return 0;
}
