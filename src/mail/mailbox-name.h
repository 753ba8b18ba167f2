/* SPDX-License-Identifier: ISC */
/*
 * mailbox-name.h - which mailbox names the server accepts, and the one to
 * one mapping between a name and its Maildir++ folder on disk.
 *
 * One mailbox, three spellings:
 *
 *   as sent     modified UTF-7 from IMAP4rev1 clients ("Entw&APw-rfe"),
 *               UTF-8 from IMAP4rev2 / UTF8=ACCEPT ones; the session turns
 *               the first into the second with utf7_decode().
 *   name        UTF-8, '/' between levels ("Archive/2024", "Entwürfe"),
 *               INBOX upper-case. What LIST shows (re-encoded for rev1
 *               clients), what the index and the journal record.
 *   storage     the Maildir++ folder: directory ".<storage>" under the
 *               mailbox root, INBOX being the root itself. Levels are
 *               joined by '.', each level is modified UTF-7 as Dovecot
 *               stores it, so Maildirs move between Dovecot and postino
 *               with their folders ("Archive.2024", "Entw&APw-rfe").
 *
 * As '.' separates levels on disk, a '.' inside a level must not reach the
 * disk as is, or "a.b" and "a/b" would be one folder. We escape it the way
 * Dovecot's listescape plugin does for exactly this setup (separator '/'
 * to clients, Maildir++ on disk; doc.dovecot.org, "Listescape plugin"):
 * as "\NN" hex, "a.b" -> "a\2eb". The escape character itself ("\5c") and
 * a leading '~' ("\7e", which Dovecot refuses as a home-directory path)
 * are escaped too. The reverse mapping accepts only what the forward one
 * writes, so every folder is the image of exactly one name and no two
 * names collide.
 *
 * Refused outright: empty names or levels (a leading, trailing or doubled
 * '/'), "." and ".." levels, control characters (C0, DEL, C1), invalid
 * UTF-8, and names whose folder would not fit MAILBOX_STORAGE_NAME_MAX.
 * CREATE's trailing separator (RFC 9051 section 6.3.4) is the session's to
 * strip first.
 */
#ifndef POSTINO_MAILBOX_NAME_H
#define POSTINO_MAILBOX_NAME_H

#include "lib/lib.h"

/* The hierarchy separator LIST reports to clients. */
#define MAILBOX_SEPARATOR '/'
/* Maildir++ joins levels with '.' on disk. */
#define MAILBOX_STORAGE_SEPARATOR '.'
/* Dovecot listescape's default escape character. */
#define MAILBOX_ESCAPE_CHAR '\\'
/* Linux NAME_MAX (255) minus the leading '.' of a Maildir++ folder
 * directory; the same bound as MAILDIR_FOLDER_NAME_MAX in store/. */
#define MAILBOX_STORAGE_NAME_MAX 254

/* "INBOX" in any case (RFC 9051 section 5.1: case-insensitive). */
bool mailbox_name_is_inbox(const char *name);

/* mailbox_name_validate - a name (UTF-8) the server accepts. */
int mailbox_name_validate(const char *name, const char **error_r);

/* mailbox_name_to_storage - a valid name's folder name for the Maildir++
 * layer ("INBOX" for INBOX in any case, which store/ maps to the root).
 * Caller frees. */
int mailbox_name_to_storage(const char *name, char **storage_r, const char **error_r);

/* mailbox_name_from_storage - the name of the folder directory
 * ".<storage>"; -1 when storage is not what mailbox_name_to_storage()
 * writes for any name (the folder cannot be reached over IMAP: list it as
 * a problem, never guess). A ".INBOX" directory is refused: INBOX is the
 * root. Caller frees. */
int mailbox_name_from_storage(const char *storage, char **name_r, const char **error_r);

#endif
