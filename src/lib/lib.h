/* SPDX-License-Identifier: ISC */
/*
 * lib.h - the first include of every postino .c file.
 *
 * Layer 0 knows nothing about mail, the event loop, TLS or SQLite: it is
 * the C library plus the few helpers every other layer leans on.
 */
#ifndef POSTINO_LIB_H
#define POSTINO_LIB_H

#define _GNU_SOURCE 1

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define ATTR_FORMAT(kind, fmt, args) __attribute__((format(kind, fmt, args)))
#define ATTR_NORETURN __attribute__((noreturn))
#define ATTR_NODISCARD __attribute__((warn_unused_result))
#define ATTR_UNUSED __attribute__((unused))

#define N_ELEMENTS(arr) (sizeof(arr) / sizeof((arr)[0]))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
