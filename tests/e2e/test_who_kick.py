"""`roost who` and `roost kick` through a running daemon's session
registry: sessions of two accounts over IMAP, POP3 and submission; a kick
ends one account's sessions with each protocol's goodbye while the other
account keeps working."""
import imaplib
import poplib
import smtplib
import ssl

import pytest


def who(roost, *args):
    rows = []
    for line in roost.cli("who", *args).stdout.splitlines():
        rows.append(line.split("\t"))
    return rows


@pytest.fixture
def two(roost):
    roost.add_user("bob@example.com")
    return roost


def tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_who_lists_sessions_and_kick_ends_one_account(two):
    a = imaplib.IMAP4("127.0.0.1", two.port("imap"))
    a.login("alice@example.com", "secret")
    a.select("INBOX")
    p = poplib.POP3("127.0.0.1", two.port("pop3"), timeout=10)
    p.user("alice@example.com")
    p.pass_("secret")
    s = smtplib.SMTP("127.0.0.1", two.port("submission"), timeout=10)
    s.starttls(context=tls())
    s.login("alice@example.com", "secret")
    b = imaplib.IMAP4("127.0.0.1", two.port("imap"))
    b.login("bob@example.com", "secret")

    rows = who(two)
    mine = sorted((r[0], r[1], r[4]) for r in rows)
    assert mine == [("alice@example.com", "imap", "INBOX"),
                    ("alice@example.com", "pop3", "INBOX"),
                    ("alice@example.com", "submission", "-"),
                    ("bob@example.com", "imap", "-")], rows
    assert all(r[2] == "127.0.0.1" and r[3].endswith("Z") for r in rows), rows
    assert sorted(r[1] for r in who(two, "alice@example.com")) == ["imap", "pop3", "submission"]

    assert two.cli("kick", "alice@example.com").stdout == "3\n"
    # IMAP: an untagged BYE, then the connection ends
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        a.noop()
        a.noop()
    with pytest.raises((poplib.error_proto, OSError, EOFError)):
        p.stat()
    with pytest.raises((smtplib.SMTPException, OSError)):
        s.noop()
        s.noop()
    assert [r[0] for r in who(two)] == ["bob@example.com"]
    # the other account was not touched
    assert b.noop()[0] == "OK"
    b.logout()
    assert who(two) == []
    # a kicked account logs in again
    a = imaplib.IMAP4("127.0.0.1", two.port("imap"))
    assert a.login("alice@example.com", "secret")[0] == "OK"
    a.logout()


def test_kick_and_who_of_unknown_account(two):
    p = two.cli("kick", "nobody@example.com", check=False)
    assert p.returncode == 1 and "no such account" in p.stderr
    p = two.cli("who", "nobody@example.com", check=False)
    assert p.returncode == 1 and "no such account" in p.stderr
    assert two.cli("kick", "bob@example.com").stdout == "0\n"
