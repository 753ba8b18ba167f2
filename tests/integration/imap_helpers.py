# SPDX-License-Identifier: ISC
"""Shared by the test_imap*.py files: a server with example.test (alice,
bob, carol), imaplib clients on 143 (STARTTLS) and 993, a raw line-level
IMAP client, and mail delivered over SMTP."""
import imaplib
import smtplib
import socket
import ssl

import pytest

from smtp_helpers import DOMAIN, PASSWORDS, TIMEOUT, make_mail, message  # noqa: F401

ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@example.test"
IMAP_SETS = {"imap.protocol-log": "yes", "screen.failure-delay-ms": "0"}


class Raw:
    """A line-level IMAP client: send a tagged command, read everything up
    to its tagged reply (literals in responses are read whole)."""

    def __init__(self, port, ctx=None, greet=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        if ctx is not None:
            self.sock = ctx.wrap_socket(self.sock)
        self.buf = b""
        self.n = 0
        self.greeting = self.line() if greet else None

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed; buffered %r" % self.buf)
        self.buf += chunk

    def line(self):
        """One response line; a literal it announces is appended raw."""
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        while line.endswith(b"}") and b"{" in line:
            size = int(line[line.rindex(b"{") + 1:-1])
            while len(self.buf) < size:
                self._fill()
            line += b"\r\n" + self.buf[:size]
            self.buf = self.buf[size:]
            while b"\r\n" not in self.buf:
                self._fill()
            more, self.buf = self.buf.split(b"\r\n", 1)
            line += more
        return line.decode(errors="replace")

    def tag(self):
        self.n += 1
        return "t%d" % self.n

    def cmd(self, text):
        """(tagged reply line, [untagged lines])"""
        tag = self.tag()
        self.send("%s %s\r\n" % (tag, text))
        return self.wait(tag)

    def wait(self, tag):
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag + " "):
                return line[len(tag) + 1:], untagged
            untagged.append(line)

    def login(self, user=ALICE, password=None):
        r, _ = self.cmd('LOGIN "%s" "%s"' % (user, password or PASSWORDS[user]))
        assert r.startswith("OK"), r

    def closed(self):
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


class ImapMail:
    """mail (smtp_helpers.Mail) plus IMAP clients."""

    def __init__(self, mail):
        self.mail = mail
        self.dd = mail.dd
        self.server = mail.server

    def __getattr__(self, name):
        return getattr(self.mail, name)

    def imaps(self, user=ALICE, password=None, login=True):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.port("imaps"), ssl_context=self.tls_context(),
                              timeout=TIMEOUT)
        if login:
            m.login(user, password if password is not None else PASSWORDS[user])
        return m

    def imap(self, user=ALICE, password=None, login=True, starttls=True):
        m = imaplib.IMAP4("127.0.0.1", self.port("imap"), timeout=TIMEOUT)
        if starttls:
            m.starttls(self.tls_context())
        if login:
            m.login(user, password if password is not None else PASSWORDS[user])
        return m

    def raw(self, tls=True, login=False, user=ALICE):
        r = Raw(self.port("imaps" if tls else "imap"), self.tls_context() if tls else None)
        if login:
            r.login(user)
        return r

    def deliver(self, to=ALICE, subject="test", body=None, extra_headers=""):
        """One message over SMTP (port 25); returns its unique token."""
        text, token = message(subject=subject, body=body, to=to, extra_headers=extra_headers)
        with self.smtp() as s:
            s.sendmail("sender@remote.test", [to], text)
        return token


def make_imap_mail(postino_bin, make_datadir, start_server, sets=None):
    all_sets = dict(IMAP_SETS)
    all_sets.update(sets or {})
    return ImapMail(make_mail(postino_bin, make_datadir, start_server, sets=all_sets))


@pytest.fixture
def imail(postino_bin, make_datadir, start_server):
    return make_imap_mail(postino_bin, make_datadir, start_server)
