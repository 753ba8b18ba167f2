/* SPDX-License-Identifier: ISC */
/*
 * imap-search.c - SEARCH and UID SEARCH (RFC 9051 6.4.4): the search
 * program, its evaluation on a worker, and the answer as SEARCH or
 * ESEARCH (RFC 4731: RETURN MIN MAX COUNT ALL SAVE; always ESEARCH once
 * IMAP4rev2 is enabled, RFC 9051 6.4.4), with SEARCHRES (RFC 5182: SAVE,
 * and "$" as a set) and CONDSTORE's MODSEQ key (RFC 7162 3.1.5).
 *
 * DESIGN
 * The keys are parsed on the loop into a tree that owns its data (a pool
 * of the job: the session may go while the job runs). Sequence sets are
 * resolved there against the client's view. On the worker the messages
 * of the view are read from the index once (flags, keywords, dates,
 * sizes, MODSEQ); each text key (FROM, TO, CC, BCC, SUBJECT, BODY, TEXT)
 * becomes one FTS5 query (store/fts.h) whose UIDs are tested by binary
 * search, so SEARCH TEXT does not read any message. HEADER keys read the
 * header of the file; SENT* keys parse the cached ENVELOPE's date.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/date.h"
#include "mail/rfc2047.h"
#include "store/fts.h"
#include "store/index.h"
#include "imap/imap-private.h"

#include <fcntl.h>
#include <unistd.h>

/* NOT NOT NOT ... and nested lists (the parser bounds lists at 32). */
#define SEARCH_DEPTH_MAX 64
/* The header of a message as read for HEADER keys. */
#define SEARCH_HEADER_READ_MAX (64 * 1024)
#define SEARCH_POOL_SIZE 4096
#define SECS_PER_DAY 86400

enum skey_type {
	SK_ALL,
	SK_NONE,        /* NEW, RECENT: no message is \Recent (IMAP4rev2) */
	SK_FLAG,        /* num = flag bit, neg = UN... */
	SK_KEYWORD,     /* str, neg */
	SK_DATE,        /* INTERNALDATE: op BEFORE/ON/SINCE, date */
	SK_SENTDATE,    /* Date: header */
	SK_LARGER,
	SK_SMALLER,
	SK_SET,         /* ranges of UIDs (sequence sets are turned into UIDs) */
	SK_TEXT,        /* FTS field + str */
	SK_HEADER,      /* str = field, str2 = value */
	SK_MODSEQ,
	SK_NOT,
	SK_OR,
	SK_AND,
};

enum date_op { DATE_BEFORE, DATE_ON, DATE_SINCE };

struct skey {
	enum skey_type type;
	bool neg;
	int op;
	unsigned flag;
	const char *str, *str2;
	uint64_t num;
	int64_t date;
	enum fts_field field;
	struct index_uid_range *ranges;
	size_t range_count;
	struct skey **kids;
	unsigned kid_count;
	/* SK_TEXT, filled on the worker */
	uint32_t *uids;
	size_t uid_count;
};

enum search_ret {
	RET_MIN = 0x01,
	RET_MAX = 0x02,
	RET_COUNT = 0x04,
	RET_ALL = 0x08,
	RET_SAVE = 0x10,
};

struct search_msg {
	uint32_t uid;
	unsigned flags;
	char *keywords;
	uint64_t modseq;
	int64_t internaldate;
	uint64_t vsize;
	int64_t sent;        /* -1: not read yet, -2: none */
};

struct search_job {
	struct imap_job job;
	struct pool *pool;
	struct skey *root;
	int64_t mailbox_id;
	uint64_t time_limit_ms; /* imap.search-time-limit, copied for the worker */
	uint32_t *view;      /* the client's UIDs, ascending */
	size_t view_count;
	bool uses_modseq;
	/* out */
	int ret;
	struct index_error error;
	uint32_t *result;    /* matching UIDs, ascending */
	size_t result_count;
	uint64_t max_modseq;
};

struct search_parse {
	struct imap_cmd *cmd;
	struct search_job *j;
	unsigned pos;
	unsigned depth;
	bool uses_modseq;
};

static int parse_key(struct search_parse *p, struct skey **key_r);

/* ---- parsing (loop) ---- */

static struct skey *key_new(struct search_parse *p, enum skey_type type)
{
	struct skey *k = p_alloc(p->j->pool, sizeof(*k));

	memset(k, 0, sizeof(*k));
	k->type = type;
	return k;
}

static int next_astring(struct search_parse *p, const char **s_r)
{
	const char *s;

	if (p->pos >= p->cmd->count || imap_arg_get_astring(&p->cmd->args[p->pos], &s) < 0)
		return -1;
	p->pos++;
	*s_r = p_strdup(p->j->pool, s);
	return 0;
}

/* key_set - a sequence or UID set as UID ranges of the view. */
static int key_set(struct search_parse *p, struct skey *k, const char *text, bool uid)
{
	struct index_uid_range *r;
	size_t n;

	if (imap_view_ranges(p->cmd, text, uid, &r, &n) < 0)
		return -2; /* BAD sent */
	k->ranges = p_alloc(p->j->pool, (n + 1) * sizeof(*r));
	memcpy(k->ranges, r, n * sizeof(*r));
	k->range_count = n;
	return 0;
}

static const struct {
	const char *name;
	unsigned flag;
	bool neg;
} flag_keys[] = {
	{ "ANSWERED", INDEX_FLAG_ANSWERED, false }, { "DELETED", INDEX_FLAG_DELETED, false },
	{ "DRAFT", INDEX_FLAG_DRAFT, false },       { "FLAGGED", INDEX_FLAG_FLAGGED, false },
	{ "SEEN", INDEX_FLAG_SEEN, false },         { "UNANSWERED", INDEX_FLAG_ANSWERED, true },
	{ "UNDELETED", INDEX_FLAG_DELETED, true },  { "UNDRAFT", INDEX_FLAG_DRAFT, true },
	{ "UNFLAGGED", INDEX_FLAG_FLAGGED, true },  { "UNSEEN", INDEX_FLAG_SEEN, true },
};

static const struct {
	const char *name;
	enum skey_type type;
	int op;
} date_keys[] = {
	{ "BEFORE", SK_DATE, DATE_BEFORE },         { "ON", SK_DATE, DATE_ON },
	{ "SINCE", SK_DATE, DATE_SINCE },           { "SENTBEFORE", SK_SENTDATE, DATE_BEFORE },
	{ "SENTON", SK_SENTDATE, DATE_ON },         { "SENTSINCE", SK_SENTDATE, DATE_SINCE },
};

static const struct {
	const char *name;
	enum fts_field field;
} text_keys[] = {
	{ "FROM", FTS_FIELD_FROM }, { "TO", FTS_FIELD_TO },     { "CC", FTS_FIELD_CC },
	{ "BCC", FTS_FIELD_BCC },   { "SUBJECT", FTS_FIELD_SUBJECT },
	{ "BODY", FTS_FIELD_BODY }, { "TEXT", FTS_FIELD_TEXT },
};

static int parse_list(struct search_parse *p, const struct imap_arg *list, unsigned count,
		      struct skey **key_r)
{
	const struct imap_arg *saved_args = p->cmd->args;
	unsigned saved_count = p->cmd->count, saved_pos = p->pos;
	struct skey *k = key_new(p, SK_AND);
	int ret = 0;

	/* parse the list's elements as if they were the arguments */
	p->cmd->args = list;
	p->cmd->count = count;
	p->pos = 0;
	k->kids = p_alloc(p->j->pool, (count + 1) * sizeof(*k->kids));
	while (p->pos < count && ret == 0)
		ret = parse_key(p, &k->kids[k->kid_count++]);
	p->cmd->args = saved_args;
	p->cmd->count = saved_count;
	p->pos = saved_pos;
	*key_r = k;
	return k->kid_count == 0 ? -1 : ret;
}

static int parse_named(struct search_parse *p, const char *name, struct skey **key_r)
{
	struct skey *k;
	const char *s;

	for (size_t i = 0; i < N_ELEMENTS(flag_keys); i++) {
		if (str_casecmp(name, flag_keys[i].name) == 0) {
			k = key_new(p, SK_FLAG);
			k->flag = flag_keys[i].flag;
			k->neg = flag_keys[i].neg;
			*key_r = k;
			return 0;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(date_keys); i++) {
		if (str_casecmp(name, date_keys[i].name) == 0) {
			k = key_new(p, date_keys[i].type);
			k->op = date_keys[i].op;
			*key_r = k;
			return next_astring(p, &s) < 0 || imap_date_parse(s, &k->date) < 0 ? -1 : 0;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(text_keys); i++) {
		if (str_casecmp(name, text_keys[i].name) == 0) {
			k = key_new(p, SK_TEXT);
			k->field = text_keys[i].field;
			*key_r = k;
			if (next_astring(p, &k->str) < 0)
				return -1;
			return strlen(k->str) > FTS_TERM_MAX ? -1 : 0;
		}
	}
	if (str_casecmp(name, "ALL") == 0 || str_casecmp(name, "OLD") == 0) {
		*key_r = key_new(p, SK_ALL);
		return 0;
	}
	if (str_casecmp(name, "NEW") == 0 || str_casecmp(name, "RECENT") == 0) {
		*key_r = key_new(p, SK_NONE);
		return 0;
	}
	if (str_casecmp(name, "KEYWORD") == 0 || str_casecmp(name, "UNKEYWORD") == 0) {
		k = key_new(p, SK_KEYWORD);
		k->neg = name[0] == 'U' || name[0] == 'u';
		*key_r = k;
		return next_astring(p, &k->str);
	}
	if (str_casecmp(name, "LARGER") == 0 || str_casecmp(name, "SMALLER") == 0) {
		k = key_new(p, name[0] == 'L' || name[0] == 'l' ? SK_LARGER : SK_SMALLER);
		*key_r = k;
		return next_astring(p, &s) < 0 || str_to_uint64(s, 0, UINT64_MAX, &k->num) < 0 ? -1 : 0;
	}
	if (str_casecmp(name, "HEADER") == 0) {
		k = key_new(p, SK_HEADER);
		*key_r = k;
		return next_astring(p, &k->str) < 0 || next_astring(p, &k->str2) < 0 ? -1 : 0;
	}
	if (str_casecmp(name, "UID") == 0) {
		k = key_new(p, SK_SET);
		*key_r = k;
		return next_astring(p, &s) < 0 ? -1 : key_set(p, k, s, true);
	}
	if (str_casecmp(name, "NOT") == 0) {
		k = key_new(p, SK_NOT);
		k->kids = p_alloc(p->j->pool, sizeof(*k->kids));
		k->kid_count = 1;
		*key_r = k;
		return parse_key(p, &k->kids[0]);
	}
	if (str_casecmp(name, "OR") == 0) {
		int ret;
		k = key_new(p, SK_OR);
		k->kids = p_alloc(p->j->pool, 2 * sizeof(*k->kids));
		k->kid_count = 2;
		*key_r = k;
		if ((ret = parse_key(p, &k->kids[0])) < 0)
			return ret;
		return parse_key(p, &k->kids[1]);
	}
	if (str_casecmp(name, "MODSEQ") == 0) {
		k = key_new(p, SK_MODSEQ);
		*key_r = k;
		/* optional entry-name and entry-type-req (RFC 7162 3.1.5) */
		if (p->pos + 2 < p->cmd->count && p->cmd->args[p->pos].type != IMAP_ARG_ATOM)
			p->pos += 2;
		p->uses_modseq = true;
		return next_astring(p, &s) < 0 || str_to_uint64(s, 0, INT64_MAX, &k->num) < 0 ? -1 : 0;
	}
	/* a sequence set (or "$") */
	if ((name[0] >= '0' && name[0] <= '9') || name[0] == '*' || name[0] == '$') {
		k = key_new(p, SK_SET);
		*key_r = k;
		return key_set(p, k, name, false);
	}
	return -1;
}

static int parse_key(struct search_parse *p, struct skey **key_r)
{
	const struct imap_arg *arg, *list;
	unsigned count;
	const char *name;
	int ret;

	if (p->pos >= p->cmd->count || ++p->depth > SEARCH_DEPTH_MAX)
		return -1;
	arg = &p->cmd->args[p->pos++];
	if (arg->type == IMAP_ARG_LIST) {
		if (imap_arg_get_list(arg, &list, &count) < 0)
			return -1;
		ret = parse_list(p, list, count, key_r);
	} else if (imap_arg_get_atom(arg, &name) == 0) {
		ret = parse_named(p, name, key_r);
	} else {
		ret = -1;
	}
	p->depth--;
	return ret;
}

/* ---- evaluation (worker) ---- */

static bool uids_contain(const uint32_t *uids, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (uids[mid] == uid)
			return true;
		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool ranges_contain(const struct index_uid_range *r, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (uid < r[mid].first)
			hi = mid;
		else if (uid > r[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static bool has_keyword(const char *keywords, const char *kw)
{
	size_t n = strlen(kw);

	for (const char *p = keywords; p != NULL && *p != '\0';) {
		const char *sp = strchr(p, ' ');
		size_t len = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (len == n && str_ncasecmp(p, kw, n) == 0)
			return true;
		p = sp != NULL ? sp + 1 : NULL;
	}
	return false;
}

static bool date_match(int op, int64_t t, int64_t day)
{
	/* RFC 9051 6.4.4: dates disregard time and zone */
	int64_t d = t - (((t % SECS_PER_DAY) + SECS_PER_DAY) % SECS_PER_DAY);

	switch (op) {
	case DATE_BEFORE:
		return d < day;
	case DATE_ON:
		return d == day;
	default:
		return d >= day;
	}
}

/* sent_date - the Date: of the cached ENVELOPE (its first string). */
static int64_t sent_date(struct search_job *j, struct index *index, struct search_msg *m)
{
	struct index_cache cache;
	char date[256];
	size_t n = 0;
	int64_t t;
	int tz;

	if (m->sent != -1)
		return m->sent;
	m->sent = -2;
	if (index_message_cache(index, j->mailbox_id, m->uid, &cache) <= 0)
		return m->sent;
	const char *e = cache.envelope;
	if (e != NULL && e[0] == '(' && e[1] == '"') {
		for (e += 2; *e != '\0' && *e != '"' && n + 1 < sizeof(date); e++) {
			if (*e == '\\' && e[1] != '\0')
				e++;
			date[n++] = *e;
		}
		date[n] = '\0';
		if (date_parse(date, &t, &tz) == 0)
			m->sent = t + (int64_t)tz * 60; /* the sender's calendar day */
	}
	index_cache_clear(&cache);
	return m->sent;
}

/* header_match - a field called name whose value holds value (ASCII
 * case-insensitive, after RFC 2047 decoding). */
static bool header_match(struct search_job *j, struct index *index, const struct search_msg *m,
			 const char *name, const char *value)
{
	char *path, *buf = xmalloc(SEARCH_HEADER_READ_MAX + 1);
	size_t len = 0, nlen = strlen(name);
	bool found = false;
	ssize_t r;
	int fd;

	if (index_message_path(index, j->mailbox_id, m->uid, &path) <= 0) {
		free(buf);
		return false;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	while (fd >= 0 && len < SEARCH_HEADER_READ_MAX &&
	       (r = read(fd, buf + len, SEARCH_HEADER_READ_MAX - len)) > 0)
		len += (size_t)r;
	if (fd >= 0)
		close(fd);
	buf[len] = '\0';
	for (size_t i = 0; i < len && !found;) {
		size_t start = i, end;
		if (buf[i] == '\n' || buf[i] == '\r')
			break;
		do {
			while (i < len && buf[i] != '\n')
				i++;
			if (i < len)
				i++;
		} while (i < len && (buf[i] == ' ' || buf[i] == '\t'));
		end = i;
		if (end - start > nlen && str_ncasecmp(buf + start, name, nlen) == 0 &&
		    buf[start + nlen] == ':') {
			struct pool *pool = pool_new(1024);
			char *v = rfc2047_decode(pool, buf + start + nlen + 1, end - start - nlen - 1);
			for (char *c = v; *c != '\0'; c++) {
				if (*c == '\r' || *c == '\n' || *c == '\t')
					*c = ' ';
			}
			found = value[0] == '\0' || strcasestr(v, value) != NULL;
			pool_free(&pool);
		}
	}
	free(buf);
	return found;
}

static bool eval(struct search_job *j, struct index *index, const struct skey *k,
		 struct search_msg *m)
{
	switch (k->type) {
	case SK_ALL:
		return true;
	case SK_NONE:
		return false;
	case SK_FLAG:
		return ((m->flags & k->flag) != 0) != k->neg;
	case SK_KEYWORD:
		return has_keyword(m->keywords, k->str) != k->neg;
	case SK_DATE:
		return date_match(k->op, m->internaldate, k->date);
	case SK_SENTDATE: {
		int64_t t = sent_date(j, index, m);
		return t != -2 && date_match(k->op, t, k->date);
	}
	case SK_LARGER:
		return m->vsize > k->num;
	case SK_SMALLER:
		return m->vsize < k->num;
	case SK_SET:
		return ranges_contain(k->ranges, k->range_count, m->uid);
	case SK_TEXT:
		return uids_contain(k->uids, k->uid_count, m->uid);
	case SK_HEADER:
		return header_match(j, index, m, k->str, k->str2);
	case SK_MODSEQ:
		return m->modseq >= k->num;
	case SK_NOT:
		return !eval(j, index, k->kids[0], m);
	case SK_OR:
		return eval(j, index, k->kids[0], m) || eval(j, index, k->kids[1], m);
	case SK_AND:
		for (unsigned i = 0; i < k->kid_count; i++) {
			if (!eval(j, index, k->kids[i], m))
				return false;
		}
		return true;
	}
	return false;
}

/* prepare_text - one FTS query per text key; -1 or
 * FTS_SEARCH_TOO_EXPENSIVE as fts_search. */
static int prepare_text(struct search_job *j, struct index *index, struct skey *k)
{
	for (unsigned i = 0; i < k->kid_count; i++) {
		int ret = prepare_text(j, index, k->kids[i]);
		if (ret < 0)
			return ret;
	}
	if (k->type != SK_TEXT)
		return 0;
	return fts_search_bounded(index, j->mailbox_id, k->field, k->str, j->time_limit_ms,
				  &k->uids, &k->uid_count);
}

static void free_text(struct skey *k)
{
	for (unsigned i = 0; i < k->kid_count; i++)
		free_text(k->kids[i]);
	free(k->uids);
	k->uids = NULL;
}

/* required_text - a TEXT key every match must satisfy (the program is
 * that key, or an AND with it among its terms), or NULL. */
static const struct skey *required_text(const struct skey *k)
{
	if (k->type == SK_TEXT)
		return k;
	if (k->type != SK_AND)
		return NULL;
	for (unsigned i = 0; i < k->kid_count; i++) {
		if (k->kids[i]->type == SK_TEXT)
			return k->kids[i];
	}
	return NULL;
}

/* candidate_ranges - the UIDs of a required TEXT key as ranges, so only
 * those rows are read ("UNSEEN TEXT foo" reads the few messages with
 * foo, not the whole mailbox). NULL with *count_r 0: read every row. */
static struct index_uid_range *candidate_ranges(const struct skey *root, size_t *count_r,
						bool *none_r)
{
	const struct skey *t = required_text(root);
	struct index_uid_range *r;
	size_t n = 0;

	*count_r = 0;
	*none_r = false;
	if (t == NULL)
		return NULL;
	if (t->uid_count == 0) {
		*none_r = true;
		return NULL;
	}
	r = xreallocarray(NULL, t->uid_count, sizeof(*r));
	for (size_t i = 0; i < t->uid_count; i++) {
		if (n > 0 && r[n - 1].last + 1 == t->uids[i]) {
			r[n - 1].last = t->uids[i];
			continue;
		}
		r[n].first = r[n].last = t->uids[i];
		n++;
	}
	*count_r = n;
	return r;
}

/* load_messages - the view's messages with what the keys read. */
static int load_messages(struct search_job *j, struct index *index, struct search_msg **msgs_r,
			 size_t *count_r)
{
	struct search_msg *msgs = xcalloc(j->view_count + 1, sizeof(*msgs));
	struct index_iter *iter;
	struct index_message m;
	struct index_uid_range *ranges;
	size_t n = 0, nranges;
	bool none;
	int ret;

	ranges = candidate_ranges(j->root, &nranges, &none);
	if (none) {
		*msgs_r = msgs;
		*count_r = 0;
		return 0;
	}
	ret = index_iter_init(index, j->mailbox_id, ranges, nranges, false, &iter);
	free(ranges);
	if (ret < 0) {
		free(msgs);
		return -1;
	}
	while ((ret = index_iter_next(iter, &m)) > 0 && n < j->view_count) {
		if (!uids_contain(j->view, j->view_count, m.uid))
			continue;
		msgs[n].uid = m.uid;
		msgs[n].flags = m.flags;
		msgs[n].keywords = xstrdup(m.keywords != NULL ? m.keywords : "");
		msgs[n].modseq = m.modseq;
		msgs[n].internaldate = m.internaldate;
		msgs[n].vsize = m.vsize;
		msgs[n].sent = -1;
		n++;
	}
	index_iter_deinit(&iter);
	*msgs_r = msgs;
	*count_r = n;
	return ret < 0 ? -1 : 0;
}

/* uid_only - whether the program reads nothing but the UID (TEXT is
 * answered by the full-text index as a UID list): such a search runs
 * over the view's UIDs without reading every message's row, so SEARCH
 * TEXT costs the same on 1,000 messages as on 100,000. */
static bool uid_only(const struct skey *k)
{
	switch (k->type) {
	case SK_ALL:
	case SK_NONE:
	case SK_SET:
	case SK_TEXT:
		return true;
	case SK_NOT:
	case SK_OR:
	case SK_AND:
		for (unsigned i = 0; i < k->kid_count; i++) {
			if (!uid_only(k->kids[i]))
				return false;
		}
		return true;
	default:
		return false;
	}
}

static void search_run_uids(struct search_job *j, struct index *index)
{
	j->result = xmalloc((j->view_count + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < j->view_count; i++) {
		struct search_msg m = { .uid = j->view[i], .sent = -1 };
		if (eval(j, index, j->root, &m))
			j->result[j->result_count++] = m.uid;
	}
}

static void search_run(struct imap_job *job)
{
	struct search_job *j = (struct search_job *)job;
	struct search_msg *msgs = NULL;
	size_t count = 0;
	int ret = prepare_text(j, job->index, j->root);

	if (ret == 0 && !j->uses_modseq && uid_only(j->root)) {
		search_run_uids(j, job->index);
		free_text(j->root);
		return;
	}
	if (ret < 0 || load_messages(j, job->index, &msgs, &count) < 0) {
		j->ret = -1;
		if (ret == FTS_SEARCH_TOO_EXPENSIVE) {
			j->error.reason = "imap.search-too-expensive";
			(void)snprintf(j->error.text, sizeof(j->error.text),
				       "full-text search stopped after %" PRIu64 " ms",
				       j->time_limit_ms);
		} else {
			j->error.reason = "store.io-error";
			(void)snprintf(j->error.text, sizeof(j->error.text), "search failed");
		}
		free_text(j->root);
		if (msgs != NULL) {
			for (size_t i = 0; i < count; i++)
				free(msgs[i].keywords);
			free(msgs);
		}
		return;
	}
	j->result = xmalloc((count + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < count; i++) {
		if (eval(j, job->index, j->root, &msgs[i])) {
			j->result[j->result_count++] = msgs[i].uid;
			if (msgs[i].modseq > j->max_modseq)
				j->max_modseq = msgs[i].modseq;
		}
		free(msgs[i].keywords);
	}
	free(msgs);
	free_text(j->root);
}

/* ---- the answer (loop) ---- */

static void search_reply_plain(struct imap_cmd *cmd, struct search_job *j)
{
	struct imap_session *s = cmd->s;
	struct buf b;

	buf_init(&b, 0);
	if (buf_append_str(&b, "* SEARCH") < 0)
		panic("imap: SEARCH does not fit");
	for (size_t i = 0; i < j->result_count; i++) {
		uint32_t n = cmd->uid ? j->result[i] : imap_view_seq(s->sel, j->result[i]);
		if (n != 0 && buf_printf(&b, " %u", n) < 0)
			panic("imap: SEARCH does not fit");
	}
	if (j->uses_modseq && j->result_count > 0 &&
	    buf_printf(&b, " (MODSEQ %llu)", (unsigned long long)j->max_modseq) < 0)
		panic("imap: SEARCH does not fit");
	imap_send_buf(s, &b);
	buf_release(&b);
}

static void search_reply_esearch(struct imap_cmd *cmd, struct search_job *j, unsigned ret)
{
	struct imap_session *s = cmd->s;
	struct imap_seqset all;
	uint32_t min = 0, max = 0;
	size_t count = 0;
	struct buf b;

	imap_seqset_init(&all);
	for (size_t i = 0; i < j->result_count; i++) {
		uint32_t n = cmd->uid ? j->result[i] : imap_view_seq(s->sel, j->result[i]);
		if (n == 0)
			continue;
		if (min == 0 || n < min)
			min = n;
		if (n > max)
			max = n;
		count++;
		imap_seqset_add(&all, n);
	}
	buf_init(&b, 0);
	if (buf_printf(&b, "* ESEARCH (TAG \"%s\")%s", cmd->tag, cmd->uid ? " UID" : "") < 0 ||
	    ((ret & RET_MIN) && count > 0 && buf_printf(&b, " MIN %u", min) < 0) ||
	    ((ret & RET_MAX) && count > 0 && buf_printf(&b, " MAX %u", max) < 0) ||
	    ((ret & RET_COUNT) && buf_printf(&b, " COUNT %zu", count) < 0) ||
	    ((ret & RET_ALL) && count > 0 &&
	     (buf_append_str(&b, " ALL ") < 0 || imap_seqset_write(&all, &b) < 0)) ||
	    (j->uses_modseq && count > 0 &&
	     buf_printf(&b, " MODSEQ %llu", (unsigned long long)j->max_modseq) < 0))
		panic("imap: ESEARCH does not fit");
	imap_send_buf(s, &b);
	buf_release(&b);
	imap_seqset_clear(&all);
}

struct search_ctx {
	unsigned ret;        /* RETURN options, 0 = plain SEARCH */
	bool esearch;
};

/* search_save - SEARCHRES (RFC 5182 2.1): "$" becomes the result, or
 * only its MIN and/or MAX when those come without ALL or COUNT. */
static void search_save(struct imap_mailbox *sel, const struct search_job *j, unsigned ret)
{
	bool only_ends = (ret & (RET_MIN | RET_MAX)) != 0 && (ret & (RET_ALL | RET_COUNT)) == 0;

	imap_seqset_clear(&sel->saved);
	for (size_t i = 0; i < j->result_count; i++) {
		/* result is ascending: the first is MIN, the last MAX */
		if (only_ends && !((ret & RET_MIN) && i == 0) &&
		    !((ret & RET_MAX) && i + 1 == j->result_count))
			continue;
		imap_seqset_add(&sel->saved, j->result[i]);
	}
	imap_seqset_normalize(&sel->saved);
}

static void search_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct search_job *j = (struct search_job *)job;
	struct search_ctx *c = cmd->ctx;
	struct imap_mailbox *sel = cmd->s->sel;

	if (j->ret < 0) {
		/* RFC 5182 2.1: a failed SAVE leaves "$" empty, never stale */
		if (c->ret & RET_SAVE)
			imap_seqset_clear(&sel->saved);
		imap_cmd_refuse(cmd, j->error.reason, j->error.text);
		return;
	}
	if (c->ret & RET_SAVE)
		search_save(sel, j, c->ret);
	if (!c->esearch && (cmd->s->enabled & IMAP_FEATURE_REV2))
		search_reply_esearch(cmd, j, RET_ALL); /* RFC 9051 6.4.4: ALL assumed */
	else if (!c->esearch)
		search_reply_plain(cmd, j);
	else if (c->ret != RET_SAVE)
		search_reply_esearch(cmd, j, c->ret);
	imap_cmd_ok(cmd, "Search completed.");
}

static void search_free(struct imap_job *job)
{
	struct search_job *j = (struct search_job *)job;

	pool_free(&j->pool);
	free(j->view);
	free(j->result);
	free(j);
}

/* search_return - "RETURN (MIN MAX COUNT ALL SAVE)"; -1 = bad. */
static int search_return(struct imap_cmd *cmd, unsigned *pos, struct search_ctx *c)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = { { "MIN", RET_MIN }, { "MAX", RET_MAX }, { "COUNT", RET_COUNT },
		     { "ALL", RET_ALL }, { "SAVE", RET_SAVE } };
	const struct imap_arg *list;
	unsigned count;

	if (*pos + 1 >= cmd->count || !imap_arg_atom_equals(&cmd->args[*pos], "RETURN"))
		return 0;
	if (imap_arg_get_list(&cmd->args[*pos + 1], &list, &count) < 0)
		return -1;
	*pos += 2;
	c->esearch = true;
	for (unsigned i = 0; i < count; i++) {
		size_t k;
		for (k = 0; k < N_ELEMENTS(opts); k++) {
			if (imap_arg_atom_equals(&list[i], opts[k].name))
				break;
		}
		if (k == N_ELEMENTS(opts))
			return -1;
		c->ret |= opts[k].bit;
	}
	if (c->ret == 0)
		c->ret = RET_ALL; /* RFC 4731 3.1: RETURN () means ALL */
	return 0;
}

void imap_search_start(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct search_ctx *c = p_alloc(cmd->pool, sizeof(*c));
	struct search_job *j = xcalloc(1, sizeof(*j));
	struct search_parse p = { .cmd = cmd, .j = j };
	struct skey *root;
	int ret = 0;

	memset(c, 0, sizeof(*c));
	cmd->ctx = c;
	j->job.run = search_run;
	j->job.done = search_done;
	j->job.free = search_free;
	j->pool = pool_new(SEARCH_POOL_SIZE);
	if (search_return(cmd, &p.pos, c) < 0)
		goto bad;
	if (p.pos + 1 < cmd->count && imap_arg_atom_equals(&cmd->args[p.pos], "CHARSET")) {
		const char *cs;
		if (imap_arg_get_astring(&cmd->args[p.pos + 1], &cs) < 0)
			goto bad;
		if (str_casecmp(cs, "UTF-8") != 0 && str_casecmp(cs, "US-ASCII") != 0) {
			search_free(&j->job);
			imap_cmd_no(cmd, "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
			return;
		}
		p.pos += 2;
	}
	root = key_new(&p, SK_AND);
	root->kids = p_alloc(j->pool, (cmd->count + 1) * sizeof(*root->kids));
	while (p.pos < cmd->count && ret == 0)
		ret = parse_key(&p, &root->kids[root->kid_count++]);
	if (ret == -2) { /* BAD already sent (a sequence set) */
		search_free(&j->job);
		if (c->ret & RET_SAVE)
			imap_seqset_clear(&s->sel->saved);
		return;
	}
	if (ret < 0 || root->kid_count == 0)
		goto bad;
	j->root = root;
	j->uses_modseq = p.uses_modseq;
	j->time_limit_ms = cmd->s->cfg->imap_search_time_limit;
	if (p.uses_modseq)
		s->enabled |= IMAP_FEATURE_CONDSTORE;
	j->mailbox_id = s->sel->id;
	j->view_count = s->sel->count;
	j->view = xmalloc((j->view_count + 1) * sizeof(uint32_t));
	if (j->view_count > 0)
		memcpy(j->view, s->sel->uids, j->view_count * sizeof(uint32_t));
	imap_job_submit(cmd, &j->job);
	return;
bad:
	search_free(&j->job);
	if (c->ret & RET_SAVE)
		imap_seqset_clear(&s->sel->saved); /* RFC 5182 2.1 */
	imap_cmd_bad(cmd, "Invalid SEARCH arguments");
}
