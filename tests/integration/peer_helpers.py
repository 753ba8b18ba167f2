# SPDX-License-Identifier: ISC
"""Real peers for the outbound-delivery interop tests: a private Postfix
instance and Postfix's smtp-sink, both on loopback addresses of their own.

Fixtures (each a factory; everything started is stopped at teardown)

  postfix_peer(address="127.0.0.45", port=25, domains=("peer.test",),
               users=("bob@peer.test",), access=None, relay=None,
               hostname="mx.peer.test", tls=True, main=None) -> PostfixPeer

      A real Postfix (Debian's package) run from its own config and queue
      directories under a scratch directory: `postfix -c DIR start`, smtpd
      on address:port, mail for `domains` delivered by virtual(8) into
      Maildirs under the scratch directory (users not listed get
      550 5.1.1). STARTTLS is offered with a self-signed certificate, and
      smtpd_tls_received_header=yes puts the TLS details in Received:.
      access: {address-or-domain: action} for check_recipient_access,
      e.g. {"temp@peer.test": "450 4.2.0 try later",
            "gone@peer.test": "550 5.1.1 no such user"}.
      relay: {domain: "host:port"}: transport_maps entries
      "domain smtp:[host]:port", so mail sent into the peer for domain is
      relayed there (clients on 127.0.0.0/8 may relay).
      main: extra main.cf settings {name: value}.

    PostfixPeer
      .address / .port / .hostname / .dir / .cert (PEM, for a client's
      trust store)
      .smtp(timeout=10) -> smtplib.SMTP connected to the peer
      .maildir_messages(user) -> [bytes] (new/ and cur/, oldest first)
      .wait_for(user, n, timeout=30) -> [bytes] once user has >= n messages
      .log() -> str: the maillog (maillog_file, via postlogd)
      .wait_log(needle, timeout=30) -> str
      .set_access(mapping) / .set_relay(mapping): rewrite the table and
      `postfix reload`
      .queue_ids() -> [str]: what sits in the peer's own queue (postqueue -j)
      .flush(): `postqueue -f`, retry deferred mail now
      .stop()

  smtp_sink(address="127.0.0.46", port=25, options=(), hostname=None)
      -> SmtpSink

      /usr/sbin/smtp-sink listening on address:port, capturing every
      transaction into its own file (-d). options are extra smtp-sink
      arguments, e.g. ("-r", "RCPT") to soft-reject every RCPT (450) or
      ("-f", "RCPT") to hard-reject it (500); see smtp-sink(1).

    SmtpSink
      .address / .port / .dir
      .messages() -> [bytes]: each finished capture, oldest first
      (smtp-sink's X-Client-Addr/X-Mail-Args/X-Rcpt-Args/Received lines,
      then the message as received, LF line ends, then an empty line)
      .message_bodies() -> [bytes]: the same without smtp-sink's lines
      .wait_for(n, timeout=30) -> [bytes]
      .stop()

Helper

  parse_dsn(raw: bytes) -> dict: a delivery status notification (RFC 3464
      in RFC 6522 multipart/report) checked for its structure and taken
      apart: {"subject", "from", "to", "auto_submitted", "human" (text of
      part 1), "per_message" {field: value}, "recipients" [{field: value}]
      (field names lower-case), "original_type" ("message/rfc822",
      "text/rfc822-headers" or None), "original" (bytes of part 3)}.
      Works for postino's bounces and Postfix's alike.

Both need root (port 25, Postfix's privilege separation); the tests run as
root. The addresses are outside 127.0.0.1, which the postino servers of the
other tests use. Test runs that overlap on one machine take turns for an
address:port (a lock file, /tmp/postino-peer-ADDR-PORT.lock, waited for up
to ENDPOINT_WAIT); a fixture refuses to start when its address:port is
taken by anything else (a Postfix of the system, if any, listens
elsewhere).
"""
import email
import email.policy
import fcntl
import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import json

import pytest

POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"
SMTP_SINK = "/usr/sbin/smtp-sink"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
TIMEOUT = 10
# Another test run on this machine may hold the same address:port: wait
# this long for it (see acquire_endpoint).
ENDPOINT_WAIT = 600.0


def port_accepts(address, port, timeout=0.5):
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(address, port, timeout, proc=None, what="peer"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if port_accepts(address, port):
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError("%s exited %s before listening on %s:%d"
                                 % (what, proc.returncode, address, port))
        time.sleep(0.05)
    raise AssertionError("%s does not listen on %s:%d after %ss" % (what, address, port, timeout))


def wait_until(fn, timeout, what):
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.time() >= deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.1)


_endpoints_held = {}


def acquire_endpoint(address, port):
    """Serialise the peers of concurrent test runs (several pytest
    processes on one machine) on a fixed address:port with a lock file,
    instead of failing on "already taken". Returns a key for
    release_endpoint; None when this process already holds it (then the
    port check reports the clash at once)."""
    key = (address, port)
    if key in _endpoints_held:
        return None
    fd = os.open("/tmp/postino-peer-%s-%d.lock" % (address, port), os.O_RDWR | os.O_CREAT,
                 0o644)
    deadline = time.time() + ENDPOINT_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.time() >= deadline:
                os.close(fd)
                raise AssertionError("%s:%d stayed in use by another test run for %ss"
                                     % (address, port, ENDPOINT_WAIT))
            time.sleep(0.2)
    _endpoints_held[key] = fd
    return key


def release_endpoint(key):
    if key is None or key not in _endpoints_held:
        return
    fd = _endpoints_held.pop(key)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def scratch_dir(prefix):
    """A directory Postfix's unprivileged daemons can traverse (pytest's
    tmp_path is 0700)."""
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o755)
    return path


def pids_with_env(name, value):
    """Processes whose environment holds name=value: how the leftovers of
    one Postfix instance are found (master passes MAIL_CONFIG on to every
    daemon it starts), without touching any other process."""
    needle = ("%s=%s" % (name, value)).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env:
            found.append(int(entry))
    return found


def self_signed(directory, cn):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=%s" % cn, "-addext", "subjectAltName=DNS:%s" % cn,
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return cert, key


def read_maildir(base):
    out = []
    for sub in ("new", "cur"):
        path = os.path.join(base, sub)
        if not os.path.isdir(path):
            continue
        for name in os.listdir(path):
            full = os.path.join(path, name)
            out.append((os.stat(full).st_mtime_ns, name, full))
    result = []
    for _, _, full in sorted(out):
        with open(full, "rb") as f:
            result.append(f.read())
    return result


def parse_dsn(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert len(parts) in (2, 3), len(parts)
    assert parts[0].get_content_type() == "text/plain"
    status = parts[1]
    assert status.get_content_type() == "message/delivery-status"
    groups = status.get_payload()  # per-message fields, then one per recipient
    assert len(groups) >= 2, groups
    fields = [{k.lower(): " ".join(str(v).split()) for k, v in g.items()} for g in groups]
    out = {
        "subject": str(msg["Subject"]),
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "auto_submitted": msg["Auto-Submitted"],
        "human": parts[0].get_content(),
        "per_message": fields[0],
        "recipients": fields[1:],
        "original_type": None,
        "original": None,
    }
    if len(parts) == 3:
        out["original_type"] = parts[2].get_content_type()
        if out["original_type"] == "message/rfc822":
            out["original"] = parts[2].get_payload()[0].as_bytes()
        else:
            out["original"] = parts[2].get_payload(decode=True)
    for r in out["recipients"]:
        assert "final-recipient" in r and "action" in r and "status" in r, r
    return out


# ---- Postfix ----

MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
{address}:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixPeer:
    def __init__(self, address, port, domains, users, access, relay, hostname, tls, main):
        if port_accepts(address, port):
            raise AssertionError("%s:%d is already taken: cannot start the Postfix peer"
                                 % (address, port))
        self.address = address
        self.port = port
        self.hostname = hostname
        self.domains = list(domains)
        self.users = list(users)
        self.dir = scratch_dir("postino-peer-")
        self.conf = os.path.join(self.dir, "conf")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.mail = os.path.join(self.dir, "mail")
        self.maillog = os.path.join(self.dir, "maillog")
        self.cert = None
        self.started = False
        pw = pwd.getpwnam("postfix")
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        # Postfix creates the rest of its queue itself (postfix check)
        for d in (self.conf, self.mail, self.queue):
            os.makedirs(d)
        os.chown(self.mail, self.uid, self.gid)
        self._write_tables(access or {}, relay or {})
        self._write_config(tls, main or {})

    # -- configuration --

    def _table(self, name, mapping):
        path = os.path.join(self.conf, name)
        with open(path, "w") as f:
            for key, value in mapping.items():
                f.write("%s %s\n" % (key, value))
        return path

    def _write_tables(self, access, relay):
        self._table("vmailbox", {u: "%s/%s/" % (u.split("@")[1], u.split("@")[0])
                                 for u in self.users})
        self._table("recipient_access", access)
        self._table("transport", {d: "smtp:[%s]:%s" % tuple(hp.rsplit(":", 1))
                                  for d, hp in relay.items()})

    def _write_config(self, tls, extra):
        tx = "texthash:" + self.conf
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": self.hostname,
            "mydomain": self.hostname.split(".", 1)[-1],
            "myorigin": "$myhostname",
            "mydestination": "",
            # Postfix insists that inet_interfaces name addresses configured
            # on an interface, which 127.0.0.45 is not (only 127.0.0.1/8 is);
            # the smtpd entry of master.cf binds the peer's own address
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "smtp_bind_address": self.address,
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "virtual_mailbox_domains": " ".join(self.domains),
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": tx + "/vmailbox",
            "virtual_uid_maps": "static:%d" % self.uid,
            "virtual_gid_maps": "static:%d" % self.gid,
            "virtual_minimum_uid": "1",
            "transport_maps": tx + "/transport",
            "smtpd_recipient_restrictions": "check_recipient_access %s/recipient_access,"
                                            " permit_mynetworks, reject_unauth_destination"
                                            % tx,
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_peername_lookup": "no",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "biff": "no",
            "syslog_name": "postfix-peer-%s" % self.address.replace(".", "-"),
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.dir,
            "smtpd_tls_loglevel": "1",
            "smtp_tls_loglevel": "1",
            "smtp_tls_security_level": "may",
            # retry deferred mail soon: interop tests wait for redelivery
            "queue_run_delay": "5s",
            "minimal_backoff_time": "5s",
            "maximal_backoff_time": "10s",
            "delay_warning_time": "0",
            "smtputf8_enable": "yes",
        }
        if tls:
            self.cert, key = self_signed(self.conf, self.hostname)
            main.update({
                "smtpd_tls_cert_file": self.cert,
                "smtpd_tls_key_file": key,
                "smtpd_tls_security_level": "may",
                "smtpd_tls_received_header": "yes",
            })
        else:
            main["smtpd_tls_security_level"] = "none"
        main.update(extra)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            for key, value in main.items():
                f.write("%s = %s\n" % (key, value))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(address=self.address, port=self.port))

    def postfix(self, *args, check=True):
        r = subprocess.run([POSTFIX, "-c", self.conf] + list(args), capture_output=True,
                           text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("postfix %s failed (%d): %s%s\n%s"
                                 % (" ".join(args), r.returncode, r.stdout, r.stderr,
                                    self.log()))
        return r

    # -- life cycle --

    def start(self):
        # creates the queue's subdirectories and data_directory with
        # Postfix's own ownership and modes
        self.postfix("check")
        self.postfix("start")
        self.started = True
        wait_port(self.address, self.port, START_TIMEOUT, what="Postfix peer")
        return self

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        if not self.started:
            return
        self.started = False
        self.postfix("stop", check=False)
        deadline = time.time() + STOP_TIMEOUT
        while time.time() < deadline and pids_with_env("MAIL_CONFIG", self.conf):
            time.sleep(0.1)
        # whatever this instance left behind, by PID (never by name)
        for pid in pids_with_env("MAIL_CONFIG", self.conf):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def reload(self):
        self.postfix("reload")

    def set_access(self, mapping):
        self._table("recipient_access", mapping)
        self.reload()

    def set_relay(self, mapping):
        self._table("transport", {d: "smtp:[%s]:%s" % tuple(hp.rsplit(":", 1))
                                  for d, hp in mapping.items()})
        self.reload()

    # -- observation --

    def smtp(self, timeout=TIMEOUT):
        return smtplib.SMTP(self.address, self.port, timeout=timeout)

    def maildir(self, user):
        local, domain = user.split("@")
        return os.path.join(self.mail, domain, local)

    def maildir_messages(self, user):
        return read_maildir(self.maildir(user))

    def wait_for(self, user, n, timeout=30):
        return wait_until(lambda: (lambda m: m if len(m) >= n else None)(
            self.maildir_messages(user)), timeout,
            "%d message(s) for %s at the Postfix peer; log:\n%s" % (n, user, self.log()))

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, needle, timeout=30):
        return wait_until(lambda: (lambda t: t if needle in t else None)(self.log()), timeout,
                          "'%s' in the Postfix peer's log" % needle)

    def queue_ids(self):
        r = subprocess.run([POSTQUEUE, "-c", self.conf, "-j"], capture_output=True, text=True,
                           timeout=30)
        return [json.loads(line)["queue_id"] for line in r.stdout.splitlines() if line.strip()]

    def flush(self):
        subprocess.run([POSTQUEUE, "-c", self.conf, "-f"], capture_output=True, timeout=30)


@pytest.fixture
def postfix_peer():
    peers = []

    def start(address="127.0.0.45", port=25, domains=("peer.test",), users=("bob@peer.test",),
              access=None, relay=None, hostname="mx.peer.test", tls=True, main=None):
        key = acquire_endpoint(address, port)
        try:
            peer = PostfixPeer(address, port, domains, users, access, relay, hostname, tls,
                               main)
        except BaseException:
            release_endpoint(key)
            raise
        peer.endpoint = key
        peers.append(peer)
        return peer.start()

    yield start
    for peer in peers:
        peer.stop()
        release_endpoint(peer.endpoint)
    for peer in peers:
        shutil.rmtree(peer.dir, ignore_errors=True)


# ---- smtp-sink ----

class SmtpSink:
    def __init__(self, address, port, options, hostname):
        if port_accepts(address, port):
            raise AssertionError("%s:%d is already taken: cannot start smtp-sink"
                                 % (address, port))
        self.address = address
        self.port = port
        self.dir = scratch_dir("postino-sink-")
        self.dump = os.path.join(self.dir, "dump")
        os.makedirs(self.dump)
        pw = pwd.getpwnam("postfix")
        os.chown(self.dump, pw.pw_uid, pw.pw_gid)
        v6 = ":" in address
        args = [SMTP_SINK, "-u", "postfix", "-6" if v6 else "-4", "-d",
                self.dump + "/%Y%m%d%H%M%S."]
        if hostname:
            args += ["-h", hostname]
        args += list(options) + [("[%s]:%d" if v6 else "%s:%d") % (address, port), "128"]
        self.args = args
        self.logf = None
        self.proc = None

    def start(self):
        self.logf = open(os.path.join(self.dir, "sink.log"), "wb")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        wait_port(self.address, self.port, START_TIMEOUT, self.proc, what="smtp-sink")
        return self

    def files(self):
        out = []
        for root, _, names in os.walk(self.dump):
            for name in names:
                full = os.path.join(root, name)
                out.append((os.stat(full).st_mtime_ns, full))
        return [full for _, full in sorted(out)]

    def messages(self):
        """The finished captures. smtp-sink opens a file at MAIL (an
        aborted transaction leaves it empty) and writes through a buffer,
        ending each capture with an empty line when the message is
        complete: only files ending so are returned."""
        result = []
        for full in self.files():
            with open(full, "rb") as f:
                data = f.read()
            if data.endswith(b"\n\n"):
                result.append(data)
        return result

    @staticmethod
    def strip(capture):
        """The message as the client sent it: smtp-sink's X-* lines and its
        three-line Received: header removed, and the empty line it
        appends (dump format, smtp-sink(1))."""
        lines = capture.split(b"\n")
        i = 0
        while i < len(lines) and lines[i].startswith(b"X-"):
            i += 1
        if i < len(lines) and lines[i].startswith(b"Received:"):
            i += 1
            while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
                i += 1
        body = b"\n".join(lines[i:])
        return body[:-1] if body.endswith(b"\n\n") else body

    def message_bodies(self):
        return [self.strip(m) for m in self.messages()]

    def wait_for(self, n, timeout=30):
        return wait_until(lambda: (lambda m: m if len(m) >= n else None)(self.messages()),
                          timeout, "%d message(s) at smtp-sink %s:%d" % (n, self.address,
                                                                          self.port))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.logf is not None:
            self.logf.close()
            self.logf = None


@pytest.fixture
def smtp_sink():
    sinks = []

    def start(address="127.0.0.46", port=25, options=(), hostname=None):
        key = acquire_endpoint(address, port)
        try:
            sink = SmtpSink(address, port, options, hostname)
        except BaseException:
            release_endpoint(key)
            raise
        sink.endpoint = key
        sinks.append(sink)
        return sink.start()

    yield start
    for sink in sinks:
        sink.stop()
        release_endpoint(sink.endpoint)
    for sink in sinks:
        shutil.rmtree(sink.dir, ignore_errors=True)
