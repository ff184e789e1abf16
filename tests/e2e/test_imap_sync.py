"""IMAP: several sessions on one mailbox see each other's changes; IDLE
pushes deliveries, flag changes and expunges ("many devices")."""
import imaplib
import select
import socket
import time

MSG = b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n"


def login(roost):
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    m.login("alice@example.com", "secret")
    return m


class Raw:
    """A line-level IMAP client for IDLE."""

    def __init__(self, roost):
        self.s = socket.create_connection(("127.0.0.1", roost.port("imap")), timeout=10)
        self.f = self.s.makefile("rb")
        self.f.readline()

    def cmd(self, line):
        self.s.sendall(line + b"\r\n")
        tag = line.split()[0]
        out = []
        while True:
            l = self.f.readline()
            assert l, "connection closed"
            out.append(l)
            if l.startswith(tag + b" "):
                return out

    def wait_for(self, needle, timeout=5):
        deadline = time.time() + timeout
        got = []
        while time.time() < deadline:
            l = self.f.readline()
            got.append(l)
            if needle in l:
                return got
        raise AssertionError("no %r in %r" % (needle, got))


def test_two_sessions_flags_expunge_delivery(roost):
    roost.deliver(MSG, "alice@example.com")
    roost.deliver(MSG, "alice@example.com")
    a, b = login(roost), login(roost)
    a.select("INBOX")
    b.select("INBOX")
    b.untagged_responses.clear()
    a.store("1", "+FLAGS", "\\Flagged")
    b.noop()
    fetches = b.untagged_responses.pop("FETCH", [])
    assert any(b"\\Flagged" in f for f in fetches), fetches
    roost.deliver(MSG, "alice@example.com")
    typ, data = b.noop()
    assert b.untagged_responses.pop("EXISTS", None) == [b"3"]
    a.store("2", "+FLAGS", "\\Deleted")
    a.expunge()
    # b's FETCH must not carry EXPUNGE (sequence numbers in use)
    typ, data = b.fetch("1:3", "(FLAGS)")
    assert "EXPUNGE" not in b.untagged_responses
    assert len([d for d in data if d]) == 3
    b.noop()
    assert b.untagged_responses.pop("EXPUNGE", None) == [b"2"]
    typ, data = b.search(None, "ALL")
    assert data[0] == b"1 2"
    a.logout()
    b.logout()


def test_idle_push_from_three_sources(roost):
    r = Raw(roost)
    r.cmd(b"a LOGIN alice@example.com secret")
    r.cmd(b"b SELECT INBOX")
    r.s.sendall(b"c IDLE\r\n")
    assert r.f.readline().startswith(b"+")
    t0 = time.time()
    roost.deliver(MSG, "alice@example.com")
    r.wait_for(b"* 1 EXISTS")
    assert time.time() - t0 < 5
    other = login(roost)
    other.select("INBOX")
    other.store("1", "+FLAGS", "\\Seen")
    r.wait_for(b"\\Seen")
    other.store("1", "+FLAGS", "\\Deleted")
    other.expunge()
    r.wait_for(b"* 1 EXPUNGE")
    r.s.sendall(b"DONE\r\n")
    r.wait_for(b"c OK")
    other.logout()


def test_three_sessions_consistent(roost):
    for _ in range(5):
        roost.deliver(MSG, "alice@example.com")
    s = [login(roost) for _ in range(3)]
    for m in s:
        m.select("INBOX")
    s[0].store("1:2", "+FLAGS", "\\Deleted")
    s[0].expunge()
    # s[1] has not seen the expunge yet: its message 3 is UID 3
    typ, data = s[1].uid("MOVE", "3", "Archive")
    assert typ == "OK"
    for m in s:
        m.noop()
        typ, data = m.search(None, "ALL")
        assert data[0] == b"1 2", (data, m.untagged_responses)
        typ, data = m.fetch("1:*", "(UID)")
        assert len(data) == 2
    for m in s:
        m.logout()
