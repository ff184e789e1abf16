"""DKIM signing (RFC 6376, RFC 8463) checked by an independent verifier.

Keys come from `roost domain dkim example.com generate` (run inside a real
`roost serve` through its control socket), messages are signed by
`roost debug dkim-sign`, and Debian's dkimpy verifies them against the TXT
records `roost domain dkim example.com show` printed: no network.
"""
import os
import re
import stat
import time

import dkim
import pytest


def parse_txt(text):
    """{name: value} from zone-file TXT lines (strings concatenated)."""
    recs = {}
    for line in text.splitlines():
        if line.startswith(";") or " IN TXT " not in line:
            continue
        name, rest = line.split(" IN TXT ", 1)
        strings = re.findall(r'"([^"]*)"', rest)
        assert all(len(s) <= 255 for s in strings), line
        recs[name.rstrip(".").lower()] = "".join(strings)
    return recs


def verify_all(signed, recs):
    """Verify every DKIM-Signature of `signed`; returns the a= values."""
    def dnsfunc(name, timeout=5):
        return recs.get(name.decode().rstrip(".").lower(), "").encode()

    d = dkim.DKIM(signed)
    n = len(re.findall(rb"(?im)^DKIM-Signature:", signed))
    algs = []
    for idx in range(n):
        assert d.verify(idx=idx, dnsfunc=dnsfunc), "signature %d failed: %r" % (idx, signed[:3000])
        algs.append(d.signature_fields[b"a"].decode())
    return algs


@pytest.fixture
def keyed(roost):
    out = roost.cli("domain", "dkim", "example.com", "generate").stdout
    assert re.search(r"^selector\troost\d{8}$", out, re.M), out
    recs = parse_txt(roost.cli("domain", "dkim", "example.com", "show").stdout)
    return roost, recs


def sign(roost, msg):
    p = roost.cli("debug", "dkim-sign", "example.com", input=msg, binary=True)
    return p.stdout


MESSAGES = {
    "plain": b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\n"
             b"Subject: Hello\r\nDate: Wed, 02 Dec 2026 20:00:00 +0000\r\n"
             b"Message-ID: <1@example.com>\r\n\r\nHello Bob.\r\n",
    "folded": b"From: alice@example.com\r\nTo: bob@example.org,\r\n\tcarol@example.org,\r\n"
              b"   dave@example.org\r\nSubject: a  very   long subject" + b" word" * 60 +
              b"\r\n continued here   \r\nCC:  eve@example.org  \r\n"
              b"References: <a@x>\r\n <b@x>\r\n\r\nbody\r\n",
    "trailing-empty-lines": b"From: alice@example.com\r\nSubject: t\r\n\r\n"
                            b"line  with   spaces \t \r\n\r\n  \r\n\r\n\r\n",
    "8bit": "From: alice@example.com\r\nSubject: 8bit\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
            "\r\nGrüße aus Köln, 東京\r\n".encode(),
    "no-body": b"From: alice@example.com\r\nSubject: empty\r\n\r\n",
    "no-blank-line": b"From: alice@example.com\r\nSubject: header only\r\n",
}


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_signatures_verify_with_dkimpy(keyed, name):
    roost, recs = keyed
    signed = sign(roost, MESSAGES[name])
    assert signed.endswith(MESSAGES[name])
    assert verify_all(signed, recs) == ["rsa-sha256", "ed25519-sha256"]


def test_records_and_keys(keyed):
    roost, recs = keyed
    names = sorted(recs)
    assert len(names) == 2
    assert names[0].endswith("-ed25519._domainkey.example.com")
    assert names[1].endswith("-rsa._domainkey.example.com")
    assert recs[names[0]].startswith("v=DKIM1; k=ed25519; p=")
    assert recs[names[1]].startswith("v=DKIM1; k=rsa; p=")
    # RSA-2048 is longer than one TXT string: split, and still one value.
    assert len(recs[names[1]]) > 255
    sel = names[1].split("-rsa.")[0]
    for suffix in ("rsa", "ed25519"):
        path = os.path.join(roost.datadir, "dkim", "example.com", "%s.%s.pem" % (sel, suffix))
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o600
        assert b"PRIVATE KEY" in open(path, "rb").read()


def test_tampering_is_detected(keyed):
    roost, recs = keyed
    signed = sign(roost, MESSAGES["plain"])

    def dnsfunc(name, timeout=5):
        return recs.get(name.decode().rstrip(".").lower(), "").encode()
    for bad in (signed.replace(b"Hello Bob.", b"Hello Eve."),
                signed.replace(b"Subject: Hello", b"Subject: Hellp"),
                # An added From (the replay trick) is caught: From is over-signed.
                signed.replace(b"From: Alice", b"From: mallory@evil.example\r\nFrom: Alice"),
                signed.replace(b"To: bob", b"Cc: x@evil.example\r\nTo: bob")):
        for idx in range(2):
            try:
                ok = dkim.DKIM(bad).verify(idx=idx, dnsfunc=dnsfunc)
            except dkim.DKIMException:
                ok = False
            assert not ok, bad


def test_header_fields_folded_at_78(keyed):
    roost, _ = keyed
    signed = sign(roost, MESSAGES["folded"])
    head = signed.split(b"\r\nFrom:", 1)[0]
    for line in head.split(b"\r\n"):
        assert len(line) <= 78, line


def test_rotate_keeps_old_keys_published(keyed):
    roost, recs = keyed
    old = parse_txt(roost.cli("domain", "dkim", "example.com", "show").stdout)
    out = roost.cli("domain", "dkim", "example.com", "rotate").stdout
    assert "keep the records of" in out
    shown = roost.cli("domain", "dkim", "example.com", "show").stdout
    assert "retired selector" in shown
    new = parse_txt(shown)
    assert set(old) < set(new) and len(new) == 4
    # `roost dns` publishes the retired keys too, until they are removed
    assert parse_txt(roost.cli("dns", "example.com").stdout).keys() >= new.keys()
    signed = sign(roost, MESSAGES["plain"])
    sels = set(re.findall(rb"s=([a-z0-9-]+);", signed))
    assert len(sels) == 2 and not any(s.decode() + "._domainkey.example.com" in old for s in sels)
    assert verify_all(signed, new) == ["rsa-sha256", "ed25519-sha256"]
    # the retired selector goes only when asked; the current one never
    old_sel = sorted(old)[0].split("-ed25519.")[0]
    new_sel = [s.decode() for s in sels][0].rsplit("-", 1)[0]
    p = roost.cli("domain", "dkim", "example.com", "remove", new_sel, check=False)
    assert p.returncode == 1 and "rotate first" in p.stderr
    roost.cli("domain", "dkim", "example.com", "remove", old_sel)
    assert parse_txt(roost.cli("domain", "dkim", "example.com", "show").stdout).keys() == \
        new.keys() - old.keys()
    assert not [f for f in os.listdir(os.path.join(roost.datadir, "dkim", "example.com"))
                if f.startswith(old_sel + ".")]
    assert verify_all(sign(roost, MESSAGES["plain"]), new) == ["rsa-sha256", "ed25519-sha256"]
    # generate refuses to replace existing keys
    p = roost.cli("domain", "dkim", "example.com", "generate", check=False)
    assert p.returncode == 1 and "rotate" in p.stderr


def test_unhosted_domain_and_no_keys(roost):
    p = roost.cli("domain", "dkim", "example.net", "generate", check=False)
    assert p.returncode == 1 and "not a hosted domain" in p.stderr
    p = roost.cli("debug", "dkim-sign", "example.com", input=MESSAGES["plain"], check=False)
    assert p.returncode == 1 and "no DKIM keys" in p.stderr
    roost.cli("domain", "dkim", "example.com", "generate")
    p = roost.cli("debug", "dkim-sign", "example.com", input=b"Subject: x\r\n\r\nbody\r\n",
                  check=False)
    assert p.returncode == 1 and "no From" in p.stderr


def test_hostile_sizes_stay_linear(keyed):
    """100,000 header lines and a 50 MB body of spaces and blank lines: a
    quadratic canonicalizer or header search would take minutes."""
    roost, recs = keyed
    many = b"".join(b"X-Junk-%d: v\r\n" % i for i in range(50000))
    many += b"X-Folded: a\r\n" + b" b\r\n" * 50000
    msg = b"From: alice@example.com\r\n" + many + b"Subject: big\r\n\r\nbody\r\n"
    t = time.monotonic()
    signed = sign(roost, msg)
    assert time.monotonic() - t < 20
    assert verify_all(signed, recs) == ["rsa-sha256", "ed25519-sha256"]

    body = (b" \t " * 20 + b"x" + b" " * 30 + b"\r\n" + b"\r\n" * 10) * (50 * 1024 * 1024 // 100)
    msg = b"From: alice@example.com\r\nSubject: big body\r\n\r\n" + body
    t = time.monotonic()
    signed = sign(roost, msg)
    assert time.monotonic() - t < 30
    assert signed.endswith(body)

    # Past the named limits the signer refuses instead of working on.
    too_many = b"From: alice@example.com\r\n" + b"To: x@example.org\r\n" * 17 + b"\r\nb\r\n"
    p = roost.cli("debug", "dkim-sign", "example.com", input=too_many, check=False)
    assert p.returncode == 1 and "more than 16 to header fields" in p.stderr


def test_dns_prints_every_record(keyed):
    roost, recs = keyed
    out = roost.cli("dns", "example.com").stdout
    host = "localhost"
    assert "example.com. IN MX 10 %s." % host in out
    assert 'example.com. IN TXT "v=spf1 mx -all"' in out
    assert '_dmarc.example.com. IN TXT "v=DMARC1; p=quarantine;' in out
    assert re.search(r'^_mta-sts\.example\.com\. IN TXT "v=STSv1; id=[0-9a-f]{16}"$', out, re.M)
    assert '_smtp._tls.example.com. IN TXT "v=TLSRPTv1; rua=mailto:' in out
    assert parse_txt(out).items() >= recs.items()
    for svc, proto in (("_imaps._tcp", "imaps"), ("_imap._tcp", "imap"),
                       ("_pop3s._tcp", "pop3s"), ("_pop3._tcp", "pop3"),
                       ("_submissions._tcp", "submissions"),
                       ("_submission._tcp", "submission")):
        line = "%s.example.com. IN SRV 0 1 %d %s." % (svc, roost.listen_port(proto), host)
        assert line in out, (line, out)
    assert "autoconfig.example.com. IN CNAME %s." % host in out
    assert "autodiscover.example.com. IN CNAME %s." % host in out
    m = re.search(r"^_25\._tcp\.%s\. IN TLSA 3 1 1 ([0-9a-f]{64})$" % host, out, re.M)
    assert m, out
    # The digest is of the certificate's SubjectPublicKeyInfo.
    import subprocess
    cert = os.path.join(roost.datadir, "tls", "cert.pem")
    spki = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"],
                          stdout=subprocess.PIPE, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=spki,
                         stdout=subprocess.PIPE, check=True).stdout
    import hashlib
    assert m.group(1) == hashlib.sha256(der).hexdigest()


def test_wrong_key_type_is_refused(keyed):
    """A key file of the wrong type is an error, never a signature with
    the wrong a= (which every verifier would fail)."""
    roost, recs = keyed
    d = os.path.join(roost.datadir, "dkim", "example.com")
    rsa = [f for f in os.listdir(d) if f.endswith(".rsa.pem")][0]
    ed = rsa.replace(".rsa.pem", ".ed25519.pem")
    with open(os.path.join(d, ed), "rb") as f:
        data = f.read()
    with open(os.path.join(d, rsa), "wb") as f:
        f.write(data)
    p = roost.cli("debug", "dkim-sign", "example.com", input=MESSAGES["plain"], check=False)
    assert p.returncode == 1 and "not an rsa key" in p.stderr
