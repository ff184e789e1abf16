"""PostgreSQL restarted under load (issue 18): a daemon on a private
cluster (not the suite's shared one) takes deliveries over LMTP and SMTP
from four clients while the cluster restarts. Clients get temporary
errors during the outage, never a 5xx; every acknowledged message is
stored exactly once, nothing refused is stored; the same daemon, not
restarted, reconnects by itself and serves IMAP and new deliveries."""
import imaplib
import os
import signal
import threading
import time

import pytest

from conftest import Roost
from multinode import nodes  # noqa: F401
from faults import Reply, Smtp, make_message, stored_tokens
from pg_cluster import PG_CTL, PgCluster


@pytest.fixture
def private_pg():
    pg = PgCluster(max_connections=60).start()
    yield pg
    pg.stop()


@pytest.fixture
def pg_roost(tmp_path, private_pg):
    """A running daemon on the private cluster, stopped even when its test
    fails half way."""
    r = Roost(tmp_path / "var")
    r.cli("init", "--postgresql", private_pg.conninfo_for(private_pg.dbname, tcp=True))
    r.cli("domain", "add", "example.com")
    r.add_user("alice@example.com")
    r.start()
    yield r
    if r.proc is not None and r.proc.poll() is None:
        r.stop()


def restart(pg):
    opts = ("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off"
            % (pg.port, pg.dir))
    pg._run(PG_CTL, "-D", pg.datadir, "-l", pg.logfile, "-m", "fast", "-o", opts, "-w",
            "restart")


def test_restart_under_load(pg_roost, private_pg):
    r = pg_roost
    acked, refused, codes, odd = [], [], [], []
    lock = threading.Lock()
    stop = threading.Event()

    def client(proto, cid):
        conn = None
        n = 0
        while not stop.is_set():
            token = "tok-%s%d-%d" % (proto, cid, n)
            n += 1
            try:
                if conn is None:
                    conn = Smtp(r.port(proto), lmtp=proto == "lmtp", timeout=10)
                code, text = conn.cmd("MAIL FROM:<x@other.example>")
                if code == 250:
                    code, text = conn.cmd("RCPT TO:<alice@example.com>")
                if code == 250:
                    code, text = conn.cmd("DATA")
                if code == 354:
                    conn.sock.sendall(make_message(token) + b".\r\n")
                    code, text = conn.reply()
                else:
                    conn.cmd("RSET")
            except (OSError, Reply):
                # the ack may have been lost with the connection: unknown
                if conn is not None:
                    conn.sock.close()
                conn = None
                time.sleep(0.05)
                continue
            with lock:
                codes.append(code)
                if code != 250 and not 400 <= code < 500:
                    odd.append((proto, code, text))
                (acked if code == 250 else refused).append(token)
            if code != 250:
                time.sleep(0.05)
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=client, args=(p, i))
               for i, p in enumerate(("lmtp", "smtp", "lmtp", "smtp"))]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        before = len(acked)
        restart(private_pg)
        # the same daemon comes back by itself
        deadline = time.time() + 20
        while time.time() < deadline:
            with lock:
                if len(acked) > before + 20 and codes[-1] == 250:
                    break
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert r.proc.poll() is None, "the daemon died:\n" + r.read_log()
    assert before > 0 and len(acked) > before + 20, (before, len(acked), r.read_log())
    assert all(c == 250 or 400 <= c < 500 for c in codes), (odd, r.read_log())
    stored = stored_tokens(r.port("imap"))
    for token in acked:
        assert len(stored.get(token, [])) == 1, "%s acked, stored %d times" % (
            token, len(stored.get(token, [])))
    for token in refused:
        assert token not in stored, ("%s refused but stored" % token, r.read_log())
    m = imaplib.IMAP4("127.0.0.1", r.port("imap"), timeout=10)
    m.login("alice@example.com", "secret")
    typ, data = m.select("INBOX")
    assert typ == "OK" and int(data[0]) == len(stored)
    m.logout()
    with open(r.logfile, errors="replace") as f:
        log = f.read()
    assert "postgresql: connection re-established" in log
    assert r.stop() == 0


def test_a_commit_whose_answer_is_lost_is_reported_done(nodes):
    """The server committed, then the connection broke before its answer
    came: the writer asks on a new connection (txid_status) and reports
    the delivery done. A 4xx here would make the client send it again:
    a duplicate."""
    (a,) = nodes(1, debug__fault_injection="yes")
    a.cli("debug", "lose-commits", "1")
    for proto in ("lmtp", "smtp"):
        conn = Smtp(a.port(proto), lmtp=proto == "lmtp", timeout=20)
        assert conn.cmd("MAIL FROM:<x@other.example>")[0] == 250
        assert conn.cmd("RCPT TO:<alice@example.com>")[0] == 250
        assert conn.cmd("DATA")[0] == 354
        conn.sock.sendall(make_message("tok-" + proto) + b".\r\n")
        code, text = conn.reply()
        assert code == 250, (proto, code, text, a.read_log())
        conn.close()
        a.cli("debug", "lose-commits", "1")
    stored = stored_tokens(a.port("imap"))
    assert {t: len(v) for t, v in stored.items()} == {"tok-lmtp": 1, "tok-smtp": 1}
    log = a.read_log()
    assert log.count("the transaction committed all the same") == 2, log
    assert "postgresql: connection re-established" in log


def pg_down(pg):
    pg._run(PG_CTL, "-D", pg.datadir, "-m", "fast", "-w", "-t", "30", "stop")


def pg_up(pg):
    opts = ("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off"
            % (pg.port, pg.dir))
    pg._run(PG_CTL, "-D", pg.datadir, "-l", pg.logfile, "-o", opts, "-w", "-t", "30", "start")


def test_first_reads_during_an_outage(pg_roost, private_pg):
    """Threads open their read connection at their first read: one that
    first reads while PostgreSQL is down (the control threads here: no
    command reached the daemon before) gets a temporary error, and the
    daemon lives on and serves it once the database is back."""
    r = pg_roost
    pg_down(private_pg)
    try:
        for _ in range(6):  # more than the control threads
            p = r.cli("user", "list", check=False)
            assert p.returncode != 0
        m = imaplib.IMAP4("127.0.0.1", r.port("imap"), timeout=20)
        with pytest.raises(imaplib.IMAP4.error) as e:
            m.login("alice@example.com", "secret")
        assert "UNAVAILABLE" in str(e.value), e.value
        m.logout()
        assert r.proc.poll() is None, "the daemon died:\n" + r.read_log()
    finally:
        pg_up(private_pg)
    deadline = time.time() + 20
    while True:
        p = r.cli("user", "list", check=False)
        if p.returncode == 0:
            break
        assert time.time() < deadline, p.stderr
        time.sleep(0.2)
    assert "alice@example.com" in p.stdout
    m = imaplib.IMAP4("127.0.0.1", r.port("imap"), timeout=20)
    m.login("alice@example.com", "secret")
    m.logout()
    assert "cannot connect" in r.read_log()
    assert r.stop() == 0


def test_a_database_that_does_not_answer_costs_no_wait(pg_roost, private_pg):
    """The connections are cut and the server takes new ones without ever
    answering (its postmaster stopped: what a network cut looks like).
    Commands get a temporary error at once instead of waiting for
    connect_timeout on the new connection; once the server answers again
    the daemon goes on by itself."""
    r = pg_roost
    m = imaplib.IMAP4("127.0.0.1", r.port("imap"), timeout=30)
    m.login("alice@example.com", "secret")
    assert m.status("INBOX", "(MESSAGES)")[0] == "OK"
    with open(os.path.join(private_pg.datadir, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    private_pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE pid <> pg_backend_pid() AND datname = current_database()")
    os.kill(postmaster, signal.SIGSTOP)
    try:
        for _ in range(3):
            t0 = time.time()
            typ, data = m.status("INBOX", "(MESSAGES)")
            took = time.time() - t0
            assert typ == "NO" and b"UNAVAILABLE" in data[0], (typ, data)
            assert took < 2, took
    finally:
        os.kill(postmaster, signal.SIGCONT)
    deadline = time.time() + 30
    while m.status("INBOX", "(MESSAGES)")[0] != "OK":
        assert time.time() < deadline, r.read_log()
        time.sleep(0.2)
    m.logout()
    assert r.proc.poll() is None
    assert r.stop() == 0
