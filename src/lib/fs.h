/* SPDX-License-Identifier: ISC */
/*
 * fs.h - durable file operations.
 *
 * Every write that an acknowledgement depends on goes through here, so a
 * test build can inject faults at exactly the durability boundary.
 */
#ifndef POSTINO_FS_H
#define POSTINO_FS_H

#include "lib.h"

int write_all(int fd, const void *data, size_t len) ATTR_NODISCARD;
int fsync_dir(const char *dir) ATTR_NODISCARD;
/* fsync(fd) and rename(from, to) as durable steps, so fault injection can
 * fail them too (store/maildir.c drives its own tmp -> new sequence). */
int fsync_fd(int fd) ATTR_NODISCARD;
int rename_file(const char *from, const char *to) ATTR_NODISCARD;
/* Write path via path.tmp + fsync + rename + directory fsync. */
int file_write_durable(const char *path, const void *data, size_t len, mode_t mode)
	ATTR_NODISCARD;
/* Read a whole (small) file; NUL-terminated; -1 with errno set. */
int file_read_all(const char *path, size_t max, char **data_r, size_t *len_r) ATTR_NODISCARD;
/* mkdir -p with mode for every created component. */
int mkdir_p(const char *path, mode_t mode) ATTR_NODISCARD;
/* Sum of file sizes under dir (recursively); 0 when it does not exist. */
uint64_t dir_size(const char *dir);
/* chown -R (no symlink following). */
int chown_tree(const char *path, uid_t uid, gid_t gid) ATTR_NODISCARD;

/* Fault injection for tests: fail the n-th following durable operation
 * (write_all, fsync_dir, fsync_fd, rename_file, and the fsync/rename inside
 * file_write_durable) with errno err; 0 disables. */
void fs_fault_inject(unsigned n, int err);

#endif
