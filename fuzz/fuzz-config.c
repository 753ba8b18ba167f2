/* SPDX-License-Identifier: ISC */
/* fuzz-config.c - libFuzzer: postino.conf parsing never crashes or leaks. */
#include "lib/lib.h"
#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;
	char *error;

	if (config_parse("fuzz", (const char *)data, size, &cfg, &error) == 0)
		config_free(&cfg);
	else
		free(error);
	return 0;
}
