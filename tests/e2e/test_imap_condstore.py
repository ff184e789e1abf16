"""IMAP CONDSTORE (RFC 7162 section 3.1): HIGHESTMODSEQ, MODSEQ
in FETCH, CHANGEDSINCE, UNCHANGEDSINCE with MODIFIED, STATUS
HIGHESTMODSEQ, and mod-sequence values at the 2^63 limit."""
import re

from imap_raw import Raw

MSG = b"From: a@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n"


def deliver(roost, n):
    for i in range(n):
        roost.deliver(MSG % (i, i), "alice@example.com")


def highestmodseq(lines):
    for l in lines:
        m = re.search(rb"\[HIGHESTMODSEQ (\d+)\]", l)
        if m:
            return int(m.group(1))
    raise AssertionError("no HIGHESTMODSEQ in %r" % lines)


def modseqs(lines):
    """{uid: modseq} from FETCH responses that carry both."""
    out = {}
    for l in lines:
        u = re.search(rb"UID (\d+)", l)
        m = re.search(rb"MODSEQ \((\d+)\)", l)
        if l.startswith(b"* ") and b"FETCH" in l and u and m:
            out[int(u.group(1))] = int(m.group(1))
    return out


def status(lines):
    return lines[-1].split()[1]


def test_capability_and_highestmodseq(roost):
    deliver(roost, 3)
    c = Raw(roost)
    caps = b"".join(c.cmd(b"CAPABILITY"))
    assert b" CONDSTORE" in caps and b" QRESYNC" in caps
    out = c.cmd(b"SELECT INBOX")
    hms = highestmodseq(out)
    assert not any(b"NOMODSEQ" in l for l in out)
    # every message's MODSEQ is at most HIGHESTMODSEQ
    f = modseqs(c.cmd(b"UID FETCH 1:* (MODSEQ)"))
    assert sorted(f) == [1, 2, 3]
    assert max(f.values()) == hms
    st = c.cmd(b"STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
    assert re.search(rb"HIGHESTMODSEQ %d\b" % hms, st[0]), st
    c.close()


def test_enable_and_select_condstore(roost):
    deliver(roost, 1)
    c = Raw(roost)
    assert c.cmd(b"ENABLE CONDSTORE")[0] == b"* ENABLED CONDSTORE\r\n"
    # enabling twice lists nothing new
    assert c.cmd(b"ENABLE CONDSTORE")[0] == b"* ENABLED\r\n"
    out = c.cmd(b"SELECT INBOX (CONDSTORE)")
    assert status(out) == b"OK"
    highestmodseq(out)
    assert status(c.cmd(b"EXAMINE INBOX (BOGUS)")) == b"BAD"
    c.close()


def test_store_reports_modseq_once_enabled(roost):
    deliver(roost, 2)
    c = Raw(roost)
    c.cmd(b"SELECT INBOX")
    # before CONDSTORE is on, no MODSEQ in a STORE's FETCH
    out = c.cmd(b"UID STORE 1 +FLAGS (\\Flagged)")
    assert b"MODSEQ" not in b"".join(out)
    before = modseqs(c.cmd(b"UID FETCH 1:* (MODSEQ)"))  # enables CONDSTORE
    out = c.cmd(b"UID STORE 2 +FLAGS (\\Seen)")
    after = modseqs(out)
    assert list(after) == [2] and after[2] > before[2]
    # .SILENT still tells the new MODSEQ (RFC 7162 3.1.3), without FLAGS
    out = c.cmd(b"UID STORE 1 +FLAGS.SILENT (\\Answered)")
    fetches = [l for l in out if b"FETCH" in l]
    assert len(fetches) == 1 and b"FLAGS" not in fetches[0]
    assert modseqs(out)[1] > after[2]
    c.close()


def test_unchangedsince_and_modified(roost):
    deliver(roost, 3)
    c = Raw(roost)
    c.cmd(b"SELECT INBOX")
    ms = modseqs(c.cmd(b"UID FETCH 1:* (MODSEQ)"))
    # another session changes message 2 after we read its MODSEQ
    d = Raw(roost)
    d.cmd(b"SELECT INBOX")
    assert d.ok(b"UID STORE 2 +FLAGS (\\Flagged)")
    d.close()
    top = max(ms.values())
    out = c.cmd(b"UID STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % top)
    assert re.match(rb"r\d+ OK \[MODIFIED 2\]", out[-1]), out
    flags = c.cmd(b"UID FETCH 1:3 (FLAGS)")
    seen = {int(re.search(rb"UID (\d+)", l).group(1)) for l in flags if b"\\Seen" in l}
    assert seen == {1, 3}
    # sequence-number STORE answers MODIFIED with sequence numbers
    out = c.cmd(b"STORE 1:3 (UNCHANGEDSINCE 1) -FLAGS (\\Seen)")
    assert re.match(rb"r\d+ OK \[MODIFIED 1:3\]", out[-1]), out
    # UNCHANGEDSINCE 0 always fails (RFC 7162 3.1.3)
    out = c.cmd(b"UID STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS (\\Draft)")
    assert re.match(rb"r\d+ OK \[MODIFIED 1:3\]", out[-1]), out
    assert not any(b"\\Draft" in l for l in c.cmd(b"FETCH 1:3 (FLAGS)"))
    c.close()


def test_changedsince(roost):
    deliver(roost, 4)
    c = Raw(roost)
    c.cmd(b"SELECT INBOX")
    top = highestmodseq(c.cmd(b"STATUS INBOX (HIGHESTMODSEQ)"))
    assert c.ok(b"UID STORE 2,4 +FLAGS (\\Seen)")
    out = c.cmd(b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % top)
    got = modseqs(out)  # MODSEQ is implied by CHANGEDSINCE
    assert sorted(got) == [2, 4]
    assert all(b"FLAGS (\\Seen" in l for l in out if l.startswith(b"* ")), out
    # CHANGEDSINCE 0 is every message
    assert sorted(modseqs(c.cmd(b"UID FETCH 1:* (UID) (CHANGEDSINCE 0)"))) == [1, 2, 3, 4]
    c.close()


def test_modseq_limits(roost):
    deliver(roost, 1)
    c = Raw(roost)
    c.cmd(b"SELECT INBOX")
    big = b"9223372036854775807"      # 2^63 - 1: the largest valid value
    over = b"9223372036854775808"     # 2^63
    assert status(c.cmd(b"UID FETCH 1 (FLAGS) (CHANGEDSINCE " + big + b")")) == b"OK"
    for v in (over, b"18446744073709551616", b"99999999999999999999999", b"-1", b"1x"):
        assert status(c.cmd(b"UID FETCH 1 (FLAGS) (CHANGEDSINCE " + v + b")")) == b"BAD"
        assert status(c.cmd(b"UID STORE 1 (UNCHANGEDSINCE " + v + b") +FLAGS (\\Seen)")) == b"BAD"
    out = c.cmd(b"UID STORE 1 (UNCHANGEDSINCE " + big + b") +FLAGS (\\Seen)")
    assert status(out) == b"OK" and b"MODIFIED" not in out[-1]
    assert status(c.cmd(b"UID FETCH 1 (FLAGS) (CHANGEDSINCE)")) == b"BAD"
    assert status(c.cmd(b"UID FETCH 1 (FLAGS) (BOGUS 1)")) == b"BAD"
    # VANISHED needs QRESYNC
    assert status(c.cmd(b"UID FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)")) == b"BAD"
    c.close()


def test_other_sessions_changes_carry_modseq(roost):
    deliver(roost, 2)
    c = Raw(roost)
    c.cmd(b"ENABLE CONDSTORE")
    c.cmd(b"SELECT INBOX")
    d = Raw(roost)
    d.cmd(b"SELECT INBOX")
    assert d.ok(b"UID STORE 2 +FLAGS (\\Flagged)")
    d.close()
    out = c.cmd(b"NOOP")
    got = modseqs(out)
    assert list(got) == [2], out
    assert b"\\Flagged" in out[0]
    c.close()


def test_search_modseq(roost):
    deliver(roost, 4)
    c = Raw(roost)
    c.cmd(b"SELECT INBOX")
    top = max(modseqs(c.cmd(b"UID FETCH 1:* (MODSEQ)")).values())
    assert c.ok(b"UID STORE 2 +FLAGS (\\Seen)")
    assert c.ok(b"UID STORE 3 +FLAGS (\\Flagged)")
    ms = modseqs(c.cmd(b"UID FETCH 2:3 (MODSEQ)"))
    out = c.cmd(b"UID SEARCH MODSEQ %d" % (top + 1))
    assert out[0] == b"* SEARCH 2 3 (MODSEQ %d)\r\n" % max(ms.values()), out
    out = c.cmd(b'UID SEARCH MODSEQ "/flags/\\\\seen" all %d' % (top + 1))
    assert out[0].startswith(b"* SEARCH 2 3 (MODSEQ "), out
    out = c.cmd(b"UID SEARCH RETURN (ALL) MODSEQ %d" % ms[3])
    assert re.search(rb"ALL 3 MODSEQ %d\r\n" % ms[3], out[0]), out
    # nothing matched: no (MODSEQ)
    out = c.cmd(b"SEARCH MODSEQ 9223372036854775807")
    assert out[0] == b"* SEARCH\r\n", out
    assert status(c.cmd(b"SEARCH MODSEQ 9223372036854775808")) == b"BAD"
    c.close()


def test_sort_and_esort_modseq(roost):
    # RFC 7162 3.1.5 (carried to ESORT by RFC 5267 3): with MODSEQ in the
    # keys, SORT ends with (MODSEQ n) and ESORT with MODSEQ n, the highest
    # of the messages returned (MIN/MAX/PARTIAL alone: theirs only)
    deliver(roost, 3)
    c = Raw(roost)
    c.cmd(b"SELECT INBOX")
    assert c.ok(b"UID STORE 1 +FLAGS (\\Seen)")
    assert c.ok(b"UID STORE 3 +FLAGS (\\Flagged)")
    ms = modseqs(c.cmd(b"UID FETCH 1:* (MODSEQ)"))
    assert ms[3] > ms[1] > ms[2]
    out = c.cmd(b"UID SORT (SUBJECT) UTF-8 MODSEQ 1")
    assert out[0] == b"* SORT 1 2 3 (MODSEQ %d)\r\n" % ms[3], out
    out = c.cmd(b"UID SORT RETURN (ALL) (SUBJECT) UTF-8 MODSEQ 1")
    assert out[0].endswith(b" UID ALL 1:3 MODSEQ %d\r\n" % ms[3]), out
    # REVERSE SUBJECT: 3 2 1; MIN is 3, MAX is 1
    out = c.cmd(b"UID SORT RETURN (MAX) (REVERSE SUBJECT) UTF-8 MODSEQ 1")
    assert out[0].endswith(b" UID MAX 1 MODSEQ %d\r\n" % ms[1]), out
    out = c.cmd(b"UID SORT RETURN (MIN) (REVERSE SUBJECT) UTF-8 MODSEQ 1")
    assert out[0].endswith(b" UID MIN 3 MODSEQ %d\r\n" % ms[3]), out
    out = c.cmd(b"UID SORT RETURN (PARTIAL 2:2) (REVERSE SUBJECT) UTF-8 MODSEQ 1")
    assert out[0].endswith(b" UID PARTIAL (2:2 2) MODSEQ %d\r\n" % ms[2]), out
    out = c.cmd(b"UID SORT RETURN (COUNT) (SUBJECT) UTF-8 MODSEQ 1")
    assert out[0].endswith(b" UID COUNT 3 MODSEQ %d\r\n" % ms[3]), out
    # no MODSEQ key: no MODSEQ in the reply
    out = c.cmd(b"UID SORT RETURN (ALL) (SUBJECT) UTF-8 ALL")
    assert b"MODSEQ" not in out[0], out
    c.close()
