# SPDX-License-Identifier: ISC
"""Password expiry (F16) against a real server: a domain's password-max-age
expires its mailboxes' passwords (IMAP LOGIN answers NO [EXPIRED], POP3
and SMTP AUTH the same sentence), a mailbox's own value beats it,
`password-max-age=default` follows the domain again, `user passwd` starts
over; and the server mails a warning before expiry, once per password,
into the user's INBOX (read back with imaplib). Passwords are aged by
moving password_changed_at back in postino.db, as the other expiry tests
do: nobody waits 30 days."""
import email
import imaplib
import json
import poplib
import smtplib
import time

import pytest

from conftest import run_postino
from imap_helpers import ALICE, BOB, CAROL, PASSWORDS, make_imap_mail

DOMAIN = "example.test"
EXPIRED = "Authentication failed: password expired, change it in webmail"
DAY = 86400
# the warning look runs every second here (the default is a day, the first
# look a minute after start)
WARN_FAST = {"password.warn-interval": "1s"}


@pytest.fixture
def imail(postino_bin, make_datadir, start_server):
    return make_imap_mail(postino_bin, make_datadir, start_server)


@pytest.fixture
def wmail(postino_bin, make_datadir, start_server):
    return make_imap_mail(postino_bin, make_datadir, start_server, sets=WARN_FAST)


def age_password(mail, addr, days):
    with mail.db() as c:
        c.execute("UPDATE accounts SET password_changed_at = ? WHERE address = ?",
                  (int(time.time()) - days * DAY, addr))


def login_error(mail, addr, password=None):
    """None when IMAP LOGIN works, else the NO text."""
    m = mail.imaps(login=False)
    try:
        m.login(addr, password or PASSWORDS[addr])
    except imaplib.IMAP4.error as e:
        return e.args[0].decode() if isinstance(e.args[0], bytes) else str(e.args[0])
    m.logout()
    return None


def show(mail, addr):
    return json.loads(mail.cli("user", "show", addr, "--json").stdout)


def journal_exact(mail, reason):
    return [r for r in mail.journal(reason) if r["reason"] == reason]


def inbox(mail, addr, password=None):
    """The messages in addr's INBOX, parsed, read over IMAP."""
    m = mail.imaps(user=addr, password=password)
    typ, data = m.select("INBOX", readonly=True)
    assert typ == "OK"
    out = []
    for i in range(1, int(data[0]) + 1):
        typ, parts = m.fetch(str(i), "(BODY.PEEK[])")
        assert typ == "OK"
        out.append(email.message_from_bytes(parts[0][1]))
    m.logout()
    return out


def wait_for(pred, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    return pred()


def why(mail, addr):
    r = run_postino(mail.bin, ["why", addr, "--login", "--json"], data=mail.dd.path)
    assert r.returncode == 0, r.stderr
    return next(c for c in json.loads(r.stdout)["checks"] if c["id"] == "password")


# ---- the max age in force ----

def test_domain_default_expires_logins(imail):
    imail.cli("domain", "set", DOMAIN, "password-max-age=30")
    d = json.loads(imail.cli("domain", "show", DOMAIN, "--json").stdout)
    assert d["password_max_age_days"] == 30
    assert "30 days" in imail.cli("domain", "show", DOMAIN).stdout
    age_password(imail, ALICE, 40)
    age_password(imail, BOB, 10)

    assert login_error(imail, ALICE) == "[EXPIRED] " + EXPIRED
    assert login_error(imail, BOB) is None  # 20 days left
    with pytest.raises(poplib.error_proto) as ei:
        p = poplib.POP3_SSL("127.0.0.1", imail.port("pop3s"), context=imail.tls_context(),
                            timeout=10)
        p.user(ALICE)
        p.pass_(PASSWORDS[ALICE])
    assert ei.value.args[0] == ("-ERR [AUTH] " + EXPIRED).encode()
    with pytest.raises(smtplib.SMTPAuthenticationError) as ei:
        imail.submission(ALICE)
    assert ei.value.smtp_code == 535 and EXPIRED.encode() in ei.value.smtp_error

    rows = [r for r in journal_exact(imail, "policy.auth-expired") if r["account"] == ALICE]
    assert {r["service"] for r in rows} == {"imap", "pop3", "smtp"}
    assert not journal_exact(imail, "policy.auth-failed")  # expiry is not a wrong password
    u = show(imail, ALICE)
    assert u["password_max_age_days"] == 30 and u["password_max_age_source"] == "domain"
    assert u["password_expired"] is True
    text = imail.cli("user", "show", ALICE).stdout
    assert "30 days (domain default)" in text, text
    c = why(imail, ALICE)
    assert c["reason"] == "policy.auth-expired" and "the domain's default" in c["summary"]
    # the admin's change is journalled as typed
    sets = journal_exact(imail, "admin.domain-set")
    assert sets and "password-max-age=30" in sets[-1]["detail"]


def test_mailbox_value_beats_the_domain(imail):
    imail.cli("domain", "set", DOMAIN, "password-max-age=30")
    age_password(imail, ALICE, 40)
    assert login_error(imail, ALICE) == "[EXPIRED] " + EXPIRED

    imail.cli("user", "set", ALICE, "password-max-age=0")  # its own: never
    assert login_error(imail, ALICE) is None
    u = show(imail, ALICE)
    assert u["password_max_age_days"] == 0 and u["password_max_age_source"] == "mailbox"
    assert "0 (never expires; this mailbox's own)" in imail.cli("user", "show", ALICE).stdout

    imail.cli("user", "set", ALICE, "password-max-age=90")  # longer than the domain's
    assert login_error(imail, ALICE) is None
    imail.cli("user", "set", ALICE, "password-max-age=35")  # shorter than its age
    assert login_error(imail, ALICE) == "[EXPIRED] " + EXPIRED

    imail.cli("user", "set", ALICE, "password-max-age=default")  # the domain's 30 again
    assert show(imail, ALICE)["password_max_age_source"] == "domain"
    assert login_error(imail, ALICE) == "[EXPIRED] " + EXPIRED
    assert any("password-max-age=default" in (r["detail"] or "")
               for r in journal_exact(imail, "admin.user-set"))
    # a domain without expiry does not expire what follows it
    imail.cli("domain", "set", DOMAIN, "password-max-age=0")
    assert login_error(imail, ALICE) is None
    imail.cli("domain", "set", DOMAIN, "password-max-age=30")

    # a new password starts the clock again
    imail.cli("user", "passwd", ALICE, "--password-stdin", input="alice-fresh-pw\n")
    assert login_error(imail, ALICE, "alice-fresh-pw") is None
    assert show(imail, ALICE)["password_expired"] is False

    r = run_postino(imail.bin, ["user", "set", ALICE, "password-max-age=soon"],
                    data=imail.dd.path)
    assert r.returncode == 1 and "or default" in r.stderr
    r = run_postino(imail.bin, ["domain", "set", DOMAIN, "password-max-age=default"],
                    data=imail.dd.path)
    assert r.returncode == 1 and "password-max-age" in r.stderr


# ---- the warning mail ----

def test_warning_mail_once_per_password(wmail):
    wmail.cli("domain", "set", DOMAIN, "password-max-age=30")
    wmail.cli("user", "set", CAROL, "password-max-age=0")
    age_password(wmail, ALICE, 25)   # 5 days left: due
    age_password(wmail, BOB, 10)     # 20 days left: not yet
    age_password(wmail, CAROL, 29)   # never expires

    sent = wait_for(lambda: journal_exact(wmail, "notice.password-expiry"))
    assert [r["account"] for r in sent] == [ALICE]
    assert "days-left=5" in sent[0]["detail"] and "(domain)" in sent[0]["detail"]
    # several more looks: still one warning
    time.sleep(3)
    assert len(journal_exact(wmail, "notice.password-expiry")) == 1
    msgs = inbox(wmail, ALICE)
    assert len(msgs) == 1
    m = msgs[0]
    assert m["Subject"] == "Your password expires in 5 days"
    assert m["From"] == "Mail System <postmaster@mail.example.test>"
    assert m["To"] == "<%s>" % ALICE
    assert m["Auto-Submitted"] == "auto-generated"
    assert m["Return-Path"] in ("<>", None)
    body = m.get_payload(decode=True).decode()
    assert "postino user passwd %s --password-stdin" % ALICE in body
    assert EXPIRED in body
    assert "Passwords of example.test must be changed every 30 days." in body
    assert inbox(wmail, BOB) == [] and inbox(wmail, CAROL) == []
    assert show(wmail, ALICE)["password_warned_at"] is not None
    assert show(wmail, BOB)["password_warned_at"] is None

    # `why` mentions it as a note, with the warning
    c = why(wmail, ALICE)
    assert c["status"] == "note" and c["reason"] == "why.password-expiring"
    assert "password expires in 5 days" in c["summary"]
    assert "warned by mail at" in c["summary"]
    assert any(r["reason"] == "notice.password-expiry" for r in c["journal"])

    # a new password gets its own warning once it nears expiry
    wmail.cli("user", "passwd", ALICE, "--password-stdin", input="alice-second-pw\n")
    assert show(wmail, ALICE)["password_warned_at"] is None
    time.sleep(2)
    assert len(journal_exact(wmail, "notice.password-expiry")) == 1  # not due yet
    age_password(wmail, ALICE, 27)
    assert wait_for(lambda: len(journal_exact(wmail, "notice.password-expiry")) == 2)
    msgs = inbox(wmail, ALICE, "alice-second-pw")
    assert [m["Subject"] for m in msgs] == ["Your password expires in 5 days",
                                            "Your password expires in 3 days"]
    time.sleep(2)
    assert len(journal_exact(wmail, "notice.password-expiry")) == 2
    wmail.server.assert_clean_log()


def test_warning_off_and_why_without_mail(postino_bin, make_datadir, start_server):
    mail = make_imap_mail(postino_bin, make_datadir, start_server,
                          sets=dict(WARN_FAST, **{"password.warn-days": "0"}))
    mail.cli("user", "set", ALICE, "password-max-age=30")
    age_password(mail, ALICE, 27)
    time.sleep(3)
    assert not journal_exact(mail, "notice.password-expiry")
    assert inbox(mail, ALICE) == []
    c = why(mail, ALICE)
    assert c["status"] == "note" and "password expires in 3 days" in c["summary"]
    assert "password.warn-days=0" in c["summary"]
    assert c["evidence"]["password-max-age"] == "30 days (this mailbox's own)"
