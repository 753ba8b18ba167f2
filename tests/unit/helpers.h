/* SPDX-License-Identifier: ISC */
/* helpers.h - shared by the unit tests: throw-away data directories. */
#ifndef POSTINO_TEST_HELPERS_H
#define POSTINO_TEST_HELPERS_H

#include "lib/lib.h"

/* A fresh empty directory under $TMPDIR (or /tmp); caller frees the name
 * and removes the tree with test_rmtree(). */
char *test_tmpdir(void);
/* rm -r path (no symlinks followed); silent when missing. */
void test_rmtree(const char *path);

#endif
