"""IMAP SEARCH: the key grammar of RFC 3501/9051 over a corpus with
non-ASCII headers, quoted-printable, base64, HTML and attachments; CHARSET;
ESEARCH return options and SAVE ($); nesting limits."""
import base64
import re
import socket

import pytest

CORPUS = [
    # 1: plain ASCII, \Seen \Flagged
    (b"From: Bob <bob@example.org>\r\nTo: alice@example.com\r\nCc: carol@example.net\r\n"
     b"Subject: Quarterly report\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
     b"Message-ID: <1@example.org>\r\n\r\nThe numbers look good.\r\n",
     r"(\Seen \Flagged)", "01-Jan-2020 12:00:00 +0000"),
    # 2: RFC 2047 words, QP UTF-8 body, keyword
    (b"From: =?ISO-8859-1?Q?J=F6rg?= <jorg@example.de>\r\nTo: alice@example.com\r\n"
     b"Subject: =?UTF-8?Q?Caf=C3=A9_cr=C3=A8me?=\r\nDate: Sun, 1 Mar 2020 10:00:00 +0100\r\n"
     b"Message-ID: <2@example.de>\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
     b"\r\nLe caf=C3=A9 est pr=C3=AAt, =\r\nvraiment.\r\n",
     r"($Important)", "02-Jan-2020 12:00:00 +0000"),
    # 3: base64 Latin-1 body, Bcc, \Answered; Date late in its own day
    (b"From: Hans <hans@example.de>\r\nTo: alice@example.com\r\nBcc: dave@example.com\r\n"
     b"Subject: Greetings\r\nDate: Tue, 15 Jun 2021 23:30:00 -0500\r\n"
     b"Message-ID: <3@example.de>\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\n"
     + base64.encodebytes("Grüße aus München".encode("latin-1")).replace(b"\n", b"\r\n"),
     r"(\Answered)", "03-Jan-2020 12:00:00 +0000"),
    # 4: multipart/alternative with QP HTML, \Deleted \Draft, extra header
    (b"From: news@example.com\r\nTo: alice@example.com\r\nSubject: Newsletter\r\n"
     b"X-Mailer: RoostTest 1.0\r\nDate: Wed, 1 Jan 2025 08:00:00 +0000\r\n"
     b"Message-ID: <4@example.com>\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
     b"--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nplain version hello\r\n"
     b"--b1\r\nContent-Type: text/html; charset=utf-8\r\n"
     b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
     b"<html><head><style>.x{color:red}</style></head><p>Hello <b>W=C3=B6rld</b> &amp; =\r\n"
     b"friends</p><script>secretscript()</script></html>\r\n--b1--\r\n",
     r"(\Deleted \Draft)", "04-Jan-2020 12:00:00 +0000"),
    # 5: attachment (binary, must not match) and an attached message
    (b"From: carol@example.net\r\nTo: bob@example.org\r\nSubject: Fwd: stuff\r\n"
     b"Date: Thu, 2 Jan 2025 09:00:00 +0000\r\nMessage-ID: <5@example.net>\r\n"
     b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
     b"--m\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
     b"--m\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
     + base64.b64encode(b"zebra-binary-payload") + b"\r\n"
     b"--m\r\nContent-Type: message/rfc822\r\n\r\n"
     b"From: inner@example.org\r\nSubject: Inner subject xylophone\r\n\r\ninner body\r\n"
     b"--m--\r\n",
     r"()", "04-Jan-2020 13:00:00 +0000"),
]
N = len(CORPUS)
ALLN = set(range(1, N + 1))


def sizes():
    return [len(m) for m, _, _ in CORPUS]


def q(s):
    """A search string: quoted when ASCII, else a LITERAL+ literal."""
    b = s.encode()
    if all(32 <= c < 127 and c not in b'"\\' for c in b):
        return b'"' + b + b'"'
    return b"{%d+}\r\n" % len(b) + b


class Client:
    def __init__(self, roost):
        self.s = socket.create_connection(("127.0.0.1", roost.port("imap")), timeout=20)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.n = 0
        assert self.cmd(b"LOGIN alice@example.com secret")[-1].startswith(b"t1 OK")

    def cmd(self, line):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + line + b"\r\n")
        out = []
        while True:
            l = self.f.readline()
            assert l, "connection closed"
            out.append(l)
            if l.startswith(tag + b" "):
                return out

    def search(self, crit, uid=False):
        out = self.cmd((b"UID SEARCH " if uid else b"SEARCH ") + crit)
        assert out[-1].split()[1] == b"OK", out
        hits = [l for l in out if l.startswith(b"* SEARCH")]
        assert len(hits) == 1, out
        return set(int(x) for x in hits[0].split()[2:])


@pytest.fixture
def box(roost):
    c = Client(roost)
    for msg, flags, date in CORPUS:
        lit = b"{%d+}\r\n" % len(msg)
        r = c.cmd(b'APPEND INBOX %s "%s" %s%s' % (flags.encode(), date.encode(), lit, msg))
        assert r[-1].split()[1] == b"OK", r
    assert c.cmd(b"SELECT INBOX")[-1].split()[1] == b"OK"
    return c


def by_size(pred):
    return {i + 1 for i, n in enumerate(sizes()) if pred(n)}


TABLE = [
    ("ALL", ALLN),
    ("ANSWERED", {3}), ("UNANSWERED", ALLN - {3}),
    ("DELETED", {4}), ("UNDELETED", ALLN - {4}),
    ("DRAFT", {4}), ("UNDRAFT", ALLN - {4}),
    ("FLAGGED", {1}), ("UNFLAGGED", ALLN - {1}),
    ("SEEN", {1}), ("UNSEEN", ALLN - {1}),
    ("KEYWORD $Important", {2}), ("UNKEYWORD $Important", ALLN - {2}),
    ("KEYWORD $important", {2}),
    # header fields from the store's decoded index
    ("FROM bob", {1}), ("FROM BOB@EXAMPLE", {1}), ("FROM jörg", {2}), ("FROM JÖRG", {2}),
    ("SUBJECT café", {2}), ("SUBJECT CAFÉ", {2}), ("SUBJECT crème", {2}),
    ("SUBJECT =?UTF-8?", set()),
    ("TO alice", {1, 2, 3, 4}), ("CC carol", {1}), ("BCC dave", {3}),
    ("SUBJECT \"\"", ALLN),
    # bodies: decoded transfer encodings and charsets, HTML text only
    ("BODY \"numbers look\"", {1}), ("BODY Quarterly", set()),
    ("BODY \"café est prêt, vraiment\"", {2}), ("BODY CAFÉ", {2}),
    ("BODY grüße", {3}), ("BODY MÜNCHEN", {3}), ("BODY R3L", set()),
    ("BODY \"wörld & friends\"", {4}), ("BODY secretscript", set()),
    ("BODY color", set()), ("BODY \"<b>\"", set()), ("BODY \"plain version\"", {4}),
    ("BODY zebra", set()), ("BODY xylophone", {5}), ("BODY \"inner body\"", {5}),
    ("TEXT Quarterly", {1}), ("TEXT numbers", {1}), ("TEXT newsletter", {4}),
    ("TEXT \"jörg\"", {2}),
    # HEADER: indexed and raw fields; "" = has the field
    ("HEADER X-Mailer roosttest", {4}), ("HEADER X-Mailer \"\"", {4}),
    ("HEADER Message-ID \"<3@\"", {3}), ("HEADER Subject greet", {3}),
    ("HEADER Content-Transfer-Encoding base64", {3}),
    ("HEADER Received \"\"", set()),
    # dates: internal date, and the Date: field's own day
    ("BEFORE 03-Jan-2020", {1, 2}), ("ON 04-Jan-2020", {4, 5}), ("SINCE 03-Jan-2020", {3, 4, 5}),
    ("SENTON 7-Feb-1994", {1}), ("SENTON 8-Feb-1994", set()),
    ("SENTBEFORE 1-Jan-2000", {1}), ("SENTON 15-Jun-2021", {3}),
    ("SENTSINCE 1-Jan-2025", {4, 5}), ("SENTSINCE 2-Jan-2025", {5}),
    # sizes
    ("LARGER %d" % sorted(sizes())[2], by_size(lambda n: n > sorted(sizes())[2])),
    ("SMALLER %d" % sorted(sizes())[2], by_size(lambda n: n < sorted(sizes())[2])),
    # sets and logic
    ("2:4", {2, 3, 4}), ("1,5", {1, 5}), ("*", {5}), ("UID 4:*", {4, 5}), ("UID 2,9", {2}),
    ("NOT SEEN", ALLN - {1}), ("OR FLAGGED ANSWERED", {1, 3}), ("(FLAGGED SEEN)", {1}),
    ("NOT (OR SEEN DRAFT)", {2, 3, 5}), ("OR (FROM bob) BODY grüße", {1, 3}),
    ("UNDELETED BODY hello", set()), ("DELETED BODY hello", {4}),
    ("NOT NOT NOT FLAGGED", ALLN - {1}), ("1:3 NOT 2 UNSEEN", {3}),
    ("OR OR SEEN DRAFT ANSWERED", {1, 3, 4}),
]


def test_search_table(box):
    failures = []
    for crit, want in TABLE:
        toks = re.findall(r'"[^"]*"|\S+', crit)
        line = b"CHARSET UTF-8 " + b" ".join(
            t.encode() if t.isascii() else q(t.strip('"')) for t in toks)
        got = box.search(line)
        if got != want:
            failures.append((crit, sorted(got), sorted(want)))
    assert not failures, failures


def test_uid_search_answers_uids(box):
    box.cmd(b"STORE 1 -FLAGS (\\Flagged)")
    assert box.cmd(b"STORE 1 +FLAGS.SILENT (\\Deleted)")[-1].split()[1] == b"OK"
    assert box.cmd(b"EXPUNGE")[-1].split()[1] == b"OK"
    # now sequence numbers and UIDs differ by one
    # 1 and 4 (\\Deleted) are gone: UIDs 2 3 5 are sequence numbers 1 2 3
    assert box.search(b"FROM carol") == {3}
    assert box.search(b"FROM carol", uid=True) == {5}
    assert box.search(b"UID 5") == {3}
    assert box.search(b"2", uid=True) == {3}


def test_charset(box):
    out = box.cmd(b"SEARCH CHARSET ISO-8859-1 ALL")
    assert re.match(rb"t\d+ NO \[BADCHARSET \(UTF-8 US-ASCII\)\]", out[-1]), out
    assert box.search(b"CHARSET US-ASCII SUBJECT greetings") == {3}
    assert box.search(b"CHARSET utf-8 SUBJECT " + q("crème")) == {2}
    # without CHARSET a rev1 client's 8-bit string is still taken as UTF-8
    assert box.search(b"SUBJECT " + q("crème")) == {2}


def esearch(box, crit, uid=False):
    out = box.cmd((b"UID SEARCH " if uid else b"SEARCH ") + crit)
    assert out[-1].split()[1] == b"OK", out
    lines = [l for l in out if l.startswith(b"* ESEARCH")]
    return lines


def test_esearch_return_options(box):
    (l,) = esearch(box, b"RETURN (MIN MAX COUNT) UNSEEN")
    assert re.match(rb'\* ESEARCH \(TAG "t\d+"\) MIN 2 MAX 5 COUNT 4\r\n', l), l
    (l,) = esearch(box, b"RETURN () UNSEEN")
    assert re.match(rb'\* ESEARCH \(TAG "t\d+"\) ALL 2:5\r\n', l), l
    (l,) = esearch(box, b"RETURN (ALL) OR FLAGGED ANSWERED")
    assert l.rstrip().endswith(b"ALL 1,3"), l
    (l,) = esearch(box, b"RETURN (COUNT) BODY nothing-matches-this")
    assert re.match(rb'\* ESEARCH \(TAG "t\d+"\) COUNT 0\r\n', l), l
    (l,) = esearch(box, b"RETURN (MIN ALL) BODY nothing-matches-this")
    assert re.match(rb'\* ESEARCH \(TAG "t\d+"\)\r\n', l), l
    (l,) = esearch(box, b"RETURN (MAX) 1:4", uid=True)
    assert re.match(rb'\* ESEARCH \(TAG "t\d+"\) UID MAX 4\r\n', l), l
    out = box.cmd(b"SEARCH RETURN (BOGUS) ALL")
    assert out[-1].split()[1] == b"BAD"


def test_esearch_save_and_dollar(box):
    # SAVE alone: no ESEARCH response (RFC 5182 2.4)
    assert esearch(box, b"RETURN (SAVE) OR FLAGGED ANSWERED") == []
    assert box.search(b"$") == {1, 3}
    assert box.search(b"$ ANSWERED") == {3}
    assert box.search(b"OR $ DRAFT") == {1, 3, 4}
    # SAVE with MIN: only the minimum is saved
    (l,) = esearch(box, b"RETURN (SAVE MIN) UNSEEN")
    assert l.rstrip().endswith(b"MIN 2"), l
    assert box.search(b"$") == {2}
    # SAVE with MIN and MAX: both
    esearch(box, b"RETURN (SAVE MIN MAX) UNSEEN")
    assert box.search(b"$") == {2, 5}
    # a failing SEARCH ... SAVE empties the saved result
    assert box.cmd(b"SEARCH RETURN (SAVE) BOGUSKEY")[-1].split()[1] == b"BAD"
    assert box.search(b"$") == set()


def test_rev2_session_gets_esearch(roost, box):
    box = Client(roost)
    assert box.cmd(b"ENABLE IMAP4rev2")[-1].split()[1] == b"OK"
    box.cmd(b"SELECT INBOX")
    (l,) = esearch(box, b"FLAGGED")
    assert re.match(rb'\* ESEARCH \(TAG "t\d+"\) ALL 1\r\n', l), l
    (l,) = esearch(box, b"FLAGGED", uid=True)
    assert re.match(rb'\* ESEARCH \(TAG "t\d+"\) UID ALL 1\r\n', l), l


@pytest.mark.parametrize("crit", [
    b"", b"BOGUS", b"FROM", b"HEADER X-Mailer", b"BEFORE 32-Jan-2020", b"BEFORE yesterday",
    b"LARGER x", b"LARGER -1", b"OR SEEN", b"NOT", b"()", b"UID", b"UID x", b"0", b"1:x",
    b"KEYWORD", b"SENTON 1-Foo-2000", b"SEEN)",
])
def test_bad_keys(box, crit):
    out = box.cmd(b"SEARCH " + crit)
    assert out[-1].split()[1] == b"BAD", (crit, out)
    assert box.search(b"SEEN") == {1}


def test_nesting_and_count_limits(box):
    # within the 64 KB line limit: the SEARCH limits answer BAD
    for crit in (b"NOT " * 15000 + b"SEEN", b"(" * 30000 + b"SEEN" + b")" * 30000,
                 b"OR " * 7000 + b"SEEN " * 7001, b"SEEN " * 12000):
        out = box.cmd(b"SEARCH " + crit)
        assert out[-1].split()[1] == b"BAD", out[-1]
    # 100,000 NOTs: over the line limit, refused before parsing
    box.s.sendall(b"x SEARCH " + b"NOT " * 100000 + b"SEEN\r\n")
    line = box.f.readline()
    assert line.startswith(b"x BAD") or line.startswith(b"* BAD"), line
    # moderately deep is fine, and the session goes on
    assert box.search(b"NOT " * 20 + b"SEEN") == {1}
    assert box.search(b"(" * 30 + b"SEEN" + b")" * 30) == {1}
    assert box.search(b"SEEN") == {1}


def test_recent_new_old(roost):
    """\\Recent: the first session to see a message gets it (RFC 3501 2.3.2)."""
    for i in range(3):
        roost.deliver(b"From: x@example.org\r\nSubject: r%d\r\n\r\nhi\r\n" % i,
                      "alice@example.com")
    a = Client(roost)
    a.cmd(b"SELECT INBOX")
    a.cmd(b"STORE 1 +FLAGS (\\Seen)")
    assert a.search(b"RECENT") == {1, 2, 3}
    assert a.search(b"NEW") == {2, 3}
    assert a.search(b"OLD") == set()
    b = Client(roost)
    b.cmd(b"SELECT INBOX")
    assert b.search(b"RECENT") == set()
    assert b.search(b"OLD") == {1, 2, 3}
