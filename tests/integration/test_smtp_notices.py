# SPDX-License-Identifier: ISC
"""Mail the server writes after a delivery: the autoresponder's replies
(RFC 3834) and the one-time 90%-full warning. Sent with smtplib through a
real postino serve; results read from the Maildir, queue and journal."""
import time

from smtp_helpers import mail, message  # noqa: F401  (fixture)


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    return pred()


def autoreply_on(mail, addr, body="I am out of the office until Monday.\n", *args):
    mail.cli("autoreply", "set", addr, "--body-file", "-", *args, input=body)


def test_autoreply_to_local_sender_once_per_interval(mail):
    autoreply_on(mail, "bob@example.test", "Back on Monday.\n", "--subject", "Out of office")
    for i in range(2):
        text, token = message(to="bob@example.test", subject="Question %d" % i)
        with mail.submission() as s:
            s.sendmail("alice@example.test", ["bob@example.test"], text)
    assert len(mail.messages("bob@example.test")) == 2
    replies = wait_for(lambda: mail.messages("alice@example.test"))
    assert len(replies) == 1, "one reply per sender per interval"
    reply = replies[0].decode()
    assert "Auto-Submitted: auto-replied\r\n" in reply
    assert "Subject: Out of office\r\n" in reply
    assert "From: <bob@example.test>\r\n" in reply
    assert "Back on Monday.\r\n" in reply
    assert "Return-Path: <>" in reply  # null envelope sender, RFC 3834 3.3
    assert "In-Reply-To: <" in reply
    reasons = [r["reason"] for r in mail.journal("autoreply.")]
    assert reasons == ["autoreply.sent", "autoreply.skip-recent"]


def test_autoreply_to_remote_sender_is_queued(mail):
    autoreply_on(mail, "bob@example.test")
    text, _ = message(to="bob@example.test", subject="Offer")
    with mail.smtp() as s:
        s.sendmail("customer@remote.test", ["bob@example.test"], text)
    rows = wait_for(lambda: [r for r in mail.queue_rows() if r["origin"] == "autoreply"])
    assert len(rows) == 1
    assert rows[0]["recipient"] == "customer@remote.test"
    assert rows[0]["sender"] == ""
    assert rows[0]["state"] in ("queued", "sending")


def test_no_autoreply_to_lists_bulk_bounces_or_robots(mail):
    autoreply_on(mail, "bob@example.test")
    cases = [
        ("news@remote.test", "List-Id: <news.remote.test>\r\n", "autoreply.skip-list"),
        ("promo@remote.test", "Precedence: bulk\r\n", "autoreply.skip-bulk"),
        ("cron@remote.test", "Auto-Submitted: auto-generated\r\n",
         "autoreply.skip-auto-submitted"),
        ("MAILER-DAEMON@remote.test", "", "autoreply.skip-system-sender"),
        ("", "", "autoreply.skip-null-sender"),
    ]
    for sender, headers, _ in cases:
        text, _ = message(to="bob@example.test", extra_headers=headers)
        with mail.smtp() as s:
            s.sendmail(sender, ["bob@example.test"], text)
    assert len(mail.messages("bob@example.test")) == len(cases)
    reasons = [r["reason"] for r in mail.journal("autoreply.")]
    assert reasons == [c[2] for c in cases]
    assert not [r for r in mail.queue_rows() if r["origin"] == "autoreply"]


def test_autoreply_outside_its_dates_stays_silent(mail):
    autoreply_on(mail, "bob@example.test", "Away.\n", "--from", "2099-01-01")
    text, _ = message(to="bob@example.test")
    with mail.submission() as s:
        s.sendmail("alice@example.test", ["bob@example.test"], text)
    assert [r["reason"] for r in mail.journal("autoreply.")] == ["autoreply.skip-window"]
    assert mail.messages("alice@example.test") == []


def test_quota_warning_sent_once_at_90_percent(mail):
    import smtplib
    mail.cli("user", "set", "carol@example.test", "quota=20K")
    body = "x" * 1500 + "\r\n"
    accepted, refused = 0, None
    # ~2 KB each until the mailbox is full: the warning comes once, on the
    # way past 90%, not again on every later message
    for i in range(20):
        text, _ = message(to="carol@example.test", body=body)
        try:
            with mail.smtp() as s:
                s.sendmail("sender@remote.test", ["carol@example.test"], text)
            accepted += 1
        except smtplib.SMTPRecipientsRefused as e:
            refused = e.recipients["carol@example.test"][0]
            break
    assert refused == 452, "the mailbox filled up and refused temporarily"
    msgs = mail.messages("carol@example.test")
    warnings = [m for m in msgs if b"Subject: Your mailbox is" in m]
    assert len(warnings) == 1, "exactly one warning"
    w = warnings[0].decode()
    assert "carol@example.test" in w and "Auto-Submitted: auto-generated" in w
    assert " of 20K" in w
    assert len(msgs) == accepted + 1
    assert [r["reason"] for r in mail.journal("notice.")] == ["notice.quota-warning"]
