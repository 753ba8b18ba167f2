/* SPDX-License-Identifier: ISC */
/*
 * smtp-cmd.h - SMTP command lines taken apart, with no session state.
 *
 * The SMTP server reads a line (without CRLF, at most SMTP_CMD_LINE_MAX or
 * SMTP_CMD_LINE_MAX_ESMTP octets), calls smtp_cmd_split() to find the verb
 * for its command table, then the verb's parser here for the argument.
 * Every refusal comes back as a struct mail_error holding the reply the
 * client should get, so the session only adds its reason code and sends.
 * Which extensions were advertised is the caller's business: it passes
 * them in, and parameters of anything not advertised are refused as
 * unknown (RFC 5321 4.1.1.11).
 */
#ifndef POSTINO_SMTP_CMD_H
#define POSTINO_SMTP_CMD_H

#include "lib/lib.h"
#include "mail/addr.h"

struct pool;

/* Command line limit in octets including CRLF (RFC 5321 4.5.3.1.4). */
#define SMTP_CMD_LINE_MAX 512
/* What each extension adds to MAIL/RCPT lines, per its RFC. */
#define SMTP_CMD_SIZE_EXTRA 26       /* RFC 1870 3 (5) */
#define SMTP_CMD_DSN_MAIL_EXTRA 100  /* RET, ENVID: RFC 3461 4 */
#define SMTP_CMD_DSN_RCPT_EXTRA 500  /* NOTIFY, ORCPT: RFC 3461 4 */
#define SMTP_CMD_AUTH_EXTRA 500      /* AUTH=: RFC 4954 3 */
#define SMTP_CMD_BODY_EXTRA 16       /* BODY=: RFC 6152 2 */
#define SMTP_CMD_SMTPUTF8_EXTRA 10   /* SMTPUTF8: RFC 6531 3.1 */
/* The line limit once EHLO advertised all of the above: the longest MAIL
 * line (RCPT lines only grow by 500). */
#define SMTP_CMD_LINE_MAX_ESMTP                                                      \
	(SMTP_CMD_LINE_MAX + SMTP_CMD_SIZE_EXTRA + SMTP_CMD_DSN_MAIL_EXTRA +        \
	 SMTP_CMD_AUTH_EXTRA + SMTP_CMD_BODY_EXTRA + SMTP_CMD_SMTPUTF8_EXTRA)

/* Longest verb worth looking up (STARTTLS has 8 letters); longer words are
 * reported as unknown commands without being copied. */
#define SMTP_CMD_VERB_MAX 12

#define SMTP_CMD_ENVID_MAX 100  /* ENVID value octets, RFC 3461 4.4 */
#define SMTP_CMD_ORCPT_MAX 500  /* ORCPT value octets, RFC 3461 4.2 */
#define SMTP_CMD_SIZE_DIGITS 20 /* size-value = 1*20DIGIT, RFC 1870 3 (4) */

/* Extensions the server advertised in its EHLO reply (none after HELO). */
enum smtp_ext {
	SMTP_EXT_SIZE = 0x01,       /* RFC 1870 */
	SMTP_EXT_8BITMIME = 0x02,   /* RFC 6152 */
	SMTP_EXT_BINARYMIME = 0x04, /* RFC 3030 (with CHUNKING) */
	SMTP_EXT_SMTPUTF8 = 0x08,   /* RFC 6531 */
	SMTP_EXT_DSN = 0x10,        /* RFC 3461 */
	SMTP_EXT_AUTH = 0x20,       /* RFC 4954 */
};

/* Which parameters a MAIL or RCPT line carried (smtp_params.given). */
enum smtp_param {
	SMTP_PARAM_SIZE = 0x01,
	SMTP_PARAM_BODY = 0x02,
	SMTP_PARAM_SMTPUTF8 = 0x04,
	SMTP_PARAM_RET = 0x08,
	SMTP_PARAM_ENVID = 0x10,
	SMTP_PARAM_AUTH = 0x20,
	SMTP_PARAM_NOTIFY = 0x40,
	SMTP_PARAM_ORCPT = 0x80,
};

enum smtp_body {
	SMTP_BODY_NONE = 0, /* not given: RFC 5321 says 7-bit, clients send 8 anyway */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME,
};

enum smtp_ret {
	SMTP_RET_NONE = 0,
	SMTP_RET_FULL,
	SMTP_RET_HDRS,
};

enum smtp_notify {
	SMTP_NOTIFY_NEVER = 0x01,
	SMTP_NOTIFY_SUCCESS = 0x02,
	SMTP_NOTIFY_FAILURE = 0x04,
	SMTP_NOTIFY_DELAY = 0x08,
};

struct smtp_params {
	unsigned given;         /* enum smtp_param */
	uint64_t size;          /* SIZE=; saturates at UINT64_MAX */
	enum smtp_body body;    /* BODY= */
	bool smtputf8;          /* SMTPUTF8 */
	enum smtp_ret ret;      /* RET= */
	const char *envid;      /* ENVID=, xtext decoded; NULL when absent */
	const char *auth;       /* AUTH=, xtext decoded; "" for AUTH=<> (RFC 4954 5) */
	unsigned notify;        /* NOTIFY=, enum smtp_notify */
	const char *orcpt_type; /* ORCPT= address type, lower-cased ("rfc822") */
	const char *orcpt;      /* ORCPT= address, xtext decoded */
};

/* MAIL FROM and RCPT TO: the path and its parameters. */
struct smtp_path_cmd {
	struct addr_path path;
	struct smtp_params params;
};

struct smtp_cmd {
	char verb[SMTP_CMD_VERB_MAX + 1]; /* upper-cased: look it up with strcmp */
	const char *args;                 /* after "VERB ", trailing blanks cut; "" if none */
};

enum smtp_helo_flag {
	SMTP_HELO_LITERAL = 0x01, /* an address literal, not a name */
	SMTP_HELO_NUMERIC = 0x02, /* a "name" whose last label is all digits (a bare IP) */
};

struct smtp_helo {
	const char *domain; /* lower-cased name, or the canonical literal */
	unsigned flags;     /* enum smtp_helo_flag */
};

/* smtp_cmd_split - find the verb: letters, any case, then SP or the end.
 * The line is len octets without its CRLF; a NUL anywhere refuses it (500
 * 5.5.2), as does a verb that is not letters. args is copied into pool. */
int smtp_cmd_split(struct pool *pool, const char *line, size_t len, struct smtp_cmd *cmd_r,
		   struct mail_error *error_r);

/* smtp_cmd_parse_mail - "FROM:<reverse-path> [params]" (RFC 5321 4.1.1.2),
 * with one space after the colon tolerated. ext: the enum smtp_ext bits
 * advertised. A non-ASCII path needs the SMTPUTF8 parameter on this line. */
int smtp_cmd_parse_mail(struct pool *pool, const char *args, unsigned ext,
			struct smtp_path_cmd *mail_r, struct mail_error *error_r);

/* smtp_cmd_parse_rcpt - "TO:<forward-path> [params]" (RFC 5321 4.1.1.3);
 * smtputf8: the transaction's MAIL carried SMTPUTF8. */
int smtp_cmd_parse_rcpt(struct pool *pool, const char *args, unsigned ext, bool smtputf8,
			struct smtp_path_cmd *rcpt_r, struct mail_error *error_r);

/* smtp_cmd_parse_bdat - "chunk-size [LAST]" (RFC 3030 2). */
int smtp_cmd_parse_bdat(const char *args, uint64_t *size_r, bool *last_r,
			struct mail_error *error_r);

/* smtp_cmd_parse_helo - the HELO/EHLO argument: a Domain or an address
 * literal (RFC 5321 4.1.1.1), nothing after it. A numeric last label is
 * grammatical and only flagged: clients do send bare IPs. */
int smtp_cmd_parse_helo(struct pool *pool, const char *args, struct smtp_helo *helo_r,
			struct mail_error *error_r);

/* xtext (RFC 3461 4): smtp_xtext_decode() refuses malformed "+XX" and
 * characters outside xchar, and decoded octets outside printable ASCII
 * (space allowed: quoted local parts hold it). */
int smtp_xtext_decode(struct pool *pool, const char *in, const char **out_r);
const char *smtp_xtext_encode(struct pool *pool, const char *in);

#endif
