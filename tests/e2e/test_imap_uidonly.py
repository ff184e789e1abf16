"""UIDONLY (RFC 9586): after ENABLE UIDONLY, sequence numbers are refused
with BAD [UIDREQUIRED] wherever a command could take them, untagged FETCH
becomes UIDFETCH, EXPUNGE becomes VANISHED and SELECT sends no [UNSEEN]."""
import re

from imap_raw import Raw

MSG = b"From: a@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n"


def status(lines):
    return lines[-1].split()[1]


def uidonly(roost, select=True):
    c = Raw(roost)
    assert c.cmd(b"ENABLE UIDONLY")[0] == b"* ENABLED UIDONLY\r\n"
    if select:
        out = c.cmd(b"SELECT INBOX")
        assert status(out) == b"OK"
        # [UNSEEN n] names a sequence number
        assert not any(b"[UNSEEN" in l for l in out), out
    return c


def no_seq_responses(lines):
    """No untagged FETCH or EXPUNGE (both carry sequence numbers)."""
    for l in lines:
        assert not re.match(rb"\* \d+ (FETCH|EXPUNGE)\b", l), lines


def test_capability_and_enable(roost):
    c = Raw(roost)
    assert b" UIDONLY" in b"".join(c.cmd(b"CAPABILITY"))
    assert c.cmd(b"ENABLE UIDONLY")[0] == b"* ENABLED UIDONLY\r\n"
    # once is enough: ENABLED lists nothing new (RFC 5161 3.2)
    assert c.cmd(b"ENABLE UIDONLY")[0] == b"* ENABLED\r\n"
    c.close()


def test_rfc9586_uid_fetch_and_store(roost):
    # RFC 9586 3's example flow: UID FETCH answers with UIDFETCH responses
    # named by UID
    for i in range(1, 4):
        roost.deliver(MSG % (i, i), "alice@example.com")
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    assert c.ok(b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert c.ok(b"EXPUNGE")  # UIDs 2 3 are now sequence numbers 1 2
    c.close()
    c = uidonly(roost)
    out = c.cmd(b"UID FETCH 1:* (FLAGS)")
    assert status(out) == b"OK"
    no_seq_responses(out)
    assert [l.split()[1] for l in out if b"UIDFETCH" in l] == [b"2", b"3"], out
    assert all(l.startswith(b"* %s UIDFETCH (" % l.split()[1]) for l in out[:-1])
    out = c.cmd(b"UID STORE 3 +FLAGS (\\Flagged)")
    no_seq_responses(out)
    assert re.match(rb"\* 3 UIDFETCH \(.*FLAGS \(\\Flagged\)", out[0]), out
    # another session's change arrives as UIDFETCH too
    d = Raw(roost)
    assert d.ok(b"SELECT INBOX")
    assert d.ok(b"UID STORE 2 +FLAGS (\\Seen)")
    out = c.cmd(b"NOOP")
    no_seq_responses(out)
    assert any(re.match(rb"\* 2 UIDFETCH \(.*\\Seen", l) for l in out), out
    d.close()
    c.close()


def test_expunge_becomes_vanished(roost):
    for i in range(1, 5):
        roost.deliver(MSG % (i, i), "alice@example.com")
    c = uidonly(roost)
    assert c.ok(b"UID STORE 2,4 +FLAGS.SILENT (\\Deleted)")
    out = c.cmd(b"EXPUNGE")
    assert status(out) == b"OK"
    no_seq_responses(out)
    assert b"* VANISHED 2,4\r\n" in out, out
    # another session's expunge and MOVE: VANISHED at the next sync
    d = Raw(roost)
    assert d.ok(b"SELECT INBOX")
    assert d.ok(b"UID STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert d.ok(b"UID EXPUNGE 1")
    out = c.cmd(b"NOOP")
    no_seq_responses(out)
    assert b"* VANISHED 1\r\n" in out, out
    assert c.ok(b"CREATE Other")
    out = c.cmd(b"UID MOVE 3 Other")
    assert status(out) == b"OK"
    no_seq_responses(out)
    assert b"* VANISHED 3\r\n" in out, out
    d.close()
    c.close()


def test_uid_search_sort_thread_and_saved_result(roost):
    for i in range(1, 4):
        roost.deliver(MSG % (i, i), "alice@example.com")
    c = uidonly(roost)
    out = c.cmd(b"UID SEARCH RETURN (ALL SAVE) UID 1:*")
    assert status(out) == b"OK"
    assert b"* ESEARCH" in b"".join(out)
    # "$" is a set of UIDs, allowed
    assert c.ok(b"UID FETCH $ (FLAGS)")
    assert c.ok(b"UID SEARCH $")
    assert c.ok(b"UID SORT (SUBJECT) UTF-8 UID 1:2")
    assert c.ok(b"UID THREAD REFERENCES UTF-8 ALL")
    c.close()


SEQ_COMMANDS = [
    b"FETCH 1 (FLAGS)",
    b"FETCH 1:* (UID)",
    b"STORE 1 +FLAGS (\\Seen)",
    b"COPY 1 INBOX",
    b"MOVE 1 INBOX",
    b"SEARCH ALL",
    b"SEARCH RETURN (COUNT) UID 1:*",
    b"SORT (ARRIVAL) UTF-8 ALL",
    b"THREAD REFERENCES UTF-8 ALL",
    b"UID SEARCH 1",
    b"UID SEARCH 1:*",
    b"UID SEARCH *",
    b"UID SEARCH NOT 2",
    b"UID SEARCH OR SEEN 1",
    b"UID SEARCH (UNSEEN (1:2))",
    b"UID SEARCH RETURN (UPDATE) 1:*",
    b"UID SEARCH RETURN (SAVE) 1",
    b"UID SORT (ARRIVAL) UTF-8 1:*",
    b"UID THREAD REFERENCES UTF-8 NOT 1",
    b"REPLACE 1 INBOX {5+}\r\nx\r\n\r\n",
]


def test_attacker_sequence_numbers_everywhere(roost):
    roost.deliver(MSG % (1, 1), "alice@example.com")
    for line in SEQ_COMMANDS:
        # a fresh session for each: too many BADs end one (imap.max_errors)
        c = uidonly(roost)
        out = c.cmd(line)
        assert out[-1].split()[1:3] == [b"BAD", b"[UIDREQUIRED]"], (line, out)
        no_seq_responses(out)
        # nothing happened: the message is still there, unflagged, and
        # "SAVE" left the saved result empty
        out = c.cmd(b"UID FETCH 1:* (FLAGS)")
        fetched = [l for l in out if l.startswith(b"* 1 UIDFETCH (")]
        assert len(fetched) == 1 and b"\\Seen" not in fetched[0], (line, out)
        assert c.ok(b"NOOP")
        c.close()
    c = uidonly(roost)
    assert [l for l in c.cmd(b"UID SEARCH RETURN (COUNT) ALL") if b"COUNT" in l][0].rstrip().endswith(b"COUNT 1")
    c.close()


def test_sessions_without_uidonly_are_unchanged(roost):
    roost.deliver(MSG % (1, 1), "alice@example.com")
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    out = c.cmd(b"FETCH 1 (FLAGS)")
    assert out[0].startswith(b"* 1 FETCH ("), out
    c.close()


def test_qresync_select_without_sequence_numbers(roost):
    roost.deliver(MSG % (1, 1), "alice@example.com")
    c = Raw(roost)
    assert c.cmd(b"ENABLE QRESYNC UIDONLY")[0] == b"* ENABLED QRESYNC UIDONLY\r\n"
    out = c.cmd(b"EXAMINE INBOX")
    uidv = int(re.search(rb"\[UIDVALIDITY (\d+)\]", b"".join(out)).group(1))
    # seq-match-data pairs sequence numbers with UIDs: refused
    out = c.cmd(b"SELECT INBOX (QRESYNC (%d 1 1:5 (1 1)))" % uidv)
    assert out[-1].split()[1:3] == [b"BAD", b"[UIDREQUIRED]"], out
    out = c.cmd(b"SELECT INBOX (QRESYNC (%d 1 1:5))" % uidv)
    assert status(out) == b"OK", out
    no_seq_responses(out)
    assert any(re.match(rb"\* 1 UIDFETCH \(UID 1 ", l) for l in out), out
    c.close()
