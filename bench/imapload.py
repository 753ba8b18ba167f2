#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""bench/imapload.py - the client side of the IMAP bench (bench/imap.py):
the generated mail both servers get, a small blocking IMAP client, the
mixed-workload worker (one process per simulated client, started as
`bench/imapload.py --worker JSON`) and the asyncio client that holds
thousands of connections in IDLE.

The same code drives both servers, so the client's cost is the same for
each. Standard library only; no state outside the process.
"""

import asyncio
import base64
import collections
import email.utils
import json
import os
import random
import re
import socket
import ssl
import sys
import textwrap
import time

DOMAIN = "bench.test"
PASSWORD = "bench-password"
BIG_USER = "big"
SEARCH_WORD = "zanzibar"          # in 1 message of SEARCH_EVERY, nowhere else
SEARCH_EVERY = 100
ATTACH_EVERY = 10                 # 1 message in 10 is multipart with an attachment
FLAGS_RANGE = 1000                # FETCH n:n+999 (FLAGS)
HEADERS_RANGE = 50                # FETCH n:n+49 (BODY.PEEK[HEADER.FIELDS (...)])
BODIES = 3                        # FETCH n (BODY.PEEK[]), one command each
STORES = 3                        # STORE a,b,c +FLAGS.SILENT (\Seen)
SEED = 4
STEP_TIMEOUT = 60.0               # one command, or one connection's setup
LINE_MAX = 1 << 20
CMDS = ["CONNECT", "LOGIN", "SELECT", "FETCH FLAGS", "FETCH HEADERS", "FETCH BODY",
        "SEARCH TEXT", "STORE", "EXPUNGE", "LOGOUT"]
LITERAL_RE = re.compile(rb"\{(\d+)\+?\}$")


def short(e):
    text = str(e).strip() or e.__class__.__name__
    text = text.splitlines()[0] if text else text
    return (text[:160] + "...") if len(text) > 160 else text


# ------------------------------------------------------------------ corpus

ENGLISH = """the of and to in is you that it he was for on are as with his they at be
this have from or one had by word but not what all were we when your can said there use
an each which she do how their if will up other about out many then them these so some
her would make like him into time has look two more write go see number no way could
people my than first water been call who oil its now find long down day did get come made
may part meeting invoice order project budget report client delivery schedule contract
price quote team office monday tuesday friday week month quarter review draft final
attached please thanks regards update status shipment payment account supplier warehouse
stock sample offer discount request approval signature deadline agenda minutes call
phone email address street city plan design print paper coffee lunch holiday travel
hotel train flight ticket receipt tax bank transfer total amount due overdue reminder
""".split()
FIRST = ["Anna", "Bruno", "Chiara", "Dario", "Elena", "Fabio", "Giulia", "Hugo", "Ines",
         "Jonas", "Karin", "Luca", "Marta", "Nico", "Olga", "Paolo", "Rita", "Sara",
         "Tomas", "Ugo", "Vera", "Walter"]
LAST = ["Rossi", "Bianchi", "Ferrari", "Esposito", "Romano", "Colombo", "Ricci",
        "Marino", "Greco", "Bruno", "Gallo", "Conti", "Costa", "Mancini", "Moretti",
        "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi"]
DOMAINS = ["example.com", "example.net", "example.org", "supplier.example",
           "client.example", "shop.example"]


def make_vocab(rng, n=3000):
    """English filler plus made-up words; no word has a 'z', so SEARCH_WORD
    occurs only where it is put."""
    syll = [c + v for c in "bcdfghjklmnprstvw" for v in "aeiou"] + ["an", "er", "in", "or"]
    words = [w for w in ENGLISH if "z" not in w]
    seen = set(words)
    while len(words) < n:
        w = "".join(rng.choice(syll) for _ in range(rng.randint(1, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    assert not any(SEARCH_WORD in w for w in words)
    return words


def make_corpus(n, seed=SEED):
    """n messages as (maildir base name, bytes, mtime): deterministic, so
    both servers get the same mail. LF line endings (as Dovecot's LDA and
    LMTP write them), sizes 1-12 KB of text, one in ATTACH_EVERY
    multipart/mixed with a 16-64 KB base64 attachment, SEARCH_WORD in the
    body of one in SEARCH_EVERY."""
    rng = random.Random(seed)
    vocab = make_vocab(rng)
    weights = [1.0 / (i + 1) for i in range(len(vocab))]      # Zipf-like
    cum = []
    acc = 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    paragraphs = []
    for _ in range(600):
        words = rng.choices(vocab, cum_weights=cum, k=rng.randint(30, 120))
        words[0] = words[0].capitalize()
        paragraphs.append(textwrap.fill(" ".join(words) + ".", 72))
    base = 1735689600       # 2025-01-01T00:00:00Z
    out = []
    for i in range(n):
        t = base + i * 613 + rng.randint(0, 600)
        who = "%s %s" % (rng.choice(FIRST), rng.choice(LAST))
        addr = "%s.%s@%s" % (who.split()[0].lower(), who.split()[1].lower(),
                             rng.choice(DOMAINS))
        subject = " ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(3, 8)))
        target = 1024 * rng.choice([1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 12])
        body = []
        size = 0
        while size < target:
            p = rng.choice(paragraphs)
            body.append(p)
            size += len(p) + 2
        if i % SEARCH_EVERY == SEARCH_EVERY // 3:
            k = rng.randrange(len(body))
            ws = body[k].split(" ")
            ws.insert(rng.randrange(1, len(ws)), SEARCH_WORD)
            body[k] = " ".join(ws)
        text = "\n\n".join(body) + "\n\n-- \n%s\n" % who
        head = ("Return-Path: <%s>\nDelivered-To: %s@%s\nDate: %s\nFrom: \"%s\" <%s>\n"
                "To: %s@%s\nSubject: %s\nMessage-ID: <%d.%d@bench.example>\n"
                "MIME-Version: 1.0\n"
                % (addr, BIG_USER, DOMAIN, email.utils.formatdate(t), who, addr,
                   BIG_USER, DOMAIN, subject.capitalize(), i, seed))
        if i % ATTACH_EVERY == ATTACH_EVERY - 1:
            boundary = "=_bench_%d" % i
            blob = base64.encodebytes(rng.randbytes(rng.randint(16, 64) * 1024)).decode()
            msg = (head + "Content-Type: multipart/mixed; boundary=\"%s\"\n\n"
                   "This is a multi-part message in MIME format.\n\n"
                   "--%s\nContent-Type: text/plain; charset=us-ascii\n"
                   "Content-Transfer-Encoding: 7bit\n\n%s\n"
                   "--%s\nContent-Type: application/octet-stream; name=\"scan-%05d.bin\"\n"
                   "Content-Transfer-Encoding: base64\n"
                   "Content-Disposition: attachment; filename=\"scan-%05d.bin\"\n\n%s\n"
                   "--%s--\n" % (boundary, boundary, text, boundary, i, i, blob, boundary))
        else:
            msg = (head + "Content-Type: text/plain; charset=us-ascii\n"
                   "Content-Transfer-Encoding: 7bit\n\n" + text)
        data = msg.encode("ascii")
        name = "%d.M%dP4242.bench,S=%d,W=%d" % (t, i, len(data), len(data) + data.count(b"\n"))
        out.append((name, data, t))
    return out


def fill_maildir(root, msgs, uid, gid):
    """Write msgs into root/new/ (root/{cur,new,tmp} created, 0700, owned
    by uid:gid), each file with its Date as mtime (INTERNALDATE)."""
    for sub in ("", "cur", "new", "tmp"):
        d = os.path.join(root, sub)
        os.makedirs(d, mode=0o700, exist_ok=True)
        os.chown(d, uid, gid)
    new = os.path.join(root, "new")
    for name, data, mtime in msgs:
        path = os.path.join(new, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchown(fd, uid, gid)
        finally:
            os.close(fd)
        os.utime(path, (mtime, mtime))


# ------------------------------------------------------------ IMAP client

def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE     # the bench's own self-signed certificate
    return ctx


class ImapError(Exception):
    """The connection is unusable (closed, timed out, garbage)."""


class CommandFailed(Exception):
    """The server answered NO or BAD; the session goes on."""


class SyncImap:
    """A minimal blocking IMAP client over implicit TLS: tagged commands,
    untagged lines collected (first line of each response only; literals
    are read and counted, not kept)."""

    def __init__(self, port, timeout=STEP_TIMEOUT, ctx=None):
        self.timeout = timeout
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            self.sock = (ctx or client_context()).wrap_socket(raw)
        except BaseException:
            raw.close()
            raise
        self.buf = b""
        self.pos = 0
        self.tagn = 0
        self.literal_bytes = 0
        self.greeting = self.readline().decode("utf-8", "replace")

    def tls(self):
        return "%s %s" % (self.sock.version(), self.sock.cipher()[0])

    def _fill(self):
        try:
            data = self.sock.recv(1 << 18)
        except socket.timeout:
            raise ImapError("timed out after %ds waiting for the server" % self.timeout)
        if not data:
            raise ImapError("connection closed by the server")
        if self.pos:
            self.buf = self.buf[self.pos:] + data
            self.pos = 0
        else:
            self.buf += data

    def readline(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i]
                self.pos = i + 2
                return line
            if len(self.buf) - self.pos > LINE_MAX:
                raise ImapError("response line longer than %d bytes" % LINE_MAX)
            self._fill()

    def skip(self, n):
        while len(self.buf) - self.pos < n:
            n -= len(self.buf) - self.pos
            self.buf, self.pos = b"", 0
            self._fill()
        self.pos += n

    def command(self, text):
        """Send one command; return its untagged lines. CommandFailed on NO
        or BAD, ImapError when the connection breaks."""
        self.tagn += 1
        tag = b"T%d" % self.tagn
        if isinstance(text, str):
            text = text.encode()
        self.sock.sendall(tag + b" " + text + b"\r\n")
        untagged = []
        while True:
            line = self.readline()
            first = line
            m = LITERAL_RE.search(line)
            while m:
                n = int(m.group(1))
                self.skip(n)
                self.literal_bytes += n
                line = self.readline()
                m = LITERAL_RE.search(line)
            if first.startswith(tag + b" "):
                status = first[len(tag) + 1:].split(b" ", 1)[0].upper()
                if status == b"OK":
                    return untagged
                raise CommandFailed("%s -> %s" % (text.split(b" ")[0].decode(),
                                                  first.decode("utf-8", "replace")))
            untagged.append(first)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def login(c, user):
    c.command('LOGIN "%s@%s" "%s"' % (user, DOMAIN, PASSWORD))


def exists_of(untagged):
    for line in untagged:
        parts = line.split()
        if len(parts) == 3 and parts[0] == b"*" and parts[2].upper() == b"EXISTS":
            return int(parts[1])
    return None


def search_count(untagged):
    n = 0
    for line in untagged:
        if line.upper().startswith(b"* SEARCH"):
            n += len(line.split()) - 2
    return n


# ------------------------------------------------- mixed workload worker

def worker_main(cfg):
    """Run by `bench/imap.py --worker JSON`: loop over whole sessions until
    the deadline, write the latencies and errors as JSON to cfg['out']."""
    rng = random.Random(cfg["seed"])
    port, word = cfg["port"], cfg["word"]
    lat = {name: [] for name in CMDS}
    failed = collections.Counter()
    errors = collections.Counter()
    sessions = 0
    ctx = client_context()
    while time.time() < cfg["start_at"]:
        time.sleep(min(0.05, max(0.0, cfg["start_at"] - time.time())))
    t_start = time.time()
    end = t_start + cfg["duration"]

    def run(c, name, text, fatal=False):
        t = time.perf_counter()
        try:
            unt = c.command(text)
        except CommandFailed as e:
            failed[name] += 1
            errors[short(e)] += 1
            if fatal:
                raise ImapError(short(e))
            return None
        lat[name].append(time.perf_counter() - t)
        return unt

    while time.time() < end and sum(errors.values()) < 200:
        c = None
        try:
            t = time.perf_counter()
            c = SyncImap(port, ctx=ctx)
            if not c.greeting.startswith("* OK"):
                raise ImapError("greeting: " + c.greeting)
            lat["CONNECT"].append(time.perf_counter() - t)
            run(c, "LOGIN", 'LOGIN "%s@%s" "%s"' % (BIG_USER, DOMAIN, PASSWORD), fatal=True)
            n = exists_of(run(c, "SELECT", "SELECT INBOX", fatal=True)) or 0
            if n != cfg["exists"]:
                errors["SELECT shows %d messages, expected %d" % (n, cfg["exists"])] += 1
            if n < 1:
                raise ImapError("empty INBOX")
            a = rng.randint(1, max(1, n - FLAGS_RANGE + 1))
            unt = run(c, "FETCH FLAGS", "FETCH %d:%d (FLAGS)" % (a, min(n, a + FLAGS_RANGE - 1)))
            if unt is not None and len(unt) < min(n, FLAGS_RANGE):
                errors["FETCH FLAGS returned %d of %d" % (len(unt), min(n, FLAGS_RANGE))] += 1
            a = rng.randint(1, max(1, n - HEADERS_RANGE + 1))
            run(c, "FETCH HEADERS", "FETCH %d:%d (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])"
                % (a, min(n, a + HEADERS_RANGE - 1)))
            for _ in range(BODIES):
                run(c, "FETCH BODY", "FETCH %d (BODY.PEEK[])" % rng.randint(1, n))
            unt = run(c, "SEARCH TEXT", "SEARCH TEXT " + word)
            if unt is not None and search_count(unt) != cfg["matches"]:
                errors["SEARCH TEXT found %d, expected %d"
                       % (search_count(unt), cfg["matches"])] += 1
            run(c, "STORE", "STORE %s +FLAGS.SILENT (\\Seen)"
                % ",".join(str(rng.randint(1, n)) for _ in range(STORES)))
            run(c, "EXPUNGE", "EXPUNGE")
            run(c, "LOGOUT", "LOGOUT")
            sessions += 1
        except (ImapError, OSError, ssl.SSLError, ValueError) as e:
            errors[short(e)] += 1
            time.sleep(0.05)
        finally:
            if c is not None:
                c.close()
    result = {"start": t_start, "end": time.time(), "sessions": sessions, "lat": lat,
              "failed": dict(failed), "errors": dict(errors)}
    with open(cfg["out"] + ".tmp", "w") as f:
        json.dump(result, f)
    os.replace(cfg["out"] + ".tmp", cfg["out"])
    return 0


# ------------------------------------------------------ idle connections

class IdleConn:
    __slots__ = ("reader", "writer", "dead", "watcher")

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.dead = None
        self.watcher = None


async def _expect_tagged(reader, tag):
    while True:
        line = await reader.readuntil(b"\r\n")
        m = LITERAL_RE.search(line.rstrip(b"\r\n"))
        if m:
            await reader.readexactly(int(m.group(1)))
            continue
        if line.startswith(tag + b" "):
            if line[len(tag) + 1:].upper().startswith(b"OK"):
                return
            raise ImapError(line.decode("utf-8", "replace").strip())
        if line.startswith(b"* BYE"):
            raise ImapError(line.decode("utf-8", "replace").strip())


async def open_idle(port, user, ctx):
    """Connect over TLS, LOGIN, SELECT INBOX, IDLE; returns an IdleConn
    once the server has said '+ idling'."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                   ssl_handshake_timeout=STEP_TIMEOUT)
    try:
        line = await reader.readuntil(b"\r\n")
        if not line.startswith(b"* OK"):
            raise ImapError("greeting: " + line.decode("utf-8", "replace").strip())
        writer.write(b'a LOGIN "%s@%s" "%s"\r\n' % (user.encode(), DOMAIN.encode(),
                                                    PASSWORD.encode()))
        await _expect_tagged(reader, b"a")
        writer.write(b"b SELECT INBOX\r\n")
        await _expect_tagged(reader, b"b")
        writer.write(b"c IDLE\r\n")
        while True:
            line = await reader.readuntil(b"\r\n")
            if line.startswith(b"+"):
                return IdleConn(reader, writer)
            if line.startswith(b"c ") or line.startswith(b"* BYE"):
                raise ImapError("IDLE -> " + line.decode("utf-8", "replace").strip())
    except asyncio.IncompleteReadError:
        writer.close()
        raise ImapError("connection closed by the server")
    except BaseException:
        writer.close()
        raise


async def watch(conn):
    """Drain what an idling server sends; note when it hangs up."""
    try:
        while True:
            line = await conn.reader.readuntil(b"\r\n")
            if line.startswith(b"* BYE"):
                conn.dead = line.decode("utf-8", "replace").strip()
                return
    except asyncio.CancelledError:
        raise
    except Exception as e:
        conn.dead = conn.dead or ("closed: %s" % short(e))


if __name__ == "__main__":
    if sys.argv[1:2] != ["--worker"] or len(sys.argv) != 3:
        print("usage: bench/imapload.py --worker JSON (bench/imap.py runs it)", file=sys.stderr)
        sys.exit(2)
    sys.exit(worker_main(json.loads(sys.argv[2])))
