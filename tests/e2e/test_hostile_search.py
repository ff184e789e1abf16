"""Hostile SEARCH: a mailed message whose To: holds
100,000 encoded-word display names (~3.8 MB) and one whose folded Subject
has 200,000 words, searched with BODY, TEXT, TO, SORT (SUBJECT) and THREAD
REFERENCES while the full-text index does not hold them (search.fts = no:
every text key reads the message, the slow path). Meanwhile another
account's NOOPs must stay fast, and the SEARCH time must grow linearly with
the message size.

Bounds, chosen for a loaded 2-core machine: NOOP median < 50 ms and p99 <
250 ms (the goal is p99 < 100 ms; before the fix every NOOP waited the
whole 16 s search). Linear: the time for a message twice as large is at
most 3x (+0.15 s of slack for timer noise) the time for the smaller one;
quadratic code gives 4x."""
import socket
import statistics
import threading
import time

import pytest


def big_to(names):
    """A message whose To: holds `names` encoded-word display names."""
    parts = [b"From: Mallory <m@example.net>\r\nTo: "]
    for i in range(names):
        parts.append(b"%s=?utf-8?q?N=C3=A4me_%d?= <u%d@example.com>" % (
            b",\r\n " if i else b"", i, i))
    parts.append(b"\r\nSubject: big to\r\nMessage-ID: <to%d@example.net>\r\n\r\n"
                 b"please pay the invoice\r\n" % names)
    return b"".join(parts)


def big_subject(words):
    """A message whose Subject: has `words` words, folded every ten."""
    parts = [b"From: m@example.net\r\nTo: bob@example.com\r\nSubject: Re:"]
    for i in range(words):
        parts.append(b"%sw\xc3\xb6rd%d" % (b"\r\n " if i % 10 == 9 else b" ", i))
    parts.append(b"\r\nMessage-ID: <subj@example.net>\r\nReferences: <to100000@example.net>"
                 b"\r\n\r\nno money here\r\n")
    return b"".join(parts)


class Client:
    def __init__(self, roost, user, password="secret"):
        self.s = socket.create_connection(("127.0.0.1", roost.port("imap")), timeout=120)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.n = 0
        out = self.cmd(b"LOGIN %s %s" % (user.encode(), password.encode()))
        assert out[-1].split()[1] == b"OK", out

    def cmd(self, line):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + line + b"\r\n")
        out = []
        while True:
            l = self.f.readline()
            assert l, "connection closed"
            out.append(l)
            if l.startswith(tag + b" "):
                return out

    def ok(self, line):
        out = self.cmd(line)
        assert out[-1].split()[1] == b"OK", out[-3:]
        return out

    def close(self):
        self.s.close()


def user(roost, address):
    roost.add_user(address)
    return address


@pytest.fixture
def hostile(roost_factory):
    r = roost_factory(search__fts="no")
    user(r, "bob@example.com")
    user(r, "carol@example.com")
    r.deliver(big_to(100000), "alice@example.com")
    r.deliver(big_subject(200000), "alice@example.com")
    return r


HOSTILE = [
    b'SEARCH BODY "invoice"',
    b'SEARCH TEXT "nothing-matches-this"',
    b'SEARCH TO "u999@example.com"',
    b'SORT (SUBJECT) UTF-8 ALL',
    b'THREAD REFERENCES UTF-8 ALL',
    b'SEARCH OR HEADER To "u5@example" TEXT "w\xc3\xb6rd10000"',
    # a field decodes to at most MIME_DECODE_MAX_OUTPUT (1 MiB): the end
    # of the 2 MB Subject is cut off
    b'SEARCH TEXT "w\xc3\xb6rd199999"',
]


def test_neighbour_noop_fast_during_hostile_search(hostile):
    alice = Client(hostile, "alice@example.com")
    alice.ok(b"SELECT INBOX")
    bob = Client(hostile, "bob@example.com")
    bob.ok(b"SELECT INBOX")
    lat = []
    stop = threading.Event()

    def noops():
        while not stop.is_set():
            t0 = time.monotonic()
            bob.ok(b"NOOP")
            lat.append(time.monotonic() - t0)
            time.sleep(0.005)

    th = threading.Thread(target=noops)
    th.start()
    answers = {}
    try:
        t0 = time.monotonic()
        for rounds in range(2):
            for c in HOSTILE:
                answers[c] = alice.ok(c)
        busy = time.monotonic() - t0
    finally:
        stop.set()
        th.join()
    assert len(lat) >= 10, (busy, lat)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    med = statistics.median(lat)
    print("hostile searches %.2fs; NOOP n=%d median %.1fms p99 %.1fms max %.1fms" % (
        busy, len(lat), med * 1000, p99 * 1000, lat[-1] * 1000))
    assert med < 0.050, (med, p99, busy)
    assert p99 < 0.250, (med, p99, busy)
    # the answers are right, not just fast
    assert answers[HOSTILE[0]][0].strip() == b"* SEARCH 1"
    assert answers[HOSTILE[1]][0].strip() == b"* SEARCH"
    assert answers[HOSTILE[2]][0].strip() == b"* SEARCH 1"
    assert answers[HOSTILE[3]][0].strip() == b"* SORT 1 2"
    assert answers[HOSTILE[4]][0].strip() == b"* THREAD (1 2)"
    assert answers[HOSTILE[5]][0].strip() == b"* SEARCH 1 2"
    assert answers[HOSTILE[6]][0].strip() == b"* SEARCH"
    alice.close()
    bob.close()


def best_search_time(roost, address, crit, runs=3):
    c = Client(roost, address)
    c.ok(b"SELECT INBOX")
    best = None
    for _ in range(runs):
        t0 = time.monotonic()
        c.ok(crit)
        t = time.monotonic() - t0
        best = t if best is None or t < best else best
    c.close()
    return best


def big_body(mb):
    """A plain text message of about `mb` MB of accented words: every
    character composes under Unicode normalisation."""
    line = "Caf\u00e9 na\u00efve \u00e9t\u00e9 Stra\u00dfe r\u00e9sum\u00e9 \u00e0 la cr\u00e8me\r\n"
    body = line.encode() * (mb * 1024 * 1024 // len(line.encode()))
    return (b"From: m@example.net\r\nTo: x@example.com\r\nSubject: long\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body)


def test_search_time_linear_in_message_size(hostile):
    # 1x for bob, 2x for carol: a To: of 50,000 / 100,000 encoded names
    # (~1.9 / 3.8 MB) and an accented body of 2 / 4 MB
    hostile.deliver(big_to(50000), "bob@example.com")
    hostile.deliver(big_to(100000), "carol@example.com")
    hostile.deliver(big_body(2), "bob@example.com")
    hostile.deliver(big_body(4), "carol@example.com")
    for crit in (b'SEARCH TEXT "nothing-matches-this"', b'SEARCH HEADER X-None "x"',
                 b'SEARCH BODY "nothing-matches-this"'):
        t1 = best_search_time(hostile, "bob@example.com", crit)
        t2 = best_search_time(hostile, "carol@example.com", crit)
        print("%s: 1x %.3fs 2x %.3fs" % (crit.decode(), t1, t2))
        assert t2 < 10.0, (crit, t1, t2)
        assert t2 <= 3 * t1 + 0.15, (crit, t1, t2)


def test_search_pipelined_and_disconnect(hostile):
    """Commands after a running SEARCH wait for it (answers stay in
    order); a client that leaves while its SEARCH runs harms no one."""
    c = Client(hostile, "alice@example.com")
    c.ok(b"SELECT INBOX")
    c.s.sendall(b'p1 SEARCH TEXT "invoice"\r\np2 NOOP\r\np3 UID SEARCH BODY "money"\r\n')
    lines = []
    while not lines or not lines[-1].startswith(b"p3 "):
        l = c.f.readline()
        assert l
        lines.append(l)
    tags = [l.split()[0] for l in lines if not l.startswith(b"*")]
    assert tags == [b"p1", b"p2", b"p3"], lines
    assert b"* SEARCH 1\r\n" in lines
    uid2 = [l for l in lines if l.startswith(b"* SEARCH") and l != b"* SEARCH 1\r\n"]
    assert uid2 == [b"* SEARCH 2\r\n"], lines
    for i in range(5):
        g = Client(hostile, "alice@example.com")
        g.ok(b"SELECT INBOX")
        g.s.sendall(b'x SEARCH TEXT "nothing"\r\ny THREAD REFERENCES UTF-8 ALL\r\n')
        g.close()  # gone while the worker reads
    time.sleep(1.0)
    bob = Client(hostile, "bob@example.com")
    bob.ok(b"NOOP")
    c.ok(b"NOOP")


def test_logins_not_starved_by_searches(hostile):
    """Heavy reads have their own worker pool: password checks go on
    while every read worker is busy."""
    searchers = []
    for i in range(4):
        s = Client(hostile, "alice@example.com")
        s.ok(b"SELECT INBOX")
        searchers.append(s)
    stop = threading.Event()

    def hammer(s):
        while not stop.is_set():
            s.ok(b'SEARCH TEXT "nothing-matches-this"')

    ths = [threading.Thread(target=hammer, args=(s,)) for s in searchers]
    for t in ths:
        t.start()
    try:
        time.sleep(0.3)
        worst = 0
        for i in range(5):
            t0 = time.monotonic()
            Client(hostile, "bob@example.com").close()
            worst = max(worst, time.monotonic() - t0)
    finally:
        stop.set()
        for t in ths:
            t.join()
    print("login worst %.3fs" % worst)
    assert worst < 1.0
