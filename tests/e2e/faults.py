"""Helpers shared by the fault tests (test_crash.py, test_disk_full.py):
small SMTP/LMTP and IMAP APPEND clients that report exactly what the
server acknowledged, and a scan of every stored message by its token.

Every test message carries one unique token (in Message-ID, Subject and
body) so a stored copy can be matched to the attempt that sent it."""
import imaplib
import re
import socket

ALICE = "alice@example.com"
TOKEN_RE = re.compile(rb"X-Token: (tok-[0-9a-z-]+)\r\n")


def make_message(token, size=0):
    """A message carrying `token`; `size` pads the body to about that many
    bytes (lines of 76 octets)."""
    head = ("From: sender@other.example\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s@faults.example>\r\nX-Token: %s\r\n\r\n"
            % (ALICE, token, token, token)).encode()
    body = b"token " + token.encode() + b"\r\n"
    line = b"x" * 74 + b"\r\n"
    pad = max(0, size - len(head) - len(body)) // len(line)
    return head + body + line * pad


class Reply(Exception):
    pass


class Smtp:
    """A minimal SMTP/LMTP client: one transaction per call of send()."""

    def __init__(self, port, lmtp=False, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.lmtp = lmtp
        code, _ = self.reply()
        if code != 220:
            raise Reply("greeting %d" % code)
        code, _ = self.cmd(("LHLO" if lmtp else "EHLO") + " faults.example")
        if code != 250:
            raise Reply("hello %d" % code)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def reply(self):
        texts = []
        while True:
            line = self.line()
            texts.append(line[4:])
            if line[3:4] != "-":
                return int(line[:3]), texts

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply()

    def send(self, data, rcpts=(ALICE,)):
        """Returns [(code, text)] of the final reply (one per accepted
        recipient for LMTP), or of the first refusal before DATA."""
        code, texts = self.cmd("MAIL FROM:<sender@other.example>")
        if code != 250:
            return [(code, texts[0])]
        accepted = 0
        for r in rcpts:
            code, texts = self.cmd("RCPT TO:<%s>" % r)
            if code != 250:
                self.cmd("RSET")
                return [(code, texts[0])]
            accepted += 1
        code, texts = self.cmd("DATA")
        if code != 354:
            return [(code, texts[0])]
        self.sock.sendall(data + b".\r\n")
        out = []
        for _ in range(accepted if self.lmtp else 1):
            code, texts = self.reply()
            out.append((code, texts[0]))
        return out

    def close(self):
        try:
            self.sock.sendall(b"QUIT\r\n")
        except OSError:
            pass
        self.sock.close()


def imap_login(port, timeout=10):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=timeout)
    m.login(ALICE, "secret")
    return m


def imap_append(m, data, mailbox="INBOX"):
    """(ok, uidvalidity, uid, text): APPEND with the APPENDUID response
    code (RFC 4315) parsed when the server gave one."""
    typ, resp = m.append(mailbox, None, None, data)
    text = resp[0].decode(errors="replace") if resp and resp[0] else ""
    mt = re.search(r"\[APPENDUID (\d+) (\d+)\]", text)
    if typ == "OK" and mt:
        return True, int(mt.group(1)), int(mt.group(2)), text
    return typ == "OK", None, None, text


def stored_tokens(port, mailbox="INBOX"):
    """{token: [(uid, bytes)]} for every message in `mailbox`, read over
    IMAP (BODY.PEEK[] is every stored byte, trace prefix included)."""
    m = imap_login(port, timeout=30)
    try:
        typ, data = m.select(mailbox, readonly=True)
        assert typ == "OK", data
        typ, data = m.uid("FETCH", "1:*", "(UID RFC822.SIZE BODY.PEEK[])")
        assert typ == "OK", data
        out = {}
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta, body = item
            uid = int(re.search(rb"UID (\d+)", meta).group(1))
            size = int(re.search(rb"RFC822.SIZE (\d+)", meta).group(1))
            assert size == len(body), "uid %d: RFC822.SIZE %d, %d bytes" % (uid, size, len(body))
            tm = TOKEN_RE.search(body)
            assert tm, "uid %d carries no token: %r" % (uid, body[:300])
            out.setdefault(tm.group(1).decode(), []).append((uid, body))
        return out
    finally:
        m.logout()


def complete(token, body, size):
    """Is `body` (a stored message, trace prefix included) the whole
    message that was sent for `token` with padding `size`?"""
    return body.endswith(make_message(token, size))
