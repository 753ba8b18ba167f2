# SPDX-License-Identifier: ISC
"""postino init: the data directory, its config, database and certificate."""
import hashlib
import os
import sqlite3
import stat
import subprocess

import pytest

from conftest import LISTENERS, run_postino


def tree_digest(path):
    """Content, mode and mtime of every file under path."""
    out = {}
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            p = os.path.join(root, name)
            st = os.lstat(p)
            digest = None
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            out[os.path.relpath(p, path)] = (st.st_mode, st.st_mtime_ns, digest)
    return out


def read_conf(path):
    conf = {}
    with open(os.path.join(path, "postino.conf")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, v = line.split("=", 1)
                conf[k.strip()] = v.strip()
    return conf


def test_init_creates_working_data_dir(datadir):
    path = datadir.path
    for sub in ("tls", "dkim", "mail", "queue", "backup"):
        assert os.path.isdir(os.path.join(path, sub)), sub
    conf = read_conf(path)
    assert conf["hostname"] == "mail.example.test"
    for name in LISTENERS:
        assert conf["listen.%s" % name] == "127.0.0.1:%d" % datadir.ports[name]
    for key in ("tls.cert", "tls.key", "user", "dns.servers", "log.level"):
        assert key in conf

    db = sqlite3.connect(os.path.join(path, "postino.db"))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] >= 1
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"journal", "settings"} <= tables
    db.close()


def test_init_certificate_matches_hostname(datadir):
    key = os.path.join(datadir.path, "tls", "key.pem")
    cert = os.path.join(datadir.path, "tls", "cert.pem")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    san = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-ext", "subjectAltName"],
                         capture_output=True, text=True, check=True).stdout
    assert "DNS:mail.example.test" in san
    # the key belongs to the certificate
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"],
                         capture_output=True, check=True).stdout
    out2 = subprocess.run(["openssl", "pkey", "-in", key, "-pubout"],
                          capture_output=True, check=True).stdout
    assert out == out2


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership is only set when run as root")
def test_init_as_root_gives_tree_to_service_user(datadir):
    import pwd
    pw = pwd.getpwnam("postino")
    assert read_conf(datadir.path)["user"] == "postino"
    for root, dirs, files in os.walk(datadir.path):
        for name in dirs + files:
            st = os.lstat(os.path.join(root, name))
            assert (st.st_uid, st.st_gid) == (pw.pw_uid, pw.pw_gid), name


def test_init_twice_refuses_and_changes_nothing(postino_bin, datadir):
    before = tree_digest(datadir.path)
    r = run_postino(postino_bin, ["init", "--hostname", "other.example.test"], data=datadir.path)
    assert r.returncode == 1
    assert "already initialised" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert tree_digest(datadir.path) == before


@pytest.mark.parametrize("args, needle", [
    (["--set", "listen.smtp=nonsense"], "listen.smtp"),
    (["--set", "no.such.key=1"], "unknown key 'no.such.key'"),
    (["--set", "workers"], "key=value"),
    (["--hostname", "bad_name!"], "hostname"),
    (["--frobnicate"], "unexpected argument"),
])
def test_init_bad_arguments_are_usage_errors(postino_bin, workdir, args, needle):
    path = os.path.join(workdir, "bad")
    r = run_postino(postino_bin, ["init"] + args, data=path)
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr
    assert "usage: postino init" in r.stderr
    assert not os.path.exists(path)


def test_init_uses_postino_data_env(postino_bin, workdir):
    path = os.path.join(workdir, "fromenv")
    r = run_postino(postino_bin, ["init", "--hostname", "env.example.test",
                                  "--set", "listen.smtp=off"],
                    env={"POSTINO_DATA": path})
    assert r.returncode == 0, r.stderr
    assert read_conf(path)["listen.smtp"] == "off"


def test_init_is_journalled(cli):
    import json
    r = cli("log", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["reason"] for row in rows] == ["admin.init"]
    assert rows[0]["service"] == "cli"
    assert rows[0]["actor"].startswith("cli:")
    assert "mail.example.test" in rows[0]["detail"]


def test_commands_outside_a_data_dir_refuse(postino_bin, workdir):
    r = run_postino(postino_bin, ["log"], data=os.path.join(workdir, "nothing"))
    assert r.returncode == 1
    assert "not a postino data directory" in r.stderr


def test_unknown_command_is_usage_error(postino_bin):
    r = run_postino(postino_bin, ["frobnicate"])
    assert r.returncode == 2
    assert "unknown command 'frobnicate'" in r.stderr
    r = run_postino(postino_bin, [])
    assert r.returncode == 2
    r = run_postino(postino_bin, ["--help"])
    assert r.returncode == 0
    for cmd in ("init", "serve", "domain add", "user add", "user set", "alias add", "log"):
        assert cmd in r.stdout
