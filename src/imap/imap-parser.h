/* SPDX-License-Identifier: ISC */
/*
 * imap-parser.h - the incremental IMAP command parser: bytes in, one
 * command (tag, name, argument tree) out, whatever the chunking.
 *
 * The grammar is the client side of RFC 3501 section 9 and RFC 9051
 * section 9: atoms, quoted strings, literals {n}, {n+} (RFC 7888) and
 * ~{n} (RFC 3516), NIL, nested lists, and FETCH's BODY[...]<...> sections.
 * The parser knows no command semantics beyond that: "UID x" is one
 * command name, and FETCH/UID FETCH switch on the section syntax.
 *
 * How an IMAP session drives it (the session owns the socket, the parser
 * never writes):
 *
 *	while (input is buffered) {
 *		ret = imap_parser_feed(p, data, len, &used, &event);
 *		drain `used` bytes from the input;
 *		if (imap_parser_continuation_wanted(p))
 *			send "+ OK\r\n";  (a synchronising literal is next)
 *		if (ret < 0) {
 *			err = imap_parser_get_error(p);
 *			send "<err->tag or *> BAD [TOOBIG|LIMIT] <err->text>";
 *			if (err->fatal) disconnect;
 *			continue;         (the parser skips the rest itself;
 *			                   a streamed literal being taken is
 *			                   abandoned: drop what it wrote)
 *		}
 *		if (ret == 0)
 *			continue;         (all consumed: wait for input)
 *		switch (event) {
 *		case IMAP_PARSER_EVENT_COMMAND:
 *			run imap_parser_command(p) (or take it and run it later);
 *			stop feeding until the command is done when it must own
 *			the following input (IDLE's DONE, AUTHENTICATE lines are
 *			read raw: the parser stops exactly after each command);
 *		case IMAP_PARSER_EVENT_LITERAL:
 *			a literal too big to buffer (APPEND's message): look at
 *			the arguments so far (imap_parser_command()), then
 *			imap_parser_literal_accept() or _refuse() (and reply NO or
 *			BAD yourself); after accept, check for a continuation;
 *		case IMAP_PARSER_EVENT_LITERAL_DATA:
 *			consume imap_parser_get_literal(p)->data (points into the
 *			bytes just fed: use it before draining them); to slow a
 *			client down, just stop feeding for a while;
 *		}
 *	}
 *
 * After an error the parser discards input up to the end of the command
 * line, honouring the non-synchronising literals announced on it (their
 * bytes are on the wire) and stopping at a synchronising one (the client
 * waits for a "+" that never comes, and gets the tagged BAD instead).
 * The one exception is a non-synchronising literal whose size does not
 * even fit in 64 bits: its bytes cannot be skipped, and parsing them as
 * commands would let data the client relays (a message, a search string)
 * inject commands, so the error is fatal. The session may also choose to
 * disconnect on other errors (for example after repeated TOOBIGs).
 *
 * Deliberately lenient, as Dovecot is: extra spaces between arguments and
 * before the line end, and a bare LF as the line end. A bare CR is not.
 *
 * Memory: each command's strings and tree live in a pool that is freed
 * when the next command starts (imap_parser_take_command() keeps it).
 * An idle parser holds well under 2 KB.
 */
#ifndef POSTINO_IMAP_PARSER_H
#define POSTINO_IMAP_PARSER_H

#include "lib/lib.h"
#include "imap/imap-arg.h"

struct pool;

/* Bytes of one command line outside literals. RFC 7162 section 4 asks
 * servers to accept lines of at least 8192 octets; Dovecot's default
 * imap_max_line_length is 64 KiB, and long UID sets need it. */
#define IMAP_PARSER_LINE_MAX (64 * 1024)
/* A whole command: all its lines plus the literals buffered into it
 * (streamed literals do not count). */
#define IMAP_PARSER_COMMAND_MAX (1024 * 1024)
/* The largest literal accepted at all: the APPENDLIMIT we advertise
 * (RFC 7889). */
#define IMAP_PARSER_LITERAL_MAX (50 * 1024 * 1024)
/* Literals up to this size are buffered into their argument; larger ones
 * are offered to the caller as a stream (IMAP_PARSER_EVENT_LITERAL). */
#define IMAP_PARSER_LITERAL_BUFFER_MAX (64 * 1024)
/* Open parentheses (and FETCH header lists) at once. */
#define IMAP_PARSER_DEPTH_MAX 32
/* Arguments in one command, counting every list element at every level:
 * a 64 KiB line could otherwise cost a megabyte of tree. */
#define IMAP_PARSER_ARGS_MAX 4096
/* RFC 7888: with LITERAL- a non-synchronising literal may hold
 * at most 4096 octets. */
#define IMAP_PARSER_LITERAL_MINUS_MAX 4096

struct imap_parser_limits {
	size_t line_max;
	size_t command_max;
	uint64_t literal_max;
	size_t literal_buffer_max; /* <= literal_max; = literal_max never streams */
	unsigned depth_max;
	unsigned args_max;
};

/* The IMAP_PARSER_*_MAX values above. */
extern const struct imap_parser_limits imap_parser_default_limits;

enum imap_parser_flags {
	/* UTF8=ACCEPT was enabled (RFC 6855) or IMAP4rev2 is in
	 * use (RFC 9051 section 9, QUOTED-CHAR): quoted strings may hold
	 * UTF-8 (validated). Without it 8-bit data in a quoted string is an
	 * error, as RFC 3501 section 9 defines QUOTED-CHAR as 7-bit. */
	IMAP_PARSER_FLAG_UTF8 = 1 << 0,
	/* BINARY is advertised: accept literal8 ~{n} (RFC 3516),
	 * which may hold NUL bytes. */
	IMAP_PARSER_FLAG_LITERAL8 = 1 << 1,
	/* Advertise LITERAL- rather than LITERAL+: refuse non-synchronising
	 * literals over IMAP_PARSER_LITERAL_MINUS_MAX (RFC 7888). */
	IMAP_PARSER_FLAG_LITERAL_MINUS = 1 << 2,
};

struct imap_command {
	struct pool *pool; /* everything below lives here */
	const char *tag;
	const char *name;  /* upper-case ASCII; "UID FETCH" for UID commands */
	const struct imap_arg *args;
	unsigned count;
};

enum imap_parser_event {
	/* A whole command: imap_parser_command(). */
	IMAP_PARSER_EVENT_COMMAND,
	/* A literal over literal_buffer_max was announced. The command so far
	 * is in imap_parser_command(), ending with an IMAP_ARG_LITERAL_STREAM
	 * (lists still open appear closed, holding what was parsed); details
	 * in imap_parser_get_literal(). Call _literal_accept() or _refuse()
	 * before feeding again. */
	IMAP_PARSER_EVENT_LITERAL,
	/* The next bytes of an accepted literal: imap_parser_get_literal(). */
	IMAP_PARSER_EVENT_LITERAL_DATA,
};

enum imap_parser_error_code {
	IMAP_PARSER_ERROR_NONE,
	IMAP_PARSER_ERROR_SYNTAX, /* BAD */
	/* BAD [TOOBIG] (the code of RFC 4469, as RFC 7888 and RFC 7889 use
	 * it): a line, command or literal over its limit */
	IMAP_PARSER_ERROR_TOOBIG,
	/* BAD [LIMIT] (RFC 5530 section 3): nesting or argument count */
	IMAP_PARSER_ERROR_LIMIT,
};

struct imap_parser_error {
	enum imap_parser_error_code code;
	const char *text;  /* for the BAD reply, no CRLF */
	const char *tag;   /* NULL while the tag was not (validly) read: "* BAD" */
	/* the rest of the command line is being discarded (false when the
	 * error came at its end, or at a refused synchronising literal) */
	bool skip_line;
	/* a non-synchronising literal too large to count was announced: its
	 * bytes cannot be told from commands, so from here on all input is
	 * discarded. Reply, then disconnect. */
	bool fatal;
};

struct imap_parser_literal {
	uint64_t size;          /* as announced */
	bool sync;              /* {n}: the client waits for a continuation */
	bool literal8;          /* ~{n} */
	/* IMAP_PARSER_EVENT_LITERAL_DATA: */
	const unsigned char *data;
	size_t data_size;
	uint64_t offset;        /* of data within the literal */
	bool last;              /* data ends the literal */
};

struct imap_parser;

/* limits NULL = imap_parser_default_limits. */
struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits,
				    enum imap_parser_flags flags);
void imap_parser_free(struct imap_parser **_parser);
/* ENABLE UTF8=ACCEPT, or BINARY on/off: applies from the next byte. */
void imap_parser_set_flags(struct imap_parser *parser, enum imap_parser_flags flags);
/* Drop any partial command (after STARTTLS discarded buffered input). */
void imap_parser_reset(struct imap_parser *parser);

/* imap_parser_feed - consume input. *used_r bytes were taken (drain them).
 * 1: an event is ready (*event_r). 0: need more input; all bytes were
 * used, except that it stops right after a synchronising literal's header
 * so the continuation goes out first (imap_parser_continuation_wanted()).
 * -1: a syntax or limit error (imap_parser_get_error()); feed the
 * remaining bytes again: they are discarded up to the end of the line. */
int imap_parser_feed(struct imap_parser *parser, const void *data, size_t size,
		     size_t *used_r, enum imap_parser_event *event_r);

/* A synchronising literal is next: send "+ " text before more input
 * comes (RFC 3501 section 7.5). Set by feed() and literal_accept(). */
bool imap_parser_continuation_wanted(const struct imap_parser *parser);

/* The command of the last COMMAND or LITERAL event. Valid until the next
 * feed() after the command ended (COMMAND event, error or refusal). */
const struct imap_command *imap_parser_command(const struct imap_parser *parser);
/* Keep the last COMMAND beyond the next feed(); free it with
 * imap_command_free(). */
struct imap_command *imap_parser_take_command(struct imap_parser *parser);
void imap_command_free(struct imap_command **_cmd);

/* The last error (after feed() returned -1). */
const struct imap_parser_error *imap_parser_get_error(const struct imap_parser *parser);

/* The literal of the last LITERAL or LITERAL_DATA event. */
const struct imap_parser_literal *imap_parser_get_literal(const struct imap_parser *parser);
/* Take the announced literal: its bytes come as LITERAL_DATA events. */
void imap_parser_literal_accept(struct imap_parser *parser);
/* Refuse it: the command ends here (the caller replies NO or BAD to its
 * tag); a non-synchronising literal's bytes and the rest of the line are
 * then discarded. */
void imap_parser_literal_refuse(struct imap_parser *parser);

#endif
