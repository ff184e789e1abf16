"""Outbound delivery over a private loopback internet (outbound_net.py):
unbound serves the test domains, Python sinks and a second `roost serve`
are the remote MXs, all on one port (outbound.port, for tests only)."""
import email
import re
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
        "v6.test. MX 10 mx.v6.test.",
        "mx.v6.test. AAAA ::1",
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


def test_real_roost_as_remote_mx(roost_factory, net, tmp_path):
    # the remote MX is a second `roost serve`, listening on 127.0.0.8
    remote = Roost(tmp_path / "remote")
    remote.cli("init")
    remote.cli("domain", "add", "roost.test")
    remote.add_user("dave@roost.test")
    remote.settings["smtp.listen"] = "127.0.0.8:%d" % net.port
    remote.start(wait_for=("imap",))
    try:
        r = sender(roost_factory, net)
        sendmail(r, ["dave@roost.test"], mid="real1")
        assert wait_for(lambda: inbox(remote, "dave@roost.test") == 1, 20), r.read_log()
        m = message(remote, "dave@roost.test", 1)
        assert m["Message-ID"] == "<real1@example.com>"
        assert m["Return-Path"] == "<alice@example.com>"
        assert wait_for(lambda: queue_rows(r) == [], 10)
        # the remote roost offers STARTTLS: used, and its result logged
        assert re.search(r"host=mx.roost.test: TLS TLSv1\.[23] .*certificate ", r.read_log())
    finally:
        assert remote.stop() in (0, None)


def test_5xx_per_recipient_bounces_with_dsn(roost_factory, net):
    sink = net.sink("127.0.0.3")
    sink.rcpt_replies["nobody@bad.test"] = "550 5.1.1 <nobody@bad.test>: no such user"
    r = sender(roost_factory, net)
    sendmail(r, ["bob@bad.test", "nobody@bad.test"], mid="b1")
    assert wait_for(lambda: len(sink.messages) == 1, 20), r.read_log()
    assert sink.messages[0][1] == ["bob@bad.test"]
    # the bounce arrives in the local sender's mailbox
    assert wait_for(lambda: inbox(r, "alice@example.com") == 1, 20), r.read_log()
    m = message(r, "alice@example.com", 1)
    assert m["Return-Path"] == "<>"
    assert m["Auto-Submitted"] == "auto-replied"
    rcpts, per_msg, parts = dsn_reports(m)
    assert per_msg["Reporting-MTA"] == "dns; mail.example.com"
    assert len(rcpts) == 1
    assert rcpts[0]["Final-Recipient"] == "rfc822; nobody@bad.test"
    assert rcpts[0]["Action"] == "failed"
    assert rcpts[0]["Status"] == "5.1.1"
    assert rcpts[0]["Remote-MTA"] == "dns; mx.bad.test"
    assert "no such user" in rcpts[0]["Diagnostic-Code"]
    # RET not given: headers only
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert wait_for(lambda: queue_rows(r) == [], 10)


def test_mx_down_then_up_is_retried(roost_factory, net):
    r = sender(roost_factory, net)
    sendmail(r, ["bob@down.test"], mid="r1")
    # connection refused: still queued, with the reason
    assert wait_for(lambda: any("refused" in row[5].lower() for row in queue_rows(r)), 15), \
        (queue_rows(r), r.read_log())
    sink = net.sink("127.0.0.4")
    assert wait_for(lambda: len(sink.messages) == 1, 20), r.read_log()
    assert wait_for(lambda: queue_rows(r) == [], 10)
    assert inbox(r, "alice@example.com") == 0  # no DSN for a delivered message


def test_4xx_is_retried(roost_factory, net):
    sink = net.sink("127.0.0.3")
    sink.tempfail_mail = 2
    r = sender(roost_factory, net)
    sendmail(r, ["bob@bad.test"], mid="t1")
    assert wait_for(lambda: len(sink.messages) == 1, 30), r.read_log()
    assert sink.tempfail_mail == 0
    assert wait_for(lambda: queue_rows(r) == [], 10)
    assert inbox(r, "alice@example.com") == 0


def test_null_mx_bounces_at_once(roost_factory, net):
    r = sender(roost_factory, net)
    sendmail(r, ["bob@nullmx.test"], mid="n1")
    assert wait_for(lambda: inbox(r, "alice@example.com") == 1, 20), r.read_log()
    rcpts, _, _ = dsn_reports(message(r, "alice@example.com", 1))
    assert rcpts[0]["Status"] == "5.1.10"
    assert rcpts[0]["Action"] == "failed"
    assert queue_rows(r) == []


def test_no_mx_falls_back_to_a(roost_factory, net):
    sink = net.sink("127.0.0.7")
    r = sender(roost_factory, net)
    sendmail(r, ["bob@nomx.test"], mid="a1")
    assert wait_for(lambda: len(sink.messages) == 1, 20), r.read_log()


def test_delay_dsn_then_still_queued(roost_factory, net):
    r = sender(roost_factory, net, queue__delay_warning="2s")
    sendmail(r, ["bob@down.test"], mid="w1")
    assert wait_for(lambda: inbox(r, "alice@example.com") == 1, 30), r.read_log()
    rcpts, _, parts = dsn_reports(message(r, "alice@example.com", 1))
    assert rcpts[0]["Action"] == "delayed"
    assert rcpts[0]["Status"].startswith("4.")
    assert "Will-Retry-Until" in rcpts[0]
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert len(queue_rows(r)) == 1
    # one delay notice only
    time.sleep(3)
    assert inbox(r, "alice@example.com") == 1


def test_null_sender_gets_no_bounce(roost_factory, net):
    sink = net.sink("127.0.0.3")
    sink.rcpt_replies["nobody@bad.test"] = "550 5.1.1 no such user"
    r = sender(roost_factory, net)
    msg = MSG.format(to="nobody@bad.test", subject="bounce", mid="z1")
    r.cli("sendmail", "-f", "", "nobody@bad.test", input=msg)
    assert wait_for(lambda: queue_rows(r) == [], 20), r.read_log()
    time.sleep(1)
    assert inbox(r, "alice@example.com") == 0


def test_hostile_mxs_do_not_stall_others(roost_factory, net):
    endless = net.sink("127.0.0.6", mode="endless")
    net.sink("127.0.0.5", mode="no_greeting")
    good = net.sink("127.0.0.3")
    r = sender(roost_factory, net)
    sendmail(r, ["x@endless.test"], mid="h1")
    sendmail(r, ["y@hang.test"], mid="h2")
    sendmail(r, ["z@bad.test"], mid="h3")
    assert wait_for(lambda: len(good.messages) == 1, 10), r.read_log()
    rows = wait_for(lambda: [row for row in queue_rows(r) if row[5] != "-"]
                    if len([row for row in queue_rows(r) if row[5] != "-"]) == 2 else None, 20)
    assert rows, (queue_rows(r), r.read_log())
    errors = sorted(row[5] for row in rows)
    assert any("too long" in e for e in errors), errors
    assert any("timeout" in e for e in errors), errors
    # the endless sender was cut off early, not read into memory
    assert endless.connections >= 1


def test_expired_message_bounces_with_4_4_7(roost_factory, net):
    r = sender(roost_factory, net, queue__max_lifetime="3s")
    sendmail(r, ["bob@down.test"], mid="e1")
    assert wait_for(lambda: inbox(r, "alice@example.com") == 1, 30), r.read_log()
    rcpts, _, _ = dsn_reports(message(r, "alice@example.com", 1))
    assert rcpts[0]["Action"] == "failed"
    assert rcpts[0]["Status"] == "4.4.7"
    assert queue_rows(r) == []


def test_stop_while_sessions_hang_keeps_the_queue(roost_factory, net):
    hang = net.sink("127.0.0.5", mode="no_greeting")
    r = sender(roost_factory, net, outbound__greeting_timeout="60s")
    sendmail(r, ["y@hang.test"], mid="s1")
    assert wait_for(lambda: hang.connections >= 1, 10)
    assert r.stop() == 0
    r.start()
    rows = queue_rows(r)
    assert len(rows) == 1 and rows[0][2] == "y@hang.test"


def test_ipv6_mx(roost_factory, net):
    sink = net.sink("::1")
    r = sender(roost_factory, net)
    sendmail(r, ["bob@v6.test"], mid="v6")
    assert wait_for(lambda: len(sink.messages) == 1, 20), r.read_log()
    assert "ip=::1" in r.read_log() or queue_rows(r) == []


def test_sendmail_t_takes_header_recipients_and_strips_bcc(roost_factory, net):
    sink = net.sink("127.0.0.3")
    r = sender(roost_factory, net)
    msg = ("From: alice@example.com\r\nTo: Bob <bob@bad.test>, alice@example.com\r\n"
           "Cc: carol@bad.test\r\nBcc: hidden@bad.test,\r\n  alice@example.com\r\n"
           "Subject: -t\r\n\r\nbody\r\n")
    r.cli("sendmail", "-t", "-f", "alice@example.com", input=msg)
    assert wait_for(lambda: len(sink.messages) == 1, 20), r.read_log()
    _, rcpts, data = sink.messages[0]
    assert sorted(rcpts) == ["bob@bad.test", "carol@bad.test", "hidden@bad.test"]
    m = email.message_from_bytes(data)
    assert m["Bcc"] is None and b"hidden" not in data
    assert m["Message-ID"] and m["Date"]  # added by sendmail
    # the local recipient got its copy through the delivery path, once
    assert inbox(r, "alice@example.com") == 1
    # unknown local user: refused, nothing queued
    p = r.cli("sendmail", "nobody@example.com", input="Subject: x\r\n\r\nx\r\n", check=False)
    assert p.returncode == 67


def test_one_connection_carries_several_messages(roost_factory, net):
    sink = net.sink("127.0.0.3")
    r = sender(roost_factory, net, outbound__max_per_domain="1")
    assert r.stop() == 0
    for i in range(5):
        sendmail(r, ["bob@bad.test"], mid="c%d" % i)
    r.start()
    assert wait_for(lambda: len(sink.messages) == 5, 20), r.read_log()
    # max_per_domain = 1: one session; after a delivered message the next
    # MAIL comes at once (RFC 5321 4.1.1.4: the server has reset)
    assert sink.connections == 1
    assert sorted(sink.message_ids()) == sorted("<c%d@example.com>" % i for i in range(5))
    verbs = [v for _, v in sink.verbs]
    assert verbs.count("MAIL") == 5 and "RSET" not in verbs, verbs


def test_rset_after_a_refused_transaction_only(roost_factory, net):
    """A transaction that ends before the final dot (every RCPT refused, so
    DATA is refused too) leaves server state behind: RSET before the next
    MAIL. The delivered ones are followed by the next MAIL directly."""
    sink = net.sink("127.0.0.3")
    sink.rcpt_replies["nobody@bad.test"] = "550 5.1.1 no such user"
    r = sender(roost_factory, net, outbound__max_per_domain="1")
    assert r.stop() == 0
    sendmail(r, ["bob@bad.test"], mid="r0")
    sendmail(r, ["nobody@bad.test"], mid="r1")
    sendmail(r, ["carol@bad.test"], mid="r2")
    r.start()
    assert wait_for(lambda: len(sink.messages) == 2, 20), r.read_log()
    assert wait_for(lambda: sink.quits == 1, 10), r.read_log()
    verbs = [v for _, v in sink.verbs]
    assert verbs.count("MAIL") == 3 and verbs.count("RSET") == 1, verbs
    # the RSET follows the refused DATA, the only DATA not followed by a body
    i = verbs.index("RSET")
    assert verbs[i - 1] == "DATA" and verbs[i - 2] == "RCPT", verbs


def test_idle_session_carries_the_next_message_then_quits(roost_factory, net):
    """A session with nothing left waits OB_IDLE_MS (2 s) for more mail to
    its destination (smtp-client.c): a message that comes meanwhile goes
    over the same connection; after the wait the session says QUIT, and
    the next message opens a new one."""
    sink = net.sink("127.0.0.3")
    r = sender(roost_factory, net)
    sendmail(r, ["bob@bad.test"], mid="i1")
    assert wait_for(lambda: len(sink.messages) == 1, 20), r.read_log()
    time.sleep(0.5)
    sendmail(r, ["carol@bad.test"], mid="i2")
    assert wait_for(lambda: len(sink.messages) == 2, 20), r.read_log()
    assert sink.connections == 1
    assert wait_for(lambda: sink.quits == 1, 10), r.read_log()
    sendmail(r, ["dave@bad.test"], mid="i3")
    assert wait_for(lambda: len(sink.messages) == 3, 20), r.read_log()
    assert sink.connections == 2


def test_dsn_parameters_passed_on_and_honoured(roost_factory, net):
    sink = net.sink("127.0.0.3")
    sink.rcpt_replies["nobody@bad.test"] = "550 5.1.1 no such user"
    r = sender(roost_factory, net)
    sendmail(r, ["bob@bad.test", "nobody@bad.test"], mid="p1",
             extra=("-N", "failure,delay", "-R", "full", "-V", "env+42"))
    assert wait_for(lambda: len(sink.messages) == 1, 20), r.read_log()
    # the peer offers DSN (RFC 3461): RET, ENVID (xtext) and NOTIFY go on
    assert "RET=FULL" in sink.messages[0][0] and "ENVID=env+2B42" in sink.messages[0][0]
    assert all("NOTIFY=FAILURE,DELAY" in c for c in sink.rcpt_cmds)
    assert wait_for(lambda: inbox(r, "alice@example.com") == 1, 20), r.read_log()
    rcpts, per_msg, parts = dsn_reports(message(r, "alice@example.com", 1))
    assert per_msg["Original-Envelope-Id"] == "env+42"
    assert parts[2].get_content_type() == "message/rfc822"  # RET=FULL
    assert b"Hello over there." in parts[2].as_bytes()
    # NOTIFY=NEVER: no bounce at all
    sendmail(r, ["nobody@bad.test"], mid="p2", extra=("-N", "never"))
    assert wait_for(lambda: queue_rows(r) == [], 20)
    time.sleep(1)
    assert inbox(r, "alice@example.com") == 1
    assert r.cli("sendmail", "-N", "sometimes", "x@bad.test", input="x", check=False).returncode == 64


def test_success_notify_to_a_peer_without_dsn_is_relayed(roost_factory, net):
    # no DSN and no PIPELINING: one command at a time, a "relayed" report
    sink = net.sink("127.0.0.3")
    sink.no_dsn = sink.no_pipelining = True
    sink.rcpt_replies["nobody@bad.test"] = "550 5.1.1 no such user"
    r = sender(roost_factory, net)
    sendmail(r, ["bob@bad.test", "nobody@bad.test"], mid="rl", extra=("-N", "success,failure"))
    assert wait_for(lambda: len(sink.messages) == 1, 20), r.read_log()
    assert "NOTIFY" not in " ".join(sink.rcpt_cmds)  # not offered: not sent
    assert wait_for(lambda: inbox(r, "alice@example.com") == 1, 20), r.read_log()
    rcpts, _, _ = dsn_reports(message(r, "alice@example.com", 1))
    actions = {b["Final-Recipient"]: (b["Action"], b["Status"]) for b in rcpts}
    assert actions == {"rfc822; bob@bad.test": ("relayed", "2.0.0"),
                       "rfc822; nobody@bad.test": ("failed", "5.1.1")}
