/* SPDX-License-Identifier: ISC */
/*
 * fuzz-addrlist.c - libFuzzer: any header value gives a well-formed
 * address list (groups opened are closed, mailboxes have a local part,
 * the entry limit holds), an ENVELOPE built from it is valid IMAP, and
 * RFC 2047 decoding of it is valid UTF-8.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "mail/addrlist.h"
#include "mail/imap-bodystructure.h"
#include "mail/mime.h"
#include "mail/rfc2047.h"
#include "fuzz-imap-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pool *pool = pool_new(1024);
	char *in = p_strndup(pool, (const char *)data, size);
	const struct addrlist_addr *a;
	struct mime_envelope env = { .from = in, .to = in, .subject = in };
	unsigned n = 0;
	bool group = false;
	struct buf out;
	const char *decoded;

	for (a = addrlist_parse(pool, in, strlen(in)); a != NULL; a = a->next, n++) {
		switch (a->kind) {
		case ADDRLIST_GROUP_START:
			if (group || a->mailbox != NULL || a->domain != NULL)
				abort();
			group = true;
			break;
		case ADDRLIST_GROUP_END:
			if (!group)
				abort();
			group = false;
			break;
		case ADDRLIST_MAILBOX:
			if (a->mailbox == NULL || (a->domain != NULL && a->domain[0] == '\0'))
				abort();
			break;
		}
	}
	if (group || n > ADDRLIST_MAX)
		abort();

	buf_init(&out, 0);
	if (imap_envelope_write(&out, &env) < 0)
		abort();
	fuzz_check_imap_list(out.data, out.len);
	buf_release(&out);

	decoded = rfc2047_decode(pool, (const char *)data, size);
	if (!rfc2047_utf8_valid(decoded, strlen(decoded)) || strpbrk(decoded, "\r\n") != NULL)
		abort();
	pool_free(&pool);
	return 0;
}
