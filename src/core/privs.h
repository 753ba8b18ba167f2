/* SPDX-License-Identifier: ISC */
/*
 * privs.h - run as the configured unprivileged user.
 *
 * `postino serve` started as root binds its ports and reads the TLS key,
 * then drops to `user` for good. Started as anyone else it stays as it is.
 */
#ifndef POSTINO_PRIVS_H
#define POSTINO_PRIVS_H

#include "lib/lib.h"

struct privs {
	bool drop;   /* started as root: drop to uid/gid */
	char *user;
	uid_t uid;
	gid_t gid;
};

/* Decide whom to run as. As root, user must name an existing account
 * other than root; "" is refused with a message saying what to set. */
int privs_resolve(const char *user, struct privs *privs_r, char **error_r);
/* Give data_dir to the service user when its top directory or postino.db
 * belong to someone else (logged once); a no-op when not dropping. */
int privs_fix_ownership(const struct privs *privs, const char *data_dir, char **error_r);
/* initgroups, setgid, setuid, then prove root cannot be regained. */
int privs_drop(const struct privs *privs, char **error_r);
void privs_clear(struct privs *privs);

#endif
