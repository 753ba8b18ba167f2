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

	{ .code = "admin.autoreply-set", .text = "autoresponder turned on",
	  .explanation = "An administrator set the mailbox's autoresponder; the detail holds its "
			 "date window and interval.",
	  .fix = "postino autoreply off ADDR" },
	{ .code = "admin.autoreply-off", .text = "autoresponder turned off",
	  .explanation = "An administrator turned the mailbox's autoresponder off." },

	/* ---- the autoresponder (RFC 3834) ---- */
	{ .code = "autoreply.sent", .text = "automatic reply sent",
	  .explanation = "The mailbox's autoresponder answered the sender (at most once per "
			 "interval per sender)." },
	{ .code = "autoreply.skip-null-sender", .text = "no automatic reply to a bounce",
	  .explanation = "The message had a null envelope sender (a bounce or notification); "
			 "RFC 3834 forbids answering it." },
	{ .code = "autoreply.skip-auto-submitted", .text = "no automatic reply to automatic mail",
	  .explanation = "The message carried Auto-Submitted (RFC 3834 5): answering could loop." },
	{ .code = "autoreply.skip-list", .text = "no automatic reply to a mailing list",
	  .explanation = "The message came through a mailing list (List-Id, List-Unsubscribe or "
			 "List-Post): the reply would go to every subscriber or the list robot." },
	{ .code = "autoreply.skip-bulk", .text = "no automatic reply to bulk mail",
	  .explanation = "Precedence: bulk/list/junk, or X-Auto-Response-Suppress asked for none." },
	{ .code = "autoreply.skip-system-sender", .text = "no automatic reply to a robot",
	  .explanation = "The sender is a system address (MAILER-DAEMON, postmaster, owner-*, "
			 "*-request, noreply...; RFC 5230 4.5)." },
	{ .code = "autoreply.skip-self", .text = "no automatic reply to oneself",
	  .explanation = "The sender is the mailbox itself." },
	{ .code = "autoreply.skip-spam", .text = "no automatic reply to spam",
	  .explanation = "The spam filter classified the message as spam; answering would confirm "
			 "the address to spammers and backscatter to forged senders." },
	{ .code = "autoreply.skip-recent", .text = "sender already answered recently",
	  .explanation = "The autoresponder already answered this sender within its interval." },
	{ .code = "autoreply.skip-window", .text = "autoresponder outside its dates",
	  .explanation = "The autoresponder is set but the message arrived outside its date window.",
	  .fix = "postino autoreply set ADDR ... --from DATE --until DATE" },

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
	/* ---- local delivery ---- */
	/* store/deliver.c and store/quota.c. Every refusal here is per recipient;
	 * the SMTP layer replies with the row's code and text, never the detail. */
	{ .code = "deliver.ok", .smtp = "250 2.0.0", .text = "message delivered",
	  .explanation = "The message was stored durably in the mailbox (written, fsynced, renamed "
			 "into new/, directory fsynced); the detail names the folder and file." },
	/* The admin's reason is for the journal and `why` only: a sender learns
	 * nothing about the mailbox's owner from this text. */
	{ .code = "deliver.disabled", .smtp = "550 5.2.1", .text = "mailbox unavailable",
	  .explanation = "The mailbox is disabled by an administrator and accepts no mail; the "
			 "journal detail says who disabled it and why (the sender is not told).",
	  .fix = "postino user set ADDR disabled=no" },
	/* RFC 3463 X.2.1 "the mailbox exists, but is not accepting messages" is
	 * exactly can-receive=no, which refuses every sender alike. X.7.1
	 * ("delivery not authorized") is for refusing particular senders
	 * (per-host or per-recipient filtering) and would send the sender
	 * looking for a policy they could satisfy. */
	{ .code = "deliver.no-receive", .smtp = "550 5.2.1", .text = "mailbox does not accept mail",
	  .explanation = "The mailbox's receive service is off (can-receive=no): it exists but takes "
			 "no incoming mail from anyone.",
	  .fix = "postino user set ADDR can-receive=yes" },
	/* Mailbox full is temporary (RFC 3463 X.2.2 allows both): the sender
	 * retries for days and the mail arrives once the user makes room. */
	{ .code = "deliver.over-quota", .smtp = "452 4.2.2", .imap = "OVERQUOTA",
	  .text = "mailbox full, try again later",
	  .explanation = "Storing the message would exceed the mailbox's size quota. The refusal is "
			 "temporary: the sender retries, and the message arrives once space is freed.",
	  .fix = "Ask the user to delete or archive mail, or postino user set ADDR quota=SIZE" },
	{ .code = "deliver.over-messages", .smtp = "452 4.2.2", .imap = "OVERQUOTA",
	  .text = "mailbox full, try again later",
	  .explanation = "Storing the message would exceed the mailbox's maximum number of messages "
			 "(max-messages). Temporary, like deliver.over-quota.",
	  .fix = "Ask the user to delete mail, or postino user set ADDR max-messages=N" },
	/* ... but a message that can never fit is refused for good, instead
	 * of being retried until the sender's queue gives up. */
	{ .code = "deliver.over-quota-permanent", .smtp = "552 5.2.2", .imap = "OVERQUOTA",
	  .text = "message is larger than the mailbox's quota",
	  .explanation = "The message alone is larger than the mailbox's (or its domain's) whole "
			 "quota, so it can never be stored; it is refused permanently.",
	  .fix = "postino user set ADDR quota=SIZE (or domain set DOMAIN quota=SIZE), or ask the "
		 "sender for a smaller message" },
	/* The domain's quota is shared by its mailboxes; to the sender this
	 * mailbox is simply full (X.2.2), and nothing about the hosting
	 * arrangement is disclosed. */
	{ .code = "deliver.domain-full", .smtp = "452 4.2.2", .imap = "OVERQUOTA",
	  .text = "mailbox full, try again later",
	  .explanation = "Storing the message would exceed the domain's total quota, which all its "
			 "mailboxes share. The sender is told the mailbox is full and retries.",
	  .fix = "postino domain set DOMAIN quota=SIZE, or free space in the domain's mailboxes" },
	/* RFC 3463 X.4.6 "routing loop detected"; the limit is RFC 5321 6.3's. */
	{ .code = "deliver.too-many-hops", .smtp = "554 5.4.6", .text = "too many hops, mail loop",
	  .explanation = "The message carries more than 100 Received fields (RFC 5321 6.3): it is "
			 "almost certainly looping between servers.",
	  .fix = "Follow the Received fields to the forward or alias that points back." },
	{ .code = "deliver.loop", .smtp = "554 5.4.6", .text = "mail forwarding loop",
	  .explanation = "The message already has a Delivered-To field naming this mailbox: it was "
			 "delivered here before and came back through a forward or alias chain.",
	  .fix = "Check the forward targets of this mailbox and of the addresses they forward to." },
	{ .code = "deliver.io-error", .smtp = "451 4.3.0", .text = "local delivery failed, try again later",
	  .explanation = "The message could not be stored durably (disk full, I/O error, "
			 "permissions). Nothing was left in the mailbox and the sender will retry; the "
			 "detail names the failing step.",
	  .fix = "Check disk space and the data directory's ownership, and the server log." },
	{ .code = "deliver.forward", .text = "message forwarded",
	  .explanation = "The mailbox forwards its mail: the message was handed to the outbound queue "
			 "for the target named in the detail." },
	{ .code = "deliver.forward-no-copy", .text = "message forwarded without a local copy",
	  .explanation = "The mailbox forwards with forward-keep-copy=no, so nothing was stored here: "
			 "the user will not find this message in their mailbox.",
	  .fix = "postino user set ADDR forward-keep-copy=yes" },
	{ .code = "deliver.quota-warning", .text = "mailbox almost full",
	  .explanation = "The mailbox reached 90% of its size or message quota. The user is warned "
			 "once, and again only after usage falls under 90% and rises past it.",
	  .fix = "Ask the user to delete or archive mail, or raise the quota." },
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
