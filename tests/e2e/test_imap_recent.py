"""\\Recent (RFC 3501 2.3.2, 6.3.1, 6.3.2, 7.3.2, 7.4.1, 6.3.10): exactly one
session, the first told of a new message by SELECT or by an untagged
EXISTS, gets \\Recent for it, with "* N RECENT" beside every EXISTS that
announces new mail; a read-only (EXAMINE) session sees unclaimed messages
as recent and leaves them so; STATUS RECENT counts what nobody has claimed;
IMAP4rev2 sessions see no \\Recent at all."""
import re
import threading

from imap_raw import Raw

MSG = (b"From: Bob <bob@example.org>\r\nTo: alice@example.com\r\n"
       b"Subject: recent %d\r\n\r\nbody\r\n")


def append(r, n, box=b"INBOX"):
    data = MSG % n
    r.s.sendall(b"ap%d APPEND %s {%d+}\r\n" % (n, box, len(data)) + data + b"\r\n")
    out = r.read_tagged(b"ap%d" % n)
    assert out[-1].split()[1] == b"OK", out


def untagged(out, word):
    """The numbers of '* N WORD' lines, in order."""
    got = []
    for l in out:
        m = re.match(rb"\* (\d+) " + word + rb"\r\n", l)
        if m:
            got.append(int(m.group(1)))
    return got


def recent_seqs(r, n):
    out = r.cmd(b"FETCH 1:%d (FLAGS)" % n)
    assert out[-1].split()[1] == b"OK", out
    return sorted(int(l.split()[1]) for l in out if l.startswith(b"* ") and b"\\Recent" in l)


def status_recent(r, box=b"INBOX"):
    out = r.cmd(b"STATUS %s (RECENT)" % box)
    m = re.search(rb"RECENT (\d+)", b"".join(out))
    assert m, out
    return int(m.group(1))


def search(r, key):
    out = r.cmd(b"SEARCH " + key)
    line = [l for l in out if l.startswith(b"* SEARCH")]
    assert len(line) == 1, out
    return [int(x) for x in line[0].split()[2:]]


def test_exists_carries_recent_and_the_first_told_claims(roost):
    a, b, w = Raw(roost), Raw(roost), Raw(roost)
    try:
        append(w, 1)
        out = a.cmd(b"SELECT INBOX")
        assert untagged(out, b"RECENT") == [1], out
        out = b.cmd(b"SELECT INBOX")
        assert untagged(out, b"RECENT") == [0], out
        append(w, 2)
        # nobody has been told of message 2 yet
        assert status_recent(w) == 1
        out = a.cmd(b"NOOP")
        assert untagged(out, b"EXISTS") == [2], out
        # RECENT goes with the EXISTS, in the same response burst
        assert untagged(out, b"RECENT") == [2], out
        i = [k for k, l in enumerate(out) if l.endswith(b" EXISTS\r\n")][0]
        assert out[i + 1] == b"* 2 RECENT\r\n", out
        # a was told first: \Recent at once, in FETCH and SEARCH
        assert recent_seqs(a, 2) == [1, 2]
        assert search(a, b"RECENT") == [1, 2]
        assert search(a, b"NEW") == [1, 2]
        # claimed: no longer counted by STATUS in another session
        assert status_recent(w) == 0
        out = b.cmd(b"NOOP")
        assert untagged(out, b"EXISTS") == [2], out
        assert untagged(out, b"RECENT") == [0], out
        assert recent_seqs(b, 2) == []
        assert search(b, b"RECENT") == []
        # a later SELECT finds nothing recent
        out = w.cmd(b"SELECT INBOX")
        assert untagged(out, b"RECENT") == [0], out
    finally:
        a.close()
        b.close()
        w.close()


def test_exactly_one_of_two_racing_sessions_claims(roost):
    w = Raw(roost)
    sessions = [Raw(roost) for _ in range(4)]
    try:
        for r in sessions:
            assert r.ok(b"SELECT INBOX")
        for n in range(1, 4):
            append(w, n)
        outs = [None] * len(sessions)

        def noop(i):
            outs[i] = sessions[i].cmd(b"NOOP")
        threads = [threading.Thread(target=noop, args=(i,)) for i in range(len(sessions))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = 0
        for i, r in enumerate(sessions):
            out = outs[i]
            if untagged(out, b"EXISTS"):
                assert untagged(out, b"RECENT"), out
            got = recent_seqs(r, 3)
            # every session's RECENT count matches its \Recent flags
            last = untagged(out + r.cmd(b"NOOP"), b"RECENT")
            assert not last or last[-1] == len(got), (out, got)
            total += len(got)
        assert total == 3
    finally:
        w.close()
        for r in sessions:
            r.close()


def test_examine_shows_recent_without_claiming(roost):
    e, s, w = Raw(roost), Raw(roost), Raw(roost)
    try:
        append(w, 1)
        out = e.cmd(b"EXAMINE INBOX")
        assert untagged(out, b"RECENT") == [1], out
        assert recent_seqs(e, 1) == [1]
        append(w, 2)
        out = e.cmd(b"NOOP")
        assert untagged(out, b"EXISTS") == [2], out
        assert untagged(out, b"RECENT") == [2], out
        # RFC 3501 2.3.2: after a read-only session, the next one still
        # sees \Recent
        assert status_recent(w) == 2
        out = s.cmd(b"SELECT INBOX")
        assert untagged(out, b"RECENT") == [2], out
        assert recent_seqs(s, 2) == [1, 2]
    finally:
        e.close()
        s.close()
        w.close()


def test_copy_move_append_are_recent_for_the_next_claimant(roost):
    a, w = Raw(roost), Raw(roost)
    try:
        assert a.ok(b"CREATE Other")
        append(w, 1)
        append(w, 2)
        assert a.ok(b"SELECT INBOX")
        assert a.ok(b"COPY 1 Other")
        assert status_recent(w, b"Other") == 1
        assert a.ok(b"MOVE 2 Other")
        assert status_recent(w, b"Other") == 2
        append(w, 3, b"Other")
        assert status_recent(w, b"Other") == 3
        out = w.cmd(b"SELECT Other")
        assert untagged(out, b"RECENT") == [3], out
        assert recent_seqs(w, 3) == [1, 2, 3]
        # the session that copies into its own selected mailbox is the
        # first told of the copy
        assert w.ok(b"COPY 1 Other")
        out = w.cmd(b"NOOP")
        assert untagged(out, b"RECENT") in ([4], []), out
        assert recent_seqs(w, 4) == [1, 2, 3, 4]
        assert status_recent(a, b"Other") == 0
    finally:
        a.close()
        w.close()


def test_rev2_sessions_get_no_recent_and_claim_nothing(roost):
    a, w = Raw(roost), Raw(roost)
    try:
        assert a.ok(b"ENABLE IMAP4rev2")
        append(w, 1)
        out = a.cmd(b"SELECT INBOX")
        assert untagged(out, b"RECENT") == [], out
        append(w, 2)
        out = a.cmd(b"NOOP")
        assert untagged(out, b"EXISTS") == [2], out
        assert untagged(out, b"RECENT") == [], out
        assert recent_seqs(a, 2) == []
        # still unclaimed for a rev1 session
        assert status_recent(w) == 2
    finally:
        a.close()
        w.close()
