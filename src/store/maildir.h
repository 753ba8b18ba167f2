/* SPDX-License-Identifier: ISC */
/*
 * maildir.h - mail at rest: Maildir++ folders, unique names, and durable
 * delivery into new/ with group-committed directory fsyncs.
 *
 * A mailbox is DATA/mail/<domain>/<local>/ with cur/ new/ tmp/ (INBOX) and
 * one ".Name/" directory per other folder (Dovecot's Maildir++ layout, so
 * existing Maildirs import and standard tools read ours). File names are
 * "<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>,W=<vsize>" as Dovecot writes
 * them: S= lets quota be summed without stat(), W= is the CRLF size IMAP
 * reports.
 *
 * Everything here is plain file I/O with no shared state but an atomic
 * counter: it is meant to run on a worker thread.
 */
#ifndef POSTINO_MAILDIR_H
#define POSTINO_MAILDIR_H

#include "lib/lib.h"

struct account;

/* NAME_MAX of Linux file systems: a folder is ".Name", so one byte less. */
#define MAILDIR_FOLDER_NAME_MAX 254
/* A file name and its NUL: the host part is cut (maildir.c) so that the
 * time, pid, counter, host, both size fields and IMAP's ":2,<flags>" fit
 * in NAME_MAX (255). */
#define MAILDIR_NAME_MAX 256
/* Maildir spec (cr.yp.to/proto/maildir.html): files in tmp/ untouched for
 * 36 hours are abandoned deliveries and may be removed. */
#define MAILDIR_TMP_STALE_SECS (36 * 60 * 60)

/* DATA/mail/<domain>/<local>: the mailbox's Maildir root. Caller frees. */
char *maildir_account_path(const char *data_dir, const struct account *account);
/* A folder's directory: the root for NULL or "INBOX", else root/.Name.
 * Names are Maildir++ on-disk names ("Junk", "Archive.2024"): no '/',
 * no empty hierarchy level, no control characters. Caller frees. */
int maildir_folder_path(const char *root, const char *folder, char **path_r,
			const char **error_r) ATTR_NODISCARD;
bool maildir_folder_name_valid(const char *folder);

/* Create dir's cur/ new/ tmp/ (and missing parents), mode 0700, and make
 * the new entries durable; a subfolder (a ".Name" directory) also gets
 * Maildir++'s empty "maildirfolder" marker. Nothing is done when new/
 * already exists. */
int maildir_create(const char *dir) ATTR_NODISCARD;

/* A fresh unique base name "<sec>.M<usec>P<pid>Q<n>.<host>" (no size
 * fields, no ":2," info). Safe to call from any thread. */
void maildir_unique_name(char dst[MAILDIR_NAME_MAX]);
/* The S= and W= fields of a file name; -1 when absent (the caller falls
 * back to stat). vsize_r may be NULL. */
int maildir_name_sizes(const char *name, uint64_t *size_r, uint64_t *vsize_r);

/* What one delivery writes: an optional per-item prefix (the per-recipient
 * Return-Path/Delivered-To lines) followed by a shared body. */
struct maildir_source {
	int fd;            /* read with pread() from offset 0; -1 = use data */
	const void *data;  /* when fd is -1 */
	uint64_t size;
};

struct maildir_delivery {
	/* in: the caller's, valid for the duration of the call */
	const char *dir;                  /* folder directory (root or root/.Name) */
	const char *prefix;               /* may be NULL */
	size_t prefix_len;
	const struct maildir_source *src; /* may be shared by many items */
	/* NULL, or a file of dir/tmp/ from maildir_tmp_create() that already
	 * holds prefix and src (src->fd is open on it): it is fsynced and
	 * renamed, not written. Its lines must all end in CRLF (W= = S=). */
	const char *written;
	/* out */
	char name[MAILDIR_NAME_MAX];      /* file name in dir/new/ once stored */
	uint64_t size, vsize;             /* bytes on disk; with bare LFs as CRLF */
	int error;                        /* 0 when stored, else the failing errno */
	const char *failed_step;          /* "open", "write", "fsync", "close",
					   * "rename", "fsync-dir"; NULL when stored */
};

/* maildir_tmp_create - a new exclusive file in dir/tmp/ for a caller that
 * writes a message itself (as it arrives) and stores it later with
 * maildir_deliver_batch() (item.written). Does not create the folder: -1
 * with ENOENT when dir/tmp/ does not exist. Returns the fd (O_RDWR);
 * *path_r is the file's path (caller frees). */
int maildir_tmp_create(const char *dir, char **path_r);

/* maildir_deliver_batch - store every item durably, sharing fsyncs.
 *
 * Each file is written to tmp/ and fsynced, then all are renamed into new/,
 * then each distinct new/ directory is fsynced once (group commit). An
 * item is reported stored only after its own fsync and its directory's.
 * A failed item leaves nothing in new/ (and its tmp/ file is removed).
 * Returns 0 when every item was stored, -1 when any failed (see each
 * item's error and failed_step). */
int maildir_deliver_batch(struct maildir_delivery *items, size_t count);

/* Remove tmp/ files of dir older than max_age seconds (Maildir's 36-hour
 * rule); returns how many were removed. */
unsigned maildir_tmp_clean(const char *dir, int64_t now, int64_t max_age);

/* Visit every message file of a Maildir root: INBOX and each ".Name"
 * folder, new/ and cur/ (tmp/ is not mail yet). size is S= or stat's. */
typedef void maildir_scan_fn(const char *folder_dir, const char *name, uint64_t size,
			     void *context);
int maildir_scan(const char *root, maildir_scan_fn *fn, void *context) ATTR_NODISCARD;
/* The newest modification time (ns since the epoch) of the root and of
 * every folder's new/ and cur/: a recount that saw the same stamp before
 * and after saw a Maildir that did not change under it. */
int maildir_mtime(const char *root, int64_t *mtime_ns_r) ATTR_NODISCARD;

#endif
