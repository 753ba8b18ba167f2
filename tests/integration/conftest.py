# SPDX-License-Identifier: ISC
"""Integration harness: real `postino` processes on loopback.

Fixtures
  postino_bin      path of the binary under test ($POSTINO_BIN or build/postino)
  make_datadir     factory: make_datadir(hostname=..., sets={'log.level': 'debug'}) -> DataDir
                   (fresh `postino init` with free loopback ports)
  datadir          make_datadir() with defaults
  cli              cli(*args, input=None, data=None) -> CompletedProcess on datadir
  start_server     factory: start_server(datadir, env=None) -> Server (waits for readiness)
  server           start_server(datadir)

Every server started here is stopped at teardown with SIGTERM, and the test
fails if it did not exit 0 or if its log holds a sanitizer report.
"""
import os
import signal
import socket
import subprocess
import tempfile
import time
import shutil

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LISTENERS = ["smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "http"]
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_PORT_LOW = 10000
_PORT_HIGH = min(_ephemeral_low(), 65536) - 1
_ports_handed_out = set()
# A UDP/TCP port nothing listens on (below the ephemeral range, reserved
# by no service on Debian): lookups sent there are refused at once.
CLOSED_DNS_PORT = 9


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago.

    Chosen below the kernel's ephemeral range, so the tests' own client
    connections cannot take it before the server binds it, and never the
    same one twice in a run."""
    import random
    for _ in range(1000):
        port = random.randint(_PORT_LOW, _PORT_HIGH)
        if port in _ports_handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_handed_out.add(port)
        return port
    raise RuntimeError("no free port found")


def run_postino(bin_path, args, data=None, input=None, env=None, timeout=60):
    cmd = [bin_path]
    if data is not None:
        cmd += ["--data", data]
    cmd += [str(a) for a in args]
    full_env = dict(os.environ)
    full_env.pop("POSTINO_DATA", None)
    if env:
        full_env.update(env)
    return subprocess.run(cmd, input=input, capture_output=True, text=True,
                          env=full_env, timeout=timeout)


class DataDir:
    def __init__(self, path, ports, hostname):
        self.path = path
        self.ports = ports          # listener name -> port
        self.hostname = hostname

    def conf_path(self):
        return os.path.join(self.path, "postino.conf")

    def get_conf(self, key):
        with open(self.conf_path()) as f:
            for line in f:
                k, _, v = line.partition("=")
                if k.strip() == key:
                    return v.strip()
        return None

    def set_conf(self, key, value):
        """Rewrite one key of postino.conf (append when absent)."""
        lines, found = [], False
        with open(self.conf_path()) as f:
            for line in f:
                k = line.split("=", 1)[0].strip()
                if k == key:
                    line, found = "%s = %s\n" % (key, value), True
                lines.append(line)
        if not found:
            lines.append("%s = %s\n" % (key, value))
        with open(self.conf_path(), "w") as f:
            f.writelines(lines)

    def __str__(self):
        return self.path


class Server:
    def __init__(self, bin_path, datadir, env=None):
        self.datadir = datadir
        self.data = datadir.path
        self.ports = datadir.ports
        self.log_path = os.path.join(datadir.path, "serve.log")
        self.logf = open(self.log_path, "ab")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen([bin_path, "serve", "--data", datadir.path],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=full_env)
        self.returncode = None

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_for_log(self, needle, timeout=READY_TIMEOUT, start=0):
        """Wait until needle appears in the log after offset start."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.log()
            if needle in text[start:]:
                return text
            if self.proc.poll() is not None:
                raise AssertionError("postino serve exited %s before '%s':\n%s"
                                     % (self.proc.returncode, needle, text))
            time.sleep(0.05)
        raise AssertionError("timed out waiting for '%s' in log:\n%s" % (needle, self.log()))

    def wait_ready(self):
        return self.wait_for_log(" ready ")

    def reload(self):
        """SIGHUP, then wait for the reload line to be logged."""
        mark = len(self.log())
        self.proc.send_signal(signal.SIGHUP)
        return self.wait_for_log("reload", start=mark)

    def stop(self, sig=signal.SIGTERM):
        if self.returncode is not None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("postino serve did not exit within %ss of signal %s:\n%s"
                                 % (STOP_TIMEOUT, sig, self.log()))
        self.logf.close()
        return self.returncode

    def assert_clean_log(self):
        text = self.log()
        for mark in SANITIZER_MARKS:
            assert mark not in text, "sanitizer report in server log:\n" + text


@pytest.fixture(scope="session")
def postino_bin():
    path = os.environ.get("POSTINO_BIN") or os.path.join(ROOT, "build", "postino")
    assert os.access(path, os.X_OK), "build postino first (make): " + path
    return path


@pytest.fixture
def workdir():
    """A scratch directory reachable by the unprivileged service user."""
    path = tempfile.mkdtemp(prefix="postino-test-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_datadir(postino_bin, workdir):
    counter = [0]

    def make(hostname="mail.example.test", init=True, sets=None):
        counter[0] += 1
        path = os.path.join(workdir, "data%d" % counter[0])
        ports = {name: free_port() for name in LISTENERS}
        args = ["init", "--hostname", hostname]
        for name, port in ports.items():
            args += ["--set", "listen.%s=127.0.0.1:%d" % (name, port)]
        # No test may reach a real resolver: unless a test brings its own
        # (dns_helpers.py), DNS goes to a closed loopback port, so remote
        # recipients fail temporarily and stay queued.
        merged = {"dns.servers": "127.0.0.1:%d" % CLOSED_DNS_PORT}
        merged.update(sets or {})
        for key, value in merged.items():
            args += ["--set", "%s=%s" % (key, value)]
        if init:
            r = run_postino(postino_bin, args, data=path)
            assert r.returncode == 0, "postino init failed: %s%s" % (r.stdout, r.stderr)
        return DataDir(path, ports, hostname)

    return make


@pytest.fixture
def datadir(make_datadir):
    return make_datadir()


@pytest.fixture
def cli(postino_bin, datadir):
    def run(*args, input=None, data=None, env=None):
        return run_postino(postino_bin, args, data=str(data or datadir), input=input, env=env)
    return run


@pytest.fixture
def start_server(postino_bin, workdir):
    # depends on workdir so servers stop before their directories go
    servers = []

    def start(dd, env=None, wait=True):
        # another process on this machine may take a port between our
        # choosing it and the server binding it: choose again and retry
        for attempt in range(3):
            s = Server(postino_bin, dd, env=env)
            servers.append(s)
            if not wait:
                return s
            try:
                s.wait_ready()
                return s
            except AssertionError:
                if s.proc.poll() is None or "Address already in use" not in s.log() \
                        or attempt == 2:
                    raise
                servers.remove(s)
                s.stop()
                os.unlink(s.log_path)
                for name in LISTENERS:
                    if dd.get_conf("listen.%s" % name) == "off":
                        continue
                    dd.ports[name] = free_port()
                    dd.set_conf("listen.%s" % name, "127.0.0.1:%d" % dd.ports[name])

    yield start
    for s in servers:
        rc = s.stop()
        s.assert_clean_log()
        assert rc == 0, "postino serve exited %s:\n%s" % (rc, s.log())


@pytest.fixture
def server(start_server, datadir):
    return start_server(datadir)
