"""IMAP end-to-end: login, mailboxes, APPEND/FETCH/STORE/SEARCH/EXPUNGE,
COPY/MOVE with UIDPLUS, and concurrent sessions."""
import imaplib
import re
import socket
import time

import pytest

MSG = (b"From: Bob <bob@example.org>\r\nTo: alice@example.com\r\n"
       b"Subject: hello there\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
       b"Message-ID: <1@example.org>\r\n\r\nBody line one\r\nsecond line\r\n")


def login(roost):
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    m.login("alice@example.com", "secret")
    return m


def test_greeting_capability_and_login(roost):
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    caps = m.capabilities
    assert "IMAP4REV2" in caps and "IMAP4REV1" in caps
    assert "STARTTLS" in caps
    assert "AUTH=PLAIN" in caps  # loopback: plaintext allowed
    typ, data = m.login("alice@example.com", "secret")
    assert typ == "OK"
    typ, data = m.capability()
    caps = data[0].decode().split()
    for c in ("IDLE", "UIDPLUS", "MOVE", "NAMESPACE", "SPECIAL-USE", "QUOTA", "ESEARCH"):
        assert c in caps
    assert m.logout()[0] == "BYE"


def test_login_failure_is_delayed_and_generic(roost):
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    for user in ("alice@example.com", "nobody@example.com"):
        with pytest.raises(imaplib.IMAP4.error) as e:
            m.login(user, "wrong")
        assert "AUTHENTICATIONFAILED" in str(e.value)
    assert "auth failed" in roost.read_log()
    m.login("alice@example.com", "secret")
    m.logout()


def test_authenticate_plain_and_sasl_ir(roost):
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    typ, _ = m.authenticate("PLAIN", lambda _: b"\0alice@example.com\0secret")
    assert typ == "OK"
    m.logout()
    s = socket.create_connection(("127.0.0.1", roost.port("imap")), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==\r\n")
    assert f.readline().startswith(b"a OK")
    s.close()


def test_list_and_special_use(roost):
    m = login(roost)
    typ, data = m.list()
    assert typ == "OK"
    names = {}
    for line in data:
        mt = re.match(rb'\((.*?)\) "/" "?(.*?)"?$', line)
        names[mt.group(2).decode()] = mt.group(1).decode()
    for n in ("INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"):
        assert n in names
    assert "\\Sent" in names["Sent"] and "\\Trash" in names["Trash"]
    typ, data = m.list('""', '""')
    assert data[0] == b'(\\Noselect) "/" ""'
    m.logout()


def test_create_rename_delete_subscribe_utf7(roost):
    m = login(roost)
    assert m.create("Work/Projects")[0] == "OK"
    typ, data = m.list('""', "Work/*")
    assert b'"Work/Projects"' in data[0] or b"Work/Projects" in data[0]
    assert m.create("Work")[1][0].startswith(b"[ALREADYEXISTS]")
    assert m.rename("Work/Projects", "Work/Done")[0] == "OK"
    assert m.subscribe("Work/Done")[0] == "OK"
    typ, data = m.lsub('""', "Work/*")
    assert any(b"Work/Done" in d for d in data)
    assert m.unsubscribe("Work/Done")[0] == "OK"
    # rev1: modified UTF-7 ("Entwürfe")
    assert m.create("Entw&APw-rfe")[0] == "OK"
    typ, data = m.list('""', "Entw*")
    assert b"Entw&APw-rfe" in data[0]
    out = roost.cli("mailbox", "list", "alice@example.com").stdout
    assert "Entwürfe" in out
    assert m.delete("Work/Done")[0] == "OK"
    typ, data = m.delete("INBOX")
    assert typ == "NO"
    typ, data = m.select("Nope")
    assert typ == "NO" and b"NONEXISTENT" in data[0]
    m.logout()


@pytest.mark.parametrize("name", [
    "..", "../x", "/etc", "a//b", "a/./b", "x\x01y", "/".join(["d"] * 100), "n" * 5000])
def test_bad_mailbox_names_refused(roost, name):
    m = login(roost)
    if len(name) > 1000:
        typ, data = m._simple_command("CREATE", "{%d+}\r\n%s" % (len(name), name)), None
        typ = typ[0]
    else:
        typ, data = m.create('"%s"' % name)
    assert typ in ("NO", "BAD")
    typ, data = m.list('""', "*")
    assert not any(b".." in d or b"etc" in d for d in data)
    m.logout()


def test_append_fetch_store_search_expunge(roost):
    m = login(roost)
    typ, data = m.append("INBOX", "(\\Flagged)", '"07-Feb-1994 21:52:25 -0800"', MSG)
    assert typ == "OK"
    mt = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
    assert mt, data
    uid = int(mt.group(2))
    typ, data = m.select("INBOX")
    assert typ == "OK" and int(data[0]) == 1
    typ, data = m.uid("FETCH", str(uid),
                      "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY.PEEK[HEADER.FIELDS (Subject)])")
    assert typ == "OK"
    head = data[0][0]
    assert b"\\Flagged" in head
    assert b'INTERNALDATE "08-Feb-1994 05:52:25 +0000"' in head
    assert b"RFC822.SIZE %d" % len(MSG) in head
    assert b'"hello there"' in head
    assert data[0][1] == b"Subject: hello there\r\n\r\n"
    typ, data = m.fetch("1", "(BODY.PEEK[TEXT]<5.8>)")
    assert data[0][1] == b"line one"
    typ, data = m.fetch("1", "(BODY[])")
    assert data[0][1] == MSG
    assert b"\\Seen" in data[0][0] or b"\\Seen" in data[1]
    typ, data = m.fetch("1", "BODYSTRUCTURE")
    assert b'"text" "plain"' in data[0].lower() or b'"TEXT" "PLAIN"' in data[0].upper()
    typ, data = m.search(None, "SUBJECT", "hello", "FLAGGED", "SEEN")
    assert data[0] == b"1"
    typ, data = m.search(None, "OR", "BODY", "nomatch", "NOT", "TEXT", "second")
    assert data[0] == b""
    typ, data = m.search(None, "SENTON", "7-Feb-1994")
    assert data[0] == b"1"
    typ, data = m.store("1", "+FLAGS", "(\\Deleted $Work)")
    assert b"\\Deleted" in data[0] and b"$Work" in data[0]
    typ, data = m.expunge()
    assert data == [b"1"]
    typ, data = m.search(None, "ALL")
    assert data[0] == b""
    m.logout()


def test_copy_move_uidplus_and_quota(roost):
    m = login(roost)
    m.append("INBOX", None, None, MSG)
    m.append("INBOX", None, None, MSG)
    m.select("INBOX")
    typ, data = m.copy("1:2", "Archive")
    assert b"COPYUID" in data[0]
    typ, data = m.copy("1", "Missing")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    typ, data = m._simple_command("MOVE", "1", "Trash")
    assert typ == "OK"
    assert m.untagged_responses.get("EXPUNGE") == [b"1"]
    m.select("Archive")
    typ, data = m.search(None, "ALL")
    assert data[0] == b"1 2"
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK"
    assert b"STORAGE" in data[1][0]
    m.logout()


def test_overquota_append(roost):
    roost.cli("user", "quota", "alice@example.com", "1K")
    m = login(roost)
    typ, data = m.append("INBOX", None, None, MSG + b"x" * 2000)
    assert typ == "NO" and b"OVERQUOTA" in data[0]
    m.logout()


def test_status_and_examine(roost):
    roost.deliver(MSG, "alice@example.com")
    m = login(roost)
    typ, data = m.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE DELETED)")
    assert typ == "OK"
    assert b"MESSAGES 1" in data[0] and b"UNSEEN 1" in data[0]
    typ, data = m.select("INBOX", readonly=True)
    assert typ == "OK"
    typ, data = m.store("1", "+FLAGS", "\\Seen")
    assert typ == "NO"
    m.fetch("1", "BODY[]")  # read-only: no \Seen
    m.select("INBOX")
    typ, data = m.fetch("1", "FLAGS")
    assert b"\\Seen" not in data[0]
    m.logout()


def test_enable_imap4rev2_utf8_names(roost):
    m = login(roost)
    typ, data = m._simple_command("ENABLE", "IMAP4rev2")
    assert typ == "OK"
    assert m.untagged_responses.get("ENABLED") == [b"IMAP4rev2"]
    name = "Entwürfe".encode()
    typ, data = m._simple_command("CREATE", b'"' + name + b'"')
    assert typ == "OK"
    typ, data = m.list('""', "Ent*")
    assert name in data[0]
    m.logout()
