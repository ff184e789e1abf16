"""PostgreSQL restarted under load (issue 18): a daemon on a private
cluster (not the suite's shared one) takes deliveries over LMTP and SMTP
from four clients while the cluster restarts. Clients get temporary
errors during the outage, never a 5xx; every acknowledged message is
stored exactly once, nothing refused is stored; the same daemon, not
restarted, reconnects by itself and serves IMAP and new deliveries."""
import imaplib
import threading
import time

import pytest

from conftest import Roost
from faults import Reply, Smtp, make_message, stored_tokens
from pg_cluster import PG_CTL, PgCluster


@pytest.fixture
def private_pg():
    pg = PgCluster(max_connections=60).start()
    yield pg
    pg.stop()


def restart(pg):
    opts = ("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off"
            % (pg.port, pg.dir))
    pg._run(PG_CTL, "-D", pg.datadir, "-l", pg.logfile, "-m", "fast", "-o", opts, "-w",
            "restart")


def test_restart_under_load(tmp_path, private_pg):
    r = Roost(tmp_path / "var")
    r.cli("init", "--postgresql", private_pg.conninfo_for(private_pg.dbname, tcp=True))
    r.cli("domain", "add", "example.com")
    r.add_user("alice@example.com")
    r.start()
    acked, refused, codes = [], [], []
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
                code, _ = conn.cmd("MAIL FROM:<x@other.example>")
                if code == 250:
                    code, _ = conn.cmd("RCPT TO:<alice@example.com>")
                if code == 250:
                    code, _ = conn.cmd("DATA")
                if code == 354:
                    conn.sock.sendall(make_message(token) + b".\r\n")
                    code, _ = conn.reply()
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
    assert all(c == 250 or 400 <= c < 500 for c in codes), sorted(set(codes))
    stored = stored_tokens(r.port("imap"))
    for token in acked:
        assert len(stored.get(token, [])) == 1, "%s acked, stored %d times" % (
            token, len(stored.get(token, [])))
    for token in refused:
        assert token not in stored, "%s refused but stored" % token
    m = imaplib.IMAP4("127.0.0.1", r.port("imap"), timeout=10)
    m.login("alice@example.com", "secret")
    typ, data = m.select("INBOX")
    assert typ == "OK" and int(data[0]) == len(stored)
    m.logout()
    with open(r.logfile, errors="replace") as f:
        log = f.read()
    assert "postgresql: connection re-established" in log
    assert r.stop() == 0
