# SPDX-License-Identifier: ISC
"""IMAP sessions with real clients (Python imaplib) and a raw line client:
greetings and CAPABILITY on 143 and 993, STARTTLS and LOGINDISABLED,
LOGIN and AUTHENTICATE PLAIN (SASL-IR), every access refusal with its RFC
5530 code and journal row (wrong password, disabled, can-imap off, expired
password, plaintext), ID, ENABLE, NAMESPACE, NOOP, LOGOUT, state checks,
the error limit, per-user session limit, timeouts, drain, screening, and a
protocol log that never shows a password."""
import base64
import signal
import socket
import ssl
import time

import imaplib
import pytest

from imap_helpers import (ALICE, BOB, PASSWORDS, Raw, imail, make_imap_mail)  # noqa: F401

GREETING_PLAIN = ("OK [CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE STARTTLS "
                  "LOGINDISABLED] postino ready.")
GREETING_TLS = ("OK [CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN] "
                "postino ready.")
AUTHED_CAPS = ("IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS "
               "MOVE CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE CONDSTORE "
               "QRESYNC ESEARCH SEARCHRES QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE STATUS=SIZE "
               "UTF8=ACCEPT BINARY APPENDLIMIT=52428800").split()


def plain(user, password, authzid=""):
    return base64.b64encode(("%s\0%s\0%s" % (authzid, user, password)).encode()).decode()


def journal_reasons(imail, prefix):
    return [e["reason"] for e in imail.journal(prefix, service="imap")]


# ---- greetings, capabilities, TLS ----

def test_greetings(imail):
    r = imail.raw(tls=False)
    assert r.greeting == "* " + GREETING_PLAIN
    r.close()
    r = imail.raw(tls=True)
    assert r.greeting == "* " + GREETING_TLS
    res, untagged = r.cmd("CAPABILITY")
    assert res == "OK Capability completed."
    assert untagged == ["* CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE "
                        "AUTH=PLAIN"]
    r.close()


def test_login_before_starttls_is_refused(imail):
    r = imail.raw(tls=False)
    res, _ = r.cmd('LOGIN "%s" "%s"' % (ALICE, PASSWORDS[ALICE]))
    assert res == "NO [PRIVACYREQUIRED] Log in over TLS: use STARTTLS first, or port 993"
    res, _ = r.cmd("AUTHENTICATE PLAIN " + plain(ALICE, PASSWORDS[ALICE]))
    assert res.startswith("NO [PRIVACYREQUIRED]")
    r.close()
    assert "imap.privacy-required" in journal_reasons(imail, "imap.")


def test_starttls_then_login(imail):
    m = imail.imap(login=False)
    assert "AUTH=PLAIN" in m.capabilities and "LOGINDISABLED" not in m.capabilities
    typ, data = m.login(ALICE, PASSWORDS[ALICE])
    assert typ == "OK"
    code = data[0].decode()
    assert code.startswith("[CAPABILITY ") and code.endswith("] Logged in")
    assert code[len("[CAPABILITY "):-len("] Logged in")].split() == AUTHED_CAPS
    typ, data = m.capability()
    assert data[0].decode().split() == AUTHED_CAPS
    m.logout()
    assert "policy.auth-ok" in journal_reasons(imail, "policy.")


def test_starttls_discards_pipelined_plaintext(imail):
    """CVE-2011-0411: a command sent in clear after STARTTLS is not run."""
    r = imail.raw(tls=False)
    r.send("a STARTTLS\r\nb CAPABILITY\r\n")
    assert r.line() == "a OK Begin TLS negotiation now."
    r.sock = imail.tls_context().wrap_socket(r.sock)
    r.buf = b""
    res, untagged = r.cmd("NOOP")
    assert res == "OK NOOP completed." and untagged == []
    res, _ = r.cmd("STARTTLS")
    assert res == "BAD TLS is already active"
    r.close()


# ---- access refusals ----

def test_wrong_password_and_unknown_user(imail):
    for user, pw in ((ALICE, "wrong"), ("nobody@example.test", "whatever")):
        m = imail.imaps(login=False)
        with pytest.raises(imaplib.IMAP4.error) as ei:
            m.login(user, pw)
        assert str(ei.value) == "b'[AUTHENTICATIONFAILED] Authentication credentials invalid'"
        m.logout()
    reasons = journal_reasons(imail, "policy.")
    assert "policy.auth-failed" in reasons and "policy.auth-unknown-user" in reasons


def test_disabled_account(imail):
    imail.cli("user", "set", ALICE, "disabled=yes", "reason=unpaid invoice")
    m = imail.imaps(login=False)
    with pytest.raises(imaplib.IMAP4.error) as ei:
        m.login(ALICE, PASSWORDS[ALICE])
    text = str(ei.value)
    assert text.startswith("b'[CONTACTADMIN]") and "contact your administrator" in text
    assert "unpaid" not in text
    assert "policy.auth-disabled" in journal_reasons(imail, "policy.")


def test_can_imap_off(imail):
    imail.cli("user", "set", ALICE, "can-imap=no")
    m = imail.imaps(login=False)
    with pytest.raises(imaplib.IMAP4.error) as ei:
        m.login(ALICE, PASSWORDS[ALICE])
    assert str(ei.value) == ("b'[CONTACTADMIN] IMAP access is disabled for this mailbox, "
                             "contact your administrator'")
    assert "policy.imap-disabled" in journal_reasons(imail, "policy.")
    # the other accounts and SMTP are unaffected
    imail.imaps(user=BOB).logout()


def test_expired_password(imail):
    imail.cli("user", "set", ALICE, "password-max-age=1")
    with imail.db() as c:
        c.execute("UPDATE accounts SET password_changed_at = ? WHERE address = ?",
                  (int(time.time()) - 3 * 86400, ALICE))
    m = imail.imaps(login=False)
    with pytest.raises(imaplib.IMAP4.error) as ei:
        m.login(ALICE, PASSWORDS[ALICE])
    assert str(ei.value) == ("b'[EXPIRED] Authentication failed: password expired, "
                             "change it in webmail'")
    rows = [e for e in imail.journal("policy.auth-expired", service="imap")]
    assert rows and rows[-1]["account"] == ALICE and rows[-1]["ip"] == "127.0.0.1"
    assert rows[-1]["sid"]


# ---- AUTHENTICATE ----

def test_authenticate_plain(imail):
    r = imail.raw()
    res, _ = r.cmd("AUTHENTICATE PLAIN " + plain(ALICE, PASSWORDS[ALICE]))
    assert res.startswith("OK [CAPABILITY ")
    r.close()
    # without SASL-IR: an empty continuation first
    r = imail.raw()
    r.send("a AUTHENTICATE PLAIN\r\n")
    assert r.line() == "+ "
    r.send(plain(BOB, PASSWORDS[BOB], authzid=BOB) + "\r\n")
    assert r.wait("a")[0].startswith("OK ")
    r.close()
    m = imail.imaps(login=False)
    m.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (ALICE, PASSWORDS[ALICE])).encode())
    assert m.state == "AUTH"
    m.logout()


def test_authenticate_refusals(imail):
    r = imail.raw()
    r.send("a AUTHENTICATE PLAIN\r\n")
    assert r.line() == "+ "
    r.send("*\r\n")
    assert r.wait("a")[0] == "BAD Authentication cancelled"
    res, _ = r.cmd("AUTHENTICATE PLAIN !!notbase64")
    assert res == "BAD Invalid base64 in the authentication response"
    res, _ = r.cmd("AUTHENTICATE CRAM-MD5")
    assert res == "NO [CANNOT] Unsupported authentication mechanism; use PLAIN"
    res, _ = r.cmd("AUTHENTICATE PLAIN " + plain(ALICE, PASSWORDS[ALICE], authzid=BOB))
    assert res == "NO [AUTHENTICATIONFAILED] Authentication credentials invalid"
    res, _ = r.cmd("AUTHENTICATE PLAIN " + plain(ALICE, "bad"))
    assert res == "NO [AUTHENTICATIONFAILED] Authentication credentials invalid"
    res, _ = r.cmd("AUTHENTICATE PLAIN " + plain(ALICE, PASSWORDS[ALICE]))
    assert res.startswith("OK ")
    res, _ = r.cmd("AUTHENTICATE PLAIN " + plain(ALICE, PASSWORDS[ALICE]))
    assert res == "BAD Already logged in"
    r.close()


def test_login_with_literals(imail):
    r = imail.raw()
    user, pw = ALICE.encode(), PASSWORDS[ALICE].encode()
    r.send(b"a LOGIN {%d}\r\n" % len(user))
    assert r.line() == "+ OK"
    r.send(user + b" {%d+}\r\n" % len(pw) + pw + b"\r\n")
    assert r.wait("a")[0].startswith("OK ")
    r.close()


# ---- the simple commands ----

def test_id_enable_namespace_noop_logout(imail):
    r = imail.raw()
    res, untagged = r.cmd('ID ("name" "pytest" "version" "1")')
    assert res == "OK ID completed."
    assert untagged == ['* ID ("name" "postino" "vendor" "postino")']
    assert r.cmd("ID NIL")[0] == "OK ID completed."
    assert r.cmd('ID ("name")')[0].startswith("BAD")
    r.login()
    res, untagged = r.cmd("ENABLE CONDSTORE X-UNKNOWN")
    assert untagged == ["* ENABLED CONDSTORE"] and res == "OK Enabled."
    res, untagged = r.cmd("ENABLE CONDSTORE QRESYNC")
    assert untagged == ["* ENABLED QRESYNC"]
    res, untagged = r.cmd("NAMESPACE")
    assert untagged == ['* NAMESPACE (("" "/")) NIL NIL'] and res == "OK Namespace completed."
    assert r.cmd("NOOP") == ("OK NOOP completed.", [])
    res, untagged = r.cmd("LOGOUT")
    assert untagged == ["* BYE Logging out"] and res == "OK Logout completed."
    assert r.closed()
    assert "pytest" in imail.server.log()  # the client's ID is logged


def test_wrong_state_and_unknown_commands(imail):
    r = imail.raw()
    assert r.cmd("SELECT INBOX")[0] == "BAD Log in first"
    assert r.cmd("ENABLE CONDSTORE")[0] == "BAD Log in first"
    assert r.cmd("FROBNICATE")[0] == "BAD Unknown command FROBNICATE"
    assert r.cmd("NOOP extra")[0] == "BAD NOOP takes no arguments"
    r.login()
    assert r.cmd("LOGIN a b")[0] == "BAD Already logged in"
    assert r.cmd("FETCH 1 FLAGS")[0] == "BAD No mailbox selected"
    assert r.cmd("CHECK")[0] == "BAD No mailbox selected"
    r.send('x LOGIN "unterminated\r\n')
    assert r.line().startswith("x BAD")
    assert r.cmd("NOOP")[0] == "OK NOOP completed."
    r.close()


def test_too_many_errors_disconnects(imail):
    r = imail.raw()
    for i in range(19):
        assert r.cmd("BOGUS%d" % i)[0].startswith("BAD")
    r.send("last BOGUS\r\n")
    assert r.line().startswith("last BAD")
    assert r.line() == "* BYE Too many invalid IMAP commands"
    assert r.closed()
    assert "imap.too-many-errors" in journal_reasons(imail, "imap.")


def test_line_too_long(imail):
    r = imail.raw()
    r.send("a NOOP " + "x" * 70000 + "\r\n")
    assert r.line().startswith("a BAD [TOOBIG]")
    assert r.cmd("NOOP")[0] == "OK NOOP completed."
    r.close()


def test_protocol_log_masks_passwords(imail):
    imail.imaps().logout()
    r = imail.raw()
    r.cmd("AUTHENTICATE PLAIN " + plain(BOB, PASSWORDS[BOB]))
    r.close()
    r = imail.raw()
    r.send("a AUTHENTICATE PLAIN\r\n")
    r.line()
    r.send(plain(ALICE, PASSWORDS[ALICE]) + "\r\n")
    r.wait("a")
    r.close()
    log = imail.server.log()
    assert "LOGIN %s ****" % ALICE in log
    assert "AUTHENTICATE PLAIN ****" in log and "(sasl response)" in log
    for pw in PASSWORDS.values():
        assert pw not in log
    assert plain(BOB, PASSWORDS[BOB]) not in log


# ---- bounds ----

def test_sessions_per_user(postino_bin, make_datadir, start_server):
    imail = make_imap_mail(postino_bin, make_datadir, start_server,
                           sets={"imap.max-connections-per-user": "2"})
    a, b = imail.imaps(), imail.imaps()
    m = imail.imaps(login=False)
    with pytest.raises(imaplib.IMAP4.error) as ei:
        m.login(ALICE, PASSWORDS[ALICE])
    assert str(ei.value).startswith("b'[UNAVAILABLE] Too many IMAP connections")
    imail.imaps(user=BOB).logout()  # per account, not global
    a.logout()
    m.login(ALICE, PASSWORDS[ALICE])
    m.logout()
    b.logout()
    assert "imap.too-many-sessions" in journal_reasons(imail, "imap.")


def test_login_timeout(postino_bin, make_datadir, start_server):
    imail = make_imap_mail(postino_bin, make_datadir, start_server,
                           sets={"imap.login-timeout": "5"})
    r = imail.raw()
    t0 = time.time()
    assert r.line() == "* BYE Autologout; idle for too long"
    assert 4 <= time.time() - t0 < 9
    assert r.closed()


def test_idle_timeout_ends_idle(postino_bin, make_datadir, start_server):
    imail = make_imap_mail(postino_bin, make_datadir, start_server,
                           sets={"imap.idle-timeout": "10"})
    r = imail.raw(login=True)
    r.cmd("SELECT INBOX")
    r.send("i IDLE\r\n")
    assert r.line() == "+ idling"
    r.sock.settimeout(30)
    t0 = time.time()
    assert r.line() == "* BYE Autologout; idle for too long"
    assert 9 <= time.time() - t0 < 15


def test_drain_says_bye(imail):
    r = imail.raw(login=True)
    r.cmd("SELECT INBOX")
    r.send("i IDLE\r\n")
    assert r.line() == "+ idling"
    q = imail.raw(login=True)
    imail.server.stop()
    assert r.line() == "* BYE [UNAVAILABLE] Server shutting down, try again later"
    assert q.line() == "* BYE [UNAVAILABLE] Server shutting down, try again later"
    assert r.closed() and q.closed()


def test_screening_blocks_address(postino_bin, make_datadir, start_server):
    imail = make_imap_mail(postino_bin, make_datadir, start_server,
                           sets={"screen.ip-failures": "3", "screen.account-failures": "0"})
    idle = imail.raw(login=True, user=BOB)
    r = imail.raw()
    assert r.cmd('LOGIN "%s" "bad1"' % ALICE)[0].startswith("NO [AUTHENTICATIONFAILED]")
    assert r.cmd('LOGIN "%s" "bad2"' % ALICE)[0].startswith("NO [AUTHENTICATIONFAILED]")
    r.send('a LOGIN "%s" "bad3"\r\n' % ALICE)
    assert r.line() == "* BYE [UNAVAILABLE] Too many failed logins from your address, try again later"
    assert r.closed()
    # every session of the address goes, and new ones are refused at once
    assert idle.line().startswith("* BYE [UNAVAILABLE] Too many failed logins")
    r = imail.raw(greet=False) if False else Raw(imail.port("imaps"), imail.tls_context())
    assert r.greeting.startswith("* BYE [UNAVAILABLE] Too many failed logins from your address")
    assert r.closed()
