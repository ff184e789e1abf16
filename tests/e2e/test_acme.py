"""ACME (RFC 8555) against Debian's pebble on loopback.

pebble runs on free ports with its own test CA (made here with openssl),
validates for real (PEBBLE_VA_ALWAYS_VALID=0) and resolves the test host
name through a private unbound (outbound_net.Dns) to 127.0.0.1, where its
httpPort/tlsPort are roost's http/https listeners. Short-lived
certificates (pebble's certificateValidityPeriod) make renewal happen
within the test: roost renews when a third of the lifetime is left.
"""
import hashlib
import imaplib
import json
import os
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import PROTOCOLS, Roost, free_port
from outbound_net import Dns

PEBBLE = "/usr/bin/pebble"
HOST = "mail.acme.test"


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class Pebble:
    def __init__(self, workdir, http_port, tls_port, dns_port, validity=None):
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        j = lambda n: os.path.join(self.dir, n)
        # pebble's own HTTPS certificate, from a CA roost trusts through
        # tls.acme_ca_file
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-days", "2", "-subj", "/CN=pebble test CA",
                "-keyout", j("ca.key"), "-out", j("ca.pem"))
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=127.0.0.1", "-keyout", j("key.pem"), "-out", j("csr.pem"))
        with open(j("ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        openssl("x509", "-req", "-in", j("csr.pem"), "-CA", j("ca.pem"), "-CAkey", j("ca.key"),
                "-CAcreateserial", "-days", "2", "-extfile", j("ext.cnf"), "-out", j("cert.pem"))
        self.port = free_port()
        self.mgmt = free_port()
        conf = {"pebble": {
            "listenAddress": "127.0.0.1:%d" % self.port,
            "managementListenAddress": "127.0.0.1:%d" % self.mgmt,
            "certificate": j("cert.pem"), "privateKey": j("key.pem"),
            "httpPort": http_port, "tlsPort": tls_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        if validity is not None:
            conf["pebble"]["certificateValidityPeriod"] = validity
        with open(j("pebble.json"), "w") as f:
            json.dump(conf, f)
        self.dns_port = dns_port
        self.ca = j("ca.pem")
        self.proc = None
        self.start()

    @property
    def directory(self):
        return "https://127.0.0.1:%d/dir" % self.port

    def start(self):
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_VA_ALWAYS_VALID="0")
        self.log = open(os.path.join(self.dir, "pebble.log"), "ab")
        self.proc = subprocess.Popen(
            [PEBBLE, "-config", os.path.join(self.dir, "pebble.json"),
             "-dnsserver", "127.0.0.1:%d" % self.dns_port],
            stdout=self.log, stderr=self.log, env=env)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                assert self.proc.poll() is None, self.read_log()
                time.sleep(0.1)
        raise AssertionError("pebble did not start: " + self.read_log())

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
            self.log.close()

    def read_log(self):
        with open(os.path.join(self.dir, "pebble.log"), "rb") as f:
            return f.read().decode(errors="replace")[-5000:]

    def intermediate_pem(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        import urllib.request
        with urllib.request.urlopen("https://127.0.0.1:%d/intermediates/0" % self.mgmt,
                                    context=ctx, timeout=10) as r:
            return r.read().decode()


@pytest.fixture
def net(tmp_path):
    dns = Dns(tmp_path / "dns", ["%s. A 127.0.0.1" % HOST])
    yield dns
    dns.stop()


def start_roost(tmp_path, pebble_factory, challenge, validity=None, **extra):
    r = Roost(tmp_path / "var")
    r.init()
    r.ports = {p: free_port() for p in PROTOCOLS}
    pebble = pebble_factory(r.ports["http"], r.ports["https"], validity)
    settings = {
        "server__hostname": HOST,
        "tls__acme": "yes",
        "tls__acme_directory": pebble.directory,
        "tls__acme_ca_file": pebble.ca,
        "tls__acme_email": "postmaster@acme.test",
        "tls__acme_challenge": challenge,
        "tls__acme_check_interval": "1s",
        "tls__acme_retry_max": "2s",
    }
    settings.update(extra)
    r.settings = settings
    r.start()
    return r, pebble


@pytest.fixture
def setup(tmp_path, net):
    made = []

    def pebble_factory(http_port, tls_port, validity):
        p = Pebble(tmp_path / "pebble", http_port, tls_port, net.port, validity)
        made.append(p)
        return p

    roosts = []

    def make(challenge, validity=None, **extra):
        r, p = start_roost(tmp_path, pebble_factory, challenge, validity, **extra)
        roosts.append(r)
        return r, p

    yield make
    for r in roosts:
        rc = r.stop()
        assert rc in (0, None), r.read_log()
        assert "AddressSanitizer" not in r.read_log()
    for p in made:
        p.stop()


def full_log(r):
    with open(r.logfile, "rb") as f:
        return f.read().decode(errors="replace")


def public_key(cert_pem):
    """The certificate's SubjectPublicKeyInfo, PEM."""
    return subprocess.run(["openssl", "x509", "-pubkey", "-noout"], input=cert_pem.encode(),
                          check=True, capture_output=True).stdout


def served_cert(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=HOST) as t:
            return ssl.DER_cert_to_PEM_cert(t.getpeercert(binary_form=True))


def verified_by(tmp_path, leaf_pem, ca_pem):
    lp, cp = str(tmp_path / "leaf.pem"), str(tmp_path / "issuer.pem")
    with open(lp, "w") as f:
        f.write(leaf_pem)
    with open(cp, "w") as f:
        f.write(ca_pem)
    p = subprocess.run(["openssl", "verify", "-partial_chain", "-CAfile", cp,
                        "-verify_hostname", HOST, lp], capture_output=True, text=True)
    return p.returncode == 0


def wait_for(pred, timeout, what, r):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError("%s: not within %ds\n%s" % (what, timeout, r.read_log()))


def wait_issued(tmp_path, r, pebble, port, before=None, timeout=60):
    inter = pebble.intermediate_pem()

    def ok():
        pem = served_cert(port)
        return pem != before and verified_by(tmp_path, pem, inter)
    wait_for(ok, timeout, "a pebble-issued certificate on port %d" % port, r)
    return served_cert(port)


def test_http01_issue_renew_reload_keeps_connections(tmp_path, setup):
    # 30 s certificates: renewed when 10 s are left
    r, pebble = setup("http-01", validity=30)
    start_cert = served_cert(r.port("imaps"))
    first = wait_issued(tmp_path, r, pebble, r.port("imaps"), before=start_cert)
    assert "acme: new certificate for %s loaded into every TLS listener" % HOST in full_log(r)
    # files: 0600 in a 0700 directory
    acme = os.path.join(r.datadir, "acme")
    assert os.stat(acme).st_mode & 0o777 == 0o700
    for name in ("account.key", "cert.pem", "key.pem"):
        assert os.stat(os.path.join(acme, name)).st_mode & 0o777 == 0o600
    # HTTPS and STARTTLS-free implicit TLS serve the same new certificate
    assert served_cert(r.port("https")) == first
    # an IMAP session opened before the renewal...
    ctx = ssl._create_unverified_context()
    imap = imaplib.IMAP4_SSL("127.0.0.1", r.port("imaps"), ssl_context=ctx)
    imap.login("alice@example.com", "secret")
    imap.select("INBOX")
    second = wait_issued(tmp_path, r, pebble, r.port("imaps"), before=first, timeout=45)
    assert second != first
    # a new certificate for the same key: a DANE "3 1 1" TLSA record stays valid
    assert public_key(second) == public_key(first) != public_key(start_cert)
    # ...still works after it, on its old certificate
    typ, _ = imap.noop()
    assert typ == "OK"
    typ, data = imap.status("INBOX", "(MESSAGES)")
    assert typ == "OK"
    imap.logout()
    log = full_log(r)
    assert log.count("acme: certificate issued for %s" % HOST) >= 2
    # pebble fetched the token over plain HTTP from the route
    assert "proto=http " in log and "path=/.well-known/acme-challenge/" in log
    assert "status=200" in log


def test_tls_alpn01_issue(tmp_path, setup):
    r, pebble = setup("tls-alpn-01")
    start_cert = served_cert(r.port("imaps"))
    wait_issued(tmp_path, r, pebble, r.port("imaps"), before=start_cert)
    log = full_log(r)
    assert "acme: certificate issued for %s" % HOST in log
    # no http-01 request was needed
    assert "/.well-known/acme-challenge/" not in log
    # a normal client offering another ALPN gets the server certificate and
    # no protocol; only acme-tls/1 with a pending challenge would differ
    ctx = ssl._create_unverified_context()
    ctx.set_alpn_protocols(["acme-tls/1"])
    with socket.create_connection(("127.0.0.1", r.port("https")), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=HOST) as t:
            assert t.selected_alpn_protocol() is None


def tlsa_of(r):
    """The TLSA line of `roost dns example.com`, with tls.acme = yes in
    roost.conf as a production profile has it."""
    with open(os.path.join(r.datadir, "roost.conf"), "a") as f:
        f.write("\ntls.acme = yes\nserver.hostname = %s\n" % HOST)
    out = r.cli("dns", "example.com").stdout
    return [l for l in out.splitlines() if "TLSA" in l][-1]


def test_restart_keeps_issued_certificate(tmp_path, setup):
    r, pebble = setup("http-01")
    start_cert = served_cert(r.port("imaps"))
    first = wait_issued(tmp_path, r, pebble, r.port("imaps"), before=start_cert)
    # roost dns pins the issued certificate's key, not the starting one's
    spki = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                          input=public_key(first), check=True, capture_output=True).stdout
    assert tlsa_of(r) == "_25._tcp.%s. IN TLSA 3 1 1 %s" % (
        HOST, hashlib.sha256(spki).hexdigest())
    r.stop()
    pebble.stop()  # no CA: the stored certificate serves on its own
    r.start()
    assert served_cert(r.port("imaps")) == first
    time.sleep(2)
    assert "acme: ordering" not in full_log(r).split("serving in")[-1]


def test_ca_down_keeps_old_certificate_and_logs(tmp_path, setup):
    r, pebble = setup("http-01", validity=30)
    start_cert = served_cert(r.port("imaps"))
    first = wait_issued(tmp_path, r, pebble, r.port("imaps"), before=start_cert)
    pebble.stop()
    # renewal is due at 20 s; it fails and is retried
    wait_for(lambda: "failed: directory" in full_log(r), 40, "a logged failure", r)
    assert "the current certificate keeps serving" in full_log(r)
    assert served_cert(r.port("imaps")) == first
    # the CA comes back: the retry succeeds
    pebble.start()
    wait_issued(tmp_path, r, pebble, r.port("imaps"), before=first, timeout=30)


def test_validation_failure_is_logged_and_retried(tmp_path, setup):
    # the name resolves nowhere roost listens: validation fails
    r, pebble = setup("http-01", tls__acme_hosts="nowhere.acme.test")
    wait_for(lambda: "authorization nowhere.acme.test is invalid" in full_log(r), 30,
             "a failed authorization", r)
    assert "retrying in" in full_log(r)
    # the starting certificate still serves
    assert os.path.exists(os.path.join(r.datadir, "tls", "cert.pem"))
    assert not os.path.exists(os.path.join(r.datadir, "acme", "cert.pem"))
    # and roost dns publishes no TLSA for a key about to be replaced
    assert "no ACME certificate issued yet" in tlsa_of(r)


def test_bad_settings_refuse_to_start(tmp_path):
    r = Roost(tmp_path / "bad")
    r.init()
    for key, value, text in [
            ("tls.acme_directory", "http://127.0.0.1:1/dir", "not an https URL"),
            ("tls.acme_hosts", "bad_name!.test", "not a host name"),
            ("tls.acme_email", 'a"b@x.test', "not an address")]:
        p = subprocess.run([os.environ.get("ROOST_BIN", "build/roost"), "-d", r.datadir,
                            "serve", "--set", "tls.acme=yes", "--set",
                            "server.hostname=" + HOST, "--set", "%s=%s" % (key, value),
                            "--set", "server.user=root"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode != 0
        assert text in p.stderr, p.stderr
