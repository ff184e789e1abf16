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


# --- big transfers: output queued below the deflate filter --------------

def random_message(size, seed):
    """A message of about `size` bytes that deflate cannot shrink much
    (base64 of random bytes), so megabytes of compressed output queue."""
    import base64
    rnd = random.Random(seed)
    raw = rnd.randbytes(size * 3 // 4)
    b64 = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    return (b"From: bob@example.org\r\nTo: alice@example.com\r\n"
            b"Subject: random %d\r\nMessage-ID: <r%d@test>\r\n\r\n" % (seed, seed) + b64)


def fetch_all_plain(roost):
    """Every message as the server holds it, by imaplib without COMPRESS."""
    import imaplib
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    m.login("alice@example.com", "secret")
    m.select("INBOX", readonly=True)
    typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
    assert typ == "OK"
    out = [d[1] for d in data if isinstance(d, tuple)]
    m.logout()
    return out


@pytest.mark.parametrize("tls", [False, True])
def test_uid_fetch_megabytes_compressed(roost, tls):
    """RFC 4978 under load: 60 messages, ~4.5 MB that deflate cannot
    shrink, in one UID FETCH. Main stopped after ~3.6 MB: FETCH waited for
    a drain of the top filter while the bytes sat in the layer below."""
    for i in range(60):
        roost.deliver(random_message(75 * 1024, i), "alice@example.com")
    want = fetch_all_plain(roost)
    assert len(want) == 60
    c = ZClient(roost, tls=tls)
    c.compress()
    assert c.status(c.cmd(b"SELECT INBOX")) == b"OK"
    c.s.settimeout(30)
    r = c.cmd(b"UID FETCH 1:* (BODY.PEEK[])")
    assert c.status(r) == b"OK", r[-1]
    bodies = [x for x in r if x in want]
    assert len(bodies) == 60
    assert sum(map(len, bodies)) > 4 << 20
    c.close()


MBSYNC_CFG = """IMAPAccount roost
Host 127.0.0.1
Port %(port)d
User alice@example.com
Pass secret
SSLType %(ssl)s
%(cert)s
AuthMechs LOGIN
Timeout 20

IMAPStore remote
Account roost

MaildirStore local
Path %(dir)s/
Inbox %(dir)s/INBOX

Channel sync
Far :remote:
Near :local:
Patterns INBOX
Create Near
SyncState *
"""


@pytest.mark.parametrize("ssl_type", ["None", "STARTTLS", "IMAPS"])
def test_mbsync_default_compress_big_messages(roost_factory, tmp_path, ssl_type):
    """mbsync 1.4 with default settings turns COMPRESS on by itself; a
    mailbox of several 3-5 MB messages syncs completely and byte-identical
    on the plain port, with STARTTLS and on IMAPS."""
    import re
    import subprocess
    # The full-text indexer would spend its time on 15 MB of base64;
    # this test is about the transfer.
    roost = roost_factory(search__fts="no")
    sizes = [3 << 20, 4 << 20, 5 << 20, 3 << 20 | 512 << 10]
    for i, size in enumerate(sizes):
        roost.deliver(random_message(size, 100 + i), "alice@example.com")
    want = sorted(m.replace(b"\r\n", b"\n") for m in fetch_all_plain(roost))
    maildir = tmp_path / "mail"
    maildir.mkdir()
    port = roost.port("imaps" if ssl_type == "IMAPS" else "imap")
    cert = os.path.join(roost.datadir, "tls", "cert.pem")
    cfg = tmp_path / "mbsyncrc"
    cfg.write_text(MBSYNC_CFG % {"port": port, "ssl": ssl_type, "dir": maildir,
                                 "cert": "CertificateFile %s" % cert if ssl_type != "None"
                                 else "# no TLS"})
    p = subprocess.run(["mbsync", "-Dn", "-c", str(cfg), "-a"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out[-3000:]
    # mbsync -Dn logs the protocol: it did turn compression on
    assert "COMPRESS DEFLATE" in out, out[:3000]
    got = []
    for sub in ("new", "cur"):
        d = maildir / "INBOX" / sub
        if d.exists():
            got += [f.read_bytes() for f in d.iterdir()]
    # mbsync marks what it fetched with a header of its own
    got = sorted(re.sub(rb"(?m)^X-TUID: [^\n]*\n", b"", g, count=1) for g in got)
    assert len(got) == len(sizes), out[-3000:]
    for g, w in zip(got, want):
        assert g == w, "message differs (%d vs %d bytes)" % (len(g), len(w))
