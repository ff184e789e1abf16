"""The fail2ban filter (contrib/fail2ban/filter.d/roost.conf) run by Debian's
fail2ban-regex over this daemon's own log, in both log.format = text and
json: every failed IMAP, POP3 and submission login matches with the
client's address (a user name that tries to plant another address does
not move it); successful logins never match, and they carry method= and
tls= (the mechanism and the TLS version, or none)."""
import ast
import base64
import imaplib
import os
import poplib
import re
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

FILTER = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "contrib",
                                      "fail2ban", "filter.d", "roost.conf"))
ALICE = "alice@example.com"


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def imap_fail(port, src, user, password="wrong"):
    s = socket.create_connection(("127.0.0.1", port), source_address=(src, 0))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a LOGIN " + user + b" " + password.encode() + b"\r\n")
    line = f.readline()
    s.close()
    return line


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_filter_matches_failures_in_both_formats(roost_factory, fmt):
    r = roost_factory(log__format=fmt, auth__fail_delay="10ms", auth__fail_delay_max="20ms")
    assert imap_fail(r.listen_port("imap"), "127.15.0.1", ALICE.encode()).startswith(b"a NO")
    assert imap_fail(r.listen_port("imap"), "127.15.0.2",
                     b'"x\\" ip=192.0.2.66 \\"y"').startswith(b"a NO")
    # POP3
    s = socket.create_connection(("127.0.0.1", r.port("pop3")), source_address=("127.15.0.3", 0))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"USER bob@example.com\r\nPASS wrong\r\n")
    f.readline()
    assert f.readline().startswith(b"-ERR")
    s.close()
    # submission AUTH PLAIN (plaintext is allowed on loopback)
    s = socket.create_connection(("127.0.0.1", r.port("submission")),
                                 source_address=("127.15.0.4", 0))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO client.example\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    ir = base64.b64encode(b"\0carol@example.com\0wrong")
    s.sendall(b"AUTH PLAIN " + ir + b"\r\n")
    assert f.readline().startswith(b"535"), "submission AUTH should fail"
    s.close()
    # successes: never matched; they say how and over what
    c = imaplib.IMAP4("127.0.0.1", r.port("imap"))
    c.login(ALICE, "secret")
    c.logout()
    c = imaplib.IMAP4_SSL("127.0.0.1", r.listen_port("imaps"), ssl_context=tls_context())
    c.authenticate("PLAIN", lambda _: ("\0%s\0secret" % ALICE).encode())
    c.logout()
    p = poplib.POP3("127.0.0.1", r.port("pop3"))
    p.user(ALICE)
    p.pass_("secret")
    p.quit()
    with smtplib.SMTP("127.0.0.1", r.port("submission")) as sm:
        sm.login(ALICE, "secret")
    time.sleep(0.3)

    log = open(r.logfile, encoding="utf-8", errors="replace").read()
    if fmt == "json":
        assert log.lstrip().startswith("{")
        logins = re.findall(r'"proto":"(\w+)".*"msg":"login user=\S+ method=(\S+) tls=([^" ]+)', log)
    else:
        logins = re.findall(r"proto=(\w+) session=\S+ ip=\S+ login user=\S+ method=(\S+) tls=(\S+)",
                            log)
    assert ("imap", "LOGIN", "none") in logins, logins
    assert ("imap", "PLAIN", "TLSv1.3") in logins or ("imap", "PLAIN", "TLSv1.2") in logins, logins
    assert ("pop3", "USER", "none") in logins, logins
    assert any(p == "submission" and m in ("PLAIN", "LOGIN") for p, m, t in logins), logins

    p = subprocess.run(["fail2ban-regex", "-o", "row", r.logfile, FILTER],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    rows = [ast.literal_eval(line.rstrip(",")) for line in p.stdout.decode().splitlines()
            if line.startswith("[")]
    found = sorted((row[0], row[2]["user"]) for row in rows)
    ips = [ip for ip, _ in found]
    assert ips == ["127.15.0.1", "127.15.0.2", "127.15.0.3", "127.15.0.4"], found
    users = dict(found)
    assert users["127.15.0.1"] == ALICE
    assert "192.0.2.66" in users["127.15.0.2"]       # in the user, not the address
    assert users["127.15.0.3"] == "bob@example.com"
    assert users["127.15.0.4"] == "carol@example.com"
