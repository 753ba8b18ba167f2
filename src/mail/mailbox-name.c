/* SPDX-License-Identifier: ISC */
/*
 * mailbox-name.c - mailbox name policy and the name <-> Maildir++ folder
 * mapping (see mailbox-name.h for the three spellings and why '.' is
 * escaped the Dovecot listescape way).
 *
 * Only to_storage() knows the rules; from_storage() undoes the encoding
 * loosely and then demands that to_storage() gives the input back, so the
 * two can never drift apart and no folder has two names.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/utf7.h"
#include "mail/mailbox-name.h"

/* Bytes that never reach the disk as themselves inside a level. */
static const struct {
	char c;
	const char *escaped;
	bool only_first; /* only as the first byte of the storage name */
} storage_escapes[] = {
	{ MAILBOX_STORAGE_SEPARATOR, "\\2e", false },
	{ MAILBOX_ESCAPE_CHAR, "\\5c", false },
	{ '~', "\\7e", true },
};

bool mailbox_name_is_inbox(const char *name)
{
	return str_casecmp(name, "INBOX") == 0;
}

/* C0 controls, DEL, and C1 controls (U+0080-U+009F: 0xc2 0x80-0x9f in
 * UTF-8, which the caller has validated). */
static bool has_control(const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return true;
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return true;
	}
	return false;
}

static int level_check(const char *level, size_t len, const char **error_r)
{
	if (len == 0) {
		*error_r = "Empty hierarchy level in mailbox name";
		return -1;
	}
	if ((len == 1 && level[0] == '.') || (len == 2 && level[0] == '.' && level[1] == '.')) {
		*error_r = "'.' and '..' are not allowed in mailbox names";
		return -1;
	}
	return 0;
}

static int append_escaped(struct buf *out, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		const char *esc = NULL;
		for (size_t k = 0; k < N_ELEMENTS(storage_escapes); k++) {
			if (data[i] == storage_escapes[k].c &&
			    (!storage_escapes[k].only_first || out->len == 0))
				esc = storage_escapes[k].escaped;
		}
		if (esc != NULL ? buf_append_str(out, esc) < 0 : buf_append(out, &data[i], 1) < 0)
			return -1;
	}
	return 0;
}

int mailbox_name_to_storage(const char *name, char **storage_r, const char **error_r)
{
	struct buf out, level;
	const char *p = name;
	int ret = -1;

	if (*name == '\0') {
		*error_r = "Empty mailbox name";
		return -1;
	}
	if (!utf8_valid(name, strlen(name))) {
		*error_r = "Mailbox name is not valid UTF-8";
		return -1;
	}
	if (has_control(name)) {
		*error_r = "Control character in mailbox name";
		return -1;
	}
	buf_init(&out, MAILBOX_STORAGE_NAME_MAX);
	buf_init(&level, 0);
	for (;;) {
		const char *end = strchr(p, MAILBOX_SEPARATOR);
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (level_check(p, len, error_r) < 0)
			goto out;
		buf_reset(&level);
		if (p == name && len == 5 && str_ncasecmp(p, "INBOX", 5) == 0) {
			if (buf_append(&level, "INBOX", 5) < 0)
				goto too_long;
		} else if (utf7_encode(p, len, &level, error_r) < 0) {
			goto out;
		}
		if (p != name && buf_append(&out, ".", 1) < 0)
			goto too_long;
		if (append_escaped(&out, level.data, level.len) < 0)
			goto too_long;
		if (end == NULL)
			break;
		p = end + 1;
	}
	*storage_r = xstrndup(out.data, out.len);
	ret = 0;
	goto out;
too_long:
	*error_r = "Mailbox name too long";
out:
	buf_release(&out);
	buf_release(&level);
	return ret;
}

int mailbox_name_validate(const char *name, const char **error_r)
{
	char *storage;

	if (mailbox_name_to_storage(name, &storage, error_r) < 0)
		return -1;
	free(storage);
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* storage_decode - undo escapes and modified UTF-7, level by level. Not
 * a validator: from_storage() checks the result by re-encoding it. */
static int storage_decode(const char *storage, struct buf *name, const char **error_r)
{
	struct buf level;
	bool first = true;
	int ret = -1;

	buf_init(&level, 0);
	for (const char *p = storage;; p++) {
		if (*p != '\0' && *p != MAILBOX_STORAGE_SEPARATOR) {
			char c = *p;
			if (c == MAILBOX_ESCAPE_CHAR) {
				int hi = hex_value(p[1]), lo = hi < 0 ? -1 : hex_value(p[2]);
				if (lo < 0) {
					*error_r = "Invalid escape in folder name";
					goto out;
				}
				c = (char)(hi * 16 + lo);
				p += 2;
			}
			if (buf_append(&level, &c, 1) < 0)
				goto too_long;
			continue;
		}
		if (!first && buf_append(name, "/", 1) < 0)
			goto too_long;
		first = false;
		if (utf7_decode(level.data, level.len, name, error_r) < 0)
			goto out;
		buf_reset(&level);
		if (*p == '\0')
			break;
	}
	ret = 0;
	goto out;
too_long:
	*error_r = "Folder name too long";
out:
	buf_release(&level);
	return ret;
}

int mailbox_name_from_storage(const char *storage, char **name_r, const char **error_r)
{
	struct buf name;
	char *again = NULL;
	int ret = -1;

	if (mailbox_name_is_inbox(storage)) {
		*error_r = "A folder named INBOX is hidden by INBOX itself";
		return -1;
	}
	buf_init(&name, MAILBOX_STORAGE_NAME_MAX * 4);
	if (storage_decode(storage, &name, error_r) < 0)
		goto out;
	if (name.len == 0 || memchr(name.data, '\0', name.len) != NULL) {
		*error_r = name.len == 0 ? "Empty folder name" : "NUL in folder name";
		goto out;
	}
	if (mailbox_name_to_storage(name.data, &again, error_r) < 0)
		goto out;
	if (strcmp(again, storage) != 0) {
		*error_r = "Folder name is not in canonical form";
		goto out;
	}
	*name_r = xstrndup(name.data, name.len);
	ret = 0;
out:
	free(again);
	buf_release(&name);
	return ret;
}
