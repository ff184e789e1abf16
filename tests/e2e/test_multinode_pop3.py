"""POP3 [IN-USE] across nodes (issue 18, RFC 2449 8.1.1): a POP3 session
of an account on node A makes node B answer a second device with
`-ERR [IN-USE]` (never something that looks like a wrong password);
the lock goes with the session's QUIT, and with node A itself when it
dies (PostgreSQL drops the advisory locks of a closed connection)."""
import poplib
import signal
import time

import pytest

from multinode import nodes  # noqa: F401


def login(node):
    p = poplib.POP3("127.0.0.1", node.port("pop3"), timeout=10)
    p.user("alice@example.com")
    p.pass_("secret")
    return p


def refused_in_use(node):
    p = poplib.POP3("127.0.0.1", node.port("pop3"), timeout=10)
    p.user("alice@example.com")
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("secret")
    p.close()
    return e.value.args[0]


def test_pop3_in_use_across_nodes(nodes):
    a, b, c = nodes(3)
    first = login(a)
    for node in (a, b, c):
        assert refused_in_use(node).startswith(b"-ERR [IN-USE]")
    first.quit()
    second = login(b)
    assert refused_in_use(a).startswith(b"-ERR [IN-USE]")
    second.quit()

    # a node that dies frees its sessions' locks
    third = login(c)  # noqa: F841 (kept open until the node dies)
    assert refused_in_use(b).startswith(b"-ERR [IN-USE]")
    assert c.stop(signal.SIGKILL) == -signal.SIGKILL
    deadline = time.time() + 10
    while True:
        try:
            login(b).quit()
            break
        except poplib.error_proto as e:
            assert e.args[0].startswith(b"-ERR [IN-USE]"), e.args[0]
            assert time.time() < deadline, "the dead node's lock was never freed"
            time.sleep(0.1)
    c.start()
    assert "node locks" not in a.read_log() + b.read_log()
