/* SPDX-License-Identifier: ISC */
/* schema.h - postino.db's versioned migrations (run by core/db.c). */
#ifndef POSTINO_SCHEMA_H
#define POSTINO_SCHEMA_H

#include "core/db.h"

extern const struct db_migration schema_migrations[];
extern const size_t schema_migrations_count;

/* Open postino.db in data_dir and bring it to the current schema. */
int schema_open(const char *data_dir, bool create, struct db **db_r, char **error_r);

#endif
