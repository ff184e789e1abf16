"""The change feed across nodes (issue 18): two `roost serve` on one
PostgreSQL database; what a client does on node A reaches a session of
node B without a command from it (IDLE push), by LISTEN/NOTIFY, and a
lost notification (B's listener connection killed) loses no change: B
resynchronises by MODSEQ once it listens again. The IDLE latency figure
is measured in bench/multinode.py, not here."""
import re
import smtplib
import time

from imap_raw import Raw
from test_imap_idle import start_idle
from multinode import nodes  # noqa: F401

MSG = b"From: a@example.org\r\nSubject: feed %d\r\n\r\nbody\r\n"


def smtp_deliver(node, n):
    with smtplib.SMTP("127.0.0.1", node.port("smtp"), timeout=10) as s:
        s.sendmail("x@example.org", ["alice@example.com"], MSG % n)


def listener_pids(node):
    with open(node.logfile, "rb") as f:
        log = f.read().decode(errors="replace")
    return [int(p) for p in re.findall(r"change feed: listening \(backend pid (\d+)\)", log)]


def wait_listening(node, count=1, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        pids = listener_pids(node)
        if len(pids) >= count:
            return pids[-1]
        time.sleep(0.05)
    raise AssertionError("node never listened %d time(s):\n%s" % (count, node.read_log()))


def test_delivery_flags_expunge_on_a_reach_idle_on_b(nodes):
    a, b = nodes(2)
    wait_listening(b)
    watcher = Raw(b, port=b.port("imap"))
    assert watcher.ok(b"ENABLE QRESYNC")
    assert watcher.ok(b"SELECT INBOX")
    start_idle(watcher)

    smtp_deliver(a, 1)
    watcher.wait_for(b"* 1 EXISTS", timeout=5)

    actor = Raw(a, port=a.port("imap"))
    assert actor.ok(b"SELECT INBOX")
    assert actor.ok(b"STORE 1 +FLAGS (\\Flagged)")
    got = watcher.wait_for(b"FETCH", timeout=5)
    assert b"\\Flagged" in got[-1], got

    assert actor.ok(b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert actor.ok(b"EXPUNGE")
    watcher.wait_for(b"* VANISHED 1", timeout=5)

    # and back: B's change reaches an IDLE session of A
    start_idle(actor)
    smtp_deliver(b, 2)
    actor.wait_for(b"* 1 EXISTS", timeout=5)


def test_mailbox_deleted_on_a_closes_selected_on_b(nodes):
    a, b = nodes(2)
    wait_listening(b)
    actor = Raw(a, port=a.port("imap"))
    assert actor.ok(b"CREATE Projects")
    watcher = Raw(b, port=b.port("imap"))
    assert watcher.ok(b"SELECT Projects")
    start_idle(watcher)
    assert actor.ok(b"DELETE Projects")
    got = watcher.wait_for(b"* BYE", timeout=5)
    assert b"deleted" in got[-1], got


def test_lost_notification_is_caught_up_after_reconnect(nodes):
    a, b = nodes(2)
    pid = wait_listening(b)
    watcher = Raw(b, port=b.port("imap"))
    assert watcher.ok(b"SELECT INBOX")
    start_idle(watcher)
    # Kill B's LISTEN connection and commit on A at once: B waits at
    # least the first backoff before it listens again, so this
    # delivery's NOTIFY reaches no one on B.
    a.sql("SELECT pg_terminate_backend(?)", pid)
    smtp_deliver(a, 1)
    new_pid = wait_listening(b, count=2)
    assert new_pid != pid
    watcher.wait_for(b"* 1 EXISTS", timeout=5)
    # and the new connection carries the next ones
    smtp_deliver(a, 2)
    watcher.wait_for(b"* 2 EXISTS", timeout=5)
    assert "change feed: the LISTEN connection was lost" in b.read_log()
