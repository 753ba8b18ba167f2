/* SPDX-License-Identifier: ISC */
/*
 * fuzz-sasl.c - libFuzzer: SASL response lines and PLAIN messages, as
 * SMTP AUTH, IMAP AUTHENTICATE and POP3 AUTH receive them.
 *
 *   never a crash, never more than the buffer's limit
 *   what decodes re-encodes to the line ("=" for an empty response)
 *   a PLAIN split gives an authcid and a password inside the message,
 *   whose lengths add up with the authzid's to the message's length, and
 *   an authzid that is neither empty nor the authcid is always refused
 */
#include "lib/lib.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "mail/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SASL_MAX SASL_PLAIN_DECODED_MAX(1024)

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_plain(const char *msg, size_t len)
{
	const char *authcid = NULL, *passwd = NULL;
	enum sasl_plain_error e = sasl_plain_split(msg, len, &authcid, &passwd);
	size_t nuls = 0;

	for (size_t i = 0; i < len; i++)
		nuls += msg[i] == '\0';
	if (nuls != 2) {
		check(e == SASL_PLAIN_SYNTAX);
		return;
	}
	size_t zlen = strlen(msg);
	const char *cid = msg + zlen + 1;
	if (zlen > 0 && strcmp(msg, cid) != 0) {
		check(e == SASL_PLAIN_PROXY);
		return;
	}
	check(e == SASL_PLAIN_OK);
	check(authcid == cid && passwd == cid + strlen(cid) + 1);
	check(zlen + strlen(authcid) + strlen(passwd) + 2 == len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf msg, again;
	const char *line = (const char *)data;

	/* the message itself, as if decoded */
	buf_init(&msg, 0);
	if (buf_append(&msg, data, size) < 0)
		abort();
	check_plain(msg.len > 0 ? msg.data : "", msg.len);
	buf_release(&msg);

	/* the line, decoded */
	buf_init(&msg, FUZZ_SASL_MAX);
	if (sasl_decode(line, size, &msg) == 0) {
		check(msg.len <= FUZZ_SASL_MAX);
		buf_init(&again, 0);
		if (msg.len == 0) {
			check(size == 1 && line[0] == '=');
		} else {
			if (base64_encode(msg.data, msg.len, &again) < 0)
				abort();
			check(again.len == size && memcmp(again.data, line, size) == 0);
		}
		buf_release(&again);
		check_plain(msg.len > 0 ? msg.data : "", msg.len);
	}
	buf_release(&msg);
	return 0;
}
