# SPDX-License-Identifier: ISC
"""SMTP against hostile and broken clients, with raw sockets: smuggling
variants, STARTTLS injection, limits (line, size, recipients, errors,
timeouts), early talkers; and a crash-durability test (kill -9 while
clients send, restart, every message that got 250 is in the mailbox)."""
import os
import signal
import smtplib
import threading
import time

import pytest

from smtp_helpers import make_mail, mail, message, Raw  # noqa: F401

ALICE, BOB = "alice@example.test", "bob@example.test"


def nothing_delivered(m):
    return m.maildir(ALICE) == [] and m.maildir(BOB) == [] and m.queue_rows() == []


# ---- SMTP smuggling: only CRLF.CRLF ends DATA ----

SMUGGLE_ENDS = ["\n.\n", "\n.\r\n", "\r.\r", "\r\n.\r", "\r\n.\n", "\r.\r\n"]


@pytest.mark.parametrize("fake_end", SMUGGLE_ENDS, ids=[repr(e) for e in SMUGGLE_ENDS])
def test_smuggling_variants_are_refused_whole(mail, fake_end):
    r = mail.raw()
    r.cmd("EHLO client")
    assert r.cmd("MAIL FROM:<sender@remote.test>")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    smuggled = ("MAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
                "Subject: smuggled\r\n\r\nsmuggled\r\n")
    r.send("Subject: outer\r\n\r\nouter" + fake_end + smuggled + "\r\n.\r\n")
    code, text, _ = r.reply()
    assert (code, text[:5]) == (550, "5.6.0"), text
    # the session is in sync: the next command is answered as a command
    assert r.cmd("NOOP")[0] == 250
    assert r.cmd("QUIT")[0] == 221
    assert nothing_delivered(mail)
    assert mail.journal("smtp.bare-newline")


def test_dot_stuffing_is_undone(mail):
    r = mail.raw()
    r.cmd("EHLO client")
    r.cmd("MAIL FROM:<sender@remote.test>")
    r.cmd("RCPT TO:<alice@example.test>")
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: dots\r\n\r\n..leading dot\r\n.\r\n")
    assert r.reply()[0] == 250
    assert mail.messages(ALICE)[0].endswith(b"\r\n.leading dot\r\n")


# ---- STARTTLS injection (CVE-2011-0411) ----

def test_starttls_pipelined_plaintext_is_discarded(mail):
    r = mail.raw("submission")
    r.cmd("EHLO client")
    r.send("STARTTLS\r\nMAIL FROM:<alice@example.test>\r\n")
    assert r.reply()[0] == 220
    r.starttls(mail.tls_context())
    # nothing learnt before TLS survives, and the injected MAIL never ran
    assert r.cmd("MAIL FROM:<alice@example.test>")[:2] == (503, "5.5.1 Send EHLO or HELO first")
    code, _, lines = r.cmd("EHLO client")
    assert code == 250 and any("AUTH PLAIN LOGIN" in l for l in lines)
    assert not any("STARTTLS" in l for l in lines)
    assert r.cmd("STARTTLS")[0] == 503
    r.close()


def test_starttls_on_mx_then_delivery(mail):
    s = mail.smtp()
    s.starttls(context=mail.tls_context())
    text, token = message()
    s.sendmail("x@remote.test", [ALICE], text)
    s.quit()
    assert b"with ESMTPS" in mail.messages(ALICE)[0]


# ---- bounded input ----

def test_line_too_long_and_session_goes_on(mail):
    r = mail.raw()
    r.cmd("EHLO client")
    assert r.cmd("NOOP " + "x" * 600)[:2] == (500, "5.5.2 Line too long")
    assert r.cmd("X" * 20000)[:2] == (500, "5.5.2 Line too long")
    assert r.cmd("MAIL FROM:<%s@remote.test>" % ("a" * 300))[0] in (501, 553)
    assert r.cmd("NOOP")[0] == 250


def test_unknown_command_and_bad_sequence(mail):
    r = mail.raw()
    assert r.cmd("MAIL FROM:<a@remote.test>")[:2] == (503, "5.5.1 Send EHLO or HELO first")
    assert r.cmd("FROB")[:2] == (500, "5.5.1 Command unrecognized")
    r.cmd("HELO client")
    assert r.cmd("RCPT TO:<alice@example.test>")[:2] == (503, "5.5.1 Send MAIL first")
    assert r.cmd("MAIL FROM:<a@remote.test>")[0] == 250
    assert r.cmd("MAIL FROM:<a@remote.test>")[0] == 503
    assert r.cmd("DATA")[:2] == (503, "5.5.1 No valid recipients")
    assert r.cmd("MAIL FROM:<a@remote.test> SIZE=10")[0] == 503  # still in the transaction
    assert r.cmd("RSET")[0] == 250
    # HELO advertised nothing: ESMTP parameters are unknown
    assert r.cmd("MAIL FROM:<a@remote.test> SIZE=10")[0] == 555
    assert r.cmd("EHLO")[0] == 501
    assert nothing_delivered(mail)


def test_too_many_errors_closes(mail):
    r = mail.raw()
    for i in range(19):
        assert r.cmd("BOGUS%d" % i)[0] == 500
    assert r.cmd("BOGUS")[0] == 500
    code, text, _ = r.reply()
    assert (code, text) == (421, "4.7.0 Too many errors, closing connection")
    assert r.closed()


def test_size_parameter_too_big(mail):
    r = mail.raw()
    r.cmd("EHLO client")
    assert r.cmd("MAIL FROM:<a@remote.test> SIZE=999999999999")[:2] == \
        (552, "5.3.4 Message size exceeds fixed maximum message size")
    assert nothing_delivered(mail)


def test_real_size_enforced_while_streaming(postino_bin, make_datadir, start_server):
    m = make_mail(postino_bin, make_datadir, start_server, sets={"smtp.max-message-size": "2K"})
    text, _ = message(body="z" * 5000 + "\r\n")
    with m.smtp() as s:
        s.ehlo()
        s.esmtp_features.pop("size", None)  # do not announce it: the count must catch it
        with pytest.raises(smtplib.SMTPDataError) as ei:
            s.sendmail("x@remote.test", [ALICE], text)
        assert ei.value.smtp_code == 552 and ei.value.smtp_error.startswith(b"5.3.4")
        text, _ = message()
        s.sendmail("x@remote.test", [ALICE], text)  # the session goes on
    assert len(m.maildir(ALICE)) == 1
    # BDAT: the chunk that crosses the limit fails the transaction
    r = m.raw()
    r.cmd("EHLO client")
    r.cmd("MAIL FROM:<x@remote.test>")
    r.cmd("RCPT TO:<bob@example.test>")
    r.send(b"BDAT 3000 LAST\r\n" + b"y" * 3000)
    assert r.reply()[:2][0] == 552
    assert r.cmd("NOOP")[0] == 250
    assert m.maildir(BOB) == []
    assert os.listdir(os.path.join(m.dd.path, "queue", "tmp")) == []


def test_too_many_recipients(mail):
    r = mail.raw()
    r.cmd("EHLO client")
    r.cmd("MAIL FROM:<x@remote.test>")
    r.send("".join("RCPT TO:<alice@example.test>\r\n" for _ in range(100)))
    assert all(r.reply()[0] == 250 for _ in range(100))
    assert r.cmd("RCPT TO:<bob@example.test>")[:2] == (452, "4.5.3 Too many recipients")
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: x\r\n\r\nx\r\n.\r\n")
    assert r.reply()[0] == 250
    assert len(mail.maildir(ALICE)) == 1 and mail.maildir(BOB) == []


def test_idle_timeout(postino_bin, make_datadir, start_server):
    m = make_mail(postino_bin, make_datadir, start_server, sets={"smtp.timeout": "1"})
    r = m.raw()
    r.cmd("EHLO client")
    t0 = time.time()
    code, text, _ = r.reply()
    assert (code, text) == (421, "4.4.2 Timeout exceeded, closing connection")
    assert time.time() - t0 < 5
    assert r.closed()
    # in the middle of DATA too: nothing half-received is kept
    r = m.raw()
    r.cmd("EHLO client")
    r.cmd("MAIL FROM:<x@remote.test>")
    r.cmd("RCPT TO:<alice@example.test>")
    r.cmd("DATA")
    r.send("Subject: partial\r\n\r\nhalf")
    assert r.reply()[0] == 421
    assert m.maildir(ALICE) == []
    assert m.journal("smtp.timeout")


def test_early_talker_refused(postino_bin, make_datadir, start_server):
    m = make_mail(postino_bin, make_datadir, start_server,
                  sets={"smtp.greeting-delay-ms": "700"})
    r = Raw(m.port("smtp"), greet=False)
    r.send("EHLO eager\r\nMAIL FROM:<spam@remote.test>\r\n")
    code, text, _ = r.reply()
    assert code == 554 and text.startswith("5.5.0")
    assert r.closed()
    assert m.journal("smtp.early-talker")
    # a patient client is greeted after the pause
    t0 = time.time()
    r = Raw(m.port("smtp"))
    assert r.greeting[0] == 220 and time.time() - t0 >= 0.6
    # submission ports do not pause
    t0 = time.time()
    Raw(m.port("submission"))
    assert time.time() - t0 < 0.5


def test_auth_garbage(mail):
    r = mail.raw("submissions", greet=False)
    r.sock = mail.tls_context().wrap_socket(r.sock)
    r.reply()
    r.cmd("EHLO client")
    assert r.cmd("AUTH CRAM-MD5")[0] == 504
    assert r.cmd("AUTH PLAIN !!!notbase64")[:2] == (501, "5.5.2 Invalid authentication data")
    assert r.cmd("AUTH PLAIN")[0] == 334
    assert r.cmd("*")[:2] == (501, "5.0.0 Authentication cancelled")
    assert r.cmd("AUTH LOGIN")[0] == 334
    assert r.cmd("x" * 13000)[0] == 501
    assert r.cmd("NOOP")[0] == 250


# ---- crash durability ----

def test_kill_9_loses_nothing_acknowledged(postino_bin, make_datadir, start_server):
    m = make_mail(postino_bin, make_datadir, start_server)
    acked, stop = [], threading.Event()

    def sender(n):
        while not stop.is_set():
            try:
                with m.smtp() as s:
                    while not stop.is_set():
                        text, token = message()
                        s.sendmail("x@remote.test", [ALICE, BOB], text)
                        acked.append(token)
            except (smtplib.SMTPException, OSError):
                time.sleep(0.01)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    deadline = time.time() + 20
    while len(acked) < 40 and time.time() < deadline:
        time.sleep(0.05)
    m.server.proc.send_signal(signal.SIGKILL)
    m.server.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    m.server.returncode = 0  # killed on purpose
    m.server.logf.close()
    assert len(acked) >= 10, "too few messages before the kill"
    mark = len(m.server.log())
    s2 = start_server(m.dd, wait=False)  # the shared log already says "ready" once
    s2.wait_for_log(" ready ", start=mark)
    for addr in (ALICE, BOB):
        stored = b"".join(m.messages(addr))
        missing = [t for t in acked if t.encode() not in stored]
        assert not missing, "%s lost %d of %d acknowledged" % (addr, len(missing), len(acked))
    assert s2.proc.poll() is None
