/* SPDX-License-Identifier: ISC */
/*
 * privs.c - the privilege drop of `postino serve`.
 *
 * A mail server parses hostile input all day; it must not do so as root.
 * Root is needed only to bind ports below 1024 and to read a TLS key that
 * may be root-only, so both happen first and the drop is permanent: real,
 * effective and saved ids all change, supplementary groups are reset, and
 * we check that setuid(0) now fails (OpenSSH and OpenSMTPD do the same).
 *
 * Files the daemon writes later (postino.db and its WAL, mail, queue) must
 * belong to the service user, so a data directory that root created or
 * restored is handed over before the database is opened.
 */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "core/db.h"
#include "core/privs.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

int privs_resolve(const char *user, struct privs *privs_r, char **error_r)
{
	struct passwd *pw;

	memset(privs_r, 0, sizeof(*privs_r));
	if (geteuid() != 0)
		return 0;
	if (user == NULL || user[0] == '\0') {
		*error_r = xstrdup("refusing to run as root: set 'user = NAME' in postino.conf to "
				   "an unprivileged account (postino init picks 'postino')");
		return -1;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		*error_r = xasprintf("user '%s' (postino.conf 'user') does not exist%s%s", user,
				     errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		return -1;
	}
	if (pw->pw_uid == 0) {
		*error_r = xasprintf("refusing to run as root: 'user = %s' has uid 0; name an "
				     "unprivileged account", user);
		return -1;
	}
	privs_r->drop = true;
	privs_r->user = xstrdup(user);
	privs_r->uid = pw->pw_uid;
	privs_r->gid = pw->pw_gid;
	return 0;
}

static bool privs_owned(const struct privs *privs, const char *path)
{
	struct stat st;

	/* a missing file cannot be wrong; whoever creates it decides */
	if (stat(path, &st) < 0)
		return errno == ENOENT;
	return st.st_uid == privs->uid && st.st_gid == privs->gid;
}

int privs_fix_ownership(const struct privs *privs, const char *data_dir, char **error_r)
{
	char *db_path;
	bool owned;

	if (!privs->drop)
		return 0;
	db_path = xasprintf("%s/%s", data_dir, DB_FILE_NAME);
	owned = privs_owned(privs, data_dir) && privs_owned(privs, db_path);
	free(db_path);
	if (owned)
		return 0;
	log_info("data directory %s is not owned by %s; changing its owner (once)", data_dir,
		 privs->user);
	if (chown_tree(data_dir, privs->uid, privs->gid) < 0) {
		*error_r = xasprintf("cannot give %s to user %s: %s", data_dir, privs->user,
				     strerror(errno));
		return -1;
	}
	return 0;
}

int privs_drop(const struct privs *privs, char **error_r)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (!privs->drop)
		return 0;
	if (initgroups(privs->user, privs->gid) < 0 ||
	    setresgid(privs->gid, privs->gid, privs->gid) < 0 ||
	    setresuid(privs->uid, privs->uid, privs->uid) < 0) {
		*error_r = xasprintf("cannot drop privileges to %s: %s", privs->user,
				     strerror(errno));
		return -1;
	}
	/* trust, but verify: every id changed and root is gone for good */
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0 ||
	    ruid != privs->uid || euid != privs->uid || suid != privs->uid ||
	    rgid != privs->gid || egid != privs->gid || sgid != privs->gid) {
		*error_r = xasprintf("privilege drop to %s did not take", privs->user);
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		*error_r = xasprintf("privilege drop to %s is reversible; refusing to run",
				     privs->user);
		return -1;
	}
	log_info("running as user=%s uid=%u gid=%u", privs->user, (unsigned)privs->uid,
		 (unsigned)privs->gid);
	return 0;
}

void privs_clear(struct privs *privs)
{
	free(privs->user);
	memset(privs, 0, sizeof(*privs));
}
