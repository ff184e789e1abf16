"""Helpers shared by test_imap_sort.py and test_imap_thread.py: a raw
IMAP client and mailbox filling with chosen internal dates."""
import socket


class Client:
    def __init__(self, roost):
        self.s = socket.create_connection(("127.0.0.1", roost.port("imap")), timeout=20)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.n = 0
        assert self.cmd(b"LOGIN alice@example.com secret")[-1].split()[1] == b"OK"

    def cmd(self, line):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + line + b"\r\n")
        out = []
        while True:
            l = self.f.readline()
            assert l, "connection closed"
            out.append(l)
            if l.startswith(tag + b" "):
                return out

    def ok(self, line):
        out = self.cmd(line)
        assert out[-1].split()[1] == b"OK", out
        return out

    def untagged(self, line, word):
        out = self.ok(line)
        hits = [l.rstrip(b"\r\n") for l in out if l.startswith(b"* " + word)]
        assert len(hits) == 1, out
        return hits[0]


def fill(c, msgs, junk_first=False):
    """APPEND (message, internaldate) pairs; with junk_first one message is
    appended and expunged first, so that UIDs are sequence numbers + 1."""
    if junk_first:
        j = b"Subject: junk\r\n\r\njunk\r\n"
        c.ok(b"APPEND INBOX (\\Deleted) {%d+}\r\n%s" % (len(j), j))
        c.ok(b"SELECT INBOX")
        c.ok(b"EXPUNGE")
    for msg, date in msgs:
        c.ok(b'APPEND INBOX "%s" {%d+}\r\n%s' % (date.encode(), len(msg), msg))
    c.ok(b"SELECT INBOX")
