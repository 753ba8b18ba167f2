# SPDX-License-Identifier: ISC
"""Outbound delivery against real peers (issue 5): a real dnsmasq serves
the MX and address records, a real Postfix (its own instance on
127.0.0.45:25) receives and verifies, Postfix's smtp-sink plays the peers
that refuse, lack extensions or stall. postino finds the peer through DNS,
speaks STARTTLS, signs with DKIM, retries 4xx, bounces 5xx to the sender's
mailbox, warns of delays, survives kill -9 in the middle of a delivery,
and relays through a smarthost with AUTH (a second postino, whose
submission port demands it)."""
import json
import os
import re
import signal
import time
import uuid

import dkim

from conftest import free_port, run_postino
from dns_helpers import dns_server  # noqa: F401  (fixture)
from peer_helpers import parse_dsn, postfix_peer, smtp_sink  # noqa: F401  (fixtures)
from smtp_helpers import PASSWORDS, make_mail

ALICE = "alice@example.test"
PEER = "127.0.0.45"
SINK = "127.0.0.46"
WAIT = 30


def wait_until(fn, timeout=WAIT, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def records(**extra):
    """peer.test -> mx.peer.test (Postfix); sink.test -> mx.sink.test."""
    rec = {
        "mx": [("peer.test", "mx.peer.test", 10), ("sink.test", "mx.sink.test", 10)],
        "hosts": {"mx.peer.test": [PEER], "mx.sink.test": [SINK]},
        "null_mx": ["nullmx.test"],
    }
    rec.update(extra)
    return rec


def outbound_mail(postino_bin, make_datadir, start_server, dns, sets=None):
    all_sets = {"dns.servers": dns.servers, "outbound.ipv6": "no"}
    all_sets.update(sets or {})
    return make_mail(postino_bin, make_datadir, start_server, sets=all_sets)


def body_of(raw):
    """The body after the header block, line ends made CRLF."""
    raw = raw.replace(b"\r\n", b"\n")
    return raw.split(b"\n\n", 1)[1].replace(b"\n", b"\r\n")


def letter(token, to, body=None, sender=ALICE, subject="outbound"):
    body = body if body is not None else (
        "Hello %s,\r\n.a line starting with a dot\r\n..two dots\r\n\r\n"
        "trailing spaces   \r\nend\r\n" % token)
    text = ("From: Alice <%s>\r\nTo: <%s>\r\nSubject: %s %s\r\n"
            "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@example.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s"
            % (sender, to, subject, token, token, body))
    return text, body.encode()


def journal(mail, reason):
    r = run_postino(mail.bin, ["log", "--json", "--reason", reason], data=mail.dd.path)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def wait_journal(mail, reason, n=1):
    return wait_until(lambda: len(journal(mail, reason)) >= n and journal(mail, reason),
                      what="journal " + reason)


def restart(mail, start_server):
    """Start the stopped server again (its log file already says "ready")."""
    mark = len(mail.server.log())
    mail.server = start_server(mail.dd, wait=False)
    mail.server.wait_for_log(" ready ", start=mark)


def queue_empty(mail):
    return mail.queue_rows() == []


def bounces(mail, addr=ALICE):
    return [m for m in mail.messages(addr) if b"multipart/report" in m]


def test_delivers_through_mx_with_tls_and_dkim(postino_bin, make_datadir, start_server,
                                               dns_server, postfix_peer):
    dns_server.start(**records())
    peer = postfix_peer(PEER, users=("bob@peer.test",))
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server)
    key = json.loads(run_postino(postino_bin, ["dkim", "generate", "example.test", "--json"],
                                 data=mail.dd.path).stdout)
    token = uuid.uuid4().hex
    text, body = letter(token, "bob@peer.test")
    with mail.submission() as s:
        s.sendmail(ALICE, ["bob@peer.test"], text)
    got = peer.wait_for("bob@peer.test", 1)[0]
    # intact: the body byte for byte (dot lines, trailing spaces)
    assert body_of(got) == body
    # found through MX, over TLS, by the peer's own account
    assert b"from mail.example.test" in got and b"by mx.peer.test (Postfix)" in got
    assert b"(using TLSv1.3" in got or b"(using TLSv1.2" in got, got[:600]
    # DKIM verifies on what the peer stored (its Received field added on top)
    value = key["value"] if "value" in key else key["keys"][0]["value"]

    def dnsfunc(name, timeout=5):
        return value.encode()
    assert dkim.verify(got, dnsfunc=dnsfunc)
    wait_until(lambda: queue_empty(mail), what="queue empty")
    row = wait_journal(mail, "queue.delivered")[0]
    assert "relay=mx.peer.test[127.0.0.45]" in row["detail"] and "tls=yes" in row["detail"]


def test_postfix_delivers_into_postino(postino_bin, make_datadir, start_server, dns_server,
                                       postfix_peer):
    dns_server.start(**records())
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server)
    peer = postfix_peer(PEER, relay={"example.test": "127.0.0.1:%d" % mail.port("smtp")})
    token = uuid.uuid4().hex
    text, body = letter(token, ALICE, sender="carl@peer.test")
    with peer.smtp() as s:
        s.sendmail("carl@peer.test", [ALICE], text)
    msgs = wait_until(lambda: mail.messages(ALICE), what="mail from Postfix")
    assert body_of(msgs[0]) == body
    assert b"by mx.peer.test (Postfix)" in msgs[0]


def test_temporary_failure_is_retried(postino_bin, make_datadir, start_server, dns_server,
                                      postfix_peer):
    dns_server.start(**records())
    peer = postfix_peer(PEER, users=("temp@peer.test",),
                        access={"temp@peer.test": "450 4.2.0 mailbox busy, try later"})
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server,
                         sets={"queue.retry-schedule": "2s"})
    token = uuid.uuid4().hex
    with mail.submission() as s:
        s.sendmail(ALICE, ["temp@peer.test"], letter(token, "temp@peer.test")[0])
    row = wait_journal(mail, "queue.deferred")[0]
    assert "450 4.2.0" in row["detail"] and "mailbox busy" in row["detail"]
    q = wait_until(lambda: [r for r in mail.queue_rows() if r["attempts"] >= 1])[0]
    assert q["last_status"] == "4.2.0" and q["remote_mta"] == "mx.peer.test"
    assert peer.maildir_messages("temp@peer.test") == []
    peer.set_access({})
    got = peer.wait_for("temp@peer.test", 1)
    assert token.encode() in got[0]
    wait_until(lambda: queue_empty(mail), what="queue empty")
    assert bounces(mail) == []


def test_permanent_failure_bounces_to_the_sender(postino_bin, make_datadir, start_server,
                                                 dns_server, postfix_peer):
    dns_server.start(**records())
    peer = postfix_peer(PEER, users=("bob@peer.test",))
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server)
    token = uuid.uuid4().hex
    text, _ = letter(token, "bob@peer.test")
    with mail.submission() as s:
        s.sendmail(ALICE, ["bob@peer.test", "gone@peer.test"], text)
    # the good recipient gets it; the bad one comes back to alice, alone
    assert token.encode() in peer.wait_for("bob@peer.test", 1)[0]
    dsn = parse_dsn(wait_until(lambda: bounces(mail), what="bounce")[0])
    assert dsn["to"] == ALICE and "MAILER-DAEMON@mail.example.test" in dsn["from"]
    assert dsn["auto_submitted"] == "auto-replied"
    assert len(dsn["recipients"]) == 1
    r = dsn["recipients"][0]
    assert r["final-recipient"] == "rfc822; gone@peer.test" or \
        r["final-recipient"] == "rfc822;gone@peer.test"
    assert r["action"] == "failed" and r["status"].startswith("5.1.1")
    assert "550" in r["diagnostic-code"] and "mx.peer.test" in r["remote-mta"]
    assert token.encode() in dsn["original"]
    wait_until(lambda: queue_empty(mail), what="queue empty")
    wait_journal(mail, "queue.failed")
    wait_journal(mail, "queue.bounced")
    # the bounce itself came from the null sender
    assert b"Return-Path: <>" in bounces(mail)[0]


def test_unroutable_domains_bounce(postino_bin, make_datadir, start_server, dns_server):
    dns_server.start(**records())
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server)
    with mail.submission() as s:
        s.sendmail(ALICE, ["x@nullmx.test"], letter("n1", "x@nullmx.test")[0])
        s.sendmail(ALICE, ["y@nosuchdomain.test"], letter("n2", "y@nosuchdomain.test")[0])
    got = wait_until(lambda: len(bounces(mail)) >= 2 and bounces(mail), what="two bounces")
    status = sorted(parse_dsn(m)["recipients"][0]["status"] for m in got)
    assert status == ["5.1.10", "5.1.2"], status
    wait_until(lambda: queue_empty(mail), what="queue empty")


def test_dns_failure_is_temporary(postino_bin, make_datadir, start_server, dns_server):
    dns_server.start(**records())
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server)
    with mail.submission() as s:
        s.sendmail(ALICE, ["x@refused.fail.test"], letter("t", "x@refused.fail.test")[0])
    row = wait_journal(mail, "queue.deferred")[0]
    assert "route.dns-tempfail" in row["detail"]
    q = mail.queue_rows()
    assert len(q) == 1 and q[0]["state"] == "queued" and q[0]["last_status"] == "4.4.3"
    assert bounces(mail) == []


def test_no_bounce_for_the_null_sender(postino_bin, make_datadir, start_server, dns_server,
                                       postfix_peer):
    """alice forwards to a peer mailbox that does not exist; a message from
    the null sender fails there, and nobody gets a bounce (no loops)."""
    dns_server.start(**records())
    postfix_peer(PEER, users=("bob@peer.test",))
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server)
    mail.cli("user", "set", ALICE, "forward=gone@peer.test", "forward-keep-copy=no")
    with mail.smtp() as s:
        s.sendmail("<>", [ALICE], letter("nb", ALICE, sender="mailer-daemon@x.test")[0])
    wait_journal(mail, "queue.bounce-suppressed")
    wait_until(lambda: queue_empty(mail), what="queue empty")
    assert mail.messages(ALICE) == []


def test_delay_warning_then_delivery(postino_bin, make_datadir, start_server, dns_server,
                                     postfix_peer):
    dns_server.start(**records())
    peer = postfix_peer(PEER, users=("temp@peer.test",),
                        access={"temp@peer.test": "451 4.3.0 slow today"})
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server,
                         sets={"queue.delay-warning": "2s", "queue.retry-schedule": "1h"})
    with mail.submission() as s:
        s.sendmail(ALICE, ["temp@peer.test"], letter("dw", "temp@peer.test")[0])
    dsn = parse_dsn(wait_until(lambda: bounces(mail), what="delay warning")[0])
    r = dsn["recipients"][0]
    assert r["action"] == "delayed" and r["status"].startswith("4.3.0")
    assert "will-retry-until" in r
    assert "Delayed" in dsn["subject"]
    # only once, and the message is still queued
    time.sleep(2.5)
    assert len(bounces(mail)) == 1
    assert len(mail.queue_rows()) == 1 and mail.queue_rows()[0]["warned_at"]
    peer.set_access({})
    assert run_postino(postino_bin, ["queue", "retry", "--all"], data=mail.dd.path).returncode == 0
    peer.wait_for("temp@peer.test", 1)
    wait_until(lambda: queue_empty(mail), what="queue empty")


def test_expired_message_bounces(postino_bin, make_datadir, start_server, dns_server,
                                 postfix_peer):
    dns_server.start(**records())
    postfix_peer(PEER, users=("temp@peer.test",),
                 access={"temp@peer.test": "450 4.2.0 still busy"})
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server,
                         sets={"queue.max-lifetime": "3s", "queue.retry-schedule": "1s",
                               "queue.delay-warning": "0"})
    with mail.submission() as s:
        s.sendmail(ALICE, ["temp@peer.test"], letter("ex", "temp@peer.test")[0])
    dsn = parse_dsn(wait_until(lambda: bounces(mail), what="expiry bounce")[0])
    r = dsn["recipients"][0]
    assert r["action"] == "failed" and r["status"].startswith("4.4.7")
    assert "450 4.2.0" in r["diagnostic-code"] or "450 4.2.0" in r.get("x-postino", "") \
        or "450 4.2.0" in dsn["human"], dsn
    wait_journal(mail, "queue.expired")
    wait_until(lambda: queue_empty(mail), what="queue empty")


def test_peer_without_8bitmime_gets_no_8bit_mail(postino_bin, make_datadir, start_server,
                                                 dns_server, smtp_sink):
    dns_server.start(**records())
    sink = smtp_sink(SINK, options=("-8",))
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server)
    with mail.submission() as s:
        s.sendmail(ALICE, ["x@sink.test"],
                   letter("8b", "x@sink.test", body="Gr\u00fc\u00dfe\r\n")[0].encode())
        s.sendmail(ALICE, ["y@sink.test"], letter("7b", "y@sink.test")[0])
    sink.wait_for(1)
    dsn = parse_dsn(wait_until(lambda: bounces(mail), what="bounce")[0])
    assert dsn["recipients"][0]["final-recipient"].endswith("x@sink.test")
    assert dsn["recipients"][0]["status"].startswith("5.6.3")
    assert len(sink.messages()) == 1 and b"y@sink.test" in sink.messages()[0]


def test_connection_reuse_and_destination_limit(postino_bin, make_datadir, start_server,
                                                dns_server, postfix_peer):
    """Five messages due at once to one destination with
    queue.destination-concurrency=1 travel over a single connection."""
    dns_server.start(**records())
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server,
                         sets={"queue.destination-concurrency": "1"})
    # the peer is not there yet: everything waits in the queue
    with mail.submission() as s:
        for i in range(5):
            s.sendmail(ALICE, ["bob@peer.test"], letter("r%d" % i, "bob@peer.test")[0])
    wait_until(lambda: len([r for r in mail.queue_rows() if r["attempts"] >= 1]) == 5,
               what="five deferred")
    # with the server stopped, everything is made due; at start one scan
    # finds all five waiting for the one destination
    mail.server.stop()
    peer = postfix_peer(PEER, users=("bob@peer.test",))
    assert run_postino(postino_bin, ["queue", "retry", "--all"], data=mail.dd.path).returncode == 0
    restart(mail, start_server)
    peer.wait_for("bob@peer.test", 5)
    wait_until(lambda: queue_empty(mail), what="queue empty")
    # the connection stays open a moment for more mail, then says QUIT
    log = peer.wait_log("quit=1")
    # (the fixture's own readiness probe connects too, with no commands)
    sessions = re.findall(r"disconnect from \S+ (ehlo=.*)", log)
    assert len(sessions) == 1 and "mail=5 rcpt=5 data=5" in sessions[0], log


def test_kill9_while_sending_loses_nothing(postino_bin, make_datadir, start_server,
                                           dns_server, smtp_sink):
    """The peer holds its answer to the final dot; postino is killed in that
    window and restarted: the recipient is sent again (SMTP's unavoidable
    duplicate), never lost, and the queue ends empty."""
    dns_server.start(**records())
    slow = smtp_sink(SINK, options=("-w", "4"))
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server)
    with mail.submission() as s:
        s.sendmail(ALICE, ["x@sink.test"], letter("k9", "x@sink.test")[0])
    wait_until(lambda: [r for r in mail.queue_rows() if r["state"] == "sending"],
               what="sending")
    time.sleep(0.5)
    mail.server.proc.send_signal(signal.SIGKILL)
    mail.server.proc.wait(10)
    mail.server.returncode = 0  # killed on purpose
    mail.server.logf.close()
    assert [r["state"] for r in mail.queue_rows()] == ["sending"]
    slow.stop()
    sink = smtp_sink(SINK)
    restart(mail, start_server)
    got = sink.wait_for(1)
    assert b"k9" in got[0]
    wait_until(lambda: queue_empty(mail), what="queue empty")
    assert bounces(mail) == []


def test_smarthost_with_tls_and_auth(postino_bin, make_datadir, start_server, dns_server):
    """All remote mail through a smarthost that requires STARTTLS and AUTH:
    a second postino whose submission port relays for alice."""
    dns_server.start(**records())
    hub = make_mail(postino_bin, make_datadir, start_server)
    hub.cli("domain", "add", "far.test")
    hub.cli("user", "add", "dan@far.test", "--password-stdin", input="dan-secret-4\n")
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server, sets={
        "relay.host": "[127.0.0.1]:%d" % hub.port("submission"),
        "relay.tls": "required", "relay.user": ALICE, "relay.password": PASSWORDS[ALICE]})
    token = uuid.uuid4().hex
    text, body = letter(token, "dan@far.test")
    with mail.submission() as s:
        s.sendmail(ALICE, ["dan@far.test"], text)
    got = wait_until(lambda: hub.messages("dan@far.test"), what="relayed mail")[0]
    assert body_of(got) == body
    assert b"with ESMTPSA" in got  # authenticated, encrypted submission at the hub
    row = wait_journal(mail, "queue.delivered")[0]
    assert "tls=yes" in row["detail"]

    # a wrong password: deferred with the hub's 535, nothing lost
    mail.dd.set_conf("relay.password", "wrong")
    mail.server.reload()
    with mail.submission() as s:
        s.sendmail(ALICE, ["dan@far.test"], letter("wp", "dan@far.test")[0])
    row = wait_until(lambda: [r for r in journal(mail, "queue.deferred")
                              if "535" in r["detail"]], what="auth deferral")[0]
    assert len(mail.queue_rows()) == 1 and bounces(mail) == []


def test_relay_tls_required_but_not_offered(postino_bin, make_datadir, start_server,
                                            dns_server, smtp_sink):
    dns_server.start(**records())
    sink = smtp_sink(SINK)  # no STARTTLS
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server, sets={
        "relay.domains": "peer.test=[%s]:25" % SINK, "relay.tls": "required"})
    with mail.submission() as s:
        s.sendmail(ALICE, ["bob@peer.test"], letter("tr", "bob@peer.test")[0])
    row = wait_journal(mail, "queue.deferred")[0]
    assert "TLS" in row["detail"] or "tls" in row["detail"]
    assert sink.messages() == [] and len(mail.queue_rows()) == 1


def test_dsn_notify_and_ret_are_honoured(postino_bin, make_datadir, start_server, dns_server,
                                         postfix_peer):
    """RFC 3461: NOTIFY=NEVER means no bounce; RET=HDRS means the bounce
    carries only the original's header."""
    dns_server.start(**records())
    postfix_peer(PEER, users=("bob@peer.test",))
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server)
    with mail.submission() as s:
        s.sendmail(ALICE, ["gone@peer.test"], letter("never", "gone@peer.test")[0],
                   rcpt_options=["NOTIFY=NEVER"])
    wait_journal(mail, "queue.bounce-suppressed")
    wait_until(lambda: queue_empty(mail), what="queue empty")
    assert bounces(mail) == []

    token = uuid.uuid4().hex
    with mail.submission() as s:
        s.sendmail(ALICE, ["gone@peer.test"], letter(token, "gone@peer.test")[0],
                   mail_options=["RET=HDRS", "ENVID=env-" + token],
                   rcpt_options=["NOTIFY=FAILURE", "ORCPT=rfc822;gone@peer.test"])
    dsn = parse_dsn(wait_until(lambda: bounces(mail), what="bounce")[0])
    assert dsn["original_type"] == "text/rfc822-headers"
    assert ("Subject: outbound " + token).encode() in dsn["original"]
    assert ("Hello " + token).encode() not in dsn["original"]
    assert dsn["per_message"]["original-envelope-id"] == "env-" + token
    assert dsn["recipients"][0]["original-recipient"].replace(" ", "") == \
        "rfc822;gone@peer.test"


def test_delivers_over_ipv6(postino_bin, make_datadir, start_server, dns_server, smtp_sink):
    """An MX with only an AAAA record (::1) is reached over IPv6."""
    port = free_port()  # free on 127.0.0.1; ::1 is checked by the fixture
    dns_server.start(**records(mx=[("v6.test", "mx.v6.test", 5)],
                               hosts={"mx.v6.test": ["::1"]}))
    sink = smtp_sink("::1", port=port)
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server,
                         sets={"outbound.ipv6": "yes", "outbound.port": str(port)})
    with mail.submission() as s:
        s.sendmail(ALICE, ["x@v6.test"], letter("v6", "x@v6.test")[0])
    assert b"v6" in sink.wait_for(1)[0]
    row = wait_journal(mail, "queue.delivered")[0]
    assert "[::1]" in row["detail"]


def test_success_report_when_the_peer_has_no_dsn(postino_bin, make_datadir, start_server,
                                                 dns_server, smtp_sink):
    """RFC 3461 6.2.1: NOTIFY=SUCCESS to a peer without DSN (here one that
    answers only HELO) gets a "relayed" report from us."""
    dns_server.start(**records())
    sink = smtp_sink(SINK, options=("-e",))
    mail = outbound_mail(postino_bin, make_datadir, start_server, dns_server)
    with mail.submission() as s:
        s.sendmail(ALICE, ["x@sink.test"], letter("sr", "x@sink.test")[0],
                   rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
    got = sink.wait_for(1)[0]
    assert b"X-Helo-Args: mail.example.test" in got and b"NOTIFY" not in got
    dsn = parse_dsn(wait_until(lambda: bounces(mail), what="relay report")[0])
    assert dsn["recipients"][0]["action"] == "relayed"
    assert dsn["recipients"][0]["status"].startswith("2.")
    wait_journal(mail, "queue.relay-report")
