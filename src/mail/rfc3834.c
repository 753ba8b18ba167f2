/* SPDX-License-Identifier: ISC */
/*
 * rfc3834.c - the autoresponder's rules and its reply message.
 *
 * The rules are a table checked in order; the first that matches names
 * the reason no reply goes out, so `postino log` can say exactly why a
 * sender got no out-of-office answer.
 */
#include "lib/lib.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/date.h"
#include "mail/rfc3834.h"

#include <unistd.h>

#define RFC3834_SUBJECT_PREFIX "Auto: " /* RFC 3834 3.1.5 */
#define RFC3834_ENCODED_CHUNK 45        /* bytes per encoded-word: 60 chars of base64, RFC 2047 2 */

/* Local parts that are machines or list software, not people (RFC 5230
 * 4.5 names these; RFC 3834 2 asks not to answer them). */
static const char *const system_locals[] = {
	"mailer-daemon", "postmaster", "listserv", "majordomo", "mailman", "noreply",
	"no-reply", "do-not-reply", "donotreply", "bounce", "bounces",
};

static bool header_present(const char *value)
{
	return value != NULL;
}

static bool rule_null_sender(const struct rfc3834_input *in)
{
	return in->sender == NULL || in->sender[0] == '\0'; /* bounces: RFC 3834 2 */
}

static bool rule_auto_submitted(const struct rfc3834_input *in)
{
	/* any value other than "no" marks automatic mail (RFC 3834 5) */
	if (in->auto_submitted == NULL)
		return false;
	char *copy = xstrdup(in->auto_submitted), *v = str_trim(copy);
	bool automatic = str_ncasecmp(v, "no", 2) != 0 ||
			 (v[2] != '\0' && v[2] != ';' && v[2] != ' ' && v[2] != '(');
	free(copy);
	return automatic;
}

static bool rule_list(const struct rfc3834_input *in)
{
	return header_present(in->list_id) || header_present(in->list_unsubscribe) ||
	       header_present(in->list_post);
}

static bool rule_bulk(const struct rfc3834_input *in)
{
	static const char *const bulk[] = { "bulk", "list", "junk" };
	if (in->precedence != NULL) {
		char *v = xstrdup(in->precedence), *t = str_trim(v);
		for (size_t i = 0; i < N_ELEMENTS(bulk); i++) {
			if (str_casecmp(t, bulk[i]) == 0) {
				free(v);
				return true;
			}
		}
		free(v);
	}
	/* Exchange: "OOF" or "All" asks for no out-of-office replies */
	const char *x = in->x_auto_response_suppress;
	return x != NULL && (strcasestr(x, "oof") != NULL || strcasestr(x, "all") != NULL);
}

static bool rule_system_sender(const struct rfc3834_input *in)
{
	const char *at = strrchr(in->sender, '@');
	size_t len = at != NULL ? (size_t)(at - in->sender) : strlen(in->sender);

	if (len >= 6 && str_ncasecmp(in->sender, "owner-", 6) == 0)
		return true;
	if (len >= 8 && str_ncasecmp(in->sender + len - 8, "-request", 8) == 0)
		return true;
	for (size_t i = 0; i < N_ELEMENTS(system_locals); i++) {
		if (strlen(system_locals[i]) == len && str_ncasecmp(in->sender, system_locals[i], len) == 0)
			return true;
	}
	return false;
}

static bool rule_self(const struct rfc3834_input *in)
{
	return in->recipient != NULL && str_casecmp(in->sender, in->recipient) == 0;
}

static bool rule_spam(const struct rfc3834_input *in)
{
	return in->is_spam;
}

static const struct {
	bool (*matches)(const struct rfc3834_input *in);
	const char *reason;
} rules[] = {
	{ rule_null_sender, "autoreply.skip-null-sender" },
	{ rule_auto_submitted, "autoreply.skip-auto-submitted" },
	{ rule_list, "autoreply.skip-list" },
	{ rule_bulk, "autoreply.skip-bulk" },
	{ rule_system_sender, "autoreply.skip-system-sender" },
	{ rule_self, "autoreply.skip-self" },
	{ rule_spam, "autoreply.skip-spam" },
};

const char *rfc3834_skip_reason(const struct rfc3834_input *in)
{
	for (size_t i = 0; i < N_ELEMENTS(rules); i++) {
		if (rules[i].matches(in))
			return rules[i].reason;
	}
	return NULL;
}

/* sanitized - a header value on one line: CR, LF and other controls
 * become spaces, so nothing from the peer can inject a header. */
static char *sanitized(const char *s)
{
	char *out = xstrdup(s != NULL ? s : "");
	for (char *p = out; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	char *trimmed = str_trim(out);
	memmove(out, trimmed, strlen(trimmed) + 1);
	return out;
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return false;
	}
	return true;
}

/* append_subject - ASCII as is; otherwise RFC 2047 B encoded-words, split
 * on UTF-8 character boundaries and folded (RFC 2047 2: at most 75 chars
 * per word). */
static int append_subject(struct buf *out, const char *subject)
{
	if (is_ascii(subject))
		return buf_printf(out, "Subject: %s\r\n", subject);
	if (buf_append_str(out, "Subject:") < 0)
		return -1;
	size_t len = strlen(subject);
	for (size_t i = 0; i < len;) {
		size_t n = len - i < RFC3834_ENCODED_CHUNK ? len - i : RFC3834_ENCODED_CHUNK;
		while (i + n < len && ((unsigned char)subject[i + n] & 0xc0) == 0x80)
			n--; /* never split a UTF-8 sequence */
		if (buf_append_str(out, i == 0 ? " =?UTF-8?B?" : "\r\n =?UTF-8?B?") < 0 ||
		    base64_encode(subject + i, n, out) < 0 || buf_append_str(out, "?=") < 0)
			return -1;
		i += n;
	}
	return buf_append_str(out, "\r\n");
}

/* append_body - the text with every line ending made CRLF. */
static int append_body(struct buf *out, const char *body)
{
	for (const char *p = body; *p != '\0'; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n' ? buf_append_str(out, "\r\n") < 0 : buf_append(out, p, 1) < 0)
			return -1;
	}
	if (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0)
		return buf_append_str(out, "\r\n");
	return 0;
}

char *rfc3834_compose(const struct rfc3834_input *in, const char *subject, const char *body,
		      const char *hostname, int64_t now, size_t *len_r)
{
	static unsigned counter;
	char date[DATE_TEXT_MAX], *raw_subj, *subj;
	char *msgid = sanitized(in->message_id), *refs = sanitized(in->references);
	char *from = sanitized(in->recipient), *to = sanitized(in->sender);
	struct buf out;

	if (date_format(now, 0, date, sizeof(date)) < 0)
		panic("rfc3834: cannot format the date %" PRId64, now);
	if (subject != NULL && subject[0] != '\0')
		raw_subj = xstrdup(subject);
	else
		raw_subj = xasprintf(RFC3834_SUBJECT_PREFIX "%s", in->subject != NULL ? in->subject : "");
	subj = sanitized(raw_subj);
	free(raw_subj);
	buf_init(&out, 0);
	int r = buf_printf(&out,
			   "From: <%s>\r\nTo: <%s>\r\nDate: %s\r\n"
			   "Message-ID: <autoreply.%" PRId64 ".%u.%d@%s>\r\n",
			   from, to, date, now, __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED),
			   (int)getpid(), hostname);
	if (r == 0)
		r = append_subject(&out, subj);
	if (r == 0 && msgid[0] != '\0')
		r = buf_printf(&out, "In-Reply-To: %s\r\nReferences: %s%s%s\r\n", msgid, refs,
			       refs[0] != '\0' ? " " : "", msgid);
	if (r == 0)
		r = buf_append_str(&out, "Auto-Submitted: auto-replied\r\n"
					 "MIME-Version: 1.0\r\n"
					 "Content-Type: text/plain; charset=utf-8\r\n"
					 "Content-Transfer-Encoding: 8bit\r\n\r\n");
	if (r == 0)
		r = append_body(&out, body);
	free(subj);
	free(from);
	free(to);
	free(msgid);
	free(refs);
	if (r < 0)
		panic("rfc3834: composing a reply failed");
	*len_r = out.len;
	return out.data;
}
