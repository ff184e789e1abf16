"""SAVEDATE (RFC 8514) in SEARCH: SAVEDBEFORE, SAVEDON, SAVEDSINCE compare
the day a message was saved into its mailbox, not its internal date;
SAVEDATESUPPORTED matches every message (every mailbox keeps save dates)."""
import re
import time

from imap_raw import Raw

MSG = b"From: a@example.org\r\nSubject: %d\r\n\r\nbody\r\n"


def lit(data):
    return b"{%d+}\r\n" % len(data) + data


def search(c, keys):
    out = c.cmd(b"UID SEARCH " + keys)
    assert out[-1].split()[1] == b"OK", out
    m = re.search(rb"^\* SEARCH([ \d]*)", b"".join(out), re.M)
    assert m, out
    return sorted(int(x) for x in m.group(1).split())


def test_saved_keys_use_the_save_date(roost):
    c = Raw(roost)
    # internal date long ago, saved today
    assert c.ok(b'APPEND INBOX "15-Jan-2001 10:00:00 +0000" ' + lit(MSG % 1))
    roost.deliver(MSG % 2, "alice@example.com")
    roost.deliver(MSG % 3, "alice@example.com")
    # move message 2's save date to 15-Jan-2020 12:00 UTC, as if saved then
    roost.sql("UPDATE messages SET savedate = 1579089600 WHERE uid = 2 AND mailbox_id ="
              " (SELECT id FROM mailboxes WHERE name = 'INBOX')")
    assert c.ok(b"SELECT INBOX")
    today = time.strftime("%d-%b-%Y", time.gmtime()).encode()
    assert search(c, b"SAVEDON 15-Jan-2020") == [2]
    assert search(c, b"SAVEDBEFORE 1-Jan-2021") == [2]
    assert search(c, b"SAVEDSINCE " + today) == [1, 3]
    assert search(c, b"SAVEDON " + today) == [1, 3]
    # the internal date is another thing: message 1 was not saved in 2001
    assert search(c, b"ON 15-Jan-2001") == [1]
    assert search(c, b"SAVEDON 15-Jan-2001") == []
    assert search(c, b"SAVEDATESUPPORTED") == [1, 2, 3]
    assert search(c, b"NOT SAVEDATESUPPORTED") == []
    assert search(c, b"OR SAVEDON 15-Jan-2020 UID 3") == [2, 3]
    # a bad date is a client error
    assert c.cmd(b"SEARCH SAVEDON yesterday")[-1].split()[1] == b"BAD"
    assert c.cmd(b"SEARCH SAVEDSINCE")[-1].split()[1] == b"BAD"
    c.close()


def test_copy_saves_anew(roost):
    c = Raw(roost)
    assert c.ok(b'APPEND INBOX "15-Jan-2001 10:00:00 +0000" ' + lit(MSG % 1))
    assert c.ok(b"CREATE Old")
    assert c.ok(b"SELECT INBOX") and c.ok(b"COPY 1 Old")
    assert c.ok(b"SELECT Old")
    today = time.strftime("%d-%b-%Y", time.gmtime()).encode()
    assert search(c, b"SAVEDSINCE " + today) == [1]
    assert search(c, b"SAVEDBEFORE " + today) == []
    c.close()


def test_search_without_arguments_is_bad(roost):
    # the fuzzer's case: no arguments at all (no pointer arithmetic on NULL)
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    assert c.cmd(b"SEARCH")[-1].split()[1] == b"BAD"
    assert c.cmd(b"UID SEARCH")[-1].split()[1] == b"BAD"
    assert c.cmd(b"SEARCH RETURN (COUNT)")[-1].split()[1] == b"BAD"
    assert c.ok(b"NOOP")
    c.close()
