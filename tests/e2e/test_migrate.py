"""`roost migrate imap://...` and `roost import dovecot`: a real private
Dovecot on loopback (its own config in a temp dir, passwd-file, maildir)
filled over IMAP, then moved into Roost: UIDVALIDITY, UIDs, flags,
keywords, internal dates and subscriptions the same on both sides, POP3
UIDLs the same as Dovecot's own; reruns add nothing or only new mail.
Also: migrating from another Roost, and a hostile server (a literal over
message.max_size, an endless line) failing cleanly."""
import imaplib
import os
import poplib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import ROOST_BIN, free_port

DOVECOT_CONF = """
protocols = imap pop3
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
instance_name = roosttest-{imap}
log_path = {dir}/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:~/Maildir{layout}
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login
ssl = no
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/users
  default_fields = home={dir}/mail/%d/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
  }}
}}
{extra}
"""

USER = "old@example.org"


class Dovecot:
    def __init__(self, layout="", extra=""):
        self.dir = tempfile.mkdtemp(prefix="roost-dovecot-")
        os.chmod(self.dir, 0o755)
        self.imap, self.pop3 = free_port(), free_port()
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dir, sub))
        shutil.chown(os.path.join(self.dir, "mail"), "nobody", "nogroup")
        with open(os.path.join(self.dir, "users"), "w") as f:
            f.write("%s:{PLAIN}oldpass::::::\n" % USER)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(dir=self.dir, imap=self.imap, pop3=self.pop3,
                                        layout=layout, extra=extra))
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.imap), 0.5).close()
                socket.create_connection(("127.0.0.1", self.pop3), 0.5).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("dovecot did not start: " + self.log())
                time.sleep(0.1)

    def log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log")) as f:
                return f.read()
        except OSError:
            return ""

    def maildir(self):
        return os.path.join(self.dir, "mail", "example.org", "old", "Maildir")

    def client(self):
        c = imaplib.IMAP4("127.0.0.1", self.imap)
        c.login(USER, "oldpass")
        return c

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def dovecot():
    d = Dovecot()
    yield d
    d.stop()


@pytest.fixture
def dovecot_fs():
    """The same with mail_location = maildir:~/Maildir:LAYOUT=fs."""
    d = Dovecot(":LAYOUT=fs")
    yield d
    d.stop()


def msg(i, extra=b""):
    return (b"From: a@example.org\r\nTo: old@example.org\r\nSubject: m%d\r\n"
            b"Message-ID: <m%d@example.org>\r\n\r\nbody %d\r\n" % (i, i, i)) + extra


def fill(c):
    """INBOX: 6 messages, 2 expunged (UID gaps); Work/Projects: 3 messages;
    flags and keywords; subscriptions of Work and Work/Projects."""
    c.create("Work")
    c.create("Work/Projects")
    c.subscribe("Work/Projects")
    dates = ['"01-Feb-2020 10:00:00 +0000"', '"15-Mar-2021 08:30:00 +0200"']
    for i in range(6):
        c.append("INBOX", "(\\Seen $Label%d)" % (i % 2) if i % 2 else "()",
                 dates[i % 2], msg(i))
    for i in range(3):
        c.append("Work/Projects", "(\\Flagged Urgent)" if i == 1 else "(\\Answered)",
                 dates[0], msg(100 + i))
    c.select("INBOX")
    c.uid("STORE", "2,4", "+FLAGS.SILENT", "(\\Deleted)")
    c.expunge()
    c.uid("STORE", "5", "+FLAGS.SILENT", "(\\Flagged Later)")


def state(port, user, password, names=None):
    """{mailbox: (uidvalidity, {uid: (flags, internaldate, body)})}."""
    c = imaplib.IMAP4("127.0.0.1", port)
    c.login(user, password)
    out = {}
    _, boxes = c.list()
    for line in boxes:
        name = line.decode().rsplit(' "/" ', 1)[1].strip('"')
        if "\\Noselect" in line.decode() or (names is not None and name not in names):
            continue
        c.select('"%s"' % name, readonly=True)
        uv = int(c.response("UIDVALIDITY")[1][0])
        msgs = {}
        _, data = c.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta = item[0].decode()
            uid = int(re.search(r"UID (\d+)", meta).group(1))
            flags = set(re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split())
            flags.discard("\\Recent")
            date = re.search(r'INTERNALDATE "([^"]+)"', meta).group(1)
            msgs[uid] = (flags, imaplib.Internaldate2tuple(
                ('INTERNALDATE "%s"' % date).encode()), item[1])
        out[name] = (uv, msgs)
    _, subs = c.lsub()
    c.logout()
    out["@subscribed"] = {s.decode().rsplit(' "/" ', 1)[1].strip('"') for s in subs if s}
    return out


def pop3_uidls(port, user, password):
    p = poplib.POP3("127.0.0.1", port)
    p.user(user)
    p.pass_(password)
    _, lines, _ = p.uidl()
    p.quit()
    return [l.split()[1] for l in lines]


def migrate(roost, dovecot_port, *extra, check=True, url=None):
    env = dict(os.environ, ROOST_MIGRATE_PASSWORD="oldpass")
    url = url or "imap://old%%40example.org@127.0.0.1:%d" % dovecot_port
    p = subprocess.run([ROOST_BIN, "-d", roost.datadir, "migrate", *extra, url,
                        "alice@example.com"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    out = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    if check:
        assert p.returncode == 0, out
    return p.returncode, out[0], out[1]


def same_as_source(src, dst, names):
    for name in names:
        assert name in dst, (name, dst.keys())
        assert dst[name][0] == src[name][0], name            # UIDVALIDITY
        assert dst[name][1] == src[name][1], name            # UIDs, flags, dates, bytes
    assert src["@subscribed"] <= dst["@subscribed"]


def test_migrate_from_dovecot_keeps_ids_and_resumes(roost, dovecot):
    c = dovecot.client()
    fill(c)
    c.logout()
    names = ["INBOX", "Work", "Work/Projects"]
    src = state(dovecot.imap, USER, "oldpass", names)
    assert sorted(src["INBOX"][1]) == [1, 3, 5, 6]
    rc, out, err = migrate(roost, dovecot.imap)
    assert "migrated 7 messages" in out, (out, err)
    assert "offers no STARTTLS: the password goes in clear" in err
    assert re.search(r"verify\tINBOX\tsource 4 messages.*roost 4 messages.*same UIDs", out)
    dst = state(roost.port("imap"), "alice@example.com", "secret")
    same_as_source(src, dst, names)
    assert dst["INBOX"][1][5][0] == {"\\Flagged", "Later"}
    assert dst["INBOX"][1][6][0] == {"\\Seen", "$Label1"}
    # POP3: Roost's UIDLs are Dovecot's own
    assert pop3_uidls(roost.port("pop3"), "alice@example.com", "secret") == \
        pop3_uidls(dovecot.pop3, USER, "oldpass")
    # a rerun adds nothing
    rc, out, err = migrate(roost, dovecot.imap)
    assert "migrated 0 messages" in out and "7 already there" in out, out
    assert state(roost.port("imap"), "alice@example.com", "secret") == dst
    # new mail at the source: only it comes, with its UID
    c = dovecot.client()
    c.append("INBOX", "(\\Draft)", '"02-Jan-2022 00:00:00 +0000"', msg(50))
    c.logout()
    rc, out, err = migrate(roost, dovecot.imap)
    assert "migrated 1 messages" in out, out
    src = state(dovecot.imap, USER, "oldpass", names)
    dst = state(roost.port("imap"), "alice@example.com", "secret")
    same_as_source(src, dst, names)
    assert 7 in dst["INBOX"][1]
    # new mail on Roost takes a UID above the source's
    roost.deliver(msg(60), "alice@example.com")
    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login("alice@example.com", "secret")
    c.select("INBOX")
    _, d = c.uid("SEARCH", "ALL")
    c.logout()
    assert [int(x) for x in d[0].split()] == [1, 3, 5, 6, 7, 8]
    # a message deleted on Roost does not come back with the next rerun
    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login("alice@example.com", "secret")
    c.select("INBOX")
    c.uid("STORE", "3", "+FLAGS.SILENT", "(\\Deleted)")
    c.expunge()
    c.logout()
    rc, out, err = migrate(roost, dovecot.imap)
    assert "migrated 0 messages" in out, out
    assert "clean" in roost.cli("check").stdout


def test_migrate_into_nonempty_mailbox_gets_new_uids(roost, dovecot):
    c = dovecot.client()
    fill(c)
    c.logout()
    roost.deliver(msg(900), "alice@example.com")
    rc, out, err = migrate(roost, dovecot.imap)
    assert "INBOX: holds other messages" in out, out
    dst = state(roost.port("imap"), "alice@example.com", "secret")
    assert len(dst["INBOX"][1]) == 5
    # resumable all the same: nothing twice
    rc, out, err = migrate(roost, dovecot.imap)
    assert "migrated 0 messages" in out, out
    assert len(state(roost.port("imap"), "alice@example.com", "secret")["INBOX"][1]) == 5


def test_migrate_password_never_in_argv_and_wrong_password(roost, dovecot, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("wrong\n")
    p = subprocess.run([ROOST_BIN, "-d", roost.datadir, "migrate", "--password-file", str(pw),
                        "imap://old%%40example.org@127.0.0.1:%d" % dovecot.imap,
                        "alice@example.com"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, env={k: v for k, v in os.environ.items()
                                        if k != "ROOST_MIGRATE_PASSWORD"})
    assert p.returncode == 75 and b"LOGIN: NO" in p.stderr, p.stderr
    assert b"wrong" not in p.stderr
    p = subprocess.run([ROOST_BIN, "-d", roost.datadir, "migrate",
                        "imap://old@127.0.0.1:%d" % dovecot.imap, "alice@example.com"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                       env={k: v for k, v in os.environ.items()
                            if k != "ROOST_MIGRATE_PASSWORD"})
    assert p.returncode == 64 and b"no password" in p.stderr


@pytest.mark.parametrize("layout", ["maildir++", "fs"])
def test_import_dovecot_maildir_made_by_dovecot(roost, layout, request):
    dovecot = request.getfixturevalue("dovecot" if layout == "maildir++" else "dovecot_fs")
    c = dovecot.client()
    fill(c)
    # POP3 once so Dovecot has seen the mailbox in every way it would
    c.logout()
    dov_uidls = pop3_uidls(dovecot.pop3, USER, "oldpass")
    names = ["INBOX", "Work", "Work/Projects"]
    src = state(dovecot.imap, USER, "oldpass", names)
    if layout == "fs":
        assert os.path.isdir(os.path.join(dovecot.maildir(), "Work", "Projects", "cur"))
    else:
        assert os.path.isdir(os.path.join(dovecot.maildir(), ".Work.Projects", "cur"))
    p = roost.cli("import", "dovecot", "alice@example.com", dovecot.maildir())
    assert "imported 7 messages" in p.stdout, p.stdout + p.stderr
    dst = state(roost.port("imap"), "alice@example.com", "secret")
    for name in names:
        assert dst[name][0] == src[name][0], name
        # internal dates: Dovecot keeps them as the files' mtimes
        assert dst[name][1] == src[name][1], name
    assert src["@subscribed"] <= dst["@subscribed"]
    assert pop3_uidls(roost.port("pop3"), "alice@example.com", "secret") == dov_uidls
    p = roost.cli("import", "dovecot", "alice@example.com", dovecot.maildir())
    assert "imported 0 messages" in p.stdout and "7 already there" in p.stdout
    assert state(roost.port("imap"), "alice@example.com", "secret") == dst
    assert "clean" in roost.cli("check").stdout


def test_import_dovecot_kill9_then_rerun(datadir, tmp_path):
    """A generated dovecot-uidlist (the format Dovecot writes) with many
    messages; the import killed midway, the rerun finishes it: each UID
    exactly once, as in the uidlist."""
    datadir.init()
    md = tmp_path / "Maildir"
    for d in ("cur", "new", "tmp"):
        (md / d).mkdir(parents=True)
    n = 600
    lines = ["3 V1234567890 N%d G0123456789abcdef0123456789abcdef" % (3 * n + 5)]
    for i in range(n):
        base = "17000%05d.M%dP9.host" % (i, i)
        (md / "cur" / (base + ",S=30,W=31:2,S")).write_bytes(msg(i, b"x" * 2000))
        uid = 3 * i + 2
        ext = " P%s" % ("legacy%d" % i) if i % 5 == 0 else ""
        lines.append("%d%s W31 :%s,S=30,W=31" % (uid, ext, base))
    (md / "dovecot-uidlist").write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([ROOST_BIN, "-d", datadir.datadir, "import", "dovecot",
                             "alice@example.com", str(md)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    # killed once about a sixth of the messages are written (SQLite: WAL
    # growth; PostgreSQL: committed rows)
    wal = os.path.join(datadir.datadir, "roost.db-wal")

    def far_enough():
        if datadir.pg_dbname is not None:
            return datadir.sql("SELECT count(*) FROM messages")[0][0] >= 100
        return os.path.exists(wal) and os.path.getsize(wal) > 100 * 2100 * 2
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if far_enough():
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    p = datadir.cli("import", "dovecot", "alice@example.com", str(md))
    assert p.returncode == 0, p.stderr
    done = int(re.search(r"imported (\d+) messages", p.stdout).group(1))
    assert 0 < done < n, p.stdout
    datadir.start()
    c = imaplib.IMAP4("127.0.0.1", datadir.port("imap"))
    c.login("alice@example.com", "secret")
    typ, d = c.select("INBOX", readonly=True)
    assert int(c.response("UIDVALIDITY")[1][0]) == 1234567890
    assert int(d[0]) == n
    _, d = c.uid("SEARCH", "ALL")
    assert [int(x) for x in d[0].split()] == [3 * i + 2 for i in range(n)]
    c.logout()
    uidls = pop3_uidls(datadir.port("pop3"), "alice@example.com", "secret")
    assert uidls[0] == b"legacy0" and uidls[1] == b"%08x%08x" % (5, 1234567890)
    assert len(set(uidls)) == n


def test_migrate_kill9_then_rerun(roost, dovecot):
    c = dovecot.client()
    big = b"y" * 30000
    n = 400
    for i in range(n):
        c.append("INBOX", "(\\Seen)" if i % 3 == 0 else "()", None, msg(i, big))
    c.logout()
    env = dict(os.environ, ROOST_MIGRATE_PASSWORD="oldpass")
    proc = subprocess.Popen([ROOST_BIN, "-d", roost.datadir, "migrate",
                             "imap://old%%40example.org@127.0.0.1:%d" % dovecot.imap,
                             "alice@example.com"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    # killed once some messages are in
    r = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    r.login("alice@example.com", "secret")
    deadline = time.time() + 60
    while time.time() < deadline:
        _, d = r.status("INBOX", "(MESSAGES)")
        if int(re.search(rb"MESSAGES (\d+)", d[0]).group(1)) > 0:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    r.logout()
    rc, out, err = migrate(roost, dovecot.imap)
    assert "same UIDs" in out
    done = int(re.search(r"migrated (\d+) messages", out).group(1))
    assert 0 < done < n, out
    src = state(dovecot.imap, USER, "oldpass", ["INBOX"])
    dst = state(roost.port("imap"), "alice@example.com", "secret")
    same_as_source(src, dst, ["INBOX"])
    assert len(dst["INBOX"][1]) == n


def test_migrate_takes_pop3_uidls_from_the_pop3_server(roost, request):
    """--pop3: the old server's own UIDLs (here Dovecot with a non-default
    pop3_uidl_format, the file name) matched to the IMAP messages by their
    headers, as Dovecot's pop3-migration plugin does."""
    d = Dovecot(extra="pop3_uidl_format = %f")
    request.addfinalizer(d.stop)
    c = d.client()
    fill(c)
    c.append("INBOX", "()", None, msg(2))   # the same headers as UID 3: in order
    c.logout()
    theirs = pop3_uidls(d.pop3, USER, "oldpass")
    assert len(theirs) == 5 and not theirs[0].startswith(b"00000001")
    pop3_url = "pop3://old%%40example.org@127.0.0.1:%d" % d.pop3
    rc, out, err = migrate(roost, d.imap, "--allow-plaintext", "--pop3", pop3_url)
    assert "pop3: 5 UIDLs" in out, out
    assert pop3_uidls(roost.port("pop3"), "alice@example.com", "secret") == theirs
    names = ["INBOX", "Work", "Work/Projects"]
    same_as_source(state(d.imap, USER, "oldpass", names),
                   state(roost.port("imap"), "alice@example.com", "secret"), names)
    # the rerun knows them by those UIDLs: nothing twice
    rc, out, err = migrate(roost, d.imap, "--allow-plaintext", "--pop3", pop3_url)
    assert "migrated 0 messages" in out, out
    # without --pop3 the UIDLs would have been Dovecot's default form
    roost.add_user("bob@example.com")
    env = dict(os.environ, ROOST_MIGRATE_PASSWORD="oldpass")
    p = subprocess.run([ROOST_BIN, "-d", roost.datadir, "migrate",
                        "imap://old%%40example.org@127.0.0.1:%d" % d.imap, "bob@example.com"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0
    assert pop3_uidls(roost.port("pop3"), "bob@example.com", "secret") != theirs


def test_import_dovecot_into_nonempty_mailbox_gets_new_uids(roost, dovecot):
    c = dovecot.client()
    fill(c)
    c.logout()
    roost.deliver(msg(900), "alice@example.com")
    p = roost.cli("import", "dovecot", "alice@example.com", dovecot.maildir())
    assert "INBOX: holds other messages" in p.stdout, p.stdout
    assert "imported 7 messages" in p.stdout
    dst = state(roost.port("imap"), "alice@example.com", "secret")
    assert sorted(dst["INBOX"][1]) == [1, 2, 3, 4, 5]
    src = state(dovecot.imap, USER, "oldpass", ["Work/Projects"])
    assert dst["Work/Projects"] == src["Work/Projects"]     # that one was new: kept
    p = roost.cli("import", "dovecot", "alice@example.com", dovecot.maildir())
    assert "imported 0 messages" in p.stdout
    assert state(roost.port("imap"), "alice@example.com", "secret") == dst


def test_migrate_from_another_roost(roost_factory):
    old = roost_factory()
    new = roost_factory()
    for i in range(5):
        old.deliver(msg(i), "alice@example.com")
    c = imaplib.IMAP4("127.0.0.1", old.port("imap"))
    c.login("alice@example.com", "secret")
    c.create("Folder")
    c.subscribe("Folder")
    c.select("INBOX")
    c.uid("STORE", "2", "+FLAGS.SILENT", "(\\Deleted)")
    c.expunge()
    c.uid("STORE", "3", "+FLAGS.SILENT", "(\\Seen $Important)")
    c.copy("1,3", "Folder")
    c.logout()
    src = state(old.port("imap"), "alice@example.com", "secret")
    env = dict(os.environ, ROOST_MIGRATE_PASSWORD="secret")
    plain = "imap://alice%%40example.com@127.0.0.1:%d" % old.listen_port("imap")
    # imap:// takes STARTTLS when offered, and checks the certificate
    p = subprocess.run([ROOST_BIN, "-d", new.datadir, "migrate", plain, "alice@example.com"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 75 and b"TLS" in p.stderr, p.stderr
    p = subprocess.run([ROOST_BIN, "-d", new.datadir, "migrate", "--insecure", plain,
                        "alice@example.com"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 0, p.stderr
    assert b"in clear" not in p.stderr
    assert b"migrated 6 messages" in p.stdout, p.stdout
    dst = state(new.port("imap"), "alice@example.com", "secret")
    same_as_source(src, dst, ["INBOX", "Folder"])
    # the source is not Dovecot: its own UIDL form, which Roost would give
    assert pop3_uidls(new.port("pop3"), "alice@example.com", "secret") == \
        pop3_uidls(old.port("pop3"), "alice@example.com", "secret")
    # imaps://: the self-signed certificate is refused unless --insecure
    url = "imaps://alice%%40example.com@127.0.0.1:%d" % old.listen_port("imaps")
    p = subprocess.run([ROOST_BIN, "-d", new.datadir, "migrate", url, "alice@example.com"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 75 and b"TLS" in p.stderr, p.stderr
    old.deliver(msg(77), "alice@example.com")
    p = subprocess.run([ROOST_BIN, "-d", new.datadir, "migrate", "--insecure", url,
                        "alice@example.com"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr
    assert b"migrated 1 messages" in p.stdout, p.stdout
    same_as_source(state(old.port("imap"), "alice@example.com", "secret"),
                   state(new.port("imap"), "alice@example.com", "secret"), ["INBOX", "Folder"])


class FakeServer:
    """A hostile IMAP server: `script(conn, line)` answers each command."""

    def __init__(self, script):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.script = script
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(30)
        try:
            conn.sendall(b"* OK fake ready\r\n")
            f = conn.makefile("rb")
            for line in f:
                tag = line.split(b" ", 1)[0]
                if self.script(conn, tag, line) is False:
                    break
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.sock.close()


def hostile(conn, tag, line, mode):
    cmd = line.split(b" ")[1].upper()
    if cmd == b"LOGIN":
        conn.sendall(tag + b" OK logged in\r\n")
    elif cmd in (b"LIST", b"LSUB"):
        if cmd == b"LIST":
            conn.sendall(b'* LIST () "/" INBOX\r\n')
            # a name that would put CR LF into our next command
            conn.sendall(b'* LIST () "/" {14}\r\nx\r\nm9 DELETE y\r\n')
        conn.sendall(tag + b" OK done\r\n")
    elif cmd == b"EXAMINE" and mode == "examine-no":
        conn.sendall(tag + b" NO [NONEXISTENT] gone\r\n")
    elif cmd == b"EXAMINE":
        conn.sendall(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT 2] x\r\n"
                     + tag + b" OK [READ-ONLY] done\r\n")
    elif line.upper().startswith(tag + b" UID FETCH 1:*"):
        conn.sendall(b'* 1 FETCH (UID 1 FLAGS () INTERNALDATE "01-Jan-2020 00:00:00 +0000"'
                     b" RFC822.SIZE 10)\r\n" + tag + b" OK done\r\n")
    elif cmd == b"UID":
        if mode == "silent":
            time.sleep(10)
            return False
        if mode == "literal":
            conn.sendall(b"* 1 FETCH (UID 1 BODY[] {99999999999}\r\n" + b"x" * 65536)
            return False
        # an endless line
        chunk = b"* 1 FETCH (UID 1 X-" + b"a" * 65536
        for _ in range(64):
            conn.sendall(chunk)
        return False
    else:
        conn.sendall(tag + b" OK\r\n")


@pytest.mark.parametrize("mode", ["literal", "line", "examine-no", "silent"])
def test_migrate_hostile_server_fails_cleanly(roost, mode):
    srv = FakeServer(lambda conn, tag, line: hostile(conn, tag, line, mode))
    t0 = time.time()
    try:
        rc, out, err = migrate(roost, 0, "--timeout", "2", check=False,
                               url="imap://u@127.0.0.1:%d" % srv.port)
    finally:
        srv.close()
    if mode == "silent":
        assert rc == 75 and "2 s passed without data" in err, err
        assert time.time() - t0 < 9
        return
    assert "not 7-bit: skipped" in err
    if mode == "examine-no":
        # the folder is skipped and said so; the run goes on and fails at the end
        assert rc == 1 and "INBOX: EXAMINE: NO [NONEXISTENT] gone: skipped" in err, err
        assert "migrated 0 messages into 0 mailboxes" in out
        return
    assert rc == 75, (out, err)
    if mode == "literal":
        assert "larger than message.max_size" in err, err
    else:
        assert "line longer than" in err, err
    # the daemon and the store are fine
    p = roost.cli("check")
    assert p.returncode == 0


MBSYNCRC = """IMAPAccount old
Host 127.0.0.1
Port %d
User old@example.org
Pass oldpass
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account old

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns INBOX Work*
Create Near
Sync Pull
Expunge None
SyncState *
"""


def run_mbsync(tmp_path, port, maildir):
    cfg = tmp_path / "mbsyncrc"
    cfg.write_text(MBSYNCRC % (port, maildir, maildir))
    p = subprocess.run(["mbsync", "-c", str(cfg), "-a"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out
    return out


def local_files(maildir):
    return sorted(f for d, _, fs in os.walk(maildir) for f in fs
                  if os.path.basename(d) in ("cur", "new"))


def run_fetchmail(tmp_path, port):
    home = tmp_path / "fm"
    home.mkdir(exist_ok=True)
    rc = home / "fetchmailrc"
    rc.write_text('set no syslog\nset idfile "%s"\n'
                  'poll 127.0.0.1 service %d protocol POP3 uidl auth password\n'
                  '  user "old@example.org" there with password "oldpass" is "root" here\n'
                  "  options keep sslproto '' mda \"cat >> %s\"\n"
                  % (home / "fetchids", port, home / "delivered"))
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=str(home), FETCHMAILHOME=str(home))
    p = subprocess.run(["fetchmail", "-f", str(rc), "--nodetach", "-v"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    assert p.returncode in (0, 1), out
    got = (home / "delivered").read_bytes() if (home / "delivered").exists() else b""
    return p.returncode, len(re.findall(rb"^Subject: m\d+\r?$", got, re.M))


def test_mbsync_and_fetchmail_see_nothing_new_after_import_dovecot(roost, dovecot, tmp_path):
    """The point of keeping identifiers: an mbsync state and a fetchmail
    UIDL list made against Dovecot find no new message against Roost."""
    c = dovecot.client()
    fill(c)
    c.logout()
    maildir = tmp_path / "local"
    maildir.mkdir()
    run_mbsync(tmp_path, dovecot.imap, maildir)
    before = local_files(maildir)
    assert len(before) == 7
    rc, n = run_fetchmail(tmp_path, dovecot.pop3)
    assert rc == 0 and n == 4
    roost.cli("domain", "add", "example.org")
    roost.add_user("old@example.org", password="oldpass")
    roost.cli("import", "dovecot", "old@example.org", dovecot.maildir())
    out = run_mbsync(tmp_path, roost.port("imap"), maildir)
    assert "UIDVALIDITY" not in out, out
    assert local_files(maildir) == before
    rc, n = run_fetchmail(tmp_path, roost.port("pop3"))
    assert rc == 1 and n == 4      # 1: no mail
    # and a message new on Roost is seen as new by both
    roost.deliver(msg(70), "old@example.org")
    run_mbsync(tmp_path, roost.port("imap"), maildir)
    assert len(local_files(maildir)) == 8
    rc, n = run_fetchmail(tmp_path, roost.port("pop3"))
    assert rc == 0 and n == 5
