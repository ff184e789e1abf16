"""Submission to remote recipients: an authenticated message for a domain
not hosted here goes to the outbound queue (smtp-submit-remote.c), signed
with the From: domain's DKIM keys, and reaches the remote MX (a sink on
the private loopback internet of outbound_net.py). Local recipients of
the same message get it from the store; Debian's dkimpy verifies the
signatures the sink received against `roost domain dkim show`."""
import email
import re

import dkim
import pytest

from conftest import free_port
from outbound_net import Dns, Sink, wait_for
from test_dkim import parse_txt
from test_submission import ALICE, inbox, submit

REMOTE = "carol@remote.test"


@pytest.fixture
def net(tmp_path):
    port = free_port()
    dns = Dns(tmp_path / "dns", ["remote.test. MX 10 mx.remote.test.",
                                 "mx.remote.test. A 127.0.0.2"])
    sink = Sink("127.0.0.2", port, "accept").start()
    yield port, dns, sink
    sink.stop()
    dns.stop()


@pytest.fixture
def sub(roost_factory, net):
    port, dns, _ = net
    r = roost_factory(dns__resolver=dns.resolver, dns__trust_anchor="",
                      outbound__port=str(port), queue__retry_min="1s",
                      queue__retry_max="2s", server__hostname="mail.example.com")
    r.add_user("bob@example.com")
    return r


def message(subject, to):
    return ("From: Alice <%s>\r\nTo: %s\r\nSubject: %s\r\n"
            "Date: Wed, 02 Dec 2026 20:00:00 +0000\r\n"
            "Message-ID: <%s@example.com>\r\n\r\nHello over there.\r\n"
            % (ALICE, to, subject, subject.replace(" ", ".")))


def test_remote_and_local_recipients_signed_and_delivered(sub, net):
    _, _, sink = net
    sub.cli("domain", "dkim", "example.com", "generate")
    recs = parse_txt(sub.cli("domain", "dkim", "example.com", "show").stdout)
    s = submit(sub)
    s.mail(ALICE)
    assert s.rcpt(REMOTE)[0] == 250
    assert s.rcpt("bob@example.com")[0] == 250
    code, text = s.data(message("mixed one", REMOTE + ", bob@example.com"))
    assert code == 250 and b"queued as" in text, text
    s.quit()
    # the local copy comes from the store at once
    n, raws = inbox(sub, "bob@example.com")
    assert n == 1 and b"Subject: mixed one" in raws[0]
    # the remote one from the queue
    assert wait_for(lambda: len(sink.messages) == 1, 20), sub.read_log()
    mail, rcpts, data = sink.messages[0]
    assert mail.startswith("<%s>" % ALICE)
    assert rcpts == [REMOTE]
    assert email.message_from_bytes(data)["Subject"] == "mixed one"
    # both signatures (RSA and Ed25519) verify with an independent verifier
    n_sigs = len(re.findall(rb"(?im)^DKIM-Signature:", data))
    assert n_sigs == 2, data[:2000]

    def dnsfunc(name, timeout=5):
        return recs.get(name.decode().rstrip(".").lower(), "").encode()

    d = dkim.DKIM(data)
    for idx in range(n_sigs):
        assert d.verify(idx=idx, dnsfunc=dnsfunc), data[:3000]
    assert wait_for(lambda: sub.cli("queue", "list").stdout == "", 10)


def test_running_daemon_signs_with_the_rotated_keys(sub, net):
    """The daemon keeps decoded keys (dkim-key-cache.c): after `rotate`,
    and after the retired selector's files are removed, the next message
    is signed with the new selector's keys and verifies against them."""
    _, _, sink = net

    def send_one(subject):
        n = len(sink.messages) + 1
        s = submit(sub)
        s.mail(ALICE)
        assert s.rcpt(REMOTE)[0] == 250
        code, text = s.data(message(subject, REMOTE))
        assert code == 250, text
        s.quit()
        assert wait_for(lambda: len(sink.messages) == n, 20), sub.read_log()
        data = sink.messages[-1][2]
        recs = parse_txt(sub.cli("domain", "dkim", "example.com", "show").stdout)

        def dnsfunc(name, timeout=5):
            return recs.get(name.decode().rstrip(".").lower(), "").encode()

        d = dkim.DKIM(data)
        assert all(d.verify(idx=i, dnsfunc=dnsfunc) for i in range(2)), data[:3000]
        return set(re.findall(rb"s=([a-z0-9-]+);", data))

    sub.cli("domain", "dkim", "example.com", "generate")
    first = send_one("before rotate")
    assert len(first) == 2
    assert send_one("again") == first
    sub.cli("domain", "dkim", "example.com", "rotate")
    second = send_one("after rotate")
    assert len(second) == 2 and not second & first
    old_sel = sorted(first)[0].decode().rsplit("-", 1)[0]
    sub.cli("domain", "dkim", "example.com", "remove", old_sel)
    assert send_one("after remove") == second


def test_remote_only_unsigned_without_keys(sub, net):
    _, _, sink = net
    s = submit(sub)
    s.mail(ALICE)
    assert s.rcpt(REMOTE)[0] == 250
    # the same address twice is one recipient
    assert s.rcpt(REMOTE.upper())[0] == 250
    code, text = s.data(message("remote only", REMOTE))
    assert code == 250 and b"queued as" in text, text
    s.quit()
    assert wait_for(lambda: len(sink.messages) == 1, 20), sub.read_log()
    _, rcpts, data = sink.messages[0]
    assert rcpts == [REMOTE]
    assert b"DKIM-Signature:" not in data
    # our trace field leads the message
    assert data.startswith(b"Received: ")
    # nothing was stored locally for the sender but the Sent copy
    assert inbox(sub, ALICE)[0] == 0
    assert inbox(sub, ALICE, mailbox="Sent")[0] == 1


def test_sender_forgery_to_remote_is_refused_and_not_queued(sub, net):
    s = submit(sub)
    s.mail(ALICE)
    assert s.rcpt(REMOTE)[0] == 250
    forged = message("forged", REMOTE).replace("Alice <%s>" % ALICE, "<boss@example.org>")
    code, text = s.data(forged)
    assert code == 550 and b"5.7.1" in text, text
    s.quit()
    assert sub.cli("queue", "list").stdout == ""
