"""SIGHUP: the certificate is loaded again (new connections get the new
one, open ones carry on), live keys take effect, the others are logged
as needing a restart and keep their running value, so autoconfig never
names a port that is not served. And systemd's notify protocol."""
import imaplib
import os
import signal
import socket
import ssl
import subprocess
import time

from conftest import ROOST_BIN, Roost
from http_util import fetch


def peer_cert(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s) as t:
            return t.getpeercert(binary_form=True)


def new_cert(datadir, cn):
    tls = os.path.join(datadir, "tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=" + cn,
                    "-keyout", os.path.join(tls, "key.pem.new"),
                    "-out", os.path.join(tls, "cert.pem.new")],
                   check=True, capture_output=True)
    os.rename(os.path.join(tls, "key.pem.new"), os.path.join(tls, "key.pem"))
    os.rename(os.path.join(tls, "cert.pem.new"), os.path.join(tls, "cert.pem"))


def wait_log(r, text, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in r.read_log():
            return
        time.sleep(0.05)
    raise AssertionError("%r not in log: %s" % (text, r.read_log()))


def append_conf(r, line):
    with open(os.path.join(r.datadir, "roost.conf"), "a") as f:
        f.write(line + "\n")


def test_sighup_reloads_certificate_and_live_keys(roost):
    old_imaps, old_https = peer_cert(roost.port("imaps")), peer_cert(roost.port("https"))
    held = imaplib.IMAP4_SSL("127.0.0.1", roost.port("imaps"),
                             ssl_context=ssl._create_unverified_context())
    held.login("alice@example.com", "secret")
    new_cert(roost.datadir, "renewed.example.com")
    append_conf(roost, "http.metrics_allow = 10.9.9.0/24")
    append_conf(roost, "imap.timeout = 7m")
    roost.proc.send_signal(signal.SIGHUP)
    wait_log(roost, "reload: done")
    log = roost.read_log()
    assert "reload: http.metrics_allow = 10.9.9.0/24" in log
    assert "reload: imap.timeout changed to '7m': needs a restart" in log
    # new connections: the new certificate, on every TLS listener
    assert peer_cert(roost.port("imaps")) not in (old_imaps,)
    assert peer_cert(roost.port("https")) not in (old_https,)
    assert peer_cert(roost.port("imaps")) == peer_cert(roost.port("https"))
    # the open session was not dropped
    assert held.noop()[0] == "OK"
    held.logout()
    # the live key is live: loopback is no longer allowed
    assert fetch(roost, "/metrics")[0] == 403
    # the signed profile now carries the new certificate
    status, _, der = fetch(roost, "/apple/mail.mobileconfig?emailaddress=alice%40example.com")
    assert status == 200
    p = subprocess.run(["openssl", "pkcs7", "-inform", "DER", "-print_certs", "-noout"],
                       input=der, capture_output=True)
    assert b"renewed.example.com" in p.stdout


def test_listener_change_needs_restart_and_autoconfig_stays_true(tmp_path):
    r = Roost(tmp_path / "var")
    r.init()
    r.start()
    try:
        # (the listeners come from --set, which a reload keeps applying)
        append_conf(r, "server.hostname = changed.example.com")
        r.proc.send_signal(signal.SIGHUP)
        wait_log(r, "reload: done")
        log = r.read_log()
        assert "reload: server.hostname changed to 'changed.example.com': needs a restart" in log
        status, _, body = fetch(r, "/mail/config-v1.1.xml?emailaddress=alice%40example.com")
        assert status == 200
        assert b"<port>%d</port>" % r.port("imaps") in body
        assert b"changed.example.com" not in body
        # a broken file changes nothing
        append_conf(r, "imap.timeout = banana")
        r.proc.send_signal(signal.SIGHUP)
        wait_log(r, "nothing changed")
        assert fetch(r, "/mail/config-v1.1.xml?emailaddress=alice%40example.com")[0] == 200
    finally:
        assert r.stop() == 0


def test_sd_notify_ready_and_stopping(tmp_path):
    """Type=notify: READY=1 once every port is bound, STOPPING=1 at the end."""
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    os.environ["NOTIFY_SOCKET"] = path
    try:
        r = Roost(tmp_path / "var")
        r.init()
        r.start()
    finally:
        del os.environ["NOTIFY_SOCKET"]
    try:
        msg = sock.recv(4096).decode()
        assert "READY=1" in msg
        # by then the listeners accept
        im = imaplib.IMAP4("127.0.0.1", r.port("imap"))
        im.logout()
        r.proc.send_signal(signal.SIGHUP)
        got = sock.recv(4096).decode() + sock.recv(4096).decode()
        assert "RELOADING=1" in got and "READY=1" in got
    finally:
        assert r.stop() == 0
    assert "STOPPING=1" in sock.recv(4096).decode()
    sock.close()
