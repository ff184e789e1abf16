"""Account isolation through ids that are never reused.

A session holds its selected mailbox (and its account) by id. When that
mailbox or account is deleted, the id must never come back for another
account's mailbox: otherwise the stale session reads, flags and expunges
mail it never had (the attacks below, each of which worked when the store
used `INTEGER PRIMARY KEY` without AUTOINCREMENT).

What the stale session should answer instead (BYE or NO [NONEXISTENT]) is
not asserted here: only that no byte of the other account's mail reaches
it, and that nothing it sends changes that mail. Every message carries a
marker naming its owner, and every byte the stale session receives is
searched for it.
"""
import poplib
import socket
import time

import pytest

ALICE = "alice@example.com"


class Imap:
    """A raw IMAP session that keeps every byte it received and survives
    the server closing it (a stale session may well get BYE)."""

    def __init__(self, roost, user, password="secret"):
        self.s = socket.create_connection(("127.0.0.1", roost.port("imap")), timeout=10)
        self.f = self.s.makefile("rb")
        self.received = self.f.readline()
        self.n = 0
        self.closed = False
        out = self.cmd(b"LOGIN %s %s" % (user.encode(), password.encode()))
        assert out[-1].split()[1] == b"OK", out

    def cmd(self, line):
        """Send one command; the lines up to its tagged reply (or EOF)."""
        if self.closed:
            return []
        self.n += 1
        tag = b"t%d" % self.n
        try:
            self.s.sendall(tag + b" " + line + b"\r\n")
        except OSError:
            self.closed = True
            return []
        out = []
        while True:
            try:
                l = self.f.readline()
            except OSError:
                l = b""
            if not l:
                self.closed = True
                return out
            self.received += l
            out.append(l)
            # a literal's bytes follow its {n} announcement
            if l.endswith(b"}\r\n") and b"{" in l:
                n = int(l[l.rindex(b"{") + 1:-3])
                data = self.f.read(n)
                self.received += data
                out.append(data)
                continue
            if l.startswith(tag + b" "):
                return out

    def ok(self, line):
        out = self.cmd(line)
        assert out and out[-1].split()[1] == b"OK", out
        return out

    def append(self, mailbox, data):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" APPEND %s {%d}\r\n" % (mailbox, len(data)))
        l = self.f.readline()
        assert l.startswith(b"+"), l
        self.s.sendall(data + b"\r\n")
        while True:
            l = self.f.readline()
            assert l, "closed during APPEND"
            if l.startswith(tag + b" "):
                assert l.split()[1] == b"OK", l
                return l

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def message(owner, n=1):
    return (b"From: sender@other.example\r\nTo: %s\r\nSubject: for %s %d\r\n\r\n"
            b"SECRET-OF-%s-%d\r\n" % (owner.encode(), owner.encode(), n,
                                      owner.encode(), n))


def marker(owner):
    return b"SECRET-OF-%s" % owner.encode()


def attack(session, rounds=3):
    """Everything a stale selected session might try on its mailbox."""
    for _ in range(rounds):
        session.cmd(b"NOOP")
        session.cmd(b"FETCH 1:* (FLAGS UID BODY.PEEK[] RFC822.SIZE)")
        session.cmd(b"UID FETCH 1:* (FLAGS BODY.PEEK[])")
        session.cmd(b"SEARCH ALL")
        session.cmd(b"STORE 1:* +FLAGS (\\Deleted \\Seen)")
        session.cmd(b"UID STORE 1:* +FLAGS (\\Deleted \\Seen)")
        session.cmd(b"EXPUNGE")
        session.cmd(b"UID EXPUNGE 1:*")
        session.cmd(b"CHECK")
        time.sleep(0.1)


def mailbox_state(roost, user, mailbox):
    """(message bodies, flags) of a mailbox, read by its owner."""
    s = Imap(roost, user)
    s.ok(b"EXAMINE " + mailbox)
    out = s.ok(b"FETCH 1:* (FLAGS BODY.PEEK[])")
    s.cmd(b"LOGOUT")
    s.close()
    return b"".join(out)


def test_deleted_mailbox_id_not_given_to_another_account(roost):
    roost.add_user("bob@example.com")
    a = Imap(roost, ALICE)
    a.ok(b"CREATE X")
    a.ok(b"SELECT X")
    b = Imap(roost, ALICE)
    b.ok(b"DELETE X")
    b.close()
    bob = Imap(roost, "bob@example.com")
    bob.ok(b"CREATE Y")
    bob.append(b"Y", message("bob"))
    bob.append(b"INBOX", message("bob", 2))
    time.sleep(0.3)     # let the change feed reach every watcher
    attack(a)
    assert marker("bob") not in a.received, a.received[-2000:]
    a.close()
    # bob's mail is untouched by alice's STORE/EXPUNGE
    for mbox in (b"Y", b"INBOX"):
        state = mailbox_state(roost, "bob@example.com", mbox)
        assert marker("bob") in state, (mbox, state)
        assert b"\\Deleted" not in state and b"\\Seen" not in state, (mbox, state)
    bob.close()
    p = roost.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr


def test_new_account_never_inherits_a_deleted_mailbox_id(roost):
    a = Imap(roost, ALICE)
    a.ok(b"CREATE X")
    a.ok(b"SELECT X")
    b = Imap(roost, ALICE)
    b.ok(b"DELETE X")
    b.close()
    # no action of alice's: an admin adds an account, mail arrives for it
    roost.add_user("carol@example.com")
    roost.deliver(message("carol"), "carol@example.com")
    roost.deliver(message("carol", 2), "carol@example.com")
    time.sleep(0.3)
    attack(a)
    assert marker("carol") not in a.received, a.received[-2000:]
    a.close()
    state = mailbox_state(roost, "carol@example.com", b"INBOX")
    assert state.count(marker("carol")) == 2, state
    assert b"\\Deleted" not in state and b"\\Seen" not in state, state
    p = roost.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr


def test_deleted_account_id_not_given_to_a_new_account(roost):
    """alice's IMAP and POP3 sessions stay open while alice is deleted and
    dave is added: dave's account and INBOX must not take alice's ids."""
    roost.deliver(message("alice"), ALICE)
    imap = Imap(roost, ALICE)
    imap.ok(b"SELECT INBOX")
    pop = poplib.POP3("127.0.0.1", roost.port("pop3"), timeout=10)
    pop.user(ALICE)
    pop.pass_("secret")
    roost.cli("user", "del", ALICE)
    roost.add_user("dave@example.com")
    roost.deliver(message("dave"), "dave@example.com")
    roost.deliver(message("dave", 2), "dave@example.com")
    time.sleep(0.3)
    got = b""
    for cmd in (b"NOOP", b'LIST "" "*"', b"SELECT INBOX"):
        imap.cmd(cmd)
    attack(imap)
    got += imap.received
    imap.close()
    for n in (1, 2):
        try:
            _, lines, _ = pop.retr(n)
            got += b"\r\n".join(lines)
        except (poplib.error_proto, OSError, EOFError):
            pass
        try:
            pop.dele(n)
        except (poplib.error_proto, OSError, EOFError):
            pass
    try:
        pop.quit()
    except (poplib.error_proto, OSError, EOFError):
        pass
    assert marker("dave") not in got, got[-2000:]
    state = mailbox_state(roost, "dave@example.com", b"INBOX")
    assert state.count(marker("dave")) == 2, state
    assert b"\\Deleted" not in state and b"\\Seen" not in state, state
    p = roost.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr
