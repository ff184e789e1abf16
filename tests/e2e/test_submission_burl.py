"""BURL (RFC 4468) on submission: a draft APPENDed over IMAP, signed with
GENURLAUTH for submit+alice (RFC 4467), is sent with BURL ... LAST (and
mixed with BDAT chunks) to a local account and to a remote sink, byte for
byte. Refused (554 5.7.0 unless said): BURL before AUTH (530), another
user's URL, a wrong token, "anonymous" and user+ access, a URL without
URLAUTH, another host or port, a huge URL, a draft over message.max_size
(552), an expunged draft (554 5.6.6), BURL outside a transaction (503)."""
import re

import pytest

from imap_raw import Raw
from outbound_net import Dns, Sink, wait_for
from conftest import Roost, free_port
from test_submission import ALICE, Wire, inbox, plain

HOST = "mail.example.com"
U_ALICE = b"alice%40example.com"
DRAFT = (b"From: Alice <alice@example.com>\r\n"
         b"To: bob@example.com, carol@remote.test\r\n"
         b"Subject: the draft\r\n"
         b"Message-ID: <draft1@example.com>\r\n"
         b"\r\n"
         b"Sent from the server's copy.\r\n"
         b"..not a terminator\r\n"
         b".\r\n")


@pytest.fixture
def net(tmp_path):
    port = free_port()
    dns = Dns(tmp_path / "dns", ["remote.test. MX 10 mx.remote.test.",
                                 "mx.remote.test. A 127.0.0.2"])
    sink = Sink("127.0.0.2", port, "accept").start()
    yield port, dns, sink
    sink.stop()
    dns.stop()


def make(roost_factory, net, **extra):
    port, dns, _ = net
    settings = dict(dns__resolver=dns.resolver, dns__trust_anchor="",
                    outbound__port=str(port), queue__retry_min="1s",
                    queue__retry_max="2s", server__hostname=HOST)
    settings.update(extra)
    r = roost_factory(**settings)
    r.add_user("bob@example.com")
    return r


def append(c, data, box=b"Drafts"):
    out = c.cmd(b"APPEND " + box + b" {%d+}\r\n" % len(data) + data)
    m = re.search(rb"APPENDUID (\d+) (\d+)", out[-1])
    assert m, out
    return int(m.group(1)), int(m.group(2))


def genurlauth(c, rump):
    out = c.cmd(b"GENURLAUTH \"" + rump + b"\" INTERNAL")
    assert out[-1].split()[1] == b"OK", out
    m = re.match(rb"\* GENURLAUTH \"([^\"]+)\"\r\n", out[0])
    assert m, out
    return m.group(1).decode()


def rump(r, uid, user=U_ALICE, access=b"submit+" + U_ALICE, box=b"Drafts", host=HOST.encode(),
         port=None):
    port = b":%d" % (port if port is not None else r.listen_port("imap"))
    return (b"imap://" + user + b"@" + host + port + b"/" + box + b"/;UID=%d;URLAUTH=" % uid +
            access)


def session(r, user=ALICE, auth=True):
    w = Wire(r.port("submission"))
    w.cmd("EHLO client.example")
    w.starttls()
    code, lines = w.cmd("EHLO client.example")
    assert code == 250
    if auth:
        assert w.cmd("AUTH PLAIN " + plain(user, "secret"))[0] == 235
    return w, lines


def transaction(w, *rcpts):
    assert w.cmd("MAIL FROM:<%s>" % ALICE)[0] == 250
    for a in rcpts:
        assert w.cmd("RCPT TO:<%s>" % a)[0] == 250


def stored_body(raw, first=b"From: Alice"):
    """The delivered message without the trace fields we prepend."""
    i = raw.index(first)
    for field in re.split(rb"\r\n(?![ \t])", raw[:i].rstrip(b"\r\n")):
        assert field.split(b":")[0] in (b"Return-Path", b"Delivered-To", b"Received"), field
    return raw[i:]


def draft_url(r, c=None, data=DRAFT):
    c = c or Raw(r)
    _, uid = append(c, data)
    return genurlauth(c, rump(r, uid)), uid, c


def test_ehlo_offers_burl_imap(roost_factory, net):
    r = make(roost_factory, net)
    # RFC 4468 3.1: "BURL" alone before AUTH, "BURL imap" after it
    w, lines = session(r, auth=False)
    assert "250-BURL" in lines, lines
    assert w.cmd("AUTH PLAIN " + plain(ALICE, "secret"))[0] == 235
    _, lines = w.cmd("EHLO client.example")
    assert "250-BURL imap" in lines, lines
    # never on the MX
    w = Wire(r.port("smtp"))
    _, lines = w.cmd("EHLO client.example")
    assert not any("BURL" in l for l in lines), lines
    code, _ = w.cmd("BURL imap://x LAST")
    assert code >= 500


def test_burl_last_to_local_and_remote_byte_exact(roost_factory, net):
    _, _, sink = net
    r = make(roost_factory, net)
    url, _, _ = draft_url(r)
    w, _ = session(r)
    transaction(w, "bob@example.com", "carol@remote.test")
    code, lines = w.cmd("BURL %s LAST" % url)
    assert code == 250, lines
    n, raws = inbox(r, "bob@example.com")
    assert n == 1 and stored_body(raws[0]) == DRAFT
    assert wait_for(lambda: len(sink.messages) == 1, 20), r.read_log()
    _, rcpts, data = sink.messages[0]
    assert rcpts == ["carol@remote.test"]
    assert stored_body(data) == DRAFT


def test_bdat_and_burl_mix(roost_factory, net):
    r = make(roost_factory, net)
    url, _, _ = draft_url(r)
    w, _ = session(r)
    transaction(w, "bob@example.com")
    pre = b"X-Prefix: from a BDAT chunk\r\n"
    w.send(b"BDAT %d\r\n" % len(pre) + pre)
    assert w.reply()[0] == 250
    code, lines = w.cmd("BURL %s" % url)
    assert code == 250 and "octets" in lines[0], lines
    tail = b"\r\nappended\r\n"
    w.send(b"BDAT %d LAST\r\n" % len(tail) + tail)
    assert w.reply()[0] == 250
    # DATA after BURL is refused like after BDAT (RFC 3030 3)
    transaction(w, "bob@example.com")
    assert w.cmd("BURL %s" % url)[0] == 250
    assert w.cmd("DATA")[0] == 503
    n, raws = inbox(r, "bob@example.com")
    assert n == 1 and stored_body(raws[0], b"X-Prefix") == pre + DRAFT + tail


def test_partial_range_and_section(roost_factory, net):
    r = make(roost_factory, net)
    c = Raw(r)
    _, uid = append(c, DRAFT)
    head = DRAFT.index(b"\r\n\r\n") + 4
    base = rump(r, uid).split(b";URLAUTH=")[0]
    partial = genurlauth(c, base + b"/;PARTIAL=0.%d;URLAUTH=submit+" % head + U_ALICE)
    section = genurlauth(c, base + b"/;SECTION=1;URLAUTH=submit+" + U_ALICE)
    w, _ = session(r)
    transaction(w, "bob@example.com")
    assert w.cmd("BURL %s" % partial)[0] == 250
    body = b"A new body.\r\n"
    w.send(b"BDAT %d LAST\r\n" % len(body) + body)
    assert w.reply()[0] == 250
    n, raws = inbox(r, "bob@example.com")
    assert n == 1 and stored_body(raws[0]) == DRAFT[:head] + body
    # a body part is not a message
    refused(w, section, 554, "5.6.6")


def test_burl_before_auth_and_outside_a_transaction(roost_factory, net):
    r = make(roost_factory, net)
    url, _, _ = draft_url(r)
    w, _ = session(r, auth=False)
    code, lines = w.cmd("BURL %s LAST" % url)
    assert code == 530 and "5.7.0" in lines[0], lines
    w2, _ = session(r)
    assert w2.cmd("BURL %s LAST" % url)[0] == 503
    assert w2.cmd("MAIL FROM:<%s>" % ALICE)[0] == 250
    code, lines = w2.cmd("BURL %s LAST" % url)  # no recipients: not resolved
    assert code == 554 and "5.5.0" in lines[0], lines
    assert w2.cmd("RCPT TO:<bob@example.com>")[0] == 250
    assert w2.cmd("BURL")[0] == 501
    assert w2.cmd("BURL %s NOTLAST" % url)[0] == 501
    assert w2.cmd("BURL %s LAST" % url)[0] == 250
    assert inbox(r, "bob@example.com")[0] == 1


def refused(w, url, code=554, enhanced="5.7.0"):
    transaction(w, "bob@example.com")
    got, lines = w.cmd("BURL %s LAST" % url)
    assert got == code and enhanced in lines[0], (url[:200], lines)
    assert w.cmd("RSET")[0] == 250


def test_hostile_urls_are_refused(roost_factory, net):
    r = make(roost_factory, net, smtp__max_errors="100")
    url, uid, c = draft_url(r)
    w, _ = session(r)
    # a wrong token, one digit changed
    last = url[-1]
    refused(w, url[:-1] + ("0" if last != "0" else "1"))
    # a token cut short, no token, no mechanism
    refused(w, url[:-10])
    refused(w, url.rsplit(":", 1)[0] + ":")
    refused(w, rump(r, uid).decode())
    # no URLAUTH at all
    refused(w, "imap://alice%%40example.com@%s/Drafts/;UID=%d" % (HOST, uid))
    # anonymous access, with the token of the real URL
    token = url.rsplit(":", 1)[1]
    refused(w, rump(r, uid, access=b"anonymous").decode() + ":internal:" + token)
    # user+ access is for URLFETCH, not for submission
    user_url = genurlauth(c, rump(r, uid, access=b"user+" + U_ALICE))
    refused(w, user_url)
    # another host, another port: correctly signed, not ours
    refused(w, genurlauth(c, rump(r, uid, host=b"evil.example")), enhanced="5.7.14")
    refused(w, genurlauth(c, rump(r, uid, port=1)), enhanced="5.7.14")
    # a relative URL, garbage
    refused(w, "/Drafts/;UID=%d" % uid)
    refused(w, "not-a-url")
    # bob's draft, signed by bob for bob: alice may not send it
    bob = Raw(r, login=False)
    assert bob.ok(b"LOGIN bob@example.com secret")
    _, bob_uid = append(bob, DRAFT.replace(b"draft1", b"bob1"))
    bob_url = genurlauth(bob, rump(r, bob_uid, user=b"bob%40example.com",
                                   access=b"submit+bob%40example.com"))
    refused(w, bob_url)
    # alice's access name on bob's mailbox, with alice's token
    refused(w, rump(r, bob_uid, user=b"bob%40example.com").decode() + ":internal:" + token)
    # nothing of it reached bob or anybody
    assert inbox(r, "bob@example.com")[0] == 0
    # the session is still usable and the real URL works
    transaction(w, "bob@example.com")
    assert w.cmd("BURL %s LAST" % url)[0] == 250
    assert inbox(r, "bob@example.com")[0] == 1


def test_huge_urls(roost_factory, net):
    r = make(roost_factory, net, smtp__max_errors="100")
    url, _, _ = draft_url(r)
    w, _ = session(r)
    # over the URL limit (8192) but within the command line: 554
    refused(w, url + "x" * 9000)
    # longer than any command line: refused, the session goes on
    transaction(w, "bob@example.com")
    code, _ = w.cmd("BURL " + "imap://" + "a" * 20000 + " LAST")
    assert code >= 500
    assert w.cmd("NOOP")[0] == 250


def test_draft_over_the_size_limit(roost_factory, net):
    r = make(roost_factory, net)
    big = DRAFT + b"x" * 5000 + b"\r\n"
    url, _, _ = draft_url(r, data=big)
    small_url, _, _ = draft_url(r, data=DRAFT + b"y" * 1400 + b"\r\n")
    # the limit lowered after the drafts were stored
    assert r.stop() == 0
    r.settings["message__max_size"] = "4K"
    r.start()
    w, _ = session(r)
    refused(w, url, 552, "5.3.4")
    # within the limit alone and twice, over it three times
    transaction(w, "bob@example.com")
    for _ in range(2):
        code, _ = w.cmd("BURL %s" % small_url)
        assert code == 250
    code, lines = w.cmd("BURL %s LAST" % small_url)
    assert code == 552, lines
    assert inbox(r, "bob@example.com")[0] == 0
    refused(w, small_url, 250, "2.0.0")
    assert inbox(r, "bob@example.com")[0] == 1


def test_failed_burl_fails_the_whole_transaction(roost_factory, net):
    # RFC 4468 3.2: chunks before a failing URL are not sent later
    r = make(roost_factory, net)
    url, _, _ = draft_url(r)
    w, _ = session(r)
    transaction(w, "bob@example.com")
    pre = b"X-Prefix: lost\r\n"
    w.send(b"BDAT %d\r\n" % len(pre) + pre)
    assert w.reply()[0] == 250
    assert w.cmd("BURL %s LAST" % url[:-1])[0] == 554
    # the transaction is gone: no more data without a new MAIL
    assert w.cmd("BURL %s LAST" % url)[0] == 503
    transaction(w, "bob@example.com")
    assert w.cmd("BURL %s LAST" % url)[0] == 250
    n, raws = inbox(r, "bob@example.com")
    assert n == 1 and b"X-Prefix" not in raws[0]


def test_expunged_draft(roost_factory, net):
    r = make(roost_factory, net)
    url, uid, c = draft_url(r)
    assert c.ok(b"SELECT Drafts")
    assert c.ok(b"UID STORE %d +FLAGS (\\Deleted)" % uid)
    assert c.ok(b"EXPUNGE")
    w, _ = session(r)
    refused(w, url, 554, "5.6.6")
    assert inbox(r, "bob@example.com")[0] == 0


def test_no_burl_without_imap(tmp_path):
    r = Roost(tmp_path / "noimap", {"imap__listen": "", "imaps__listen": ""})
    r.init()
    r.start(wait_for=("smtp", "submission"))
    try:
        _, lines = session(r, auth=True)
        assert not any("BURL" in l for l in lines), lines
    finally:
        assert r.stop() == 0


def test_resolved_message_still_passes_the_sender_rules(roost_factory, net):
    # a message in alice's own store, From: somebody else: BURL resolves
    # it, the From: rule refuses it like an uploaded one
    r = make(roost_factory, net)
    forged = DRAFT.replace(b"From: Alice <alice@example.com>", b"From: Bob <bob@example.com>")
    url, _, _ = draft_url(r, data=forged)
    w, _ = session(r)
    transaction(w, "carol@remote.test")
    code, lines = w.cmd("BURL %s LAST" % url)
    assert code == 550 and "5.7.1" in lines[0], lines
    assert r.cli("queue", "list").stdout == ""


def test_pipelined_transaction_and_clients_that_vanish(roost_factory, net):
    r = make(roost_factory, net)
    url, _, _ = draft_url(r)
    # RFC 4468 3.4: the whole transaction in one round trip
    w, _ = session(r)
    w.send("MAIL FROM:<%s>\r\nRCPT TO:<bob@example.com>\r\nBURL %s LAST\r\nNOOP\r\n"
           % (ALICE, url))
    assert [w.reply()[0] for _ in range(4)] == [250, 250, 250, 250]
    assert inbox(r, "bob@example.com")[0] == 1
    # clients that leave while their URL is being resolved
    for _ in range(20):
        w, _ = session(r)
        w.send("MAIL FROM:<%s>\r\nRCPT TO:<bob@example.com>\r\nBURL %s LAST\r\n"
               % (ALICE, url))
        w.close()
    w, _ = session(r)
    assert w.cmd("NOOP")[0] == 250
    assert wait_for(lambda: "burl user=" in r.read_log(), 5)
