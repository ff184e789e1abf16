"""Two nodes behind Debian's haproxy (issue 18): least connections first,
a PROXY v2 header on every connection. Each node sees the client's own
address (127.0.0.5, .6), not the balancer's; two sessions of one user
that land on different nodes see each other's changes at once (an
APPEND on one is pushed to the other's IDLE)."""
import socket
import time

from conftest import free_port
from haproxy import haproxy
from imap_raw import Raw
from multinode import nodes  # noqa: F401


def who(node):
    return [line.split("\t") for line in node.cli("who").stdout.splitlines()]


class Through(Raw):
    """Raw IMAP through the balancer from a given loopback address."""

    def __init__(self, port, source):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                          source_address=(source, 0))
        self.f = self.s.makefile("rb")
        self.greeting = self.f.readline()
        self.n = 0
        assert self.ok(b"LOGIN alice@example.com secret")


def test_two_nodes_behind_haproxy(nodes, tmp_path):
    a, b = nodes(2, proxy__protocol="imap")
    front = free_port()
    with haproxy(tmp_path, {front: [a.listen_port("imap"), b.listen_port("imap")]}):
        first = Through(front, "127.0.0.5")
        second = Through(front, "127.0.0.6")
        # Least connections puts the second session on the other node,
        # unless haproxy still counts its start-up probe's connection (a
        # slow node, as under ASan, closes it late): then try again.
        for _ in range(20):
            if len(who(a)) == 1 and len(who(b)) == 1:
                break
            second.close()
            deadline = time.time() + 5
            while len(who(a)) + len(who(b)) > 1 and time.time() < deadline:
                time.sleep(0.05)
            second = Through(front, "127.0.0.6")
        assert len(who(a)) == 1 and len(who(b)) == 1
        seen = sorted((x[1], x[2]) for node in (a, b) for x in who(node))
        assert seen == [("imap", "127.0.0.5"), ("imap", "127.0.0.6")]

        assert first.ok(b"SELECT INBOX")
        first.n += 1
        tag = b"r%d" % first.n
        first.s.sendall(tag + b" IDLE\r\n")
        assert first.f.readline().startswith(b"+ ")
        msg = b"From: a@example.org\r\nSubject: lb\r\n\r\nbody\r\n"
        second.n += 1
        second.s.sendall(b"r%d APPEND INBOX {%d+}\r\n" % (second.n, len(msg)) + msg + b"\r\n")
        assert second.read_tagged(b"r%d" % second.n)[-1].split()[1] == b"OK"
        first.wait_for(b"* 1 EXISTS", timeout=5)
        first.s.sendall(b"DONE\r\n")
        assert first.read_tagged(tag)[-1].split()[1] == b"OK"
        first.close()
        second.close()
