"""`roost serve`: start-up, configuration errors, the one-daemon lock,
signals, the control socket, TLS with the generated certificate and the
switch to an unprivileged user."""
import os
import pwd
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import ROOST_BIN, Roost

# No strict-client proxy (conftest.py): these tests check the addresses the
# daemon itself listens on.
IMAP_STRICT = False

MSG = b"Subject: hello\n\nbody\n"


@pytest.fixture
def r(datadir):
    datadir.cli("init")
    datadir.cli("domain", "add", "example.com")
    datadir.add_user("alice@example.com")
    yield datadir
    if datadir.proc is not None:
        assert datadir.stop() == 0, datadir.read_log()


def serve_fails(r, *args, conf_line=None):
    """Run a serve that must fail at start-up; returns its stderr."""
    if conf_line is not None:
        with open(os.path.join(r.datadir, "roost.conf"), "a") as f:
            f.write(conf_line + "\n")
    p = subprocess.run([ROOST_BIN, "-d", r.datadir, "serve", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    assert p.returncode != 0
    return p.stderr.decode()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_starts_and_stops(r, sig):
    r.start(wait_for=())
    sock = os.path.join(r.datadir, "control.sock")
    assert stat.S_ISSOCK(os.stat(sock).st_mode)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    # the start-up line follows the control socket (serve.c log_startup),
    # and SIGTERM is handled only from then on
    deadline = time.time() + 10
    while "serving in" not in r.read_log() and time.time() < deadline:
        time.sleep(0.05)
    log = r.read_log()
    for proto in ("imap", "imaps", "pop3", "pop3s", "smtp", "lmtp"):
        assert "%s=127.0.0.1:%d" % (proto, r.port(proto)) in log
    assert r.stop(sig) == 0
    assert "shutdown: done" in r.read_log()
    assert not os.path.exists(sock)


def test_second_serve_refused(r):
    r.start(wait_for=())
    other = Roost(r.datadir)
    other.logfile = r.datadir + ".second.log"
    err = serve_fails(other, "--set", "imap.listen=", "--set", "imaps.listen=",
                      "--set", "pop3.listen=", "--set", "pop3s.listen=",
                      "--set", "smtp.listen=", "--set", "lmtp.listen=")
    assert "already running" in err
    assert r.proc.poll() is None
    r.cli("user", "list")


def test_unknown_key_in_config(r):
    err = serve_fails(r, conf_line="bogus.key = 1")
    assert "bogus.key" in err and len(err.splitlines()) == 1


def test_bad_value_in_config(r):
    err = serve_fails(r, conf_line="imap.timeout = forever")
    assert "imap.timeout" in err


@pytest.mark.parametrize("arg,key", [("nope.nope=1", "nope.nope"),
                                     ("quota.storage=12X", "quota.storage"),
                                     ("imap.listen=localhost", "imap.listen")])
def test_bad_set(r, arg, key):
    err = serve_fails(r, "--set", arg)
    assert key in err and len(err.splitlines()) == 1


def test_commands_go_through_the_daemon(r):
    r.start(wait_for=())
    r.deliver(MSG, "alice@example.com")
    assert "control: deliver: exit 0" in r.read_log()
    assert r.stop() == 0
    # stopped: the CLI works on the data directory itself
    r.deliver(MSG, "alice@example.com")
    assert r.users()["alice@example.com"][2] == 2


def test_concurrent_cli_commands(r):
    r.start(wait_for=())
    results = []

    def one(i):
        p = r.deliver(MSG + b"%d\n" % i, "alice@example.com", check=False)
        results.append(p.returncode)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [0] * 8
    assert r.users()["alice@example.com"][2] == 8


def test_control_socket_survives_garbage(r):
    r.start(wait_for=())
    path = os.path.join(r.datadir, "control.sock")
    for junk in (b"", b"GET / HTTP/1.0\r\n\r\n", b"ROST" + b"\xff" * 12,
                 b"ROST\x00\x00\x00\x01\xff\xff\xff\xff"):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        # the path can exceed sun_path: connect relative to the directory
        cwd = os.getcwd()
        os.chdir(r.datadir)
        try:
            s.connect("control.sock")
        finally:
            os.chdir(cwd)
        s.sendall(junk)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        s.close()
        if junk:
            assert b"bad request" in reply
    assert os.path.exists(path)
    assert r.cli("user", "list").stdout.startswith("alice@example.com\t")


def test_tls_with_generated_certificate(r):
    r.start(wait_for=("pop3s",))
    ctx = ssl.create_default_context(cafile=os.path.join(r.datadir, "tls/cert.pem"))
    with socket.create_connection(("127.0.0.1", r.port("pop3s")), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_server_user(tmp_path):
    """As root, server.user makes the daemon drop to that user after
    binding; otherwise the setting has no effect."""
    base = tempfile.mkdtemp(prefix="roost-user-")
    os.chmod(base, 0o755)  # the unprivileged user must reach the directory
    r = Roost(os.path.join(base, "var"), {"server__user": "nobody"})
    try:
        r.init()
        r.start(wait_for=("pop3",))
        if os.geteuid() == 0:
            # the ports accept before the switch: wait for it
            deadline = time.time() + 15
            while "running as user nobody" not in r.read_log() and time.time() < deadline:
                time.sleep(0.05)
        with open("/proc/%d/status" % r.proc.pid) as f:
            uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
        nobody = pwd.getpwnam("nobody").pw_uid
        if os.geteuid() == 0:
            assert int(uid) == nobody
            assert os.stat(owned_file(r)).st_uid == nobody
        else:
            assert int(uid) == os.geteuid()
        r.deliver(MSG, "alice@example.com")
        assert r.users()["alice@example.com"][2] == 1
        assert r.stop() == 0, r.read_log()
    finally:
        if r.proc is not None:
            r.stop()
        shutil.rmtree(base, ignore_errors=True)


def owned_file(r):
    """A file the daemon must own after the drop: the SQLite database, or
    (the store in PostgreSQL) the TLS key, which it also writes (ACME)."""
    if r.pg_dbname is None:
        return os.path.join(r.datadir, "roost.db")
    return os.path.join(r.datadir, "tls", "key.pem")


def serving_uid(proc):
    with open("/proc/%d/status" % proc.pid) as f:
        return int([l.split()[1] for l in f if l.startswith("Uid:")][0])


def test_default_drops_to_roost_user():
    """Without server.user, `serve` started as root runs as the system user
    roost (scripts/deps.sh creates it) and still delivers and serves."""
    base = tempfile.mkdtemp(prefix="roost-default-user-")
    os.chmod(base, 0o755)  # the roost user must reach the directory
    r = Roost(os.path.join(base, "var"), stay_root=False)
    try:
        r.init()
        r.start(wait_for=("imap", "lmtp"))
        if os.geteuid() == 0:
            # the ports accept before the switch: wait for it
            deadline = time.time() + 15
            while "running as user roost" not in r.read_log() and time.time() < deadline:
                time.sleep(0.05)
            roost_uid = pwd.getpwnam("roost").pw_uid
            assert serving_uid(r.proc) == roost_uid
            assert os.stat(owned_file(r)).st_uid == roost_uid
            assert "running as user roost" in r.read_log()
        else:
            assert serving_uid(r.proc) == os.geteuid()
        # a delivery over LMTP: the store written by the roost user
        s = socket.create_connection(("127.0.0.1", r.port("lmtp")), timeout=10)
        f = s.makefile("rb")
        assert f.readline().startswith(b"220")
        s.sendall(b"LHLO test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        s.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n")
        assert f.readline().startswith(b"250")
        assert f.readline().startswith(b"250")
        assert f.readline().startswith(b"354")
        s.sendall(b"Subject: as roost\r\n\r\nhello\r\n.\r\nQUIT\r\n")
        assert f.readline().startswith(b"250"), r.read_log()
        s.close()
        # and served: IMAP login and FETCH
        import imaplib
        m = imaplib.IMAP4("127.0.0.1", r.port("imap"))
        m.login("alice@example.com", "secret")
        m.select("INBOX")
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK" and b"as roost" in data[0][1]
        m.logout()
        # root's CLI beside the roost daemon: commands through the control
        # socket, a live check, and the daemon still writes afterwards
        r.add_user("bob@example.com")
        r.cli("check")
        r.deliver(MSG, "bob@example.com")
        assert r.users()["bob@example.com"][2] == 1
        assert r.stop() == 0, r.read_log()
    finally:
        if r.proc is not None:
            r.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_default_user_needs_a_reachable_datadir(r):
    """The data directory under a directory roost cannot search: the default
    drop fails at start with a message that says so, not at first use."""
    if os.geteuid() != 0:
        return  # a serve not started as root never switches user
    err = serve_fails(r, "--set", "imap.listen=127.0.0.1:0", "--set", "imaps.listen=",
                      "--set", "pop3.listen=", "--set", "pop3s.listen=",
                      "--set", "smtp.listen=", "--set", "lmtp.listen=",
                      "--set", "submission.listen=", "--set", "submissions.listen=",
                      "--set", "http.listen=", "--set", "https.listen=")
    assert "cannot use the data directory" in err, err


def test_root_is_explicit_and_warned(roost):
    """server.user = root (the fixtures' setting) stays root, with a warning."""
    if os.geteuid() == 0:
        assert serving_uid(roost.proc) == 0
        assert "running as root (server.user = root)" in roost.read_log()


def test_sigterm_closes_open_sessions(r):
    r.start(wait_for=("pop3",))
    s = socket.create_connection(("127.0.0.1", r.port("pop3")), timeout=10)
    assert s.recv(1024).startswith(b"+OK")
    t0 = time.time()
    r.proc.send_signal(signal.SIGTERM)
    rc = r.proc.wait(timeout=15)
    r.proc = None
    r.log.close()
    assert rc == 0
    assert time.time() - t0 < 8  # bounded drain (5 s at most)
    # the session was closed, not left hanging
    rest = b""
    while True:
        chunk = s.recv(1024)
        if not chunk:
            break
        rest += chunk
    s.close()
