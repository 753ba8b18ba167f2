# SPDX-License-Identifier: ISC
"""postino domain/user/alias through the real binary: the DESIGN.md
contract, every refusal with its exit code and one-line message, --json
output, and the admin journal (`postino log --json`).

Exit codes: 0 done, 1 refused (a value the directory rejects: bad address,
unknown domain, duplicate, limit, unknown key, bad key=value), 2 usage (a
malformed command line: missing argument, unknown option, an option value
that does not parse).
"""
import json
import os

import pytest

GIB = 1024 ** 3
MIB = 1024 ** 2


def ok(r):
    assert r.returncode == 0, "exit %d: %s%s" % (r.returncode, r.stdout, r.stderr)
    return r


def refused(r, message):
    """Exit 1 and exactly one stderr line 'postino: <...message...>'."""
    assert r.returncode == 1, "exit %d: %s%s" % (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("postino: "), r.stderr
    assert message in lines[0], r.stderr
    return lines[0]


def usage(r):
    assert r.returncode == 2, "exit %d: %s%s" % (r.returncode, r.stdout, r.stderr)
    assert "usage: postino" in r.stderr, r.stderr
    return r


def as_json(r):
    ok(r)
    return json.loads(r.stdout)


def journal(cli, *args):
    return as_json(cli("log", "--json", *args))


@pytest.fixture
def domain(cli):
    ok(cli("domain", "add", "example.com"))
    return "example.com"


# ---- domains ----

def test_domain_add_list_show(cli):
    ok(cli("domain", "add", "Example.COM", "--max-accounts", "5", "--quota", "10G"))
    ok(cli("domain", "add", "B\u00fccher.example"))
    rows = as_json(cli("domain", "list", "--json"))
    assert [d["name"] for d in rows] == ["example.com", "xn--bcher-kva.example"]
    ex = rows[0]
    assert ex["max_accounts"] == 5 and ex["quota_bytes"] == 10 * GIB
    assert ex["mailboxes"] == 0 and ex["aliases"] == 0 and ex["used_bytes"] == 0
    assert ex["created_at"].endswith("Z")
    assert rows[1]["max_accounts"] == 0 and rows[1]["quota_bytes"] == 0

    human = ok(cli("domain", "list")).stdout.splitlines()
    assert human[0].split() == ["DOMAIN", "MAILBOXES", "MAX", "QUOTA", "USED", "ALIASES"]
    assert human[1].split() == ["example.com", "0", "5", "10G", "0", "0"]
    assert human[2].split()[2:4] == ["unlimited", "unlimited"]

    show = as_json(cli("domain", "show", "EXAMPLE.com", "--json"))
    assert show == ex
    text = ok(cli("domain", "show", "example.com")).stdout
    assert "max-accounts   5" in text and "quota          10G" in text


def test_domain_refusals(cli, domain):
    refused(cli("domain", "add", "example.com"), "domain example.com already exists")
    refused(cli("domain", "add", "EXAMPLE.com."), "bad domain 'EXAMPLE.com.': empty label")
    refused(cli("domain", "add", "exa_mple.com"), "invalid character in domain")
    refused(cli("domain", "add", "192.0.2.1"), "looks like an IP address")
    refused(cli("domain", "show", "nope.example"), "no domain nope.example")
    refused(cli("domain", "del", "nope.example"), "no domain nope.example")
    refused(cli("domain", "set", "nope.example", "quota=1G"), "no domain nope.example")
    refused(cli("domain", "set", "example.com", "colour=blue"),
            "unknown domain setting 'colour'")
    refused(cli("domain", "set", "example.com", "quota=lots"), "bad value for quota: 'lots'")
    usage(cli("domain", "add"))
    usage(cli("domain", "add", "a.example", "b.example"))
    usage(cli("domain", "add", "a.example", "--quota", "lots"))
    usage(cli("domain", "add", "a.example", "--max-accounts", "-3"))
    usage(cli("domain", "add", "a.example", "--colour", "blue"))
    usage(cli("domain", "set", "example.com"))
    usage(cli("domain", "set", "example.com", "quota"))
    usage(cli("domain", "show"))
    usage(cli("domain", "del"))
    usage(cli("domain", "list", "extra"))
    # nothing was created by any of that
    assert [d["name"] for d in as_json(cli("domain", "list", "--json"))] == ["example.com"]


def test_domain_max_accounts(cli):
    ok(cli("domain", "add", "example.com", "--max-accounts", "2"))
    ok(cli("user", "add", "a@example.com"))
    ok(cli("user", "add", "b@example.com"))
    refused(cli("user", "add", "c@example.com"),
            "domain example.com has reached its limit of 2 mailboxes")
    assert [u["address"] for u in as_json(cli("user", "list", "--json"))] == \
        ["a@example.com", "b@example.com"]
    # lowering below the count names the count; existing mailboxes stay enabled
    refused(cli("domain", "set", "example.com", "max-accounts=1"),
            "domain example.com already has 2 mailboxes, more than 1")
    assert not any(u["disabled"] for u in as_json(cli("user", "list", "--json")))
    ok(cli("domain", "set", "example.com", "max-accounts=3"))
    ok(cli("user", "add", "c@example.com"))
    assert as_json(cli("domain", "show", "example.com", "--json"))["mailboxes"] == 3
    # the refusal is in the journal, with the limit's reason code
    rows = journal(cli, "--reason", "domain.max-accounts")
    assert len(rows) == 1
    assert rows[0]["decision"] == "refuse" and rows[0]["account"] == "c@example.com"
    assert "limit of 2 mailboxes" in rows[0]["detail"]


def test_domain_quota(cli):
    ok(cli("domain", "add", "example.com", "--quota", "1G"))
    refused(cli("user", "add", "big@example.com", "--quota", "2G"),
            "mailbox quota 2G is larger than the total quota of domain example.com (1G)")
    ok(cli("user", "add", "fits@example.com", "--quota", "1G"))
    refused(cli("user", "set", "fits@example.com", "quota=2G"),
            "larger than the total quota of domain example.com (1G)")
    refused(cli("domain", "set", "example.com", "quota=512M"),
            "mailbox fits@example.com has a quota of 1G, larger than the new domain quota 512M")
    ok(cli("domain", "set", "example.com", "quota=4G", "max-accounts=10"))
    d = as_json(cli("domain", "show", "example.com", "--json"))
    assert d["quota_bytes"] == 4 * GIB and d["max_accounts"] == 10
    assert [r["account"] for r in journal(cli, "--reason", "domain.quota")] == \
        ["big@example.com", "fits@example.com"]


def test_domain_del(cli, datadir, domain):
    ok(cli("user", "add", "a@example.com"))
    ok(cli("alias", "add", "info@example.com", "a@example.com"))
    maildir = os.path.join(datadir.path, "mail", "example.com", "a", "cur")
    os.makedirs(maildir)
    with open(os.path.join(maildir, "1.eml"), "w") as f:
        f.write("Subject: hi\n\nhello\n")
    line = refused(cli("domain", "del", "example.com"),
                   "domain example.com still has 1 mailbox(es) and 1 alias(es)")
    assert "--force" in line
    ok(cli("domain", "del", "example.com", "--force"))
    assert as_json(cli("domain", "list", "--json")) == []
    assert as_json(cli("user", "list", "--json")) == []
    assert as_json(cli("alias", "list", "--json")) == []
    assert not os.path.exists(os.path.join(datadir.path, "mail", "example.com"))
    ok(cli("domain", "add", "empty.example"))
    ok(cli("domain", "del", "empty.example"))


# ---- mailboxes ----

def test_user_add_show(cli, datadir, domain):
    ok(cli("user", "add", "Ann@Example.COM", "--password-stdin", "--quota", "100M",
           "--max-messages", "5000", input="s3cret-pass\n"))
    r = ok(cli("user", "add", "bob@example.com"))
    assert "cannot log in until" in r.stdout
    u = as_json(cli("user", "show", "ANN@example.com", "--json"))
    assert u["address"] == "ann@example.com"
    assert u["domain"] == "example.com" and u["local"] == "ann"
    assert u["password_set"] is True
    assert u["password_changed_at"].endswith("Z")
    assert u["password_expires_at"] is None and u["password_expired"] is False
    assert u["quota_bytes"] == 100 * MIB and u["max_messages"] == 5000
    assert u["used_bytes"] == 0
    assert u["disabled"] is False and u["disabled_reason"] is None
    for service in ("send", "receive", "imap", "pop3", "webmail"):
        assert u["can_" + service] is True
    assert u["forward"] == [] and u["forward_keep_copy"] is True
    assert u["password_max_age_days"] == 0
    # the hash is never shown, in either form
    text = ok(cli("user", "show", "ann@example.com")).stdout
    assert "$y$" not in text and "$y$" not in json.dumps(u)
    assert "s3cret-pass" not in text
    keys = [line.split()[0] for line in text.splitlines()]
    for key in ("address", "disabled", "can-send", "can-receive", "can-imap", "can-pop3",
                "can-webmail", "quota", "used", "max-messages", "forward",
                "forward-keep-copy", "password", "password-changed", "password-max-age",
                "password-expires", "created"):
        assert key in keys, text
    bob = as_json(cli("user", "show", "bob@example.com", "--json"))
    assert bob["password_set"] is False and bob["password_changed_at"] is None
    assert "not set (cannot log in)" in ok(cli("user", "show", "bob@example.com")).stdout

    # space used is the Maildir's
    cur = os.path.join(datadir.path, "mail", "example.com", "ann", "cur")
    os.makedirs(cur)
    with open(os.path.join(cur, "1.eml"), "wb") as f:
        f.write(b"x" * 3000)
    assert as_json(cli("user", "show", "ann@example.com", "--json"))["used_bytes"] == 3000
    assert as_json(cli("domain", "show", "example.com", "--json"))["used_bytes"] == 3000


def test_user_add_refusals(cli, domain):
    refused(cli("user", "add", "not-an-address"), "bad address 'not-an-address': missing @")
    refused(cli("user", "add", "a..b@example.com"), "two dots in a row")
    refused(cli("user", "add", "%s@example.com" % ("x" * 65)), "local part too long (max 64)")
    refused(cli("user", "add", "a@nope.example"), "no domain nope.example")
    ok(cli("user", "add", "a@example.com"))
    refused(cli("user", "add", "A@EXAMPLE.com"), "mailbox a@example.com already exists")
    refused(cli("user", "add", "b@example.com", "--password-stdin", input="\n"),
            "empty password")
    refused(cli("user", "add", "b@example.com", "--password-stdin", input="p" * 1100 + "\n"),
            "password too long")
    usage(cli("user", "add"))
    usage(cli("user", "add", "b@example.com", "--quota", "10Q"))
    usage(cli("user", "add", "b@example.com", "--quota"))
    usage(cli("user", "add", "b@example.com", "--max-messages", "many"))
    usage(cli("user", "add", "b@example.com", "--bogus"))
    usage(cli("user", "add", "b@example.com", "c@example.com"))
    assert [u["address"] for u in as_json(cli("user", "list", "--json"))] == ["a@example.com"]


def test_user_set_every_key(cli, domain):
    ok(cli("user", "add", "ann@example.com"))
    ok(cli("user", "add", "bob@example.com"))
    ok(cli("user", "set", "Ann@example.com", "can-send=no", "can-receive=no", "can-imap=no",
           "can-pop3=no", "can-webmail=no", "quota=2G", "max-messages=100",
           "forward=Boss@Elsewhere.org,bob@example.com", "forward-keep-copy=no",
           "password-max-age=90"))
    u = as_json(cli("user", "show", "ann@example.com", "--json"))
    for service in ("send", "receive", "imap", "pop3", "webmail"):
        assert u["can_" + service] is False
    assert u["quota_bytes"] == 2 * GIB and u["max_messages"] == 100
    assert u["forward"] == ["boss@elsewhere.org", "bob@example.com"]
    assert u["forward_keep_copy"] is False
    assert u["password_max_age_days"] == 90
    # no password yet, so nothing to expire
    assert u["password_expires_at"] is None

    ok(cli("user", "set", "ann@example.com", "disabled=yes", "reason=left the company"))
    u = as_json(cli("user", "show", "ann@example.com", "--json"))
    assert u["disabled"] is True and u["disabled_reason"] == "left the company"
    assert u["disabled_by"].startswith("cli:") and u["disabled_at"].endswith("Z")
    text = ok(cli("user", "show", "ann@example.com")).stdout
    assert "left the company" in text
    listing = ok(cli("user", "list", "example.com")).stdout.splitlines()
    assert listing[0].split() == ["ADDRESS", "STATUS", "QUOTA", "USED", "SERVICES"]
    assert listing[1].split() == ["ann@example.com", "disabled", "2G", "0", "none"]
    assert listing[2].split() == ["bob@example.com", "active", "unlimited", "0",
                                  "send,receive,imap,pop3,webmail"]

    ok(cli("user", "set", "ann@example.com", "disabled=no", "forward=", "quota=0",
           "can-imap=yes"))
    u = as_json(cli("user", "show", "ann@example.com", "--json"))
    assert u["disabled"] is False and u["disabled_reason"] is None
    assert u["forward"] == [] and u["quota_bytes"] == 0 and u["can_imap"] is True


def test_user_set_refusals_change_nothing(cli, domain):
    ok(cli("user", "add", "ann@example.com"))
    before = as_json(cli("user", "show", "ann@example.com", "--json"))
    refused(cli("user", "set", "ann@example.com", "can-send=no", "colour=blue"),
            "unknown setting 'colour' (known: disabled, reason, can-send")
    refused(cli("user", "set", "ann@example.com", "can-send=no", "quota=10Q"),
            "bad size for quota: '10Q'")
    refused(cli("user", "set", "ann@example.com", "can-send=no", "can-imap=maybe"),
            "can-imap must be yes or no, not 'maybe'")
    refused(cli("user", "set", "ann@example.com", "can-send=no", "max-messages=lots"),
            "max-messages must be a number")
    refused(cli("user", "set", "ann@example.com", "can-send=no", "password-max-age=-1"),
            "password-max-age must be a number of days")
    refused(cli("user", "set", "ann@example.com", "reason=because"),
            "reason= goes with disabled=yes")
    refused(cli("user", "set", "ann@example.com", "forward=ann@example.com"),
            "cannot point to itself")
    refused(cli("user", "set", "ann@example.com", "forward=typo@example.com"),
            "target typo@example.com is in local domain example.com but no mailbox or alias")
    refused(cli("user", "set", "ann@example.com", "forward=not-an-address"),
            "bad address 'not-an-address'")
    refused(cli("user", "set", "ghost@example.com", "can-send=no"),
            "no mailbox ghost@example.com")
    refused(cli("user", "set", "bad address", "can-send=no"), "bad address 'bad address'")
    usage(cli("user", "set", "ann@example.com"))
    usage(cli("user", "set", "ann@example.com", "can-send"))
    usage(cli("user", "set"))
    assert as_json(cli("user", "show", "ann@example.com", "--json")) == before
    # nothing refused reached the journal as a change
    assert journal(cli, "--reason", "admin.user-set") == []


def test_user_passwd(cli, domain):
    ok(cli("user", "add", "ann@example.com"))
    ok(cli("user", "set", "ann@example.com", "password-max-age=30"))
    ok(cli("user", "passwd", "ANN@example.com", "--password-stdin", input="new-pass\n"))
    u = as_json(cli("user", "show", "ann@example.com", "--json"))
    assert u["password_set"] is True
    assert u["password_changed_at"] is not None and u["password_expires_at"] is not None
    assert u["password_expires_at"] > u["password_changed_at"]
    refused(cli("user", "passwd", "ghost@example.com", "--password-stdin", input="x\n"),
            "no mailbox ghost@example.com")
    refused(cli("user", "passwd", "ann@example.com", "--password-stdin", input=""),
            "no password on standard input")
    usage(cli("user", "passwd", "ann@example.com"))
    usage(cli("user", "passwd", "--password-stdin"))


def test_user_del(cli, datadir, domain):
    ok(cli("user", "add", "ann@example.com"))
    ok(cli("user", "add", "bob@example.com"))
    for who in ("ann", "bob"):
        os.makedirs(os.path.join(datadir.path, "mail", "example.com", who, "new"))
    ok(cli("user", "del", "Ann@example.com"))
    assert not os.path.exists(os.path.join(datadir.path, "mail", "example.com", "ann"))
    ok(cli("user", "del", "bob@example.com", "--keep-mail"))
    assert os.path.isdir(os.path.join(datadir.path, "mail", "example.com", "bob", "new"))
    assert as_json(cli("user", "list", "--json")) == []
    refused(cli("user", "del", "ann@example.com"), "no mailbox ann@example.com")
    refused(cli("user", "show", "ann@example.com"), "no mailbox ann@example.com")
    usage(cli("user", "del"))
    usage(cli("user", "del", "x@example.com", "--force"))


def test_user_list_by_domain(cli):
    ok(cli("domain", "add", "a.example"))
    ok(cli("domain", "add", "b.example"))
    ok(cli("user", "add", "x@b.example"))
    ok(cli("user", "add", "y@a.example"))
    ok(cli("user", "add", "z@a.example"))
    assert [u["address"] for u in as_json(cli("user", "list", "--json"))] == \
        ["x@b.example", "y@a.example", "z@a.example"]
    assert [u["address"] for u in as_json(cli("user", "list", "A.example", "--json"))] == \
        ["y@a.example", "z@a.example"]
    refused(cli("user", "list", "nope.example"), "no domain nope.example")


# ---- aliases ----

def test_aliases(cli, domain):
    ok(cli("user", "add", "ann@example.com"))
    ok(cli("user", "add", "bob@example.com"))
    ok(cli("alias", "add", "Sales@example.com", "ann@example.com", "partner@remote.org"))
    ok(cli("alias", "add", "sales@example.com", "BOB@example.com"))
    ok(cli("alias", "add", "@example.com", "ann@example.com"))
    rows = as_json(cli("alias", "list", "--json"))
    assert rows == [
        {"address": "@example.com", "domain": "example.com", "catch_all": True,
         "targets": ["ann@example.com"]},
        {"address": "sales@example.com", "domain": "example.com", "catch_all": False,
         "targets": ["ann@example.com", "partner@remote.org", "bob@example.com"]},
    ]
    assert as_json(cli("alias", "list", "example.com", "--json")) == rows
    human = ok(cli("alias", "list")).stdout.splitlines()
    assert human[0].split() == ["ALIAS", "TARGETS"]
    assert human[2].split() == ["sales@example.com",
                                "ann@example.com,partner@remote.org,bob@example.com"]
    assert as_json(cli("domain", "show", "example.com", "--json"))["aliases"] == 2

    ok(cli("alias", "del", "sales@example.com", "partner@remote.org"))
    assert as_json(cli("alias", "list", "--json"))[1]["targets"] == \
        ["ann@example.com", "bob@example.com"]
    ok(cli("alias", "del", "sales@example.com"))
    ok(cli("alias", "del", "@example.com"))
    assert as_json(cli("alias", "list", "--json")) == []


def test_alias_refusals(cli, domain):
    ok(cli("user", "add", "ann@example.com"))
    ok(cli("alias", "add", "sales@example.com", "ann@example.com"))
    refused(cli("alias", "add", "ann@example.com", "bob@remote.org"),
            "ann@example.com is a mailbox; an alias cannot have the same address")
    refused(cli("user", "add", "sales@example.com"),
            "sales@example.com is an alias; a mailbox cannot have the same address")
    refused(cli("alias", "add", "info@remote.org", "ann@example.com"), "no domain remote.org")
    refused(cli("alias", "add", "sales@example.com", "ann@example.com"),
            "alias sales@example.com already has that target")
    refused(cli("alias", "add", "sales@example.com", "sales@example.com"),
            "cannot point to itself")
    refused(cli("alias", "add", "sales@example.com", "typo@example.com"),
            "target typo@example.com is in local domain example.com")
    refused(cli("alias", "add", "bad..alias@example.com", "ann@example.com"), "bad address")
    refused(cli("alias", "add", "sales@example.com", "not-an-address"),
            "bad address 'not-an-address'")
    refused(cli("alias", "del", "nope@example.com"), "no alias nope@example.com")
    refused(cli("alias", "del", "sales@example.com", "x@remote.org"),
            "alias sales@example.com has no target x@remote.org")
    refused(cli("alias", "list", "nope.example"), "no domain nope.example")
    usage(cli("alias", "add", "sales@example.com"))
    usage(cli("alias", "add"))
    usage(cli("alias", "del"))
    usage(cli("alias", "add", "sales@example.com", "--force"))


# ---- the journal ----

def test_changes_are_journalled(cli, domain):
    ok(cli("domain", "set", "example.com", "max-accounts=10"))
    ok(cli("user", "add", "ann@example.com", "--password-stdin", "--quota", "1G",
           input="top-secret-pw\n"))
    ok(cli("user", "set", "ann@example.com", "quota=2G", "can-pop3=no"))
    ok(cli("user", "set", "ann@example.com", "disabled=yes", "reason=on holiday"))
    ok(cli("user", "set", "ann@example.com", "disabled=no"))
    ok(cli("user", "passwd", "ann@example.com", "--password-stdin", input="other-secret\n"))
    ok(cli("alias", "add", "info@example.com", "Ann@example.com"))
    ok(cli("alias", "del", "info@example.com"))
    ok(cli("user", "del", "ann@example.com"))
    ok(cli("domain", "del", "example.com"))
    rows = journal(cli, "--reason", "admin.")
    assert [r["reason"] for r in rows] == [
        "admin.init", "admin.domain-add", "admin.domain-set", "admin.user-add",
        "admin.user-set", "admin.user-disable", "admin.user-enable", "admin.user-passwd",
        "admin.alias-add", "admin.alias-del", "admin.user-del", "admin.domain-del"]
    by = {r["reason"]: r for r in rows}
    for r in rows:
        assert r["service"] == "cli" and r["decision"] == "change"
        assert r["actor"].startswith("cli:")
    assert "domain=example.com" in by["admin.domain-add"]["detail"]
    assert "max-accounts=10" in by["admin.domain-set"]["detail"]
    assert by["admin.user-add"]["account"] == "ann@example.com"
    assert "quota=1G" in by["admin.user-add"]["detail"]
    assert by["admin.user-set"]["detail"] == "quota=2G can-pop3=no"
    assert by["admin.user-disable"]["detail"] == "on holiday"
    assert by["admin.user-passwd"]["account"] == "ann@example.com"
    assert by["admin.alias-add"]["account"] == "info@example.com"
    assert by["admin.alias-add"]["detail"] == "targets=ann@example.com"
    dump = json.dumps(rows)
    assert "top-secret-pw" not in dump and "other-secret" not in dump and "$y$" not in dump


def test_uninitialised_data_dir(cli, workdir):
    empty = os.path.join(workdir, "nothing-here")
    os.mkdir(empty)
    refused(cli("domain", "list", data=empty), "is not a postino data directory")
    refused(cli("user", "add", "a@example.com", data=empty),
            "is not a postino data directory")
