/* SPDX-License-Identifier: ISC */
/*
 * why.c - the engine of `postino why` (F31): gather the mailbox's state
 * once, run every check of the table (why-checks.c), and fold the
 * findings into one verdict per direction.
 *
 * The engine knows no cause itself. A verdict is the worst finding among
 * the checks that can explain that direction: any problem makes it "no"
 * (the first problem in table order is the cause quoted), notes make it
 * "yes, but", otherwise "yes". Table order therefore matters: checks that
 * name a root cause (no mailbox, disabled) come before the ones that
 * only observe its effects (refusals in the journal).
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "mail/addr.h"
#include "core/db.h"
#include "core/reason.h"
#include "doctor/why-private.h"

#include <ctype.h>

#define WHY_TIME_TEXT_MAX 32

static const char *const dir_names[WHY_DIR_COUNT] = { "login", "send", "receive" };
static const char *const status_names[] = {
	[WHY_OK] = "ok",
	[WHY_NOTE] = "note",
	[WHY_PROBLEM] = "problem",
	[WHY_SKIPPED] = "skipped",
};

const char *why_dir_name(size_t index)
{
	return index < WHY_DIR_COUNT ? dir_names[index] : "?";
}

size_t why_dir_index(enum why_dir dir)
{
	return dir == WHY_LOGIN ? 0 : dir == WHY_SEND ? 1 : 2;
}

const char *why_status_name(enum why_status status)
{
	return status <= WHY_SKIPPED ? status_names[status] : "?";
}

const struct why_check *why_check_at(size_t i)
{
	return i < why_checks_count ? &why_checks[i] : NULL;
}

/* ---- helpers for the checks ---- */

void why_time_text(int64_t seconds, char *dst, size_t size)
{
	time_format_iso(seconds, dst, size);
}

void why_set(struct why_finding *f, enum why_status status, const char *reason, const char *fmt,
	     ...)
{
	va_list ap;

	f->status = status;
	f->reason = reason;
	free(f->summary);
	va_start(ap, fmt);
	if (vasprintf(&f->summary, fmt, ap) < 0)
		panic("why: out of memory");
	va_end(ap);
}

void why_fix(struct why_finding *f, const char *fmt, ...)
{
	va_list ap;

	free(f->fix);
	va_start(ap, fmt);
	if (vasprintf(&f->fix, fmt, ap) < 0)
		panic("why: out of memory");
	va_end(ap);
}

void why_smtp_words(const char *reason, char *dst, size_t size)
{
	const struct reason *r = reason_lookup(reason);

	if (r == NULL)
		(void)snprintf(dst, size, "%s", reason);
	else
		(void)snprintf(dst, size, "%s %s", r->smtp != NULL ? r->smtp : "-", r->text);
}

/* replace_word - text with every whole word `word` replaced by value. */
static char *replace_word(const char *text, const char *word, const char *value)
{
	size_t wlen = strlen(word), vlen = strlen(value), len = 0, cap = strlen(text) + 1;
	char *out = xmalloc(cap);

	for (const char *p = text; *p != '\0';) {
		bool at_word = strncmp(p, word, wlen) == 0 && (p == text || !isalnum((unsigned char)p[-1])) &&
			       !isalnum((unsigned char)p[wlen]);
		const char *piece = at_word ? value : p;
		size_t n = at_word ? vlen : 1;
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + len, piece, n);
		len += n;
		p += at_word ? wlen : 1;
	}
	out[len] = '\0';
	return out;
}

void why_fix_from_reason(struct why_ctx *ctx, struct why_finding *f, const char *reason)
{
	const struct reason *r = reason_lookup(reason);
	const char *domain = addr_domain(ctx->address);
	char *a, *b;

	if (r == NULL || r->fix == NULL)
		return;
	a = replace_word(r->fix, "ADDR", ctx->address);
	b = replace_word(a, "DOMAIN", domain != NULL ? domain : "DOMAIN");
	free(a);
	free(f->fix);
	f->fix = b;
}

void why_evidence(struct why_finding *f, const char *label, const char *fmt, ...)
{
	struct why_evidence *e;
	va_list ap;

	f->evidence = xrealloc(f->evidence, (f->evidence_count + 1) * sizeof(*f->evidence));
	e = &f->evidence[f->evidence_count++];
	e->label = xstrdup(label);
	va_start(ap, fmt);
	if (vasprintf(&e->value, fmt, ap) < 0)
		panic("why: out of memory");
	va_end(ap);
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void row_copy(struct journal_row *dst, const struct journal_row *src)
{
	dst->id = src->id;
	dst->time_ms = src->time_ms;
	dst->service = dup_or_null(src->service);
	dst->decision = dup_or_null(src->decision);
	dst->reason = dup_or_null(src->reason);
	dst->actor = dup_or_null(src->actor);
	dst->ip = dup_or_null(src->ip);
	dst->account = dup_or_null(src->account);
	dst->msgid = dup_or_null(src->msgid);
	dst->queueid = dup_or_null(src->queueid);
	dst->sid = dup_or_null(src->sid);
	dst->detail = dup_or_null(src->detail);
}

size_t why_quote_rows(struct why_ctx *ctx, struct why_finding *f, why_row_filter_fn *keep)
{
	size_t matched = 0, first;

	for (size_t i = 0; i < ctx->row_count; i++) {
		if (keep(ctx, &ctx->rows[i]))
			matched++;
	}
	if (matched == 0)
		return 0;
	first = matched > WHY_ROWS_PER_FINDING ? matched - WHY_ROWS_PER_FINDING : 0;
	f->rows = xcalloc(matched - first, sizeof(*f->rows));
	for (size_t i = 0, seen = 0; i < ctx->row_count; i++) {
		if (!keep(ctx, &ctx->rows[i]))
			continue;
		if (seen++ >= first)
			row_copy(&f->rows[f->row_count++], &ctx->rows[i]);
	}
	return matched;
}

/* ---- gathering ---- */

/* load_rows - the newest rows naming the mailbox as account or actor
 * within the look-back, oldest first. Two indexed halves: by account,
 * and by time for the actor (the journal has no actor index). */
static int load_rows(struct why_ctx *ctx)
{
	sqlite3_stmt *st = db_prepare(
		ctx->db,
		"SELECT id, time_ms, service, decision, reason, actor, ip, account, msgid, queueid,"
		" sid, detail FROM journal WHERE account = ?1 AND time_ms > ?2"
		" UNION SELECT id, time_ms, service, decision, reason, actor, ip, account, msgid,"
		" queueid, sid, detail FROM journal WHERE time_ms > ?2 AND actor = ?1"
		" ORDER BY 2 DESC, 1 DESC LIMIT ?3"); /* time: rows may be written late */
	size_t count = 0;
	int rc;

	sqlite3_bind_text(st, 1, ctx->address, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, ctx->in->now_ms - ctx->in->history_ms);
	sqlite3_bind_int(st, 3, WHY_JOURNAL_READ_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct journal_row *r;
		ctx->rows = xrealloc(ctx->rows, (count + 1) * sizeof(*ctx->rows));
		r = &ctx->rows[count++];
		r->id = sqlite3_column_int64(st, 0);
		r->time_ms = sqlite3_column_int64(st, 1);
		r->service = dup_or_null((const char *)sqlite3_column_text(st, 2));
		r->decision = dup_or_null((const char *)sqlite3_column_text(st, 3));
		r->reason = dup_or_null((const char *)sqlite3_column_text(st, 4));
		r->actor = dup_or_null((const char *)sqlite3_column_text(st, 5));
		r->ip = dup_or_null((const char *)sqlite3_column_text(st, 6));
		r->account = dup_or_null((const char *)sqlite3_column_text(st, 7));
		r->msgid = dup_or_null((const char *)sqlite3_column_text(st, 8));
		r->queueid = dup_or_null((const char *)sqlite3_column_text(st, 9));
		r->sid = dup_or_null((const char *)sqlite3_column_text(st, 10));
		r->detail = dup_or_null((const char *)sqlite3_column_text(st, 11));
	}
	sqlite3_finalize(st);
	ctx->row_count = count;
	for (size_t i = 0; i < count / 2; i++) {
		struct journal_row tmp = ctx->rows[i];
		ctx->rows[i] = ctx->rows[count - 1 - i];
		ctx->rows[count - 1 - i] = tmp;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

static void ctx_clear(struct why_ctx *ctx)
{
	account_clear(&ctx->account);
	domain_clear(&ctx->domain);
	journal_rows_free(&ctx->rows, ctx->row_count);
}

/* ---- the verdicts ---- */

static void fold_verdicts(struct why_report *report)
{
	for (size_t d = 0; d < WHY_DIR_COUNT; d++) {
		struct why_verdict *v = &report->verdicts[d];
		unsigned bit = 1u << d;

		v->status = (report->dirs & bit) ? WHY_OK : WHY_SKIPPED;
		v->cause = NULL;
		if (v->status == WHY_SKIPPED)
			continue;
		for (size_t i = 0; i < report->count; i++) {
			const struct why_finding *f = &report->findings[i];
			if (!(f->dirs & bit) || f->status == WHY_SKIPPED || f->status == WHY_OK)
				continue;
			if (f->status == WHY_PROBLEM && v->status != WHY_PROBLEM) {
				v->status = WHY_PROBLEM;
				v->cause = f;
			} else if (f->status == WHY_NOTE && v->status == WHY_OK) {
				v->status = WHY_NOTE;
			}
		}
	}
}

int why_run(struct db *db, const struct why_input *in, struct why_report *report_r,
	    const char **error_r)
{
	struct why_ctx ctx = { .db = db, .in = in };
	char *address;
	int ret;

	memset(report_r, 0, sizeof(*report_r));
	if (addr_normalize(in->address, &address, error_r) < 0)
		return -1;
	ctx.address = address;
	screen_params_from_config(in->cfg, &ctx.screen);
	if ((ret = account_get(db, address, &ctx.account)) < 0 ||
	    (ret > 0 && domain_get(db, ctx.account.domain, &ctx.domain) < 0) || load_rows(&ctx) < 0) {
		*error_r = "cannot read postino.db";
		ctx_clear(&ctx);
		free(address);
		return -1;
	}
	ctx.found = ret > 0;
	ctx.domain_found = ctx.found && ctx.domain.name != NULL;
	report_r->address = address;
	report_r->exists = ctx.found;
	report_r->dirs = in->dirs;
	report_r->now_ms = in->now_ms;
	report_r->findings = xcalloc(why_checks_count, sizeof(*report_r->findings));
	for (size_t i = 0; i < why_checks_count; i++) {
		const struct why_check *c = &why_checks[i];
		struct why_finding *f = &report_r->findings[report_r->count];

		if (!(c->dirs & in->dirs))
			continue;
		report_r->count++;
		f->check = c;
		f->dirs = c->dirs;
		if (c->needs_account && !ctx.found) {
			why_set(f, WHY_SKIPPED, NULL, "not checked: there is no mailbox %s", address);
			continue;
		}
		if (c->run(&ctx, f) < 0) {
			log_warn("why: check %s could not read its state", c->id);
			why_set(f, WHY_SKIPPED, NULL, "could not be checked (database or file error)");
		}
	}
	ctx_clear(&ctx);
	fold_verdicts(report_r);
	return 0;
}

void why_report_free(struct why_report *report)
{
	for (size_t i = 0; i < report->count; i++) {
		struct why_finding *f = &report->findings[i];
		free(f->summary);
		free(f->fix);
		for (size_t e = 0; e < f->evidence_count; e++) {
			free(f->evidence[e].label);
			free(f->evidence[e].value);
		}
		free(f->evidence);
		journal_rows_free(&f->rows, f->row_count);
	}
	free(report->findings);
	free(report->address);
	memset(report, 0, sizeof(*report));
}

/* ---- as data ---- */

static json_t *json_str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *dirs_json(unsigned dirs)
{
	json_t *arr = json_array();

	for (size_t d = 0; d < WHY_DIR_COUNT; d++) {
		if (dirs & (1u << d))
			json_array_append_new(arr, json_string(dir_names[d]));
	}
	return arr;
}

static json_t *row_json(const struct journal_row *r)
{
	char when[WHY_TIME_TEXT_MAX];

	why_time_text(r->time_ms / 1000, when, sizeof(when));
	return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
			 (json_int_t)r->id, "time", when, "service", json_str_or_null(r->service),
			 "decision", json_str_or_null(r->decision), "reason",
			 json_str_or_null(r->reason), "actor", json_str_or_null(r->actor), "ip",
			 json_str_or_null(r->ip), "account", json_str_or_null(r->account),
			 "queueid", json_str_or_null(r->queueid), "detail",
			 json_str_or_null(r->detail));
}

static json_t *finding_json(const struct why_finding *f)
{
	json_t *evidence = json_object(), *rows = json_array();

	for (size_t i = 0; i < f->evidence_count; i++)
		json_object_set_new(evidence, f->evidence[i].label, json_string(f->evidence[i].value));
	for (size_t i = 0; i < f->row_count; i++)
		json_array_append_new(rows, row_json(&f->rows[i]));
	return json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "id", f->check->id,
			 "title", f->check->title, "directions", dirs_json(f->dirs), "status",
			 why_status_name(f->status), "reason", json_str_or_null(f->reason),
			 "summary", json_str_or_null(f->summary), "fix", json_str_or_null(f->fix),
			 "evidence", evidence, "journal", rows);
}

json_t *why_report_json(const struct why_report *report)
{
	json_t *verdicts = json_object(), *checks = json_array();
	char when[WHY_TIME_TEXT_MAX];

	for (size_t d = 0; d < WHY_DIR_COUNT; d++) {
		const struct why_verdict *v = &report->verdicts[d];
		json_t *notes;
		if (v->status == WHY_SKIPPED)
			continue;
		notes = json_array();
		for (size_t i = 0; i < report->count; i++) {
			const struct why_finding *f = &report->findings[i];
			if ((f->dirs & (1u << d)) && f->status == WHY_NOTE)
				json_array_append_new(notes, json_string(f->check->id));
		}
		json_object_set_new(
			verdicts, dir_names[d],
			json_pack("{s:b, s:s, s:o, s:o, s:o, s:o, s:o}", "ok", v->status != WHY_PROBLEM,
				  "status", why_status_name(v->status), "cause",
				  v->cause != NULL ? json_string(v->cause->check->id) : json_null(),
				  "reason", json_str_or_null(v->cause != NULL ? v->cause->reason : NULL),
				  "summary",
				  json_str_or_null(v->cause != NULL ? v->cause->summary : NULL), "fix",
				  json_str_or_null(v->cause != NULL ? v->cause->fix : NULL), "notes",
				  notes));
	}
	for (size_t i = 0; i < report->count; i++)
		json_array_append_new(checks, finding_json(&report->findings[i]));
	why_time_text(report->now_ms / 1000, when, sizeof(when));
	return json_pack("{s:s, s:b, s:s, s:o, s:o}", "address", report->address, "exists",
			 report->exists, "checked_at", when, "verdicts", verdicts, "checks", checks);
}
