# SPDX-License-Identifier: ISC
"""DKIM signing (F25): `postino dkim generate|show|list|activate|del`, and
outgoing mail signed at enqueue, verified by two independent verifiers:
python3-dkim (dkim.verify, its DNS lookup answered with the exact value
`postino dkim show` prints) and OpenDKIM (`opendkim -t` in test mode, its
TestPublicKeys file holding the same record). Messages are read from the
queue file right after the 250: tests point DNS at a closed port, so the
queue manager keeps them queued (retrying) and the file stays."""
import base64
import json
import os
import re
import stat
import subprocess
import time

import dkim
import pytest

from conftest import run_postino
from smtp_helpers import DOMAIN, mail  # noqa: F401  (fixture)

ALICE = "alice@example.test"
SELECTOR_RE = re.compile(r"^p\d{6}(-\d+)?$")


def dkim_cli(m, *args, json_out=False):
    r = run_postino(m.bin, ["dkim", *args] + (["--json"] if json_out else []), data=m.dd.path)
    return r


def show(m, domain=DOMAIN, selector=None):
    args = ["show", domain] + (["--selector", selector] if selector else [])
    r = dkim_cli(m, *args, json_out=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def generate(m, *args):
    r = dkim_cli(m, "generate", DOMAIN, *args, json_out=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def submit(m, headers, body="Hello,\r\n\r\nthis is the body.  \r\n\r\n", to="friend@remote.test"):
    """Send as alice over 587+STARTTLS; the queue file's bytes."""
    text = headers + "\r\n" + body
    with m.submission() as s:
        s.sendmail(ALICE, [to], text)
    rows = [r for r in m.queue_rows() if r["recipient"] == to]
    assert len(rows) == 1, rows
    with open(os.path.join(m.dd.path, "queue", "msg", rows[0]["file"]), "rb") as f:
        return f.read()


def headers(subject="DKIM test", frm=ALICE):
    return ("From: Alice <%s>\r\nTo: Friend <friend@remote.test>\r\nSubject: %s\r\n"
            "Date: Mon, 02 Nov 2026 10:00:00 +0100\r\nMessage-ID: <%s@example.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            % (frm, subject, os.urandom(8).hex()))


def py_verify(data, key):
    """python3-dkim's verdict, DNS answered with `dkim show`'s value."""
    asked = []

    def dnsfunc(name, timeout=5):
        asked.append(name)
        return key["value"].encode()
    ok = dkim.verify(data, dnsfunc=dnsfunc)
    assert asked and asked[0].decode().rstrip(".") == key["name"].rstrip(".")
    return ok


def opendkim_verify(tmp, data, key):
    """OpenDKIM's verdict in test mode (-t), the key from a TestPublicKeys
    file rather than DNS. It always exits 0: the verdict is in the line
    it prints."""
    msg = os.path.join(tmp, "msg.eml")
    keys = os.path.join(tmp, "keys")
    conf = os.path.join(tmp, "opendkim.conf")
    with open(msg, "wb") as f:
        f.write(data)
    with open(keys, "w") as f:
        f.write("%s %s\n" % (key["name"].rstrip("."), key["value"]))
    with open(conf, "w") as f:
        f.write("Mode v\nSyslog no\nTestPublicKeys %s\n" % keys)
    r = subprocess.run(["opendkim", "-x", conf, "-t", msg], capture_output=True, text=True,
                       timeout=30)
    out = r.stdout + r.stderr
    assert "verification" in out, out
    return "succeeded" in out and "failed" not in out


# ---- the CLI ----

def test_generate_show_list_del(mail):
    rsa = generate(mail)
    assert SELECTOR_RE.match(rsa["selector"]), rsa
    assert (rsa["domain"], rsa["algorithm"], rsa["bits"], rsa["active"]) == \
        (DOMAIN, "rsa", 2048, True)
    assert rsa["name"] == "%s._domainkey.%s." % (rsa["selector"], DOMAIN)
    assert rsa["value"].startswith("v=DKIM1; k=rsa; p=")
    # the key file: 0600, owned like the data directory (the daemon's user)
    path = rsa["key_file"]
    st, dst = os.stat(path), os.stat(mail.dd.path)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert (st.st_uid, st.st_gid) == (dst.st_uid, dst.st_gid)
    assert path == os.path.join(mail.dd.path, "dkim", DOMAIN, rsa["selector"] + ".key")

    # a second key: the default selector does not collide, and it signs now
    ed = generate(mail, "--algorithm", "ed25519")
    assert ed["selector"] == rsa["selector"] + "-2"
    assert ed["algorithm"] == "ed25519" and ed["active"]
    raw = base64.b64decode(ed["value"].split("p=")[1])
    assert ed["value"].startswith("v=DKIM1; k=ed25519; p=") and len(raw) == 32  # RFC 8463 4.2
    r = dkim_cli(mail, "list", json_out=True)
    keys = json.loads(r.stdout)
    assert [(k["selector"], k["active"]) for k in keys] == \
        [(ed["selector"], True), (rsa["selector"], False)]

    # show: one zone-file line per key, the active one first, every
    # string at most 255 octets, the strings together the exact value
    r = dkim_cli(mail, "show", DOMAIN)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    for line, key in zip(lines, [ed, rsa]):
        m = re.match(r'^(\S+) IN TXT((?: "[^"]*")+)$', line)
        assert m, line
        assert m.group(1) == key["name"]
        strings = re.findall(r'"([^"]*)"', m.group(2))
        assert all(len(s) <= 255 for s in strings)
        assert "".join(strings) == key["value"]
    assert len(re.findall(r'"', lines[1])) == 4  # 2048-bit RSA: two strings
    assert show(mail, selector=rsa["selector"])[0]["value"] == rsa["value"]

    # activate (roll back), delete (the file goes, the newest remaining signs)
    r = dkim_cli(mail, "activate", DOMAIN, rsa["selector"])
    assert r.returncode == 0, r.stderr
    assert [k["active"] for k in show(mail)] == [True, False]
    assert show(mail)[0]["selector"] == rsa["selector"]
    r = dkim_cli(mail, "del", DOMAIN, rsa["selector"])
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(path)
    keys = show(mail)
    assert [(k["selector"], k["active"]) for k in keys] == [(ed["selector"], True)]

    # journalled with the actor
    entries = mail.journal("dkim.")
    assert [e["reason"] for e in entries] == \
        ["dkim.key-generate", "dkim.key-generate", "dkim.key-activate", "dkim.key-del"]
    assert all(e["actor"].startswith("cli:") for e in entries)


def test_cli_refusals(mail):
    assert dkim_cli(mail, "generate", "nowhere.test").returncode == 1  # not a local domain
    assert dkim_cli(mail, "generate", DOMAIN, "--algorithm", "dsa").returncode == 2
    assert dkim_cli(mail, "generate", DOMAIN, "--bits", "512").returncode == 2
    assert dkim_cli(mail, "generate", DOMAIN, "--bits", "8192").returncode == 2
    assert dkim_cli(mail, "generate", DOMAIN, "--algorithm", "ed25519",
                    "--bits", "2048").returncode == 2
    assert dkim_cli(mail, "generate", DOMAIN, "--selector", "bad/sel").returncode == 2
    assert dkim_cli(mail, "generate").returncode == 2
    assert dkim_cli(mail, "show", DOMAIN).returncode == 1  # no key yet
    generate(mail, "--selector", "Mail1", "--bits", "1024")
    assert show(mail)[0]["selector"] == "mail1"  # selectors are stored lower-case
    assert dkim_cli(mail, "generate", DOMAIN, "--selector", "mail1").returncode == 1
    assert dkim_cli(mail, "del", DOMAIN, "nosuch").returncode == 1
    assert dkim_cli(mail, "del", DOMAIN).returncode == 2
    assert dkim_cli(mail, "activate", DOMAIN, "nosuch").returncode == 1


# ---- signing at enqueue ----

@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_submission_is_signed_and_verifies(mail, workdir, algorithm):
    key = generate(mail, "--algorithm", algorithm)
    data = submit(mail, headers())
    assert data.startswith(b"DKIM-Signature: v=1; a=%s-sha256; c=relaxed/relaxed; d=%s;"
                           % (algorithm.encode(), DOMAIN.encode()))
    sig = data.split(b"\r\n\r\n")[0].split(b"\r\nReceived:")[0]
    assert b"s=%s;" % key["selector"].encode() in sig
    flat = re.sub(rb"\s+", b"", sig)
    # From oversigned (once more than present), To/Subject too
    assert b"h=from:from:reply-to:subject:subject:date:to:to:cc:message-id:" \
           b"mime-version:content-type;" in flat
    assert py_verify(data, key)
    assert opendkim_verify(workdir, data, key)

    # the check can fail: one body octet changed after signing
    bad = data.replace(b"this is the body", b"this is the bodY")
    assert bad != data
    assert not py_verify(bad, key)
    assert not opendkim_verify(workdir, bad, key)
    # so can an added From (the oversigned name)
    hdr_end = data.index(b"\r\n\r\n")
    added = data[:hdr_end] + b"\r\nFrom: mallory@evil.test" + data[hdr_end:]
    assert not py_verify(added, key)


def test_big_message_signed(mail, workdir):
    """A body of several MiB streams through the signer and verifies."""
    key = generate(mail, "--algorithm", "ed25519")
    body = "".join("line %06d of a long message, some text to fill it   \r\n" % i
                   for i in range(60000))
    data = submit(mail, headers(subject="big"), body=body)
    assert len(data) > 3 * 1024 * 1024
    assert data.startswith(b"DKIM-Signature:")
    assert py_verify(data, key)
    assert opendkim_verify(workdir, data, key)


def test_no_key_for_from_domain_not_signed(mail):
    mail.cli("domain", "add", "other.test")
    r = dkim_cli(mail, "generate", "other.test")
    assert r.returncode == 0, r.stderr
    data = submit(mail, headers())  # From: example.test, which has no key
    assert b"DKIM-Signature" not in data
    assert data.startswith(b"Received: ")
    assert mail.journal("dkim.sign-failed") == []


def test_relayed_mail_not_signed(mail):
    """Inbound mail forwarded through an alias is someone else's message:
    never signed with our key, even with a From: in our domain."""
    generate(mail)
    mail.cli("alias", "add", "fwd@example.test", "friend@remote.test")
    text = headers() + "\r\nforwarded\r\n"
    with mail.smtp() as s:
        s.sendmail("someone@remote.test", ["fwd@example.test"], text)
    rows = mail.queue_rows()
    assert len(rows) == 1 and rows[0]["origin"] == "alias"
    with open(os.path.join(mail.dd.path, "queue", "msg", rows[0]["file"]), "rb") as f:
        assert b"DKIM-Signature" not in f.read()


def test_sign_failure_queues_unsigned(mail):
    """A key whose file went missing: the message is still queued (never
    lost), unsigned, and the journal says why."""
    key = generate(mail)
    os.unlink(key["key_file"])
    data = submit(mail, headers())
    assert b"DKIM-Signature" not in data
    failed = mail.journal("dkim.sign-failed")
    assert len(failed) == 1 and failed[0]["account"] == ALICE


def test_autoreply_is_signed(mail, workdir):
    """Server-written mail (inject.c) is signed too: an autoreply from
    bob@example.test to a remote sender."""
    key = generate(mail, "--algorithm", "ed25519")
    mail.cli("autoreply", "set", "bob@example.test", "--body-file", "-", input="Away.\n")
    text = ("From: customer@remote.test\r\nTo: bob@example.test\r\nSubject: Offer\r\n"
            "Message-ID: <offer-1@remote.test>\r\n\r\nHello\r\n")
    with mail.smtp() as s:
        s.sendmail("customer@remote.test", ["bob@example.test"], text)
    deadline = time.time() + 10
    rows = []
    while not rows and time.time() < deadline:
        rows = [r for r in mail.queue_rows() if r["origin"] == "autoreply"]
        time.sleep(0.05)
    assert len(rows) == 1
    with open(os.path.join(mail.dd.path, "queue", "msg", rows[0]["file"]), "rb") as f:
        data = f.read()
    assert data.startswith(b"DKIM-Signature:")
    assert py_verify(data, key)
    assert opendkim_verify(workdir, data, key)
