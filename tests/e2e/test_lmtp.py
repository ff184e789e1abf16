"""LMTP (RFC 2033) end to end over TCP and a unix socket: LHLO, one reply
per accepted recipient after DATA and BDAT (so one full mailbox does not
block the others), the same refusals as SMTP, trace headers."""
import os
import time

from test_smtp import ALICE, BOB, Wire, count, fill, message, roost, roost_factory, split_trace, stored  # noqa: F401

CAROL = "carol@example.com"


def lhlo(w):
    return w.ehlo("LHLO", "mta.example")


def test_lhlo_required_helo_ehlo_refused(roost):
    w = Wire(roost.port("lmtp"))
    assert w.greeting[0] == 220 and "LMTP" in w.greeting[1][0]
    code, texts = w.cmd("EHLO mta.example")
    assert code == 500 and texts[0].startswith("5.5.1")
    code, texts = w.cmd("HELO mta.example")
    assert code == 500
    code, texts = w.cmd("MAIL FROM:<s@other.example>")
    assert code == 503
    texts = lhlo(w)
    keywords = [t.split()[0] for t in texts[1:]]
    for k in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "CHUNKING", "SIZE"):
        assert k in keywords


def test_one_reply_per_recipient(roost):
    roost.add_user(BOB)
    roost.add_user(CAROL)
    fill(roost, BOB, "100")  # bob is over quota
    w = Wire(roost.port("lmtp"))
    lhlo(w)
    assert w.cmd("MAIL FROM:<s@other.example> SIZE=100")[0] == 250
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    # RCPT-time refusals are the same as SMTP's
    code, texts = w.cmd("RCPT TO:<%s>" % BOB)
    assert code == 552 and texts[0].startswith("5.2.2")
    assert w.cmd("RCPT TO:<nobody@example.com>")[0] == 550
    assert w.cmd("RCPT TO:<%s>" % CAROL)[0] == 250
    assert w.cmd("DATA")[0] == 354
    w.send(message() + b".\r\n")
    replies = w.replies(2)  # alice, carol: one each, in RCPT order
    assert [c for c, _ in replies] == [250, 250]
    assert "<alice@example.com>" in replies[0][1][0]
    assert "<carol@example.com>" in replies[1][1][0]
    assert w.cmd("NOOP")[0] == 250  # and nothing more
    assert count(roost, ALICE) == 1 and count(roost, CAROL) == 1
    trace, rest = split_trace(stored(roost, 1, CAROL))
    assert rest == message()
    assert b"with LMTP id" in trace
    assert b"Delivered-To: carol@example.com\r\n" in trace


def test_quota_at_commit_fails_only_that_recipient(roost):
    """Without SIZE both are accepted at RCPT; the store refuses the
    message for the full mailbox only, and LMTP says so per recipient."""
    roost.add_user(BOB)
    used = fill(roost, BOB, "2K")
    big = message(body=(b"z" * 70 + b"\r\n") * 50)
    w = Wire(roost.port("lmtp"))
    lhlo(w)
    w.send(b"MAIL FROM:<s@other.example>\r\nRCPT TO:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n"
           % (BOB.encode(), ALICE.encode()))
    assert [c for c, _ in w.replies(4)] == [250, 250, 250, 354]
    w.send(big + b".\r\n")
    (c1, t1), (c2, t2) = w.replies(2)
    assert c1 == 552 and t1[0].startswith("5.2.2") and "<bob@example.com>" in t1[0]
    assert c2 == 250 and "<alice@example.com>" in t2[0]
    assert roost.users()[BOB][1:] == (used, 1)
    assert split_trace(stored(roost, 1))[1] == big


def test_quota_temporary_over_lmtp(roost_factory):
    r = roost_factory(quota__overquota="temporary")
    fill(r, ALICE, "2K")
    w = Wire(r.port("lmtp"))
    lhlo(w)
    w.send(b"MAIL FROM:<s@other.example>\r\nRCPT TO:<%s>\r\nDATA\r\n" % ALICE.encode())
    assert [c for c, _ in w.replies(3)] == [250, 250, 354]
    w.send(message(body=(b"z" * 70 + b"\r\n") * 50) + b".\r\n")
    code, texts = w.reply()
    assert code == 452 and texts[0].startswith("4.2.2")


def test_bdat_last_replies_per_recipient(roost):
    roost.add_user(BOB)
    msg = message(body=b"binary-ish\r\n")
    w = Wire(roost.port("lmtp"))
    lhlo(w)
    w.send(b"MAIL FROM:<s@other.example>\r\nRCPT TO:<%s>\r\nRCPT TO:<%s>\r\n"
           b"BDAT 10\r\n%sBDAT %d LAST\r\n%s"
           % (ALICE.encode(), BOB.encode(), msg[:10], len(msg) - 10, msg[10:]))
    codes = [c for c, _ in w.replies(6)]
    # MAIL, RCPT, RCPT, BDAT chunk, then one per recipient
    assert codes == [250, 250, 250, 250, 250, 250]
    assert split_trace(stored(roost, 1, BOB))[1] == msg


def test_refused_message_gets_one_reply_per_recipient(roost):
    roost.add_user(BOB)
    w = Wire(roost.port("lmtp"))
    lhlo(w)
    w.send(b"MAIL FROM:<s@other.example>\r\nRCPT TO:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n"
           % (ALICE.encode(), BOB.encode()))
    assert [c for c, _ in w.replies(4)] == [250, 250, 250, 354]
    # a bare CR refuses the message, once per recipient
    w.send(b"Subject: x\r\n\r\nsmuggle\r.\r\nMAIL FROM:<x@y>\r\n.\r\n")
    replies = w.replies(2)
    assert all(c == 550 and t[0].startswith("5.6.") for c, t in replies)
    assert w.cmd("NOOP")[0] == 250
    assert count(roost, ALICE) == 0 and count(roost, BOB) == 0


def test_bare_lf_normalised_and_never_ends_data(roost):
    """LMTP DATA like SMTP: a bare LF ends a line (stored as CRLF) but a
    "." next to it is text; only CRLF.CRLF ends the data."""
    roost.add_user(BOB)
    w = Wire(roost.port("lmtp"))
    lhlo(w)
    w.send(b"MAIL FROM:<s@other.example>\r\nRCPT TO:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n"
           % (ALICE.encode(), BOB.encode()))
    assert [c for c, _ in w.replies(4)] == [250, 250, 250, 354]
    w.send(b"Subject: x\n\nsmuggle\n.\nMAIL FROM:<x@y>\r\n.\r\n")
    assert [c for c, _ in w.replies(2)] == [250, 250]
    assert w.cmd("NOOP")[0] == 250
    assert count(roost, ALICE) == 1 and count(roost, BOB) == 1
    assert split_trace(stored(roost, 1, BOB))[1] == (
        b"Subject: x\r\n\r\nsmuggle\r\n\r\nMAIL FROM:<x@y>\r\n")


def test_unix_socket(tmp_path, roost_factory):
    path = os.path.join(str(tmp_path), "lmtp.sock")
    r = roost_factory(wait_for=("smtp",), lmtp__listen="unix:" + path)
    deadline = time.time() + 10
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.05)
    w = Wire(unix=path)
    assert w.greeting[0] == 220
    lhlo(w)
    assert w.cmd("MAIL FROM:<>")[0] == 250
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    assert w.cmd("DATA")[0] == 354
    w.send(message() + b".\r\n")
    code, texts = w.reply()
    assert code == 250, texts
    trace, rest = split_trace(stored(r, 1))
    assert rest == message()
    # no IP address to record for a unix socket peer
    assert b"Received: from mta.example\r\n\tby localhost (Roost) with LMTP id" in trace
