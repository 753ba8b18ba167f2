# SPDX-License-Identifier: ISC
"""postino serve: readiness, every listener's greeting (plain and implicit
TLS), clean SIGTERM, start-up refusals, SIGHUP reloads (config and
certificate), the privilege drop, and the connection limits."""
import http.client
import json
import os
import pwd
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import LISTENERS, run_postino

IMPLICIT_TLS = ("submissions", "imaps", "pop3s")
GREETINGS = {
    # SMTP is served (src/smtp/): the greeting names the default test hostname
    "smtp": b"220 mail.example.test ESMTP postino\r\n",
    "submission": b"220 mail.example.test ESMTP postino\r\n",
    "submissions": b"220 mail.example.test ESMTP postino\r\n",
    # IMAP is served (src/imap/): LOGINDISABLED on 143 until STARTTLS
    "imap": b"* OK [CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE STARTTLS "
            b"LOGINDISABLED] postino ready.\r\n",
    "imaps": b"* OK [CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN] "
             b"postino ready.\r\n",
    # POP3 is served (src/pop3/)
    "pop3": b"+OK postino POP3 ready\r\n",
    "pop3s": b"+OK postino POP3 ready\r\n",
}
TIMEOUT = 10
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop needs root")


def cert_path(dd):
    return os.path.join(dd.path, "tls", "cert.pem")


def key_path(dd):
    return os.path.join(dd.path, "tls", "key.pem")


def tls_context(cafile):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    return ctx


def tls_connect(port, cafile, hostname, sock=None):
    """TLS to 127.0.0.1:port, verifying the certificate for hostname."""
    if sock is None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    return tls_context(cafile).wrap_socket(sock, server_hostname=hostname)


def read_line(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def greet(port):
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        return read_line(s)


def greet_tls(dd, name, cafile=None):
    """(greeting, DER certificate) of an implicit-TLS listener."""
    with tls_connect(dd.ports[name], cafile or cert_path(dd), dd.hostname) as s:
        return read_line(s), s.getpeercert(binary_form=True)


def pem_der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def journal(postino_bin, dd, reason_prefix):
    r = run_postino(postino_bin, ["log", "--json", "--reason", reason_prefix], data=dd.path)
    assert r.returncode == 0, r.stderr
    return [row["reason"] for row in json.loads(r.stdout)]


def make_cert(dd, workdir, cn):
    """A new self-signed certificate for dd.hostname, written over the
    existing files in place (so they keep their owner and mode)."""
    tmp_cert = os.path.join(workdir, "new-cert.pem")
    tmp_key = os.path.join(workdir, "new-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", tmp_key, "-out", tmp_cert, "-days", "2",
                    "-subj", "/CN=%s/O=%s" % (dd.hostname, cn),
                    "-addext", "subjectAltName=DNS:%s" % dd.hostname],
                   check=True, capture_output=True)
    for src, dst in ((tmp_cert, cert_path(dd)), (tmp_key, key_path(dd))):
        with open(src, "rb") as f:
            data = f.read()
        with open(dst, "wb") as f:
            f.write(data)
    return tmp_cert


def serve_refused(postino_bin, dd, timeout=20):
    """Run serve expecting it to refuse to start: (returncode, output)."""
    try:
        r = run_postino(postino_bin, ["serve"], data=dd.path, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail("postino serve started although it should have refused")
    return r.returncode, r.stdout + r.stderr


# ---- start, greet, stop ----

def test_ready_and_every_listener_greets(server, datadir):
    log = server.wait_ready()
    ready = [l for l in log.splitlines() if " ready " in l][0]
    for name in LISTENERS:
        assert "%s=127.0.0.1:%d" % (name, datadir.ports[name]) in ready
    assert "pid=%d" % server.proc.pid in ready
    for name, greeting in GREETINGS.items():
        if name in IMPLICIT_TLS:
            got, _ = greet_tls(datadir, name)
        else:
            got = greet(datadir.ports[name])
        assert got == greeting, name
    conn = http.client.HTTPConnection("127.0.0.1", datadir.ports["http"], timeout=TIMEOUT)
    conn.request("GET", "/")
    resp = conn.getresponse()
    assert resp.status == 503
    assert b"not available" in resp.read()
    conn.close()


def test_implicit_tls_uses_init_certificate(server, datadir):
    for name in IMPLICIT_TLS:
        with tls_connect(datadir.ports[name], cert_path(datadir), datadir.hostname) as s:
            cert = s.getpeercert()
            assert ("DNS", datadir.hostname) in cert["subjectAltName"]
            assert s.version() in ("TLSv1.2", "TLSv1.3")
            assert read_line(s) == GREETINGS[name]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_refuses_old_protocols(server, datadir):
    ctx = tls_context(cert_path(datadir))
    try:
        # let this client offer TLS 1.1, so the refusal is the server's
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot offer TLS 1.1 at all")
    sock = socket.create_connection(("127.0.0.1", datadir.ports["imaps"]), timeout=TIMEOUT)
    with pytest.raises(ssl.SSLError, match="(?i)protocol.version"):
        ctx.wrap_socket(sock, server_hostname=datadir.hostname)
    sock.close()


def test_sigterm_stops_cleanly(datadir, start_server, postino_bin):
    s = start_server(datadir)
    assert greet(datadir.ports["smtp"]).startswith(b"220 ")
    assert s.stop() == 0
    assert "stopped" in s.log()
    assert journal(postino_bin, datadir, "serve.")[-2:] == ["serve.start", "serve.stop"]


def test_sigterm_drains_pending_handshake(datadir, start_server):
    s = start_server(datadir)
    # a client that connects to a TLS port and never says hello
    idle = socket.create_connection(("127.0.0.1", datadir.ports["imaps"]), timeout=TIMEOUT)
    s.wait_for_log("[imaps] connect")
    t0 = time.time()
    assert s.stop() == 0
    assert time.time() - t0 < 5
    assert idle.recv(100) == b""
    idle.close()


def test_sigint_stops_too(datadir, start_server):
    s = start_server(datadir)
    assert s.stop(signal.SIGINT) == 0
    assert "stopped" in s.log()


def test_listener_off_is_not_bound(make_datadir, start_server):
    dd = make_datadir(sets={"listen.pop3": "off"})
    s = start_server(dd)
    ready = [l for l in s.log().splitlines() if " ready " in l][0]
    assert "pop3=" not in ready and "pop3s=" in ready
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", dd.ports["pop3"]), timeout=TIMEOUT)


# ---- refusals at start ----

def test_bad_config_line_names_file_and_line(datadir, postino_bin):
    with open(datadir.conf_path()) as f:
        nlines = len(f.readlines())
    with open(datadir.conf_path(), "a") as f:
        f.write("no equals sign here\n")
    rc, out = serve_refused(postino_bin, datadir)
    assert rc == 1
    assert "postino.conf:%d" % (nlines + 1) in out, out


def test_uninitialised_data_dir_is_refused(make_datadir, postino_bin):
    dd = make_datadir(init=False)
    rc, out = serve_refused(postino_bin, dd)
    assert rc == 1
    assert "postino init" in out


def test_busy_port_names_the_listener(datadir, postino_bin):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", datadir.ports["imap"]))
        busy.listen(1)
        rc, out = serve_refused(postino_bin, datadir)
    assert rc != 0
    assert "listen.imap " in out and "in use" in out, out
    assert "listen.smtp" not in out


def test_two_busy_ports_are_both_named(datadir, postino_bin):
    socks = []
    for name in ("smtp", "pop3s"):
        s = socket.socket()
        s.bind(("127.0.0.1", datadir.ports[name]))
        s.listen(1)
        socks.append(s)
    try:
        rc, out = serve_refused(postino_bin, datadir)
    finally:
        for s in socks:
            s.close()
    assert rc != 0
    assert "listen.smtp " in out and "listen.pop3s " in out, out


# ---- SIGHUP ----

def test_reload_applies_log_level(server, datadir):
    assert " debug " not in server.log()
    datadir.set_conf("log.level", "debug")
    log = server.reload()
    assert "reload done" in log
    mark = len(server.log())
    greet(datadir.ports["smtp"])
    server.wait_for_log(" debug ", start=mark)


def test_reload_with_broken_config_keeps_serving(server, datadir, postino_bin):
    with open(datadir.conf_path()) as f:
        nlines = len(f.readlines())
    with open(datadir.conf_path(), "a") as f:
        f.write("this is not a setting\n")
    log = server.reload()
    assert "reload failed" in log
    assert "postino.conf:%d" % (nlines + 1) in log
    assert greet(datadir.ports["smtp"]).startswith(b"220 ")
    assert greet_tls(datadir, "imaps")[0] == GREETINGS["imaps"]
    assert "serve.reload-failed" in journal(postino_bin, datadir, "serve.")


def test_reload_listener_change_needs_restart(server, datadir):
    old = datadir.ports["pop3"]
    datadir.set_conf("listen.pop3", "127.0.0.1:%d" % (old + 1 if old < 65535 else old - 1))
    log = server.reload()
    assert "listen.pop3 changed" in log and "restart" in log
    assert greet(old) == GREETINGS["pop3"]  # still served on the old port


def test_reload_new_certificate(server, datadir, workdir):
    old_der = greet_tls(datadir, "imaps")[1]
    new_pem = make_cert(datadir, workdir, "second")
    server.reload()
    greeting, der = greet_tls(datadir, "imaps", cafile=new_pem)
    assert greeting == GREETINGS["imaps"]
    assert der == pem_der(new_pem) and der != old_der


def test_reload_bad_certificate_keeps_old_one(server, datadir):
    old_der = greet_tls(datadir, "pop3s")[1]
    with open(cert_path(datadir), "r+") as f:
        f.seek(0)
        f.write("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n")
        f.truncate()
    log = server.reload()
    assert "reload failed" in log and "cert" in log
    # the certificate file is garbage now, so verify against the old DER
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sock = socket.create_connection(("127.0.0.1", datadir.ports["pop3s"]), timeout=TIMEOUT)
    with ctx.wrap_socket(sock) as s:
        assert s.getpeercert(binary_form=True) == old_der
        assert read_line(s) == GREETINGS["pop3s"]


def test_connection_open_across_reload(server, datadir, workdir):
    """A connection accepted before SIGHUP survives it, and keeps the TLS
    context (certificate) it was accepted with."""
    mark = len(server.log())
    held = socket.create_connection(("127.0.0.1", datadir.ports["imaps"]), timeout=TIMEOUT)
    server.wait_for_log("[imaps] connect", start=mark)
    old_cert = os.path.join(workdir, "old-cert.pem")
    with open(cert_path(datadir)) as src, open(old_cert, "w") as dst:
        dst.write(src.read())
    new_pem = make_cert(datadir, workdir, "third")
    datadir.set_conf("log.level", "debug")
    server.reload()
    with tls_connect(0, old_cert, datadir.hostname, sock=held) as s:
        assert read_line(s) == GREETINGS["imaps"]
    assert greet_tls(datadir, "imaps", cafile=new_pem)[0] == GREETINGS["imaps"]


# ---- privileges ----

@ROOT_ONLY
def test_serving_process_runs_as_service_user(server, datadir):
    pw = pwd.getpwnam("postino")
    with open("/proc/%d/status" % server.proc.pid) as f:
        status = f.read()
    uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
    gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
    assert uids == [str(pw.pw_uid)] * 4
    assert gids == [str(pw.pw_gid)] * 4
    groups = re.search(r"^Groups:\s*(.*)$", status, re.M).group(1).split()
    assert "0" not in groups
    # it can still write its database after the drop
    server.reload()


@ROOT_ONLY
def test_root_owned_data_dir_is_handed_over(datadir, start_server):
    for base, dirs, files in os.walk(datadir.path):
        for n in dirs + files:
            os.lchown(os.path.join(base, n), 0, 0)
    os.chown(datadir.path, 0, 0)
    s = start_server(datadir)
    assert "changing its owner" in s.log()
    pw = pwd.getpwnam("postino")
    assert os.stat(os.path.join(datadir.path, "postino.db")).st_uid == pw.pw_uid
    assert os.stat(key_path(datadir)).st_uid == pw.pw_uid


@ROOT_ONLY
def test_root_without_user_is_refused(datadir, postino_bin):
    datadir.set_conf("user", "")
    rc, out = serve_refused(postino_bin, datadir)
    assert rc == 1
    assert "refusing to run as root" in out and "user" in out


@ROOT_ONLY
def test_unknown_user_is_refused(datadir, postino_bin):
    datadir.set_conf("user", "no-such-user-here")
    rc, out = serve_refused(postino_bin, datadir)
    assert rc == 1
    assert "no-such-user-here" in out and "does not exist" in out


# ---- limits ----

def test_per_address_limit_is_polite(server, datadir):
    socks, replies = [], []
    try:
        # the placeholder greeting closes only when we do (or after its
        # linger), so these all count at once
        for _ in range(70):
            socks.append(socket.create_connection(("127.0.0.1", datadir.ports["smtp"]),
                                                  timeout=TIMEOUT))
        for s in socks:
            replies.append(read_line(s))
    finally:
        for s in socks:
            s.close()
    busy = [r for r in replies if r.startswith(b"421 4.7.0")]
    assert busy, replies
    assert all(r.startswith((b"220 ", b"421 ")) for r in replies)
    assert "reason=serve.busy-ip" in server.log()
