# SPDX-License-Identifier: ISC
"""Hostile and careless IMAP clients: pipelining, disconnects in the middle
of a FETCH, an APPEND literal, a worker job or IDLE, literals where none
belong, garbage, and a burst of sessions; the server keeps serving (and,
under make SANITIZE=1, shows no memory error)."""
import os
import random
import socket
import time

from imap_helpers import ALICE, PASSWORDS, Raw, imail  # noqa: F401


def test_pipelined_commands_answered_in_order(imail):
    imail.deliver()
    r = imail.raw()
    r.send('a LOGIN "%s" "%s"\r\nb SELECT INBOX\r\nc FETCH 1 (UID)\r\nd NOOP\r\n'
           'e STORE 1 +FLAGS (\\Seen)\r\nf LOGOUT\r\n' % (ALICE, PASSWORDS[ALICE]))
    tags = []
    while True:
        line = r.line()
        if line[0] != "*":
            tags.append(line.split()[0])
        if line.startswith("f "):
            break
    assert tags == ["a", "b", "c", "d", "e", "f"]


def test_disconnects_mid_everything(imail):
    body = "x" * 78 + "\r\n"
    imail.deliver(body=body * 30000)
    for step in range(5):
        r = imail.raw(login=True)
        r.cmd("SELECT INBOX")
        if step == 0:  # in the middle of a 2 MB FETCH
            r.send("f FETCH 1 BODY.PEEK[]\r\n")
            r.sock.recv(1000)
        elif step == 1:  # in the middle of a streamed APPEND literal
            r.send("a APPEND INBOX {500000}\r\n")
            assert r.line() == "+ OK"
            r.send("y" * 100000)
        elif step == 2:  # while a worker job runs
            r.send("s SEARCH TEXT xxxx\r\nc COPY 1 Archive\r\n")
        elif step == 3:  # in IDLE
            r.send("i IDLE\r\n")
            r.line()
        else:  # in the middle of AUTHENTICATE on a fresh session
            r.close()
            r = imail.raw()
            r.send("a AUTHENTICATE PLAIN\r\n")
            r.line()
        r.sock.close()
    time.sleep(0.5)
    m = imail.imaps()
    m.select("INBOX")
    assert m.search(None, "ALL")[1] == [b"1"]  # the cut APPEND left nothing
    m.logout()
    local = os.path.join(imail.dd.path, "mail", "example.test", "alice", "tmp")
    assert os.listdir(local) == []  # the spool was anonymous (O_TMPFILE)


def test_literals_where_none_belong(imail):
    r = imail.raw(login=True)
    r.send("a NOOP {100000}\r\n")
    assert r.line().startswith("a BAD")
    r.send("b SELECT {100000+}\r\n" + "z" * 100000 + "\r\n")
    assert r.line().startswith("b BAD")
    assert r.cmd("NOOP")[0] == "OK NOOP completed."
    r.send("c LOGIN {5}\r\n")  # already logged in: the literal is still read
    assert r.line() == "+ OK"
    r.send("abcde x\r\n")
    assert r.wait("c")[0] == "BAD Already logged in"


def test_garbage_does_not_kill_the_server(imail):
    rnd = random.Random(4)
    for _ in range(5):
        r = imail.raw()
        junk = bytes(rnd.randrange(256) for _ in range(3000))
        try:
            r.send(junk.replace(b"{", b"(") + b"\r\n")
            r.sock.settimeout(2)
            while r.sock.recv(65536):
                pass
        except (socket.timeout, ConnectionResetError, OSError):
            pass
        r.close()
    m = imail.imaps()
    assert m.noop()[0] == "OK"
    m.logout()


def test_many_sessions_at_once(imail):
    sessions = [imail.raw(login=True) for _ in range(15)]
    for i, r in enumerate(sessions):
        r.send("x%d SELECT INBOX\r\n" % i)
    for i, r in enumerate(sessions):
        assert r.wait("x%d" % i)[0].startswith("OK [READ-WRITE]")
    imail.deliver()
    for r in sessions:
        assert "* 1 EXISTS" in r.cmd("NOOP")[1]
        r.close()
