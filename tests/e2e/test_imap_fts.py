"""Full-text search index: SEARCH answers the same with the index
(search.fts = yes) as without it (search.fts = no: messages are read), on a
corpus with non-ASCII, quoted-printable, base64 and HTML messages, delivered
ones with trace fields and copies; the index answers without reading
messages; `roost reindex` indexes what was stored without it; WITHIN. On
both store backends: FTS5 on SQLite, pg_trgm on PostgreSQL (whose plans
use the trigram indexes, and which falls back to reading messages when
pg_trgm cannot be had)."""
import re
import time

import pytest

from conftest import STORE_BACKEND
from test_imap_search import CORPUS, TABLE, Client, q

pg_only = pytest.mark.skipif(STORE_BACKEND != "postgresql",
                             reason="pg_trgm: ROOST_TEST_STORE=postgresql")

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


def count(r, sql):
    return r.sql(sql)[0][0] or 0


def pending(r):
    return count(r, "SELECT count(*) FROM content_index WHERE fts = 0")


def wait_indexed(r, timeout=20):
    """The indexer thread indexes new content shortly after delivery
    (store-indexer.c): wait until nothing is pending."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pending(r) == 0:
            return
        time.sleep(0.1)
    raise AssertionError("content still unindexed after %ss" % timeout)


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
    assert count(on, "SELECT count(*) FROM search_fts") == 7
    assert pending(on) == 0
    assert count(off, "SELECT count(*) FROM search_fts") == 0


def test_index_answers_without_reading_messages(roost_factory):
    r = roost_factory()
    c = load(r)
    wait_indexed(r)
    before = answers(c)
    c.s.close()
    r.stop()
    # blank every message's bytes: only the index still knows the words
    if STORE_BACKEND == "postgresql":
        r.sql("UPDATE contents SET data = decode(repeat('00', length(data)), 'hex')")
    else:
        r.sql("UPDATE contents SET data = zeroblob(length(data))")
    r.start()
    c = Client(r)
    assert c.cmd(b"SELECT INBOX")[-1].split()[1] == b"OK"
    for crit in ("BODY grüße", "TEXT newsletter", "BODY \"99% full\"", "BODY é",
                 "HEADER X-Mailer roosttest", "TEXT delivered-to", "BODY STRASSE"):
        assert c.search(crit_line(crit)) == before[crit], crit


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
    assert pending(r) == 0
    assert count(r, "SELECT count(*) FROM search_fts") == 7
    assert answers(c) == want
    assert r.cli("reindex").stdout == "indexed 7\n"
    assert answers(c) == want
    p = r.cli("reindex", "nobody@example.com", check=False)
    assert p.returncode == 1 and "nobody@example.com" in p.stderr
    # expunged contents leave the index
    assert c.cmd(b"STORE 1:* +FLAGS.SILENT (\\Deleted)")[-1].split()[1] == b"OK"
    assert c.cmd(b"EXPUNGE")[-1].split()[1] == b"OK"
    assert count(r, "SELECT count(*) FROM search_fts") == 0


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


def index_scans(r):
    return count(r, "SELECT sum(idx_scan) FROM pg_stat_user_indexes"
                 " WHERE indexrelname IN ('search_fts_header', 'search_fts_body')")


@pg_only
def test_pg_searches_use_the_trigram_index(roost, tmp_path):
    # a mailbox big enough that the trigram index costs less than reading
    # every message's index row (seq scans off: on this little text, one
    # scan of search_fts would be cheaper still; at 5,000 messages of
    # 2 KB the planner takes the index by itself)
    n = 2000
    with open(tmp_path / "big.mbox", "wb") as f:
        for i in range(n):
            words = b" ".join(b"w%05d" % (i * k % 9973) for k in range(1, 150))
            word = b" needle%da" % i if i % 400 == 0 else b""
            f.write(b"From x@example.org Thu Jan  1 00:00:00 2026\nSubject: m%d\n\n"
                    b"%s%s\n\n" % (i, words, word))
    roost.cli("import", "mbox", "alice@example.com", str(tmp_path / "big.mbox"))
    wait_indexed(roost, timeout=60)
    roost.sql("ANALYZE")
    mailbox, account = roost.sql(
        "SELECT m.id, a.id FROM mailboxes m JOIN accounts a ON a.id = m.account_id"
        " WHERE a.address = 'alice@example.com' AND m.name = 'INBOX'")[0]
    # store-fts.c's SEARCH BODY statement
    plan = "\n".join(row[0] for row in roost.sql(
        "SET enable_seqscan = off; EXPLAIN SELECT m.uid FROM messages m WHERE m.mailbox_id ="
        " (SELECT id FROM mailboxes WHERE id = %d AND account_id = %d)"
        " AND m.content_id IN (SELECT content_id FROM search_fts"
        " WHERE body LIKE '%%needle400a%%') ORDER BY m.uid" % (mailbox, account)))
    assert "Bitmap Index Scan on search_fts_body" in plan, plan
    # and the daemon's own statements take it too
    roost.stop()
    roost.sql("ALTER DATABASE %s SET enable_seqscan = off" % roost.pg_dbname)
    roost.start()
    before = index_scans(roost)
    c = Client(roost)
    assert c.cmd(b"SELECT INBOX")[-1].split()[1] == b"OK"
    assert c.search(b"BODY needle400a") == {401}
    assert c.search(b"TEXT NEEDLE800A") == {801}
    deadline = time.time() + 20   # a backend's statistics reach pg_stat_* when it idles
    while index_scans(roost) < before + 2 and time.time() < deadline:
        time.sleep(0.2)
    assert index_scans(roost) >= before + 2


# bytes no text column of PostgreSQL holds (NUL, not UTF-8): the folded
# text the index gets is valid UTF-8 without NUL on both backends
RAW = (b"Subject: raw\r\nX-Raw: ab\xffcd \xc3(\x00z\r\n\r\n"
       b"before\xffafter nul\x00byte \xe2\x82 end\r\n")
BAD_UTF8 = (b"Subject: bad\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            b"left\x81right \xe2\x82 tail\r\n")


def test_indexed_and_unindexed_agree(roost_factory):
    """Every answer is the same read from the messages (nothing indexed)
    and from the index; the needles escape LIKE's own characters; text
    around bytes that are not UTF-8 or NUL is found alike."""
    r = roost_factory()
    c = load(r)
    for msg in (b"Subject: like\r\n\r\n100%_sure a\\b c_d\r\n",
                b"Subject: plain\r\n\r\n100x-sure axb cxd\r\n", RAW, BAD_UTF8):
        r.deliver(msg, "alice@example.com")
    assert c.cmd(b"NOOP")[-1].split()[1] == b"OK"
    lines = [crit_line(k) for k, _ in TABLE + EXTRA] + [crit_line(k) for k in (
        'BODY "100%_sure"', 'BODY "%_s"', 'BODY "a\\\\b"', 'BODY "c_d"', 'BODY "_"',
        'BODY "%"', 'TEXT "0%_"', 'BODY "nul byte"', 'BODY "l b"', 'BODY "beforeÿafter"',
        'BODY "eÿa"', 'HEADER X-Raw abÿcd', 'HEADER X-Raw "cd "', 'TEXT z', 'BODY end',
        'BODY "\ufffd"', 'TEXT "\ufffd"', 'HEADER X-Raw "\ufffd"', 'BODY "left\ufffdright"',
        'BODY "t\ufffdr"', 'BODY "\ufffd tail"')] + [
        b"BODY {%d+}\r\n%s" % (len(raw), raw)
        for raw in (b"before\xffafter", b"\xff", b"nul\x00byte", b"\xe2\x82", b"ab\xffcd",
                    b"left\x81right", b"t\x81r")]
    wait_indexed(r)
    indexed = {k: c.search(k) for k in lines}
    assert indexed[crit_line('BODY "100%_sure"')] == {9}
    assert indexed[crit_line('BODY "c_d"')] == {9}
    assert indexed[crit_line('BODY "a\\\\b"')] == {9}
    # 8-bit text without a charset is read as windows-1252 (search-text.c)
    assert indexed[crit_line('BODY "beforeÿafter"')] == {11}
    assert indexed[crit_line('HEADER X-Raw "cd "')] == {11}
    # bytes neither UTF-8 nor windows-1252 (0x81) are U+FFFD in the
    # folded text, and so in a needle: found on either side of them
    assert indexed[crit_line('BODY "left\ufffdright"')] == {12}
    assert indexed[b"BODY {10+}\r\nleft\x81right"] == {12}
    assert indexed[crit_line('BODY "t\ufffdr"')] == {12}
    # behind the daemon's back: the index emptied, every content pending
    c.s.close()
    r.stop()
    r.sql("DELETE FROM search_fts")
    r.sql("UPDATE content_index SET fts = 0")
    r.start()
    c = Client(r)
    assert c.cmd(b"SELECT INBOX")[-1].split()[1] == b"OK"
    assert pending(r) == 11
    unindexed = {k: c.search(k) for k in lines}
    diff = [(k, sorted(indexed[k]), sorted(unindexed[k])) for k in lines
            if indexed[k] != unindexed[k]]
    assert not diff, diff


@pg_only
def test_pg_without_pg_trgm_reads_the_messages(roost_factory):
    r = roost_factory()
    c = load(r)
    wait_indexed(r)
    want = answers(c)
    c.s.close()
    r.stop()
    # pg_trgm gone, and its CREATE EXTENSION made to fail (a function of
    # its own name is in the way): the store still opens
    r.sql("DROP TABLE search_fts")
    r.sql("DROP EXTENSION pg_trgm")
    r.sql("CREATE FUNCTION show_trgm(text) RETURNS text[] LANGUAGE sql"
          " AS 'SELECT NULL::text[]'")
    r.start()
    assert "no full-text index on PostgreSQL" in r.read_log()
    c = Client(r)
    assert c.cmd(b"SELECT INBOX")[-1].split()[1] == b"OK"
    assert answers(c) == want
    p = r.cli("reindex", check=False)
    assert p.returncode != 0 and "pg_trgm" in p.stderr, p.stderr
    # once it can be had, the next start makes the index, all pending
    c.s.close()
    r.stop()
    r.sql("DROP FUNCTION show_trgm(text)")
    r.start()
    c = Client(r)
    assert c.cmd(b"SELECT INBOX")[-1].split()[1] == b"OK"
    assert answers(c) == want
    wait_indexed(r)
    assert count(r, "SELECT count(*) FROM search_fts") == 7
    assert answers(c) == want
