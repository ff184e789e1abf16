"""Input driven by output (lib/conn.c): a client that pipelines cheap
commands and never reads the replies must not grow the daemon, and the
output-stall timeout must close it even though it keeps the socket busy.

Each attacker connects with a small receive buffer, pipelines the command
over and over without reading, and stops when the daemon stops taking its
bytes. The daemon's VmRSS is compared before and at that moment, then the
attacker waits to be cut off by server.output_stall_timeout."""
import socket
import threading
import time

import pytest

from conftest import SANITIZED

# No strict-client proxy (conftest.py): its buffers would stand between the
# server and the non-reading client whose backpressure these tests measure.
IMAP_STRICT = False

STALL = 2  # seconds: server.output_stall_timeout in these tests
ATTACKERS = 3  # concurrent non-readers per protocol
SETTINGS = dict(server__output_stall_timeout="%ds" % STALL, server__login_timeout="5m",
                server__max_connections_per_ip="1000")


def rss_kb(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def connect(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A small window: the daemon's replies stop at the kernel quickly.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


def readline(s):
    out = b""
    while not out.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            raise EOFError(out)
        out += c
    return out


def read_reply(s, last_prefix):
    """Lines until one starts with last_prefix."""
    lines = []
    while True:
        line = readline(s)
        lines.append(line)
        if line.startswith(last_prefix):
            return lines


class Flooder(threading.Thread):
    """Sends `line` repeatedly (up to `total` bytes) without reading;
    stops when a send makes no progress for `stuck` seconds."""

    def __init__(self, sock, line, total, stuck=1.5):
        super().__init__(daemon=True)
        self.s, self.total, self.stuck = sock, total, stuck
        self.block = line * (65536 // len(line))
        self.sent = 0
        self.ended = None

    def run(self):
        self.s.settimeout(self.stuck)
        try:
            while self.sent < self.total:
                self.sent += self.s.send(self.block)
            self.ended = "all sent"
        except socket.timeout:
            self.ended = "blocked"
        except OSError as e:
            self.ended = "error: %s" % e


def drain_until_closed(s, timeout):
    """Read whatever is buffered until the daemon closes; bytes read, or
    None if it did not close in time."""
    s.settimeout(timeout)
    n = 0
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                return n
            n += len(chunk)
    except (ConnectionResetError, BrokenPipeError):
        return n
    except socket.timeout:
        return None
    return None


def attack(roost, port, line, total, prelude):
    """ATTACKERS connections flood `line` without reading. Returns the RSS
    growth in KB when all of them were stuck, and the sockets."""
    pid = roost.proc.pid
    # Warm up: one normal exchange so one-time allocations are made.
    w = connect(port)
    prelude(w)
    w.close()
    time.sleep(0.3)
    before = rss_kb(pid)
    socks, flooders = [], []
    for _ in range(ATTACKERS):
        s = connect(port)
        prelude(s)
        socks.append(s)
        flooders.append(Flooder(s, line, total))
    t0 = time.time()
    for f in flooders:
        f.start()
    peak = before
    while any(f.is_alive() for f in flooders) and time.time() - t0 < 60:
        peak = max(peak, rss_kb(pid))
        time.sleep(0.1)
    peak = max(peak, rss_kb(pid))
    for f in flooders:
        f.join(1)
    return peak - before, flooders, socks


def check_closed_by_stall(roost, flooders, socks, total):
    # Reading now would let the daemon go on: stay silent past the stall
    # timeout first (the flooders stopped sending when they got stuck).
    time.sleep(STALL * 2 + 1)
    for f, s in zip(flooders, socks):
        # The daemon stopped reading long before everything was sent.
        assert f.ended != "all sent", f.ended
        assert f.sent < total
        n = drain_until_closed(s, 10)
        assert n is not None, "not closed by the output stall timeout"
        s.close()
    log = roost.read_log()
    assert log.count("output stalled") >= len(socks), log[-2000:]


def imap_prelude(s):
    assert readline(s).startswith(b"* OK")


def pop3_prelude(s):
    assert readline(s).startswith(b"+OK")


def smtp_prelude(s):
    read_reply(s, b"220 ")
    s.sendall(b"EHLO x\r\n")
    read_reply(s, b"250 ")


@pytest.mark.parametrize("proto,line,total,prelude", [
    ("imap", b"a CAPABILITY\r\n", 40 << 20, imap_prelude),
    ("pop3", b"CAPA\r\n", 10 << 20, pop3_prelude),
    ("smtp", b"EHLO x\r\n", 10 << 20, smtp_prelude),
])
def test_pipelining_non_reader_is_bounded_and_cut_off(roost_factory, proto, line, total, prelude):
    r = roost_factory(**SETTINGS)
    grown, flooders, socks = attack(r, r.port(proto), line, total, prelude)
    print("%s: RSS +%d KB for %d non-readers" % (proto, grown, ATTACKERS))
    if not SANITIZED:
        # under 1 MB per connection (main grew by ~+30 MB per MB sent)
        assert grown < 1024 * ATTACKERS, "RSS grew by %d KB" % grown
    check_closed_by_stall(r, flooders, socks, total)
    # The daemon still serves others.
    s = connect(r.port(proto))
    prelude(s)
    s.close()


def test_fetch_non_reader_is_bounded_and_cut_off(roost_factory):
    # No indexer reading the new messages while we measure.
    r = roost_factory(search__fts="no", **SETTINGS)
    body = (b"x" * 998 + b"\r\n") * 3000  # 3 MB
    for i in range(12):
        r.deliver(b"From: a@example.org\r\nSubject: big %d\r\n\r\n" % i + body,
                  "alice@example.com")
    pid = r.proc.pid
    s = connect(r.port("imap"))
    imap_prelude(s)
    s.sendall(b"a LOGIN alice@example.com secret\r\n")
    read_reply(s, b"a ")
    s.sendall(b"b SELECT INBOX\r\n")
    read_reply(s, b"b ")
    time.sleep(0.3)
    # Anonymous memory: the store's mmap of the database shows up in
    # VmRSS as page cache, not as memory the daemon holds.
    before = rss_kb(pid, "RssAnon")
    # 36 MB of literals, and more commands behind it: nothing is read.
    s.sendall(b"c FETCH 1:* (BODY.PEEK[])\r\n" + b"d NOOP\r\n" * 1000)
    peak = before
    t0 = time.time()
    while time.time() - t0 < 1.5:
        peak = max(peak, rss_kb(pid, "RssAnon"))
        time.sleep(0.1)
    print("fetch: RssAnon +%d KB" % (peak - before))
    if not SANITIZED:
        # one message being rendered (a few copies of 3 MB), never all 12
        assert peak - before < 16 * 1024, "RSS grew by %d KB" % (peak - before)
    time.sleep(STALL * 2 + 1)
    got = drain_until_closed(s, 10)
    assert got is not None, "FETCH non-reader not closed by the stall timeout"
    assert got < 12 * len(body)
    s.close()
    assert "output stalled" in r.read_log()


def test_slow_reader_gets_everything(roost_factory):
    """Backpressure is no loss: a client that reads slowly (but keeps
    reading) gets every reply of a long pipeline, in order, and is not cut
    off although it takes longer than the stall timeout."""
    r = roost_factory(**SETTINGS)
    s = connect(r.port("imap"))
    imap_prelude(s)
    n = 60000
    t = threading.Thread(target=lambda: s.sendall(
        b"".join(b"t%d NOOP\r\n" % i for i in range(n))), daemon=True)
    t.start()
    s.settimeout(20)
    buf = b""
    want = 0
    start = time.time()
    while want < n:
        chunk = s.recv(4096)
        assert chunk, "closed after %d replies" % want
        buf += chunk
        while b"\n" in buf:
            line, _, buf = buf.partition(b"\n")
            if line.startswith(b"t"):
                assert line.startswith(b"t%d OK" % want), line
                want += 1
        if time.time() - start < STALL + 1:
            time.sleep(0.002)  # slow at first, longer than the stall timeout
    t.join(5)
    s.close()
