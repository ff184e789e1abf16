"""One outbound queue, two nodes (issue 18): mail submitted on either
node is sent by exactly one of them, the node holding the queue lock, so
the remote MX gets every message once; when that node dies, the other
takes the queue over and sends what is left."""
import signal
import time

from multinode import nodes  # noqa: F401
from outbound_net import wait_for
from test_outbound import net, queue_rows, sendmail  # noqa: F401

SETTINGS = dict(queue__retry_min="1s", queue__retry_max="2s", outbound__connect_timeout="2s",
                outbound__greeting_timeout="2s", outbound__command_timeout="2s",
                outbound__data_timeout="5s", queue__delay_warning="0",
                server__hostname="mail.example.com", dns__trust_anchor="")


def senders(*ns):
    return [n for n in ns if "outbound: this node sends the queue" in open(n.logfile).read()]


def test_one_node_sends_the_queue(nodes, net):
    a, b = nodes(2, dns__resolver=net.dns.resolver, outbound__port=str(net.port), **SETTINGS)
    sink = net.sink("127.0.0.2")
    for i in range(10):
        sendmail((a, b)[i % 2], ["bob%d@remote.test" % i], mid="n%d" % i)
    assert wait_for(lambda: len(sink.messages) >= 10, 30), (a.read_log(), b.read_log())
    time.sleep(1)  # a second sender would send its copies by now
    ids = sink.message_ids()
    assert sorted(ids) == sorted("<n%d@example.com>" % i for i in range(10)), ids
    assert wait_for(lambda: queue_rows(a) == [], 10)
    assert len(senders(a, b)) == 1

    # the sender dies: the other node takes over
    (first,) = senders(a, b)
    other = b if first is a else a
    # the sender is sending "late" (the sink holds its greeting back)
    # when it dies; its idle session to the sink has ended first (a new
    # message would go through it)
    assert wait_for(lambda: sink.quits >= sink.connections, 10), first.read_log()
    sink.mode = "no_greeting"
    before = sink.connections
    sendmail(other, ["carol@remote.test"], mid="late")
    assert wait_for(lambda: sink.connections > before, 10), first.read_log()
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    sink.mode = "accept"
    assert wait_for(lambda: "<late@example.com>" in sink.message_ids(), 30), other.read_log()
    assert senders(other) == [other]
    assert sink.message_ids().count("<late@example.com>") == 1
    first.start()


def test_the_queue_is_sent_after_the_lock_connection_breaks(nodes, net):
    """The sender's node-lock connection is cut (a PostgreSQL restart of
    that backend, a network blip): the locks are taken again on a new
    connection, by it or by the other node, and the queue goes on being
    sent by exactly one of them."""
    a, b = nodes(2, dns__resolver=net.dns.resolver, outbound__port=str(net.port), **SETTINGS)
    sink = net.sink("127.0.0.2")
    sendmail(a, ["first@remote.test"], mid="first")
    assert wait_for(lambda: "<first@example.com>" in sink.message_ids(), 30)
    (sender,) = senders(a, b)
    killed = a.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                   " WHERE application_name LIKE ?", "roost-locks %%:%d" % sender.proc.pid)
    assert int(killed[0][0]) == 1, killed
    assert wait_for(lambda: "node locks: connection lost" in sender.read_log(), 15)
    for i, node in enumerate((a, b, a, b)):
        sendmail(node, ["after%d@remote.test" % i], mid="after%d" % i)
    assert wait_for(lambda: all("<after%d@example.com>" % i in sink.message_ids()
                                for i in range(4)), 30), (a.read_log(), b.read_log())
    time.sleep(1)
    ids = sink.message_ids()
    assert sorted(ids) == sorted(["<first@example.com>"] +
                                 ["<after%d@example.com>" % i for i in range(4)]), ids
