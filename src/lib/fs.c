/* SPDX-License-Identifier: ISC */
/* fs.c - write_all, fsync of directories, durable replace, mkdir -p. */
#include "lib.h"
#include "fs.h"
#include "mem.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned fault_countdown;
static int fault_errno;

void fs_fault_inject(unsigned n, int err)
{
	fault_countdown = n;
	fault_errno = err;
}

/* fault_hit - true when the injected fault fires for this operation. */
static bool fault_hit(void)
{
	if (fault_countdown == 0)
		return false;
	if (--fault_countdown != 0)
		return false;
	errno = fault_errno;
	return true;
}

int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	if (fault_hit())
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fsync_dir(const char *dir)
{
	int fd, ret;

	if (fault_hit())
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

int fsync_fd(int fd)
{
	if (fault_hit())
		return -1;
	return fsync(fd);
}

int rename_file(const char *from, const char *to)
{
	if (fault_hit())
		return -1;
	return rename(from, to);
}

int file_write_durable(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = xasprintf("%s.tmp", path);
	char *dircopy = xstrdup(path);
	int fd, ret = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		goto out;
	if (write_all(fd, data, len) < 0 || fault_hit() || fsync(fd) < 0) {
		int err = errno;
		close(fd);
		unlink(tmp);
		errno = err;
		goto out;
	}
	close(fd);
	if (fault_hit() || rename(tmp, path) < 0) {
		int err = errno;
		unlink(tmp);
		errno = err;
		goto out;
	}
	ret = fsync_dir(dirname(dircopy));
out:
	free(tmp);
	free(dircopy);
	return ret;
}

int file_read_all(const char *path, size_t max, char **data_r, size_t *len_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	char *data = xmalloc((size_t)st.st_size + 1);
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, data + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			free(data);
			close(fd);
			errno = err;
			return -1;
		}
		if (n == 0 || (len += (size_t)n) == (size_t)st.st_size)
			break;
	}
	close(fd);
	data[len] = '\0';
	*data_r = data;
	if (len_r != NULL)
		*len_r = len;
	return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	char *copy = xstrdup(path);
	int ret = 0;

	for (char *p = copy + 1; ret == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			ret = -1;
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(copy);
	return ret;
}

uint64_t dir_size(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t total = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			char *sub = xasprintf("%s/%s", dir, de->d_name);
			total += dir_size(sub);
			free(sub);
		} else if (S_ISREG(st.st_mode)) {
			total += (uint64_t)st.st_size;
		}
	}
	closedir(d);
	return total;
}

int chown_tree(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	int ret = 0;

	if (lchown(path, uid, gid) < 0)
		return -1;
	if (lstat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return 0;
	DIR *d = opendir(path);
	struct dirent *de;
	if (d == NULL)
		return -1;
	while (ret == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *sub = xasprintf("%s/%s", path, de->d_name);
		ret = chown_tree(sub, uid, gid);
		free(sub);
	}
	closedir(d);
	return ret;
}
