"""Quota exact across nodes (issue 18): an account near its quota gets
deliveries on two nodes at once; each node's writer checks the quota
inside its own transaction, and the batches of both commit one after
the other (store-writer.c), so the account never goes over: every
message is either stored with a 250 or refused with 552 5.2.2, and the
usage equals what is stored."""
import smtplib
import threading

from multinode import nodes  # noqa: F401

QUOTA = 40000
CLIENTS = 16
BODY = b"q" * 900 + b"\r\n"


def test_quota_never_exceeded_by_two_nodes(nodes):
    # no quota warnings: they are stored past the quota on purpose
    a, b = nodes(2, quota__warn_percent="")
    a.cli("user", "quota", "alice@example.com", str(QUOTA))
    replies = []
    lock = threading.Lock()

    def client(node, cid):
        s = smtplib.SMTP("127.0.0.1", node.port("smtp"), timeout=30)
        try:
            s.ehlo()
            for i in range(10):
                # no SIZE: every message reaches the store's own check
                # (or at RCPT once the account is full)
                code, text = s.docmd("MAIL", "FROM:<x@example.org>")
                if code == 250:
                    code, text = s.docmd("RCPT", "TO:<alice@example.com>")
                if code == 250:
                    code, text = s.data(b"Subject: %d-%d\r\n\r\n" % (cid, i) + BODY)
                else:
                    s.rset()
                with lock:
                    replies.append((code, text))
        finally:
            try:
                s.quit()
            except smtplib.SMTPException:
                pass  # the server may end a session of many refusals first

    threads = [threading.Thread(target=client, args=((a, b)[i % 2], i)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(replies) == CLIENTS * 10
    accepted = [r for r in replies if r[0] == 250]
    refused = [r for r in replies if r[0] != 250]
    assert accepted and refused, "the quota was never reached"
    for code, text in refused:
        assert code == 552 and text.startswith(b"5.2.2"), (code, text)
    (used, count), = b.sql("SELECT used_bytes, used_messages FROM accounts"
                           " WHERE address = 'alice@example.com'")
    assert used <= QUOTA
    assert count == len(accepted)
    (stored,), = b.sql("SELECT sum(size) FROM messages")
    assert stored == used
