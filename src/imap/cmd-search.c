/* SPDX-License-Identifier: ISC */
/*
 * cmd-search.c - SEARCH and UID SEARCH (RFC 9051 6.4.4); the program and
 * its evaluation are imap-search.c's.
 */
#include "lib/lib.h"
#include "imap/imap-private.h"

void cmd_search(struct imap_cmd *cmd)
{
	if (cmd->count == 0) {
		imap_cmd_bad(cmd, "Syntax: SEARCH [RETURN (...)] [CHARSET name] keys");
		return;
	}
	imap_search_start(cmd);
}
