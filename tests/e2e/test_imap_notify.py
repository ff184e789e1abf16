"""IMAP NOTIFY (RFC 5465): one session watches with NOTIFY SET and IDLE,
another (or the CLI delivery path) changes other mailboxes; the watcher
gets untagged STATUS for them without selecting them."""
import imaplib
import re

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
    # METADATA is supported, so are its events (RFC 5465 5.6, 5.7;
    # test_imap_metadata.py); the BADEVENT list names them
    assert b"MailboxMetadataChange ServerMetadataChange)" in out[-1]
    assert w.ok(b"NOTIFY SET (personal (MailboxMetadataChange))")
    # MessageNew without MessageExpunge is a client error for the selected
    # mailbox (RFC 5465 5.2); elsewhere it only means STATUS
    assert w.cmd(b"NOTIFY SET (selected (MessageNew))")[-1].split()[1] == b"BAD"
    assert w.ok(b"NOTIFY SET (personal (MessageNew))")
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


def no_more(w, seconds=0.3):
    """Nothing unsolicited arrives within `seconds` (the socket, not the
    reader's buffer: call it when everything read so far was consumed)."""
    import select
    return select.select([w.s], [], [], seconds)[0] == []


def test_mailbox_name_events(roost):
    m = other(roost)
    w = Raw(roost)
    assert w.ok(b"NOTIFY SET (personal (MailboxName))")
    # created by another session: an unsolicited LIST, no command needed
    # (CREATE does not subscribe, RFC 3501 6.3.6)
    assert m.create("Fresh")[0] == "OK"
    got = w.wait_for(b"* LIST")
    assert got[-1] == b'* LIST () "/" "Fresh"\r\n', got
    assert m.subscribe("Fresh")[0] == "OK"
    assert m.create("Fresh/Kid")[0] == "OK"
    assert w.wait_for(b"* LIST")[-1] == b'* LIST () "/" "Fresh/Kid"\r\n'
    # renamed: the new name with its OLDNAME (RFC 5465 5.4), children too
    assert m.rename("Fresh", "Renamed")[0] == "OK"
    out = w.cmd(b"NOOP")
    assert b'* LIST (\\Subscribed) "/" "Renamed" ("OLDNAME" ("Fresh"))\r\n' in out, out
    assert b'* LIST () "/" "Renamed/Kid" ("OLDNAME" ("Fresh/Kid"))\r\n' in out, out
    # deleted: \NonExistent
    assert m.delete("Renamed/Kid")[0] == "OK"
    assert w.wait_for(b"* LIST")[-1] == b'* LIST (\\NonExistent) "/" "Renamed/Kid"\r\n'
    # no STATUS and no subscription news for these events
    assert m.unsubscribe("Renamed")[0] == "OK"
    out = w.cmd(b"NOOP")
    assert not any(l.startswith(b"* LIST") or l.startswith(b"* STATUS") for l in out), out
    m.logout()
    w.close()


def test_mailbox_name_only_in_the_filter(roost):
    m = other(roost)
    m.create("Proj")
    w = Raw(roost)
    assert w.ok(b"NOTIFY SET (subtree Proj (MailboxName))")
    m.create("Elsewhere")
    m.create("Proj/New")
    out = w.cmd(b"NOOP")
    lists = [l for l in out if l.startswith(b"* LIST")]
    assert lists == [b'* LIST () "/" "Proj/New"\r\n'], out
    # renamed out of the subtree: still told (the old name was watched)
    m.rename("Proj/New", "Moved")
    out = w.cmd(b"NOOP")
    assert b'* LIST () "/" "Moved" ("OLDNAME" ("Proj/New"))\r\n' in out, out
    m.logout()
    w.close()


def test_subscription_change_events(roost):
    m = other(roost)
    m.create("Work")
    w = Raw(roost)
    assert w.ok(b"NOTIFY SET (personal (SubscriptionChange))")
    # CREATE does not subscribe (RFC 3501 6.3.6)
    assert m.subscribe("Work")[0] == "OK"
    assert w.wait_for(b"* LIST")[-1] == b'* LIST (\\Subscribed) "/" "Work"\r\n'
    assert m.unsubscribe("Work")[0] == "OK"
    assert w.wait_for(b"* LIST")[-1] == b'* LIST () "/" "Work"\r\n'
    assert m.subscribe("Work")[0] == "OK"
    assert w.wait_for(b"* LIST")[-1] == b'* LIST (\\Subscribed) "/" "Work"\r\n'
    # subscribing again changes nothing, so tells nothing
    assert m.subscribe("Work")[0] == "OK"
    assert not any(l.startswith(b"* LIST") for l in w.cmd(b"NOOP"))
    # MailboxName was not asked for
    m.create("Other")
    out = w.cmd(b"NOOP")
    assert not any(l.startswith(b"* LIST") for l in out), out
    m.logout()
    w.close()


def test_selected_pushes_and_fetch_att(roost):
    roost.deliver(MSG, "alice@example.com")
    w = Raw(roost)
    assert w.ok(b"SELECT INBOX")
    assert w.ok(b"NOTIFY SET (selected (MessageNew (UID FLAGS RFC822.SIZE) MessageExpunge))")
    # a new message is told at once, without IDLE or any command
    roost.deliver(MSG, "alice@example.com")
    got = w.wait_for(b"FETCH")
    assert b"* 2 EXISTS\r\n" in got, got
    fetch = re.match(rb"\* 2 FETCH \(UID 2 FLAGS \([^)]*\) RFC822.SIZE (\d+)\)\r\n$", got[-1])
    assert fetch, got
    # the same size FETCH tells (trace fields included)
    out = w.cmd(b"FETCH 2 (RFC822.SIZE)")
    assert b"* 2 FETCH (RFC822.SIZE %s)\r\n" % fetch.group(1) in out, out
    # SELECTED: an expunge by another session is pushed too
    m = other(roost)
    m.select("INBOX")
    m.store("1", "+FLAGS", "\\Deleted")
    m.expunge()
    assert w.wait_for(b"EXPUNGE")[-1] == b"* 1 EXPUNGE\r\n"
    # FlagChange was not asked for: flag changes by others are not told
    m.store("1", "+FLAGS", "\\Flagged")
    out = w.cmd(b"NOOP")
    assert not any(b"FETCH" in l for l in out), out
    # but the view follows the store
    out = w.cmd(b"FETCH 1 FLAGS")
    assert any(b"\\Flagged" in l for l in out), out
    m.logout()
    w.close()


def test_selected_delayed_holds_expunges(roost):
    roost.deliver(MSG, "alice@example.com")
    roost.deliver(MSG, "alice@example.com")
    w = Raw(roost)
    assert w.ok(b"SELECT INBOX")
    assert w.ok(b"NOTIFY SET (selected-delayed (MessageNew MessageExpunge FlagChange))")
    m = other(roost)
    m.select("INBOX")
    m.store("1", "+FLAGS", "\\Flagged")
    # flag changes are pushed at once
    assert w.wait_for(b"FETCH")[-1].startswith(b"* 1 FETCH (UID 1 FLAGS (\\Flagged")
    m.store("1", "+FLAGS", "\\Deleted")
    w.wait_for(b"FETCH")
    m.expunge()
    # the expunge waits for a command that allows it
    assert no_more(w)
    out = w.cmd(b"NOOP")
    assert b"* 1 EXPUNGE\r\n" in out, out
    m.logout()
    w.close()


def test_fetch_att_limits(roost):
    w = Raw(roost)
    out = w.cmd(b"NOTIFY SET (selected (MessageNew (BODY.PEEK[HEADER]) MessageExpunge))")
    assert out[-1].split()[1] == b"NO", out
    out = w.cmd(b"NOTIFY SET (personal (MessageNew (UID) MessageExpunge))")
    assert out[-1].split()[1] == b"BAD", out
    assert w.ok(b"NOTIFY SET (selected (MessageNew (UID EMAILID INTERNALDATE) MessageExpunge))")
    w.close()
