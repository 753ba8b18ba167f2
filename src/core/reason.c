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
	/* `postino queue ...` (cli/cli-queue.c); queueid names the message */
	{ .code = "admin.queue-retry", .text = "queued message retried now",
	  .explanation = "An administrator asked for an immediate delivery attempt of a queued (or "
			 "held) message; the detail lists its recipients." },
	{ .code = "admin.queue-delete", .text = "queued message deleted",
	  .explanation = "An administrator removed a message from the outbound queue without sending "
			 "it or a bounce; recipients being sent at that moment are dropped after the "
			 "attempt." },
	{ .code = "admin.queue-bounce", .text = "queued message bounced",
	  .explanation = "An administrator gave up on a queued message: a failure report (status "
			 "5.0.0) goes to its sender." },
	{ .code = "admin.queue-hold", .text = "queued message put on hold",
	  .explanation = "An administrator held a queued message: it is not sent until released.",
	  .fix = "postino queue release ID" },
	{ .code = "admin.queue-release", .text = "held message released",
	  .explanation = "An administrator released a held message; it is sent at once." },

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
	{ .code = "notice.quota-warning", .text = "mailbox almost full: warning sent",
	  .explanation = "The mailbox crossed its warning level (90% of its quota by size or "
			 "count) and its owner was sent one warning message; the next one goes "
			 "only after usage has fallen below the level again.",
	  .fix = "postino user set ADDR quota=SIZE, or delete old mail" },
	{ .code = "notice.password-expiry", .text = "password expires soon: warning sent",
	  .explanation = "The mailbox's password expires within password.warn-days days "
			 "(password-max-age of the mailbox or its domain) and its owner was "
			 "mailed once, from postmaster, with the date and how to change it. A "
			 "new password gets its own warning.",
	  .fix = "postino user passwd ADDR --password-stdin (or the user changes it)" },
	{ .code = "notice.password-expiry-failed", .text = "password expiry warning not sent",
	  .explanation = "The warning that the mailbox's password expires soon could not be "
			 "delivered (the detail and the server log say why); it is tried again "
			 "at the next look (password.warn-interval).",
	  .fix = "postino why ADDR --receive" },
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
	/* ---- outbound queue (src/queue/qmgr*.c) ---- */
	{ .code = "queue.delivered", .text = "delivered to the remote server",
	  .explanation = "The receiving server accepted the message for this recipient (250 after the "
			 "data); the detail names the host, its address, whether TLS was used and its reply." },
	{ .code = "queue.delivered-local", .text = "delivered to a local mailbox from the queue",
	  .explanation = "A queued recipient turned out to be a mailbox here (a retried local delivery, "
			 "or a notice to one of our users) and was stored." },
	{ .code = "queue.deferred", .text = "delivery failed temporarily, will retry",
	  .explanation = "The receiving side answered 4xx, could not be reached, or DNS failed "
			 "temporarily. The message stays queued and is retried on queue.retry-schedule "
			 "until queue.max-lifetime; the detail has the reply or error.",
	  .fix = "postino queue show ID; postino queue retry ID once the cause is fixed." },
	{ .code = "queue.failed", .text = "delivery failed permanently",
	  .explanation = "The receiving server refused the recipient or message with a 5xx reply, the "
			 "domain does not exist or accepts no mail (null MX), or the message cannot be "
			 "sent as it is (too large, 8-bit or UTF-8 the peer cannot take). A bounce goes "
			 "to the sender." },
	{ .code = "queue.expired", .text = "message expired in the queue",
	  .explanation = "Every attempt failed temporarily until queue.max-lifetime ran out; the "
			 "message is bounced to its sender with the last error.",
	  .fix = "Check the destination with postino route DOMAIN and the last error with postino "
		 "queue show ID." },
	{ .code = "queue.bounced", .text = "bounce sent to the sender",
	  .explanation = "A delivery status notification (RFC 3464) listing the failed recipients "
			 "was sent to the envelope sender, from the null sender." },
	{ .code = "queue.bounce-suppressed", .text = "failure not reported to the sender",
	  .explanation = "The message had the null sender (it was itself a bounce or notice: no "
			 "bounce loops) or the sender asked for no failure report (NOTIFY=NEVER)." },
	{ .code = "queue.relay-report", .text = "delivery report sent to the sender",
	  .explanation = "The sender asked for a success notice (NOTIFY=SUCCESS) and the receiving "
			 "server does not speak DSN, so postino reported the hand-over itself "
			 "(RFC 3461 6.2.1, action \"relayed\")." },
	{ .code = "queue.delay-warning", .text = "delay warning sent to the sender",
	  .explanation = "The message has waited longer than queue.delay-warning; the sender was told "
			 "once that it is still being retried." },
	{ .code = "queue.dropped", .text = "removed from the queue by an administrator",
	  .explanation = "postino queue delete removed the recipient; nothing was sent to anyone." },
	/* ---- outbound routing (src/queue/route.c) ---- */
	/* Where mail for a remote domain goes (RFC 5321 5.1); the SMTP codes
	 * are the status the bounce (RFC 3464) reports. `postino route DOMAIN`
	 * shows the same answer the queue gets. */
	{ .code = "route.nxdomain", .smtp = "550 5.1.2", .text = "recipient domain does not exist",
	  .explanation = "DNS says the recipient's domain does not exist (NXDOMAIN): no mail can ever "
			 "reach it, so the message is bounced at once.",
	  .fix = "Check the address for a typo in the domain; postino route DOMAIN shows the answer." },
	{ .code = "route.null-mx", .smtp = "556 5.1.10", .text = "recipient domain accepts no mail",
	  .explanation = "The domain publishes a null MX (a single MX record \".\", RFC 7505): it "
			 "declares that it never receives mail, so the message is bounced at once." },
	{ .code = "route.no-address", .smtp = "554 5.4.4", .text = "no usable address for the "
	  "recipient domain's mail servers",
	  .explanation = "The domain's MX hosts (or the domain itself, when it has no MX) have no "
			 "IPv4/IPv6 address, or only unusable ones (0.0.0.0/8, multicast); with "
			 "outbound.ipv6=no an IPv6-only destination ends here too.",
	  .fix = "postino route DOMAIN shows what DNS returned; the domain's owner must fix its "
		 "records (or set outbound.ipv6=yes on a host with IPv6)." },
	{ .code = "route.dns-tempfail", .smtp = "451 4.4.3", .text = "DNS lookup failed temporarily",
	  .explanation = "The resolver timed out, refused or answered SERVFAIL for the domain or its "
			 "MX hosts, and no address was found: the message stays queued and is retried.",
	  .fix = "Check dns.servers in postino.conf and the resolver (postino route DOMAIN)." },
	{ .code = "route.bad-domain", .smtp = "550 5.1.2", .text = "invalid destination domain",
	  .explanation = "The recipient domain (or the relay host of relay.host/relay.domains) is not "
			 "a valid domain name or address literal, so it cannot be looked up.",
	  .fix = "Correct the address, or the relay setting in postino.conf." },
	/* ---- DKIM signing (src/dkim/, F25) ---- */
	{ .code = "dkim.key-generate", .text = "DKIM key generated",
	  .explanation = "An administrator generated a DKIM key for a domain; it signs that domain's "
			 "outgoing mail from now on (the previous key stays listed).",
	  .fix = "Publish the record printed by postino dkim show DOMAIN in the domain's DNS." },
	{ .code = "dkim.key-activate", .text = "DKIM key made active",
	  .explanation = "An administrator chose which of the domain's DKIM keys signs." },
	{ .code = "dkim.key-del", .text = "DKIM key deleted",
	  .explanation = "An administrator deleted a DKIM key; when it was the active one, the "
			 "newest remaining key (if any) signs instead.",
	  .fix = "Remove its TXT record from DNS once mail signed with it has been delivered." },
	{ .code = "dkim.sign-failed", .text = "message queued without a DKIM signature",
	  .explanation = "The From: domain has a DKIM key but signing failed (key file missing or "
			 "unreadable, header too large); the message was queued unsigned rather than "
			 "lost. The detail and the server log say why.",
	  .fix = "postino dkim list; check DATA/dkim/DOMAIN/SELECTOR.key exists and belongs to the "
		 "daemon's user." },
	/* ---- smtp ---- */
	/* src/smtp/: protocol refusals. Codes are RFC 5321 4.2.3 replies with
	 * RFC 3463 enhanced status codes (RFC 2034). */
	{ .code = "smtp.accepted", .smtp = "250 2.0.0", .text = "Message accepted",
	  .explanation = "The message was received and is durable for every accepted recipient "
			 "(mailbox files fsynced, or queue file and rows written) before the 250." },
	{ .code = "smtp.queued", .smtp = "250 2.0.0", .text = "Message queued for delivery",
	  .explanation = "A recipient outside our domains (authenticated submission, or a forward or "
			 "alias target) was written to the outbound queue in state 'queued'; the outbound "
			 "transport sends it." },
	{ .code = "smtp.early-talker", .smtp = "554 5.5.0",
	  .text = "Protocol error: you spoke before my greeting",
	  .explanation = "The client sent data before the server's 220 greeting on port 25 "
			 "(RFC 5321 4.3.1: the server speaks first). Real mail servers wait; spam engines "
			 "often do not. The connection was closed.",
	  .fix = "A legitimate client must wait for the greeting; smtp.greeting-delay-ms sets the pause." },
	{ .code = "smtp.line-too-long", .smtp = "500 5.5.2", .text = "Line too long",
	  .explanation = "A command line exceeded 512 octets (RFC 5321 4.5.3.1.4, plus what the "
			 "advertised extensions allow); it was discarded and the session went on." },
	{ .code = "smtp.unknown-command", .smtp = "500 5.5.1", .text = "Command unrecognized",
	  .explanation = "The client sent a command this server does not implement." },
	{ .code = "smtp.syntax", .smtp = "501 5.5.4", .text = "Syntax error in parameters or arguments",
	  .explanation = "A command's arguments were malformed (a path, a parameter, the EHLO name); "
			 "the reply names what was wrong." },
	{ .code = "smtp.bad-sequence", .smtp = "503 5.5.1", .text = "Bad sequence of commands",
	  .explanation = "A command came out of order (RCPT before MAIL, MAIL before EHLO, DATA "
			 "after BDAT, STARTTLS inside a transaction, ...)." },
	{ .code = "smtp.no-recipients", .smtp = "503 5.5.1", .text = "No valid recipients",
	  .explanation = "DATA or BDAT without an accepted RCPT (RFC 5321 3.3)." },
	{ .code = "smtp.too-many-errors", .smtp = "421 4.7.0",
	  .text = "Too many errors, closing connection",
	  .explanation = "The client made 20 errors in one session; the server closed it (RFC 5321 "
			 "4.3.2 allows 421 at any time).",
	  .fix = "Look at the client's protocol log (smtp.protocol-log = yes)." },
	{ .code = "smtp.timeout", .smtp = "421 4.4.2", .text = "Timeout exceeded, closing connection",
	  .explanation = "The client sent nothing for smtp.timeout seconds (RFC 5321 4.5.3.2)." },
	{ .code = "smtp.shutdown", .smtp = "421 4.3.2", .text = "Server shutting down, try again later",
	  .explanation = "The server was stopping; the client was told to come back." },
	{ .code = "smtp.tls-active", .smtp = "503 5.5.1", .text = "TLS already active",
	  .explanation = "STARTTLS on a connection that is already encrypted." },
	{ .code = "smtp.tls-unavailable", .smtp = "454 4.7.0",
	  .text = "TLS not available due to temporary reason",
	  .explanation = "STARTTLS could not be started (no certificate loaded).",
	  .fix = "Check tls.cert and tls.key and the server log." },
	{ .code = "smtp.auth-required", .smtp = "530 5.7.0", .text = "Authentication required",
	  .explanation = "On the submission ports (587, 465) a client must authenticate before MAIL "
			 "(RFC 4954 6).",
	  .fix = "Configure the mail client to log in with the mailbox address and password." },
	{ .code = "smtp.auth-encryption-required", .smtp = "538 5.7.11",
	  .text = "Encryption required for requested authentication mechanism",
	  .explanation = "AUTH before STARTTLS on port 587 (RFC 4954 4, 6): passwords never cross "
			 "the network in clear.",
	  .fix = "Configure the mail client to use STARTTLS on 587 or SSL/TLS on 465." },
	{ .code = "smtp.auth-not-offered", .smtp = "502 5.5.1",
	  .text = "Authentication is not available on this port; use submission (587 or 465)",
	  .explanation = "AUTH on the MX port 25, where it is not offered: users send through the "
			 "submission ports.",
	  .fix = "Configure the mail client's outgoing server for port 587 (STARTTLS) or 465 (SSL/TLS)." },
	{ .code = "smtp.auth-already", .smtp = "503 5.5.1", .text = "Already authenticated",
	  .explanation = "A second AUTH in one session (RFC 4954 4)." },
	{ .code = "smtp.auth-mechanism", .smtp = "504 5.5.4",
	  .text = "Unrecognized authentication type; use PLAIN or LOGIN",
	  .explanation = "The client asked for a SASL mechanism other than PLAIN or LOGIN." },
	{ .code = "smtp.auth-syntax", .smtp = "501 5.5.2", .text = "Invalid authentication data",
	  .explanation = "The SASL response was not valid base64 or not a valid PLAIN/LOGIN message." },
	{ .code = "smtp.auth-cancelled", .smtp = "501 5.0.0", .text = "Authentication cancelled",
	  .explanation = "The client cancelled the exchange with '*' (RFC 4954 4)." },
	{ .code = "smtp.auth-tempfail", .smtp = "454 4.7.0",
	  .text = "Temporary authentication failure, try again later",
	  .explanation = "The directory could not be read to check the password.",
	  .fix = "Check postino.db and the server log." },
	{ .code = "smtp.message-too-big", .smtp = "552 5.3.4",
	  .text = "Message size exceeds fixed maximum message size",
	  .explanation = "The message (announced with SIZE=, or counted while receiving) is larger "
			 "than smtp.max-message-size; nothing was delivered (RFC 1870).",
	  .fix = "Raise smtp.max-message-size, or ask the sender for a smaller message." },
	{ .code = "smtp.too-many-recipients", .smtp = "452 4.5.3", .text = "Too many recipients",
	  .explanation = "More RCPTs than smtp.max-recipients in one transaction; the client sends "
			 "the rest in another one (RFC 5321 4.5.3.1.10)." },
	{ .code = "smtp.bare-newline", .smtp = "550 5.6.0",
	  .text = "Message refused: bare CR or LF in message; lines must end with CRLF",
	  .explanation = "The DATA held a CR or LF that was not part of a CRLF pair. Only CRLF.CRLF "
			 "ends a message (RFC 5321 4.1.1.4), and a message with bare line ends is "
			 "refused whole so that no SMTP smuggling variant can split it into two.",
	  .fix = "The sending software must send CRLF line ends (or use BDAT)." },
	{ .code = "smtp.storage-failed", .smtp = "451 4.3.0",
	  .text = "Local error in processing, try again later",
	  .explanation = "The message could not be spooled or made durable (disk full, I/O error); "
			 "nothing was acknowledged and the sender retries.",
	  .fix = "Check disk space under the data directory and the server log." },
	{ .code = "smtp.over-quota-permanent", .smtp = "552 5.2.2", .imap = "OVERQUOTA",
	  .text = "Mailbox full",
	  .explanation = "The mailbox (or its domain) is over quota and smtp.quota-temporary = no, "
			 "so the refusal is permanent and the sender gets a bounce at once.",
	  .fix = "Free space in the mailbox, raise its quota, or set smtp.quota-temporary = yes." },

	/* ---- smtpc: the outbound SMTP client (src/smtpc/) ---- */
	{ .code = "smtpc.ok", .text = "the remote server accepted",
	  .explanation = "The remote server answered 2xx (or 3xx where one was due)." },
	{ .code = "smtpc.connect", .text = "cannot connect to the remote server",
	  .explanation = "The TCP connection failed (refused, unreachable, or no answer within 30 "
			 "seconds). Temporary: the next address or a later retry is tried.",
	  .fix = "Check the route with postino route DOMAIN; port 25 may be blocked outbound." },
	{ .code = "smtpc.timeout", .text = "the remote server stopped answering",
	  .explanation = "No reply within the RFC 5321 4.5.3.2 limits (greeting and MAIL/RCPT 5 "
			 "minutes, DATA 2, each data block 3, the final dot 10). Temporary." },
	{ .code = "smtpc.lost", .text = "connection to the remote server lost",
	  .explanation = "The remote server closed the connection or it broke before the reply that "
			 "mattered. Temporary; recipients not yet accepted after the final dot are "
			 "retried." },
	{ .code = "smtpc.protocol", .text = "the remote server broke the SMTP protocol",
	  .explanation = "A malformed or over-long reply line (over 2048 octets), lines with different "
			 "codes, too many lines, or a reply where none belongs. The connection is "
			 "dropped; temporary." },
	{ .code = "smtpc.tls-failed", .text = "TLS with the remote server failed",
	  .explanation = "STARTTLS was refused or its handshake failed (or the implicit-TLS handshake "
			 "did). With opportunistic TLS the queue reconnects without TLS; with "
			 "required TLS the attempt fails temporarily.",
	  .fix = "The server log has the TLS error; with a smarthost, check its TLS setting." },
	{ .code = "smtpc.tls-required", .text = "the remote server does not offer STARTTLS",
	  .explanation = "TLS is required for this route (smarthost tls=yes) but the server's EHLO "
			 "reply has no STARTTLS; nothing was sent. Temporary.",
	  .fix = "Fix the relay's TLS, or relax the route's TLS requirement." },
	{ .code = "smtpc.refused-4xx", .text = "the remote server refused temporarily",
	  .explanation = "A 4xx reply (greylisting, rate limit, full mailbox, shutdown); the reply "
			 "text says which. Retried on the queue schedule." },
	{ .code = "smtpc.refused-5xx", .text = "the remote server refused permanently",
	  .explanation = "A 5xx reply (unknown user, policy, spam); the reply text says which. The "
			 "sender gets a bounce." },
	{ .code = "smtpc.too-big", .smtp = "552 5.3.4", .text = "message too big for the remote server",
	  .explanation = "The message is larger than the SIZE the server announced (RFC 1870); it was "
			 "not sent. Permanent." },
	{ .code = "smtpc.no-8bitmime", .smtp = "554 5.6.3",
	  .text = "the remote server cannot take 8-bit data",
	  .explanation = "The message has 8-bit content but the server does not offer 8BITMIME (RFC "
			 "6152) and postino does not downgrade; it was not sent. Permanent." },
	{ .code = "smtpc.no-smtputf8", .smtp = "553 5.6.7",
	  .text = "the remote server cannot take UTF-8 addresses",
	  .explanation = "The envelope has non-ASCII addresses but the server does not offer SMTPUTF8 "
			 "(RFC 6531 3.2); it was not sent. Permanent." },
	{ .code = "smtpc.auth-failed", .text = "the relay refused our credentials",
	  .explanation = "AUTH PLAIN or LOGIN to the smarthost was refused (535, or a 4xx).",
	  .fix = "Check the smarthost user name and password." },
	{ .code = "smtpc.auth-needs-tls", .text = "credentials not sent without TLS",
	  .explanation = "Smarthost credentials are configured but the connection is not encrypted "
			 "(no STARTTLS offered, or TLS turned off); postino never sends a password "
			 "in clear (RFC 4954 4).",
	  .fix = "Use a relay port with STARTTLS or implicit TLS." },
	{ .code = "smtpc.auth-unavailable", .text = "the relay offers no usable AUTH mechanism",
	  .explanation = "Credentials are configured but the relay's EHLO reply offers neither AUTH "
			 "PLAIN nor AUTH LOGIN.",
	  .fix = "Check the smarthost's port and whether it wants authentication at all." },
	{ .code = "smtpc.local-error", .text = "local error before sending",
	  .explanation = "The message file could not be opened or read, or the message had no "
			 "recipients. Temporary.",
	  .fix = "Check the queue directory's permissions and the server log." },

	/* ---- pop3 ---- */
	/* src/pop3/: POP3 (RFC 1939) on 110 (STLS, RFC 2595) and 995. The POP3
	 * column is the RFC 2449 / RFC 3206 response code ("-ERR [CODE] text");
	 * RFC 2449 8 allows only IN-USE, LOGIN-DELAY, SYS/TEMP, SYS/PERM and
	 * AUTH, so most protocol errors carry none. */
	{ .code = "pop3.unknown-command", .text = "Unknown command",
	  .explanation = "The client sent a POP3 command this server does not implement (APOP, "
			 "LAST and RPOP are not offered)." },
	{ .code = "pop3.syntax", .text = "Invalid arguments",
	  .explanation = "A command's arguments were missing, extra or malformed (a message number "
			 "that is not a positive decimal number, TOP without a line count, ...)." },
	{ .code = "pop3.bad-sequence", .text = "Command not valid in this state",
	  .explanation = "A command came in the wrong state (RFC 1939 3): STAT before login, USER "
			 "after login, PASS without USER, STLS after login." },
	{ .code = "pop3.line-too-long", .text = "Line too long",
	  .explanation = "A command line exceeded 255 octets (RFC 2449 4), or a PASS/AUTH line the "
			 "SASL limit; it was discarded and the session went on." },
	{ .code = "pop3.too-many-errors", .text = "Too many bad commands, closing connection",
	  .explanation = "The client sent 20 unknown, malformed or out-of-state commands in one "
			 "session; the server closed it without applying any deletion.",
	  .fix = "Look at the client's protocol log (pop3.protocol-log = yes)." },
	{ .code = "pop3.timeout", .text = "Disconnected for inactivity",
	  .explanation = "The client sent nothing for pop3.timeout (RFC 1939 3: at least 10 "
			 "minutes). The connection was closed without a reply and without entering "
			 "the UPDATE state, so nothing was deleted." },
	{ .code = "pop3.shutdown", .pop3 = "SYS/TEMP", .text = "Server shutting down, try again later",
	  .explanation = "The server was stopping; the session was closed without applying its "
			 "deletions (only QUIT applies them)." },
	{ .code = "pop3.auth-encryption-required", .pop3 = "AUTH",
	  .text = "Plaintext authentication disallowed on non-secure connections: use STLS or "
		  "port 995",
	  .explanation = "USER, PASS or AUTH before STLS on port 110 (RFC 2595 2.4, as Dovecot's "
			 "disable_plaintext_auth): passwords never cross the network in clear. CAPA "
			 "offers USER and SASL only once TLS is active.",
	  .fix = "Configure the mail client for STARTTLS on port 110 or SSL/TLS on port 995." },
	{ .code = "pop3.tls-active", .text = "TLS already active",
	  .explanation = "STLS on a connection that is already encrypted (RFC 2595 4)." },
	{ .code = "pop3.tls-unavailable", .pop3 = "SYS/TEMP", .text = "TLS not available, try again later",
	  .explanation = "STLS could not be started (no certificate loaded).",
	  .fix = "Check tls.cert and tls.key and the server log." },
	{ .code = "pop3.auth-mechanism", .text = "Unsupported authentication mechanism; use PLAIN",
	  .explanation = "AUTH named a SASL mechanism other than PLAIN (RFC 5034, RFC 4616)." },
	{ .code = "pop3.auth-syntax", .text = "Invalid authentication data",
	  .explanation = "The SASL response was not valid base64 or not a valid PLAIN message "
			 "(RFC 4616 2), or too long." },
	{ .code = "pop3.auth-cancelled", .text = "Authentication cancelled",
	  .explanation = "The client cancelled the AUTH exchange with '*' (RFC 5034 4)." },
	{ .code = "policy.pop3-disabled", .pop3 = "SYS/PERM",
	  .text = "POP3 access is disabled for this mailbox, contact your administrator",
	  .explanation = "The password was right but the mailbox has can-pop3=no (F12): it still "
			 "receives mail, and IMAP or webmail may be allowed, but POP3 clients cannot "
			 "log in.",
	  .fix = "postino user set ADDR can-pop3=yes" },
	{ .code = "pop3.in-use", .pop3 = "IN-USE",
	  .text = "Mailbox is in use by another POP3 session, try again later",
	  .explanation = "The login succeeded but another POP3 session of the same mailbox is open "
			 "(RFC 1939 8: one maildrop lock per mailbox; RFC 2449 8.1.1 IN-USE). The "
			 "lock ends with that session.",
	  .fix = "Look for two devices (or two accounts in one client) downloading the same "
		 "mailbox; postino log --service pop3 --account ADDR shows both." },
	{ .code = "pop3.store-error", .pop3 = "SYS/TEMP",
	  .text = "Mailbox could not be read, try again later",
	  .explanation = "The mailbox's index or Maildir could not be opened, read or updated (I/O "
			 "error, permissions, a damaged index); the detail has the index's error.",
	  .fix = "Check the server log, disk health and the data directory's ownership." },
	{ .code = "pop3.no-message", .text = "No such message",
	  .explanation = "A message number beyond the maildrop listed at login." },
	{ .code = "pop3.message-deleted", .text = "Message is deleted",
	  .explanation = "The message was marked deleted (DELE) in this session; RSET unmarks it "
			 "(RFC 1939 5)." },
	{ .code = "pop3.message-gone", .text = "Message was removed by another client",
	  .explanation = "The message was in the maildrop at login but another client (IMAP, "
			 "webmail) expunged it since; its number stays valid but it cannot be read." },
	{ .code = "pop3.update", .text = "maildrop updated",
	  .explanation = "QUIT in the TRANSACTION state: the messages marked with DELE were "
			 "removed and the retrieved ones marked \\Seen (RFC 1939 6); the detail counts "
			 "them." },
	{ .code = "pop3.update-failed", .pop3 = "SYS/TEMP",
	  .text = "Some deleted messages not removed, try again later",
	  .explanation = "QUIT could not apply every deletion (RFC 1939 6); the messages stay and "
			 "the client deletes them again next time.",
	  .fix = "Check the server log and disk health." },
	{ .code = "pop3.aborted", .text = "session ended without QUIT: nothing deleted",
	  .explanation = "A logged-in POP3 session ended by a dropped connection, timeout, "
			 "shutdown or error, not by QUIT; per RFC 1939 6 no message it marked deleted "
			 "was removed. The detail counts what it had retrieved and marked." },

	/* ---- policy ---- */
	/* src/directory/policy.c: who may do what. Protocols reply with these
	 * rows; `why` reads the same codes from the journal. */
	{ .code = "policy.tempfail", .smtp = "451 4.3.0", .imap = "UNAVAILABLE", .pop3 = "SYS/TEMP",
	  .text = "Temporary lookup failure, try again later",
	  .explanation = "The directory (postino.db) could not be read to decide.",
	  .fix = "Check postino.db and the server log." },
	{ .code = "policy.auth-ok", .smtp = "235 2.7.0", .text = "Authentication successful",
	  .explanation = "The account logged in." },
	{ .code = "policy.auth-failed", .smtp = "535 5.7.8", .imap = "AUTHENTICATIONFAILED",
	  .pop3 = "AUTH", .text = "Authentication credentials invalid",
	  .explanation = "Unknown account, no password set, or wrong password.",
	  .fix = "Check the user name (the full address) and reset the password with "
		 "postino user passwd ADDR." },
	{ .code = "policy.auth-disabled", .smtp = "535 5.7.8", .imap = "CONTACTADMIN",
	  .pop3 = "AUTH", .text = "Authentication failed: account disabled, contact your administrator",
	  .explanation = "The password was right but the account is disabled; the admin's reason is "
			 "in the journal, not in the reply.",
	  .fix = "postino user set ADDR disabled=no" },
	{ .code = "policy.auth-expired", .smtp = "535 5.7.8", .imap = "EXPIRED", .pop3 = "AUTH",
	  .text = "Authentication failed: password expired, change it in webmail",
	  .explanation = "The password was right but older than password-max-age days.",
	  .fix = "The user changes the password in webmail, or postino user passwd ADDR." },
	{ .code = "policy.send-disabled", .smtp = "550 5.7.1",
	  .text = "Sending is disabled for this account; contact your administrator",
	  .explanation = "The account has can-send=no: it may log in but not submit mail.",
	  .fix = "postino user set ADDR can-send=yes" },
	{ .code = "policy.send-account-disabled", .smtp = "550 5.7.1",
	  .text = "Account disabled, contact your administrator",
	  .explanation = "The account was disabled (or deleted) after it logged in; it may not send.",
	  .fix = "postino user set ADDR disabled=no" },
	/* ---- hijack detection (directory/sendlimit.c, F21) ---- */
	{ .code = "send.rate-limited", .smtp = "452 4.7.1", .text = "Too many messages in a short time",
	  .explanation = "The account went over limits.send-messages or limits.send-recipients "
			 "(or its domain's send-messages/send-recipients) within limits.send-window: "
			 "the usual sign of a stolen password used to send spam. The command was "
			 "refused and sending stopped (RFC 3463 4.7.1, the status other servers use "
			 "for rate limits).",
	  .fix = "Check the account (change its password), then postino user set ADDR can-send=yes" },
	{ .code = "send.hijack-suspended", .text = "sending suspended by hijack detection",
	  .explanation = "Hijack detection set can-send=no on the account; the detail holds the "
			 "figures, the limits and the client addresses. It can still log in and read "
			 "mail. Letting it send again restarts its count.",
	  .fix = "Check the account (change its password), then postino user set ADDR can-send=yes" },
	{ .code = "send.hijack-disabled", .text = "account disabled by hijack detection",
	  .explanation = "Hijack detection disabled the account (limits.send-action = disable); "
			 "the detail holds the figures, the limits and the client addresses.",
	  .fix = "Check the account (change its password), then postino user set ADDR disabled=no" },
	{ .code = "send.hijack-notified", .text = "postmaster told of a hijack suspension",
	  .explanation = "The notice naming the account, its figures and the command that lets it "
			 "send again went to the postmaster (postmaster@DOMAIN, else the postmaster "
			 "key, else postmaster@HOSTNAME)." },
	{ .code = "send.hijack-notify-failed", .text = "postmaster notice not sent",
	  .explanation = "The notice of a hijack suspension could not be delivered or queued; the "
			 "suspension itself stands. The server log says why.",
	  .fix = "postino alias add postmaster@DOMAIN ADMIN, or postmaster = ADDR in postino.conf" },
	{ .code = "policy.sender-not-owned", .smtp = "553 5.7.1",
	  .text = "Sender address not owned by the authenticated account",
	  .explanation = "On submission, MAIL FROM must be the account's own address or an alias "
			 "whose targets include it; anything else would be forging another sender.",
	  .fix = "Send from the account's address, or postino alias add ALIAS ACCOUNT." },
	{ .code = "policy.relay-denied", .smtp = "554 5.7.1", .text = "Relay access denied",
	  .explanation = "A client that did not authenticate named a recipient outside our domains; "
			 "this server is not an open relay.",
	  .fix = "Users send through 587/465 with authentication; check the domain list if the "
		 "domain should be local (postino domain list)." },
	{ .code = "policy.relay-hack", .smtp = "554 5.7.1",
	  .text = "Relay access denied: routing syntax is not accepted",
	  .explanation = "An unauthenticated client used a percent hack (user%other@local), a "
			 "bang path, a source route or a quoted local part, which are only ever used "
			 "to probe for open relays." },
	{ .code = "policy.unknown-recipient", .smtp = "550 5.1.1",
	  .text = "No such user here",
	  .explanation = "The recipient's domain is ours but no mailbox, alias or catch-all has the "
			 "address; refused at RCPT time so no bounce is ever sent to a forged sender.",
	  .fix = "postino user add ADDR, or postino alias add ADDR TARGET" },
	/* ---- mail store (index) ---- */
	/* store/index*.c: refusals of IMAP/POP3 mailbox and message operations.
	 * The IMAP code is RFC 5530's (RFC 6154 USEATTR, RFC 9208 OVERQUOTA);
	 * the detail of struct index_error goes to the log, never the client. */
	{ .code = "store.over-quota", .imap = "OVERQUOTA", .text = "Quota exceeded (mailbox is full)",
	  .explanation = "APPEND or COPY would take the mailbox past its size quota; nothing was "
			 "stored.",
	  .fix = "Ask the user to delete or archive mail, or postino user set ADDR quota=SIZE" },
	{ .code = "store.over-messages", .imap = "OVERQUOTA",
	  .text = "Quota exceeded (too many messages)",
	  .explanation = "APPEND or COPY would take the mailbox past its max-messages limit; nothing "
			 "was stored.",
	  .fix = "Ask the user to delete mail, or postino user set ADDR max-messages=N" },
	{ .code = "store.too-big", .imap = "OVERQUOTA",
	  .text = "Message is larger than the mailbox's whole quota",
	  .explanation = "The appended message alone exceeds the mailbox's (or its domain's) quota, "
			 "so it can never be stored.",
	  .fix = "postino user set ADDR quota=SIZE, or store a smaller message" },
	{ .code = "store.domain-full", .imap = "OVERQUOTA", .text = "Quota exceeded (domain is full)",
	  .explanation = "APPEND or COPY would take the domain past its total quota, which all its "
			 "mailboxes share.",
	  .fix = "postino domain set DOMAIN quota=SIZE, or free space in the domain's mailboxes" },
	{ .code = "store.disk-full", .imap = "OVERQUOTA", .text = "Not enough disk space",
	  .explanation = "The file system holding the mail is full (ENOSPC/EDQUOT); nothing was "
			 "stored.",
	  .fix = "Free disk space on the data directory's file system." },
	{ .code = "store.io-error", .imap = "SERVERBUG",
	  .text = "Internal error, the server log has the details",
	  .explanation = "The mail index or a Maildir file could not be read or written (I/O error, "
			 "permissions, a busy or damaged index). A damaged index is rebuilt from the "
			 "Maildir at the next login, with new UIDVALIDITYs.",
	  .fix = "Check the server log, disk health and the data directory's ownership." },
	{ .code = "store.no-mailbox", .imap = "NONEXISTENT", .text = "Mailbox does not exist",
	  .explanation = "The client named a mailbox the account does not have (or that another "
			 "session just deleted or renamed)." },
	{ .code = "store.mailbox-exists", .imap = "ALREADYEXISTS", .text = "Mailbox already exists",
	  .explanation = "CREATE or RENAME named a mailbox that exists already." },
	{ .code = "store.bad-name", .imap = "CANNOT", .text = "Invalid mailbox name",
	  .explanation = "The name has an empty level, a '.' or '..' level, control characters, "
			 "invalid UTF-8, or is too long for a Maildir++ folder; the detail says which." },
	{ .code = "store.delete-inbox", .imap = "CANNOT", .text = "INBOX cannot be deleted",
	  .explanation = "RFC 3501 6.3.4: INBOX always exists; a client tried to delete it." },
	{ .code = "store.has-children", .imap = "HASCHILDREN",
	  .text = "Not a mailbox, only a level of its children: delete them first",
	  .explanation = "RFC 9051 6.3.5: DELETE named a hierarchy level that holds mailboxes "
			 "but is no mailbox itself (LIST shows it \\Noselect)." },
	{ .code = "store.rename-into-itself", .imap = "CANNOT",
	  .text = "A mailbox cannot be moved into itself",
	  .explanation = "RENAME named one of the mailbox's own children as the new name." },
	{ .code = "store.too-many-mailboxes", .imap = "LIMIT", .text = "Too many mailboxes",
	  .explanation = "The account has reached its limit of mailboxes (1000 by default)." },
	{ .code = "store.too-many-keywords", .imap = "LIMIT", .text = "Too many keywords",
	  .explanation = "The mailbox (or the message) already has 250 different keywords." },
	{ .code = "store.bad-keyword", .imap = "CANNOT", .text = "Invalid keyword",
	  .explanation = "A keyword must be an IMAP atom of at most 100 characters." },
	{ .code = "store.bad-special-use", .imap = "USEATTR",
	  .text = "Unsupported special-use attribute",
	  .explanation = "CREATE asked for a SPECIAL-USE attribute other than \\Archive, "
			 "\\Drafts, \\Junk, \\Sent or \\Trash (\\All and \\Flagged would "
			 "need virtual mailboxes)." },
	{ .code = "store.expunged", .imap = "EXPUNGEISSUED",
	  .text = "Message was expunged by another session",
	  .explanation = "The message's file vanished between the client's view and the command "
			 "(another session or tool expunged it)." },

	/* ---- screening ---- */
	/* directory/screen.c (F20): failed logins counted per client address
	 * and per account; blocks and locks expire by themselves. */
	{ .code = "screen.ip-block", .text = "address blocked after failed logins",
	  .explanation = "Too many failed logins came from one client address (an IPv6 client's "
			 "whole /64) within screen.ip-window, across every account and protocol: "
			 "password guessing or spraying. New connections from it are refused and its "
			 "open sessions were closed until the time in the detail, which also names the "
			 "logins tried.",
	  .fix = "postino screen unblock IP (once the client is fixed or known), or list the "
		 "network in screen.trusted" },
	{ .code = "screen.ip-blocked", .smtp = "421 4.7.0", .imap = "UNAVAILABLE", .pop3 = "SYS/TEMP",
	  .text = "Too many failed logins from your address, try again later",
	  .explanation = "A connection or login from an address that screening has blocked was "
			 "refused with the protocol's temporary-failure reply (or an open session of "
			 "it was closed when the block began).",
	  .fix = "postino screen list shows until when; postino screen unblock IP lifts it" },
	{ .code = "screen.account-lock", .text = "account locked after failed logins",
	  .explanation = "Too many failed logins to one account within screen.account-window: "
			 "someone has a wrong password (an old phone, a forgotten change) or is "
			 "guessing. Until the time in the detail even the right password is refused; "
			 "the detail names the addresses the failures came from.",
	  .fix = "postino screen unblock ADDR, then fix (or block) the client that keeps failing" },
	{ .code = "policy.auth-locked", .smtp = "535 5.7.8", .imap = "AUTHENTICATIONFAILED",
	  .pop3 = "AUTH",
	  .text = "Authentication failed: account temporarily locked after too many failed logins, "
		  "try again later",
	  .explanation = "A login to an account that screening has locked; the password was not "
			 "checked. The lock ends by itself (screen.account-lock).",
	  .fix = "postino screen unblock ADDR" },
	/* The client hears policy.auth-failed, word for word: these two exist
	 * only so the journal and `why` can tell the admin which wrong it was. */
	{ .code = "policy.auth-unknown-user", .text = "login name is not a mailbox",
	  .explanation = "A login name that is no mailbox was tried. The client got exactly the "
			 "answer a wrong password gets (policy.auth-failed), after the same work, so "
			 "names cannot be probed. It counts toward screening.",
	  .fix = "A real user must log in with the full address (postino user list); many names "
		 "from one address is password spraying, which screening blocks." },
	{ .code = "policy.auth-no-password", .text = "mailbox has no password",
	  .explanation = "The mailbox exists but has no password set, so no login can succeed; "
			 "the client was told the credentials are invalid.",
	  .fix = "postino user passwd ADDR --password-stdin" },
	{ .code = "screen.unblock", .text = "block or lock lifted",
	  .explanation = "An administrator lifted an address block or an account lock; the "
			 "failures counted against it were forgotten as well." },

	/* ---- imap ---- */
	/* src/imap/: refusals of the IMAP server itself. Codes are RFC 5530's
	 * (and RFC 3501's); policy.* and store.* rows answer the rest. */
	{ .code = "imap.privacy-required", .imap = "PRIVACYREQUIRED",
	  .text = "Log in over TLS: use STARTTLS first, or port 993",
	  .explanation = "LOGIN or AUTHENTICATE on port 143 before STARTTLS (RFC 3501 6.2.3, "
			 "LOGINDISABLED): passwords never cross the network in clear.",
	  .fix = "Configure the mail client for IMAP with STARTTLS on 143 or SSL/TLS on 993." },
	{ .code = "imap.auth-mechanism", .imap = "CANNOT",
	  .text = "Unsupported authentication mechanism; use PLAIN",
	  .explanation = "AUTHENTICATE named a SASL mechanism other than PLAIN." },
	{ .code = "imap.too-many-sessions", .imap = "UNAVAILABLE",
	  .text = "Too many IMAP connections for this account, close some and try again",
	  .explanation = "The account already has imap.max-connections-per-user IMAP sessions "
			 "open; usually one device opening connections in a loop, or many devices "
			 "at once.",
	  .fix = "Find the client with many connections (postino log --account ADDR --service "
		 "imap), or raise imap.max-connections-per-user." },
	{ .code = "imap.search-too-expensive", .imap = "LIMIT",
	  .text = "Search too expensive: use a longer or more specific term",
	  .explanation = "A full-text SEARCH ran for imap.search-time-limit (15 s by default) and "
			 "was stopped: its term is made "
			 "of letter groups that occur thousands of times in these messages (a run "
			 "of one character, for instance), so answering it means reading most of "
			 "the index. The session goes on.",
	  .fix = "Search for a word that is rarer in the mailbox; an administrator may raise "
		 "imap.search-time-limit." },
	{ .code = "imap.too-many-errors", .imap = "CLIENTBUG",
	  .text = "Too many invalid IMAP commands",
	  .explanation = "The client sent 20 invalid commands in one session; the server closed "
			 "it, as Dovecot does.",
	  .fix = "Look at the client's protocol log (imap.protocol-log = yes)." },
	{ .code = "imap.timeout", .imap = "UNAVAILABLE",
	  .text = "Autologout; idle for too long",
	  .explanation = "The client sent nothing for imap.login-timeout seconds before logging "
			 "in, or imap.idle-timeout seconds after (RFC 9051 5.4; IDLE included)." },
	{ .code = "imap.shutdown", .imap = "UNAVAILABLE",
	  .text = "Server shutting down, try again later",
	  .explanation = "The server was stopping; the client was told to come back." },
	{ .code = "imap.tls-unavailable", .imap = "UNAVAILABLE",
	  .text = "TLS not available, try again later",
	  .explanation = "STARTTLS could not be started (no certificate loaded).",
	  .fix = "Check tls.cert and tls.key and the server log." },
	{ .code = "imap.quota-readonly", .imap = "NOPERM",
	  .text = "Quotas are set by the administrator",
	  .explanation = "SETQUOTA (RFC 9208): users cannot change their own quota.",
	  .fix = "postino user set ADDR quota=SIZE max-messages=N" },
	{ .code = "policy.imap-disabled", .imap = "CONTACTADMIN",
	  .text = "IMAP access is disabled for this mailbox, contact your administrator",
	  .explanation = "The password was right but the mailbox has can-imap=no (F12): it still "
			 "receives mail, and POP3 or webmail may be allowed, but IMAP clients cannot "
			 "log in.",
	  .fix = "postino user set ADDR can-imap=yes" },

	/* ---- why ---- */
	/* doctor/why.c (F31): findings of `postino why` that no decision row
	 * already names. */
	{ .code = "why.no-account", .text = "no such mailbox",
	  .explanation = "The address is not a mailbox (it may be an alias, which has no login).",
	  .fix = "postino user add ADDR --password-stdin" },
	{ .code = "why.service-off", .text = "a login service is off for this mailbox",
	  .explanation = "can-imap, can-pop3 or can-webmail is no: the mailbox still receives "
			 "mail, but clients using that service cannot log in.",
	  .fix = "postino user set ADDR can-imap=yes (or can-pop3, can-webmail)" },
	{ .code = "why.password-expiring", .text = "password expires soon",
	  .explanation = "The password will pass password-max-age (the mailbox's own or its "
			 "domain's) within password.warn-days days (a week when that is 0); then "
			 "every client login fails with policy.auth-expired.",
	  .fix = "postino user passwd ADDR --password-stdin, or postino user set ADDR "
		 "password-max-age=0" },
	{ .code = "why.login-failures", .text = "recent failed logins",
	  .explanation = "Logins to the mailbox failed recently; the evidence lists when, from "
			 "which addresses and why. Enough of them lock the account.",
	  .fix = "Find the client with the old password (the addresses say where it is)." },
	{ .code = "why.refusals", .text = "recent refusals",
	  .explanation = "Mail to or from the mailbox was refused recently; the evidence lists the "
			 "reason codes, each with its own fix in docs/REASONS.md.",
	  .fix = "postino log --account ADDR --reason CODE" },
	{ .code = "why.queue-held", .text = "mail waiting in the queue",
	  .explanation = "Messages for or from the mailbox wait in the outbound queue (state and "
			 "last error in the evidence): the queue retries them on queue.retry-schedule "
			 "until they are delivered, or bounces them after queue.max-lifetime.",
	  .fix = "postino queue list; postino queue show ID for the last reply; postino queue "
		 "retry ID once the cause is fixed" },
	{ .code = "why.disk-space", .text = "the server's disk is almost full",
	  .explanation = "The file system holding the data directory has little space left; "
			 "deliveries fail (deliver.io-error) when it is full.",
	  .fix = "Free space on the data directory's file system." },
	{ .code = "why.domain-limits", .text = "the domain is at one of its limits",
	  .explanation = "The mailbox's domain has reached its max-accounts (no new mailbox can be "
			 "added; existing ones keep working) or its total quota (its mailboxes stop "
			 "receiving).",
	  .fix = "postino domain set DOMAIN max-accounts=N quota=SIZE" },
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
