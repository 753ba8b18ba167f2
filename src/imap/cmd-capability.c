/* SPDX-License-Identifier: ISC */
/*
 * cmd-capability.c - CAPABILITY (RFC 9051 6.1.1) and the one list every
 * other place shows too (greeting, LOGIN's OK code).
 *
 * Before login the list is short, as Dovecot's is: what a client needs to
 * log in (STARTTLS and LOGINDISABLED on port 143 until TLS, RFC 3501
 * 6.2.3 and RFC 9051 7.2.2; AUTH=PLAIN and SASL-IR otherwise), plus what
 * clients test for before they log in (ENABLE, IDLE, ID, LITERAL+). The
 * full list follows in the OK of LOGIN/AUTHENTICATE.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "core/conn.h"
#include "imap/imap-private.h"

enum cap_when {
	CAP_ALWAYS,
	CAP_PRE_TLS,   /* port 143 before STARTTLS */
	CAP_LOGIN,     /* not logged in, and logins are allowed (TLS) */
	CAP_AUTHED,    /* logged in */
};

static const struct {
	const char *name;
	enum cap_when when;
} caps[] = {
	{ "IMAP4rev1", CAP_ALWAYS },
	/* RFC 9051: both versions; rev2 rules once the client ENABLEs it */
	{ "IMAP4rev2", CAP_ALWAYS },
	{ "SASL-IR", CAP_ALWAYS },          /* RFC 4959 */
	{ "LITERAL+", CAP_ALWAYS },         /* RFC 7888 */
	{ "ID", CAP_ALWAYS },               /* RFC 2971 */
	{ "ENABLE", CAP_ALWAYS },           /* RFC 5161 */
	{ "IDLE", CAP_ALWAYS },             /* RFC 2177 */
	{ "STARTTLS", CAP_PRE_TLS },        /* RFC 3501 6.2.1 */
	{ "LOGINDISABLED", CAP_PRE_TLS },   /* RFC 3501 6.2.3 */
	{ "AUTH=PLAIN", CAP_LOGIN },        /* RFC 4616 */
	{ "NAMESPACE", CAP_AUTHED },        /* RFC 2342 */
	{ "UNSELECT", CAP_AUTHED },         /* RFC 3691 */
	{ "UIDPLUS", CAP_AUTHED },          /* RFC 4315 */
	{ "MOVE", CAP_AUTHED },             /* RFC 6851 */
	{ "CHILDREN", CAP_AUTHED },         /* RFC 3348 */
	{ "LIST-EXTENDED", CAP_AUTHED },    /* RFC 5258 */
	{ "LIST-STATUS", CAP_AUTHED },      /* RFC 5819 */
	{ "SPECIAL-USE", CAP_AUTHED },      /* RFC 6154 */
	{ "CREATE-SPECIAL-USE", CAP_AUTHED },
	{ "CONDSTORE", CAP_AUTHED },        /* RFC 7162 */
	{ "QRESYNC", CAP_AUTHED },
	{ "ESEARCH", CAP_AUTHED },          /* RFC 4731 */
	{ "SEARCHRES", CAP_AUTHED },        /* RFC 5182 */
	{ "QUOTA", CAP_AUTHED },            /* RFC 9208 */
	{ "QUOTA=RES-STORAGE", CAP_AUTHED },
	{ "QUOTA=RES-MESSAGE", CAP_AUTHED },
	{ "STATUS=SIZE", CAP_AUTHED },      /* RFC 8438 */
	{ "UTF8=ACCEPT", CAP_AUTHED },      /* RFC 6855 */
	{ "BINARY", CAP_AUTHED },           /* RFC 3516 */
};

/* imap_logins_allowed - LOGINDISABLED until TLS on port 143. */
static bool imap_logins_allowed(const struct imap_session *s)
{
	return s->conn != NULL && conn_is_tls(s->conn);
}

int imap_capability_write(const struct imap_session *s, struct buf *out)
{
	bool authed = s->state != IMAP_STATE_NOT_AUTH;
	bool first = true;

	for (size_t i = 0; i < N_ELEMENTS(caps); i++) {
		bool show = false;
		switch (caps[i].when) {
		case CAP_ALWAYS:
			show = true;
			break;
		case CAP_PRE_TLS:
			show = !authed && !imap_logins_allowed(s);
			break;
		case CAP_LOGIN:
			show = !authed && imap_logins_allowed(s);
			break;
		case CAP_AUTHED:
			show = authed;
			break;
		}
		if (!show)
			continue;
		if ((!first && buf_append_str(out, " ") < 0) || buf_append_str(out, caps[i].name) < 0)
			return -1;
		first = false;
	}
	/* RFC 7889: the largest message APPEND takes */
	if (authed && buf_printf(out, " APPENDLIMIT=%llu",
				 (unsigned long long)IMAP_PARSER_LITERAL_MAX) < 0)
		return -1;
	return 0;
}

void cmd_capability(struct imap_cmd *cmd)
{
	struct buf b;

	buf_init(&b, IMAP_LINE_MAX);
	if (buf_append_str(&b, "* CAPABILITY ") < 0 || imap_capability_write(cmd->s, &b) < 0)
		panic("imap: capability list does not fit");
	imap_send_buf(cmd->s, &b);
	buf_release(&b);
	imap_cmd_ok(cmd, "Capability completed.");
}
