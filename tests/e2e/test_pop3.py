"""POP3 (RFC 1939, 2449, 2595, 5034, 6856) end to end with Python's poplib
and raw sockets: every command in every state, sizes, UIDL, locking, auth
failures and bad input."""
import base64
import poplib
import re
import socket
import ssl
import time

import pytest

ALICE = "alice@example.com"


def message(i, body=None, eol=b"\r\n"):
    """A small message; `body` lines joined with `eol`."""
    lines = [b"From: bob@example.net", b"To: alice@example.com",
             b"Subject: message %d" % i, b""]
    lines += body if body is not None else [b"Hello %d" % i, b"bye"]
    return eol.join(lines) + eol


def crlf_form(data):
    """The octets RETR must deliver (after un-stuffing): CRLF lines."""
    if not data:
        return b""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    out = b""
    for line in lines:
        if line.endswith(b"\r"):
            line = line[:-1]
        out += line + b"\r\n"
    return out


def connect(roost, timeout=10):
    return poplib.POP3("127.0.0.1", roost.port("pop3"), timeout=timeout)


def login(roost, user=ALICE, password="secret"):
    p = connect(roost)
    p.user(user)
    p.pass_(password)
    return p


def retr_bytes(p, n):
    resp, lines, octets = p.retr(n)
    return b"".join(line + b"\r\n" for line in lines), octets


def inbox_count(roost, address=ALICE):
    return roost.users()[address][2]


def stored(roost, uid, address=ALICE):
    return roost.cli("message", "get", address, "INBOX", str(uid), binary=True).stdout


def inbox_line(roost, address=ALICE):
    """(messages, unseen, bytes) of INBOX from `roost mailbox list`."""
    for line in roost.cli("mailbox", "list", address).stdout.splitlines():
        name, count, unseen, size = line.split("\t")
        if name == "INBOX":
            return int(count), int(unseen), int(size)
    raise AssertionError("no INBOX")


class Raw:
    """A line-level POP3 client for input poplib refuses to send."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rb")
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        return self.f.readline().rstrip(b"\r\n")

    def cmd(self, data):
        self.send(data + b"\r\n")
        return self.line()

    def multiline(self):
        lines = []
        while True:
            line = self.line()
            if line == b".":
                return lines
            lines.append(line)

    def closed(self):
        """True when the server has closed the connection."""
        try:
            return self.f.readline() == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.f.close()
        self.sock.close()


# --- greeting, CAPA ------------------------------------------------------

def test_greeting_and_capa(roost):
    p = connect(roost)
    assert p.getwelcome().startswith(b"+OK")
    caps = p.capa()
    for cap in ("TOP", "USER", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
                "UTF8", "STLS"):
        assert cap in caps, cap
    assert caps["SASL"] == ["PLAIN", "LOGIN"]
    assert caps["EXPIRE"] == ["NEVER"]
    assert caps["IMPLEMENTATION"] == ["Roost"]
    assert "LOGIN-DELAY" not in caps
    p.user(ALICE)
    p.pass_("secret")
    caps = p.capa()
    # After login: no STLS, no USER/SASL (RFC 2449 section 5).
    assert "STLS" not in caps and "USER" not in caps and "SASL" not in caps
    assert "TOP" in caps and "UIDL" in caps
    p.quit()


def test_capa_expire_and_login_delay(roost_factory):
    r = roost_factory(pop3__expire_days="30", pop3__login_delay="2s")
    p = connect(r)
    caps = p.capa()
    assert caps["EXPIRE"] == ["30"]
    assert caps["LOGIN-DELAY"] == ["2"]
    p.quit()


# --- the transaction state ------------------------------------------------

def test_stat_list_retr_sizes_match(roost):
    bodies = [
        message(1),
        message(2, eol=b"\n"),                         # stored with bare LF
        message(3, [b".starts with a dot", b"..two", b".", b"x"]),
        b"Subject: no final newline\r\n\r\nlast line",  # no trailing CRLF
        message(5, [b"mixed\r", b"lf only"], eol=b"\n"),
    ]
    for b in bodies:
        roost.deliver(b, ALICE)
    p = login(roost)
    count, total = p.stat()
    assert count == len(bodies)
    resp, listing, _ = p.list()
    sizes = {int(n): int(s) for n, s in (x.split() for x in listing)}
    assert sorted(sizes) == list(range(1, len(bodies) + 1))
    assert total == sum(sizes.values())
    for n in range(1, len(bodies) + 1):
        data, octets = retr_bytes(p, n)
        expect = crlf_form(stored(roost, n))
        assert data == expect, n
        assert octets == sizes[n] == len(expect), n
        assert p.list(n).split()[2] == b"%d" % sizes[n]
    # Stuffed lines come back un-stuffed, the original text intact.
    assert b"\r\n.starts with a dot\r\n..two\r\n.\r\nx\r\n" in retr_bytes(p, 3)[0]
    p.quit()


def test_retr_large_message_streams(roost):
    line = b"0123456789" * 7 + b"\r\n"
    big = b"Subject: big\r\n\r\n" + line * (3 * 1024 * 1024 // len(line))
    roost.deliver(big, ALICE)
    roost.deliver(message(2), ALICE)
    p = login(roost)
    # Pipelined behind the big RETR, the NOOP must be answered after it.
    p._putcmd("RETR 1")
    p._putcmd("NOOP")
    resp, lines, octets = p._getlongresp()
    assert resp.startswith(b"+OK")
    assert p._getresp().startswith(b"+OK")
    data = b"".join(x + b"\r\n" for x in lines)
    assert data == crlf_form(stored(roost, 1))
    assert octets == int(p.list(1).split()[2])
    p.quit()


def test_top(roost):
    roost.deliver(message(1, [b"l1", b".l2", b"l3", b"l4"]), ALICE)
    p = login(roost)
    resp, lines, _ = p.top(1, 2)
    assert resp.startswith(b"+OK")
    i = lines.index(b"")
    assert lines[i + 1:] == [b"l1", b".l2"]
    assert b"Subject: message 1" in lines[:i]
    resp, lines, _ = p.top(1, 0)
    assert lines[-1] == b"" and b"l1" not in lines
    resp, lines, _ = p.top(1, 100)
    assert lines[-4:] == [b"l1", b".l2", b"l3", b"l4"]
    p.quit()
    # TOP is not a retrieval: nothing is marked \Seen.
    assert inbox_line(roost)[1] == 1


def test_uidl_stable_and_unique(roost):
    for i in range(3):
        roost.deliver(message(i), ALICE)
    p = login(roost)
    resp, listing, _ = p.uidl()
    uidls = [x.split()[1] for x in listing]
    assert len(set(uidls)) == 3
    for u in uidls:
        assert re.fullmatch(rb"\d+\.\d+", u)
    assert [u.split(b".")[1] for u in uidls] == [b"1", b"2", b"3"]
    assert p.uidl(2).split()[2] == uidls[1]
    p.dele(1)
    p.quit()
    roost.deliver(message(9), ALICE)
    p = login(roost)
    resp, listing, _ = p.uidl()
    again = [x.split()[1] for x in listing]
    # The survivors keep their UIDLs; the new one never reuses the old.
    assert again[:2] == uidls[1:]
    assert again[2] not in uidls
    p.quit()


def test_dele_rset_quit(roost):
    for i in range(3):
        roost.deliver(message(i), ALICE)
    p = login(roost)
    assert p.dele(1).startswith(b"+OK")
    assert p.stat()[0] == 2
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    with pytest.raises(poplib.error_proto):
        p.list(1)
    with pytest.raises(poplib.error_proto):
        p.dele(1)
    assert [x.split()[0] for x in p.list()[1]] == [b"2", b"3"]
    assert p.rset().startswith(b"+OK")
    assert p.stat()[0] == 3
    assert p.noop().startswith(b"+OK")
    p.dele(2)
    p.dele(3)
    assert p.quit().startswith(b"+OK")
    assert inbox_count(roost) == 1
    p = login(roost)
    assert p.stat()[0] == 1
    assert b"Subject: message 0" in retr_bytes(p, 1)[0]
    p.quit()


def test_no_quit_deletes_nothing(roost):
    for i in range(2):
        roost.deliver(message(i), ALICE)
    p = login(roost)
    p.dele(1)
    p.dele(2)
    p.sock.shutdown(socket.SHUT_RDWR)   # drop the connection without QUIT
    p.close()
    time.sleep(0.3)
    assert inbox_count(roost) == 2
    p = login(roost)     # and the lock was released
    assert p.stat()[0] == 2
    p.quit()


def test_retr_marks_seen(roost):
    roost.deliver(message(1), ALICE)
    roost.deliver(message(2), ALICE)
    p = login(roost)
    p.retr(1)
    p.quit()
    assert inbox_line(roost)[:2] == (2, 1)


def test_retr_marks_seen_off(roost_factory):
    r = roost_factory(pop3__retr_marks_seen="no")
    r.deliver(message(1), ALICE)
    p = login(r)
    p.retr(1)
    p.quit()
    assert inbox_line(r)[:2] == (1, 1)


def test_wrong_state(roost_factory):
    roost = roost_factory(pop3__max_errors="100")
    r = Raw(roost.port("pop3"))
    for cmd in (b"STAT", b"LIST", b"RETR 1", b"DELE 1", b"UIDL", b"TOP 1 1", b"RSET", b"NOOP"):
        assert r.cmd(cmd).startswith(b"-ERR"), cmd
    assert r.cmd(b"PASS secret").startswith(b"-ERR")     # PASS before USER
    assert r.cmd(b"USER " + ALICE.encode()).startswith(b"+OK")
    assert r.cmd(b"PASS secret").startswith(b"+OK")
    for cmd in (b"USER x", b"PASS y", b"AUTH PLAIN", b"STLS", b"UTF8"):
        assert r.cmd(cmd).startswith(b"-ERR"), cmd
    assert r.cmd(b"QUIT").startswith(b"+OK")
    r.close()


def test_pipelining(roost):
    roost.deliver(message(1), ALICE)
    r = Raw(roost.port("pop3"))
    r.send(b"USER alice@example.com\r\nPASS secret\r\nSTAT\r\nLIST 1\r\nUIDL 1\r\nNOOP\r\nQUIT\r\n")
    replies = [r.line() for _ in range(7)]
    assert all(x.startswith(b"+OK") for x in replies), replies
    assert replies[2].split()[1] == b"1"
    r.close()


def test_utf8_command(roost):
    p = connect(roost)
    assert p.utf8().startswith(b"+OK")
    p.user(ALICE)
    p.pass_("secret")
    p.quit()


# --- authentication -------------------------------------------------------

def test_auth_failures_look_the_same(roost):
    p = connect(roost)
    p.user(ALICE)
    with pytest.raises(poplib.error_proto) as e1:
        p.pass_("wrong")
    p.user("nobody@example.com")
    with pytest.raises(poplib.error_proto) as e2:
        p.pass_("wrong")
    assert str(e1.value) == str(e2.value)
    assert "-ERR [AUTH]" in str(e1.value)
    # The session continues and a right password still works.
    p.user(ALICE)
    p.pass_("secret")
    p.quit()


def test_auth_failure_is_delayed(roost):
    r = Raw(roost.port("pop3"))
    r.cmd(b"USER " + ALICE.encode())
    t = time.time()
    assert r.cmd(b"PASS bad").startswith(b"-ERR [AUTH]")
    assert time.time() - t >= 0.04    # auth.fail_delay=50ms in conftest
    r.close()


def b64(s):
    return base64.b64encode(s.encode()).decode()


def test_auth_plain_initial_response(roost):
    r = Raw(roost.port("pop3"))
    reply = r.cmd(b"AUTH PLAIN " + b64("\0alice@example.com\0secret").encode())
    assert reply.startswith(b"+OK"), reply
    assert r.cmd(b"STAT").startswith(b"+OK 0 0")
    r.cmd(b"QUIT")
    r.close()


def test_auth_plain_challenge_and_login(roost):
    r = Raw(roost.port("pop3"))
    assert r.cmd(b"AUTH PLAIN") == b"+ "
    assert r.cmd(b64("\0alice@example.com\0secret").encode()).startswith(b"+OK")
    r.cmd(b"QUIT")
    r.close()
    r = Raw(roost.port("pop3"))
    assert r.cmd(b"AUTH LOGIN").startswith(b"+ ")
    assert r.cmd(b64("alice@example.com").encode()).startswith(b"+ ")
    assert r.cmd(b64("secret").encode()).startswith(b"+OK")
    r.cmd(b"QUIT")
    r.close()
    r = Raw(roost.port("pop3"))
    assert r.cmd(b"AUTH LOGIN " + b64("alice@example.com").encode()).startswith(b"+ ")
    assert r.cmd(b64("wrong").encode()).startswith(b"-ERR [AUTH]")
    r.close()


def test_auth_cancel_and_garbage(roost):
    r = Raw(roost.port("pop3"))
    assert r.cmd(b"AUTH PLAIN") == b"+ "
    assert r.cmd(b"*").startswith(b"-ERR")
    assert r.cmd(b"AUTH LOGIN").startswith(b"+ ")
    assert r.cmd(b"*").startswith(b"-ERR")
    assert r.cmd(b"AUTH PLAIN !!!notbase64").startswith(b"-ERR")
    assert r.cmd(b"AUTH CRAM-MD5").startswith(b"-ERR")
    # Still in AUTHORIZATION and usable.
    assert r.cmd(b"STAT").startswith(b"-ERR")
    assert r.cmd(b"AUTH PLAIN " + b64("\0alice@example.com\0secret").encode()).startswith(b"+OK")
    r.close()


def test_plaintext_refused_when_disallowed(roost_factory):
    r = roost_factory(auth__allow_plaintext="no")
    p = connect(r)
    caps = p.capa()
    assert "USER" not in caps and "SASL" not in caps and "STLS" in caps
    with pytest.raises(poplib.error_proto):
        p.user(ALICE)
    raw = Raw(r.port("pop3"))
    assert raw.cmd(b"AUTH PLAIN " + b64("\0alice@example.com\0secret").encode()).startswith(b"-ERR")
    raw.close()
    # After STLS the same login works.
    p.stls(ssl._create_unverified_context())
    assert "USER" in p.capa()
    p.user(ALICE)
    p.pass_("secret")
    p.quit()


# --- TLS --------------------------------------------------------------------

def test_stls_discards_pipelined_plaintext(roost):
    r = Raw(roost.port("pop3"))
    # The USER/PASS pipelined in clear text after STLS must be ignored.
    r.send(b"STLS\r\nUSER alice@example.com\r\nPASS secret\r\n")
    assert r.line().startswith(b"+OK")
    ctx = ssl._create_unverified_context()
    tls = ctx.wrap_socket(r.sock, server_hostname="localhost")
    f = tls.makefile("rb")
    tls.sendall(b"STAT\r\n")
    assert f.readline().startswith(b"-ERR")     # not logged in
    tls.sendall(b"CAPA\r\n")
    assert f.readline().startswith(b"+OK")
    caps = []
    while True:
        line = f.readline().rstrip(b"\r\n")
        if line == b".":
            break
        caps.append(line)
    assert b"STLS" not in caps and b"USER" in caps
    tls.sendall(b"STLS\r\n")
    assert f.readline().startswith(b"-ERR")     # not twice
    tls.close()


def test_pop3s_implicit_tls(roost):
    p = poplib.POP3_SSL("127.0.0.1", roost.port("pop3s"), timeout=10,
                        context=ssl._create_unverified_context())
    assert "STLS" not in p.capa()
    p.user(ALICE)
    p.pass_("secret")
    assert p.stat() == (0, 0)
    p.quit()


# --- locking ----------------------------------------------------------------

def test_second_session_in_use(roost):
    roost.deliver(message(1), ALICE)
    a = login(roost)
    b = connect(roost)
    b.user(ALICE)
    with pytest.raises(poplib.error_proto) as e:
        b.pass_("secret")
    assert str(e.value).startswith("b'-ERR [IN-USE] Mailbox is in use by another POP3 session")
    # A wrong password still says [AUTH], never [IN-USE] (reveals nothing).
    b.user(ALICE)
    with pytest.raises(poplib.error_proto) as e:
        b.pass_("wrong")
    assert "[AUTH]" in str(e.value)
    a.quit()
    b.user(ALICE)
    b.pass_("secret")      # free again right after QUIT
    assert b.stat()[0] == 1
    b.quit()


def test_concurrent_sessions(roost_factory):
    r = roost_factory(pop3__concurrent_sessions="yes")
    for i in range(3):
        r.deliver(message(i), ALICE)
    a = login(r)
    b = login(r)
    assert a.stat()[0] == b.stat()[0] == 3
    a.dele(1)
    b.dele(1)
    b.dele(2)
    assert b.quit().startswith(b"+OK")
    # Message 2 is gone under a: it says so and goes on.
    with pytest.raises(poplib.error_proto) as e:
        a.retr(2)
    assert "deleted by another client" in str(e.value)
    assert b"message 2" in retr_bytes(a, 3)[0]
    # Deleting an already-removed message at QUIT is not an error.
    assert a.quit().startswith(b"+OK")
    assert inbox_count(r) == 1


# --- bad input ----------------------------------------------------------------

def logged_in_raw(roost):
    r = Raw(roost.port("pop3"))
    assert r.cmd(b"USER alice@example.com").startswith(b"+OK")
    assert r.cmd(b"PASS secret").startswith(b"+OK")
    return r


def test_bad_arguments(roost_factory):
    roost = roost_factory(pop3__max_errors="100")
    roost.deliver(message(1), ALICE)
    r = logged_in_raw(roost)
    for cmd in (b"RETR 0", b"RETR -1", b"RETR 99999999999999999999", b"RETR 2", b"RETR x",
                b"RETR", b"RETR 1 2", b"TOP 1 -5", b"TOP 1", b"TOP 0 1", b"DELE 0",
                b"LIST 2", b"UIDL 0", b"LIST 1x", b"RETR +1"):
        assert r.cmd(cmd).startswith(b"-ERR"), cmd
    assert r.cmd(b"LIST 1").startswith(b"+OK 1 ")
    r.close()


def test_unknown_and_nul(roost):
    roost.deliver(message(1), ALICE)
    r = logged_in_raw(roost)
    assert r.cmd(b"XYZZY").startswith(b"-ERR")
    assert r.cmd(b"").startswith(b"-ERR")
    assert r.cmd(b"DELE\x001").startswith(b"-ERR")
    assert r.cmd(b"DELE 1\x00").startswith(b"-ERR")
    assert r.cmd(b"RETR\xff\xfe").startswith(b"-ERR")
    assert r.cmd(b"NOOP").startswith(b"+OK")
    r.close()
    time.sleep(0.2)
    assert inbox_count(roost) == 1


def test_overlong_line(roost):
    roost.deliver(message(1), ALICE)
    r = logged_in_raw(roost)
    assert r.cmd(b"DELE 1" + b" " * 10 + b"x" * 100000).startswith(b"-ERR")
    # The session goes on; the tail of the long line was not run.
    assert r.cmd(b"STAT").startswith(b"+OK 1 ")
    r.close()
    time.sleep(0.2)
    assert inbox_count(roost) == 1


def test_too_many_errors_closes(roost_factory):
    r = roost_factory(pop3__max_errors="3")
    r.deliver(message(1), ALICE)
    raw = logged_in_raw(r)
    assert raw.cmd(b"DELE 1").startswith(b"+OK")
    for _ in range(2):
        assert raw.cmd(b"BOGUS").startswith(b"-ERR")
    assert raw.cmd(b"BOGUS").startswith(b"-ERR")
    assert raw.line().startswith(b"-ERR")    # "too many errors"
    assert raw.closed()
    raw.close()
    time.sleep(0.2)
    assert inbox_count(r) == 1       # DELE without QUIT: nothing deleted


def test_idle_timeout_deletes_nothing(roost_factory):
    r = roost_factory(pop3__timeout="1s")
    r.deliver(message(1), ALICE)
    raw = logged_in_raw(r)
    assert raw.cmd(b"DELE 1").startswith(b"+OK")
    assert raw.line().startswith(b"-ERR")     # autologout
    assert raw.closed()
    raw.close()
    assert inbox_count(r) == 1
    p = login(r)
    assert p.stat()[0] == 1
    p.quit()


def test_quit_in_authorization(roost):
    r = Raw(roost.port("pop3"))
    assert r.cmd(b"QUIT").startswith(b"+OK")
    assert r.closed()
    r.close()
