/* SPDX-License-Identifier: ISC */
/*
 * cmd-select.c - SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3), with the
 * CONDSTORE and QRESYNC parameters (RFC 7162 3.1.8, 3.2.5).
 *
 * A worker syncs the mailbox with its Maildir (SELECT also moves new/
 * files to cur/, as Dovecot does) and reads the UIDs that become the
 * session's sequence map; the loop then sends FLAGS, EXISTS, the OK codes
 * (PERMANENTFLAGS, UNSEEN, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) and, for
 * QRESYNC, what changed since the client's MODSEQ. Whatever was selected
 * before is closed first ("* OK [CLOSED]", RFC 7162 3.2.11), and stays
 * closed when the new SELECT fails (RFC 9051 6.3.2).
 *
 * IMAP4rev1 clients also get "* 0 RECENT" and "[UNSEEN n]" (RFC 3501
 * 6.3.1); once IMAP4rev2 is enabled both are gone (RFC 9051 Appendix E:
 * \Recent was removed, UNSEEN deprecated) and a LIST response with the
 * mailbox's attributes is sent instead, as RFC 9051 6.3.2 requires.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/mailbox-name.h"
#include "store/index.h"
#include "store/maildir.h"
#include "imap/imap-private.h"

struct select_job {
	struct imap_job job;
	char *name;
	bool readonly;
	/* QRESYNC: the client's last known state */
	bool qresync;
	uint32_t known_uidvalidity;
	uint64_t known_modseq;
	/* out */
	int ret;
	struct index_error error;
	struct index_status status;
	uint32_t *uids;
	size_t count;
	char *dir;
	struct index_changes changes;
	bool have_changes;
	/* IMAP4rev2: the LIST response's attributes */
	bool rev2;
	char list_attrs[256];
};

/* select_list_attrs - the attributes a plain LIST shows for the name. */
static void select_list_attrs(struct index *index, struct select_job *j)
{
	struct index_mailbox_info *list = NULL;
	struct index_error err;
	size_t count = 0;

	j->list_attrs[0] = '\0';
	if (index_mailbox_list(index, &list, &count, &err) < 0)
		return;
	for (size_t i = 0; i < count; i++) {
		if (!list[i].nonexistent && strcmp(list[i].name, j->name) == 0) {
			if (imap_list_attrs(&list[i], false, j->list_attrs, sizeof(j->list_attrs)) < 0)
				j->list_attrs[0] = '\0';
			break;
		}
	}
	index_mailbox_list_free(&list, count);
}

static void select_run(struct imap_job *job)
{
	struct select_job *j = (struct select_job *)job;
	const char *error;
	char *storage;

	j->ret = index_mailbox_status(job->index, j->name,
				      j->readonly ? 0 : INDEX_SYNC_READ_WRITE, &j->status, &j->error);
	if (j->ret < 0)
		return;
	if (index_mailbox_uids(job->index, j->status.mailbox_id, &j->uids, &j->count) < 0) {
		j->ret = -1;
		j->error.reason = "store.io-error";
		(void)snprintf(j->error.text, sizeof(j->error.text), "reading the UIDs failed");
		return;
	}
	if (mailbox_name_to_storage(j->name, &storage, &error) == 0) {
		if (maildir_folder_path(index_root(job->index), storage, &j->dir, &error) < 0)
			j->dir = NULL;
		free(storage);
	}
	if (j->rev2)
		select_list_attrs(job->index, j);
	if (j->qresync && j->known_uidvalidity == j->status.uidvalidity &&
	    index_changes_since(job->index, j->status.mailbox_id, j->known_modseq, &j->changes,
				&j->error) == 0)
		j->have_changes = true;
}

static void select_free(struct imap_job *job)
{
	struct select_job *j = (struct select_job *)job;

	free(j->name);
	free(j->uids);
	free(j->dir);
	if (j->have_changes)
		index_changes_clear(&j->changes);
	free(j);
}

/* select_qresync_report - RFC 7162 3.2.5.1: VANISHED (EARLIER) for the
 * UIDs expunged since the client's MODSEQ, then FETCH for the changed. */
static void select_qresync_report(struct imap_session *s, struct select_job *j)
{
	const struct index_changes *ch = &j->changes;
	struct imap_seqset set;
	struct buf b;

	imap_seqset_init(&set);
	for (size_t i = 0; i < ch->vanished_count; i++)
		imap_seqset_add(&set, ch->vanished[i]);
	if (set.count > 0) {
		buf_init(&b, 0);
		if (buf_append_str(&b, "* VANISHED (EARLIER) ") < 0 || imap_seqset_write(&set, &b) < 0)
			panic("imap: VANISHED does not fit");
		imap_send_buf(s, &b);
		buf_release(&b);
	}
	imap_seqset_clear(&set);
	for (size_t i = 0; i < ch->changed_count; i++) {
		const struct index_change *c = &ch->changed[i];
		uint32_t seq = imap_view_seq(s->sel, c->uid);
		if (seq == 0)
			continue;
		buf_init(&b, 0);
		if (buf_printf(&b, "* %u FETCH (UID %u FLAGS ", seq, c->uid) < 0 ||
		    imap_flags_write(&b, c->flags, c->keywords) < 0 ||
		    buf_printf(&b, " MODSEQ (%llu))", (unsigned long long)c->modseq) < 0)
			panic("imap: FETCH does not fit");
		imap_send_buf(s, &b);
		buf_release(&b);
	}
}

/* select_send_list - RFC 9051 6.3.2: "* LIST (attributes) "/" name". */
static void select_send_list(struct imap_session *s, const struct select_job *j)
{
	struct buf b;

	buf_init(&b, 0);
	if (buf_printf(&b, "* LIST (%s) \"/\" ", j->list_attrs) < 0 ||
	    imap_mailbox_name_out(s, s->sel->name, &b) < 0)
		panic("imap: LIST does not fit");
	imap_send_buf(s, &b);
	buf_release(&b);
}

static void select_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct select_job *j = (struct select_job *)job;
	struct imap_session *s = cmd->s;
	struct imap_mailbox *sel;

	if (j->ret < 0) {
		if (strcmp(j->error.reason, "store.no-mailbox") == 0)
			imap_cmd_reason(cmd, j->error.reason, NULL);
		else
			imap_cmd_refuse(cmd, j->error.reason, j->error.text);
		return;
	}
	sel = xcalloc(1, sizeof(*sel));
	sel->id = j->status.mailbox_id;
	sel->name = xstrdup(j->name);
	sel->readonly = j->readonly;
	sel->uidvalidity = j->status.uidvalidity;
	sel->uidnext = j->status.uidnext;
	sel->modseq = j->status.highestmodseq;
	sel->uids = j->uids;
	sel->count = sel->alloc = j->count;
	j->uids = NULL;
	sel->dir = j->dir;
	j->dir = NULL;
	imap_seqset_init(&sel->saved);
	s->sel = sel;
	imap_set_state(s, IMAP_STATE_SELECTED);

	imap_send_flags(s, true);
	imap_untagged(s, "%zu EXISTS", sel->count);
	if (j->rev2) {
		select_send_list(s, j);
	} else {
		imap_untagged(s, "0 RECENT");
		if (j->status.first_unseen > 0 && j->status.first_unseen <= sel->count)
			imap_untagged(s, "OK [UNSEEN %u] First unseen.", j->status.first_unseen);
	}
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", sel->uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID", sel->uidnext);
	imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest", (unsigned long long)sel->modseq);
	if (j->have_changes)
		select_qresync_report(s, j);
	log_debug("imap select sid=%s mailbox=%s messages=%zu readonly=%d", s->sid, sel->name,
		  sel->count, sel->readonly);
	imap_cmd_ok(cmd, "[%s] %s completed.", sel->readonly ? "READ-ONLY" : "READ-WRITE",
		    cmd->def->name);
}

/* select_params - (CONDSTORE) or (QRESYNC (uidvalidity modseq ...));
 * -1 when BAD was sent. */
static int select_params(struct imap_cmd *cmd, struct select_job *j)
{
	const struct imap_arg *list, *q;
	unsigned count, qcount;

	if (cmd->count == 1)
		return 0;
	if (cmd->count != 2 || imap_arg_get_list(&cmd->args[1], &list, &count) < 0)
		goto bad;
	for (unsigned i = 0; i < count; i++) {
		if (imap_arg_atom_equals(&list[i], "CONDSTORE")) {
			cmd->s->enabled |= IMAP_FEATURE_CONDSTORE; /* RFC 7162 3.1.8 */
			continue;
		}
		if (!imap_arg_atom_equals(&list[i], "QRESYNC") || i + 1 >= count)
			goto bad;
		if ((cmd->s->enabled & IMAP_FEATURE_QRESYNC) == 0) {
			imap_cmd_bad(cmd, "QRESYNC must be enabled first (ENABLE QRESYNC)");
			return -1;
		}
		if (imap_arg_get_list(&list[++i], &q, &qcount) < 0 || qcount < 2 ||
		    imap_arg_get_number(&q[0], &j->known_uidvalidity) < 0 ||
		    imap_arg_get_number64(&q[1], &j->known_modseq) < 0)
			goto bad;
		/* known-uids and the sequence match data only narrow the answer;
		 * the full answer is as correct (RFC 7162 3.2.5.2) */
		j->qresync = true;
	}
	return 0;
bad:
	imap_cmd_bad(cmd, "Syntax: %s mailbox [(CONDSTORE) | (QRESYNC (uidvalidity modseq))]",
		     cmd->def->name);
	return -1;
}

static void select_start(struct imap_cmd *cmd, bool readonly)
{
	struct imap_session *s = cmd->s;
	struct select_job *j;
	const char *detail;
	char *name;

	if (cmd->count < 1) {
		imap_cmd_bad(cmd, "Syntax: %s mailbox", cmd->def->name);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	if (select_params(cmd, j) < 0) {
		free(j);
		return;
	}
	if (s->sel != NULL) {
		imap_mailbox_free(&s->sel);
		imap_set_state(s, IMAP_STATE_AUTH);
		imap_untagged(s, "OK [CLOSED] Previous mailbox closed.");
	}
	if (imap_mailbox_name_in(cmd, &cmd->args[0], &name, &detail) < 0) {
		free(j);
		imap_cmd_reason(cmd, "store.no-mailbox", NULL);
		return;
	}
	j->job.run = select_run;
	j->job.done = select_done;
	j->job.free = select_free;
	j->name = xstrdup(name);
	j->readonly = readonly;
	j->rev2 = (s->enabled & IMAP_FEATURE_REV2) != 0;
	imap_job_submit(cmd, &j->job);
}

void cmd_select(struct imap_cmd *cmd)
{
	select_start(cmd, false);
}

void cmd_examine(struct imap_cmd *cmd)
{
	select_start(cmd, true);
}
