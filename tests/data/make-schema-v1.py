#!/usr/bin/env python3
"""make-schema-v1: how tests/data/schema-v1.sql was made.

Usage: ROOST_BIN=<roost of schema 1> make-schema-v1.py DIR > schema-v1.sql

Runs the given (old) roost on a fresh data directory DIR: two domains,
four accounts, an alias to two of them, nested mailboxes, deliveries (one
shared by two accounts), APPENDs with flags and keywords, a COPY, an
expunge, a deleted mailbox and a deleted account (the one with the highest
id); then prints `sqlite3 DIR/roost.db .dump`. The dump committed was made
by main at a1f8ea0 (schema version 1). tests/e2e/test_migration.py loads it.
"""
import imaplib
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from conftest import Roost  # noqa: E402  (reads ROOST_BIN)

d = sys.argv[1]
if os.path.exists(d):
    sys.exit("%s exists: give a new directory" % d)
r = Roost(d)
r.init()
r.cli("domain", "add", "example.org")
r.add_user("bob@example.com")
r.add_user("carol@example.org")
r.add_user("zed@example.org")
r.cli("alias", "add", "info@example.com", "alice@example.com")
r.cli("alias", "add", "info@example.com", "bob@example.com")


def msg(n, to="alice@example.com"):
    return ("From: sender%d@other.example\r\nTo: %s\r\nSubject: schema v1 message %d\r\n"
            "Message-ID: <m%d@other.example>\r\nDate: Mon, 1 Jun 2026 10:%02d:00 +0000\r\n\r\n"
            "Body of message %d.\r\nSecond line.\r\n" % (n, to, n, n, n, n)).encode()


r.deliver(msg(1), "alice@example.com")
r.deliver(msg(2), "info@example.com")          # alice and bob share the content
r.deliver(msg(3), "alice@example.com")
r.deliver(msg(4, "carol@example.org"), "carol@example.org")
r.deliver(msg(5, "zed@example.org"), "zed@example.org")
r.start()
m = imaplib.IMAP4("127.0.0.1", r.port("imap"))
m.login("alice@example.com", "secret")
m.create("Work/Sub")
m.create("Trash")
m.create("Gone")
m.append("Work", "(\\Flagged $Label1)", None, msg(6))
m.append("Work/Sub", "(\\Seen)", None, msg(7))
m.select("INBOX")
m.store("1", "+FLAGS", "(\\Seen \\Answered)")
m.store("2", "+FLAGS", "(Important)")
m.copy("1:2", "Trash")                           # shared content by COPY
m.store("3", "+FLAGS", "(\\Deleted)")
m.expunge()                                      # an expunge: UID 3 gone
m.delete("Gone")                                 # a gap in mailbox ids
m.logout()
b = imaplib.IMAP4("127.0.0.1", r.port("imap"))
b.login("bob@example.com", "secret")
b.select("INBOX")
b.store("1", "+FLAGS", "(\\Flagged)")
b.logout()
r.stop()
r.cli("user", "del", "zed@example.org")          # the highest account id is deleted
assert r.cli("check").stdout == "clean\n"
sys.stdout.write(subprocess.run(["sqlite3", os.path.join(d, "roost.db"), ".dump"], check=True,
                                stdout=subprocess.PIPE).stdout.decode())
