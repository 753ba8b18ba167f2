/* SPDX-License-Identifier: ISC */
/*
 * imap-private.h - what the files of src/imap/ share: the session, the
 * running command, the selected mailbox's view, worker jobs, and the
 * command table's row type.
 *
 * A session (one per connection) owns its parser, the authenticated
 * account, the account's index handle (store/index.h) once logged in,
 * and the view of the selected mailbox: the UIDs in the client's
 * sequence order and the MODSEQ it has been told about. One command runs
 * at a time (struct imap_cmd, freed with the parser's command pool when
 * its tagged reply is out). A command that must wait (a worker job, the
 * peer reading a large FETCH, IDLE, an AUTHENTICATE exchange) sets a hook
 * and returns; the session resumes it.
 *
 * Worker jobs never see the session: the index handle is lent to the job
 * (it may move between threads between calls, index.h) and comes back
 * with the completion, which finds the session again by its id and
 * closes the handle itself when the session has gone.
 */
#ifndef POSTINO_IMAP_PRIVATE_H
#define POSTINO_IMAP_PRIVATE_H

#include "lib/lib.h"
#include "core/config.h"
#include "imap/imap-arg.h"
#include "imap/imap-parser.h"
#include "imap/imap-seqset.h"

struct buf;
struct conn;
struct event;
struct index;
struct index_error;
struct index_mailbox_info;
struct index_status;
struct index_uid_range;
struct pool;

/* Bad commands before we give up on a client: Dovecot's
 * CLIENT_MAX_BAD_COMMANDS. */
#define IMAP_ERRORS_MAX 20
/* A command producing output (FETCH) pauses while more than this waits
 * for the peer, and goes on once the queue has gone to the kernel (the
 * socket buffer still holds plenty, so the stream does not stall): a
 * huge FETCH never holds more than about this much per session. */
#define IMAP_OUTPUT_HIGH (256 * 1024)
/* IDLE (RFC 2177): new mail is noticed within this. */
#define IMAP_IDLE_POLL_MS 500
/* A SASL response line of AUTHENTICATE: base64 of PLAIN's three fields
 * (directory.h PASSWORD_MAX plus two addresses) with room to spare. */
#define IMAP_SASL_LINE_MAX 8192
/* Bytes taken from the input buffer per parser call. */
#define IMAP_FEED_CHUNK (16 * 1024)
/* An untagged or tagged text line built in memory (not literals). */
#define IMAP_LINE_MAX 8192
/* Text of a refusal as logged and sent (the reason row's words). */
#define IMAP_TEXT_MAX 512

enum imap_state {
	IMAP_STATE_NOT_AUTH, /* greeted; LOGIN/AUTHENTICATE/STARTTLS */
	IMAP_STATE_AUTH,     /* logged in, nothing selected */
	IMAP_STATE_SELECTED, /* a mailbox is selected (s->sel) */
	IMAP_STATE_LOGOUT,   /* BYE sent, closing */
	IMAP_STATE_COUNT
};

/* Command table flags: the dispatcher checks these once. */
enum imap_cmd_flag {
	IMAP_CMD_NOT_AUTH = 0x01,        /* only before login (LOGIN, AUTHENTICATE, STARTTLS) */
	IMAP_CMD_NEEDS_AUTH = 0x02,      /* AUTH or SELECTED */
	IMAP_CMD_NEEDS_SELECTED = 0x04,  /* SELECTED only */
	/* RFC 3501 7.4.1: no EXPUNGE may be sent while FETCH, STORE or SEARCH
	 * (by sequence number) runs or with its reply: it would shift the
	 * numbers the client is reading. */
	IMAP_CMD_USES_SEQS = 0x08,
	/* Changes sequence numbers itself (EXPUNGE, MOVE, CLOSE). */
	IMAP_CMD_BREAKS_SEQS = 0x10,
	IMAP_CMD_NO_ARGS = 0x20,         /* BAD when arguments follow */
	/* Runs without the account's index: an IDLE session gives its handle
	 * back (an open SQLite connection is most of a session's memory), and
	 * the dispatcher reopens it on a worker for any command not marked so. */
	IMAP_CMD_NO_INDEX = 0x40,
};

/* ENABLE (RFC 5161) and what implies it. */
enum imap_feature {
	IMAP_FEATURE_CONDSTORE = 0x01, /* RFC 7162: MODSEQ in FETCH responses */
	IMAP_FEATURE_QRESYNC = 0x02,   /* RFC 7162: VANISHED instead of EXPUNGE */
	IMAP_FEATURE_UTF8 = 0x04,      /* RFC 6855 UTF8=ACCEPT: names in UTF-8 */
	/* RFC 9051 (ENABLE IMAP4rev2, 6.3.1): UTF-8 names (5.1), SEARCH
	 * answered by ESEARCH, SELECT without RECENT/UNSEEN but with LIST,
	 * UID in every unsolicited FETCH (Appendix E). Without it a session
	 * stays IMAP4rev1. */
	IMAP_FEATURE_REV2 = 0x08,
};
/* Either turns mailbox names on the wire into UTF-8. */
#define IMAP_FEATURE_UTF8_NAMES (IMAP_FEATURE_UTF8 | IMAP_FEATURE_REV2)

struct imap_cmd;
struct imap_session;

typedef void imap_cmd_fn(struct imap_cmd *cmd);

struct imap_cmd_def {
	const char *name; /* as the parser gives it: "FETCH", "UID FETCH" */
	imap_cmd_fn *fn;
	unsigned flags;   /* enum imap_cmd_flag */
};

struct imap_cmd {
	struct imap_session *s;
	struct imap_command *pc;   /* the parser's: tag, name, args, and the pool */
	struct pool *pool;         /* per command: freed with it */
	const struct imap_cmd_def *def;
	const char *tag;
	const struct imap_arg *args;
	unsigned count;
	bool uid;                  /* "UID FETCH" etc. */
	bool finished;             /* the tagged reply is out */
	/* A command that outlives its first call sets what it waits for: */
	void (*resume)(struct imap_cmd *cmd);  /* output drained / timer fired */
	/* raw input lines (AUTHENTICATE responses, IDLE's DONE); NULL line =
	 * the line was too long */
	void (*line_input)(struct imap_cmd *cmd, const char *line, size_t len);
	void (*deinit)(struct imap_cmd *cmd);  /* free ctx, also on a close mid-command */
	void *ctx;
};

/* The selected mailbox as this session's client sees it. */
struct imap_mailbox {
	int64_t id;
	char *name;                /* UTF-8 */
	bool readonly;             /* EXAMINE */
	uint32_t uidvalidity, uidnext;
	uint64_t modseq;           /* changes up to here have been reported */
	uint32_t *uids;            /* sequence number n is uids[n - 1] */
	size_t count, alloc;
	size_t keyword_count;      /* keywords in the last FLAGS sent */
	struct imap_seqset saved;  /* SEARCHRES "$" (RFC 5182), as UIDs */
	/* IDLE: stamp of the folder's directories */
	char *dir;                 /* the folder's Maildir directory */
	uint64_t idle_stamp;
};

struct imap_session {
	uint64_t id;               /* conn_id(): what crosses worker calls */
	struct conn *conn;         /* NULL once closed */
	const struct config *cfg;  /* the connection's snapshot */
	enum listener_kind kind;
	enum imap_state state;
	char sid[32];
	char peer[64];
	struct imap_parser *parser;
	char *account;             /* after login (xstrdup) */
	struct index *index;       /* after login; NULL while lent to a job or
				    * given back during IDLE */
	char *root;                /* the account's Maildir (index_root) */
	struct imap_mailbox *sel;  /* SELECTED */
	struct imap_cmd *cmd;      /* the running command */
	unsigned enabled;          /* enum imap_feature */
	unsigned errors;
	bool busy;                 /* a worker job holds the index: input waits */
	bool input_paused;         /* conn_pause_input() by a job, not resumed yet */
	bool draining;             /* server stopping: BYE when idle */
	bool starttls;             /* handshake running: input waits */
	struct event *timer;       /* the running command's timer (lazily made) */
	bool wait_output;          /* the command waits for the output to drain */
	/* APPEND literals streamed to files before the command is whole */
	struct imap_append_spool *spool;
};

/* A blocking step of a command, run on a worker with the index lent. */
struct imap_job {
	/* worker thread: only the job and job->index */
	void (*run)(struct imap_job *job);
	/* loop thread, session alive: reply (and finish or go on) */
	void (*done)(struct imap_cmd *cmd, struct imap_job *job);
	/* NULL = free(job) */
	void (*free)(struct imap_job *job);
	struct index *index;
};

/* ---- imap-session.c ---- */

const char *imap_state_name(enum imap_state state);
void imap_set_state(struct imap_session *s, enum imap_state state);
struct imap_session *imap_session_lookup(uint64_t id);
/* Sessions logged in as account (imap.max-connections-per-user). */
unsigned imap_session_count_account(const char *account);

/* One line (no CRLF in it), protocol-logged. */
void imap_send_line(struct imap_session *s, const char *line, size_t len);
/* "* " fmt */
void imap_untagged(struct imap_session *s, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
/* Raw bytes (literal data), not logged. */
void imap_write(struct imap_session *s, const void *data, size_t len);
/* A line from a buf (without CRLF). */
void imap_send_buf(struct imap_session *s, const struct buf *b);
void imap_protolog(struct imap_session *s, char dir, const char *fmt, ...)
	ATTR_FORMAT(printf, 3, 4);
void imap_journal(struct imap_session *s, const char *decision, const char *reason,
		  const char *account, const char *detail);

/* Tagged replies: each ends the command. OK first reports what changed
 * in the selected mailbox (imap-sync.c), as RFC 3501 7 expects. */
void imap_cmd_ok(struct imap_cmd *cmd, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
void imap_cmd_no(struct imap_cmd *cmd, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
void imap_cmd_bad(struct imap_cmd *cmd, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
/* "tag NO [CODE] text" from a core/reason.c row (text overrides). */
void imap_cmd_reason(struct imap_cmd *cmd, const char *reason, const char *text);
/* A refusal worth recording: log, journal (decision "refuse"), reply. */
void imap_cmd_refuse(struct imap_cmd *cmd, const char *reason, const char *detail);

/* Run job on a worker; the command waits (input paused). */
void imap_job_submit(struct imap_cmd *cmd, struct imap_job *job);
/* Call resume once the output queue has drained (conn_want_drained). */
void imap_cmd_wait_output(struct imap_cmd *cmd, void (*resume)(struct imap_cmd *cmd));
/* True when the command should stop and imap_cmd_wait_output(). */
bool imap_output_full(const struct imap_session *s);
/* Call resume after ms (IDLE polls, the refusal delay). */
void imap_cmd_set_timer(struct imap_cmd *cmd, unsigned ms, void (*resume)(struct imap_cmd *cmd));
void imap_cmd_stop_timer(struct imap_cmd *cmd);
/* "* BYE ..." and close after the flush. */
void imap_session_close(struct imap_session *s, const char *reason);
/* The index is gone or broken mid-session: BYE with a reason row. */
void imap_session_fatal(struct imap_session *s, const char *reason, const char *detail);
/* Login succeeded (cmd-login.c): the session is now account's (taken),
 * with the index the login job opened (s->index). */
void imap_session_logged_in(struct imap_session *s, char *account);

/* ---- imap-commands.c ---- */

const struct imap_cmd_def *imap_command_find(const char *name);
/* Run a parsed command through the table's generic checks. */
void imap_command_dispatch(struct imap_session *s, struct imap_command *pc);
/* The command's reply is out: free it, go on reading. */
void imap_command_finished(struct imap_session *s);
void imap_cmd_free(struct imap_cmd **_cmd);
/* Reopen the index on a worker (IDLE gave it back), then run the command. */
void imap_index_reopen_then(struct imap_cmd *cmd);

/* ---- imap-sync.c ---- */

/* imap_sync_report - tell the client what changed in the selected
 * mailbox since it last heard: EXPUNGE (or VANISHED with QRESYNC) unless
 * the running command uses sequence numbers, EXISTS, FETCH FLAGS (with
 * UID and MODSEQ as the client enabled). Index reads only: the Maildir
 * scan that finds outside changes is a job's (NOOP, IDLE). */
void imap_sync_report(struct imap_session *s, bool expunges_allowed, bool with_uid);
/* EXPUNGE (or VANISHED) for UIDs this session removed itself. */
void imap_sync_expunged(struct imap_session *s, const uint32_t *uids, size_t count);
/* Our own change took the mailbox from the view's MODSEQ to modseq:
 * nothing else changed, so the next report need not repeat it. */
void imap_sync_own_change(struct imap_session *s, uint64_t modseq);
/* Drop a UID from the view (our own EXPUNGE); returns its old sequence
 * number, 0 when it was not there. */
uint32_t imap_view_remove(struct imap_mailbox *sel, uint32_t uid);
/* Sequence number of uid in the view, 0 when absent. */
uint32_t imap_view_seq(const struct imap_mailbox *sel, uint32_t uid);
void imap_view_append(struct imap_mailbox *sel, uint32_t uid);
void imap_mailbox_free(struct imap_mailbox **_sel);
/* imap_view_ranges - a sequence set (or UID set with uid) as sent,
 * resolved against the view into ascending UID ranges of messages the
 * client knows (cmd pool). "$" is the saved SEARCH result. -1: BAD sent. */
int imap_view_ranges(struct imap_cmd *cmd, const char *set, bool uid,
		     struct index_uid_range **ranges_r, size_t *count_r);
/* Write "(\Seen $Label)" for flags and space-separated keywords. */
int imap_flags_write(struct buf *out, unsigned flags, const char *keywords) ATTR_NODISCARD;
/* "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" for the mailbox. */
void imap_send_flags(struct imap_session *s, bool permanent_too);
/* FLAGS and PERMANENTFLAGS again when the mailbox has a new keyword. */
void imap_send_new_keywords(struct imap_session *s);
/* IDLE polling: a stamp of the folder's new/ and cur/ directories. */
uint64_t imap_idle_stamp(const struct imap_session *s);

/* ---- imap-mailbox.c: names between the wire and the index ---- */

/* UTF-8 names are at most this long (a Maildir++ folder holds less), and
 * LIST patterns too. */
#define IMAP_MAILBOX_NAME_MAX 1024

/* imap_mailbox_name_in - a mailbox argument as sent (modified UTF-7, or
 * UTF-8 with UTF8=ACCEPT or IMAP4rev2) to the UTF-8 name the index uses:
 * INBOX in any case becomes "INBOX"; validated by mail/mailbox-name.c. In
 * the cmd pool; -1 with a reason code (store.bad-name) and detail. */
int imap_mailbox_name_in(struct imap_cmd *cmd, const struct imap_arg *arg, char **name_r,
			 const char **detail_r);
/* Append name as the client should see it: an astring ("quoted" or a
 * literal), modified UTF-7 unless UTF8=ACCEPT or IMAP4rev2. */
int imap_mailbox_name_out(const struct imap_session *s, const char *name, struct buf *out)
	ATTR_NODISCARD;
/* The same for a worker job, which has no session: utf8 = UTF-8 names. */
int imap_mailbox_name_write(bool utf8, const char *name, struct buf *out) ATTR_NODISCARD;
/* A one-call mailbox operation on a worker (CREATE, DELETE, RENAME,
 * SUBSCRIBE): op runs with the index; OK "<command> completed." or the
 * index's refusal. Strings are copied into the job. */
struct imap_mailbox_op {
	char *name, *name2;       /* xstrdup'd */
	const char *special_use;  /* static */
	bool flag;
};
typedef int imap_mailbox_op_fn(struct index *index, const struct imap_mailbox_op *op,
			       struct index_error *error_r);
void imap_mailbox_op_submit(struct imap_cmd *cmd, imap_mailbox_op_fn *fn, const char *name,
			    const char *name2, const char *special_use, bool flag);
/* LIST pattern matching on UTF-8 names: '*' anything, '%' anything but
 * the separator (RFC 3501 6.3.8). INBOX in the pattern is case-insensitive. */
bool imap_mailbox_match(const char *pattern, const char *name);

/* ---- imap-util.c: pure helpers (tests/unit/test-imap-util.c) ---- */

/* RFC 3501 date-time "17-Jul-1996 02:44:25 -0700" */
#define IMAP_DATETIME_MAX 32
int imap_datetime_parse(const char *in, int64_t *t_r);
void imap_datetime_format(int64_t t, char dst[IMAP_DATETIME_MAX]);
/* RFC 3501 date "1-Feb-1994" (SEARCH): midnight UTC of that day */
int imap_date_parse(const char *in, int64_t *t_r);
/* imap_cte_decode - a body part's content in[0..len) undone from its
 * Content-Transfer-Encoding (NULL, 7bit, 8bit, binary: as is; base64
 * and quoted-printable leniently, as RFC 2045 6.7 and 6.8 ask readers)
 * into out, for BINARY (RFC 3516). -1 for an unknown encoding (NO
 * [UNKNOWN-CTE]) or out's limit. */
int imap_cte_decode(const char *encoding, const void *in, size_t len, struct buf *out)
	ATTR_NODISCARD;
/* Append s as a quoted string, or a literal when it cannot be quoted. */
int imap_astring_write(struct buf *out, const char *s) ATTR_NODISCARD;
/* The same once the client takes UTF-8 (UTF8=ACCEPT, IMAP4rev2): valid
 * UTF-8 is quoted as it is (RFC 9051 4.3 QUOTED-CHAR, RFC 6855 3). */
int imap_astring_write_utf8(struct buf *out, const char *s) ATTR_NODISCARD;

/* ---- imap-fetch.c: the FETCH engine (cmd-fetch.c parses) ---- */

enum imap_fetch_type {
	IMAP_FETCH_UID,
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODY,          /* BODY: the non-extended structure */
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_MODSEQ,        /* RFC 7162 */
	IMAP_FETCH_SECTION,       /* BODY[...]<...>, RFC822, RFC822.HEADER, RFC822.TEXT */
	IMAP_FETCH_BINARY,        /* BINARY[part]<...> (RFC 3516): decoded */
	IMAP_FETCH_BINARY_SIZE,   /* BINARY.SIZE[part] */
};

struct imap_fetch_item {
	enum imap_fetch_type type;
	/* IMAP_FETCH_SECTION, _BINARY, _BINARY_SIZE */
	const char *label;        /* "BODY[1.2]", "RFC822.HEADER": the response's name */
	const char *spec;         /* "", "HEADER", "1.2.MIME", "HEADER.FIELDS" ... */
	const char *const *fields; /* HEADER.FIELDS(.NOT) names */
	unsigned field_count;
	bool fields_not;
	bool peek;                /* sets no \Seen */
	bool partial;
	uint64_t partial_offset, partial_size;
};

struct imap_fetch_request {
	struct imap_fetch_item *items;
	unsigned count;
	struct index_uid_range *ranges; /* the view's UIDs asked for */
	size_t range_count;
	bool changedsince_set;    /* CHANGEDSINCE (RFC 7162 3.1.4) */
	uint64_t changedsince;
};

/* Run the request (the command's pool holds it) to its tagged reply. */
void imap_fetch_start(struct imap_cmd *cmd, struct imap_fetch_request *req);

/* ---- imap-search.c ---- */

void imap_search_start(struct imap_cmd *cmd);

/* ---- one file per command ---- */

void cmd_capability(struct imap_cmd *cmd);
void cmd_noop(struct imap_cmd *cmd);
void cmd_check(struct imap_cmd *cmd);
void cmd_logout(struct imap_cmd *cmd);
void cmd_starttls(struct imap_cmd *cmd);
void cmd_login(struct imap_cmd *cmd);
void cmd_authenticate(struct imap_cmd *cmd);
void cmd_id(struct imap_cmd *cmd);
void cmd_enable(struct imap_cmd *cmd);
void cmd_namespace(struct imap_cmd *cmd);
void cmd_idle(struct imap_cmd *cmd);
void cmd_select(struct imap_cmd *cmd);
void cmd_examine(struct imap_cmd *cmd);
void cmd_list(struct imap_cmd *cmd);
void cmd_lsub(struct imap_cmd *cmd);
void cmd_status(struct imap_cmd *cmd);
void cmd_create(struct imap_cmd *cmd);
void cmd_delete(struct imap_cmd *cmd);
void cmd_rename(struct imap_cmd *cmd);
void cmd_subscribe(struct imap_cmd *cmd);
void cmd_unsubscribe(struct imap_cmd *cmd);
void cmd_append(struct imap_cmd *cmd);
void cmd_fetch(struct imap_cmd *cmd);
void cmd_store(struct imap_cmd *cmd);
void cmd_copy(struct imap_cmd *cmd);
void cmd_move(struct imap_cmd *cmd);
void cmd_expunge(struct imap_cmd *cmd);
void cmd_search(struct imap_cmd *cmd);
void cmd_close(struct imap_cmd *cmd);
void cmd_unselect(struct imap_cmd *cmd);
void cmd_getquota(struct imap_cmd *cmd);
void cmd_getquotaroot(struct imap_cmd *cmd);
void cmd_setquota(struct imap_cmd *cmd);

/* cmd-login.c: check credentials on a worker (policy_auth, screening),
 * open the account's index, reply; shared by LOGIN and AUTHENTICATE. */
void imap_login_verify(struct imap_cmd *cmd, const char *login, const char *password);
/* Worker side: open account's index (the login's last step, and the
 * reopen after IDLE gave the handle back). */
int imap_index_open(const char *data_dir, const char *account, struct index **index_r,
		    struct index_error *error_r);
/* Before TLS on port 143 (LOGINDISABLED): refuse with PRIVACYREQUIRED. */
bool imap_login_refused_plaintext(struct imap_cmd *cmd);

/* cmd-capability.c: the list for the session's state (no "CAPABILITY"
 * word), for the greeting, CAPABILITY and the LOGIN OK code. */
int imap_capability_write(const struct imap_session *s, struct buf *out) ATTR_NODISCARD;

/* cmd-list.c: the attributes LIST shows for a mailbox (\HasChildren or
 * \HasNoChildren, or \NonExistent; its special use; \Subscribed when
 * subscribed is asked for), shared with SELECT's LIST in IMAP4rev2 (RFC
 * 9051 6.3.2). -1 when attrs is too small. */
int imap_list_attrs(const struct index_mailbox_info *m, bool subscribed, char *attrs,
		    size_t size);

/* cmd-status.c, shared with LIST-STATUS (RFC 5819). */
enum imap_status_item {
	IMAP_STATUS_MESSAGES = 0x01,
	IMAP_STATUS_UIDNEXT = 0x02,
	IMAP_STATUS_UIDVALIDITY = 0x04,
	IMAP_STATUS_UNSEEN = 0x08,
	IMAP_STATUS_RECENT = 0x10,
	IMAP_STATUS_SIZE = 0x20,          /* RFC 8438 */
	IMAP_STATUS_HIGHESTMODSEQ = 0x40, /* RFC 7162 */
	IMAP_STATUS_DELETED = 0x80,       /* RFC 9051 */
};
/* The item list "(MESSAGES UNSEEN ...)"; -1 on an unknown item. */
int imap_status_items_parse(const struct imap_arg *arg, unsigned *items_r);
/* "(MESSAGES 3 UNSEEN 1 ...)" */
int imap_status_write(struct buf *out, unsigned items, const struct index_status *st)
	ATTR_NODISCARD;

/* cmd-append.c: streamed APPEND literals (imap-parser.h LITERAL events). */
/* A literal too big to buffer was announced: accept it into a spool
 * file (0) or refuse it with the tagged reply sent (-1). */
int imap_append_literal(struct imap_session *s);
/* Bytes of the accepted literal. */
void imap_append_literal_data(struct imap_session *s, const void *data, size_t len);
void imap_append_spool_free(struct imap_append_spool **_spool);

#endif
