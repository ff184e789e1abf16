#!/usr/bin/python3
"""bench/multinode.py: Roost nodes on one PostgreSQL database, on this
machine. Starts a private, durable PostgreSQL 15 (fsync and
synchronous_commit on; the e2e suite's PgCluster) and two `roost serve`
nodes on one database (the suite's start_nodes), then:

1. delivery: roost-load smtp, SESSIONS sessions and MESSAGES messages of
   4 KB over 100 accounts, first all to node A, then split in half over
   A and B at once. Both nodes share these 2 cores and one database, so
   the figure shows what a second node costs, not how it scales.
2. IDLE push: an IMAP session in IDLE on each node; IDLE_MESSAGES
   messages delivered one at a time over SMTP to node A; for each, how
   long after the 250 the `* N EXISTS` reached the session on A (the
   change feed in memory) and the one on B (LISTEN/NOTIFY). Both are
   read in turn, so B's figure is an upper bound.

Usage: bench/multinode.py [MESSAGES [SESSIONS [IDLE_MESSAGES]]]
       defaults: 20000 messages, 50 sessions, 300 IDLE deliveries
Needs build/roost and build/roost-load (make bench), postgresql-15 and
python3-pytest.
"""
import os
import smtplib
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
os.environ.setdefault("ROOST_BIN", os.path.join(ROOT, "build", "roost"))
LOAD = os.path.join(ROOT, "build", "roost-load")
ACCOUNTS = 100

import conftest  # noqa: E402
from imap_raw import Raw  # noqa: E402
from multinode import start_nodes  # noqa: E402
from pg_cluster import PgCluster  # noqa: E402
from test_imap_idle import start_idle  # noqa: E402

MSG = b"From: a@example.org\r\nSubject: bench %d\r\n\r\nbody\r\n"


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def smtp_load(ports, messages, sessions):
    """roost-load smtp on every port at once, the work split evenly;
    (messages/s over the whole run, the worst p99 in ms)."""
    t0 = time.monotonic()
    procs = [subprocess.Popen([LOAD, "smtp", "-p", str(p), "-c", str(sessions // len(ports)),
                               "-n", str(messages // len(ports)), "-s", "4096",
                               "-a", str(ACCOUNTS), "-u", "user"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for p in ports]
    p99 = 0.0
    for p in procs:
        out, err = p.communicate(timeout=1800)
        if p.returncode != 0:
            sys.exit("roost-load failed: %s %s" % (out.decode(), err.decode()[-2000:]))
        for word in out.decode().split():
            if word.startswith("p99="):
                p99 = max(p99, float(word[4:].rstrip("ms")))
    return messages / (time.monotonic() - t0), p99


def idle_latency(a, b, messages):
    watchers = {}
    for name, node in (("same node", a), ("other node", b)):
        c = Raw(node, port=node.port("imap"), login=False)
        assert c.ok(b"LOGIN user0@example.com secret")
        assert c.ok(b"SELECT INBOX")
        start_idle(c)
        watchers[name] = c
    # the mailbox already holds what the delivery run left
    exists = int(a.sql("SELECT count(*) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
                       " JOIN accounts a ON a.id = b.account_id"
                       " WHERE a.address = 'user0@example.com' AND b.name = 'INBOX'")[0][0])
    lat = {name: [] for name in watchers}
    with smtplib.SMTP("127.0.0.1", a.port("smtp"), timeout=10) as smtp:
        for i in range(1, messages + 1):
            smtp.sendmail("x@example.org", ["user0@example.com"], MSG % i)
            acked = time.monotonic()
            for name, c in watchers.items():
                c.wait_for(b"* %d EXISTS" % (exists + i), timeout=10)
                lat[name].append(max(0.0, time.monotonic() - acked) * 1000)
    return lat


def main():
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    sessions = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    idle_messages = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    if not os.access(LOAD, os.X_OK):
        subprocess.run(["make", "-C", ROOT, "--no-print-directory", "bench"], check=True)
    conftest._pg_cluster = PgCluster(max_connections=200, durable=True).start()
    started = []
    try:
        with tempfile.TemporaryDirectory(prefix="roost-bench-") as tmp:
            users = ["user%d@example.com" % i for i in range(ACCOUNTS)]
            print("bench: creating %d accounts, starting two nodes" % ACCOUNTS, file=sys.stderr)
            a, b = start_nodes(tmp, 2, users, started, log__level="warn")
            one = smtp_load([a.port("smtp")], messages, sessions)
            two = smtp_load([a.port("smtp"), b.port("smtp")], messages, sessions)
            lat = idle_latency(a, b, idle_messages)
    finally:
        for node in started:
            node.stop()
        conftest._pg_cluster.stop()
    print("SMTP delivery, %d messages of 4 KB, %d sessions, durable PostgreSQL:"
          % (messages, sessions))
    print("  1 node : %7.0f msg/s  p99 %7.1f ms" % one)
    print("  2 nodes: %7.0f msg/s  p99 %7.1f ms  (sessions and messages split in half)" % two)
    print("IDLE push after the 250, %d deliveries over SMTP to node A (ms):" % idle_messages)
    for name, v in lat.items():
        print("  IDLE on the %-10s p50 %6.2f  p95 %6.2f  p99 %6.2f  max %6.2f"
              % (name, percentile(v, 50), percentile(v, 95), percentile(v, 99), max(v)))


if __name__ == "__main__":
    main()
