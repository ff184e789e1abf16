"""Schema upgrade of a data directory made by an older roost.

tests/data/schema-v1.sql is `sqlite3 roost.db .dump` of a small data
directory made by the roost of schema version 1 (two domains, accounts,
aliases, nested mailboxes, deliveries shared by two accounts, COPY,
flags and keywords, an expunge, a deleted mailbox and a deleted account).
The new roost opens it: it must first leave a backup of the old database
next to it, then upgrade it in place, keeping every message byte, UID,
UIDVALIDITY, MODSEQ and flag, and from then on never hand out an id at
or below the old maximum.
"""
import glob
import imaplib
import os
import re
import sqlite3

import pytest

from conftest import Roost

# the schema version this roost writes (SCHEMA_VERSION, store-schema.c)
SCHEMA_VERSION = 8

DUMP = os.path.join(os.path.dirname(__file__), "..", "data", "schema-v1.sql")
PASSWORD = "secret"     # every account of the dump
FLAG_NAMES = [(0x01, "\\Seen"), (0x02, "\\Answered"), (0x04, "\\Flagged"),
              (0x08, "\\Deleted"), (0x10, "\\Draft")]


def load_v1(tmp_path):
    """A data directory (config, TLS files) whose database is the dump."""
    r = Roost(tmp_path / "var")
    r.cli("init")
    for suffix in ("", "-wal", "-shm"):
        path = os.path.join(r.datadir, "roost.db" + suffix)
        if os.path.exists(path):
            os.unlink(path)
    db = sqlite3.connect(os.path.join(r.datadir, "roost.db"))
    with open(DUMP) as f:
        db.executescript(f.read())
    db.close()
    return r


def read_db(path, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def dump(path):
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def snapshot(path):
    """Everything the upgrade must keep, from the database itself."""
    boxes = {}
    for addr, name, uidvalidity, uidnext, modseq in read_db(
            path, "SELECT a.address, b.name, b.uidvalidity, b.uidnext, b.highestmodseq"
                  " FROM mailboxes b JOIN accounts a ON a.id = b.account_id"):
        boxes[(addr, name)] = {"uidvalidity": uidvalidity, "uidnext": uidnext,
                               "modseq": modseq, "messages": {}}
    for addr, name, uid, flags, keywords, modseq, prefix, data in read_db(
            path, "SELECT a.address, b.name, m.uid, m.flags, m.keywords, m.modseq,"
                  " m.prefix, c.data FROM messages m"
                  " JOIN mailboxes b ON b.id = m.mailbox_id"
                  " JOIN accounts a ON a.id = b.account_id"
                  " JOIN contents c ON c.id = m.content_id"):
        names = {n for bit, n in FLAG_NAMES if flags & bit}
        names |= set((keywords or "").split())
        boxes[(addr, name)]["messages"][uid] = (names, modseq, bytes(prefix or b"") + data)
    return boxes


def fetch_all(m):
    """{uid: (flags, modseq, bytes)} of the selected mailbox."""
    typ, data = m.uid("FETCH", "1:*", "(UID FLAGS MODSEQ BODY.PEEK[])")
    assert typ == "OK", data
    out = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        head = item[0].decode()
        uid = int(re.search(r"UID (\d+)", head).group(1))
        flags = set(re.search(r"FLAGS \(([^)]*)\)", head).group(1).split())
        flags.discard("\\Recent")
        modseq = int(re.search(r"MODSEQ \((\d+)\)", head).group(1))
        out[uid] = (flags, modseq, item[1])
    return out


def test_upgrade_from_schema_v1_keeps_everything(tmp_path):
    r = load_v1(tmp_path)
    db_path = os.path.join(r.datadir, "roost.db")
    before = snapshot(db_path)
    assert sum(len(b["messages"]) for b in before.values()) == 8
    max_account = read_db(db_path, "SELECT max(id) FROM accounts")[0][0]
    max_mailbox = read_db(db_path, "SELECT max(id) FROM mailboxes")[0][0]

    # the first roost command upgrades; the check after it is clean
    p = r.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr
    assert "backed up to" in p.stderr and "upgraded from version 1 to %d" % SCHEMA_VERSION in p.stderr, p.stderr
    backups = glob.glob(db_path + ".v1-*.bak")
    assert len(backups) == 1, os.listdir(r.datadir)
    assert oct(os.stat(backups[0]).st_mode & 0o777) == "0o600"
    assert read_db(backups[0], "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]
    assert snapshot(backups[0]) == before
    assert read_db(db_path, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]
    # schema 5: the per-account pop3.mailboxes, unset
    assert read_db(db_path, "SELECT count(*) FROM accounts WHERE pop3_mailboxes IS NOT NULL") == [(0,)]
    # schema 4: Sieve scripts and their delivery state
    for table in ("sieve_scripts", "sieve_vacation", "sieve_redirects", "sieve_duplicates"):
        assert read_db(db_path, "SELECT count(*) FROM %s" % table) == [(0,)]
    # schema 3: app passwords (submission), the outbound queue
    assert read_db(db_path, "SELECT count(*) FROM app_passwords") == [(0,)]
    assert read_db(db_path, "SELECT count(*) FROM queue_messages") == [(0,)]
    assert snapshot(db_path) == before
    # version 3: the subscribed flags of version 1 became the subscription list
    subscribed = read_db(db_path, "SELECT account_id, name FROM mailboxes WHERE subscribed != 0"
                                  " ORDER BY 1, 2")
    assert subscribed and read_db(db_path, "SELECT account_id, name FROM subscriptions"
                                           " ORDER BY 1, 2") == subscribed
    # opened again: nothing more to do, no second backup
    p = r.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr
    assert "upgrad" not in p.stderr
    assert len(glob.glob(db_path + ".v1-*.bak")) == 1

    # through IMAP: the same bytes, UIDs, UIDVALIDITY, MODSEQs and flags
    r.start()
    try:
        for addr in sorted({a for a, _ in before}):
            m = imaplib.IMAP4("127.0.0.1", r.port("imap"), timeout=10)
            m.login(addr, PASSWORD)
            m.enable("CONDSTORE")
            for (a, name), box in sorted(before.items()):
                if a != addr:
                    continue
                typ, _ = m.select('"%s"' % name, readonly=True)
                assert typ == "OK", name
                assert int(m.untagged_responses["UIDVALIDITY"][0]) == box["uidvalidity"]
                assert int(m.untagged_responses["UIDNEXT"][0]) == box["uidnext"]
                if box["messages"]:
                    assert fetch_all(m) == box["messages"], (addr, name)
            m.logout()
        # the expunged UID 3 of alice's INBOX is never handed out again
        m = imaplib.IMAP4("127.0.0.1", r.port("imap"), timeout=10)
        m.login("alice@example.com", PASSWORD)
        typ, data = m.append("INBOX", None, None, b"Subject: after\r\n\r\nupgrade\r\n")
        assert typ == "OK"
        assert re.search(rb"APPENDUID %d 4\]" % before[("alice@example.com", "INBOX")]
                         ["uidvalidity"], data[0]), data
        m.logout()

        # ids: deleting the highest account and adding one must not reuse it
        highest = read_db(db_path, "SELECT address FROM accounts WHERE id = ?", max_account)[0][0]
        r.cli("user", "del", highest)
        r.add_user("new@example.org")
        r.cli("domain", "add", "example.net")
        p = r.cli("check", check=False)
        assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr
    finally:
        assert r.stop() == 0, r.read_log()
    (new_id,) = read_db(db_path, "SELECT id FROM accounts WHERE address = 'new@example.org'")[0]
    assert new_id > max_account
    (low,) = read_db(db_path, "SELECT min(b.id) FROM mailboxes b JOIN accounts a"
                              " ON a.id = b.account_id WHERE a.address = 'new@example.org'")[0]
    assert low > max_mailbox
    (domain_id,) = read_db(db_path, "SELECT id FROM domains WHERE name = 'example.net'")[0]
    assert domain_id > 2
    p = r.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr


def test_newer_schema_refused_untouched(tmp_path):
    r = load_v1(tmp_path)
    db_path = os.path.join(r.datadir, "roost.db")
    db = sqlite3.connect(db_path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    image = dump(db_path)
    for args in (["check"], ["user", "list"]):
        p = r.cli(*args, check=False)
        assert p.returncode != 0
        assert "schema version 99 is newer" in p.stderr, p.stderr
    p = r.cli("serve", check=False)
    assert p.returncode != 0 and "newer" in p.stderr, p.stderr
    assert dump(db_path) == image
    assert glob.glob(db_path + ".v*.bak") == []


# what taking a database below version 8, and below 7, removes
NO_V8 = " ALTER TABLE contents DROP COLUMN location;"
NO_V7 = " ALTER TABLE queue_messages DROP COLUMN requiretls;" + NO_V8


def downgraded(tmp_path, sql, version):
    """A new database taken back to `version` by `sql`, then opened by
    `roost check`, which must upgrade it and find it clean:
    (roost, database path, the check's process)."""
    r = Roost(tmp_path / "var")
    r.cli("init")
    r.cli("domain", "add", "example.test")
    r.cli("user", "add", "a@example.test", input="pw\n")
    db_path = os.path.join(r.datadir, "roost.db")
    db = sqlite3.connect(db_path)
    db.executescript(sql + " UPDATE meta SET value = '%d' WHERE key = 'schema_version';"
                     % version)
    db.close()
    p = r.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr
    assert "upgraded from version %d to %d" % (version, SCHEMA_VERSION) in p.stderr, p.stderr
    return r, db_path, p


def test_upgrade_from_schema_v3_adds_sieve_tables(tmp_path):
    """A version 3 database (a new one with the version 4 tables taken
    out) gains the Sieve tables; an account's scripts then go with it."""
    r, db_path, _ = downgraded(
        tmp_path, "DROP TRIGGER sieve_account_delete; DROP TABLE sieve_scripts;"
        " DROP TABLE sieve_vacation; DROP TABLE sieve_redirects; DROP TABLE sieve_duplicates;"
        " ALTER TABLE accounts DROP COLUMN pop3_mailboxes;" + NO_V7, 3)
    assert len(glob.glob(db_path + ".v3-*.bak")) == 1
    assert read_db(db_path, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]
    db = sqlite3.connect(db_path)
    db.execute("INSERT INTO sieve_scripts (account_id, name, content, active, updated)"
               " SELECT id, 's', 'keep;', 1, 0 FROM accounts")
    db.commit()
    db.close()
    r.cli("user", "del", "a@example.test")
    assert read_db(db_path, "SELECT count(*) FROM sieve_scripts") == [(0,)]


def test_upgrade_from_schema_v4_adds_pop3_mailboxes(tmp_path):
    """A version 4 database (a new one without accounts.pop3_mailboxes)
    gains the column, unset; `user pop3-mailboxes` then sets it."""
    r, db_path, _ = downgraded(tmp_path, "ALTER TABLE accounts DROP COLUMN pop3_mailboxes;" + NO_V7, 4)
    assert read_db(db_path, "SELECT address, pop3_mailboxes FROM accounts") == [
        ("a@example.test", None)]
    assert "pop3-mailboxes\tdefault" in r.cli("user", "show", "a@example.test").stdout
    r.cli("user", "pop3-mailboxes", "a@example.test", "all")
    assert read_db(db_path, "SELECT pop3_mailboxes FROM accounts") == [("all",)]


def test_upgrade_from_schema_v5_adds_the_view_index(tmp_path):
    """A version 5 database gains messages_view, and SELECT's view query
    then reads that index alone (no visit to the message rows)."""
    _, db_path, _ = downgraded(tmp_path, "DROP INDEX messages_view;" + NO_V7, 5)
    assert read_db(db_path, "SELECT name FROM sqlite_schema WHERE type = 'index'"
                   " AND name = 'messages_view'") == [("messages_view",)]
    # the shape of store_imap_view_rows' query (store-imap.c)
    plan = read_db(db_path, "EXPLAIN QUERY PLAN SELECT uid, flags, modseq, keywords"
                   " FROM messages WHERE mailbox_id = 1 ORDER BY uid")
    assert any("COVERING INDEX messages_view" in row[-1] for row in plan), plan


def test_upgrade_from_schema_v6_adds_queue_requiretls(tmp_path):
    """A version 6 database with a queued message gains
    queue_messages.requiretls, 0 for what was queued before."""
    _, db_path, _ = downgraded(
        tmp_path, "INSERT INTO queue_messages (return_path, created, size, data)"
        " VALUES ('a@example.test', 0, 1, x'41');"
        " INSERT INTO queue_rcpts (queue_id, address, domain, next_attempt)"
        " VALUES (last_insert_rowid(), 'b@remote.test', 'remote.test', 0);" + NO_V7, 6)
    assert read_db(db_path, "SELECT return_path, requiretls FROM queue_messages") == [
        ("a@example.test", 0)]


def test_upgrade_from_schema_v7_adds_contents_location(tmp_path):
    """A version 7 database with a stored message gains contents.location,
    NULL (the bytes stay in the row), and the message reads as before."""
    r = Roost(tmp_path / "var")
    r.cli("init")
    r.cli("domain", "add", "example.test")
    r.cli("user", "add", "a@example.test", input="pw\n")
    msg = b"From: x@example.org\r\nSubject: old\r\n\r\nkept\r\n"
    r.cli("deliver", "a@example.test", input=msg)
    db_path = os.path.join(r.datadir, "roost.db")
    db = sqlite3.connect(db_path)
    db.executescript(NO_V8 + " UPDATE meta SET value = '7' WHERE key = 'schema_version';")
    db.close()
    p = r.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr
    assert "upgraded from version 7 to %d" % SCHEMA_VERSION in p.stderr, p.stderr
    assert read_db(db_path, "SELECT location, length(data) FROM contents") == [(None, len(msg))]
    assert len(glob.glob(db_path + ".v7-*.bak")) == 1
