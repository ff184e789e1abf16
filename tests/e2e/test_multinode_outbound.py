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
    sink.mode = "hang"
    sendmail(other, ["carol@remote.test"], mid="late")
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    sink.mode = "accept"
    assert wait_for(lambda: "<late@example.com>" in sink.message_ids(), 30), other.read_log()
    assert senders(other) == [other]
    assert sink.message_ids().count("<late@example.com>") == 1
    first.start()
