# SPDX-License-Identifier: ISC
"""postino autoreply set|off|show, and its journal entries."""
import json


def setup_mailbox(cli):
    assert cli("domain", "add", "example.com").returncode == 0
    assert cli("user", "add", "bob@example.com").returncode == 0


def test_set_show_off(cli, workdir):
    setup_mailbox(cli)
    body = workdir + "/away.txt"
    with open(body, "w") as f:
        f.write("I am away until Monday.\nBob\n")
    r = cli("autoreply", "set", "Bob@Example.com", "--body-file", body,
            "--subject", "Out of office", "--from", "2026-12-20", "--until", "2026-12-31",
            "--interval", "1d")
    assert r.returncode == 0, r.stderr
    assert "autoreply on for bob@example.com" in r.stdout
    show = json.loads(cli("autoreply", "show", "bob@example.com", "--json").stdout)
    assert show["set"] is True
    assert show["subject"] == "Out of office"
    assert show["body"] == "I am away until Monday.\nBob\n"
    assert show["interval"] == 86400
    # --until a day means through the end of that day
    assert show["until"] - show["from"] == 12 * 86400
    human = cli("autoreply", "show", "bob@example.com").stdout
    assert "Out of office" in human and "I am away" in human

    assert cli("autoreply", "off", "bob@example.com").returncode == 0
    assert json.loads(cli("autoreply", "show", "bob@example.com", "--json").stdout) == \
        {"set": False, "active": False}
    rows = json.loads(cli("log", "--json", "--account", "bob@example.com").stdout)
    reasons = [r["reason"] for r in rows]
    assert "admin.autoreply-set" in reasons and "admin.autoreply-off" in reasons


def test_body_from_stdin_and_default_subject(cli):
    setup_mailbox(cli)
    r = cli("autoreply", "set", "bob@example.com", "--body-file", "-", input="Away.\n")
    assert r.returncode == 0, r.stderr
    show = json.loads(cli("autoreply", "show", "bob@example.com", "--json").stdout)
    assert show["subject"] is None and show["active"] is True and show["body"] == "Away.\n"


def test_refusals(cli, workdir):
    setup_mailbox(cli)
    cases = [
        (["set", "bob@example.com"], 2, "--body-file"),
        (["set", "bob@example.com", "--body-file", "-", "--from", "soon"], 2, "--from"),
        (["set", "bob@example.com", "--body-file", "-", "--interval", "0"], 2, "--interval"),
        (["set", "bob@example.com", "--body-file", "/nonexistent"], 1, "cannot read"),
        (["set", "nobody@example.com", "--body-file", "-"], 1, "no mailbox"),
        (["set", "bob@example.com", "--body-file", "-", "--from", "2026-12-31",
          "--until", "2026-12-01"], 1, "end date"),
        (["off", "bob@example.com"], 1, "has no autoreply"),
        (["show", "nobody@example.com"], 1, "no mailbox"),
    ]
    for args, code, needle in cases:
        r = cli("autoreply", *args, input="text\n")
        assert r.returncode == code, (args, r.stderr)
        assert needle in r.stderr, (args, r.stderr)
    r = cli("autoreply", "set", "bob@example.com", "--body-file", "-", input="")
    assert r.returncode == 1 and "empty" in r.stderr
