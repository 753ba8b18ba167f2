# SPDX-License-Identifier: ISC
"""Postfix's smtp-source as a load client: many concurrent sessions, every
acknowledged message durable in the Maildir, nothing duplicated. A
correctness test under concurrency (group commit, pipelined replies);
throughput is measured by `make bench`, not here."""
import shutil
import subprocess

import pytest

from smtp_helpers import mail  # noqa: F401  (fixture)

# installed by scripts/deps (package postfix); a missing one fails the test
SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"


@pytest.mark.parametrize("sessions, count, size", [(10, 300, 4096), (5, 40, 100 * 1024)])
def test_smtp_source_concurrent_sessions(mail, sessions, count, size):
    r = subprocess.run([SMTP_SOURCE, "-s", str(sessions), "-m", str(count), "-l", str(size),
                        "-f", "load@remote.test", "-t", "bob@example.test",
                        "127.0.0.1:%d" % mail.port("smtp")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    msgs = mail.messages("bob@example.test")
    assert len(msgs) == count
    for m in msgs:
        assert m.startswith(b"Return-Path: <load@remote.test>\r\nDelivered-To: bob@example.test\r\n")
        assert len(m) > size
    accepted = [r for r in mail.journal("smtp.accepted", at_least=count)]
    assert len(accepted) == count
