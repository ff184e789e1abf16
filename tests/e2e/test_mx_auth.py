"""SPF, DKIM and DMARC of mail received on the MX (src/smtp/smtp-mxauth.c),
against a private authoritative DNS (outbound_net.py's unbound) holding
the senders' SPF, DKIM key and DMARC records. Messages are signed with
Debian's dkimpy; the results are read back from the Authentication-Results
header of the stored message."""
import base64
import imaplib
import re
import smtplib
import socket
import subprocess
import threading
import time

import dkim
import pytest

from outbound_net import Dns
from test_submission import inbox

HOST = "mx.example.com"
BOB = "bob@example.com"


def txt(name, value):
    """A TXT local-data line, the value split into 255-byte strings."""
    parts = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return "%s. TXT %s" % (name, " ".join('"%s"' % p for p in parts))


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory):
    d = tmp_path_factory.mktemp("key")
    pem = d / "k.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", str(pem)], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", str(pem), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return pem.read_bytes(), base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def ed_key(tmp_path_factory):
    """(base64 seed for dkimpy, base64 raw public key for p=) of Ed25519."""
    d = tmp_path_factory.mktemp("edkey")
    pem = d / "k.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(pem)],
                   check=True, capture_output=True)
    priv = subprocess.run(["openssl", "pkey", "-in", str(pem), "-outform", "DER"],
                          check=True, capture_output=True).stdout
    pub = subprocess.run(["openssl", "pkey", "-in", str(pem), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    # PKCS#8 and SubjectPublicKeyInfo of Ed25519 end in the raw 32 bytes
    return base64.b64encode(priv[-32:]), base64.b64encode(pub[-32:]).decode()


def chain_record():
    # 11 DNS-querying terms: one too many (RFC 7208 4.6.4)
    return "v=spf1 " + " ".join("a:h%d.chain.test" % i for i in range(11)) + " -all"


@pytest.fixture
def net(tmp_path, rsa_key, ed_key):
    _, pub = rsa_key
    recs = [
        txt("pass.test", "v=spf1 ip4:127.0.0.0/8 -all"),
        txt("fail.test", "v=spf1 -all"),
        txt("soft.test", "v=spf1 ~all"),
        txt("loop1.test", "v=spf1 include:loop2.test -all"),
        txt("loop2.test", "v=spf1 include:loop1.test -all"),
        txt("chain.test", chain_record()),
        txt("huge.test", "v=spf1 " + " ".join("ip4:10.%d.%d.1" % (i // 250, i % 250)
                                              for i in range(1500)) + " -all"),
        txt("signed.test", "v=spf1 -all"),
        txt("sel._domainkey.signed.test", "v=DKIM1; k=rsa; p=" + pub),
        txt("_dmarc.signed.test", "v=DMARC1; p=reject"),
        txt("ed._domainkey.signed.test", "v=DKIM1; k=ed25519; p=" + ed_key[1]),
        txt("reject.test", "v=spf1 -all"),
        txt("_dmarc.reject.test", "v=DMARC1; p=reject"),
        txt("quar.test", "v=spf1 -all"),
        txt("_dmarc.quar.test", "v=DMARC1; p=quarantine"),
    ]
    recs += ["h%d.chain.test. A 10.9.9.9" % i for i in range(11)]
    dns = Dns(tmp_path / "dns", recs)
    yield dns
    dns.stop()


@pytest.fixture
def mx(roost_factory, net):
    r = roost_factory(smtp__authenticate="yes", dns__resolver=net.resolver,
                      dns__trust_anchor="", server__hostname=HOST,
                      smtp__auth_check_timeout="5s")
    r.add_user(BOB)
    return r


def message(sender, subject, extra=""):
    return ("%sFrom: Sender <%s>\r\nTo: %s\r\nSubject: %s\r\n"
            "Date: Wed, 02 Dec 2026 20:00:00 +0000\r\n"
            "Message-ID: <%s@x.test>\r\n\r\nHello there.\r\n"
            % (extra, sender, BOB, subject, subject.replace(" ", "."))).encode()


def send(roost, mail_from, data, helo="client.test"):
    """(code, text) of the end of DATA."""
    s = smtplib.SMTP("127.0.0.1", roost.port("smtp"), local_hostname=helo, timeout=30)
    try:
        s.ehlo()
        s.mail(mail_from)
        code, _ = s.rcpt(BOB)
        assert code == 250
        code, text = s.data(data)
        return code, text
    finally:
        try:
            s.quit()
        except smtplib.SMTPServerDisconnected:
            pass


def auth_results(raw):
    """The unfolded Authentication-Results fields of a stored message."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    head = re.sub(r"\r\n[ \t]+", " ", head)
    return [l.split(":", 1)[1].strip() for l in head.split("\r\n")
            if l.lower().startswith("authentication-results:")]


def last(roost):
    n, raws = inbox(roost, BOB)
    assert n >= 1
    return raws[-1]


def result(ar, method):
    m = re.search(r"\b%s=(\w+)" % method, ar)
    return m.group(1) if m else None


@pytest.mark.parametrize("domain,want", [
    ("pass.test", "pass"), ("fail.test", "fail"), ("soft.test", "softfail"),
    ("nothing.test", "none"), ("loop1.test", "permerror"), ("chain.test", "permerror"),
    ("huge.test", "permerror"),
])
def test_spf_results(mx, domain, want):
    t0 = time.time()
    code, _ = send(mx, "alice@" + domain, message("alice@" + domain, "spf " + domain))
    assert code == 250
    assert time.time() - t0 < 5, "the check must not wait for the timeout"
    ars = auth_results(last(mx))
    assert len(ars) == 1 and ars[0].startswith(HOST + ";"), ars
    assert result(ars[0], "spf") == want, ars
    assert "smtp.mailfrom=alice@" + domain in ars[0]
    reason = {"loop1.test": "DNS lookups", "chain.test": "DNS lookups",
              "huge.test": "terms"}.get(domain)
    assert reason is None or reason in ars[0], ars


def test_null_sender_checks_helo(mx):
    code, _ = send(mx, "", message("x@nothing.test", "bounce"), helo="pass.test")
    assert code == 250
    ar = auth_results(last(mx))[0]
    assert result(ar, "spf") == "pass" and "smtp.helo=pass.test" in ar, ar


def sign(rsa_key, data, selector=b"sel", domain=b"signed.test"):
    pem, _ = rsa_key
    sig = dkim.sign(data, selector, domain, pem, include_headers=[b"from", b"to", b"subject"])
    return sig + data


def test_dkim_pass_aligns_dmarc(mx, rsa_key):
    data = sign(rsa_key, message("alice@signed.test", "signed"))
    # SPF fails (signed.test says -all) but the aligned signature passes DMARC
    code, _ = send(mx, "alice@signed.test", data)
    assert code == 250
    ar = auth_results(last(mx))[0]
    assert result(ar, "dkim") == "pass", ar
    assert "header.d=signed.test" in ar and "header.s=sel" in ar
    assert result(ar, "spf") == "fail"
    assert result(ar, "dmarc") == "pass", ar
    assert "header.from=signed.test" in ar


def test_dkim_broken_by_changed_body_rejected(mx, rsa_key):
    data = sign(rsa_key, message("alice@signed.test", "tampered"))
    data = data.replace(b"Hello there.", b"Hello thief.")
    code, text = send(mx, "alice@signed.test", data)
    # DKIM fails, SPF fails: signed.test's p=reject is enforced
    assert code == 550 and b"5.7.1" in text and b"DMARC" in text, text
    n, _ = inbox(mx, BOB)
    assert n == 0


def test_dkim_broken_report_only_delivered(roost_factory, net, rsa_key):
    r = roost_factory(smtp__authenticate="yes", dns__resolver=net.resolver,
                      dns__trust_anchor="", server__hostname=HOST,
                      smtp__dmarc_policy="report-only")
    r.add_user(BOB)
    data = sign(rsa_key, message("alice@signed.test", "tampered"))
    data = data.replace(b"Hello there.", b"Hello thief.")
    code, _ = send(r, "alice@signed.test", data)
    assert code == 250
    ar = auth_results(last(r))[0]
    assert result(ar, "dkim") == "fail" and "body hash" in ar, ar
    assert result(ar, "dmarc") == "fail"


def test_dmarc_reject_enforced(mx):
    code, text = send(mx, "alice@reject.test", message("alice@reject.test", "forged"))
    assert code == 550 and text.startswith(b"5.7.1"), text
    # the session goes on: the next message is judged on its own
    code, _ = send(mx, "alice@pass.test", message("alice@pass.test", "fine"))
    assert code == 250


def test_dmarc_reject_of_from_domain_not_envelope(mx):
    # envelope passes SPF, but From: names reject.test: not aligned
    code, _ = send(mx, "alice@pass.test", message("ceo@reject.test", "phish"))
    assert code == 550


def test_dmarc_quarantine_goes_to_junk(mx):
    code, _ = send(mx, "alice@quar.test", message("alice@quar.test", "suspect"))
    assert code == 250
    n, _ = inbox(mx, BOB)
    assert n == 0
    n, raws = inbox(mx, BOB, mailbox="Junk")
    assert n == 1
    ar = auth_results(raws[0])[0]
    assert result(ar, "dmarc") == "fail" and "quarantined" in ar, ar


def test_forged_auth_results_removed(mx):
    forged = ("Authentication-Results: %s; spf=pass; dkim=pass; dmarc=pass\r\n"
              "Authentication-Results: (sneaky) MX.EXAMPLE.COM;\r\n dkim=pass\r\n"
              "Authentication-Results: other.test; spf=pass\r\n" % HOST)
    code, _ = send(mx, "alice@fail.test", message("alice@fail.test", "forged ar", forged))
    assert code == 250
    raw = last(mx)
    ars = auth_results(raw)
    ours = [a for a in ars if a.lower().startswith(HOST)]
    assert len(ours) == 1, ars
    assert result(ours[0], "spf") == "fail"
    assert "other.test; spf=pass" in ars  # someone else's stays


@pytest.fixture
def blackhole():
    """A DNS server that reads queries and never answers (UDP and TCP)."""
    from conftest import free_port
    port = free_port()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", port))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", port))
    t.listen(64)
    yield "127.0.0.1@%d" % port
    u.close()
    t.close()


def test_dns_timeout_is_temperror_and_accepted(roost_factory, blackhole):
    r = roost_factory(smtp__authenticate="yes", dns__resolver=blackhole,
                      dns__trust_anchor="", server__hostname=HOST,
                      smtp__auth_check_timeout="2s")
    r.add_user(BOB)
    t0 = time.time()
    code, _ = send(r, "alice@pass.test", message("alice@reject.test", "dns down"))
    took = time.time() - t0
    assert code == 250
    assert 1.5 < took < 8, took  # waited for the deadline, not longer
    ar = auth_results(last(r))[0]
    assert result(ar, "spf") == "temperror", ar
    assert result(ar, "dmarc") == "temperror", ar


def test_slow_dns_holds_no_login_or_search(roost_factory, blackhole):
    r = roost_factory(smtp__authenticate="yes", dns__resolver=blackhole,
                      dns__trust_anchor="", server__hostname=HOST,
                      smtp__auth_check_timeout="8s")
    r.add_user(BOB)
    codes = []
    senders = [threading.Thread(target=lambda i=i: codes.append(
        send(r, "a%d@pass.test" % i, message("a%d@pass.test" % i, "slow %d" % i))[0]))
        for i in range(6)]
    for th in senders:
        th.start()
    time.sleep(0.5)  # every check is now waiting on DNS
    t0 = time.time()
    m = imaplib.IMAP4("127.0.0.1", r.port("imap"))
    m.login(BOB, "secret")
    m.select("INBOX")
    typ, _ = m.search(None, "TEXT", "hello")
    m.logout()
    assert typ == "OK"
    # well below the 8 s the checks wait (a login under ASan on a loaded
    # machine takes a while by itself)
    assert time.time() - t0 < 5, "IMAP waited for the mail checks"
    for th in senders:
        th.join(30)
    assert codes == [250] * 6


def test_lmtp_not_checked_by_default(mx):
    s = smtplib.LMTP("127.0.0.1", mx.port("lmtp"), timeout=30)
    s.ehlo()
    s.mail("alice@reject.test")
    s.rcpt(BOB)
    code, _ = s.data(message("alice@reject.test", "via lmtp"))
    s.quit()
    assert code == 250
    assert auth_results(last(mx)) == []


def test_dkim_ed25519_and_rsa_from_dkimpy(mx, rsa_key, ed_key):
    data = message("alice@signed.test", "two signatures")
    # dkimpy signs with Ed25519 (RFC 8463) on top of an RSA signature
    data = sign(rsa_key, data)
    ed = dkim.sign(data, b"ed", b"signed.test", ed_key[0],
                   signature_algorithm=b"ed25519-sha256", include_headers=[b"from", b"subject"])
    code, _ = send(mx, "alice@signed.test", ed + data)
    assert code == 250
    ar = auth_results(last(mx))[0]
    assert re.findall(r"dkim=(\w+)", ar) == ["pass", "pass"], ar
    assert "header.s=ed" in ar and "header.s=sel" in ar
    assert result(ar, "dmarc") == "pass"


def test_lmtp_checked_when_asked(roost_factory, net):
    r = roost_factory(lmtp__authenticate="yes", dns__resolver=net.resolver,
                      dns__trust_anchor="", server__hostname=HOST)
    r.add_user(BOB)
    s = smtplib.LMTP("127.0.0.1", r.port("lmtp"), timeout=30)
    s.ehlo()
    s.mail("alice@fail.test")
    s.rcpt(BOB)
    code, _ = s.data(message("alice@fail.test", "via lmtp"))
    s.quit()
    assert code == 250
    ars = auth_results(last(r))
    assert len(ars) == 1 and result(ars[0], "spf") == "fail", ars


def test_results_counted_in_metrics(mx):
    from http_util import fetch
    send(mx, "alice@pass.test", message("alice@pass.test", "counted"))
    send(mx, "alice@fail.test", message("alice@fail.test", "counted too"))
    status, _, body = fetch(mx, "/metrics")
    assert status == 200
    text = body.decode()
    assert 'roost_mx_auth_total{method="spf",result="pass"} 1\n' in text, text
    assert 'roost_mx_auth_total{method="spf",result="fail"} 1\n' in text, text
    assert 'roost_mx_auth_total{method="dkim",result="none"} 2\n' in text, text
