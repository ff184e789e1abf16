"""`roost user trace ADDRESS on|off` (src/lib/trace.c): the sessions of a
traced account write their lines to DATADIR/trace/ADDRESS-<time>-<session>.log,
with the pre-login lines, passwords and SASL data redacted (also in base64),
size-capped by trace.max_bytes; off (or another account) writes nothing."""
import base64
import glob
import imaplib
import os
import poplib
import socket
import time

ALICE = "alice@example.com"
BOB = "bob@example.com"
PW = "Pw-s3cr3t-xyz"


def traces(r, who=ALICE):
    return sorted(glob.glob(os.path.join(r.datadir, "trace", who + "-*.log")))


def wait_new(r, before, who=ALICE):
    for _ in range(50):
        new = [p for p in traces(r, who) if p not in before]
        if new:
            time.sleep(0.1)  # written at the session's end
            return new
        time.sleep(0.1)
    return []


def read(path):
    with open(path, "rb") as f:
        return f.read()


def no_secrets(data):
    assert PW.encode() not in data
    for plain in ("\0%s\0%s" % (ALICE, PW), "%s\0%s\0%s" % (ALICE, ALICE, PW)):
        assert base64.b64encode(plain.encode()) not in data
    assert base64.b64encode(PW.encode()) not in data


def prepare(r):
    r.cli("user", "passwd", ALICE, input=PW + "\n")
    r.add_user(BOB, PW)
    p = r.cli("user", "trace", ALICE, "on")
    assert p.returncode == 0


def test_imap_trace_redacts_login_and_authenticate(roost):
    prepare(roost)
    assert os.path.exists(os.path.join(roost.datadir, "trace", ALICE + ".on"))
    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login(ALICE, PW)
    c.select("INBOX")
    c.noop()
    c.logout()
    files = wait_new(roost, [])
    assert len(files) == 1, files
    data = read(files[0])
    assert b"C: " in data and b"S: " in data
    assert b"LOGIN " in data and b"[redacted]" in data
    assert b"SELECT INBOX" in data and b"NOOP" in data and b"LOGOUT" in data
    no_secrets(data)

    # AUTHENTICATE PLAIN with an initial response, then without one
    before = traces(roost)
    s = socket.create_connection(("127.0.0.1", roost.listen_port("imap")))
    f = s.makefile("rb")
    f.readline()
    ir = base64.b64encode(("\0%s\0%s" % (ALICE, PW)).encode())
    s.sendall(b"a AUTHENTICATE PLAIN " + ir + b"\r\n")
    assert f.readline().startswith(b"a OK")
    s.sendall(b"b LOGOUT\r\n")
    f.read()
    s.close()
    s = socket.create_connection(("127.0.0.1", roost.listen_port("imap")))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a AUTHENTICATE PLAIN\r\n")
    assert f.readline().startswith(b"+")
    s.sendall(ir + b"\r\n")
    assert f.readline().startswith(b"a OK")
    s.sendall(b"b STATUS INBOX (MESSAGES)\r\nc LOGOUT\r\n")
    f.read()
    s.close()
    time.sleep(0.5)
    files = [p for p in traces(roost) if p not in before]
    assert len(files) == 2, files
    for p in files:
        data = read(p)
        assert b"AUTHENTICATE PLAIN" in data and b"[redacted]" in data
        no_secrets(data)
    assert any(b"STATUS INBOX (MESSAGES)" in read(p) for p in files)

    # bob is not traced
    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login(BOB, PW)
    c.logout()
    time.sleep(0.3)
    assert traces(roost, BOB) == []

    # off: no new file
    roost.cli("user", "trace", ALICE, "off")
    before = traces(roost)
    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login(ALICE, PW)
    c.logout()
    time.sleep(0.5)
    assert traces(roost) == before
    assert not os.path.exists(os.path.join(roost.datadir, "trace", ALICE + ".on"))


def test_pop3_trace_redacts_pass_and_auth(roost):
    prepare(roost)
    p = poplib.POP3("127.0.0.1", roost.port("pop3"))
    p.user(ALICE)
    p.pass_(PW)
    p.stat()
    p.quit()
    files = wait_new(roost, [])
    assert len(files) == 1
    data = read(files[0])
    assert b"USER alice@example.com" in data and b"PASS [redacted]" in data
    assert b"STAT" in data and b"QUIT" in data
    no_secrets(data)
    before = traces(roost)
    s = socket.create_connection(("127.0.0.1", roost.port("pop3")))
    f = s.makefile("rb")
    f.readline()
    ir = base64.b64encode(("\0%s\0%s" % (ALICE, PW)).encode())
    s.sendall(b"AUTH PLAIN " + ir + b"\r\n")
    assert f.readline().startswith(b"+OK")
    s.sendall(b"NOOP\r\nQUIT\r\n")
    f.read()
    s.close()
    files = wait_new(roost, before)
    assert len(files) == 1
    data = read(files[0])
    assert b"AUTH PLAIN [redacted]" in data and b"NOOP" in data
    no_secrets(data)


def test_trace_size_cap_and_restart_reads_flag(roost_factory):
    r = roost_factory(trace__max_bytes="4K")
    prepare(r)
    # the flag survives a restart (read at start)
    r.stop()
    r.start()
    c = imaplib.IMAP4("127.0.0.1", r.port("imap"))
    c.login(ALICE, PW)
    for _ in range(300):
        c.noop()
    c.logout()
    files = wait_new(r, [])
    assert len(files) == 1
    data = read(files[0])
    assert len(data) <= 4096 + 100, len(data)
    assert data.endswith(b"trace stopped: trace.max_bytes reached\n")
    no_secrets(data)


def test_trace_arguments(roost):
    for bad in (["nobody@example.com", "on"], [ALICE, "maybe"]):
        p = roost.cli("user", "trace", *bad, check=False)
        assert p.returncode != 0, bad


SECRET_BODY = "Body-marker-7f3a9 the support desk must not read this"


def test_mail_content_is_counted_not_copied(roost):
    """IMAP FETCH literals, POP3 RETR/TOP answers, submission DATA and
    APPEND literals: their bytes are announced, never written."""
    prepare(roost)
    msg = "From: s@other.example\r\nSubject: Subject-marker-1\r\n\r\n%s\r\n" % SECRET_BODY
    roost.deliver(msg, ALICE)
    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login(ALICE, PW)
    c.select("INBOX")
    typ, d = c.fetch("1", "(BODY.PEEK[] BODY.PEEK[TEXT])")
    assert SECRET_BODY.encode() in d[0][1]
    c.append("INBOX", None, None, ("Subject: a\r\n\r\nAppend %s\r\n" % SECRET_BODY).encode())
    c.noop()
    c.logout()
    p = poplib.POP3("127.0.0.1", roost.port("pop3"))
    p.user(ALICE)
    p.pass_(PW)
    assert SECRET_BODY.encode() in b"\n".join(p.retr(1)[1])
    p.top(1, 5)
    p.stat()
    p.quit()
    import smtplib
    with smtplib.SMTP("127.0.0.1", roost.port("submission")) as sm:
        sm.login(ALICE, PW)
        sm.sendmail(ALICE, [ALICE], ("From: %s\r\nTo: %s\r\nSubject: sub\r\n\r\n%s\r\n"
                                     % (ALICE, ALICE, SECRET_BODY)).encode())
    time.sleep(0.5)
    files = traces(roost)
    assert len(files) == 3, files
    everything = b"".join(read(f) for f in files)
    assert SECRET_BODY.encode() not in everything
    no_secrets(everything)
    assert b"FETCH" in everything and b"bytes" in everything
    assert b"RETR 1" in everything and b"[message: " in everything
    assert b"STAT" in everything            # the session goes on after the body
    assert b"mail FROM:<alice@example.com>" in everything and b"C: data" in everything
    assert b"C: [message: " in everything
    assert b"AUTH PLAIN [redacted]" in everything or b"AUTH LOGIN" in everything


def test_login_without_domain_is_traced_by_account_address(roost):
    """A login name without a domain (the only hosted domain) or in other
    case still finds the account's trace switch; the file is named by the
    account's own address."""
    prepare(roost)
    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login("Alice", PW)
    c.logout()
    p = poplib.POP3("127.0.0.1", roost.port("pop3"))
    p.user("alice")
    p.pass_(PW)
    p.quit()
    time.sleep(0.5)
    files = traces(roost)
    assert len(files) == 2, files
    for f in files:
        assert b"user alice@example.com" in read(f).splitlines()[0]
        no_secrets(read(f))
