"""IMAP COMPRESS=DEFLATE (RFC 4978), plain and under TLS.

imaplib cannot compress, so ZClient speaks IMAP over a raw socket and, after
COMPRESS DEFLATE, runs both directions through zlib raw deflate (wbits=-15),
flushing each command with Z_SYNC_FLUSH as RFC 4978 section 4 asks."""
import os
import random
import socket
import ssl
import time
import zlib

import pytest

from conftest import SANITIZED


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ZClient:
    def __init__(self, roost, tls=False, login=True):
        if tls:
            raw = socket.create_connection(("127.0.0.1", roost.port("imaps")), timeout=10)
            self.s = tls_context().wrap_socket(raw)
        else:
            self.s = socket.create_connection(("127.0.0.1", roost.port("imap")), timeout=10)
        self.z_out = self.z_in = None
        self.rbuf = b""
        self.n = 0
        self.greeting = self.readline()
        if login:
            assert self.status(self.cmd(b"LOGIN alice@example.com secret")) == b"OK"

    # --- transport -----------------------------------------------------
    def send(self, data):
        if self.z_out is not None:
            data = self.z_out.compress(data) + self.z_out.flush(zlib.Z_SYNC_FLUSH)
        self.s.sendall(data)

    def start_compress(self):
        self.z_out = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.z_in = zlib.decompressobj(-15)
        # bytes read past the OK line are already compressed
        self.rbuf = self.z_in.decompress(self.rbuf)

    def fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError("connection closed; buffered %r" % self.rbuf[-200:])
        self.rbuf += self.z_in.decompress(chunk) if self.z_in is not None else chunk

    def readline(self):
        while b"\n" not in self.rbuf:
            self.fill()
        line, _, self.rbuf = self.rbuf.partition(b"\n")
        return line + b"\n"

    def read(self, n):
        while len(self.rbuf) < n:
            self.fill()
        out, self.rbuf = self.rbuf[:n], self.rbuf[n:]
        return out

    # --- protocol ------------------------------------------------------
    def tag(self):
        self.n += 1
        return b"z%d" % self.n

    def read_tagged(self, tag):
        """Lines up to the tagged reply; a literal is kept as one bytes item."""
        out = []
        while True:
            line = self.readline()
            out.append(line)
            if line.endswith(b"}\r\n") and b"{" in line:
                n = int(line[line.rindex(b"{") + 1:-3].rstrip(b"+"))
                out.append(self.read(n))
                continue
            if line.startswith(tag + b" "):
                return out

    def cmd(self, line):
        tag = self.tag()
        self.send(tag + b" " + line + b"\r\n")
        return self.read_tagged(tag)

    @staticmethod
    def status(lines):
        return lines[-1].split()[1]

    def compress(self):
        r = self.cmd(b"COMPRESS DEFLATE")
        assert self.status(r) == b"OK", r
        self.start_compress()
        return r

    def close(self):
        self.s.close()


def big_message(size):
    rnd = random.Random(4978)
    words = [b"alpha", b"bravo", b"charlie", b"delta", b"echo", b"foxtrot", b"golf"]
    lines = [b"From: bob@example.org", b"To: alice@example.com",
             b"Subject: big one", b""]
    total = 0
    while total < size:
        l = b" ".join(rnd.choice(words) for _ in range(12)) + b" %d" % rnd.randrange(10**9)
        lines.append(l)
        total += len(l) + 2
    return b"\r\n".join(lines) + b"\r\n"


def round_trip(c):
    msg = big_message(600 * 1024)
    tag = c.tag()
    c.send(tag + b" APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    r = c.read_tagged(tag)
    assert c.status(r) == b"OK", r
    assert c.status(c.cmd(b"SELECT INBOX")) == b"OK"
    r = c.cmd(b"UID FETCH 1:* (BODY.PEEK[])")
    assert c.status(r) == b"OK"
    bodies = [x for x in r if not x.startswith(b"*") and not x.startswith(b"z")]
    assert msg in bodies


def test_capability_and_round_trip_plain(roost):
    c = ZClient(roost)
    caps = c.cmd(b"CAPABILITY")[0]
    assert b"COMPRESS=DEFLATE" in caps.split()
    c.compress()
    # commands and replies now travel compressed
    caps = c.cmd(b"CAPABILITY")[0]
    assert caps.startswith(b"* CAPABILITY") and b"COMPRESS=DEFLATE" not in caps
    r = c.cmd(b"COMPRESS DEFLATE")
    assert c.status(r) == b"NO" and b"[COMPRESSIONACTIVE]" in r[-1]
    round_trip(c)
    assert c.status(c.cmd(b"LOGOUT")) == b"OK"
    c.close()


def test_round_trip_over_tls(roost):
    c = ZClient(roost, tls=True)
    assert c.s.version() is not None
    c.compress()
    round_trip(c)
    c.close()


def test_not_before_login_and_bad_mechanism(roost):
    c = ZClient(roost, login=False)
    assert c.status(c.cmd(b"COMPRESS DEFLATE")) == b"BAD"
    assert c.status(c.cmd(b"LOGIN alice@example.com secret")) == b"OK"
    assert c.status(c.cmd(b"COMPRESS LZW")) == b"BAD"
    assert c.status(c.cmd(b"COMPRESS")) == b"BAD"
    assert c.status(c.cmd(b"NOOP")) == b"OK"  # still uncompressed
    c.close()


def test_pipelined_after_compress_is_compressed(roost):
    """RFC 4978 section 3: bytes after the COMPRESS command line are
    compressed, even when they arrive in the same packet."""
    c = ZClient(roost)
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    tail = z.compress(b"p1 NOOP\r\np2 SELECT INBOX\r\n") + z.flush(zlib.Z_SYNC_FLUSH)
    c.s.sendall(b"p0 COMPRESS DEFLATE\r\n" + tail)
    ok = c.readline()
    assert ok.startswith(b"p0 OK"), ok
    c.start_compress()
    c.z_out = z
    assert c.status(c.read_tagged(b"p1")) == b"OK"
    assert c.status(c.read_tagged(b"p2")) == b"OK"
    c.close()


def test_malformed_stream_closes_cleanly(roost):
    c = ZClient(roost)
    c.compress()
    assert c.status(c.cmd(b"NOOP")) == b"OK"
    # 0xff: final block of the reserved type 3 (RFC 1951 3.2.3)
    c.s.sendall(b"\xff" * 64)
    got = b""
    with pytest.raises((EOFError, ConnectionError)):
        deadline = time.time() + 5
        while time.time() < deadline:
            got += c.readline()
    assert b"* BYE" in got
    c.close()
    # the daemon goes on serving
    d = ZClient(roost)
    d.compress()
    assert d.status(d.cmd(b"NOOP")) == b"OK"
    d.close()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_zip_bomb_stays_bounded(roost):
    """64 MB of one byte compress to ~64 KB: the server inflates it a
    bounded piece at a time (an overlong line, dropped) and carries on."""
    c = ZClient(roost)
    c.compress()
    assert c.status(c.cmd(b"NOOP")) == b"OK"
    before = rss_kb(roost.proc.pid)
    chunk = b"A" * (1024 * 1024)
    for _ in range(64):
        c.s.sendall(c.z_out.compress(chunk))
    c.send(b"\r\n")
    r = c.cmd(b"NOOP")
    assert c.status(r) == b"OK", r
    assert any(b"BAD" in l for l in r[:-1]), r  # the overlong line was refused
    grown = rss_kb(roost.proc.pid) - before
    if not SANITIZED:  # see conftest.SANITIZED
        assert grown < 16 * 1024, "daemon grew by %d KB" % grown
    c.close()


def test_memory_per_compressed_connection(roost):
    """Idle compressed connections cost about the zlib state each; the
    measured figure is printed (pytest -s) for docs/PERFORMANCE.md."""
    n = 40
    plain = [ZClient(roost) for _ in range(n)]
    for c in plain:
        assert c.status(c.cmd(b"NOOP")) == b"OK"
    base = rss_kb(roost.proc.pid)
    zs = [ZClient(roost) for _ in range(n)]
    for c in zs:
        c.compress()
        assert c.status(c.cmd(b"SELECT INBOX")) == b"OK"
    with_z = rss_kb(roost.proc.pid)
    per = (with_z - base) / n
    print("\nRSS per compressed idle connection (incl. session): %.0f KB" % per)
    if not SANITIZED:  # see conftest.SANITIZED
        assert per < 1024
    for c in plain + zs:
        c.close()
