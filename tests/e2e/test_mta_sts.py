"""MTA-STS (RFC 8461) on outbound delivery, over the private loopback
internet (outbound_net.py) plus a test CA and an HTTPS policy host on
127.0.0.131:443 (tls_net.py): enforce sends only to the policy's MX hosts,
over STARTTLS with a certificate valid for the MX name, else defers;
testing delivers and logs; a hostile policy host (10 MB, slow) is cut off
and delivery goes on as without a policy."""
import os
import smtplib
import ssl
import time

import pytest

from conftest import free_port
from outbound_net import Dns, Sink, wait_for
from tls_net import PolicyHost, CA, policy

POLICY_IP = "127.0.0.131"
MSG = ("From: alice@example.com\r\nTo: {to}\r\nSubject: sts\r\n"
       "Message-ID: <{mid}@example.com>\r\n\r\nHello.\r\n")

DOMAINS = {
    # domain: [(pref, mx host, ip)]
    "enf.test": [(10, "mx.enf.test", "127.0.0.41")],
    "two.test": [(10, "rogue.two.test", "127.0.0.42"), (20, "mx.two.test", "127.0.0.43")],
    "out.test": [(10, "mx.out.test", "127.0.0.44")],
    "badcert.test": [(10, "mx.badcert.test", "127.0.0.45")],
    "plain.test": [(10, "mx.plain.test", "127.0.0.46")],
    "testing.test": [(10, "mx.testing.test", "127.0.0.47")],
    "huge.test": [(10, "mx.huge.test", "127.0.0.48")],
    "slow.test": [(10, "mx.slow.test", "127.0.0.49")],
}


@pytest.fixture
def net(tmp_path):
    port = free_port()
    records = []
    for dom, mxs in DOMAINS.items():
        for pref, host, ip in mxs:
            records += ["%s. MX %d %s." % (dom, pref, host), "%s. A %s" % (host, ip)]
        records += ['_mta-sts.%s. TXT "v=STSv1; id=%s1;"' % (dom, dom.split(".")[0]),
                    "mta-sts.%s. A %s" % (dom, POLICY_IP)]
    dns = Dns(tmp_path / "dns", records)
    ca = CA(tmp_path / "ca")
    host = PolicyHost(ca, POLICY_IP, ["mta-sts." + d for d in DOMAINS])
    sinks = []

    class Net:
        pass

    n = Net()
    n.port, n.dns, n.ca, n.host = port, dns, ca, host

    def sink(ip, tls_names=None, self_signed=False):
        s = Sink(ip, port)
        if tls_names:
            s.tls_context = ca.server_context(*tls_names, self_signed=self_signed)
        s.start()
        sinks.append(s)
        return s

    n.sink = sink
    yield n
    for s in sinks:
        s.stop()
    host.stop()
    dns.stop()


def sender(roost_factory, net, **extra):
    settings = dict(dns__resolver=net.dns.resolver, dns__trust_anchor="",
                    outbound__port=str(net.port), queue__retry_min="1s",
                    queue__retry_max="2s", outbound__connect_timeout="2s",
                    outbound__greeting_timeout="2s", outbound__command_timeout="2s",
                    outbound__data_timeout="5s", queue__delay_warning="0",
                    server__hostname="mail.example.com",
                    outbound__tls_ca_file=net.ca.cert, outbound__mta_sts_timeout="5s")
    settings.update(extra)
    return roost_factory(**settings)


def sendmail(r, to, mid):
    return r.cli("sendmail", "-f", "alice@example.com", to,
                 input=MSG.format(to=to, mid=mid))


def queue_rows(r):
    return [l.split("\t") for l in r.cli("queue", "list").stdout.splitlines()]


def full_log(r):
    with open(r.logfile, "rb") as f:
        return f.read().decode(errors="replace")


def test_enforce_matching_mx_delivers_over_verified_tls(roost_factory, net):
    net.host.policies["mta-sts.enf.test"] = ("text", policy("enforce", "mx.enf.test"))
    sink = net.sink("127.0.0.41", ["mx.enf.test"])
    r = sender(roost_factory, net)
    sendmail(r, "bob@enf.test", "e1")
    assert wait_for(lambda: len(sink.messages) == 1, 20), full_log(r)
    assert sink.tls_used == [True]
    log = full_log(r)
    assert "mta-sts: enf.test: policy id=enf1 mode=enforce max_age=86400 mx=mx.enf.test" in log
    assert "host=mx.enf.test: TLS" in log and "certificate verified" in log
    assert net.host.requests == [("mta-sts.enf.test", "/.well-known/mta-sts.txt")]
    assert wait_for(lambda: queue_rows(r) == [], 10)
    # the policy is cached, in memory and on disk: the same TXT id means
    # no second fetch
    sendmail(r, "carol@enf.test", "e2")
    assert wait_for(lambda: len(sink.messages) == 2, 20), full_log(r)
    assert len(net.host.requests) == 1
    with open(os.path.join(r.datadir, "mta-sts-cache")) as f:
        line = [l for l in f.read().splitlines() if l.startswith("enf.test\t")]
    assert len(line) == 1 and line[0].split("\t")[1:4] == ["enf1", "enforce", "86400"]


def test_cached_policy_survives_restart_and_a_stripped_policy_host(roost_factory, net):
    net.host.policies["mta-sts.enf.test"] = ("text", policy("enforce", "mx.enf.test"))
    sink = net.sink("127.0.0.41", ["mx.enf.test"])
    r = sender(roost_factory, net)
    sendmail(r, "bob@enf.test", "c1")
    assert wait_for(lambda: len(sink.messages) == 1, 20), full_log(r)
    r.stop()
    # an attacker strips TLS from the MX and the policy from its host
    sink.stop()
    del net.host.policies["mta-sts.enf.test"]
    plain = net.sink("127.0.0.41")
    r.start()
    sendmail(r, "bob@enf.test", "c2")
    assert wait_for(lambda: any("STARTTLS not offered" in row[5] for row in queue_rows(r)),
                    20), (queue_rows(r), full_log(r))
    assert plain.messages == []
    assert "cached policies read from" in full_log(r)


def test_enforce_skips_mx_outside_policy(roost_factory, net):
    net.host.policies["mta-sts.two.test"] = ("text", policy("enforce", "mx.two.test"))
    rogue = net.sink("127.0.0.42", ["rogue.two.test"])
    good = net.sink("127.0.0.43", ["mx.two.test"])
    r = sender(roost_factory, net)
    sendmail(r, "bob@two.test", "t1")
    assert wait_for(lambda: len(good.messages) == 1, 20), full_log(r)
    assert rogue.connections == 0 and rogue.messages == []
    assert "MX host rogue.two.test is not in the policy: not used" in full_log(r)


def test_enforce_no_mx_in_policy_defers(roost_factory, net):
    net.host.policies["mta-sts.out.test"] = ("text", policy("enforce", "*.elsewhere.test"))
    sink = net.sink("127.0.0.44", ["mx.out.test"])
    r = sender(roost_factory, net)
    sendmail(r, "bob@out.test", "o1")
    assert wait_for(lambda: any("no MX host matches the policy" in row[5]
                                for row in queue_rows(r)), 20), (queue_rows(r), full_log(r))
    time.sleep(2)
    assert sink.connections == 0
    assert len(queue_rows(r)) == 1  # deferred, not bounced


def test_enforce_bad_certificate_defers(roost_factory, net):
    net.host.policies["mta-sts.badcert.test"] = ("text", policy("enforce", "mx.badcert.test"))
    sink = net.sink("127.0.0.45", ["wrong.test"])  # signed by the CA, other name
    r = sender(roost_factory, net)
    sendmail(r, "bob@badcert.test", "b1")
    assert wait_for(lambda: any("certificate is not valid for mx.badcert.test" in row[5]
                                for row in queue_rows(r)), 20), (queue_rows(r), full_log(r))
    assert sink.messages == []
    assert "MTA-STS policy of badcert.test (enforce)" in full_log(r)


@pytest.mark.parametrize("helo_only", [False, True])
def test_enforce_without_starttls_defers(roost_factory, net, helo_only):
    """No STARTTLS in the EHLO reply, or no EHLO at all (an old server the
    client falls back to HELO with): enforce sends nothing there."""
    net.host.policies["mta-sts.plain.test"] = ("text", policy("enforce", "mx.plain.test"))
    sink = net.sink("127.0.0.46")
    sink.ehlo_refused = helo_only
    r = sender(roost_factory, net)
    sendmail(r, "bob@plain.test", "p1")
    why = "STARTTLS not offered (HELO only)" if helo_only else "STARTTLS not offered"
    assert wait_for(lambda: any(why in row[5] for row in queue_rows(r)),
                    20), (queue_rows(r), full_log(r))
    assert sink.messages == []


def send_tls_optional(r, to, mid):
    """A message that says "TLS-Required: No" (RFC 8689 5)."""
    return r.cli("sendmail", "-f", "alice@example.com", to,
                 input="TLS-Required: No\r\n" + MSG.format(to=to, mid=mid))


@pytest.mark.parametrize("domain,ip,names", [
    ("badcert.test", "127.0.0.45", ["wrong.test"]),  # a certificate for another name
    ("plain.test", "127.0.0.46", None),              # no STARTTLS at all
])
def test_tls_required_no_ignores_an_enforce_policy(roost_factory, net, domain, ip, names):
    """RFC 8689 5: a message that says "TLS-Required: No" is delivered
    where the enforce policy holds every other message back; the policy
    still holds the message sent beside it without the field."""
    net.host.policies["mta-sts." + domain] = ("text", policy("enforce", "mx." + domain))
    sink = net.sink(ip, names)
    r = sender(roost_factory, net)
    sendmail(r, "bob@" + domain, "kept")
    send_tls_optional(r, "carol@" + domain, "optional")
    assert wait_for(lambda: len(sink.messages) == 1, 20), full_log(r)
    time.sleep(2)
    assert sink.message_ids() == ["<optional@example.com>"]
    assert sink.tls_used == [names is not None]  # opportunistic STARTTLS still
    rows = queue_rows(r)
    assert len(rows) == 1 and "MTA-STS policy of %s (enforce)" % domain in rows[0][5], rows
    assert "a message says TLS-Required: No" in full_log(r)


def test_tls_required_no_loses_to_requiretls(roost_factory, net):
    """RFC 8689 5: with REQUIRETLS on MAIL FROM the field is ignored: the
    message waits for validated TLS like any REQUIRETLS message."""
    net.host.policies["mta-sts.plain.test"] = ("text", policy("enforce", "mx.plain.test"))
    sink = net.sink("127.0.0.46")
    r = sender(roost_factory, net)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", r.port("submission"), timeout=20) as c:
        c.starttls(context=ctx)
        c.login("alice@example.com", "secret")
        c.sendmail("alice@example.com", ["bob@plain.test"],
                   "TLS-Required: No\r\n" + MSG.format(to="bob@plain.test", mid="both"),
                   mail_options=["REQUIRETLS"])
    assert wait_for(lambda: sink.connections > 0, 20), full_log(r)
    time.sleep(3)
    assert sink.messages == []
    assert "a message says TLS-Required: No" not in full_log(r)


def test_testing_mode_delivers_and_logs(roost_factory, net):
    net.host.policies["mta-sts.testing.test"] = ("text", policy("testing", "mx.testing.test"))
    sink = net.sink("127.0.0.47", ["mx.testing.test"], self_signed=True)
    r = sender(roost_factory, net)
    sendmail(r, "bob@testing.test", "s1")
    assert wait_for(lambda: len(sink.messages) == 1, 20), full_log(r)
    assert sink.tls_used == [True]
    log = full_log(r)
    assert "mode=testing" in log
    assert "MTA-STS policy of testing.test (testing) not met: the certificate" in log


def test_huge_policy_is_cut_off(roost_factory, net):
    net.host.policies["mta-sts.huge.test"] = ("huge", 10 * 1024 * 1024)
    sink = net.sink("127.0.0.48")
    r = sender(roost_factory, net)
    sendmail(r, "bob@huge.test", "h1")
    # no policy: delivered (without TLS, as before)
    assert wait_for(lambda: len(sink.messages) == 1, 30), full_log(r)
    log = full_log(r)
    assert "mta-sts: huge.test: https://mta-sts.huge.test/.well-known/mta-sts.txt: " \
           "response larger than" in log
    assert "no policy applies" in log
    assert wait_for(lambda: net.host.huge_cut, 10)
    assert net.host.huge_sent < 10 * 1024 * 1024


def test_slow_policy_host_times_out(roost_factory, net):
    net.host.policies["mta-sts.slow.test"] = ("slow", 30)
    sink = net.sink("127.0.0.49")
    r = sender(roost_factory, net, outbound__mta_sts_timeout="2s")
    t0 = time.time()
    sendmail(r, "bob@slow.test", "w1")
    assert wait_for(lambda: len(sink.messages) == 1, 20), full_log(r)
    assert time.time() - t0 < 15
    assert "timed out reading the policy" in full_log(r)
