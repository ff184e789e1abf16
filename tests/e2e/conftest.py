"""End-to-end test fixtures: a real `roost serve` on loopback ports.

`roost` gives a running daemon in a fresh data directory with the domain
example.com and the account alice@example.com (password "secret").
`roost_factory(**settings)` starts one with extra `--set key=value` settings
(dots in keys written as "__": imap__timeout="5s").

ROOST_TEST_STORE=postgresql runs them on the PostgreSQL store backend:
every `Roost.init()` then makes a database of its own in one private
PostgreSQL cluster that lives for the test session (pg_cluster.py).
"""
import atexit
import itertools
import os
import re
import socket
import subprocess
import time

import pytest

import imap_strict

ROOST_BIN = os.environ.get("ROOST_BIN") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "roost"))

# Set by `make test-asan`: the daemon runs with AddressSanitizer, whose
# quarantine keeps freed memory (up to 256 MB) and whose shadow memory
# multiplies RSS. Memory bounds are asserted on the normal build only
# (`make test`); every other assertion holds under the sanitizers too.
SANITIZED = os.environ.get("ROOST_SANITIZED") == "1"

PROTOCOLS = ("imap", "imaps", "pop3", "pop3s", "smtp", "submission",
             "submissions", "lmtp", "http", "https", "managesieve")


# The store backend under test (sqlite, the default, or postgresql).
STORE_BACKEND = os.environ.get("ROOST_TEST_STORE", "sqlite")
_pg_cluster = None
_pg_databases = itertools.count()


def pg_new_database():
    """A new, empty database in the session's PostgreSQL cluster (started
    on first use, stopped when the session ends): its name."""
    name = "store%d" % next(_pg_databases)
    pg_cluster().psql("CREATE DATABASE %s" % name, dbname="postgres")
    return name


def pg_cluster():
    global _pg_cluster
    if _pg_cluster is None:
        from pg_cluster import PgCluster
        # every daemon holds a writer and a reader per thread; a test may
        # run several daemons at once
        _pg_cluster = PgCluster(max_connections=400).start()
        atexit.register(_pg_cluster.stop)
    return _pg_cluster


def _sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, bytes):
        return "'\\x%s'::bytea" % v.hex()
    return "'%s'" % str(v).replace("'", "''")


def _pg_value(s):
    if s == "":
        return None
    try:
        return int(s)
    except ValueError:
        return s


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sqlite_only(why): the test is about SQLite itself (its file,"
        " VACUUM INTO backups); it does not run with"
        " ROOST_TEST_STORE=postgresql")


# Files that bind fixed loopback addresses other than 127.0.0.1 (the
# private "internet" of MXs, proxies, DNS servers) share one xdist group,
# so two of them never run at once; every other file is a group of its own.
_FIXED_ADDRESS = re.compile(r"127\.0\.0\.(?!1\b)[0-9]+")


def _xdist_group(path, cache={}):
    if path not in cache:
        with open(path, encoding="utf-8") as f:
            fixed = _FIXED_ADDRESS.search(f.read())
        cache[path] = "fixed-addresses" if fixed else os.path.basename(path)
    return cache[path]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (`-n 2 --dist loadgroup`, scripts/test.sh), a test
    file runs on one worker: its module fixtures start once (see
    _xdist_group). On the PostgreSQL backend, tests marked sqlite_only are
    deselected (pytest's summary counts them); everything else runs on both."""
    for it in items:
        if not it.get_closest_marker("xdist_group"):
            it.add_marker(pytest.mark.xdist_group(_xdist_group(str(it.path))))
    if STORE_BACKEND != "postgresql":
        return
    drop = [it for it in items if it.get_closest_marker("sqlite_only")]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [it for it in items if not it.get_closest_marker("sqlite_only")]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortTaken(Exception):
    pass


class Roost:
    def __init__(self, datadir, settings=None, stay_root=True):
        self.datadir = str(datadir)
        self.stay_root = stay_root
        self.settings = dict(settings or {})
        self.ports = {}
        self.proc = None
        self.logfile = os.path.join(self.datadir + ".log")
        self.strict = None          # imap_strict.Checker (strict client check)
        self.strict_proxy = None
        self.strict_port = None

    # --- CLI -----------------------------------------------------------
    def cli(self, *args, input=None, check=True, binary=False):
        """Run `roost -d DIR args...`; returns CompletedProcess."""
        if isinstance(input, str):
            input = input.encode()
        p = subprocess.run([ROOST_BIN, "-d", self.datadir, *args], input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        if not binary:
            p.stdout = p.stdout.decode(errors="replace")
            p.stderr = p.stderr.decode(errors="replace")
        if check and p.returncode != 0:
            raise AssertionError("roost %s failed (%d): %s" % (
                " ".join(args), p.returncode, p.stderr))
        return p

    def add_user(self, address, password="secret"):
        self.cli("user", "add", address, input=password + "\n")

    def deliver(self, message, *rcpts, check=True):
        if isinstance(message, str):
            message = message.encode()
        return self.cli("deliver", *rcpts, input=message, check=check)

    def users(self):
        """{address: (quota, used_bytes, messages)} from `user list`."""
        out = {}
        for line in self.cli("user", "list").stdout.splitlines():
            addr, quota, used, count = line.split("\t")[:4]
            out[addr] = (quota, int(used), int(count))
        return out

    # --- daemon --------------------------------------------------------
    def init_store(self, *args):
        """`roost init` on the backend under test (ROOST_TEST_STORE)."""
        if STORE_BACKEND == "postgresql":
            self.pg_dbname = pg_new_database()
            # over TCP: the daemon may run as server.user (test_daemon.py)
            return self.cli("init", *args, "--postgresql",
                            pg_cluster().conninfo_for(self.pg_dbname, tcp=True))
        return self.cli("init", *args)

    def init(self):
        self.init_store()
        self.cli("domain", "add", "example.com")
        self.add_user("alice@example.com")

    pg_dbname = None    # the PostgreSQL database of the store, if it is there

    # --- the store behind the daemon's back -----------------------------
    def sql(self, sql, *params):
        """Runs one statement on the store's database, whichever backend
        holds it (SQLite's ? parameters on both); returns the rows as
        tuples (on PostgreSQL: integers for integer-looking text, None for
        NULL or empty). For what no CLI does on purpose: back-dating,
        damage for `roost check` to find, a look at what is stored."""
        if self.pg_dbname is None:
            import sqlite3
            db = sqlite3.connect(os.path.join(self.datadir, "roost.db"), timeout=10)
            try:
                rows = db.execute(sql, params).fetchall()
                db.commit()
                return rows
            finally:
                db.close()
        parts = sql.split("?")
        assert len(parts) == len(params) + 1, "one parameter per ?"
        text = parts[0] + "".join(_sql_literal(v) + rest for v, rest in zip(params, parts[1:]))
        out = pg_cluster().psql(text, dbname=self.pg_dbname, separator="\t")
        return [tuple(_pg_value(f) for f in line.split("\t"))
                for line in out.splitlines() if line != ""]

    def store_bytes(self):
        """Every byte the store holds on disk, for "this secret is stored
        nowhere" checks: the SQLite file, or a data dump of the database."""
        if self.pg_dbname is None:
            with open(os.path.join(self.datadir, "roost.db"), "rb") as f:
                return f.read()
        return pg_cluster().dump(self.pg_dbname)

    def start(self, wait_for=("imap", "pop3", "smtp", "lmtp")):
        """Start `roost serve`; returns once the listed protocols accept
        connections and the control socket exists. Ports come from
        free_port(), so another process may grab one before roost binds
        it: then the start is retried on fresh ports (a few times)."""
        fixed_ports = bool(self.ports)
        for attempt in range(4):
            if not self.ports or (attempt > 0 and not fixed_ports):
                self.ports = {p: free_port() for p in PROTOCOLS}
            try:
                self._start_once(wait_for)
                self._strict_start()
                return None
            except PortTaken:
                if fixed_ports:
                    raise AssertionError("roost serve: port taken: %s" % self.read_log())
        raise AssertionError("roost serve: no free ports: %s" % self.read_log())

    def _start_once(self, wait_for):
        args = [ROOST_BIN, "-d", self.datadir, "serve"]
        for p, port in self.ports.items():
            args += ["--set", "%s.listen=127.0.0.1:%d" % (p, port)]
        args += ["--set", "auth.fail_delay=50ms", "--set", "auth.fail_delay_max=200ms"]
        # Guessing tests make hundreds of failures from one address: the
        # block (auth.block_failures) is tested on its own in
        # test_auth_throttle.py.
        args += ["--set", "auth.block_failures=0"]
        # The test data lives under pytest's private (0700) tmp directory,
        # which the roost system user cannot reach: stay root explicitly.
        # test_daemon.py tests the default drop to the roost user.
        if self.stay_root:
            args += ["--set", "server.user=root"]
        # Tests talk only to loopback: outbound mail's DNS goes to a
        # loopback port nobody answers unless a test brings its own
        # resolver (outbound_net.py), never to the system's.
        if "dns__resolver" not in self.settings:
            args += ["--set", "dns.resolver=127.0.0.1@9"]
        # SPF/DKIM/DMARC on the MX add a header and DNS waits to every
        # message: only the tests of it (test_mx_auth.py) turn it on.
        if "smtp__authenticate" not in self.settings:
            args += ["--set", "smtp.authenticate=no"]
        for k, v in self.settings.items():
            args += ["--set", "%s=%s" % (k.replace("__", "."), v)]
        log_start = os.path.getsize(self.logfile) if os.path.exists(self.logfile) else 0
        self.log = open(self.logfile, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.time() + 15
        want = list(wait_for)
        # Ready once the listed protocols accept and the control socket
        # (made after every listener is bound) exists. A daemon that exits
        # meanwhile is noticed, also with wait_for=(): a port another
        # process took is then retried on fresh ports.
        sock = os.path.join(self.datadir, "control.sock")
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                self.log.close()
                with open(self.logfile, "rb") as f:
                    f.seek(log_start)
                    tail = f.read().decode(errors="replace")
                if "Address already in use" in tail:
                    raise PortTaken()
                raise AssertionError("roost serve exited: %s" % tail[-5000:])
            if all(self._accepts(self.ports[p]) for p in want) and os.path.exists(sock):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("roost serve did not start: %s" % self.read_log())

    @staticmethod
    def _accepts(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    # --- strict IMAP client check (tests/e2e/imap_strict.py) ------------
    def _strict_start(self):
        """Put the checking proxy in front of the IMAP port; tests reach
        it through port("imap"). Kept on the same port across restarts."""
        if not STRICT["on"] or "imap" not in self.ports:
            return
        if self.strict is None:
            self.strict = imap_strict.Checker(os.path.basename(self.datadir))
            STRICT["checkers"].append(self.strict)
        if self.strict_proxy is not None:
            self.strict_proxy.target = ("127.0.0.1", self.ports["imap"])
            return
        self.strict.stopped = False
        self.strict_proxy = imap_strict.Proxy(self.strict, self.ports["imap"],
                                              port=self.strict_port)
        self.strict_port = self.strict_proxy.port

    def _strict_stop(self):
        if self.strict_proxy is not None:
            self.strict_proxy.close()
            self.strict_proxy = None
            self.strict.stopped = True

    def stop(self, sig=None):
        self._strict_stop()
        if self.proc is None:
            return None
        if sig is None:
            self.proc.terminate()
        else:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self.log.close()
        return rc

    def read_log(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode(errors="replace")[-5000:]
        except OSError:
            return ""

    def port(self, proto):
        if proto == "imap" and self.strict_proxy is not None:
            return self.strict_port
        return self.ports[proto]

    def listen_port(self, proto):
        """The port the daemon itself listens on (what it advertises in
        autoconfig and DNS records), not the strict checker's proxy."""
        return self.ports[proto]


# --- strict IMAP client check: every IMAP response of every test ----------
# Each Roost's IMAP port is reached through imap_strict.Proxy, which checks
# what a strict client relies on (RFC 3501/9051/7162) and records
# violations; the test that produced one fails with the rule, the RFC
# section, the line and its context. A module sets IMAP_STRICT = False
# only where a proxy would change what it measures.
STRICT = {"on": True, "checkers": []}


def _strict_failures():
    out = []
    for c in STRICT["checkers"]:
        out += c.take()
    errors, imap_strict.CHECKER_ERRORS[:] = list(imap_strict.CHECKER_ERRORS), []
    return out, errors


def _strict_message(found, errors):
    text = ["strict IMAP client check: %d violation(s)" % len(found)]
    text += [str(v) for v in found[:10]]
    text += ["checker error:\n" + e for e in errors[:3]]
    return "\n".join(text)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # ROOST_IMAP_STRICT=0 turns the check off (to measure its overhead)
    STRICT["on"] = (getattr(item.module, "IMAP_STRICT", True)
                    and os.environ.get("ROOST_IMAP_STRICT") != "0")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    found, errors = _strict_failures()
    if (found or errors) and outcome.excinfo is None:
        raise AssertionError(_strict_message(found, errors))


@pytest.fixture(autouse=True)
def imap_strict_check():
    """What the servers sent while fixtures were torn down is checked too."""
    yield
    for c in STRICT["checkers"]:
        if c.stopped:           # its last connections are closing
            c.wait_idle(2.0)
    found, errors = _strict_failures()
    if found or errors:
        pytest.fail(_strict_message(found, errors))


@pytest.fixture
def roost_factory(tmp_path):
    started = []

    def make(**settings):
        r = Roost(tmp_path / ("var%d" % len(started)), settings)
        r.init()
        r.start()
        started.append(r)
        return r

    yield make
    for r in started:
        stop_clean(r)


def stop_clean(r):
    """Stop a daemon a test started; it must exit cleanly and its log
    hold no sanitizer report."""
    rc = r.stop()
    assert rc in (0, None), "roost serve exited with %s:\n%s" % (rc, r.read_log())
    assert "AddressSanitizer" not in r.read_log()
    assert "runtime error:" not in r.read_log()


@pytest.fixture
def roost(roost_factory):
    return roost_factory()


@pytest.fixture
def datadir(tmp_path):
    """A Roost object whose daemon is NOT started (CLI-only tests). A test
    that starts it after all gets it stopped here, never left running."""
    r = Roost(tmp_path / "var")
    yield r
    r.stop()
