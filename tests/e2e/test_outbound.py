"""Outbound delivery over a private loopback internet (outbound_net.py):
unbound serves the test domains, Python sinks and a second `roost serve`
are the remote MXs, all on one port (outbound.port, for tests only)."""
import email
import os
import signal
import time

import pytest

from conftest import Roost, free_port
from outbound_net import Dns, Sink, wait_for

MSG = ("From: alice@example.com\r\nTo: {to}\r\nSubject: {subject}\r\n"
       "Message-ID: <{mid}@example.com>\r\n\r\nHello over there.\r\n.leading dot\r\n")


@pytest.fixture
def net(tmp_path):
    port = free_port()
    records = [
        "remote.test. MX 10 mx.remote.test.",
        "mx.remote.test. A 127.0.0.2",
        "bad.test. MX 10 mx.bad.test.",
        "mx.bad.test. A 127.0.0.3",
        "down.test. MX 10 mx.down.test.",
        "mx.down.test. A 127.0.0.4",
        "hang.test. MX 10 mx.hang.test.",
        "mx.hang.test. A 127.0.0.5",
        "endless.test. MX 10 mx.endless.test.",
        "mx.endless.test. A 127.0.0.6",
        "nomx.test. A 127.0.0.7",
        "nullmx.test. MX 0 .",
        "roost.test. MX 10 mx.roost.test.",
        "mx.roost.test. A 127.0.0.8",
    ]
    dns = Dns(tmp_path / "dns", records)
    sinks = []

    class Net:
        pass

    n = Net()
    n.port = port
    n.dns = dns

    def sink(ip, mode="accept"):
        s = Sink(ip, port, mode).start()
        sinks.append(s)
        return s

    n.sink = sink
    yield n
    for s in sinks:
        s.stop()
    dns.stop()


def sender(roost_factory, net, **extra):
    settings = dict(dns__resolver=net.dns.resolver, dns__trust_anchor="",
                    outbound__port=str(net.port), queue__retry_min="1s",
                    queue__retry_max="2s", outbound__connect_timeout="2s",
                    outbound__greeting_timeout="2s", outbound__command_timeout="2s",
                    outbound__data_timeout="5s", queue__delay_warning="0",
                    server__hostname="mail.example.com")
    settings.update(extra)
    return roost_factory(**settings)


def sendmail(r, to, subject="test", mid="m1", sender="alice@example.com", extra=()):
    msg = MSG.format(to=", ".join(to), subject=subject, mid=mid)
    return r.cli("sendmail", "-f", sender, *extra, *to, input=msg)


def queue_rows(r):
    return [l.split("\t") for l in r.cli("queue", "list").stdout.splitlines()]


def inbox(r, address):
    out = {}
    for line in r.cli("mailbox", "list", address).stdout.splitlines():
        name, count = line.split("\t")[:2]
        out[name] = int(count)
    return out.get("INBOX", 0)


def message(r, address, uid):
    return email.message_from_bytes(
        r.cli("message", "get", address, "INBOX", str(uid), binary=True).stdout)


def dsn_reports(msg):
    """[(per-recipient fields dict)] of an RFC 3464 report."""
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    status = [p for p in parts if p.get_content_type() == "message/delivery-status"]
    assert len(status) == 1
    blocks = status[0].get_payload()
    return [dict(b.items()) for b in blocks[1:]], dict(blocks[0].items()), parts


def test_delivered_to_sink_with_pipelining(roost_factory, net):
    sink = net.sink("127.0.0.3")
    r = sender(roost_factory, net)
    out = sendmail(r, ["bob@bad.test", "carol@bad.test"], mid="d1")
    assert "queued as" in out.stdout
    assert wait_for(lambda: len(sink.messages) == 1, 20), r.read_log()
    mail, rcpts, data = sink.messages[0]
    assert mail.startswith("<alice@example.com>")
    assert sorted(rcpts) == ["bob@bad.test", "carol@bad.test"]
    m = email.message_from_bytes(data)
    assert m["Message-ID"] == "<d1@example.com>"
    # dot-stuffing round trip
    assert b"\r\n.leading dot\r\n" in data
    assert wait_for(lambda: queue_rows(r) == [], 10)
