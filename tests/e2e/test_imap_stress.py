"""Many IMAP sessions per account at once, each doing SELECT, EXAMINE,
FETCH, STORE, EXPUNGE, APPEND, COPY, MOVE, IDLE, NOOP and STATUS at
random while mail arrives over LMTP; every response passes through the
strict client checker (imap_strict.py, wired in conftest.py), which must
find no violation, and no command may fail other than as the RFCs allow
for a race (a message expunged by another session).

The run is seeded: the seed is printed and ROOST_STRESS_SEED repeats a
run's choices (the interleaving of threads still varies).
ROOST_STRESS_SECONDS sets the length: about 30 s here, 10 minutes from
bench/imap-stress.sh.
"""
import os
import random
import re
import smtplib
import socket
import threading
import time
import zlib

import imap_strict

SECONDS = float(os.environ.get("ROOST_STRESS_SECONDS", "30"))
ACCOUNTS = ("alice@example.com", "bob@example.com")
SESSIONS_PER_ACCOUNT = 4
MAILBOXES = ("INBOX", "Work", "Stress")
KEYWORDS = ("$Label1", "$Label2", "Junk", "todo")
MAILBOX_CAP = 60                  # above this, sessions expunge more


class StressError(Exception):
    pass


class Client:
    """One IMAP connection with its own framing (literals, IDLE, COMPRESS)
    and the little state a client needs to pick valid message numbers."""

    def __init__(self, port, user, mode, rng, log):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.n = 0
        self.rng = rng
        self.mode = mode
        self.log = log
        self.inflate = self.deflate = None
        self.exists = 0
        self.selected = None
        self.readonly = False
        greeting = self.line()
        if not greeting.startswith(b"* OK"):
            raise StressError("greeting %r" % greeting)
        self.ok("LOGIN %s secret" % user)
        if mode == "qresync":
            self.ok("ENABLE QRESYNC")
        elif mode == "rev2":
            self.ok("ENABLE IMAP4rev2")
        elif mode == "condstore":
            self.ok("ENABLE CONDSTORE")
        elif mode == "compress":
            self.ok("COMPRESS DEFLATE")
            self.inflate = zlib.decompressobj(-15)
            self.deflate = zlib.compressobj(wbits=-15)

    # -- bytes -----------------------------------------------------------
    def send(self, data):
        if self.deflate is not None:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.s.sendall(data)

    def _fill(self):
        data = self.s.recv(65536)
        if not data:
            raise StressError("connection closed; last read %r" % self.buf[-200:])
        if self.inflate is not None:
            data = self.inflate.decompress(data)
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        out, self.buf = self.buf[:i], self.buf[i + 2:]
        return out

    def take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self):
        """One response with its literals inlined."""
        text = self.line()
        while True:
            m = re.search(rb"~?\{(\d+)\}$", text)
            if not m:
                return text
            text += b"\r\n" + self.take(int(m.group(1))) + self.line()

    # -- commands --------------------------------------------------------
    def track(self, r):
        m = re.match(rb"\* (\d+) (EXISTS|EXPUNGE)\b", r)
        if m:
            if m.group(2) == b"EXISTS":
                self.exists = int(m.group(1))
            else:
                self.exists -= 1
            return
        m = re.match(rb"\* VANISHED (\S+)$", r)
        if m and m.group(1) != b"(EARLIER)":
            self.exists -= len(imap_strict.parse_uidset(m.group(1)))

    def cmd(self, text, literal=None):
        """Sends a command; returns (status, code, lines)."""
        self.n += 1
        tag = b"s%d" % self.n
        line = tag + b" " + text.encode()
        self.log.append(line)
        if literal is not None:
            self.send(line + b" {%d}\r\n" % len(literal))
            while True:
                r = self.response()
                if r.startswith(b"+"):
                    break
                if r.startswith(tag + b" "):
                    return self._done(tag, r, [])
                self.track(r)
            self.send(literal + b"\r\n")
        else:
            self.send(line + b"\r\n")
        out = []
        while True:
            r = self.response()
            if r.startswith(tag + b" "):
                return self._done(tag, r, out)
            self.track(r)
            out.append(r)

    def _done(self, tag, r, out):
        words = r.split(b" ", 2)
        status = words[1]
        m = re.match(rb"\S+ \S+ \[([A-Z-]+)", r)
        code = m.group(1) if m else b""
        if status == b"BAD":
            raise StressError("BAD reply: %r" % r)
        return status, code, out

    def ok(self, text, literal=None, allow=()):
        status, code, out = self.cmd(text, literal)
        if status != b"OK" and code not in allow:
            raise StressError("%s -> %s [%s] %r" % (text, status, code, out[-3:]))
        return status, out

    def idle(self, seconds):
        self.n += 1
        tag = b"s%d" % self.n
        self.log.append(tag + b" IDLE")
        self.send(tag + b" IDLE\r\n")
        while True:
            r = self.response()
            if r.startswith(b"+"):
                break
            if r.startswith(tag + b" "):
                raise StressError("IDLE refused: %r" % r)
            self.track(r)
        time.sleep(seconds)
        self.send(b"DONE\r\n")
        while True:
            r = self.response()
            if r.startswith(tag + b" "):
                if not r.startswith(tag + b" OK"):
                    raise StressError("IDLE ended with %r" % r)
                return
            self.track(r)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def message(rng, n):
    words = ["w%d" % rng.randrange(100) for _ in range(rng.randrange(5, 80))]
    body = "\r\n".join(" ".join(words[i:i + 8]) for i in range(0, len(words), 8))
    return ("From: stress%d@example.net\r\nTo: someone@example.com\r\n"
            "Subject: stress %d\r\nMessage-ID: <stress%d.%d@example.net>\r\n\r\n%s\r\n"
            % (n, n, n, rng.randrange(1 << 30), body)).encode()


# A message may be expunged by another session between our look at EXISTS
# and the command (RFC 2180 4.1): Roost then answers NO [EXPUNGEISSUED] or
# simply OK for what is left.
RACE = (b"EXPUNGEISSUED",)


def session_loop(port, user, mode, rng, deadline, stats, counter):
    log = []
    c = Client(port, user, mode, rng, log)
    try:
        while time.time() < deadline:
            op = rng.choices(
                ("select", "examine", "fetch", "store", "expunge", "append", "copy",
                 "move", "idle", "noop", "status", "relogin"),
                (6, 2, 10, 10, 3, 4, 3, 3, 2, 3, 3, 1))[0]
            stats[op] = stats.get(op, 0) + 1
            if op in ("fetch", "store", "expunge", "copy", "move") and c.selected is None:
                op = "select"
            if op == "select" or op == "examine":
                box = rng.choice(MAILBOXES)
                arg = ""
                if mode == "qresync" and rng.random() < 0.5:
                    status, out = c.ok("STATUS %s (UIDVALIDITY HIGHESTMODSEQ)" % box)
                    m = re.search(rb"UIDVALIDITY (\d+) HIGHESTMODSEQ (\d+)", b" ".join(out))
                    if m:
                        arg = " (QRESYNC (%s %d))" % (m.group(1).decode(),
                                                      max(1, int(m.group(2)) - rng.randrange(5)))
                c.exists = 0
                c.ok("%s %s%s" % (op.upper(), box, arg))
                c.selected, c.readonly = box, op == "examine"
            elif op == "fetch":
                if c.exists == 0:
                    c.ok("NOOP")
                    continue
                a = rng.randrange(1, c.exists + 1)
                b = rng.randrange(a, min(c.exists, a + 10) + 1)
                items = rng.choice(["(UID FLAGS)", "(FLAGS)", "(UID FLAGS MODSEQ)"
                                    if mode in ("qresync", "condstore") else "(UID RFC822.SIZE)",
                                    "(UID ENVELOPE)", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
                                    "(UID BODY.PEEK[])", "(UID BODYSTRUCTURE INTERNALDATE)"])
                if rng.random() < 0.3:
                    c.ok("UID FETCH 1:* %s" % items, allow=RACE)
                else:
                    c.ok("FETCH %d:%d %s" % (a, b, items), allow=RACE)
            elif op == "store":
                if c.exists == 0 or c.readonly:
                    c.ok("NOOP")
                    continue
                n = rng.randrange(1, c.exists + 1)
                flags = rng.sample(["\\Seen", "\\Flagged", "\\Answered", "\\Deleted"]
                                   + list(KEYWORDS), rng.randrange(1, 3))
                silent = ".SILENT" if rng.random() < 0.2 else ""
                c.ok("STORE %d %sFLAGS%s (%s)" % (n, rng.choice("+-"), silent, " ".join(flags)),
                     allow=RACE)
            elif op == "expunge":
                if c.readonly:
                    c.ok("NOOP")
                    continue
                if c.exists > 0 and (c.exists > MAILBOX_CAP or rng.random() < 0.5):
                    top = min(c.exists, max(3, c.exists - MAILBOX_CAP // 2))
                    c.ok("STORE 1:%d +FLAGS.SILENT (\\Deleted)" % top, allow=RACE)
                c.ok("EXPUNGE")
            elif op == "append":
                counter[0] += 1
                box = rng.choice(MAILBOXES)
                flags = rng.choice(["", "(\\Seen) ", "(%s) " % rng.choice(KEYWORDS)])
                c.ok(("APPEND %s %s" % (box, flags)).rstrip(), literal=message(rng, counter[0]))
            elif op in ("copy", "move"):
                if c.exists == 0 or (op == "move" and c.readonly):
                    c.ok("NOOP")
                    continue
                n = rng.randrange(1, c.exists + 1)
                dest = rng.choice([b for b in MAILBOXES if b != c.selected])
                c.ok("%s %d:%d %s" % (op.upper(), n, min(c.exists, n + 2), dest), allow=RACE)
            elif op == "idle":
                c.idle(rng.uniform(0.05, 0.6))
            elif op == "noop":
                c.ok("NOOP")
            elif op == "status":
                items = "MESSAGES UIDNEXT UNSEEN" + ("" if mode == "rev2" else " RECENT")
                c.ok("STATUS %s (%s)" % (rng.choice(MAILBOXES), items))
            elif op == "relogin":
                c.ok("LOGOUT")
                c.close()
                c = Client(port, user, mode, rng, log)
    except Exception as e:
        raise StressError("%s (%s, %s); last commands: %r" % (e, user, mode, log[-8:]))
    finally:
        c.close()


def deliver_loop(port, rng, deadline, counter, errors):
    lmtp = smtplib.LMTP("127.0.0.1", port)
    try:
        while time.time() < deadline:
            counter[0] += 1
            # one recipient per transaction: smtplib reads one reply after
            # DATA, LMTP gives one per recipient (RFC 2033 4.2)
            rcpts = [rng.choice(ACCOUNTS)]
            refused = lmtp.sendmail("sender@example.net", rcpts, message(rng, counter[0]))
            if refused:
                errors.append("LMTP refused %r" % refused)
                return
            time.sleep(rng.uniform(0.02, 0.25))
        lmtp.quit()
    except Exception as e:
        errors.append("delivery: %r" % e)


def run_stress(roost, seconds, seed):
    for a in ACCOUNTS[1:]:
        roost.add_user(a)
    setup = [Client(roost.port("imap"), a, "rev1", random.Random(0), []) for a in ACCOUNTS]
    for c in setup:
        for box in MAILBOXES[1:]:
            c.ok("CREATE %s" % box)
        c.ok("LOGOUT")
        c.close()
    deadline = time.time() + seconds
    errors, threads, stats, counter = [], [], {}, [0]
    modes = ("rev1", "qresync", "rev2", "condstore", "compress", "rev1")

    def guarded(fn, *args):
        try:
            fn(*args)
        except Exception as e:
            errors.append(str(e))

    for i, acct in enumerate(a for a in ACCOUNTS for _ in range(SESSIONS_PER_ACCOUNT)):
        mode = modes[i % len(modes)]
        t = threading.Thread(target=guarded, args=(
            session_loop, roost.port("imap"), acct, mode, random.Random(seed * 1000 + i),
            deadline, stats, counter))
        threads.append(t)
    threads.append(threading.Thread(target=deliver_loop, args=(
        roost.port("lmtp"), random.Random(seed * 1000 + 999), deadline, counter, errors)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
        assert not t.is_alive(), "a stress thread hangs (seed %d)" % seed
    return errors, stats


def test_imap_stress(roost):
    seed = int(os.environ.get("ROOST_STRESS_SEED") or random.randrange(1 << 31))
    print("imap stress: seed %d, %.0f s (ROOST_STRESS_SEED=%d repeats the choices)"
          % (seed, SECONDS, seed))
    assert roost.strict is not None, "the strict checker is not in front of the server"
    errors, stats = run_stress(roost, SECONDS, seed)
    assert not errors, "seed %d: %s" % (seed, "\n".join(errors[:5]))
    ops = sum(stats.values())
    print("imap stress: %d commands %s; %d sessions checked, %d through COMPRESS, "
          "%d pending-rule findings (see %s)"
          % (ops, sorted(stats.items()), roost.strict.sessions, roost.strict.compressed,
             len(roost.strict.pending), imap_strict.PENDING_LOG))
    assert ops > 2 * SECONDS, "too few commands ran: %r" % stats
    assert roost.strict.compressed >= 1
    # violations of failing rules fail this test through conftest.py; the
    # server logged no error either
    with open(roost.logfile, "rb") as f:
        bad = [l for l in f.read().decode(errors="replace").splitlines()
               if "level=error" in l]
    assert not bad, "seed %d: server log: %s" % (seed, "\n".join(bad[:10]))
