/* SPDX-License-Identifier: ISC */
/*
 * maildir.c - Maildir++ paths, unique names, durable delivery into new/.
 *
 * DESIGN. A message is acknowledged only when it is durable (DESIGN.md,
 * "Storage"): written to tmp/, fsynced, renamed into new/, and new/
 * fsynced. Concurrent deliveries share the directory fsyncs instead of
 * skipping them: maildir_deliver_batch() writes every file, then fsyncs
 * every file, then renames every one, then fsyncs each distinct new/
 * directory once, so N messages for one mailbox cost N file fsyncs and
 * one directory fsync. Writing all the files before the first fsync,
 * with writeback started on each (sync_file_range), lets that first
 * fsync's journal commit carry the block allocations of the whole batch:
 * the later fsyncs mostly find their data written and their metadata
 * committed, where write+fsync per file would pay a journal commit each.
 * Every file is still fsynced before its rename.
 *
 * One copy per recipient, not hard links. A received message could be
 * linked into N mailboxes with one data write and one fsync, and each link
 * would still need its rename and directory fsync. But every local copy
 * starts with its own Return-Path/Delivered-To lines (the Delivered-To
 * line is what detects forwarding loops, as in Postfix local(8)), so the
 * bytes differ per recipient; links would also tie mail/ and queue/ to one
 * file system and make a copy's size depend on its siblings. Postfix's
 * virtual(8) and Dovecot's LDA write a copy per recipient too. The batch
 * still shares what can be shared: the directory fsyncs.
 *
 * A failure after the rename (the fsync of new/) unlinks the file again:
 * we are about to answer "try again", and a copy left behind would be a
 * duplicate after the retry. If the unlink itself is lost in a crash the
 * result is that duplicate, which SMTP's at-least-once rule allows.
 *
 * Bytes are stored as given; the caller's spool decides the line ending
 * (Dovecot reads LF and CRLF files alike). W= counts every bare LF as two
 * bytes, which is the size IMAP reports (RFC 3501 RFC822.SIZE).
 */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "directory/directory.h"
#include "store/maildir.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define MAILDIR_DIR_MODE 0700
#define MAILDIR_FILE_MODE 0600
/* The host part of a name, after escaping: what NAME_MAX (255) leaves once
 * the time, pid, counter, both size fields and a future ":2,<flags>" info
 * (about 140 bytes together) are counted. */
#define MAILDIR_HOST_MAX 100
/* O_EXCL collisions are near impossible (time+pid+counter); retry a few
 * times with a new name rather than looping on a broken directory. */
#define MAILDIR_OPEN_TRIES 3
/* Copy the shared body in chunks of this size. */
#define MAILDIR_COPY_CHUNK (64 * 1024)
/* Maildir++: a subfolder holds this empty file, so delivery agents that
 * look at it know it is a folder and not a mailbox root. */
#define MAILDIR_FOLDER_MARKER "maildirfolder"

/* Per-item state that the caller does not need to see. */
struct item_work {
	int fd;          /* open between the write and the fsync phase */
	char *tmp_path;
	char *new_path;
	bool renamed;
};

/* Files open at once between the write and fsync phases: a fan-out to
 * many mailboxes is done in windows of this many, within any fd limit. */
#define MAILDIR_SYNC_WINDOW 64

/* Counting W= across chunk boundaries. */
struct vsize_state {
	uint64_t bare_lf;
	char prev;
};

static pthread_once_t host_once = PTHREAD_ONCE_INIT;
static char host_part[MAILDIR_HOST_MAX + 1];
static uint64_t delivery_counter;

static const char *const maildir_subdirs[] = { "tmp", "cur", "new" };

/* ---- paths and names ---- */

char *maildir_account_path(const char *data_dir, const struct account *account)
{
	return xasprintf("%s/mail/%s/%s", data_dir, account->domain, account->local);
}

bool maildir_folder_name_valid(const char *folder)
{
	size_t len = strlen(folder);

	if (len == 0 || len > MAILDIR_FOLDER_NAME_MAX)
		return false;
	/* '.' separates hierarchy levels on disk: none may be empty */
	if (folder[0] == '.' || folder[len - 1] == '.' || strstr(folder, "..") != NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)folder; *p != '\0'; p++) {
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

int maildir_folder_path(const char *root, const char *folder, char **path_r,
			const char **error_r)
{
	if (folder == NULL || str_casecmp(folder, "INBOX") == 0) {
		*path_r = xstrdup(root);
		return 0;
	}
	if (!maildir_folder_name_valid(folder)) {
		*error_r = "invalid folder name";
		return -1;
	}
	*path_r = xasprintf("%s/.%s", root, folder);
	return 0;
}

/* host_init - the host part of names, escaped as the Maildir spec asks
 * ('/' and ':' as octal) plus ',' which separates our size fields. */
static void host_init(void)
{
	char host[256];
	size_t out = 0;

	if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		memcpy(host, "localhost", sizeof("localhost"));
	host[sizeof(host) - 1] = '\0';
	for (const char *p = host; *p != '\0'; p++) {
		const char *esc = *p == '/' ? "\\057" : *p == ':' ? "\\072" : *p == ',' ? "\\054" : NULL;
		size_t n = esc != NULL ? 4 : 1;
		if (out + n > MAILDIR_HOST_MAX)
			break;
		if (esc != NULL)
			memcpy(host_part + out, esc, n);
		else
			host_part[out] = *p;
		out += n;
	}
	host_part[out] = '\0';
}

void maildir_unique_name(char dst[MAILDIR_NAME_MAX])
{
	struct timeval tv;
	uint64_t n = __atomic_add_fetch(&delivery_counter, 1, __ATOMIC_RELAXED);

	pthread_once(&host_once, host_init);
	gettimeofday(&tv, NULL);
	if (str_printf(dst, MAILDIR_NAME_MAX, "%lld.M%ldP%ldQ%" PRIu64 ".%s", (long long)tv.tv_sec,
		       (long)tv.tv_usec, (long)getpid(), n, host_part) < 0)
		panic("maildir: unique name does not fit"); /* the host part is bounded */
}

/* size_field - the number after ",X=" in the base part of a name (before
 * the ":2," info); -1 when absent or malformed. */
static int size_field(const char *name, char key, uint64_t *value_r)
{
	const char *end = strchr(name, ':');
	const char *p = name;

	if (end == NULL)
		end = name + strlen(name);
	while ((p = strchr(p, ',')) != NULL && p < end) {
		p++;
		if (p[0] != key || p[1] != '=')
			continue;
		uint64_t v = 0;
		const char *d = p + 2;
		if (*d < '0' || *d > '9')
			return -1;
		for (; *d >= '0' && *d <= '9'; d++) {
			if (v > (UINT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (uint64_t)(*d - '0');
		}
		if (*d != ',' && *d != ':' && *d != '\0')
			return -1;
		*value_r = v;
		return 0;
	}
	return -1;
}

int maildir_name_sizes(const char *name, uint64_t *size_r, uint64_t *vsize_r)
{
	if (size_field(name, 'S', size_r) < 0)
		return -1;
	if (vsize_r != NULL && size_field(name, 'W', vsize_r) < 0)
		*vsize_r = *size_r;
	return 0;
}

/* ---- creating folders ---- */

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_subfolder(const char *dir)
{
	const char *slash = strrchr(dir, '/');

	return slash != NULL && slash[1] == '.' && slash[2] != '\0' && slash[2] != '.';
}

/* mkdir_chain - mkdir -p, then fsync the parent of every directory it
 * created, so the new entries survive a crash before the first message
 * (whose own durability only covers its entry in new/) is acknowledged. */
static int mkdir_chain(const char *path)
{
	char *copy = xstrdup(path);
	char **parents = NULL;
	size_t nparents = 0;
	int ret = 0;

	for (char *p = copy + 1; ret == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, MAILDIR_DIR_MODE) == 0) {
			char *slash = strrchr(copy, '/');
			parents = xrealloc(parents, (nparents + 1) * sizeof(*parents));
			parents[nparents++] = slash == copy ? xstrdup("/") : xstrndup(copy, (size_t)(slash - copy));
		} else if (errno != EEXIST) {
			ret = -1;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	for (size_t i = 0; i < nparents; i++) {
		if (ret == 0 && fsync_dir(parents[i]) < 0)
			ret = -1;
		free(parents[i]);
	}
	free(parents);
	free(copy);
	return ret;
}

int maildir_create(const char *dir)
{
	char *path = xasprintf("%s/new", dir);
	int ret = 0;

	if (is_dir(path)) {
		free(path);
		return 0;
	}
	free(path);
	if (mkdir_chain(dir) < 0)
		return -1;
	if (is_subfolder(dir)) {
		path = xasprintf("%s/%s", dir, MAILDIR_FOLDER_MARKER);
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, MAILDIR_FILE_MODE);
		if (fd < 0 || close(fd) < 0)
			ret = -1;
		free(path);
	}
	/* new/ last (the table's order): its presence says the folder is
	 * complete, which is what the check above relies on */
	for (size_t i = 0; i < N_ELEMENTS(maildir_subdirs) && ret == 0; i++) {
		path = xasprintf("%s/%s", dir, maildir_subdirs[i]);
		if (mkdir(path, MAILDIR_DIR_MODE) < 0 && errno != EEXIST)
			ret = -1;
		free(path);
	}
	if (ret == 0)
		ret = fsync_dir(dir);
	return ret;
}

/* ---- delivery ---- */

static void vsize_count(struct vsize_state *vs, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && vs->prev != '\r')
			vs->bare_lf++;
		vs->prev = p[i];
	}
}

/* copy_source - append the shared body to fd (pread keeps items that
 * share one source fd independent of each other's file offsets). */
static int copy_source(int fd, const struct maildir_source *src, char *chunk,
		       struct vsize_state *vs)
{
	if (src->size == 0)
		return 0;
	if (src->fd < 0) {
		vsize_count(vs, src->data, (size_t)src->size);
		return write_all(fd, src->data, (size_t)src->size);
	}
	for (uint64_t off = 0; off < src->size;) {
		uint64_t want = src->size - off;
		ssize_t n = pread(src->fd, chunk, want < MAILDIR_COPY_CHUNK ? (size_t)want :
					   MAILDIR_COPY_CHUNK, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO; /* the spool is shorter than it claims */
			return -1;
		}
		vsize_count(vs, chunk, (size_t)n);
		if (write_all(fd, chunk, (size_t)n) < 0)
			return -1;
		off += (uint64_t)n;
	}
	return 0;
}

static void item_fail(struct maildir_delivery *it, const char *step, int err)
{
	it->error = err != 0 ? err : EIO;
	it->failed_step = step;
	it->name[0] = '\0';
}

int maildir_tmp_create(const char *dir, char **path_r)
{
	char base[MAILDIR_NAME_MAX];

	for (unsigned tries = 0; tries < MAILDIR_OPEN_TRIES; tries++) {
		maildir_unique_name(base);
		*path_r = xasprintf("%s/tmp/%s", dir, base);
		int fd = open(*path_r, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, MAILDIR_FILE_MODE);
		if (fd >= 0)
			return fd;
		int err = errno;
		free(*path_r);
		*path_r = NULL;
		if (err != EEXIST) {
			errno = err;
			return -1;
		}
	}
	errno = EEXIST;
	return -1;
}

/* tmp_base - the file name part of a tmp/ path, for its new/ name. */
static int tmp_base(const char *tmp_path, char base[MAILDIR_NAME_MAX])
{
	const char *slash = strrchr(tmp_path, '/');

	return str_copy(base, slash != NULL ? slash + 1 : tmp_path, MAILDIR_NAME_MAX);
}

/* open_tmp - a new exclusive file in dir/tmp/, creating the folder on
 * first use. */
static int open_tmp(struct maildir_delivery *it, struct item_work *w, char *base)
{
	int fd = maildir_tmp_create(it->dir, &w->tmp_path);

	if (fd < 0 && errno == ENOENT) {
		if (maildir_create(it->dir) < 0)
			return -1;
		fd = maildir_tmp_create(it->dir, &w->tmp_path);
	}
	if (fd >= 0 && tmp_base(w->tmp_path, base) < 0) {
		close(fd);
		(void)unlink(w->tmp_path);
		errno = ENAMETOOLONG;
		return -1;
	}
	return fd;
}

/* item_discard - a failed item: close and remove its tmp/ file. */
static void item_discard(struct maildir_delivery *it, struct item_work *w, const char *step,
			 int err)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	(void)unlink(w->tmp_path);
	item_fail(it, step, err);
}

/* item_write - phase 1: the whole file in tmp/, writeback started, left
 * open for item_sync. */
static void item_write(struct maildir_delivery *it, struct item_work *w, char *chunk)
{
	struct vsize_state vs = { 0, '\0' };
	char base[MAILDIR_NAME_MAX];

	if (it->written != NULL) {
		/* the caller wrote it: take it over as if we had */
		w->tmp_path = xstrdup(it->written);
		if (tmp_base(w->tmp_path, base) < 0) {
			item_discard(it, w, "open", ENAMETOOLONG);
			return;
		}
		if ((w->fd = dup(it->src->fd)) < 0) {
			item_discard(it, w, "open", errno);
			return;
		}
	} else {
		w->fd = open_tmp(it, w, base);
		if (w->fd < 0) {
			item_fail(it, "open", errno);
			return;
		}
		vsize_count(&vs, it->prefix, it->prefix_len);
		if ((it->prefix_len > 0 && write_all(w->fd, it->prefix, it->prefix_len) < 0) ||
		    copy_source(w->fd, it->src, chunk, &vs) < 0) {
			item_discard(it, w, "write", errno);
			return;
		}
	}
	/* a hint only (the fsync below is what counts): start the write
	 * now, so the batch's data and allocations go to disk together */
	(void)sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	it->size = it->prefix_len + it->src->size;
	it->vsize = it->size + vs.bare_lf;
	if (str_printf(it->name, sizeof(it->name), "%s,S=%" PRIu64 ",W=%" PRIu64, base, it->size,
		       it->vsize) < 0) {
		item_discard(it, w, "write", ENAMETOOLONG);
		return;
	}
	w->new_path = xasprintf("%s/new/%s", it->dir, it->name);
}

/* item_sync - phase 2: fsync and close. */
static void item_sync(struct maildir_delivery *it, struct item_work *w)
{
	if (fsync_fd(w->fd) < 0) {
		item_discard(it, w, "fsync", errno);
		return;
	}
	if (close(w->fd) < 0) {
		w->fd = -1;
		item_discard(it, w, "close", errno);
		return;
	}
	w->fd = -1;
}

/* item_rename - phase 3: make the file visible in new/. */
static void item_rename(struct maildir_delivery *it, struct item_work *w)
{
	if (rename_file(w->tmp_path, w->new_path) < 0) {
		int err = errno;
		(void)unlink(w->tmp_path);
		item_fail(it, "rename", err);
		return;
	}
	w->renamed = true;
}

/* sync_dirs - phase 4: one fsync per distinct new/ directory; when one
 * fails, every message renamed into it is taken back out. */
static void sync_dirs(struct maildir_delivery *items, struct item_work *work, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (!work[i].renamed)
			continue;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = work[j].renamed && strcmp(items[j].dir, items[i].dir) == 0;
		if (seen)
			continue;
		char *newdir = xasprintf("%s/new", items[i].dir);
		if (fsync_dir(newdir) < 0) {
			int err = errno;
			for (size_t j = i; j < count; j++) {
				if (!work[j].renamed || strcmp(items[j].dir, items[i].dir) != 0)
					continue;
				(void)unlink(work[j].new_path);
				work[j].renamed = false;
				item_fail(&items[j], "fsync-dir", err);
			}
		}
		free(newdir);
	}
}

int maildir_deliver_batch(struct maildir_delivery *items, size_t count)
{
	struct item_work *work = xcalloc(count, sizeof(*work));
	char *chunk = xmalloc(MAILDIR_COPY_CHUNK);
	int ret = 0;

	for (size_t start = 0; start < count; start += MAILDIR_SYNC_WINDOW) {
		size_t end = count - start < MAILDIR_SYNC_WINDOW ? count : start + MAILDIR_SYNC_WINDOW;

		for (size_t i = start; i < end; i++) {
			items[i].name[0] = '\0';
			items[i].size = items[i].vsize = 0;
			items[i].error = 0;
			items[i].failed_step = NULL;
			work[i].fd = -1;
			item_write(&items[i], &work[i], chunk);
		}
		for (size_t i = start; i < end; i++) {
			if (items[i].error == 0)
				item_sync(&items[i], &work[i]);
		}
	}
	for (size_t i = 0; i < count; i++) {
		if (items[i].error == 0)
			item_rename(&items[i], &work[i]);
	}
	sync_dirs(items, work, count);
	for (size_t i = 0; i < count; i++) {
		if (items[i].error != 0)
			ret = -1;
		free(work[i].tmp_path);
		free(work[i].new_path);
	}
	free(chunk);
	free(work);
	return ret;
}

unsigned maildir_tmp_clean(const char *dir, int64_t now, int64_t max_age)
{
	char *tmp = xasprintf("%s/tmp", dir);
	DIR *d = opendir(tmp);
	struct dirent *de;
	unsigned removed = 0;

	free(tmp);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		/* mtime and ctime: a delivery still writing keeps both fresh */
		if (st.st_mtime > now - max_age || st.st_ctime > now - max_age)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

/* ---- scanning ---- */

typedef int folder_fn(const char *folder_dir, void *context);

/* each_folder - INBOX (the root) and every ".Name" directory under it. */
static int each_folder(const char *root, folder_fn *fn, void *context)
{
	DIR *d;
	struct dirent *de;
	int ret;

	if ((ret = fn(root, context)) < 0)
		return -1;
	if ((d = opendir(root)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (ret == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		if (de->d_name[0] != '.' || de->d_name[1] == '\0' || de->d_name[1] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
			continue;
		char *sub = xasprintf("%s/%s", root, de->d_name);
		ret = fn(sub, context);
		free(sub);
	}
	closedir(d);
	return ret;
}

struct scan_ctx {
	maildir_scan_fn *fn;
	void *context;
};

static int scan_folder(const char *folder_dir, void *context)
{
	static const char *const parts[] = { "new", "cur" };
	struct scan_ctx *ctx = context;

	for (size_t i = 0; i < N_ELEMENTS(parts); i++) {
		char *path = xasprintf("%s/%s", folder_dir, parts[i]);
		DIR *d = opendir(path);
		struct dirent *de;
		free(path);
		if (d == NULL) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return -1;
		}
		while ((de = readdir(d)) != NULL) {
			struct stat st;
			uint64_t size;
			if (de->d_name[0] == '.')
				continue;
			if (maildir_name_sizes(de->d_name, &size, NULL) < 0) {
				/* not named by us or Dovecot: ask the file system */
				if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
				    !S_ISREG(st.st_mode))
					continue;
				size = (uint64_t)st.st_size;
			}
			ctx->fn(folder_dir, de->d_name, size, ctx->context);
		}
		closedir(d);
	}
	return 0;
}

int maildir_scan(const char *root, maildir_scan_fn *fn, void *context)
{
	struct scan_ctx ctx = { fn, context };

	return each_folder(root, scan_folder, &ctx);
}

static void mtime_max(const char *path, int64_t *max)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return;
	int64_t ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	if (ns > *max)
		*max = ns;
}

static int mtime_folder(const char *folder_dir, void *context)
{
	char *path;

	mtime_max(folder_dir, context);
	path = xasprintf("%s/new", folder_dir);
	mtime_max(path, context);
	free(path);
	path = xasprintf("%s/cur", folder_dir);
	mtime_max(path, context);
	free(path);
	return 0;
}

int maildir_mtime(const char *root, int64_t *mtime_ns_r)
{
	*mtime_ns_r = 0;
	return each_folder(root, mtime_folder, mtime_ns_r);
}
