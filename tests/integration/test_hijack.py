# SPDX-License-Identifier: ISC
"""Hijack detection (F21) against a real server, with smtplib and a raw
client over submission STARTTLS: an account that sends more messages or
recipients than its limits within the window gets "452 4.7.1 Too many
messages in a short time", its sending is stopped (can-send=no, or the
account disabled), the postmaster gets exactly one notice naming the
account, the figures and the fix, everything is journalled, `why --send`
names the cause, and `user set can-send=yes` lets it send again. Every
recipient here is a local mailbox, so nothing depends on the outbound
transport."""
import json
import smtplib

import pytest

from conftest import run_postino
from smtp_helpers import PASSWORDS, Raw, make_mail, message

ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@example.test"
POSTMASTER = "postmaster@example.test"
LIMITED = (452, "4.7.1 Too many messages in a short time")
SUSPENDED = (550, "5.7.1 Sending is disabled for this account; contact your administrator")
DISABLED = (550, "5.7.1 Account disabled, contact your administrator")


def start(postino_bin, make_datadir, start_server, **sets):
    return make_mail(postino_bin, make_datadir, start_server,
                     sets={"limits.%s" % k.replace("_", "-"): str(v) for k, v in sets.items()})


def send(mail, to=(BOB,), user=ALICE, session=None):
    """Submit one message; returns its token (raises on a refusal)."""
    text, token = message(to=to[0])
    if session is not None:
        session.sendmail(user, list(to), text)
        return token
    with mail.submission(user=user) as s:
        s.sendmail(user, list(to), text)
    return token


def mail_refusal(session, user=ALICE):
    """(code, text) of a MAIL FROM that smtplib sees refused."""
    with pytest.raises(smtplib.SMTPSenderRefused) as e:
        session.sendmail(user, [BOB], message()[0])
    return e.value.smtp_code, e.value.smtp_error.decode()


def tokens_in(mail, addr):
    return b"".join(mail.messages(addr))


def user_show(mail, addr):
    return json.loads(mail.cli("user", "show", addr, "--json").stdout)


def why(mail, addr, *args):
    r = run_postino(mail.bin, ["why", addr, "--json", *args], data=mail.dd.path)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def check(report, check_id):
    return next(c for c in report["checks"] if c["id"] == check_id)


def reasons(mail, prefix="send."):
    """Reasons of the journal's send.* rows starting with prefix, oldest first."""
    return [r["reason"] for r in mail.journal("send.") if r["reason"].startswith(prefix)]


def raw_submission(mail, user=ALICE):
    """A raw client logged in over submission STARTTLS."""
    import base64
    r = Raw(mail.port("submission"))
    r.cmd("EHLO client.test")
    assert r.cmd("STARTTLS")[0] == 220
    r.starttls(mail.tls_context())
    r.cmd("EHLO client.test")
    plain = base64.b64encode(("\0%s\0%s" % (user, PASSWORDS[user])).encode()).decode()
    assert r.cmd("AUTH PLAIN " + plain)[0] == 235
    return r


# ---- the message limit, suspend, notice, why, re-enable ----

def test_message_limit_suspends_notifies_once_and_can_be_lifted(postino_bin, make_datadir,
                                                                start_server):
    mail = start(postino_bin, make_datadir, start_server, send_messages=3)
    mail.cli("user", "add", POSTMASTER)
    with mail.submission() as s:
        sent = [send(mail, session=s) for _ in range(3)]
        text, over = message(to=BOB)
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail(ALICE, [BOB], text)
        assert (e.value.smtp_code, e.value.smtp_error.decode()) == LIMITED
        # tripped: the same session now gets the can-send refusal
        assert mail_refusal(s) == SUSPENDED
    # the 3 within the limit arrived, the one over it did not
    got = tokens_in(mail, BOB)
    assert all(t.encode() in got for t in sent) and over.encode() not in got
    assert len(mail.messages(BOB)) == 3
    # another session: refused at MAIL as can-send=no, no second trip
    with mail.submission() as s:
        assert mail_refusal(s) == SUSPENDED

    shown = user_show(mail, ALICE)
    assert shown["can_send"] is False and shown["disabled"] is False
    assert "3 messages / 3 recipients in 1h (limit 3 messages / 1000 recipients)" in \
        shown["can_send_reason"]
    assert shown["can_send_reason"].startswith("hijack detection at ")
    text_show = mail.cli("user", "show", ALICE).stdout
    assert "can-send-reason" in text_show and "postino user set alice@example.test " \
        "can-send=yes" in text_show

    # exactly one notice, to postmaster@ the account's domain
    notices = mail.messages(POSTMASTER)
    assert len(notices) == 1
    n = notices[0].decode()
    assert "Subject: Sending suspended for alice@example.test: too many messages in a " \
        "short time" in n
    assert "From: Mail System <MAILER-DAEMON@mail.example.test>" in n
    assert "submitted 3 messages to 3 recipients" in n and "127.0.0.1 x3" in n
    assert "postino user set alice@example.test can-send=yes" in n
    assert "Return-Path: <>" in n

    # journal: one trip, one notice, each refused attempt
    assert reasons(mail, "send.hijack-") == ["send.hijack-suspended", "send.hijack-notified"]
    trip = mail.journal("send.hijack-suspended")[0]
    assert trip["account"] == ALICE and "clients: 127.0.0.1 x3" in trip["detail"]
    limited = mail.journal("send.rate-limited")
    assert len(limited) == 1 and limited[0]["account"] == ALICE
    assert "messages over the limit: 3 messages" in limited[0]["detail"]
    assert len(mail.journal("policy.send-disabled")) == 2

    # why names the cause, the figures and the fix
    report = why(mail, ALICE, "--send")
    v = report["verdicts"]["send"]
    assert not v["ok"] and v["cause"] == "send-limit", v
    assert v["reason"] == "send.hijack-suspended"
    assert v["summary"].startswith("sending suspended by hijack detection at ")
    assert v["summary"].endswith(": 3 messages / 3 recipients in 1h "
                                 "(limit 3 messages / 1000 recipients)")
    assert "postino user set alice@example.test can-send=yes" in v["fix"]
    c = check(report, "send-limit")
    assert c["evidence"]["clients"] == "127.0.0.1 x3"
    assert {"send.rate-limited", "send.hijack-suspended", "send.hijack-notified"} == \
        {r["reason"] for r in c["journal"]}
    r = run_postino(mail.bin, ["why", ALICE, "--send"], data=mail.dd.path)
    line = next(l for l in r.stdout.splitlines() if l.startswith("can send:"))
    assert line.split()[2] == "no" and "sending suspended by hijack detection at" in line

    # lifted: sending works again and counting starts over from now
    mail.cli("user", "set", ALICE, "can-send=yes")
    assert user_show(mail, ALICE)["can_send_reason"] is None
    assert check(why(mail, ALICE, "--send"), "send-limit")["status"] == "ok"
    with mail.submission() as s:
        for _ in range(3):
            send(mail, session=s)
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail(ALICE, [BOB], message()[0])
        assert (e.value.smtp_code, e.value.smtp_error.decode()) == LIMITED
    assert len(mail.messages(BOB)) == 6
    # a new trip is a new notice
    assert len(mail.messages(POSTMASTER)) == 2


def test_healthy_account_is_unaffected(postino_bin, make_datadir, start_server):
    mail = start(postino_bin, make_datadir, start_server, send_messages=5)
    with mail.submission() as s:
        send(mail, session=s)
    report = why(mail, ALICE, "--send")
    assert report["verdicts"]["send"]["ok"]
    c = check(report, "send-limit")
    assert c["status"] == "ok"
    assert c["summary"] == "not stopped by hijack detection (1 messages / 1 recipients in " \
        "1h, limit 5 / 1000)"
    assert c["evidence"]["sent-in-window"].startswith("1 messages to 1 recipients since ")
    assert reasons(mail) == []


# ---- the recipient limit, inside one transaction ----

def test_recipient_limit_trips_within_one_transaction(postino_bin, make_datadir, start_server):
    mail = start(postino_bin, make_datadir, start_server, send_recipients=5)
    users = ["u%d@example.test" % i for i in range(8)]
    for u in users:
        mail.cli("user", "add", u)
    # no postmaster@example.test: the notice goes to the postmaster key
    mail.dd.set_conf("postmaster", CAROL)
    mail.server.reload()
    r = raw_submission(mail)
    assert r.cmd("MAIL FROM:<%s>" % ALICE)[0] == 250
    for u in users[:5]:
        assert r.cmd("RCPT TO:<%s>" % u)[0] == 250, u
    assert r.cmd("RCPT TO:<%s>" % users[5])[:2] == LIMITED
    assert r.cmd("RCPT TO:<%s>" % users[6])[:2] == LIMITED
    # the transaction's accepted recipients do not get it either
    assert r.cmd("DATA")[:2] == SUSPENDED
    assert r.cmd("RSET")[0] == 250
    assert r.cmd("MAIL FROM:<%s>" % ALICE)[:2] == SUSPENDED
    r.cmd("QUIT")
    r.close()
    for u in users:
        assert mail.messages(u) == [], u
    rows = mail.journal("send.hijack-suspended")
    assert len(rows) == 1 and "0 messages / 5 recipients in 1h" in rows[0]["detail"]
    assert rows[0]["detail"].endswith("clients: 127.0.0.1 (the refused attempt)")
    assert len(mail.journal("send.rate-limited")) == 2
    notices = mail.messages(CAROL)
    assert len(notices) == 1 and b"the recipients limit was reached" in notices[0]
    assert mail.journal("send.hijack-notified")[0]["detail"] == "to=<carol@example.test>"
    report = why(mail, ALICE, "--send")
    assert report["verdicts"]["send"]["cause"] == "send-limit"
    assert check(report, "send-limit")["evidence"]["exceeded"] == "recipients"


# ---- the disable action ----

def test_disable_action_disables_the_account(postino_bin, make_datadir, start_server):
    mail = start(postino_bin, make_datadir, start_server, send_messages=2,
                 send_action="disable")
    mail.cli("user", "add", POSTMASTER)
    with mail.submission() as s:
        send(mail, session=s)
        send(mail, session=s)
        assert mail_refusal(s) == LIMITED
        assert mail_refusal(s) == DISABLED
    shown = user_show(mail, ALICE)
    assert shown["disabled"] is True and shown["disabled_by"] == "hijack-detection"
    assert "2 messages / 2 recipients in 1h" in shown["disabled_reason"]
    assert shown["can_send"] is True  # the flag hijack detection did not touch
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        mail.submission()
    assert e.value.smtp_code == 535
    assert reasons(mail, "send.hijack-") == ["send.hijack-disabled", "send.hijack-notified"]
    n = mail.messages(POSTMASTER)
    assert len(n) == 1 and b"Subject: Account disabled: alice@example.test" in n[0]
    assert b"postino user set alice@example.test disabled=no" in n[0]
    report = why(mail, ALICE)
    assert report["verdicts"]["send"]["cause"] == "send-limit"
    assert report["verdicts"]["send"]["fix"].endswith(
        "postino user set alice@example.test disabled=no")
    assert report["verdicts"]["login"]["cause"] == "disabled"
    mail.cli("user", "set", ALICE, "disabled=no")
    send(mail)
    assert len(mail.messages(BOB)) == 3


# ---- per-domain limits and 0 = unlimited ----

def test_domain_limit_beats_the_global_one(postino_bin, make_datadir, start_server):
    mail = start(postino_bin, make_datadir, start_server, send_messages=100)
    mail.cli("domain", "set", "example.test", "send-messages=2")
    shown = mail.cli("domain", "show", "example.test").stdout
    assert "send-messages  2 per limits.send-window" in shown
    assert "send-recipients default" in shown
    js = json.loads(mail.cli("domain", "show", "example.test", "--json").stdout)
    assert js["send_messages"] == 2 and js["send_recipients"] is None
    with mail.submission() as s:
        send(mail, session=s)
        send(mail, session=s)
        assert mail_refusal(s) == LIMITED
    assert "(limit 2 messages / 1000 recipients)" in user_show(mail, ALICE)["can_send_reason"]
    # back to the server's limit
    mail.cli("domain", "set", "example.test", "send-messages=default")
    mail.cli("user", "set", ALICE, "can-send=yes")
    with mail.submission() as s:
        for _ in range(4):
            send(mail, session=s)
    assert len(mail.messages(BOB)) == 6
    r = run_postino(mail.bin, ["domain", "set", "example.test", "send-messages=lots"],
                    data=mail.dd.path)
    assert r.returncode == 1 and "send-messages" in r.stderr


def test_zero_means_no_limit(postino_bin, make_datadir, start_server):
    mail = start(postino_bin, make_datadir, start_server, send_messages=0, send_recipients=0)
    with mail.submission() as s:
        for _ in range(12):
            send(mail, to=(BOB, CAROL), session=s)
    assert len(mail.messages(BOB)) == 12
    # a domain's 0 beats a small global limit too
    mail.dd.set_conf("limits.send-messages", "2")
    mail.server.reload()
    mail.cli("domain", "set", "example.test", "send-messages=0")
    with mail.submission() as s:
        for _ in range(3):
            send(mail, session=s)
    assert len(mail.messages(BOB)) == 15
    assert reasons(mail) == []
    assert user_show(mail, ALICE)["can_send"] is True


def test_bad_settings_are_refused(postino_bin, make_datadir):
    dd = make_datadir(init=False)
    r = run_postino(postino_bin, ["init", "--hostname", "mail.example.test", "--set",
                                  "limits.send-action=delete"], data=dd.path)
    assert r.returncode != 0 and "limits.send-action" in r.stderr and "suspend|disable" in \
        r.stderr
    r = run_postino(postino_bin, ["init", "--hostname", "mail.example.test", "--set",
                                  "limits.send-window=5"], data=dd.path)
    assert r.returncode != 0 and "limits.send-window" in r.stderr
