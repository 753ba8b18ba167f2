# SPDX-License-Identifier: ISC
"""`postino queue list|show|retry|delete|bounce|hold|release` against queue
rows made the real way: messages submitted with smtplib to remote
recipients. The resolver points at a closed port (nothing can be
delivered) and the server is stopped before the CLI runs, so the queue
manager cannot race the commands. The rows are then put back the way
they were enqueued: the queue manager may have started its first attempt
(rows left 'sending', which its start-up recovery makes 'queued' again)
or finished it (a DNS deferral). Where a test needs a state only the
queue manager makes (a recipient being sent, a deferral's reply), it sets
that row's columns directly, as the queue manager would."""
import email
import email.policy
import json
import os
import sqlite3
import subprocess
import time

import pytest

from conftest import free_port, run_postino
from peer_helpers import parse_dsn
from smtp_helpers import make_mail, message

ALICE = "alice@example.test"


@pytest.fixture
def queued(postino_bin, make_datadir, start_server):
    """Two submitted messages: A to two remote recipients, B to one."""
    mail = make_mail(postino_bin, make_datadir, start_server,
                     sets={"dns.servers": "127.0.0.1:%d" % free_port()})
    tokens = {}
    for name, rcpts in (("A", ["friend@remote.test", "pal@other.test"]),
                        ("B", ["x@remote.test"])):
        text, token = message(subject="queued %s" % name, to=", ".join(rcpts))
        with mail.submission() as s:
            s.sendmail(ALICE, rcpts, text)
        tokens[name] = token
    mail.server.stop()
    set_rows(mail, "UPDATE queue SET state = 'queued', attempts = 0, next_attempt_at = created_at,"
             " last_attempt_at = NULL, last_status = NULL, last_reply = NULL,"
             " remote_mta = NULL, last_error = NULL")
    rows = mail.queue_rows()
    ids = []
    for r in rows:
        if r["queueid"] not in ids:
            ids.append(r["queueid"])
    assert len(rows) == 3 and len(ids) == 2
    mail.ids = dict(zip("AB", ids))
    mail.tokens = tokens
    return mail


def q(mail, *args):
    return run_postino(mail.bin, ["queue"] + list(args), data=mail.dd.path)


def ok(mail, *args):
    r = q(mail, *args)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def rows_of(mail, queueid):
    return [r for r in mail.queue_rows() if r["queueid"] == queueid]


def set_rows(mail, sql, *params):
    with sqlite3.connect(os.path.join(mail.dd.path, "postino.db"), timeout=10) as c:
        c.execute(sql, params)


def admin_journal(mail, reason):
    return [e for e in mail.journal("admin.") if e["reason"] == reason]


def msg_file(mail, row):
    return os.path.join(mail.dd.path, "queue", "msg", row["file"])


def test_list_text_and_json(queued):
    a, b = queued.ids["A"], queued.ids["B"]
    # what the queue manager records after a 4xx from the peer
    set_rows(queued, "UPDATE queue SET attempts = 2, last_status = '4.2.0',"
             " last_reply = '450 4.2.0 mailbox busy', remote_mta = 'mx.remote.test',"
             " last_attempt_at = 1700000000 WHERE recipient = 'friend@remote.test'")
    out = ok(queued, "list")
    assert out.index(a) < out.index(b)  # oldest first
    assert "from <%s> by %s" % (ALICE, ALICE) in out
    assert "friend@remote.test  attempts 2" in out
    assert "last: 450 4.2.0 mailbox busy (from mx.remote.test)" in out
    assert out.rstrip().endswith("2 messages, 3 recipients")

    data = json.loads(ok(queued, "list", "--json"))
    assert [m["queueid"] for m in data] == [a, b]
    m = data[0]
    assert set(m) == {"queueid", "arrival", "size", "sender", "account", "file", "recipients"}
    assert m["sender"] == ALICE and m["account"] == ALICE and m["size"] > 100
    assert m["arrival"].endswith("Z")
    assert [r["recipient"] for r in m["recipients"]] == ["friend@remote.test", "pal@other.test"]
    r = m["recipients"][0]
    assert set(r) == {"recipient", "state", "origin", "attempts", "next_attempt",
                      "last_attempt", "last_status", "last_reply", "remote_mta", "last_error"}
    assert (r["state"], r["attempts"], r["last_status"], r["remote_mta"]) == \
        ("queued", 2, "4.2.0", "mx.remote.test")
    assert r["last_attempt"] == "2023-11-14T22:13:20Z"
    assert m["recipients"][1]["last_reply"] is None


def test_show_by_prefix(queued):
    a = queued.ids["A"]
    set_rows(queued, "UPDATE queue SET dsn_ret = 2, dsn_envid = 'env-1', dsn_notify = 12,"
             " dsn_orcpt = 'rfc822;Friend@remote.test' WHERE queueid = ?", a)
    out = ok(queued, "show", a[:-2] if len(a) > 2 else a)
    assert "queue id:      %s" % a in out
    assert "dsn ret:       hdrs" in out and "dsn envid:     env-1" in out
    assert "  friend@remote.test\n    state:         queued" in out
    assert "  Subject: queued A" in out and "Hello, this is" not in out

    data = json.loads(ok(queued, "show", a, "--json"))
    assert data["queueid"] == a and data["dsn_ret"] == "hdrs" and data["dsn_envid"] == "env-1"
    assert data["recipients"][0]["dsn_notify"] == ["failure", "delay"]
    assert data["recipients"][0]["dsn_orcpt"] == "rfc822;Friend@remote.test"
    assert "Message-ID: <%s@test>" % queued.tokens["A"] in data["header"]
    assert data["header"].startswith("Received: ") and data["header_cut"] is False


def test_usage_and_refusals(queued):
    assert q(queued, "show").returncode == 2
    assert q(queued, "show", "a", "b").returncode == 2
    assert q(queued, "bounce", "--all").returncode == 2
    assert q(queued, "hold", "--bogus").returncode == 2
    r = q(queued, "show", "nosuchid")
    assert r.returncode == 1 and "no message nosuchid in the queue" in r.stderr
    # a prefix both ids share is ambiguous
    a, b = queued.ids["A"], queued.ids["B"]
    common = os.path.commonprefix([a, b])
    if common:
        r = q(queued, "hold", common)
        assert r.returncode == 1 and "ambiguous" in r.stderr
    assert admin_journal(queued, "admin.queue-hold") == []
    assert all(r["state"] == "queued" for r in queued.queue_rows())


def test_hold_release_retry(queued):
    a, b = queued.ids["A"], queued.ids["B"]
    out = ok(queued, "hold", a)
    assert "%s: 2 recipients put on hold" % a in out
    assert [r["state"] for r in rows_of(queued, a)] == ["hold", "hold"]
    assert [r["state"] for r in rows_of(queued, b)] == ["queued"]
    r = q(queued, "hold", a)
    assert r.returncode == 1 and "nothing to hold" in r.stderr and "state hold" in r.stderr
    j = admin_journal(queued, "admin.queue-hold")
    assert len(j) == 1 and j[0]["queueid"] == a and j[0]["actor"].startswith("cli:")
    assert j[0]["account"] == ALICE and "friend@remote.test" in j[0]["detail"]

    before = int(time.time())
    ok(queued, "release", a)
    rows = rows_of(queued, a)
    assert [r["state"] for r in rows] == ["queued", "queued"]
    assert all(before <= r["next_attempt_at"] <= time.time() + 1 for r in rows)
    assert q(queued, "release", a).returncode == 1
    assert len(admin_journal(queued, "admin.queue-release")) == 1

    # a deferred recipient waits for its backoff; retry makes it due now,
    # for held messages too
    set_rows(queued, "UPDATE queue SET next_attempt_at = ? WHERE queueid = ?",
             int(time.time()) + 3600, b)
    ok(queued, "hold", a)
    out = ok(queued, "retry", "--all")
    assert "%s: 2 recipients scheduled" % a in out and "%s: 1 recipient scheduled" % b in out
    rows = queued.queue_rows()
    assert all(r["state"] == "queued" and r["next_attempt_at"] <= time.time() + 1 for r in rows)
    assert {e["queueid"] for e in admin_journal(queued, "admin.queue-retry")} == {a, b}


def test_bounce(queued):
    a, b = queued.ids["A"], queued.ids["B"]
    set_rows(queued, "UPDATE queue SET remote_mta = 'mx.remote.test' WHERE queueid = ?", a)
    ok(queued, "bounce", a)
    rows = rows_of(queued, a)
    assert [(r["state"], r["last_status"], r["last_reply"], r["remote_mta"]) for r in rows] == \
        [("failed", "5.0.0", "bounced by the administrator", None)] * 2
    assert [r["state"] for r in rows_of(queued, b)] == ["queued"]
    r = q(queued, "bounce", a)
    assert r.returncode == 1 and "state failed" in r.stderr
    j = admin_journal(queued, "admin.queue-bounce")
    assert [e["queueid"] for e in j] == [a]
    # the file stays: the queue manager still needs it for the report
    assert os.path.exists(msg_file(queued, rows[0]))


def test_delete(queued):
    a, b = queued.ids["A"], queued.ids["B"]
    fa, fb = msg_file(queued, rows_of(queued, a)[0]), msg_file(queued, rows_of(queued, b)[0])
    # one recipient of A is with an SMTP client right now
    set_rows(queued, "UPDATE queue SET state = 'sending' WHERE recipient = 'pal@other.test'")
    out = ok(queued, "delete", a[:len(a) - 1])
    assert "%s: 1 recipient deleted" % a in out
    assert "%s: 1 recipient being sent now, dropped after this attempt" % a in out
    assert [(r["recipient"], r["state"]) for r in rows_of(queued, a)] == \
        [("pal@other.test", "delete")]
    assert os.path.exists(fa)  # the row in flight still needs it
    r = q(queued, "delete", a)
    assert r.returncode == 1 and "nothing to delete" in r.stderr

    ok(queued, "delete", b)
    assert rows_of(queued, b) == [] and not os.path.exists(fb)
    j = admin_journal(queued, "admin.queue-delete")
    assert [e["queueid"] for e in j] == [a, a, b]
    assert any("dropped after this attempt" in e["detail"] for e in j)

    # the queue manager's part, done by hand: the attempt ended
    set_rows(queued, "DELETE FROM queue WHERE state = 'delete'")
    assert "the queue is empty" in ok(queued, "delete", "--all")
    assert "the queue is empty" in ok(queued, "list")
    assert json.loads(ok(queued, "list", "--json")) == []


def test_dsn_reports_parse_with_python_email(postino_bin, workdir):
    """The reports queue/dsn.c writes for every case its unit test builds
    (more variants than the end-to-end bounces of test_outbound.py), read
    back by Python's email package (an independent MIME parser); the unit
    test binary keeps each report in POSTINO_TEST_DSN_DIR."""
    unit = os.path.join(os.path.dirname(postino_bin), "tests", "test-dsn")
    assert os.access(unit, os.X_OK), \
        "build the unit tests first (make test builds them before this): " + unit
    env = dict(os.environ, POSTINO_TEST_DSN_DIR=workdir)
    r = subprocess.run([unit], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    reports = {}
    for name in os.listdir(workdir):
        with open(os.path.join(workdir, name), "rb") as f:
            reports[name[:-len(".eml")]] = parse_dsn(f.read())
    assert len(reports) >= 10

    fail = reports["failure"]
    assert fail["subject"] == "Undelivered Mail Returned to Sender"
    assert fail["auto_submitted"] == "auto-replied"
    assert "MAILER-DAEMON@mail.example.test" in fail["from"]
    assert fail["per_message"]["reporting-mta"] == "dns; mail.example.test"
    assert fail["per_message"]["arrival-date"] == "Tue, 14 Nov 2023 22:13:20 +0000"
    (rcpt,) = fail["recipients"]
    assert (rcpt["final-recipient"], rcpt["action"], rcpt["status"]) == \
        ("rfc822; bob@remote.test", "failed", "5.1.1")
    assert rcpt["diagnostic-code"] == \
        "smtp; 550 5.1.1 <bob@remote.test>: Recipient address rejected"
    assert fail["original_type"] == "message/rfc822"
    assert b"The body line that only a full return carries." in fail["original"]
    assert "host mx1.remote.test said: 550 5.1.1" in fail["human"]

    hdrs = reports["ret-hdrs"]
    assert hdrs["original_type"] == "text/rfc822-headers"
    assert b"Subject: quarterly numbers" in hdrs["original"] and b"body line" not in hdrs["original"]
    delay = reports["delay"]
    assert delay["recipients"][0]["action"] == "delayed"
    assert delay["recipients"][0]["will-retry-until"] == "Sun, 19 Nov 2023 22:13:20 +0000"
    assert [r["final-recipient"] for r in reports["no-reply"]["recipients"]] == \
        ["rfc822; carol@nowhere.test", "rfc822; dave@remote.test", "rfc822; erin@remote.test"]
    assert reports["no-reply"]["recipients"][2]["diagnostic-code"] == \
        "X-Postino; bounced by the administrator"
    eight = reports["eightbit"]
    assert "café" in email.message_from_bytes(eight["original"],
                                              policy=email.policy.default)["Subject"]
    # a hostile reply stays inside its field
    hostile = reports["hostile"]["recipients"][0]
    assert "bcc" not in hostile and "x-evil" not in hostile


def test_bounce_reaches_the_sender(queued, start_server):
    """End to end: `queue bounce`, then the queue manager of a restarted
    server writes the report (queue/dsn.c) into the sender's mailbox."""
    a = queued.ids["A"]
    path = msg_file(queued, rows_of(queued, a)[0])
    ok(queued, "bounce", a)
    start_server(queued.dd)
    deadline = time.time() + 20
    while time.time() < deadline and not queued.messages(ALICE):
        time.sleep(0.1)
    msgs = queued.messages(ALICE)
    assert len(msgs) == 1, queued.queue_rows()
    dsn = parse_dsn(msgs[0])
    assert dsn["subject"] == "Undelivered Mail Returned to Sender"
    assert dsn["per_message"]["x-postino-queue-id"] == a
    assert sorted(r["final-recipient"] for r in dsn["recipients"]) == \
        ["rfc822; friend@remote.test", "rfc822; pal@other.test"]
    for r in dsn["recipients"]:
        assert (r["action"], r["status"]) == ("failed", "5.0.0")
        assert r["diagnostic-code"] == "X-Postino; bounced by the administrator"
        assert "remote-mta" not in r
    assert dsn["original_type"] == "message/rfc822"
    assert queued.tokens["A"].encode() in dsn["original"]
    assert rows_of(queued, a) == [] and not os.path.exists(path)
