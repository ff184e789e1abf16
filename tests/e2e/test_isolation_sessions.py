"""Sessions never outlive their account or their selected mailbox.

- A selected mailbox deleted or renamed away by another session ends the
  session with an untagged BYE at once, IDLE or not (RFC 2180 3.2; what
  Dovecot does). The session that deletes or renames its own selected
  mailbox goes on.
- `roost user del`, `user passwd` and `user disable` end every live IMAP
  (`* BYE`) and POP3 (`-ERR`) session of the account at once; other
  accounts' sessions are untouched.
- A disabled account cannot log in (answered like a wrong password) and
  still receives mail; `user enable` undoes it.
- After `user del` and `user add` of a new account, no old session can
  reach anything: they are gone.
"""
import smtplib
import socket
import time

import pytest

PASSWORD = "secret"
# wide margins: the machine is shared; the requirement is 2 s
KICK_WITHIN = 2.0


class Imap:
    def __init__(self, roost, user, password=PASSWORD):
        self.s = socket.create_connection(("127.0.0.1", roost.port("imap")), timeout=10)
        self.f = self.s.makefile("rb")
        self.greeting = self.f.readline()
        self.n = 0
        out = self.cmd(b"LOGIN " + user.encode() + b" " + password.encode())
        self.logged_in = out[-1].split()[1] == b"OK"
        self.last = out

    def send(self, line):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + line + b"\r\n")
        return tag

    def cmd(self, line):
        tag = self.send(line)
        out = []
        while True:
            l = self.f.readline()
            assert l, "connection closed after %r" % out
            out.append(l)
            if l.startswith(tag + b" "):
                return out

    def ok(self, line):
        return self.cmd(line)[-1].split()[1] == b"OK"

    def idle(self):
        self.idle_tag = self.send(b"IDLE")
        assert self.f.readline().startswith(b"+ ")

    def lines_until_closed(self, timeout):
        """Every line until the server closes; fails if it stays open."""
        self.s.settimeout(timeout)
        got = []
        try:
            while True:
                l = self.f.readline()
                if not l:
                    return got
                got.append(l)
        except (socket.timeout, TimeoutError):
            raise AssertionError("still open after %.1fs: %r" % (timeout, got))
        finally:
            self.s.settimeout(10)

    def close(self):
        self.s.close()


class Pop3:
    def __init__(self, roost, user, password=PASSWORD):
        self.s = socket.create_connection(("127.0.0.1", roost.port("pop3")), timeout=10)
        self.f = self.s.makefile("rb")
        assert self.f.readline().startswith(b"+OK")
        assert self.cmd(b"USER " + user.encode()).startswith(b"+OK")
        self.login_reply = self.cmd(b"PASS " + password.encode())

    def cmd(self, line):
        self.s.sendall(line + b"\r\n")
        return self.f.readline()

    def multi(self, line):
        first = self.cmd(line)
        if not first.startswith(b"+OK"):
            return first, b""
        body = b""
        while True:
            l = self.f.readline()
            assert l, "closed inside a multi-line reply"
            if l == b".\r\n":
                return first, body
            body += l

    def lines_until_closed(self, timeout):
        self.s.settimeout(timeout)
        got = []
        try:
            while True:
                l = self.f.readline()
                if not l:
                    return got
                got.append(l)
        except (socket.timeout, TimeoutError):
            raise AssertionError("still open after %.1fs: %r" % (timeout, got))
        finally:
            self.s.settimeout(10)


def closed_now(sock_obj):
    """The peer closed (or reset) the connection: nothing more can be done."""
    try:
        sock_obj.s.sendall(b"x1 NOOP\r\n")
    except OSError:
        return True
    sock_obj.s.settimeout(3)
    try:
        while True:
            l = sock_obj.f.readline()
            if not l:
                return True
            if l.startswith(b"x1 ") or l.startswith(b"+OK"):
                return False
    except OSError:
        return True


def msg(owner, n=0):
    return ("From: x@example.org\r\nTo: %s\r\nSubject: for %s %d\r\n\r\n"
            "OWNER=%s %d\r\n" % (owner, owner, n, owner, n)).encode()


@pytest.fixture
def two(roost_factory):
    r = roost_factory(pop3__concurrent_sessions="yes")
    r.add_user("bob@example.com")
    return r


# --- selected mailbox deleted or renamed away -------------------------

def test_selected_mailbox_deleted_by_other_session_ends_it(two):
    a = Imap(two, "alice@example.com")
    assert a.ok(b"CREATE X")
    assert a.ok(b"APPEND X {%d+}\r\n" % len(msg("alice")) + msg("alice"))
    assert a.ok(b"SELECT X")
    b = Imap(two, "alice@example.com")
    t0 = time.time()
    assert b.ok(b"DELETE X")
    got = a.lines_until_closed(KICK_WITHIN + 3)
    assert time.time() - t0 < KICK_WITHIN + 1, got
    assert any(l.startswith(b"* BYE") for l in got), got
    # nothing of a mailbox created afterwards (by anyone) reached it
    bob = Imap(two, "bob@example.com")
    assert bob.ok(b"CREATE Y")
    assert bob.ok(b"APPEND Y {%d+}\r\n" % len(msg("bob")) + msg("bob"))
    assert not any(b"EXISTS" in l or b"bob" in l for l in got), got
    # the session that deleted goes on; so does bob's
    assert b.ok(b"LIST \"\" *")
    assert bob.ok(b"NOOP")


def test_idle_session_told_at_once_when_selected_mailbox_deleted(two):
    a = Imap(two, "alice@example.com")
    assert a.ok(b"CREATE Y")
    assert a.ok(b"SELECT Y")
    a.idle()
    b = Imap(two, "alice@example.com")
    t0 = time.time()
    assert b.ok(b"DELETE Y")
    got = a.lines_until_closed(KICK_WITHIN + 3)
    assert time.time() - t0 < KICK_WITHIN + 1
    assert any(l.startswith(b"* BYE") for l in got), got


def test_selected_mailbox_renamed_away_ends_the_session(two):
    a = Imap(two, "alice@example.com")
    assert a.ok(b"CREATE P/C")
    assert a.ok(b"SELECT P/C")
    a.idle()
    b = Imap(two, "alice@example.com")
    assert b.ok(b"RENAME P Q")      # the child moves along, no event of its own
    got = a.lines_until_closed(KICK_WITHIN + 3)
    assert any(l.startswith(b"* BYE") for l in got), got
    # renaming back and forth is visible to the one who did it only
    c = Imap(two, "alice@example.com")
    assert c.ok(b"SELECT Q/C")
    assert c.ok(b"RENAME Q/C Q/D")
    assert c.ok(b"NOOP")            # its own rename: still selected
    out = c.cmd(b"UID FETCH 1:* (UID)")
    assert out[-1].split()[1] == b"OK", out
    assert c.ok(b"APPEND Q/D {%d+}\r\n" % len(msg("alice")) + msg("alice"))
    out = c.cmd(b"FETCH 1 BODY[TEXT]")
    assert any(b"OWNER=alice" in l for l in out), out


def test_own_delete_of_selected_mailbox_unselects_it(two):
    a = Imap(two, "alice@example.com")
    assert a.ok(b"CREATE Z")
    assert a.ok(b"SELECT Z")
    assert a.ok(b"DELETE Z")
    # the session lives on, in the authenticated state
    out = a.cmd(b"FETCH 1 (UID)")
    assert out[-1].split()[1] == b"BAD", out
    assert a.ok(b"SELECT INBOX")


def test_other_accounts_mailbox_events_do_not_touch_a_session(two):
    a = Imap(two, "alice@example.com")
    assert a.ok(b"CREATE Same")
    assert a.ok(b"SELECT Same")
    bob = Imap(two, "bob@example.com")
    assert bob.ok(b"CREATE Same")
    assert bob.ok(b"RENAME Same Other")
    assert bob.ok(b"DELETE Other")
    assert a.ok(b"NOOP")


# --- user del / passwd / disable end every session --------------------

def open_sessions(r, user):
    sel = Imap(r, user)
    assert sel.logged_in
    assert sel.ok(b"SELECT INBOX")
    idle = Imap(r, user)
    assert idle.ok(b"SELECT INBOX")
    idle.idle()
    pop = Pop3(r, user)
    assert pop.login_reply.startswith(b"+OK"), pop.login_reply
    return sel, idle, pop


def assert_all_ended(sessions, t0):
    sel, idle, pop = sessions
    for c in (sel, idle):
        got = c.lines_until_closed(KICK_WITHIN + 3)
        assert any(l.startswith(b"* BYE") for l in got), got
    got = pop.lines_until_closed(KICK_WITHIN + 3)
    assert got and got[-1].startswith(b"-ERR"), got
    assert time.time() - t0 < KICK_WITHIN + 1, "took %.2fs" % (time.time() - t0)


def assert_untouched(sessions):
    sel, idle, pop = sessions
    assert sel.ok(b"NOOP")
    idle.s.sendall(b"DONE\r\n")
    while True:
        l = idle.f.readline()
        assert l, "bob's IDLE session was closed"
        if l.startswith(idle.idle_tag + b" "):
            assert l.split()[1] == b"OK"
            break
    assert pop.cmd(b"NOOP").startswith(b"+OK")


@pytest.mark.parametrize("how", ["del", "passwd", "disable"])
def test_admin_command_ends_every_session_of_the_account(two, how):
    two.deliver(msg("alice"), "alice@example.com")
    two.deliver(msg("bob"), "bob@example.com")
    alice = open_sessions(two, "alice@example.com")
    bob = open_sessions(two, "bob@example.com")
    t0 = time.time()
    if how == "del":
        two.cli("user", "del", "alice@example.com")
    elif how == "passwd":
        two.cli("user", "passwd", "alice@example.com", input="newpass\n")
    else:
        two.cli("user", "disable", "alice@example.com")
    assert_all_ended(alice, t0)
    assert_untouched(bob)
    if how == "passwd":
        assert not Imap(two, "alice@example.com").logged_in
        assert Imap(two, "alice@example.com", "newpass").logged_in


def test_disabled_account_cannot_log_in_but_receives_mail(two):
    two.cli("user", "disable", "alice@example.com")
    show = two.cli("user", "show", "alice@example.com").stdout
    assert "disabled\tyes" in show
    assert "\tdisabled" in [l for l in two.cli("user", "list").stdout.splitlines()
                            if l.startswith("alice@")][0]
    c = Imap(two, "alice@example.com")
    assert not c.logged_in
    # the same answer as a wrong password: nothing tells it apart
    wrong = Imap(two, "bob@example.com", "wrong")
    assert c.last[-1].split(None, 2)[2] == wrong.last[-1].split(None, 2)[2]
    p = Pop3(two, "alice@example.com")
    assert p.login_reply.startswith(b"-ERR"), p.login_reply
    pw = Pop3(two, "bob@example.com", "wrong")
    assert p.login_reply == pw.login_reply
    # ... only the log says why
    deadline = time.time() + 5
    while "disabled" not in two.read_log() and time.time() < deadline:
        time.sleep(0.1)
    assert "disabled" in two.read_log()
    # mail is still accepted and kept
    with smtplib.SMTP("127.0.0.1", two.port("smtp"), timeout=10) as s:
        s.sendmail("x@example.org", ["alice@example.com"], msg("alice", 7))
    assert two.users()["alice@example.com"][2] == 1
    two.cli("user", "enable", "alice@example.com")
    assert "disabled\tno" in two.cli("user", "show", "alice@example.com").stdout
    c = Imap(two, "alice@example.com")
    assert c.logged_in
    assert c.ok(b"SELECT INBOX")
    out = c.cmd(b"FETCH 1 BODY[TEXT]")
    assert any(b"OWNER=alice 7" in l for l in out), out


def test_user_del_then_add_old_sessions_reach_nothing(two):
    two.deliver(msg("alice"), "alice@example.com")
    sel, idle, pop = open_sessions(two, "alice@example.com")
    plain = Imap(two, "alice@example.com")     # authenticated, not selected
    t0 = time.time()
    two.cli("user", "del", "alice@example.com")
    # a new account, likely to get the freed ids on a store that reuses them
    two.add_user("dave@example.com")
    two.deliver(msg("dave"), "dave@example.com")
    for c in (sel, idle, plain):
        got = c.lines_until_closed(KICK_WITHIN + 3)
        assert any(l.startswith(b"* BYE") for l in got), got
        assert not any(b"dave" in l for l in got), got
    got = pop.lines_until_closed(KICK_WITHIN + 3)
    assert got and got[-1].startswith(b"-ERR"), got
    assert time.time() - t0 < KICK_WITHIN + 5
    # every command the old sessions could try finds a closed connection
    for c, cmds in ((sel, [b"LIST \"\" *", b"SELECT INBOX", b"FETCH 1 BODY[]"]),
                    (plain, [b"SELECT INBOX"])):
        for line in cmds:
            try:
                c.s.sendall(b"z " + line + b"\r\n")
                assert c.f.readline() == b""
            except OSError:
                pass
    for line in (b"RETR 1", b"DELE 1", b"LIST"):
        try:
            pop.s.sendall(line + b"\r\n")
            assert pop.f.readline() == b""
        except OSError:
            pass
    # dave's mail is whole and his own
    d = Imap(two, "dave@example.com")
    assert d.ok(b"SELECT INBOX")
    out = d.cmd(b"FETCH 1:* BODY[TEXT]")
    assert any(b"OWNER=dave" in l for l in out), out
    assert two.users()["dave@example.com"][2] == 1



def test_disable_and_enable_without_a_daemon(datadir):
    datadir.init()
    datadir.cli("user", "disable", "alice@example.com")
    assert "disabled\tyes" in datadir.cli("user", "show", "alice@example.com").stdout
    datadir.cli("user", "enable", "alice@example.com")
    assert "disabled\tno" in datadir.cli("user", "show", "alice@example.com").stdout
    p = datadir.cli("user", "disable", "nobody@example.com", check=False)
    assert p.returncode != 0 and "no such account" in p.stderr
    # the daemon started later refuses the disabled account from the start
    datadir.cli("user", "disable", "alice@example.com")
    datadir.start()
    try:
        assert not Imap(datadir, "alice@example.com").logged_in
    finally:
        assert datadir.stop() == 0
