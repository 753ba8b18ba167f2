# SPDX-License-Identifier: ISC
"""POP3 with real clients: Python poplib and a raw line client over STLS
(110) and implicit TLS (995), every command (USER PASS AUTH CAPA STLS STAT
LIST UIDL RETR TOP DELE NOOP RSET QUIT), every refusal with its RFC 3206
code, the maildrop lock ([IN-USE]), DELE applied only at QUIT, a dropped
connection deleting nothing, byte-stuffing, a 5 MB message through a slow
reader, UIDs shared with the mail index and stable across restarts, the
journal, screening, and fetchmail and getmail6 downloading mail intact.
Mail gets into the mailboxes through SMTP on the MX port."""
import base64
import os
import socket
import sqlite3
import poplib
import re
import subprocess
import time

import pytest

from smtp_helpers import PASSWORDS, TIMEOUT, make_mail, message

ALICE, BOB = "alice@example.test", "bob@example.test"
POP3_SETS = {"pop3.protocol-log": "yes", "screen.failure-delay-ms": "0"}
AUTH_FAILED = "-ERR [AUTH] Authentication credentials invalid"


@pytest.fixture
def mail(postino_bin, make_datadir, start_server):
    return make_mail(postino_bin, make_datadir, start_server, sets=POP3_SETS)


# ---- helpers ----

class Pop:
    """A line-level POP3 client on a plain or TLS socket."""

    def __init__(self, port, ctx=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        if ctx is not None:
            self.sock = ctx.wrap_socket(self.sock)
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.line()

    def multi(self):
        """The lines of a multi-line response after its +OK, as sent
        (still stuffed), without the terminating '.'."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("connection closed in a multi-line response")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\r\n", 1)
            if raw == b".":
                return lines
            lines.append(raw)

    def starttls(self, ctx):
        self.sock = ctx.wrap_socket(self.sock)

    def closed(self):
        """True when the server closed the connection (EOF)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        self.sock.close()


def pop_plain(mail):
    return Pop(mail.port("pop3"))


def pop_tls(mail):
    """A raw client on 995."""
    return Pop(mail.port("pop3s"), mail.tls_context())


def login(mail, user=ALICE, password=None, port="pop3s"):
    """A raw client logged in on 995 (or 110 after STLS)."""
    if port == "pop3s":
        p = pop_tls(mail)
    else:
        p = pop_plain(mail)
        assert p.cmd("STLS").startswith("+OK")
        p.starttls(mail.tls_context())
    assert p.cmd("USER " + user).startswith("+OK")
    reply = p.cmd("PASS " + (password if password is not None else PASSWORDS[user]))
    assert reply.startswith("+OK"), reply
    return p


def poplib_stls(mail, user=ALICE):
    c = poplib.POP3("127.0.0.1", mail.port("pop3"), timeout=TIMEOUT)
    c.stls(context=mail.tls_context())
    c.user(user)
    c.pass_(PASSWORDS[user])
    return c


def poplib_ssl(mail, user=ALICE):
    c = poplib.POP3_SSL("127.0.0.1", mail.port("pop3s"), timeout=TIMEOUT,
                        context=mail.tls_context())
    c.user(user)
    c.pass_(PASSWORDS[user])
    return c


def deliver(mail, n=1, to=ALICE, body=None, subject="pop3 test"):
    """n messages through the MX port; their tokens, in order."""
    tokens = []
    with mail.smtp() as s:
        for i in range(n):
            text, token = message(subject="%s %d" % (subject, i), body=body, to=to)
            s.sendmail("sender@remote.test", [to], text)
            tokens.append(token)
    return tokens


def mailbox_dir(mail, addr=ALICE):
    local, domain = addr.split("@")
    return os.path.join(mail.dd.path, "mail", domain, local)


def delivery_order(path):
    """Sort key of a Maildir file: "<sec>.M<usec>P<pid>Q<n>..." by number
    (the fields are not zero-padded, so names do not sort as strings)."""
    m = re.match(r"(\d+)\.M(\d+)P(\d+)(?:Q(\d+))?", os.path.basename(path))
    return tuple(int(x or 0) for x in m.groups()) if m else (0, 0, 0, 0)


def stored_files(mail, addr=ALICE):
    """INBOX message files (new/ and cur/), in delivery order."""
    root = mailbox_dir(mail, addr)
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(root, sub)
        if os.path.isdir(d):
            out += [os.path.join(d, n) for n in os.listdir(d)]
    return sorted(out, key=delivery_order)


def stored_bytes(mail, addr=ALICE):
    out = []
    for path in stored_files(mail, addr):
        with open(path, "rb") as f:
            out.append(f.read())
    return out


def index_uids(mail, addr=ALICE):
    """(uidvalidity, [uid...]) of INBOX in the account's mail index."""
    path = os.path.join(mailbox_dir(mail, addr), "postino-index.db")
    with sqlite3.connect(path, timeout=10) as c:
        mbox_id, uv = c.execute(
            "SELECT id, uidvalidity FROM mailboxes WHERE name = 'INBOX'").fetchone()
        uids = [r[0] for r in c.execute(
            "SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid", (mbox_id,))]
    return uv, uids


def crlf(data):
    """A stored message as RFC 1939 sends it: every line ends in CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def journal_rows(mail, reason, account=None, wait=True):
    """pop3 rows with this reason; waits a little for rows a session writes
    as it ends (the server closes after the client has seen EOF)."""
    for _ in range(50 if wait else 1):
        rows = [r for r in mail.journal(reason, service="pop3") if r["reason"] == reason]
        if account is not None:
            rows = [r for r in rows if r["account"] == account]
        if rows:
            return rows
        time.sleep(0.1)
    return rows


# ---- greeting, CAPA, STLS ----

def test_greeting_and_capa_before_tls(mail):
    p = pop_plain(mail)
    assert p.greeting == "+OK postino POP3 ready"
    assert "<" not in p.greeting  # no APOP timestamp
    assert p.cmd("CAPA") == "+OK Capability list follows"
    caps = [c.decode() for c in p.multi()]
    for cap in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "STLS",
                "EXPIRE NEVER", "IMPLEMENTATION postino"):
        assert cap in caps, caps
    # RFC 2595 / Dovecot: no way to send a password is offered in clear
    assert "USER" not in caps and not any(c.startswith("SASL") for c in caps)
    assert p.cmd("QUIT") == "+OK postino signing off"
    assert p.closed()


def test_capa_after_stls_and_on_pop3s(mail):
    c = poplib.POP3("127.0.0.1", mail.port("pop3"), timeout=TIMEOUT)
    c.stls(context=mail.tls_context())
    caps = c.capa()
    assert "USER" in caps and caps["SASL"] == ["PLAIN"] and "STLS" not in caps
    c.quit()
    c = poplib.POP3_SSL("127.0.0.1", mail.port("pop3s"), timeout=TIMEOUT,
                        context=mail.tls_context())
    caps = c.capa()
    assert "USER" in caps and caps["SASL"] == ["PLAIN"] and "STLS" not in caps
    assert caps["EXPIRE"] == ["NEVER"] and caps["IMPLEMENTATION"] == ["postino"]
    c.user(ALICE)
    c.pass_(PASSWORDS[ALICE])
    # RFC 2449 5: what AUTHORIZATION offered, TRANSACTION offers too
    after = c.capa()
    assert "USER" in after and "TOP" in after and "UIDL" in after
    c.quit()


@pytest.mark.parametrize("command", ["USER alice@example.test", "PASS secret",
                                     "AUTH PLAIN", "AUTH"])
def test_credentials_refused_before_tls(mail, command):
    p = pop_plain(mail)
    assert p.cmd(command) == ("-ERR [AUTH] Plaintext authentication disallowed on non-secure "
                              "connections: use STLS or port 995")
    p.cmd("QUIT")
    assert journal_rows(mail, "pop3.auth-encryption-required")


def test_stls_discards_pipelined_plaintext(mail):
    """RFC 2595 / CVE-2011-0411: what followed STLS in the same packet was
    sent in clear and must not be executed once TLS is up."""
    p = pop_plain(mail)
    p.send("STLS\r\nUSER alice@example.test\r\n")
    assert p.line() == "+OK Begin TLS negotiation"
    p.starttls(mail.tls_context())
    # the USER never counted: PASS has no user name to go with
    assert p.cmd("PASS " + PASSWORDS[ALICE]).startswith("-ERR No user name given")
    assert p.cmd("STLS") == "-ERR TLS already active"
    assert p.cmd("USER " + ALICE).startswith("+OK")
    assert p.cmd("PASS " + PASSWORDS[ALICE]).startswith("+OK Maildrop locked and ready")
    assert p.cmd("STLS") == "-ERR Command not valid in this state"
    p.cmd("QUIT")


def test_stls_forgets_user_given_in_clear(mail):
    p = pop_plain(mail)
    # USER is refused in clear anyway; the state after STLS starts over
    assert p.cmd("USER " + ALICE).startswith("-ERR [AUTH]")
    assert p.cmd("STLS").startswith("+OK")
    p.starttls(mail.tls_context())
    assert p.cmd("PASS x").startswith("-ERR No user name given")
    p.cmd("QUIT")


# ---- logging in ----

def test_user_pass_stls_and_pop3s(mail):
    deliver(mail, 2)
    c = poplib_stls(mail)
    assert c.stat()[0] == 2
    c.quit()
    c = poplib_ssl(mail)
    assert c.stat()[0] == 2
    c.quit()
    ok = journal_rows(mail, "policy.auth-ok", ALICE)
    assert len(ok) == 2 and all(r["decision"] == "allow" and r["ip"] == "127.0.0.1"
                                and r["sid"] for r in ok)


def sasl_plain(authzid, authcid, password):
    return base64.b64encode(("%s\0%s\0%s" % (authzid, authcid, password)).encode()).decode()


def test_auth_plain(mail):
    p = pop_tls(mail)
    assert p.cmd("AUTH") == "+OK Methods supported"
    assert p.multi() == [b"PLAIN"]
    # initial response (RFC 5034 4)
    reply = p.cmd("AUTH PLAIN " + sasl_plain("", ALICE, PASSWORDS[ALICE]))
    assert reply.startswith("+OK Maildrop locked and ready"), reply
    p.cmd("QUIT")
    # continuation: an empty challenge, then the response
    p = pop_tls(mail)
    assert p.cmd("AUTH plain") == "+ "
    assert p.cmd(sasl_plain(ALICE, ALICE, PASSWORDS[ALICE])).startswith("+OK")
    p.cmd("QUIT")
    # "=" is an empty initial response (RFC 5034 4): no valid PLAIN message
    p = pop_tls(mail)
    assert p.cmd("AUTH PLAIN =").startswith("-ERR Invalid authentication data")
    p.cmd("QUIT")


def test_auth_refusals(mail):
    p = pop_tls(mail)
    assert p.cmd("AUTH CRAM-MD5") == "-ERR Unsupported authentication mechanism; use PLAIN"
    assert p.cmd("AUTH PLAIN") == "+ "
    assert p.cmd("*") == "-ERR Authentication cancelled"
    assert p.cmd("AUTH PLAIN !!!notbase64") == "-ERR Invalid authentication data"
    assert p.cmd("AUTH PLAIN " + base64.b64encode(b"no-nuls").decode()) == \
        "-ERR Invalid authentication data"
    # one account may not act for another
    assert p.cmd("AUTH PLAIN " + sasl_plain(BOB, ALICE, PASSWORDS[ALICE])) == AUTH_FAILED
    assert p.cmd("AUTH PLAIN " + sasl_plain("", ALICE, "wrong")) == AUTH_FAILED
    # a response over the SASL line limit ends the exchange
    assert p.cmd("AUTH PLAIN") == "+ "
    assert p.cmd("A" * 13000) == "-ERR Authentication response too long"
    assert p.cmd("NOOP") == "-ERR Command not valid in this state"
    p.cmd("QUIT")


@pytest.mark.parametrize("user,password", [(ALICE, "wrong"), ("nobody@example.test", "x"),
                                           ("not-an-address", "x"), (BOB, PASSWORDS[ALICE])])
def test_wrong_credentials_look_the_same(mail, user, password):
    p = pop_tls(mail)
    assert p.cmd("USER " + user) == "+OK Send your password"
    assert p.cmd("PASS " + password) == AUTH_FAILED
    # RFC 1939 7: after a failed PASS, USER starts over
    assert p.cmd("PASS " + password).startswith("-ERR No user name given")
    p.cmd("QUIT")
    rows = mail.journal("policy.", service="pop3")
    assert any(r["reason"] in ("policy.auth-failed", "policy.auth-unknown-user")
               and r["decision"] == "refuse" for r in rows), rows


def test_password_with_spaces(mail):
    mail.cli("user", "passwd", ALICE, "--password-stdin", input="two words  here\n")
    p = pop_tls(mail)
    p.cmd("USER " + ALICE)
    assert p.cmd("PASS two words  here").startswith("+OK")
    p.cmd("QUIT")


def test_can_pop3_off(mail):
    mail.cli("user", "set", ALICE, "can-pop3=no")
    p = pop_tls(mail)
    p.cmd("USER " + ALICE)
    assert p.cmd("PASS " + PASSWORDS[ALICE]) == \
        "-ERR [SYS/PERM] POP3 access is disabled for this mailbox, contact your administrator"
    # a wrong password still hears the same as everyone: nothing is revealed
    p.cmd("USER " + ALICE)
    assert p.cmd("PASS wrong") == AUTH_FAILED
    p.cmd("QUIT")
    assert journal_rows(mail, "policy.pop3-disabled")
    mail.cli("user", "set", ALICE, "can-pop3=yes")
    login(mail).cmd("QUIT")


def test_disabled_account(mail):
    mail.cli("user", "set", ALICE, "disabled=yes", "reason=secret-admin-note")
    p = pop_tls(mail)
    p.cmd("USER " + ALICE)
    reply = p.cmd("PASS " + PASSWORDS[ALICE])
    assert reply == ("-ERR [AUTH] Authentication failed: account disabled, contact your "
                     "administrator")
    assert "secret-admin-note" not in reply
    p.cmd("QUIT")
    assert journal_rows(mail, "policy.auth-disabled")


def test_expired_password(mail):
    mail.cli("user", "set", ALICE, "password-max-age=1")
    with mail.db() as c:
        c.execute("UPDATE accounts SET password_changed_at = ? WHERE address = ?",
                  (int(time.time()) - 3 * 86400, ALICE))
    with pytest.raises(poplib.error_proto) as ei:
        poplib_ssl(mail)
    assert ei.value.args[0] == \
        b"-ERR [AUTH] Authentication failed: password expired, change it in webmail"
    assert journal_rows(mail, "policy.auth-expired")


def test_screening_blocks_guessing_address(postino_bin, make_datadir, start_server):
    sets = dict(POP3_SETS)
    sets.update({"screen.ip-failures": "3", "screen.account-failures": "0"})
    mail = make_mail(postino_bin, make_datadir, start_server, sets=sets)
    bystander = pop_tls(mail)  # another session of the same address
    p = pop_tls(mail)
    for i in range(2):
        p.cmd("USER " + ALICE)
        assert p.cmd("PASS guess%d" % i) == AUTH_FAILED
    p.cmd("USER " + ALICE)
    # the third failure blocks the address: every session of it is closed
    assert p.cmd("PASS guess2") == ("-ERR [SYS/TEMP] Too many failed logins from your address, "
                                    "try again later")
    assert p.closed()
    assert bystander.line().startswith("-ERR [SYS/TEMP] Too many failed logins")
    assert bystander.closed()
    late = pop_tls(mail)
    assert late.greeting.startswith("-ERR [SYS/TEMP] Too many failed logins from your address")
    assert late.closed()
    assert mail.journal("screen.ip-block")


def test_login_rules_by_state(mail):
    p = pop_tls(mail)
    for cmd in ("STAT", "LIST", "UIDL", "RETR 1", "TOP 1 1", "DELE 1", "NOOP", "RSET"):
        assert p.cmd(cmd) == "-ERR Command not valid in this state", cmd
    assert p.cmd("PASS x").startswith("-ERR No user name given")
    p.cmd("USER " + ALICE)
    p.cmd("PASS " + PASSWORDS[ALICE])
    for cmd in ("USER " + ALICE, "PASS x", "AUTH PLAIN", "STLS"):
        assert p.cmd(cmd) == "-ERR Command not valid in this state", cmd
    p.cmd("QUIT")


# ---- the maildrop ----

def test_stat_list_uidl_noop(mail):
    deliver(mail, 3)
    files = stored_bytes(mail)
    sizes = [len(crlf(f)) for f in files]
    c = poplib_stls(mail)
    assert c.stat() == (3, sum(sizes))
    resp, lines, _ = c.list()
    assert resp == b"+OK 3 messages (%d octets)" % sum(sizes)
    assert lines == [b"%d %d" % (i + 1, s) for i, s in enumerate(sizes)]
    assert c.list(2) == b"+OK 2 %d" % sizes[1]
    uv, uids = index_uids(mail)
    want = [b"%d %08X%08X" % (i + 1, uid, uv) for i, uid in enumerate(uids)]
    assert c.uidl()[1] == want
    assert c.uidl(3) == b"+OK " + want[2]
    assert c.noop() == b"+OK Still here"
    c.quit()


def test_uidl_stable_across_sessions_and_restart(mail, start_server):
    deliver(mail, 3)
    c = poplib_ssl(mail)
    first = c.uidl()[1]
    c.dele(1)
    c.quit()
    deliver(mail, 1)
    c = poplib_ssl(mail)
    second = c.uidl()[1]
    c.quit()
    ids = lambda lines: [l.split()[1] for l in lines]  # noqa: E731
    assert ids(second)[:2] == ids(first)[1:]  # message numbers moved, ids did not
    assert len(set(ids(second))) == 3
    assert mail.server.stop() == 0
    mark = len(mail.server.log())  # the new server appends to the same log
    mail.server = start_server(mail.dd, wait=False)
    mail.server.wait_for_log(" ready ", start=mark)
    c = poplib_ssl(mail)
    assert ids(c.uidl()[1]) == ids(second)
    c.quit()
    uv, uids = index_uids(mail)
    assert ids(second) == [b"%08X%08X" % (uid, uv) for uid in uids]


def test_uidl_matches_imap_uids(mail):
    """POP3 and IMAP read one index: UIDL is IMAP's UID and UIDVALIDITY, and
    a POP3 deletion is an IMAP expunge."""
    import imaplib
    deliver(mail, 3)
    c = poplib_ssl(mail)
    uidls = [l.split()[1].decode() for l in c.uidl()[1]]
    c.dele(2)
    c.quit()
    m = imaplib.IMAP4_SSL("127.0.0.1", mail.port("imaps"), ssl_context=mail.tls_context(),
                          timeout=TIMEOUT)
    m.login(ALICE, PASSWORDS[ALICE])
    typ, data = m.status("INBOX", "(UIDVALIDITY)")
    assert typ == "OK"
    uv = int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
    assert m.select("INBOX")[0] == "OK"
    typ, data = m.uid("SEARCH", "ALL")
    uids = [int(u) for u in data[0].split()]
    m.logout()
    assert ["%08X%08X" % (uid, uv) for uid in uids] == [uidls[0], uidls[2]]


def test_retr_whole_message_bytes(mail):
    deliver(mail, 1)
    want = crlf(stored_bytes(mail)[0])
    p = login(mail)
    assert p.cmd("RETR 1") == "+OK %d octets" % len(want)
    body = b"\r\n".join(p.multi()) + b"\r\n"
    assert body == want  # no line starts with '.', so nothing was stuffed
    p.cmd("QUIT")


def test_byte_stuffing(mail):
    body = ("first\r\n.\r\n..\r\n.leading dot\r\n...three\r\nmiddle . dot\r\n"
            " .space dot\r\n.\r\nlast\r\n")
    deliver(mail, 1, body=body)
    stored = crlf(stored_bytes(mail)[0])
    assert b"\r\n.leading dot\r\n" in stored  # SMTP unstuffed it on the way in
    p = login(mail)
    assert p.cmd("RETR 1") == "+OK %d octets" % len(stored)
    wire = p.multi()
    assert b"..leading dot" in wire and b"..." in wire and b"....three" in wire
    assert wire.count(b"..") == 2 and b" .space dot" in wire
    unstuffed = [l[1:] if l.startswith(b".") else l for l in wire]
    assert b"\r\n".join(unstuffed) + b"\r\n" == stored
    p.cmd("QUIT")
    # and poplib, which unstuffs as RFC 1939 says
    c = poplib_ssl(mail)
    assert b"\r\n".join(c.retr(1)[1]) + b"\r\n" == stored
    c.quit()


def test_retr_lf_only_file_goes_out_as_crlf(mail):
    """A Maildir file written by another tool with LF line ends: the octet
    count is the CRLF one (W=), and so are the lines."""
    deliver(mail, 1)
    path = stored_files(mail)[0]
    with open(path, "rb") as f:
        data = f.read()
    c = poplib_ssl(mail)  # the index learns the file
    c.quit()
    lf = data.replace(b"\r\n", b"\n") + b".\ndot line\nno newline at the end"
    new = os.path.join(mailbox_dir(mail), "new", "1700000000.M1P1.other,S=%d,W=%d" % (
        len(lf), len(lf) + lf.count(b"\n")))
    with open(new, "wb") as f:
        f.write(lf)
    p = login(mail)
    assert p.cmd("LIST 2") == "+OK 2 %d" % (len(lf) + lf.count(b"\n"))
    assert p.cmd("RETR 2").startswith("+OK")
    lines = p.multi()
    assert lines[-3:] == [b"..", b"dot line", b"no newline at the end"]
    assert b"\r\n".join(lines) == lf.replace(b"\n.\n", b"\n..\n").replace(b"\n", b"\r\n")
    p.cmd("QUIT")


def test_top(mail):
    body = "line 1\r\n.line 2\r\nline 3\r\n"
    deliver(mail, 1, body=body)
    stored = crlf(stored_bytes(mail)[0])
    header = stored.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    c = poplib_ssl(mail)
    resp, lines, _ = c.top(1, 0)
    assert resp == b"+OK Top of message 1 follows"
    assert lines == header + [b""]
    assert c.top(1, 2)[1] == header + [b"", b"line 1", b".line 2"]
    assert c.top(1, 99)[1] == header + [b"", b"line 1", b".line 2", b"line 3"]
    c.quit()
    p = login(mail)
    assert p.cmd("TOP 1 2").startswith("+OK")
    assert p.multi()[-1] == b"..line 2"  # stuffed on the wire
    for bad in ("TOP 1", "TOP 1 -1", "TOP 1 x", "TOP 1 1 1"):
        assert p.cmd(bad).startswith("-ERR Invalid"), bad
    p.cmd("QUIT")
    # TOP marks nothing as read
    with sqlite3.connect(os.path.join(mailbox_dir(mail), "postino-index.db")) as db:
        assert db.execute("SELECT flags & 1 FROM messages").fetchone()[0] == 0


def test_message_number_errors(mail):
    deliver(mail, 2)
    p = login(mail)
    assert p.cmd("RETR 3") == "-ERR No such message, only 2 in the maildrop"
    assert p.cmd("LIST 99") == "-ERR No such message, only 2 in the maildrop"
    for bad in ("RETR 0", "RETR x", "RETR -1", "RETR 1x", "DELE 4294967296"):
        assert p.cmd(bad) == "-ERR Invalid message number", bad
    for bad in ("RETR", "DELE", "RETR 1 2", "LIST 1 2", "STAT 1", "NOOP x", "QUIT now"):
        assert p.cmd(bad) == "-ERR Invalid arguments", bad
    assert p.cmd("DELE 1") == "+OK Message 1 deleted"
    for cmd in ("RETR 1", "DELE 1", "LIST 1", "UIDL 1", "TOP 1 0"):
        assert p.cmd(cmd) == "-ERR Message 1 is deleted", cmd
    p.cmd("QUIT")


def test_dele_rset_and_quit(mail):
    tokens = deliver(mail, 3)
    c = poplib_ssl(mail)
    c.dele(1)
    c.dele(3)
    assert c.stat()[0] == 1
    assert [l.split()[0] for l in c.list()[1]] == [b"2"]
    assert c.rset().startswith(b"+OK Maildrop has 3 messages")
    assert c.stat()[0] == 3
    c.dele(2)
    assert c.quit() == b"+OK postino signing off (1 messages deleted)"
    left = stored_bytes(mail)
    assert len(left) == 2
    assert tokens[0].encode() in left[0] and tokens[2].encode() in left[1]
    rows = journal_rows(mail, "pop3.update", ALICE)
    assert rows and "deleted=1 expunged=1" in rows[-1]["detail"]


def test_dele_is_applied_only_at_quit(mail):
    deliver(mail, 2)
    c = poplib_ssl(mail)
    c.dele(1)
    c.dele(2)
    # before QUIT nothing is gone, not even for a second session's eyes
    assert len(stored_files(mail)) == 2
    c.quit()
    assert stored_files(mail) == []
    c = poplib_ssl(mail)
    assert c.stat() == (0, 0)
    assert c.list()[1] == [] and c.uidl()[1] == []
    c.quit()


def test_dropped_connection_deletes_nothing(mail):
    deliver(mail, 2)
    p = login(mail)
    assert p.cmd("DELE 1").startswith("+OK")
    assert p.cmd("DELE 2").startswith("+OK")
    p.close()  # no QUIT
    # the lock goes with the session, and every message stays
    assert journal_rows(mail, "pop3.aborted", ALICE)
    c = poplib_ssl(mail)
    assert c.stat()[0] == 2
    c.quit()
    assert len(stored_files(mail)) == 2
    rows = journal_rows(mail, "pop3.aborted", ALICE)
    assert rows and "marked-deleted=2 (kept)" in rows[0]["detail"]


def test_retr_marks_seen_at_quit(mail):
    deliver(mail, 2)
    c = poplib_ssl(mail)
    c.retr(2)
    c.quit()
    with sqlite3.connect(os.path.join(mailbox_dir(mail), "postino-index.db")) as db:
        flags = [r[0] for r in db.execute("SELECT flags & 1 FROM messages ORDER BY uid")]
    assert flags == [0, 1]
    assert any(":2,S" in os.path.basename(f) for f in stored_files(mail))


def test_in_use(mail):
    deliver(mail, 1)
    first = login(mail)
    second = pop_tls(mail)
    second.cmd("USER " + ALICE)
    assert second.cmd("PASS " + PASSWORDS[ALICE]) == \
        "-ERR [IN-USE] Mailbox is in use by another POP3 session, try again later"
    # the session stays in AUTHORIZATION and may try again later
    assert second.cmd("STAT") == "-ERR Command not valid in this state"
    # another mailbox is not locked
    login(mail, BOB).cmd("QUIT")
    assert first.cmd("QUIT").startswith("+OK")
    second.cmd("USER " + ALICE)
    assert second.cmd("PASS " + PASSWORDS[ALICE]).startswith("+OK")
    second.cmd("QUIT")
    assert journal_rows(mail, "pop3.in-use", ALICE)


def test_in_use_released_by_dropped_session(mail):
    first = login(mail)
    first.close()
    for _ in range(50):
        p = pop_tls(mail)
        p.cmd("USER " + ALICE)
        reply = p.cmd("PASS " + PASSWORDS[ALICE])
        p.cmd("QUIT")
        if reply.startswith("+OK"):
            return
        assert "[IN-USE]" in reply
        time.sleep(0.1)
    pytest.fail("lock not released")


def test_pipelining(mail):
    deliver(mail, 2)
    p = pop_tls(mail)
    p.send("USER %s\r\nPASS %s\r\nSTAT\r\nRETR 1\r\nDELE 1\r\nLIST\r\nNOOP\r\nRSET\r\nQUIT\r\n"
           % (ALICE, PASSWORDS[ALICE]))
    assert p.line() == "+OK Send your password"
    assert p.line().startswith("+OK Maildrop locked and ready, 2 messages")
    assert p.line().startswith("+OK 2 ")
    assert p.line().endswith(" octets")
    assert any(b"pop3 test 0" in l for l in p.multi())
    assert p.line() == "+OK Message 1 deleted"
    assert p.line().startswith("+OK 1 messages")
    assert p.multi()[0].startswith(b"2 ")
    assert p.line() == "+OK Still here"
    assert p.line().startswith("+OK Maildrop has 2 messages")
    assert p.line() == "+OK postino signing off (0 messages deleted)"
    assert p.closed()


def test_large_message_streamed_to_a_slow_reader(mail):
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" \
           b"abcd\r\n"
    big = b"From: big@remote.test\r\nTo: alice@example.test\r\nSubject: big\r\n\r\n" + \
        line * (5 * 1024 * 1024 // len(line)) + b".starts with a dot\r\n"
    with mail.smtp() as s:
        s.sendmail("big@remote.test", [ALICE], big)
    stored = crlf(stored_bytes(mail)[0])
    assert len(stored) > 5 * 1024 * 1024
    p = login(mail)
    p.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    p.send("RETR 1\r\n")
    time.sleep(1.5)  # read nothing for a while: the server must wait, not buffer 5 MB
    # meanwhile the server serves others
    other = login(mail, BOB)
    assert other.cmd("STAT") == "+OK 0 0"
    other.cmd("QUIT")
    assert p.line() == "+OK %d octets" % len(stored)
    lines = p.multi()
    assert lines[-1] == b"..starts with a dot"
    assert b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines) + b"\r\n" == stored
    assert p.cmd("NOOP") == "+OK Still here"
    p.cmd("QUIT")
    c = poplib_ssl(mail)
    assert b"\r\n".join(c.retr(1)[1]) + b"\r\n" == stored
    c.quit()


def test_message_expunged_by_another_client(mail):
    deliver(mail, 2)
    p = login(mail)
    os.unlink(stored_files(mail)[0])  # gone behind the session's back
    assert p.cmd("RETR 1") == "-ERR Message 1 was removed by another client"
    assert p.cmd("RETR 2").startswith("+OK")
    p.multi()
    assert p.cmd("QUIT").startswith("+OK")


# ---- the session's edges ----

def test_unknown_and_long_lines(mail):
    p = pop_tls(mail)
    assert p.cmd("APOP alice 0123") == "-ERR Unknown command"
    assert p.cmd("XYZZY") == "-ERR Unknown command"
    assert p.cmd("") == "-ERR Unknown command"
    assert p.cmd("CAPA " + "x" * 300) == "-ERR Line too long"
    assert p.cmd("NOOP" + " " * 20000) == "-ERR Line too long"
    assert p.cmd("capa") == "+OK Capability list follows"  # verbs in any case
    p.multi()
    p.cmd("QUIT")


def test_too_many_errors_closes(mail):
    p = pop_tls(mail)
    for i in range(19):
        assert p.cmd("BOGUS") == "-ERR Unknown command"
    assert p.cmd("BOGUS") == "-ERR Unknown command"
    assert p.line() == "-ERR Too many bad commands, closing connection"
    assert p.closed()
    assert journal_rows(mail, "pop3.too-many-errors")


def test_idle_timeout_closes_without_reply_or_deletion(postino_bin, make_datadir,
                                                       start_server):
    sets = dict(POP3_SETS)
    sets["pop3.timeout"] = "1s"
    mail = make_mail(postino_bin, make_datadir, start_server, sets=sets)
    deliver(mail, 1)
    p = login(mail)
    assert p.cmd("DELE 1").startswith("+OK")
    time.sleep(2)
    assert p.closed() and p.buf == b""  # RFC 1939 3: no response
    assert len(stored_files(mail)) == 1
    assert journal_rows(mail, "pop3.timeout")
    assert journal_rows(mail, "pop3.aborted", ALICE)


def test_shutdown_says_goodbye_and_keeps_mail(mail):
    deliver(mail, 1)
    p = login(mail)
    assert p.cmd("DELE 1").startswith("+OK")
    assert mail.server.stop() == 0
    assert p.line() == "-ERR [SYS/TEMP] Server shutting down, try again later"
    assert p.closed()
    assert len(stored_files(mail)) == 1


def test_protocol_log_masks_passwords(mail):
    login(mail).cmd("QUIT")
    p = pop_tls(mail)
    p.cmd("AUTH PLAIN " + sasl_plain("", BOB, PASSWORDS[BOB]))
    p.cmd("QUIT")
    p = pop_tls(mail)
    p.cmd("AUTH PLAIN")
    p.cmd(sasl_plain("", BOB, PASSWORDS[BOB]))
    p.cmd("QUIT")
    log = mail.server.log()
    assert "< PASS ****" in log and "< AUTH PLAIN ****" in log and "(sasl response)" in log
    for secret in (PASSWORDS[ALICE], PASSWORDS[BOB], sasl_plain("", BOB, PASSWORDS[BOB])):
        assert secret not in log


# ---- real downloaders ----

def strip_added_header(data, name):
    """The message without the first header field called name (one the
    downloader prepended), folded lines included."""
    lines = data.split(b"\n")
    for i, l in enumerate(lines):
        if l.lower().startswith(name.lower() + b":"):
            j = i + 1
            while j < len(lines) and lines[j][:1] in (b" ", b"\t"):
                j += 1
            return b"\n".join(lines[:i] + lines[j:])
        if l in (b"", b"\r"):
            break
    return data


def run_tool(mail, args, env=None):
    """Run a downloader to completion; on failure show its output and the
    server's side of the conversation."""
    try:
        r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           env=env, timeout=60)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s timed out: %s\n%s" % (args[0], e.output,
                                                       mail.server.log()[-4000:]))
    assert r.returncode == 0, "%s\n%s\n%s" % (r.stdout, r.stderr, mail.server.log()[-4000:])
    return r


def test_fetchmail_over_stls(mail, workdir):
    body = "fetchmail\r\n.dot line\r\n..two\r\n"
    deliver(mail, 3, body=body)
    want = [crlf(f) for f in stored_bytes(mail)]
    out = os.path.join(workdir, "fetched")
    home = os.path.join(workdir, "fetchmail-home")
    os.makedirs(out)
    os.makedirs(home)
    rc = os.path.join(home, "fetchmailrc")
    with open(rc, "w") as f:
        f.write('poll 127.0.0.1 port %d proto pop3 uidl\n'
                '  user "%s" there with password "%s" is "root" here\n'
                '  sslcertck sslcertfile "%s" sslcommonname "%s" sslproto "tls1.2+"\n'
                '  fetchall no keep no stripcr\n'
                '  mda "/bin/sh -c \'cat > %s/msg.$$\'"\n'
                % (mail.port("pop3"), ALICE, PASSWORDS[ALICE], mail.cert, mail.dd.hostname,
                   out))
    os.chmod(rc, 0o600)
    env = dict(os.environ, FETCHMAILHOME=home, HOME=home)
    r = run_tool(mail, ["fetchmail", "-f", rc, "--nodetach", "--nosyslog", "-v"], env=env)
    assert "STLS" in r.stdout + r.stderr
    got = []
    for name in os.listdir(out):
        with open(os.path.join(out, name), "rb") as f:
            got.append(strip_added_header(f.read(), b"Received"))
    assert sorted(got) == sorted(want)
    assert stored_files(mail) == []  # downloaded and deleted at QUIT
    assert journal_rows(mail, "pop3.update", ALICE)


def test_getmail6_over_pop3s(mail, workdir):
    body = "getmail\r\n.dot line\r\n\r\n.\r\nend\r\n"
    deliver(mail, 2, body=body)
    want = [crlf(f).replace(b"\r\n", b"\n") for f in stored_bytes(mail)]
    dest = os.path.join(workdir, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(dest, sub))
    gdir = os.path.join(workdir, "getmail")
    os.makedirs(gdir)
    with open(os.path.join(gdir, "getmailrc"), "w") as f:
        f.write("[retriever]\ntype = SimplePOP3SSLRetriever\nserver = 127.0.0.1\n"
                "port = %d\nusername = %s\npassword = %s\nca_certs = %s\n"
                "ssl_cert_hostname = %s\n\n"
                # getmail's Maildir refuses to deliver as root: an MDA it may run
                "[destination]\ntype = MDA_external\npath = /bin/sh\n"
                "arguments = (\"-c\", \"cat > %s/new/$$.eml\")\nallow_root_commands = true\n\n"
                "[options]\nread_all = true\ndelete = true\nreceived = false\n"
                "delivered_to = false\nmessage_log_syslog = false\nverbose = 2\n"
                % (mail.port("pop3s"), ALICE, PASSWORDS[ALICE], mail.cert,
                   mail.dd.hostname, dest))
    r = run_tool(mail, ["getmail", "--getmaildir", gdir, "--rcfile", "getmailrc"])
    assert r.stdout.count(", deleted") == 2, r.stdout
    got = []
    for name in os.listdir(os.path.join(dest, "new")):
        with open(os.path.join(dest, "new", name), "rb") as f:
            got.append(f.read())
    assert sorted(got) == sorted(want), (got, want)
    assert stored_files(mail) == []
    # a second run finds nothing new
    run_tool(mail, ["getmail", "--getmaildir", gdir, "--rcfile", "getmailrc"])
    assert len(os.listdir(os.path.join(dest, "new"))) == 2
