"""Bad input and abuse on the SMTP port, one test each: STARTTLS
command injection, SMTP smuggling, pregreet and pipelining before EHLO,
line limits, NUL and 8-bit bytes, hostile addresses, 10,000 RCPTs, absurd
SIZE and BDAT sizes, error and idle limits, connections per IP. After
each, the daemon still serves normally."""
import socket
import ssl
import time

import pytest

from test_smtp import ALICE, Wire, count, message, roost, roost_factory, send_raw, split_trace, stored  # noqa: F401


def still_serving(r):
    n = count(r)
    assert send_raw(r.port("smtp"), "s@other.example", [ALICE], message(subject="after"))[0] == 250
    assert count(r) == n + 1


def open_txn(r, **kw):
    w = Wire(r.port("smtp"), **kw)
    w.ehlo()
    assert w.cmd("MAIL FROM:<s@other.example>")[0] == 250
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    return w


# --- STARTTLS -------------------------------------------------------------------

def test_starttls_pipelined_plaintext_is_discarded(roost):
    w = Wire(roost.port("smtp"))
    w.ehlo()
    # the injected commands ride in the same packet as STARTTLS
    w.send(b"STARTTLS\r\nMAIL FROM:<evil@other.example>\r\nRCPT TO:<%s>\r\n" % ALICE.encode())
    code, texts = w.reply()
    assert code == 220 and texts[0].startswith("2.0.0")
    assert w.buf == b""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    w.sock = ctx.wrap_socket(w.sock)
    # nothing answers the injected commands; the session starts over
    texts = w.ehlo()
    assert "STARTTLS" not in texts
    code, texts = w.cmd("RCPT TO:<%s>" % ALICE)
    assert code == 503, texts  # the injected MAIL never ran
    assert w.cmd("MAIL FROM:<s@other.example>")[0] == 250
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    assert w.cmd("DATA")[0] == 354
    w.send(message() + b".\r\n")
    assert w.reply()[0] == 250
    assert count(roost) == 1


# --- smuggling (RFC 5321 2.3.8) ----------------------------------------------------

SMUGGLED = (b"MAIL FROM:<admin@example.com>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nspoofed\r\n")


@pytest.mark.parametrize("fake_end", [b"\n.\n", b"\n.\r\n", b"\r\n.\n"])
def test_bare_lf_fake_end_is_message_text(roost, fake_end):
    """A bare LF is a line end inside DATA (normalised to CRLF), but a "."
    line next to a bare LF never ends the data: what follows stays message
    text of the one message, never a command (SMTP smuggling)."""
    w = open_txn(roost)
    assert w.cmd("DATA")[0] == 354
    w.send(b"Subject: carrier\r\n\r\nhello" + fake_end + SMUGGLED + b"\r\n.\r\n")
    code, texts = w.reply()
    assert code == 250, (code, texts)
    # exactly one reply: nothing after the fake end ran as a command
    assert w.cmd("NOOP")[0] == 250
    assert count(roost) == 1
    body = split_trace(stored(roost, 1))[1]
    assert body.startswith(b"Subject: carrier\r\n")
    # the smuggled "message" is text of the carrier, with CRLF line ends
    assert b"\r\nMAIL FROM:<admin@example.com>\r\nRCPT TO:<alice@example.com>\r\n" in body
    assert b"\nSubject: smuggled\r\n" in body
    assert b"\n" not in body.replace(b"\r\n", b"")
    still_serving(roost)
    assert count(roost) == 2  # the carrier and still_serving's, nothing smuggled


@pytest.mark.parametrize("fake_end", [b"\r.\r\n", b"\r\n.\r", b"\r\n.\r\r\n"])
def test_bare_cr_refused(roost, fake_end):
    w = open_txn(roost)
    assert w.cmd("DATA")[0] == 354
    w.send(b"Subject: carrier\r\n\r\nhello" + fake_end + SMUGGLED + b"\r\n.\r\n")
    code, texts = w.reply()
    assert code == 550 and texts[0].startswith("5.6.0"), (code, texts)
    assert w.cmd("NOOP")[0] == 250
    assert count(roost) == 0
    still_serving(roost)
    assert b"smuggled" not in stored(roost, 1)


def test_bare_lf_message_normalised(roost):
    """Sloppy senders' bare LF line ends are stored as CRLF, not bounced."""
    w = open_txn(roost)
    assert w.cmd("DATA")[0] == 354
    w.send(b"Subject: lf\nFrom: <s@other.example>\n\nline one\n..dot\nline three\r\n.\r\n")
    assert w.reply()[0] == 250
    assert count(roost) == 1
    assert split_trace(stored(roost, 1))[1] == (
        b"Subject: lf\r\nFrom: <s@other.example>\r\n\r\nline one\r\n.dot\r\nline three\r\n")
    # the session goes on normally
    assert w.cmd("MAIL FROM:<s@other.example>")[0] == 250


# --- before the greeting, before EHLO -------------------------------------------

def test_pregreet_rejected(roost_factory):
    r = roost_factory(smtp__greeting_delay="1s")
    w = Wire(r.port("smtp"), greet=False)
    w.send(b"EHLO fast.example\r\n")
    code, texts = w.reply()
    assert code == 554 and texts[0].startswith("5.5.1")
    assert w.is_closed()
    # a partial line counts too
    w = Wire(r.port("smtp"), greet=False)
    w.send(b"EHL")
    assert w.reply()[0] == 554
    # a patient client gets the greeting after the delay
    t0 = time.time()
    w = Wire(r.port("smtp"))
    assert w.greeting[0] == 220 and time.time() - t0 >= 0.9
    w.ehlo()
    assert w.cmd("QUIT")[0] == 221


def test_pipelining_before_ehlo_rejected(roost):
    # RFC 2920: without EHLO there is no PIPELINING
    w = Wire(roost.port("smtp"))
    w.send(b"HELO x.example\r\nMAIL FROM:<a@other.example>\r\nRCPT TO:<%s>\r\n" % ALICE.encode())
    # HELO itself was sent in turn; the MAIL behind it was not
    assert w.reply()[0] == 250
    code, texts = w.reply()
    assert code == 554 and texts[0].startswith("5.5.0")
    assert w.is_closed()
    # after HELO too: the client must wait for each reply
    w = Wire(roost.port("smtp"))
    assert w.cmd("HELO x.example")[0] == 250
    w.send(b"MAIL FROM:<a@other.example>\r\nRCPT TO:<%s>\r\n" % ALICE.encode())
    assert w.reply()[0] == 554
    assert w.is_closed()
    # commands behind EHLO were sent before PIPELINING was known
    w = Wire(roost.port("smtp"))
    w.send(b"EHLO x.example\r\nMAIL FROM:<a@other.example>\r\n")
    code, texts = w.reply()
    assert code == 250 and "PIPELINING" in texts
    code, texts = w.reply()
    assert code == 554 and texts[0].startswith("5.5.0")
    assert w.is_closed()
    # and so is everything queued behind an allowed blind command
    w = Wire(roost.port("smtp"))
    w.send(b"EHLO x.example\r\nNOOP\r\nMAIL FROM:<a@other.example>\r\n")
    assert [c for c, _ in w.replies(3)] == [250, 250, 554]
    assert w.is_closed()
    assert count(roost) == 0
    # after EHLO a whole transaction may come in one packet
    w = Wire(roost.port("smtp"))
    w.ehlo()
    w.send(b"MAIL FROM:<a@other.example>\r\nRCPT TO:<%s>\r\nDATA\r\n" % ALICE.encode())
    assert [c for c, _ in w.replies(3)] == [250, 250, 354]
    w.send(message() + b".\r\nQUIT\r\n")
    assert [c for c, _ in w.replies(2)] == [250, 221]
    assert count(roost) == 1


@pytest.mark.parametrize("verb", ["EHLO", "HELO"])
def test_hello_and_quit_in_one_packet(roost, verb):
    """Thunderbird's account-setup probe: EHLO and QUIT in one packet gets
    the EHLO reply and 221 (RFC 2920 3.1: QUIT changes no state the client
    has to wait for)."""
    w = Wire(roost.port("smtp"))
    w.send(b"%s probe.example\r\nQUIT\r\n" % verb.encode())
    code, texts = w.reply()
    assert code == 250, (code, texts)
    if verb == "EHLO":
        assert "PIPELINING" in texts and "STARTTLS" in texts
    code, texts = w.reply()
    assert code == 221, (code, texts)
    assert w.is_closed()
    w = Wire(roost.port("smtp"))
    w.send(b"EHLO probe.example\r\nNOOP\r\nRSET\r\nQUIT\r\n")
    assert [c for c, _ in w.replies(4)] == [250, 250, 250, 221]
    # LMTP: the same for LHLO
    w = Wire(roost.port("lmtp"))
    w.send(b"LHLO probe.example\r\nQUIT\r\n")
    assert [c for c, _ in w.replies(2)] == [250, 221]
    still_serving(roost)


# --- lines, NUL, 8-bit, addresses ---------------------------------------------------

def test_command_line_limit(roost):
    w = Wire(roost.port("smtp"))
    w.ehlo()
    ok = "NOOP " + "x" * (998 - 5)  # 1000 octets with CRLF
    assert w.cmd(ok)[0] == 250
    code, texts = w.cmd("NOOP " + "x" * 994)  # 1001 octets
    assert code == 500 and texts[0].startswith("5.5.2")
    code, texts = w.cmd("NOOP " + "x" * 100000)
    assert code == 500 and texts[0].startswith("5.5.2")
    assert w.cmd("NOOP")[0] == 250


def test_nul_and_8bit_in_commands(roost):
    w = Wire(roost.port("smtp"))
    w.ehlo()
    code, texts = w.cmd("NOOP a\0b")
    assert code == 500 and texts[0].startswith("5.5.2")
    code, texts = w.cmd("MAIL FROM:<a\0b@other.example>")
    assert code == 500
    code, texts = w.cmd("NOOP caf\xe9")
    assert code == 500 and texts[0].startswith("5.5.2")
    w.send(b"EHLO \xff\xfe.example\r\n")
    assert w.reply()[0] == 500
    assert w.cmd("MAIL FROM:<s@other.example>")[0] == 250
    w.send("RCPT TO:<jörg@example.com>\r\n".encode())
    code, texts = w.reply()
    assert code == 553 and texts[0].startswith("5.6.7")


@pytest.mark.parametrize("addr", [
    "$(reboot)@example.com", "`id`@example.com", "a;rm -rf /@example.com",
    "alice@example.com;ls", "|/bin/sh@example.com", "\"a\\\"b\"@example.com",
    "alice@exa mple.com", "../../etc/passwd@example.com", "a@b@example.com",
])
def test_hostile_addresses(roost, addr):
    w = Wire(roost.port("smtp"))
    w.ehlo()
    assert w.cmd("MAIL FROM:<s@other.example>")[0] == 250
    code, texts = w.cmd("RCPT TO:<%s>" % addr)
    assert 500 <= code < 600, (addr, code, texts)
    assert w.cmd("NOOP")[0] == 250
    assert count(roost) == 0


def test_long_local_parts(roost):
    w = Wire(roost.port("smtp"))
    w.ehlo()
    assert w.cmd("MAIL FROM:<s@other.example>")[0] == 250
    # 65 octets: over RFC 5321's 64
    code, texts = w.cmd("RCPT TO:<%s@example.com>" % ("a" * 65))
    assert code == 501 and texts[0].startswith("5.1.3")
    # 300 octets: over the 256-octet path limit
    code, texts = w.cmd("RCPT TO:<%s@example.com>" % ("a" * 300))
    assert code == 501 and texts[0].startswith("5.1.3")
    # 10 KB: the whole command is over the 1000-octet line limit
    code, texts = w.cmd("RCPT TO:<%s@example.com>" % ("a" * 10240))
    assert code == 500 and texts[0].startswith("5.5.2")
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 250


def test_ten_thousand_rcpts(roost):
    w = Wire(roost.port("smtp"), timeout=60)
    w.ehlo()
    assert w.cmd("MAIL FROM:<s@other.example>")[0] == 250
    n = 10000
    w.send(("RCPT TO:<%s>\r\n" % ALICE).encode() * n)
    codes = [w.reply() for _ in range(n)]
    assert all(c == 250 for c, _ in codes[:1000])
    assert all(c == 452 and t[0].startswith("4.5.3") for c, t in codes[1000:])
    assert w.cmd("DATA")[0] == 354
    w.send(message() + b".\r\n")
    assert w.reply()[0] == 250
    assert count(roost) == 1


# --- sizes ------------------------------------------------------------------------

def test_size_two_to_the_64(roost):
    w = Wire(roost.port("smtp"))
    w.ehlo()
    code, texts = w.cmd("MAIL FROM:<s@other.example> SIZE=18446744073709551616")
    assert code == 552 and texts[0].startswith("5.3.4")
    code, texts = w.cmd("MAIL FROM:<s@other.example> SIZE=" + "9" * 500)
    assert code == 552
    assert w.cmd("NOOP")[0] == 250


def test_data_over_max_size(roost_factory):
    r = roost_factory(message__max_size="10K")
    w = open_txn(r)
    assert w.cmd("DATA")[0] == 354
    w.send(message(body=(b"x" * 70 + b"\r\n") * 2000) + b".\r\n")  # ~144 KB
    code, texts = w.reply()
    assert code == 552 and texts[0].startswith("5.3.4")
    assert w.cmd("NOOP")[0] == 250
    assert count(r) == 0
    still_serving(r)


def test_data_line_over_limit(roost_factory):
    r = roost_factory(smtp__max_line_length="1000")
    w = open_txn(r)
    assert w.cmd("DATA")[0] == 354
    w.send(b"Subject: long\r\n\r\n" + b"y" * 5000 + b"\r\n.\r\n")
    code, texts = w.reply()
    assert code == 550 and texts[0].startswith("5.6.0")
    assert count(r) == 0


def test_bdat_absurd_size(roost):
    w = open_txn(roost)
    w.send(b"BDAT 18446744073709551616 LAST\r\n")
    code, texts = w.reply()
    assert code == 552 and texts[0].startswith("5.3.4")
    assert w.is_closed()
    w = open_txn(roost)
    w.send(b"BDAT 99999999999 LAST\r\n")  # 100 GB: over the limit, not skipped
    assert w.reply()[0] == 552
    assert w.is_closed()
    still_serving(roost)


def test_bdat_total_over_limit_is_read_and_refused(roost_factory):
    r = roost_factory(message__max_size="10K")
    w = open_txn(r)
    chunk = b"z" * 6000
    w.send(b"BDAT 6000\r\n" + chunk)
    assert w.reply()[0] == 250
    w.send(b"BDAT 6000\r\n" + chunk)  # 12000 > 10K: read, dropped
    code, texts = w.reply()
    assert code == 552 and texts[0].startswith("5.3.4")
    # a chunk pipelined after the failure is read and dropped too
    w.send(b"BDAT 6000 LAST\r\n" + chunk)
    assert w.reply()[0] == 503
    assert w.cmd("NOOP")[0] == 250
    assert count(r) == 0
    w.send(b"BDAT 5\r\nhello")  # no transaction at all
    assert w.reply()[0] == 503
    assert w.cmd("NOOP")[0] == 250


# --- limits that end the session --------------------------------------------------

def test_too_many_errors(roost_factory):
    r = roost_factory(smtp__max_errors="3")
    w = Wire(r.port("smtp"))
    w.ehlo()
    assert w.cmd("BOGUS 1")[0] == 500
    assert w.cmd("BOGUS 2")[0] == 500
    w.send(b"BOGUS 3\r\n")
    assert w.reply()[0] == 500
    code, texts = w.reply()
    assert code == 421 and texts[0].startswith("4.7.0")
    assert w.is_closed()


def test_idle_timeout(roost_factory):
    r = roost_factory(smtp__timeout="1s")
    w = Wire(r.port("smtp"))
    w.ehlo()
    t0 = time.time()
    code, texts = w.reply()
    assert code == 421 and texts[0].startswith("4.7.0")
    assert 0.5 < time.time() - t0 < 5
    assert w.is_closed()


def test_connections_per_ip(roost_factory):
    r = roost_factory(server__max_connections_per_ip="2")
    a = Wire(r.port("smtp"))
    b = Wire(r.port("smtp"))
    c = Wire(r.port("smtp"), greet=False)
    code, texts = c.reply()
    assert code == 421 and texts[0].startswith("4.7.0")
    assert c.is_closed()
    for w in (a, b):
        assert w.cmd("QUIT")[0] == 221
        w.close()
    time.sleep(0.2)
    still_serving(r)
