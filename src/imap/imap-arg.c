/* SPDX-License-Identifier: ISC */
/*
 * imap-arg.c - reading IMAP argument trees (see imap-arg.h) and writing
 * them in a canonical text form for logs and tests.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "imap/imap-arg.h"

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

int imap_arg_get_atom(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_ATOM)
		return -1;
	*str_r = arg->str;
	return 0;
}

int imap_arg_get_astring(const struct imap_arg *arg, const char **str_r)
{
	switch (arg->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_NIL:
	case IMAP_ARG_STRING:
		break;
	case IMAP_ARG_LITERAL:
		if (memchr(arg->str, '\0', arg->len) != NULL)
			return -1;
		break;
	default:
		return -1;
	}
	*str_r = arg->str;
	return 0;
}

int imap_arg_get_string(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (arg->type != IMAP_ARG_STRING && arg->type != IMAP_ARG_LITERAL)
		return -1;
	*str_r = arg->str;
	*len_r = arg->len;
	return 0;
}

int imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		*len_r = 0;
		return 0;
	}
	return imap_arg_get_string(arg, str_r, len_r);
}

int imap_arg_get_number64(const struct imap_arg *arg, uint64_t *num_r)
{
	uint64_t num = 0;

	if (arg->type != IMAP_ARG_ATOM || arg->len == 0)
		return -1;
	for (size_t i = 0; i < arg->len; i++) {
		unsigned char c = (unsigned char)arg->str[i];
		if (!is_digit(c) || num > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
			return -1;
		num = num * 10 + (uint64_t)(c - '0');
	}
	*num_r = num;
	return 0;
}

int imap_arg_get_number(const struct imap_arg *arg, uint32_t *num_r)
{
	uint64_t num;

	if (imap_arg_get_number64(arg, &num) < 0 || num > UINT32_MAX)
		return -1;
	*num_r = (uint32_t)num;
	return 0;
}

int imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r,
		      unsigned *count_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return -1;
	*list_r = arg->list;
	*count_r = arg->list_count;
	return 0;
}

bool imap_arg_atom_equals(const struct imap_arg *arg, const char *word)
{
	return arg->type == IMAP_ARG_ATOM && str_casecmp(arg->str, word) == 0;
}

/*
 * The canonical text form.
 */

static int write_arg(struct buf *out, const struct imap_arg *arg);

static int write_quoted(struct buf *out, const char *str, size_t len)
{
	if (buf_append(out, "\"", 1) < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if ((str[i] == '"' || str[i] == '\\') && buf_append(out, "\\", 1) < 0)
			return -1;
		if (buf_append(out, &str[i], 1) < 0)
			return -1;
	}
	return buf_append(out, "\"", 1);
}

static int write_section(struct buf *out, const struct imap_arg *arg)
{
	const struct imap_section *s = arg->section;

	if (buf_printf(out, "%s[%s", arg->str, s->spec) < 0)
		return -1;
	if (s->fields != NULL) {
		if (buf_append(out, " (", 2) < 0 ||
		    imap_args_write(out, s->fields, s->fields_count) < 0 ||
		    buf_append(out, ")", 1) < 0)
			return -1;
	}
	if (buf_append(out, "]", 1) < 0)
		return -1;
	if (s->partial &&
	    buf_printf(out, "<%" PRIu64 ".%" PRIu64 ">", s->partial_offset, s->partial_size) < 0)
		return -1;
	return 0;
}

static int write_arg(struct buf *out, const struct imap_arg *arg)
{
	const char *tilde = arg->literal8 ? "~" : "";

	switch (arg->type) {
	case IMAP_ARG_NIL:
	case IMAP_ARG_ATOM:
		return buf_append(out, arg->str, arg->len);
	case IMAP_ARG_STRING:
		return write_quoted(out, arg->str, arg->len);
	case IMAP_ARG_LITERAL:
		if (buf_printf(out, "%s{%zu}", tilde, arg->len) < 0)
			return -1;
		return buf_append(out, arg->str, arg->len);
	case IMAP_ARG_LITERAL_STREAM:
		return buf_printf(out, "%s{%" PRIu64 ":stream}", tilde, arg->literal_size);
	case IMAP_ARG_LIST:
		if (buf_append(out, "(", 1) < 0 ||
		    imap_args_write(out, arg->list, arg->list_count) < 0)
			return -1;
		return buf_append(out, ")", 1);
	case IMAP_ARG_SECTION:
		return write_section(out, arg);
	}
	return -1;
}

int imap_args_write(struct buf *out, const struct imap_arg *args, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		if (i > 0 && buf_append(out, " ", 1) < 0)
			return -1;
		if (write_arg(out, &args[i]) < 0)
			return -1;
	}
	return 0;
}
