"""IMAP bad input: limits on lines, literals, nesting, sets."""
import socket
import time


class Raw:
    def __init__(self, roost, login=True):
        self.s = socket.create_connection(("127.0.0.1", roost.port("imap")), timeout=10)
        self.f = self.s.makefile("rb")
        assert self.f.readline().startswith(b"* OK")
        if login:
            assert self.cmd(b"a LOGIN alice@example.com secret")[-1].startswith(b"a OK")

    def cmd(self, line, tag=None):
        self.s.sendall(line + b"\r\n")
        tag = tag or line.split()[0]
        return self.until(tag + b" ")

    def until(self, prefix):
        out = []
        while True:
            l = self.f.readline()
            assert l, "closed after %r" % out
            out.append(l)
            if l.startswith(prefix):
                return out


def test_long_line_bad_and_continue(roost):
    r = Raw(roost)
    r.s.sendall(b"x NOOP " + b"a" * (70 * 1024) + b"\r\n")
    assert b"BAD" in r.f.readline()
    assert r.cmd(b"y NOOP")[-1].startswith(b"y OK")


def test_sync_literal_too_big_not_read(roost):
    r = Raw(roost)
    r.s.sendall(b"t1 APPEND INBOX {4294967296}\r\n")
    l = r.f.readline()
    assert l.startswith(b"t1 NO [TOOBIG]"), l
    # the refused payload is never executed: a client would not send it;
    # the session goes on with the next command
    assert r.cmd(b"t2 NOOP")[-1].startswith(b"t2 OK")
    r.s.sendall(b"t3 LOGIN {2000000}\r\n")
    assert r.f.readline().startswith(b"t3 NO [TOOBIG]")
    assert r.cmd(b"t4 NOOP")[-1].startswith(b"t4 OK")


def test_nonsync_literal_too_big_bye(roost):
    r = Raw(roost)
    r.s.sendall(b"t1 APPEND INBOX {999999999999+}\r\nt2 NOOP\r\n")
    l = r.f.readline()
    assert l.startswith(b"* BYE [TOOBIG]"), l
    assert r.f.readline() == b""


def test_bad_literals_and_quoted(roost):
    r = Raw(roost)
    assert b"BAD" in r.cmd(b"t1 NOOP {-1}")[-1]
    assert b"BAD" in r.cmd(b't2 LOGIN "a\x00b" c')[-1]
    # many small non-synchronizing literals: bounded, then BAD
    parts = b"".join(b" {1+}\r\nx" for _ in range(100000))
    r.s.sendall(b"t3 SEARCH TEXT" + parts + b"\r\n")
    l = r.until(b"t3 ")
    assert b"BAD" in l[-1]
    assert r.cmd(b"t4 NOOP")[-1].startswith(b"t4 OK")


def test_deep_nesting_and_not_chain(roost):
    r = Raw(roost)
    r.cmd(b"s SELECT INBOX")
    assert b"BAD" in r.cmd(b"t1 SEARCH " + b"(" * 30000 + b"ALL" + b")" * 30000)[-1]
    assert b"BAD" in r.cmd(b"t2 SEARCH " + b"NOT " * 15000 + b"ALL")[-1]
    assert r.cmd(b"t3 SEARCH NOT NOT ALL")[-1].startswith(b"t3 OK")


def test_bad_sequence_sets(roost):
    roost.deliver(b"Subject: x\r\n\r\nb\r\n", "alice@example.com")
    r = Raw(roost)
    r.cmd(b"s SELECT INBOX")
    for i, s in enumerate([b"0", b"1:4294967296", b"1,,2", b"*:0", b"2"]):
        tag = b"f%d" % i
        assert b"BAD" in r.cmd(tag + b" FETCH " + s + b" FLAGS")[-1], s
    assert r.cmd(b"u UID FETCH 1:4294967295 FLAGS")[-1].startswith(b"u OK")


def test_starttls_pipelined_plaintext_discarded(roost):
    import ssl
    r = Raw(roost, login=False)
    r.s.sendall(b"a STARTTLS\r\nb LOGIN alice@example.com secret\r\n")
    assert r.f.readline().startswith(b"a OK")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(r.s, server_hostname="localhost")
    f = t.makefile("rb")
    t.sendall(b"c CAPABILITY\r\n")
    lines = []
    while True:
        l = f.readline()
        lines.append(l)
        if l.startswith(b"c "):
            break
    # "b LOGIN" was never executed: still not authenticated
    assert not any(l.startswith(b"b ") for l in lines)
    assert b"AUTH=PLAIN" in lines[0]
    t.sendall(b"d SELECT INBOX\r\n")
    assert b"d BAD" in f.readline()


def test_long_line_ending_in_nonsync_literal_is_swallowed(roost):
    # The literal's bytes look like commands: none of them may run.
    r = Raw(roost)
    payload = b"t9 LOGOUT\r\nt8 CREATE evil\r\n"
    r.s.sendall(b"t1 NOOP " + b"a" * (70 * 1024) + b" {%d+}\r\n" % len(payload)
                + payload + b" more\r\n")
    l = r.f.readline()
    assert b"BAD" in l and not l.startswith(b"t9") and not l.startswith(b"* BYE"), l
    out = r.cmd(b"t2 LIST \"\" evil")
    assert out[-1].startswith(b"t2 OK")
    assert not any(b"evil" in x for x in out[:-1])
    assert not any(x.startswith((b"t8", b"t9", b"* BYE")) for x in out)
    # same with a second literal after the first, then the end of the command
    r.s.sendall(b"t3 NOOP " + b"b" * (70 * 1024) + b" {3+}\r\nabc {12+}\r\nt7 LOGOUT\r\n\r\n")
    l = r.f.readline()
    assert b"BAD" in l, l
    assert r.cmd(b"t4 NOOP")[-1].startswith(b"t4 OK")


def test_long_line_ending_in_sync_literal_is_refused(roost):
    r = Raw(roost)
    r.s.sendall(b"t1 NOOP " + b"a" * (70 * 1024) + b" {11}\r\n")
    l = r.f.readline()
    assert not l.startswith(b"+"), l
    assert b"NO [TOOBIG]" in l or b"BAD" in l, l
    assert r.cmd(b"t2 NOOP")[-1].startswith(b"t2 OK")


def test_long_line_ending_in_huge_nonsync_literal_closes(roost):
    r = Raw(roost)
    r.s.sendall(b"t1 NOOP " + b"a" * (70 * 1024) + b" {99999999999+}\r\n")
    l = r.f.readline()
    assert l.startswith(b"* BYE [TOOBIG]"), l
    assert r.f.readline() == b""


def test_logout_pipelined_after_failed_login_is_answered(roost):
    r = Raw(roost, login=False)
    start = time.time()
    r.s.sendall(b"a LOGIN alice@example.com wrong\r\nb LOGOUT\r\n")
    lines = r.until(b"b ")
    assert lines[0].startswith(b"a NO [AUTHENTICATIONFAILED]"), lines
    assert any(x.startswith(b"* BYE") for x in lines)
    assert lines[-1].startswith(b"b OK")
    assert time.time() - start >= 0.04  # the failure delay still applies
    assert r.f.readline() == b""
