/* SPDX-License-Identifier: ISC */
/*
 * smtpc-session.c - one outbound SMTP connection: connect, greeting,
 * EHLO (HELO when EHLO is refused, RFC 5321 3.2), STARTTLS (RFC 3207),
 * EHLO again, AUTH (RFC 4954), then idle until smtpc_send(); and QUIT.
 *
 * DESIGN
 * A bufferevent on the daemon's loop carries the connection; after
 * STARTTLS an OpenSSL filter sits on top of it. Replies are read line by
 * line (bounded) into the reply parser, and each complete reply goes to
 * the handler of the current state (smtpc_set_state() logs every change).
 * One timer holds the deadline of the step being waited for.
 *
 * The caller is only ever called back from notify_ev, a loop event of its
 * own, so a callback never runs inside smtpc_connect()/smtpc_send() or
 * inside our bufferevent callbacks, and the caller may smtpc_quit() (even
 * from its callback): the struct is freed with loop_defer_free().
 */
#include "lib/lib.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "core/loop.h"
#include "smtpc/smtpc-private.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* AUTH PLAIN's initial response: authzid NUL authcid NUL passwd (RFC 4616),
 * each at most 255 octets, base64 encoded. */
#define SMTPC_AUTH_FIELD_MAX 255
#define SMTPC_AUTH_B64_MAX 1024

static const char *const smtpc_state_names[] = {
	[SMTPC_STATE_CONNECT] = "connect",     [SMTPC_STATE_GREETING] = "greeting",
	[SMTPC_STATE_EHLO] = "ehlo",           [SMTPC_STATE_HELO] = "helo",
	[SMTPC_STATE_STARTTLS] = "starttls",   [SMTPC_STATE_HANDSHAKE] = "handshake",
	[SMTPC_STATE_AUTH] = "auth",           [SMTPC_STATE_AUTH_USER] = "auth-user",
	[SMTPC_STATE_AUTH_PASS] = "auth-pass", [SMTPC_STATE_READY] = "ready",
	[SMTPC_STATE_TX] = "tx",               [SMTPC_STATE_BODY] = "body",
	[SMTPC_STATE_DOT] = "dot",             [SMTPC_STATE_QUIT] = "quit",
	[SMTPC_STATE_BROKEN] = "broken",       [SMTPC_STATE_CLOSED] = "closed",
};

static void smtpc_on_read(struct bufferevent *bev, void *ctx);
static void smtpc_on_write(struct bufferevent *bev, void *ctx);
static void smtpc_on_event(struct bufferevent *bev, short what, void *ctx);
static void smtpc_close(struct smtpc *c);

const char *smtpc_state_name(enum smtpc_state state)
{
	return (size_t)state < N_ELEMENTS(smtpc_state_names) ? smtpc_state_names[state] : "?";
}

void smtpc_set_state(struct smtpc *c, enum smtpc_state state)
{
	if (c->state == state)
		return;
	log_write(LOG_LEVEL_DEBUG, "smtpc", "state id=%s peer=%s %s -> %s", c->log_id,
		  c->info.peer_addr, smtpc_state_name(c->state), smtpc_state_name(state));
	c->state = state;
}

/* ---- helpers shared with smtpc-tx.c and smtpc-data.c ---- */

unsigned smtpc_timeout_ms(const struct smtpc *c, unsigned base_ms)
{
	uint64_t ms = (uint64_t)base_ms * c->scale_pct / 100;

	return ms == 0 ? 1 : (unsigned)ms;
}

void smtpc_arm_timer(struct smtpc *c, unsigned base_ms)
{
	unsigned ms = smtpc_timeout_ms(c, base_ms);
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

void smtpc_write(struct smtpc *c, const void *data, size_t len)
{
	if (bufferevent_write(c->bev, data, len) < 0)
		panic("smtpc: bufferevent_write failed");
}

void smtpc_printf(struct smtpc *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap) < 0)
		panic("smtpc: evbuffer_add_vprintf failed");
	va_end(ap);
}

size_t smtpc_output_pending(const struct smtpc *c)
{
	struct bufferevent *under = bufferevent_get_underlying(c->bev);
	size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));

	if (under != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

/* ---- reporting to the caller ---- */

static void smtpc_on_notify(evutil_socket_t fd, short what, void *ctx)
{
	struct smtpc *c = ctx;
	enum smtpc_notify_kind kind = c->notify;
	struct smtpc_reply reply = c->notify_reply; /* the caller may start the next step */

	c->notify = SMTPC_NOTIFY_NONE;
	if (kind == SMTPC_NOTIFY_READY && c->ready_fn != NULL)
		c->ready_fn(c, c->ctx, c->notify_ok, &reply);
	else if (kind == SMTPC_NOTIFY_SENT && c->sent_fn != NULL)
		c->sent_fn(c, c->ctx, &reply, c->notify_lost);
}

static void smtpc_notify(struct smtpc *c, enum smtpc_notify_kind kind,
			 const struct smtpc_reply *reply)
{
	c->notify = kind;
	c->notify_reply = *reply;
	event_active(c->notify_ev, EV_TIMEOUT, 0);
}

void smtpc_notify_ready(struct smtpc *c, bool ok, const struct smtpc_reply *reply)
{
	c->notify_ok = ok;
	smtpc_notify(c, SMTPC_NOTIFY_READY, reply);
}

void smtpc_notify_sent(struct smtpc *c, const struct smtpc_reply *reply, bool conn_lost)
{
	c->notify_lost = conn_lost;
	smtpc_notify(c, SMTPC_NOTIFY_SENT, reply);
}

/* ---- failure ---- */

static bool smtpc_connecting(const struct smtpc *c)
{
	return c->state < SMTPC_STATE_READY;
}

static bool smtpc_in_tx(const struct smtpc *c)
{
	return c->state == SMTPC_STATE_TX || c->state == SMTPC_STATE_BODY ||
	       c->state == SMTPC_STATE_DOT;
}

/* smtpc_stage - the header's stage word for what we were waiting for. */
static const char *smtpc_stage(const struct smtpc *c)
{
	switch (c->state) {
	case SMTPC_STATE_CONNECT:
		return "connect";
	case SMTPC_STATE_GREETING:
		return "greeting";
	case SMTPC_STATE_EHLO:
	case SMTPC_STATE_HELO:
		return "ehlo";
	case SMTPC_STATE_STARTTLS:
	case SMTPC_STATE_HANDSHAKE:
		return "starttls";
	case SMTPC_STATE_AUTH:
	case SMTPC_STATE_AUTH_USER:
	case SMTPC_STATE_AUTH_PASS:
		return "auth";
	case SMTPC_STATE_TX:
		if (c->expect_rset || c->expect_mail)
			return "mail";
		return c->rcpt_replied < c->rcpt_sent ? "rcpt" : "data";
	case SMTPC_STATE_BODY:
		return "data";
	case SMTPC_STATE_DOT:
		return "dot";
	default:
		return "local";
	}
}

/* smtpc_break - the connection is unusable: stop all I/O. */
static void smtpc_break(struct smtpc *c)
{
	evtimer_del(c->timer);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	smtpc_set_state(c, SMTPC_STATE_BROKEN);
}

void smtpc_fail(struct smtpc *c, const struct smtpc_reply *reply)
{
	bool connecting = smtpc_connecting(c), in_tx = smtpc_in_tx(c);

	if (connecting) {
		log_write(LOG_LEVEL_INFO, "smtpc",
			  "failed id=%s peer=%s[%s] stage=%s code=%d reason=%s text=\"%s\"",
			  c->log_id, c->peer_name, c->info.peer_addr, reply->stage, reply->code,
			  reply->reason, reply->text);
	}
	smtpc_break(c);
	if (connecting)
		smtpc_notify_ready(c, false, reply);
	else if (in_tx)
		smtpc_tx_lost(c, reply);
}

/* smtpc_lost - a network failure, timeout or protocol error. */
static void smtpc_lost(struct smtpc *c, const char *reason, const char *text)
{
	struct smtpc_reply r;

	smtpc_reply_set(&r, 0, "", smtpc_stage(c), reason, "%s", text);
	c->in_sync = false;
	smtpc_fail(c, &r);
}

/* ---- the connection steps ---- */

static void smtpc_send_ehlo(struct smtpc *c)
{
	memset(&c->caps, 0, sizeof(c->caps));
	c->caps_auth = 0;
	c->caps_size = false;
	smtpc_printf(c, "EHLO %s\r\n", c->helo);
	smtpc_set_state(c, SMTPC_STATE_EHLO);
	smtpc_arm_timer(c, SMTPC_TIMEOUT_CMD_MS);
}

/* smtpc_caps_line - one EHLO keyword line (RFC 5321 4.1.1.1 ehlo-line). */
static void smtpc_caps_line(struct smtpc *c, const char *line)
{
	char word[32];
	size_t n = 0;
	const char *arg;

	while (line[n] != '\0' && line[n] != ' ' && line[n] != '=' && n + 1 < sizeof(word)) {
		word[n] = line[n];
		n++;
	}
	word[n] = '\0';
	arg = line + n;
	while (*arg == ' ' || *arg == '=')
		arg++;
	if (str_casecmp(word, "PIPELINING") == 0) {
		c->caps.pipelining = true;
	} else if (str_casecmp(word, "8BITMIME") == 0) {
		c->caps.eightbitmime = true;
	} else if (str_casecmp(word, "SMTPUTF8") == 0) {
		c->caps.smtputf8 = true;
	} else if (str_casecmp(word, "DSN") == 0) {
		c->caps.dsn = true;
	} else if (str_casecmp(word, "STARTTLS") == 0) {
		c->caps.starttls_offered = true;
	} else if (str_casecmp(word, "SIZE") == 0) {
		/* RFC 1870 4: "SIZE" alone or "SIZE 0" means no fixed limit */
		char num[24];
		size_t len = strspn(arg, "0123456789");
		uint64_t v = 0;
		if (len > 0 && len < sizeof(num)) {
			memcpy(num, arg, len);
			num[len] = '\0';
			if (str_to_uint64(num, 0, UINT64_MAX, &v) < 0)
				v = 0;
		}
		c->caps.size_limit = v;
		c->caps_size = true;
	} else if (str_casecmp(word, "AUTH") == 0) {
		/* "AUTH PLAIN LOGIN" (and the old "AUTH=PLAIN LOGIN") */
		char mech[32];
		while (*arg != '\0') {
			size_t len = strcspn(arg, " ");
			if (len < sizeof(mech)) {
				memcpy(mech, arg, len);
				mech[len] = '\0';
				if (str_casecmp(mech, "PLAIN") == 0)
					c->caps_auth |= SMTPC_AUTH_PLAIN;
				else if (str_casecmp(mech, "LOGIN") == 0)
					c->caps_auth |= SMTPC_AUTH_LOGIN;
			}
			arg += len;
			while (*arg == ' ')
				arg++;
		}
	}
}

/* smtpc_caps_commit - a successful EHLO's keywords replace what we knew
 * (after STARTTLS the pre-TLS list is forgotten, RFC 3207 4.2). */
static void smtpc_caps_commit(struct smtpc *c, bool ehlo)
{
	struct smtpc_info *i = &c->info;

	i->pipelining = ehlo && c->caps.pipelining;
	i->eightbitmime = ehlo && c->caps.eightbitmime;
	i->smtputf8 = ehlo && c->caps.smtputf8;
	i->dsn = ehlo && c->caps.dsn;
	i->starttls_offered = ehlo && c->caps.starttls_offered;
	i->size_limit = ehlo ? c->caps.size_limit : 0;
	c->size_offered = ehlo && c->caps_size;
	c->auth_mechs = ehlo ? c->caps_auth : 0;
}

static void smtpc_ready(struct smtpc *c, const struct smtpc_reply *reply)
{
	evtimer_del(c->timer);
	smtpc_set_state(c, SMTPC_STATE_READY);
	log_write(LOG_LEVEL_INFO, "smtpc",
		  "ready id=%s peer=%s[%s] tls=%s cipher=\"%s\" auth=%s pipelining=%s size=%" PRIu64
		  " 8bitmime=%s smtputf8=%s dsn=%s",
		  c->log_id, c->peer_name, c->info.peer_addr, c->info.tls ? "yes" : "no",
		  c->info.tls_desc,
		  c->auth_user != NULL ? "yes" : "no", c->info.pipelining ? "yes" : "no",
		  c->info.size_limit, c->info.eightbitmime ? "yes" : "no",
		  c->info.smtputf8 ? "yes" : "no", c->info.dsn ? "yes" : "no");
	smtpc_notify_ready(c, true, reply);
}

/* smtpc_auth_begin - AUTH PLAIN with an initial response, else LOGIN;
 * never without TLS (RFC 4954 4: no password in clear). */
static void smtpc_auth_begin(struct smtpc *c)
{
	struct smtpc_reply r;
	struct buf plain, b64;

	if (!c->info.tls) {
		smtpc_reply_set(&r, 0, "", "auth", "smtpc.auth-needs-tls",
				"credentials are configured but the connection to %s is not "
				"encrypted; not sending them",
				c->peer_name);
		smtpc_fail(c, &r);
		return;
	}
	if ((c->auth_mechs & SMTPC_AUTH_PLAIN) != 0) {
		buf_init(&plain, 2 * SMTPC_AUTH_FIELD_MAX + 2);
		buf_init(&b64, SMTPC_AUTH_B64_MAX);
		if (buf_append(&plain, "", 1) < 0 || buf_append_str(&plain, c->auth_user) < 0 ||
		    buf_append(&plain, "", 1) < 0 || buf_append_str(&plain, c->auth_pass) < 0 ||
		    base64_encode(plain.data, plain.len, &b64) < 0) {
			buf_release(&plain);
			buf_release(&b64);
			smtpc_reply_set(&r, 0, "", "auth", "smtpc.auth-failed",
					"credentials too long for AUTH PLAIN");
			smtpc_fail(c, &r);
			return;
		}
		smtpc_printf(c, "AUTH PLAIN %s\r\n", b64.data);
		explicit_bzero(plain.data, plain.len);
		explicit_bzero(b64.data, b64.len);
		buf_release(&plain);
		buf_release(&b64);
		smtpc_set_state(c, SMTPC_STATE_AUTH);
	} else if ((c->auth_mechs & SMTPC_AUTH_LOGIN) != 0) {
		smtpc_printf(c, "AUTH LOGIN\r\n");
		smtpc_set_state(c, SMTPC_STATE_AUTH_USER);
	} else {
		smtpc_reply_set(&r, 0, "", "auth", "smtpc.auth-unavailable",
				"%s offers neither AUTH PLAIN nor AUTH LOGIN", c->peer_name);
		smtpc_fail(c, &r);
		return;
	}
	smtpc_arm_timer(c, SMTPC_TIMEOUT_CMD_MS);
}

/* smtpc_auth_login_send - one base64 line of AUTH LOGIN. */
static void smtpc_auth_login_send(struct smtpc *c, const char *value)
{
	struct buf b64;

	buf_init(&b64, SMTPC_AUTH_B64_MAX);
	if (base64_encode(value, strlen(value), &b64) < 0) {
		buf_release(&b64);
		smtpc_printf(c, "*\r\n"); /* cancel (RFC 4954 4): the reply fails us */
		return;
	}
	smtpc_printf(c, "%s\r\n", b64.data);
	explicit_bzero(b64.data, b64.len);
	buf_release(&b64);
}

void smtpc_session_advance(struct smtpc *c)
{
	struct smtpc_reply r;
	bool want_tls = c->tls_mode == SMTPC_TLS_OPPORTUNISTIC || c->tls_mode == SMTPC_TLS_REQUIRED;

	if (!c->info.tls && want_tls && c->info.starttls_offered) {
		smtpc_printf(c, "STARTTLS\r\n");
		smtpc_set_state(c, SMTPC_STATE_STARTTLS);
		smtpc_arm_timer(c, SMTPC_TIMEOUT_CMD_MS);
		return;
	}
	if (!c->info.tls && c->tls_mode == SMTPC_TLS_REQUIRED) {
		smtpc_reply_set(&r, 0, "", "starttls", "smtpc.tls-required",
				"TLS is required but %s does not offer STARTTLS", c->peer_name);
		c->in_sync = true;
		smtpc_fail(c, &r);
		return;
	}
	if (c->auth_user != NULL && !c->authenticated) {
		smtpc_auth_begin(c);
		return;
	}
	smtpc_reply_set(&r, 250, "", "ehlo", "smtpc.ok", "ready");
	smtpc_ready(c, &r);
}

/* ---- replies by state ---- */

static void smtpc_connect_reply(struct smtpc *c, struct smtpc_reply *reply)
{
	int cls = reply->code / 100;

	reply->stage = smtpc_stage(c);
	/* a refusal leaves the session in step, so QUIT can still be said;
	 * not after 421, when the server is closing (RFC 5321 3.8) */
	c->in_sync = reply->code != 421;
	switch (c->state) {
	case SMTPC_STATE_GREETING:
		if (reply->code != 220)
			break;
		smtpc_send_ehlo(c);
		return;
	case SMTPC_STATE_EHLO:
		if (cls == 2) {
			smtpc_caps_commit(c, true);
			smtpc_session_advance(c);
			return;
		}
		if (cls == 5) {
			/* RFC 5321 3.2: an old server refuses EHLO; say HELO */
			smtpc_printf(c, "HELO %s\r\n", c->helo);
			smtpc_set_state(c, SMTPC_STATE_HELO);
			smtpc_arm_timer(c, SMTPC_TIMEOUT_CMD_MS);
			return;
		}
		break;
	case SMTPC_STATE_HELO:
		if (cls != 2)
			break;
		smtpc_caps_commit(c, false);
		smtpc_session_advance(c);
		return;
	case SMTPC_STATE_STARTTLS:
		if (reply->code == 220) {
			if (smtpc_tls_start(c) < 0) {
				smtpc_lost(c, "smtpc.tls-failed", "cannot start TLS");
				return;
			}
			return;
		}
		if (c->tls_mode == SMTPC_TLS_REQUIRED || reply->code == 421) {
			reply->reason = "smtpc.tls-failed";
			break;
		}
		/* RFC 3207 4: go on without TLS (and without STARTTLS again) */
		c->info.starttls_offered = false;
		smtpc_session_advance(c);
		return;
	case SMTPC_STATE_AUTH:
		if (reply->code == 235) {
			c->authenticated = true;
			smtpc_session_advance(c);
			return;
		}
		reply->reason = "smtpc.auth-failed";
		break;
	case SMTPC_STATE_AUTH_USER:
	case SMTPC_STATE_AUTH_PASS:
		if (reply->code == 334) {
			bool user = c->state == SMTPC_STATE_AUTH_USER;
			smtpc_auth_login_send(c, user ? c->auth_user : c->auth_pass);
			smtpc_set_state(c, user ? SMTPC_STATE_AUTH_PASS : SMTPC_STATE_AUTH);
			smtpc_arm_timer(c, SMTPC_TIMEOUT_CMD_MS);
			return;
		}
		reply->reason = "smtpc.auth-failed";
		break;
	default:
		break;
	}
	if (cls == 3) {
		/* a 3xx where none belongs: we are out of step */
		reply->reason = "smtpc.protocol";
		c->in_sync = false;
	}
	smtpc_fail(c, reply);
}

static void smtpc_dispatch(struct smtpc *c, struct smtpc_reply *reply)
{
	evtimer_del(c->timer);
	if (smtpc_connecting(c))
		smtpc_connect_reply(c, reply);
	else if (c->state == SMTPC_STATE_TX)
		smtpc_tx_reply(c, reply);
	else if (c->state == SMTPC_STATE_DOT)
		smtpc_tx_dot_reply(c, reply);
	else if (c->state == SMTPC_STATE_QUIT)
		smtpc_close(c);
}

/* smtpc_wants_reply - states in which input is read as replies. A reply
 * that arrives while we stream the body waits until the dot is sent. */
static bool smtpc_wants_reply(const struct smtpc *c)
{
	switch (c->state) {
	case SMTPC_STATE_GREETING:
	case SMTPC_STATE_EHLO:
	case SMTPC_STATE_HELO:
	case SMTPC_STATE_STARTTLS:
	case SMTPC_STATE_AUTH:
	case SMTPC_STATE_AUTH_USER:
	case SMTPC_STATE_AUTH_PASS:
	case SMTPC_STATE_TX:
	case SMTPC_STATE_DOT:
	case SMTPC_STATE_QUIT:
		return true;
	default:
		return false;
	}
}

/* smtpc_read_replies - feed complete lines to the parser while a reply is
 * expected; every line is bounded (SMTPC_REPLY_LINE_MAX). */
void smtpc_read_replies(struct smtpc *c)
{
	char line[SMTPC_REPLY_LINE_MAX + 1];

	while (smtpc_wants_reply(c)) {
		struct evbuffer *in = bufferevent_get_input(c->bev);
		size_t eol_len = 0;
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
		size_t len;
		int ret;

		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > SMTPC_REPLY_LINE_MAX)
				smtpc_lost(c, "smtpc.protocol", "reply line too long");
			return;
		}
		len = (size_t)eol.pos;
		if (len > SMTPC_REPLY_LINE_MAX) {
			smtpc_lost(c, "smtpc.protocol", "reply line too long");
			return;
		}
		if (evbuffer_remove(in, line, len) != (int)len)
			panic("smtpc: evbuffer_remove short");
		evbuffer_drain(in, eol_len);
		line[len] = '\0';
		ret = smtpc_reply_parser_feed(&c->parser, line, len);
		if (ret < 0) {
			smtpc_lost(c, "smtpc.protocol", c->parser.reply.text);
			return;
		}
		if (c->state == SMTPC_STATE_EHLO && c->parser.code == 250 && c->parser.lines > 1)
			smtpc_caps_line(c, len > 4 ? line + 4 : "");
		if (ret == 0)
			continue;
		struct smtpc_reply reply = c->parser.reply;
		smtpc_reply_parser_init(&c->parser);
		smtpc_dispatch(c, &reply);
	}
}

/* ---- bufferevent callbacks ---- */

static void smtpc_on_read(struct bufferevent *bev, void *ctx)
{
	smtpc_read_replies(ctx);
}

static void smtpc_on_write(struct bufferevent *bev, void *ctx)
{
	struct smtpc *c = ctx;

	if (c->state == SMTPC_STATE_BODY)
		smtpc_data_pump(c);
}

static void smtpc_on_connected(struct smtpc *c)
{
	int one = 1;

	(void)setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->tls_mode == SMTPC_TLS_IMPLICIT)
		smtpc_tls_describe(c);
	smtpc_set_state(c, SMTPC_STATE_GREETING);
	smtpc_arm_timer(c, SMTPC_TIMEOUT_GREETING_MS);
	smtpc_read_replies(c);
}

/* smtpc_error_text - why the socket or TLS layer failed, for people. */
static void smtpc_error_text(struct smtpc *c, short what, char *dst, size_t size, bool *tls_r)
{
	unsigned long e = bufferevent_get_openssl_error(c->bev);
	/* libevent restores errno for a deferred error event; EOF has none */
	int err = (what & BEV_EVENT_ERROR) != 0 ? EVUTIL_SOCKET_ERROR() : 0;

	*tls_r = e != 0;
	if (e != 0) {
		const char *why = ERR_reason_error_string(e);
		snprintf(dst, size, "TLS: %s", why != NULL ? why : "handshake failed");
		while (bufferevent_get_openssl_error(c->bev) != 0)
			;
	} else if (err != 0) {
		snprintf(dst, size, "%s", evutil_socket_error_to_string(err));
	} else {
		snprintf(dst, size, "connection closed by the server");
	}
}

static void smtpc_on_event(struct bufferevent *bev, short what, void *ctx)
{
	struct smtpc *c = ctx;
	char why[128];
	bool tls_error;

	if (c->state == SMTPC_STATE_BROKEN || c->state == SMTPC_STATE_CLOSED)
		return;
	if ((what & BEV_EVENT_CONNECTED) != 0) {
		if (c->state == SMTPC_STATE_CONNECT) {
			smtpc_on_connected(c);
		} else if (c->state == SMTPC_STATE_HANDSHAKE) {
			smtpc_tls_describe(c);
			log_write(LOG_LEVEL_INFO, "smtpc", "starttls id=%s peer=%s[%s] cipher=\"%s\"",
				  c->log_id, c->peer_name, c->info.peer_addr, c->info.tls_desc);
			smtpc_send_ehlo(c);
		}
		return;
	}
	if (c->state == SMTPC_STATE_QUIT) {
		smtpc_close(c);
		return;
	}
	smtpc_error_text(c, what, why, sizeof(why), &tls_error);
	if (c->state == SMTPC_STATE_CONNECT) {
		smtpc_lost(c, tls_error ? "smtpc.tls-failed" : "smtpc.connect", why);
	} else if (c->state == SMTPC_STATE_HANDSHAKE) {
		smtpc_lost(c, "smtpc.tls-failed", why);
	} else if (c->state == SMTPC_STATE_READY) {
		/* the server hung up on an idle connection: the next send says so */
		log_write(LOG_LEVEL_DEBUG, "smtpc", "closed id=%s peer=%s[%s] while idle: %s",
			  c->log_id, c->peer_name, c->info.peer_addr, why);
		c->in_sync = false;
		smtpc_break(c);
	} else {
		char text[160];
		snprintf(text, sizeof(text), "connection lost: %s", why);
		smtpc_lost(c, "smtpc.lost", text);
	}
}

static void smtpc_on_timer(evutil_socket_t fd, short what, void *ctx)
{
	struct smtpc *c = ctx;

	if (c->state == SMTPC_STATE_QUIT) {
		smtpc_close(c);
		return;
	}
	log_write(LOG_LEVEL_INFO, "smtpc", "timeout id=%s peer=%s[%s] state=%s", c->log_id,
		  c->peer_name, c->info.peer_addr, smtpc_state_name(c->state));
	char text[64];

	snprintf(text, sizeof(text), "timeout waiting for the %s reply", smtpc_stage(c));
	smtpc_lost(c, "smtpc.timeout", text);
}

void smtpc_setup_bev(struct smtpc *c)
{
	bufferevent_setcb(c->bev, smtpc_on_read, smtpc_on_write, smtpc_on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, SMTPC_INPUT_MAX);
	bufferevent_setwatermark(c->bev, EV_WRITE, SMTPC_OUTPUT_LOW, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ---- the public API ---- */

struct smtpc *smtpc_connect(const struct smtpc_opts *opts, struct ssl_ctx_st *tls_ctx,
			    smtpc_ready_fn *ready, void *ctx)
{
	struct smtpc *c = xcalloc(1, sizeof(*c));
	int bev_opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	char port[NI_MAXSERV];

	c->state = SMTPC_STATE_CONNECT;
	c->log_id = xstrdup(opts->log_id != NULL ? opts->log_id : "-");
	c->helo = xstrdup(opts->helo != NULL ? opts->helo : "localhost");
	c->auth_user = opts->auth_user != NULL ? xstrdup(opts->auth_user) : NULL;
	c->auth_pass = opts->auth_pass != NULL ? xstrdup(opts->auth_pass) : NULL;
	if (c->auth_user != NULL && c->auth_pass == NULL)
		c->auth_pass = xstrdup("");
	if (opts->addr_len > sizeof(c->addr))
		panic("smtpc: address too long");
	memcpy(&c->addr, opts->addr, opts->addr_len);
	c->addr_len = opts->addr_len;
	if (getnameinfo(opts->addr, opts->addr_len, c->info.peer_addr, sizeof(c->info.peer_addr),
			port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(c->info.peer_addr, sizeof(c->info.peer_addr), "unknown");
	c->peer_name = xstrdup(opts->peer_name != NULL ? opts->peer_name : c->info.peer_addr);
	c->info.peer_name = c->peer_name;
	c->tls_mode = opts->tls;
	c->scale_pct = opts->timeout_scale_pct != 0 ? opts->timeout_scale_pct : 100;
	c->ready_fn = ready;
	c->ctx = ctx;
	c->body_fd = -1;
	smtpc_reply_parser_init(&c->parser);
	c->timer = evtimer_new(loop_base(), smtpc_on_timer, c);
	c->notify_ev = event_new(loop_base(), -1, 0, smtpc_on_notify, c);
	if (c->timer == NULL || c->notify_ev == NULL)
		panic("smtpc: cannot create events");

	if (c->tls_mode != SMTPC_TLS_NONE) {
		if (tls_ctx == NULL)
			tls_ctx = smtpc_tls_ctx_default();
		if (tls_ctx != NULL) {
			SSL_CTX_up_ref(tls_ctx);
			c->tls_ctx = tls_ctx;
		}
	}
	if (c->tls_mode == SMTPC_TLS_IMPLICIT) {
		SSL *ssl = c->tls_ctx != NULL ? smtpc_tls_new_ssl(c) : NULL;
		if (ssl == NULL) {
			c->bev = bufferevent_socket_new(loop_base(), -1, bev_opts);
			if (c->bev == NULL)
				panic("smtpc: cannot create a bufferevent");
			smtpc_lost(c, "smtpc.tls-failed", "no TLS context");
			return c;
		}
		c->bev = bufferevent_openssl_socket_new(loop_base(), -1, ssl,
							BUFFEREVENT_SSL_CONNECTING, bev_opts);
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(loop_base(), -1, bev_opts);
	}
	if (c->bev == NULL)
		panic("smtpc: cannot create a bufferevent");
	smtpc_setup_bev(c);
	log_write(LOG_LEVEL_DEBUG, "smtpc", "connect id=%s peer=%s[%s]:%s tls=%s", c->log_id,
		  c->peer_name, c->info.peer_addr, port,
		  c->tls_mode == SMTPC_TLS_IMPLICIT ? "implicit" : "starttls");
	smtpc_arm_timer(c, SMTPC_TIMEOUT_CONNECT_MS);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&c->addr, (int)c->addr_len) < 0)
		smtpc_lost(c, "smtpc.connect", strerror(errno));
	return c;
}

const struct smtpc_info *smtpc_info(const struct smtpc *c)
{
	return &c->info;
}

static void smtpc_destroy(void *ptr)
{
	struct smtpc *c = ptr;

	event_free(c->timer);
	event_free(c->notify_ev);
	bufferevent_free(c->bev);
	smtpc_data_end(c);
	if (c->tls_ctx != NULL)
		SSL_CTX_free(c->tls_ctx);
	if (c->auth_pass != NULL)
		explicit_bzero(c->auth_pass, strlen(c->auth_pass));
	free(c->auth_pass);
	free(c->auth_user);
	free(c->peer_name);
	free(c->helo);
	free(c->log_id);
	free(c);
}

static void smtpc_close(struct smtpc *c)
{
	if (c->state == SMTPC_STATE_CLOSED)
		return;
	evtimer_del(c->timer);
	event_del(c->notify_ev);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	smtpc_set_state(c, SMTPC_STATE_CLOSED);
	loop_defer_free(smtpc_destroy, c);
}

void smtpc_quit(struct smtpc *c)
{
	if (c == NULL || c->state == SMTPC_STATE_CLOSED || c->state == SMTPC_STATE_QUIT)
		return;
	/* no callback after this, even one already scheduled */
	c->ready_fn = NULL;
	c->sent_fn = NULL;
	c->notify = SMTPC_NOTIFY_NONE;
	event_del(c->notify_ev);
	smtpc_data_end(c);
	/* QUIT only where the server expects a command (RFC 5321 4.1.1.10);
	 * anywhere else (mid-transaction, mid-handshake) we just close */
	if (c->state == SMTPC_STATE_READY || (c->state == SMTPC_STATE_BROKEN && c->in_sync)) {
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		smtpc_reply_parser_init(&c->parser);
		smtpc_printf(c, "QUIT\r\n");
		smtpc_set_state(c, SMTPC_STATE_QUIT);
		smtpc_arm_timer(c, SMTPC_TIMEOUT_QUIT_MS);
		return;
	}
	smtpc_close(c);
}
