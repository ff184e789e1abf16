"""A line-level IMAP client for tests that need exact bytes (shared by
test_imap_idle.py and test_imap_copy.py)."""
import socket
import time


class Raw:
    def __init__(self, roost, login=True, port=None):
        self.s = socket.create_connection(("127.0.0.1", port or roost.port("imap")), timeout=10)
        self.f = self.s.makefile("rb")
        self.greeting = self.f.readline()
        self.n = 0
        if login:
            assert self.ok(b"LOGIN alice@example.com secret")

    def cmd(self, line):
        """Send one command; returns all lines up to its tagged reply."""
        self.n += 1
        tag = b"r%d" % self.n
        self.s.sendall(tag + b" " + line + b"\r\n")
        return self.read_tagged(tag)

    def read_tagged(self, tag):
        out = []
        while True:
            l = self.f.readline()
            assert l, "connection closed after %r" % out
            out.append(l)
            if l.startswith(tag + b" "):
                return out

    def ok(self, line):
        out = self.cmd(line)
        return out[-1].split()[1] == b"OK"

    def wait_for(self, needle, timeout=5):
        self.s.settimeout(timeout)
        deadline = time.time() + timeout
        got = []
        try:
            while time.time() < deadline:
                l = self.f.readline()
                if not l:
                    break
                got.append(l)
                if needle in l:
                    return got
        finally:
            self.s.settimeout(10)
        raise AssertionError("no %r in %r" % (needle, got))

    def close(self):
        self.s.close()
