/* SPDX-License-Identifier: ISC */
/*
 * cli-dkim.c - `postino dkim generate|show|list|activate|del`: DKIM keys
 * of the local domains (dkim/dkim.h).
 *
 * The default selector is "p" and the year and month (p202611), with
 * "-2", "-3", ... when that one is taken: a date says how old a key is
 * when it is time to rotate. A new key signs at once; the old ones stay
 * listed (and their DNS records should stay published) until deleted.
 */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "mail/addr.h"
#include "directory/directory.h"
#include "dkim/dkim.h"
#include "cli/cli.h"
#include "cli/commands.h"

#include <time.h>
#include <unistd.h>

#define SELECTOR_TRIES 99
#define TIME_TEXT_MAX 32

struct dkim_args {
	const char *domain;
	const char *selector;
	const char *algorithm;
	const char *bits;
	const char *second; /* SELECTOR of activate/del */
};

/* parse_args - DOMAIN (and SELECTOR when want is 2), with the options
 * when allowed. */
static int parse_args(struct cli *cli, int argc, char **argv, bool options, int want,
		      struct dkim_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *v;
		if (options && (v = cli_opt_value(argc, argv, &i, "--selector")) != NULL)
			a->selector = v;
		else if (options && (v = cli_opt_value(argc, argv, &i, "--algorithm")) != NULL)
			a->algorithm = v;
		else if (options && (v = cli_opt_value(argc, argv, &i, "--bits")) != NULL)
			a->bits = v;
		else if (argv[i][0] == '-')
			return cli_usage(cli, "unknown option or missing value: '%s'", argv[i]);
		else if (a->domain == NULL)
			a->domain = argv[i];
		else if (want == 2 && a->second == NULL)
			a->second = argv[i];
		else
			return cli_usage(cli, "unexpected argument '%s'", argv[i]);
	}
	if (a->domain == NULL)
		return cli_usage(cli, "which domain?");
	if (want == 2 && a->second == NULL)
		return cli_usage(cli, "which selector?");
	return CLI_OK;
}

/* local_domain - the canonical name of a domain of ours, or a refusal. */
static int local_domain(struct cli *cli, struct db *db, const char *in, char **name_r)
{
	struct domain d;
	const char *error;
	char *name;
	int ret;

	if (addr_domain_normalize(in, &name, &error) < 0)
		return cli_refuse(cli, "bad domain '%s': %s", in, error);
	if ((ret = domain_get(db, name, &d)) <= 0) {
		ret = ret < 0 ? cli_refuse(cli, "cannot read domains: %s", db_errmsg(db))
			      : cli_refuse(cli, "%s is not a local domain (postino domain add %s)",
					   name, name);
		free(name);
		return ret;
	}
	domain_clear(&d);
	*name_r = name;
	return CLI_OK;
}

/* pick_selector - the given one (checked and free), or the default. */
static int pick_selector(struct cli *cli, struct db *db, const char *domain, const char *given,
			 char **selector_r)
{
	struct dkim_keyinfo k;
	char base[16], *s;
	time_t now = time(NULL);
	struct tm tm;
	int ret;

	if (given != NULL) {
		if (!dkim_selector_valid(given))
			return cli_usage(cli, "--selector: '%s' is not a selector (letters, digits, "
					      "'-', dots between labels, at most %d octets)",
					 given, DKIM_SELECTOR_MAX);
		s = xstrdup(given);
		str_lcase(s);
		if ((ret = dkim_store_get(db, domain, s, &k)) != 0) {
			if (ret > 0)
				dkim_keyinfo_clear(&k);
			free(s);
			return ret < 0 ? cli_refuse(cli, "cannot read dkim_keys: %s", db_errmsg(db))
				       : cli_refuse(cli, "%s already has a key with selector %s",
						    domain, given);
		}
		*selector_r = s;
		return CLI_OK;
	}
	gmtime_r(&now, &tm);
	(void)strftime(base, sizeof(base), "p%Y%m", &tm);
	for (int n = 1; n <= SELECTOR_TRIES; n++) {
		s = n == 1 ? xstrdup(base) : xasprintf("%s-%d", base, n);
		if ((ret = dkim_store_get(db, domain, s, &k)) == 0) {
			*selector_r = s;
			return CLI_OK;
		}
		free(s);
		if (ret < 0)
			return cli_refuse(cli, "cannot read dkim_keys: %s", db_errmsg(db));
		dkim_keyinfo_clear(&k);
	}
	return cli_refuse(cli, "too many keys this month; give --selector");
}

/* key_json / print_record - one key and the record that publishes it. */
static json_t *key_json(const struct dkim_keyinfo *k, const char *value, const char *zone)
{
	char created[TIME_TEXT_MAX];
	json_t *o;

	time_format_iso(k->created_at, created, sizeof(created));
	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:b}", "domain", k->domain, "selector",
		      k->selector, "algorithm", dkim_alg_name(k->alg), "bits", (json_int_t)k->bits,
		      "created_at", created, "active", k->active);
	if (value != NULL) {
		char *name = xasprintf("%s._domainkey.%s.", k->selector, k->domain);
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "value", json_string(value));
		json_object_set_new(o, "zone", json_string(zone));
		free(name);
	}
	return o;
}

/* key_record - the TXT value and zone line of a stored key; a refusal
 * printed when its file cannot be read. */
static int key_record(struct cli *cli, const struct dkim_keyinfo *k, char **value_r,
		      char **zone_r)
{
	char *path = dkim_key_path(cli->data_dir, k->domain, k->selector);
	struct evp_pkey_st *key = NULL;
	char *error, *name;

	if (dkim_key_load(path, &key, &error) < 0) {
		free(path);
		cli_refuse(cli, "%s", error);
		free(error);
		return -1;
	}
	free(path);
	*value_r = dkim_key_record(key);
	dkim_key_free(&key);
	if (*value_r == NULL) {
		cli_refuse(cli, "cannot encode the public key of %s/%s", k->domain, k->selector);
		return -1;
	}
	name = xasprintf("%s._domainkey.%s.", k->selector, k->domain);
	*zone_r = dkim_zone_line(name, *value_r);
	free(name);
	return 0;
}

static int cmd_dkim_generate(struct cli *cli, int argc, char **argv)
{
	struct dkim_keyinfo k = { .alg = DKIM_ALG_RSA, .bits = DKIM_RSA_BITS_DEFAULT };
	struct evp_pkey_st *key = NULL;
	char *domain = NULL, *selector = NULL, *dir = NULL, *path = NULL, *error = NULL;
	char *value = NULL, *zone = NULL;
	struct dkim_args a;
	uint64_t bits;
	struct db *db;
	int ret;

	if ((ret = parse_args(cli, argc, argv, true, 1, &a)) != CLI_OK)
		return ret;
	if (a.algorithm != NULL && dkim_alg_parse(a.algorithm, &k.alg) < 0)
		return cli_usage(cli, "--algorithm: '%s' is not rsa or ed25519", a.algorithm);
	if (a.bits != NULL) {
		if (k.alg != DKIM_ALG_RSA)
			return cli_usage(cli, "--bits is for RSA keys only");
		if (str_to_uint64(a.bits, DKIM_RSA_BITS_MIN, DKIM_RSA_BITS_MAX, &bits) < 0)
			return cli_usage(cli, "--bits: '%s' is not %u to %u", a.bits,
					 DKIM_RSA_BITS_MIN, DKIM_RSA_BITS_MAX);
		k.bits = (unsigned)bits;
	}
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	if ((ret = local_domain(cli, db, a.domain, &domain)) != CLI_OK)
		return ret;
	if ((ret = pick_selector(cli, db, domain, a.selector, &selector)) != CLI_OK)
		goto out;
	ret = CLI_REFUSED;
	if (dkim_key_generate(k.alg, k.bits, &key, &error) < 0) {
		cli_refuse(cli, "%s", error);
		goto out;
	}
	(void)dkim_key_alg(key, &k.alg, &k.bits);
	dir = xasprintf("%s/%s/%s", cli->data_dir, DKIM_DIR, domain);
	path = dkim_key_path(cli->data_dir, domain, selector);
	if (mkdir_p(dir, 0700) < 0) {
		cli_refuse(cli, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	if (dkim_key_write(path, key, &error) < 0) {
		cli_refuse(cli, "%s", error);
		goto out;
	}
	k.domain = domain;
	k.selector = selector;
	k.created_at = time_now();
	k.active = true;
	if (dkim_store_add(db, &k) < 0) {
		(void)unlink(path);
		cli_refuse(cli, "cannot record the key: %s", db_errmsg(db));
		goto out;
	}
	free(dir);
	dir = xasprintf("%s/%s", cli->data_dir, DKIM_DIR);
	cli_chown_like_data_dir(cli, dir);
	cli_journal_change(cli, "dkim.key-generate", NULL, "domain=%s selector=%s algorithm=%s bits=%u",
			   domain, selector, dkim_alg_name(k.alg), k.bits);
	value = dkim_key_record(key);
	char *name = xasprintf("%s._domainkey.%s.", selector, domain);
	zone = value != NULL ? dkim_zone_line(name, value) : NULL;
	free(name);
	if (cli->json) {
		json_t *o = key_json(&k, value, zone);
		json_object_set_new(o, "key_file", json_string(path));
		cli_print_json(o);
	} else {
		printf("dkim: %s key for %s, selector %s, signs from now on (%s)\n"
		       "publish in DNS:\n%s\n",
		       dkim_alg_name(k.alg), domain, selector, path, zone != NULL ? zone : "?");
	}
	ret = CLI_OK;
out:
	dkim_key_free(&key);
	free(value);
	free(zone);
	free(error);
	free(path);
	free(dir);
	free(selector);
	free(domain);
	return ret;
}

static int cmd_dkim_show(struct cli *cli, int argc, char **argv)
{
	struct dkim_keyinfo *keys = NULL;
	size_t count = 0, shown = 0;
	char *domain = NULL;
	json_t *arr = json_array();
	struct dkim_args a;
	struct db *db;
	int ret;

	if ((ret = parse_args(cli, argc, argv, true, 1, &a)) != CLI_OK)
		goto out;
	if (a.algorithm != NULL || a.bits != NULL) {
		ret = cli_usage(cli, "only --selector is allowed here");
		goto out;
	}
	ret = CLI_REFUSED;
	if ((db = cli_db(cli)) == NULL)
		goto out;
	if ((ret = local_domain(cli, db, a.domain, &domain)) != CLI_OK)
		goto out;
	if (dkim_store_list(db, domain, &keys, &count) < 0) {
		ret = cli_refuse(cli, "cannot read dkim_keys: %s", db_errmsg(db));
		goto out;
	}
	/* active key first (dkim_store_list's order): the one to publish now */
	for (size_t i = 0; i < count; i++) {
		char *value, *zone;
		if (a.selector != NULL && str_casecmp(a.selector, keys[i].selector) != 0)
			continue;
		if (key_record(cli, &keys[i], &value, &zone) < 0) {
			ret = CLI_REFUSED;
			goto out;
		}
		if (cli->json)
			json_array_append_new(arr, key_json(&keys[i], value, zone));
		else
			printf("%s\n", zone);
		shown++;
		free(value);
		free(zone);
	}
	if (shown == 0) {
		ret = a.selector != NULL
			      ? cli_refuse(cli, "%s has no DKIM key with selector %s", domain, a.selector)
			      : cli_refuse(cli, "%s has no DKIM key (postino dkim generate %s)", domain,
					   domain);
		goto out;
	}
	if (cli->json) {
		cli_print_json(arr);
		arr = NULL;
	}
	ret = CLI_OK;
out:
	json_decref(arr);
	dkim_keyinfos_free(&keys, count);
	free(domain);
	return ret;
}

static int cmd_dkim_list(struct cli *cli, int argc, char **argv)
{
	struct dkim_keyinfo *keys;
	const char *domain;
	size_t count;
	struct db *db;
	int ret;

	if ((ret = cli_domain_filter(cli, argc, argv, &db, &domain)) != CLI_OK)
		return ret;
	if (dkim_store_list(db, domain, &keys, &count) < 0)
		return cli_refuse(cli, "cannot read dkim_keys: %s", db_errmsg(db));
	if (cli->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < count; i++)
			json_array_append_new(arr, key_json(&keys[i], NULL, NULL));
		cli_print_json(arr);
	} else {
		printf("%-24s %-16s %-8s %5s  %-20s %s\n", "DOMAIN", "SELECTOR", "ALG", "BITS",
		       "CREATED", "ACTIVE");
		for (size_t i = 0; i < count; i++) {
			char created[TIME_TEXT_MAX];
			time_format_iso(keys[i].created_at, created, sizeof(created));
			printf("%-24s %-16s %-8s %5u  %-20s %s\n", keys[i].domain, keys[i].selector,
			       dkim_alg_name(keys[i].alg), keys[i].bits, created,
			       keys[i].active ? "yes" : "no");
		}
	}
	dkim_keyinfos_free(&keys, count);
	return CLI_OK;
}

/* domain_selector - DOMAIN SELECTOR of activate/del: the domain need not
 * be local any more (its keys may outlive it on disk). */
static int domain_selector(struct cli *cli, int argc, char **argv, struct db **db_r,
			   char **domain_r, char **selector_r)
{
	struct dkim_args a;
	const char *error;
	int ret;

	if ((ret = parse_args(cli, argc, argv, false, 2, &a)) != CLI_OK)
		return ret;
	if ((*db_r = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	if (addr_domain_normalize(a.domain, domain_r, &error) < 0)
		return cli_refuse(cli, "bad domain '%s': %s", a.domain, error);
	*selector_r = xstrdup(a.second);
	str_lcase(*selector_r);
	return CLI_OK;
}

static int cmd_dkim_activate(struct cli *cli, int argc, char **argv)
{
	char *domain = NULL, *selector = NULL;
	struct db *db;
	int ret;

	if ((ret = domain_selector(cli, argc, argv, &db, &domain, &selector)) != CLI_OK)
		goto out;
	if ((ret = dkim_store_activate(db, domain, selector)) <= 0) {
		ret = ret < 0 ? cli_refuse(cli, "cannot update dkim_keys: %s", db_errmsg(db))
			      : cli_refuse(cli, "%s has no DKIM key with selector %s", domain, selector);
		goto out;
	}
	cli_journal_change(cli, "dkim.key-activate", NULL, "domain=%s selector=%s", domain, selector);
	printf("dkim: %s signs with selector %s\n", domain, selector);
	ret = CLI_OK;
out:
	free(selector);
	free(domain);
	return ret;
}

static int cmd_dkim_del(struct cli *cli, int argc, char **argv)
{
	char *domain = NULL, *selector = NULL, *promoted = NULL, *path;
	struct db *db;
	int ret;

	if ((ret = domain_selector(cli, argc, argv, &db, &domain, &selector)) != CLI_OK)
		goto out;
	if ((ret = dkim_store_del(db, domain, selector, &promoted)) <= 0) {
		ret = ret < 0 ? cli_refuse(cli, "cannot update dkim_keys: %s", db_errmsg(db))
			      : cli_refuse(cli, "%s has no DKIM key with selector %s", domain, selector);
		goto out;
	}
	path = dkim_key_path(cli->data_dir, domain, selector);
	if (unlink(path) < 0 && errno != ENOENT)
		fprintf(stderr, "postino: warning: cannot remove %s: %s\n", path, strerror(errno));
	free(path);
	cli_journal_change(cli, "dkim.key-del", NULL, "domain=%s selector=%s%s%s", domain, selector,
			   promoted != NULL ? " now-active=" : "", promoted != NULL ? promoted : "");
	printf("dkim: %s selector %s deleted", domain, selector);
	if (promoted != NULL)
		printf("; %s signs now", promoted);
	printf("\n");
	ret = CLI_OK;
out:
	free(promoted);
	free(selector);
	free(domain);
	return ret;
}

const struct cli_command cli_dkim_commands[] = {
	{ "dkim generate", cmd_dkim_generate,
	  "DOMAIN [--selector S] [--algorithm rsa|ed25519] [--bits N]",
	  "create a DKIM key; it signs DOMAIN's mail from now on" },
	{ "dkim show", cmd_dkim_show, "DOMAIN [--selector S] [--json]",
	  "print the DNS TXT record(s) to publish" },
	{ "dkim list", cmd_dkim_list, "[DOMAIN] [--json]", "list DKIM keys" },
	{ "dkim activate", cmd_dkim_activate, "DOMAIN SELECTOR", "sign with this key (rollback)" },
	{ "dkim del", cmd_dkim_del, "DOMAIN SELECTOR", "delete a DKIM key" },
};
const size_t cli_dkim_commands_count = N_ELEMENTS(cli_dkim_commands);
