"""Abuse limits: the daemon under hostile load.

Each scenario runs a real `roost serve` and attacks it from many loopback
source addresses (127.0.0.0/8 is all ours: a client socket can bind any of
them, so per-IP caps see many "hosts"). While the attack runs, a separate
process (no shared GIL with the attacker) logs in as a normal IMAP client
and measures NOOP round trips; the test asserts their p99 stays under
100 ms. Memory is read from /proc/PID/status (VmRSS) and must stay under
the bounds documented in docs/SECURITY.md.

Scenarios: 10,000 idle sockets (plus the per-IP cap from one address);
slow-loris (one byte per second) against IMAP, POP3 and SMTP; 1,000 wrong
passwords from one address and from 1,000 addresses (IMAP LOGIN and POP3
PASS); a TLS handshake storm on imaps and pop3s.
"""
import json
import resource
import selectors
import socket
import ssl
import subprocess
import sys
import threading
import time

from conftest import SANITIZED

# No strict-client proxy (conftest.py): it would double the file descriptors
# of 10,000 sockets and hide the per-address timing these tests measure.
IMAP_STRICT = False

NOOP_P99_MS = 100.0
# Documented in docs/SECURITY.md ("Memory").
IDLE_CONNS = 10000
IDLE_RSS_PER_CONN_MAX = 8 * 1024       # bytes of daemon RSS per idle IMAP connection
IDLE_RSS_MAX = 128 * 1024 * 1024       # whole daemon, 10,000 idle connections
TLS_STORM_RSS_MAX = 192 * 1024 * 1024  # whole daemon during the storm
AUTH_ATTACK_RSS_GROWTH_MAX = 16 * 1024 * 1024

USER = b"alice@example.com"
PASSWORD = b"secret"


# --- helpers ------------------------------------------------------------

def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard == resource.RLIM_INFINITY or hard >= n, (
        "this test needs %d descriptors; hard limit is %d" % (n, hard))
    if soft != resource.RLIM_INFINITY and soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


def nofile_soft(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                v = line.split()[3]
                return float("inf") if v == "unlimited" else int(v)
    raise AssertionError("no open-file limit for %d" % pid)


def p99(samples):
    s = sorted(samples)
    return s[max(0, -(-len(s) * 99 // 100) - 1)]


def connect_from(src, port, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_line(f):
    line = f.readline()
    if not line:
        raise ConnectionError("closed")
    return line


def imap_until_tagged(f, tag):
    while True:
        line = read_line(f)
        if line.startswith(tag + b" "):
            return line


def tls_client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# The normal client, in its own process: logs in over IMAP (plain or
# implicit TLS), says "ready", waits for "go", then sends NOOPs (5 ms
# apart) until stdin says "stop", and prints the round trips (ms) as JSON.
PROBER = r"""
import json, select, socket, ssl, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
if mode == "tls":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s)
f = s.makefile("rb")
f.readline()
s.sendall(b"a LOGIN alice@example.com secret\r\n")
while True:
    line = f.readline()
    if line.startswith(b"a "):
        break
assert line.startswith(b"a OK"), line
print("ready", flush=True)
sys.stdin.readline()
rtts = []
i = 0
while not select.select([sys.stdin], [], [], 0)[0]:
    i += 1
    tag = b"n%d" % i
    t = time.perf_counter()
    s.sendall(tag + b" NOOP\r\n")
    while True:
        line = f.readline()
        if not line:
            raise SystemExit("connection closed")
        if line.startswith(tag + b" "):
            break
    assert line.startswith(tag + b" OK"), line
    rtts.append((time.perf_counter() - t) * 1000.0)
    time.sleep(0.005)
print(json.dumps(rtts), flush=True)
"""


class Prober:
    def __init__(self, port, mode="plain"):
        self.p = subprocess.Popen([sys.executable, "-c", PROBER, str(port), mode],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        assert line.strip() == "ready", "prober: %r %s" % (line, self.p.stderr.read())
        self.p.stdin.write("go\n")
        self.p.stdin.flush()

    def stop(self):
        self.p.stdin.write("stop\n")
        self.p.stdin.flush()
        out, err = self.p.communicate(timeout=30)
        assert self.p.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1])


def assert_responsive(rtts, what, min_samples=200):
    assert len(rtts) >= min_samples, "%s: only %d NOOP samples" % (what, len(rtts))
    worst = p99(rtts)
    print("%s: %d NOOPs, p50 %.2f ms, p99 %.2f ms, max %.2f ms" % (
        what, len(rtts), sorted(rtts)[len(rtts) // 2], worst, max(rtts)))
    assert worst < NOOP_P99_MS, "%s: NOOP p99 %.1f ms" % (what, worst)


# --- 10,000 idle sockets ---------------------------------------------------

def open_idle(port, sources, per_source, deadline_s=60):
    """Open per_source connections from each source address, in batches,
    and wait for each greeting (the daemon admitted and served it). The
    sockets then stay open and never send. Returns (sockets, greetings)."""
    socks, greetings = [], []
    sel = selectors.DefaultSelector()
    pairs = [(src, i) for i in range(per_source) for src in sources]
    deadline = time.time() + deadline_s
    for start in range(0, len(pairs), 500):
        pending = {}
        for src, _ in pairs[start:start + 500]:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.bind((src, 0))
            s.connect_ex(("127.0.0.1", port))
            sel.register(s, selectors.EVENT_READ)
            pending[s.fileno()] = s
            socks.append(s)
        while pending:
            assert time.time() < deadline, "greetings: %d missing" % len(pending)
            for key, _ in sel.select(timeout=1):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                sel.unregister(s)
                del pending[s.fileno()]
                greetings.append(data)
    sel.close()
    return socks, greetings


def test_idle_sockets_and_per_ip_cap(roost_factory):
    raise_nofile(IDLE_CONNS + 1000)
    # Start the daemon with a small soft limit: it must raise its own.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        r = roost_factory()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    pid = r.proc.pid
    assert nofile_soft(pid) >= IDLE_CONNS + 500, "daemon kept a low open-file limit"
    port = r.port("imap")
    rss_before = rss(pid)

    # 125 addresses x 80 = 10,000: under the per-IP cap of 100.
    sources = ["127.1.%d.%d" % (k // 200, k % 200 + 1) for k in range(125)]
    t0 = time.time()
    socks, greetings = open_idle(port, sources, IDLE_CONNS // len(sources))
    try:
        assert len(socks) == IDLE_CONNS
        bad = [g for g in greetings if not g.startswith(b"* OK")]
        assert not bad, "%d of %d not greeted, e.g. %r" % (len(bad), len(greetings), bad[:3])
        print("10,000 idle connections open in %.1f s" % (time.time() - t0))

        # From ONE address only server.max_connections_per_ip (100) are
        # held; the rest get the protocol's refusal and are closed.
        one, replies = open_idle(port, ["127.9.9.9"], 150)
        try:
            ok = [g for g in replies if g.startswith(b"* OK")]
            refused = [g for g in replies
                       if g.startswith(b"* BYE Too many connections from your address")]
            assert len(ok) == 100 and len(refused) == 50, (len(ok), len(refused))
        finally:
            for s in one:
                s.close()

        prober = Prober(port)
        time.sleep(3)
        rtts = prober.stop()
        assert_responsive(rtts, "10,000 idle sockets")

        used = rss(pid)
        per_conn = (used - rss_before) / IDLE_CONNS
        print("daemon RSS %.1f MB with 10,000 idle connections (%.0f bytes each)" % (
            used / 1048576.0, per_conn))
        if not SANITIZED:  # see conftest.SANITIZED
            assert used < IDLE_RSS_MAX
            assert per_conn < IDLE_RSS_PER_CONN_MAX
    finally:
        for s in socks:
            s.close()
    # Closed connections give their per-IP slots back.
    deadline = time.time() + 10
    while True:
        s = connect_from("127.1.0.1", port)
        greeting = s.makefile("rb").readline()
        s.close()
        if greeting.startswith(b"* OK") or time.time() > deadline:
            break
        time.sleep(0.2)
    assert greeting.startswith(b"* OK"), greeting


# --- slow-loris --------------------------------------------------------------

SLOW_LINES = {
    "imap": b"a LOGIN alice@example.com secret\r\n",
    "pop3": b"USER alice@example.com\r\n",
    "smtp": b"EHLO slow.example.org\r\n",
}
STEADY_LINES = {"imap": b"s NOOP\r\n", "pop3": b"CAPA\r\n", "smtp": b"NOOP\r\n"}
CLOSE_TEXT = {"imap": b"* BYE", "pop3": b"-ERR", "smtp": b"421 "}


def test_slow_loris_is_cut_off(roost_factory):
    line_timeout = 2.0
    r = roost_factory(server__line_timeout="2s")
    slow, steady = [], []
    n = 0
    for proto in SLOW_LINES:
        for i in range(10):
            n += 1
            s = connect_from("127.7.0.%d" % n, r.port(proto))
            s.recv(4096)  # greeting
            s.setblocking(False)
            slow.append({"proto": proto, "sock": s, "sent": 0, "got": b"",
                         "first": None, "closed": None})
        s = connect_from("127.7.1.%d" % len(steady), r.port(proto))
        s.recv(4096)
        s.setblocking(False)
        steady.append({"proto": proto, "sock": s, "got": b"", "sent": 0, "closed": None})

    start = time.time()
    next_tick = start
    while time.time() < start + 5.5:
        now = time.time()
        if now >= next_tick:
            next_tick += 1.0
            for c in slow:
                if c["closed"] is None:
                    line = SLOW_LINES[c["proto"]]
                    try:
                        c["sock"].send(line[c["sent"]:c["sent"] + 1])
                    except OSError:
                        c["closed"] = now
                        continue
                    if c["first"] is None:
                        c["first"] = now
                    c["sent"] += 1
            for c in steady:
                if c["closed"] is None:
                    c["sock"].send(STEADY_LINES[c["proto"]])
                    c["sent"] += 1
        for c in slow + steady:
            if c["closed"] is not None:
                continue
            try:
                data = c["sock"].recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                c["got"] += data
            else:
                c["closed"] = time.time()
        time.sleep(0.02)

    for c in slow:
        assert c["closed"] is not None, "%s slow-loris still connected after %d bytes" % (
            c["proto"], c["sent"])
        held = c["closed"] - c["first"]
        # the deadline counts from the first byte of the line
        assert line_timeout - 0.5 <= held <= line_timeout + 2.0, (c["proto"], held)
        assert c["sent"] < len(SLOW_LINES[c["proto"]]), "the line completed"
        assert CLOSE_TEXT[c["proto"]] in c["got"], (c["proto"], c["got"])
        c["sock"].close()
    # Complete lines once a second are not slow-loris: served, still open.
    for c in steady:
        assert c["closed"] is None, "%s steady client was closed: %r" % (c["proto"], c["got"])
        ok = b"s OK" if c["proto"] == "imap" else (b"+OK" if c["proto"] == "pop3" else b"250")
        assert c["got"].count(ok) >= c["sent"] - 1, (c["proto"], c["got"])
        c["sock"].close()
    print("slow-loris: %d clients cut off %.1f-%.1f s after their first byte" % (
        len(slow), min(c["closed"] - c["first"] for c in slow),
        max(c["closed"] - c["first"] for c in slow)))


# --- wrong passwords ---------------------------------------------------------

IMAP_FAIL = b"NO [AUTHENTICATIONFAILED] Authentication failed"
POP3_FAIL = b"-ERR [AUTH] Authentication failed"


class ImapClient:
    def __init__(self, src, port):
        self.s = connect_from(src, port, timeout=30)
        self.f = self.s.makefile("rb")
        read_line(self.f)
        self.n = 0

    def login(self, user, password):
        """(reply after the tag, seconds)"""
        self.n += 1
        tag = b"l%d" % self.n
        t = time.perf_counter()
        self.s.sendall(tag + b" LOGIN " + user + b" " + password + b"\r\n")
        line = imap_until_tagged(self.f, tag)
        return line[len(tag) + 1:].rstrip(b"\r\n"), time.perf_counter() - t

    def close(self):
        self.s.close()


class Pop3Client:
    def __init__(self, src, port):
        self.s = connect_from(src, port, timeout=30)
        self.f = self.s.makefile("rb")
        read_line(self.f)

    def login(self, user, password):
        t = time.perf_counter()
        self.s.sendall(b"USER " + user + b"\r\n")
        line = read_line(self.f)
        if line.startswith(b"-ERR Too many errors"):
            raise ConnectionError("pop3.max_errors reached")  # then closed
        assert line.startswith(b"+OK"), line
        self.s.sendall(b"PASS " + password + b"\r\n")
        line = read_line(self.f)
        return line.rstrip(b"\r\n"), time.perf_counter() - t

    def close(self):
        self.s.close()


def guess_worker(make, user_for, count, replies, errors, fresh):
    """count wrong logins over one connection (or a new one each time when
    `fresh`), reconnecting when the server ends the session
    (pop3.max_errors)."""
    c = None
    try:
        for i in range(count):
            for attempt in range(3):
                try:
                    if c is None:
                        c = make()
                    reply, _ = c.login(user_for(i), b"wrong-%d" % i)
                    break
                except ConnectionError:
                    c = None
            else:
                raise AssertionError("cannot reconnect")
            replies.append(reply)
            if fresh:
                c.close()
                c = None
    except Exception as e:  # reported by the test thread
        errors.append(repr(e))
    finally:
        if c is not None:
            c.close()


def run_guessers(r, src_for, total, conns, fresh):
    """total wrong passwords, half IMAP LOGIN and half POP3 PASS, over
    `conns` concurrent connections; users alternate between a real one and
    one that does not exist."""
    replies = {"imap": [], "pop3": []}
    errors = []
    threads = []
    per = total // conns
    users = lambda i: USER if i % 2 == 0 else b"nobody%d@example.com" % i
    for k in range(conns):
        proto = "imap" if k % 2 == 0 else "pop3"
        cls = ImapClient if proto == "imap" else Pop3Client
        port = r.port(proto)
        counter = iter(range(10 ** 9))
        make = (lambda cls=cls, port=port, k=k, counter=counter:
                cls(src_for(k, next(counter)), port))
        threads.append(threading.Thread(target=guess_worker,
                                        args=(make, users, per, replies[proto], errors, fresh)))
    for t in threads:
        t.start()
    return threads, replies, errors


def check_prompt_login(port, src="127.0.0.1"):
    c = ImapClient(src, port)
    reply, took = c.login(USER, PASSWORD)
    c.close()
    assert reply.startswith(b"OK"), reply
    return took


def test_failed_login_delays_grow_and_cap(roost_factory):
    r = roost_factory(auth__fail_delay="20ms", auth__fail_delay_max="160ms")
    c = ImapClient("127.4.0.1", r.port("imap"))
    times = []
    for i in range(8):
        reply, took = c.login(USER if i % 2 else b"nobody@example.com", b"wrong")
        assert reply == IMAP_FAIL, reply
        times.append(took)
    c.close()
    print("failed-login answer times (ms):", [round(t * 1000) for t in times])
    # The n-th failure from an address waits 20 ms * 2^(n-1), capped at
    # 160 ms. Without the cap the 8th would wait 2.56 s.
    for i, took in enumerate(times):
        assert took >= min(0.020 * 2 ** i, 0.160) - 0.002, (i, took)
    assert max(times[4:]) < 1.0, times
    # POP3 shares the table: the same address waits the capped delay there.
    p = Pop3Client("127.4.0.1", r.port("pop3"))
    reply, took = p.login(USER, b"wrong")
    p.close()
    assert reply == POP3_FAIL and took >= 0.158, (reply, took)
    # Another address is not slowed down. A success clears only that
    # user's failures: the four against nobody@ still
    # count for the address. test_auth_throttle.py has the details.
    assert check_prompt_login(r.port("imap"), "127.4.0.2") < 0.5
    c = ImapClient("127.4.0.1", r.port("imap"))
    reply, _ = c.login(USER, PASSWORD)
    assert reply.startswith(b"OK"), reply
    c.close()
    c = ImapClient("127.4.0.1", r.port("imap"))
    reply, took = c.login(USER, b"wrong")
    c.close()
    assert reply == IMAP_FAIL and took >= 0.158, took


def test_no_user_enumeration(roost_factory):
    r = roost_factory(auth__fail_delay="20ms", auth__fail_delay_max="20ms")
    known, unknown = [], []
    for i in range(12):
        # A fresh address each time: every answer waits the same base delay.
        c = ImapClient("127.4.1.%d" % (i + 1), r.port("imap"))
        reply_k, t_k = c.login(USER, b"wrong")
        c.close()
        c = ImapClient("127.4.2.%d" % (i + 1), r.port("imap"))
        reply_u, t_u = c.login(b"nobody@example.com", b"wrong")
        c.close()
        assert reply_k == reply_u == IMAP_FAIL
        known.append(t_k)
        unknown.append(t_u)
        p = Pop3Client("127.4.3.%d" % (i + 1), r.port("pop3"))
        a = p.login(USER, b"wrong")[0]
        p.close()
        p = Pop3Client("127.4.4.%d" % (i + 1), r.port("pop3"))
        b = p.login(b"nobody@example.com", b"wrong")[0]
        p.close()
        assert a == b == POP3_FAIL
    mk, mu = sorted(known)[6], sorted(unknown)[6]
    print("median failed login: known user %.1f ms, unknown user %.1f ms" % (
        mk * 1000, mu * 1000))
    # Unknown users are checked against a dummy hash of the same cost.
    assert 0.5 < mu / mk < 2.0, (mk, mu)


def password_attack(r, src_for, what, fresh=False):
    pid = r.proc.pid
    rss_before = rss(pid)
    prober = Prober(r.port("imap"))
    threads, replies, errors = run_guessers(r, src_for, 1000, 40, fresh)
    time.sleep(1.0)
    login_times = [check_prompt_login(r.port("imap")) for _ in range(3)]
    deadline = time.time() + 120
    for t in threads:
        t.join(max(0.1, deadline - time.time()))
    rtts = prober.stop()
    assert not any(t.is_alive() for t in threads), "guessers did not finish"
    assert not errors, errors[:3]
    n = len(replies["imap"]) + len(replies["pop3"])
    assert n == 1000, n
    # The same answer whether or not the user exists.
    assert set(replies["imap"]) == {IMAP_FAIL}, set(replies["imap"])
    assert set(replies["pop3"]) == {POP3_FAIL}, set(replies["pop3"])
    print("%s: normal login took %s ms during the attack" % (
        what, [round(t * 1000) for t in login_times]))
    assert max(login_times) < 2.0, login_times
    assert_responsive(rtts, what, min_samples=100)
    growth = rss(pid) - rss_before
    print("%s: daemon RSS grew %.1f MB" % (what, growth / 1048576.0))
    if not SANITIZED:  # see conftest.SANITIZED
        assert growth < AUTH_ATTACK_RSS_GROWTH_MAX


def test_wrong_passwords_from_one_address(roost_factory):
    r = roost_factory(auth__fail_delay="20ms", auth__fail_delay_max="160ms")
    password_attack(r, lambda k, n: "127.5.0.1", "1,000 wrong passwords, one address")


def test_wrong_passwords_from_many_addresses(roost_factory):
    r = roost_factory(auth__fail_delay="20ms", auth__fail_delay_max="160ms")
    # a new connection per guess, each from its own address: 1,000 addresses
    password_attack(r, lambda k, n: "127.6.%d.%d" % (k, n % 250 + 1),
                    "1,000 wrong passwords, many addresses", fresh=True)


# --- TLS handshake storm -----------------------------------------------------

def tls_storm(ports, seconds, held_max=300):
    """Hostile TLS clients for `seconds`: ClientHello then silence (held,
    oldest abandoned first), garbage instead of a ClientHello, complete
    handshakes that hang up at once, and connections that never speak.
    Returns counts and the daemon's peak RSS seen by `sample`."""
    ctx = tls_client_context()
    held = []
    counts = {"hello_abandoned": 0, "garbage": 0, "completed": 0, "silent": 0, "refused": 0}
    end = time.time() + seconds
    k = 0
    while time.time() < end:
        for port in ports:
            k += 1
            src = "127.8.%d.%d" % (k % 20, 1 + k % 7)
            try:
                # ClientHello, then never answer the server
                s = connect_from(src, port, timeout=5)
                t = ctx.wrap_socket(s, do_handshake_on_connect=False)
                t.setblocking(False)
                try:
                    t.do_handshake()
                except ssl.SSLWantReadError:
                    pass
                held.append(t)
                counts["hello_abandoned"] += 1
                # garbage where the ClientHello belongs
                g = connect_from(src, port, timeout=5)
                g.sendall(b"\x16\x03\x01\xff\xff" + b"\xa5" * 2048)
                g.close()
                counts["garbage"] += 1
                # a whole handshake, then hang up
                c = ctx.wrap_socket(connect_from(src, port, timeout=5))
                c.close()
                counts["completed"] += 1
                if k % 4 == 0:
                    held.append(connect_from(src, port, timeout=5))
                    counts["silent"] += 1
            except (ConnectionError, ssl.SSLError, OSError):
                # per-IP cap: implicit-TLS refusals are a bare close
                counts["refused"] += 1
        while len(held) > held_max:
            held.pop(0).close()
    return counts, held


def test_tls_handshake_storm(roost_factory):
    r = roost_factory()
    pid = r.proc.pid
    rss_before = rss(pid)
    peak = [rss_before]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    prober = Prober(r.port("imaps"), "tls")
    held = []
    try:
        counts, held = tls_storm([r.port("imaps"), r.port("pop3s")], 5.0)
    finally:
        rtts = prober.stop()
        stop.set()
        sampler.join()
        for s in held:
            s.close()
    print("TLS storm:", counts, "daemon RSS %.1f MB before, %.1f MB peak" % (
        rss_before / 1048576.0, peak[0] / 1048576.0))
    assert counts["completed"] >= 200, counts
    assert_responsive(rtts, "TLS handshake storm")
    if not SANITIZED:  # see conftest.SANITIZED
        assert peak[0] < TLS_STORM_RSS_MAX
    # still serving TLS normally afterwards
    c = tls_client_context().wrap_socket(connect_from("127.0.0.1", r.port("pop3s")))
    assert c.recv(4096).startswith(b"+OK")
    c.close()
