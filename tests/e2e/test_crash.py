"""Crash durability: 1,000 deliveries (SMTP and
LMTP) and 1,000 IMAP APPENDs from 20 concurrent clients while the daemon
is killed with SIGKILL at random moments and restarted, five times.

Every attempt to store a message carries its own token (X-Token header,
Message-ID, Subject), so a retry is a new token. Each attempt ends in one
of three ways:
  - acked: 250 (SMTP, LMTP) or APPEND OK. It must be stored exactly once.
  - refused: a reply that is not an ack (4xx/5xx, tagged NO), or the
    connection failed before the whole message was sent. Not stored.
  - unknown: the connection died after the whole message was sent and
    before the reply (the kill took the ack). Stored once or not at all
    (at-least-once delivery: the client retries with a new token, so the
    message itself may then exist twice, under two tokens; those are
    counted, not failed).
No token is ever stored twice. Every stored message is byte-complete (the
whole message as sent, behind its trace prefix), so nothing is half there.
UIDs never repeat: every APPENDUID (RFC 4315) seen in any daemon lifetime
names a distinct UID that, at the end, still holds the token it was given
for. UIDVALIDITY is the same in every lifetime. Quota usage equals a
recount and `roost check` is clean, through the restarted daemon and on
the stopped data directory.
"""
import imaplib
import random
import signal
import threading
import time

import pytest

from conftest import Roost
from faults import Reply, Smtp, complete, imap_append, imap_login, make_message, stored_tokens

CLIENTS = {"smtp": 5, "lmtp": 5, "imap": 10}   # 20 concurrent clients
PER_CLIENT = 100                                # 1,000 deliveries + 1,000 APPENDs
KILLS = 5
DEADLINE = 100          # seconds for the whole load; the test fails past it
RETRY_SLEEP = 0.05      # between reconnects while the daemon restarts

ACKED, REFUSED, UNKNOWN = "acked", "refused", "unknown"


class Ledger:
    """What every attempt got, shared by the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.attempts = {}      # token -> [outcome, size, proto]
        self.appenduid = []     # (uidvalidity, uid, token)
        self.done = 0           # messages acked (each stops its retries)

    def record(self, token, outcome, size, proto):
        with self.lock:
            self.attempts[token] = [outcome, size, proto]
            if outcome == ACKED:
                self.done += 1


def smtp_client(roost, proto, cid, ledger, stop):
    rnd = random.Random(cid)
    conn = None
    for n in range(PER_CLIENT):
        attempt = 0
        while not stop.is_set():
            token = "tok-%s%d-%d-%d" % (proto, cid, n, attempt)
            attempt += 1
            size = rnd.randrange(200, 6000)
            data = make_message(token, size)
            sent_all = False
            try:
                if conn is None:
                    conn = Smtp(roost.port(proto), lmtp=proto == "lmtp", timeout=10)
                code, _ = conn.cmd("MAIL FROM:<sender@other.example>")
                if code == 250:
                    code, _ = conn.cmd("RCPT TO:<alice@example.com>")
                if code == 250:
                    code, _ = conn.cmd("DATA")
                if code != 354:
                    ledger.record(token, REFUSED, size, proto)
                    conn.cmd("RSET")
                    time.sleep(RETRY_SLEEP)
                    continue
                conn.sock.sendall(data + b".\r\n")
                sent_all = True
                code, _ = conn.reply()
            except (OSError, ValueError, Reply):
                ledger.record(token, UNKNOWN if sent_all else REFUSED, size, proto)
                if conn is not None:
                    conn.sock.close()
                conn = None
                time.sleep(RETRY_SLEEP)
                continue
            if code == 250:
                ledger.record(token, ACKED, size, proto)
                break
            ledger.record(token, REFUSED, size, proto)
            time.sleep(RETRY_SLEEP)
    if conn is not None:
        conn.close()


def imap_client(roost, cid, ledger, stop):
    rnd = random.Random(1000 + cid)
    conn = None
    for n in range(PER_CLIENT):
        attempt = 0
        while not stop.is_set():
            token = "tok-imap%d-%d-%d" % (cid, n, attempt)
            attempt += 1
            size = rnd.randrange(200, 6000)
            data = make_message(token, size)
            try:
                if conn is None:
                    conn = imap_login(roost.port("imap"), timeout=10)
            except (OSError, imaplib.IMAP4.error, EOFError):
                # no APPEND was sent on this attempt
                ledger.record(token, REFUSED, size, "imap")
                conn = None
                time.sleep(RETRY_SLEEP)
                continue
            try:
                ok, uidvalidity, uid, _ = imap_append(conn, data)
            except (OSError, imaplib.IMAP4.abort, EOFError):
                # the literal may have been sent whole: either way
                ledger.record(token, UNKNOWN, size, "imap")
                try:
                    conn.shutdown()
                except OSError:
                    pass
                conn = None
                time.sleep(RETRY_SLEEP)
                continue
            if ok:
                with ledger.lock:
                    ledger.appenduid.append((uidvalidity, uid, token))
                ledger.record(token, ACKED, size, "imap")
                break
            ledger.record(token, REFUSED, size, "imap")
            time.sleep(RETRY_SLEEP)
    if conn is not None:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def check_stored(ledger, stored):
    """Every acked token stored once, no refused one, each whole, nothing
    else stored; returns ({outcome: attempts}, unknown ones stored)."""
    outcomes = {ACKED: 0, REFUSED: 0, UNKNOWN: 0}
    unknown_stored = 0
    for token, (outcome, size, proto) in ledger.attempts.items():
        outcomes[outcome] += 1
        copies = stored.get(token, [])
        assert len(copies) <= 1, "%s stored %d times" % (token, len(copies))
        if outcome == ACKED:
            assert len(copies) == 1, "%s acked but lost" % token
        elif outcome == REFUSED:
            assert not copies, "%s refused but stored" % token
        elif copies:
            unknown_stored += 1
        for uid, body in copies:
            assert complete(token, body, size), "%s (uid %d) is not whole" % (token, uid)
    assert set(stored) <= set(ledger.attempts), set(stored) - set(ledger.attempts)
    return outcomes, unknown_stored


def client_threads(target, clients, ledger, stop):
    """Unstarted threads: clients[proto] clients of each protocol
    (smtp, lmtp, imap) against target (anything with .port(proto))."""
    threads = []
    cid = 0
    for proto, count in clients.items():
        for _ in range(count):
            cid += 1
            if proto == "imap":
                t = threading.Thread(target=imap_client, args=(target, cid, ledger, stop))
            else:
                t = threading.Thread(target=smtp_client,
                                     args=(target, proto, cid, ledger, stop))
            threads.append(t)
    return threads


@pytest.fixture
def daemon(tmp_path):
    r = Roost(tmp_path / "var")
    r.init()
    r.start()
    yield r
    r.stop(signal.SIGKILL)  # only if a failed assertion left it running


def test_sigkill_five_times_under_load(daemon):
    r = daemon
    t0 = time.time()
    ledger = Ledger()
    stop = threading.Event()
    threads = client_threads(r, CLIENTS, ledger, stop)
    total = sum(CLIENTS.values()) * PER_CLIENT
    rnd = random.Random()
    kill_at = sorted(rnd.randrange(k * total // (KILLS + 2), (k + 1) * total // (KILLS + 2))
                     for k in range(1, KILLS + 1))
    kills = 0
    try:
        for t in threads:
            t.start()
        for target in kill_at:
            while ledger.done < target and time.time() - t0 < DEADLINE:
                time.sleep(0.01)
            assert time.time() - t0 < DEADLINE, "load too slow: %d acked" % ledger.done
            time.sleep(rnd.random() * 0.05)  # a random moment, mid-commit or not
            rc = r.stop(signal.SIGKILL)
            assert rc == -signal.SIGKILL, rc
            kills += 1
            r.start()
        for t in threads:
            t.join(max(1, DEADLINE - (time.time() - t0)))
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    load_time = time.time() - t0
    assert kills == KILLS
    assert ledger.done == total, "only %d of %d acked in %.0fs" % (ledger.done, total, load_time)

    stored = stored_tokens(r.port("imap"))
    outcomes, unknown_stored = check_stored(ledger, stored)
    assert outcomes[ACKED] == total
    # UIDs: each APPENDUID is unique across lifetimes and still holds its token.
    uid_of = {}
    for token, copies in stored.items():
        uid_of[token] = copies[0][0]
    uids = [uid for _, uid, _ in ledger.appenduid]
    assert len(uids) == len(set(uids)), "an APPENDUID was handed out twice"
    for uidvalidity, uid, token in ledger.appenduid:
        assert uid_of[token] == uid, (token, uid, uid_of[token])
    m = imap_login(r.port("imap"))
    typ, _ = m.select("INBOX", readonly=True)
    uidvalidity_now = int(m.untagged_responses["UIDVALIDITY"][0])
    m.logout()
    assert {uv for uv, _, _ in ledger.appenduid} == {uidvalidity_now}
    assert len(set(uid_of.values())) == len(stored)
    # Quota usage equals what is stored (and a recount: roost check).
    assert r.users()["alice@example.com"][2] == len(stored)
    p = r.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr
    rc = r.stop()
    assert rc == 0, r.read_log()
    p = r.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr
    print("crash test: %.1fs load, %d kills, attempts %s, unknown-but-stored %d, "
          "messages stored %d" % (load_time, kills, outcomes, unknown_stored, len(stored)))
