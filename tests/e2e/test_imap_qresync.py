"""IMAP QRESYNC (RFC 7162 section 3.2): SELECT (QRESYNC ...)
answers with VANISHED (EARLIER) and the changed flags, UID FETCH
(CHANGEDSINCE n VANISHED), VANISHED in place of EXPUNGE, CLOSED, and bad
QRESYNC parameters."""
import re

from imap_raw import Raw

MSG = b"From: a@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n"


def deliver(roost, n, start=0):
    for i in range(start, start + n):
        roost.deliver(MSG % (i, i), "alice@example.com")


def code(lines, name):
    for l in lines:
        m = re.search(rb"\[" + name + rb" (\d+)\]", l)
        if m:
            return int(m.group(1))
    raise AssertionError("no %r in %r" % (name, lines))


def fetched(lines):
    """{uid: (flags, modseq)} from FETCH responses."""
    out = {}
    for l in lines:
        if l.startswith(b"* ") and b" FETCH " in l:
            uid = int(re.search(rb"UID (\d+)", l).group(1))
            flags = re.search(rb"FLAGS \(([^)]*)\)", l)
            ms = re.search(rb"MODSEQ \((\d+)\)", l)
            out[uid] = (set(flags.group(1).split()) if flags else None,
                        int(ms.group(1)) if ms else None)
    return out


def uidset(s):
    out = set()
    for part in s.split(b","):
        lo, _, hi = part.partition(b":")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def vanished(lines, earlier=True):
    out = set()
    for l in lines:
        m = re.match(rb"\* VANISHED (\(EARLIER\) )?([0-9:,]+)\r\n", l)
        if m and bool(m.group(1)) == earlier:
            out |= uidset(m.group(2))
    return out


def status(lines):
    return lines[-1].split()[1]


def qresync_client(roost):
    c = Raw(roost)
    assert c.cmd(b"ENABLE QRESYNC")[0] == b"* ENABLED QRESYNC\r\n"
    return c


def test_resync_after_concurrent_changes(roost):
    """The acceptance test: exactly the changed flags and vanished UIDs."""
    deliver(roost, 10)
    c = qresync_client(roost)
    out = c.cmd(b"SELECT INBOX")
    uidvalidity, hms = code(out, b"UIDVALIDITY"), code(out, b"HIGHESTMODSEQ")
    assert c.ok(b"LOGOUT")
    c.close()

    # another device: flags on 2, 5, 7; expunges 3, 8, 9; new mail 11, 12
    d = Raw(roost)
    d.cmd(b"SELECT INBOX")
    assert d.ok(b"UID STORE 2 +FLAGS (\\Flagged)")
    assert d.ok(b"UID STORE 5,7 +FLAGS (\\Seen $Work)")
    assert d.ok(b"UID STORE 3,8,9 +FLAGS.SILENT (\\Deleted)")
    assert d.ok(b"UID EXPUNGE 3,8,9")
    # flags changed and then the message expunged: only VANISHED for it
    d.close()
    deliver(roost, 2, start=10)

    c = qresync_client(roost)
    out = c.cmd(b"SELECT INBOX (QRESYNC (%d %d 1:10))" % (uidvalidity, hms))
    assert status(out) == b"OK", out
    assert vanished(out) == {3, 8, 9}
    f = fetched(out)
    assert sorted(f) == [2, 5, 7, 11, 12]
    assert b"\\Flagged" in f[2][0] and {b"\\Seen", b"$Work"} <= f[5][0] <= f[7][0] | f[5][0]
    assert all(ms > hms for _, ms in f.values())
    new_hms = code(out, b"HIGHESTMODSEQ")
    assert max(ms for _, ms in f.values()) == new_hms
    # the sequence numbers in the FETCHes match the new view
    seqs = {int(re.search(rb"UID (\d+)", l).group(1)): int(l.split()[1])
            for l in out if b" FETCH " in l}
    assert seqs == {2: 2, 5: 4, 7: 6, 11: 8, 12: 9}
    assert code(out, b"UIDNEXT") == 13 and b"* 9 EXISTS\r\n" in out
    # nothing changed since: a second resync is silent
    out = c.cmd(b"SELECT INBOX (QRESYNC (%d %d))" % (uidvalidity, new_hms))
    assert vanished(out) == set() and fetched(out) == {}
    assert b"* OK [CLOSED] Previous mailbox closed\r\n" in out
    c.close()


def test_known_uids_and_seq_match(roost):
    deliver(roost, 6)
    c = qresync_client(roost)
    out = c.cmd(b"SELECT INBOX")
    uv, hms = code(out, b"UIDVALIDITY"), code(out, b"HIGHESTMODSEQ")
    assert c.ok(b"UID STORE 1,2,5 +FLAGS.SILENT (\\Deleted)")
    out = c.cmd(b"UID EXPUNGE 1,2,5")
    assert vanished(out, earlier=False) == {1, 2, 5} and not any(b"EXPUNGE\r\n" in l and l.startswith(b"* ") for l in out)
    # known-uids limits VANISHED (EARLIER) to what the client knows
    out = c.cmd(b"SELECT INBOX (QRESYNC (%d %d 2:4))" % (uv, hms))
    assert vanished(out) == {2}
    # the whole UID range is valid; compressed and listed forms too
    out = c.cmd(b"EXAMINE INBOX (QRESYNC (%d %d 1:4294967295))" % (uv, hms))
    assert status(out) == b"OK" and vanished(out) == {1, 2, 5}
    many = b",".join(b"%d" % u for u in range(1, 20000, 2))
    out = c.cmd(b"EXAMINE INBOX (QRESYNC (%d %d %s))" % (uv, hms, many))
    assert status(out) == b"OK" and vanished(out) == {1, 5}
    out = c.cmd(b"EXAMINE INBOX (QRESYNC (%d %d 1:6 (1:3 3,4,6)))" % (uv, hms))
    assert status(out) == b"OK" and vanished(out) == {1, 2, 5}
    c.close()


def test_wrong_uidvalidity_is_full_resync(roost):
    deliver(roost, 3)
    c = qresync_client(roost)
    out = c.cmd(b"SELECT INBOX")
    uv = code(out, b"UIDVALIDITY")
    assert c.ok(b"UID STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert c.ok(b"UID EXPUNGE 1")
    out = c.cmd(b"SELECT INBOX (QRESYNC (%d 1 1:3))" % (uv + 1))
    assert status(out) == b"OK"
    assert vanished(out) == set() and fetched(out) == {}
    assert b"* 2 EXISTS\r\n" in out
    c.close()


def test_bad_qresync_parameters(roost):
    deliver(roost, 1)
    c = Raw(roost)
    out = c.cmd(b"SELECT INBOX")
    uv = code(out, b"UIDVALIDITY")
    # QRESYNC must be enabled first
    assert status(c.cmd(b"SELECT INBOX (QRESYNC (%d 1))" % uv)) == b"BAD"
    # the failed SELECT did not close the mailbox
    assert status(c.cmd(b"NOOP")) == b"OK" and status(c.cmd(b"FETCH 1 FLAGS")) == b"OK"
    c.close()
    c = qresync_client(roost)
    for p in (b"(QRESYNC (%d 9223372036854775808))" % uv,
              b"(QRESYNC (%d 18446744073709551616))" % uv,
              b"(QRESYNC (%d))" % uv,
              b"(QRESYNC (0 1))",
              b"(QRESYNC (4294967296 1))",
              b"(QRESYNC (%d 1 0:5))" % uv,
              b"(QRESYNC (%d 1 1:x))" % uv,
              b"(QRESYNC (%d 1 1:5 (1:2)))" % uv,
              b"(QRESYNC (%d 1 1:5 (1:2 1,2) extra))" % uv,
              b"(QRESYNC)",
              b"(QRESYNC %d 1)" % uv):
        assert status(c.cmd(b"SELECT INBOX " + p)) == b"BAD", p
    assert status(c.cmd(b"SELECT INBOX (QRESYNC (%d 9223372036854775807))" % uv)) == b"OK"
    c.close()


def test_uid_fetch_changedsince_vanished(roost):
    deliver(roost, 5)
    c = qresync_client(roost)
    hms = code(c.cmd(b"SELECT INBOX"), b"HIGHESTMODSEQ")
    d = Raw(roost)
    d.cmd(b"SELECT INBOX")
    assert d.ok(b"UID STORE 2 +FLAGS (\\Answered)")
    assert d.ok(b"UID STORE 4,5 +FLAGS.SILENT (\\Deleted)")
    assert d.ok(b"UID EXPUNGE 4,5")
    d.close()
    c.cmd(b"NOOP")  # takes the changes in (VANISHED 4:5)
    out = c.cmd(b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % hms)
    assert status(out) == b"OK"
    # 5 was the last UID: '*' still reaches it in the expunge log
    assert vanished(out) == {4, 5}
    assert sorted(fetched(out)) == [2]
    out = c.cmd(b"UID FETCH 1:3 (FLAGS) (CHANGEDSINCE %d VANISHED)" % hms)
    assert vanished(out) == set()
    # VANISHED needs UID FETCH
    assert status(c.cmd(b"FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")) == b"BAD"
    assert status(c.cmd(b"UID FETCH 1:* (FLAGS) (VANISHED)")) == b"BAD"
    c.close()


def test_vanished_replaces_expunge(roost):
    deliver(roost, 4)
    roost.cli("mailbox", "create", "alice@example.com", "Archive", check=False)
    c = qresync_client(roost)
    c.cmd(b"SELECT INBOX")
    other = Raw(roost)
    other.cmd(b"SELECT INBOX")
    # EXPUNGE in this session
    assert c.ok(b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    out = c.cmd(b"EXPUNGE")
    assert b"* VANISHED 1\r\n" in out and not any(l.endswith(b" EXPUNGE\r\n") for l in out)
    # MOVE (RFC 6851 4.3 with QRESYNC: VANISHED)
    out = c.cmd(b"UID MOVE 2 INBOX")
    assert b"* VANISHED 2\r\n" in out, out
    # an expunge by another session arrives as VANISHED
    assert other.ok(b"UID STORE 3 +FLAGS.SILENT (\\Deleted)")
    assert other.ok(b"UID EXPUNGE 3")
    out = c.cmd(b"NOOP")
    assert b"* VANISHED 3\r\n" in out and not any(l.endswith(b" EXPUNGE\r\n") for l in out)
    # the session without QRESYNC still gets EXPUNGE
    out = other.cmd(b"NOOP")
    assert not any(l.startswith(b"* VANISHED") for l in out)
    other.close()
    c.close()


def hms_codes(lines):
    return [int(m.group(1)) for l in lines
            for m in [re.search(rb"\[HIGHESTMODSEQ (\d+)\]", l)] if m]


def status_hms(c):
    out = c.cmd(b"STATUS INBOX (HIGHESTMODSEQ)")
    return int(re.search(rb"HIGHESTMODSEQ (\d+)\)", b"".join(out)).group(1))


def test_held_back_expunges_cap_highestmodseq(roost):
    """RFC 7162 3.2.4: while FETCH holds expunges back, no reported
    HIGHESTMODSEQ passes them, and a resync from the last one reported
    returns them as VANISHED (EARLIER)."""
    deliver(roost, 8)
    c = qresync_client(roost)
    out = c.cmd(b"SELECT INBOX")
    uv = code(out, b"UIDVALIDITY")
    d = Raw(roost)
    d.cmd(b"SELECT INBOX")
    other = Raw(roost)  # not selected: sees the store's HIGHESTMODSEQ as is
    first_expunge = None
    reported = []
    for uid in (2, 4, 6):
        assert d.ok(b"UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
        before = status_hms(other)
        assert d.ok(b"UID EXPUNGE %d" % uid)  # takes before + 1
        if first_expunge is None:
            first_expunge = before + 1
        # a later flag change, newer than the expunge
        assert d.ok(b"UID STORE %d +FLAGS (\\Flagged)" % (uid + 1))
        # non-UID FETCH: the expunge must be held back (RFC 9051 7.5.1)
        out = c.cmd(b"FETCH 1:* (UID MODSEQ)")
        assert status(out) == b"OK", out
        assert not any(l.startswith(b"* VANISHED") for l in out), out
        f = fetched(out)
        assert uid in f  # still in this session's view
        assert f[uid + 1][1] > first_expunge  # MODSEQ itself is truthful
        codes = hms_codes(out)
        assert codes, out
        assert all(h < first_expunge for h in codes), (codes, first_expunge)
        reported += codes
    out = c.cmd(b"SEARCH ALL")
    assert not any(l.startswith(b"* VANISHED") for l in out)
    assert all(h < first_expunge for h in hms_codes(out)), out
    last = max(reported)
    # connection lost before any VANISHED: resync from the last value
    c.close()
    c = qresync_client(roost)
    out = c.cmd(b"SELECT INBOX (QRESYNC (%d %d))" % (uv, last))
    assert status(out) == b"OK", out
    assert vanished(out) == {2, 4, 6}, out
    assert {3, 5, 7} <= set(fetched(out)), out
    c.close()
    d.close()
    other.close()


def test_status_and_noop_after_held_expunge(roost):
    deliver(roost, 4)
    c = qresync_client(roost)
    c.cmd(b"SELECT INBOX")
    d = Raw(roost)
    d.cmd(b"SELECT INBOX")
    assert d.ok(b"UID STORE 1 +FLAGS.SILENT (\\Deleted)")
    d.cmd(b"NOOP")
    before = status_hms(d)
    assert d.ok(b"UID EXPUNGE 1")
    assert d.ok(b"UID STORE 3 +FLAGS (\\Seen)")
    top = status_hms(d)
    assert top >= before + 2
    out = c.cmd(b"FETCH 1:* (FLAGS)")
    assert all(h <= before for h in hms_codes(out)) and hms_codes(out), out
    # STATUS on the selected mailbox: the value before the sync, capped
    out = c.cmd(b"STATUS INBOX (HIGHESTMODSEQ)")
    st = re.search(rb"\* STATUS \"?INBOX\"? \(HIGHESTMODSEQ (\d+)\)", b"".join(out))
    assert st and int(st.group(1)) <= before, out
    # STATUS may send expunges: VANISHED, then the new resync point
    assert vanished(out, earlier=False) == {1}, out
    assert hms_codes(out)[-1] == top, out
    out = c.cmd(b"NOOP")
    assert not any(l.startswith(b"* VANISHED") for l in out)
    c.close()
    d.close()
