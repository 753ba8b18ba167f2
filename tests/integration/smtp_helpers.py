# SPDX-License-Identifier: ISC
"""Shared by the test_smtp*.py files: a running server with a local domain
and mailboxes, raw-socket and smtplib clients, and Maildir/queue/journal
readers."""
import json
import os
import socket
import sqlite3
import ssl
import smtplib
import time
import uuid

import pytest

from conftest import run_postino

TIMEOUT = 10
DOMAIN = "example.test"
PASSWORDS = {"alice@example.test": "alice-secret-1", "bob@example.test": "bob-secret-2",
             "carol@example.test": "carol-secret-3"}
# fast tests: no greeting pause unless a test asks for one
BASE_SETS = {"smtp.greeting-delay-ms": "0", "smtp.protocol-log": "yes"}


class Mail:
    """A started server with example.test, alice, bob and carol."""

    def __init__(self, postino_bin, dd, server):
        self.bin = postino_bin
        self.dd = dd
        self.server = server
        self.cert = os.path.join(dd.path, "tls", "cert.pem")

    def cli(self, *args, input=None):
        r = run_postino(self.bin, args, data=self.dd.path, input=input)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    def port(self, name):
        return self.dd.ports[name]

    def maildir(self, addr, sub="new"):
        local, domain = addr.split("@")
        path = os.path.join(self.dd.path, "mail", domain, local, sub)
        if not os.path.isdir(path):
            return []
        return sorted(os.listdir(path))

    def messages(self, addr):
        local, domain = addr.split("@")
        out = []
        for name in self.maildir(addr):
            with open(os.path.join(self.dd.path, "mail", domain, local, "new", name), "rb") as f:
                out.append(f.read())
        return out

    def db(self):
        return sqlite3.connect(os.path.join(self.dd.path, "postino.db"), timeout=10)

    def queue_rows(self):
        with self.db() as c:
            c.row_factory = sqlite3.Row
            return [dict(r) for r in c.execute("SELECT * FROM queue ORDER BY id")]

    def journal(self, reason_prefix=None, service=None, at_least=0):
        """Journal rows; with at_least, waits (up to 10 s) for that many:
        a delivery's rows are written by a worker just after the 250."""
        args = ["log", "--json"]
        if reason_prefix:
            args += ["--reason", reason_prefix]
        if service:
            args += ["--service", service]
        deadline = time.monotonic() + 10
        while True:
            r = run_postino(self.bin, args, data=self.dd.path)
            assert r.returncode == 0, r.stderr
            rows = json.loads(r.stdout)
            if len(rows) >= at_least or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)

    def tls_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.cert)
        ctx.check_hostname = False  # we connect to 127.0.0.1; the chain is still checked
        return ctx

    def smtp(self, name="smtp"):
        return smtplib.SMTP("127.0.0.1", self.port(name), timeout=TIMEOUT)

    def submission(self, user="alice@example.test", password=None):
        s = smtplib.SMTP("127.0.0.1", self.port("submission"), timeout=TIMEOUT)
        s.starttls(context=self.tls_context())
        s.login(user, password if password is not None else PASSWORDS[user])
        return s

    def smtps(self, user="alice@example.test", password=None):
        s = smtplib.SMTP_SSL("127.0.0.1", self.port("submissions"), timeout=TIMEOUT,
                             context=self.tls_context())
        s.login(user, password if password is not None else PASSWORDS[user])
        return s

    def raw(self, name="smtp", greet=True):
        return Raw(self.port(name), greet=greet)


def make_mail(postino_bin, make_datadir, start_server, sets=None):
    all_sets = dict(BASE_SETS)
    all_sets.update(sets or {})
    dd = make_datadir(sets=all_sets)
    r = run_postino(postino_bin, ["domain", "add", DOMAIN], data=dd.path)
    assert r.returncode == 0, r.stderr
    for addr, pw in PASSWORDS.items():
        r = run_postino(postino_bin, ["user", "add", addr, "--password-stdin"], data=dd.path,
                        input=pw + "\n")
        assert r.returncode == 0, r.stderr
    server = start_server(dd)
    return Mail(postino_bin, dd, server)


@pytest.fixture
def mail(postino_bin, make_datadir, start_server):
    return make_mail(postino_bin, make_datadir, start_server)


def message(token=None, subject="test", extra_headers="", body=None, to="alice@example.test"):
    """An RFC 5322 message with a unique Message-ID; returns (text, token)."""
    token = token or uuid.uuid4().hex
    body = body if body is not None else "Hello, this is %s.\r\n" % token
    text = ("From: sender@remote.test\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s@test>\r\n%s\r\n%s" % (to, subject, token, extra_headers, body))
    return text, token


class Raw:
    """A line-level SMTP client on a plain socket."""

    def __init__(self, port, greet=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""
        self.greeting = self.reply() if greet else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode(errors="replace")

    def reply(self):
        """One (multi-line) reply: (code, text of the last line, all lines)."""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                break
        return int(lines[-1][:3]), lines[-1][4:], lines

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

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

    def starttls(self, ctx):
        self.sock = ctx.wrap_socket(self.sock)

    def close(self):
        self.sock.close()
