/* SPDX-License-Identifier: ISC */
/* test-password.c - yescrypt hashing, verification of hashes made
 * elsewhere (imports), bounds, and expiry arithmetic. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "directory/directory.h"

#include <setjmp.h>
#include <cmocka.h>

#define PASSWORD "correct horse"

/* Made outside postino for "correct horse":
 * openssl passwd -6 -salt saltsalt 'correct horse', and libxcrypt's
 * crypt_gensalt_ra("$y$"/"$2b$") + crypt_r, as Dovecot/shadow would hold. */
static const char *const foreign_hashes[] = {
	"$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv"
	"/uamSo5z0",
	"$6$PCtdS3nXW2toNR6Z$CiWzUOXsueUH8Ynz7P9ef2jxcg.Tw6qprkYPTAnIH0K25S1uCXIFmgrO9dUBHGAUqlJ"
	"ijoP3m8mF4ISpzR8B00",
	"$2b$05$.AJ1.rgK81YXRh6Y52BaeOk5b1w7ZL1C1hr7Tfb6plLZtbdOVLyAC",
	"$y$j9T$QnxDchMWTgdA3/7YCyqZE/$zumOBhocbtWUuoI1UzbZe6hVsM7TdvDb166xSwTfR97",
};

static void test_roundtrip(void **state)
{
	const char *error;
	char *hash, *hash2;

	assert_int_equal(password_hash(PASSWORD, &hash, &error), 0);
	assert_true(strncmp(hash, "$y$", 3) == 0);
	assert_true(password_verify(PASSWORD, hash));
	assert_false(password_verify("correct horsf", hash));
	assert_false(password_verify("correct horse ", hash));
	assert_false(password_verify("", hash));
	/* a fresh salt every time */
	assert_int_equal(password_hash(PASSWORD, &hash2, &error), 0);
	assert_string_not_equal(hash, hash2);
	assert_true(password_verify(PASSWORD, hash2));
	free(hash);
	free(hash2);
}

static void test_foreign(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(foreign_hashes); i++) {
		if (!password_verify(PASSWORD, foreign_hashes[i]))
			fail_msg("%s does not verify", foreign_hashes[i]);
		assert_false(password_verify("Correct horse", foreign_hashes[i]));
	}
}

static void test_refused_hashes(void **state)
{
	/* weak or unknown schemes never verify, even when libcrypt knows them */
	assert_false(password_verify("x", "$1$abc$OGyl6dDvZCDiGmIVbeuCq/")); /* md5-crypt */
	assert_false(password_verify("x", "abiQ6Ep3EYTHc"));                 /* DES */
	assert_false(password_verify("x", ""));
	assert_false(password_verify("x", "*"));
	assert_false(password_verify("x", "!"));
	assert_false(password_verify("x", NULL));
	/* a truncated hash of a known scheme */
	assert_false(password_verify(PASSWORD, "$y$j9T$QnxDchMWTgdA3/7YCyqZE/$zumOBhoc"));
}

static void test_bounds(void **state)
{
	const char *error;
	char *hash;
	char *big = xmalloc(PASSWORD_MAX + 2);

	assert_int_equal(password_hash("", &hash, &error), -1);
	assert_string_equal(error, "empty password");
	memset(big, 'p', PASSWORD_MAX);
	big[PASSWORD_MAX] = '\0';
	assert_int_equal(password_check(big, &error), 0);
	big[PASSWORD_MAX] = 'p';
	big[PASSWORD_MAX + 1] = '\0';
	assert_int_equal(password_hash(big, &hash, &error), -1);
	assert_string_equal(error, "password too long (max 1024 bytes)");
	assert_false(password_verify(big, foreign_hashes[0]));
	free(big);
}

static void test_expiry(void **state)
{
	struct account a = { .password_changed_at = 1000000 };

	assert_int_equal(password_expires_at(&a), 0);
	assert_false(password_expired(&a, INT64_MAX));
	a.password_max_age_days = 2;
	assert_int_equal(password_expires_at(&a), 1000000 + 2 * 86400);
	assert_false(password_expired(&a, 1000000 + 2 * 86400 - 1));
	assert_true(password_expired(&a, 1000000 + 2 * 86400));
	/* never set: nothing to expire (there is no password to log in with) */
	a.password_changed_at = 0;
	assert_int_equal(password_expires_at(&a), 0);
	/* absurd ages do not overflow */
	a.password_changed_at = 1000000;
	a.password_max_age_days = UINT64_MAX;
	assert_int_equal(password_expires_at(&a), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_refused_hashes),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
