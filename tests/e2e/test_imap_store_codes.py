"""IMAP response codes that come from the store's own state (RFC 5530):
[INUSE] when another process holds the database lock (an admin's backup or
sqlite3 session; on PostgreSQL a psql session's table lock, through
lock_timeout) and [SERVERBUG] when the database breaks an invariant (a
message row whose content is gone)."""
import contextlib
import imaplib
import os
import sqlite3
import time

from conftest import pg_cluster


def login(roost):
    imap = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    imap.login("alice@example.com", "secret")
    return imap


@contextlib.contextmanager
def write_lock_held(r):
    """Another process holds the lock every write needs; reads go on."""
    if r.pg_dbname is None:
        db = sqlite3.connect(os.path.join(r.datadir, "roost.db"), timeout=5,
                             isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            db.execute("ROLLBACK")
            db.close()
        return
    psql = pg_cluster().session(r.pg_dbname)
    try:
        # EXCLUSIVE blocks every writer of the table, not its readers
        psql.stdin.write("BEGIN; LOCK TABLE mailboxes IN EXCLUSIVE MODE; SELECT 'held';\n")
        assert psql.stdout.readline().strip() == "held"
        yield
    finally:
        psql.stdin.write("ROLLBACK;\n")
        psql.stdin.close()
        psql.wait(timeout=10)


def test_inuse_while_another_process_holds_the_lock(roost_factory):
    r = roost_factory(store__busy_timeout="200ms")
    imap = login(r)
    with write_lock_held(r):
        t0 = time.time()
        typ, data = imap.append("INBOX", None, None, b"Subject: locked\r\n\r\nx\r\n")
        assert typ == "NO"
        assert b"[INUSE]" in data[0]
        assert time.time() - t0 < 5  # waited about busy_timeout, not forever
        # reads still work while the lock is held (WAL snapshot)
        typ, data = imap.select("INBOX")
        assert typ == "OK"
    typ, data = imap.append("INBOX", None, None, b"Subject: free\r\n\r\nx\r\n")
    assert typ == "OK", data
    imap.logout()


def test_serverbug_when_content_is_missing(roost):
    roost.deliver(b"Subject: one\r\n\r\nfirst\r\n", "alice@example.com")
    roost.deliver(b"Subject: two\r\n\r\nsecond\r\n", "alice@example.com")
    assert roost.stop() == 0
    [(cid,)] = roost.sql("SELECT m.content_id FROM messages m JOIN mailboxes b"
                         " ON b.id = m.mailbox_id WHERE b.name = 'INBOX' AND m.uid = 1")
    # PostgreSQL enforces the foreign key; a replica-role session skips it,
    # as a damaged copy or a raw edit would
    roost.sql(("SET session_replication_role = replica; " if roost.pg_dbname else "") +
              "DELETE FROM contents WHERE id = ?", cid)
    roost.start()
    imap = login(roost)
    imap.select("INBOX")
    typ, data = imap.fetch("1:2", "(BODY.PEEK[])")
    assert typ == "NO"
    assert b"[SERVERBUG]" in data[0]
    typ, data = imap.fetch("2", "(BODY.PEEK[])")
    assert typ == "OK" and b"second" in data[0][1]
    typ, data = imap.fetch("1", "(FLAGS)")  # metadata is intact
    assert typ == "OK"
    imap.logout()
    p = roost.cli("check", check=False)
    assert p.returncode == 1 and "content" in p.stdout
