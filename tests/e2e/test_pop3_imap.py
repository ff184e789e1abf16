"""POP3 mixed with IMAP through real clients (imaplib + poplib) on one
account: what each side sees of the other's changes."""
import imaplib
import poplib

ALICE = "alice@example.com"


def message(i):
    return (b"From: bob@example.net\r\nTo: alice@example.com\r\n"
            b"Subject: imapmix %d\r\n\r\nbody %d\r\n" % (i, i))


def pop_login(roost):
    p = poplib.POP3("127.0.0.1", roost.port("pop3"), timeout=10)
    p.user(ALICE)
    p.pass_("secret")
    return p


def imap_login(roost):
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    m.login(ALICE, "secret")
    return m


def imap_uids(m):
    typ, data = m.uid("SEARCH", "ALL")
    assert typ == "OK"
    return [int(x) for x in data[0].split()]


def test_pop3_dele_is_an_imap_expunge(roost):
    for i in range(3):
        roost.deliver(message(i), ALICE)
    m = imap_login(roost)
    m.select("INBOX")
    p = pop_login(roost)
    p.dele(2)
    p.quit()
    typ, data = m.noop()
    assert typ == "OK"
    # The selected IMAP session is told: "* 2 EXPUNGE".
    assert b"2" in (m.untagged_responses.get("EXPUNGE") or [])
    assert imap_uids(m) == [1, 3]
    m.logout()


def test_pop3_hide_keeps_it_in_imap(roost_factory):
    r = roost_factory(pop3__delete="hide")
    for i in range(2):
        r.deliver(message(i), ALICE)
    p = pop_login(r)
    p.dele(1)
    p.quit()
    m = imap_login(r)
    m.select("INBOX")
    assert imap_uids(m) == [1, 2]
    m.logout()
    p = pop_login(r)
    assert p.stat()[0] == 1
    p.quit()


def test_pop3_retr_sets_seen_in_imap(roost):
    roost.deliver(message(1), ALICE)
    roost.deliver(message(2), ALICE)
    p = pop_login(roost)
    p.retr(2)
    p.quit()
    m = imap_login(roost)
    m.select("INBOX", readonly=True)
    typ, data = m.uid("SEARCH", "SEEN")
    assert data[0].split() == [b"2"]
    m.logout()


def test_imap_expunge_during_pop3_session(roost):
    for i in range(3):
        roost.deliver(message(i), ALICE)
    p = pop_login(roost)
    assert p.stat()[0] == 3
    m = imap_login(roost)
    m.select("INBOX")
    m.uid("STORE", "1", "+FLAGS", r"(\Deleted)")
    m.expunge()
    m.logout()
    try:
        p.retr(1)
        raise AssertionError("RETR of an expunged message succeeded")
    except poplib.error_proto as e:
        assert str(e).startswith("b'-ERR") and "deleted by another client" in str(e)
    # The session continues; its own deletion still commits at QUIT.
    assert b"imapmix 1" in b"\n".join(p.retr(2)[1])
    p.dele(3)
    assert p.quit().startswith(b"+OK")
    m = imap_login(roost)
    m.select("INBOX")
    assert imap_uids(m) == [2]
    m.logout()


def test_imap_moves_message_out_of_pop3_view(roost):
    for i in range(2):
        roost.deliver(message(i), ALICE)
    m = imap_login(roost)
    m.select("INBOX")
    typ, _ = m.uid("COPY", "1", "Archive")
    assert typ == "OK"
    m.uid("STORE", "1", "+FLAGS", r"(\Deleted)")
    m.expunge()
    m.logout()
    # POP3 sees INBOX only: the filed-away message is not offered.
    p = pop_login(roost)
    assert p.stat()[0] == 1
    p.quit()
