/* SPDX-License-Identifier: ISC */
/*
 * fuzz-addr.c - libFuzzer: address and domain normalisation (fed from
 * SMTP paths later) never crash, and normalising is idempotent.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "mail/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = xstrndup((const char *)data, size);
	char *out, *again;
	const char *error;

	if (addr_normalize(in, &out, &error) == 0) {
		if (addr_normalize(out, &again, &error) != 0 || strcmp(out, again) != 0)
			abort(); /* canonical form must be a fixed point */
		if (addr_domain(out) == NULL)
			abort();
		free(again);
		free(out);
	}
	if (addr_domain_normalize(in, &out, &error) == 0)
		free(out);
	free(in);
	return 0;
}
