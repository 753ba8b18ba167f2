# SPDX-License-Identifier: ISC
"""Smoke tests of the interop peers (peer_helpers.py): a real Postfix and
smtp-sink, driven with smtplib, so the outbound-delivery tests can trust
what they report."""
import smtplib
import ssl
import uuid

import pytest

from peer_helpers import parse_dsn, postfix_peer, smtp_sink  # noqa: F401 (fixtures)
from smtp_helpers import make_mail

PEER = "127.0.0.45"
SINK = "127.0.0.46"


def text(token, to="bob@peer.test"):
    return ("From: alice@client.test\r\nTo: %s\r\nSubject: peer %s\r\n"
            "Message-ID: <%s@client.test>\r\n\r\nbody %s\r\n" % (to, token, token, token)).encode()


def test_peer_delivers_to_maildir_over_tls(postfix_peer):
    peer = postfix_peer(PEER, users=("bob@peer.test", "carol@peer.test"))
    token = uuid.uuid4().hex
    ctx = ssl.create_default_context(cafile=peer.cert)
    ctx.check_hostname = False
    with peer.smtp() as s:
        s.ehlo("client.test")
        assert s.has_extn("starttls")
        s.starttls(context=ctx)
        s.ehlo("client.test")
        s.sendmail("alice@client.test", ["bob@peer.test"], text(token))
    msgs = peer.wait_for("bob@peer.test", 1)
    assert len(msgs) == 1 and peer.maildir_messages("carol@peer.test") == []
    assert b"body " + token.encode() in msgs[0]
    assert b"Delivered-To: bob@peer.test" in msgs[0]
    # smtpd_tls_received_header: the TLS details are in Received:
    assert b"(using TLS" in msgs[0]
    assert "Anonymous TLS connection established from" in peer.wait_log("status=sent")


def test_peer_temporary_and_permanent_refusals(postfix_peer):
    peer = postfix_peer(PEER, access={"temp@peer.test": "450 4.2.0 try later",
                                      "gone@peer.test": "550 5.1.1 gone away"})
    with peer.smtp() as s:
        s.ehlo("client.test")
        s.mail("alice@client.test")
        assert s.rcpt("temp@peer.test")[0] == 450
        code, msg = s.rcpt("gone@peer.test")
        assert code == 550 and b"5.1.1" in msg and b"gone away" in msg
        # not in virtual_mailbox_maps: Postfix's own unknown-user refusal
        code, msg = s.rcpt("nobody@peer.test")
        assert code == 550 and b"5.1.1" in msg
        assert s.rcpt("bob@peer.test")[0] == 250
        s.rset()
    # the table can change while the peer runs
    peer.set_access({"bob@peer.test": "451 4.3.0 busy now"})
    with peer.smtp() as s:
        s.ehlo("client.test")
        s.mail("alice@client.test")
        assert s.rcpt("bob@peer.test")[0] == 451
        assert s.rcpt("temp@peer.test")[0] == 550  # no longer listed: unknown user


def test_peer_relays_to_a_sink(postfix_peer, smtp_sink):
    sink = smtp_sink(SINK)
    peer = postfix_peer(PEER, relay={"example.test": "%s:25" % SINK})
    token = uuid.uuid4().hex
    with peer.smtp() as s:
        s.sendmail("alice@client.test", ["someone@example.test"],
                   text(token, to="someone@example.test"))
    capture = sink.wait_for(1)[0]
    assert b"X-Client-Addr: " + PEER.encode() in capture
    assert b"X-Rcpt-Args: <someone@example.test>" in capture
    body = sink.message_bodies()[0]
    assert b"body " + token.encode() in body
    assert body.startswith(b"Received: from ") and b"by mx.peer.test (Postfix)" in body
    # the peer's client used STARTTLS? smtp-sink offers none: plain relay
    peer.wait_log("relay=%s[%s]:25" % (SINK, SINK))


def test_peer_bounces_a_refused_relay(postfix_peer, smtp_sink):
    """A permanent refusal downstream comes back to the sender as a DSN
    (here Postfix's own, which parse_dsn must read as it reads ours)."""
    sink = smtp_sink(SINK, options=("-f", "RCPT"))
    peer = postfix_peer(PEER, relay={"example.test": "%s:25" % SINK})
    token = uuid.uuid4().hex
    with peer.smtp() as s:
        s.sendmail("bob@peer.test", ["someone@example.test"], text(token, to="someone@example.test"))
    dsn = parse_dsn(peer.wait_for("bob@peer.test", 1)[0])
    assert dsn["per_message"]["reporting-mta"] == "dns; mx.peer.test"
    (rcpt,) = dsn["recipients"]
    assert rcpt["final-recipient"] == "rfc822; someone@example.test"
    assert rcpt["action"] == "failed" and rcpt["status"].startswith("5.")
    assert rcpt["diagnostic-code"].startswith("smtp; 500")
    assert token.encode() in dsn["original"]
    assert sink.messages() == []


def test_peer_relays_into_postino(postfix_peer, postino_bin, make_datadir, start_server):
    mail = make_mail(postino_bin, make_datadir, start_server)
    peer = postfix_peer(PEER, relay={"example.test": "127.0.0.1:%d" % mail.port("smtp")})
    token = uuid.uuid4().hex
    with peer.smtp() as s:
        s.sendmail("someone@client.test", ["alice@example.test"],
                   text(token, to="alice@example.test"))
    peer.wait_log("status=sent")
    msgs = mail.messages("alice@example.test")
    assert len(msgs) == 1 and b"body " + token.encode() in msgs[0]
    assert b"by mx.peer.test (Postfix)" in msgs[0]


def test_sink_captures_and_refuses(smtp_sink):
    sink = smtp_sink(SINK, hostname="sink.test")
    token = uuid.uuid4().hex
    with smtplib.SMTP(SINK, 25, timeout=10) as s:
        assert b"sink.test" in s.ehlo("client.test")[1]
        s.sendmail("alice@client.test", ["x@example.test", "y@example.test"], text(token))
    capture = sink.wait_for(1)[0]
    assert b"X-Rcpt-Args: <x@example.test>\n" in capture
    assert b"X-Rcpt-Args: <y@example.test>\n" in capture
    assert sink.message_bodies()[0] == text(token).replace(b"\r\n", b"\n")

    soft = smtp_sink("127.0.0.47", options=("-r", "RCPT"))
    hard = smtp_sink("127.0.0.48", options=("-f", "RCPT"))
    for address, code in ((soft.address, 450), (hard.address, 500)):
        with smtplib.SMTP(address, 25, timeout=10) as s:
            s.ehlo("client.test")
            s.mail("alice@client.test")
            assert s.rcpt("x@example.test")[0] == code
    assert soft.messages() == [] and hard.messages() == []


def test_taken_address_is_refused(smtp_sink):
    smtp_sink(SINK)
    with pytest.raises(AssertionError, match="already taken"):
        smtp_sink(SINK)
