# SPDX-License-Identifier: ISC
"""A message for one local mailbox is written straight into that mailbox's
tmp/ as it arrives (src/smtp/smtp-tx.c) and stored by fsync and rename.
These tests hold that path to the same results as the copying one: the
stored bytes, the names, and that no refusal, abort or oversize message
leaves a file behind in tmp/ or new/."""
import os
import re
import smtplib
import time

import pytest

from smtp_helpers import make_mail, message

ALICE, BOB = "alice@example.test", "bob@example.test"


def refused(exc_info, code, status):
    e = exc_info.value
    text = e.smtp_error.decode() if isinstance(e.smtp_error, bytes) else e.smtp_error
    assert (e.smtp_code, text[:len(status)]) == (code, status), (e.smtp_code, text)


@pytest.fixture
def mail(postino_bin, make_datadir, start_server):
    return make_mail(postino_bin, make_datadir, start_server,
                     sets={"smtp.max-message-size": "1M"})


def first_message(mail, addr):
    """A mailbox's first message creates its Maildir (on a worker: the
    in-place path never creates folders); later ones are written in place."""
    text, _ = message(subject="first")
    with mail.smtp() as s:
        assert s.sendmail("sender@remote.test", [addr], text) == {}
    assert len(mail.maildir(addr)) == 1


def raw_in_data(mail):
    """A raw session to alice that has just had DATA's 354 (no SIZE
    parameter: the size is only found at the end)."""
    r = mail.raw()
    for line, code in (("EHLO client.remote.test", 250), ("MAIL FROM:<x@remote.test>", 250),
                       ("RCPT TO:<%s>" % ALICE, 250), ("DATA", 354)):
        assert r.cmd(line)[0] == code, line
    return r


def tmp_files(mail, addr):
    return mail.maildir(addr, "tmp")


def wait_tmp_empty(mail, addr, seconds=5):
    deadline = time.monotonic() + seconds
    while tmp_files(mail, addr) and time.monotonic() < deadline:
        time.sleep(0.05)
    return tmp_files(mail, addr)


def test_large_message_stored_byte_for_byte(mail):
    first_message(mail, ALICE)
    # 300 KB: several writeback steps; lines starting with "." test unstuffing
    lines = ["%06d %s" % (i, "x" * 70) if i % 7 else ".%06d dot line" % i
             for i in range(4000)]
    text, token = message(body="\r\n".join(lines) + "\r\n")
    with mail.smtp() as s:
        s.ehlo("client.remote.test")
        assert s.sendmail("sender@remote.test", [ALICE], text) == {}
    names = mail.maildir(ALICE)
    assert len(names) == 2
    (name,) = [n for n in names if int(re.search(r",S=(\d+)", n).group(1)) > 200000]
    path = os.path.join(mail.dd.path, "mail", "example.test", "alice", "new", name)
    with open(path, "rb") as f:
        stored = f.read()
    prefix = b"Return-Path: <sender@remote.test>\r\nDelivered-To: alice@example.test\r\n"
    assert stored.startswith(prefix + b"Received: from client.remote.test ([127.0.0.1])")
    # after our Received field (folded lines, then the client's first field)
    body_at = stored.index(b"From: sender@remote.test\r\n")
    assert stored[body_at:] == text.encode()
    m = re.search(r",S=(\d+),W=(\d+)$", name)
    assert m and int(m.group(1)) == len(stored) == os.path.getsize(path)
    assert int(m.group(2)) == len(stored)  # CRLF throughout
    assert tmp_files(mail, ALICE) == []
    rows = mail.journal("deliver.ok", at_least=2)
    assert [r["account"] for r in rows if name in r["detail"]] == [ALICE]


def test_two_messages_in_one_session_are_two_files(mail):
    first_message(mail, ALICE)
    with mail.smtp() as s:
        for i in range(2):
            text, _ = message(subject="n%d" % i)
            assert s.sendmail("sender@remote.test", [ALICE], text) == {}
    msgs = mail.messages(ALICE)
    assert len(msgs) == 3 and len(set(msgs)) == 3
    assert tmp_files(mail, ALICE) == []


def test_refused_at_delivery_leaves_nothing(mail):
    first_message(mail, ALICE)
    text, _ = message(extra_headers="Delivered-To: alice@example.test\r\n")
    with mail.smtp() as s:
        with pytest.raises(smtplib.SMTPDataError) as ei:
            s.sendmail("x@remote.test", [ALICE], text)
        refused(ei, 554, "5.4.6")
        # the session goes on, and the next message is stored
        ok, token = message()
        assert s.sendmail("x@remote.test", [ALICE], ok) == {}
    msgs = mail.messages(ALICE)
    assert len(msgs) == 2 and sum(token.encode() in m for m in msgs) == 1
    assert tmp_files(mail, ALICE) == []


def test_too_big_leaves_nothing(mail):
    first_message(mail, ALICE)
    r = raw_in_data(mail)
    r.send("Subject: big\r\n\r\n" + ("z" * 998 + "\r\n") * 1100 + ".\r\n")
    code, text, _ = r.reply()
    assert (code, text[:5]) == (552, "5.3.4")
    assert r.cmd("QUIT")[0] == 221
    r.close()
    assert len(mail.maildir(ALICE)) == 1
    assert tmp_files(mail, ALICE) == []


def test_bare_newline_leaves_nothing(mail):
    first_message(mail, ALICE)
    r = raw_in_data(mail)
    r.send("Subject: smuggle\r\n\r\nline one\nline two\r\n.\r\n")
    code, text, _ = r.reply()
    assert (code, text[:5]) == (550, "5.6.0")
    assert r.cmd("QUIT")[0] == 221
    r.close()
    assert len(mail.maildir(ALICE)) == 1
    assert tmp_files(mail, ALICE) == []


def test_client_gone_mid_data_leaves_nothing(mail):
    first_message(mail, ALICE)
    r = raw_in_data(mail)
    r.send("Subject: cut\r\n\r\n" + ("w" * 78 + "\r\n") * 2000)
    # the copy exists while the message arrives
    deadline = time.monotonic() + 5
    while not tmp_files(mail, ALICE) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(tmp_files(mail, ALICE)) == 1
    r.close()
    assert wait_tmp_empty(mail, ALICE) == []
    assert len(mail.maildir(ALICE)) == 1


def test_several_recipients_and_bdat_still_stored(mail):
    text, token = message()
    with mail.smtp() as s:
        assert s.sendmail("x@remote.test", [ALICE, BOB], text) == {}
    r = mail.raw()
    assert r.cmd("EHLO client.remote.test")[0] == 250
    assert r.cmd("MAIL FROM:<x@remote.test>")[0] == 250
    assert r.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    chunk = "Subject: chunked\r\n\r\nbody %s\r\n" % token
    r.send("BDAT %d LAST\r\n%s" % (len(chunk), chunk))
    assert r.reply()[0] == 250
    assert r.cmd("QUIT")[0] == 221
    r.close()
    assert len(mail.messages(BOB)) == 1
    alice = mail.messages(ALICE)
    assert len(alice) == 2 and all(token.encode() in m for m in alice)
    assert tmp_files(mail, ALICE) == [] and tmp_files(mail, BOB) == []
