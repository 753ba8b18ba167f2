/* SPDX-License-Identifier: ISC */
/*
 * index.h - the per-account mail index over the Maildir: what IMAP, POP3
 * and (later) webmail read and write.
 *
 * One SQLite database per account, DATA/mail/<domain>/<local>/
 * postino-index.db (WAL), holds the mailboxes (UIDVALIDITY, UIDNEXT,
 * HIGHESTMODSEQ, SPECIAL-USE), the subscriptions, and per message its UID,
 * Maildir base name, system flags, keywords, MODSEQ, INTERNALDATE, sizes
 * and the cached ENVELOPE/BODY/BODYSTRUCTURE strings; plus the expunged
 * UIDs with their MODSEQ (QRESYNC VANISHED, RFC 7162 3.2.10) and the
 * full-text index (fts.h). The Maildir stays the truth: the index picks up
 * mail that appears there from outside, and rebuilds itself from it when
 * the database is missing or corrupt (new UIDVALIDITYs then, as RFC 3501
 * 2.3.1.1 requires when UIDs cannot be kept).
 *
 * Threads. Every call is synchronous. A handle (struct index) is one
 * SQLite connection: one thread at a time may use it, and it may move
 * between the loop and workers between calls. Handles of the same account
 * (sessions, threads, processes) share the database and see each other's
 * changes; writes are IMMEDIATE transactions, so UIDs and MODSEQs are
 * never handed out twice.
 *
 * Which calls block. "fsync": waits for the disk. "files": renames,
 * unlinks or reads directories and message files, no fsync. Both belong
 * on a worker. "read": SQLite reads only, cheap enough for the loop.
 *
 *   index_open                   fsync (first open: folders, defaults), files
 *   index_mailbox_create/delete/rename, index_mailbox_subscribe
 *                                fsync (folders; the subscriptions mirror)
 *   index_append, index_copy     fsync (the message files are durable
 *                                before the UID is returned)
 *   index_mailbox_status, index_mailbox_status_id, index_mailbox_sync
 *                                files (a sync); read with INDEX_SYNC_NONE
 *   index_store_flags, index_expunge   files (renames, unlinks)
 *   index_message_cache          files (reads the message the first time)
 *   fts_search, fts_update       files (read messages not indexed yet)
 *   index_mailbox_list           read (and a readdir of the Maildir root
 *                                when its mtime moved)
 *   index_message_path           read (and a sync when the file moved)
 *   index_mailbox_find, index_iter_*, index_mailbox_uids,
 *   index_changes_since, index_mailbox_keywords, index_release_memory
 *                                read
 *
 * SQLite writes (WAL, synchronous=NORMAL) do not fsync; they may wait up
 * to the busy timeout for another handle's write transaction.
 *
 * Flags on disk. System flags live in the file names (":2,DFRST", the
 * Maildir spec: D \Draft, F \Flagged, R \Answered, S \Seen, T \Deleted),
 * so other Maildir readers and a rebuild see them. Keywords live only in
 * the index (Dovecot's dovecot-keywords letters are not written): a
 * rebuild loses them, as it loses UIDs. Subscriptions are mirrored in
 * postino-subscriptions and the last UIDVALIDITY in postino-uidvalidity
 * (Maildir root), so a rebuild keeps the first and never reuses the
 * second.
 *
 * Errors come back as struct index_error: a reason code of core/reason.c
 * (the IMAP response code and text come from its row) and a detail for the
 * log. Lookups return 1 (found), 0 (not found), -1 (error).
 */
#ifndef POSTINO_INDEX_H
#define POSTINO_INDEX_H

#include "lib/lib.h"
#include "store/maildir.h"

struct account;
struct index;

#define INDEX_FILE_NAME "postino-index.db"
/* Mailboxes per account unless the caller sets its own limit (issue 4,
 * item 6: bounded, configurable): Thunderbird users with deep archives
 * reach a few hundred. */
#define INDEX_MAILBOXES_DEFAULT 1000
/* Keywords per mailbox and per message, and a keyword's length: far
 * above what clients use ($Forwarded, $Junk, $label1..5, a few tags),
 * low enough that FLAGS and PERMANENTFLAGS stay one short line. */
#define INDEX_KEYWORDS_MAX 250
#define INDEX_KEYWORD_LEN_MAX 100
#define INDEX_ERROR_MAX 512

struct index_error {
	const char *reason;            /* core/reason.c code, "store.*" */
	char text[INDEX_ERROR_MAX];    /* detail for the log */
};

/* ---- opening ---- */

struct index_settings {
	const char *data_dir;
	/* Its domain, local part and quota limits are copied. */
	const struct account *account;
	uint64_t domain_quota_bytes;   /* the domain's total quota; 0 = none */
	unsigned max_mailboxes;        /* 0 = INDEX_MAILBOXES_DEFAULT */
};

/* index_open - open (creating or rebuilding) the account's index, create
 * the Maildir and the default mailboxes (INBOX, and Sent, Drafts, Junk,
 * Trash, Archive with their RFC 6154 SPECIAL-USE attributes) when they are
 * missing, and pick up folders created on disk by others. */
int index_open(const struct index_settings *set, struct index **index_r,
	       struct index_error *error_r) ATTR_NODISCARD;
void index_close(struct index **_index);
/* New quota figures for the account (after `user set quota=`). */
void index_set_limits(struct index *index, const struct account *account,
		      uint64_t domain_quota_bytes);
/* The Maildir root the index covers. */
const char *index_root(const struct index *index);
/* Give back the handle's page cache (IDLE sessions hold a handle for
 * half an hour and need none of it meanwhile). */
void index_release_memory(struct index *index);

/* ---- flags ---- */

enum index_flag {
	INDEX_FLAG_SEEN = 0x01,
	INDEX_FLAG_ANSWERED = 0x02,
	INDEX_FLAG_FLAGGED = 0x04,
	INDEX_FLAG_DELETED = 0x08,
	INDEX_FLAG_DRAFT = 0x10,
};
#define INDEX_FLAGS_ALL 0x1f

/* "\Seen" ... for one flag bit, NULL for anything else. */
const char *index_flag_name(unsigned flag);
/* A system flag's IMAP name (any case) to its bit: 1, or 0 when name is
 * no storable system flag (\Recent is not: RFC 3501 2.3.2). */
int index_flag_lookup(const char *name, unsigned *flag_r);
/* A keyword the index accepts: an IMAP atom (RFC 3501 9 flag-keyword)
 * without '\\', at most INDEX_KEYWORD_LEN_MAX bytes. */
bool index_keyword_valid(const char *keyword);

/* ---- mailboxes ---- */

/* Names are UTF-8 with '/' between levels (mail/mailbox-name.h); INBOX
 * in any case is INBOX. */
struct index_mailbox_info {
	char *name;
	const char *special_use;  /* "\\Sent" ..., or NULL (static string) */
	bool subscribed;
	bool has_children;        /* RFC 3348 \HasChildren / \HasNoChildren */
	bool nonexistent;         /* only subscribed: RFC 5258 \NonExistent */
};

/* Every mailbox, INBOX first, then by name; subscribed names that are no
 * mailbox follow as nonexistent entries (LSUB, LIST (SUBSCRIBED)). */
int index_mailbox_list(struct index *index, struct index_mailbox_info **list_r,
		       size_t *count_r, struct index_error *error_r) ATTR_NODISCARD;
void index_mailbox_list_free(struct index_mailbox_info **_list, size_t count);

/* 1 and the mailbox's id (stable across renames, never reused) when it
 * exists, 0 when not, -1 on error. */
int index_mailbox_find(struct index *index, const char *name, int64_t *id_r);

/* special_use: NULL, or one RFC 6154 attribute ("\\Sent"; CREATE-SPECIAL-
 * USE). Parent levels are not created (Maildir++ needs none). */
int index_mailbox_create(struct index *index, const char *name, const char *special_use,
			 struct index_error *error_r) ATTR_NODISCARD;
/* RFC 3501 6.3.4: INBOX cannot be deleted; children are kept. The
 * mailbox's messages are removed and the quota credited. Subscriptions
 * are kept (RFC 3501 6.3.6: never removed unilaterally). */
int index_mailbox_delete(struct index *index, const char *name,
			 struct index_error *error_r) ATTR_NODISCARD;
/* RFC 3501 6.3.5: children move along, UIDVALIDITY is kept, subscriptions
 * follow. Renaming INBOX moves its messages to a new mailbox `to` (new
 * UIDs) and leaves INBOX empty; its children stay. */
int index_mailbox_rename(struct index *index, const char *from, const char *to,
			 struct index_error *error_r) ATTR_NODISCARD;
/* Any valid name may be subscribed, existing or not (RFC 3501 6.3.6). */
int index_mailbox_subscribe(struct index *index, const char *name, bool subscribe,
			    struct index_error *error_r) ATTR_NODISCARD;

/* ---- selecting and syncing ---- */

enum index_sync_flags {
	/* SELECT (not EXAMINE, STATUS): move new/ files to cur/, as Dovecot
	 * does; they stop being "new" for other Maildir readers. */
	INDEX_SYNC_READ_WRITE = 0x01,
	/* Rescan new/ and cur/ even when their mtimes say nothing changed. */
	INDEX_SYNC_FORCE = 0x02,
	/* No Maildir check at all: the index as it is (cheap, loop-safe). */
	INDEX_SYNC_NONE = 0x04,
};

struct index_status {
	int64_t mailbox_id;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	uint32_t messages, unseen, deleted;
	uint32_t recent;        /* always 0: IMAP4rev2 dropped \Recent */
	/* Sequence number of the first message without \Seen, in the index's
	 * current order; 0 when every message is seen. */
	uint32_t first_unseen;
	uint64_t size;          /* sum of RFC822.SIZEs: STATUS SIZE (RFC 8438) */
};

/* index_mailbox_status - sync (unless INDEX_SYNC_NONE) and count: SELECT
 * (INDEX_SYNC_READ_WRITE), EXAMINE and STATUS (0). */
int index_mailbox_status(struct index *index, const char *name, unsigned sync_flags,
			 struct index_status *status_r, struct index_error *error_r) ATTR_NODISCARD;
/* The same by id, for a selected mailbox (NOOP, IDLE, after a command). */
int index_mailbox_status_id(struct index *index, int64_t mailbox_id, unsigned sync_flags,
			    struct index_status *status_r, struct index_error *error_r)
	ATTR_NODISCARD;
/* index_mailbox_sync - bring the index up to date with the Maildir:
 * files that appeared get UIDs (in file-name time order), files that
 * vanished are expunged, flags renamed on disk are taken over. A cheap
 * mtime check skips the scan when new/ and cur/ did not change. What
 * changed is read with index_changes_since(). */
int index_mailbox_sync(struct index *index, int64_t mailbox_id, unsigned sync_flags,
		       struct index_error *error_r) ATTR_NODISCARD;
/* index_tmp_clean - Maildir's 36-hour rule: remove the folder's tmp/
 * files untouched since now - MAILDIR_TMP_STALE_SECS (deliveries a crash
 * abandoned), at most once per INDEX_TMP_CLEAN_SECS per folder. A sync
 * that scans the folder calls it with the time now. 1 = swept (*removed_r
 * says how many), 0 = not due yet, -1 = the index could not record it. */
#define INDEX_TMP_CLEAN_SECS (8 * 60 * 60)
int index_tmp_clean(struct index *index, int64_t mailbox_id, int64_t now, unsigned *removed_r);

/* ---- messages ---- */

/* A closed range of UIDs (or of sequence numbers); first <= last. */
struct index_uid_range {
	uint32_t first, last;
};

struct index_message {
	uint32_t uid;
	uint32_t seq;            /* position in the index's current order (1-based) */
	unsigned flags;          /* enum index_flag */
	const char *keywords;    /* space-separated, "" for none */
	uint64_t modseq;
	int64_t internaldate;    /* seconds since the epoch */
	uint64_t size;           /* bytes on disk (S=) */
	uint64_t vsize;          /* RFC822.SIZE: bare LFs counted as CRLF (W=) */
	/* Cached IMAP strings, NULL until computed (index_message_cache()). */
	const char *envelope, *body, *bodystructure;
};

struct index_iter;

/* index_iter_init - the messages of ranges[0..count) (NULL: all), in
 * ascending order; by_seq: the ranges are sequence numbers of the index's
 * current order (an IMAP session maps its own sequence numbers, which lag
 * behind until EXPUNGE is sent, through index_mailbox_uids() instead).
 * Strings of the returned message stay valid until the next call. Do not
 * write through the same handle while iterating. */
int index_iter_init(struct index *index, int64_t mailbox_id,
		    const struct index_uid_range *ranges, size_t count, bool by_seq,
		    struct index_iter **iter_r) ATTR_NODISCARD;
/* 1 with a message, 0 at the end, -1 on error. */
int index_iter_next(struct index_iter *iter, struct index_message *msg_r);
void index_iter_deinit(struct index_iter **_iter);

/* Every UID of the mailbox in ascending order (the session's sequence
 * map); *uids_r is xmalloc'd (NULL when empty). */
int index_mailbox_uids(struct index *index, int64_t mailbox_id, uint32_t **uids_r,
		       size_t *count_r) ATTR_NODISCARD;

/* The message file, for reading BODY[] (1/0/-1). When the file moved
 * (another client renamed it) the mailbox is synced and looked up again;
 * 0 means it is gone. Caller frees. */
int index_message_path(struct index *index, int64_t mailbox_id, uint32_t uid,
		       char **path_r);

struct index_cache {
	char *envelope, *body, *bodystructure;
};
/* index_message_cache - ENVELOPE, BODY (not extended) and BODYSTRUCTURE
 * (extended) of a message, from the cache or by reading and parsing the
 * file once (mail/mime.h, mail/imap-bodystructure.h) and storing the
 * strings. 1, 0 when the message or its file is gone, -1. */
int index_message_cache(struct index *index, int64_t mailbox_id, uint32_t uid,
			struct index_cache *cache_r);
void index_cache_clear(struct index_cache *cache);

/* ---- changing messages ---- */

enum index_store_mode {
	INDEX_STORE_REPLACE, /* FLAGS */
	INDEX_STORE_ADD,     /* +FLAGS */
	INDEX_STORE_REMOVE,  /* -FLAGS */
};

struct index_store {
	enum index_store_mode mode;
	unsigned flags;                 /* enum index_flag */
	const char *const *keywords;
	size_t keyword_count;
	/* CONDSTORE UNCHANGEDSINCE (RFC 7162 3.1.3); 0 is a valid value */
	bool unchanged_since_set;
	uint64_t unchanged_since;
};

/* A message's flags after a change (or as they are). */
struct index_change {
	uint32_t uid;
	unsigned flags;
	char *keywords;      /* space-separated, "" for none */
	uint64_t modseq;
	bool changed;        /* this call (or, in changes_since, since) changed it */
};

struct index_store_result {
	struct index_change *changes;   /* every message matched, by UID */
	size_t count;
	uint32_t *modified;             /* failed UNCHANGEDSINCE: [MODIFIED] */
	size_t modified_count;
	uint64_t highestmodseq;
};

/* index_store_flags - STORE/UID STORE on the UIDs of ranges. Messages
 * whose flags do not change keep their MODSEQ; the others get one new
 * MODSEQ (one per call) and, when system flags changed, a renamed file. */
int index_store_flags(struct index *index, int64_t mailbox_id,
		      const struct index_uid_range *ranges, size_t count,
		      const struct index_store *store, struct index_store_result *result_r,
		      struct index_error *error_r) ATTR_NODISCARD;
void index_store_result_clear(struct index_store_result *result);

struct index_append {
	const struct maildir_source *src;
	unsigned flags;                 /* enum index_flag */
	const char *const *keywords;
	size_t keyword_count;
	int64_t internaldate;           /* 0 = now */
};

/* index_append - store one message durably (maildir.h delivery) with its
 * flags and INTERNALDATE, after the quota check (store.over-quota & co:
 * NO [OVERQUOTA]). *uidvalidity_r and *uid_r are APPENDUID's (RFC 4315). */
int index_append(struct index *index, int64_t mailbox_id, const struct index_append *append,
		 uint32_t *uidvalidity_r, uint32_t *uid_r,
		 struct index_error *error_r) ATTR_NODISCARD;

struct index_copy_result {
	uint32_t uidvalidity;      /* of the destination */
	uint32_t *src_uids, *dst_uids;  /* COPYUID pairs, by source UID */
	size_t count;
};

/* index_copy - COPY (move false) or MOVE (RFC 6851) the UIDs of ranges
 * into dst_id, keeping flags, keywords, INTERNALDATE and cached strings.
 * The new files are durable before this returns. A copy checks the quota;
 * a move does not add usage. A move expunges the sources in the same
 * transaction, so other sessions never see the message in both mailboxes
 * or in neither. */
int index_copy(struct index *index, int64_t src_id, const struct index_uid_range *ranges,
	       size_t count, int64_t dst_id, bool move, struct index_copy_result *result_r,
	       struct index_error *error_r) ATTR_NODISCARD;
void index_copy_result_clear(struct index_copy_result *result);

/* index_expunge - remove the messages with \Deleted (all of them, or those
 * in ranges for UID EXPUNGE, RFC 4315 2.1), record their UIDs with the new
 * MODSEQ for VANISHED, credit the quota. *uids_r (xmalloc'd, ascending)
 * lists what was expunged. */
int index_expunge(struct index *index, int64_t mailbox_id,
		  const struct index_uid_range *ranges, size_t count, uint32_t **uids_r,
		  size_t *count_r, struct index_error *error_r) ATTR_NODISCARD;

struct index_changes {
	/* Messages with MODSEQ > since (new ones included), ascending UIDs. */
	struct index_change *changed;
	size_t changed_count;
	/* UIDs expunged with MODSEQ > since, ascending. */
	uint32_t *vanished;
	size_t vanished_count;
	/* since predates the expunge history kept (INDEX_EXPUNGED_KEEP):
	 * vanished is incomplete, treat every UID the client knows below
	 * uidnext that is not in the mailbox as vanished (RFC 7162 3.2.5.2
	 * lets the server send such UIDs). */
	bool vanished_incomplete;
	uint64_t highestmodseq;
	uint32_t uidnext;
};

/* index_changes_since - CONDSTORE FETCH CHANGEDSINCE, QRESYNC, and a
 * session's view update after a sync (EXISTS, EXPUNGE, FETCH FLAGS). */
int index_changes_since(struct index *index, int64_t mailbox_id, uint64_t modseq,
			struct index_changes *changes_r, struct index_error *error_r)
	ATTR_NODISCARD;
void index_changes_clear(struct index_changes *changes);

/* Every keyword ever used in the mailbox (FLAGS, PERMANENTFLAGS), in the
 * order first used; *keywords_r is a NULL-terminated xmalloc'd vector. */
int index_mailbox_keywords(struct index *index, int64_t mailbox_id, char ***keywords_r);
void index_keywords_free(char ***_keywords);

#endif
