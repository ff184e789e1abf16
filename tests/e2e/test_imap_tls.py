"""IMAP over TLS: implicit TLS (imaps), STARTTLS, and LOGINDISABLED with
auth.allow_plaintext=no, which stands in for a non-loopback client
(conn_plaintext_auth_ok: TLS, or "yes", or "loopback" on loopback)."""
import imaplib
import socket
import ssl

import pytest


def tls_context():
    # the test daemon has a self-signed certificate
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def caps_of(m):
    typ, data = m.capability()
    assert typ == "OK"
    return data[0].decode().upper().split()


def test_imaps_implicit_tls(roost):
    m = imaplib.IMAP4_SSL("127.0.0.1", roost.port("imaps"), ssl_context=tls_context(),
                          timeout=10)
    assert m.sock.version() is not None  # really TLS
    caps = caps_of(m)
    assert "STARTTLS" not in caps        # already encrypted
    assert "LOGINDISABLED" not in caps and "AUTH=PLAIN" in caps
    assert m.login("alice@example.com", "secret")[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()


def test_starttls_then_login(roost):
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    assert "STARTTLS" in m.capabilities
    assert m.starttls(ssl_context=tls_context())[0] == "OK"
    caps = caps_of(m)
    assert "STARTTLS" not in caps
    assert m.login("alice@example.com", "secret")[0] == "OK"
    m.logout()


def test_starttls_twice_is_refused(roost):
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    m.starttls(ssl_context=tls_context())
    with pytest.raises(imaplib.IMAP4.error) as e:
        m._simple_command("STARTTLS")
    assert "BAD" in str(e.value) and "already" in str(e.value)
    assert m.noop()[0] == "OK"  # the session goes on under TLS
    m.logout()


@pytest.fixture
def strict(roost_factory):
    return roost_factory(auth__allow_plaintext="no")


def raw_lines(sock_file, tag):
    out = []
    while True:
        line = sock_file.readline()
        assert line, out
        out.append(line)
        if line.startswith(tag):
            return out


def test_logindisabled_before_tls(strict):
    s = socket.create_connection(("127.0.0.1", strict.port("imap")), timeout=10)
    f = s.makefile("rb")
    greeting = f.readline()
    assert b"LOGINDISABLED" in greeting and b"STARTTLS" in greeting
    assert b"AUTH=PLAIN" not in greeting
    s.sendall(b"a LOGIN alice@example.com secret\r\n")
    l = raw_lines(f, b"a ")[-1]
    assert l.startswith(b"a NO [PRIVACYREQUIRED]"), l
    s.sendall(b"b AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==\r\n")
    l = raw_lines(f, b"b ")[-1]
    assert l.startswith(b"b NO [PRIVACYREQUIRED]"), l
    s.sendall(b"c SELECT INBOX\r\n")
    assert raw_lines(f, b"c ")[-1].startswith(b"c BAD")  # still not logged in
    s.close()


def test_strict_login_after_starttls(strict):
    m = imaplib.IMAP4("127.0.0.1", strict.port("imap"), timeout=10)
    assert "LOGINDISABLED" in m.capabilities
    m.starttls(ssl_context=tls_context())
    caps = caps_of(m)
    assert "LOGINDISABLED" not in caps and "AUTH=PLAIN" in caps
    assert m.login("alice@example.com", "secret")[0] == "OK"
    m.logout()


def test_strict_imaps_allows_login(strict):
    m = imaplib.IMAP4_SSL("127.0.0.1", strict.port("imaps"), ssl_context=tls_context(),
                          timeout=10)
    assert "LOGINDISABLED" not in caps_of(m)
    typ, _ = m.authenticate("PLAIN", lambda _: b"\0alice@example.com\0secret")
    assert typ == "OK"
    m.logout()


def test_plaintext_yes_allows_login(roost_factory):
    r = roost_factory(auth__allow_plaintext="yes")
    m = imaplib.IMAP4("127.0.0.1", r.port("imap"), timeout=10)
    assert "LOGINDISABLED" not in m.capabilities
    assert m.login("alice@example.com", "secret")[0] == "OK"
    m.logout()
