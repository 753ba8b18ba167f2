/* SPDX-License-Identifier: ISC */
/*
 * imap-fetch.c - the FETCH engine: one "* n FETCH (...)" per message,
 * resumable, streaming message data from the file.
 *
 * DESIGN
 * Messages are read from the index in batches of FETCH_BATCH (the
 * iterator is closed between batches, because computing a missing
 * ENVELOPE/BODYSTRUCTURE or following a renamed file writes through the
 * same handle). A message that needs its content is mmapped; BODY[...]
 * ranges come from the MIME tree (mail/mime.h, imap-bodystructure.h) and
 * are written in FETCH_CHUNK slices straight from the mapping. Whenever
 * more than IMAP_OUTPUT_HIGH waits for the peer, the command stops and
 * resumes when it drained (imap_cmd_wait_output), in the middle of a
 * literal if need be: a 50 MB message or a 100,000-message FETCH holds at
 * most a few hundred KB per session.
 *
 * IMAP sends CRLF line ends and counts sizes that way (RFC822.SIZE is the
 * W= size). Files written with bare LFs (imported Maildirs) are converted
 * on the fly, with <partial> ranges counted in converted octets.
 *
 * BINARY[part] (RFC 3516) decodes the part's transfer encoding into
 * memory first (one part at a time), then streams it like any literal.
 *
 * ENVELOPE and BODYSTRUCTURE come from the index's cache; messages not
 * parsed yet are parsed on a worker, a batch at a time.
 *
 * Non-PEEK sections set \Seen first (on a worker, one index call for the
 * whole set), and the FETCH response then carries the new FLAGS (RFC 3501
 * 6.4.5).
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/imap-bodystructure.h"
#include "mail/mime.h"
#include "store/index.h"
#include "imap/imap-private.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Messages read from the index at once. */
#define FETCH_BATCH 64
/* Literal octets written per slice. */
#define FETCH_CHUNK (64 * 1024)
/* The MIME tree's pool grows by this much. */
#define FETCH_MIME_POOL 8192

struct fetch_msg {
	uint32_t uid, seq;
	unsigned flags;
	char *keywords;
	uint64_t modseq;
	int64_t internaldate;
	uint64_t size, vsize;
	char *envelope, *body, *bodystructure;
};

/* A literal being written: bytes [start, end) of data, converted. */
struct fetch_stream {
	const unsigned char *data;
	size_t start, pos, end;
	bool convert;       /* bare LF -> CRLF */
	bool pending_lf;    /* converting: the LF after an emitted CR */
	uint64_t skip;      /* converted octets still to skip (<partial> origin) */
	uint64_t left;      /* octets still to send */
};

struct fetch_ctx {
	struct imap_fetch_request *req;
	bool need_file, need_cache, set_seen;
	struct fetch_msg batch[FETCH_BATCH];
	size_t batch_count, batch_pos;
	uint32_t next_uid;
	bool iter_done;
	/* the message being written */
	bool in_msg;
	unsigned item;
	bool first_item;
	int fd;
	void *map;
	size_t map_size;
	struct pool *mpool;
	struct mime_part *root;
	struct buf line, lit;
	bool streaming;
	struct fetch_stream st;
	struct imap_seqset seen;  /* UIDs this FETCH set \Seen on */
	unsigned vanished;        /* messages gone before they could be read */
	bool unknown_cte;         /* a BINARY part could not be decoded */
};

static void fetch_continue(struct imap_cmd *cmd);
static bool fetch_cache_batch(struct imap_cmd *cmd, struct fetch_ctx *c);

/* ---- messages ---- */

static void msg_clear(struct fetch_msg *m)
{
	free(m->keywords);
	free(m->envelope);
	free(m->body);
	free(m->bodystructure);
	memset(m, 0, sizeof(*m));
}

static void fetch_release_file(struct fetch_ctx *c)
{
	if (c->map != NULL)
		munmap(c->map, c->map_size);
	c->map = NULL;
	c->map_size = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	pool_free(&c->mpool);
	c->root = NULL;
}

static void fetch_deinit(struct imap_cmd *cmd)
{
	struct fetch_ctx *c = cmd->ctx;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->batch_count; i++)
		msg_clear(&c->batch[i]);
	fetch_release_file(c);
	buf_release(&c->line);
	buf_release(&c->lit);
	imap_seqset_clear(&c->seen);
	free(c);
	cmd->ctx = NULL;
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* fetch_load_batch - the next FETCH_BATCH messages of the request that
 * the view knows, from next_uid on. -1 on an index error. */
static int fetch_load_batch(struct imap_cmd *cmd, struct fetch_ctx *c)
{
	struct imap_session *s = cmd->s;
	const struct imap_fetch_request *req = c->req;
	struct index_uid_range *ranges = xmalloc((req->range_count + 1) * sizeof(*ranges));
	struct index_iter *iter;
	struct index_message m;
	size_t n = 0;
	int ret = 1;

	for (size_t i = 0; i < c->batch_count; i++)
		msg_clear(&c->batch[i]);
	c->batch_count = c->batch_pos = 0;
	for (size_t i = 0; i < req->range_count; i++) {
		if (req->ranges[i].last < c->next_uid)
			continue;
		ranges[n] = req->ranges[i];
		if (ranges[n].first < c->next_uid)
			ranges[n].first = c->next_uid;
		n++;
	}
	if (n == 0) {
		free(ranges);
		c->iter_done = true;
		return 0;
	}
	if (index_iter_init(s->index, s->sel->id, ranges, n, false, &iter) < 0) {
		free(ranges);
		return -1;
	}
	while (c->batch_count < FETCH_BATCH && (ret = index_iter_next(iter, &m)) > 0) {
		uint32_t seq = imap_view_seq(s->sel, m.uid);
		if (m.uid == UINT32_MAX)
			c->iter_done = true;
		else
			c->next_uid = m.uid + 1;
		if (seq == 0 || (req->changedsince_set && m.modseq <= req->changedsince))
			continue;
		struct fetch_msg *f = &c->batch[c->batch_count++];
		f->uid = m.uid;
		f->seq = seq;
		f->flags = m.flags;
		f->keywords = xstrdup(m.keywords != NULL ? m.keywords : "");
		f->modseq = m.modseq;
		f->internaldate = m.internaldate;
		f->size = m.size;
		f->vsize = m.vsize;
		if (c->need_cache) {
			f->envelope = dup_or_null(m.envelope);
			f->body = dup_or_null(m.body);
			f->bodystructure = dup_or_null(m.bodystructure);
		}
	}
	if (ret == 0)
		c->iter_done = true;
	index_iter_deinit(&iter);
	free(ranges);
	return ret < 0 ? -1 : 0;
}

/* fetch_open_file - map the message; 0 = it is gone, -1 = error. */
static int fetch_open_file(struct imap_cmd *cmd, struct fetch_ctx *c, struct fetch_msg *m)
{
	struct imap_session *s = cmd->s;
	struct stat st;
	char *path;
	int ret = index_message_path(s->index, s->sel->id, m->uid, &path);

	if (ret <= 0)
		return ret;
	c->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->fd < 0) {
		ret = errno == ENOENT ? 0 : -1;
		if (ret < 0)
			log_warn("imap fetch sid=%s: open %s: %s", s->sid, path, strerror(errno));
		free(path);
		return ret;
	}
	free(path);
	if (fstat(c->fd, &st) < 0)
		return -1;
	c->map_size = (size_t)st.st_size;
	if (c->map_size > 0) {
		c->map = mmap(NULL, c->map_size, PROT_READ, MAP_PRIVATE, c->fd, 0);
		if (c->map == MAP_FAILED) {
			c->map = NULL;
			return -1;
		}
	}
	return 1;
}

/* fetch_fill_cache - ENVELOPE/BODY/BODYSTRUCTURE not cached yet. */
static int fetch_fill_cache(struct imap_cmd *cmd, struct fetch_msg *m)
{
	struct index_cache cache;
	int ret;

	if (m->envelope != NULL && m->body != NULL && m->bodystructure != NULL)
		return 1;
	ret = index_message_cache(cmd->s->index, cmd->s->sel->id, m->uid, &cache);
	if (ret <= 0)
		return ret;
	free(m->envelope);
	free(m->body);
	free(m->bodystructure);
	m->envelope = cache.envelope;
	m->body = cache.body;
	m->bodystructure = cache.bodystructure;
	memset(&cache, 0, sizeof(cache));
	return 1;
}

/* ---- literals ---- */

static uint64_t count_vsize(const unsigned char *data, size_t start, size_t end)
{
	uint64_t v = end - start;

	for (size_t i = start; i < end; i++) {
		if (data[i] == '\n' && (i == start || data[i - 1] != '\r'))
			v++;
	}
	return v;
}

/* append_crlf - data to out with every bare LF as CRLF. */
static int append_crlf(struct buf *out, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r') && buf_append(out, "\r", 1) < 0)
			return -1;
		if (buf_append(out, &p[i], 1) < 0)
			return -1;
	}
	return 0;
}

static bool field_listed(const struct imap_fetch_item *it, const unsigned char *name, size_t len)
{
	for (unsigned i = 0; i < it->field_count; i++) {
		if (strlen(it->fields[i]) == len &&
		    str_ncasecmp(it->fields[i], (const char *)name, len) == 0)
			return true;
	}
	return false;
}

/* header_fields - HEADER.FIELDS (.NOT): the fields named (or all the
 * others) from the header range, with the empty line that ends it. */
static int header_fields(const struct imap_fetch_item *it, const unsigned char *h, size_t len,
			 struct buf *out)
{
	size_t i = 0;

	while (i < len) {
		size_t start = i, colon;
		if (h[i] == '\n' || (h[i] == '\r' && i + 1 < len && h[i + 1] == '\n'))
			break; /* the empty line */
		do {
			while (i < len && h[i] != '\n')
				i++;
			if (i < len)
				i++;
		} while (i < len && (h[i] == ' ' || h[i] == '\t'));
		for (colon = start; colon < i && h[colon] != ':' && h[colon] != '\n'; colon++)
			;
		size_t nlen = colon - start;
		while (nlen > 0 && (h[start + nlen - 1] == ' ' || h[start + nlen - 1] == '\t'))
			nlen--;
		if (colon < i && h[colon] == ':' && field_listed(it, h + start, nlen) != it->fields_not &&
		    append_crlf(out, h + start, i - start) < 0)
			return -1;
	}
	return buf_append_str(out, "\r\n");
}

/* section_base - "1.HEADER" for "1.HEADER.FIELDS" and "1.HEADER.FIELDS.NOT". */
static char *section_base(struct pool *pool, const char *spec)
{
	size_t n = strlen(spec);

	if (n >= 17 && str_casecmp(spec + n - 17, "HEADER.FIELDS.NOT") == 0)
		return p_strndup(pool, spec, n - 11);
	if (n >= 13 && str_casecmp(spec + n - 13, "HEADER.FIELDS") == 0)
		return p_strndup(pool, spec, n - 7);
	return p_strdup(pool, spec);
}

/* section_stream - point c->st at the item's octets (converted size in
 * *vsize_r). An absent part is an empty string. -1 on a full buffer. */
static int section_stream(struct imap_cmd *cmd, struct fetch_ctx *c, const struct fetch_msg *m,
			  const struct imap_fetch_item *it, uint64_t *vsize_r)
{
	const unsigned char *data = c->map;
	struct mime_size range = { 0 };
	const struct mime_part *part;
	const char *error;

	memset(&c->st, 0, sizeof(c->st));
	if (it->spec[0] == '\0') {
		range.offset = 0;
		range.size = c->map_size;
		range.vsize = c->map_size == m->size ? m->vsize : count_vsize(data, 0, c->map_size);
	} else {
		if (c->root == NULL) {
			c->mpool = pool_new(FETCH_MIME_POOL);
			c->root = mime_parse(c->mpool, data != NULL ? (const void *)data : "",
					     c->map_size);
		}
		if (imap_section_find(c->root, section_base(cmd->pool, it->spec), &range, &part,
				      &error) < 0)
			memset(&range, 0, sizeof(range));
		if (it->fields != NULL) {
			buf_reset(&c->lit);
			if (range.size > 0 &&
			    header_fields(it, data + range.offset, range.size, &c->lit) < 0)
				return -1;
			data = (const unsigned char *)c->lit.data;
			range.offset = 0;
			range.size = range.vsize = c->lit.len;
		}
	}
	c->st.data = data;
	c->st.start = c->st.pos = range.offset;
	c->st.end = range.offset + range.size;
	c->st.convert = range.vsize != range.size;
	*vsize_r = range.vsize;
	return 0;
}

/* stream_write - send what the peer can take; 1 = all sent, 0 = output
 * full (call again once it drained). */
static int stream_write(struct imap_session *s, struct fetch_stream *st)
{
	char out[FETCH_CHUNK];

	while (st->left > 0) {
		if (imap_output_full(s))
			return 0;
		if (!st->convert) {
			size_t n = st->left < FETCH_CHUNK ? (size_t)st->left : FETCH_CHUNK;
			if (n > st->end - st->pos)
				n = st->end - st->pos;
			if (n == 0)
				break;
			imap_write(s, st->data + st->pos, n);
			st->pos += n;
			st->left -= n;
			continue;
		}
		size_t o = 0;
		while (o < sizeof(out) && st->left > 0) {
			char ch;
			if (st->pending_lf) {
				ch = '\n';
				st->pending_lf = false;
			} else if (st->pos < st->end) {
				unsigned char b = st->data[st->pos++];
				if (b == '\n' && (st->pos - 1 == st->start || st->data[st->pos - 2] != '\r')) {
					ch = '\r';
					st->pending_lf = true;
				} else {
					ch = (char)b;
				}
			} else {
				break;
			}
			if (st->skip > 0) {
				st->skip--;
				continue;
			}
			out[o++] = ch;
			st->left--;
		}
		if (o == 0)
			break;
		imap_write(s, out, o);
	}
	/* the file shrank under us: keep the literal's announced length */
	for (; st->left > 0; st->left--)
		imap_write(s, " ", 1);
	return 1;
}

/* ---- items ---- */

static void fetch_flush_line(struct imap_session *s, struct fetch_ctx *c)
{
	if (c->line.len == 0)
		return;
	imap_protolog(s, '>', "%s", c->line.data);
	imap_write(s, c->line.data, c->line.len);
	buf_reset(&c->line);
}

/* fetch_section - the label and the literal header; starts the stream. */
static int fetch_section(struct imap_cmd *cmd, struct fetch_ctx *c, const struct fetch_msg *m,
			 const struct imap_fetch_item *it)
{
	uint64_t vsize, n;

	if (section_stream(cmd, c, m, it, &vsize) < 0)
		return -1;
	if (it->partial) {
		n = vsize > it->partial_offset ? vsize - it->partial_offset : 0;
		if (n > it->partial_size)
			n = it->partial_size;
		if (!c->st.convert)
			c->st.pos += (size_t)(it->partial_offset < vsize ? it->partial_offset : vsize);
		else
			c->st.skip = it->partial_offset;
	} else {
		n = vsize;
	}
	c->st.left = n;
	if (buf_printf(&c->line, "%s {%llu}\r\n", it->label, (unsigned long long)n) < 0)
		return -1;
	fetch_flush_line(cmd->s, c);
	c->streaming = true;
	return 0;
}

/* binary_decode - the content of a BINARY item into c->lit: the whole
 * message for "", else the part decoded from its transfer encoding.
 * 0, -1 on a full buffer, -2 for an encoding we cannot undo. */
static int binary_decode(struct imap_cmd *cmd, struct fetch_ctx *c, const struct fetch_msg *m,
			 const struct imap_fetch_item *it)
{
	const unsigned char *data = c->map;
	struct mime_size range;
	const struct mime_part *part;
	const char *error, *encoding = NULL;

	buf_reset(&c->lit);
	if (it->spec[0] == '\0')
		return c->map_size > 0 ? append_crlf(&c->lit, data, c->map_size) : 0;
	if (c->root == NULL) {
		c->mpool = pool_new(FETCH_MIME_POOL);
		c->root = mime_parse(c->mpool, data != NULL ? (const void *)data : "", c->map_size);
	}
	if (imap_section_find(c->root, it->spec, &range, &part, &error) < 0)
		return 0; /* no such part: empty, as for BODY[] */
	if ((part->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE)) == 0)
		encoding = part->encoding;
	if (range.size == 0)
		return 0;
	/* c->lit has no limit: -1 means an encoding we do not know */
	return imap_cte_decode(encoding, data + range.offset, range.size, &c->lit) < 0 ? -2 : 0;
}

/* fetch_binary - BINARY[part]<partial> and BINARY.SIZE[part] (RFC 3516). */
static int fetch_binary(struct imap_cmd *cmd, struct fetch_ctx *c, const struct fetch_msg *m,
			const struct imap_fetch_item *it)
{
	int ret = binary_decode(cmd, c, m, it);
	uint64_t len, n, off;

	if (ret == -2) {
		c->unknown_cte = true;
		return buf_printf(&c->line, "%s NIL", it->label);
	}
	if (ret < 0)
		return -1;
	len = c->lit.len;
	if (it->type == IMAP_FETCH_BINARY_SIZE)
		return buf_printf(&c->line, "%s %llu", it->label, (unsigned long long)len);
	off = it->partial ? (it->partial_offset < len ? it->partial_offset : len) : 0;
	n = len - off;
	if (it->partial && n > it->partial_size)
		n = it->partial_size;
	memset(&c->st, 0, sizeof(c->st));
	c->st.data = (const unsigned char *)c->lit.data;
	c->st.start = 0;
	c->st.pos = (size_t)off;
	c->st.end = c->lit.len;
	c->st.left = n;
	/* literal8 when the data holds NUL (RFC 3516 4.2) */
	if (buf_printf(&c->line, "%s %s{%llu}\r\n", it->label,
		       n > 0 && memchr(c->lit.data + off, '\0', (size_t)n) != NULL ? "~" : "",
		       (unsigned long long)n) < 0)
		return -1;
	fetch_flush_line(cmd->s, c);
	c->streaming = true;
	return 0;
}

/* fetch_item - one item of a message; sections start a stream. */
static int fetch_item(struct imap_cmd *cmd, struct fetch_ctx *c, const struct fetch_msg *m,
		      const struct imap_fetch_item *it)
{
	char date[IMAP_DATETIME_MAX];
	struct buf *b = &c->line;

	if (!c->first_item && buf_append_str(b, " ") < 0)
		return -1;
	c->first_item = false;
	switch (it->type) {
	case IMAP_FETCH_UID:
		return buf_printf(b, "UID %u", m->uid);
	case IMAP_FETCH_FLAGS:
		if (buf_append_str(b, "FLAGS ") < 0)
			return -1;
		return imap_flags_write(b, m->flags, m->keywords);
	case IMAP_FETCH_INTERNALDATE:
		imap_datetime_format(m->internaldate, date);
		return buf_printf(b, "INTERNALDATE \"%s\"", date);
	case IMAP_FETCH_RFC822_SIZE:
		return buf_printf(b, "RFC822.SIZE %llu", (unsigned long long)m->vsize);
	case IMAP_FETCH_ENVELOPE:
		return buf_printf(b, "ENVELOPE %s", m->envelope != NULL ? m->envelope : "NIL");
	case IMAP_FETCH_BODY:
		return buf_printf(b, "BODY %s", m->body != NULL ? m->body : "NIL");
	case IMAP_FETCH_BODYSTRUCTURE:
		return buf_printf(b, "BODYSTRUCTURE %s",
				  m->bodystructure != NULL ? m->bodystructure : "NIL");
	case IMAP_FETCH_MODSEQ:
		return buf_printf(b, "MODSEQ (%llu)", (unsigned long long)m->modseq);
	case IMAP_FETCH_SECTION:
		return fetch_section(cmd, c, m, it);
	case IMAP_FETCH_BINARY:
	case IMAP_FETCH_BINARY_SIZE:
		return fetch_binary(cmd, c, m, it);
	}
	return -1;
}

/* fetch_msg_start - map the file and fill the cache as the items need;
 * 0 = the message is gone (skip it), -1 = error. */
static int fetch_msg_start(struct imap_cmd *cmd, struct fetch_ctx *c, struct fetch_msg *m)
{
	int ret;

	if (c->need_cache && (ret = fetch_fill_cache(cmd, m)) <= 0)
		return ret;
	if (c->need_file && (ret = fetch_open_file(cmd, c, m)) <= 0) {
		fetch_release_file(c);
		return ret;
	}
	buf_reset(&c->line);
	if (buf_printf(&c->line, "* %u FETCH (", m->seq) < 0)
		return -1;
	c->in_msg = true;
	c->item = 0;
	c->first_item = true;
	return 1;
}

static int fetch_msg_end(struct imap_cmd *cmd, struct fetch_ctx *c, const struct fetch_msg *m)
{
	bool has_flags = false;

	for (unsigned i = 0; i < c->req->count; i++)
		has_flags |= c->req->items[i].type == IMAP_FETCH_FLAGS;
	/* RFC 3501 6.4.5: flags this FETCH changed come along */
	if (!has_flags && imap_seqset_contains(&c->seen, m->uid) &&
	    (buf_append_str(&c->line, " FLAGS ") < 0 ||
	     imap_flags_write(&c->line, m->flags, m->keywords) < 0))
		return -1;
	if (buf_append_str(&c->line, ")\r\n") < 0)
		return -1;
	fetch_flush_line(cmd->s, c);
	fetch_release_file(c);
	c->in_msg = false;
	c->batch_pos++;
	return 0;
}

static void fetch_fail(struct imap_cmd *cmd, const char *detail)
{
	struct fetch_ctx *c = cmd->ctx;

	if (c->in_msg) {
		/* a response already begun cannot be taken back: end the session */
		imap_session_fatal(cmd->s, "store.io-error", detail);
		return;
	}
	imap_cmd_refuse(cmd, "store.io-error", detail);
}

/* ---- ENVELOPE/BODYSTRUCTURE not cached yet: parsed on a worker ---- */

struct cache_job {
	struct imap_job job;
	int64_t mailbox_id;
	uint32_t *uids;
	size_t count;
	struct index_cache *caches;
	int *rets;
};

static void cache_run(struct imap_job *job)
{
	struct cache_job *j = (struct cache_job *)job;

	for (size_t i = 0; i < j->count; i++)
		j->rets[i] = index_message_cache(job->index, j->mailbox_id, j->uids[i], &j->caches[i]);
}

static void cache_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct cache_job *j = (struct cache_job *)job;
	struct fetch_ctx *c = cmd->ctx;

	for (size_t i = 0, b = 0; i < j->count; i++) {
		while (b < c->batch_count && c->batch[b].uid != j->uids[i])
			b++;
		if (b == c->batch_count || j->rets[i] <= 0)
			continue;
		struct fetch_msg *m = &c->batch[b];
		free(m->envelope);
		free(m->body);
		free(m->bodystructure);
		m->envelope = j->caches[i].envelope;
		m->body = j->caches[i].body;
		m->bodystructure = j->caches[i].bodystructure;
		memset(&j->caches[i], 0, sizeof(j->caches[i]));
	}
	fetch_continue(cmd);
}

static void cache_free(struct imap_job *job)
{
	struct cache_job *j = (struct cache_job *)job;

	for (size_t i = 0; i < j->count; i++)
		index_cache_clear(&j->caches[i]);
	free(j->caches);
	free(j->rets);
	free(j->uids);
	free(j);
}

/* fetch_cache_batch - the first FETCH of ENVELOPE or BODYSTRUCTURE on a
 * mailbox parses every message: on a worker, a batch at a time, not on
 * the loop. True when a job was submitted (it resumes the FETCH). */
static bool fetch_cache_batch(struct imap_cmd *cmd, struct fetch_ctx *c)
{
	struct cache_job *j;
	size_t n = 0;

	if (!c->need_cache)
		return false;
	for (size_t i = 0; i < c->batch_count; i++) {
		const struct fetch_msg *m = &c->batch[i];
		n += m->envelope == NULL || m->body == NULL || m->bodystructure == NULL;
	}
	if (n == 0)
		return false;
	j = xcalloc(1, sizeof(*j));
	j->job.run = cache_run;
	j->job.done = cache_done;
	j->job.free = cache_free;
	j->mailbox_id = cmd->s->sel->id;
	j->uids = xmalloc(n * sizeof(uint32_t));
	j->caches = xcalloc(n, sizeof(*j->caches));
	j->rets = xcalloc(n, sizeof(int));
	for (size_t i = 0; i < c->batch_count; i++) {
		const struct fetch_msg *m = &c->batch[i];
		if (m->envelope == NULL || m->body == NULL || m->bodystructure == NULL)
			j->uids[j->count++] = m->uid;
	}
	imap_job_submit(cmd, &j->job);
	return true;
}

static void fetch_continue(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct fetch_ctx *c = cmd->ctx;

	for (;;) {
		if (s->conn == NULL || s->state == IMAP_STATE_LOGOUT)
			return;
		if (c->streaming) {
			if (stream_write(s, &c->st) == 0) {
				imap_cmd_wait_output(cmd, fetch_continue);
				return;
			}
			c->streaming = false;
			c->item++;
		}
		if (!c->in_msg) {
			if (imap_output_full(s)) {
				imap_cmd_wait_output(cmd, fetch_continue);
				return;
			}
			if (c->batch_pos >= c->batch_count) {
				if (c->iter_done) {
					if (c->unknown_cte)
						imap_cmd_no(cmd, "[UNKNOWN-CTE] A part has an unknown "
								 "Content-Transfer-Encoding");
					else
						imap_cmd_ok(cmd, "%s completed.", cmd->def->name);
					return;
				}
				if (fetch_load_batch(cmd, c) < 0) {
					fetch_fail(cmd, "reading the index failed");
					return;
				}
				if (fetch_cache_batch(cmd, c))
					return; /* a worker parses what is not cached yet */
				continue;
			}
			int ret = fetch_msg_start(cmd, c, &c->batch[c->batch_pos]);
			if (ret < 0) {
				fetch_fail(cmd, "reading a message failed");
				return;
			}
			if (ret == 0) {
				c->vanished++;
				c->batch_pos++;
				continue;
			}
		}
		const struct fetch_msg *m = &c->batch[c->batch_pos];
		while (c->item < c->req->count && !c->streaming) {
			if (fetch_item(cmd, c, m, &c->req->items[c->item]) < 0) {
				fetch_fail(cmd, "a FETCH response does not fit");
				return;
			}
			if (!c->streaming)
				c->item++;
		}
		if (!c->streaming && fetch_msg_end(cmd, c, m) < 0) {
			fetch_fail(cmd, "a FETCH response does not fit");
			return;
		}
	}
}

/* ---- \Seen first ---- */

struct seen_job {
	struct imap_job job;
	int64_t mailbox_id;
	struct index_uid_range *ranges;
	size_t count;
	int ret;
	struct index_store_result result;
	struct index_error error;
};

static void seen_run(struct imap_job *job)
{
	struct seen_job *j = (struct seen_job *)job;
	struct index_store store = { .mode = INDEX_STORE_ADD, .flags = INDEX_FLAG_SEEN };

	j->ret = index_store_flags(job->index, j->mailbox_id, j->ranges, j->count, &store,
				   &j->result, &j->error);
}

static void seen_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct seen_job *j = (struct seen_job *)job;
	struct fetch_ctx *c = cmd->ctx;
	struct imap_mailbox *sel = cmd->s->sel;

	if (j->ret < 0) {
		imap_cmd_refuse(cmd, j->error.reason, j->error.text);
		return;
	}
	for (size_t i = 0; i < j->result.count; i++) {
		if (j->result.changes[i].changed)
			imap_seqset_add(&c->seen, j->result.changes[i].uid);
	}
	imap_seqset_normalize(&c->seen);
	/* our own change needs no untagged FETCH afterwards */
	if (c->seen.count > 0 && j->result.highestmodseq == sel->modseq + 1)
		sel->modseq = j->result.highestmodseq;
	fetch_continue(cmd);
}

static void seen_free(struct imap_job *job)
{
	struct seen_job *j = (struct seen_job *)job;

	index_store_result_clear(&j->result);
	free(j->ranges);
	free(j);
}

void imap_fetch_start(struct imap_cmd *cmd, struct imap_fetch_request *req)
{
	struct fetch_ctx *c = xcalloc(1, sizeof(*c));

	c->req = req;
	c->fd = -1;
	c->next_uid = 1;
	buf_init(&c->line, 0);
	buf_init(&c->lit, 0);
	imap_seqset_init(&c->seen);
	for (unsigned i = 0; i < req->count; i++) {
		switch (req->items[i].type) {
		case IMAP_FETCH_ENVELOPE:
		case IMAP_FETCH_BODY:
		case IMAP_FETCH_BODYSTRUCTURE:
			c->need_cache = true;
			break;
		case IMAP_FETCH_SECTION:
		case IMAP_FETCH_BINARY:
		case IMAP_FETCH_BINARY_SIZE:
			c->need_file = true;
			c->set_seen |= !req->items[i].peek;
			break;
		default:
			break;
		}
	}
	cmd->ctx = c;
	cmd->deinit = fetch_deinit;
	if (c->set_seen && !cmd->s->sel->readonly && req->range_count > 0) {
		struct seen_job *j = xcalloc(1, sizeof(*j));
		j->job.run = seen_run;
		j->job.done = seen_done;
		j->job.free = seen_free;
		j->mailbox_id = cmd->s->sel->id;
		j->count = req->range_count;
		j->ranges = xmalloc(req->range_count * sizeof(*j->ranges));
		memcpy(j->ranges, req->ranges, req->range_count * sizeof(*j->ranges));
		imap_job_submit(cmd, &j->job);
		return;
	}
	fetch_continue(cmd);
}
