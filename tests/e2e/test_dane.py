"""DANE for SMTP (RFC 7672) on outbound delivery, over a DNSSEC-signed
private zone (dnssec_net.py) that Roost validates with its key as trust
anchor. A host with a secure TLSA RRset gets mail only over STARTTLS
with a certificate the records match: DANE-EE (3 1 1) pins a self-signed
certificate no CA vouches for, DANE-TA (2 0 1) a private CA; a mismatch
or a host without STARTTLS is not used (the message waits); a host
without TLSA records still gets opportunistic delivery; REQUIRETLS is
met by DANE with no MTA-STS policy."""
import hashlib
import ssl
import subprocess
import time

import pytest

from conftest import free_port
from dnssec_net import SignedDns
from outbound_net import Sink, wait_for
from test_mta_sts import full_log, queue_rows, sender as mta_sts_sender
from test_requiretls import submit
from tls_net import CA

MSG = ("From: alice@example.com\r\nTo: {to}\r\nSubject: dane\r\n"
       "Message-ID: <{mid}@example.com>\r\n\r\nHello.\r\n")


def der(cert_pem, pubkey=False):
    """The DER form of a certificate, or of its SubjectPublicKeyInfo."""
    if pubkey:
        pem = subprocess.run(["openssl", "x509", "-in", cert_pem, "-pubkey", "-noout"],
                             check=True, capture_output=True).stdout
        return subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem,
                              check=True, capture_output=True).stdout
    return subprocess.run(["openssl", "x509", "-in", cert_pem, "-outform", "DER"],
                          check=True, capture_output=True).stdout


def context(crt, key, chain=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if chain:
        full = crt + ".chain"
        with open(full, "w") as f:
            f.write(open(crt).read() + open(chain).read())
        crt = full
    ctx.load_cert_chain(crt, key)
    return ctx


@pytest.fixture
def net(tmp_path):
    port = free_port()
    ca = CA(tmp_path / "ca")
    ee_crt, ee_key = ca.cert_for("mx.dane.test", self_signed=True)
    ta_crt, ta_key = ca.cert_for("mx.ta.test")
    ee = hashlib.sha256(der(ee_crt, pubkey=True)).hexdigest()
    ta = hashlib.sha256(der(ca.cert)).hexdigest()
    hosts = {"dane": "127.0.0.51", "wrong": "127.0.0.52", "notls": "127.0.0.53",
             "ta": "127.0.0.54", "plain": "127.0.0.55", "helo": "127.0.0.56"}
    records = []
    for name, ip in hosts.items():
        records += ["%s.test. IN MX 10 mx.%s.test." % (name, name),
                    "mx.%s.test. IN A %s" % (name, ip)]
    tlsa = "_%d._tcp.mx.%%s.test. IN TLSA %%s" % port
    records += [tlsa % ("dane", "3 1 1 " + ee), tlsa % ("notls", "3 1 1 " + ee),
                tlsa % ("helo", "3 1 1 " + ee),
                tlsa % ("wrong", "3 1 1 " + "00" * 32), tlsa % ("ta", "2 0 1 " + ta)]
    dns = SignedDns(tmp_path / "dns", records)
    sinks = []

    class Net:
        pass

    n = Net()
    n.port, n.dns, n.ca = port, dns, ca

    def sink(name, ctx=None):
        s = Sink(hosts[name], port)
        s.tls_context = ctx
        s.start()
        sinks.append(s)
        return s

    n.sink = sink
    n.ee_ctx = lambda: context(ee_crt, ee_key)
    n.ta_ctx = lambda: context(ta_crt, ta_key, chain=ca.cert)
    yield n
    for s in sinks:
        s.stop()
    dns.stop()


def sender(roost_factory, net):
    return mta_sts_sender(roost_factory, net, dns__trust_anchor=net.dns.anchor,
                          outbound__mta_sts="no")


def sendmail(r, to, mid):
    r.cli("sendmail", "-f", "alice@example.com", to, input=MSG.format(to=to, mid=mid))


def test_dane_ee_pins_a_self_signed_certificate(roost_factory, net):
    sink = net.sink("dane", net.ee_ctx())
    r = sender(roost_factory, net)
    sendmail(r, "bob@dane.test", "d1")
    assert wait_for(lambda: len(sink.messages) == 1, 20), full_log(r)
    assert sink.tls_used == [True]
    assert ("host=mx.dane.test: DANE: the certificate matches a DANE-EE TLSA record"
            in full_log(r))


def test_dane_ta_checks_chain_and_name(roost_factory, net):
    sink = net.sink("ta", net.ta_ctx())
    r = sender(roost_factory, net)
    sendmail(r, "bob@ta.test", "t1")
    assert wait_for(lambda: len(sink.messages) == 1, 20), full_log(r)
    assert ("host=mx.ta.test: DANE: the certificate matches a DANE-TA TLSA record"
            in full_log(r))


@pytest.mark.parametrize("name,tls,why", [
    ("wrong", True, "DANE: the certificate of mx.wrong.test matches no TLSA record"),
    ("notls", False, "DANE: mx.notls.test publishes TLSA records but does not offer STARTTLS"),
    ("helo", False, "DANE: the host answers HELO only (no STARTTLS)"),
])
def test_host_that_fails_its_tlsa_is_not_used(roost_factory, net, name, tls, why):
    sink = net.sink(name, net.ee_ctx() if tls else None)
    sink.ehlo_refused = name == "helo"
    r = sender(roost_factory, net)
    sendmail(r, "bob@%s.test" % name, name)
    assert wait_for(lambda: any(why in row[5] for row in queue_rows(r)), 20), full_log(r)
    assert sink.messages == []


def test_no_tlsa_stays_opportunistic(roost_factory, net):
    sink = net.sink("plain")
    r = sender(roost_factory, net)
    sendmail(r, "bob@plain.test", "p1")
    assert wait_for(lambda: len(sink.messages) == 1, 20), full_log(r)
    assert sink.tls_used == [False]
    assert "DANE" not in full_log(r)


def test_requiretls_met_by_dane(roost_factory, net):
    """No MTA-STS policy: the secure MX answer and the TLSA match are what
    REQUIRETLS asks for."""
    sink = net.sink("dane", net.ee_ctx())
    sink.requiretls = True
    r = sender(roost_factory, net)
    submit(r, "bob@dane.test", "rq1")
    assert wait_for(lambda: len(sink.messages) == 1, 20), full_log(r)
    assert " REQUIRETLS" in sink.messages[0][0]


def test_tls_required_no_ignores_failing_tlsa(roost_factory, net):
    """RFC 8689 5: a message that says "TLS-Required: No" goes to the host
    whose certificate matches none of its TLSA records (opportunistic
    STARTTLS); the one beside it without the field waits."""
    sink = net.sink("wrong", net.ee_ctx())
    r = sender(roost_factory, net)
    sendmail(r, "bob@wrong.test", "kept")
    r.cli("sendmail", "-f", "alice@example.com", "carol@wrong.test",
          input="TLS-Required: No\r\n" + MSG.format(to="carol@wrong.test", mid="optional"))
    assert wait_for(lambda: len(sink.messages) == 1, 20), full_log(r)
    time.sleep(2)
    assert sink.message_ids() == ["<optional@example.com>"]
    assert sink.tls_used == [True]
    rows = queue_rows(r)
    assert len(rows) == 1 and "matches no TLSA record" in rows[0][5], rows
