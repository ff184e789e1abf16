"""IMAP SORT (RFC 5256), SORT=DISPLAY (RFC 5957), ESORT (RFC 5267) and
SORT with SEARCHRES (RFC 5182). Expected orders are worked out by hand in
the comments beside the corpus."""
import pytest

from imap_sortlib import Client, fill


def msg(hdrs, body_len):
    return hdrs.encode() + b"\r\n" + b"x" * (body_len - 2) + b"\r\n"


# seq: first From mailbox / display, To mailbox / display, Cc,
#      base subject, sent date (UTC), internal date, body bytes
CORPUS = [
    # 1: zed / "Zed Alpha", bob / bob@y.org, carol, "Banana", 02 10:00, 05, 2000
    (msg("From: \"Zed Alpha\" <zed@x.org>\r\nTo: bob@y.org\r\nCc: carol@z.org\r\n"
         "Subject: Re: Banana\r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\n", 2000),
     "05-Jan-2024 10:00:00 +0000"),
    # 2: amy / amy@x.org, yo / "Adam", -, "apple", 01 10:00, 04, 100
    (msg("From: amy@x.org\r\nTo: \"Adam\" <yo@y.org>\r\n"
         "Subject: apple\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n", 100),
     "04-Jan-2024 10:00:00 +0000"),
    # 3: Bob / "Bob B", alice / alice@example.com, -, "Cherry",
    #    no Date: internal date 01 09:00 stands in, 4000
    (msg("From: \"Bob B\" <Bob@x.org>\r\nTo: alice@example.com\r\n"
         "Subject: [list] Cherry\r\n", 4000),
     "01-Jan-2024 09:00:00 +0000"),
    # 4: emile / "Émile", zoe / "Zoe", aaron, "été", 02 10:00 (ties 1), 02, 1000
    (msg("From: =?UTF-8?Q?=C3=89mile?= <emile@x.org>\r\nTo: Zoe <zoe@y.org>\r\n"
         "Cc: \"Aaron\" <aaron@z.org>, carol@z.org\r\n"
         "Subject: =?UTF-8?Q?=C3=A9t=C3=A9?=\r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\n", 1000),
     "02-Jan-2024 10:00:00 +0000"),
    # 5: carl / carl@x.org, no To, -, "banana", 03 10:00 (12:00 +0200), 03, 3000
    (msg("From: <carl@x.org>\r\nSubject: Fwd: banana\r\n"
         "Date: Wed, 03 Jan 2024 12:00:00 +0200\r\n", 3000),
     "03-Jan-2024 10:00:00 +0000"),
    # 6: amy / "Mallory", undisclosed / undisclosed (a group is its name),
    #    -, "APPLE", 03 10:00 (ties 5), 06, 5000
    (msg("From: Mallory <amy@x.org>\r\nTo: undisclosed:; , bob@y.org\r\n"
         "Subject: APPLE (fwd)\r\nDate: Wed, 03 Jan 2024 10:00:00 +0000\r\n", 5000),
     "06-Jan-2024 10:00:00 +0000"),
]

ORDERS = [
    ("ARRIVAL", [3, 4, 5, 2, 1, 6]),
    ("REVERSE ARRIVAL", [6, 1, 2, 5, 4, 3]),
    # missing Date uses INTERNALDATE; equal dates keep sequence order
    ("DATE", [3, 2, 1, 4, 5, 6]),
    # REVERSE does not reverse the implicit sequence-order tie-break
    ("REVERSE DATE", [5, 6, 1, 4, 2, 3]),
    ("SIZE", [2, 4, 1, 5, 3, 6]),
    ("REVERSE SIZE", [6, 3, 5, 1, 4, 2]),
    # APPLE APPLE BANANA BANANA CHERRY été (non-ASCII after ASCII)
    ("SUBJECT", [2, 6, 1, 5, 3, 4]),
    ("REVERSE SUBJECT", [4, 3, 1, 5, 2, 6]),
    # amy amy Bob carl emile zed (case-insensitive ASCII)
    ("FROM", [2, 6, 3, 5, 4, 1]),
    # "" alice bob undisclosed yo zoe
    ("TO", [5, 3, 1, 6, 2, 4]),
    # "" x4 (sequence order), aaron, carol
    ("CC", [2, 3, 5, 6, 4, 1]),
    # amy@x.org, Bob B, carl@x.org, Mallory, Zed Alpha, Émile
    ("DISPLAYFROM", [2, 3, 5, 6, 1, 4]),
    # "", Adam, alice@example.com, bob@y.org, undisclosed, Zoe
    ("DISPLAYTO", [5, 2, 3, 1, 6, 4]),
    ("FROM REVERSE DATE", [6, 2, 3, 5, 4, 1]),
    ("SUBJECT REVERSE ARRIVAL", [6, 2, 1, 5, 3, 4]),
    ("reverse subject date", [4, 3, 1, 5, 2, 6]),
]


@pytest.fixture
def box(roost):
    c = Client(roost)
    fill(c, CORPUS, junk_first=True)     # UIDs are sequence numbers + 1
    return c


def sort(c, crit, search=b"ALL", uid=False):
    line = c.untagged((b"UID SORT (" if uid else b"SORT (") + crit.encode() + b") UTF-8 " + search,
                      b"SORT")
    return [int(x) for x in line.split()[2:]]


def test_capabilities(box):
    caps = box.untagged(b"CAPABILITY", b"CAPABILITY").split()
    for cap in (b"SORT", b"SORT=DISPLAY", b"ESORT", b"THREAD=REFERENCES",
                b"THREAD=ORDEREDSUBJECT"):
        assert cap in caps


@pytest.mark.parametrize("crit,order", ORDERS)
def test_sort_orders(box, crit, order):
    assert sort(box, crit) == order
    assert sort(box, crit, uid=True) == [n + 1 for n in order]


def test_sort_with_search_program(box):
    assert sort(box, "DATE", b"FROM amy") == [2, 6]
    assert sort(box, "REVERSE DATE", b"FROM amy") == [6, 2]
    assert sort(box, "SIZE", b"SUBJECT {5+}\r\n\xc3\xa9t\xc3\xa9") == [4]
    assert sort(box, "SUBJECT", b"OR LARGER 3500 SMALLER 500") == [2, 6, 3]
    assert sort(box, "DATE", b"SUBJECT nothing-matches") == []
    assert sort(box, "DATE", b"UID 3:5", uid=True) == [4, 3, 5]
    assert box.untagged(b"SORT (DATE) US-ASCII 2:3", b"SORT") == b"* SORT 3 2"


def test_esort(box):
    line = box.untagged(b"SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL", b"ESEARCH")
    # order 3 2 1 4 5 6: MIN/MAX are the first and last in sort order
    assert line == b'* ESEARCH (TAG "t%d") MIN 3 MAX 6 ALL 3,2,1,4:6 COUNT 6' % box.n
    line = box.untagged(b"UID SORT RETURN (MIN MAX) (REVERSE DATE) UTF-8 ALL", b"ESEARCH")
    # order 5 6 1 4 2 3 is UIDs 6 7 2 5 3 4
    assert line == b'* ESEARCH (TAG "t%d") UID MIN 6 MAX 4' % box.n
    line = box.untagged(b"SORT RETURN () (SIZE) UTF-8 ALL", b"ESEARCH")
    assert line == b'* ESEARCH (TAG "t%d") ALL 2,4,1,5,3,6' % box.n
    line = box.untagged(b"SORT RETURN (COUNT) (SIZE) UTF-8 SUBJECT nothing", b"ESEARCH")
    assert line == b'* ESEARCH (TAG "t%d") COUNT 0' % box.n


def test_sort_save_and_dollar(box):
    out = box.ok(b"SORT RETURN (SAVE) (DATE) UTF-8 FROM amy")
    assert not [l for l in out if l.startswith(b"* ")], out
    assert box.untagged(b"SEARCH $", b"SEARCH") == b"* SEARCH 2 6"
    assert sort(box, "REVERSE SIZE", b"$") == [6, 2]
    assert sort(box, "DATE", b"NOT $") == [3, 1, 4, 5]
    # SAVE with MIN alone saves the first message in sort order
    line = box.untagged(b"SORT RETURN (SAVE MIN) (REVERSE DATE) UTF-8 ALL", b"ESEARCH")
    assert line.endswith(b" MIN 5")
    assert box.untagged(b"SEARCH $", b"SEARCH") == b"* SEARCH 5"
    # a failing SORT ... SAVE empties the saved result (RFC 5182 2.1)
    assert box.cmd(b"SORT RETURN (SAVE) (DATE) KOI8-R ALL")[-1].split()[1] == b"NO"
    assert box.untagged(b"SEARCH $", b"SEARCH") == b"* SEARCH"


BAD = [
    b"SORT (FOO) UTF-8 ALL",
    b"SORT () UTF-8 ALL",
    b"SORT (REVERSE) UTF-8 ALL",
    b"SORT (REVERSE REVERSE DATE) UTF-8 ALL",
    b"SORT DATE UTF-8 ALL",
    b"SORT (DATE)",
    b"SORT (DATE) UTF-8",
    b"SORT (DATE) UTF-8 NOSUCHKEY",
    b"SORT (DATE) (UTF-8) ALL",
    b"SORT RETURN (BOGUS) (DATE) UTF-8 ALL",
    b"SORT RETURN DATE UTF-8 ALL",
    b"SORT (" + b" ".join([b"DATE"] * 17) + b") UTF-8 ALL",
    b"UID SORT (DATE) UTF-8 UID 1:*:2",
]


@pytest.mark.parametrize("line", BAD)
def test_sort_bad(box, line):
    out = box.cmd(line)
    assert out[-1].split()[1] == b"BAD", out
    assert box.cmd(b"NOOP")[-1].split()[1] == b"OK"


def test_sort_badcharset(box):
    out = box.cmd(b"SORT (DATE) KOI8-R ALL")
    assert out[-1].split()[1:3] == [b"NO", b"[BADCHARSET"], out
    assert b"UTF-8" in out[-1]


def test_sort_needs_selected(roost):
    c = Client(roost)
    assert c.cmd(b"SORT (DATE) UTF-8 ALL")[-1].split()[1] == b"BAD"
    assert c.cmd(b"THREAD REFERENCES UTF-8 ALL")[-1].split()[1] == b"BAD"
