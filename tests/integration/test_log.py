# SPDX-License-Identifier: ISC
"""postino log: the journal read back, with its filters; postino reasons."""
import json
import os
import sqlite3
import time

from conftest import ROOT


def journal(cli, *args):
    r = cli("log", "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_admin_changes_are_journalled_with_actor(cli):
    assert cli("domain", "add", "example.com").returncode == 0
    assert cli("user", "add", "Ann@Example.com", "--password-stdin",
               input="s3cret-pass\n").returncode == 0
    assert cli("user", "set", "ann@example.com", "disabled=yes",
               "reason=left the company").returncode == 0
    rows = journal(cli)
    reasons = [r["reason"] for r in rows]
    assert reasons[:2] == ["admin.init", "admin.domain-add"]
    assert "admin.user-add" in reasons and "admin.user-disable" in reasons
    dis = [r for r in rows if r["reason"] == "admin.user-disable"][0]
    assert dis["account"] == "ann@example.com"
    assert "left the company" in dis["detail"]
    assert dis["actor"].startswith("cli:")
    # the password never reaches the journal
    assert "s3cret-pass" not in json.dumps(rows)


def test_filters(cli, datadir):
    assert cli("domain", "add", "example.com").returncode == 0
    for who in ("a", "b"):
        assert cli("user", "add", "%s@example.com" % who).returncode == 0
    only_a = journal(cli, "--account", "A@example.com")
    assert only_a and all(r["account"] == "a@example.com" for r in only_a)
    admin_user = journal(cli, "--reason", "admin.user-add")
    assert [r["account"] for r in admin_user] == ["a@example.com", "b@example.com"]
    prefix = journal(cli, "--reason", "admin.")
    assert len(prefix) == len(journal(cli))
    assert journal(cli, "--limit", "1")[0]["account"] == "b@example.com"
    assert journal(cli, "--service", "smtp") == []
    # --since: an entry an hour old is outside "30m", inside "2h"
    db = sqlite3.connect(os.path.join(datadir.path, "postino.db"))
    old = int((time.time() - 3600) * 1000)
    db.execute("INSERT INTO journal (time_ms, service, decision, reason, ip)"
               " VALUES (?, 'smtp', 'refuse', 'serve.unavailable', '192.0.2.7')", (old,))
    db.commit()
    db.close()
    assert journal(cli, "--ip", "192.0.2.7", "--since", "30m") == []
    assert len(journal(cli, "--ip", "192.0.2.7", "--since", "2h")) == 1
    assert len(journal(cli, "--ip", "192.0.2.7", "--until", "30m")) == 1


def test_human_output_one_line_per_decision(cli):
    assert cli("domain", "add", "example.com").returncode == 0
    r = cli("log")
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2
    assert " cli change admin.domain-add " in lines[1]
    assert "actor=cli:" in lines[1]


def test_bad_log_arguments(cli):
    for args, needle in ((["--since", "whenever"], "--since"),
                         (["--limit", "x"], "--limit"),
                         (["--bogus"], "unexpected argument")):
        r = cli("log", *args)
        assert r.returncode == 2
        assert needle in r.stderr


def test_reasons_doc_is_current(cli):
    r = cli("reasons", "--markdown")
    assert r.returncode == 0
    with open(os.path.join(ROOT, "docs", "REASONS.md")) as f:
        assert f.read() == r.stdout, "docs/REASONS.md is stale: run 'make reasons-doc'"
    codes = json.loads(cli("reasons", "--json").stdout)
    assert len({c["code"] for c in codes}) == len(codes), "duplicate reason code"
    assert all("." in c["code"] and c["text"] for c in codes)
