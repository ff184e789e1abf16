"""The outbound queue's durability and its CLI: hold/release/delete/bounce
through the control socket, held messages across a restart, and kill -9
with a full queue (every message delivered once, or bounced)."""
import collections
import signal
import time

from outbound_net import wait_for
from test_outbound import (MSG, dsn_reports, inbox, message, net, queue_rows,  # noqa: F401
                           sender, sendmail)


def qid(out):
    return out.stdout.split("queued as ")[1].strip()


def test_queue_cli_hold_survives_restart_release_delete_bounce(roost_factory, net):
    r = sender(roost_factory, net)
    a = qid(sendmail(r, ["held@down.test"], mid="q1"))
    b = qid(sendmail(r, ["gone@down.test"], mid="q2"))
    c = qid(sendmail(r, ["back@down.test"], mid="q3"))
    assert r.cli("queue", "hold", a).stdout.strip() == "held 1 message"
    rows = {row[0]: row for row in queue_rows(r)}
    assert rows[a][1] == "<alice@example.com>" and rows[a][2] == "held@down.test"
    assert rows[a][3] == "held"
    show = r.cli("queue", "show", a).stdout
    assert "message-id: <q1@example.com>" in show and "state: held" in show
    # held across a restart
    assert r.stop() == 0
    r.start()
    assert {row[0]: row[3] for row in queue_rows(r)}[a] == "held"
    # delete: gone, and no DSN
    r.cli("queue", "delete", b)
    assert b not in {row[0] for row in queue_rows(r)}
    assert r.cli("queue", "show", b, check=False).returncode == 1
    # bounce: a DSN to the sender at once
    r.cli("queue", "bounce", c)
    assert wait_for(lambda: inbox(r, "alice@example.com") == 1, 20), r.read_log()
    rcpts, _, _ = dsn_reports(message(r, "alice@example.com", 1))
    assert rcpts[0]["Final-Recipient"] == "rfc822; back@down.test"
    assert rcpts[0]["Action"] == "failed"
    assert rcpts[0]["Status"].startswith("5.")
    # the held one is not attempted, even with its MX up
    sink = net.sink("127.0.0.4")
    r.cli("queue", "retry", "all")
    time.sleep(3)
    assert sink.messages == []
    r.cli("queue", "release", a)
    assert wait_for(lambda: len(sink.messages) == 1, 20), r.read_log()
    assert wait_for(lambda: queue_rows(r) == [], 10)
    # bad ids
    assert r.cli("queue", "show", "x", check=False).returncode == 64
    assert r.cli("queue", "hold", "999999", check=False).returncode == 1


N = 300  # CI size; bench/outbound.sh runs the full 1,000+


def test_kill9_with_full_queue_delivers_each_once(roost_factory, net):
    sink = net.sink("127.0.0.3")
    r = sender(roost_factory, net, outbound__max_connections="4",
               outbound__max_per_domain="4")
    # fill the queue with the daemon stopped (sendmail writes the store)
    assert r.stop() == 0
    for i in range(N):
        sendmail(r, ["bob%d@bad.test" % (i % 7)], mid="k%d" % i)
    r.start()
    assert wait_for(lambda: len(sink.messages) >= N // 5, 30), r.read_log()
    r.stop(signal.SIGKILL)
    r.start()
    assert wait_for(lambda: queue_rows(r) == [], 60), (len(queue_rows(r)), r.read_log())
    counts = collections.Counter(sink.message_ids())
    assert set(counts) == {"<k%d@example.com>" % i for i in range(N)}
    # Only a message whose 250 arrived before its state was committed
    # may go twice: at most one per session open at the kill.
    dups = sum(c - 1 for c in counts.values())
    assert dups <= 4, counts.most_common(5)
    assert inbox(r, "alice@example.com") == 0
    assert r.cli("check").stdout.strip() == "clean"


def test_messages_held_by_a_hanging_mx_do_not_hide_the_rest(roost_factory, net):
    # more messages for a never-greeting MX than one scan reads (200)
    net.sink("127.0.0.5", mode="no_greeting")
    good = net.sink("127.0.0.3")
    r = sender(roost_factory, net, outbound__greeting_timeout="60s",
               outbound__max_per_domain="1")
    assert r.stop() == 0
    for i in range(230):
        sendmail(r, ["y@hang.test"], mid="hang%d" % i)
    sendmail(r, ["z@bad.test"], mid="good")
    r.start()
    assert wait_for(lambda: len(good.messages) == 1, 15), r.read_log()


def test_refusing_mx_gets_a_bounded_number_of_connections(roost_factory, net):
    r = sender(roost_factory, net, outbound__max_per_domain="4")
    assert r.stop() == 0
    for i in range(8):
        sendmail(r, ["u%d@down.test" % i], mid="dn%d" % i)
    r.start()
    time.sleep(4)
    with open(r.logfile, errors="replace") as f:
        refused = f.read().count("Connection refused")
    # retried every second at most (queue.retry_min), a few sessions each
    assert 1 <= refused < 100, refused
    assert len(queue_rows(r)) == 8
