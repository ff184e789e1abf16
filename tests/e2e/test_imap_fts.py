"""Full-text search index: SEARCH answers the same with the index
(search.fts = yes) as without it (search.fts = no: messages are read), on a
corpus with non-ASCII, quoted-printable, base64 and HTML messages, delivered
ones with trace fields and copies; the index answers without reading
messages; `roost reindex` indexes what was stored without it; WITHIN."""
import re
import sqlite3
import time

import pytest

from test_imap_search import CORPUS, TABLE, Client, q

# delivered (not appended): these have a per-message prefix
# (Return-Path, Delivered-To), searched by TEXT and HEADER
DELIVERED = [
    "From: Zoë <zoe@example.org>\r\n".encode() + b"To: alice@example.com\r\n"
    b"Subject: =?ISO-8859-1?B?Uvxja2JsaWNr?=\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/html; charset=windows-1252\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"<p>Stra=DFe &eacute;t&eacute; <i>ab</i>c \"quoted\" na=EFve</p>\r\n",
    b"From: ops@example.net\r\nTo: alice@example.com\r\nSubject: ALERT disk\r\n"
    b"X-Priority: 1 (Highest)\r\n\r\nThe disk /dev/sda is 99% full.\r\n",
]

EXTRA = [
    ("BODY straße", {6}), ("BODY STRASSE", {6}), ("BODY ÉTÉ", {6}), ("BODY abc", {6}),
    ("BODY naïve", {6}), ("BODY NAÏVE", {6}), ("BODY \"\"", None), ("TEXT \"\"", None),
    ("BODY é", None), ("BODY ab", None), ("TEXT zo", None), ("BODY ß", None),
    ("SUBJECT rückblick", {6}), ("TEXT RÜCKBLICK", {6}), ("HEADER subject rück", {6}),
    ("TEXT delivered-to", {6, 7}), ("HEADER Delivered-To alice", {6, 7}),
    ("HEADER Return-Path \"\"", {6, 7}), ("HEADER Delivered-To example", {6, 7}),
    ("HEADER X-Priority highest", {7}), ("HEADER X-Priority \"1 (\"", {7}),
    ("HEADER to \"\"", None), ("HEADER From \"\"", None), ("HEADER Nope \"\"", set()),
    ("BODY \"99% full\"", {7}), ("BODY \"/dev/sda\"", {7}), ("TEXT \"alert disk\"", {7}),
    ("BODY \"is 99\"", {7}), ("OR BODY disk BODY hello", {4, 7}),
    ("NOT TEXT example", None), ("TEXT example BODY plain", {4}),
    ("BODY \"ab\"", None), ("TEXT \"a\"", None), ("TEXT \"q\"", None),
]


def crit_line(crit):
    toks = re.findall(r'"[^"]*"|\S+', crit)
    return b"CHARSET UTF-8 " + b" ".join(
        t.encode() if t.isascii() else q(t.strip('"')) for t in toks)


def load(r):
    c = Client(r)
    for msg, flags, date in CORPUS:
        lit = b"{%d+}\r\n" % len(msg)
        out = c.cmd(b'APPEND INBOX %s "%s" %s%s' % (flags.encode(), date.encode(), lit, msg))
        assert out[-1].split()[1] == b"OK", out
    for msg in DELIVERED:
        r.deliver(msg, "alice@example.com")
    assert c.cmd(b"SELECT INBOX")[-1].split()[1] == b"OK"
    # a copy shares its content (and its index row) with the original
    assert c.cmd(b"COPY 6 INBOX")[-1].split()[1] == b"OK"
    assert c.cmd(b"NOOP")[-1].split()[1] == b"OK"
    return c


def answers(c):
    return {crit: c.search(crit_line(crit)) for crit, _ in TABLE + EXTRA}


def check_expected(got):
    # the copy (8) of message 6 answers like 6
    bad = []
    for crit, want in EXTRA:
        if want is not None:
            w = set(want) | ({8} if 6 in want else set())
            if got[crit] != w:
                bad.append((crit, sorted(got[crit]), sorted(w)))
    assert not bad, bad


def db(r):
    return sqlite3.connect(r.datadir + "/roost.db")


def wait_indexed(r, timeout=20):
    """The indexer thread indexes new content shortly after delivery
    (store-indexer.c): wait until nothing is pending."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with db(r) as d:
            if d.execute("SELECT count(*) FROM content_index WHERE fts = 0").fetchone()[0] == 0:
                return
        time.sleep(0.1)
    raise AssertionError("content still unindexed after %ss" % timeout)


@pytest.mark.sqlite_only("the FTS5 index")
def test_index_and_fallback_agree(roost_factory):
    on = roost_factory()
    off = roost_factory(search__fts="no")
    c_on, c_off = load(on), load(off)
    # right after delivery the answers come from reading (not yet indexed)
    assert answers(c_on) == answers(c_off)
    wait_indexed(on)
    got_on, got_off = answers(c_on), answers(c_off)
    diff = [(k, sorted(got_on[k]), sorted(got_off[k])) for k in got_on if got_on[k] != got_off[k]]
    assert not diff, diff
    check_expected(got_on)
    # sanity: short and empty needles really match something
    assert got_on["BODY é"] == {2, 6, 8} and got_on["BODY \"\""] == set(range(1, 9))
    with db(on) as d:
        assert d.execute("SELECT count(*) FROM search_fts").fetchone()[0] == 7
        assert d.execute("SELECT count(*) FROM content_index WHERE fts = 0").fetchone()[0] == 0
    with db(off) as d:
        assert d.execute("SELECT count(*) FROM search_fts").fetchone()[0] == 0


@pytest.mark.sqlite_only("the FTS5 index")
def test_index_answers_without_reading_messages(roost_factory):
    r = roost_factory()
    c = load(r)
    wait_indexed(r)
    before = answers(c)
    c.s.close()
    r.stop()
    # blank every message's bytes: only the index still knows the words
    with db(r) as d:
        d.execute("UPDATE contents SET data = zeroblob(length(data))")
    r.start()
    c = Client(r)
    assert c.cmd(b"SELECT INBOX")[-1].split()[1] == b"OK"
    for crit in ("BODY grüße", "TEXT newsletter", "BODY \"99% full\"", "BODY é",
                 "HEADER X-Mailer roosttest", "TEXT delivered-to", "BODY STRASSE"):
        assert c.search(crit_line(crit)) == before[crit], crit


@pytest.mark.sqlite_only("the FTS5 index")
def test_reindex(roost_factory):
    r = roost_factory(search__fts="no")
    c = load(r)
    want = answers(c)
    c.s.close()
    r.stop()
    # index on, nothing indexed yet: messages are read for those
    r.settings["search__fts"] = "yes"
    r.start()
    c = Client(r)
    assert c.cmd(b"SELECT INBOX")[-1].split()[1] == b"OK"
    assert answers(c) == want
    # through the running daemon
    out = r.cli("reindex", "alice@example.com").stdout
    assert out == "indexed 7\n"
    with db(r) as d:
        assert d.execute("SELECT count(*) FROM content_index WHERE fts = 0").fetchone()[0] == 0
        assert d.execute("SELECT count(*) FROM search_fts").fetchone()[0] == 7
    assert answers(c) == want
    assert r.cli("reindex").stdout == "indexed 7\n"
    assert answers(c) == want
    p = r.cli("reindex", "nobody@example.com", check=False)
    assert p.returncode == 1 and "nobody@example.com" in p.stderr
    # expunged contents leave the index
    assert c.cmd(b"STORE 1:* +FLAGS.SILENT (\\Deleted)")[-1].split()[1] == b"OK"
    assert c.cmd(b"EXPUNGE")[-1].split()[1] == b"OK"
    with db(r) as d:
        assert d.execute("SELECT count(*) FROM search_fts").fetchone()[0] == 0


def test_within(roost_factory):
    r = roost_factory()
    c = Client(r)
    caps = c.cmd(b"CAPABILITY")
    assert b" WITHIN" in caps[0], caps
    old = b"Subject: old\r\n\r\nold\r\n"
    out = c.cmd(b'APPEND INBOX "01-Jan-2020 12:00:00 +0000" {%d+}\r\n%s' % (len(old), old))
    assert out[-1].split()[1] == b"OK"
    r.deliver(b"Subject: new\r\n\r\nnew\r\n", "alice@example.com")
    assert c.cmd(b"SELECT INBOX")[-1].split()[1] == b"OK"
    assert c.search(b"YOUNGER 3600") == {2}
    assert c.search(b"OLDER 3600") == {1}
    assert c.search(b"OLDER 1000000000") == set()
    assert c.search(b"YOUNGER 1000000000") == {1, 2}
    assert c.search(b"NOT YOUNGER 3600 BODY old") == {1}
    for bad in (b"YOUNGER 0", b"YOUNGER -5", b"OLDER x", b"OLDER", b"YOUNGER 99999999999"):
        out = c.cmd(b"SEARCH " + bad)
        assert out[-1].split()[1] == b"BAD", (bad, out)
