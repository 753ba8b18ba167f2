# SPDX-License-Identifier: ISC
"""The full-text index is built ahead of SEARCH (issue 4, item 2): mail
delivered over SMTP is in the index's FTS table before any client
searches, both when an IDLE session picks it up as it arrives and when a
flood waited for the next login (a slice at SELECT, the rest from the
background indexer). The index is read the way another process would:
its SQLite file opened read-only. SEARCH answers are then checked
against what was delivered, charset decoding included."""
import os
import smtplib
import sqlite3
import time

from imap_helpers import ALICE, TIMEOUT, imail, make_imap_mail, message  # noqa: F401

WAIT = 30.0   # a generous bound for a few hundred small messages


def index_path(imail, addr=ALICE):
    local, domain = addr.split("@")
    return os.path.join(imail.dd.path, "mail", domain, local, "postino-index.db")


def indexed(imail, mailbox="INBOX"):
    """(messages in mailbox, of which have an FTS row), read-only."""
    db = sqlite3.connect("file:%s?mode=ro" % index_path(imail), uri=True, timeout=10)
    try:
        return db.execute(
            "SELECT count(*), count(f.rowid) FROM messages m"
            " JOIN mailboxes b ON b.id = m.mailbox_id"
            " LEFT JOIN fts f ON f.rowid = m.id WHERE b.name = ?", (mailbox,)).fetchone()
    finally:
        db.close()


def wait_indexed(imail, n):
    deadline = time.time() + WAIT
    got = indexed(imail)
    while got != (n, n) and time.time() < deadline:
        time.sleep(0.1)
        got = indexed(imail)
    return got


# A body in ISO-8859-1, quoted-printable: the index holds it decoded.
LATIN1 = ("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
          "Content-Transfer-Encoding: quoted-printable\r\n")


def deliver_many(imail, count, start=0):
    """count messages in one SMTP session; returns the tokens (each in
    exactly one body). Every tenth is Latin-1 QP with "Caf\\xe9 %d"."""
    tokens = []
    with imail.smtp() as s:
        for i in range(start, start + count):
            if i % 10 == 0:
                text, token = message(subject="flood %d" % i, extra_headers=LATIN1,
                                      body="Caf=E9 cr=E8me %d, tok%05dq\r\n" % (i, i))
            else:
                text, token = message(subject="flood %d" % i,
                                      body="plain body, tok%05dq\r\n" % i)
            s.sendmail("sender@remote.test", [ALICE], text)
            tokens.append("tok%05dq" % i)
    return tokens


def search(r, criteria):
    res, u = r.cmd("UID SEARCH " + criteria)
    assert res.startswith("OK"), res
    line = [x for x in u if x.startswith("* SEARCH")]
    assert len(line) == 1, u
    return [int(x) for x in line[0].split()[2:]]


def search_utf8(r, key, text):
    """UID SEARCH CHARSET UTF-8 key with text as a literal (8-bit)."""
    data = text.encode("utf-8")
    tag = r.tag()
    r.send(b"%s UID SEARCH CHARSET UTF-8 %s {%d+}\r\n" % (tag.encode(), key.encode(), len(data))
           + data + b"\r\n")
    res, u = r.wait(tag)
    assert res.startswith("OK"), res
    line = [x for x in u if x.startswith("* SEARCH")]
    assert len(line) == 1, u
    return [int(x) for x in line[0].split()[2:]]


def test_idle_pickup_indexes_before_search(imail):
    r = imail.raw(login=True)
    assert r.cmd("SELECT INBOX")[0].startswith("OK")
    r.send("i IDLE\r\n")
    assert r.line() == "+ idling"
    tokens = deliver_many(imail, 60)
    deadline = time.time() + WAIT
    exists = 0
    while exists < 60 and time.time() < deadline:
        line = r.line()
        if line.endswith(" EXISTS"):
            exists = int(line.split()[1])
    assert exists == 60
    # no SEARCH yet: every message already has its full-text row
    assert wait_indexed(imail, 60) == (60, 60)
    r.send("DONE\r\n")
    assert r.wait("i")[0].startswith("OK")
    assert search(r, "BODY " + tokens[37]) == [38]
    assert search(r, "TEXT tok0000") == list(range(1, 11))
    # charset decoding: the Latin-1 bodies, found in UTF-8, any case
    assert search_utf8(r, "BODY", "CAF\u00c9 CR\u00c8ME") == [1, 11, 21, 31, 41, 51]
    assert search(r, "SUBJECT \"flood 59\"") == [60]
    r.close()


def test_flood_indexed_after_select_without_search(imail):
    # the index exists (an earlier login); then mail arrives while
    # nobody is connected, more than one sync parses at once
    r = imail.raw(login=True)
    assert r.cmd("SELECT INBOX")[0].startswith("OK")
    r.cmd("LOGOUT")
    r.close()
    mark = len(imail.server.log())
    tokens = deliver_many(imail, 150)
    assert indexed(imail) == (0, 0)      # not picked up yet: no session
    r = imail.raw(login=True)
    res, u = r.cmd("SELECT INBOX")
    assert res.startswith("OK") and "* 150 EXISTS" in u
    # SELECT parsed a slice; the background indexer does the rest,
    # still before any SEARCH
    assert wait_indexed(imail, 150) == (150, 150)
    imail.server.wait_for_log("fts: indexed in background", start=mark)
    assert search(r, "BODY " + tokens[149]) == [150]
    assert search(r, "BODY " + tokens[0]) == [1]
    assert len(search(r, "TEXT \"plain body\"")) == 135
    assert search(r, "BODY nosuchwordanywhere") == []
    # later arrivals while selected: picked up and indexed by a NOOP
    more = deliver_many(imail, 5, start=150)
    res, u = r.cmd("NOOP")
    assert "* 155 EXISTS" in u
    assert wait_indexed(imail, 155) == (155, 155)
    assert search(r, "BODY " + more[4]) == [155]
    r.close()


def test_text_combined_with_other_keys(imail):
    """A TEXT key answered from the index alone (only UIDs read), and one
    that restricts which rows the other keys read: both give exactly what
    evaluating every message would."""
    tokens = deliver_many(imail, 30)
    r = imail.raw(login=True)
    assert r.cmd("SELECT INBOX")[0].startswith("OK")
    assert wait_indexed(imail, 30) == (30, 30)
    # subjects are "flood 0".."flood 29" on UIDs 1..30; 3 and 5 are seen,
    # 11 deleted
    assert r.cmd("UID STORE 3,5,11 +FLAGS (\\Seen)")[0].startswith("OK")
    assert r.cmd("UID STORE 11 +FLAGS (\\Deleted)")[0].startswith("OK")
    assert search(r, "TEXT tok0000") == list(range(1, 11))
    assert search(r, "UNSEEN TEXT tok0000") == [1, 2, 4, 6, 7, 8, 9, 10]
    assert search(r, "SEEN TEXT tok0000") == [3, 5]
    assert search(r, "UNDELETED SUBJECT \"flood 1\"") == [2] + list(range(12, 21))
    assert search(r, "DELETED SUBJECT \"flood 1\"") == [11]
    assert search(r, "NOT TEXT tok0000") == list(range(11, 31))
    assert search(r, "OR BODY %s BODY %s" % (tokens[4], tokens[25])) == [5, 26]
    assert search(r, "UID 20:* TEXT tok0002") == list(range(21, 31))
    assert search(r, "SEEN TEXT nosuchwordanywhere") == []
    assert search(r, "1:5 SUBJECT flood") == [1, 2, 3, 4, 5]
    r.close()


def test_search_past_its_time_limit_is_stopped(postino_bin, make_datadir, start_server):
    """A full-text term whose letter groups occur thousands of times in
    every message (a run of one letter) would hold a worker for a long
    time: past imap.search-time-limit it is stopped with NO [LIMIT], the
    refusal is journalled, and the session goes on."""
    im = make_imap_mail(postino_bin, make_datadir, start_server,
                        sets={"imap.search-time-limit": "1"})
    with im.smtp() as s:
        for i in range(300):
            text, _ = message(subject="filler %d" % i,
                              body=("x" * 76 + "\r\n") * 60 + "mark%03d\r\n" % i)
            s.sendmail("sender@remote.test", [ALICE], text)
    r = im.raw(login=True)
    assert r.cmd("SELECT INBOX")[0].startswith("OK")
    assert wait_indexed(im, 300) == (300, 300)
    res, u = r.cmd("UID SEARCH TEXT " + "x" * 40)
    assert res.startswith("NO [LIMIT] Search too expensive"), (res, u)
    # the session goes on, and searches that do not need the index do too
    assert r.cmd("NOOP")[0].startswith("OK")
    assert search(r, "UID 1:5") == [1, 2, 3, 4, 5]
    rows = [x for x in im.journal("imap.search-too-expensive") if x["decision"] == "refuse"]
    assert rows and rows[-1]["account"] == ALICE
    r.close()
