/* SPDX-License-Identifier: ISC */
/*
 * dsn.c - writes delivery status notifications (RFC 3464) as
 * multipart/report (RFC 6522, formerly 3462).
 *
 * Three parts: a plain-English explanation (text/plain, us-ascii), the
 * machine-readable message/delivery-status (RFC 3464 2), and the original
 * message (message/rfc822) or only its header (text/rfc822-headers). What
 * goes into the third part follows RFC 3461 4.3 and 6: a failure returns
 * the whole message unless the sender asked RET=HDRS or it is larger than
 * full_max; delay warnings and success reports return only the header
 * (the sender still has the message, and the queue keeps it).
 *
 * Everything we write ourselves is 7-bit: addresses, peer replies and
 * host names are cleaned to printable ASCII and folded (RFC 5322 2.2.3),
 * so a hostile peer's reply can neither inject a header nor exceed the
 * line limit. Only the embedded original can carry 8-bit octets; then
 * that part and the multipart around it say 8bit (RFC 2045 6.4), which
 * the queue only sends to peers offering 8BITMIME.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "mail/date.h"
#include "queue/dsn.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define DSN_FULL_MAX_DEFAULT (10u * 1024 * 1024)
/* An original header longer than this is cut (a header that large is an
 * attack or a loop; the report only needs enough to recognise it). */
#define DSN_HEADER_MAX (256u * 1024)
/* Peer replies and addresses we quote; RFC 5321 4.5.3.1.5 caps a reply
 * line at 512 octets, a multi-line reply can be longer. */
#define DSN_VALUE_MAX 2000
/* Fold our header/field lines before this column (RFC 5322 2.1.1). */
#define DSN_FOLD_COLUMN 76
/* A word longer than this is broken, to keep every line under 998
 * octets (RFC 5322 2.1.1) whatever the peer sent. */
#define DSN_WORD_MAX 900
/* Wrap the human-readable text at this column. */
#define DSN_TEXT_COLUMN 72
#define DSN_READ_CHUNK (64u * 1024)
#define DSN_RANDOM_BYTES 12

enum dsn_enclosure {
	DSN_ENCLOSE_FULL,    /* message/rfc822 */
	DSN_ENCLOSE_HEADERS, /* text/rfc822-headers */
};

static const struct dsn_kind_info {
	const char *subject;
	const char *action;      /* RFC 3464 2.3.3 */
	const char *description; /* Content-Description of the third part */
	const char *intro;       /* the human part, before the recipient list */
} kind_info[] = {
	[DSN_FAILURE] = {
		.subject = "Undelivered Mail Returned to Sender",
		.action = "failed",
		.description = "Undelivered Message",
		.intro = "Your message could not be delivered to one or more of its recipients. "
			 "The mail system has given up on the addresses listed below, each with "
			 "the reason it was refused.\n\n"
			 "Please check the addresses for typing mistakes. If you believe they are "
			 "right, forward this whole report to your mail administrator (postmaster), "
			 "who can read the technical details in the second part.",
	},
	[DSN_DELAY] = {
		.subject = "Delayed Mail (still being retried)",
		.action = "delayed",
		.description = "Delayed Message Header",
		.intro = "This is only a warning; you do not need to send your message again.\n\n"
			 "Your message has not been delivered yet to the recipients listed below. "
			 "The mail system keeps retrying, and will send you another report if it "
			 "has to give up.",
	},
	[DSN_SUCCESS] = {
		.subject = "Successful Mail Delivery Report",
		.action = "relayed",
		.description = "Delivered Message Header",
		.intro = "Your message was passed on to the recipients listed below, as you "
			 "asked to be told. The mail system it was handed to does not send "
			 "delivery reports itself, so this may be the last report you receive "
			 "about it.",
	},
};

static uint32_t dsn_counter;

/* clean - s as printable ASCII on one line, at most max octets: line
 * breaks and tabs become spaces (a multi-line reply reads as one), other
 * controls and 8-bit octets become '?'. Never NULL. */
static char *clean(const char *s, size_t max)
{
	size_t len = s != NULL ? strlen(s) : 0, n = 0;
	char *out;

	if (len > max)
		len = max;
	out = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c >= 0x7f)
			c = '?';
		/* collapse the spaces a CRLF + indent leaves */
		if (c == ' ' && n > 0 && out[n - 1] == ' ')
			continue;
		out[n++] = (char)c;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return out;
}

/* append_folded - "Name: value" CRLF, folded at spaces so lines stay
 * under DSN_FOLD_COLUMN where the words allow (RFC 5322 2.2.3). value is
 * clean() output, so no line can exceed the 998 limit. */
static int append_folded(struct buf *b, const char *name, const char *value)
{
	size_t col = strlen(name) + 2;
	const char *p = value;

	if (buf_printf(b, "%s:", name) < 0)
		return -1;
	while (*p != '\0') {
		const char *sp = strchr(p, ' ');
		size_t wlen = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (wlen > DSN_WORD_MAX)
			wlen = DSN_WORD_MAX;
		if (col + 1 + wlen > DSN_FOLD_COLUMN && col > strlen(name) + 2) {
			if (buf_append_str(b, "\r\n") < 0)
				return -1;
			col = 0;
		}
		if (buf_append(b, " ", 1) < 0 || buf_append(b, p, wlen) < 0)
			return -1;
		col += 1 + wlen;
		p += wlen;
		while (*p == ' ')
			p++;
	}
	return buf_append_str(b, "\r\n");
}

/* append_field - a folded field with a printf value, cleaned first. */
static int append_field(struct buf *b, const char *name, const char *fmt, ...)
	ATTR_FORMAT(printf, 3, 4);
static int append_field(struct buf *b, const char *name, const char *fmt, ...)
{
	char *raw, *value;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vasprintf(&raw, fmt, ap);
	va_end(ap);
	if (ret < 0)
		return -1;
	value = clean(raw, DSN_VALUE_MAX);
	ret = append_folded(b, name, value);
	free(value);
	free(raw);
	return ret;
}

/* append_date_field - "Name: <RFC 5322 date>" in UTC. */
static int append_date_field(struct buf *b, const char *name, int64_t t)
{
	char date[DATE_TEXT_MAX];

	if (date_format(t, 0, date, sizeof(date)) < 0)
		return -1;
	return buf_printf(b, "%s: %s\r\n", name, date);
}

/* append_wrapped - text (ASCII, '\n' between paragraphs) wrapped at
 * DSN_TEXT_COLUMN; a paragraph's first line starts with indent, the
 * lines it wraps onto with more (so a wrapped entry reads as one). */
static int append_wrapped(struct buf *b, const char *text, const char *indent,
			  const char *more)
{
	bool first = true;
	size_t col = 0;
	const char *p = text;

	while (*p != '\0') {
		if (*p == '\n') {
			if (buf_append_str(b, "\r\n") < 0)
				return -1;
			col = 0;
			first = true;
			p++;
			continue;
		}
		if (*p == ' ') {
			p++;
			continue;
		}
		size_t wlen = strcspn(p, " \n");
		if (wlen > DSN_WORD_MAX)
			wlen = DSN_WORD_MAX;
		if (col > 0 && col + 1 + wlen > DSN_TEXT_COLUMN) {
			if (buf_append_str(b, "\r\n") < 0)
				return -1;
			col = 0;
		}
		if (col == 0) {
			const char *in = first ? indent : more;
			if (buf_append_str(b, in) < 0)
				return -1;
			col = strlen(in);
			first = false;
		} else if (buf_append(b, " ", 1) < 0)
			return -1;
		else
			col++;
		if (buf_append(b, p, wlen) < 0)
			return -1;
		col += wlen;
		p += wlen;
	}
	return col > 0 ? buf_append_str(b, "\r\n") : 0;
}

/* header_length - octets of the header block including its last line
 * break, not the empty line (RFC 5322 2.1); len when there is no body. */
static size_t header_length(const char *data, size_t len)
{
	if (len > 0 && (data[0] == '\n' || (len > 1 && data[0] == '\r' && data[1] == '\n')))
		return 0;
	for (size_t i = 0; i + 1 < len; i++) {
		if (data[i] != '\n')
			continue;
		if (data[i + 1] == '\n' ||
		    (data[i + 1] == '\r' && i + 2 < len && data[i + 2] == '\n'))
			return i + 1;
	}
	return len;
}

static bool has_8bit(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)data[i] >= 0x80)
			return true;
	}
	return false;
}

/* read_original - the original, or (want_full false, or larger than
 * full_max) only its header, read no further than DSN_HEADER_MAX. */
static int read_original(const char *path, bool want_full, size_t full_max, char **data_r,
			 size_t *len_r, enum dsn_enclosure *enc_r)
{
	struct stat st;
	struct buf b;
	size_t limit;
	char *chunk;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	*enc_r = want_full && (uint64_t)st.st_size <= full_max ? DSN_ENCLOSE_FULL
							       : DSN_ENCLOSE_HEADERS;
	limit = *enc_r == DSN_ENCLOSE_FULL ? (size_t)st.st_size : DSN_HEADER_MAX;
	chunk = xmalloc(DSN_READ_CHUNK);
	buf_init(&b, 0);
	while (b.len < limit) {
		size_t want = limit - b.len < DSN_READ_CHUNK ? limit - b.len : DSN_READ_CHUNK;
		ssize_t n = read(fd, chunk, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && buf_append(&b, chunk, (size_t)n) < 0)) {
			int err = n < 0 ? errno : ENOMEM;
			buf_release(&b);
			free(chunk);
			close(fd);
			errno = err;
			return -1;
		}
		if (n == 0)
			break;
		if (*enc_r == DSN_ENCLOSE_HEADERS && header_length(b.data, b.len) < b.len)
			break;
	}
	free(chunk);
	close(fd);
	if (b.data == NULL)
		b.data = xstrdup(""); /* an empty file: an empty enclosure */
	if (*enc_r == DSN_ENCLOSE_HEADERS)
		b.len = header_length(b.data, b.len);
	*data_r = b.data;
	*len_r = b.len;
	return 0;
}

/* append_crlf - data with every bare LF made CRLF, ending in CRLF
 * unless empty. */
static int append_crlf(struct buf *b, const char *data, size_t len)
{
	size_t start = 0;

	if (len == 0)
		return 0;

	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n' || (i > 0 && data[i - 1] == '\r'))
			continue;
		if (buf_append(b, data + start, i - start) < 0 || buf_append(b, "\r\n", 2) < 0)
			return -1;
		start = i + 1;
	}
	if (buf_append(b, data + start, len - start) < 0)
		return -1;
	if (b->len >= 2 && b->data[b->len - 2] == '\r' && b->data[b->len - 1] == '\n')
		return 0;
	return buf_append_str(b, "\r\n");
}

/* make_token - unique text for the boundary and Message-ID: random
 * octets (the boundary must not occur in the embedded original, RFC 2046
 * 5.1.1), with time, pid and a counter should getrandom() fail. */
static void make_token(char *dst, size_t size)
{
	unsigned char rnd[DSN_RANDOM_BYTES];
	size_t n = 0;

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		uint64_t t = time_monotonic_ms();
		memset(rnd, 0, sizeof(rnd));
		memcpy(rnd, &t, sizeof(t));
	}
	n = (size_t)snprintf(dst, size, "%" PRIx64 ".%x.%x.", (uint64_t)time_now(),
			     (unsigned)getpid(),
			     __atomic_add_fetch(&dsn_counter, 1, __ATOMIC_RELAXED));
	for (size_t i = 0; i < sizeof(rnd) && n + 3 <= size; i++, n += 2)
		snprintf(dst + n, size - n, "%02x", rnd[i]);
}

/* append_top_header - the report's own RFC 5322 header (RFC 3464 and RFC
 * 3834 5: Auto-Submitted so responders leave it alone). */
static int append_top_header(struct buf *b, const struct dsn_report *r, const char *host,
			     const char *token, bool eight)
{
	char *to = clean(r->sender, DSN_VALUE_MAX);
	int ret = 0;

	ret |= buf_printf(b, "From: \"Mail Delivery System\" <MAILER-DAEMON@%s>\r\n", host);
	ret |= buf_printf(b, "To: <%s>\r\n", to);
	ret |= buf_printf(b, "Subject: %s\r\n", kind_info[r->kind].subject);
	ret |= append_date_field(b, "Date", time_now());
	ret |= buf_printf(b, "Message-ID: <dsn.%s@%s>\r\n", token, host);
	ret |= buf_append_str(b, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
	ret |= buf_printf(b,
			  "Content-Type: multipart/report; report-type=delivery-status;\r\n"
			  "\tboundary=\"%s\"\r\n",
			  token);
	ret |= buf_printf(b, "Content-Transfer-Encoding: %s\r\n\r\n", eight ? "8bit" : "7bit");
	ret |= buf_append_str(b, "This is a MIME-encapsulated delivery status report.\r\n\r\n");
	free(to);
	return ret != 0 ? -1 : 0;
}

/* append_human - part 1: what happened, in words, one entry per recipient
 * with the reply that decided it. */
static int append_human(struct buf *b, const struct dsn_report *r, const char *host,
			enum dsn_enclosure enc)
{
	int ret = 0;
	char *text;

	ret |= buf_append_str(b, "Content-Description: Notification\r\n"
				 "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
	text = xasprintf("This is the mail delivery system at %s.", host);
	ret |= append_wrapped(b, text, "", "");
	free(text);
	ret |= buf_append_str(b, "\r\n");
	ret |= append_wrapped(b, kind_info[r->kind].intro, "", "");
	ret |= buf_append_str(b, "\r\n");
	for (size_t i = 0; i < r->rcpt_count; i++) {
		const struct dsn_rcpt *rc = &r->rcpts[i];
		char *addr = clean(rc->address, DSN_VALUE_MAX);
		char *mta = clean(rc->remote_mta, DSN_VALUE_MAX);
		char *why = clean(rc->diagnostic != NULL ? rc->diagnostic : rc->text, DSN_VALUE_MAX);
		if (rc->diagnostic != NULL && mta[0] != '\0')
			text = xasprintf("<%s>: host %s said: %s", addr, mta, why);
		else if (why[0] != '\0')
			text = xasprintf("<%s>: %s", addr, why);
		else
			text = xasprintf("<%s>: delivery status %s", addr,
					 rc->status != NULL ? rc->status : "unknown");
		ret |= append_wrapped(b, text, "    ", "        ");
		if (r->kind == DSN_DELAY && rc->will_retry_until > 0) {
			char date[DATE_TEXT_MAX], *more;
			if (date_format(rc->will_retry_until, 0, date, sizeof(date)) == 0) {
				more = xasprintf("(retried until %s)", date);
				ret |= append_wrapped(b, more, "        ", "        ");
				free(more);
			}
		}
		ret |= buf_append_str(b, "\r\n");
		free(text);
		free(why);
		free(mta);
		free(addr);
	}
	if (r->kind == DSN_FAILURE) {
		const char *note = enc == DSN_ENCLOSE_FULL ? "Your message is attached in full."
				   : r->ret == 2 ? "The header of your message is attached."
						 : "Your message was too large to return whole; "
						   "its header is attached.";
		ret |= append_wrapped(b, note, "", "");
	}
	return ret != 0 ? -1 : 0;
}

/* is_smtp_reply - s starts with a reply code (RFC 5321 4.2: 2xx-5xx), so
 * it may be reported as diagnostic-type smtp (RFC 3464 2.3.6); anything
 * else given as a diagnostic (an admin's bounce, a DNS error) is ours. */
static bool is_smtp_reply(const char *s)
{
	return s != NULL && s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' &&
	       s[2] >= '0' && s[2] <= '9' && (s[3] == ' ' || s[3] == '-' || s[3] == '\0');
}

/* append_status - part 2: message/delivery-status (RFC 3464 2.2, 2.3). */
static int append_status(struct buf *b, const struct dsn_report *r, const char *host)
{
	int ret = 0;

	ret |= buf_append_str(b, "Content-Description: Delivery report\r\n"
				 "Content-Type: message/delivery-status\r\n\r\n");
	ret |= append_field(b, "Reporting-MTA", "dns; %s", host);
	if (r->queueid != NULL)
		ret |= append_field(b, "X-Postino-Queue-ID", "%s", r->queueid);
	if (r->envid != NULL && r->envid[0] != '\0')
		ret |= append_field(b, "Original-Envelope-Id", "%s", r->envid);
	if (r->arrival > 0)
		ret |= append_date_field(b, "Arrival-Date", r->arrival);
	for (size_t i = 0; i < r->rcpt_count; i++) {
		const struct dsn_rcpt *rc = &r->rcpts[i];
		ret |= buf_append_str(b, "\r\n");
		if (rc->orcpt != NULL && rc->orcpt[0] != '\0')
			ret |= append_field(b, "Original-Recipient", "%s", rc->orcpt);
		ret |= append_field(b, "Final-Recipient", "rfc822; %s", rc->address);
		ret |= buf_printf(b, "Action: %s\r\n", kind_info[r->kind].action);
		ret |= append_field(b, "Status", "%s",
				    rc->status != NULL ? rc->status
						       : r->kind == DSN_FAILURE ? "5.0.0"
						       : r->kind == DSN_DELAY	? "4.0.0"
										: "2.0.0");
		if (rc->remote_mta != NULL && rc->remote_mta[0] != '\0')
			ret |= append_field(b, "Remote-MTA", "dns; %s", rc->remote_mta);
		if (is_smtp_reply(rc->diagnostic))
			ret |= append_field(b, "Diagnostic-Code", "smtp; %s", rc->diagnostic);
		else if (rc->diagnostic != NULL && rc->diagnostic[0] != '\0')
			ret |= append_field(b, "Diagnostic-Code", "X-Postino; %s", rc->diagnostic);
		else if (rc->text != NULL && rc->text[0] != '\0')
			ret |= append_field(b, "Diagnostic-Code", "X-Postino; %s", rc->text);
		if (rc->last_attempt > 0)
			ret |= append_date_field(b, "Last-Attempt-Date", rc->last_attempt);
		if (r->kind == DSN_DELAY && rc->will_retry_until > 0)
			ret |= append_date_field(b, "Will-Retry-Until", rc->will_retry_until);
	}
	return ret != 0 ? -1 : 0;
}

int dsn_build(const struct dsn_report *report, char **data_r, size_t *len_r,
	      const char **error_r)
{
	size_t full_max = report->full_max != 0 ? report->full_max : DSN_FULL_MAX_DEFAULT;
	/* RFC 3461 4.3: RET applies to failures; without it we return it all */
	bool want_full = report->kind == DSN_FAILURE && report->ret != 2;
	char token[96], *orig, *host;
	enum dsn_enclosure enc;
	size_t orig_len;
	struct buf b;
	bool eight;
	int ret = 0;

	if (report->sender == NULL || report->sender[0] == '\0') {
		/* RFC 3461 6.1 / RFC 5321 4.5.5: never report to the null sender */
		*error_r = "no report to the null sender";
		return -1;
	}
	if (read_original(report->msg_path, want_full, full_max, &orig, &orig_len, &enc) < 0) {
		*error_r = "cannot read the original message";
		return -1;
	}
	eight = has_8bit(orig, orig_len);
	host = clean(report->hostname, DSN_VALUE_MAX);
	make_token(token, sizeof(token));
	buf_init(&b, 0);
	ret |= append_top_header(&b, report, host, token, eight);
	ret |= buf_printf(&b, "--%s\r\n", token);
	ret |= append_human(&b, report, host, enc);
	ret |= buf_printf(&b, "\r\n--%s\r\n", token);
	ret |= append_status(&b, report, host);
	ret |= buf_printf(&b, "\r\n--%s\r\n", token);
	ret |= buf_printf(&b, "Content-Description: %s\r\n",
			  enc == DSN_ENCLOSE_FULL ? kind_info[report->kind].description
						  : "Message Header");
	ret |= buf_printf(&b, "Content-Type: %s\r\n",
			  enc == DSN_ENCLOSE_FULL ? "message/rfc822" : "text/rfc822-headers");
	if (eight)
		ret |= buf_append_str(&b, "Content-Transfer-Encoding: 8bit\r\n");
	ret |= buf_append_str(&b, "\r\n");
	ret |= append_crlf(&b, orig, orig_len);
	ret |= buf_printf(&b, "\r\n--%s--\r\n", token);
	free(orig);
	free(host);
	if (ret != 0) {
		buf_release(&b);
		*error_r = "cannot compose the report";
		return -1;
	}
	*data_r = b.data;
	*len_r = b.len;
	return 0;
}
