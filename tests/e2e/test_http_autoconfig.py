"""Client autoconfiguration over the daemon's HTTP and HTTPS listeners:
Thunderbird's autoconfig (the exact URLs Thunderbird requests), Outlook's
POX autodiscover, the PACC document and the signed Apple profile, each
checked against the ports and TLS modes the running daemon really serves."""
import json
import os
import plistlib
import subprocess
import xml.etree.ElementTree as ET

import pytest

from http_util import fetch

HOSTNAME = "mail.example.com"
AD_REQ_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
AD_NS = "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}"
AD_OUT_NS = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"


@pytest.fixture
def srv(roost_factory):
    return roost_factory(server__hostname=HOSTNAME)


def thunderbird_urls(roost, address):
    """What Thunderbird 115+ asks for an address at DOMAIN, in order
    (comm-central's FetchConfig: the autoconfig host, then the
    well-known path on the domain itself, https then http)."""
    q = "?emailaddress=" + address.replace("@", "%40")
    dom = address.split("@")[1]
    return [
        ("autoconfig." + dom, "/mail/config-v1.1.xml" + q, True),
        (dom, "/.well-known/autoconfig/mail/config-v1.1.xml" + q, True),
        ("autoconfig." + dom, "/mail/config-v1.1.xml" + q, False),
        (dom, "/.well-known/autoconfig/mail/config-v1.1.xml" + q, False),
    ]


def servers(root, tag):
    out = []
    for s in root.iter(tag):
        out.append({
            "type": s.get("type"),
            "hostname": s.findtext("hostname"),
            "port": int(s.findtext("port")),
            "socketType": s.findtext("socketType"),
            "username": s.findtext("username"),
            "authentication": s.findtext("authentication"),
        })
    return out


def check_clientconfig(body, roost, domain):
    root = ET.fromstring(body)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    prov = root.find("emailProvider")
    assert prov.get("id") == domain
    assert prov.findtext("domain") == domain
    incoming = servers(root, "incomingServer")
    outgoing = servers(root, "outgoingServer")
    want_in = [
        ("imap", roost.port("imaps"), "SSL"), ("imap", roost.listen_port("imap"), "STARTTLS"),
        ("pop3", roost.port("pop3s"), "SSL"), ("pop3", roost.port("pop3"), "STARTTLS"),
    ]
    assert [(s["type"], s["port"], s["socketType"]) for s in incoming] == want_in
    want_out = [("smtp", roost.port("submissions"), "SSL"),
                ("smtp", roost.port("submission"), "STARTTLS")]
    assert [(s["type"], s["port"], s["socketType"]) for s in outgoing] == want_out
    for s in incoming + outgoing:
        assert s["hostname"] == HOSTNAME
        assert s["username"] == "%EMAILADDRESS%"
        assert s["authentication"] == "password-cleartext"


def test_thunderbird_urls_http_and_https(srv):
    for host, path, tls in thunderbird_urls(srv, "alice@example.com"):
        status, headers, body = fetch(srv, path, host=host, tls=tls)
        assert status == 200, (host, path, tls, body)
        assert headers["Content-Type"].startswith("application/xml")
        check_clientconfig(body, srv, "example.com")


def test_thunderbird_with_curl(srv):
    """curl names the autoconfig host in the URL (SNI and Host both), as
    Thunderbird does; --resolve points it at the loopback listener."""
    port = srv.port("https")
    url = ("https://autoconfig.example.com:%d/mail/config-v1.1.xml"
           "?emailaddress=alice%%40example.com" % port)
    p = subprocess.run(["curl", "-sk", "--resolve", "autoconfig.example.com:%d:127.0.0.1" % port,
                        "-w", "\n%{http_code}", url], capture_output=True, timeout=30)
    body, _, code = p.stdout.rpartition(b"\n")
    assert code == b"200", p.stdout
    check_clientconfig(body, srv, "example.com")


def test_domain_from_host_without_address(srv):
    status, _, body = fetch(srv, "/mail/config-v1.1.xml", host="autoconfig.example.com")
    assert status == 200
    check_clientconfig(body, srv, "example.com")


def test_unknown_domain_is_404(srv):
    status, _, _ = fetch(srv, "/mail/config-v1.1.xml?emailaddress=bob%40elsewhere.org",
                         host="autoconfig.elsewhere.org")
    assert status == 404
    status, _, _ = fetch(srv, "/mail/config-v1.1.xml", host="autoconfig.elsewhere.org")
    assert status == 404
    status, _, _ = fetch(srv, "/.well-known/user-agent-configuration.json",
                         host="ua-auto-config.elsewhere.org")
    assert status == 404


def test_follows_live_listener_settings(roost_factory):
    """imaps and pop3s off, no submission on implicit TLS: the answer says so."""
    r = roost_factory(server__hostname=HOSTNAME, imaps__listen="", pop3s__listen="",
                      submissions__listen="")
    status, _, body = fetch(r, "/mail/config-v1.1.xml?emailaddress=alice%40example.com",
                            host="autoconfig.example.com")
    assert status == 200
    root = ET.fromstring(body)
    got = [(s["type"], s["port"], s["socketType"]) for s in servers(root, "incomingServer")]
    assert got == [("imap", r.listen_port("imap"), "STARTTLS"), ("pop3", r.port("pop3"), "STARTTLS")]
    got = [(s["type"], s["port"], s["socketType"]) for s in servers(root, "outgoingServer")]
    assert got == [("smtp", r.port("submission"), "STARTTLS")]


def test_hostile_address_escaped_or_refused(srv):
    # '&' is valid in a local part: it must come back escaped, the
    # document still well-formed, the value intact.
    srv.add_user("a&b@example.com")
    status, _, body = fetch(srv, "/autodiscover/autodiscover.xml",
                            data=autodiscover_request("a&amp;b@example.com"))
    assert status == 200
    assert b"a&amp;b@example.com" in body
    root = ET.fromstring(body)
    names = [e.text for e in root.iter(AD_OUT_NS + "LoginName")]
    assert names and all(n == "a&b@example.com" for n in names)
    status, _, body = fetch(srv, "/apple/mail.mobileconfig?emailaddress=a%26b%40example.com")
    assert status == 200
    # '<' and '"' are not: refused, and never echoed raw
    for q in ("x%3Cy%22%26z%40example.com", "%3Cscript%3E%40example.com"):
        for path in ("/mail/config-v1.1.xml?emailaddress=", "/apple/mail.mobileconfig?emailaddress=",
                     "/.well-known/user-agent-configuration.json?emailaddress="):
            status, _, body = fetch(srv, path + q, host="autoconfig.example.com")
            assert status == 400, (path, q)
            assert b"<" not in body and b'"' not in body
    status, _, body = fetch(srv, "/autodiscover/autodiscover.xml",
                            data=autodiscover_request("x&lt;y&quot;@example.com"))
    assert status == 400 and b"<" not in body


def autodiscover_request(address):
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<Autodiscover xmlns="%s"><Request><EMailAddress>%s</EMailAddress>'
            '<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/'
            'outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>'
            % (AD_REQ_NS, address)).encode()


@pytest.mark.parametrize("tls", [False, True])
def test_outlook_autodiscover(srv, tls):
    status, headers, body = fetch(srv, "/autodiscover/autodiscover.xml",
                                  host="autodiscover.example.com", tls=tls,
                                  data=autodiscover_request("alice@example.com"),
                                  headers={"Content-Type": "text/xml"})
    assert status == 200, body
    root = ET.fromstring(body)
    assert root.tag == AD_NS + "Autodiscover"
    account = root.find(AD_OUT_NS + "Response/" + AD_OUT_NS + "Account")
    assert account.findtext(AD_OUT_NS + "AccountType") == "email"
    assert account.findtext(AD_OUT_NS + "Action") == "settings"
    got = []
    for p in account.findall(AD_OUT_NS + "Protocol"):
        def t(name):
            return p.findtext(AD_OUT_NS + name)
        assert t("Server") == HOSTNAME
        assert t("LoginName") == "alice@example.com"
        got.append((t("Type"), int(t("Port")), t("SSL"), t("Encryption")))
    assert got == [
        ("IMAP", srv.port("imaps"), "on", "SSL"), ("IMAP", srv.listen_port("imap"), "on", "TLS"),
        ("POP3", srv.port("pop3s"), "on", "SSL"), ("POP3", srv.port("pop3"), "on", "TLS"),
        ("SMTP", srv.port("submissions"), "on", "SSL"),
        ("SMTP", srv.port("submission"), "on", "TLS"),
    ]


def test_autodiscover_unknown_domain_and_garbage(srv):
    status, _, _ = fetch(srv, "/autodiscover/autodiscover.xml",
                         data=autodiscover_request("bob@elsewhere.org"))
    assert status == 404
    status, _, _ = fetch(srv, "/autodiscover/autodiscover.xml", data=b"<nothing/>")
    assert status == 400


def test_pacc_document(srv):
    status, headers, body = fetch(srv, "/.well-known/user-agent-configuration.json",
                                  host="ua-auto-config.example.com", tls=True)
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    doc = json.loads(body)
    assert doc["protocols"]["imap"] == {"host": HOSTNAME, "port": srv.port("imaps"),
                                        "tls": "implicit"}
    assert doc["protocols"]["pop3"] == {"host": HOSTNAME, "port": srv.port("pop3s"),
                                        "tls": "implicit"}
    assert doc["protocols"]["smtp"] == {"host": HOSTNAME, "port": srv.port("submissions"),
                                        "tls": "implicit"}
    assert "password" in doc["authentication"]
    # the draft pins the bytes with a digest in DNS: they must be stable
    assert fetch(srv, "/.well-known/user-agent-configuration.json",
                 host="ua-auto-config.example.com", tls=True)[2] == body


def test_mobileconfig_signed_and_verifies(srv, tmp_path):
    status, headers, der = fetch(srv, "/apple/mail.mobileconfig?emailaddress=alice%40example.com",
                                 tls=True)
    assert status == 200
    assert headers["Content-Type"] == "application/x-apple-aspen-config"
    path = tmp_path / "p.mobileconfig"
    path.write_bytes(der)
    p = subprocess.run(["openssl", "smime", "-verify", "-noverify", "-inform", "DER",
                        "-in", str(path)], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert b"Verification successful" in p.stderr
    plist = plistlib.loads(p.stdout)
    assert plist["PayloadType"] == "Configuration"
    mail = plist["PayloadContent"][0]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAddress"] == "alice@example.com"
    assert mail["EmailAccountType"] == "EmailTypeIMAP"
    assert mail["IncomingMailServerHostName"] == HOSTNAME
    assert mail["IncomingMailServerPortNumber"] == srv.port("imaps")
    assert mail["IncomingMailServerUseSSL"] is True
    assert mail["OutgoingMailServerPortNumber"] == srv.port("submissions")
    # signed by the server's own certificate
    cert = subprocess.run(["openssl", "pkcs7", "-inform", "DER", "-in", str(path),
                           "-print_certs"], capture_output=True, timeout=30).stdout
    with open(os.path.join(srv.datadir, "tls", "cert.pem"), "rb") as f:
        own = f.read()
    body = lambda pem: b"".join(l for l in pem.splitlines() if l and not l.startswith(b"-----")
                                and b":" not in l)
    assert body(own) in body(cert)
    # same profile twice: same UUIDs (a re-install replaces, not adds)
    again = fetch(srv, "/apple/mail.mobileconfig?emailaddress=alice%40example.com")[2]
    path.write_bytes(again)
    p2 = subprocess.run(["openssl", "smime", "-verify", "-noverify", "-inform", "DER",
                         "-in", str(path)], capture_output=True, timeout=30)
    assert plistlib.loads(p2.stdout)["PayloadUUID"] == plist["PayloadUUID"]
    # one flipped byte of the signed content: verification fails
    i = der.index(b"com.apple.mail.managed")
    path.write_bytes(der[:i] + b"C" + der[i + 1:])
    p = subprocess.run(["openssl", "smime", "-verify", "-noverify", "-inform", "DER",
                        "-in", str(path)], capture_output=True, timeout=30)
    assert p.returncode != 0


def test_mobileconfig_needs_hosted_address(srv):
    assert fetch(srv, "/apple/mail.mobileconfig?emailaddress=bob%40elsewhere.org")[0] == 404
    assert fetch(srv, "/apple/mail.mobileconfig")[0] == 400


def test_access_log_line_at_info(srv):
    fetch(srv, "/mail/config-v1.1.xml?emailaddress=alice%40example.com",
          host="autoconfig.example.com")
    log = srv.read_log()
    assert ("proto=http ip=127.0.0.1 method=GET host=autoconfig.example.com "
            "path=/mail/config-v1.1.xml status=200") in log
