"""`roost user trace ADDRESS on|off` reaches sessions already logged in
(src/lib/trace.c, trace_conn_update; conn.c compares a generation counter
per command line): IMAP, POP3, submission and ManageSieve sessions opened
before `on` start a new file at their next command whose first line says
the trace began mid-session; `off` ends it at the next command with a
line saying so; other accounts' sessions are never traced."""
import base64
import glob
import imaplib
import os
import poplib
import re
import smtplib
import socket
import time

ALICE = "alice@example.com"
BOB = "bob@example.com"
PW = "Pw-l1ve-s3cr3t"


def traces(r, who=ALICE):
    return sorted(glob.glob(os.path.join(r.datadir, "trace", who + "-*.log")))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def wait_for(pred, what):
    for _ in range(60):
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


class Sieve:
    """A minimal ManageSieve (RFC 5804) client: one line per response."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.sock.makefile("rb")
        self.until_ok()

    def until_ok(self):
        while True:
            line = self.f.readline()
            assert line, "connection closed"
            if re.match(rb"^(OK|NO|BYE)\b", line):
                return line

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.until_ok()

    def close(self):
        self.cmd("LOGOUT")
        self.sock.close()


def open_sessions(r):
    imap = imaplib.IMAP4("127.0.0.1", r.port("imap"))
    imap.login(ALICE, PW)
    imap.select("INBOX")
    pop = poplib.POP3("127.0.0.1", r.port("pop3"))
    pop.user(ALICE)
    pop.pass_(PW)
    sub = smtplib.SMTP("127.0.0.1", r.port("submission"))
    sub.login(ALICE, PW)
    sv = Sieve(r.port("managesieve"))
    tok = base64.b64encode(("\0%s\0%s" % (ALICE, PW)).encode()).decode()
    assert sv.cmd('AUTHENTICATE "PLAIN" "%s"' % tok).startswith(b"OK")
    return imap, pop, sub, sv


def one_command_each(imap, pop, sub, sv, marker):
    """A command per session whose text names `marker` where it can."""
    imap.status("INBOX", "(MESSAGES)")
    imap.noop()
    pop.stat()
    pop.noop()
    assert sub.docmd("NOOP")[0] == 250
    assert sv.cmd('HAVESPACE "%s" 10' % marker).startswith(b"OK")


def by_proto(files):
    out = {}
    for p in files:
        first = read(p).split(b"\n", 1)[0]
        m = re.match(rb"-- (\w+) session", first)
        assert m, first
        out.setdefault(m.group(1).decode(), []).append(p)
    return out


def run(r):
    r.cli("user", "passwd", ALICE, input=PW + "\n")
    r.add_user(BOB, PW)
    imap, pop, sub, sv = open_sessions(r)
    # bob's session, logged in before too: never traced
    bob = imaplib.IMAP4("127.0.0.1", r.port("imap"))
    bob.login(BOB, PW)
    one_command_each(imap, pop, sub, sv, "before-on")
    time.sleep(0.2)
    assert traces(r) == []

    assert r.cli("user", "trace", ALICE, "on").returncode == 0
    one_command_each(imap, pop, sub, sv, "while-on")
    bob.noop()
    # a file per session, its first line saying it began mid-session
    files = wait_for(lambda: len(traces(r)) == 4 and traces(r), "four trace files")
    time.sleep(1.3)  # the flush timer (a second)
    protos = by_proto(files)
    assert sorted(protos) == ["imap", "managesieve", "pop3", "submission"], protos
    for proto, (path,) in protos.items():
        data = read(path)
        first = data.split(b"\n", 1)[0]
        assert b"began mid-session" in first, (proto, first)
        assert b"user " + ALICE.encode() in first
        assert b"before-on" not in data
        assert PW.encode() not in data
    assert b"STATUS INBOX (MESSAGES)" in read(protos["imap"][0])
    assert b"C: STAT" in read(protos["pop3"][0])
    assert b"C: NOOP" in read(protos["submission"][0])
    assert b'HAVESPACE "while-on" 10' in read(protos["managesieve"][0])
    assert traces(r, BOB) == []

    # off: each trace ends at the session's next command, which is not traced
    assert r.cli("user", "trace", ALICE, "off").returncode == 0
    one_command_each(imap, pop, sub, sv, "after-off")
    time.sleep(0.3)
    assert traces(r) == files
    for path in files:
        data = read(path)
        assert data.rstrip(b"\n").endswith(b"-- trace switched off"), data[-200:]
        assert b"after-off" not in data
    sizes = [os.path.getsize(p) for p in files]
    one_command_each(imap, pop, sub, sv, "still-off")
    time.sleep(0.3)
    assert [os.path.getsize(p) for p in files] == sizes

    # on again: new files, and the sessions' ends are in them
    assert r.cli("user", "trace", ALICE, "on").returncode == 0
    one_command_each(imap, pop, sub, sv, "on-again")
    imap.logout()
    pop.quit()
    sub.quit()
    sv.close()
    bob.logout()
    again = wait_for(lambda: len(traces(r)) == 8 and [p for p in traces(r) if p not in files],
                     "four more trace files")
    time.sleep(0.3)
    protos = by_proto(again)
    assert sorted(protos) == ["imap", "managesieve", "pop3", "submission"], protos
    assert b"LOGOUT" in read(protos["imap"][0])
    assert b"C: QUIT" in read(protos["pop3"][0])
    assert b'HAVESPACE "on-again" 10' in read(protos["managesieve"][0])
    assert traces(r, BOB) == []


def test_live_sessions_follow_the_switch(roost):
    """No account traced when the sessions connected (no trace object)."""
    run(roost)


def test_live_sessions_follow_the_switch_with_another_traced(roost):
    """Another account traced when the sessions connected: they carried a
    pre-login buffer, dropped at login; the switch still reaches them."""
    roost.add_user("carol@example.com", PW)
    assert roost.cli("user", "trace", "carol@example.com", "on").returncode == 0
    run(roost)
    assert traces(roost, "carol@example.com") == []


def test_switched_on_between_connect_and_login(roost):
    """A session that connected untraced and logged in after `on` is traced
    from its login (the login reply included)."""
    roost.cli("user", "passwd", ALICE, input=PW + "\n")
    imap = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    assert roost.cli("user", "trace", ALICE, "on").returncode == 0
    imap.login(ALICE, PW)
    imap.noop()
    imap.logout()
    (path,) = wait_for(lambda: traces(roost), "a trace file")
    time.sleep(0.3)
    data = read(path)
    assert b"NOOP" in data and b"LOGOUT" in data
    assert PW.encode() not in data


def test_managesieve_sasl_is_redacted(roost):
    """ManageSieve logins (now traced): the initial response, a SASL
    continuation string and a literal never reach the file."""
    roost.cli("user", "passwd", ALICE, input=PW + "\n")
    assert roost.cli("user", "trace", ALICE, "on").returncode == 0
    tok = base64.b64encode(("\0%s\0%s" % (ALICE, PW)).encode())
    sv = Sieve(roost.port("managesieve"))
    assert sv.cmd('AUTHENTICATE "PLAIN" "%s"' % tok.decode()).startswith(b"OK")
    sv.close()
    sv = Sieve(roost.port("managesieve"))
    sv.sock.sendall(b'AUTHENTICATE "PLAIN"\r\n')
    assert sv.f.readline().startswith(b'""')  # the empty challenge
    sv.sock.sendall(b'"' + tok + b'"\r\n')
    assert sv.until_ok().startswith(b"OK")
    sv.close()
    sv = Sieve(roost.port("managesieve"))
    sv.sock.sendall(b'AUTHENTICATE "PLAIN" {%d+}\r\n%s\r\n' % (len(tok), tok))
    assert sv.until_ok().startswith(b"OK")
    assert sv.cmd("NOOP").startswith(b"OK")
    sv.close()
    files = wait_for(lambda: len(traces(roost)) == 3 and traces(roost), "three files")
    time.sleep(0.3)
    for p in files:
        data = read(p)
        assert b"AUTHENTICATE" in data and b"[redacted]" in data, data
        assert tok not in data and PW.encode() not in data
    assert any(b"C: NOOP" in read(p) for p in files)
