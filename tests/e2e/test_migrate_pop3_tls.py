"""`roost migrate --pop3 pop3://...` protects the password (cmd-migrate.c,
pop3_stls): STLS (RFC 2595 4) when the server's CAPA lists it (or when it
has no CAPA), the certificate checked (system CAs or --ca FILE, --insecure
to skip); pop3s:// is implicit TLS; a server without STLS gets no USER or
PASS unless --allow-plaintext. Tested against the private Dovecot of
test_migrate.py with TLS on, and hostile fake servers."""
import os
import socket
import subprocess
import threading

import pytest

from conftest import ROOST_BIN, free_port
from test_migrate import USER, Dovecot, fill, migrate, msg, pop3_uidls

POP3_URL = "pop3://old%%40example.org@127.0.0.1:%d"
POP3S_URL = "pop3s://old%%40example.org@127.0.0.1:%d"


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


@pytest.fixture
def tls_dovecot(tmp_path):
    cert, key = make_cert(str(tmp_path))
    pop3s = free_port()
    extra = ("ssl = yes\nssl_cert = <%s\nssl_key = <%s\n"
             "service pop3-login {\n  inet_listener pop3s {\n    address = 127.0.0.1\n"
             "    port = %d\n  }\n}\n" % (cert, key, pop3s))
    d = Dovecot(extra=extra)
    d.pop3s, d.cert = pop3s, cert
    c = d.client()
    fill(c)
    c.append("INBOX", "()", None, msg(7))
    c.logout()
    yield d
    d.stop()


def pop3_logins(d):
    return [l for l in d.log().splitlines() if "pop3-login: Info: Login:" in l]


def test_stls_to_dovecot_with_ca(roost, tls_dovecot):
    d = tls_dovecot
    theirs = pop3_uidls(d.pop3, USER, "oldpass")
    before = len(pop3_logins(d))
    rc, out, err = migrate(roost, d.imap, "--ca", d.cert, "--pop3", POP3_URL % d.pop3)
    assert "pop3: 5 UIDLs" in out, (out, err)
    assert "in clear" not in err, err
    assert pop3_uidls(roost.port("pop3"), "alice@example.com", "secret") == theirs
    # Dovecot says the POP3 login came over TLS (loopback is "secured"
    # either way; the plain login of pop3_uidls above has no TLS)
    logins = pop3_logins(d)
    assert " TLS" not in logins[before - 1], logins
    logins = logins[before:]
    assert len(logins) == 1 and ", TLS" in logins[0], logins


def test_pop3s_implicit_tls_to_dovecot(roost, tls_dovecot):
    d = tls_dovecot
    theirs = pop3_uidls(d.pop3, USER, "oldpass")
    rc, out, err = migrate(roost, d.imap, "--ca", d.cert, "--pop3", POP3S_URL % d.pop3s)
    assert "pop3: 5 UIDLs" in out, (out, err)
    assert pop3_uidls(roost.port("pop3"), "alice@example.com", "secret") == theirs


def test_unverified_certificate_refused_before_the_password(roost, tls_dovecot):
    d = tls_dovecot
    before = len(pop3_logins(d))
    for url in (POP3_URL % d.pop3, POP3S_URL % d.pop3s):
        rc, out, err = migrate(roost, d.imap, "--pop3", url, check=False)
        assert rc != 0
        assert "TLS with 127.0.0.1" in err and "certificate verify failed" in err, err
    # a CA that did not sign it: refused too
    other, _ = make_cert(os.path.join(d.dir, "run"))
    rc, out, err = migrate(roost, d.imap, "--ca", other, "--pop3", POP3_URL % d.pop3,
                           check=False)
    assert rc != 0 and "certificate verify failed" in err, err
    rc, out, err = migrate(roost, d.imap, "--ca", "/nonexistent/ca.pem", "--pop3",
                           POP3_URL % d.pop3, check=False)
    assert rc != 0 and "cannot read the CA file" in err, err
    assert pop3_logins(d)[before:] == []
    # --insecure skips the check (the IMAP side's STARTTLS too)
    rc, out, err = migrate(roost, d.imap, "--insecure", "--pop3", POP3_URL % d.pop3)
    assert "pop3: 5 UIDLs" in out


class FakePop3:
    """A POP3 server that records what the client sends. `capa` is the
    CAPA answer (None: -ERR); `stls` the raw bytes answering STLS."""

    def __init__(self, capa, stls):
        self.capa, self.stls = capa, stls
        self.got = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.sock.accept()
        conn.settimeout(10)
        f = conn.makefile("rb")
        conn.sendall(b"+OK fake ready\r\n")
        try:
            while True:
                line = f.readline()
                if not line:
                    break
                self.got.append(line)
                word = line.split(b" ")[0].strip().upper()
                if word == b"CAPA":
                    conn.sendall(b"-ERR no\r\n" if self.capa is None else self.capa)
                elif word == b"STLS":
                    conn.sendall(self.stls)
                elif word == b"UIDL":
                    conn.sendall(b"+OK\r\n.\r\n")
                elif word == b"QUIT":
                    conn.sendall(b"+OK bye\r\n")
                    break
                else:
                    conn.sendall(b"+OK\r\n")
        except OSError:
            pass
        conn.close()

    def close(self):
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize("capa,stls,why", [
    (b"+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n", b"-ERR never asked\r\n", "offers no STLS"),
    (None, b"-ERR unknown command\r\n", "offers no STLS"),
    # STLS "accepted" with bytes after it: an injection before the handshake
    (b"+OK\r\nSTLS\r\n.\r\n", b"+OK begin\r\n+OK injected\r\n", "data after its STLS reply"),
    (b"+OK\r\nSTLS\r\n.\r\n", b"-ERR not today\r\n", "POP3 STLS: -ERR"),
    # a CAPA answer that never ends within its limit
    (b"+OK\r\n" + b"X" * 70000 + b"\r\n", b"", "line"),
    (b"+OK\r\n" + b"XXXX\r\n" * 20000, b"", "a reply larger than"),
], ids=["capa-without-stls", "no-capa-no-stls", "injection-after-stls", "stls-refused",
        "capa-line-too-long", "capa-too-large"])
def test_no_password_without_tls(roost, capa, stls, why):
    fake = FakePop3(capa, stls)
    try:
        env = dict(os.environ, ROOST_MIGRATE_PASSWORD="oldpass")
        p = subprocess.run([ROOST_BIN, "-d", roost.datadir, "migrate", "--timeout", "5",
                            "--pop3", POP3_URL % fake.port,
                            "imap://x@127.0.0.1:%d" % free_port(), "alice@example.com"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    finally:
        fake.close()
    err = p.stderr.decode(errors="replace")
    assert p.returncode != 0
    assert why in err, err
    if why == "offers no STLS":
        assert "--allow-plaintext" in err
    sent = b"".join(fake.got)
    assert b"USER" not in sent and b"PASS" not in sent and b"oldpass" not in sent, sent


def test_allow_plaintext_sends_it_with_a_warning(roost):
    fake = FakePop3(b"+OK\r\nUSER\r\nUIDL\r\n.\r\n", b"-ERR\r\n")
    try:
        env = dict(os.environ, ROOST_MIGRATE_PASSWORD="oldpass")
        p = subprocess.run([ROOST_BIN, "-d", roost.datadir, "migrate", "--timeout", "5",
                            "--allow-plaintext", "--pop3", POP3_URL % fake.port,
                            "imap://x@127.0.0.1:%d" % free_port(), "alice@example.com"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    finally:
        fake.close()
    err = p.stderr.decode(errors="replace")
    assert "the password goes in clear" in err, err
    assert b"PASS oldpass\r\n" in fake.got, fake.got
