/* SPDX-License-Identifier: ISC */
/*
 * fuzz-utf7.c - libFuzzer: modified UTF-7 and mailbox names.
 *
 *   decode(encode(x)) == x for every x encode accepts (valid UTF-8, no NUL)
 *   encode(decode(y)) == y for every y decode accepts (one spelling each)
 *   encode accepts exactly the NUL-free valid UTF-8; its output is
 *   printable ASCII
 *   a name's folder maps back to the name (INBOX's case aside), and a
 *   folder name is accepted only if it is the image of its name
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/utf7.h"
#include "mail/mailbox-name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_utf7(const uint8_t *data, size_t size)
{
	struct buf a, b;
	const char *error;

	/* UTF-8 -> mUTF-7 -> UTF-8 */
	buf_init(&a, 0);
	buf_init(&b, 0);
	int ret = utf7_encode(data, size, &a, &error);
	check((ret == 0) == (utf8_valid(data, size) && memchr(data, '\0', size) == NULL));
	if (ret == 0) {
		for (size_t i = 0; i < a.len; i++)
			check(a.data[i] >= 0x20 && a.data[i] <= 0x7e);
		check(utf7_decode(a.data, a.len, &b, &error) == 0);
		check(b.len == size && (size == 0 || memcmp(b.data, data, size) == 0));
		check(utf7_valid(a.data, a.len));
	}
	buf_release(&a);
	buf_release(&b);

	/* mUTF-7 -> UTF-8 -> mUTF-7 */
	buf_init(&a, 0);
	buf_init(&b, 0);
	ret = utf7_decode(data, size, &a, &error);
	check((ret == 0) == utf7_valid(data, size));
	if (ret == 0) {
		check(utf8_valid(a.data, a.len));
		check(utf7_encode(a.data, a.len, &b, &error) == 0);
		check(b.len == size && (size == 0 || memcmp(b.data, data, size) == 0));
	}
	buf_release(&a);
	buf_release(&b);
}

static void check_mailbox_name(const char *str)
{
	char *storage, *name, *again;
	const char *error;

	if (mailbox_name_to_storage(str, &storage, &error) == 0) {
		check(strlen(storage) <= MAILBOX_STORAGE_NAME_MAX);
		check(storage[0] != '.' && strchr(storage, '/') == NULL &&
		      strstr(storage, "..") == NULL);
		check(mailbox_name_validate(str, &error) == 0);
		if (!mailbox_name_is_inbox(storage)) {
			check(mailbox_name_from_storage(storage, &name, &error) == 0);
			/* the same name, or the same with INBOX's case fixed */
			bool inbox = str_ncasecmp(str, "INBOX", 5) == 0 &&
				(str[5] == '\0' || str[5] == '/');
			check(strcmp(name, str) == 0 ||
			      (inbox && strncmp(name, "INBOX", 5) == 0 && strcmp(name + 5, str + 5) == 0));
			free(name);
		}
		free(storage);
	} else {
		check(mailbox_name_validate(str, &error) == -1);
	}
	if (mailbox_name_from_storage(str, &name, &error) == 0) {
		check(mailbox_name_to_storage(name, &again, &error) == 0);
		check(strcmp(again, str) == 0);
		free(again);
		free(name);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_utf7(data, size);
	char *str = xstrndup((const char *)data, size);
	check_mailbox_name(str);
	free(str);
	return 0;
}
