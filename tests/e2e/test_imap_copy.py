"""IMAP COPY/MOVE (UIDPLUS COPYUID), EXPUNGE, UID EXPUNGE, CLOSE and QUOTA
(RFC 9208) edge cases."""
import re

from imap_raw import Raw

MSG = b"From: a@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n"


def fill(roost, n):
    for i in range(1, n + 1):
        roost.deliver(MSG % (i, i), "alice@example.com")


def status(out):
    return out[-1].split()[1]


def test_copyuid_ranges_compressed(roost):
    fill(roost, 6)
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    out = c.cmd(b"COPY 1:3,5:6 Archive")
    m = re.search(rb"\[COPYUID (\d+) (\S+) (\S+)\]", out[-1])
    assert m, out
    assert m.group(2) == b"1:3,5:6" and m.group(3) == b"1:5"
    out = c.cmd(b"UID COPY 2,4 Archive")
    m = re.search(rb"\[COPYUID \d+ (\S+) (\S+)\]", out[-1])
    assert m.group(1) == b"2,4" and m.group(2) == b"6:7"
    # nothing matched: plain OK, no COPYUID
    out = c.cmd(b"UID COPY 100:200 Archive")
    assert status(out) == b"OK" and b"COPYUID" not in out[-1]
    out = c.cmd(b"COPY 1 NoSuchBox")
    assert status(out) == b"NO" and b"[TRYCREATE]" in out[-1]


def test_move_sends_copyuid_then_expunges(roost):
    fill(roost, 5)
    c = Raw(roost)
    other = Raw(roost)
    assert c.ok(b"SELECT INBOX") and other.ok(b"SELECT INBOX")
    out = c.cmd(b"MOVE 2:3,5 Trash")
    text = b"".join(out)
    assert re.search(rb"\* OK \[COPYUID \d+ 2:3,5 1:3\]", text), out
    # expunges highest first so numbers stay valid, before the tagged OK
    exp = [l for l in out if l.endswith(b"EXPUNGE\r\n")]
    assert exp == [b"* 5 EXPUNGE\r\n", b"* 3 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"]
    assert text.index(b"COPYUID") < text.index(b"EXPUNGE") < text.index(out[-1])
    out = c.cmd(b"FETCH 1:* (UID)")
    assert [re.search(rb"UID (\d+)", l).group(1) for l in out[:-1]] == [b"1", b"4"]
    # the other session learns it too
    out = other.cmd(b"NOOP")
    assert sum(1 for l in out if l.endswith(b"EXPUNGE\r\n")) == 3
    assert c.ok(b"EXAMINE Trash")
    out = c.cmd(b"MOVE 1 INBOX")
    assert status(out) == b"NO" and b"READ-ONLY" in out[-1]


def test_uid_expunge_only_deleted_within_set(roost):
    fill(roost, 5)
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    assert c.ok(b"STORE 1:4 +FLAGS.SILENT (\\Deleted)")
    out = c.cmd(b"UID EXPUNGE 2:3,5")
    exp = [l for l in out if l.endswith(b"EXPUNGE\r\n")]
    assert exp == [b"* 3 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"], out
    out = c.cmd(b"UID SEARCH ALL")
    assert out[0] == b"* SEARCH 1 4 5\r\n"
    out = c.cmd(b"EXPUNGE")
    exp = [l for l in out if l.endswith(b"EXPUNGE\r\n")]
    assert exp == [b"* 2 EXPUNGE\r\n", b"* 1 EXPUNGE\r\n"], out
    assert status(c.cmd(b"UID EXPUNGE")) == b"BAD"
    assert status(c.cmd(b"EXPUNGE 1")) == b"BAD"


def test_close_expunges_silently(roost):
    fill(roost, 4)
    c = Raw(roost)
    other = Raw(roost)
    assert c.ok(b"SELECT INBOX") and other.ok(b"SELECT INBOX")
    assert c.ok(b"STORE 2:3 +FLAGS.SILENT (\\Deleted)")
    out = c.cmd(b"CLOSE")
    assert status(out) == b"OK"
    assert not any(b"EXPUNGE" in l for l in out), out
    out = other.cmd(b"NOOP")
    assert sum(1 for l in out if l.endswith(b"EXPUNGE\r\n")) == 2
    assert status(c.cmd(b"FETCH 1 UID")) == b"BAD"   # not selected any more
    # EXAMINE then CLOSE: nothing is expunged
    assert other.ok(b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert c.ok(b"EXAMINE INBOX")
    assert c.ok(b"CLOSE")
    out = c.cmd(b"STATUS INBOX (MESSAGES)")
    assert b"MESSAGES 2" in out[0]


def quota(c, root=b'""'):
    out = c.cmd(b"GETQUOTA " + root)
    return out, {m.group(1): (int(m.group(2)), int(m.group(3)))
                 for m in re.finditer(rb"(STORAGE|MESSAGE) (\d+) (\d+)", b"".join(out))}


def test_quota_commands_and_cli_changes(roost):
    roost.cli("user", "quota", "alice@example.com", "100K", "10")
    fill(roost, 3)
    used = roost.users()["alice@example.com"][1]
    c = Raw(roost)
    out, q = quota(c)
    assert status(out) == b"OK"
    assert q[b"STORAGE"] == ((used + 1023) // 1024, 100)
    assert q[b"MESSAGE"] == (3, 10)
    out = c.cmd(b"GETQUOTAROOT INBOX")
    text = b"".join(out)
    assert re.search(rb'\* QUOTAROOT "?INBOX"? ""', text) and b"MESSAGE 3 10" in text
    assert status(c.cmd(b"GETQUOTAROOT NoSuchBox")) == b"NO"
    assert status(c.cmd(b'GETQUOTA "other"')) == b"NO"
    assert status(c.cmd(b'SETQUOTA "" (STORAGE 1)')) == b"NO"
    roost.cli("user", "quota", "alice@example.com", "2M", "5")
    _, q = quota(c)
    assert q[b"STORAGE"][1] == 2048 and q[b"MESSAGE"] == (3, 5)
    # over the message quota: COPY and MOVE fail whole, nothing changes
    assert c.ok(b"SELECT INBOX")
    out = c.cmd(b"COPY 1:3 Archive")
    assert status(out) == b"NO" and b"[OVERQUOTA]" in out[-1], out
    out = c.cmd(b"STATUS Archive (MESSAGES)")
    assert b"MESSAGES 0" in out[0]
    out = c.cmd(b"COPY 1:2 Archive")
    assert status(out) == b"OK"
    # MOVE does not add usage, so it is allowed at the limit
    assert c.ok(b"MOVE 3 Archive")
    _, q = quota(c)
    assert q[b"MESSAGE"] == (5, 5)
    roost.cli("user", "quota", "alice@example.com", "unlimited", "unlimited")
    out = c.cmd(b"GETQUOTAROOT INBOX")
    assert status(out) == b"OK"
    assert not any(l.startswith(b"* QUOTA ") for l in out), out
    assert re.search(rb'\* QUOTAROOT "?INBOX"?\r\n', out[0]), out
    assert status(c.cmd(b'GETQUOTA ""')) == b"NO"
