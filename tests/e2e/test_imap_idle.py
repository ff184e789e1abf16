"""IMAP IDLE (RFC 2177, RFC 9051 6.3.13): DONE handling, push latency
from the commit, the idle timeout, several idling sessions at once, and
commands pipelined right after DONE."""
import socket
import time

from imap_raw import Raw

MSG = b"From: a@example.org\r\nSubject: idle %d\r\n\r\nbody\r\n"


def start_idle(c):
    c.n += 1
    tag = b"r%d" % c.n
    c.s.sendall(tag + b" IDLE\r\n")
    assert c.f.readline().startswith(b"+ "), "no continuation"
    return tag


def test_idle_done_and_bad_line(roost):
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    tag = start_idle(c)
    c.s.sendall(b"done\r\n")   # case-insensitive (RFC 2177)
    assert c.read_tagged(tag)[-1].split()[1] == b"OK"
    tag = start_idle(c)
    c.s.sendall(b"NOOP\r\n")
    assert c.read_tagged(tag)[-1].split()[1] == b"BAD"
    assert c.ok(b"NOOP")
    # IDLE works in the authenticated state too
    assert c.ok(b"UNSELECT")
    tag = start_idle(c)
    c.s.sendall(b"DONE\r\n")
    assert c.read_tagged(tag)[-1].split()[1] == b"OK"


def test_idle_push_latency(roost):
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    start_idle(c)
    t0 = time.monotonic()
    roost.deliver(MSG % 1, "alice@example.com")   # returns after the commit
    t1 = time.monotonic()
    c.wait_for(b"* 1 EXISTS", timeout=5)
    t2 = time.monotonic()
    latency = max(0.0, t2 - t1)
    print("IDLE push: %.1f ms after the delivery returned (%.1f ms after it started)"
          % (latency * 1000, (t2 - t0) * 1000))
    assert latency < 2.0


def test_idle_several_sessions_and_flag_push(roost):
    roost.deliver(MSG % 1, "alice@example.com")
    idlers = []
    for _ in range(3):
        c = Raw(roost)
        assert c.ok(b"SELECT INBOX")
        idlers.append((c, start_idle(c)))
    w = Raw(roost)
    assert w.ok(b"SELECT INBOX")
    assert w.ok(b"STORE 1 +FLAGS (\\Flagged)")
    for c, _ in idlers:
        c.wait_for(b"\\Flagged")
    roost.deliver(MSG % 2, "alice@example.com")
    for c, _ in idlers:
        c.wait_for(b"* 2 EXISTS")
    assert w.ok(b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert w.ok(b"EXPUNGE")
    for c, tag in idlers:
        c.wait_for(b"* 1 EXPUNGE")
        c.s.sendall(b"DONE\r\n")
        assert c.read_tagged(tag)[-1].split()[1] == b"OK"
        out = c.cmd(b"FETCH 1 (UID)")
        assert b"* 1 FETCH (UID 2)" in b"".join(out)


def test_pipelined_commands_after_done(roost):
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    tag = start_idle(c)
    c.s.sendall(b"DONE\r\np1 NOOP\r\np2 STATUS INBOX (MESSAGES)\r\np3 NOOP\r\n")
    assert c.read_tagged(tag)[-1].split()[1] == b"OK"
    out = c.read_tagged(b"p3")
    text = b"".join(out)
    assert b"p1 OK" in text and b"p2 OK" in text and b"* STATUS" in text
    assert text.index(b"p1 OK") < text.index(b"p2 OK") < text.index(b"p3 OK")


def test_idle_timeout(roost_factory):
    r = roost_factory(imap__timeout="1s")
    c = Raw(r)
    assert c.ok(b"SELECT INBOX")
    start_idle(c)
    t0 = time.monotonic()
    got = c.wait_for(b"* BYE", timeout=10)
    assert got
    assert time.monotonic() - t0 < 9
    c.s.settimeout(5)
    assert c.f.readline() == b""   # closed after the BYE
