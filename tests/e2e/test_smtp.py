"""Inbound SMTP (RFC 5321) end to end with Python's smtplib, swaks and raw
sockets: EHLO keywords, the stored bytes and trace headers, relay and
unknown-user refusals, aliases, SIZE, quota (per recipient, permanent and
temporary, all-or-nothing for several recipients), BDAT, the small
commands. Abuse cases are in test_smtp_abuse.py, LMTP in test_lmtp.py."""
import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import Roost

ALICE = "alice@example.com"
BOB = "bob@example.com"


@pytest.fixture
def roost_factory(tmp_path):
    """Like conftest's, but waits only for the SMTP and LMTP listeners, so
    these tests do not depend on the other protocols starting."""
    started = []

    def make(wait_for=("smtp", "lmtp"), **settings):
        r = Roost(tmp_path / ("var%d" % len(started)), settings)
        r.init()
        r.start(wait_for=wait_for)
        started.append(r)
        return r

    yield make
    for r in started:
        rc = r.stop()
        log = r.read_log()
        assert rc in (0, None), "roost serve exited with %s:\n%s" % (rc, log)
        assert "AddressSanitizer" not in log and "runtime error:" not in log


@pytest.fixture
def roost(roost_factory):
    return roost_factory()


class Wire:
    """A raw SMTP/LMTP client: send bytes, read replies (code, lines)."""

    def __init__(self, port=None, unix=None, timeout=10, greet=True):
        if unix is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.greeting = self.reply() if greet else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def reply(self):
        """One (possibly multi-line) reply: (code, [texts])."""
        texts = []
        while True:
            line = self._line()
            assert re.match(r"^\d{3}[ -]", line), line
            texts.append(line[4:])
            if line[3] == " ":
                return int(line[:3]), texts

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def ehlo(self, verb="EHLO", name="client.example"):
        code, texts = self.cmd("%s %s" % (verb, name))
        assert code == 250, texts
        return texts

    def is_closed(self, timeout=5):
        """True when the server closes the connection (after any data)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def message(subject="hello", body=b"Hello Alice.\r\n"):
    return (b"From: sender@other.example\r\nTo: alice@example.com\r\n"
            b"Subject: " + subject.encode() + b"\r\n\r\n" + body)


def stored(roost, uid, address=ALICE):
    return roost.cli("message", "get", address, "INBOX", str(uid), binary=True).stdout


def count(roost, address=ALICE):
    return roost.users()[address][2]


def split_trace(data):
    """(trace header block, rest): the Return-Path/Delivered-To/Received
    lines Roost prepends, and the message as sent."""
    m = re.match(rb"(Return-Path: [^\r\n]*\r\nDelivered-To: [^\r\n]*\r\n"
                 rb"Received: [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)*)", data)
    assert m, data[:400]
    return m.group(1), data[m.end():]


def send_raw(port, mail_from, rcpts, data, ehlo=True):
    """One transaction over DATA with dot-stuffing; returns the final reply."""
    w = Wire(port)
    if ehlo:
        w.ehlo()
    assert w.cmd("MAIL FROM:<%s>" % mail_from)[0] == 250
    for r in rcpts:
        assert w.cmd("RCPT TO:<%s>" % r)[0] == 250
    assert w.cmd("DATA")[0] == 354
    w.send(data + b".\r\n")
    rep = w.reply()
    w.cmd("QUIT")
    w.close()
    return rep


# --- the session ---------------------------------------------------------

def test_greeting_and_ehlo_keywords(roost_factory):
    r = roost_factory(message__max_size="1M", server__hostname="mx.example.com")
    w = Wire(r.port("smtp"))
    assert w.greeting[0] == 220 and w.greeting[1][0].startswith("mx.example.com ESMTP")
    texts = w.ehlo()
    assert texts[0].startswith("mx.example.com")
    keywords = [t.split()[0] for t in texts[1:]]
    for k in ("PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
              "CHUNKING", "DSN", "STARTTLS"):
        assert k in keywords, texts
    assert "SIZE 1048576" in texts
    assert "AUTH" not in keywords  # not on the MX port
    assert w.cmd("QUIT")[0] == 221
    assert w.is_closed()


def test_small_commands(roost):
    w = Wire(roost.port("smtp"))
    code, texts = w.cmd("HELP")
    assert code == 214 and texts[0].startswith("2.0.0")
    assert w.cmd("NOOP") == (250, ["2.0.0 Ok"])
    code, texts = w.cmd("VRFY alice@example.com")
    assert code == 252 and texts[0].startswith("2.5.0")
    assert "alice" not in texts[0]
    assert w.cmd("EXPN staff")[0] == 502
    code, texts = w.cmd("FOO bar")
    assert code == 500 and texts[0].startswith("5.5.1")
    # RFC 5321 4.1.4: a transaction needs EHLO/HELO first
    code, texts = w.cmd("MAIL FROM:<a@b.example>")
    assert code == 503 and texts[0].startswith("5.5.1")
    w.ehlo()
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 503
    assert w.cmd("DATA")[0] in (503, 554)
    assert w.cmd("MAIL FROM:<a@b.example>")[0] == 250
    code, texts = w.cmd("MAIL FROM:<a@b.example>")
    assert code == 503  # nested MAIL
    assert w.cmd("RSET") == (250, ["2.0.0 Ok"])
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 503  # RSET ended the transaction
    code, texts = w.cmd("RSET now")
    assert code == 501 and texts[0].startswith("5.5.4")
    assert w.cmd("HELO old.example")[0] == 250


def test_every_reply_has_an_enhanced_code(roost):
    w = Wire(roost.port("smtp"))
    w.ehlo()
    for line in ("NOOP", "MAIL FROM:<>", "RCPT TO:<nobody@example.com>",
                 "RCPT TO:<x@elsewhere.example>", "RCPT TO:<%s>" % ALICE, "VRFY x",
                 "BOGUS", "RSET", "HELP", "EXPN x", "MAIL FROM:<", "QUIT"):
        code, texts = w.cmd(line)
        for t in texts:
            assert re.match(r"^[245]\.\d{1,3}\.\d{1,3} ", t), (line, code, t)


# --- delivery ---------------------------------------------------------------

def test_smtplib_message_stored_exactly_with_trace(roost):
    import smtplib
    msg = message(body=b"line one\r\n.starts with a dot\r\n..two dots\r\n\r\nend\r\n")
    with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=10) as s:
        s.ehlo("client.example")
        refused = s.sendmail("sender@other.example", [ALICE], msg)
        assert refused == {}
    users = roost.users()
    assert users[ALICE][2] == 1
    data = stored(roost, 1)
    assert users[ALICE][1] == len(data)
    trace, rest = split_trace(data)
    assert rest == msg
    assert trace.startswith(b"Return-Path: <sender@other.example>\r\n"
                            b"Delivered-To: alice@example.com\r\n")
    received = trace.split(b"Received: ", 1)[1].decode()
    assert re.match(r"from client\.example \(\[127\.0\.0\.1\]\)\r\n\tby localhost \(Roost\) "
                    r"with ESMTP id \S+\r\n\tfor <alice@example\.com>; "
                    r"\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n$", received), received


def test_starttls_trace_names_tls(roost):
    import smtplib
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=10) as s:
        s.starttls(context=ctx)
        s.ehlo("tls.example")
        assert not s.has_extn("starttls")  # not offered twice
        s.sendmail("sender@other.example", [ALICE], message())
    trace, rest = split_trace(stored(roost, 1))
    assert b"with ESMTPS id" in trace
    assert re.search(rb"\(using TLSv1\.[23] \S+\)", trace), trace
    assert rest == message()


def test_null_sender_and_8bit_body(roost):
    body = "Grüße, ünïcödé\r\n".encode()
    rep = send_raw(roost.port("smtp"), "", [ALICE], message(body=body))
    assert rep[0] == 250 and rep[1][0].startswith("2.0.0")
    data = stored(roost, 1)
    assert data.startswith(b"Return-Path: <>\r\n")
    assert split_trace(data)[1] == message(body=body)


def test_unknown_user_relay_and_bad_address(roost):
    w = Wire(roost.port("smtp"))
    w.ehlo()
    assert w.cmd("MAIL FROM:<x@other.example>")[0] == 250
    code, texts = w.cmd("RCPT TO:<nobody@example.com>")
    assert code == 550 and texts[0].startswith("5.1.1")
    code, texts = w.cmd("RCPT TO:<someone@not-hosted.example>")
    assert code == 554 and texts[0].startswith("5.7.1")
    code, texts = w.cmd("RCPT TO:<no-at-sign>")
    assert code == 501 and texts[0].startswith("5.1.3")
    code, texts = w.cmd("RCPT TO:alice@example.com")
    assert code == 501 and texts[0].startswith("5.5.4")
    assert w.cmd("DATA")[0] == 554  # no valid recipient
    assert count(roost) == 0


def test_alias_plus_and_catchall(roost):
    roost.add_user(BOB)
    roost.cli("alias", "add", "team@example.com", ALICE)
    roost.cli("alias", "add", "team@example.com", BOB)
    rep = send_raw(roost.port("smtp"), "s@other.example",
                   ["team@example.com", "alice+news@example.com"], message())
    assert rep[0] == 250
    # alice reached twice (alias + plus address) still gets one copy
    assert count(roost, ALICE) == 1 and count(roost, BOB) == 1
    trace, rest = split_trace(stored(roost, 1, BOB))
    assert rest == message()
    assert b"\tfor <" not in trace  # several recipients: no "for" clause


def test_size_parameter(roost_factory):
    r = roost_factory(message__max_size="10K")
    w = Wire(r.port("smtp"))
    w.ehlo()
    code, texts = w.cmd("MAIL FROM:<a@other.example> SIZE=10241")
    assert code == 552 and texts[0].startswith("5.3.4")
    code, texts = w.cmd("MAIL FROM:<a@other.example> SIZE=18446744073709551616")
    assert code == 552 and texts[0].startswith("5.3.4")
    code, texts = w.cmd("MAIL FROM:<a@other.example> SIZE=12k")
    assert code == 501
    assert w.cmd("MAIL FROM:<a@other.example> SIZE=10240 BODY=8BITMIME")[0] == 250
    assert w.cmd("RSET")[0] == 250
    code, texts = w.cmd("MAIL FROM:<a@other.example> FOO=bar")
    assert code == 555
    code, texts = w.cmd("MAIL FROM:<a@other.example> BODY=BINARYMIME")
    assert code == 501
    # DSN parameters are accepted (RFC 3461)
    assert w.cmd("MAIL FROM:<a@other.example> RET=HDRS ENVID=abc+2Bdef")[0] == 250
    assert w.cmd("RCPT TO:<%s> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.com" % ALICE)[0] == 250
    code, texts = w.cmd("RCPT TO:<%s> NOTIFY=SOMETIMES" % ALICE)
    assert code == 501


def test_multiple_recipients_content_once(roost):
    roost.add_user(BOB)
    body = (b"x" * 76 + b"\r\n") * 300
    rep = send_raw(roost.port("smtp"), "s@other.example", [ALICE, BOB], message(body=body))
    assert rep[0] == 250
    for who in (ALICE, BOB):
        trace, rest = split_trace(stored(roost, 1, who))
        assert rest == message(body=body)
        assert b"Delivered-To: %s\r\n" % who.encode() in trace
    # content is shared: the database grew by about one copy, not two
    assert roost.sql("SELECT count(*) FROM contents") == [(1,)]


def test_smtputf8(roost):
    w = Wire(roost.port("smtp"))
    w.ehlo()
    code, texts = w.cmd("MAIL FROM:<jörg@other.example>")
    assert code == 553 and texts[0].startswith("5.6.7")
    assert w.cmd("MAIL FROM:<jörg@other.example> SMTPUTF8")[0] == 250
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    assert w.cmd("DATA")[0] == 354
    w.send(message() + b".\r\n")
    assert w.reply()[0] == 250
    trace, _ = split_trace(stored(roost, 1))
    assert "Return-Path: <jörg@other.example>".encode() in trace
    assert b"with UTF8SMTP id" in trace


# --- quota --------------------------------------------------------------------

def fill(roost, address, quota):
    """Deliver one message, then set the quota; returns the used bytes."""
    roost.deliver(message(body=b"y" * 600 + b"\r\n"), address)
    roost.cli("user", "quota", address, quota)
    return roost.users()[address][1]


def test_overquota_refused_at_rcpt(roost):
    used = fill(roost, ALICE, "100")  # already over
    assert used > 100
    w = Wire(roost.port("smtp"))
    w.ehlo()
    assert w.cmd("MAIL FROM:<s@other.example>")[0] == 250
    code, texts = w.cmd("RCPT TO:<%s>" % ALICE)
    assert code == 552 and texts[0].startswith("5.2.2"), texts
    assert roost.users()[ALICE][1] == used


def test_overquota_size_declared_and_at_commit(roost):
    used = fill(roost, ALICE, "2K")
    big = message(body=b"z" * 3000 + b"\r\n")
    w = Wire(roost.port("smtp"))
    w.ehlo()
    # SIZE says it will not fit: refused at RCPT
    assert w.cmd("MAIL FROM:<s@other.example> SIZE=%d" % len(big))[0] == 250
    code, texts = w.cmd("RCPT TO:<%s>" % ALICE)
    assert code == 552 and texts[0].startswith("5.2.2")
    assert w.cmd("RSET")[0] == 250
    # no SIZE: accepted at RCPT, refused by the store at the end
    assert w.cmd("MAIL FROM:<s@other.example>")[0] == 250
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    assert w.cmd("DATA")[0] == 354
    w.send(big + b".\r\n")
    code, texts = w.reply()
    assert code == 552 and texts[0].startswith("5.2.2"), texts
    assert roost.users()[ALICE] [1:] == (used, 1)
    # a message that fits still goes in
    assert w.cmd("MAIL FROM:<s@other.example>")[0] == 250
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    assert w.cmd("DATA")[0] == 354
    w.send(message() + b".\r\n")
    assert w.reply()[0] == 250
    assert count(roost) == 2


def test_overquota_temporary(roost_factory):
    r = roost_factory(quota__overquota="temporary")
    fill(r, ALICE, "100")
    w = Wire(r.port("smtp"))
    w.ehlo()
    assert w.cmd("MAIL FROM:<s@other.example>")[0] == 250
    code, texts = w.cmd("RCPT TO:<%s>" % ALICE)
    assert code == 452 and texts[0].startswith("4.2.2")


def test_overquota_one_of_two_recipients(roost):
    """SMTP has one reply for all recipients: with SIZE the full mailbox is
    refused at RCPT and the other gets the message; without SIZE the
    transaction fails temporarily and nothing is stored for anyone."""
    roost.add_user(BOB)
    used = fill(roost, ALICE, "2K")
    big = message(body=b"z" * 3000 + b"\r\n")
    rep = send_raw(roost.port("smtp"), "s@other.example", [ALICE, BOB], big)
    assert rep[0] == 452 and rep[1][0].startswith("4.2.2"), rep
    assert count(roost, BOB) == 0 and roost.users()[ALICE][1] == used
    w = Wire(roost.port("smtp"))
    w.ehlo()
    assert w.cmd("MAIL FROM:<s@other.example> SIZE=%d" % len(big))[0] == 250
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 552
    assert w.cmd("RCPT TO:<%s>" % BOB)[0] == 250
    assert w.cmd("DATA")[0] == 354
    w.send(big + b".\r\n")
    assert w.reply()[0] == 250
    assert count(roost, BOB) == 1 and count(roost, ALICE) == 1


# --- BDAT (RFC 3030) ------------------------------------------------------------

def test_bdat_chunks(roost):
    msg = message(body=b"chunked\r\n.no stuffing here\r\nbare\nlf kept in BDAT\r\n")
    w = Wire(roost.port("smtp"))
    w.ehlo()
    assert w.cmd("MAIL FROM:<s@other.example>")[0] == 250
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    half = len(msg) // 2
    w.send(b"BDAT %d\r\n" % half + msg[:half])
    code, texts = w.reply()
    assert code == 250 and texts[0].startswith("2.0.0")
    w.send(b"BDAT %d LAST\r\n" % (len(msg) - half) + msg[half:])
    code, texts = w.reply()
    assert code == 250, texts
    assert split_trace(stored(roost, 1))[1] == msg
    # DATA cannot follow BDAT in one transaction (RFC 3030 3)
    assert w.cmd("MAIL FROM:<s@other.example>")[0] == 250
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    w.send(b"BDAT 3\r\nabc")
    assert w.reply()[0] == 250
    assert w.cmd("DATA")[0] == 503
    w.send(b"BDAT 0 LAST\r\n")
    assert w.reply()[0] == 250
    assert split_trace(stored(roost, 2))[1] == b"abc"


def test_bdat_pipelined_with_commands(roost):
    msg = message()
    w = Wire(roost.port("smtp"))
    w.ehlo()
    w.send(b"MAIL FROM:<s@other.example>\r\nRCPT TO:<%s>\r\nBDAT %d LAST\r\n%sNOOP\r\n"
           % (ALICE.encode(), len(msg), msg))
    codes = [c for c, _ in w.replies(4)]
    assert codes == [250, 250, 250, 250]
    assert split_trace(stored(roost, 1))[1] == msg


# --- clients ----------------------------------------------------------------

def test_swaks_plain_pipelined_and_tls(roost):
    port = str(roost.port("smtp"))
    base = ["swaks", "--server", "127.0.0.1", "--port", port, "--to", ALICE,
            "--from", "sender@other.example", "--helo", "swaks.example",
            "--timeout", "10"]
    for extra in ([], ["--pipeline"], ["--tls"]):
        p = subprocess.run(base + extra + ["--header", "Subject: swaks %s" % " ".join(extra)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        assert p.returncode == 0, p.stdout.decode(errors="replace")
    assert count(roost) == 3
    assert b"with ESMTPS id" in stored(roost, 3)
    # unknown recipient: swaks reports the 550 and fails
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", port, "--to",
                        "nobody@example.com", "--timeout", "10"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    assert p.returncode != 0 and b"550 5.1.1" in p.stdout


def test_client_gone_while_storing(roost):
    """The client drops the connection right after the final dot; the
    message is stored and the daemon keeps serving."""
    for i in range(5):
        w = Wire(roost.port("smtp"))
        w.ehlo()
        w.send(b"MAIL FROM:<s@other.example>\r\nRCPT TO:<%s>\r\nDATA\r\n" % ALICE.encode())
        assert [c for c, _ in w.replies(3)] == [250, 250, 354]
        w.send(message(subject="gone %d" % i) + b".\r\n")
        w.close()
    deadline = time.time() + 10
    while count(roost) < 5 and time.time() < deadline:
        time.sleep(0.05)
    assert count(roost) == 5
    assert send_raw(roost.port("smtp"), "s@other.example", [ALICE], message())[0] == 250
