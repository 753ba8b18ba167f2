/* SPDX-License-Identifier: ISC */
/*
 * imap-sync.c - the selected mailbox as the client sees it, and telling
 * the client what changed (RFC 3501 7.3.1, 7.4.1, 7.4.2; RFC 7162).
 *
 * The view is the array of UIDs in sequence order plus the MODSEQ up to
 * which changes were reported. After a command (and on IDLE polls) the
 * index is asked what changed since that MODSEQ: expunged UIDs become
 * EXPUNGE (VANISHED with QRESYNC, RFC 7162 3.2.10) - never while a
 * command by sequence number runs, whose numbers they would shift (RFC
 * 3501 7.4.1) -, new UIDs become one EXISTS, other changes FETCH (FLAGS),
 * with UID and MODSEQ as the client enabled them. Several sessions on one
 * mailbox thus see each other's changes at the next command or poll.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "store/index.h"
#include "imap/imap-private.h"

#include <sys/stat.h>

void imap_mailbox_free(struct imap_mailbox **_sel)
{
	struct imap_mailbox *sel = *_sel;

	if (sel == NULL)
		return;
	*_sel = NULL;
	imap_seqset_clear(&sel->saved);
	free(sel->uids);
	free(sel->name);
	free(sel->dir);
	free(sel);
}

/* lower_bound - first index whose UID is >= uid. */
static size_t lower_bound(const struct imap_mailbox *sel, uint32_t uid)
{
	size_t lo = 0, hi = sel->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sel->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t imap_view_seq(const struct imap_mailbox *sel, uint32_t uid)
{
	size_t i = lower_bound(sel, uid);

	return i < sel->count && sel->uids[i] == uid ? (uint32_t)(i + 1) : 0;
}

uint32_t imap_view_remove(struct imap_mailbox *sel, uint32_t uid)
{
	uint32_t seq = imap_view_seq(sel, uid);

	if (seq == 0)
		return 0;
	memmove(&sel->uids[seq - 1], &sel->uids[seq], (sel->count - seq) * sizeof(uint32_t));
	sel->count--;
	return seq;
}

void imap_view_append(struct imap_mailbox *sel, uint32_t uid)
{
	if (sel->count == sel->alloc) {
		sel->alloc = sel->alloc < 64 ? 64 : sel->alloc * 2;
		sel->uids = xrealloc(sel->uids, sel->alloc * sizeof(uint32_t));
	}
	sel->uids[sel->count++] = uid;
}

int imap_flags_write(struct buf *out, unsigned flags, const char *keywords)
{
	bool first = true;

	if (buf_append_str(out, "(") < 0)
		return -1;
	for (unsigned bit = 1; bit <= INDEX_FLAGS_ALL; bit <<= 1) {
		if ((flags & bit) == 0)
			continue;
		if ((!first && buf_append_str(out, " ") < 0) ||
		    buf_append_str(out, index_flag_name(bit)) < 0)
			return -1;
		first = false;
	}
	if (keywords != NULL && keywords[0] != '\0' &&
	    ((!first && buf_append_str(out, " ") < 0) || buf_append_str(out, keywords) < 0))
		return -1;
	return buf_append_str(out, ")");
}

void imap_send_flags(struct imap_session *s, bool permanent_too)
{
	struct imap_mailbox *sel = s->sel;
	char **keywords = NULL;
	struct buf b;
	size_t n = 0;

	if (index_mailbox_keywords(s->index, sel->id, &keywords) < 0)
		keywords = NULL;
	buf_init(&b, IMAP_LINE_MAX * 4);
	if (buf_append_str(&b, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft") < 0)
		goto full;
	for (; keywords != NULL && keywords[n] != NULL; n++) {
		if (buf_printf(&b, " %s", keywords[n]) < 0)
			goto full;
	}
	if (buf_append_str(&b, ")") < 0)
		goto full;
	imap_send_buf(s, &b);
	sel->keyword_count = n;
	if (permanent_too) {
		buf_reset(&b);
		if (sel->readonly) {
			if (buf_append_str(&b, "* OK [PERMANENTFLAGS ()] Read-only mailbox.") < 0)
				goto full;
		} else {
			if (buf_append_str(&b, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted "
					       "\\Seen \\Draft") < 0)
				goto full;
			for (size_t i = 0; i < n; i++) {
				if (buf_printf(&b, " %s", keywords[i]) < 0)
					goto full;
			}
			if (buf_append_str(&b, " \\*)] Flags permitted.") < 0)
				goto full;
		}
		imap_send_buf(s, &b);
	}
full:
	buf_release(&b);
	index_keywords_free(&keywords);
}

void imap_send_new_keywords(struct imap_session *s)
{
	char **kw = NULL;
	size_t n = 0;

	if (s->sel == NULL || index_mailbox_keywords(s->index, s->sel->id, &kw) < 0)
		return;
	while (kw != NULL && kw[n] != NULL)
		n++;
	index_keywords_free(&kw);
	/* RFC 3501 7.2.6: a new keyword is announced with FLAGS */
	if (n != s->sel->keyword_count)
		imap_send_flags(s, true);
}

/* sync_expunges - EXPUNGE or VANISHED for UIDs gone from the index. */
static void sync_expunges(struct imap_session *s, const uint32_t *uids, size_t count)
{
	struct imap_mailbox *sel = s->sel;

	if (s->enabled & IMAP_FEATURE_QRESYNC) {
		struct imap_seqset set;
		struct buf b;

		imap_seqset_init(&set);
		for (size_t i = 0; i < count; i++) {
			if (imap_view_remove(sel, uids[i]) != 0)
				imap_seqset_add(&set, uids[i]);
		}
		if (set.count > 0) {
			buf_init(&b, 0);
			if (buf_append_str(&b, "* VANISHED ") < 0 || imap_seqset_write(&set, &b) < 0)
				panic("imap: VANISHED does not fit");
			imap_send_buf(s, &b);
			buf_release(&b);
		}
		imap_seqset_clear(&set);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		uint32_t seq = imap_view_remove(sel, uids[i]);
		if (seq != 0)
			imap_untagged(s, "%u EXPUNGE", seq);
	}
}

void imap_sync_expunged(struct imap_session *s, const uint32_t *uids, size_t count)
{
	if (s->sel != NULL)
		sync_expunges(s, uids, count);
}

void imap_sync_own_change(struct imap_session *s, uint64_t modseq)
{
	if (s->sel != NULL && modseq == s->sel->modseq + 1)
		s->sel->modseq = modseq;
}

/* sync_missing - UIDs of the view the index no longer has, when its
 * expunge history does not reach back far enough (vanished_incomplete). */
static int sync_missing(struct imap_session *s, uint32_t **gone_r, size_t *count_r)
{
	struct imap_mailbox *sel = s->sel;
	uint32_t *now = NULL, *gone = NULL;
	size_t n = 0, k = 0, j = 0;

	if (index_mailbox_uids(s->index, sel->id, &now, &n) < 0)
		return -1;
	gone = xmalloc((sel->count + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < sel->count; i++) {
		while (j < n && now[j] < sel->uids[i])
			j++;
		if (j >= n || now[j] != sel->uids[i])
			gone[k++] = sel->uids[i];
	}
	free(now);
	*gone_r = gone;
	*count_r = k;
	return 0;
}

static void sync_fetch_flags(struct imap_session *s, uint32_t seq, const struct index_change *c,
			     bool with_uid)
{
	struct buf b;

	buf_init(&b, 0);
	if (buf_printf(&b, "* %u FETCH (", seq) < 0 ||
	    (with_uid && buf_printf(&b, "UID %u ", c->uid) < 0) ||
	    buf_append_str(&b, "FLAGS ") < 0 || imap_flags_write(&b, c->flags, c->keywords) < 0 ||
	    ((s->enabled & IMAP_FEATURE_CONDSTORE) &&
	     buf_printf(&b, " MODSEQ (%llu)", (unsigned long long)c->modseq) < 0) ||
	    buf_append_str(&b, ")") < 0)
		panic("imap: FETCH FLAGS does not fit");
	imap_send_buf(s, &b);
	buf_release(&b);
}

void imap_sync_report(struct imap_session *s, bool expunges_allowed, bool with_uid)
{
	struct imap_mailbox *sel = s->sel;
	struct index_changes ch;
	struct index_error err;
	uint32_t *gone = NULL;
	size_t gone_count = 0, old_count, first_new;
	bool keywords = false;

	if (sel == NULL || s->index == NULL || s->conn == NULL)
		return;
	if (index_changes_since(s->index, sel->id, sel->modseq, &ch, &err) < 0) {
		log_warn("imap sync sid=%s mailbox=%s: %s", s->sid, sel->name, err.text);
		return;
	}
	if (ch.vanished_incomplete) {
		if (sync_missing(s, &gone, &gone_count) < 0) {
			index_changes_clear(&ch);
			return;
		}
	} else {
		gone = ch.vanished;
		gone_count = ch.vanished_count;
	}
	/* expunges the client may not hear yet hold everything back */
	for (size_t i = 0; i < gone_count && !expunges_allowed; i++) {
		if (imap_view_seq(sel, gone[i]) != 0)
			goto out;
	}
	sync_expunges(s, gone, gone_count);
	old_count = sel->count;
	first_new = 0;
	for (size_t i = 0; i < ch.changed_count; i++) {
		const struct index_change *c = &ch.changed[i];
		if (sel->count == 0 || c->uid > sel->uids[sel->count - 1]) {
			if (first_new == 0)
				first_new = i + 1;
			imap_view_append(sel, c->uid);
		}
		if (c->keywords != NULL && c->keywords[0] != '\0')
			keywords = true;
	}
	if (keywords)
		imap_send_new_keywords(s);
	if (sel->count != old_count)
		imap_untagged(s, "%zu EXISTS", sel->count);
	for (size_t i = 0; i < ch.changed_count; i++) {
		uint32_t seq;
		if (first_new != 0 && i + 1 >= first_new)
			break; /* new messages: EXISTS said it */
		/* RFC 9051 7.5.2 and Appendix E: an unsolicited FETCH
		 * carries the UID in IMAP4rev2 (and with QRESYNC, RFC 7162
		 * 3.2.4) */
		if ((seq = imap_view_seq(sel, ch.changed[i].uid)) != 0)
			sync_fetch_flags(s, seq, &ch.changed[i],
					 with_uid || (s->enabled & (IMAP_FEATURE_QRESYNC |
								    IMAP_FEATURE_REV2)));
	}
	sel->modseq = ch.highestmodseq;
	if (ch.uidnext > sel->uidnext)
		sel->uidnext = ch.uidnext;
out:
	if (gone != ch.vanished)
		free(gone);
	index_changes_clear(&ch);
}

/* ranges_add - append uid to a growing range array. */
static void ranges_add(struct index_uid_range **r, size_t *count, size_t *alloc, uint32_t uid)
{
	if (*count > 0 && (*r)[*count - 1].last + 1 == uid) {
		(*r)[*count - 1].last = uid;
		return;
	}
	if (*count == *alloc) {
		*alloc = *alloc < 16 ? 16 : *alloc * 2;
		*r = xrealloc(*r, *alloc * sizeof(**r));
	}
	(*r)[*count].first = (*r)[*count].last = uid;
	(*count)++;
}

/* view_uid_ranges - view UIDs inside the normalised UID set. */
static void view_uid_ranges(const struct imap_mailbox *sel, const struct imap_seqset *set,
			    struct index_uid_range **r, size_t *count, size_t *alloc)
{
	for (unsigned k = 0; k < set->count; k++) {
		for (size_t i = lower_bound(sel, set->ranges[k].first);
		     i < sel->count && sel->uids[i] <= set->ranges[k].last; i++)
			ranges_add(r, count, alloc, sel->uids[i]);
	}
}

int imap_view_ranges(struct imap_cmd *cmd, const char *text, bool uid,
		     struct index_uid_range **ranges_r, size_t *count_r)
{
	const struct imap_mailbox *sel = cmd->s->sel;
	struct index_uid_range *r = NULL;
	size_t count = 0, alloc = 0;
	struct imap_seqset set;
	const char *error;

	imap_seqset_init(&set);
	if (imap_seqset_parse(text, 0, &set, &error) < 0) {
		imap_seqset_clear(&set);
		imap_cmd_bad(cmd, "Invalid sequence set: %s", error);
		return -1;
	}
	if (set.saved) {
		view_uid_ranges(sel, &cmd->s->sel->saved, &r, &count, &alloc);
	} else if (uid) {
		uint32_t star = sel->count > 0 ? sel->uids[sel->count - 1]
				: sel->uidnext > 1 ? sel->uidnext - 1 : 1;
		if (imap_seqset_resolve(&set, star) == 0)
			view_uid_ranges(sel, &set, &r, &count, &alloc);
	} else if (sel->count > 0 || !imap_seqset_has_star(&set)) {
		if (imap_seqset_resolve(&set, (uint32_t)sel->count) < 0 ||
		    imap_seqset_last(&set) > sel->count) {
			imap_seqset_clear(&set);
			imap_cmd_bad(cmd, "Invalid message sequence number (%zu messages)", sel->count);
			return -1;
		}
		for (unsigned k = 0; k < set.count; k++) {
			for (uint32_t n = set.ranges[k].first; n <= set.ranges[k].last; n++) {
				ranges_add(&r, &count, &alloc, sel->uids[n - 1]);
				if (n == UINT32_MAX)
					break;
			}
		}
	}
	imap_seqset_clear(&set);
	*ranges_r = p_alloc(cmd->pool, (count + 1) * sizeof(**ranges_r));
	if (count > 0)
		memcpy(*ranges_r, r, count * sizeof(*r));
	*count_r = count;
	free(r);
	return 0;
}

/* stamp_add - fold one file's change marks into the stamp. */
static uint64_t stamp_add(uint64_t stamp, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return stamp * 31 + 7;
	stamp = stamp * 1000003 + (uint64_t)st.st_mtim.tv_sec;
	stamp = stamp * 1000003 + (uint64_t)st.st_mtim.tv_nsec;
	return stamp * 1000003 + (uint64_t)st.st_size;
}

uint64_t imap_idle_stamp(const struct imap_session *s)
{
	char path[4096];
	uint64_t stamp = 1;

	if (s->sel == NULL || s->sel->dir == NULL)
		return 0;
	/* Deliveries land in new/; another session's APPEND, COPY, flag change
	 * (a rename, system flags live in the file name) or EXPUNGE moves
	 * entries of cur/ or new/. The index files are not looked at: every
	 * session opening and closing its handle touches them, which would
	 * wake every IDLE for nothing. A change of keywords alone is seen at
	 * the client's next command. */
	if (str_printf(path, sizeof(path), "%s/new", s->sel->dir) == 0)
		stamp = stamp_add(stamp, path);
	if (str_printf(path, sizeof(path), "%s/cur", s->sel->dir) == 0)
		stamp = stamp_add(stamp, path);
	return stamp;
}
