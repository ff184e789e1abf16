"""PARTIAL search return option (RFC 9394 3.1; first in RFC 5267 4.4):
paged SEARCH, UID SEARCH and ESORT results, ranges counted from the first
or the last match, and the attacker's ranges (1:4294967295, zero, mixed
signs, PARTIAL with ALL)."""
import re
import time

from imap_raw import Raw

MSG = b"From: a@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n"


def esearch(lines):
    hits = [l.rstrip(b"\r\n") for l in lines if l.startswith(b"* ESEARCH")]
    assert len(hits) == 1, lines
    return hits[0]


def partial(line):
    m = re.search(rb" PARTIAL \((\S+) (\S+)\)", line)
    assert m, line
    return m.group(1), m.group(2)


def status(lines):
    return lines[-1].split()[1]


def mailbox(roost, n=10, deleted=(3, 7)):
    """n messages, UIDs 1..n; the ones in `deleted` carry \\Deleted."""
    for i in range(1, n + 1):
        roost.deliver(MSG % (i, i), "alice@example.com")
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    for d in deleted:
        assert c.ok(b"STORE %d +FLAGS.SILENT (\\Deleted)" % d)
    return c


def test_rfc9394_paged_uid_search(roost):
    # RFC 9394 3.1's example, scaled down: the UNDELETED messages are
    # 1 2 4 5 6 8 9 10; pages of three from the start, then from the end
    c = mailbox(roost)
    line = esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL 1:3) UNDELETED"))
    assert line.startswith(b'* ESEARCH (TAG "r%d") UID' % c.n)
    assert partial(line) == (b"1:3", b"1:2,4")
    assert partial(esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL 4:6) UNDELETED"))) == (b"4:6", b"5:6,8")
    # the last page holds what is left; a page past the end is NIL
    assert partial(esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL 7:9) UNDELETED"))) == (b"7:9", b"9:10")
    assert partial(esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL 9:12) UNDELETED"))) == (b"9:12", b"NIL")
    # -1 is the last match (RFC 9394 3.1: from the newest)
    assert partial(esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL -1:-3) UNDELETED"))) == (b"-1:-3", b"8:10")
    assert partial(esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL -4:-6) UNDELETED"))) == (b"-4:-6", b"4:6")
    # "500:400" is "400:500"
    assert partial(esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL 3:1) UNDELETED"))) == (b"1:3", b"1:2,4")
    assert partial(esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL -3:-1) UNDELETED"))) == (b"-1:-3", b"8:10")
    c.close()


def test_partial_with_sequence_numbers_and_count(roost):
    c = mailbox(roost)
    assert c.ok(b"EXPUNGE")  # UIDs 1 2 4 5 6 8 9 10 are now seqs 1..8
    out = c.cmd(b"SEARCH RETURN (PARTIAL 2:3 COUNT MIN MAX) ALL")
    line = esearch(out)
    assert b" UID" not in line
    assert partial(line) == (b"2:3", b"2:3")
    # MIN, MAX and COUNT still describe the whole result
    assert b" MIN 1" in line and b" MAX 8" in line and b" COUNT 8" in line
    assert partial(esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL 2:3) ALL"))) == (b"2:3", b"2,4")
    c.close()


def test_partial_esort_keeps_sort_order(roost):
    c = mailbox(roost, n=6, deleted=())
    line = esearch(c.cmd(b"UID SORT RETURN (PARTIAL 1:2) (REVERSE SUBJECT) UTF-8 ALL"))
    assert partial(line) == (b"1:2", b"6,5")
    line = esearch(c.cmd(b"UID SORT RETURN (PARTIAL -1:-2) (REVERSE SUBJECT) UTF-8 ALL"))
    assert partial(line) == (b"-1:-2", b"2,1")
    line = esearch(c.cmd(b"SORT RETURN (PARTIAL 2:4 COUNT) (ARRIVAL) UTF-8 ALL"))
    assert partial(line) == (b"2:4", b"2:4") and b" COUNT 6" in line
    line = esearch(c.cmd(b"SORT RETURN (PARTIAL 7:8) (ARRIVAL) UTF-8 ALL"))
    assert partial(line) == (b"7:8", b"NIL")
    c.close()


def test_partial_modseq_is_that_of_the_page(roost):
    # RFC 7162 3.1.5: MODSEQ is the highest of the messages returned
    c = mailbox(roost, n=4, deleted=())
    assert c.ok(b"STORE 4 +FLAGS.SILENT (\\Flagged)")
    ms = {}
    for l in c.cmd(b"UID FETCH 1:* (MODSEQ)"):
        u = re.search(rb"UID (\d+)", l)
        m = re.search(rb"MODSEQ \((\d+)\)", l)
        if u and m:
            ms[int(u.group(1))] = int(m.group(1))
    line = esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL 1:2) MODSEQ 1"))
    assert line.endswith(b" MODSEQ %d" % max(ms[1], ms[2])), line
    line = esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL -1:-1) MODSEQ 1"))
    assert line.endswith(b" MODSEQ %d" % ms[4]), line
    c.close()


def test_attacker_huge_and_malformed_ranges(roost):
    c = mailbox(roost, n=3, deleted=())
    # the range's size is never allocated or walked: answered at once
    t = time.time()
    line = esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL 1:4294967295) ALL"))
    assert partial(line) == (b"1:4294967295", b"1:3")
    line = esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL -1:-4294967295) ALL"))
    assert partial(line) == (b"-1:-4294967295", b"1:3")
    line = esearch(c.cmd(b"UID SEARCH RETURN (PARTIAL 4294967295:4294967295) ALL"))
    assert partial(line) == (b"4294967295:4294967295", b"NIL")
    line = esearch(c.cmd(b"UID SORT RETURN (PARTIAL 1:4294967295) (ARRIVAL) UTF-8 ALL"))
    assert partial(line) == (b"1:4294967295", b"1:3")
    assert time.time() - t < 10
    for bad in (b"PARTIAL 1:4294967296", b"PARTIAL 0:5", b"PARTIAL 1:-5", b"PARTIAL -0:-2",
                b"PARTIAL 1", b"PARTIAL", b"PARTIAL *:5", b"PARTIAL 1:*", b"PARTIAL (1:2)",
                b"PARTIAL 1:2 PARTIAL 3:4", b"ALL PARTIAL 1:2", b"PARTIAL 1:2 ALL",
                b"PARTIAL 1:2:3", b"PARTIAL 1,2:3"):
        # a fresh session for each: too many BADs end one (imap.max_errors)
        c.close()
        c = Raw(roost)
        assert c.ok(b"SELECT INBOX")
        assert status(c.cmd(b"UID SEARCH RETURN (%s) ALL" % bad)) == b"BAD", bad
        assert status(c.cmd(b"UID SORT RETURN (%s) (ARRIVAL) UTF-8 ALL" % bad)) == b"BAD", bad
    # the session goes on
    assert partial(esearch(c.cmd(b"SEARCH RETURN (PARTIAL 1:1) ALL"))) == (b"1:1", b"1")
    c.close()


def fetched_uids(lines):
    return [int(re.search(rb"UID (\d+)", l).group(1)) for l in lines if b" FETCH (" in l]


def test_capability(roost):
    c = Raw(roost)
    assert b"PARTIAL" in b"".join(c.cmd(b"CAPABILITY")).split()
    c.close()


def test_rfc9394_paged_uid_fetch(roost):
    # RFC 9394 3.3: "UID FETCH 1:* (FLAGS) (PARTIAL -1:-30)", scaled down:
    # the range counts the messages of the set, from its first or last
    c = mailbox(roost, n=6, deleted=())
    out = c.cmd(b"UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)")
    assert status(out) == b"OK" and fetched_uids(out) == [5, 6], out
    out = c.cmd(b"UID FETCH 2:6 (FLAGS) (PARTIAL 1:2)")
    assert fetched_uids(out) == [2, 3], out
    out = c.cmd(b"FETCH 1:* (UID) (PARTIAL 3:4)")
    assert fetched_uids(out) == [3, 4], out
    out = c.cmd(b"UID FETCH 1:* (FLAGS) (PARTIAL 7:9)")
    assert status(out) == b"OK" and fetched_uids(out) == [], out
    out = c.cmd(b"UID FETCH 1:* (FLAGS) (PARTIAL 1:4294967295)")
    assert fetched_uids(out) == [1, 2, 3, 4, 5, 6], out
    # CHANGEDSINCE filters the messages in the range (RFC 9394 3.4)
    assert c.ok(b"UID STORE 1,6 +FLAGS.SILENT (\\Flagged)")
    ms = []
    for l in c.cmd(b"UID FETCH 6 (MODSEQ)"):
        m = re.search(rb"MODSEQ \((\d+)\)", l)
        if m:
            ms.append(int(m.group(1)))
    out = c.cmd(b"UID FETCH 1:* (FLAGS) (PARTIAL -1:-3 CHANGEDSINCE %d)" % (ms[0] - 1))
    assert fetched_uids(out) == [6], out
    assert b"MODSEQ" in b"".join(out)
    for bad in (b"(PARTIAL)", b"(PARTIAL 0:1)", b"(PARTIAL 1:-1)", b"(PARTIAL 1:2 PARTIAL 1:2)",
                b"(PARTIAL 1:4294967296)"):
        assert status(c.cmd(b"UID FETCH 1:* (FLAGS) %s" % bad)) == b"BAD", bad
    c.close()
