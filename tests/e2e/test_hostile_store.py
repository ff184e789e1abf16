"""Hostile messages: each message of
the generated corpus is stored byte for byte, counted exactly in the quota,
served back unchanged by `roost message get`, IMAP BODY[] and POP3 RETR
(modulo POP3's CRLF/dot-stuffing), and its BODYSTRUCTURE/ENVELOPE FETCH
completes while the daemon keeps serving."""
import imaplib
import os
import poplib
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
MAKER = os.path.join(HERE, "..", "data", "make-hostile.py")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    subprocess.run([sys.executable, MAKER, str(d)], check=True, timeout=120)
    files = sorted(os.listdir(d))
    assert len(files) >= 15
    return [(f, open(os.path.join(d, f), "rb").read()) for f in files]


def test_hostile_corpus_stored_and_served(roost, corpus):
    roost.cli("user", "quota", "alice@example.com", "unlimited")
    uids = {}
    total = 0
    for i, (name, data) in enumerate(corpus, start=1):
        p = roost.deliver(data, "alice@example.com", check=False)
        assert p.returncode == 0, (name, p.stderr)
        uids[name] = i
        got = roost.cli("message", "get", "alice@example.com", "INBOX", str(i), binary=True).stdout
        # stored = per-recipient trace prefix + the bytes exactly as received
        assert got.endswith(data), name
        prefix = got[:len(got) - len(data)]
        assert prefix.startswith(b"Return-Path: <") and b"Delivered-To: alice@example.com\r\n" in prefix
        total += len(got)
    _, used, count = roost.users()["alice@example.com"]
    assert count == len(corpus)
    assert used == total

    imap = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    imap.login("alice@example.com", "secret")
    imap.select("INBOX", readonly=True)
    for name, uid in uids.items():
        t0 = time.time()
        typ, data = imap.uid("FETCH", str(uid), "(BODYSTRUCTURE ENVELOPE RFC822.SIZE)")
        assert typ == "OK", name
        assert time.time() - t0 < 10, name
        typ, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
        assert typ == "OK", name
        body = data[0][1]
        # a plain literal carries no NUL (RFC 9051 4.3): each goes out as
        # 0x80, the length kept; BINARY.PEEK[] (literal8) has the bytes
        raw = dict(corpus)[name]
        assert body.endswith(raw.replace(b"\0", b"\x80")), name
        assert b"\0" not in body, name
        if b"\0" in raw:
            typ, data = imap.uid("FETCH", str(uid), "(BINARY.PEEK[])")
            assert typ == "OK", name
            assert data[0][1].endswith(raw), name
    imap.logout()

    poplib._MAXLINE = 4 << 20  # the corpus has 1 MB header lines; poplib stops at 2 KB
    pop = poplib.POP3("127.0.0.1", roost.port("pop3"), timeout=30)
    pop.user("alice@example.com")
    pop.pass_("secret")
    count, size = pop.stat()
    assert count == len(corpus)
    for n in range(1, count + 1):
        resp, lines, octets = pop.retr(n)
        assert resp.startswith(b"+OK")
        listed = int(pop.list(n).split()[2])
        assert listed == octets, n  # LIST size = the octets RETR sent
    pop.quit()
