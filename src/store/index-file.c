/* SPDX-License-Identifier: ISC */
/*
 * index-file.c - the Maildir's rules as the index reads and writes them:
 * flags in file names (":2,<letters>", the Maildir spec), S=/W= sizes,
 * time order of names, and the directory mtimes behind the cheap "did
 * anything change" check of a sync (see index-sync.c).
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "store/index-private.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A directory changed this recently may still change within the same
 * mtime tick (the kernel's clock is coarse): a scan of it is not trusted
 * to have seen everything. Dovecot does the same with whole seconds. */
#define INDEX_SYNC_DIRTY_NS 1000000000LL
/* Reading a file to count its bare LFs (names without W=). */
#define INDEX_SIZE_CHUNK (64 * 1024)

/* Maildir flag letters (cr.yp.to/proto/maildir.html; Dovecot uses the
 * same five for IMAP's system flags). */
static const struct {
	char letter;
	unsigned flag;
} flag_letters[] = {
	{ 'D', INDEX_FLAG_DRAFT },    { 'F', INDEX_FLAG_FLAGGED }, { 'R', INDEX_FLAG_ANSWERED },
	{ 'S', INDEX_FLAG_SEEN },     { 'T', INDEX_FLAG_DELETED },
};

/* ---- file names ---- */

unsigned index_info_flags(const char *info)
{
	unsigned flags = 0;

	if (info == NULL || !str_has_prefix(info, INDEX_INFO_FLAGS_PREFIX))
		return 0;
	for (const char *p = info + strlen(INDEX_INFO_FLAGS_PREFIX); *p != '\0'; p++) {
		for (size_t i = 0; i < N_ELEMENTS(flag_letters); i++) {
			if (flag_letters[i].letter == *p)
				flags |= flag_letters[i].flag;
		}
	}
	return flags;
}

static bool is_flag_letter(char c)
{
	for (size_t i = 0; i < N_ELEMENTS(flag_letters); i++) {
		if (flag_letters[i].letter == c)
			return true;
	}
	return false;
}

char *index_info_build(const char *old_info, unsigned flags)
{
	bool present[128] = { false };
	char out[sizeof(INDEX_INFO_FLAGS_PREFIX) + 128];
	size_t len = strlen(INDEX_INFO_FLAGS_PREFIX);

	/* letters we do not manage (P "passed", Dovecot's keyword letters
	 * a-z) are kept as they were */
	if (old_info != NULL && str_has_prefix(old_info, INDEX_INFO_FLAGS_PREFIX)) {
		for (const char *p = old_info + len; *p != '\0'; p++) {
			if ((unsigned char)*p < 128 && *p > ' ' && *p != ',' && !is_flag_letter(*p))
				present[(unsigned char)*p] = true;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(flag_letters); i++) {
		if ((flags & flag_letters[i].flag) != 0)
			present[(unsigned char)flag_letters[i].letter] = true;
	}
	memcpy(out, INDEX_INFO_FLAGS_PREFIX, len);
	for (unsigned c = 0; c < 128; c++) {
		if (present[c])
			out[len++] = (char)c;
	}
	out[len] = '\0';
	return xstrdup(out);
}

char *index_file_path(const char *dir, bool in_new, const char *base, const char *info)
{
	return xasprintf("%s/%s/%s%s%s", dir, in_new ? "new" : "cur", base, info != NULL ? ":" : "",
			 info != NULL ? info : "");
}

int index_file_sizes(const char *path, uint64_t *size_r, uint64_t *vsize_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *chunk;
	uint64_t size = 0, bare_lf = 0;
	char prev = '\0';
	ssize_t n;

	if (fd < 0)
		return -1;
	chunk = xmalloc(INDEX_SIZE_CHUNK);
	while ((n = read(fd, chunk, INDEX_SIZE_CHUNK)) > 0 || (n < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < n; i++) {
			if (chunk[i] == '\n' && prev != '\r')
				bare_lf++;
			prev = chunk[i];
		}
		if (n > 0)
			size += (uint64_t)n;
	}
	free(chunk);
	close(fd);
	if (n < 0)
		return -1;
	*size_r = size;
	*vsize_r = size + bare_lf;
	return 0;
}

/* name_time - "<sec>.M<usec>..." (Dovecot, ours) or "<sec>.<anything>"
 * (qmail, Courier); names without a leading number sort last. */
static void name_time(const char *name, uint64_t *sec_r, uint64_t *usec_r)
{
	const char *p = name;
	uint64_t sec = 0, usec = 0;

	if (*p < '0' || *p > '9') {
		*sec_r = UINT64_MAX;
		*usec_r = 0;
		return;
	}
	for (; *p >= '0' && *p <= '9' && sec < UINT64_MAX / 10 - 10; p++)
		sec = sec * 10 + (uint64_t)(*p - '0');
	if (p[0] == '.' && p[1] == 'M') {
		for (p += 2; *p >= '0' && *p <= '9' && usec < UINT64_MAX / 10 - 10; p++)
			usec = usec * 10 + (uint64_t)(*p - '0');
	}
	*sec_r = sec;
	*usec_r = usec;
}

int index_name_time_cmp(const char *a, const char *b)
{
	uint64_t sa, ua, sb, ub;

	name_time(a, &sa, &ua);
	name_time(b, &sb, &ub);
	if (sa != sb)
		return sa < sb ? -1 : 1;
	if (ua != ub)
		return ua < ub ? -1 : 1;
	return strcmp(a, b);
}

/* ---- directory mtimes ---- */

int64_t index_path_mtime_ns(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

int64_t index_dir_mtime_ns(const char *dir, const char *sub)
{
	char *path = xasprintf("%s/%s", dir, sub);
	int64_t ns = index_path_mtime_ns(path);

	free(path);
	return ns;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t index_mtime_settled(int64_t mtime)
{
	return mtime >= 0 && now_ns() - mtime >= INDEX_SYNC_DIRTY_NS ? mtime : -1;
}

static int64_t *dir_slot(struct index_mbox *mbox, const char *sub)
{
	return strcmp(sub, "new") == 0 ? &mbox->new_mtime : &mbox->cur_mtime;
}

bool index_dir_in_sync(const struct index_mbox *mbox, const char *sub)
{
	int64_t rec = strcmp(sub, "new") == 0 ? mbox->new_mtime : mbox->cur_mtime;

	return rec >= 0 && index_dir_mtime_ns(mbox->dir, sub) == rec;
}

void index_dir_record(struct index_mbox *mbox, const char *sub, bool was_in_sync)
{
	/* not in step before our change: leave the stale value, the next
	 * sync rescans */
	if (was_in_sync)
		*dir_slot(mbox, sub) = index_dir_mtime_ns(mbox->dir, sub);
}

