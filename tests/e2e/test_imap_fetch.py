"""IMAP FETCH BINARY (RFC 3516), APPEND literal8, \\Recent for IMAP4rev1
sessions and SEARCHRES ("$", RFC 5182) end to end."""
import base64
import imaplib
import re
import socket

import pytest

RAW = bytes(range(256)) * 2          # every octet, NULs included
TEXT_QP = "caf=C3=A9 na=C3=AFve=\r\n soft break=3D done  \r\n"

MIME = (b"From: bob@example.org\r\nTo: alice@example.com\r\nSubject: parts\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
        b"--XX\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(RAW).replace(b"\n", b"\r\n") +
        b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        + TEXT_QP.encode() +
        b"--XX\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: x-rot13\r\n\r\nuryyb\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nplain seven bit\r\n"
        b"--XX--\r\n")

PLAIN = (b"From: bob@example.org\r\nSubject: plain\r\n\r\nhello\r\n")


class Raw:
    """A line-level IMAP client to see literal8 and exact responses."""

    def __init__(self, roost, login=True):
        self.s = socket.create_connection(("127.0.0.1", roost.port("imap")), timeout=10)
        self.f = self.s.makefile("rb")
        self.greeting = self.f.readline()
        self.n = 0
        if login:
            self.cmd(b'LOGIN alice@example.com secret')

    def send(self, data):
        self.s.sendall(data)

    def read_response(self, tag):
        """Lines until the tagged one; literals are read in full."""
        out = []
        while True:
            line = self.f.readline()
            assert line, "connection closed; got %r" % out
            m = re.search(rb"~?\{(\d+)\}\r\n$", line)
            if m:
                line += self.f.read(int(m.group(1)))
                line += self.f.readline()
            out.append(line)
            if line.startswith(tag + b" "):
                return out

    def cmd(self, text):
        self.n += 1
        tag = b"t%d" % self.n
        self.send(tag + b" " + text + b"\r\n")
        return self.read_response(tag)

    def close(self):
        self.s.close()


def tagged(lines):
    return lines[-1].split(b" ", 2)[1]


def literal_of(lines, label):
    """The bytes of the literal that follows `label` in a FETCH response."""
    blob = b"".join(lines)
    m = re.search(re.escape(label) + rb" (~?)\{(\d+)\}\r\n", blob)
    assert m, (label, blob[:500])
    start = m.end()
    return m.group(1) == b"~", blob[start:start + int(m.group(2))]


@pytest.fixture
def mime_box(roost):
    roost.deliver(MIME, "alice@example.com")
    roost.deliver(PLAIN, "alice@example.com")
    return roost


def test_binary_capability(roost):
    c = Raw(roost)
    caps = b"".join(c.cmd(b"CAPABILITY"))
    assert b" BINARY" in caps and b" SEARCHRES" in caps
    c.close()


def test_binary_base64_part_is_decoded_as_literal8(mime_box):
    c = Raw(mime_box)
    c.cmd(b"SELECT INBOX")
    r = c.cmd(b"FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])")
    assert tagged(r) == b"OK"
    is8, data = literal_of(r, b"BINARY[1]")
    assert is8 and data == RAW
    assert b"BINARY.SIZE[1] %d" % len(RAW) in b"".join(r)
    # PEEK: not \Seen
    assert b"\\Seen" not in b"".join(c.cmd(b"FETCH 1 FLAGS"))
    c.close()


def test_binary_quoted_printable_and_identity(mime_box):
    c = Raw(mime_box)
    c.cmd(b"SELECT INBOX")
    r = c.cmd(b"FETCH 1 (BINARY.PEEK[2] BINARY.PEEK[4] BINARY.SIZE[2])")
    is8, data = literal_of(r, b"BINARY[2]")
    want = "café naïve soft break= done".encode()
    assert not is8 and data == want
    assert b"BINARY.SIZE[2] %d" % len(want) in b"".join(r)
    is8, data = literal_of(r, b"BINARY[4]")
    assert not is8 and data == b"plain seven bit"
    c.close()


def test_binary_partial_and_seen(mime_box):
    c = Raw(mime_box)
    c.cmd(b"SELECT INBOX")
    r = c.cmd(b"FETCH 1 BINARY[1]<10.5>")
    assert tagged(r) == b"OK"
    is8, data = literal_of(r, b"BINARY[1]<10>")
    assert data == RAW[10:15] and not is8
    blob = b"".join(r)
    assert b"\\Seen" in blob  # non-PEEK sets \Seen and reports it
    c.close()


def test_binary_unknown_cte(mime_box):
    c = Raw(mime_box)
    c.cmd(b"SELECT INBOX")
    r = c.cmd(b"FETCH 1 BINARY.PEEK[3]")
    assert tagged(r) == b"NO" and b"[UNKNOWN-CTE]" in r[-1]
    # BODY[3] of the same part still works
    r = c.cmd(b"FETCH 1 BODY.PEEK[3]")
    assert tagged(r) == b"OK" and b"uryyb" in b"".join(r)
    c.close()


def test_binary_bad_syntax_and_missing_part(mime_box):
    c = Raw(mime_box)
    c.cmd(b"SELECT INBOX")
    assert tagged(c.cmd(b"FETCH 1 BINARY[1.HEADER]")) == b"BAD"
    assert tagged(c.cmd(b"FETCH 1 BINARY.SIZE[1]<0.2>")) == b"BAD"
    r = c.cmd(b"FETCH 1 BINARY.PEEK[9]")
    assert tagged(r) == b"OK"
    assert literal_of(r, b"BINARY[9]")[1] == b""
    # whole message: BINARY[] is the message as stored
    r = c.cmd(b"FETCH 2 (BINARY.PEEK[] BODY.PEEK[])")
    assert literal_of(r, b"BINARY[]")[1] == literal_of(r, b"BODY[]")[1]
    c.close()


def test_append_literal8_round_trip(roost):
    c = Raw(roost)
    msg = b"Subject: bin\r\nContent-Transfer-Encoding: binary\r\n\r\nA\x00B\x01C\r\n"
    c.n += 1
    c.send(b"a1 APPEND INBOX ~{%d}\r\n" % len(msg))
    assert c.f.readline().startswith(b"+")
    c.send(msg + b"\r\n")
    r = c.read_response(b"a1")
    assert tagged(r) == b"OK" and b"[APPENDUID " in r[-1]
    # LITERAL+ form of literal8
    c.send(b"a2 APPEND INBOX ~{%d+}\r\n" % len(msg) + msg + b"\r\n")
    assert tagged(c.read_response(b"a2")) == b"OK"
    c.cmd(b"SELECT INBOX")
    r = c.cmd(b"FETCH 1:2 BINARY.PEEK[1]")
    blob = b"".join(r)
    assert blob.count(b"BINARY[1] ~{7}\r\nA\x00B\x01C\r\n") == 2
    c.close()


# --- \Recent (RFC 3501 2.3.2; rev2 sessions never see it) ---------------

def test_recent_belongs_to_first_session_only(roost):
    roost.deliver(PLAIN, "alice@example.com")
    roost.deliver(PLAIN, "alice@example.com")
    c1 = Raw(roost)
    st = b"".join(c1.cmd(b"STATUS INBOX (RECENT MESSAGES)"))
    assert b"RECENT 2" in st
    # EXAMINE shows them recent but does not take the flag away
    r = b"".join(c1.cmd(b"EXAMINE INBOX"))
    assert b"* 2 RECENT" in r
    r = b"".join(c1.cmd(b"SELECT INBOX"))
    assert b"* 2 RECENT" in r
    r = b"".join(c1.cmd(b"FETCH 1:* FLAGS"))
    assert r.count(b"\\Recent") == 2
    r = b"".join(c1.cmd(b"SEARCH RECENT"))
    assert b"* SEARCH 1 2\r\n" in r
    r = b"".join(c1.cmd(b"SEARCH NEW"))
    assert b"* SEARCH 1 2\r\n" in r
    r = b"".join(c1.cmd(b"SEARCH OLD"))
    assert b"* SEARCH\r\n" in r
    assert b"RECENT 2" in b"".join(c1.cmd(b"STATUS INBOX (RECENT)"))
    # a second session: nothing is recent any more
    c2 = Raw(roost)
    assert b"RECENT 0" in b"".join(c2.cmd(b"STATUS INBOX (RECENT)"))
    r = b"".join(c2.cmd(b"SELECT INBOX"))
    assert b"* 0 RECENT" in r
    assert b"\\Recent" not in b"".join(c2.cmd(b"FETCH 1:* FLAGS"))
    assert b"* SEARCH 1 2\r\n" in b"".join(c2.cmd(b"SEARCH OLD"))
    # a new message is recent for the next selecting session
    roost.deliver(PLAIN, "alice@example.com")
    c3 = Raw(roost)
    r = b"".join(c3.cmd(b"SELECT INBOX"))
    assert b"* 3 EXISTS" in r and b"* 1 RECENT" in r
    r = b"".join(c3.cmd(b"FETCH 3 FLAGS"))
    assert b"\\Recent" in r
    # \Recent cannot be stored by clients
    c3.cmd(b"STORE 1 +FLAGS (\\Recent)")
    assert b"\\Recent" not in b"".join(c3.cmd(b"FETCH 1 FLAGS"))
    for c in (c1, c2, c3):
        c.close()


def test_recent_not_in_rev2(roost):
    roost.deliver(PLAIN, "alice@example.com")
    c = Raw(roost)
    c.cmd(b"ENABLE IMAP4rev2")
    r = b"".join(c.cmd(b"SELECT INBOX"))
    assert b"RECENT" not in r
    assert b"\\Recent" not in b"".join(c.cmd(b"FETCH 1 FLAGS"))
    assert tagged(c.cmd(b"STATUS INBOX (RECENT)")) == b"BAD"
    c.close()
    # the rev2 SELECT claimed nothing: a rev1 session still gets it
    c = Raw(roost)
    assert b"* 1 RECENT" in b"".join(c.cmd(b"SELECT INBOX"))
    c.close()


# --- SEARCHRES (RFC 5182) ------------------------------------------------

def test_searchres_save_and_use(roost):
    for i in range(5):
        roost.deliver(b"Subject: m%d\r\n\r\nbody %d\r\n" % (i, i), "alice@example.com")
    c = Raw(roost)
    c.cmd(b"SELECT INBOX")
    c.cmd(b"STORE 2,4 +FLAGS.SILENT (\\Flagged)")
    r = c.cmd(b"SEARCH RETURN (SAVE) FLAGGED")
    assert tagged(r) == b"OK"
    assert not any(l.startswith(b"* ESEARCH") or l.startswith(b"* SEARCH") for l in r)
    r = b"".join(c.cmd(b"FETCH $ (UID)"))
    assert re.findall(rb"\* (\d+) FETCH", r) == [b"2", b"4"]
    r = b"".join(c.cmd(b"UID FETCH $ (FLAGS)"))
    assert len(re.findall(rb"\* \d+ FETCH", r)) == 2
    c.cmd(b"STORE $ +FLAGS.SILENT (\\Seen)")
    r = b"".join(c.cmd(b"SEARCH SEEN"))
    assert b"* SEARCH 2 4\r\n" in r
    r = b"".join(c.cmd(b"SEARCH $ SEEN"))
    assert b"* SEARCH 2 4\r\n" in r
    r = c.cmd(b"COPY $ Trash")
    assert tagged(r) == b"OK" and b"COPYUID" in r[-1]
    # MIN only: just the smallest is saved
    c.cmd(b"SEARCH RETURN (SAVE MIN) FLAGGED")
    r = b"".join(c.cmd(b"FETCH $ (UID)"))
    assert re.findall(rb"\* (\d+) FETCH", r) == [b"2"]
    # SELECT resets it
    c.cmd(b"SELECT INBOX")
    r = c.cmd(b"FETCH $ (UID)")
    assert tagged(r) == b"OK" and not any(b"FETCH (" in l for l in r)
    # MOVE $ works too
    c.cmd(b"SEARCH RETURN (SAVE) 5")
    assert tagged(c.cmd(b"MOVE $ Archive")) == b"OK"
    assert b"* SEARCH 1 2 3 4\r\n" in b"".join(c.cmd(b"SEARCH ALL"))
    c.close()


def test_searchres_bad_search_empties_result(roost):
    roost.deliver(PLAIN, "alice@example.com")
    c = Raw(roost)
    c.cmd(b"SELECT INBOX")
    c.cmd(b"SEARCH RETURN (SAVE) ALL")
    assert re.findall(rb"\* (\d+) FETCH", b"".join(c.cmd(b"FETCH $ UID"))) == [b"1"]
    assert tagged(c.cmd(b"SEARCH RETURN (SAVE) NOSUCHKEY")) == b"BAD"
    r = c.cmd(b"FETCH $ UID")
    assert tagged(r) == b"OK" and b"FETCH (" not in b"".join(r)
    c.close()


def test_recent_for_arrivals_while_selected(roost):
    import time
    c1 = Raw(roost)
    c1.cmd(b"SELECT INBOX")
    roost.deliver(PLAIN, "alice@example.com")
    seen = b""
    for _ in range(40):
        seen += b"".join(c1.cmd(b"NOOP"))
        if b"* 1 RECENT" in seen:
            break
        time.sleep(0.05)
    assert b"* 1 EXISTS" in seen and b"* 1 RECENT" in seen
    assert b"\\Recent" in b"".join(c1.cmd(b"FETCH 1 FLAGS"))
    # the selected session took it: nobody else sees it as recent
    c2 = Raw(roost)
    assert b"* 0 RECENT" in b"".join(c2.cmd(b"SELECT INBOX"))
    c1.close()
    c2.close()


def test_store_silent_hides_own_change_only(roost):
    roost.deliver(PLAIN, "alice@example.com")
    c = Raw(roost)
    c.cmd(b"ENABLE IMAP4rev2")
    c.cmd(b"SELECT INBOX")
    r = c.cmd(b"STORE 1 +FLAGS.SILENT (\\Flagged)")
    assert tagged(r) == b"OK" and not any(b"FETCH" in l for l in r)
    r = c.cmd(b"STORE 1 -FLAGS (\\Flagged)")
    assert any(l.startswith(b"* 1 FETCH (FLAGS ())") for l in r), r
    # a change by another session shows even with .SILENT
    other = Raw(roost)
    other.cmd(b"SELECT INBOX")
    other.cmd(b"STORE 1 +FLAGS.SILENT (\\Answered)")
    r = c.cmd(b"STORE 1 +FLAGS.SILENT (\\Seen)")
    blob = b"".join(r)
    assert b"FETCH" in blob and b"\\Answered" in blob, r
    c.close()
    other.close()
