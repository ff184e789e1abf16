"""`roost store copy`: a SQLite store into an empty PostgreSQL database and
back, with everything a client sees kept (UIDVALIDITY, UIDNEXT,
HIGHESTMODSEQ, UIDs, flags, keywords, MODSEQs, EMAILID/THREADID, the
expunge log for QRESYNC, POP3 UIDLs, subscriptions, Sieve scripts); a
non-empty target and a running daemon are refused with nothing changed.
The store starts on SQLite whatever ROOST_TEST_STORE says: the copy goes
to the other backend and back."""
import hashlib
import imaplib
import os
import poplib
import re

from conftest import Roost, pg_cluster, pg_new_database
from imap_raw import Raw

ACCOUNTS = ("alice@example.com", "bob@example.com")
BOXES = ("INBOX", "Work", "Archive/2026")
SIEVE = b'require "fileinto";\r\nif header :contains "subject" "work" { fileinto "Work"; }\r\n'


def msg(i):
    return (b"From: s%d@example.org\r\nTo: x@example.com\r\nSubject: m%d\r\n"
            b"Message-ID: <m%d@example.org>\r\n\r\nbody %d\r\n" % (i, i, i, i))


def populate(r):
    for n, addr in enumerate(ACCOUNTS):
        for i in range(4):
            r.deliver(msg(10 * n + i), addr)
        c = imaplib.IMAP4("127.0.0.1", r.port("imap"))
        c.login(addr, "secret")
        c.create("Work")
        c.create("Archive/2026")
        c.subscribe("Work")
        c.append("Work", "(\\Seen $Project)", None, msg(100 + n))
        c.append("Work", "(\\Flagged)", None, msg(200 + n))
        c.append("Archive/2026", "(\\Answered $Old)", None, msg(300 + n))
        if n == 1:
            # more rows than one cursor FETCH (64) brings from PostgreSQL
            for i in range(70):
                c.append("Archive/2026", "(\\Seen)", None, msg(1000 + i))
        c.select("INBOX")
        c.uid("STORE", "1,3", "+FLAGS", "(\\Seen $Later)")
        c.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
        c.expunge()
        c.logout()


def imap_state(r):
    """Per account: STATUS and UID FETCH of every mailbox, subscriptions."""
    out = {}
    for addr in ACCOUNTS:
        c = imaplib.IMAP4("127.0.0.1", r.port("imap"))
        c.login(addr, "secret")
        for box in BOXES:
            typ, st = c.status('"%s"' % box, "(UIDVALIDITY UIDNEXT HIGHESTMODSEQ MESSAGES)")
            assert typ == "OK", st
            c.select('"%s"' % box, readonly=True)
            typ, data = c.uid("FETCH", "1:*", "(UID FLAGS MODSEQ EMAILID THREADID)")
            rows = sorted(re.sub(rb"^\d+ ", b"", d) for d in data if d)
            out[(addr, box)] = (st[0].split(b" ", 1)[1], rows)
        out[(addr, "LSUB")] = sorted(c.lsub()[1])
        c.logout()
    return out


def pop3_uidls(r, addr):
    p = poplib.POP3("127.0.0.1", r.port("pop3"), timeout=10)
    p.user(addr)
    p.pass_("secret")
    out = p.uidl()[1]
    p.quit()
    return out


def qresync_vanished(r, uidvalidity, modseq):
    c = Raw(r)
    assert c.cmd(b"ENABLE QRESYNC")[0] == b"* ENABLED QRESYNC\r\n"
    out = c.cmd(b"SELECT INBOX (QRESYNC (%d %d))" % (uidvalidity, modseq))
    c.close()
    assert out[-1].split()[1] == b"OK", out
    return [l for l in out if l.startswith(b"* VANISHED")]


def state(r, before_expunge):
    s = imap_state(r)
    for addr in ACCOUNTS:
        s[(addr, "UIDL")] = pop3_uidls(r, addr)
    s["sieve"] = (r.cli("sieve", "list", "bob@example.com").stdout,
                  r.cli("sieve", "get", "bob@example.com", "main", binary=True).stdout)
    s["vanished"] = qresync_vanished(r, *before_expunge)
    return s


def queue_list(r):
    """`roost queue list` without its ids (a copy numbers them anew)."""
    return [l.split("\t", 1)[1] for l in r.cli("queue", "list").stdout.splitlines()]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def conf(r):
    with open(os.path.join(r.datadir, "roost.conf")) as f:
        return f.read()


def tables(dbname):
    return pg_cluster().psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                             dbname=dbname).strip()


def test_copy_to_postgresql_and_back_keeps_what_clients_see(tmp_path):
    r = Roost(tmp_path / "var")
    try:
        r.cli("init")   # SQLite, whatever ROOST_TEST_STORE says
        r.cli("domain", "add", "example.com")
        for addr in ACCOUNTS:
            r.add_user(addr)
        r.cli("sieve", "put", "bob@example.com", "main", input=SIEVE)
        r.cli("sieve", "activate", "bob@example.com", "main")
        r.start()
        # the QRESYNC point before the expunges of populate()
        r.deliver(msg(99), "alice@example.com")
        c = Raw(r)
        out = c.cmd(b"SELECT INBOX")
        c.close()
        uv = int(re.search(rb"UIDVALIDITY (\d+)", b"".join(out)).group(1))
        hms = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"".join(out)).group(1))
        populate(r)
        before = state(r, (uv, hms))
        assert before["vanished"] == [b"* VANISHED (EARLIER) 2\r\n"]
        assert len(before[("bob@example.com", "UIDL")]) == 3

        # a running daemon: refused, nothing written to the database
        dbname = pg_new_database()
        ci = pg_cluster().conninfo_for(dbname, tcp=True)
        p = r.cli("store", "copy", "--to", "postgresql", ci, check=False)
        assert p.returncode == 1 and "a daemon is serving" in p.stderr, p.stderr
        assert tables(dbname) == "0"
        r.stop()
        # the outbound queue comes along
        r.cli("sendmail", "-f", "alice@example.com", "carol@remote.example", input=msg(400))
        r.cli("queue", "hold", "all")   # held: no daemon tries it (held is state too)
        queue = queue_list(r)
        assert len(queue) == 1 and "carol@remote.example" in queue[0], queue
        conf_before = conf(r)
        db_path = os.path.join(r.datadir, "roost.db")
        db_hash = sha256(db_path)

        # a database that is not empty: refused, roost.conf unchanged
        full = pg_new_database()
        pg_cluster().psql("CREATE TABLE other (a int)", dbname=full)
        p = r.cli("store", "copy", "--to", "postgresql",
                  pg_cluster().conninfo_for(full, tcp=True), check=False)
        assert p.returncode == 1 and "not empty" in p.stderr, p.stderr
        assert "nothing changed" in p.stderr
        assert conf(r) == conf_before and tables(full) == "1"

        out = r.cli("store", "copy", "--to", "postgresql", ci).stdout
        assert "2 accounts, " in out and " mailboxes, 83 messages, 1 queued" in out, out
        assert "left as it was" in out and db_path in out
        assert "store.backend = postgresql\nstore.postgresql = %s\n" % ci in conf(r)
        assert sha256(db_path) == db_hash   # the old store untouched
        r.pg_dbname = dbname
        assert r.cli("check").stdout.strip() == "clean"
        assert queue_list(r) == queue
        r.start()
        assert state(r, (uv, hms)) == before
        r.stop()

        # and back into a new DIR/roost.db
        p = r.cli("store", "copy", "--to", "sqlite", check=False)
        assert p.returncode == 1 and "exists" in p.stderr, p.stderr
        os.rename(db_path, db_path + ".before-pg")
        out = r.cli("store", "copy", "--to", "sqlite").stdout
        assert "2 accounts, " in out and " mailboxes, 83 messages" in out, out
        assert "\nstore.backend = sqlite\n" in conf(r)
        assert "\nstore.postgresql =" not in conf(r) and "in PostgreSQL" not in conf(r)
        assert not os.path.exists(os.path.join(r.datadir, "store-copy.tmp"))
        r.pg_dbname = None
        assert r.cli("check").stdout.strip() == "clean"
        # PostgreSQL's bytea renderings are text again in SQLite
        assert r.sql("SELECT DISTINCT typeof(envelope) FROM content_index") == [("text",)]
        assert queue_list(r) == queue
        r.start()
        assert state(r, (uv, hms)) == before
        # new ids never collide with copied ones: a new message takes UIDNEXT
        uidnext = int(re.search(rb"UIDNEXT (\d+)", before[("alice@example.com", "INBOX")][0])
                      .group(1))
        r.deliver(msg(500), "alice@example.com")
        c = imaplib.IMAP4("127.0.0.1", r.port("imap"))
        c.login("alice@example.com", "secret")
        c.select("INBOX", readonly=True)
        assert c.uid("SEARCH", "ALL")[1][0].split()[-1] == str(uidnext).encode()
        c.logout()
    finally:
        r.stop()


def test_failed_copy_leaves_the_target_unusable_and_the_config_alone(tmp_path):
    r = Roost(tmp_path / "var")
    r.cli("init")
    r.cli("domain", "add", "example.com")
    r.add_user("alice@example.com")
    r.deliver(msg(1), "alice@example.com")
    # an account whose domain is gone: its copy fails half way
    r.sql("INSERT INTO accounts (domain_id, address, pwhash, created)"
          " VALUES (99, 'eve@gone.example', 'x', 0)")
    conf_before = conf(r)
    dbname = pg_new_database()
    ci = pg_cluster().conninfo_for(dbname, tcp=True)
    p = r.cli("store", "copy", "--to", "postgresql", ci, check=False)
    assert p.returncode == 1, p.stderr
    assert "gone.example is not hosted" in p.stderr and "incomplete copy" in p.stderr
    assert "nothing changed" in p.stderr and conf(r) == conf_before
    # nothing of the copy committed; the schema is there, marked
    assert pg_cluster().psql("SELECT value FROM meta WHERE key = 'schema_version'",
                             dbname=dbname).strip() == "incomplete roost store copy"
    assert pg_cluster().psql("SELECT count(*) FROM accounts", dbname=dbname).strip() == "0"
    # no roost opens it, and a second try into it is refused
    other = Roost(tmp_path / "other")
    other.cli("init", "--postgresql", pg_cluster().conninfo_for(pg_new_database(), tcp=True))
    with open(os.path.join(other.datadir, "roost.conf"), "a") as f:
        f.write("store.postgresql = %s\n" % ci)
    p = other.cli("user", "list", check=False)
    assert p.returncode != 0 and "incomplete roost store copy" in p.stderr, p.stderr
    p = r.cli("store", "copy", "--to", "postgresql", ci, check=False)
    assert p.returncode == 1 and "not empty" in p.stderr, p.stderr
    assert r.cli("user", "list").stdout.startswith("alice@example.com")
