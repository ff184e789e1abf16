"""POP3 locks and quotas across nodes when the database is slow, busy or
named differently (issue 18); the plain cases are in test_multinode_pop3.py
and test_multinode_quota.py.

- A node's lock connection that stops answering costs a POP3 login a
  bounded wait and an `-ERR [SYS/TEMP]` (never [AUTH], never a false
  [IN-USE]), while the node keeps serving everyone else; the lock its late
  answer took is given back.
- The lock connection takes the admin's conninfo in either libpq form
  (a URI too).
- Deliveries on both nodes over SMTP and LMTP at once never take an
  account past its quota, and with quota.overquota = temporary every
  refusal is 452 4.2.2; every accepted message is stored once.
- A delivery waiting for the account row past store.busy_timeout is a
  temporary failure, and the retry is stored.
"""
import imaplib
import os
import poplib
import signal
import smtplib
import socket
import threading
import time

import pytest

from conftest import pg_cluster
from multinode import nodes  # noqa: F401
from test_pop3_imap import pop_login as login

USER = "alice@example.com"


def refused(node):
    p = poplib.POP3("127.0.0.1", node.port("pop3"), timeout=10)
    p.user(USER)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("secret")
    p.close()
    return e.value.args[0]


def lock_backend(node):
    """The PostgreSQL backend of the node's lock connection (its
    application_name ends in the node's pid)."""
    deadline = time.time() + 5
    while True:
        rows = node.sql("SELECT pid FROM pg_stat_activity WHERE application_name LIKE ?",
                        "roost-locks %%:%d" % node.proc.pid)
        if rows:
            return rows[0][0]
        assert time.time() < deadline, "no lock connection"
        time.sleep(0.05)


def test_pop3_login_while_the_lock_connection_hangs(nodes):
    a, b = nodes(2)
    login(b).quit()
    backend = lock_backend(b)
    os.kill(backend, signal.SIGSTOP)
    try:
        c = socket.create_connection(("127.0.0.1", b.port("pop3")), timeout=10)
        f = c.makefile("rb")
        assert f.readline().startswith(b"+OK")
        c.sendall(b"USER %s\r\n" % USER.encode())
        assert f.readline().startswith(b"+OK")
        t0 = time.time()
        c.sendall(b"PASS secret\r\n")
        time.sleep(0.3)
        # the login waits off the event loop: other clients are served
        other = poplib.POP3("127.0.0.1", b.port("pop3"), timeout=1)
        assert "USER" in other.capa()
        other.quit()
        reply = f.readline()
        assert reply.startswith(b"-ERR [SYS/TEMP]"), reply
        assert time.time() - t0 < 4
        c.close()
    finally:
        os.kill(backend, signal.SIGCONT)
    # the lock the late answer took was given back
    deadline = time.time() + 5
    while True:
        try:
            first = login(a)
            break
        except poplib.error_proto as e:
            assert e.args[0].startswith(b"-ERR [IN-USE]"), e.args[0]
            assert time.time() < deadline, "the abandoned lock was never given back"
            time.sleep(0.1)
    assert refused(b).startswith(b"-ERR [IN-USE]")
    first.quit()
    login(b).quit()


def test_pop3_in_use_with_a_uri_conninfo(nodes):
    a, b = nodes(2)
    b.stop()
    b.settings["store__postgresql"] = "postgresql://postgres@127.0.0.1:%d/%s?connect_timeout=5" % (
        pg_cluster().port, b.pg_dbname)
    b.start()
    first = login(a)
    assert refused(b).startswith(b"-ERR [IN-USE]")
    first.quit()
    second = login(b)
    assert refused(a).startswith(b"-ERR [IN-USE]")
    second.quit()
    assert "node locks" not in b.read_log()


QUOTA = 20000
BODY = b"q" * 900 + b"\r\n"


def subjects(node):
    imap = imaplib.IMAP4("127.0.0.1", node.port("imap"))
    imap.login(USER, "secret")
    imap.select("INBOX", readonly=True)
    typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    imap.logout()
    assert typ == "OK", data
    return [part[1].split(b":", 1)[1].strip().decode()
            for part in data if isinstance(part, tuple)]


def test_quota_smtp_and_lmtp_on_both_nodes(nodes):
    # no quota warnings: they are stored past the quota on purpose
    a, b = nodes(2, quota__warn_percent="", quota__overquota="temporary")
    a.cli("user", "quota", USER, str(QUOTA))
    replies = {}
    lock = threading.Lock()

    def client(node, proto, cid):
        cls = smtplib.LMTP if proto == "lmtp" else smtplib.SMTP
        s = cls("127.0.0.1", node.port(proto), timeout=30)
        try:
            s.ehlo()
            for i in range(8):
                subject = "%s-%d-%d" % (proto, cid, i)
                # no SIZE: the store checks each message in its writer
                code, text = s.docmd("MAIL", "FROM:<x@example.org>")
                if code == 250:
                    code, text = s.docmd("RCPT", "TO:<%s>" % USER)
                if code == 250:
                    code, text = s.data(b"Subject: %s\r\n\r\n" % subject.encode() + BODY)
                else:
                    s.rset()
                with lock:
                    replies[subject] = (code, text)
        finally:
            try:
                s.quit()
            except smtplib.SMTPException:
                pass

    threads = [threading.Thread(target=client, args=(node, proto, i))
               for i, (node, proto) in enumerate([(a, "smtp"), (b, "smtp"), (a, "lmtp"),
                                                  (b, "lmtp")] * 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(replies) == len(threads) * 8
    accepted = sorted(k for k, (code, _) in replies.items() if code == 250)
    refused_ = [r for r in replies.values() if r[0] != 250]
    assert accepted and refused_, "the quota was never reached"
    for code, text in refused_:
        assert code == 452 and text.startswith(b"4.2.2"), (code, text)
    (used,), = a.sql("SELECT used_bytes FROM accounts WHERE address = ?", USER)
    assert used <= QUOTA
    assert sorted(subjects(b)) == accepted


def test_quota_row_locked_past_busy_timeout_is_temporary(nodes):
    a, b = nodes(2, store__busy_timeout="300ms")
    psql = pg_cluster().session(a.pg_dbname)
    try:
        psql.stdin.write("BEGIN; SELECT 'held' FROM accounts WHERE address = '%s'"
                         " FOR UPDATE;\n" % USER)
        assert psql.stdout.readline().strip() == "held"
        for node, proto in ((a, "smtp"), (b, "lmtp")):
            cls = smtplib.LMTP if proto == "lmtp" else smtplib.SMTP
            s = cls("127.0.0.1", node.port(proto), timeout=10)
            s.ehlo()
            assert s.docmd("MAIL", "FROM:<x@example.org>")[0] == 250
            assert s.docmd("RCPT", "TO:<%s>" % USER)[0] == 250
            t0 = time.time()
            code, text = s.data(b"Subject: waited\r\n\r\nx\r\n")
            assert code // 100 == 4, (proto, code, text)
            assert time.time() - t0 < 5
            s.quit()
    finally:
        psql.stdin.write("ROLLBACK;\n")
        psql.stdin.close()
        psql.wait(timeout=10)
    s = smtplib.SMTP("127.0.0.1", b.port("smtp"), timeout=10)
    assert s.sendmail("x@example.org", [USER], b"Subject: retried\r\n\r\nx\r\n") == {}
    s.quit()
    assert subjects(a) == ["retried"]
