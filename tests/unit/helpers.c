/* SPDX-License-Identifier: ISC */
/* helpers.c - test-only helpers; never linked into postino itself. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "helpers.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

char *test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path = xasprintf("%s/postino-unit-XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp");

	if (mkdtemp(path) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", path, strerror(errno));
		abort();
	}
	return path;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

void test_rmtree(const char *path)
{
	(void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
