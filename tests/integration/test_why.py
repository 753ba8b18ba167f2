# SPDX-License-Identifier: ISC
"""`postino why` (F31) against a real server: every cause of "cannot log
in / send / receive" from the seed articles is created through the real
paths (SMTP AUTH with wrong passwords, the CLI, mail sent until the quota
is full, forwards, the autoresponder, the queue), the client's reply is
checked, and then `why` must name that cause, its evidence and the exact
command that fixes it. A healthy mailbox gets a clean verdict."""
import base64
import json
import smtplib
import time

import pytest

from conftest import run_postino
from smtp_helpers import PASSWORDS, Raw, make_mail, message

ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@example.test"
FAST = {"screen.failure-delay-ms": "0"}


@pytest.fixture
def mail(postino_bin, make_datadir, start_server):
    return make_mail(postino_bin, make_datadir, start_server, sets=FAST)


def why(mail, addr, *args):
    r = run_postino(mail.bin, ["why", addr, "--json", *args], data=mail.dd.path)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def why_text(mail, addr, *args):
    r = run_postino(mail.bin, ["why", addr, *args], data=mail.dd.path)
    assert r.returncode == 0, r.stderr
    return r.stdout


def check(report, check_id):
    return next(c for c in report["checks"] if c["id"] == check_id)


def verdict_line(text, label):
    return next(l for l in text.splitlines() if l.startswith(label))


def assert_cause(report, direction, check_id, fix=None, reason=None):
    v = report["verdicts"][direction]
    assert not v["ok"] and v["status"] == "problem", (direction, v)
    assert v["cause"] == check_id, (direction, v)
    if fix is not None:
        assert v["fix"] == fix, v["fix"]
    if reason is not None:
        assert v["reason"] == reason, v["reason"]
    return v


def plain(user, password):
    return base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()


def auth(mail, user, password):
    """(code, text) of AUTH PLAIN over submission, or of a refused greeting."""
    r = Raw(mail.port("submission"))
    try:
        if r.greeting[0] != 220:
            return r.greeting[:2]
        r.cmd("EHLO client.test")
        r.cmd("STARTTLS")
        r.starttls(mail.tls_context())
        r.cmd("EHLO client.test")
        return r.cmd("AUTH PLAIN " + plain(user, password))[:2]
    finally:
        r.close()


def rcpt(mail, to, sender="someone@remote.test"):
    """(code, text) of RCPT TO on the MX port."""
    r = mail.raw()
    r.cmd("EHLO peer.remote.test")
    assert r.cmd("MAIL FROM:<%s>" % sender)[0] == 250
    reply = r.cmd("RCPT TO:<%s>" % to)[:2]
    r.cmd("QUIT")
    r.close()
    return reply


def send_mx(mail, to, size=0, sender="someone@remote.test"):
    """One message over port 25 without SIZE=; the (code, text) of the end."""
    text, _ = message(to=to, body="x" * size + "\r\n" if size else None)
    r = mail.raw()
    r.cmd("EHLO peer.remote.test")
    r.cmd("MAIL FROM:<%s>" % sender)
    for t in ([to] if isinstance(to, str) else to):
        code = r.cmd("RCPT TO:<%s>" % t)
        if code[0] != 250:
            r.close()
            return code[:2]
    assert r.cmd("DATA")[0] == 354
    r.send(text.replace("\r\n.", "\r\n..") + "\r\n.\r\n")
    reply = r.reply()[:2]
    r.cmd("QUIT")
    r.close()
    return reply


# ---- a healthy mailbox ----

def test_healthy_mailbox_gets_a_clean_verdict(mail):
    with mail.submission() as s:  # logs in, sends to bob, receives from bob
        s.sendmail(ALICE, [BOB], message(to=BOB)[0])
    with mail.submission(user=BOB) as s:
        s.sendmail(BOB, [ALICE], message(to=ALICE)[0])
    report = why(mail, ALICE)
    assert report["address"] == ALICE and report["exists"]
    for d in ("login", "send", "receive"):
        v = report["verdicts"][d]
        assert v["ok"] and v["status"] == "ok" and v["cause"] is None, (d, v, [
            (c["id"], c["status"], c["summary"]) for c in report["checks"]
            if c["status"] != "ok"])
    assert {c["status"] for c in report["checks"]} == {"ok"}
    assert "a small message from someone@example.invalid would be accepted now and go to " \
        "alice@example.test (mailbox)" == check(report, "rcpt")["summary"]
    assert "(1 messages / 1 recipients in 1h, limit 200 / 1000)" in \
        check(report, "send-limit")["summary"]
    assert "from 127.0.0.1" in check(report, "login-history")["evidence"]["last-login"]
    text = why_text(mail, ALICE)
    assert verdict_line(text, "can log in:").split() == ["can", "log", "in:", "yes"]
    assert verdict_line(text, "can send:").endswith("yes")
    assert verdict_line(text, "can receive:").endswith("yes")


def test_directions_can_be_asked_one_at_a_time(mail):
    report = why(mail, ALICE, "--send")
    assert list(report["verdicts"]) == ["send"]
    assert all("send" in c["directions"] for c in report["checks"])
    text = why_text(mail, ALICE, "--login", "--receive")
    assert "can log in:" in text and "can receive:" in text and "can send:" not in text


# ---- cannot log in ----

def test_disabled_account(mail):
    mail.cli("user", "set", ALICE, "disabled=yes", "reason=left the company")
    code, text = auth(mail, ALICE, PASSWORDS[ALICE])
    assert code == 535 and "account disabled" in text
    assert rcpt(mail, ALICE)[0] == 550
    report = why(mail, ALICE)
    fix = "postino user set alice@example.test disabled=no"
    for d in ("login", "send", "receive"):
        v = assert_cause(report, d, "disabled", fix=fix)
    assert "left the company" in v["summary"] and "by cli:" in v["summary"]
    c = check(report, "disabled")
    assert c["evidence"]["disabled-by"].startswith("cli:")
    assert c["journal"][-1]["reason"] == "admin.user-disable"
    text = why_text(mail, ALICE)
    line = verdict_line(text, "can log in:")
    assert "no — account disabled by cli:" in line and "(reason: left the company)." in line
    assert line.endswith("Fix: " + fix) or ("Fix: " + fix + " (and") in line
    # the fix works
    mail.cli(*fix.split()[1:])
    assert auth(mail, ALICE, PASSWORDS[ALICE])[0] == 235
    assert why(mail, ALICE)["verdicts"]["login"]["ok"]


def test_account_locked_by_failed_logins(mail):
    for i in range(5):
        assert auth(mail, ALICE, "wrong-%d" % i)[0] == 535
    code, text = auth(mail, ALICE, PASSWORDS[ALICE])
    assert code == 535 and "temporarily locked" in text
    report = why(mail, ALICE)
    v = assert_cause(report, "login", "screen-lock", fix="postino screen unblock alice@example.test",
                     reason="policy.auth-locked")
    assert "locked by screening until" in v["summary"] and "127.0.0.1 x5" in v["summary"]
    assert_cause(report, "send", "screen-lock")
    assert report["verdicts"]["receive"]["ok"]  # mail still arrives
    hist = check(report, "login-history")
    assert hist["status"] == "note" and "from 127.0.0.1" in hist["summary"]
    assert {r["reason"] for r in hist["journal"]} >= {"policy.auth-failed",
                                                     "policy.auth-locked"}
    assert all(r["ip"] == "127.0.0.1" for r in hist["journal"])
    mail.cli("screen", "unblock", ALICE)
    assert auth(mail, ALICE, PASSWORDS[ALICE])[0] == 235
    assert why(mail, ALICE)["verdicts"]["login"]["ok"]


def test_address_blocked_by_screening(mail):
    assert auth(mail, ALICE, PASSWORDS[ALICE])[0] == 235  # alice uses 127.0.0.1
    for i in range(10):  # someone else at the same address sprays names
        auth(mail, "guess%d@example.test" % i, "x")
    assert auth(mail, ALICE, PASSWORDS[ALICE])[0] == 421
    report = why(mail, ALICE)
    v = assert_cause(report, "login", "screen-ip", fix="postino screen unblock 127.0.0.1",
                     reason="screen.ip-blocked")
    assert "127.0.0.1" in v["summary"] and "blocked by screening until" in v["summary"]
    assert check(report, "screen-ip")["evidence"]["127.0.0.1"].startswith("blocked until")
    mail.cli("screen", "unblock", "127.0.0.1")
    assert auth(mail, ALICE, PASSWORDS[ALICE])[0] == 235
    assert why(mail, ALICE)["verdicts"]["login"]["ok"]


def test_password_not_set(mail):
    mail.cli("user", "add", "dave@example.test")
    code, text = auth(mail, "dave@example.test", "anything")
    assert (code, text) == (535, "5.7.8 Authentication credentials invalid")
    report = why(mail, "dave@example.test")
    assert_cause(report, "login", "password", reason="policy.auth-no-password",
                 fix="postino user passwd dave@example.test --password-stdin")
    assert [r["reason"] for r in check(report, "login-history")["journal"]] == \
        ["policy.auth-no-password"]


def test_password_expired(mail):
    mail.cli("user", "set", ALICE, "password-max-age=30")
    with mail.db() as c:
        c.execute("UPDATE accounts SET password_changed_at = ? WHERE address = ?",
                  (int(time.time()) - 40 * 86400, ALICE))
    code, text = auth(mail, ALICE, PASSWORDS[ALICE])
    assert code == 535 and "password expired" in text
    report = why(mail, ALICE)
    v = assert_cause(report, "login", "password", reason="policy.auth-expired")
    assert "password expired on" in v["summary"] and "30 days" in v["summary"]
    assert v["fix"].startswith("postino user passwd alice@example.test --password-stdin")
    assert check(report, "password")["journal"][-1]["reason"] == "policy.auth-expired"
    # not counted as a failure
    assert check(report, "screen-lock")["evidence"]["failures-counted"].startswith("0 ")
    mail.cli("user", "passwd", ALICE, "--password-stdin", input="brand-new-pw\n")
    assert auth(mail, ALICE, "brand-new-pw")[0] == 235
    report = why(mail, ALICE)
    assert report["verdicts"]["login"]["ok"]
    assert check(report, "password")["status"] == "ok"


def test_password_expiring_soon_is_a_note(mail):
    mail.cli("user", "set", ALICE, "password-max-age=30")
    with mail.db() as c:
        c.execute("UPDATE accounts SET password_changed_at = ? WHERE address = ?",
                  (int(time.time()) - 27 * 86400, ALICE))
    report = why(mail, ALICE)
    assert report["verdicts"]["login"]["status"] == "note"
    assert check(report, "password")["reason"] == "why.password-expiring"


@pytest.mark.parametrize("key,check_id", [("can-imap", "can-imap"), ("can-pop3", "can-pop3"),
                                          ("can-webmail", "can-webmail")])
def test_login_service_off(mail, key, check_id):
    mail.cli("user", "set", ALICE, "%s=no" % key)
    report = why(mail, ALICE)
    v = report["verdicts"]["login"]
    assert v["ok"] and v["status"] == "note" and check_id in v["notes"]
    c = check(report, check_id)
    assert c["reason"] == "why.service-off"
    assert c["fix"] == "postino user set alice@example.test %s=yes" % key
    assert "yes, but:" in verdict_line(why_text(mail, ALICE), "can log in:")


def test_no_such_mailbox_and_an_alias(mail):
    assert rcpt(mail, "nobody@example.test")[:1] == (550,)
    report = why(mail, "nobody@example.test")
    assert not report["exists"]
    for d in ("login", "send", "receive"):
        assert_cause(report, d, "mailbox", reason="why.no-account",
                     fix="postino user add nobody@example.test --password-stdin")
    assert check(report, "rcpt")["reason"] == "policy.unknown-recipient"
    assert check(report, "disabled")["status"] == "skipped"
    mail.cli("alias", "add", "sales@example.test", ALICE)
    report = why(mail, "sales@example.test")
    v = assert_cause(report, "login", "mailbox")
    assert "is an alias of alice@example.test" in v["summary"]
    assert report["verdicts"]["receive"]["ok"]
    assert "go to alice@example.test (mailbox)" in check(report, "rcpt")["summary"]


def test_domain_at_max_accounts(postino_bin, make_datadir, start_server):
    mail = make_mail(postino_bin, make_datadir, start_server, sets=FAST)
    mail.cli("domain", "set", "example.test", "max-accounts=3")
    r = run_postino(mail.bin, ["user", "add", "dave@example.test"], data=mail.dd.path)
    assert r.returncode == 1 and "reached its limit of 3 mailboxes" in r.stderr
    report = why(mail, ALICE)
    v = report["verdicts"]["login"]
    assert v["ok"] and "domain-accounts" in v["notes"]
    c = check(report, "domain-accounts")
    assert c["evidence"] == {"mailboxes": "3", "max-accounts": "3"}
    assert "existing ones, this one included, keep working" in c["summary"]
    assert c["fix"] == "postino domain set example.test max-accounts=13"


# ---- cannot send ----

def test_can_send_off(mail):
    mail.cli("user", "set", ALICE, "can-send=no")
    with mail.submission() as s:  # the login works
        with pytest.raises(smtplib.SMTPSenderRefused) as ei:
            s.sendmail(ALICE, [BOB], message(to=BOB)[0])
    assert ei.value.smtp_code == 550 and b"Sending is disabled" in ei.value.smtp_error
    report = why(mail, ALICE)
    assert report["verdicts"]["login"]["ok"]
    assert_cause(report, "send", "can-send", reason="policy.send-disabled",
                 fix="postino user set alice@example.test can-send=yes")
    assert report["verdicts"]["receive"]["ok"]
    c = check(report, "can-send")
    assert c["journal"][-1]["reason"] == "policy.send-disabled"
    refusals = check(report, "send-refusals")
    assert refusals["status"] == "note" and "policy.send-disabled" in refusals["summary"]
    # --from answers with the same policy the server runs
    report = why(mail, BOB, "--from", ALICE)
    v = assert_cause(report, "receive", "rcpt", reason="policy.send-disabled")
    assert "the sender may not send" in v["summary"]


def test_hijack_check_reads_the_send_figures(mail):
    with mail.submission() as s:
        for _ in range(3):
            s.sendmail(ALICE, [BOB, CAROL], message(to=BOB)[0])
    c = check(why(mail, ALICE, "--send"), "send-limit")
    assert c["status"] == "ok"
    assert c["evidence"]["sent-in-window"].startswith("3 messages to 6 recipients since ")
    assert c["evidence"]["limits"] == "200 messages / 1000 recipients per 1h, then suspend"


def test_mail_from_it_held_in_the_queue(mail):
    with mail.submission() as s:
        s.sendmail(ALICE, ["partner@elsewhere.test"], message(to="partner@elsewhere.test")[0])
    report = why(mail, ALICE)
    v = report["verdicts"]["send"]
    assert v["ok"] and v["status"] == "note" and "queue-from" in v["notes"]
    c = check(report, "queue-from")
    assert c["reason"] == "why.queue-held"
    assert c["evidence"]["queued"] == "1" and c["evidence"]["state"] in ("queued", "sending")
    assert "1 messages from it wait in the queue (state " in c["summary"]


# ---- cannot receive ----

def test_can_receive_off(mail):
    mail.cli("user", "set", ALICE, "can-receive=no")
    code, text = rcpt(mail, ALICE)
    assert (code, text) == (550, "5.2.1 mailbox does not accept mail")
    report = why(mail, ALICE)
    v = assert_cause(report, "receive", "can-receive", reason="deliver.no-receive",
                     fix="postino user set alice@example.test can-receive=yes")
    assert "can-receive=no" in v["summary"]
    assert report["verdicts"]["login"]["ok"] and report["verdicts"]["send"]["ok"]
    # the rcpt check gives the very reply the client got
    r = check(report, "rcpt")
    assert r["status"] == "problem" and '"550 5.2.1 mailbox does not accept mail"' in r["summary"]
    refusals = check(report, "receive-refusals")
    assert refusals["status"] == "note"
    assert refusals["journal"][-1]["reason"] == "deliver.no-receive"
    mail.cli("user", "set", ALICE, "can-receive=yes")
    assert rcpt(mail, ALICE)[0] == 250
    report = why(mail, ALICE)
    # fixed now; the journal still remembers the refusal
    assert report["verdicts"]["receive"]["ok"]
    assert report["verdicts"]["receive"]["status"] == "note"


def test_quota_by_size_filled_by_mail(mail):
    mail.cli("user", "set", ALICE, "quota=40K")
    answers = [send_mx(mail, ALICE, size=9000) for _ in range(6)]
    assert answers[0][0] == 250
    assert answers[-1] == (452, "4.2.2 mailbox full, try again later"), answers
    report = why(mail, ALICE)
    v = assert_cause(report, "receive", "quota", reason="deliver.over-quota")
    assert v["summary"].startswith("mailbox full:") and "was refused for its size" in v["summary"]
    assert v["fix"] == "postino user set alice@example.test quota=80K (or delete old mail)"
    c = check(report, "quota")
    assert c["evidence"]["quota"] == "40K"
    assert "messages" in c["evidence"]["used"]
    assert report["verdicts"]["login"]["ok"] and report["verdicts"]["send"]["ok"]
    text = why_text(mail, ALICE)
    assert verdict_line(text, "can receive:").startswith("can receive: no — mailbox full")
    # the fix works (once the stored message's row is written: routine
    # rows wait up to 50 ms to be written together)
    mail.cli("user", "set", ALICE, "quota=80K")
    assert send_mx(mail, ALICE, size=9000)[0] == 250
    stored = sum(a[0] == 250 for a in answers) + 1
    assert len(mail.journal("smtp.accepted", at_least=stored)) == stored
    assert check(why(mail, ALICE), "quota")["status"] in ("ok", "note")


def test_quota_by_count(mail):
    mail.cli("user", "set", ALICE, "max-messages=2")
    assert [send_mx(mail, ALICE)[0] for _ in range(3)] == [250, 250, 452]
    report = why(mail, ALICE)
    v = assert_cause(report, "receive", "quota", reason="deliver.over-messages")
    assert "2 messages, its max-messages is 2" in v["summary"]
    assert v["fix"] == "postino user set alice@example.test max-messages=4 (or delete old mail)"


def test_domain_quota_full(mail):
    mail.cli("domain", "set", "example.test", "quota=30K")
    answers = [send_mx(mail, BOB, size=9000) for _ in range(4)]
    assert answers[-1][0] == 452, answers
    report = why(mail, BOB)
    v = assert_cause(report, "receive", "domain-quota", reason="deliver.domain-full")
    assert v["fix"].startswith("postino domain set example.test quota=60K")


def test_forward_without_a_copy(mail):
    mail.cli("user", "set", ALICE, "forward=bob@example.test", "forward-keep-copy=no")
    assert send_mx(mail, ALICE)[0] == 250
    assert mail.maildir(ALICE) == [] and len(mail.maildir(BOB)) == 1
    mail.journal("deliver.forward-no-copy", at_least=1)  # written just after the 250
    report = why(mail, ALICE)
    v = report["verdicts"]["receive"]
    assert v["ok"] and v["status"] == "note" and "forward" in v["notes"]
    c = check(report, "forward")
    assert c["reason"] == "deliver.forward-no-copy"
    assert "forwarded to bob@example.test and no copy is kept" in c["summary"]
    assert c["fix"] == "postino user set alice@example.test forward-keep-copy=yes"
    assert "deliver.forward-no-copy" in [r["reason"] for r in c["journal"]]
    assert check(report, "rcpt")["evidence"]["destinations"] == \
        "alice@example.test (mailbox, forwarded to bob@example.test, no copy kept)"
    line = verdict_line(why_text(mail, ALICE), "can receive:")
    assert line.startswith("can receive: yes, but:") and "mailbox stays empty" in line


def test_autoresponder_on(mail):
    mail.cli("autoreply", "set", ALICE, "--body-file", "-", input="Away until Monday.\n")
    assert send_mx(mail, ALICE, sender="customer@remote.test")[0] == 250
    report = why(mail, ALICE)
    v = report["verdicts"]["receive"]
    assert v["ok"] and "autoreply" in v["notes"]
    c = check(report, "autoreply")
    assert c["reason"] == "admin.autoreply-set" and c["status"] == "note"
    assert "one automatic reply per 7 days" in c["summary"]
    assert c["fix"] == "postino autoreply off alice@example.test"
    assert [r["reason"] for r in c["journal"]][-1] == "autoreply.sent"


def test_mail_for_it_held_in_the_queue(mail):
    """Accepted at RCPT, refused at delivery (the quota filled in between):
    the copy waits in the queue, and `why` shows it with its error."""
    mail.cli("user", "set", ALICE, "quota=40K")
    assert send_mx(mail, ALICE, size=25000)[0] == 250
    # no SIZE=: RCPT sees room, the delivery finds none
    assert send_mx(mail, [ALICE, BOB], size=25000)[0] == 250
    assert len(mail.maildir(ALICE)) == 1 and len(mail.maildir(BOB)) == 1
    report = why(mail, ALICE)
    c = check(report, "queue-for")
    assert c["status"] == "note" and c["evidence"]["queued"] == "1"
    assert c["evidence"]["last-error"] == "deliver.over-quota"
    assert "wait in the queue (state queued" in c["summary"]


def test_from_sender_runs_the_rcpt_policy(mail):
    report = why(mail, ALICE, "--from", "friend@remote.test")
    c = check(report, "rcpt")
    assert c["status"] == "ok" and c["evidence"]["path"] == "from another server (port 25)"
    report = why(mail, ALICE, "--from", BOB)
    assert check(report, "rcpt")["evidence"]["path"].startswith("submitted by the mailbox bob")
    mail.cli("user", "set", ALICE, "disabled=yes")
    code, text = rcpt(mail, ALICE, sender="friend@remote.test")
    report = why(mail, ALICE, "--from", "friend@remote.test")
    c = check(report, "rcpt")
    assert c["reason"] == "deliver.disabled"
    assert '"%d %s"' % (code, text) in c["summary"]
    r = run_postino(mail.bin, ["why", ALICE, "--from", "not an address"], data=mail.dd.path)
    assert r.returncode == 0 and "is not a valid sender" in r.stdout


def test_usage_errors(mail):
    for args in (["why"], ["why", ALICE, "--bogus"], ["why", ALICE, "--since", "soon"]):
        r = run_postino(mail.bin, args, data=mail.dd.path)
        assert r.returncode == 2, (args, r.stderr)
    r = run_postino(mail.bin, ["why", "not an address"], data=mail.dd.path)
    assert r.returncode == 1
