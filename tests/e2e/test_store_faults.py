"""Read faults in a running daemon: a failing store read is a temporary
error in every protocol, never "not found" (store.h's error discipline).

`roost debug fail-reads N ioerr|busy [SKIP]` (only with the test-only
setting debug.fault_injection = yes) makes the daemon's next N sqlite3_step
calls on read connections fail as a failing disk (SQLITE_IOERR) or a held
lock (SQLITE_BUSY) would. Each test arms it around one command, checks the
answer is the protocol's temporary error (RCPT 451 4.3.0, IMAP
NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]), that the session goes on and the
next attempt works, and that nothing stored was lost (`roost check` clean).

search.fts = no keeps the indexer thread (which reads on its own) away,
so the armed faults reach the command under test."""
import poplib
import re
import smtplib
import socket

import pytest

ALICE = "alice@example.com"
MSG = b"From: bob@example.org\r\nSubject: faults\r\n\r\nbody of the message\r\n"
# enough to fail every read one command makes
ALL_READS = "100000"


@pytest.fixture
def faulty(roost_factory):
    r = roost_factory(debug__fault_injection="yes", search__fts="no")
    for _ in range(3):
        r.deliver(MSG, ALICE)
    return r


def arm(r, count, kind="ioerr", skip=0):
    r.cli("debug", "fail-reads", str(count), kind, str(skip))


def disarm(r):
    r.cli("debug", "fail-reads", "0", "ioerr")


def stored(r):
    """(messages, bytes) of alice; run disarmed (the CLI reads too)."""
    _, used, count = r.users()[ALICE]
    return count, used


def assert_intact(r, before):
    assert stored(r) == before
    assert r.cli("check").stdout.strip() == "clean"


class Imap:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.n = 0
        assert self.cmd(b"LOGIN alice@example.com secret")[-1].split()[1] == b"OK"

    def cmd(self, text):
        self.n += 1
        tag = b"C%d" % self.n
        self.s.sendall(tag + b" " + text + b"\r\n")
        out = []
        while True:
            line = self.f.readline()
            assert line, out
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                line += self.f.read(int(m.group(1))) + self.f.readline()
            out.append(line)
            if line.startswith(tag + b" "):
                return out

    def close(self):
        self.s.close()


def test_fault_injection_is_off_by_default(roost):
    p = roost.cli("debug", "fail-reads", "1", "ioerr", check=False)
    assert p.returncode == 1
    assert "debug.fault_injection" in p.stderr
    # and the daemon still answers reads
    assert roost.cli("check").stdout.strip() == "clean"


def test_fault_injection_needs_the_daemon(datadir):
    datadir.init()
    p = datadir.cli("debug", "fail-reads", "1", "ioerr", check=False)
    assert p.returncode == 1
    assert "running daemon" in p.stderr


@pytest.mark.parametrize("kind", ["ioerr", "busy"])
@pytest.mark.parametrize("skip", [0, 1, 2])
def test_rcpt_read_fault_is_451_never_550(faulty, kind, skip):
    """Whichever read of the lookup fails (domain, account, quota), RCPT
    answers 451 4.3.0; the retry right after is accepted and delivered."""
    before = stored(faulty)
    c = smtplib.SMTP("127.0.0.1", faulty.port("smtp"), timeout=10)
    c.ehlo("client.example")
    assert c.mail("bob@example.org")[0] == 250
    arm(faulty, 1, kind, skip)
    code, text = c.rcpt(ALICE)
    disarm(faulty)
    assert code == 451, text
    assert text.startswith(b"4.3.0"), text
    code, text = c.rcpt(ALICE)
    assert code == 250, text
    assert c.data(MSG)[0] == 250
    c.quit()
    count, used = stored(faulty)
    assert count == before[0] + 1
    assert faulty.cli("check").stdout.strip() == "clean"


@pytest.mark.parametrize("kind", ["ioerr", "busy"])
def test_lmtp_rcpt_read_fault_is_451(faulty, kind):
    c = smtplib.LMTP("127.0.0.1", faulty.port("lmtp"), timeout=10)
    c.ehlo("mta.example")
    assert c.mail("bob@example.org")[0] == 250
    arm(faulty, ALL_READS, kind)
    code, text = c.rcpt(ALICE)
    disarm(faulty)
    assert code == 451 and text.startswith(b"4.3.0"), (code, text)
    assert c.rcpt(ALICE)[0] == 250
    c.quit()


@pytest.mark.parametrize("proto", ["smtp", "lmtp"])
def test_data_read_fault_is_451_never_no_such_user(faulty, proto):
    """At the end of DATA the recipients are looked up again: a read that
    fails then is a temporary failure, never "no such user" (LMTP's reply
    per recipient included)."""
    before = stored(faulty)
    cls = smtplib.LMTP if proto == "lmtp" else smtplib.SMTP
    c = cls("127.0.0.1", faulty.port(proto), timeout=10)
    c.ehlo("mta.example")
    assert c.mail("bob@example.org")[0] == 250
    assert c.rcpt(ALICE)[0] == 250
    arm(faulty, 1)
    code, text = c.data(MSG)
    disarm(faulty)
    assert code == 451 and text.startswith(b"4.3.0"), (code, text)
    assert c.mail("bob@example.org")[0] == 250
    assert c.rcpt(ALICE)[0] == 250
    assert c.data(MSG)[0] == 250
    c.quit()
    assert stored(faulty)[0] == before[0] + 1


@pytest.mark.parametrize("kind", ["ioerr", "busy"])
@pytest.mark.parametrize("command", [
    b"SELECT INBOX",
    b"EXAMINE INBOX",
    b"STATUS INBOX (MESSAGES UNSEEN RECENT)",
    b"GETQUOTAROOT INBOX",
    b"GETQUOTA \"\"",
    b"LIST \"\" *",
])
def test_imap_read_fault_is_unavailable(faulty, kind, command):
    faulty.cli("user", "quota", ALICE, "10M")
    before = stored(faulty)
    c = Imap(faulty.port("imap"))
    arm(faulty, ALL_READS, kind)
    out = c.cmd(command)
    disarm(faulty)
    assert out[-1].split()[1] == b"NO", out
    assert b"[UNAVAILABLE]" in out[-1], out
    assert b"NONEXISTENT" not in b"".join(out), out
    # the session goes on, and the same command now works
    out = c.cmd(command)
    assert out[-1].split()[1] == b"OK", out
    assert c.cmd(b"NOOP")[-1].split()[1] == b"OK"
    c.close()
    assert_intact(faulty, before)


@pytest.mark.parametrize("kind", ["ioerr", "busy"])
@pytest.mark.parametrize("command", [
    b"FETCH 1:* (BODY.PEEK[])",
    b"FETCH 1:* (ENVELOPE)",
    b"UID FETCH 1:* (FLAGS RFC822.SIZE)",
    b"SEARCH SUBJECT faults",
])
def test_imap_selected_read_fault_is_unavailable(faulty, kind, command):
    before = stored(faulty)
    c = Imap(faulty.port("imap"))
    assert c.cmd(b"SELECT INBOX")[-1].split()[1] == b"OK"
    arm(faulty, ALL_READS, kind)
    out = c.cmd(command)
    disarm(faulty)
    assert out[-1].split()[1] == b"NO", out
    assert b"[UNAVAILABLE]" in out[-1], out
    out = c.cmd(command)
    assert out[-1].split()[1] == b"OK", out
    assert len([line for line in out if line.startswith(b"* ")]) >= 1, out
    # a failed read deleted nothing, and the mailbox is still whole
    out = c.cmd(b"EXPUNGE")
    assert out[-1].split()[1] == b"OK"
    assert not any(b"EXPUNGE" in line and line.startswith(b"* ") for line in out), out
    c.close()
    assert_intact(faulty, before)


def pop3_login(r):
    p = poplib.POP3("127.0.0.1", r.port("pop3"), timeout=10)
    p.user(ALICE)
    return p


@pytest.mark.parametrize("kind", ["ioerr", "busy"])
def test_pop3_login_scram_key_read_fault_still_logs_in(faulty, kind):
    """Read 1 after the password check looks up the account's SCRAM keys
    (auth.c scram_upgrade): best effort, its failure only delays SCRAM to
    the next login, never this one."""
    p = pop3_login(faulty)
    arm(faulty, 1, kind, 1)
    assert p.pass_("secret").startswith(b"+OK")
    disarm(faulty)
    p.quit()


@pytest.mark.parametrize("kind", ["ioerr", "busy"])
@pytest.mark.parametrize("skip", [0, 2, 3, 4])
def test_pop3_login_read_fault_is_sys_temp(faulty, kind, skip):
    """The password check reads first, then the account's settings, INBOX
    and its message list: whichever fails, the answer is SYS/TEMP (not
    [AUTH], not an empty maildrop)."""
    before = stored(faulty)
    p = pop3_login(faulty)
    arm(faulty, 1, kind, skip)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("secret")
    disarm(faulty)
    assert e.value.args[0].startswith(b"-ERR [SYS/TEMP]"), e.value.args
    p.close()
    # the next login gets the whole maildrop
    p = pop3_login(faulty)
    assert p.pass_("secret").startswith(b"+OK")
    assert p.stat()[0] == before[0]
    p.quit()
    assert_intact(faulty, before)


@pytest.mark.parametrize("kind", ["ioerr", "busy"])
def test_pop3_retr_read_fault_is_sys_temp(faulty, kind):
    before = stored(faulty)
    p = pop3_login(faulty)
    p.pass_("secret")
    arm(faulty, ALL_READS, kind)
    with pytest.raises(poplib.error_proto) as e:
        p.retr(1)
    disarm(faulty)
    assert e.value.args[0].startswith(b"-ERR [SYS/TEMP]"), e.value.args
    # the session goes on: the retry reads the message, DELE and QUIT work
    resp, lines, _ = p.retr(1)
    assert resp.startswith(b"+OK") and b"body of the message" in b"\r\n".join(lines)
    p.dele(2)
    p.quit()
    count, _ = stored(faulty)
    assert count == before[0] - 1
    assert faulty.cli("check").stdout.strip() == "clean"


def test_pop3_quit_after_fault_deletes_only_what_was_deleted(faulty):
    """A read fault between DELE and QUIT: QUIT still commits exactly the
    DELE'd message, nothing else."""
    before = stored(faulty)
    p = pop3_login(faulty)
    p.pass_("secret")
    p.dele(1)
    arm(faulty, ALL_READS, "ioerr")
    with pytest.raises(poplib.error_proto):
        p.retr(2)
    disarm(faulty)
    p.quit()
    assert stored(faulty)[0] == before[0] - 1
    assert faulty.cli("check").stdout.strip() == "clean"


@pytest.mark.parametrize("command", [
    b"SEARCH HEADER Subject faults",
    b"SEARCH BODY message",
])
def test_imap_search_read_fault_is_never_a_short_answer(faulty, command):
    """A message whose header or text cannot be read is not "no match":
    SEARCH fails as a whole (the read of one message fails, after the
    mailbox check and the first row succeeded)."""
    c = Imap(faulty.port("imap"))
    assert c.cmd(b"SELECT INBOX")[-1].split()[1] == b"OK"
    full = c.cmd(command)
    assert full[-1].split()[1] == b"OK" and full[0].split()[2:] == [b"1", b"2", b"3"], full
    arm(faulty, 1, "ioerr", skip=2)
    out = c.cmd(command)
    disarm(faulty)
    assert out[-1].split()[1] == b"NO" and b"[UNAVAILABLE]" in out[-1], out
    again = c.cmd(command)
    assert again[:-1] == full[:-1] and again[-1].split()[1] == b"OK", again
    c.close()


@pytest.mark.parametrize("kind", ["ioerr", "busy"])
def test_imap_login_read_fault_is_not_a_wrong_password(faulty, kind):
    s = socket.create_connection(("127.0.0.1", faulty.port("imap")), timeout=10)
    f = s.makefile("rb")
    f.readline()
    arm(faulty, 1, kind)
    s.sendall(b"a LOGIN alice@example.com secret\r\n")
    line = f.readline()
    disarm(faulty)
    assert line.startswith(b"a NO [UNAVAILABLE]"), line
    assert b"AUTHENTICATIONFAILED" not in line
    s.sendall(b"b LOGIN alice@example.com secret\r\n")
    while True:
        line = f.readline()
        assert line, "closed"
        if line.startswith(b"b "):
            break
    assert line.startswith(b"b OK"), line
    s.close()
