"""POP3 mixed with other clients of the same store:
pop3.delete = expunge | hide (server-wide and per account),
pop3.retr_marks_seen, pop3.expire_days, and a message removed by another
client during a POP3 session. The other side is observed through the admin
CLI (`roost mailbox list`, `roost message get`), which reads the store."""
import poplib
import time

ALICE = "alice@example.com"


def message(i):
    return (b"From: bob@example.net\r\nTo: alice@example.com\r\n"
            b"Subject: mix %d\r\n\r\nbody %d\r\n" % (i, i))


def login(roost, user=ALICE, password="secret"):
    p = poplib.POP3("127.0.0.1", roost.port("pop3"), timeout=10)
    p.user(user)
    p.pass_(password)
    return p


def inbox(roost, address=ALICE):
    """(messages, unseen) of INBOX as every client sees it."""
    for line in roost.cli("mailbox", "list", address).stdout.splitlines():
        name, count, unseen, size = line.split("\t")
        if name == "INBOX":
            return int(count), int(unseen)
    raise AssertionError("no INBOX")


def message_exists(roost, uid, address=ALICE):
    p = roost.cli("message", "get", address, "INBOX", str(uid), check=False)
    return p.returncode == 0


def subjects(p):
    out = []
    for n in range(1, p.stat()[0] + 1):
        resp, lines, _ = p.top(n, 0)
        out += [x for x in lines if x.startswith(b"Subject:")]
    return out


def db_exec(roost, sql, *args):
    """Edit the database while the daemon is stopped (back-dating a
    download has no CLI, on purpose)."""
    roost.sql(sql, *args)


def test_delete_expunge_is_for_everyone(roost):
    for i in range(3):
        roost.deliver(message(i), ALICE)
    p = login(roost)
    p.dele(2)
    p.quit()
    assert inbox(roost)[0] == 2
    assert message_exists(roost, 1) and not message_exists(roost, 2)
    assert message_exists(roost, 3)


def test_delete_hide_keeps_it_for_imap(roost_factory):
    r = roost_factory(pop3__delete="hide")
    for i in range(3):
        r.deliver(message(i), ALICE)
    p = login(r)
    uidls = [x.split()[1] for x in p.uidl()[1]]
    p.dele(1)
    p.quit()
    # Still there for IMAP/webmail ...
    assert inbox(r)[0] == 3
    assert message_exists(r, 1)
    # ... gone for POP3, and the others keep their UIDLs.
    p = login(r)
    assert p.stat()[0] == 2
    assert [x.split()[1] for x in p.uidl()[1]] == uidls[1:]
    assert subjects(p) == [b"Subject: mix 1", b"Subject: mix 2"]
    p.quit()


def pop3_delete_setting(roost, address):
    out = dict(line.split("\t", 1)
               for line in roost.cli("user", "show", address).stdout.splitlines())
    return out["pop3-delete"]


def test_per_account_override(roost_factory):
    r = roost_factory()                     # server default: expunge
    r.add_user("bob@example.com")
    r.deliver(message(1), ALICE, "bob@example.com")
    # Set through the running daemon; it applies from the next login.
    r.cli("user", "pop3-delete", "bob@example.com", "hide")
    assert pop3_delete_setting(r, "bob@example.com") == "hide"
    assert pop3_delete_setting(r, ALICE) == "default"
    for user in (ALICE, "bob@example.com"):
        p = login(r, user)
        p.dele(1)
        p.quit()
    assert inbox(r, ALICE)[0] == 0                    # expunged
    assert inbox(r, "bob@example.com")[0] == 1        # hidden only
    p = login(r, "bob@example.com")
    assert p.stat()[0] == 0
    p.quit()
    # Back to the server default: the next DELE expunges.
    r.cli("user", "pop3-delete", "bob@example.com", "default")
    assert pop3_delete_setting(r, "bob@example.com") == "default"
    r.deliver(message(2), "bob@example.com")
    p = login(r, "bob@example.com")
    assert p.stat()[0] == 1
    p.dele(1)
    p.quit()
    assert inbox(r, "bob@example.com")[0] == 1        # only the hidden one left


def test_per_account_expunge_under_hide_default(roost_factory):
    r = roost_factory(pop3__delete="hide")
    r.deliver(message(1), ALICE)
    r.cli("user", "pop3-delete", ALICE, "expunge")
    p = login(r)
    p.dele(1)
    p.quit()
    assert inbox(r)[0] == 0


def test_pop3_delete_cli_errors(roost):
    def fails(*args, code=1):
        p = roost.cli(*args, check=False)
        assert p.returncode == code, (args, p.returncode, p.stderr)
        lines = p.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("roost: "), p.stderr
        assert p.stdout == ""
        return lines[0]

    assert "invalid mode" in fails("user", "pop3-delete", ALICE, "delete")
    assert "invalid mode" in fails("user", "pop3-delete", ALICE, "HIDE")
    fails("user", "pop3-delete", "nobody@example.com", "hide")
    fails("user", "pop3-delete", "not an address", "hide")
    fails("user", "show", "nobody@example.com")
    fails("user", "pop3-delete", ALICE, code=64)
    fails("user", "pop3-delete", ALICE, "hide", "extra", code=64)
    # Nothing changed on the way.
    assert pop3_delete_setting(roost, ALICE) == "default"


def test_retr_marks_seen_for_imap(roost):
    for i in range(3):
        roost.deliver(message(i), ALICE)
    assert inbox(roost) == (3, 3)
    p = login(roost)
    p.retr(1)
    p.retr(3)
    p.top(2, 0)          # TOP is not a download
    p.quit()
    assert inbox(roost) == (3, 1)


def test_retr_without_quit_marks_nothing(roost):
    roost.deliver(message(1), ALICE)
    p = login(roost)
    p.retr(1)
    p.close()            # no QUIT: no UPDATE state
    time.sleep(0.3)
    assert inbox(roost) == (1, 1)


def test_message_removed_during_session(roost_factory):
    r = roost_factory(pop3__concurrent_sessions="yes")
    for i in range(3):
        r.deliver(message(i), ALICE)
    a = login(r)
    b = login(r)          # stands in for an IMAP client expunging
    b.dele(2)
    b.quit()
    assert not message_exists(r, 2)
    # a's snapshot still lists it, but RETR and TOP say what happened.
    assert a.stat()[0] == 3
    for call in (lambda: a.retr(2), lambda: a.top(2, 1)):
        try:
            call()
            raise AssertionError("no error for a removed message")
        except poplib.error_proto as e:
            assert "deleted by another client" in str(e)
    # The session goes on and its own deletions still commit.
    assert a.noop().startswith(b"+OK")
    a.dele(1)
    assert a.quit().startswith(b"+OK")
    assert inbox(r)[0] == 1
    assert message_exists(r, 3)


def test_expire_days_removes_old_downloads(roost_factory):
    r = roost_factory(pop3__expire_days="3")
    for i in range(3):
        r.deliver(message(i), ALICE)
    p = login(r)
    p.retr(1)
    p.retr(2)
    p.quit()
    assert r.stop() == 0
    # Message 1 was downloaded ten days ago, message 2 just now.
    db_exec(r, "UPDATE messages SET pop3_retrieved = ? WHERE uid = 1",
            int(time.time()) - 10 * 86400)
    r.start()
    # The expire pass runs when POP3 starts serving.
    p = login(r)
    p.quit()
    deadline = time.time() + 5
    while message_exists(r, 1) and time.time() < deadline:
        time.sleep(0.1)
    assert not message_exists(r, 1)
    assert message_exists(r, 2) and message_exists(r, 3)


def test_expire_runs_without_any_pop3_connection(roost_factory):
    """The expire timer starts with the server, not with the first POP3
    session: a back-dated download disappears while nobody connects."""
    r = roost_factory(pop3__expire_days="1")
    for i in range(2):
        r.deliver(message(i), ALICE)
    p = login(r)
    p.retr(1)
    p.retr(2)
    p.quit()
    assert r.stop() == 0
    # Message 1 was downloaded two days ago, message 2 just now.
    db_exec(r, "UPDATE messages SET pop3_retrieved = ? WHERE uid = 1",
            int(time.time()) - 2 * 86400)
    # Wait for IMAP only: even the readiness probe must not touch POP3.
    r.start(wait_for=("imap",))
    deadline = time.time() + 10
    while inbox(r)[0] != 1 and time.time() < deadline:
        time.sleep(0.1)
    assert inbox(r)[0] == 1
    assert not message_exists(r, 1)
    assert message_exists(r, 2)
