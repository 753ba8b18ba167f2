# SPDX-License-Identifier: ISC
"""Real mail clients against postino's IMAP server: mbsync (isync) syncing
INBOX and a folder both ways (a second sync changes nothing), getmail6
and fetchmail downloading over IMAP. Mail gets in through SMTP."""
import os
import subprocess

import pytest

from imap_helpers import ALICE, PASSWORDS, imail  # noqa: F401


def run_tool(imail, args, env=None, cwd=None):
    """Run a client to completion; on failure show its output and the
    server's side of the conversation."""
    try:
        r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           env=env, cwd=cwd, timeout=60)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s timed out: %s\n%s" % (args[0], e.output,
                                                       imail.server.log()[-6000:]))
    assert r.returncode == 0, "%s\n%s\n%s" % (r.stdout, r.stderr, imail.server.log()[-6000:])
    return r


def maildir_files(path):
    out = {}
    for sub in ("cur", "new"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            for name in os.listdir(d):
                with open(os.path.join(d, name), "rb") as f:
                    out[name] = f.read()
    return out


def mbsyncrc(imail, workdir):
    local = os.path.join(workdir, "mb")
    os.makedirs(local, exist_ok=True)
    rc = os.path.join(workdir, "mbsyncrc")
    with open(rc, "w") as f:
        f.write("IMAPAccount postino\nHost 127.0.0.1\nPort %d\nUser %s\nPass %s\n"
                "SSLType IMAPS\nCertificateFile %s\n\n"
                "IMAPStore remote\nAccount postino\n\n"
                "MaildirStore local\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"
                "Channel sync\nFar :remote:\nNear :local:\nPatterns INBOX Archive\n"
                "Create Both\nExpunge Both\nSyncState *\nSync All\n"
                % (imail.port("imaps"), ALICE, PASSWORDS[ALICE], imail.cert, local, local))
    return rc, local


def test_mbsync_both_ways(imail, workdir):
    tokens = [imail.deliver(subject="sync %d" % i) for i in range(3)]
    rc, local = mbsyncrc(imail, workdir)
    run_tool(imail, ["mbsync", "-c", rc, "-a"])
    inbox = maildir_files(os.path.join(local, "INBOX"))
    assert len(inbox) == 3
    assert sorted(t for t in tokens if any(t.encode() in b for b in inbox.values())) == \
        sorted(tokens)

    # local changes go up: a flag, a deletion, a new message in Archive
    cur = os.path.join(local, "INBOX", "cur")
    names = sorted(os.listdir(cur)) + sorted(os.listdir(os.path.join(local, "INBOX", "new")))
    first = names[0]
    src = os.path.join(cur, first) if os.path.exists(os.path.join(cur, first)) else \
        os.path.join(local, "INBOX", "new", first)
    base = first.split(":2,")[0]
    os.rename(src, os.path.join(cur, base + ":2,FS"))
    second = [n for n in names if n != first][0]
    for sub in ("cur", "new"):
        p = os.path.join(local, "INBOX", sub, second)
        if os.path.exists(p):
            os.unlink(p)
    arch = os.path.join(local, "Archive")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(arch, sub), exist_ok=True)
    with open(os.path.join(arch, "new", "1700000000.1.local"), "wb") as f:
        f.write(b"From: me@example.test\nSubject: archived locally\n\nkept\n")
    # and a server-side change comes down
    new_token = imail.deliver(subject="arrived later")
    run_tool(imail, ["mbsync", "-c", rc, "-a"])

    m = imail.imaps()
    m.select("INBOX")
    typ, data = m.search(None, "ALL")
    assert len(data[0].split()) == 3  # 3 - 1 deleted + 1 new
    typ, data = m.search(None, "FLAGGED SEEN")
    assert len(data[0].split()) == 1
    m.select("Archive")
    typ, data = m.search(None, "SUBJECT", "archived")
    assert data[0] == b"1"
    m.logout()
    inbox = maildir_files(os.path.join(local, "INBOX"))
    assert len(inbox) == 3 and any(new_token.encode() in b for b in inbox.values())

    # a second sync is a no-op: nothing changes on either side
    before_local = {k: v for k, v in maildir_files(os.path.join(local, "INBOX")).items()}
    m = imail.imaps()
    before_remote = m.status("INBOX", "(MESSAGES UIDNEXT HIGHESTMODSEQ)")[1]
    m.logout()
    r = run_tool(imail, ["mbsync", "-V", "-c", rc, "-a"])
    assert maildir_files(os.path.join(local, "INBOX")) == before_local
    m = imail.imaps()
    assert m.status("INBOX", "(MESSAGES UIDNEXT HIGHESTMODSEQ)")[1] == before_remote
    m.logout()
    no_errors_in_protocol_log(imail)


def test_getmail6_over_imaps(imail, workdir):
    tokens = [imail.deliver(subject="getmail %d" % i) for i in range(2)]
    dest = os.path.join(workdir, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(dest, sub))
    gdir = os.path.join(workdir, "getmail")
    os.makedirs(gdir)
    with open(os.path.join(gdir, "getmailrc"), "w") as f:
        f.write("[retriever]\ntype = SimpleIMAPSSLRetriever\nserver = 127.0.0.1\n"
                "port = %d\nusername = %s\npassword = %s\nca_certs = %s\n"
                "ssl_cert_hostname = %s\nmailboxes = (\"INBOX\",)\n\n"
                "[destination]\ntype = MDA_external\npath = /bin/sh\n"
                "arguments = (\"-c\", \"cat > %s/new/$$.eml\")\nallow_root_commands = true\n\n"
                "[options]\nread_all = false\ndelete = false\nreceived = false\n"
                "delivered_to = false\nmessage_log_syslog = false\nverbose = 2\n"
                % (imail.port("imaps"), ALICE, PASSWORDS[ALICE], imail.cert,
                   imail.dd.hostname, dest))
    run_tool(imail, ["getmail", "--getmaildir", gdir, "--rcfile", "getmailrc"])
    got = [open(os.path.join(dest, "new", n), "rb").read()
           for n in os.listdir(os.path.join(dest, "new"))]
    assert len(got) == 2 and all(any(t.encode() in g for g in got) for t in tokens)
    # a second run finds nothing new (it remembers the UIDs it saw)
    run_tool(imail, ["getmail", "--getmaildir", gdir, "--rcfile", "getmailrc"])
    assert len(os.listdir(os.path.join(dest, "new"))) == 2
    no_errors_in_protocol_log(imail)


def test_fetchmail_over_imap_starttls(imail, workdir):
    tokens = [imail.deliver(subject="fetchmail %d" % i) for i in range(3)]
    out = os.path.join(workdir, "fetched")
    home = os.path.join(workdir, "fetchmail-home")
    os.makedirs(out)
    os.makedirs(home)
    rc = os.path.join(home, "fetchmailrc")
    with open(rc, "w") as f:
        f.write('poll 127.0.0.1 port %d proto imap\n'
                '  user "%s" there with password "%s" is "root" here\n'
                '  sslcertck sslcertfile "%s" sslcommonname "%s" sslproto "tls1.2+"\n'
                '  fetchall no keep\n'
                '  mda "/bin/sh -c \'cat > %s/msg.$$\'"\n'
                % (imail.port("imap"), ALICE, PASSWORDS[ALICE], imail.cert, imail.dd.hostname,
                   out))
    os.chmod(rc, 0o600)
    env = dict(os.environ, FETCHMAILHOME=home, HOME=home)
    r = run_tool(imail, ["fetchmail", "-f", rc, "--nodetach", "--nosyslog", "-v"], env=env)
    assert "STARTTLS" in r.stdout + r.stderr
    got = [open(os.path.join(out, n), "rb").read() for n in os.listdir(out)]
    assert len(got) == 3 and all(any(t.encode() in g for g in got) for t in tokens)
    # fetched and deleted (no "keep"): the mailbox is empty now
    m = imail.imaps()
    m.select("INBOX")
    assert m.search(None, "ALL")[1] == [b""]
    m.logout()
    no_errors_in_protocol_log(imail)


def no_errors_in_protocol_log(imail):
    bad = [l for l in imail.server.log().splitlines()
           if " proto " in l and "> " in l and (" BAD " in l or " NO " in l)]
    assert bad == [], "\n".join(bad)
