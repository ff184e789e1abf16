"""REPLACE and UID REPLACE (RFC 8508): the new message is appended and the
old one expunged in one atomic store operation; APPENDUID comes in an
untagged OK before EXISTS/EXPUNGE."""
import re

from imap_raw import Raw


def lit(data):
    return b"{%d+}\r\n" % len(data) + data


def draft(i):
    return b"From: a@example.org\r\nSubject: draft v%d\r\n\r\ntext %d\r\n" % (i, i)


def test_replace_in_same_mailbox(roost):
    c = Raw(roost)
    for i in range(1, 5):
        assert c.ok(b"APPEND Drafts (\\Draft) " + lit(draft(i)))
    other = Raw(roost)
    assert c.ok(b"SELECT Drafts") and other.ok(b"SELECT Drafts")
    # RFC 8508 3.4 example shape: REPLACE 4 Drafts
    out = c.cmd(b"REPLACE 4 Drafts (\\Seen \\Draft) " + lit(draft(5)))
    text = b"".join(out)
    assert out[-1].split()[1] == b"OK", out
    assert re.search(rb"^\* OK \[APPENDUID \d+ 5\]", text, re.M), out
    # EXISTS for the new message and EXPUNGE of the old, in either order
    # (5 EXISTS then 4 EXPUNGE, or 4 EXPUNGE then 4 EXISTS)
    assert b"* 4 EXPUNGE\r\n" in out, out
    assert b"* 5 EXISTS\r\n" in out or out.index(b"* 4 EXISTS\r\n") > out.index(b"* 4 EXPUNGE\r\n")
    assert text.index(b"APPENDUID") < text.index(b"EXPUNGE")
    out = c.cmd(b"UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    text = b"".join(out)
    assert re.findall(rb"UID (\d+)", text) == [b"1", b"2", b"3", b"5"], text
    assert b"draft v5" in text and b"draft v4" not in text
    # the other session learns both
    out = other.cmd(b"NOOP")
    assert b"* 4 EXPUNGE\r\n" in out, out


def test_uid_replace_into_other_mailbox_no_deleted_flag_needed(roost):
    c = Raw(roost)
    for i in range(1, 3):
        assert c.ok(b"APPEND INBOX " + lit(draft(i)))
    assert c.ok(b"SELECT INBOX")
    out = c.cmd(b"UID REPLACE 1 Archive " + lit(draft(9)))
    assert out[-1].split()[1] == b"OK", out
    assert b"* 1 EXPUNGE\r\n" in out
    assert b"EXISTS" not in b"".join(out[:-1]).replace(b"APPENDUID", b"")
    out = c.cmd(b"STATUS Archive (MESSAGES)")
    assert b"MESSAGES 1" in b"".join(out)
    out = c.cmd(b"FETCH 1:* (UID)")
    assert re.findall(rb"UID (\d+)", b"".join(out)) == [b"2"]


def test_replace_failures_change_nothing(roost):
    c = Raw(roost)
    assert c.ok(b"APPEND INBOX " + lit(draft(1)))
    assert c.ok(b"SELECT INBOX")
    out = c.cmd(b"REPLACE 1 NoSuchBox " + lit(draft(2)))
    assert out[-1].split()[1] == b"NO" and b"[TRYCREATE]" in out[-1], out
    out = c.cmd(b"UID REPLACE 77 INBOX " + lit(draft(2)))
    assert out[-1].split()[1] == b"NO", out
    out = c.cmd(b"REPLACE 9 INBOX " + lit(draft(2)))
    assert out[-1].split()[1] == b"BAD", out
    # over quota: the append fails, so the old message stays too
    roost.cli("user", "quota", "alice@example.com", "100")
    out = c.cmd(b"REPLACE 1 Archive " + lit(draft(3) + b"x" * 200))
    assert out[-1].split()[1] == b"NO" and b"OVERQUOTA" in out[-1], out
    assert b"EXPUNGE" not in b"".join(out)
    out = c.cmd(b"FETCH 1:* (UID)")
    assert re.findall(rb"UID (\d+)", b"".join(out)) == [b"1"]
    assert c.ok(b"EXAMINE INBOX")
    out = c.cmd(b"REPLACE 1 INBOX " + lit(draft(2)))
    assert out[-1].split()[1] == b"NO" and b"READ-ONLY" in out[-1], out
