"""Before login: literal limits come from the login state, a deadline armed
at connect (not extended by activity), and a small budget of BADs."""
import socket
import time

from conftest import SANITIZED
from test_backpressure import connect, readline, read_reply, rss_kb

# The buffering measured here is the server's own: no checking proxy in
# between (conftest.py, imap_strict.py).
IMAP_STRICT = False


def imap(r):
    s = connect(r.port("imap"))
    assert readline(s).startswith(b"* OK")
    return s


def test_prelogin_append_sync_literal_refused_without_continuation(roost):
    s = imap(roost)
    s.sendall(b"a APPEND INBOX {47185920}\r\n")
    line = readline(s)
    assert not line.startswith(b"+"), line
    assert line.startswith(b"a NO") or line.startswith(b"a BAD"), line
    # nothing was buffered: the session still answers at once
    s.sendall(b"b NOOP\r\n")
    assert readline(s).startswith(b"b OK")
    s.close()


def test_prelogin_nonsync_literal_closes_without_buffering(roost):
    pid = roost.proc.pid
    before = rss_kb(pid)
    s = imap(roost)
    s.sendall(b"a APPEND INBOX {47185920+}\r\n")
    s.settimeout(10)
    lines = []
    try:
        while True:
            line = readline(s)
            lines.append(line)
    except (EOFError, ConnectionResetError):
        pass
    assert any(l.startswith(b"* BYE") for l in lines), lines
    # try to push the literal anyway: the connection is gone
    sent = 0
    try:
        for _ in range(100):
            sent += s.send(b"x" * 65536)
            time.sleep(0.01)
    except OSError:
        pass
    assert sent < 47185920
    # memory bounds hold on the normal build (the sanitizers' allocator
    # grows RSS on its own; conftest.py)
    if not SANITIZED:
        assert rss_kb(pid) - before < 2048
    s.close()


def test_prelogin_deadline_not_extended_by_activity(roost_factory):
    r = roost_factory(server__login_timeout="2s")
    s = imap(r)
    t0 = time.time()
    closed = False
    s.settimeout(1)
    while time.time() - t0 < 8:
        try:
            s.sendall(b"n NOOP\r\n")
            data = s.recv(4096)
            if not data or b"BYE" in data:
                closed = True
                break
        except (socket.timeout, OSError):
            pass
        time.sleep(0.2)
    assert closed
    took = time.time() - t0
    assert 1.5 <= took < 7, took
    assert "no login within" in r.read_log()
    # logged in: no deadline
    s = imap(r)
    s.sendall(b"a LOGIN alice@example.com secret\r\n")
    read_reply(s, b"a ")
    time.sleep(3)
    s.sendall(b"b NOOP\r\n")
    assert read_reply(s, b"b ")[-1].startswith(b"b OK")
    s.close()


def test_pop3_prelogin_deadline(roost_factory):
    r = roost_factory(server__login_timeout="2s")
    s = connect(r.port("pop3"))
    assert readline(s).startswith(b"+OK")
    s.settimeout(8)
    t0 = time.time()
    try:
        while readline(s):
            pass
    except (EOFError, ConnectionResetError):
        pass
    assert 1.5 <= time.time() - t0 < 7


def test_prelogin_junk_limit(roost):
    s = imap(roost)
    s.sendall(b"".join(b"j%d FOO\r\n" % i for i in range(50)))
    s.settimeout(10)
    lines = []
    try:
        while True:
            lines.append(readline(s))
    except (EOFError, ConnectionResetError):
        pass
    assert any(l.startswith(b"* BYE") for l in lines)
    assert sum(1 for l in lines if b" BAD " in l) <= 6
