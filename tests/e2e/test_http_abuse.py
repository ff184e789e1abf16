"""The HTTP listener under attack: huge headers, a huge POST body, many
connections that send nothing (and one that trickles), paths that try
to climb out, unknown methods. Each is refused or cut by a named limit,
and the daemon keeps serving HTTP and IMAP meanwhile."""
import imaplib
import socket
import time

from http_util import fetch


def raw(roost, data, timeout=10, proto="http"):
    """Send bytes, return everything the server answers until it closes
    (or the timeout): the status line tells what evhttp did."""
    s = socket.create_connection(("127.0.0.1", roost.port(proto)), timeout=timeout)
    out = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    return out


def status_of(reply):
    if not reply.startswith(b"HTTP/1."):
        return None
    return int(reply.split(b" ", 2)[1])


def still_serving(roost):
    assert fetch(roost, "/mail/config-v1.1.xml", host="autoconfig.example.com")[0] == 200
    im = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    im.login("alice@example.com", "secret")
    im.logout()


def test_huge_headers_refused(roost_factory):
    r = roost_factory(http__max_header_size="8K")
    t0 = time.time()
    reply = raw(r, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Junk: " + b"a" * 100000 + b"\r\n\r\n")
    # evhttp answers 400 or just closes; either way fast, never a 200
    assert status_of(reply) in (None, 400, 413, 431)
    assert time.time() - t0 < 5
    # many headers, each small, add up the same
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(3000))
    reply = raw(r, b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert status_of(reply) in (None, 400, 413, 431)
    still_serving(r)


def test_huge_post_body_refused(roost_factory):
    r = roost_factory(http__max_body_size="16K")
    body = b"<Autodiscover>" + b"x" * (2 << 20) + b"</Autodiscover>"
    head = (b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: %d\r\nContent-Type: text/xml\r\n\r\n" % len(body))
    t0 = time.time()
    reply = raw(r, head + body)
    assert status_of(reply) in (None, 413)
    assert time.time() - t0 < 5
    # announced but never sent: not waited for past the limit either
    reply = raw(r, b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Length: 999999999\r\n\r\n")
    assert status_of(reply) in (None, 413)
    # chunked past the limit
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"y" * 64 * 1024)
    reply = raw(r, b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 4 + b"0\r\n\r\n")
    assert status_of(reply) in (None, 413)
    still_serving(r)


def test_slowloris_idle_connections(roost_factory):
    """Connections that send nothing fill http.max_connections, then are
    closed by http.timeout; the listener serves again afterwards, and
    IMAP is not affected at any time."""
    r = roost_factory(http__max_connections="20", http__timeout="2s")
    socks = []
    for _ in range(40):  # past the limit: the rest wait in the backlog
        socks.append(socket.create_connection(("127.0.0.1", r.port("http")), timeout=10))
    t0 = time.time()
    im = imaplib.IMAP4("127.0.0.1", r.port("imap"))
    im.login("alice@example.com", "secret")
    im.logout()
    # the first 20 are closed by the idle timeout (recv sees EOF)
    closed = 0
    for s in socks[:20]:
        try:
            if s.recv(1) == b"":
                closed += 1
        except (socket.timeout, ConnectionResetError):
            pass
    assert closed == 20
    assert time.time() - t0 < 15
    for s in socks:
        s.close()
    deadline = time.time() + 20
    while True:
        try:
            if fetch(r, "/mail/config-v1.1.xml", host="autoconfig.example.com")[0] == 200:
                break
        except OSError:
            pass
        assert time.time() < deadline, "HTTP did not recover after the idle connections"
        time.sleep(0.2)
    assert "http.max_connections" in r.read_log()
    still_serving(r)


def test_trickled_request_cut_by_connection_timeout(roost_factory):
    """One byte a second keeps http.timeout from firing; the total
    deadline (http.connection_timeout) still ends it."""
    r = roost_factory(http__timeout="5s", http__connection_timeout="3s")
    s = socket.create_connection(("127.0.0.1", r.port("http")), timeout=2)
    t0 = time.time()
    gone = False
    request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 100
    for b in request:
        try:
            s.sendall(bytes([b]))
            s.settimeout(0.5)
            if s.recv(1) == b"":
                gone = True
                break
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            gone = True
            break
        if time.time() - t0 > 20:
            break
    s.close()
    assert gone and time.time() - t0 < 10
    still_serving(r)


def test_paths_cannot_escape_the_table(roost):
    for path in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                 "/mail/config-v1.1.xml/../../../etc/passwd", "/mail/../metrics/../../x",
                 "//metrics", "/metrics/", "/metrics%00", "/%2fmetrics", "/.well-known/",
                 "/mail/config-v1.1.xml%00.png", "/mail/config-v1.1.xml%0d%0aX-Evil:1"):
        req = b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        reply = raw(roost, req)
        code = status_of(reply)
        assert code in (None, 400, 404), (path, reply[:200])
        assert b"root:" not in reply and b"X-Evil" not in reply
    log = roost.read_log()
    assert "X-Evil" not in log.replace("%0d%0aX-Evil", "")
    still_serving(roost)


def test_unknown_methods(roost):
    for method in (b"PUT", b"DELETE", b"TRACE", b"CONNECT", b"OPTIONS", b"PATCH", b"FOO",
                   b"G\x00T"):
        req = method + b" /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        reply = raw(roost, req)
        code = status_of(reply)
        assert code in (None, 400, 405, 501), (method, reply[:200])
        assert b"roost_connections" not in reply
    # POST where only GET is routed: 405 with Allow
    status, headers, _ = fetch(roost, "/metrics", data=b"x")
    assert status == 405 and "GET" in headers["Allow"]
    still_serving(roost)


def test_tls_garbage_and_handshake_abandoned(roost):
    """Plain text on the HTTPS port, and handshakes never finished."""
    reply = raw(roost, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", proto="https", timeout=15)
    assert not reply.startswith(b"HTTP/1.1 200")
    socks = [socket.create_connection(("127.0.0.1", roost.port("https")), timeout=5)
             for _ in range(10)]
    for s in socks:
        s.sendall(b"\x16\x03\x01\x00")  # a TLS record header, then nothing
    assert fetch(roost, "/mail/config-v1.1.xml", host="autoconfig.example.com", tls=True)[0] == 200
    for s in socks:
        s.close()
    still_serving(roost)


def test_head_then_pipelined_request_stay_framed(roost):
    """HEAD gets headers only (with the GET's Content-Length), so the next
    pipelined request's answer is not mistaken for a body."""
    reply = raw(roost, b"HEAD /mail/config-v1.1.xml HTTP/1.1\r\nHost: autoconfig.example.com\r\n\r\n"
                       b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    first, _, rest = reply.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200")
    length = int([l for l in first.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
                 .split(b":")[1])
    assert length > 100
    assert rest.startswith(b"HTTP/1.1 404"), rest[:80]


def test_connections_per_address(roost_factory):
    """Past http.max_connections_per_ip, a connection from the same
    address is closed at once; the ones below it stay until their timeout."""
    r = roost_factory(http__max_connections_per_ip="5", http__timeout="30s")
    socks = [socket.create_connection(("127.0.0.1", r.port("http")), timeout=5)
             for _ in range(5)]
    time.sleep(0.3)
    extra = socket.create_connection(("127.0.0.1", r.port("http")), timeout=5)
    t0 = time.time()
    try:
        assert extra.recv(1) == b""  # closed by the server, not timed out
    except ConnectionResetError:
        pass
    assert time.time() - t0 < 3
    extra.close()
    for s in socks[:1]:
        s.settimeout(0.5)
        try:
            s.recv(1)
            raise AssertionError("a connection below the limit was closed")
        except socket.timeout:
            pass
    for s in socks:
        s.close()
    deadline = time.time() + 10
    while True:
        try:
            if fetch(r, "/mail/config-v1.1.xml", host="autoconfig.example.com")[0] == 200:
                break
        except OSError:
            pass
        assert time.time() < deadline, "the address was not released"
        time.sleep(0.1)
    assert "http.max_connections_per_ip" in r.read_log()


def test_refused_certificate_logged_at_debug(roost_factory):
    """A client that refuses the certificate (Thunderbird's https autoconfig
    try against a self-signed one) sends no request; at log.level = debug
    the listener says why, as the mail listeners do."""
    import ssl
    r = roost_factory(log__level="debug")
    ctx = ssl.create_default_context()   # the system CAs: ours is not one
    with socket.create_connection(("127.0.0.1", r.port("https")), timeout=10) as s:
        try:
            ctx.wrap_socket(s, server_hostname="autoconfig.example.com")
            raise AssertionError("a self-signed certificate was accepted")
        except ssl.SSLCertVerificationError:
            pass
    deadline = time.time() + 5
    while "connection TLS handshake failed" not in r.read_log() and time.time() < deadline:
        time.sleep(0.05)
    line = [x for x in r.read_log().splitlines() if "connection TLS handshake failed" in x]
    assert line and "proto=https" in line[0] and "ip=127.0.0.1" in line[0], r.read_log()[-2000:]
    still_serving(r)
