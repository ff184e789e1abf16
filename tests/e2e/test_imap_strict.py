"""The strict IMAP client checker itself (imap_strict.py): recorded
transcripts with one violation each must be reported with the right rule;
clean transcripts must pass. The last tests run it through its proxy
against a real `roost serve`."""
import socket
import zlib

import imap_strict
from imap_strict import Checker

# Needs no proxy of its own: the checkers here are fed by hand.
IMAP_STRICT = False

LOGIN = [("C", b"a1 LOGIN alice@example.com secret\r\n"),
         ("S", b"a1 OK LOGIN completed\r\n")]

SELECT3 = LOGIN + [
    ("C", b"a2 SELECT INBOX\r\n"),
    ("S", b"* 3 EXISTS\r\n* 0 RECENT\r\n"
          b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n"
          b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] ok\r\n"
          b"* OK [UIDVALIDITY 77] UIDs valid\r\n* OK [UIDNEXT 4] next\r\n"
          b"a2 OK [READ-WRITE] SELECT completed\r\n"),
]


def run(transcript, checker=None, chunk=None):
    """Feeds (direction, bytes) pairs to one session; returns the rule
    names reported (failing and pending alike)."""
    c = checker or Checker("test", log_pending=False)
    s = c.session()
    for who, data in transcript:
        pieces = [data] if chunk is None else [data[i:i + chunk]
                                               for i in range(0, len(data), chunk)]
        for p in pieces:
            (s.feed_client if who == "C" else s.feed_server)(p)
    return [v.rule for v in c.violations + c.pending]


def test_clean_session_passes_even_byte_by_byte():
    t = SELECT3 + [
        ("C", b"a3 UID FETCH 1:* (UID FLAGS MODSEQ)\r\n"),
        ("S", b"* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (3))\r\n"
              b"* 2 FETCH (UID 5 FLAGS ($Work) MODSEQ (4))\r\n"
              b"* 3 FETCH (UID 9 FLAGS () MODSEQ (5))\r\n"
              b"a3 OK FETCH completed\r\n"),
        ("C", b"a4 FETCH 2 (BODY[HEADER.FIELDS (FROM TO)] BODY[])\r\n"),
        ("S", b"* 2 FETCH (BODY[HEADER.FIELDS (FROM TO)] {11}\r\nFrom: a\r\n\r\n"
              b" BODY[] {5}\r\nx)\r\ny)\r\na4 OK done\r\n"),
        ("S", b"* 4 EXISTS\r\n* 1 RECENT\r\n"),
        ("C", b"a5 FETCH 4 (UID FLAGS)\r\n"),
        ("S", b"* 4 FETCH (UID 12 FLAGS (\\Recent))\r\na5 OK done\r\n"),
        ("C", b"a6 EXPUNGE\r\n"),
        ("S", b"* 1 EXPUNGE\r\n* 3 EXPUNGE\r\na6 OK done\r\n"),
        ("C", b"a7 FETCH 1:2 (UID)\r\n"),
        ("S", b"* 1 FETCH (UID 5)\r\n* 2 FETCH (UID 9)\r\na7 OK done\r\n"),
        ("C", b"a8 LOGOUT\r\n"),
        ("S", b"* BYE bye\r\na8 OK LOGOUT completed\r\n"),
    ]
    assert run(t) == []
    assert run(t, chunk=1) == []


def test_fetch_above_exists():
    t = SELECT3 + [("S", b"* 4 FETCH (FLAGS (\\Seen))\r\n")]
    assert run(t) == ["seq-above-exists"]


def test_expunge_above_exists_and_after_expunges():
    assert run(SELECT3 + [("S", b"* 4 EXPUNGE\r\n")]) == ["seq-above-exists"]
    t = SELECT3 + [("S", b"* 3 EXPUNGE\r\n* 3 EXPUNGE\r\n")]
    assert run(t) == ["seq-above-exists"]
    # the EXPUNGE lowered EXISTS: message 3 is gone
    t = SELECT3 + [("S", b"* 1 EXPUNGE\r\n* 3 FETCH (FLAGS ())\r\n")]
    assert run(t) == ["seq-above-exists"]


def test_exists_decreasing():
    assert run(SELECT3 + [("S", b"* 2 EXISTS\r\n")]) == ["exists-decrease"]


def test_vanished_counts_down():
    t = SELECT3 + [
        ("C", b"a3 ENABLE QRESYNC\r\n"),
        ("S", b"* ENABLED QRESYNC\r\na3 OK done\r\n"),
        ("C", b"a4 UID FETCH 1:* UID\r\n"),
        ("S", b"* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 5)\r\n* 3 FETCH (UID 9)\r\na4 OK\r\n"),
        ("S", b"* VANISHED (EARLIER) 2:3\r\n* VANISHED 1,5\r\n* 1 FETCH (UID 9)\r\n"),
    ]
    assert run(t) == []
    assert run(t + [("S", b"* 2 FETCH (FLAGS ())\r\n")]) == ["seq-above-exists"]


def test_uid_order():
    t = SELECT3 + [("S", b"* 1 FETCH (UID 7)\r\n* 2 FETCH (UID 7)\r\n")]
    assert run(t) == ["uid-order"]
    t = SELECT3 + [("S", b"* 3 FETCH (UID 2)\r\n* 1 FETCH (UID 5)\r\n")]
    assert run(t) == ["uid-order"]
    t = SELECT3 + [("S", b"* 1 FETCH (UID 2)\r\n* 1 FETCH (UID 3)\r\n")]
    assert run(t) == ["uid-order"]


def test_modseq_decrease():
    t = SELECT3 + [("S", b"* 1 FETCH (UID 1 MODSEQ (9))\r\n"),
                   ("S", b"* 1 FETCH (UID 1 MODSEQ (8) FLAGS ())\r\n")]
    assert run(t) == ["modseq-decrease"]


def test_keyword_not_announced():
    t = SELECT3 + [("S", b"* 1 FETCH (FLAGS (\\Seen $Late))\r\n")]
    assert run(t) == ["keyword-unannounced"]
    # announced by a later FLAGS: fine (flags compare case-insensitively)
    t = SELECT3 + [("S", b"* FLAGS (\\Seen $late)\r\n* 1 FETCH (FLAGS (\\Seen $Late))\r\n")]
    assert run(t) == []


def test_recent_twice_across_sessions_but_not_read_only():
    c = Checker("test", log_pending=False)
    recent = [("C", b"a3 UID FETCH 3 (UID FLAGS)\r\n"),
              ("S", b"* 3 FETCH (UID 9 FLAGS (\\Recent))\r\na3 OK\r\n")]
    assert run(SELECT3 + recent, c) == []
    examine = [(w, d.replace(b"a2 SELECT", b"a2 EXAMINE").replace(b"READ-WRITE", b"READ-ONLY"))
               for w, d in SELECT3]
    assert run(examine + recent, c) == []
    assert run(SELECT3 + recent, c) == ["recent-once"]
    # an IMAP4rev2 session has no \Recent to check
    rev2 = LOGIN + [("C", b"e ENABLE IMAP4rev2\r\n"), ("S", b"* ENABLED IMAP4rev2\r\ne OK\r\n")]
    c2 = Checker("test", log_pending=False)
    assert run(rev2 + SELECT3[2:] + recent, c2) == []
    assert run(rev2 + SELECT3[2:] + recent, c2) == []


def test_untagged_after_bye():
    t = SELECT3 + [("C", b"a3 LOGOUT\r\n"),
                   ("S", b"* BYE logging out\r\n* 4 EXISTS\r\na3 OK LOGOUT completed\r\n")]
    assert run(t) == ["after-bye"]
    t = SELECT3 + [("S", b"* BYE shutting down\r\n* 1 FETCH (FLAGS ())\r\n")]
    assert run(t) == ["after-bye"]


def test_unknown_and_repeated_tags():
    assert run(LOGIN + [("S", b"zz OK what\r\n")]) == ["tag-unknown"]
    assert run(LOGIN + [("S", b"a1 OK again\r\n")]) == ["tag-unknown"]
    # a reused tag is answered once per command
    t = LOGIN + [("C", b"a CAPABILITY\r\na CAPABILITY\r\n"),
                 ("S", b"a OK done\r\na OK done\r\n")]
    assert run(t) == []
    assert run(t + [("S", b"a OK done\r\n")]) == ["tag-unknown"]
    # two synchronizing literals in one command register its tag once
    t = [("C", b"a1 LOGIN {5}\r\n"), ("S", b"+ go\r\n"), ("C", b"alice {6}\r\n"),
         ("S", b"+ go\r\n"), ("C", b"secret\r\n"), ("S", b"a1 OK done\r\n")]
    assert run(t) == []
    assert run(t + [("S", b"a1 OK done\r\n")]) == ["tag-unknown"]


def test_multipart_bodystructure_and_address_lists_parse():
    t = SELECT3 + [("S", b'* 1 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" NIL NIL NIL "7BIT" 7 2 '
                         b'NIL NIL NIL NIL)("TEXT" "HTML" NIL NIL NIL "7BIT" 5 1 NIL NIL NIL NIL)'
                         b' "MIXED") ENVELOPE (NIL NIL ((NIL NIL "a" "x.io")(NIL NIL "b" "x.io"))'
                         b' NIL NIL NIL NIL NIL NIL NIL))\r\n')]
    assert run(t) == []


def test_literal_framing():
    # the literal announces 10 octets but 5 are sent: what follows is garbage
    t = SELECT3 + [("C", b"a3 FETCH 1 BODY[]\r\n"),
                   ("S", b"* 1 FETCH (BODY[] {10}\r\nhello)\r\na3 OK FETCH completed\r\n"
                         b"* 1 FETCH (FLAGS ())\r\n")]
    assert "framing" in run(t)
    # unbalanced parentheses in FETCH data
    t = SELECT3 + [("S", b"* 1 FETCH (FLAGS (\\Seen)\r\n")]
    assert run(t) == ["framing"]
    assert run(LOGIN + [("S", b"garbage\r\n")]) == ["framing"]


def test_nul_bytes():
    t = SELECT3 + [("C", b"a3 FETCH 1 BODY[1]\r\n"),
                   ("S", b"* 1 FETCH (BODY[1] {3}\r\na\0b)\r\na3 OK done\r\n")]
    assert run(t) == ["nul-in-literal"]
    t = SELECT3 + [("C", b"a3 FETCH 1 BINARY[1]\r\n"),
                   ("S", b"* 1 FETCH (BINARY[1] ~{3}\r\na\0b)\r\na3 OK done\r\n")]
    assert run(t) == []
    t = SELECT3 + [("C", b"a3 FETCH 1 BODY[1]\r\n"),
                   ("S", b"* 1 FETCH (BODY[1] ~{3}\r\nabc)\r\na3 OK done\r\n")]
    assert run(t) == ["literal8-unasked"]
    assert run(LOGIN + [("S", b"* OK a\0b\r\n")]) == ["nul-in-line"]


def test_client_literals_and_continuations():
    # a refused synchronizing literal is never sent; the next command is
    t = LOGIN + [("C", b"a2 APPEND INBOX {99999}\r\n"),
                 ("S", b"a2 NO [TOOBIG] too big\r\n"),
                 ("C", b"a3 NOOP\r\n"), ("S", b"a3 OK done\r\n")]
    assert run(t) == []
    # an accepted one, with a CRLF and a tag-like line inside it
    t = LOGIN + [("C", b"a2 APPEND INBOX {12}\r\n"), ("S", b"+ go ahead\r\n"),
                 ("C", b"a9 OK x\r\n\r\n\r\n"), ("S", b"a2 OK APPEND completed\r\n")]
    assert run(t) == []
    # SASL lines and IDLE's DONE are not commands
    t = [("C", b"a1 AUTHENTICATE PLAIN\r\n"), ("S", b"+ \r\n"),
         ("C", b"AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==\r\n"), ("S", b"a1 OK done\r\n"),
         ("C", b"a2 IDLE\r\n"), ("S", b"+ idling\r\n"), ("C", b"DONE\r\n"),
         ("S", b"a2 OK IDLE terminated\r\n")]
    assert run(t) == []


def test_compressed_stream_is_still_checked():
    zc, zs = zlib.compressobj(wbits=-15), zlib.compressobj(wbits=-15)

    def deflate(z, data):
        return z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    c = Checker("test", log_pending=False)
    t = SELECT3 + [("C", b"a3 COMPRESS DEFLATE\r\n"),
                   ("S", b"a3 OK DEFLATE active\r\n" + deflate(zs, b"* 3 EXPUNGE\r\n")),
                   ("C", deflate(zc, b"a4 NOOP\r\n")),
                   ("S", deflate(zs, b"* 7 FETCH (FLAGS ())\r\na4 OK\r\n"))]
    assert run(t, c) == ["seq-above-exists"]
    assert c.compressed == 1 and c.opaque == 0


def test_starttls_goes_opaque():
    c = Checker("test", log_pending=False)
    t = [("C", b"a1 STARTTLS\r\n"), ("S", b"a1 OK Begin TLS\r\n"),
         ("C", b"\x16\x03\x01 binary"), ("S", b"\x16\x03\x03\0\0 more")]
    assert run(t, c) == [] and c.opaque == 1


def test_proxy_checks_a_real_server(roost):
    """Through the proxy: a clean session passes, and a response the
    client did not expect (a violation injected by a fake server) fails."""
    c = Checker("real", log_pending=False)
    p = imap_strict.Proxy(c, roost.ports["imap"])
    try:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        f = s.makefile("rb")
        assert f.readline().startswith(b"* OK")
        s.sendall(b"a1 LOGIN alice@example.com secret\r\na2 SELECT INBOX\r\n"
                  b"a3 LOGOUT\r\n")
        lines = f.readlines()
        assert lines[-1].startswith(b"a3 OK")
        s.close()
        assert c.wait_idle(5)
        assert c.violations == [] and c.sessions == 1
    finally:
        p.close()
    # a fake server that sends a FETCH for a message it never announced
    fake = socket.socket()
    fake.bind(("127.0.0.1", 0))
    fake.listen(1)
    p = imap_strict.Proxy(c, fake.getsockname()[1])
    try:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        srv, _ = fake.accept()
        srv.sendall(b"* OK hi\r\n")
        s.sendall(b"a1 SELECT INBOX\r\n")
        srv.recv(100)
        srv.sendall(b"* 0 EXISTS\r\n* FLAGS ()\r\na1 OK done\r\n* 1 FETCH (FLAGS ())\r\n")
        f = s.makefile("rb")
        for _ in range(5):
            f.readline()
        srv.close()
        s.close()
        assert c.wait_idle(5)
        assert [v.rule for v in c.violations] == ["seq-above-exists"]
        text = str(c.violations[0])
        assert "RFC 3501" in text and "* 1 FETCH" in text and "a1 SELECT INBOX" in text
    finally:
        p.close()
        fake.close()
