"""The HAProxy PROXY protocol (src/lib/proxy-proto.c): on the listeners
named in proxy.protocol, a trusted source's connection starts with a v1 or
v2 header, and the client address in it is the one the session sees
(connected/disconnected log lines, `roost who`, Received:, the auth
throttle, the loopback-only plaintext rule). Malformed headers, a missing
header, untrusted sources: the connection is closed with a log line. Off
by default: a header is then just a bad command. Plus a real haproxy with
send-proxy-v2 in front of the IMAP port."""
import imaplib
import os
import poplib
import smtplib
import socket
import ssl
import struct
import subprocess
import time

import pytest

from conftest import free_port
from haproxy import haproxy

# The strict checker is itself a proxy in front of IMAP: these tests
# need to reach roost's own port, header first.
IMAP_STRICT = False

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, sport=40001, dst=None, dport=143):
    fam = "TCP6" if ":" in src else "TCP4"
    dst = dst or ("::1" if fam == "TCP6" else "127.0.0.1")
    return ("PROXY %s %s %s %d %d\r\n" % (fam, src, dst, sport, dport)).encode()


def v2(src, sport=40002, dst=None, dport=143, cmd=1, tlvs=b""):
    if ":" in src:
        fam = 0x21
        block = (socket.inet_pton(socket.AF_INET6, src) +
                 socket.inet_pton(socket.AF_INET6, dst or "::1"))
    else:
        fam = 0x11
        block = (socket.inet_pton(socket.AF_INET, src) +
                 socket.inet_pton(socket.AF_INET, dst or "127.0.0.1"))
    block += struct.pack(">HH", sport, dport) + tlvs
    return SIG + bytes([0x20 | cmd, fam]) + struct.pack(">H", len(block)) + block


class ProxiedIMAP(imaplib.IMAP4):
    def __init__(self, port, header):
        self.proxy_header = header
        super().__init__("127.0.0.1", port, timeout=10)

    def _create_socket(self, timeout):
        s = socket.create_connection((self.host, self.port), timeout)
        s.sendall(self.proxy_header)
        return s


class ProxiedIMAPS(imaplib.IMAP4_SSL):
    def __init__(self, port, header):
        self.proxy_header = header
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        super().__init__("127.0.0.1", port, ssl_context=ctx, timeout=10)

    def _create_socket(self, timeout):
        # the header goes in clear, before the ClientHello, and (MSG_MORE)
        # in the same segment: the reader must leave the hello alone
        s = socket.create_connection((self.host, self.port), timeout)
        s.send(self.proxy_header, socket.MSG_MORE)
        return self.ssl_context.wrap_socket(s, server_hostname=self.host)


class ProxiedPOP3(poplib.POP3):
    def __init__(self, port, header):
        self.proxy_header = header
        super().__init__("127.0.0.1", port, timeout=10)

    def _create_socket(self, timeout):
        s = socket.create_connection((self.host, self.port), timeout)
        s.sendall(self.proxy_header)
        return s


class ProxiedSMTP(smtplib.SMTP):
    def __init__(self, port, header):
        self.proxy_header = header
        super().__init__("127.0.0.1", port, local_hostname="client.example", timeout=10)

    def _get_socket(self, host, port, timeout):
        s = socket.create_connection((host, port), timeout)
        s.sendall(self.proxy_header)
        return s


def log_text(roost):
    with open(roost.logfile, "rb") as f:
        return f.read().decode(errors="replace")


def wait_log(roost, needle, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = log_text(roost)
        if needle in text:
            return text
        time.sleep(0.05)
    raise AssertionError("%r not logged:\n%s" % (needle, log_text(roost)[-3000:]))


def who(roost):
    return [line.split("\t") for line in roost.cli("who").stdout.splitlines()]


def closed_without_reply(port, data, wait=10):
    """Send data; True when the server closes without sending a byte."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    try:
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return got == b""
            got += chunk
    except ConnectionResetError:
        return True
    finally:
        s.close()


@pytest.fixture
def proxied(roost_factory):
    return roost_factory(proxy__protocol="imap, imaps, pop3, smtp",
                         auth__allow_plaintext="yes")


def test_v1_imap_login_logged_and_who(proxied):
    m = ProxiedIMAP(proxied.listen_port("imap"), v1("203.0.113.9"))
    typ, _ = m.login("alice@example.com", "secret")
    assert typ == "OK"
    m.select("INBOX")
    rows = who(proxied)
    assert [(r[0], r[1], r[2]) for r in rows] == [("alice@example.com", "imap", "203.0.113.9")]
    m.logout()
    text = wait_log(proxied, "ip=203.0.113.9 disconnected")
    assert "proto=imap session=" in text and "ip=203.0.113.9 connected" in text
    # the balancer's own address is not taken for the client's
    imap_lines = [ln for ln in text.splitlines() if "proto=imap session=" in ln]
    assert imap_lines and all("ip=203.0.113.9 " in ln for ln in imap_lines), imap_lines


@pytest.mark.parametrize("make", [v1, v2])
def test_bytes_after_header_reach_the_protocol(proxied, make):
    """The header and the first command in one segment: the reader takes
    only the header; the command is answered."""
    s = socket.create_connection(("127.0.0.1", proxied.listen_port("imap")), timeout=10)
    s.sendall(make("198.51.100.4") + b"a1 CAPABILITY\r\na2 LOGOUT\r\n")
    got = b""
    while b"a2 OK" not in got:
        chunk = s.recv(4096)
        assert chunk, got
        got += chunk
    s.close()
    assert got.startswith(b"* OK"), got
    assert b"a1 OK" in got and b"* CAPABILITY" in got, got
    wait_log(proxied, "ip=198.51.100.4 connected")


@pytest.mark.parametrize("header,ip", [
    (v2("192.0.2.44", dport=110), "192.0.2.44"),
    (v2("2001:db8::77", dport=110, tlvs=b"\x02\x00\x04host\x04\x00\x01\x00"), "2001:db8::77"),
    (v1("2001:db8::78", dport=110), "2001:db8::78"),
])
def test_pop3_session_sees_header_address(proxied, header, ip):
    p = ProxiedPOP3(proxied.listen_port("pop3"), header)
    p.user("alice@example.com")
    p.pass_("secret")
    assert p.stat()[0] == 0
    rows = who(proxied)
    assert [(r[1], r[2]) for r in rows] == [("pop3", ip)], rows
    p.quit()
    wait_log(proxied, "proto=pop3 session=")
    text = wait_log(proxied, "ip=%s disconnected" % ip)
    assert "ip=%s connected" % ip in text


def test_smtp_received_header_shows_client(proxied):
    for header, want in ((v2("198.51.100.23", dport=25), b"[198.51.100.23]"),
                         (v1("2001:db8::25", dport=25), b"[IPv6:2001:db8::25]")):
        s = ProxiedSMTP(proxied.listen_port("smtp"), header)
        s.sendmail("sender@remote.example", ["alice@example.com"],
                   b"Subject: via lb\r\n\r\nhello\r\n")
        s.quit()
    # read the two messages over IMAP, itself through a header
    m = ProxiedIMAP(proxied.listen_port("imap"), v1("203.0.113.10"))
    m.login("alice@example.com", "secret")
    m.select("INBOX")
    heads = []
    for n in (b"1", b"2"):
        typ, data = m.fetch(n, "(BODY.PEEK[HEADER.FIELDS (RECEIVED)])")
        assert typ == "OK"
        heads.append(data[0][1])
    m.logout()
    assert b"[198.51.100.23]" in heads[0], heads
    assert b"[IPv6:2001:db8::25]" in heads[1], heads
    assert b"127.0.0.1" not in heads[0] + heads[1], heads


def test_auth_throttle_keys_on_header_address(roost_factory):
    r = roost_factory(proxy__protocol="imap", auth__allow_plaintext="yes",
                      auth__block_failures="3", auth__block_time="1m")
    port = r.listen_port("imap")
    for i in range(3):
        m = ProxiedIMAP(port, v1("203.0.113.50", sport=41000 + i))
        with pytest.raises(imaplib.IMAP4.error):
            m.login("alice@example.com", "wrong")
        m.shutdown()
    m = ProxiedIMAP(port, v1("203.0.113.50"))
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login("alice@example.com", "secret")
    assert "Too many failed logins" in str(e.value)
    m.shutdown()
    # the balancer's other clients are not blocked with it
    m = ProxiedIMAP(port, v1("198.51.100.60"))
    assert m.login("alice@example.com", "secret")[0] == "OK"
    m.logout()
    text = wait_log(r, "auth block start: net=203.0.113.50")
    assert "ip=203.0.113.50 auth blocked" in text
    assert "net=127.0.0.1" not in text


def test_proxied_remote_client_is_not_loopback(roost_factory):
    """auth.allow_plaintext = loopback: the balancer is on loopback, the
    client behind it is not."""
    r = roost_factory(proxy__protocol="imap")
    m = ProxiedIMAP(r.listen_port("imap"), v1("203.0.113.77"))
    with pytest.raises(imaplib.IMAP4.error):
        m.login("alice@example.com", "secret")
    m.shutdown()
    # LOCAL (the balancer's own health check) keeps the loopback peer
    m = ProxiedIMAP(r.listen_port("imap"), SIG + b"\x20\x00\x00\x00")
    assert m.login("alice@example.com", "secret")[0] == "OK"
    assert [r_[2] for r_ in who(r)] == ["127.0.0.1"]
    m.logout()


MALFORMED = [
    ("v1 too long", b"PROXY UNKNOWN " + b"x" * 120 + b"\r\n", "v1: no CRLF within 107 bytes"),
    ("v1 no CR", b"PROXY TCP4 192.0.2.1 127.0.0.1 1 143\na1 NOOP\r\n",
     "v1: line does not end in CRLF"),
    ("v1 bad address", b"PROXY TCP4 192.0.2.300 127.0.0.1 1 143\r\n", "v1: malformed address"),
    ("v2 wrong signature", b"\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x0c" + b"\0" * 12,
     "not a PROXY header"),
    ("v2 oversized", SIG + b"\x21\x11\xff\xff" + b"\0" * 40, "v2: header longer than 536 bytes"),
    ("v2 bad command", SIG + b"\x2f\x11\x00\x0c" + b"\0" * 12,
     "v2: command is neither LOCAL nor PROXY"),
    ("v2 udp", SIG + b"\x21\x12\x00\x0c" + b"\0" * 12, "v2: family/transport"),
    ("no header", b"a1 LOGIN alice@example.com secret\r\n", "not a PROXY header"),
]


@pytest.mark.parametrize("what,data,reason", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_header_closes(proxied, what, data, reason):
    assert closed_without_reply(proxied.listen_port("imap"), data), what
    wait_log(proxied, "ip=127.0.0.1 PROXY header refused: %s" % reason)
    assert "proto=imap session=" not in log_text(proxied)


def test_incomplete_header_times_out(proxied):
    s = socket.create_connection(("127.0.0.1", proxied.listen_port("pop3")), timeout=15)
    s.sendall(b"PROXY TCP4 192.0.2.1 ")
    start = time.time()
    assert s.recv(100) == b""
    took = time.time() - start
    s.close()
    assert 4.0 < took < 8.0, took
    wait_log(proxied, "proto=pop3 ip=127.0.0.1 PROXY header refused: "
             "no complete header within the timeout")


def test_untrusted_source_refused(roost_factory):
    r = roost_factory(proxy__protocol="imap, pop3", proxy__trusted="192.0.2.0/24, 2001:db8::/32")
    assert closed_without_reply(r.listen_port("imap"), v1("203.0.113.9"))
    assert closed_without_reply(r.listen_port("pop3"), v2("203.0.113.9"))
    text = wait_log(r, "proto=pop3 ip=127.0.0.1 PROXY header refused: source not in proxy.trusted")
    assert "proto=imap ip=127.0.0.1 PROXY header refused: source not in proxy.trusted" in text
    assert "ip=203.0.113.9" not in text
    # listeners not named still serve direct clients
    m = imaplib.IMAP4_SSL("127.0.0.1", r.listen_port("imaps"),
                          ssl_context=ssl._create_unverified_context())
    assert m.login("alice@example.com", "secret")[0] == "OK"
    m.logout()


def test_off_by_default_header_is_a_bad_command(roost):
    s = socket.create_connection(("127.0.0.1", roost.listen_port("imap")), timeout=10)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(v1("203.0.113.9") + b"a1 LOGIN alice@example.com secret\r\n")
    bad = f.readline()
    assert bad.startswith(b"PROXY BAD") or bad.startswith(b"* BAD"), bad
    line = f.readline()
    while not line.startswith(b"a1 "):
        line = f.readline()
    assert line.startswith(b"a1 OK"), line
    assert [r[2] for r in who(roost)] == ["127.0.0.1"]
    s.close()
    assert "203.0.113.9" not in log_text(roost).replace("PROXY TCP4 203.0.113.9", "")
    # POP3 too: an error reply, not an address
    p = socket.create_connection(("127.0.0.1", roost.listen_port("pop3")), timeout=10)
    pf = p.makefile("rb")
    assert pf.readline().startswith(b"+OK")
    p.sendall(v1("203.0.113.9"))
    assert pf.readline().startswith(b"-ERR")
    p.close()


def test_imaps_header_before_tls(proxied):
    m = ProxiedIMAPS(proxied.listen_port("imaps"), v2("2001:db8::993", dport=993))
    assert m.login("alice@example.com", "secret")[0] == "OK"
    assert [(r[1], r[2]) for r in who(proxied)] == [("imap", "2001:db8::993")]
    m.logout()
    text = wait_log(proxied, "ip=2001:db8::993 disconnected")
    assert "proto=imaps session=" in text or "ip=2001:db8::993 connected tls" in text
    assert "ip=2001:db8::993 connected tls" in text


def test_haproxy_send_proxy_v2(roost_factory, tmp_path):
    """Debian's haproxy on loopback in front of IMAP: the address roost
    sees is the one haproxy saw from the client (127.0.0.5), not
    haproxy's own (127.0.0.1)."""
    r = roost_factory(proxy__protocol="imap")
    front = free_port()
    with haproxy(tmp_path, {front: [r.listen_port("imap")]}):
        s = socket.create_connection(("127.0.0.1", front), timeout=10,
                                     source_address=("127.0.0.5", 0))
        client_port = s.getsockname()[1]
        f = s.makefile("rb")
        assert f.readline().startswith(b"* OK")
        s.sendall(b"a1 LOGIN alice@example.com secret\r\n")
        assert f.readline().startswith(b"a1 OK")
        assert [(x[1], x[2]) for x in who(r)] == [("imap", "127.0.0.5")]
        s.sendall(b"a2 LOGOUT\r\n")
        while not f.readline().startswith(b"a2 "):
            pass
        s.close()
        text = wait_log(r, "ip=127.0.0.5 disconnected")
        assert "ip=127.0.0.5 connected" in text
        assert client_port > 0


class ProxiedLMTP(smtplib.LMTP):
    def __init__(self, port, header):
        self.proxy_header = header
        super().__init__("127.0.0.1", port, local_hostname="mx.example", timeout=10)

    def _get_socket(self, host, port, timeout):
        s = socket.create_connection((host, port), timeout)
        s.sendall(self.proxy_header)
        return s


class ProxiedSMTPS(smtplib.SMTP_SSL):
    def __init__(self, port, header):
        self.proxy_header = header
        super().__init__("127.0.0.1", port, local_hostname="client.example", timeout=10,
                         context=ssl._create_unverified_context())

    def _get_socket(self, host, port, timeout):
        s = socket.create_connection((host, port), timeout)
        s.sendall(self.proxy_header)
        return self.context.wrap_socket(s, server_hostname=host)


def test_lmtp_and_submissions_take_the_header(roost_factory):
    r = roost_factory(proxy__protocol="all", auth__allow_plaintext="yes")
    l = ProxiedLMTP(r.listen_port("lmtp"), v2("192.0.2.99", dport=24))
    l.sendmail("sender@remote.example", ["alice@example.com"], b"Subject: lmtp\r\n\r\nx\r\n")
    l.quit()
    s = ProxiedSMTPS(r.listen_port("submissions"), v1("2001:db8::465", dport=465))
    s.login("alice@example.com", "secret")
    assert [(x[1], x[2]) for x in who(r)] == [("submission", "2001:db8::465")]
    s.quit()
    text = wait_log(r, "ip=2001:db8::465 disconnected")
    assert "proto=submissions session=" in text or "proto=submission session=" in text
    assert "ip=192.0.2.99 connected" in text
    m = ProxiedIMAP(r.listen_port("imap"), v1("203.0.113.11"))
    m.login("alice@example.com", "secret")
    m.select("INBOX")
    typ, data = m.fetch(b"1", "(BODY.PEEK[HEADER.FIELDS (RECEIVED)])")
    m.logout()
    assert b"[192.0.2.99]" in data[0][1], data


@pytest.mark.parametrize("value,message", [
    ("imap http gopher", "proxy.protocol: 'gopher' is not a listener"),
    ("imap, gopher", "proxy.protocol: 'gopher' is not a listener"),
])
def test_bad_proxy_settings_stop_start(datadir, value, message):
    datadir.init()
    from conftest import ROOST_BIN
    p = subprocess.run([ROOST_BIN, "-d", datadir.datadir, "serve", "--set", "server.user=root",
                        "--set", "proxy.protocol=" + value,
                        "--set", "imap.listen=127.0.0.1:%d" % free_port()],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert p.returncode != 0
    assert message in p.stdout.decode(), p.stdout
    p = subprocess.run([ROOST_BIN, "-d", datadir.datadir, "serve", "--set", "server.user=root",
                        "--set", "proxy.trusted=10.0.0.0/33"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert p.returncode != 0
    assert "proxy.trusted: '10.0.0.0/33' is not an address or CIDR network" in p.stdout.decode()


def http_exchange(port, data, tls=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        s.send(data[0], socket.MSG_MORE)
        s = ssl._create_unverified_context().wrap_socket(s)
        s.sendall(data[1])
    else:
        s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (ConnectionResetError, ssl.SSLError):
        pass
    s.close()
    return out


GET = (b"GET /mail/config-v1.1.xml?emailaddress=alice%40example.com HTTP/1.1\r\n"
       b"Host: autoconfig.example.com\r\nConnection: close\r\n\r\n")


def test_http_and_https_take_the_header(roost_factory):
    r = roost_factory(proxy__protocol="http, https")
    reply = http_exchange(r.listen_port("http"), v1("198.51.100.80", dport=80) + GET)
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    reply = http_exchange(r.listen_port("https"), (v2("2001:db8::443", dport=443), GET), tls=True)
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    text = wait_log(r, "proto=https ip=2001:db8::443 method=GET")
    assert "proto=http ip=198.51.100.80 method=GET" in text
    # no header, or a broken one: no HTTP answer at all
    assert http_exchange(r.listen_port("http"), GET) == b""
    assert http_exchange(r.listen_port("http"), SIG + b"\x21\x11\xff\xff" + GET) == b""
    text = wait_log(r, "proto=http ip=127.0.0.1 PROXY header refused: v2: header longer")
    assert "proto=http ip=127.0.0.1 PROXY header refused: not a PROXY header" in text
    # still serving afterwards
    reply = http_exchange(r.listen_port("http"), v2("192.0.2.81", dport=80) + GET)
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    wait_log(r, "proto=http ip=192.0.2.81 method=GET")
