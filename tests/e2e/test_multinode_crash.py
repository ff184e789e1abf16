"""Two nodes on one PostgreSQL database, 1,000 deliveries and APPENDs
spread over both (issue 18): node A is killed with SIGKILL in the middle
and its clients go on through node B, as behind a load balancer; A comes
back later and takes its share again. Every acknowledged message is
stored exactly once, nothing refused is stored, every stored message is
whole, and the UIDs are dense and distinct (allocated in the writing
transaction, whichever node wrote). The clients and the ledger are
test_crash.py's (see its docstring for acked / refused / unknown)."""
import signal
import threading
import time

from faults import stored_tokens
from multinode import nodes  # noqa: F401
from test_crash import PER_CLIENT, Ledger, check_stored, client_threads

CLIENTS = {"smtp": 4, "lmtp": 4, "imap": 2}   # 10 clients x 100 = 1,000
DEADLINE = 120


class Balancer:
    """What the clients connect to: the nodes that are up, in turn."""

    def __init__(self, nodes_up):
        self.lock = threading.Lock()
        self.up = list(nodes_up)
        self.turn = 0

    def port(self, proto):
        with self.lock:
            self.turn += 1
            return self.up[self.turn % len(self.up)].port(proto)

    def set_up(self, nodes_up):
        with self.lock:
            self.up = list(nodes_up)


def test_sigkill_one_node_under_load(nodes):
    a, b = nodes(2)
    lb = Balancer([a, b])
    ledger = Ledger()
    stop = threading.Event()
    threads = client_threads(lb, CLIENTS, ledger, stop)
    total = sum(CLIENTS.values()) * PER_CLIENT
    t0 = time.time()

    def wait_acked(n):
        while ledger.done < n and time.time() - t0 < DEADLINE:
            time.sleep(0.01)
        assert time.time() - t0 < DEADLINE, "load too slow: %d acked" % ledger.done

    try:
        for t in threads:
            t.start()
        wait_acked(total * 2 // 5)
        lb.set_up([b])
        assert a.stop(signal.SIGKILL) == -signal.SIGKILL
        acked_at_kill = ledger.done
        wait_acked(total * 7 // 10)
        assert ledger.done > acked_at_kill
        a.start()
        lb.set_up([a, b])
        for t in threads:
            t.join(max(1, DEADLINE - (time.time() - t0)))
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    assert ledger.done == total, "only %d of %d acked" % (ledger.done, total)

    stored = stored_tokens(b.port("imap"))
    check_stored(ledger, stored)
    uids = sorted(uid for copies in stored.values() for uid, _ in copies)
    assert uids == list(range(1, len(uids) + 1)), "UIDs not dense"
    # every APPENDUID names the UID its token is stored under
    uid_of = {token: copies[0][0] for token, copies in stored.items()}
    for _, uid, token in ledger.appenduid:
        assert uid_of[token] == uid, (token, uid, uid_of[token])
    # the restarted node serves the same mailbox
    assert set(stored_tokens(a.port("imap"))) == set(stored)
    assert b.cli("check").returncode == 0


def test_two_writers_deliver_to_many_accounts_without_deadlock(nodes):
    """Batches of both nodes touch the rows of many accounts in any
    order: without one lock per batch they deadlock, and PostgreSQL
    fails one of them (a 451 for a message that was fine)."""
    users = ["u%d@example.com" % i for i in range(12)]
    a, b = nodes(2, users=users)
    replies = []
    lock = threading.Lock()

    def client(node, seed):
        import random
        import smtplib
        rnd = random.Random(seed)
        with smtplib.SMTP("127.0.0.1", node.port("smtp"), timeout=30) as s:
            s.ehlo()
            for i in range(40):
                rcpt = rnd.choice(users)
                code, _ = s.docmd("MAIL", "FROM:<x@example.org>")
                if code == 250:
                    code, _ = s.docmd("RCPT", "TO:<%s>" % rcpt)
                if code == 250:
                    code, _ = s.data(b"Subject: %d %d\r\n\r\nx\r\n" % (seed, i))
                else:
                    s.rset()
                with lock:
                    replies.append(code)

    threads = [threading.Thread(target=client, args=((a, b)[i % 2], i)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(replies) == 8 * 40
    assert replies.count(250) == len(replies), sorted(set(replies))
    assert int(b.sql("SELECT count(*) FROM messages")[0][0]) == len(replies)
