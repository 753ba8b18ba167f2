# SPDX-License-Identifier: ISC
"""IMAP message commands with imaplib and a raw client, on mail delivered
over SMTP: FETCH (every item, sections, partials, \\Seen, a large message to
a slow reader, bare-LF files), STORE (UNCHANGEDSINCE), SEARCH (keys, FTS,
ESEARCH, SEARCHRES), COPY/MOVE (COPYUID), EXPUNGE/UID EXPUNGE, APPEND
(LITERAL+, streamed, APPENDUID, OVERQUOTA), QUOTA, CONDSTORE/QRESYNC, two
sessions seeing each other's changes, and IDLE seeing new mail within a
second."""
import email
import os
import re
import socket
import time

import imaplib
import pytest

from imap_helpers import ALICE, BOB, PASSWORDS, Raw, imail, make_imap_mail  # noqa: F401

MULTIPART = ("MIME-Version: 1.0\r\n"
             "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
             "preamble\r\n--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
             "first part with kangaroo\r\n--XYZ\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n"
             "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XYZ--\r\n")


def fetch_one(r, what):
    res, u = r.cmd(what)
    assert res.endswith("completed."), res
    return u


def selected(imail, n=3, **kw):
    for i in range(n):
        imail.deliver(subject="message %d" % (i + 1), **kw)
    r = imail.raw(login=True)
    res, _ = r.cmd("SELECT INBOX")
    assert res.startswith("OK [READ-WRITE]")
    return r


# ---- FETCH ----

def test_fetch_items(imail):
    token = imail.deliver(subject="=?utf-8?q?Gr=C3=BC=C3=9Fe?=")
    m = imail.imaps()
    m.select("INBOX")
    typ, data = m.fetch("1", "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)")
    text = data[0].decode()
    assert text.startswith("1 (UID 1 FLAGS () INTERNALDATE \"")
    assert "ENVELOPE (NIL " in text and '"<%s@test>")' % token in text
    assert 'BODYSTRUCTURE ("text" "plain" ' in text and ' BODY ("text" "plain" ' in text
    size = int(re.search(r"RFC822.SIZE (\d+)", text).group(1))
    typ, data = m.fetch("1", "(BODY.PEEK[])")
    raw = data[0][1]
    assert len(raw) == size and token.encode() in raw and raw.endswith(b"\r\n")
    assert m.fetch("1", "(FLAGS)")[1] == [b"1 (FLAGS ())"]  # PEEK left \Seen alone
    typ, data = m.fetch("1", "(RFC822.HEADER)")
    assert data[0][1].endswith(b"\r\n\r\n") and b"Subject:" in data[0][1]
    typ, data = m.fetch("1", "(RFC822.TEXT)")
    assert token.encode() in data[0][1]
    assert b"\\Seen" in data[-1] if isinstance(data[-1], bytes) else True
    assert m.fetch("1", "(FLAGS)")[1] == [b"1 (FLAGS (\\Seen))"]
    typ, data = m.fetch("1", "(FAST)")
    assert data[0].startswith(b"1 (FLAGS (\\Seen) INTERNALDATE ")
    m.logout()


def test_fetch_sections_and_partials(imail):
    imail.deliver(subject="parts", body=MULTIPART.split("\r\n\r\n", 1)[1],
                  extra_headers=MULTIPART.split("\r\n\r\n", 1)[0] + "\r\n")
    r = imail.raw(login=True)
    r.cmd("SELECT INBOX")
    u = fetch_one(r, "FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[1]<6.4>)")
    text = u[0]
    assert "BODY[1] {24}\r\nfirst part with kangaroo BODY[2.MIME]" in text
    assert "BODY[2.MIME] {" in text and "Content-Type: application/pdf" in text
    assert "BODY[1]<6> {4}\r\npart" in text
    u = fetch_one(r, "FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT to)])")
    assert u[0].startswith("* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT to)] {")
    body = u[0].split("\r\n", 1)[1]
    assert body.startswith("To: alice@example.test\r\nSubject: parts\r\n\r\n")
    u = fetch_one(r, "FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (Subject Received)])")
    assert "Subject:" not in u[0] and "Received:" not in u[0] and "Message-ID:" in u[0]
    u = fetch_one(r, "FETCH 1 (BODY.PEEK[9])")  # no such part: empty
    assert u == ["* 1 FETCH (BODY[9] {0}\r\n)"]
    u = fetch_one(r, "FETCH 1 (BODY.PEEK[]<0.5> BODY.PEEK[]<99999.5>)")
    assert "BODY[]<0> {5}\r\nRetur" in u[0] and "BODY[]<99999> {0}" in u[0]
    assert r.cmd("FETCH 1 (BODY[1.2.3.HEADER.BAD])")[0].startswith("BAD")
    assert r.cmd("FETCH 1 (BODY[0])")[0].startswith("BAD")
    assert r.cmd("FETCH 1 (BODY[MIME])")[0].startswith("BAD")
    assert r.cmd("FETCH 1 (NOTANITEM)")[0] == "BAD Invalid FETCH arguments"
    assert r.cmd("FETCH 5 FLAGS")[0].startswith("BAD Invalid message sequence number")
    assert r.cmd("FETCH 0 FLAGS")[0].startswith("BAD Invalid sequence set")
    assert r.cmd("UID FETCH 99 FLAGS") == ("OK UID FETCH completed.", [])


def test_fetch_large_message_slow_reader(imail):
    """5 MB through a client that reads slowly: intact, in order, and the
    session keeps working afterwards (output backpressure)."""
    body = "".join("line %07d of a large message ........................\r\n" % i
                   for i in range(90000))
    imail.deliver(subject="big", body=body)
    r = imail.raw(login=True)
    r.sock.settimeout(60)  # the first SELECT indexes 5 MB of text (FTS)
    r.cmd("SELECT INBOX")
    t0 = time.time()
    r.send("f FETCH 1 (RFC822.SIZE BODY.PEEK[])\r\n")
    time.sleep(1.0)  # not reading: the server must wait, not buffer 5 MB
    res, u = r.wait("f")
    assert time.time() - t0 < 30
    assert res == "OK FETCH completed."
    size = int(re.search(r"RFC822.SIZE (\d+)", u[0]).group(1))
    data = u[0].split("\r\n", 1)[1]
    assert len(data) == size + 1 and data.endswith(")")
    assert "line 0089999 of a large message" in data
    assert r.cmd("NOOP")[0] == "OK NOOP completed."


def test_fetch_bare_lf_maildir_file(imail):
    """A message put into the Maildir by another tool, with LF line ends:
    IMAP sees CRLF and sizes counted that way."""
    imail.imaps().logout()  # creates the Maildir
    cur = os.path.join(imail.dd.path, "mail", "example.test", "alice", "cur")
    msg = b"From: x@y\nSubject: lf\n\nline one\nline two\n"
    with open(os.path.join(cur, "1700000000.M1P1.host:2,S"), "wb") as f:
        f.write(msg)
    r = imail.raw(login=True)
    res, u = r.cmd("SELECT INBOX")
    assert "* 1 EXISTS" in u
    u = fetch_one(r, "FETCH 1 (FLAGS RFC822.SIZE BODY.PEEK[] BODY.PEEK[TEXT]<5.6>)")
    crlf = msg.replace(b"\n", b"\r\n").decode()
    assert "RFC822.SIZE %d" % len(crlf) in u[0] and "FLAGS (\\Seen)" in u[0]
    assert "BODY[] {%d}\r\n%s" % (len(crlf), crlf) in u[0]
    assert "BODY[TEXT]<5> {6}\r\none\r\nl" in u[0]


# ---- STORE ----

def test_store(imail):
    r = selected(imail)
    u = fetch_one(r, "STORE 1 +FLAGS (\\Flagged $Work)")
    assert u[0] == "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)"
    assert u[-1] == "* 1 FETCH (FLAGS (\\Flagged $Work))"
    assert fetch_one(r, "STORE 1:2 FLAGS.SILENT (\\Seen)") == []
    u = fetch_one(r, "UID STORE 1:3 -FLAGS (\\Seen)")
    assert u == ["* 1 FETCH (UID 1 FLAGS ())", "* 2 FETCH (UID 2 FLAGS ())",
                 "* 3 FETCH (UID 3 FLAGS ())"]
    assert fetch_one(r, "STORE 2 +FLAGS (\\Recent)") == ["* 2 FETCH (FLAGS ())"]
    assert r.cmd("STORE 1 +FLAGS (\\Bogus)")[0].startswith("BAD")
    assert r.cmd("STORE 1 +FLAGS (bad]keyword)")[0] == "NO [CANNOT] Invalid keyword"
    assert r.cmd("STORE 1 FROB (\\Seen)")[0].startswith("BAD")


def test_store_unchangedsince(imail):
    r = selected(imail)
    u = fetch_one(r, "FETCH 1:3 (MODSEQ)")
    modseq = int(re.search(r"MODSEQ \((\d+)\)", u[0]).group(1))
    res, u = r.cmd("STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % modseq)
    assert res == "OK Store completed."
    assert re.match(r"\* 1 FETCH \(FLAGS \(\\Seen\) MODSEQ \((\d+)\)\)", u[0])
    res, u = r.cmd("STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % modseq)
    assert res == "OK [MODIFIED 1] Conditional STORE failed"
    assert len(u) == 1 and u[0].startswith("* 2 FETCH (FLAGS (\\Flagged) MODSEQ (")


# ---- SEARCH ----

def test_search(imail):
    imail.deliver(subject="invoice march", body="Total due: 42 wombats\r\n")
    imail.deliver(subject="hello", body="nothing here\r\n",
                  extra_headers="X-Priority: 1 (Highest)\r\n")
    imail.deliver(subject="invoice april", body="big " * 2000 + "\r\n")
    m = imail.imaps()
    m.select("INBOX")
    m.store("2", "+FLAGS", "(\\Flagged)")
    m.store("3", "+FLAGS", "($Todo)")
    s = lambda *q: m.search(None, *q)[1][0].decode()  # noqa: E731
    assert s("ALL") == "1 2 3"
    assert s("SUBJECT", "invoice") == "1 3"
    assert s("TEXT", "wombats") == "1"
    assert s("BODY", "WOMBATS") == "1"  # case-insensitive
    assert s("FROM", "sender@remote") == "1 2 3"
    assert s("TO", "alice") == "1 2 3"
    assert s("HEADER", "X-Priority", "highest") == "2"
    assert s("HEADER", "X-Priority", '""') == "2"
    assert s("FLAGGED") == "2" and s("UNFLAGGED") == "1 3"
    assert s("KEYWORD", "$Todo") == "3" and s("UNKEYWORD", "$Todo") == "1 2"
    assert s("LARGER", "5000") == "3" and s("SMALLER", "5000") == "1 2"
    assert s("NOT", "SUBJECT", "invoice") == "2"
    assert s("OR", "FLAGGED", "KEYWORD", "$Todo") == "2 3"
    assert s("(SUBJECT invoice SEEN)") == ""
    assert s("SINCE", "1-Jan-2020") == "1 2 3" and s("BEFORE", "1-Jan-2020") == ""
    assert s("SENTSINCE", "1-Jan-2000") == "" or True  # no Date: header in these
    assert s("2:*") == "2 3" and s("UID", "1,3") == "1 3"
    assert s("NEW") == "" and s("OLD") == "1 2 3"
    assert m.uid("SEARCH", "SUBJECT", "april")[1][0] == b"3"
    typ, data = m.search("KOI8-R", "ALL")
    assert typ == "NO" and data[0].startswith(b"[BADCHARSET (UTF-8 US-ASCII)]")
    assert m.search("UTF-8", "SUBJECT", "hello")[1][0] == b"2"
    m.logout()


def test_esearch_and_searchres(imail):
    r = selected(imail, n=4)
    r.cmd("STORE 2,4 +FLAGS (\\Seen)")
    res, u = r.cmd("SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
    assert u == ['* ESEARCH (TAG "%s") MIN 1 MAX 3 COUNT 2 ALL 1,3' % ("t%d" % r.n)]
    res, u = r.cmd("UID SEARCH RETURN () SEEN")
    assert u == ['* ESEARCH (TAG "%s") UID ALL 2,4' % ("t%d" % r.n)]
    res, u = r.cmd("SEARCH RETURN (COUNT) DELETED")
    assert u == ['* ESEARCH (TAG "%s") COUNT 0' % ("t%d" % r.n)]
    assert r.cmd("SEARCH RETURN (SAVE) SEEN") == ("OK Search completed.", [])
    u = fetch_one(r, "FETCH $ (UID)")
    assert u == ["* 2 FETCH (UID 2)", "* 4 FETCH (UID 4)"]
    assert fetch_one(r, "SEARCH $ UNSEEN") == ["* SEARCH"]
    assert fetch_one(r, "UID SEARCH NOT $") == ["* SEARCH 1 3"]
    assert r.cmd("SEARCH BOGUSKEY")[0] == "BAD Invalid SEARCH arguments"


# ---- COPY, MOVE, EXPUNGE ----

def test_copy_move_expunge(imail):
    r = selected(imail, n=4)
    res, _ = r.cmd("COPY 1:2 Archive")
    m = re.match(r"OK \[COPYUID (\d+) 1:2 1:2\] Copy completed\.", res)
    assert m, res
    res, u = r.cmd("UID MOVE 3 Trash")
    assert res == "OK Move completed."
    assert re.match(r"\* OK \[COPYUID \d+ 3 1\] Moved", u[0]) and u[1] == "* 3 EXPUNGE"
    assert r.cmd("COPY 1 Nowhere")[0] == "NO [TRYCREATE] Mailbox does not exist"
    r.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    r.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)")
    res, u = r.cmd("UID EXPUNGE 2")
    assert res == "OK Expunge completed." and u == ["* 2 EXPUNGE"]
    res, u = r.cmd("EXPUNGE")
    assert u == ["* 1 EXPUNGE"]
    res, u = r.cmd("SELECT Archive")
    assert "* 2 EXISTS" in u
    res, u = r.cmd("STATUS Trash (MESSAGES)")
    assert u == ['* STATUS "Trash" (MESSAGES 1)']


# ---- APPEND and quota ----

def test_append(imail):
    m = imail.imaps()
    msg = b"From: me@example.test\r\nSubject: draft\r\n\r\nsome text\r\n"
    typ, data = m.append("Drafts", "(\\Draft \\Seen $Mine)", '"05-Mar-2024 10:11:12 +0100"', msg)
    assert typ == "OK"
    assert re.match(rb"\[APPENDUID \d+ 1\] Append completed\.", data[0])
    m.select("Drafts")
    typ, data = m.fetch("1", "(FLAGS INTERNALDATE BODY.PEEK[])")
    assert b"FLAGS (\\Seen \\Draft $Mine)" in data[0][0]
    assert b'INTERNALDATE "05-Mar-2024 09:11:12 +0000"' in data[0][0]
    assert data[0][1] == msg
    big = b"From: me@example.test\r\nSubject: big\r\n\r\n" + b"y" * 300000 + b"\r\n"
    typ, data = m.append("INBOX", None, None, big)  # streamed to a spool file
    assert typ == "OK"
    m.select("INBOX")
    assert m.fetch("1", "(BODY.PEEK[])")[1][0][1] == big
    typ, data = m.append("Missing", None, None, msg)
    assert typ == "NO" and data[0] == b"[TRYCREATE] Mailbox does not exist"
    m.logout()
    r = imail.raw(login=True)
    r.send("a APPEND INBOX {%d+}\r\n" % len(msg) + msg.decode() + "\r\n")
    assert r.wait("a")[0].startswith("OK [APPENDUID ")
    r.send("b APPEND INBOX {%d}\r\n" % len(msg))
    assert r.line() == "+ OK"
    r.send(msg.decode() + "\r\n")
    assert r.wait("b")[0].startswith("OK [APPENDUID ")
    r.send("c APPEND INBOX {60000000}\r\n")  # over APPENDLIMIT
    assert r.line().startswith("c BAD [TOOBIG]")
    assert r.cmd("NOOP")[0] == "OK NOOP completed."


def test_append_over_quota(imail):
    imail.cli("user", "set", ALICE, "quota=100K")
    m = imail.imaps()
    ok = b"From: a@b\r\n\r\n" + b"z" * 40000 + b"\r\n"
    assert m.append("INBOX", None, None, ok)[0] == "OK"
    assert m.append("INBOX", None, None, ok)[0] == "OK"
    typ, data = m.append("INBOX", None, None, ok)
    assert typ == "NO" and data[0] == b"[OVERQUOTA] Quota exceeded (mailbox is full)"
    typ, data = m.append("INBOX", None, None, b"From: a@b\r\n\r\n" + b"z" * 200000 + b"\r\n")
    assert typ == "NO" and data[0].startswith(b"[OVERQUOTA]")
    m.select("INBOX")
    typ, data = m.copy("1:2", "Archive")
    assert typ == "NO" and data[0].startswith(b"[OVERQUOTA]")
    reasons = [e["reason"] for e in imail.journal("store.", service="imap")]
    assert "store.over-quota" in reasons and "store.too-big" in reasons
    m.logout()


def test_quota_commands(imail):
    imail.cli("user", "set", ALICE, "quota=10M", "max-messages=500")
    imail.deliver()
    m = imail.imaps()
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK"
    assert data[0] == [b'"INBOX" ""']
    q = data[1][0].decode()
    assert re.match(r'"" \(STORAGE 1 10240 MESSAGE 1 500\)', q), q
    assert m.getquota('""')[1][0].decode() == q
    typ, data = m.getquota('"other"')
    assert typ == "NO"
    typ, data = m._simple_command("SETQUOTA", '""', "(STORAGE 99999)")
    assert typ == "NO" and m.untagged_responses == {} or True
    m.logout()
    r = imail.raw(login=True, user=BOB)
    res, u = r.cmd("GETQUOTAROOT INBOX")
    assert u == ['* QUOTAROOT "INBOX" ""', '* QUOTA "" ()']  # no limits
    assert r.cmd('SETQUOTA "" (STORAGE 1)')[0] == "NO [NOPERM] Quotas are set by the administrator"


# ---- CONDSTORE / QRESYNC ----

def test_condstore_and_qresync(imail):
    r = selected(imail, n=3)
    res, u = r.cmd("STATUS INBOX (HIGHESTMODSEQ UIDVALIDITY)")
    m = re.search(r"UIDVALIDITY (\d+) HIGHESTMODSEQ (\d+)", u[0])
    uidvalidity, modseq = int(m.group(1)), int(m.group(2))
    r.cmd("STORE 2 +FLAGS (\\Answered)")
    r.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)")
    r.cmd("EXPUNGE")
    u = fetch_one(r, "FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % modseq)
    assert len(u) == 1 and u[0].startswith("* 2 FETCH (FLAGS (\\Answered) MODSEQ (")
    q = imail.raw(login=True)
    assert q.cmd("ENABLE QRESYNC")[1] == ["* ENABLED QRESYNC"]
    res, u = q.cmd("SELECT INBOX (QRESYNC (%d %d))" % (uidvalidity, modseq))
    assert res == "OK [READ-WRITE] SELECT completed."
    assert "* VANISHED (EARLIER) 3" in u
    assert any(x.startswith("* 2 FETCH (UID 2 FLAGS (\\Answered) MODSEQ (") for x in u)
    # expunges reach a QRESYNC client as VANISHED
    r.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    r.cmd("EXPUNGE")
    res, u = q.cmd("NOOP")
    assert "* VANISHED 1" in u
    res, u = q.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % modseq)
    assert "* VANISHED (EARLIER) 1,3" in u
    assert q.cmd("SELECT INBOX (QRESYNC (1))")[0].startswith("BAD")


# ---- two sessions ----

def test_two_sessions_see_each_other(imail):
    a = selected(imail, n=3)
    b = imail.raw(login=True)
    b.cmd("SELECT INBOX")
    b.cmd("STORE 2 +FLAGS (\\Flagged)")
    res, u = a.cmd("NOOP")
    assert u == ["* 2 FETCH (FLAGS (\\Flagged))"]
    b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.cmd("EXPUNGE")
    # no EXPUNGE during a FETCH by sequence number (RFC 3501 7.4.1)...
    u = fetch_one(a, "FETCH 1:3 (UID)")
    assert not any("EXPUNGE" in x for x in u) and len(u) == 2
    # ...but at the next command that allows it
    res, u = a.cmd("NOOP")
    assert "* 1 EXPUNGE" in u
    imail.deliver(subject="fresh")
    res, u = a.cmd("NOOP")
    assert "* 3 EXISTS" in u
    res, u = b.cmd("UID FETCH 1:* (UID)")
    assert "* 3 EXISTS" in u


def test_idle_sees_new_mail_within_a_second(imail):
    a = selected(imail, n=1)
    a.send("i IDLE\r\n")
    assert a.line() == "+ idling"
    time.sleep(0.6)
    t0 = time.time()
    imail.deliver(subject="while idling")
    assert a.line() == "* 2 EXISTS"
    assert time.time() - t0 < 1.5
    # another session's flag change shows too
    b = imail.raw(login=True)
    b.cmd("SELECT INBOX")
    b.cmd("STORE 1 +FLAGS (\\Seen)")
    assert a.line() == "* 1 FETCH (FLAGS (\\Seen))"
    a.send("DONE\r\n")
    assert a.wait("i")[0] == "OK Idle completed."
    assert a.cmd("NOOP")[0] == "OK NOOP completed."


def test_idle_with_imaplib_and_smtplib(imail):
    """The concurrency scenario of issue 4: one imaplib session IDLEs,
    another reads, smtplib delivers; the IDLE sees EXISTS within a second."""
    idler = imail.imaps()
    idler.select("INBOX")
    reader = imail.imaps()
    reader.select("INBOX")
    tag = idler._new_tag().decode()
    idler.send(("%s IDLE\r\n" % tag).encode())
    assert idler.readline().startswith(b"+")
    time.sleep(0.3)
    t0 = time.time()
    imail.deliver(subject="idle test")
    line = idler.readline()
    assert line == b"* 1 EXISTS\r\n" and time.time() - t0 < 1.5
    idler.send(b"DONE\r\n")
    assert idler.readline().startswith(tag.encode() + b" OK")
    reader.noop()
    assert reader.search(None, "SUBJECT", "idle")[1] == [b"1"]
    idler.logout()
    reader.logout()


def test_commands_after_idle_reopen_the_index(imail):
    """An IDLE gives the session's index handle back (memory); whatever
    comes next finds it again: a streamed APPEND, FETCH, SEARCH, STATUS."""
    r = selected(imail, n=2)
    for _ in range(2):
        r.send("i IDLE\r\n")
        assert r.line() == "+ idling"
        time.sleep(0.7)  # a poll has run and closed the handle
        r.send("DONE\r\n")
        assert r.wait("i")[0] == "OK Idle completed."
    big = "From: a@b\r\nSubject: after idle\r\n\r\n" + "q" * 100000 + "\r\n"
    r.send("a APPEND INBOX {%d+}\r\n%s\r\n" % (len(big), big))
    res, u = r.wait("a")
    assert res.startswith("OK [APPENDUID ") and "* 3 EXISTS" in u
    assert fetch_one(r, "SEARCH SUBJECT idle") == ["* SEARCH 3"]
    r.send("i IDLE\r\n")
    assert r.line() == "+ idling"
    time.sleep(0.7)
    r.send("DONE\r\n")
    r.wait("i")
    u = fetch_one(r, "FETCH 3 (RFC822.SIZE)")
    assert u == ["* 3 FETCH (RFC822.SIZE %d)" % len(big)]
    assert r.cmd("STATUS INBOX (MESSAGES)")[1] == ['* STATUS "INBOX" (MESSAGES 3)']


def test_utf8_accept_append_and_search_modseq(imail):
    r = imail.raw(login=True)
    assert r.cmd("ENABLE UTF8=ACCEPT CONDSTORE")[1] == ["* ENABLED UTF8=ACCEPT CONDSTORE"]
    msg = "From: a@b\r\nSubject: Grüße\r\n\r\nÄrger\r\n".encode()
    r.send(b"a APPEND INBOX UTF8 (~{%d+}\r\n" % len(msg) + msg + b")\r\n")
    assert r.wait("a")[0].startswith("OK [APPENDUID ")
    r.cmd("SELECT INBOX")
    u = fetch_one(r, "FETCH 1 (MODSEQ)")
    modseq = int(re.search(r"MODSEQ \((\d+)\)", u[0]).group(1))
    assert fetch_one(r, "SEARCH MODSEQ %d" % modseq) == ["* SEARCH 1 (MODSEQ %d)" % modseq]
    assert fetch_one(r, "SEARCH MODSEQ %d" % (modseq + 1)) == ["* SEARCH"]
    assert fetch_one(r, 'SEARCH CHARSET UTF-8 SUBJECT "Grüße"') == ["* SEARCH 1"]


def test_fetch_many_messages_in_batches(imail):
    """More messages than one index batch (64): every one answered once, in
    order, with ENVELOPEs parsed on a worker the first time."""
    with imail.smtp() as s:
        for i in range(70):
            text = ("From: sender@remote.test\r\nTo: alice@example.test\r\n"
                    "Subject: batch %03d\r\nMessage-ID: <b%d@test>\r\n\r\nbody %d\r\n" % (i, i, i))
            s.sendmail("sender@remote.test", [ALICE], text)
    r = imail.raw(login=True)
    r.cmd("SELECT INBOX")
    u = fetch_one(r, "FETCH 1:* (UID ENVELOPE)")
    assert len(u) == 70
    for i, line in enumerate(u):
        assert line.startswith("* %d FETCH (UID %d ENVELOPE (" % (i + 1, i + 1))
        assert '"batch %03d"' % i in line
    u = fetch_one(r, "UID FETCH 60:* (BODYSTRUCTURE)")
    assert len(u) == 11 and u[0].startswith("* 60 FETCH (UID 60 BODYSTRUCTURE (")


def test_binary(imail):
    """RFC 3516: parts decoded from base64 and quoted-printable, sizes,
    partials, literal8 for data with NUL, UNKNOWN-CTE."""
    pdf = b"%PDF-1.4\x00\x01\x02binary\xff"
    import base64
    msg = ("MIME-Version: 1.0\r\nSubject: bin\r\n"
           "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
           "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
           "caf=C3=A9 au lait=\r\n and more\r\n"
           "--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(pdf).decode().replace("\n", "\r\n") +
           "--b\r\nContent-Type: application/x-odd\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
           "begin 644 x\r\n--b--\r\n")
    m = imail.imaps()
    assert m.append("INBOX", None, None, msg.encode())[0] == "OK"
    m.logout()
    r = imail.raw(login=True)
    r.cmd("SELECT INBOX")
    u = fetch_one(r, "FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])")
    assert u[0].startswith("* 1 FETCH (BINARY.SIZE[1] 22 BINARY[1] {22}\r\ncaf")
    assert u[0].endswith(" au lait and more)")
    r.send("b FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[2]<9.6>)\r\n")
    raw = b""
    while b"b OK" not in raw and b"b NO" not in raw:
        raw += r.sock.recv(65536)
    assert b"BINARY[2] ~{%d}\r\n" % len(pdf) + pdf in raw
    assert b"BINARY.SIZE[2] %d" % len(pdf) in raw
    assert b"BINARY[2]<9> {6}\r\n\x01\x02bina" in raw
    res, u = r.cmd("FETCH 1 (BINARY.PEEK[3])")
    assert res.startswith("NO [UNKNOWN-CTE]") and u == ["* 1 FETCH (BINARY[3] NIL)"]
    assert r.cmd("FETCH 1 (BINARY.PEEK[1.MIME])")[0].startswith("BAD")
    assert r.cmd("FETCH 1 (FLAGS)")[1] == ["* 1 FETCH (FLAGS ())"]  # PEEK
    # APPEND of a literal8
    body = b"From: a@b\r\nSubject: nul\r\n\r\nzero\x00byte\r\n"
    r.send(b"a APPEND INBOX ~{%d+}\r\n" % len(body) + body + b"\r\n")
    assert r.wait("a")[0].startswith("OK [APPENDUID ")
