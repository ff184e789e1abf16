"""IMAP NOTIFY (RFC 5465): one session watches with NOTIFY SET and IDLE,
another (or the CLI delivery path) changes other mailboxes; the watcher
gets untagged STATUS for them without selecting them."""
import imaplib

from imap_raw import Raw

MSG = b"From: bob@example.org\r\nTo: alice@example.com\r\nSubject: hi\r\n\r\nbody\r\n"


def other(roost):
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    m.login("alice@example.com", "secret")
    return m


def test_capability(roost):
    r = Raw(roost)
    assert b" NOTIFY" in r.cmd(b"CAPABILITY")[0]
    r.close()


def test_status_for_other_mailboxes_while_idle(roost):
    m = other(roost)
    assert m.create("Work")[0] == "OK"
    w = Raw(roost)
    assert w.ok(b"SELECT INBOX")
    out = w.cmd(b"NOTIFY SET STATUS (selected (MessageNew MessageExpunge FlagChange))"
                b" (personal (MessageNew MessageExpunge FlagChange))")
    assert out[-1].split()[1] == b"OK", out
    # the STATUS indicator: the non-selected mailbox right away, not INBOX
    assert any(l.startswith(b"* STATUS \"Work\" (MESSAGES 0 ") for l in out), out
    assert not any(l.startswith(b"* STATUS \"INBOX\"") for l in out)
    w.s.sendall(b"i1 IDLE\r\n")
    assert w.f.readline().startswith(b"+")
    # a new message in Work, appended by the other session
    assert m.append("Work", None, None, MSG)[0] == "OK"
    got = w.wait_for(b"* STATUS \"Work\"")
    assert b"MESSAGES 1" in got[-1] and b"UIDNEXT 2" in got[-1] and b"UNSEEN 1" in got[-1]
    # a flag change there
    m.select("Work")
    m.store("1", "+FLAGS", "\\Seen")
    got = w.wait_for(b"* STATUS \"Work\"")
    assert b"UNSEEN 0" in got[-1], got
    # an expunge there
    m.store("1", "+FLAGS", "\\Deleted")
    w.wait_for(b"* STATUS \"Work\"")
    m.expunge()
    got = w.wait_for(b"* STATUS \"Work\"")
    assert b"MESSAGES 0" in got[-1], got
    # the selected mailbox still gets EXISTS, not STATUS
    roost.deliver(MSG, "alice@example.com")
    got = w.wait_for(b"EXISTS")
    assert not any(b"STATUS \"INBOX\"" in l for l in got)
    w.s.sendall(b"DONE\r\n")
    w.read_tagged(b"i1")
    m.logout()
    w.close()


def test_events_held_until_command_ends_and_notify_none(roost):
    m = other(roost)
    m.create("Lists")
    w = Raw(roost)
    assert w.ok(b"NOTIFY SET (mailboxes Lists (MessageNew MessageExpunge))")
    m.append("Lists", None, None, MSG)
    out = w.cmd(b"NOOP")
    assert any(l.startswith(b"* STATUS \"Lists\" (MESSAGES 1") for l in out), out
    # INBOX is not in the filter
    roost.deliver(MSG, "alice@example.com")
    assert not any(b"STATUS" in l for l in w.cmd(b"NOOP"))
    assert w.ok(b"NOTIFY NONE")
    m.append("Lists", None, None, MSG)
    assert not any(b"STATUS" in l for l in w.cmd(b"NOOP"))
    m.logout()
    w.close()


def test_subtree_matches_children(roost):
    m = other(roost)
    m.create("Proj")
    m.create("Proj/A")
    w = Raw(roost)
    assert w.ok(b"NOTIFY SET (subtree Proj (MessageNew MessageExpunge))")
    m.append("Proj/A", None, None, MSG)
    out = w.cmd(b"NOOP")
    assert any(l.startswith(b"* STATUS \"Proj/A\" (MESSAGES 1") for l in out), out
    m.logout()
    w.close()


def test_badevent_and_syntax(roost):
    w = Raw(roost)
    out = w.cmd(b"NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))")
    assert out[-1].split()[1] == b"NO" and b"[BADEVENT (" in out[-1] and b"MessageNew" in out[-1]
    out = w.cmd(b"NOTIFY SET (personal (MailboxMetadataChange))")
    assert b"[BADEVENT" in out[-1]
    # MessageNew without MessageExpunge is a client error
    assert w.cmd(b"NOTIFY SET (personal (MessageNew))")[-1].split()[1] == b"BAD"
    assert w.cmd(b"NOTIFY SET (bogus (MessageNew MessageExpunge))")[-1].split()[1] == b"BAD"
    assert w.cmd(b"NOTIFY SET")[-1].split()[1] == b"BAD"
    assert w.cmd(b"NOTIFY FOO")[-1].split()[1] == b"BAD"
    assert w.ok(b"NOOP")
    w.close()


def test_too_many_mailboxes_is_limit(roost):
    w = Raw(roost)
    names = b" ".join(b"box%d" % i for i in range(1001))
    out = w.cmd(b"NOTIFY SET (mailboxes (" + names + b") (MessageNew MessageExpunge))")
    assert out[-1].split()[1] == b"NO" and b"[LIMIT]" in out[-1], out[-1]
    names = b" ".join(b"box%d" % i for i in range(1000))
    assert w.ok(b"NOTIFY SET (mailboxes (" + names + b") (MessageNew MessageExpunge))")
    w.close()


def test_not_before_login(roost):
    r = Raw(roost, login=False)
    assert r.cmd(b"NOTIFY NONE")[-1].split()[1] == b"BAD"
    r.close()
