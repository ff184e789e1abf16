"""`roost init` profiles: the default keeps every listener on loopback
high ports; `--hostname NAME` writes the production profile (standard
ports on every address, server.hostname, ACME on, the privilege drop left
on)."""
import os
import subprocess

from conftest import ROOST_BIN, Roost
from http_util import fetch

STANDARD = {
    "smtp.listen": "*:25", "submission.listen": "*:587", "submissions.listen": "*:465",
    "imap.listen": "*:143", "imaps.listen": "*:993", "pop3.listen": "*:110",
    "pop3s.listen": "*:995", "http.listen": "*:80", "https.listen": "*:443",
    "managesieve.listen": "*:4190", "tls.acme": "yes",
}


def active_settings(path):
    """key -> value of the uncommented lines (a later line wins, as in roost)."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                out[k.strip()] = v.strip()
    return out


def commented_defaults(path):
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") and " = " in line and "." in line.split(" = ")[0]:
                k, _, v = line[1:].partition(" = ")
                out[k.strip()] = v.strip()
    return out


def test_default_init_stays_on_loopback(tmp_path):
    d = tmp_path / "var"
    subprocess.run([ROOST_BIN, "-d", str(d), "init"], check=True, capture_output=True)
    conf = d / "roost.conf"
    assert active_settings(conf) == {}
    defaults = commented_defaults(conf)
    for key in STANDARD:
        if not key.endswith(".listen"):
            continue
        host, _, port = defaults[key].rpartition(":")
        assert host == "127.0.0.1" and int(port) > 1024, (key, defaults[key])
    assert defaults["server.user"] == "roost"
    assert defaults["tls.acme"] == "no"          # no CA is asked without a host name


def test_production_profile(tmp_path):
    d = tmp_path / "var"
    p = subprocess.run([ROOST_BIN, "-d", str(d), "init", "--hostname", "mail.example.com"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "mail.example.com" in p.stdout
    got = active_settings(d / "roost.conf")
    assert got == dict(STANDARD, **{"server.hostname": "mail.example.com"})
    # the privilege drop stays on: server.user is not overridden
    assert "server.user" not in got
    assert commented_defaults(d / "roost.conf")["server.user"] == "roost"
    # roost reads the file it wrote (every key valid)
    subprocess.run([ROOST_BIN, "-d", str(d), "domain", "add", "example.com"], check=True)

    # served (on loopback test ports, which --set puts over the profile's,
    # and without ACME: no CA is reachable from here; test_acme.py runs it
    # against pebble): the profile's server.hostname is what clients are told
    r = Roost(d, settings={"tls__acme": "no"})
    r.start()
    try:
        status, _, body = fetch(r, "/mail/config-v1.1.xml?emailaddress=a%40example.com",
                                host="autoconfig.example.com")
        assert status == 200
        assert b"<hostname>mail.example.com</hostname>" in body
    finally:
        assert r.stop() == 0


def test_bad_hostname_refused(tmp_path):
    d = tmp_path / "var"
    for bad in ("bad host", "localhost", "-x.example.com", ""):
        p = subprocess.run([ROOST_BIN, "-d", str(d), "init", "--hostname", bad],
                           capture_output=True, text=True)
        assert p.returncode != 0 and "--hostname" in p.stderr
        assert not (d / "roost.conf").exists()
    p = subprocess.run([ROOST_BIN, "-d", str(d), "init", "--bogus"], capture_output=True)
    assert p.returncode != 0


UNIT = os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "systemd", "roost.service")


def test_systemd_unit_verifies(tmp_path):
    """systemd-analyze accepts every directive of the unit (it prints a
    line for any it cannot parse), with ExecStart pointing at our build."""
    text = open(UNIT).read()
    for directive in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID",
                      "NoNewPrivileges=yes", "ProtectSystem=strict",
                      "ReadWritePaths=/var/lib/roost", "CapabilityBoundingSet=",
                      "SystemCallFilter=@system-service", "RestrictAddressFamilies="):
        assert directive in text, directive
    unit = tmp_path / "roost.service"
    unit.write_text(text.replace("/usr/local/bin/roost", os.path.abspath(ROOST_BIN)))
    p = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0 and p.stderr.strip() == "", p.stderr
    # the check is real: a broken directive is reported
    bad = tmp_path / "bad.service"
    bad.write_text(unit.read_text().replace("Type=notify", "Type=nonsense"))
    p = subprocess.run(["systemd-analyze", "verify", str(bad)], capture_output=True,
                       text=True, timeout=60)
    assert "nonsense" in p.stderr
