/* SPDX-License-Identifier: ISC */
/*
 * reason.c - the reason-code table.
 *
 * Codes are "area.what", stable once released: the journal, SMTP/IMAP/POP3
 * replies, the API and `postino why` all refer to them. Add rows; never
 * rename one. docs/REASONS.md is generated from this table.
 */
#include "lib/lib.h"
#include "core/reason.h"

static const struct reason reasons[] = {
	/* ---- admin changes (journalled by the CLI and the API) ---- */
	{ .code = "admin.init", .text = "data directory initialised",
	  .explanation = "postino init created the data directory, database and certificate." },
	{ .code = "admin.domain-add", .text = "domain added",
	  .explanation = "An administrator added a local domain." },
	{ .code = "admin.domain-set", .text = "domain limits changed",
	  .explanation = "An administrator changed a domain's limits (max mailboxes, total quota)." },
	{ .code = "admin.domain-del", .text = "domain deleted",
	  .explanation = "An administrator deleted a local domain." },
	{ .code = "admin.user-add", .text = "mailbox added",
	  .explanation = "An administrator created a mailbox." },
	{ .code = "admin.user-set", .text = "mailbox settings changed",
	  .explanation = "An administrator changed a mailbox's settings; the detail lists the keys." },
	{ .code = "admin.user-passwd", .text = "password changed",
	  .explanation = "The mailbox's password was set by an administrator; the expiry clock restarts." },
	{ .code = "admin.user-disable", .text = "mailbox disabled",
	  .explanation = "An administrator disabled the mailbox; the detail holds the reason given.",
	  .fix = "postino user set ADDR disabled=no" },
	{ .code = "admin.user-enable", .text = "mailbox enabled",
	  .explanation = "An administrator re-enabled the mailbox." },
	{ .code = "admin.user-del", .text = "mailbox deleted",
	  .explanation = "An administrator deleted a mailbox." },
	{ .code = "admin.alias-add", .text = "alias added",
	  .explanation = "An administrator added an alias or alias targets." },
	{ .code = "admin.alias-del", .text = "alias deleted",
	  .explanation = "An administrator deleted an alias or some of its targets." },

	/* ---- refusals of admin operations ---- */
	{ .code = "domain.max-accounts", .text = "the domain has reached its maximum number of mailboxes",
	  .explanation = "Creating the mailbox would exceed the domain's max-accounts limit; "
			 "existing mailboxes are never disabled because of a limit.",
	  .fix = "postino domain set DOMAIN max-accounts=N, or delete unused mailboxes" },
	{ .code = "domain.quota", .text = "the domain's total quota does not allow this",
	  .explanation = "The requested mailbox quota is larger than the domain's total quota.",
	  .fix = "postino domain set DOMAIN quota=SIZE, or choose a smaller mailbox quota" },
	{ .code = "directory.invalid", .text = "invalid request",
	  .explanation = "An address, domain name, setting or value given to an admin command "
			 "is not valid; the message says which and why." },
	{ .code = "directory.exists", .text = "already exists",
	  .explanation = "The domain, mailbox or alias to create already exists." },
	{ .code = "directory.unknown", .text = "no such domain, mailbox or alias",
	  .explanation = "The admin command names a domain, mailbox or alias that does not exist.",
	  .fix = "postino domain list / user list / alias list" },
	{ .code = "directory.in-use", .text = "still in use",
	  .explanation = "The change would conflict with what exists: an alias and a mailbox "
			 "cannot share an address, a domain with mailboxes is not deleted without "
			 "--force, and a limit cannot be lowered below what is already used." },

	/* ---- the daemon's own life ---- */
	{ .code = "serve.start", .text = "server started",
	  .explanation = "postino serve bound its listeners and is accepting connections." },
	{ .code = "serve.reload", .text = "configuration reloaded",
	  .explanation = "SIGHUP: the configuration and certificates were re-read." },
	{ .code = "serve.reload-failed", .text = "configuration reload refused",
	  .explanation = "SIGHUP: the new configuration or certificate was invalid; the server "
			 "kept running with the previous one.",
	  .fix = "Correct postino.conf or the certificate files (see the log line), then send SIGHUP again." },
	{ .code = "serve.stop", .text = "server stopped",
	  .explanation = "SIGTERM/SIGINT: the server drained its work and exited." },
	{ .code = "serve.unavailable", .smtp = "421 4.3.2", .pop3 = "SYS/TEMP",
	  .text = "Service not available",
	  .explanation = "The listener is up but the protocol is not served by this build yet; "
			 "the client was greeted with the protocol's service-unavailable reply." },
	{ .code = "serve.busy", .smtp = "421 4.3.2", .imap = "UNAVAILABLE", .pop3 = "SYS/TEMP",
	  .text = "Too many connections, try again later",
	  .explanation = "The server or this listener reached its connection limit; the client "
			 "was told to come back later and disconnected.",
	  .fix = "Look for a client opening connections in a loop; the limits are in core/listen.c." },
	{ .code = "serve.busy-ip", .smtp = "421 4.7.0", .imap = "UNAVAILABLE", .pop3 = "IN-USE",
	  .text = "Too many connections from your address",
	  .explanation = "One client address holds too many connections at once; the new one was "
			 "told to come back later and disconnected.",
	  .fix = "Check the client (or the NAT gateway in front of many clients) at that address." },
};

const struct reason *reason_lookup(const char *code)
{
	for (size_t i = 0; i < N_ELEMENTS(reasons); i++) {
		if (strcmp(reasons[i].code, code) == 0)
			return &reasons[i];
	}
	return NULL;
}

const struct reason *reason_at(size_t i)
{
	return i < N_ELEMENTS(reasons) ? &reasons[i] : NULL;
}
