"""UTF8=ACCEPT (RFC 6855): UTF-8 in the server's quoted strings
only after ENABLE (section 3), APPEND of 8-bit header fields refused with
NO unless enabled (section 4), and messages with UTF-8 headers served to
clients that did not enable it (as stored; 8-bit strings as literals)."""
import re

from imap_raw import Raw

NAME = "Entwürfe".encode()
UTF8_MSG = "From: jörg@example.org\r\nSubject: Grüße\r\n\r\nHallo Jürgen\r\n".encode()
BODY_8BIT = "From: a@example.org\r\nSubject: plain\r\n\r\nHallo Jürgen\r\n".encode()


def lit(data):
    return b"{%d+}\r\n" % len(data) + data


def status(out):
    return out[-1].split()[1]


def messages(c, box=b"INBOX"):
    out = b"".join(c.cmd(b"STATUS " + box + b" (MESSAGES)"))
    return int(re.search(rb"MESSAGES (\d+)", out).group(1))


def test_quoted_utf8_only_after_enable(roost):
    c = Raw(roost)
    assert c.ok(b"ENABLE UTF8=ACCEPT")
    assert c.ok(b'CREATE "' + NAME + b'"')
    out = c.cmd(b'LIST "" "Entw*"')
    # a quoted UTF-8 string, not a literal and not modified UTF-7
    assert b'* LIST (\\HasNoChildren) "/" "' + NAME + b'"\r\n' in out, out
    out = c.cmd(b'STATUS "' + NAME + b'" (MESSAGES)')
    assert out[0] == b'* STATUS "' + NAME + b'" (MESSAGES 0)\r\n', out
    # a rev1 client that did not enable it: modified UTF-7, 7-bit only
    d = Raw(roost)
    out = d.cmd(b'LIST "" "Entw*"')
    assert b'"Entw&APw-rfe"' in out[0], out
    assert not any(re.search(rb"[\x80-\xff]", l) for l in out), out
    # IMAP4rev2 has uQUOTED-CHAR in its grammar (RFC 9051 9)
    e = Raw(roost)
    assert e.ok(b"ENABLE IMAP4rev2")
    out = e.cmd(b'LIST "" "Entw*"')
    assert out[0].endswith(b' "' + NAME + b'"\r\n'), out
    for x in (c, d, e):
        x.close()


def test_preview_quoted_or_literal(roost):
    roost.deliver(BODY_8BIT, "alice@example.com")
    c = Raw(roost)
    assert c.ok(b"ENABLE UTF8=ACCEPT")
    assert c.ok(b"SELECT INBOX")
    out = c.cmd(b"FETCH 1 (PREVIEW)")
    assert out[0] == '* 1 FETCH (PREVIEW "Hallo Jürgen")\r\n'.encode(), out
    d = Raw(roost)
    assert d.ok(b"SELECT INBOX")
    out = d.cmd(b"FETCH 1 (PREVIEW)")
    n = len("Hallo Jürgen".encode())
    assert out[0] == b"* 1 FETCH (PREVIEW {%d}\r\n" % n, out
    c.close()
    d.close()


def test_append_8bit_header_needs_enable(roost):
    c = Raw(roost)
    out = c.cmd(b"APPEND INBOX " + lit(UTF8_MSG))
    assert status(out) == b"NO" and b"UTF8=ACCEPT" in out[-1], out
    # literal8 (BINARY) is no way around it
    out = c.cmd(b"APPEND INBOX ~" + lit(UTF8_MSG))
    assert status(out) == b"NO", out
    # MULTIAPPEND: all or none
    out = c.cmd(b"APPEND INBOX " + lit(BODY_8BIT) + b" " + lit(UTF8_MSG))
    assert status(out) == b"NO", out
    assert messages(c) == 0
    # 8-bit only in the body is not a header matter
    out = c.cmd(b"APPEND INBOX " + lit(BODY_8BIT))
    assert status(out) == b"OK", out
    # a blank first line: no header fields at all
    out = c.cmd(b"APPEND INBOX " + lit("\r\nJürgen\r\n".encode()))
    assert status(out) == b"OK", out
    assert messages(c) == 2
    # after ENABLE UTF8=ACCEPT: the plain literal and RFC 6855's UTF8 form
    assert c.ok(b"ENABLE UTF8=ACCEPT")
    out = c.cmd(b"APPEND INBOX " + lit(UTF8_MSG))
    assert re.search(rb"OK \[APPENDUID \d+ 3\]", out[-1]), out
    out = c.cmd(b"APPEND INBOX UTF8 (~" + lit(UTF8_MSG) + b")")
    assert re.search(rb"OK \[APPENDUID \d+ 4\]", out[-1]), out
    c.close()
    # IMAP4rev2 includes UTF-8 header fields
    d = Raw(roost)
    assert d.ok(b"ENABLE IMAP4rev2")
    out = d.cmd(b"APPEND INBOX " + lit(UTF8_MSG))
    assert status(out) == b"OK", out
    assert messages(d) == 5
    d.close()


def test_legacy_client_reads_utf8_headers_as_literals(roost):
    roost.deliver(UTF8_MSG, "alice@example.com")
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    out = c.cmd(b"FETCH 1 (ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert status(out) == b"OK", out
    text = b"".join(out)
    subject = "Grüße".encode()
    assert subject in text, out
    # every 8-bit byte travels inside a literal: the line before each
    # one that carries 8-bit ends with a literal's "{n}"
    for i, l in enumerate(out):
        if re.search(rb"[\x80-\xff]", l):
            assert i > 0 and re.search(rb"\{\d+\}\r\n$", out[i - 1]), (i, out)
    assert b'"' + subject not in text
    c.close()
