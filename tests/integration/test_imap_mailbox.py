# SPDX-License-Identifier: ISC
"""IMAP mailbox commands with imaplib and a raw client: LIST (LIST-EXTENDED,
LIST-STATUS, SPECIAL-USE, CHILDREN), LSUB, STATUS (SIZE, HIGHESTMODSEQ),
CREATE (CREATE-SPECIAL-USE), DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE,
SELECT/EXAMINE/CLOSE/UNSELECT, modified UTF-7 and UTF8=ACCEPT names, and
the names that must never reach another account's mail."""
import os

import pytest

from imap_helpers import ALICE, BOB, imail  # noqa: F401

DEFAULTS = ['(\\HasNoChildren) "/" "INBOX"',
            '(\\HasNoChildren \\Archive) "/" "Archive"',
            '(\\HasNoChildren \\Drafts) "/" "Drafts"',
            '(\\HasNoChildren \\Junk) "/" "Junk"',
            '(\\HasNoChildren \\Sent) "/" "Sent"',
            '(\\HasNoChildren \\Trash) "/" "Trash"']


def lines(untagged, prefix):
    return [u[len(prefix):] for u in untagged if u.startswith(prefix)]


def maildir(imail, addr):
    local, domain = addr.split("@")
    return os.path.join(imail.dd.path, "mail", domain, local)


def test_list_defaults_and_delimiter(imail):
    m = imail.imaps()
    typ, data = m.list()
    assert typ == "OK" and [d.decode() for d in data] == DEFAULTS
    r = imail.raw(login=True)
    assert r.cmd('LIST "" ""') == ("OK LIST completed.", ['* LIST (\\Noselect) "/" ""'])
    res, u = r.cmd('LIST (SPECIAL-USE) "" "*"')
    assert lines(u, "* LIST ") == DEFAULTS[1:]
    res, u = r.cmd('LIST "" "*" RETURN (SUBSCRIBED CHILDREN SPECIAL-USE)')
    assert lines(u, "* LIST ")[0] == '(\\HasNoChildren \\Subscribed) "/" "INBOX"'
    res, u = r.cmd('LIST "" ("INBOX" "Sent")')
    assert lines(u, "* LIST ") == [DEFAULTS[0], DEFAULTS[4]]
    res, u = r.cmd('LIST "" "inbox"')
    assert lines(u, "* LIST ") == [DEFAULTS[0]]
    m.logout()


def test_list_status(imail):
    imail.deliver()
    imail.deliver()
    r = imail.raw(login=True)
    res, u = r.cmd('LIST "" "INBOX" RETURN (STATUS (MESSAGES UNSEEN UIDNEXT SIZE))')
    assert res == "OK LIST completed."
    assert u[0] == '* LIST (\\HasNoChildren) "/" "INBOX"'
    assert u[1].startswith('* STATUS "INBOX" (MESSAGES 2 UIDNEXT 3 UNSEEN 2 SIZE ')


def test_hierarchy_create_rename_delete(imail):
    m = imail.imaps()
    assert m.create("Projects/2024/")[0] == "OK"  # trailing separator dropped
    assert m.create("Projects/2025")[0] == "OK"
    r = imail.raw(login=True)
    res, u = r.cmd('LIST "" "%"')
    # "Projects" is no mailbox, but has children: walkable with %
    assert '* LIST (\\Noselect \\HasChildren) "/" "Projects"' in u
    res, u = r.cmd('LIST "Projects/" "%"')
    assert lines(u, "* LIST ") == ['(\\HasNoChildren) "/" "Projects/2024"',
                                   '(\\HasNoChildren) "/" "Projects/2025"']
    assert m.create("Projects")[0] == "OK"
    res, u = r.cmd('LIST "" "Projects"')
    assert lines(u, "* LIST ") == ['(\\HasChildren) "/" "Projects"']
    assert m.rename("Projects", "Work")[0] == "OK"
    res, u = r.cmd('LIST "" "Work*"')
    assert lines(u, "* LIST ") == ['(\\HasChildren) "/" "Work"',
                                   '(\\HasNoChildren) "/" "Work/2024"',
                                   '(\\HasNoChildren) "/" "Work/2025"']
    assert m.delete("Work/2024")[0] == "OK"
    typ, data = m.delete("Work/2024")
    assert typ == "NO" and data[0] == b"[NONEXISTENT] Mailbox does not exist"
    typ, data = m.create("Work")
    assert typ == "NO" and data[0] == b"[ALREADYEXISTS] Mailbox already exists"
    typ, data = m.create("inbox")
    assert typ == "NO" and data[0].startswith(b"[ALREADYEXISTS]")
    typ, data = m.delete("INBOX")
    assert typ == "NO" and data[0] == b"[CANNOT] INBOX cannot be deleted"
    typ, data = m.rename("Nope", "Other")
    assert typ == "NO" and data[0].startswith(b"[NONEXISTENT]")
    typ, data = m.rename("Work", "Work/sub")
    assert typ == "NO" and data[0].startswith(b"[CANNOT]")
    m.logout()


def test_create_special_use(imail):
    r = imail.raw(login=True)
    assert r.cmd("CREATE Receipts (USE (\\Archive))")[0] == "OK CREATE completed."
    res, u = r.cmd('LIST "" Receipts')
    assert u == ['* LIST (\\HasNoChildren \\Archive) "/" "Receipts"']
    assert r.cmd("CREATE Odd (USE (\\Bogus))")[0] == \
        "NO [USEATTR] Unsupported special-use attribute"


@pytest.mark.parametrize("name", ['"../bob"', '"a/../b"', '"/etc"', '"a//b"', '"."', '".."',
                                  '"Foo/"', '"&Jjo"', '"&AGE-"', '"x\\\\y/.."', '"a/./b"'])
def test_bad_names_are_refused(imail, name):
    """No name reaches outside the account's own Maildir."""
    r = imail.raw(login=True)
    before = sorted(os.listdir(os.path.join(imail.dd.path, "mail", "example.test")))
    res, _ = r.cmd("CREATE %s" % name)
    if name == '"Foo/"':  # a trailing separator is only a hint (RFC 9051 6.3.4)
        assert res == "OK CREATE completed."
        return
    assert res.startswith("NO [CANNOT] Invalid mailbox name"), res
    assert r.cmd("SELECT %s" % name)[0].startswith("NO ")
    assert r.cmd("RENAME INBOX %s" % name)[0].startswith("NO [CANNOT]")
    assert r.cmd("APPEND %s {3+}\r\nx\r\n" % name)[0].startswith("NO ")
    assert sorted(os.listdir(os.path.join(imail.dd.path, "mail", "example.test"))) == before
    assert "store.bad-name" in [e["reason"] for e in imail.journal("store.", service="imap")]


def test_no_way_into_another_account(imail):
    imail.deliver(to=BOB, subject="bob's secret")
    r = imail.raw(login=True)
    for name in ('"../bob"', '"../../example.test/bob"', '"~bob"', '"#shared/bob"',
                 '"/var/lib"', '"bob@example.test"'):
        res, _ = r.cmd("SELECT %s" % name)
        assert res.startswith("NO "), (name, res)
        res, u = r.cmd('LIST "" %s' % name)
        assert not any("secret" in x for x in u)
    bob = imail.imaps(user=BOB)
    bob.select("INBOX")
    assert bob.search(None, "ALL")[1] == [b"1"]
    bob.logout()


def test_modified_utf7_and_utf8_accept(imail):
    r = imail.raw(login=True)
    assert r.cmd('CREATE "Entw&APw-rfe"')[0] == "OK CREATE completed."
    res, u = r.cmd('LIST "" "Entw*"')
    assert u == ['* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"']
    # stored as Dovecot does: ".Entw&APw-rfe"
    assert os.path.isdir(os.path.join(maildir(imail, ALICE), ".Entw&APw-rfe"))
    assert r.cmd("ENABLE UTF8=ACCEPT")[1] == ["* ENABLED UTF8=ACCEPT"]
    res, u = r.cmd('LIST "" "Entw*"')
    assert u[0].startswith("* LIST (\\HasNoChildren) \"/\" ")
    assert "Entwürfe".encode() in u[0].encode("utf-8", "surrogateescape") or "Entwürfe" in u[0]
    r.close()


def test_subscriptions(imail):
    m = imail.imaps()
    m.create("Lists")
    assert m.unsubscribe("Junk")[0] == "OK"
    assert m.subscribe("Lists")[0] == "OK"
    assert m.subscribe("Ghost")[0] == "OK"  # a name that is no mailbox (RFC 3501 6.3.6)
    names = [d.decode() for d in m.lsub()[1]]
    assert '() "/" "Lists"' in names and '(\\Noselect) "/" "Ghost"' in names
    assert not any(n.endswith('"Junk"') for n in names)
    r = imail.raw(login=True)
    res, u = r.cmd('LIST (SUBSCRIBED) "" "*"')
    assert '* LIST (\\NonExistent \\Subscribed) "/" "Ghost"' in u
    assert '* LIST (\\HasNoChildren \\Subscribed) "/" "Lists"' in u
    m.logout()


def test_status(imail):
    imail.deliver()
    imail.deliver()
    m = imail.imaps()
    typ, data = m.status("INBOX", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN SIZE "
                                  "HIGHESTMODSEQ DELETED)")
    assert typ == "OK"
    text = data[0].decode()
    assert text.startswith('"INBOX" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY ')
    assert " UNSEEN 2 RECENT 0 SIZE " in text and " DELETED 0)" in text
    typ, data = m.status("Nope", "(MESSAGES)")
    assert typ == "NO" and data[0] == b"[NONEXISTENT] Mailbox does not exist"
    m.logout()
    r = imail.raw(login=True)
    assert r.cmd("STATUS INBOX (BOGUS)")[0].startswith("BAD Syntax: STATUS")


def test_select_examine_close_unselect(imail):
    for _ in range(3):
        imail.deliver()
    r = imail.raw(login=True)
    res, u = r.cmd("SELECT INBOX")
    assert res == "OK [READ-WRITE] SELECT completed."
    assert u[0] == "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"
    assert "* 3 EXISTS" in u and "* 0 RECENT" in u and "* OK [UNSEEN 1] First unseen." in u
    assert any(x.startswith("* OK [UIDVALIDITY ") for x in u)
    assert "* OK [UIDNEXT 4] Predicted next UID" in u
    assert any(x.startswith("* OK [HIGHESTMODSEQ ") for x in u)
    # SELECT moved the new mail from new/ to cur/ (as Dovecot does)
    assert imail.maildir(ALICE, "new") == [] and len(imail.maildir(ALICE, "cur")) == 3
    r.cmd("STORE 1 +FLAGS (\\Deleted)")
    res, u = r.cmd("EXAMINE INBOX")
    assert u[0] == "* OK [CLOSED] Previous mailbox closed."
    assert res == "OK [READ-ONLY] EXAMINE completed."
    assert r.cmd("STORE 2 +FLAGS (\\Seen)")[0] == "NO [READ-ONLY] Mailbox is read-only"
    assert r.cmd("EXPUNGE")[0] == "NO [READ-ONLY] Mailbox is read-only"
    assert r.cmd("CLOSE")[0] == "OK Close completed."  # read-only: nothing expunged
    r.cmd("SELECT INBOX")
    assert r.cmd("UNSELECT")[0] == "OK Unselect completed."
    res, u = r.cmd("SELECT INBOX")
    assert "* 3 EXISTS" in u
    assert r.cmd("CLOSE") == ("OK Close completed.", [])  # silently expunges
    res, u = r.cmd("SELECT INBOX")
    assert "* 2 EXISTS" in u
    assert r.cmd("SELECT Nope")[0] == "NO [NONEXISTENT] Mailbox does not exist"
    assert r.cmd("FETCH 1 FLAGS")[0] == "BAD No mailbox selected"  # the failed SELECT closed it
