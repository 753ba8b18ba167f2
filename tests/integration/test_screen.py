# SPDX-License-Identifier: ISC
"""Dynamic screening (F20) through SMTP AUTH with real clients: failed
logins counted per address and per account, blocks and locks with their
protocol replies, `postino screen list|unblock` while the server runs,
blocks that survive a restart, open sessions closed, trusted networks,
expired passwords that do not count, the slow-down and the identical
answers to wrong names and wrong passwords.

Every client here is 127.0.0.1, which is not trusted by default, so the
default thresholds apply unless a test sets its own."""
import base64
import json
import smtplib
import statistics
import time

import pytest

from conftest import run_postino
from smtp_helpers import PASSWORDS, TIMEOUT, Raw, make_mail

ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@example.test"
FAST = {"screen.failure-delay-ms": "0"}


def plain(user, password):
    return base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()


def session(mail, port="submission"):
    """A Raw client after EHLO and STARTTLS; None when refused at connect
    (the greeting is then in .refusal of the returned tuple)."""
    r = Raw(mail.port(port))
    if r.greeting[0] != 220:
        return r
    r.cmd("EHLO client.test")
    assert r.cmd("STARTTLS")[0] == 220
    r.starttls(mail.tls_context())
    r.cmd("EHLO client.test")
    return r


def login(mail, user, password):
    """One login over submission: (code, text) of the greeting when it was
    refused at connect, else of the AUTH reply."""
    r = session(mail)
    try:
        if r.greeting[0] != 220:
            return r.greeting[:2]
        try:
            return r.cmd("AUTH PLAIN " + plain(user, password))[:2]
        except EOFError:
            return (0, "closed")
    finally:
        r.close()


def screen_list(mail):
    r = run_postino(mail.bin, ["screen", "list", "--json"], data=mail.dd.path)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def restart(mail, start_server):
    assert mail.server.stop() == 0
    mail.server.assert_clean_log()
    mark = len(mail.server.log())  # the new server appends to the same log
    mail.server = start_server(mail.dd, wait=False)
    mail.server.wait_for_log(" ready ", start=mark)


@pytest.fixture
def fast(postino_bin, make_datadir, start_server):
    return make_mail(postino_bin, make_datadir, start_server, sets=FAST)


def test_brute_force_blocks_the_address_and_locks_the_account(fast):
    mail = fast
    answers = [login(mail, ALICE, "guess-%d" % i) for i in range(50)]
    # 5 wrong passwords lock alice, the 10th failure blocks the address;
    # everything after that is refused at connect, before any greeting
    assert [a[0] for a in answers[:4]] == [535] * 4
    assert all(a[1].startswith("5.7.8 Authentication credentials invalid") for a in answers[:5])
    assert all(a[0] == 535 and "temporarily locked" in a[1] for a in answers[5:9]), answers[5:9]
    assert all(a[0] in (421, 0) for a in answers[9:]), answers[9:12]
    assert answers[-1][0] == 421 and answers[-1][1].startswith("4.7.0 Too many failed logins")
    assert "blocked until" in answers[-1][1]

    # the right password is refused while blocked, on every SMTP port
    assert login(mail, ALICE, PASSWORDS[ALICE])[0] == 421
    assert Raw(mail.port("smtp")).greeting[0] == 421
    with pytest.raises(smtplib.SMTPConnectError) as ei:
        smtplib.SMTP_SSL("127.0.0.1", mail.port("submissions"), timeout=TIMEOUT,
                         context=mail.tls_context())
    assert ei.value.smtp_code == 421

    blocks = {(b["kind"], b["subject"]): b for b in screen_list(mail)}
    assert set(blocks) == {("ip", "127.0.0.1"), ("account", ALICE)}
    assert blocks[("ip", "127.0.0.1")]["failures"] == 10
    assert "alice@example.test x" in blocks[("ip", "127.0.0.1")]["detail"]
    assert blocks[("account", ALICE)]["failures"] == 5
    assert blocks[("account", ALICE)]["detail"] == "127.0.0.1 x5"
    human = mail.cli("screen", "list").stdout
    assert "127.0.0.1" in human and ALICE in human and "postino screen unblock" in human

    # lifting the address is not enough: alice is still locked
    out = mail.cli("screen", "unblock", "127.0.0.1").stdout
    assert "address 127.0.0.1 unblocked" in out
    code, text = login(mail, ALICE, PASSWORDS[ALICE])
    assert code == 535 and "temporarily locked" in text
    mail.cli("screen", "unblock", ALICE)
    assert login(mail, ALICE, PASSWORDS[ALICE]) == (235, "2.7.0 Authentication successful")
    assert screen_list(mail) == []

    reasons = [r["reason"] for r in mail.journal()]
    assert reasons.count("screen.ip-block") == 1
    assert reasons.count("screen.account-lock") == 1
    assert reasons.count("screen.unblock") == 2
    assert reasons.count("policy.auth-failed") == 5
    assert reasons.count("policy.auth-locked") >= 4
    block = mail.journal("screen.ip-block")[0]
    assert block["ip"] == "127.0.0.1" and block["decision"] == "block"
    assert "10 failed logins within 10m" in block["detail"]
    lock = mail.journal("screen.account-lock")[0]
    assert lock["account"] == ALICE and "from: 127.0.0.1 x5" in lock["detail"]
    unblocks = mail.journal("screen.unblock")
    assert unblocks[0]["ip"] == "127.0.0.1" and unblocks[1]["account"] == ALICE
    assert all(u["actor"].startswith("cli:") for u in unblocks)
    assert mail.journal("policy.auth-ok")[-1]["account"] == ALICE


def test_password_spraying_is_caught_by_the_address_counter(fast):
    """Many names, one guess each: no account counter moves far, the
    address counter blocks. Then the brief's sequence: the right password
    is refused while blocked, and works after `screen unblock`."""
    mail = fast
    names = ["user%d@example.test" % i for i in range(40)] + [BOB, CAROL]
    answers = [login(mail, n, "Summer2026!") for n in names[:50]]
    assert [a[0] for a in answers[:9]] == [535] * 9
    assert all(a[0] in (421, 0) for a in answers[10:])
    assert login(mail, ALICE, PASSWORDS[ALICE])[0] == 421
    blocks = screen_list(mail)
    assert [(b["kind"], b["subject"]) for b in blocks] == [("ip", "127.0.0.1")]
    assert "user0@example.test x1" in blocks[0]["detail"]
    # an unknown name is journalled as such; the client heard the same words
    assert len(mail.journal("policy.auth-unknown-user")) == 10
    mail.cli("screen", "unblock", "127.0.0.1")
    assert login(mail, ALICE, PASSWORDS[ALICE])[0] == 235


def test_account_lock_refuses_the_right_password_and_spares_others(
        postino_bin, make_datadir, start_server):
    mail = make_mail(postino_bin, make_datadir, start_server,
                     sets=dict(FAST, **{"screen.account-failures": "3",
                                        "screen.account-lock": "1h"}))
    for i in range(3):
        assert login(mail, ALICE, "wrong-%d" % i)[0] == 535
    code, text = login(mail, ALICE, PASSWORDS[ALICE])
    assert code == 535
    assert text == ("5.7.8 Authentication failed: account temporarily locked after too many "
                    "failed logins, try again later")
    # the address is not blocked and other accounts log in
    assert login(mail, BOB, PASSWORDS[BOB])[0] == 235
    with mail.submission(user=BOB) as s:
        s.noop()
    (lock,) = screen_list(mail)
    assert lock["kind"] == "account" and lock["subject"] == ALICE
    assert lock["until_ms"] - lock["since_ms"] == 3600 * 1000
    # a login name is screened in its canonical form
    code, text = login(mail, "Alice@EXAMPLE.test", PASSWORDS[ALICE])
    assert code == 535 and "temporarily locked" in text
    # unblock: the right password works, and the count starts again
    mail.cli("screen", "unblock", ALICE)
    assert login(mail, ALICE, PASSWORDS[ALICE])[0] == 235
    assert login(mail, ALICE, "one-more-typo")[0] == 535
    assert login(mail, ALICE, PASSWORDS[ALICE])[0] == 235
    r = run_postino(mail.bin, ["screen", "unblock", ALICE], data=mail.dd.path)
    assert r.returncode == 1 and "is not locked" in r.stderr


def test_success_restarts_the_account_count(postino_bin, make_datadir, start_server):
    mail = make_mail(postino_bin, make_datadir, start_server,
                     sets=dict(FAST, **{"screen.account-failures": "3"}))
    for _ in range(3):
        assert login(mail, ALICE, "typo")[0] == 535
        assert login(mail, ALICE, "typo")[0] == 535
        assert login(mail, ALICE, PASSWORDS[ALICE])[0] == 235
    assert screen_list(mail) == []


def test_block_survives_a_restart_and_expires_by_itself(
        postino_bin, make_datadir, start_server):
    mail = make_mail(postino_bin, make_datadir, start_server,
                     sets=dict(FAST, **{"screen.ip-failures": "3", "screen.ip-block": "3s",
                                        "screen.account-failures": "0"}))
    assert [login(mail, ALICE, "x%d" % i)[0] for i in range(3)] == [535, 535, 421]
    assert login(mail, ALICE, PASSWORDS[ALICE])[0] == 421
    restart(mail, start_server)
    assert login(mail, ALICE, PASSWORDS[ALICE])[0] == 421
    assert [b["subject"] for b in screen_list(mail)] == ["127.0.0.1"]
    time.sleep(3.2)
    assert screen_list(mail) == []
    assert login(mail, ALICE, PASSWORDS[ALICE])[0] == 235


def test_failures_survive_a_restart(postino_bin, make_datadir, start_server):
    """Restarting the server hands an attacker no fresh set of guesses."""
    mail = make_mail(postino_bin, make_datadir, start_server,
                     sets=dict(FAST, **{"screen.account-failures": "4"}))
    for i in range(3):
        assert login(mail, ALICE, "x%d" % i)[0] == 535
    restart(mail, start_server)
    code, _ = login(mail, ALICE, "x3")
    assert code == 535
    code, text = login(mail, ALICE, PASSWORDS[ALICE])
    assert code == 535 and "temporarily locked" in text


def test_open_sessions_of_a_blocked_address_are_closed(postino_bin, make_datadir,
                                                       start_server):
    mail = make_mail(postino_bin, make_datadir, start_server,
                     sets=dict(FAST, **{"screen.ip-failures": "3",
                                        "screen.account-failures": "0"}))
    # a logged-in session and an idle one on the MX port, both from 127.0.0.1
    bob = session(mail)
    assert bob.cmd("AUTH PLAIN " + plain(BOB, PASSWORDS[BOB]))[0] == 235
    mx = Raw(mail.port("smtp"))
    assert mx.cmd("EHLO peer.test")[0] == 250
    for i in range(2):
        assert login(mail, ALICE, "x%d" % i)[0] == 535
    # the failure that blocks is answered with the block itself
    code, text = login(mail, ALICE, "x2")
    assert code == 421 and text.startswith("4.7.0 Too many failed logins from your address")
    for r in (bob, mx):
        code, text, _ = r.reply()
        assert code == 421 and text.startswith("4.7.0 Too many failed logins")
        assert r.closed()
    kicked = mail.journal("screen.ip-blocked")
    assert len(kicked) >= 2 and any(k["account"] == BOB for k in kicked)


def test_expired_password_is_not_a_failure(fast):
    mail = fast
    mail.cli("user", "set", ALICE, "password-max-age=1")
    with mail.db() as c:
        c.execute("UPDATE accounts SET password_changed_at = ? WHERE address = ?",
                  (int(time.time()) - 3 * 86400, ALICE))
    for _ in range(12):  # past both thresholds
        code, text = login(mail, ALICE, PASSWORDS[ALICE])
        assert code == 535 and "password expired, change it in webmail" in text
    assert screen_list(mail) == []
    assert len(mail.journal("policy.auth-expired")) == 12
    assert mail.journal("screen.") == []
    # `user passwd` restarts the clock
    mail.cli("user", "passwd", ALICE, "--password-stdin", input="a-new-password\n")
    assert login(mail, ALICE, "a-new-password")[0] == 235


def test_disabled_account_with_the_right_password_is_not_a_failure(fast):
    mail = fast
    mail.cli("user", "set", ALICE, "disabled=yes", "reason=audit")
    for _ in range(6):
        code, text = login(mail, ALICE, PASSWORDS[ALICE])
        assert code == 535 and "account disabled" in text
    assert screen_list(mail) == []


def test_trusted_networks_are_never_blocked(postino_bin, make_datadir, start_server):
    mail = make_mail(postino_bin, make_datadir, start_server,
                     sets=dict(FAST, **{"screen.trusted": "10.0.0.0/8, 127.0.0.0/8"}))
    for i in range(15):
        assert login(mail, ALICE, "x%d" % i)[0] == 535
    assert login(mail, ALICE, PASSWORDS[ALICE])[0] == 235
    assert screen_list(mail) == []
    assert mail.journal("screen.") == []


def test_bad_trusted_network_is_refused_by_init(make_datadir, postino_bin, workdir):
    r = run_postino(postino_bin, ["init", "--hostname", "mail.example.test", "--set",
                                  "screen.trusted=192.168.1.7/24"],
                    data=workdir + "/bad")
    assert r.returncode != 0 and "screen.trusted" in r.stderr


def test_failed_logins_are_slowed_without_stalling_the_server(
        postino_bin, make_datadir, start_server):
    mail = make_mail(postino_bin, make_datadir, start_server,
                     sets={"screen.failure-delay-ms": "800"})
    r = session(mail)
    start = time.time()
    r.send("AUTH PLAIN " + plain(ALICE, "wrong") + "\r\n")
    # meanwhile another client is served at once: the loop is not blocked
    other = Raw(mail.port("submission"))
    assert other.cmd("EHLO other.test")[0] == 250
    assert time.time() - start < 0.6
    other.close()
    code, text, _ = r.reply()
    elapsed = time.time() - start
    assert code == 535 and elapsed >= 0.75, elapsed
    # the session goes on after the refusal
    assert r.cmd("AUTH PLAIN " + plain(ALICE, PASSWORDS[ALICE]))[0] == 235
    r.close()


def test_wrong_name_and_wrong_password_look_the_same(fast):
    """Same code, same words, similar time (the unknown name is checked
    against a dummy hash)."""
    mail = fast

    def timed(user, password):
        r = session(mail)
        start = time.perf_counter()
        reply = r.cmd("AUTH PLAIN " + plain(user, password))[:2]
        elapsed = time.perf_counter() - start
        r.close()
        return reply, elapsed

    wrong = [timed(ALICE, "wrong-%d" % i) for i in range(3)]
    unknown = [timed("nobody%d@example.test" % i, "wrong") for i in range(3)]
    nopass = []
    mail.cli("user", "add", "dave@example.test")
    nopass.append(timed("dave@example.test", "anything"))
    replies = {w[0] for w in wrong} | {u[0] for u in unknown} | {n[0] for n in nopass}
    assert replies == {(535, "5.7.8 Authentication credentials invalid")}
    t_wrong = statistics.median(t for _, t in wrong)
    t_unknown = statistics.median(t for _, t in unknown)
    assert t_unknown >= 0.3 * t_wrong, (t_unknown, t_wrong)


def test_screen_cli_usage(fast):
    mail = fast
    r = run_postino(mail.bin, ["screen", "unblock"], data=mail.dd.path)
    assert r.returncode == 2
    r = run_postino(mail.bin, ["screen", "list", "extra"], data=mail.dd.path)
    assert r.returncode == 2
    assert mail.cli("screen", "list").stdout.strip() == \
        "no address is blocked and no account is locked"
