"""MULTIAPPEND (RFC 3502): several messages in one APPEND, stored all or
none, APPENDUID with the UID set (RFC 4315); UTF8=ACCEPT's APPEND form
(RFC 6855 4)."""
import re

from imap_raw import Raw


def lit(data):
    return b"{%d+}\r\n" % len(data) + data


def msg(i):
    return b"From: a@example.org\r\nSubject: multi %d\r\n\r\nbody %d\r\n" % (i, i)


def test_capability_lists_multiappend(roost):
    c = Raw(roost)
    caps = c.cmd(b"CAPABILITY")[0].split()
    for word in (b"MULTIAPPEND", b"REPLACE", b"OBJECTID", b"SAVEDATE", b"PREVIEW",
                 b"UTF8=ACCEPT"):
        assert word in caps


def test_multiappend_three_messages_with_flags_and_dates(roost):
    c = Raw(roost)
    # RFC 3502 6.3.11 example shape: per-message flags and date-time
    line = (b"APPEND Drafts (\\Seen) \"7-Feb-1994 21:52:25 -0800\" " + lit(msg(1)) +
            b" " + lit(msg(2)) + b" (\\Flagged) " + lit(msg(3)))
    out = c.cmd(line)
    m = re.search(rb"OK \[APPENDUID (\d+) (\S+)\]", out[-1])
    assert m, out
    assert m.group(2) == b"1:3"
    assert c.ok(b"SELECT Drafts")
    out = c.cmd(b"FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    text = b"".join(out)
    assert text.count(b"FETCH (") == 3
    # the date is kept as an instant (shown in UTC)
    assert re.search(rb"\* 1 FETCH \(UID 1 FLAGS \(\\Seen[^)]*\) INTERNALDATE \"08-Feb-1994 05:52:25 \+0000\"",
                     text), text
    assert re.search(rb"\* 2 FETCH \(UID 2 FLAGS \((\\Recent)?\) INTERNALDATE \"\d+-\w+-20", text), text
    assert re.search(rb"\* 3 FETCH \(UID 3 FLAGS \(\\Flagged[^)]*\)", text), text
    assert b"multi 2" in text
    # a second MULTIAPPEND continues the UID set
    out = c.cmd(b"APPEND Drafts " + lit(msg(4)) + b" " + lit(msg(5)))
    assert re.search(rb"\[APPENDUID \d+ 4:5\]", out[-1]), out


def test_multiappend_all_or_nothing_over_quota(roost):
    roost.cli("user", "quota", "alice@example.com", "unlimited", "2")
    c = Raw(roost)
    out = c.cmd(b"GETQUOTAROOT INBOX")
    assert b"MESSAGE 0 2" in b"".join(out), out
    out = c.cmd(b"APPEND INBOX " + lit(msg(1)) + b" " + lit(msg(2)) + b" " + lit(msg(3)))
    assert out[-1].split()[1] == b"NO" and b"[OVERQUOTA]" in out[-1], out
    assert c.ok(b"SELECT INBOX")
    out = c.cmd(b"STATUS INBOX (MESSAGES)")
    assert b"MESSAGES 0" in b"".join(out), out
    # two fit
    out = c.cmd(b"APPEND INBOX " + lit(msg(1)) + b" " + lit(msg(2)))
    assert out[-1].split()[1] == b"OK", out


def test_multiappend_bad_second_message_stores_nothing(roost):
    c = Raw(roost)
    out = c.cmd(b"APPEND INBOX " + lit(msg(1)) + b" (\\Bogus) " + lit(msg(2)))
    assert out[-1].split()[1] == b"BAD", out
    out = c.cmd(b"APPEND INBOX " + lit(msg(1)) + b" \"not a date\" " + lit(msg(2)))
    assert out[-1].split()[1] == b"BAD", out
    out = c.cmd(b"STATUS INBOX (MESSAGES UIDNEXT)")
    assert b"MESSAGES 0" in b"".join(out) and b"UIDNEXT 1" in b"".join(out), out
    out = c.cmd(b"APPEND NoSuchBox " + lit(msg(1)) + b" " + lit(msg(2)))
    assert out[-1].split()[1] == b"NO" and b"[TRYCREATE]" in out[-1], out


def test_utf8_accept_append_form(roost):
    c = Raw(roost)
    body = "From: a@example.org\r\nSubject: Grüße\r\n\r\nHallo Jürgen\r\n".encode()
    form = b"APPEND INBOX UTF8 (~{%d+}\r\n" % len(body) + body + b")"
    # without ENABLE UTF8=ACCEPT the UTF8 form is not valid syntax
    out = c.cmd(form)
    assert out[-1].split()[1] == b"BAD", out
    out = c.cmd(b"ENABLE UTF8=ACCEPT")
    assert out[0] == b"* ENABLED UTF8=ACCEPT\r\n", out
    out = c.cmd(form)
    assert re.search(rb"OK \[APPENDUID \d+ 1\]", out[-1]), out
    # UTF-8 mailbox names now, not modified UTF-7
    assert c.ok("CREATE \"Entwürfe\"".encode())
    out = c.cmd(b"LIST \"\" \"Entw*\"")
    # raw UTF-8 (quoted or as a literal), no "&APw-"
    assert "Entwürfe".encode() in b"".join(out), out
    assert c.ok(b"SELECT INBOX")
    out = c.cmd(b"FETCH 1 (PREVIEW)")
    assert "Hallo Jürgen".encode() in b"".join(out), out


def test_rev1_client_gets_modified_utf7(roost):
    c = Raw(roost)
    assert c.ok(b"ENABLE UTF8=ACCEPT")
    assert c.ok("CREATE \"Büro\"".encode())
    d = Raw(roost)
    out = d.cmd(b"LIST \"\" \"B*\"")
    assert b"\"B&APw-ro\"" in b"".join(out), out
