/* SPDX-License-Identifier: ISC */
/*
 * password.c - password hashes with libcrypt, and password expiry.
 *
 * New hashes are yescrypt ("$y$", libxcrypt's preferred method). Verify
 * also accepts the schemes that Dovecot and Linux systems hold, so an
 * imported account keeps its password (F37): sha512-crypt and bcrypt.
 * Weak legacy schemes (DES, MD5) are refused even though libcrypt knows
 * them. Hashing is slow on purpose: the daemon calls this on a worker.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "directory/directory.h"

#include <crypt.h>

#define SECONDS_PER_DAY 86400

/* Hash prefixes we verify. */
static const char *const verify_prefixes[] = {
	"$y$",  /* yescrypt: what we write */
	"$6$",  /* sha512-crypt: Dovecot SHA512-CRYPT, /etc/shadow */
	"$2b$", /* bcrypt: Dovecot BLF-CRYPT */
	"$2y$", /* bcrypt as written by PHP/htpasswd; the same algorithm */
};

int password_check(const char *password, const char **error_r)
{
	size_t len = strlen(password);

	if (len == 0) {
		*error_r = "empty password";
		return -1;
	}
	if (len > PASSWORD_MAX) {
		*error_r = "password too long (max 1024 bytes)";
		return -1;
	}
	return 0;
}

int password_hash(const char *password, char **hash_r, const char **error_r)
{
	struct crypt_data *data;
	char *salt, *hash;

	if (password_check(password, error_r) < 0)
		return -1;
	/* count 0 = libcrypt's default cost; NULL rbytes = read the kernel RNG */
	salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (salt == NULL) {
		*error_r = "cannot make a password salt (no yescrypt in libcrypt?)";
		return -1;
	}
	data = xcalloc(1, sizeof(*data));
	hash = crypt_rn(password, salt, data, sizeof(*data));
	free(salt);
	if (hash == NULL || hash[0] == '*') {
		explicit_bzero(data, sizeof(*data));
		free(data);
		*error_r = "cannot hash the password";
		return -1;
	}
	*hash_r = xstrdup(hash);
	explicit_bzero(data, sizeof(*data));
	free(data);
	return 0;
}

/* equal_const_time - compare without leaking where the first difference is. */
static bool equal_const_time(const char *a, const char *b)
{
	size_t alen = strlen(a), blen = strlen(b);
	unsigned char diff = alen != blen;

	for (size_t i = 0; i < alen && i < blen; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

bool password_verify(const char *password, const char *hash)
{
	struct crypt_data *data;
	bool known = false, ok;
	const char *out;
	const char *error;

	if (hash == NULL || password_check(password, &error) < 0)
		return false;
	for (size_t i = 0; i < N_ELEMENTS(verify_prefixes); i++) {
		if (str_has_prefix(hash, verify_prefixes[i]))
			known = true;
	}
	if (!known)
		return false;
	data = xcalloc(1, sizeof(*data));
	out = crypt_rn(password, hash, data, sizeof(*data));
	ok = out != NULL && out[0] != '*' && equal_const_time(out, hash);
	explicit_bzero(data, sizeof(*data));
	free(data);
	return ok;
}

int64_t password_expires_at(const struct account *account)
{
	if (account->password_max_age_days == 0 || account->password_changed_at == 0)
		return 0;
	if (account->password_max_age_days > (uint64_t)(INT64_MAX / SECONDS_PER_DAY) ||
	    (int64_t)account->password_max_age_days * SECONDS_PER_DAY >
		    INT64_MAX - account->password_changed_at)
		return 0;
	return account->password_changed_at +
	       (int64_t)account->password_max_age_days * SECONDS_PER_DAY;
}

bool password_expired(const struct account *account, int64_t now)
{
	int64_t at = password_expires_at(account);
	return at != 0 && now >= at;
}
