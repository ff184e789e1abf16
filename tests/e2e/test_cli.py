"""The `roost` admin command line: init, domain/user/alias/quota commands,
mailbox list, message get and deliver, with bad input.

Every test except the init ones runs twice: with the daemon stopped (the
CLI works on the data directory itself) and with `roost serve` running
(the CLI sends the command over the control socket).
"""
import os
import stat

import pytest

EX_USAGE, EX_DATAERR, EX_NOUSER, EX_TEMPFAIL, EX_NOPERM = 64, 65, 67, 75, 77

MSG = (b"From: bob@example.net\nTo: alice@example.com\nSubject: test\n\n"
       b"Hello with bare LF line endings.\n")


@pytest.fixture(params=["stopped", "running"])
def rs(request, datadir):
    """A data directory with example.com; the daemon running or not."""
    datadir.init_store()
    datadir.cli("domain", "add", "example.com")
    datadir.mode = request.param
    if request.param == "running":
        datadir.start(wait_for=())
    yield datadir
    if datadir.proc is not None:
        log = datadir.read_log()
        rc = datadir.stop()
        assert rc == 0, log
        assert "control: " in log, "commands did not go through the daemon:\n" + log


def set_config(r, **settings):
    """Append settings to roost.conf; restart a running daemon to apply."""
    with open(os.path.join(r.datadir, "roost.conf"), "a") as f:
        for k, v in settings.items():
            f.write("%s = %s\n" % (k.replace("__", "."), v))
    if r.proc is not None:
        assert r.stop() == 0, r.read_log()
        r.start(wait_for=())


def fails(p, code=None):
    """A failed command: non-zero (or `code`) and one line on stderr."""
    assert p.returncode != 0, p.stdout
    if code is not None:
        assert p.returncode == code, (p.returncode, p.stderr)
    err = p.stderr if isinstance(p.stderr, str) else p.stderr.decode()
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("roost: "), err
    return lines[0]


# --- init ------------------------------------------------------------

def test_init_creates_and_refuses_overwrite(datadir):
    datadir.cli("init")
    d = datadir.datadir
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    for f in ("roost.conf", "tls/cert.pem", "tls/key.pem"):
        assert os.path.isfile(os.path.join(d, f)), f
    assert stat.S_IMODE(os.stat(os.path.join(d, "tls/key.pem")).st_mode) == 0o600
    conf = open(os.path.join(d, "roost.conf"), "rb").read()
    assert b"#imap.listen = 127.0.0.1:1143" in conf
    datadir.cli("domain", "add", "example.com")
    line = fails(datadir.cli("init", check=False))
    assert "refusing" in line
    # nothing was touched
    assert open(os.path.join(d, "roost.conf"), "rb").read() == conf
    assert datadir.cli("domain", "list").stdout == "example.com\n"


def test_init_refuses_existing_database(datadir):
    datadir.cli("init")
    os.unlink(os.path.join(datadir.datadir, "roost.conf"))
    fails(datadir.cli("init", check=False))
    assert not os.path.exists(os.path.join(datadir.datadir, "roost.conf"))


def test_certificate_is_for_localhost(datadir):
    import ssl
    datadir.cli("init")
    cert = os.path.join(datadir.datadir, "tls/cert.pem")
    ctx = ssl.create_default_context(cafile=cert)
    assert ctx.cert_store_stats()["x509"] == 1
    info = ssl._ssl._test_decode_cert(cert)
    assert ("DNS", "localhost") in info["subjectAltName"]
    assert ("IP Address", "127.0.0.1") in info["subjectAltName"]


def test_not_a_data_directory(datadir):
    line = fails(datadir.cli("domain", "list", check=False), 1)
    assert "not a Roost data directory" in line and "init" in line


# --- usage -----------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["frobnicate"],
    ["domain"],
    ["domain", "rename", "a", "b"],
    ["domain", "add"],
    ["domain", "add", "a.com", "b.com"],
    ["user", "quota", "alice@example.com"],
    ["message", "get", "alice@example.com", "INBOX"],
    ["deliver"],
])
def test_bad_usage(rs, args):
    fails(rs.cli(*args, check=False), EX_USAGE)
    rs.cli("domain", "list")  # and the next good command works


def test_unknown_option(datadir):
    fails(datadir.cli("--frob", "help", check=False), EX_USAGE)


def test_help_and_version(datadir):
    out = datadir.cli("help").stdout
    for words in ("domain add", "user quota", "alias add", "mailbox list",
                  "message get", "deliver", "serve", "init"):
        assert words in out
    assert datadir.cli("version").stdout.startswith("roost ")


# --- domains, users, aliases, quotas -----------------------------------

def test_domains(rs):
    rs.cli("domain", "add", "Example.ORG")
    assert rs.cli("domain", "list").stdout.split() == ["example.com", "example.org"]
    fails(rs.cli("domain", "add", "example.org", check=False))
    fails(rs.cli("domain", "add", "bad domain", check=False))
    fails(rs.cli("domain", "add", "-x-.com", check=False))
    rs.cli("domain", "del", "example.org")
    assert rs.cli("domain", "list").stdout.split() == ["example.com"]
    fails(rs.cli("domain", "del", "example.org", check=False))


def test_users(rs):
    rs.add_user("alice@example.com", "pw one")
    rs.add_user("bob@example.com")
    users = rs.users()
    assert set(users) == {"alice@example.com", "bob@example.com"}
    assert users["alice@example.com"] == (str(1 << 30), 0, 0)
    # duplicates, unhosted domains, bad addresses, bad passwords
    fails(rs.cli("user", "add", "alice@example.com", input="x\n", check=False))
    fails(rs.cli("user", "add", "carol@nothosted.com", input="x\n", check=False))
    for bad in ("carol", "carol@", "@example.com", "ca rol@example.com",
                "carol@exa_mple.com", "car..ol@example.com"):
        fails(rs.cli("user", "add", bad, input="x\n", check=False))
    fails(rs.cli("user", "add", "carol@example.com", input="\n", check=False))
    fails(rs.cli("user", "add", "carol@example.com", input="", check=False))
    fails(rs.cli("user", "add", "carol@example.com", input="x" * 2000 + "\n",
                 check=False))
    assert set(rs.users()) == {"alice@example.com", "bob@example.com"}
    # passwd and del
    rs.cli("user", "passwd", "alice@example.com", input="pw two\n")
    fails(rs.cli("user", "passwd", "nobody@example.com", input="x\n", check=False))
    fails(rs.cli("user", "passwd", "alice@example.com", input="\n", check=False))
    rs.cli("user", "del", "bob@example.com")
    assert set(rs.users()) == {"alice@example.com"}
    fails(rs.cli("user", "del", "bob@example.com", check=False))


def test_passwd_changes_the_hash(rs):
    """user passwd stores a new yescrypt hash (seen through the database)."""
    rs.add_user("alice@example.com", "first")

    def hashes():
        rows = rs.sql("SELECT * FROM accounts")
        return [c for row in rows for c in row
                if isinstance(c, str) and c.startswith("$y$")]

    before = hashes()
    assert len(before) == 1
    rs.cli("user", "passwd", "alice@example.com", input="second\n")
    after = hashes()
    assert len(after) == 1 and after != before


def test_quota(rs):
    rs.add_user("alice@example.com")
    for arg, want in (("500M", str(500 << 20)), ("2G", str(2 << 30)),
                      ("unlimited", "unlimited"), ("1024", "1024"),
                      ("default", str(1 << 30))):
        rs.cli("user", "quota", "alice@example.com", arg)
        assert rs.users()["alice@example.com"][0] == want, arg
    rs.cli("user", "quota", "alice@example.com", "2G")
    for bad in ("12X", "-5", "", "1.5G", "M", "99999999999999999999"):
        fails(rs.cli("user", "quota", "alice@example.com", bad, check=False))
    fails(rs.cli("user", "quota", "nobody@example.com", "1G", check=False))
    assert rs.users()["alice@example.com"][0] == str(2 << 30)


def test_aliases(rs):
    rs.add_user("alice@example.com")
    rs.add_user("bob@example.com")
    rs.cli("alias", "add", "info@example.com", "alice@example.com")
    rs.cli("alias", "add", "info@example.com", "bob@example.com")
    rs.cli("alias", "add", "sales@example.com", "bob@example.com")
    lines = sorted(rs.cli("alias", "list").stdout.splitlines())
    assert lines == ["info@example.com\talice@example.com",
                     "info@example.com\tbob@example.com",
                     "sales@example.com\tbob@example.com"]
    fails(rs.cli("alias", "add", "bad alias", "alice@example.com", check=False))
    fails(rs.cli("alias", "add", "x@example.com", "not-an-address", check=False))
    rs.cli("alias", "del", "info@example.com", "bob@example.com")
    rs.cli("alias", "del", "sales@example.com")
    assert rs.cli("alias", "list").stdout == "info@example.com\talice@example.com\n"


# --- deliver ---------------------------------------------------------------

def inbox(r, addr):
    """{mailbox: (messages, unseen, bytes)}"""
    out = {}
    for line in r.cli("mailbox", "list", addr).stdout.splitlines():
        name, n, unseen, size = line.split("\t")
        out[name] = (int(n), int(unseen), int(size))
    return out


def test_deliver_and_message_get(rs):
    rs.add_user("alice@example.com")
    body = MSG + b"8-bit \xe9\xff and a NUL \x00 byte\r\nmixed endings\n"
    rs.deliver(body, "alice@example.com")
    boxes = inbox(rs, "alice@example.com")
    assert set(boxes) == {"INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"}
    assert boxes["INBOX"][:2] == (1, 1)
    got = rs.cli("message", "get", "alice@example.com", "INBOX", "1", binary=True).stdout
    # the stored message: trace header prefix, then the content unchanged
    assert got.endswith(body)
    assert got.startswith(b"Return-Path: <>")
    assert b"Delivered-To: alice@example.com" in got[:len(got) - len(body)]
    assert boxes["INBOX"][2] == len(got)
    users = rs.users()
    assert users["alice@example.com"][1:] == (len(got), 1)
    fails(rs.cli("message", "get", "alice@example.com", "INBOX", "2", check=False))
    fails(rs.cli("message", "get", "alice@example.com", "INBOX", "0", check=False))
    fails(rs.cli("message", "get", "alice@example.com", "INBOX", "x", check=False))
    fails(rs.cli("message", "get", "alice@example.com", "Nope", "1", check=False))
    fails(rs.cli("message", "get", "nobody@example.com", "INBOX", "1", check=False))


def test_user_list_matches_deliveries(rs):
    rs.add_user("alice@example.com")
    total = 0
    for i in range(5):
        rs.deliver(MSG + b"x" * (i * 1000), "alice@example.com")
    for uid in range(1, 6):
        total += len(rs.cli("message", "get", "alice@example.com", "INBOX",
                            str(uid), binary=True).stdout)
    assert rs.users()["alice@example.com"][1:] == (total, 5)
    assert inbox(rs, "alice@example.com")["INBOX"] == (5, 5, total)


def test_deliver_sender(rs):
    rs.add_user("alice@example.com")
    rs.cli("deliver", "-f", "bob@example.net", "alice@example.com", input=MSG)
    got = rs.cli("message", "get", "alice@example.com", "INBOX", "1").stdout
    assert got.startswith("Return-Path: <bob@example.net>")
    fails(rs.cli("deliver", "-f", "bad sender", "alice@example.com", input=MSG,
                 check=False), EX_USAGE)


def test_deliver_unknown_recipients(rs):
    rs.add_user("alice@example.com")
    for rcpt in ("nobody@example.com", "alice@nothosted.org", "not-an-address",
                 "a b@example.com"):
        fails(rs.deliver(MSG, rcpt, check=False), EX_NOUSER)
    # one bad recipient: nobody gets the message
    fails(rs.deliver(MSG, "alice@example.com", "nobody@example.com", check=False),
          EX_NOUSER)
    assert rs.users()["alice@example.com"][1:] == (0, 0)


def test_deliver_over_quota(rs):
    rs.add_user("alice@example.com")
    rs.add_user("bob@example.com")
    rs.cli("user", "quota", "alice@example.com", "1K")
    rs.deliver(MSG, "alice@example.com")
    before = rs.users()
    line = fails(rs.deliver(MSG + b"y" * 2000, "alice@example.com", check=False),
                 EX_NOPERM)
    assert "quota" in line
    # all or nothing: bob does not get it either
    fails(rs.deliver(MSG + b"y" * 2000, "bob@example.com", "alice@example.com",
                     check=False), EX_NOPERM)
    assert rs.users() == before
    set_config(rs, quota__overquota="temporary")
    fails(rs.deliver(MSG + b"y" * 2000, "alice@example.com", check=False), EX_TEMPFAIL)
    assert rs.users() == before


def test_deliver_too_large(rs):
    rs.add_user("alice@example.com")
    set_config(rs, message__max_size="1K")
    rs.deliver(b"Subject: ok\n\n" + b"z" * 900, "alice@example.com")
    line = fails(rs.deliver(b"Subject: big\n\n" + b"z" * 2000, "alice@example.com",
                            check=False), EX_DATAERR)
    assert "message.max_size" in line
    assert rs.users()["alice@example.com"][2] == 1


def test_deliver_routing(rs):
    """aliases, plus-addressing and the catch-all reach the right accounts."""
    for u in ("alice", "bob", "carol"):
        rs.add_user("%s@example.com" % u)
    rs.cli("alias", "add", "team@example.com", "alice@example.com")
    rs.cli("alias", "add", "team@example.com", "bob@example.com")

    def counts():
        return {a: v[2] for a, v in rs.users().items()}

    rs.deliver(MSG, "alice+news@example.com")
    assert counts() == {"alice@example.com": 1, "bob@example.com": 0,
                        "carol@example.com": 0}
    rs.deliver(MSG, "team@example.com")
    assert counts() == {"alice@example.com": 2, "bob@example.com": 1,
                        "carol@example.com": 0}
    # the same account reached twice gets one copy
    rs.deliver(MSG, "bob@example.com", "team@example.com", "BOB@Example.com")
    assert counts() == {"alice@example.com": 3, "bob@example.com": 2,
                        "carol@example.com": 0}
    fails(rs.deliver(MSG, "stranger@example.com", check=False), EX_NOUSER)
    rs.cli("alias", "add", "@example.com", "carol@example.com")
    rs.deliver(MSG, "stranger@example.com")
    assert counts()["carol@example.com"] == 1
    got = rs.cli("message", "get", "carol@example.com", "INBOX", "1").stdout
    assert "Delivered-To: stranger@example.com" in got
    rs.cli("alias", "del", "@example.com")
    fails(rs.deliver(MSG, "stranger@example.com", check=False), EX_NOUSER)


def tty_user_add(r, *lines):
    """`user add` with a terminal on stdin, answering each prompt."""
    import pty
    import select
    import subprocess
    from conftest import ROOST_BIN
    master, slave = pty.openpty()
    p = subprocess.Popen([ROOST_BIN, "-d", r.datadir, "user", "add", "tty@example.com"],
                         stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(slave)
    err, echoed = b"", b""
    try:
        for line in lines:
            prompts = err.count(b"password: ")
            while err.count(b"password: ") == prompts:
                ready, _, _ = select.select([p.stderr, master], [], [], 10)
                assert ready, "no prompt: %r" % err
                if p.stderr in ready:
                    chunk = os.read(p.stderr.fileno(), 1024)
                    assert chunk, "exited early: %r" % err
                    err += chunk
                if master in ready:
                    echoed += os.read(master, 1024)
            os.write(master, line + b"\n")
        rc = p.wait(timeout=30)
        err += p.stderr.read()
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                echoed += os.read(master, 1024)
            except OSError:
                pass
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
    return rc, err.decode(), echoed


def test_password_prompt_on_terminal(rs):
    rc, err, echoed = tty_user_add(rs, b"s3cret-A", b"s3cret-B")
    assert rc == 1 and "do not match" in err
    assert "tty@example.com" not in rs.users()
    rc, err, echoed = tty_user_add(rs, b"s3cret-A", b"s3cret-A")
    assert rc == 0, err
    assert err.count("password: ") == 2
    assert b"s3cret" not in echoed  # typed without echo
    assert "tty@example.com" in rs.users()


def test_store_backend_settings(datadir, tmp_path):
    """store.backend = postgresql: without store.postgresql every command
    says what is missing; `roost backup` refuses a PostgreSQL store (it
    copies SQLite files) before creating anything."""
    datadir.cli("init")
    conf = os.path.join(datadir.datadir, "roost.conf")
    with open(conf) as f:
        original = f.read()
    with open(conf, "a") as f:
        f.write("store.backend = postgresql\n")
    p = datadir.cli("user", "list", check=False)
    assert p.returncode != 0
    assert "store.backend = postgresql needs store.postgresql" in p.stderr
    with open(conf, "w") as f:
        f.write(original + "store.backend = postgresql\n"
                "store.postgresql = host=/nonexistent dbname=roost\n")
    dest = tmp_path / "backup"
    p = datadir.cli("backup", str(dest), check=False)
    assert p.returncode == 1
    assert "the store is in PostgreSQL" in p.stderr and "pg_dump" in p.stderr
    assert not dest.exists() and not os.path.exists(str(dest) + ".tmp")
    # a server that cannot be reached is a clear, temporary error
    p = datadir.cli("user", "list", check=False)
    assert p.returncode != 0 and "/nonexistent" in p.stderr, p.stderr
    p = datadir.cli("init", "--postgresql", "", check=False)
    assert p.returncode == 64 and "--postgresql" in p.stderr
