# SPDX-License-Identifier: ISC
"""IMAP4rev2 (RFC 9051) next to IMAP4rev1, with a raw line client and
imaplib: both versions advertised; ENABLE IMAP4rev2; what changes once a
client enables it (RFC 9051 Appendix E) and what stays as it was for a
client that does not: SELECT without RECENT/UNSEEN but with LIST, SEARCH
answered by ESEARCH, UID in every unsolicited FETCH, UTF-8 mailbox names
instead of modified UTF-7. Also the rev2 rules that hold for both: DELETE
of a level with children (HASCHILDREN, RFC 9051 6.3.5), UIDs never
reused after DELETE, SEARCHRES's SAVE with MIN/MAX (RFC 5182 2.1), LIST
RECURSIVEMATCH with CHILDINFO (RFC 5258), and the extensions RFC 9051
folds in (NAMESPACE, UNSELECT, UIDPLUS, MOVE, LITERAL-, IDLE, SASL-IR,
BINARY, STATUS SIZE/DELETED, response codes)."""
import base64
import re
import time

from imap_helpers import ALICE, PASSWORDS, imail  # noqa: F401

MSG = "From: a@example.test\r\nSubject: appended\r\n\r\nhello there\r\n"


def rev2(imail, select=None):
    """A logged-in raw session with IMAP4rev2 enabled."""
    r = imail.raw(login=True)
    res, u = r.cmd("ENABLE IMAP4rev2")
    assert (res, u) == ("OK Enabled.", ["* ENABLED IMAP4rev2"])
    if select:
        assert r.cmd("SELECT " + select)[0].startswith("OK [READ-WRITE]")
    return r


def rev1(imail, select=None):
    r = imail.raw(login=True)
    if select:
        assert r.cmd("SELECT " + select)[0].startswith("OK [READ-WRITE]")
    return r


def deliver(imail, n):
    for i in range(n):
        imail.deliver(subject="message %d" % (i + 1))


def append(r, mailbox, msg=MSG):
    """APPEND with a LITERAL- non-synchronising literal (RFC 7888, part of
    RFC 9051: up to 4096 bytes)."""
    tag = r.tag()
    r.send("%s APPEND %s {%d+}\r\n%s\r\n" % (tag, mailbox, len(msg.encode()), msg))
    return r.wait(tag)


def esearch(r, body):
    return '* ESEARCH (TAG "t%d")%s' % (r.n, body)


# ---- capabilities and ENABLE ----

def test_both_versions_advertised(imail):
    r = imail.raw(tls=True)
    assert r.greeting.startswith("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 ")
    r.close()
    r = imail.raw(tls=False)  # before STARTTLS too (RFC 9051 6.1.1)
    assert "IMAP4rev2" in r.greeting.split() and "LOGINDISABLED" in r.greeting
    r.close()
    m = imail.imaps()
    caps = m.capability()[1][0].decode().split()
    # RFC 9051 Appendix E: what rev2 folds in is all advertised as well
    for cap in ("IMAP4rev1", "IMAP4rev2", "NAMESPACE", "UNSELECT", "UIDPLUS", "ESEARCH",
                "SEARCHRES", "ENABLE", "IDLE", "SASL-IR", "LIST-EXTENDED", "LIST-STATUS",
                "MOVE", "LITERAL+", "BINARY", "SPECIAL-USE", "STATUS=SIZE"):
        assert cap in caps, cap
    typ, data = m.enable("IMAP4rev2")
    assert typ == "OK" and m.untagged_responses.get("ENABLED") == [b"IMAP4rev2"]
    m.logout()


def test_enable_imap4rev2(imail):
    r = imail.raw(login=True)
    assert r.cmd("ENABLE UTF8=ACCEPT")[1] == ["* ENABLED UTF8=ACCEPT"]
    # rev2 is its own bit: still reported although names are UTF-8 already
    assert r.cmd("ENABLE IMAP4rev2")[1] == ["* ENABLED IMAP4rev2"]
    assert r.cmd("ENABLE IMAP4rev2") == ("OK Enabled.", ["* ENABLED"])
    r = imail.raw(login=True)
    assert r.cmd("ENABLE IMAP4rev2 UTF8=ACCEPT CONDSTORE X-UNKNOWN")[1] == \
        ["* ENABLED IMAP4rev2 UTF8=ACCEPT CONDSTORE"]
    r = imail.raw(login=False)
    assert r.cmd("ENABLE IMAP4rev2")[0] == "BAD Log in first"


# ---- SELECT / EXAMINE ----

def test_select_rev1_keeps_recent_and_unseen(imail):
    deliver(imail, 2)
    r = rev1(imail)
    res, u = r.cmd("SELECT INBOX")
    assert res == "OK [READ-WRITE] SELECT completed."
    assert "* 0 RECENT" in u and "* OK [UNSEEN 1] First unseen." in u
    assert not any(x.startswith("* LIST ") for x in u)


def test_select_rev2_lists_instead_of_recent_and_unseen(imail):
    deliver(imail, 2)
    r = rev2(imail)
    res, u = r.cmd("SELECT INBOX")
    assert res == "OK [READ-WRITE] SELECT completed."
    assert not any("RECENT" in x or "[UNSEEN" in x for x in u), u
    # RFC 9051 6.3.2: FLAGS, EXISTS and LIST, and the OK codes
    assert u[0].startswith("* FLAGS (")
    assert u.index('* LIST (\\HasNoChildren) "/" "INBOX"') == u.index("* 2 EXISTS") + 1
    assert any(x.startswith("* OK [PERMANENTFLAGS (") for x in u)
    assert any(x.startswith("* OK [UIDVALIDITY ") for x in u)
    assert "* OK [UIDNEXT 3] Predicted next UID" in u
    # attributes are accurate: special use, children
    assert r.cmd("CREATE Sent/2025")[0] == "OK CREATE completed."
    res, u = r.cmd("EXAMINE Sent")
    assert res == "OK [READ-ONLY] EXAMINE completed."
    assert u[0] == "* OK [CLOSED] Previous mailbox closed."
    assert '* LIST (\\HasChildren \\Sent) "/" "Sent"' in u
    assert not any("RECENT" in x for x in u)
    assert r.cmd("SELECT Nope")[0] == "NO [NONEXISTENT] Mailbox does not exist"


# ---- SEARCH ----

def test_search_answers_esearch_in_rev2_only(imail):
    deliver(imail, 3)
    r1 = rev1(imail, "INBOX")
    assert r1.cmd("SEARCH ALL") == ("OK Search completed.", ["* SEARCH 1 2 3"])
    assert r1.cmd("UID SEARCH 2:3") == ("OK Search completed.", ["* SEARCH 2 3"])
    r = rev2(imail, "INBOX")
    r.cmd("STORE 2 +FLAGS (\\Seen)")
    res, u = r.cmd("SEARCH ALL")
    assert (res, u) == ("OK Search completed.", [esearch(r, " ALL 1:3")])
    res, u = r.cmd("SEARCH UNSEEN")
    assert u == [esearch(r, " ALL 1,3")]
    res, u = r.cmd("UID SEARCH SEEN")
    assert u == [esearch(r, " UID ALL 2")]
    res, u = r.cmd("SEARCH DELETED")  # nothing found: no ALL
    assert u == [esearch(r, "")]
    res, u = r.cmd("SEARCH CHARSET UTF-8 SUBJECT message")
    assert u == [esearch(r, " ALL 1:3")]
    # explicit RETURN options answer as before
    res, u = r.cmd("SEARCH RETURN (COUNT MIN) ALL")
    assert u == [esearch(r, " MIN 1 COUNT 3")]
    assert r.cmd("SEARCH RETURN (SAVE) SEEN") == ("OK Search completed.", [])
    res, u = r.cmd("UID SEARCH $")
    assert u == [esearch(r, " UID ALL 2")]
    # CONDSTORE's MODSEQ rides in the ESEARCH response (RFC 7162 3.1.10)
    res, u = r.cmd("SEARCH MODSEQ 1")
    assert re.fullmatch(r'\* ESEARCH \(TAG "t%d"\) ALL 1:3 MODSEQ \d+' % r.n, u[0]), u
    assert r.cmd("SEARCH BOGUSKEY")[0] == "BAD Invalid SEARCH arguments"
    assert r.cmd("SEARCH CHARSET KOI8-R ALL")[0].startswith("NO [BADCHARSET")


def test_searchres_save_with_min_max(imail):
    """RFC 5182 2.1: SAVE with MIN and/or MAX (and neither ALL nor COUNT)
    saves only those; a failed SAVE leaves "$" empty."""
    deliver(imail, 4)
    r = rev1(imail, "INBOX")

    def saved():
        res, u = r.cmd("UID FETCH $ (UID)")
        assert res.endswith("completed."), res
        return [int(re.match(r"\* \d+ FETCH \(UID (\d+)\)", x).group(1)) for x in u]

    r.cmd("SEARCH RETURN (MIN SAVE) ALL")
    assert saved() == [1]
    r.cmd("SEARCH RETURN (MAX SAVE) ALL")
    assert saved() == [4]
    r.cmd("SEARCH RETURN (MIN MAX SAVE) 2:3")
    assert saved() == [2, 3]
    r.cmd("SEARCH RETURN (MIN MAX SAVE) 3")
    assert saved() == [3]
    r.cmd("SEARCH RETURN (MIN ALL SAVE) 2:4")
    assert saved() == [2, 3, 4]
    r.cmd("SEARCH RETURN (COUNT MAX SAVE) 1:2")
    assert saved() == [1, 2]
    assert r.cmd("SEARCH RETURN (SAVE) BOGUSKEY")[0].startswith("BAD")
    assert saved() == []
    r.cmd("SEARCH RETURN (SAVE) 1:2")
    assert r.cmd("SEARCH RETURN (SAVE) 1:99999")[0].startswith("BAD")  # bad set
    assert saved() == []


# ---- unsolicited FETCH carries UID in rev2 ----

def test_unsolicited_fetch_has_uid_in_rev2(imail):
    deliver(imail, 3)
    a1 = rev1(imail, "INBOX")
    a2 = rev2(imail, "INBOX")
    b = rev1(imail, "INBOX")
    b.cmd("STORE 2 +FLAGS.SILENT (\\Flagged)")
    assert a1.cmd("NOOP")[1] == ["* 2 FETCH (FLAGS (\\Flagged))"]
    assert a2.cmd("NOOP")[1] == ["* 2 FETCH (UID 2 FLAGS (\\Flagged))"]
    # and during IDLE
    a2.send("i IDLE\r\n")
    assert a2.line() == "+ idling"
    b.cmd("STORE 3 +FLAGS.SILENT (\\Seen)")
    assert a2.line() == "* 3 FETCH (UID 3 FLAGS (\\Seen))"
    a2.send("DONE\r\n")
    assert a2.wait("i")[0] == "OK Idle completed."
    # a FETCH the client asked for is not unsolicited: unchanged
    assert a2.cmd("FETCH 2 (FLAGS)")[1] == ["* 2 FETCH (FLAGS (\\Flagged))"]


# ---- mailbox names: modified UTF-7 (rev1), UTF-8 (rev2) ----

def test_mailbox_names_utf8_in_rev2(imail):
    r1 = rev1(imail)
    assert r1.cmd('CREATE "&AOk-t&AOk-"')[0] == "OK CREATE completed."
    r = rev2(imail)
    res, u = r.cmd('LIST "" "*t*"')
    assert '* LIST (\\HasNoChildren) "/" "été"' in u
    assert r.cmd('CREATE "Über/Straße"')[0] == "OK CREATE completed."
    res, u = r.cmd('LIST "" "Über/%"')
    assert u == ['* LIST (\\HasNoChildren) "/" "Über/Straße"']
    res, u = r.cmd('STATUS "été" (MESSAGES)')
    assert u == ['* STATUS "été" (MESSAGES 0)']
    res, u = r.cmd('SELECT "Über/Straße"')
    assert '* LIST (\\HasNoChildren) "/" "Über/Straße"' in u
    # the rev1 session still sees modified UTF-7
    res, u = r1.cmd('LIST "" "*"')
    assert '* LIST (\\HasNoChildren) "/" "&ANw-ber/Stra&AN8-e"' in u
    assert '* LIST (\\HasNoChildren) "/" "&AOk-t&AOk-"' in u
    # rev2 names are UTF-8: invalid UTF-8 is refused
    tag = r.tag()
    r.send(b"%s CREATE \"bad\xff\"\r\n" % tag.encode())
    assert r.wait(tag)[0].startswith("BAD")


# ---- DELETE: hierarchy, UIDs ----

def test_delete_with_children_and_noselect_levels(imail):
    for r in (rev1(imail), rev2(imail)):
        assert r.cmd("CREATE Projects/2024")[0] == "OK CREATE completed."
        # "Projects" is only a level (\Noselect): deleting it is an error
        assert r.cmd('LIST "" "Projects"')[1] == []
        res, u = r.cmd('LIST "" "%"')
        assert '* LIST (\\Noselect \\HasChildren) "/" "Projects"' in u
        assert r.cmd("DELETE Projects")[0] == \
            "NO [HASCHILDREN] Not a mailbox, only a level of its children: delete them first"
        # a real mailbox with children may be deleted; the children stay
        assert r.cmd("CREATE Projects")[0] == "OK CREATE completed."
        assert r.cmd("DELETE Projects")[0] == "OK DELETE completed."
        res, u = r.cmd('LIST "" "Projects*"')
        assert u == ['* LIST (\\HasNoChildren) "/" "Projects/2024"']
        assert r.cmd("DELETE Projects/2024")[0] == "OK DELETE completed."
        assert r.cmd("DELETE Projects")[0] == "NO [NONEXISTENT] Mailbox does not exist"
    reasons = [e["reason"] for e in imail.journal("store.", service="imap")]
    assert "store.has-children" not in reasons  # a client's mistake, not an event


def test_delete_then_create_never_reuses_uids(imail):
    r = rev2(imail)
    assert r.cmd("CREATE Box")[0] == "OK CREATE completed."
    res, _ = append(r, "Box")
    v1, uid1 = map(int, re.match(r"OK \[APPENDUID (\d+) (\d+)\]", res).groups())
    assert r.cmd("DELETE Box")[0] == "OK DELETE completed."
    assert r.cmd("CREATE Box")[0] == "OK CREATE completed."
    res, _ = append(r, "Box")
    v2, uid2 = map(int, re.match(r"OK \[APPENDUID (\d+) (\d+)\]", res).groups())
    # RFC 9051 6.3.5: same UIDs only under a new UIDVALIDITY
    assert v2 != v1 or uid2 > uid1


# ---- LIST ----

def test_list_recursivematch_childinfo(imail):
    r = rev2(imail)
    for name in ("Fruit", "Fruit/Apple", "Fruit/Banana", "Veg/Carrot"):
        assert r.cmd("CREATE " + name)[0] == "OK CREATE completed."
    for name in ("Fruit/Apple", "Veg/Carrot", "Gone/Thing"):
        assert r.cmd("SUBSCRIBE " + name)[0] == "OK SUBSCRIBE completed."
    res, u = r.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    assert res == "OK LIST completed."
    assert '* LIST (\\HasChildren) "/" "Fruit" ("CHILDINFO" ("SUBSCRIBED"))' in u
    assert '* LIST (\\Noselect \\HasChildren) "/" "Veg" ("CHILDINFO" ("SUBSCRIBED"))' in u
    assert '* LIST (\\NonExistent) "/" "Gone" ("CHILDINFO" ("SUBSCRIBED"))' in u
    assert not any('"Fruit/' in x for x in u)
    res, u = r.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "*"')
    assert '* LIST (\\HasNoChildren \\Subscribed) "/" "Fruit/Apple"' in u
    assert '* LIST (\\NonExistent \\Subscribed) "/" "Gone/Thing"' in u
    assert not any('"Fruit/Banana"' in x for x in u)
    # without RECURSIVEMATCH only the subscribed names themselves
    res, u = r.cmd('LIST (SUBSCRIBED) "" "%"')
    assert not any("CHILDINFO" in x or '"Fruit"' in x or '"Veg"' in x for x in u)
    # RFC 5258 3: RECURSIVEMATCH alone is BAD
    assert r.cmd('LIST (RECURSIVEMATCH) "" "%"')[0].startswith("BAD")
    assert r.cmd('LIST (REMOTE RECURSIVEMATCH) "" "%"')[0].startswith("BAD")
    # SPECIAL-USE selection (RFC 6154) with RECURSIVEMATCH
    assert r.cmd("CREATE Old/Receipts (USE (\\Archive))")[0] == "OK CREATE completed."
    res, u = r.cmd('LIST (SPECIAL-USE RECURSIVEMATCH) "" "Old"')
    assert u == ['* LIST (\\Noselect \\HasChildren) "/" "Old" ("CHILDINFO" ("SPECIAL-USE"))']


def test_list_extended_and_status_in_rev2(imail):
    deliver(imail, 2)
    r = rev2(imail)
    res, u = r.cmd('LIST (SPECIAL-USE) "" "*"')
    attrs = " ".join(u)
    for use in ("\\Sent", "\\Drafts", "\\Junk", "\\Trash", "\\Archive"):
        assert use in attrs, use
    res, u = r.cmd('LIST "" "INBOX" RETURN (STATUS (MESSAGES UNSEEN SIZE DELETED))')
    assert u[0] == '* LIST (\\HasNoChildren) "/" "INBOX"'
    assert re.fullmatch(r'\* STATUS "INBOX" \(MESSAGES 2 UNSEEN 2 SIZE \d+ DELETED 0\)', u[1]), u
    assert r.cmd('LIST "" ""')[1] == ['* LIST (\\Noselect) "/" ""']
    assert r.cmd("SUBSCRIBE Nowhere")[0] == "OK SUBSCRIBE completed."
    res, u = r.cmd('LIST (SUBSCRIBED) "" "Nowhere"')
    assert u == ['* LIST (\\NonExistent \\Subscribed) "/" "Nowhere"']
    # LSUB is deprecated in rev2 but still answered
    assert r.cmd('LSUB "" "Nowhere"')[1] == ['* LSUB (\\Noselect) "/" "Nowhere"']
    res, u = r.cmd("STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE)")
    assert re.fullmatch(r'\* STATUS "INBOX" \(MESSAGES 2 UIDNEXT 3 UIDVALIDITY \d+ UNSEEN 2 '
                        r'SIZE \d+ DELETED 0\)', u[0]), u


# ---- what RFC 9051 folds in, with rev2 enabled ----

def test_folded_extensions_in_rev2(imail):
    deliver(imail, 3)
    r = rev2(imail)
    assert r.cmd("NAMESPACE")[1] == ['* NAMESPACE (("" "/")) NIL NIL']
    res, _ = append(r, "INBOX")  # LITERAL- and UIDPLUS
    assert re.match(r"OK \[APPENDUID \d+ \d+\] Append completed\.", res), res
    assert append(r, "Nope")[0] == "NO [TRYCREATE] Mailbox does not exist"
    r.cmd("SELECT INBOX")
    assert r.cmd("COPY 1 Nope")[0] == "NO [TRYCREATE] Mailbox does not exist"
    res, u = r.cmd("MOVE 1 Archive")  # RFC 6851: COPYUID first, then EXPUNGE
    assert re.match(r"\* OK \[COPYUID \d+ 1 \d+\] Moved", u[0]), u
    assert u[1:] == ["* 1 EXPUNGE"] and res == "OK Move completed."
    res, u = r.cmd("UID COPY 2 Archive")
    assert re.match(r"OK \[COPYUID \d+ 2 \d+\] Copy completed\.", res), res
    r.cmd("UID STORE 2:3 +FLAGS.SILENT (\\Deleted)")
    assert r.cmd("UID EXPUNGE 3")[1] == ["* 2 EXPUNGE"]
    res, u = r.cmd("FETCH 1 (UID BINARY.SIZE[1] BINARY.PEEK[1])")
    assert u[0].startswith("* 1 FETCH (UID 2 BINARY.SIZE[1] ")
    assert r.cmd("UNSELECT")[0] == "OK Unselect completed."
    assert r.cmd("FETCH 1 (UID)")[0] == "BAD No mailbox selected"
    assert r.cmd("XYZZY")[0] == "BAD Unknown command XYZZY"
    # IDLE with rev2
    r.cmd("SELECT INBOX")
    r.send("i IDLE\r\n")
    assert r.line() == "+ idling"
    time.sleep(0.6)
    imail.deliver(subject="while idling")
    assert r.line() == "* 3 EXISTS"  # UIDs 2 and 4 were left
    r.send("DONE\r\n")
    assert r.wait("i")[0] == "OK Idle completed."


def test_sasl_ir_login_then_rev2_with_imaplib(imail):
    r = imail.raw(tls=True)
    token = base64.b64encode(("\0%s\0%s" % (ALICE, PASSWORDS[ALICE])).encode()).decode()
    res, _ = r.cmd("AUTHENTICATE PLAIN " + token)  # SASL-IR: no round trip
    assert res.startswith("OK [CAPABILITY IMAP4rev1 IMAP4rev2 ")
    assert r.cmd("ENABLE IMAP4rev2")[1] == ["* ENABLED IMAP4rev2"]
    r.close()
    # imaplib copes with a rev2 session (ESEARCH in place of SEARCH)
    imail.deliver(subject="imaplib")
    m = imail.imaps()
    m.enable("IMAP4rev2")
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"1"]
    typ, data = m._simple_command("SEARCH", "ALL")
    assert typ == "OK" and m.untagged_responses.get("ESEARCH", [b""])[0].endswith(b"ALL 1")
    assert m.fetch("1", "(UID FLAGS)")[1] == [b"1 (UID 1 FLAGS ())"]
    m.logout()
