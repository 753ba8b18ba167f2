# SPDX-License-Identifier: ISC
"""The MIME parser (src/mail/mime.c) against an independent one.

Every message of the corpus is parsed twice: by postino, through the
hidden dump mode of the unit test program (`test-mime FILE` prints the tree
as JSON), and by Python's `email` package (policy=compat32, the
long-standing parser). The part trees must agree on what a client sees:
content types, their parameters, dispositions, file names, number of parts
and nesting. We also check that the BODYSTRUCTURE and ENVELOPE strings are
well-formed IMAP (balanced lists, exact literals, sizes inside the file).

The corpus is the email test data shipped with Python (Debian package
libpython3.11-testsuite, installed by scripts/deps) plus our own tricky
messages in tests/golden/mime/. The two parsers legitimately differ on some
broken mail; each accepted difference is a rule below with its reason, and
anything else fails the test with the path of the part that differs.
"""
import email
import email.header
import email.policy
import email.utils
import glob
import json
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY_DATA = sorted(glob.glob("/usr/lib/python3*/test/test_email/data/msg_*.txt"))
OUR_DATA = sorted(glob.glob(os.path.join(ROOT, "tests/golden/mime/*.eml")))

# Python test messages that are not MIME at all, or that only exercise
# Python-specific behaviour; they are still parsed (so they cannot crash
# us) but their trees are not compared.
NOT_COMPARED = {}


def dump_program():
    """build/tests/test-mime (or build-asan/, next to $POSTINO_BIN)."""
    bin_path = os.environ.get("POSTINO_BIN")
    build = os.path.dirname(bin_path) if bin_path else os.path.join(ROOT, "build")
    prog = os.path.join(build, "tests", "test-mime")
    if not os.path.exists(prog):
        target = os.path.relpath(prog, ROOT)
        subprocess.run(["make", "-C", ROOT, target], check=True,
                       capture_output=True)
    return prog


def our_parse(path):
    out = subprocess.run([dump_program(), path], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    assert b"runtime error" not in out.stderr and b"Sanitizer" not in out.stderr, out.stderr
    return json.loads(out.stdout)


def as_text(s):
    """A header string from Python (8-bit octets as surrogates) the way the
    dump prints it: UTF-8 when it is, otherwise octets as Latin-1."""
    if s is None:
        return None
    if isinstance(s, email.header.Header):
        s = str(s)
    b = s.encode("utf-8", "surrogateescape")
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")


def decode_words(s):
    """RFC 2047 words in a parameter (Outlook and Gmail write file names
    this way): we decode them, compat32 leaves that to the caller."""
    if s is None or "=?" not in s:
        return s
    try:
        return str(email.header.make_header(email.header.decode_header(s)))
    except (UnicodeDecodeError, LookupError, email.errors.HeaderParseError):
        return s


def py_param(msg, name, header):
    v = msg.get_param(name, header=header)
    if v is None:
        return None
    if isinstance(v, tuple):
        v = email.utils.collapse_rfc2231_value(v)
    return as_text(v)


COMMENT = re.compile(r"\s*\([^()]*\)\s*$")


def py_params(msg, header):
    """{name: value} as Python's get_param() answers for each name."""
    if msg.get(header) is None:
        return {}
    result = {}
    for name, _ in msg.get_params(header=header)[1:]:
        name = name.lower().strip()
        if name in result or "=" in name:
            continue
        raw = msg.get_param(name, header=header)
        if raw == "" and not re.search(r"(^|;)\s*%s\s*=" % re.escape(name),
                                       str(msg.get(header)), re.I):
            # Accepted difference: "a parameter without '='" - Python
            # lists it with an empty value; it is no attribute=value
            # pair (RFC 2045 5.1), we drop it as Dovecot does.
            continue
        result[name] = py_param(msg, name, header)
    return result


def our_params(params):
    """{name: utf8 value}, the way mime_param_get() picks among repeats."""
    result = {}
    for name, utf8, _value, _extended, rfc2231 in params:
        if name not in result or rfc2231:
            result[name] = utf8
    return result


def norm_value(ours, theirs):
    """Values equal up to the accepted differences?"""
    if ours == theirs:
        return True
    if theirs is None or ours is None:
        return False
    # Accepted difference: "comments in parameter values" - compat32 keeps
    # "us-ascii (Plain text)" whole; RFC 2045 5.1 allows comments there and
    # we drop them, like every IMAP server.
    bare = COMMENT.sub("", theirs)
    if bare == ours or (len(bare) > 1 and bare[0] == bare[-1] == '"' and bare[1:-1] == ours):
        return True
    # Accepted difference: "encoded-words in parameters" (see decode_words).
    if decode_words(theirs) == ours:
        return True
    # Accepted difference: "<...> around a value" - compat32's unquote()
    # strips angle brackets too (it serves Message-IDs); RFC 2045 does not.
    if theirs == ours.strip("<>") and ours.startswith("<"):
        return True
    # Accepted difference: "undecodable RFC 2231 charset" - compat32 turns
    # unknown charsets into U+FFFD replacements, we guess (UTF-8, else
    # Windows-1252) so searches still match.
    if "\ufffd" in theirs and len(theirs) == len(ours):
        return True
    return False


def reuses_boundary(ours, boundaries):
    """Does a multipart below ours use one of the boundaries enclosing it?"""
    for c in ours["children"]:
        if "multipart" in c["flags"]:
            b = our_params(c["params"]).get("boundary")
            if b in boundaries or reuses_boundary(c, boundaries + (b,)):
                return True
    return False


def compare(ours, msg, path, problems, boundaries=()):
    """Append to problems every way our part differs from msg; boundaries
    are those of the multiparts enclosing it."""
    where = path or "(message)"
    ptype = msg.get_content_type()
    flags = ours["flags"]
    if ours["type"] != ptype:
        if "truncated" in flags:
            # Opaque containers keep their type; fine.
            pass
        elif (ptype == "text/plain" and msg.get("content-type") is not None) or \
                re.sub(r"\([^()]*\)|\s", "", ptype) == ours["type"]:
            # Accepted difference: "loosely written type" - compat32 only
            # checks for exactly one '/', so "text/html (comment)" is a
            # type of its own to it, and an invalid one text/plain; we read
            # RFC 2045 5.1 tokens around comments and white space.
            pass
        else:
            problems.append("%s: type %s, python says %s" % (where, ours["type"], ptype))
            return
    mine, theirs = our_params(ours["params"]), py_params(msg, "content-type")
    for name in sorted(set(mine) | set(theirs)):
        if not norm_value(mine.get(name), theirs.get(name)):
            problems.append("%s: content-type param %s=%r, python says %r"
                            % (where, name, mine.get(name), theirs.get(name)))
    pdisp = msg.get_content_disposition()
    if ours["disposition"] != pdisp:
        problems.append("%s: disposition %r, python says %r" % (where, ours["disposition"], pdisp))
    if pdisp is not None:
        mine, theirs = our_params(ours["disposition_params"]), py_params(msg, "content-disposition")
        for name in sorted(set(mine) | set(theirs)):
            if not norm_value(mine.get(name), theirs.get(name)):
                problems.append("%s: disposition param %s=%r, python says %r"
                                % (where, name, mine.get(name), theirs.get(name)))
    pname = as_text(msg.get_filename())
    if not norm_value(ours["filename"], pname):
        problems.append("%s: filename %r, python says %r" % (where, ours["filename"], pname))

    children = ours["children"]
    if "no-boundary" in flags:
        # Accepted difference: "boundary missing or never found" - compat32
        # keeps the multipart as a leaf holding the raw text; IMAP needs a
        # multipart to have parts (RFC 3501 body-type-mpart), so we give it
        # one text/plain child spanning the body (clients show the text).
        if msg.is_multipart():
            problems.append("%s: we found no boundary, python found %d parts"
                            % (where, len(msg.get_payload())))
        return
    if "truncated" in flags:
        # Accepted difference: "encoded message/rfc822" - RFC 2046 5.2.1
        # allows only 7bit/8bit/binary there; compat32 parses base64 text
        # as a message anyway, we keep it opaque (its bytes are not a
        # message until decoded, so BODY[n.1] offsets could not exist).
        return
    if ptype.startswith("message/") and ptype != "message/rfc822":
        # Accepted difference: "other message/* types" - compat32 also
        # parses message/delivery-status etc. into header blocks; IMAP
        # encapsulates only MESSAGE/RFC822 (RFC 3501 7.4.2).
        if children:
            problems.append("%s: %s has children" % (where, ptype))
        return
    boundary = our_params(ours["params"]).get("boundary") if "multipart" in flags else None
    if boundary is not None:
        boundaries = boundaries + (boundary,)
    if reuses_boundary(ours, boundaries):
        # Accepted difference: "a multipart reusing an enclosing boundary"
        # (Outlook Express for Mac did this). RFC 2046 5.1.2 forbids it,
        # so either reading is a guess: we match the innermost open
        # multipart first, which keeps the parts where the sender put them
        # (msg_15: the image after the inner close-delimiter stays an
        # attachment); compat32 matches the outer one, leaves the inner
        # multipart empty and loses what follows into the epilogue.
        return
    theirs = msg.get_payload() if msg.is_multipart() else []
    if len(children) != len(theirs):
        problems.append("%s: %d parts, python says %d" % (where, len(children), len(theirs)))
        return
    for i, (c, m) in enumerate(zip(children, theirs)):
        compare(c, m, "%s%d" % (path + "." if path else "", i + 1), problems, boundaries)


IMAP_TOKEN = re.compile(rb'\s*(?:(\()|(\))|(NIL)|(\d+)|"((?:[^"\\\r\n]|\\["\\])*)"|\{(\d+)\}\r\n)')


def check_imap_syntax(s, size):
    """s is one well-formed parenthesised IMAP list; numbers <= 2*size."""
    data = s.encode("latin-1") if isinstance(s, str) else s
    pos, depth = 0, 0
    while True:
        m = IMAP_TOKEN.match(data, pos)
        assert m, "bad IMAP syntax at %d: %r" % (pos, data[pos:pos + 40])
        pos = m.end()
        if m.group(1):
            depth += 1
        elif m.group(2):
            depth -= 1
            assert depth >= 0
        elif m.group(4):
            assert int(m.group(4)) <= 2 * size + 2
        elif m.group(6):
            n = int(m.group(6))
            assert pos + n <= len(data)
            pos += n
        if depth == 0:
            break
    assert pos == len(data), "junk after list: %r" % data[pos:]


def parse_imap(data):
    """An IMAP list (bytes) as nested Python lists of bytes/int/None."""
    stack, pos = [[]], 0
    while pos < len(data):
        m = IMAP_TOKEN.match(data, pos)
        assert m, data[pos:pos + 40]
        pos = m.end()
        if m.group(1):
            stack.append([])
        elif m.group(2):
            done = stack.pop()
            stack[-1].append(done)
        elif m.group(3):
            stack[-1].append(None)
        elif m.group(4):
            stack[-1].append(int(m.group(4)))
        elif m.group(5) is not None:
            stack[-1].append(re.sub(rb'\\(.)', rb'\1', m.group(5)))
        else:
            n = int(m.group(6))
            stack[-1].append(data[pos:pos + n])
            pos += n
    return stack[0][0]


MISSING_HOST = b".MISSING-HOST-NAME."
ENVELOPE_ADDRESSES = [(2, "from"), (5, "to"), (6, "cc"), (7, "bcc")]


def our_addresses(field):
    """(name, addr-spec) of the mailboxes of an ENVELOPE address list."""
    result = []
    for name, _adl, mailbox, host in field or []:
        if host is None:
            continue  # group markers: compat32 flattens groups
        addr = mailbox if host == MISSING_HOST else mailbox + b"@" + host
        result.append((as_text((name or b"").decode("utf-8", "surrogateescape")),
                       as_text(addr.decode("utf-8", "surrogateescape"))))
    return result


def py_addresses(msg, header):
    # raw_items(): 8-bit values as written (get() would hand out a Header
    # with U+FFFD for them); the first field of that name, as ours
    values = [v for k, v in msg.raw_items() if k.lower() == header]
    if not values:
        return []
    # compat32 keeps the folding; getaddresses() reads it as white space
    value = as_text(values[0])
    if re.search(r"<\s*@", value):
        # Accepted difference: "obsolete source routes" - getaddresses()
        # splits "<@r1,@r2:u@h>" at its comma (and in strict mode then
        # drops the whole field); we read obs-route (RFC 5322 4.4) and
        # send it as addr-adl. Compare without its stray "@r2" fragment.
        try:
            pairs = email.utils.getaddresses([value], strict=False)
        except TypeError:  # a Python without the strict mode
            pairs = email.utils.getaddresses([value])
        pairs = [(n, a) for n, a in pairs if not a.startswith("@")]
    else:
        pairs = email.utils.getaddresses([value])
    return [(n, a) for n, a in pairs if (n, a) != ("", "")]


def compare_envelope(envelope, msg, problems):
    for index, header in ENVELOPE_ADDRESSES:
        ours, theirs = our_addresses(envelope[index]), py_addresses(msg, header)
        if ours == theirs:
            continue
        # Accepted difference: "mailbox without a domain" - for
        # "John Smith" getaddresses() keeps the first word as the address;
        # we keep the words (IMAP shows them with .MISSING-HOST-NAME.).
        # Accepted difference: "several comments" - with no display name,
        # getaddresses() joins every comment into the name; we take the
        # last one, as Dovecot does ("(work) a@b (Ann)" is Ann).
        if len(ours) == len(theirs) and all(
                o == t or (o[0] == t[0] and "@" not in o[1] and o[1].split()[0] == t[1])
                or (o[1] == t[1] and o[0] and t[0].endswith(o[0]))
                for o, t in zip(ours, theirs)):
            continue
        problems.append("%s: %r, python says %r" % (header, ours, theirs))


def corpus():
    return [pytest.param(p, id=os.path.basename(p)) for p in PY_DATA + OUR_DATA]


@pytest.mark.skipif(not PY_DATA and not OUR_DATA, reason="no corpus")
@pytest.mark.parametrize("path", corpus())
def test_mime_tree_matches_python(path):
    with open(path, "rb") as f:
        raw = f.read()
    ours = our_parse(path)
    assert ours["size"] == len(raw)
    for key in ("bodystructure", "body", "envelope"):
        text = ours[key]
        # the dump prints non-UTF-8 octets as \u00XX: back to octets
        check_imap_syntax(text.encode("utf-8") if all(ord(c) < 0x80 for c in text)
                          else text.encode("latin-1", "replace"), len(raw))
    if os.path.basename(path) in NOT_COMPARED:
        return
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    problems = []
    compare(ours["tree"], msg, "", problems)
    env = ours["envelope"]
    compare_envelope(parse_imap(env.encode("utf-8") if all(ord(c) < 0x80 for c in env)
                                else env.encode("latin-1", "replace")), msg, problems)
    assert not problems, "\n".join(problems)


def test_corpus_present():
    """Python's test data is installed by scripts/deps; without it this
    comparison would silently shrink to our own few messages."""
    assert PY_DATA, "install libpython3.11-testsuite (scripts/deps)"
