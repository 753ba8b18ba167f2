/* SPDX-License-Identifier: ISC */
/*
 * imap-parser.c - the incremental IMAP command parser (see imap-parser.h).
 *
 * DESIGN. Every syntactic decision is taken one byte at a time by
 * parser_step() from an explicit state (enum parser_state), so feeding a
 * command whole, in random pieces or byte by byte gives the same tree, the
 * same errors at the same offsets and the same events. Only literal data
 * and discarded bytes are handled in runs, and those runs decide nothing
 * but "how many bytes".
 *
 * Finished arguments wait on one scratch stack (args[]) while their list
 * is open; closing a list copies its elements into the command pool as an
 * array, so handlers index args[i] like Dovecot's imap_arg arrays. A CR is
 * only remembered (cr_pending) and the LF that must follow does the work,
 * so "\r\n" and a bare "\n" end a line alike and a bare CR is an error.
 *
 * After an error the parser enters the SKIP states: a small scanner that
 * finds the end of the line and notices "{n+}" literal headers on the way,
 * whose bytes it then discards (the client sends them without waiting).
 *
 * State changes are not logged (there is one per byte); the session logs
 * the errors it is handed.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/utf7.h"
#include "imap/imap-parser.h"

#include <assert.h>

/* Most commands fit in one block. */
#define PARSER_POOL_BLOCK 1024
/* Buffers grown past these by a large command are released once it is
 * done, so an idle connection costs little (issue 4: < 20 KB each). */
#define PARSER_TOK_KEEP 256
#define PARSER_ARGS_KEEP 16

const struct imap_parser_limits imap_parser_default_limits = {
	.line_max = IMAP_PARSER_LINE_MAX,
	.command_max = IMAP_PARSER_COMMAND_MAX,
	.literal_max = IMAP_PARSER_LITERAL_MAX,
	.literal_buffer_max = IMAP_PARSER_LITERAL_BUFFER_MAX,
	.depth_max = IMAP_PARSER_DEPTH_MAX,
	.args_max = IMAP_PARSER_ARGS_MAX,
};

enum parser_state {
	STATE_TAG,            /* at line start, reading the tag */
	STATE_NAME,           /* the command name (twice for "UID name") */
	STATE_ARG_START,      /* after SP or '(': an argument, ')' or end */
	STATE_ARG_SEP,        /* after an argument: SP, ')' or end */
	STATE_ATOM,
	STATE_TILDE,          /* '~': literal8 if '{' follows, else an atom */
	STATE_QUOTED,
	STATE_QUOTED_ESCAPE,  /* after '\' in a quoted string */
	STATE_LITERAL_SIZE,   /* after '{': digits */
	STATE_LITERAL_PLUS,   /* after "{n+": '}' */
	STATE_LITERAL_EOL,    /* after '}': the line must end */
	STATE_LITERAL_DATA,   /* buffering a literal's bytes */
	STATE_LITERAL_WAIT,   /* a large literal announced: caller decides */
	STATE_LITERAL_STREAM, /* handing a large literal's bytes out */
	STATE_SECTION_SPEC,   /* FETCH: after "BODY[" */
	STATE_SECTION_LIST,   /* after "HEADER.FIELDS ": '(' */
	STATE_SECTION_CLOSE,  /* after the header list: ']' */
	STATE_SECTION_END,    /* after ']': '<' or the end of the item */
	STATE_PARTIAL_OFFSET, /* after '<' */
	STATE_PARTIAL_SIZE,   /* after '<n.' */
	STATE_PARTIAL_END,    /* after '>' */
	STATE_SKIP_LINE,      /* after an error: through the next LF */
	STATE_SKIP_BRACE,     /* ... '{' seen: digits of a literal size? */
	STATE_SKIP_BRACE_PLUS,
	STATE_SKIP_BRACE_END, /* ... "{n}" or "{n+}" seen: at the line end? */
	STATE_SKIP_LITERAL,   /* ... discarding an announced literal */
	STATE_DEAD,           /* framing lost: everything is discarded */
};

/* line: the byte goes through parser_step() and counts towards line_max
 * and command_max (literal data and skipped bytes do not). */
static const struct {
	const char *name;
	bool line;
} parser_states[] = {
	[STATE_TAG] = { "tag", true },
	[STATE_NAME] = { "name", true },
	[STATE_ARG_START] = { "arg-start", true },
	[STATE_ARG_SEP] = { "arg-sep", true },
	[STATE_ATOM] = { "atom", true },
	[STATE_TILDE] = { "tilde", true },
	[STATE_QUOTED] = { "quoted", true },
	[STATE_QUOTED_ESCAPE] = { "quoted-escape", true },
	[STATE_LITERAL_SIZE] = { "literal-size", true },
	[STATE_LITERAL_PLUS] = { "literal-plus", true },
	[STATE_LITERAL_EOL] = { "literal-eol", true },
	[STATE_LITERAL_DATA] = { "literal-data", false },
	[STATE_LITERAL_WAIT] = { "literal-wait", false },
	[STATE_LITERAL_STREAM] = { "literal-stream", false },
	[STATE_SECTION_SPEC] = { "section-spec", true },
	[STATE_SECTION_LIST] = { "section-list", true },
	[STATE_SECTION_CLOSE] = { "section-close", true },
	[STATE_SECTION_END] = { "section-end", true },
	[STATE_PARTIAL_OFFSET] = { "partial-offset", true },
	[STATE_PARTIAL_SIZE] = { "partial-size", true },
	[STATE_PARTIAL_END] = { "partial-end", true },
	[STATE_SKIP_LINE] = { "skip-line", false },
	[STATE_SKIP_BRACE] = { "skip-brace", false },
	[STATE_SKIP_BRACE_PLUS] = { "skip-brace-plus", false },
	[STATE_SKIP_BRACE_END] = { "skip-brace-end", false },
	[STATE_SKIP_LITERAL] = { "skip-literal", false },
	[STATE_DEAD] = { "dead", false },
};

/* What parser_step() did with the byte. */
enum step {
	STEP_NEXT,        /* consumed */
	STEP_AGAIN,       /* not consumed: run it through the new state */
	STEP_EVENT,       /* consumed; feed() returns 1 */
	STEP_PAUSE,       /* consumed; feed() returns 0 (continuation) */
	STEP_FAIL,        /* not consumed (the skip scanner gets it); -1 */
	STEP_FAIL_AFTER,  /* consumed; -1 */
};

enum frame_kind {
	FRAME_LIST,
	FRAME_SECTION, /* the header list of BODY[HEADER.FIELDS (...)] */
};

struct frame {
	enum frame_kind kind;
	unsigned first; /* its first element in args[] */
};

/* Commands whose arguments use more than the generic grammar. */
static const struct {
	const char *name;
	bool fetch_sections;
} command_syntax[] = {
	{ "FETCH", true },
	{ "UID FETCH", true },
};

struct imap_parser {
	struct imap_parser_limits limits;
	enum imap_parser_flags flags;
	enum parser_state state;
	bool cr_pending;   /* a CR was consumed: only LF may follow */
	bool finished;     /* the command ended: start afresh on next feed */
	bool continuation; /* send "+" before more input */
	enum imap_parser_event event;

	/* The command being read; command_reset() clears it. */
	struct pool *pool;
	struct imap_command *cmd;        /* tag and name known: being built */
	const struct imap_command *view; /* what imap_parser_command() shows */
	const char *tag;
	bool uid;                /* the name so far was "UID" */
	bool fetch_sections;     /* '[' opens a section */
	size_t line_len, cmd_len;
	unsigned nargs;          /* arguments begun, at every level */
	struct buf tok;          /* the token being read */
	struct imap_arg *args;   /* finished elements of the open lists */
	unsigned args_count, args_alloc;
	struct frame *frames;    /* open lists, outermost first */
	unsigned depth, frames_alloc;
	struct imap_section *section; /* the FETCH section being read */
	const char *section_name;
	uint64_t num;            /* literal size, partial offset/size */
	unsigned num_digits;
	bool lit_nonsync, lit8;
	bool lit_overflow;       /* the size did not fit in 64 bits */
	uint64_t lit_left;

	/* The skip scanner. */
	uint64_t skip_num, skip_left;
	unsigned skip_digits;
	bool skip_nonsync, skip_cr, skip_overflow;

	struct imap_parser_literal literal;
	struct imap_parser_error error;
};

/* What atoms may hold. Stricter than ATOM-CHAR (RFC 9051 section 9) in
 * nothing, laxer in allowing list-wildcards, '\' and ']': LIST patterns,
 * flags and sequence sets are atoms too, and the command checks them
 * (Dovecot's IS_ATOM_PARSER_INPUT makes the same choice). */
static bool is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '"';
}

/* tag = 1*<any ASTRING-CHAR except "+"> (RFC 9051 section 9). */
static bool is_tag_char(unsigned char c)
{
	return is_atom_char(c) && c != '%' && c != '*' && c != '\\' && c != '+';
}

/* Command names are plain atoms. */
static bool is_name_char(unsigned char c)
{
	return is_atom_char(c) && c != '%' && c != '*' && c != '\\' && c != ']';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Why c cannot be in an atom, for the BAD text. */
static const char *atom_char_error(unsigned char c)
{
	if (c == '\0')
		return "NUL byte in command";
	if (c >= 0x80)
		return "8-bit data in atom";
	if (c < 0x20 || c == 0x7f)
		return "Control character in atom";
	return "Invalid character in atom";
}

static struct pool *cmd_pool(struct imap_parser *p)
{
	if (p->pool == NULL)
		p->pool = pool_new(PARSER_POOL_BLOCK);
	return p->pool;
}

static void tok_append(struct imap_parser *p, const void *data, size_t size)
{
	/* tok has no limit of its own: line_max and command_max bound it */
	if (buf_append(&p->tok, data, size) < 0)
		panic("imap-parser: unbounded buffer refused %zu bytes", size);
}

static char *pool_memdup(struct pool *pool, const void *data, size_t size)
{
	char *s = p_alloc(pool, size + 1); /* zeroed: NUL-terminated */
	if (size > 0)
		memcpy(s, data, size);
	return s;
}

/* command_reset - forget the command that ended; the state (which may be
 * skipping its rest) and the flags stay. */
static void command_reset(struct imap_parser *p)
{
	pool_free(&p->pool);
	p->cmd = NULL;
	p->view = NULL;
	p->tag = NULL;
	p->uid = false;
	p->fetch_sections = false;
	p->line_len = p->cmd_len = 0;
	p->nargs = 0;
	if (p->tok.cap > PARSER_TOK_KEEP)
		buf_release(&p->tok);
	buf_reset(&p->tok);
	p->args_count = 0;
	if (p->args_alloc > PARSER_ARGS_KEEP) {
		free(p->args);
		p->args = NULL;
		p->args_alloc = 0;
	}
	p->depth = 0;
	p->section = NULL;
	p->section_name = NULL;
	p->finished = false;
}

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits,
				    enum imap_parser_flags flags)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	p->limits = limits != NULL ? *limits : imap_parser_default_limits;
	if (p->limits.literal_buffer_max > p->limits.literal_max)
		p->limits.literal_buffer_max = (size_t)p->limits.literal_max;
	p->flags = flags;
	p->state = STATE_TAG;
	buf_init(&p->tok, 0);
	return p;
}

void imap_parser_free(struct imap_parser **_parser)
{
	struct imap_parser *p = *_parser;

	if (p == NULL)
		return;
	*_parser = NULL;
	pool_free(&p->pool);
	buf_release(&p->tok);
	free(p->args);
	free(p->frames);
	free(p);
}

void imap_parser_set_flags(struct imap_parser *parser, enum imap_parser_flags flags)
{
	parser->flags = flags;
}

void imap_parser_reset(struct imap_parser *parser)
{
	command_reset(parser);
	parser->state = STATE_TAG;
	parser->cr_pending = false;
	parser->continuation = false;
	memset(&parser->error, 0, sizeof(parser->error));
}

/*
 * Errors.
 */

static void error_set(struct imap_parser *p, enum imap_parser_error_code code,
		      const char *text, bool skip_line)
{
	p->error.code = code;
	p->error.text = text;
	p->error.tag = p->tag;
	p->error.skip_line = skip_line;
	p->error.fatal = false;
	p->cr_pending = false;
	p->continuation = false;
	p->finished = true;
}

/* parse_error - the byte at hand is wrong: skip from it to the line end. */
static enum step parse_error(struct imap_parser *p, enum imap_parser_error_code code,
			     const char *text)
{
	error_set(p, code, text, true);
	p->state = STATE_SKIP_LINE;
	return STEP_FAIL;
}

static enum step syntax_error(struct imap_parser *p, const char *text)
{
	return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, text);
}

/* skip_literal_then_line - discard an announced literal's n bytes (the
 * client sends a non-synchronising literal without waiting), then the
 * rest of its line. */
static void skip_literal_then_line(struct imap_parser *p, uint64_t n)
{
	p->skip_left = n;
	p->state = n > 0 ? STATE_SKIP_LITERAL : STATE_SKIP_LINE;
}

/* framing_lost - a non-synchronising literal too large to count was
 * announced: its bytes cannot be told from the next commands, so none of
 * them may be parsed (they could be anything the client's user typed). */
static enum step framing_lost(struct imap_parser *p)
{
	error_set(p, IMAP_PARSER_ERROR_TOOBIG, "Literal size too large", true);
	p->error.fatal = true;
	p->state = STATE_DEAD;
	return STEP_FAIL_AFTER;
}

/* literal_error - a complete literal header was refused. A synchronising
 * literal ends the command (its bytes never come); a non-synchronising
 * one's bytes are on the way and are discarded with the rest. */
static enum step literal_error(struct imap_parser *p, enum imap_parser_error_code code,
			       const char *text)
{
	error_set(p, code, text, p->lit_nonsync);
	if (p->lit_nonsync)
		skip_literal_then_line(p, p->literal.size);
	else
		p->state = STATE_TAG;
	return STEP_FAIL_AFTER;
}

/*
 * The argument tree.
 */

static enum step arg_begin(struct imap_parser *p)
{
	if (p->nargs >= p->limits.args_max)
		return parse_error(p, IMAP_PARSER_ERROR_LIMIT, "Too many arguments");
	p->nargs++;
	return STEP_NEXT;
}

static struct imap_arg *arg_push(struct imap_parser *p, enum imap_arg_type type)
{
	if (p->args_count == p->args_alloc) {
		p->args_alloc = p->args_alloc < 16 ? 16 : p->args_alloc * 2;
		p->args = xrealloc(p->args, p->args_alloc * sizeof(*p->args));
	}
	struct imap_arg *arg = &p->args[p->args_count++];
	memset(arg, 0, sizeof(*arg));
	arg->type = type;
	return arg;
}

/* The token as an argument's string. */
static void arg_set_tok(struct imap_parser *p, struct imap_arg *arg)
{
	arg->str = pool_memdup(cmd_pool(p), p->tok.data, p->tok.len);
	arg->len = p->tok.len;
	buf_reset(&p->tok);
}

/* args_take - move args[first..] into a pool array. */
static const struct imap_arg *args_take(struct imap_parser *p, unsigned first, unsigned *count_r)
{
	unsigned count = p->args_count - first;
	struct imap_arg *arr = NULL;

	if (count > 0) {
		arr = p_alloc(cmd_pool(p), count * sizeof(*arr));
		memcpy(arr, p->args + first, count * sizeof(*arr));
	}
	p->args_count = first;
	*count_r = count;
	return arr;
}

static enum step list_open(struct imap_parser *p, enum frame_kind kind)
{
	if (p->depth >= p->limits.depth_max)
		return parse_error(p, IMAP_PARSER_ERROR_LIMIT, "Too deeply nested lists");
	if (p->depth == p->frames_alloc) {
		p->frames_alloc = p->frames_alloc < 4 ? 4 : p->frames_alloc * 2;
		p->frames = xrealloc(p->frames, p->frames_alloc * sizeof(*p->frames));
	}
	p->frames[p->depth].kind = kind;
	p->frames[p->depth].first = p->args_count;
	p->depth++;
	p->state = STATE_ARG_START;
	return STEP_NEXT;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")", and
 * header-fld-name = astring (RFC 9051 section 9). */
static bool section_fields_valid(const struct imap_arg *fields, unsigned count)
{
	if (count == 0)
		return false;
	for (unsigned i = 0; i < count; i++) {
		const char *str;
		if (imap_arg_get_astring(&fields[i], &str) < 0)
			return false;
	}
	return true;
}

static enum step list_close(struct imap_parser *p)
{
	const struct imap_arg *elems;
	unsigned count;

	if (p->depth == 0)
		return syntax_error(p, "Unexpected ')'");
	struct frame *f = &p->frames[--p->depth];
	elems = args_take(p, f->first, &count);
	if (f->kind == FRAME_SECTION) {
		if (!section_fields_valid(elems, count))
			return syntax_error(p, "Invalid header list in section");
		p->section->fields = elems;
		p->section->fields_count = count;
		p->state = STATE_SECTION_CLOSE;
		return STEP_NEXT;
	}
	struct imap_arg *arg = arg_push(p, IMAP_ARG_LIST);
	arg->list = elems;
	arg->list_count = count;
	p->state = STATE_ARG_SEP;
	return STEP_NEXT;
}

/* command_snapshot - the command as read so far, for the LITERAL event:
 * each open list becomes a LIST of what it holds, innermost last. The
 * scratch stack is left as it was: parsing goes on after the literal. */
static struct imap_command *command_snapshot(struct imap_parser *p)
{
	struct pool *pool = cmd_pool(p);
	struct imap_command *cmd = p_alloc(pool, sizeof(*cmd));
	struct imap_arg inner;
	bool have_inner = false;

	for (unsigned d = p->depth + 1; d-- > 0;) {
		unsigned first = d == 0 ? 0 : p->frames[d - 1].first;
		unsigned end = d < p->depth ? p->frames[d].first : p->args_count;
		unsigned count = end - first + (have_inner ? 1 : 0);
		struct imap_arg *arr = count == 0 ? NULL : p_alloc(pool, count * sizeof(*arr));

		if (end > first)
			memcpy(arr, p->args + first, (end - first) * sizeof(*arr));
		if (have_inner)
			arr[count - 1] = inner;
		if (d == 0) {
			cmd->args = arr;
			cmd->count = count;
			break;
		}
		memset(&inner, 0, sizeof(inner));
		inner.type = IMAP_ARG_LIST;
		inner.list = arr;
		inner.list_count = count;
		have_inner = true;
	}
	cmd->pool = pool;
	cmd->tag = p->tag;
	cmd->name = p->cmd->name;
	return cmd;
}

/*
 * Steps, one per state (the skip scanner is at the end).
 */

static enum step line_end(struct imap_parser *p)
{
	if (p->depth > 0)
		return syntax_error(p, "Missing ')'");
	struct imap_command *cmd = p->cmd;
	cmd->args = args_take(p, 0, &cmd->count);
	p->view = cmd;
	p->event = IMAP_PARSER_EVENT_COMMAND;
	p->finished = true;
	p->state = STATE_TAG;
	return STEP_EVENT;
}

static enum step step_tag(struct imap_parser *p, unsigned char c)
{
	if (c == ' ' || c == '\n') {
		if (p->tok.len == 0)
			return syntax_error(p, c == ' ' ? "Missing tag" : "Empty command line");
		p->tag = pool_memdup(cmd_pool(p), p->tok.data, p->tok.len);
		buf_reset(&p->tok);
		if (c == '\n')
			return syntax_error(p, "Missing command name");
		p->state = STATE_NAME;
		return STEP_NEXT;
	}
	if (!is_tag_char(c))
		return syntax_error(p, "Invalid character in tag");
	tok_append(p, &c, 1);
	return STEP_NEXT;
}

/* name_done - "UID" waits for the real name; FETCH-like names switch the
 * section syntax on. */
static enum step name_done(struct imap_parser *p, unsigned char c)
{
	struct pool *pool = cmd_pool(p);

	if (p->tok.len == 0)
		return syntax_error(p, "Missing command name");
	if (!p->uid && strcmp(p->tok.data, "UID") == 0) {
		p->uid = true;
		buf_reset(&p->tok);
		if (c == '\n')
			return syntax_error(p, "Missing command name after UID");
		return STEP_NEXT;
	}
	p->cmd = p_alloc(pool, sizeof(*p->cmd));
	p->cmd->pool = pool;
	p->cmd->tag = p->tag;
	p->cmd->name = p->uid ? p_printf(pool, "UID %s", p->tok.data) :
		pool_memdup(pool, p->tok.data, p->tok.len);
	buf_reset(&p->tok);
	for (size_t i = 0; i < N_ELEMENTS(command_syntax); i++) {
		if (strcmp(p->cmd->name, command_syntax[i].name) == 0)
			p->fetch_sections = command_syntax[i].fetch_sections;
	}
	p->state = STATE_ARG_START;
	return c == '\n' ? line_end(p) : STEP_NEXT;
}

static enum step step_name(struct imap_parser *p, unsigned char c)
{
	if (c == ' ') {
		if (p->tok.len == 0)
			return STEP_NEXT; /* extra spaces, as Dovecot allows */
		return name_done(p, c);
	}
	if (c == '\n')
		return name_done(p, c);
	if (!is_name_char(c))
		return syntax_error(p, "Invalid character in command name");
	if (c >= 'a' && c <= 'z')
		c = (unsigned char)(c - 'a' + 'A');
	tok_append(p, &c, 1);
	return STEP_NEXT;
}

static enum step literal_begin(struct imap_parser *p, bool lit8)
{
	p->lit8 = lit8;
	p->lit_nonsync = false;
	p->lit_overflow = false;
	p->num = 0;
	p->num_digits = 0;
	p->state = STATE_LITERAL_SIZE;
	return STEP_NEXT;
}

static enum step step_arg_start(struct imap_parser *p, unsigned char c)
{
	enum step s;

	switch (c) {
	case ' ':
		return STEP_NEXT; /* extra spaces, as Dovecot allows */
	case '\n':
		return line_end(p);
	case ')':
		return list_close(p);
	default:
		break;
	}
	if (c != '(' && c != '"' && c != '{' && !is_atom_char(c))
		return syntax_error(p, atom_char_error(c));
	if ((s = arg_begin(p)) != STEP_NEXT)
		return s;
	switch (c) {
	case '(':
		return list_open(p, FRAME_LIST);
	case '"':
		p->state = STATE_QUOTED;
		return STEP_NEXT;
	case '{':
		return literal_begin(p, false);
	case '~':
		p->state = STATE_TILDE;
		return STEP_NEXT;
	default:
		p->state = STATE_ATOM;
		return STEP_AGAIN;
	}
}

static enum step step_arg_sep(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		p->state = STATE_ARG_START;
		return STEP_NEXT;
	case ')':
		return list_close(p);
	case '\n':
		return line_end(p);
	default:
		return syntax_error(p, "Missing space after argument");
	}
}

static enum step step_tilde(struct imap_parser *p, unsigned char c)
{
	if (c == '{') {
		if ((p->flags & IMAP_PARSER_FLAG_LITERAL8) == 0)
			return syntax_error(p, "literal8 needs BINARY");
		return literal_begin(p, true);
	}
	tok_append(p, "~", 1);
	p->state = STATE_ATOM;
	return STEP_AGAIN;
}

static void atom_finish(struct imap_parser *p)
{
	bool nil = p->tok.len == 3 && str_casecmp(p->tok.data, "NIL") == 0;
	arg_set_tok(p, arg_push(p, nil ? IMAP_ARG_NIL : IMAP_ARG_ATOM));
	p->state = STATE_ARG_SEP;
}

static enum step step_atom(struct imap_parser *p, unsigned char c)
{
	if (c == '[' && p->fetch_sections) {
		/* fetch-att: "BODY" section, "BINARY.PEEK" section-binary... */
		p->section_name = pool_memdup(cmd_pool(p), p->tok.data, p->tok.len);
		p->section = p_alloc(cmd_pool(p), sizeof(*p->section));
		buf_reset(&p->tok);
		p->state = STATE_SECTION_SPEC;
		return STEP_NEXT;
	}
	if (is_atom_char(c)) {
		tok_append(p, &c, 1);
		return STEP_NEXT;
	}
	if (c == ' ' || c == ')' || c == '\n') {
		atom_finish(p);
		return STEP_AGAIN;
	}
	return syntax_error(p, atom_char_error(c));
}

static enum step step_quoted(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case '"':
		if ((p->flags & IMAP_PARSER_FLAG_UTF8) != 0 && !utf8_valid(p->tok.data, p->tok.len))
			return syntax_error(p, "Invalid UTF-8 in quoted string");
		arg_set_tok(p, arg_push(p, IMAP_ARG_STRING));
		p->state = STATE_ARG_SEP;
		return STEP_NEXT;
	case '\\':
		p->state = STATE_QUOTED_ESCAPE;
		return STEP_NEXT;
	case '\n':
		return syntax_error(p, "Missing closing '\"'");
	case '\0':
		return syntax_error(p, "NUL byte in quoted string");
	default:
		break;
	}
	if (c >= 0x80 && (p->flags & IMAP_PARSER_FLAG_UTF8) == 0)
		return syntax_error(p, "8-bit data in quoted string (UTF8=ACCEPT not enabled)");
	tok_append(p, &c, 1);
	return STEP_NEXT;
}

/* Only quoted-specials may be escaped (RFC 9051 section 9 QUOTED-CHAR). */
static enum step step_quoted_escape(struct imap_parser *p, unsigned char c)
{
	if (c == '"' || c == '\\') {
		tok_append(p, &c, 1);
		p->state = STATE_QUOTED;
		return STEP_NEXT;
	}
	if (c == '\n')
		return syntax_error(p, "Missing closing '\"'");
	return syntax_error(p, "Invalid escape in quoted string");
}

/* Accumulate a decimal digit into p->num; -1 on uint64 overflow. */
static int num_add_digit(struct imap_parser *p, unsigned char c)
{
	uint64_t d = (uint64_t)(c - '0');

	if (p->num > (UINT64_MAX - d) / 10)
		return -1;
	p->num = p->num * 10 + d;
	p->num_digits++;
	return 0;
}

static enum step step_literal_size(struct imap_parser *p, unsigned char c)
{
	if (is_digit(c)) {
		/* too large for anything, but whether its bytes follow is
		 * only known at the '}' */
		if (num_add_digit(p, c) < 0) {
			p->lit_overflow = true;
			p->num_digits++;
		}
		return STEP_NEXT;
	}
	if (p->num_digits == 0 || (c != '+' && c != '}'))
		return syntax_error(p, "Invalid literal size");
	p->lit_nonsync = c == '+';
	p->state = c == '+' ? STATE_LITERAL_PLUS : STATE_LITERAL_EOL;
	return STEP_NEXT;
}

static enum step step_literal_plus(struct imap_parser *p, unsigned char c)
{
	if (c != '}')
		return syntax_error(p, "Expected '}' after '+' in literal size");
	p->state = STATE_LITERAL_EOL;
	return STEP_NEXT;
}

/* literal_header_done - "{n}\r\n" is in: decide how its bytes are taken. */
static enum step literal_header_done(struct imap_parser *p)
{
	uint64_t size = p->num;

	p->line_len = 0; /* a new line starts after the literal */
	memset(&p->literal, 0, sizeof(p->literal));
	p->literal.size = size;
	p->literal.sync = !p->lit_nonsync;
	p->literal.literal8 = p->lit8;

	if (p->lit_overflow) {
		if (p->lit_nonsync)
			return framing_lost(p);
		return literal_error(p, IMAP_PARSER_ERROR_TOOBIG, "Literal too large");
	}
	if (p->lit_nonsync && (p->flags & IMAP_PARSER_FLAG_LITERAL_MINUS) != 0 &&
	    size > IMAP_PARSER_LITERAL_MINUS_MAX)
		return literal_error(p, IMAP_PARSER_ERROR_TOOBIG,
				     "Non-synchronizing literal over 4096 bytes (LITERAL-)");
	if (size > p->limits.literal_max)
		return literal_error(p, IMAP_PARSER_ERROR_TOOBIG, "Literal too large");
	if (size > p->limits.literal_buffer_max) {
		struct imap_arg *arg = arg_push(p, IMAP_ARG_LITERAL_STREAM);
		arg->literal8 = p->lit8;
		arg->literal_size = size;
		p->view = command_snapshot(p);
		p->event = IMAP_PARSER_EVENT_LITERAL;
		p->state = STATE_LITERAL_WAIT;
		return STEP_EVENT;
	}
	if (size > p->limits.command_max - p->cmd_len)
		return literal_error(p, IMAP_PARSER_ERROR_TOOBIG, "Command too large");
	buf_reset(&p->tok);
	p->lit_left = size;
	p->state = STATE_LITERAL_DATA;
	if (p->lit_nonsync)
		return STEP_NEXT;
	/* RFC 3501 section 7.5: the client waits for this before the data */
	p->continuation = true;
	return STEP_PAUSE;
}

static enum step step_literal_eol(struct imap_parser *p, unsigned char c)
{
	if (c != '\n')
		return syntax_error(p, "Missing CRLF after literal size");
	return literal_header_done(p);
}

static void literal_finish(struct imap_parser *p)
{
	struct imap_arg *arg = arg_push(p, IMAP_ARG_LITERAL);
	arg->literal8 = p->lit8;
	arg->literal_size = p->literal.size;
	arg_set_tok(p, arg);
	p->state = STATE_ARG_SEP;
}

/* section-spec is made of part numbers, dots and keywords (RFC 9051
 * section 9 "section-spec"); what they mean is checked by FETCH. */
static enum step step_section_spec(struct imap_parser *p, unsigned char c)
{
	if (c == ']' || c == ' ') {
		p->section->spec = pool_memdup(cmd_pool(p), p->tok.data, p->tok.len);
		buf_reset(&p->tok);
		p->state = c == ']' ? STATE_SECTION_END : STATE_SECTION_LIST;
		return STEP_NEXT;
	}
	if (c == '\n')
		return syntax_error(p, "Missing ']' in section");
	if (!is_alnum(c) && c != '.')
		return syntax_error(p, "Invalid character in section");
	tok_append(p, &c, 1);
	return STEP_NEXT;
}

static enum step step_section_list(struct imap_parser *p, unsigned char c)
{
	if (c != '(')
		return syntax_error(p, "Expected '(' after section text");
	return list_open(p, FRAME_SECTION);
}

static enum step step_section_close(struct imap_parser *p, unsigned char c)
{
	if (c != ']')
		return syntax_error(p, "Missing ']' after header list");
	p->state = STATE_SECTION_END;
	return STEP_NEXT;
}

static enum step section_finish(struct imap_parser *p)
{
	struct imap_arg *arg = arg_push(p, IMAP_ARG_SECTION);
	arg->str = p->section_name;
	arg->len = strlen(p->section_name);
	arg->section = p->section;
	p->section = NULL;
	p->section_name = NULL;
	p->state = STATE_ARG_SEP;
	return STEP_AGAIN;
}

static enum step step_section_end(struct imap_parser *p, unsigned char c)
{
	if (c == '<') {
		p->num = 0;
		p->num_digits = 0;
		p->state = STATE_PARTIAL_OFFSET;
		return STEP_NEXT;
	}
	if (c == ' ' || c == ')' || c == '\n')
		return section_finish(p);
	return syntax_error(p, "Invalid character after section");
}

/* partial = "<" number64 "." nz-number64 ">" (RFC 9051 section 9). */
static enum step step_partial(struct imap_parser *p, unsigned char c)
{
	bool size = p->state == STATE_PARTIAL_SIZE;

	if (is_digit(c)) {
		if ((size && p->num_digits == 0 && c == '0') || num_add_digit(p, c) < 0)
			return syntax_error(p, "Invalid partial range");
		return STEP_NEXT;
	}
	if (p->num_digits == 0 || c != (size ? '>' : '.'))
		return syntax_error(p, "Invalid partial range");
	if (size) {
		p->section->partial = true;
		p->section->partial_size = p->num;
		p->state = STATE_PARTIAL_END;
	} else {
		p->section->partial_offset = p->num;
		p->state = STATE_PARTIAL_SIZE;
	}
	p->num = 0;
	p->num_digits = 0;
	return STEP_NEXT;
}

static enum step step_partial_end(struct imap_parser *p, unsigned char c)
{
	if (c == ' ' || c == ')' || c == '\n')
		return section_finish(p);
	return syntax_error(p, "Invalid character after partial range");
}

/*
 * The skip scanner: through the end of the line, discarding the bytes of
 * non-synchronising literals announced on the way. A synchronising one
 * ends the line: its client waits for a continuation that never comes.
 */

static enum step skip_done(struct imap_parser *p)
{
	p->state = STATE_TAG;
	return STEP_NEXT;
}

static enum step step_skip(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case STATE_SKIP_LINE:
		if (c == '\n')
			return skip_done(p);
		if (c == '{') {
			p->skip_num = 0;
			p->skip_digits = 0;
			p->skip_nonsync = false;
			p->skip_overflow = false;
			p->state = STATE_SKIP_BRACE;
		}
		return STEP_NEXT;
	case STATE_SKIP_BRACE:
		if (is_digit(c)) {
			uint64_t d = (uint64_t)(c - '0');
			if (p->skip_num > (UINT64_MAX - d) / 10)
				p->skip_overflow = true;
			else
				p->skip_num = p->skip_num * 10 + d;
			p->skip_digits++;
			return STEP_NEXT;
		}
		if ((c == '+' || c == '}') && p->skip_digits > 0) {
			p->skip_nonsync = c == '+';
			p->skip_cr = false;
			p->state = c == '+' ? STATE_SKIP_BRACE_PLUS : STATE_SKIP_BRACE_END;
			return STEP_NEXT;
		}
		break;
	case STATE_SKIP_BRACE_PLUS:
		if (c == '}') {
			p->state = STATE_SKIP_BRACE_END;
			return STEP_NEXT;
		}
		break;
	case STATE_SKIP_BRACE_END:
		if (c == '\r' && !p->skip_cr) {
			p->skip_cr = true;
			return STEP_NEXT;
		}
		if (c == '\n') {
			if (!p->skip_nonsync)
				return skip_done(p);
			if (p->skip_overflow) {
				p->tag = NULL; /* the failed command's BAD went out */
				return framing_lost(p);
			}
			skip_literal_then_line(p, p->skip_num);
			return STEP_NEXT;
		}
		break;
	default:
		panic("imap-parser: skip step in state %s", parser_states[p->state].name);
	}
	p->state = STATE_SKIP_LINE;
	return STEP_AGAIN;
}

/* parser_step - one byte of a line (not literal data). */
static enum step parser_step(struct imap_parser *p, unsigned char c)
{
	if (!parser_states[p->state].line)
		return step_skip(p, c);
	if (p->cr_pending) {
		if (c != '\n')
			return syntax_error(p, "CR not followed by LF");
		p->cr_pending = false;
	} else if (c == '\r') {
		p->cr_pending = true;
		return STEP_NEXT;
	}

	switch (p->state) {
	case STATE_TAG:
		return step_tag(p, c);
	case STATE_NAME:
		return step_name(p, c);
	case STATE_ARG_START:
		return step_arg_start(p, c);
	case STATE_ARG_SEP:
		return step_arg_sep(p, c);
	case STATE_ATOM:
		return step_atom(p, c);
	case STATE_TILDE:
		return step_tilde(p, c);
	case STATE_QUOTED:
		return step_quoted(p, c);
	case STATE_QUOTED_ESCAPE:
		return step_quoted_escape(p, c);
	case STATE_LITERAL_SIZE:
		return step_literal_size(p, c);
	case STATE_LITERAL_PLUS:
		return step_literal_plus(p, c);
	case STATE_LITERAL_EOL:
		return step_literal_eol(p, c);
	case STATE_SECTION_SPEC:
		return step_section_spec(p, c);
	case STATE_SECTION_LIST:
		return step_section_list(p, c);
	case STATE_SECTION_CLOSE:
		return step_section_close(p, c);
	case STATE_SECTION_END:
		return step_section_end(p, c);
	case STATE_PARTIAL_OFFSET:
	case STATE_PARTIAL_SIZE:
		return step_partial(p, c);
	case STATE_PARTIAL_END:
		return step_partial_end(p, c);
	default:
		panic("imap-parser: byte step in state %s", parser_states[p->state].name);
	}
}

/*
 * Runs of bytes: literal data and skipped literals. Each returns how many
 * bytes of in[0..size) it took; 0 never happens for size > 0.
 */

/* take_literal - a literal's bytes: buffered, or handed out as an event.
 * -1 (after taking through it) at a NUL, which a non-binary literal may
 * not hold (RFC 9051 section 9: literal = "{" number64 ["+"] "}" CRLF
 * *CHAR8, CHAR8 = %x01-ff). A streamed run stops before the NUL, so the
 * caller sees the same bytes before the error however the input came. */
static int take_literal(struct imap_parser *p, const unsigned char *in, size_t size,
			size_t *used_r)
{
	size_t n = p->lit_left < size ? (size_t)p->lit_left : size;
	const unsigned char *nul = p->lit8 ? NULL : memchr(in, '\0', n);

	if (nul != NULL && (nul == in || p->state == STATE_LITERAL_DATA)) {
		n = (size_t)(nul - in) + 1;
		p->lit_left -= n;
		*used_r = n;
		error_set(p, IMAP_PARSER_ERROR_SYNTAX, "NUL byte in literal", true);
		skip_literal_then_line(p, p->lit_left);
		return -1;
	}
	if (nul != NULL)
		n = (size_t)(nul - in);
	if (p->state == STATE_LITERAL_DATA) {
		tok_append(p, in, n);
		p->cmd_len += n;
	} else {
		p->literal.data = in;
		p->literal.data_size = n;
		p->literal.offset = p->literal.size - p->lit_left;
		p->literal.last = n == p->lit_left;
	}
	p->lit_left -= n;
	*used_r = n;
	return 0;
}

/* feed_fail - the error came at in[i], not consumed: the skip scanner
 * takes it next time, unless it ends the line already. */
static int feed_fail(struct imap_parser *p, const unsigned char *in, size_t i, size_t *used_r)
{
	if (p->state == STATE_SKIP_LINE && in[i] == '\n') {
		p->error.skip_line = false;
		p->state = STATE_TAG;
		i++;
	}
	*used_r = i;
	return -1;
}

int imap_parser_feed(struct imap_parser *parser, const void *data, size_t size,
		     size_t *used_r, enum imap_parser_event *event_r)
{
	struct imap_parser *p = parser;
	const unsigned char *in = data;
	size_t i = 0, n;
	bool counted = false;

	assert(p->state != STATE_LITERAL_WAIT); /* accept or refuse first */
	if (p->finished)
		command_reset(p);
	p->continuation = false;
	memset(&p->error, 0, sizeof(p->error));

	for (;;) {
		if (p->state == STATE_LITERAL_DATA && p->lit_left == 0) {
			literal_finish(p); /* also for {0}: needs no input */
			continue;
		}
		if (i == size)
			break;

		switch (p->state) {
		case STATE_LITERAL_DATA:
		case STATE_LITERAL_STREAM:
			if (take_literal(p, in + i, size - i, &n) < 0) {
				*used_r = i + n;
				return -1;
			}
			i += n;
			if (p->state == STATE_LITERAL_DATA)
				continue;
			if (p->literal.last)
				p->state = STATE_ARG_SEP;
			*event_r = IMAP_PARSER_EVENT_LITERAL_DATA;
			*used_r = i;
			return 1;
		case STATE_DEAD:
			i = size;
			continue;
		case STATE_SKIP_LITERAL:
			n = p->skip_left < size - i ? (size_t)p->skip_left : size - i;
			i += n;
			p->skip_left -= n;
			if (p->skip_left == 0)
				p->state = STATE_SKIP_LINE;
			continue;
		default:
			break;
		}

		/* each line byte is counted once, even when stepped twice */
		if (parser_states[p->state].line && !counted) {
			if (p->line_len >= p->limits.line_max) {
				parse_error(p, IMAP_PARSER_ERROR_TOOBIG, "Command line too long");
				return feed_fail(p, in, i, used_r);
			}
			if (p->cmd_len >= p->limits.command_max) {
				parse_error(p, IMAP_PARSER_ERROR_TOOBIG, "Command too large");
				return feed_fail(p, in, i, used_r);
			}
			p->line_len++;
			p->cmd_len++;
			counted = true;
		}

		switch (parser_step(p, in[i])) {
		case STEP_NEXT:
			i++;
			counted = false;
			break;
		case STEP_AGAIN:
			break;
		case STEP_EVENT:
			*event_r = p->event;
			*used_r = i + 1;
			return 1;
		case STEP_PAUSE:
			*used_r = i + 1;
			return 0;
		case STEP_FAIL:
			return feed_fail(p, in, i, used_r);
		case STEP_FAIL_AFTER:
			*used_r = i + 1;
			return -1;
		}
	}
	*used_r = i;
	return 0;
}

bool imap_parser_continuation_wanted(const struct imap_parser *parser)
{
	return parser->continuation;
}

const struct imap_command *imap_parser_command(const struct imap_parser *parser)
{
	return parser->view;
}

struct imap_command *imap_parser_take_command(struct imap_parser *parser)
{
	struct imap_command *cmd = parser->cmd;

	assert(cmd != NULL && parser->finished && parser->event == IMAP_PARSER_EVENT_COMMAND);
	parser->cmd = NULL;
	parser->view = NULL;
	parser->pool = NULL; /* now the command's */
	return cmd;
}

void imap_command_free(struct imap_command **_cmd)
{
	struct imap_command *cmd = *_cmd;

	if (cmd == NULL)
		return;
	*_cmd = NULL;
	struct pool *pool = cmd->pool; /* cmd itself lives in the pool */
	pool_free(&pool);
}

const struct imap_parser_error *imap_parser_get_error(const struct imap_parser *parser)
{
	return &parser->error;
}

const struct imap_parser_literal *imap_parser_get_literal(const struct imap_parser *parser)
{
	return &parser->literal;
}

void imap_parser_literal_accept(struct imap_parser *parser)
{
	assert(parser->state == STATE_LITERAL_WAIT);
	parser->lit_left = parser->literal.size;
	parser->state = STATE_LITERAL_STREAM;
	parser->continuation = parser->literal.sync;
}

void imap_parser_literal_refuse(struct imap_parser *parser)
{
	assert(parser->state == STATE_LITERAL_WAIT);
	parser->finished = true;
	parser->continuation = false;
	if (parser->literal.sync)
		parser->state = STATE_TAG;
	else
		skip_literal_then_line(parser, parser->literal.size);
}
