"""IMAP THREAD (RFC 5256): REFERENCES and ORDEREDSUBJECT. The trees are
worked out by hand in the comments beside the corpus."""
import pytest

from imap_sortlib import Client, fill


def msg(mid, refs, subject, date):
    h = ""
    if mid:
        h += "Message-ID: %s\r\n" % mid
    if refs:
        h += refs + "\r\n"
    h += "Subject: %s\r\n" % subject
    if date:
        h += "Date: %s\r\n" % date
    return (h + "From: a@x.org\r\n\r\nbody\r\n").encode()


IN = "01-Jun-2024 00:00:00 +0000"
CORPUS = [
    # 1..4, 12: one conversation; 4 answers 1 by In-Reply-To only
    (msg("<a@x>", None, "Plans", "Mon, 01 Jan 2024 10:00:00 +0000"), IN),
    (msg("<b@x>", "References: <a@x>", "Re: Plans", "Mon, 01 Jan 2024 11:00:00 +0000"), IN),
    (msg("<c@x>", "References: <a@x>\r\n <b@x>", "Re: Plans",
         "Mon, 01 Jan 2024 12:00:00 +0000"), IN),
    (msg("<d@x>", "In-Reply-To: <a@x>", "RE: Plans", "Mon, 01 Jan 2024 10:30:00 +0000"), IN),
    # 5, 6: replies to a message not in the mailbox: a dummy parent kept
    # (two children at the root level), children by date: 6 then 5
    (msg("<e@x>", "References: <missing@x>", "Re: Lost parent",
         "Tue, 02 Jan 2024 09:00:00 +0000"), IN),
    (msg("<f@x>", "References: <missing@x>", "Re: Lost parent",
         "Tue, 02 Jan 2024 08:00:00 +0000"), IN),
    # 7, 8: 8's parent is missing (dummy with one child: pruned), then
    # gathered under 7 by subject because 8's subject is a reply
    (msg("<g@x>", None, "Lunch", "Mon, 01 Jan 2024 09:00:00 +0000"), IN),
    (msg("<h@x>", "References: <gone@x>", "Re: Lunch", "Wed, 03 Jan 2024 09:00:00 +0000"), IN),
    # 9: no Message-ID, no Date: internal date (earliest of all)
    (msg(None, None, "Solo", None), "31-Dec-2023 12:00:00 +0000"),
    # 10: duplicate Message-ID of 1: gets a unique one, its own thread
    (msg("<a@x>", None, "Plans again", "Thu, 04 Jan 2024 09:00:00 +0000"), IN),
    # 11: a chain of two missing parents: both dummies pruned
    (msg("<k@x>", "References: <zz1@x> <zz2@x>", "Deep", "Fri, 05 Jan 2024 09:00:00 +0000"),
     IN),
    # 12: References skip b: linked under c, whose parent stays b
    (msg("<l@x>", "References: <a@x> <c@x>", "Re: Plans", "Mon, 01 Jan 2024 13:00:00 +0000"),
     IN),
    # 13, 14: non-ASCII subjects (RFC 2047), ASCII case folded only
    (msg("<m@x>", None, "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", "Sat, 06 Jan 2024 09:00:00 +0000"), IN),
    (msg("<n@x>", None, "Re: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=", "Sat, 06 Jan 2024 12:00:00 +0000"),
     IN),
]


@pytest.fixture
def box(roost):
    c = Client(roost)
    fill(c, CORPUS, junk_first=True)     # UIDs are sequence numbers + 1
    return c


def thread(c, alg, search=b"ALL", uid=False):
    line = c.untagged((b"UID THREAD " if uid else b"THREAD ") + alg + b" UTF-8 " + search,
                      b"THREAD")
    return line[len(b"* THREAD"):].strip().decode()


def test_references(box):
    # roots by date: 9 (Dec 31), 7 (09:00), 1 (10:00), dummy (its first
    # child 6), 10, 11, 13
    assert thread(box, b"REFERENCES") == \
        "(9)(7 8)(1 (4)(2 3 12))((6)(5))(10)(11)(13 14)"
    assert thread(box, b"REFERENCES", uid=True) == \
        "(10)(8 9)(2 (5)(3 4 13))((7)(6))(11)(12)(14 15)"


def test_references_missing_parent_in_chain(box):
    # without 2, its container is a dummy between 1 and 3: pruned, so 3
    # becomes a child of 1 beside 4
    assert thread(box, b"REFERENCES", b"NOT 2") == \
        "(9)(7 8)(1 (4)(3 12))((6)(5))(10)(11)(13 14)"
    assert thread(box, b"REFERENCES", b"SUBJECT plans") == "(1 (4)(2 3 12))(10)"
    # only replies to a missing message, one of them: no dummy left
    assert thread(box, b"REFERENCES", b"5") == "(5)"
    assert thread(box, b"REFERENCES", b"SUBJECT nothing") == ""


def test_orderedsubject(box):
    # per base subject, by date; first message is the parent of the rest;
    # threads by the date of their first message
    assert thread(box, b"ORDEREDSUBJECT") == \
        "(9)(7 8)(1 (4)(2)(3)(12))(6 5)(10)(11)(13 14)"
    assert thread(box, b"orderedsubject", b"UID 2:5", uid=True) == "(2 (5)(3)(4))"


@pytest.mark.parametrize("line", [
    b"THREAD FOO UTF-8 ALL",
    b"THREAD REFERENCES",
    b"THREAD REFERENCES UTF-8",
    b"THREAD (REFERENCES) UTF-8 ALL",
    b"THREAD REFERENCES UTF-8 BOGUSKEY",
])
def test_thread_bad(box, line):
    assert box.cmd(line)[-1].split()[1] == b"BAD"
    assert box.cmd(b"NOOP")[-1].split()[1] == b"OK"


def test_thread_badcharset(box):
    out = box.cmd(b"THREAD REFERENCES ISO-2022-JP ALL")
    assert out[-1].split()[1:3] == [b"NO", b"[BADCHARSET"], out


def test_thread_long_chain(roost):
    # a long reply chain (one thread, written iteratively) and a
    # References loop
    c = Client(roost)
    n = 300
    for i in range(1, n + 1):
        refs = " ".join("<m%d@x>" % j for j in range(max(1, i - 20), i))
        m = msg("<m%d@x>" % i, "References: " + refs if refs else None, "Re: chain",
                "Mon, 01 Jan 2024 10:00:00 +0000")
        c.ok(b"APPEND INBOX {%d+}\r\n%s" % (len(m), m))
    # 301 and 302 reference each other: the second link would close a
    # loop and is not made, so 302 (already 301's parent) stays the root
    for mid, ref in (("<loopA@x>", "<loopB@x>"), ("<loopB@x>", "<loopA@x>")):
        m = msg(mid, "References: " + ref, "loop", None)
        c.ok(b"APPEND INBOX {%d+}\r\n%s" % (len(m), m))
    c.ok(b"SELECT INBOX")
    t = thread(c, b"REFERENCES")
    assert t == "(" + " ".join(str(i) for i in range(1, n + 1)) + ")(%d %d)" % (n + 2, n + 1)
