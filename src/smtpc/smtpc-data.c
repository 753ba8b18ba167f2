/* SPDX-License-Identifier: ISC */
/*
 * smtpc-data.c - the message after 354: read from its file in chunks,
 * line ends made CR LF, line-initial dots doubled (RFC 5321 4.5.2), the
 * last line ended, then "." CR LF.
 *
 * The file is never held in memory: one chunk is read while less than
 * SMTPC_OUTPUT_HIGH octets wait to be sent, and the bufferevent's write
 * callback (output drained below SMTPC_OUTPUT_LOW) asks for more. Each
 * such step re-arms the data block timeout (RFC 5321 4.5.3.2.5).
 *
 * Every CR, LF and CR LF in the file becomes CR LF, bare CRs included:
 * the only CR LF "." CR LF we ever send is the real end, so a message
 * cannot carry an SMTP smuggling sequence through us.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "smtpc/smtpc-private.h"

#include <fcntl.h>
#include <unistd.h>

/* Worst case per input octet is two output octets, plus what a CR left
 * pending at the end of the previous chunk and the end line add. */
#define SMTPC_CHUNK_OUT (2 * SMTPC_CHUNK + 16)

void smtpc_dot_encoder_init(struct smtpc_dot_encoder *e)
{
	e->line_start = true;
	e->pending_cr = false;
	e->any = false;
}

size_t smtpc_dot_encode(struct smtpc_dot_encoder *e, const char *in, size_t len, char *out,
			bool last)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = in[i];

		if (e->pending_cr) {
			e->pending_cr = false;
			out[o++] = '\r';
			out[o++] = '\n';
			e->line_start = true;
			if (ch == '\n')
				continue;
		}
		if (ch == '\r') {
			e->pending_cr = true;
			e->any = true;
			continue;
		}
		if (ch == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			e->line_start = true;
			e->any = true;
			continue;
		}
		if (e->line_start && ch == '.')
			out[o++] = '.';
		out[o++] = ch;
		e->line_start = false;
		e->any = true;
	}
	if (last) {
		if (e->pending_cr || !e->line_start) {
			out[o++] = '\r';
			out[o++] = '\n';
		}
		e->pending_cr = false;
		e->line_start = true;
		memcpy(out + o, ".\r\n", 3);
		o += 3;
	}
	return o;
}

int smtpc_data_begin(struct smtpc *c, char **error_r)
{
	smtpc_data_end(c);
	c->body_fd = open(c->msg->path, O_RDONLY | O_CLOEXEC);
	if (c->body_fd < 0) {
		*error_r = xasprintf("cannot open the message file %s: %s", c->msg->path,
				     strerror(errno));
		return -1;
	}
	c->chunk_in = xmalloc(SMTPC_CHUNK);
	c->chunk_out = xmalloc(SMTPC_CHUNK_OUT);
	smtpc_dot_encoder_init(&c->enc);
	return 0;
}

void smtpc_data_pump(struct smtpc *c)
{
	while (c->state == SMTPC_STATE_BODY) {
		ssize_t n;
		size_t out_len;

		if (smtpc_output_pending(c) >= SMTPC_OUTPUT_HIGH) {
			smtpc_arm_timer(c, SMTPC_TIMEOUT_BLOCK_MS);
			return; /* the write callback calls again */
		}
		n = read(c->body_fd, c->chunk_in, SMTPC_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* half a message is on the wire: only closing ends it */
			struct smtpc_reply r;
			smtpc_reply_set(&r, 0, "", "data", "smtpc.local-error",
					"cannot read the message file %s: %s", c->msg->path,
					strerror(errno));
			c->in_sync = false;
			smtpc_fail(c, &r);
			return;
		}
		out_len = smtpc_dot_encode(&c->enc, c->chunk_in, (size_t)n, c->chunk_out, n == 0);
		smtpc_write(c, c->chunk_out, out_len);
		c->body_bytes += (uint64_t)n;
		if (n == 0) {
			smtpc_data_end(c);
			smtpc_set_state(c, SMTPC_STATE_DOT);
			smtpc_arm_timer(c, SMTPC_TIMEOUT_DOT_MS);
			smtpc_read_replies(c); /* a reply may have come early */
			return;
		}
	}
}

void smtpc_data_end(struct smtpc *c)
{
	if (c->body_fd >= 0)
		close(c->body_fd);
	c->body_fd = -1;
	free(c->chunk_in);
	free(c->chunk_out);
	c->chunk_in = NULL;
	c->chunk_out = NULL;
}
