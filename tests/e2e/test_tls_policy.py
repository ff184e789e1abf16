"""TLS defaults (Mozilla "intermediate"): TLS 1.2 with ECDHE + AEAD suites
only, and TLS 1.3; older versions and CBC/SHA-1 suites refused; the tls.*
keys change the policy. Checked with `openssl s_client`, a real client that
can be told to offer exactly one version or suite."""
import subprocess

import pytest

from conftest import Roost


def s_client(port, *args):
    """Handshake with exactly the given options; (ok, output)."""
    # @SECLEVEL=0 lets the client offer what the server must refuse: the
    # refusal has to come from the server, not from the client's defaults.
    p = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
         "-servername", "localhost", *args],
        input=b"", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    out = p.stdout.decode(errors="replace")
    ok = p.returncode == 0 and "Cipher is (NONE)" not in out and "New, " in out
    return ok, out


def cipher_of(out):
    for line in out.splitlines():
        if "Cipher is" in line:
            return line.split("Cipher is")[1].strip()
    return None


@pytest.mark.parametrize("proto", ["imaps", "pop3s"])
def test_aead_suites_accepted(roost, proto):
    port = roost.port(proto)
    for suite in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                  "ECDHE-ECDSA-CHACHA20-POLY1305"):
        ok, out = s_client(port, "-tls1_2", "-cipher", suite)
        assert ok and cipher_of(out) == suite, out[-2000:]
    ok, out = s_client(port, "-tls1_3")
    assert ok and "TLSv1.3" in out, out[-2000:]


@pytest.mark.parametrize("suite", [
    "ECDHE-ECDSA-AES128-SHA",      # CBC with SHA-1: what main offered
    "ECDHE-ECDSA-AES256-SHA384",   # CBC
    "AES128-SHA",                  # static RSA key exchange, CBC, SHA-1
    "ECDHE-ECDSA-AES128-SHA256",   # CBC
])
def test_cbc_and_sha1_suites_refused(roost, suite):
    ok, out = s_client(roost.port("imaps"), "-tls1_2", "-cipher", suite + "@SECLEVEL=0")
    assert not ok, out[-2000:]
    assert "alert handshake failure" in out or "no shared cipher" in out, out[-2000:]


@pytest.mark.parametrize("flag", ["-tls1_1", "-tls1"])
def test_old_versions_refused(roost, flag):
    ok, out = s_client(roost.port("imaps"), flag, "-cipher", "DEFAULT@SECLEVEL=0")
    assert not ok, out[-2000:]
    # the server said no (protocol_version alert), the client did offer it
    assert "alert protocol version" in out or "unsupported protocol" in out, out[-2000:]


def test_release_buffers_and_starttls_share_the_policy(roost):
    # STARTTLS connections come from the same SSL_CTX: same refusal.
    ok, out = s_client(roost.port("imap"), "-starttls", "imap", "-tls1_2",
                       "-cipher", "ECDHE-ECDSA-AES128-SHA@SECLEVEL=0")
    assert not ok, out[-2000:]
    ok, out = s_client(roost.port("imap"), "-starttls", "imap", "-tls1_2",
                       "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert ok, out[-2000:]


def test_policy_is_configurable(roost_factory):
    r = roost_factory(tls__min_version="TLSv1.3")
    ok, out = s_client(r.port("imaps"), "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert not ok, out[-2000:]
    ok, out = s_client(r.port("imaps"), "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384")
    assert ok and "TLS_AES_256_GCM_SHA384" in out, out[-2000:]
    r2 = roost_factory(tls__ciphers="ECDHE-ECDSA-CHACHA20-POLY1305",
                       tls__ciphersuites="TLS_CHACHA20_POLY1305_SHA256")
    ok, out = s_client(r2.port("imaps"), "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert not ok, out[-2000:]
    ok, out = s_client(r2.port("imaps"), "-tls1_2")
    assert ok and cipher_of(out) == "ECDHE-ECDSA-CHACHA20-POLY1305", out[-2000:]
    ok, out = s_client(r2.port("imaps"), "-tls1_3")
    assert ok and "TLS_CHACHA20_POLY1305_SHA256" in out, out[-2000:]


def test_unusable_cipher_list_fails_start(tmp_path):
    r = Roost(tmp_path / "var", {"tls__ciphers": "NO-SUCH-CIPHER"})
    r.init()
    with pytest.raises(AssertionError) as e:
        r.start(wait_for=("imaps",))
    assert "tls.ciphers" in str(e.value)
