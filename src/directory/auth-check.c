/* SPDX-License-Identifier: ISC */
/*
 * auth-check.c - one login attempt between a session and a worker
 * (see auth-check.h).
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/dbpool.h"
#include "directory/auth-check.h"

void auth_check_init(struct auth_check *c, const char *service, const struct config *cfg,
		     const char *sid, const char *peer, const char *login, const char *password)
{
	memset(c, 0, sizeof(*c));
	c->service = service;
	c->login = xstrdup(login);
	c->password = xstrdup(password);
	c->now_ms = screen_now_ms();
	if (str_copy(c->sid, sid, sizeof(c->sid)) < 0 ||
	    str_copy(c->peer, peer, sizeof(c->peer)) < 0)
		panic("%s: sid or peer does not fit the login check", service);
	screen_params_from_config(cfg, &c->screen);
}

void auth_check_run(struct auth_check *c)
{
	struct db *db = dbpool_get();
	struct policy_auth_request req = {
		.service = c->service,
		.ip = c->peer,
		.sid = c->sid,
		.login = c->login,
		.password = c->password,
		.now_ms = c->now_ms,
		.screen = &c->screen,
	};

	c->ret = db == NULL ? -1 : policy_auth(db, &req, &c->result);
	explicit_bzero(c->password, strlen(c->password));
}

void auth_check_describe(const struct auth_check *c, char *login, size_t login_size,
			 char *detail, size_t detail_size)
{
	const struct policy_auth_result *r = &c->result;
	char until[32];

	screen_login_key(c->login, login, login_size);
	detail[0] = '\0';
	if (r->block.until_ms > 0) {
		time_format_iso(r->block.until_ms / 1000, until, sizeof(until));
		(void)snprintf(detail, detail_size, "%s until %s", r->block.subject, until);
	} else if (r->screen.counted) {
		(void)snprintf(detail, detail_size,
			       "failures counted: %" PRIu64 " from this address, %" PRIu64
			       " for this login",
			       r->screen.ip_failures, r->screen.account_failures);
	}
}

void auth_check_clear(struct auth_check *c)
{
	if (c->password != NULL) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->login);
	policy_auth_result_clear(&c->result);
	c->password = c->login = NULL;
}

struct auth_check *auth_check_new(const char *service, const struct config *cfg,
				  const char *sid, const char *peer, const char *login,
				  const char *password)
{
	struct auth_check *c = xmalloc(sizeof(*c));

	auth_check_init(c, service, cfg, sid, peer, login, password);
	return c;
}

void auth_check_job(void *check)
{
	auth_check_run(check);
}

void auth_check_free(struct auth_check *c)
{
	auth_check_clear(c);
	free(c);
}
