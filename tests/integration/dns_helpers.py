# SPDX-License-Identifier: ISC
"""A real DNS server for tests: dnsmasq on 127.0.0.1, serving the records a
test gives it. Import the fixture into a test module:

    from dns_helpers import dns_server  # noqa: F401  (fixture)

    def test_x(dns_server, make_datadir):
        dns_server.start(mx=[("example.test", "mx1.example.test", 10)],
                         hosts={"mx1.example.test": ["127.0.0.2", "::1"]})
        dd = make_datadir(sets={"dns.servers": dns_server.servers})

dns_server (function scope) has a free UDP+TCP port from the start, kept
across restarts, so a data directory set up once stays valid:

  .port      the port (int)
  .servers   "127.0.0.1:PORT", the value for dns.servers
  .start(mx=(), hosts=None, txt=None, null_mx=(), cnames=None, extra=())
             (re)start dnsmasq serving exactly these records, and wait until
             it answers:
               mx       [(domain, host, pref), ...]
               hosts    {name: [address, ...]}   A and AAAA (IPv4/IPv6 text)
               txt      {name: [record, ...]}    a record is a str, or a list
                                                 of str (its strings, joined
                                                 by readers: RFC 7208 3.3)
               null_mx  [domain, ...]            a single MX "0 ." (RFC 7505)
               cnames   {alias: target}
               extra    more dnsmasq arguments
  .stop()    stop dnsmasq (lookups are then refused by the kernel)
  .query(name, qtype) -> (rcode, answer_count)  a raw UDP query, for checks

Answers under these zones are fixed whatever the records:
  *.test        authoritative here: a name without records is NXDOMAIN
                (a known name without the asked type is NODATA)
  *.fail.test   REFUSED at once (a temporary failure)
  *.slow.test   never answered: the client times out (a temporary failure)
Nothing is ever forwarded off the host.
"""
import os
import random
import shutil
import socket
import struct
import subprocess
import time

import pytest

from conftest import free_port

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
START_TIMEOUT = 10.0
# Where *.slow.test is "forwarded": the discard port; dnsmasq gets nothing
# back (its forwarding socket ignores ICMP) and never answers.
BLACKHOLE = "127.0.0.1#9"

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}


def _free_udp_tcp_port():
    """A port free for both TCP (conftest's check) and UDP."""
    for _ in range(100):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free UDP+TCP port")


def _txt_line(name, record):
    # dnsmasq strips quotes (and their backslash escapes) only in a file:
    # on its command line they would be part of the text
    strings = [record] if isinstance(record, str) else list(record)
    quoted = ['"%s"' % s.replace("\\", "\\\\").replace('"', '\\"') for s in strings]
    return "txt-record=%s,%s" % (name, ",".join(quoted))


def build_query(name, qtype, qid=None):
    qid = random.randint(0, 0xFFFF) if qid is None else qid
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.strip(".").split(".") if p)
    return header + labels + b"\0" + struct.pack(">HH", QTYPES[qtype], 1)


class DnsServer:
    def __init__(self, workdir):
        self.port = _free_udp_tcp_port()
        self.servers = "127.0.0.1:%d" % self.port
        self.workdir = workdir
        self.proc = None
        self.log_path = os.path.join(workdir, "dnsmasq-%d.log" % self.port)
        self.conf_path = os.path.join(workdir, "dnsmasq-%d.conf" % self.port)
        self.args = []

    def start(self, mx=(), hosts=None, txt=None, null_mx=(), cnames=None, extra=()):
        self.stop()
        lines = []
        for domain, host, pref in mx:
            lines.append("mx-host=%s,%s,%d" % (domain, host, pref))
        for name, addrs in (hosts or {}).items():
            lines.append("host-record=%s,%s" % (name, ",".join(addrs)))
        for name, records in (txt or {}).items():
            if isinstance(records, str):
                records = [records]
            for record in records:
                lines.append(_txt_line(name, record))
        for domain in null_mx:
            # RDATA: preference 0 (2 bytes) and the root name (one 0 byte)
            lines.append("dns-rr=%s,15,000000" % domain)
        for alias, target in (cnames or {}).items():
            lines.append("cname=%s,%s" % (alias, target))
        with open(self.conf_path, "w") as f:
            f.write("".join(line + "\n" for line in lines))
        args = [DNSMASQ, "--no-resolv", "--no-hosts", "--no-daemon", "--bind-interfaces",
                "--listen-address=127.0.0.1", "--port=%d" % self.port,
                "--conf-file=%s" % self.conf_path, "--log-facility=-", "--log-queries",
                "--cache-size=0", "--pid-file=",
                "--local=/test/", "--server=/fail.test/#",
                "--server=/slow.test/%s" % BLACKHOLE]
        args += list(extra)
        self.args = args
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("dnsmasq exited %s:\n%s" % (self.proc.returncode,
                                                                 self.log()))
            try:
                # *.test is local: an answer (any rcode) proves it serves
                self.query("ready.test", "A", timeout=0.2)
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("dnsmasq did not answer on port %d:\n%s" % (self.port, self.log()))

    def query(self, name, qtype, timeout=2.0):
        """(rcode, answer count) of one UDP query; socket.timeout when none."""
        q = build_query(name, qtype)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(q, ("127.0.0.1", self.port))
            data, _ = s.recvfrom(65535)
        qid, flags, _qd, an, _ns, _ar = struct.unpack(">HHHHHH", data[:12])
        return flags & 0xF, an

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.logf.close()


@pytest.fixture
def dns_server(workdir):
    assert os.access(DNSMASQ, os.X_OK), "dnsmasq missing: scripts/deps installs dnsmasq-base"
    server = DnsServer(workdir)
    server.start()
    yield server
    server.stop()
