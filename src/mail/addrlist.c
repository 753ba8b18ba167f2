/* SPDX-License-Identifier: ISC */
/*
 * addrlist.c - tolerant RFC 5322 3.4 address-list parser.
 *
 * A tokenizer (atoms, quoted-strings, domain literals, specials; comments
 * and folding skipped but the last comment remembered) feeds a parser that
 * reads one list member at a time and always makes progress, so hostile
 * input costs linear time. Repairs follow what Dovecot and c-client taught
 * IMAP clients to expect: a comment stands in for a missing display name,
 * a member without '@' is a mailbox without a domain, an unterminated
 * group or angle address is closed at the end.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mail/addrlist.h"

enum tok_type {
	TOK_END,
	TOK_ATOM,    /* atext and '.', also 8-bit and stray characters */
	TOK_QUOTED,  /* "..." as written, quotes included */
	TOK_LITERAL, /* [...] as written */
	TOK_SPECIAL, /* one of < > @ , ; : */
};

struct token {
	enum tok_type type;
	const char *s;
	size_t len;
};

struct parser {
	struct pool *pool;
	const char *in;
	size_t len, pos;
	/* Content of the last comment read since comment_reset(). */
	const char *comment;
	size_t comment_len;
	struct token back; /* pushed-back token, type TOK_END when none */
	struct addrlist_addr *head, *tail;
	unsigned count;
	bool in_group;
};

static const char address_specials[] = "<>@,;:";

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_atom_char(char c)
{
	return c != '\0' && !is_wsp(c) && strchr("<>@,;:\"([", c) == NULL;
}

/* encoded_word_len - length of an RFC 2047 encoded-word at s, or 0. Read
 * whole as one atom even when its text holds specials ("=?utf-8?Q?Doe,_
 * John?="), which mailers emit and clients accept. */
static size_t encoded_word_len(const char *s, size_t len)
{
	size_t i = 2, q = 0;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	for (; i + 1 < len && !is_wsp(s[i]) && s[i] != '\0'; i++) {
		if (s[i] == '?') {
			if (++q >= 3 && s[i + 1] == '=')
				return q == 3 ? i + 2 : 0;
		}
	}
	return 0;
}

/* skip_delimited - past the '"', '(' or '[' construct starting at
 * in[pos]; backslash quotes the next character and comments nest.
 * *closed_r is false when input ended first (the construct then runs to
 * the end, as clients read it). */
static size_t skip_delimited(const char *in, size_t len, size_t pos, char open, char close,
			     bool *closed_r)
{
	unsigned depth = 1;

	*closed_r = true;
	for (size_t i = pos + 1; i < len; i++) {
		if (in[i] == '\\') {
			i++;
		} else if (in[i] == close) {
			if (--depth == 0)
				return i + 1;
		} else if (in[i] == open) {
			depth++;
		}
	}
	*closed_r = false;
	return len;
}

/* next_token - the next token, skipping whitespace and comments. */
static struct token next_token(struct parser *p)
{
	struct token t = { .type = TOK_END, .s = p->in + p->len, .len = 0 };

	if (p->back.type != TOK_END) {
		t = p->back;
		p->back.type = TOK_END;
		return t;
	}
	while (p->pos < p->len) {
		const char *s = p->in + p->pos;
		size_t start = p->pos, end;
		bool closed;

		if (is_wsp(*s) || *s == '\0') {
			p->pos++;
			continue;
		}
		if (*s == '(') {
			end = skip_delimited(p->in, p->len, start, '(', ')', &closed);
			p->comment = s + 1;
			p->comment_len = end - start - (closed ? 2 : 1);
			p->pos = end;
			continue;
		}
		t.s = s;
		if (*s == '"' || *s == '[') {
			end = skip_delimited(p->in, p->len, start, *s, *s == '"' ? '"' : ']', &closed);
			t.type = *s == '"' ? TOK_QUOTED : TOK_LITERAL;
		} else if (strchr(address_specials, *s) != NULL) {
			end = start + 1;
			t.type = TOK_SPECIAL;
		} else {
			end = start;
			while (end < p->len) {
				size_t ew = encoded_word_len(p->in + end, p->len - end);
				if (ew > 0)
					end += ew;
				else if (is_atom_char(p->in[end]))
					end++;
				else
					break;
			}
			t.type = TOK_ATOM;
		}
		t.len = end - start;
		p->pos = end;
		return t;
	}
	return t;
}

static void push_back(struct parser *p, struct token t)
{
	p->back = t;
}

static bool is_special(struct token t, char c)
{
	return t.type == TOK_SPECIAL && t.s[0] == c;
}

static bool is_word(struct token t)
{
	return t.type == TOK_ATOM || t.type == TOK_QUOTED || t.type == TOK_LITERAL;
}

static void out_append(struct buf *b, const char *s, size_t len)
{
	if (buf_append(b, s, len) < 0)
		panic("addrlist: unbounded buffer refused %zu bytes", len);
}

/* append_unquoted - a quoted-string's content without its quotes and
 * backslashes (RFC 5322 3.2.4); other words as they are. */
static void append_unquoted(struct buf *b, struct token t)
{
	if (t.type != TOK_QUOTED) {
		out_append(b, t.s, t.len);
		return;
	}
	size_t end = t.len > 1 && t.s[t.len - 1] == '"' ? t.len - 1 : t.len;
	for (size_t i = 1; i < end; i++) {
		if (t.s[i] == '\\' && i + 1 < end)
			i++;
		if (t.s[i] != '\r' && t.s[i] != '\n')
			out_append(b, &t.s[i], 1);
	}
}

static const char *buf_pool_str(struct parser *p, const struct buf *b)
{
	return b->len == 0 ? NULL : p_strndup(p->pool, b->data, b->len);
}

/* comment_name - the remembered comment as a display name, or NULL. */
static const char *comment_name(struct parser *p)
{
	size_t start = 0, end = p->comment_len;

	if (p->comment == NULL)
		return NULL;
	while (start < end && is_wsp(p->comment[start]))
		start++;
	while (end > start && is_wsp(p->comment[end - 1]))
		end--;
	if (start == end)
		return NULL;
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = start; i < end; i++) {
		if (p->comment[i] == '\\' && i + 1 < end)
			i++;
		if (p->comment[i] != '\r' && p->comment[i] != '\n')
			out_append(&b, &p->comment[i], 1);
	}
	const char *s = buf_pool_str(p, &b);
	buf_release(&b);
	return s;
}

static struct addrlist_addr *add_entry(struct parser *p, enum addrlist_kind kind)
{
	struct addrlist_addr *a = p_alloc(p->pool, sizeof(*a));

	a->kind = kind;
	if (p->tail == NULL)
		p->head = a;
	else
		p->tail->next = a;
	p->tail = a;
	p->count++;
	return a;
}

/* read_domain - domain tokens (atoms, literals) glued together, stopping
 * at the first special; obs-domain allows CFWS between the parts. */
static void read_domain(struct parser *p, struct buf *b)
{
	struct token t;
	size_t start = b->len;

	/* obs-domain = atom *("." atom): white space may separate the parts
	 * only next to a dot, otherwise the domain has ended */
	while (is_word(t = next_token(p))) {
		if (b->len > start && b->data[b->len - 1] != '.' && t.s[0] != '.')
			break;
		out_append(b, t.s, t.len);
	}
	push_back(p, t);
}

/* skip_junk - drop tokens up to the end of this member; true when there
 * were any (the member was not well-formed). A '>' ends the junk too. */
static bool skip_junk(struct parser *p)
{
	bool junk = false;
	struct token t;

	for (;;) {
		t = next_token(p);
		if (t.type == TOK_END || is_special(t, ',') || is_special(t, ';')) {
			push_back(p, t);
			return junk;
		}
		junk = true;
	}
}

/* parse_angle - after '<': [route ":"] local-part ["@" domain] ">". */
static void parse_angle(struct parser *p, struct addrlist_addr *a)
{
	struct buf b;
	struct token t;
	const char *first_domain = NULL;

	buf_init(&b, 0);
	t = next_token(p);
	if (is_special(t, '@')) {
		/* obs-route = obs-domain-list ":" (RFC 5322 4.4) */
		do {
			if (is_special(t, '@')) {
				size_t start;
				if (b.len > 0)
					out_append(&b, ",", 1);
				out_append(&b, "@", 1);
				start = b.len;
				read_domain(p, &b);
				if (first_domain == NULL && b.len > start)
					first_domain = p_strndup(p->pool, b.data + start, b.len - start);
			} else if (!is_special(t, ','))
				break;
			t = next_token(p);
		} while (!is_special(t, ':'));
		if (is_special(t, ':')) {
			a->route = buf_pool_str(p, &b);
			t = next_token(p);
		} else {
			/* "<@host>": no local part; keep the host. */
			a->invalid = true;
			a->mailbox = "";
			a->domain = first_domain;
			buf_release(&b);
			if (!is_special(t, '>'))
				push_back(p, t);
			return;
		}
		buf_reset(&b);
	}
	while (is_word(t)) {
		out_append(&b, t.s, t.len);
		t = next_token(p);
	}
	a->mailbox = b.len > 0 ? p_strndup(p->pool, b.data, b.len) : "";
	if (is_special(t, '@')) {
		buf_reset(&b);
		read_domain(p, &b);
		a->domain = buf_pool_str(p, &b);
		t = next_token(p);
	}
	buf_release(&b);
	if (a->domain == NULL || a->mailbox[0] == '\0')
		a->invalid = true;
	if (is_special(t, '>'))
		return;
	/* Missing '>' or junk inside the brackets: read on to the '>' but not
	 * past the end of the member. */
	a->invalid = true;
	while (t.type != TOK_END && !is_special(t, ',') && !is_special(t, ';') &&
	       !is_special(t, '>'))
		t = next_token(p);
	if (!is_special(t, '>'))
		push_back(p, t);
}

/* parse_member - one address or group opener, starting at token t. */
static void parse_member(struct parser *p, struct token t)
{
	struct buf phrase, local;
	struct addrlist_addr *a;
	unsigned words = 0;

	buf_init(&phrase, 0);
	buf_init(&local, 0);
	for (; is_word(t); t = next_token(p), words++) {
		if (phrase.len > 0)
			out_append(&phrase, " ", 1);
		append_unquoted(&phrase, t);
		out_append(&local, t.s, t.len);
	}
	if (is_special(t, ':')) {
		if (p->in_group) {
			/* Groups do not nest (RFC 5322 3.4): close the open one. */
			add_entry(p, ADDRLIST_GROUP_END)->invalid = true;
		}
		a = add_entry(p, ADDRLIST_GROUP_START);
		a->name = buf_pool_str(p, &phrase);
		p->in_group = true;
	} else if (is_special(t, '<')) {
		a = add_entry(p, ADDRLIST_MAILBOX);
		a->name = buf_pool_str(p, &phrase);
		parse_angle(p, a);
		if (skip_junk(p))
			a->invalid = true;
		if (a->name == NULL)
			a->name = comment_name(p);
	} else if (is_special(t, '@')) {
		a = add_entry(p, ADDRLIST_MAILBOX);
		a->mailbox = local.len > 0 ? p_strndup(p->pool, local.data, local.len) : "";
		buf_reset(&local);
		read_domain(p, &local);
		a->domain = buf_pool_str(p, &local);
		if (skip_junk(p))
			a->invalid = true;
		a->name = comment_name(p);
		a->invalid |= words > 1 && a->domain == NULL;
	} else if (words > 0) {
		/* No '@' and no '<': a mailbox without a domain ("MAILER-DAEMON",
		 * "undisclosed-recipients" without ":;"), words kept as written
		 * so the reader sees what the sender wrote. */
		a = add_entry(p, ADDRLIST_MAILBOX);
		a->mailbox = p_strndup(p->pool, phrase.data, phrase.len);
		a->invalid = true;
		if (!is_special(t, '>'))
			push_back(p, t);
		else
			skip_junk(p);
	} else if (!is_special(t, ',') && !is_special(t, ';') && t.type != TOK_END) {
		/* a stray '>' */
		skip_junk(p);
	} else
		push_back(p, t);
	buf_release(&phrase);
	buf_release(&local);
}

struct addrlist_addr *addrlist_parse(struct pool *pool, const char *in, size_t len)
{
	struct parser p = { .pool = pool, .in = in, .len = len, .back = { .type = TOK_END } };
	struct token t;

	/* Leave room for the GROUP_END that closes an open group. */
	while (p.count + 3 <= ADDRLIST_MAX) {
		p.comment = NULL; /* a comment names only its own member */
		t = next_token(&p);
		if (t.type == TOK_END)
			break;
		if (is_special(t, ',') || is_special(t, '>')) {
			continue; /* empty member (obs-addr-list), stray '>' */
		} else if (is_special(t, ';')) {
			if (p.in_group)
				add_entry(&p, ADDRLIST_GROUP_END);
			p.in_group = false;
		} else
			parse_member(&p, t);
	}
	if (p.in_group)
		add_entry(&p, ADDRLIST_GROUP_END)->invalid = true;
	return p.head;
}
