# SPDX-License-Identifier: ISC
"""SMTP with real clients: MX delivery, submission with STARTTLS and
implicit TLS, AUTH PLAIN/LOGIN, pipelining, relay policy, account rules,
aliases, forwards, the held queue, the journal. Every refusal asserts its
reply code and that nothing was delivered."""
import os
import smtplib
import sqlite3
import subprocess
import time

import pytest

from smtp_helpers import (DOMAIN, PASSWORDS, TIMEOUT, make_mail, mail, message)  # noqa: F401

ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@example.test"


def refused(exc_info, code, status=None):
    """The (code, text) of an smtplib refusal, checked."""
    e = exc_info.value
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        got = list(e.recipients.values())[0]
        c, text = got[0], got[1]
    else:
        c, text = e.smtp_code, e.smtp_error
    text = text.decode() if isinstance(text, bytes) else text
    assert c == code, (c, text)
    if status:
        assert text.startswith(status), text
    return text


# ---- MX (port 25) ----

def test_ehlo_capabilities_on_mx(mail):
    r = mail.raw()
    assert r.greeting[0] == 220 and "ESMTP" in r.greeting[1]
    code, _, lines = r.cmd("EHLO client.remote.test")
    assert code == 250
    caps = [l[4:].split()[0] for l in lines[1:]]
    for cap in ("PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
                "CHUNKING", "DSN", "STARTTLS"):
        assert cap in caps, lines
    assert "AUTH" not in caps  # never offered on the MX port
    assert r.cmd("AUTH PLAIN AGFsaWNlAHg=")[:2] == (502, "5.5.1 Authentication is not available "
                                                   "on this port; use submission (587 or 465)")
    assert r.cmd("NOOP")[0] == 250
    assert r.cmd("HELP")[0] == 214
    assert r.cmd("VRFY alice")[0] == 252
    assert r.cmd("RSET")[0] == 250
    assert r.cmd("QUIT")[0] == 221


def test_mx_delivers_with_trace_headers(mail):
    text, token = message()
    with mail.smtp() as s:
        s.ehlo("client.remote.test")
        s.sendmail("sender@remote.test", [ALICE], text)
    msgs = mail.messages(ALICE)
    assert len(msgs) == 1
    m = msgs[0]
    assert token.encode() in m
    head = m.split(b"\r\n\r\n")[0]
    assert head.startswith(b"Return-Path: <sender@remote.test>\r\nDelivered-To: alice@example.test\r\n")
    assert b"Received: from client.remote.test ([127.0.0.1])" in head
    assert b"by mail.example.test with ESMTP id" in head


def test_many_local_recipients_stored_once_each(mail):
    text, token = message()
    with mail.smtp() as s:
        assert s.sendmail("sender@remote.test", [ALICE, BOB, CAROL, ALICE], text) == {}
    for addr in (ALICE, BOB, CAROL):
        msgs = mail.messages(addr)
        assert len(msgs) == 1 and token.encode() in msgs[0], addr
    rows = mail.journal("smtp.accepted", at_least=1)
    assert len(rows) == 1 and "nrcpt=4" in rows[0]["detail"]


def test_pipelining_replies_in_order(mail):
    r = mail.raw()
    r.cmd("EHLO client")
    text, token = message()
    r.send("MAIL FROM:<sender@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
           "RCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
    assert [r.reply()[0] for _ in range(5)] == [250, 250, 550, 250, 354]
    r.send(text + "\r\n.\r\nMAIL FROM:<x@remote.test>\r\nRSET\r\nQUIT\r\n")
    assert [r.reply()[0] for _ in range(4)] == [250, 250, 250, 221]
    assert len(mail.messages(ALICE)) == 1 and len(mail.messages(BOB)) == 1


def test_8bit_and_smtputf8(mail):
    body = "Caffè e più: ünïcödé\r\n"
    text, token = message(body=body)
    with mail.smtp() as s:
        s.sendmail("sender@remote.test", [ALICE], text.encode(), mail_options=["BODY=8BITMIME"])
    assert body.encode() in mail.messages(ALICE)[0]
    r = mail.raw()
    r.cmd("EHLO client")
    assert r.cmd("MAIL FROM:<jörg@remote.test> SMTPUTF8")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 250
    r.cmd("QUIT")


def test_bdat_chunks(mail):
    text, token = message()
    data = text.encode()
    r = mail.raw()
    r.cmd("EHLO client")
    r.send("MAIL FROM:<sender@remote.test>\r\nRCPT TO:<bob@example.test>\r\n")
    assert [r.reply()[0] for _ in range(2)] == [250, 250]
    half = len(data) // 2
    r.send(b"BDAT %d\r\n" % half + data[:half])
    assert r.reply()[0] == 250
    r.send(b"BDAT %d LAST\r\n" % (len(data) - half) + data[half:])
    code, text_, _ = r.reply()
    assert code == 250 and "queued as" in text_
    msgs = mail.messages(BOB)
    assert len(msgs) == 1 and msgs[0].endswith(data)


def test_refused_bdat_chunk_is_consumed_not_executed(mail):
    r = mail.raw()
    r.cmd("EHLO client")
    inner = b"MAIL FROM:<evil@remote.test>\r\n"
    r.send(b"BDAT %d LAST\r\n" % len(inner) + inner)
    assert r.reply()[:2] == (503, "5.5.1 Send MAIL first")
    # the chunk's MAIL was data, not a command: RCPT still has no MAIL
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 503
    assert r.cmd("NOOP")[0] == 250


def test_data_after_bdat_is_refused(mail):
    r = mail.raw()
    r.cmd("EHLO client")
    r.cmd("MAIL FROM:<sender@remote.test>")
    r.cmd("RCPT TO:<alice@example.test>")
    r.send(b"BDAT 3\r\nabc")
    assert r.reply()[0] == 250
    assert r.cmd("DATA")[:2][0] == 503
    assert r.cmd("RSET")[0] == 250
    assert mail.maildir(ALICE) == []


# ---- submission (587 STARTTLS, 465 implicit TLS) ----

def test_submission_starttls_auth_plain_local_and_remote(mail):
    text, token = message(to="friend@remote.test")
    with mail.submission() as s:
        assert "auth" in s.esmtp_features
        s.sendmail(ALICE, [BOB, "friend@remote.test"], text)
    assert len(mail.messages(BOB)) == 1
    rows = mail.queue_rows()
    assert len(rows) == 1
    q = rows[0]
    assert (q["recipient"], q["sender"], q["origin"], q["account"]) == \
        ("friend@remote.test", ALICE, "submission", ALICE)
    assert q["state"] in ("queued", "sending")  # DNS goes nowhere in tests: retried
    path = os.path.join(mail.dd.path, "queue", "msg", q["file"])
    with open(path, "rb") as f:
        data = f.read()
    assert token.encode() in data and data.startswith(b"Received: ")
    assert os.listdir(os.path.join(mail.dd.path, "queue", "tmp")) == []
    assert [r["reason"] for r in mail.journal("smtp.queued", at_least=1)] == ["smtp.queued"]
    with mail.db() as c:
        sent = c.execute("SELECT account, recipients FROM send_log").fetchall()
    assert sent == [(ALICE, 2)]


def test_submission_auth_login(mail):
    s = smtplib.SMTP("127.0.0.1", mail.port("submission"), timeout=TIMEOUT)
    s.starttls(context=mail.tls_context())
    s.ehlo()
    s.user, s.password = ALICE, PASSWORDS[ALICE]
    code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
    assert code == 235
    text, token = message()
    s.sendmail(ALICE, [BOB], text)
    s.quit()
    assert len(mail.messages(BOB)) == 1


def test_smtps_implicit_tls(mail):
    text, token = message()
    with mail.smtps(user=BOB) as s:
        s.sendmail(BOB, [ALICE], text)
    assert token.encode() in mail.messages(ALICE)[0]
    head = mail.messages(ALICE)[0].split(b"\r\n\r\n")[0]
    assert b"with ESMTPSA" in head


def test_auth_needs_tls_on_587(mail):
    r = mail.raw("submission")
    _, _, lines = r.cmd("EHLO client")
    assert not any("AUTH" in l for l in lines)
    assert r.cmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1zZWNyZXQtMQ==")[:2] == \
        (538, "5.7.11 Encryption required for requested authentication mechanism")
    assert r.cmd("MAIL FROM:<alice@example.test>")[:2] == (530, "5.7.0 Authentication required")


def test_submission_requires_auth(mail):
    s = smtplib.SMTP("127.0.0.1", mail.port("submission"), timeout=TIMEOUT)
    s.starttls(context=mail.tls_context())
    text, _ = message()
    with pytest.raises(smtplib.SMTPSenderRefused) as ei:
        s.sendmail(ALICE, [BOB], text)
    refused(ei, 530, "5.7.0")
    s.close()
    assert mail.maildir(BOB) == []


@pytest.mark.parametrize("user,password", [(ALICE, "wrong"), ("nobody@example.test", "x"),
                                           ("not an address", "x")])
def test_auth_bad_credentials(mail, user, password):
    with pytest.raises(smtplib.SMTPAuthenticationError) as ei:
        mail.submission(user=user, password=password)
    assert ei.value.smtp_code == 535
    assert ei.value.smtp_error.startswith(b"5.7.8 Authentication credentials invalid")
    # the client hears the same words; the journal says which wrong it was
    assert mail.journal("policy.auth-failed" if user == ALICE else "policy.auth-unknown-user")


def test_auth_disabled_account_says_so_without_the_reason(mail):
    mail.cli("user", "set", ALICE, "disabled=yes", "reason=secret-admin-note")
    with pytest.raises(smtplib.SMTPAuthenticationError) as ei:
        mail.submission()
    assert ei.value.smtp_code == 535
    text = ei.value.smtp_error.decode()
    assert text.startswith("5.7.8") and "account disabled, contact your administrator" in text
    assert "secret-admin-note" not in text


def test_auth_expired_password(mail):
    mail.cli("user", "set", ALICE, "password-max-age=1")
    with mail.db() as c:
        c.execute("UPDATE accounts SET password_changed_at = ? WHERE address = ?",
                  (int(time.time()) - 3 * 86400, ALICE))
    with pytest.raises(smtplib.SMTPAuthenticationError) as ei:
        mail.submission()
    assert ei.value.smtp_code == 535
    assert "password expired, change it in webmail" in ei.value.smtp_error.decode()
    assert mail.journal("policy.auth-expired")


def test_mail_from_must_be_owned(mail):
    text, _ = message()
    with mail.submission() as s:
        with pytest.raises(smtplib.SMTPSenderRefused) as ei:
            s.sendmail(BOB, [CAROL], text)
        refused(ei, 553, "5.7.1")
        with pytest.raises(smtplib.SMTPSenderRefused) as ei:
            s.sendmail("", [CAROL], text)
        refused(ei, 553, "5.7.1")
    assert mail.maildir(CAROL) == []
    # an alias that delivers to alice is hers to send as
    mail.cli("alias", "add", "sales@example.test", ALICE, BOB)
    with mail.submission() as s:
        s.sendmail("sales@example.test", [CAROL], text)
    assert len(mail.maildir(CAROL)) == 1


def test_can_send_off(mail):
    mail.cli("user", "set", ALICE, "can-send=no")
    text, _ = message()
    with mail.submission() as s:
        with pytest.raises(smtplib.SMTPSenderRefused) as ei:
            s.sendmail(ALICE, [BOB], text)
        t = refused(ei, 550, "5.7.1")
        assert "Sending is disabled" in t
    assert mail.maildir(BOB) == []
    assert mail.journal("policy.send-disabled")


def test_protocol_log_masks_auth(mail):
    with mail.submission() as s:
        s.noop()
    log = mail.server.log()
    assert "AUTH PLAIN ****" in log
    assert PASSWORDS[ALICE] not in log
    import base64
    assert base64.b64encode(("\0%s\0%s" % (ALICE, PASSWORDS[ALICE])).encode()).decode() not in log


# ---- relay policy ----

@pytest.mark.parametrize("rcpt,code,status", [
    ("friend@remote.test", 554, "5.7.1"),
    ("friend%remote.test@example.test", 554, "5.7.1"),
    ("@relay.remote.test:alice@example.test", 554, "5.7.1"),
    ('"alice"@example.test', 554, "5.7.1"),
    ("nobody@example.test", 550, "5.1.1"),
])
def test_mx_relay_refusals(mail, rcpt, code, status):
    r = mail.raw()
    r.cmd("EHLO client")
    assert r.cmd("MAIL FROM:<sender@remote.test>")[0] == 250
    got = r.cmd("RCPT TO:<%s>" % rcpt)
    assert got[0] == code and got[1].startswith(status), got
    assert r.cmd("DATA")[0] == 503
    r.cmd("QUIT")
    assert mail.maildir(ALICE) == [] and mail.queue_rows() == []


def test_percent_hack_refused_even_with_catchall(mail):
    mail.cli("alias", "add", "@example.test", BOB)
    with mail.smtp() as s:
        text, _ = message()
        with pytest.raises(smtplib.SMTPRecipientsRefused) as ei:
            s.sendmail("x@remote.test", ["friend%remote.test@example.test"], text)
        refused(ei, 554, "5.7.1")
    assert mail.maildir(BOB) == [] and mail.queue_rows() == []


# ---- account rules on receipt ----

def test_disabled_recipient(mail):
    mail.cli("user", "set", BOB, "disabled=yes", "reason=left-the-company")
    text, _ = message()
    with mail.smtp() as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as ei:
            s.sendmail("x@remote.test", [BOB], text)
        t = refused(ei, 550, "5.2.1")
        assert "left-the-company" not in t
    assert mail.maildir(BOB) == []
    rows = mail.journal("deliver.disabled", at_least=1)
    assert rows and rows[-1]["account"] == BOB


def test_can_receive_off(mail):
    mail.cli("user", "set", BOB, "can-receive=no")
    text, _ = message()
    with mail.smtp() as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as ei:
            s.sendmail("x@remote.test", [BOB], text)
        refused(ei, 550, "5.2.1")
    assert mail.maildir(BOB) == []


def fill(mail, addr, n=1, size=2000):
    for _ in range(n):
        text, _ = message(body="x" * size + "\r\n")
        with mail.smtp() as s:
            s.sendmail("x@remote.test", [addr], text)


def test_quota_by_size_is_temporary_by_default(mail):
    mail.cli("user", "set", BOB, "quota=6K")
    fill(mail, BOB, 2)
    assert len(mail.maildir(BOB)) == 2
    text, _ = message(body="y" * 2000 + "\r\n")
    with mail.smtp() as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as ei:
            s.sendmail("x@remote.test", [BOB], text)
        refused(ei, 452, "4.2.2")
    assert len(mail.maildir(BOB)) == 2


def test_quota_by_count(mail):
    mail.cli("user", "set", BOB, "max-messages=1")
    fill(mail, BOB, 1, size=10)
    text, _ = message()
    with mail.smtp() as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as ei:
            s.sendmail("x@remote.test", [BOB], text)
        refused(ei, 452, "4.2.2")
    assert len(mail.maildir(BOB)) == 1


def test_quota_permanent_when_configured(postino_bin, make_datadir, start_server):
    m = make_mail(postino_bin, make_datadir, start_server, sets={"smtp.quota-temporary": "no"})
    m.cli("user", "set", BOB, "max-messages=1")
    fill(m, BOB, 1, size=10)
    text, _ = message()
    with m.smtp() as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as ei:
            s.sendmail("x@remote.test", [BOB], text)
        refused(ei, 552, "5.2.2")
    assert len(m.maildir(BOB)) == 1


def test_alias_and_catchall(mail):
    mail.cli("alias", "add", "team@example.test", ALICE, BOB, "partner@remote.test")
    mail.cli("alias", "add", "@example.test", CAROL)
    text, token = message()
    with mail.smtp() as s:
        s.sendmail("x@remote.test", ["team@example.test", "whatever@example.test"], text)
    assert len(mail.messages(ALICE)) == 1 and len(mail.messages(BOB)) == 1
    assert len(mail.messages(CAROL)) == 1
    rows = mail.queue_rows()
    assert [(r["recipient"], r["origin"]) for r in rows] == [("partner@remote.test", "alias")]
    assert rows[0]["state"] in ("queued", "sending")


def test_forward_keep_copy(mail):
    mail.cli("user", "set", ALICE, "forward=alice@elsewhere.test,carol@example.test",
             "forward-keep-copy=yes")
    text, token = message()
    with mail.smtp() as s:
        s.sendmail("x@remote.test", [ALICE], text)
    assert len(mail.messages(ALICE)) == 1
    assert len(mail.messages(CAROL)) == 1  # local forward target delivered
    rows = mail.queue_rows()
    assert [(r["recipient"], r["origin"]) for r in rows] == [("alice@elsewhere.test", "forward")]
    with open(os.path.join(mail.dd.path, "queue", "msg", rows[0]["file"]), "rb") as f:
        assert f.read().startswith(b"Delivered-To: alice@example.test\r\n")


def test_forward_without_copy(mail):
    mail.cli("user", "set", ALICE, "forward=alice@elsewhere.test", "forward-keep-copy=no")
    text, token = message()
    with mail.smtp() as s:
        s.sendmail("x@remote.test", [ALICE], text)
    assert mail.maildir(ALICE) == []
    assert [r["recipient"] for r in mail.queue_rows()] == ["alice@elsewhere.test"]
    assert mail.journal("deliver.forward-no-copy", at_least=1)


@pytest.mark.parametrize("kind", ["received", "delivered-to"])
def test_loops_refused(mail, kind):
    if kind == "received":
        extra = "".join("Received: from hop%d.remote.test by x; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                        % i for i in range(100))
    else:
        extra = "Delivered-To: alice@example.test\r\n"
    text, _ = message(extra_headers=extra)
    with mail.smtp() as s:
        with pytest.raises(smtplib.SMTPDataError) as ei:
            s.sendmail("x@remote.test", [ALICE], text)
        refused(ei, 554, "5.4.6")
    assert mail.maildir(ALICE) == []


def test_dsn_parameters_stored(mail):
    text, _ = message()
    with mail.submission() as s:
        s.sendmail(ALICE, ["friend@remote.test"], text,
                   mail_options=["RET=HDRS", "ENVID=env+2B1"],
                   rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;friend@remote.test"])
    q = mail.queue_rows()[0]
    assert q["dsn_ret"] == 2 and q["dsn_envid"] == "env+1"
    assert q["dsn_notify"] == 2 | 4 and q["dsn_orcpt"] == "rfc822;friend@remote.test"


def test_journal_records_accept_and_refusals(mail):
    text, token = message()
    with mail.smtp() as s:
        s.sendmail("x@remote.test", [ALICE], text)
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.sendmail("x@remote.test", ["ghost@example.test"], text)
    acc = mail.journal("smtp.accepted", at_least=1)[-1]
    assert acc["service"] == "smtp" and acc["msgid"] == "<%s@test>" % token
    assert acc["queueid"] and acc["sid"] and acc["ip"] == "127.0.0.1"
    ref = mail.journal("policy.unknown-recipient")[-1]
    assert ref["account"] == "ghost@example.test" and ref["decision"] == "refuse"
    dl = mail.journal("deliver.ok", at_least=1)[-1]
    assert dl["account"] == ALICE and dl["msgid"] == acc["msgid"]


def test_sigterm_writes_the_journal_rows_still_waiting(mail):
    """Rows wait up to 50 ms to be written together (longer than the drain
    takes here): the stop itself must write them."""
    tokens = []
    with mail.smtp() as s:
        for _ in range(5):
            text, token = message()
            tokens.append("<%s@test>" % token)
            s.sendmail("x@remote.test", [ALICE], text)
    assert mail.server.stop() == 0  # at once after the last 250
    rows = mail.journal("smtp.accepted")
    assert sorted(r["msgid"] for r in rows) == sorted(tokens)
    assert len(mail.journal("deliver.ok")) == 5


# ---- other real clients ----

def test_swaks_submission(mail):
    r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % mail.port("submission"), "-tls",
                        "--auth", "PLAIN", "--auth-user", ALICE,
                        "--auth-password", PASSWORDS[ALICE], "--from", ALICE, "--to", BOB,
                        "--header", "Subject: swaks-token", "--tls-verify",
                        "--tls-ca-path", mail.cert, "--tls-sni", "mail.example.test"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert b"swaks-token" in mail.messages(BOB)[0]


def test_swaks_mx_pipelining(mail):
    r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % mail.port("smtp"), "--pipeline",
                        "--from", "x@remote.test", "--to", "carol@example.test",
                        "--header", "Subject: swaks-pipe"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert b"swaks-pipe" in mail.messages(CAROL)[0]


def test_msmtp_submission(mail, workdir):
    if subprocess.run(["which", "msmtp"], capture_output=True).returncode != 0:
        pytest.skip("msmtp not installed (scripts/deps)")
    conf = os.path.join(workdir, "msmtprc")
    with open(conf, "w") as f:
        f.write("account default\nhost 127.0.0.1\nport %d\ntls on\ntls_starttls on\n"
                "tls_trust_file %s\ntls_host_override mail.example.test\nauth login\n"
                "user %s\npassword %s\nfrom %s\n"
                % (mail.port("submission"), mail.cert, ALICE, PASSWORDS[ALICE], ALICE))
    os.chmod(conf, 0o600)
    text, token = message(to=BOB)
    r = subprocess.run(["msmtp", "-C", conf, BOB], input=text.replace("\r\n", "\n"),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert token.encode() in mail.messages(BOB)[0]
