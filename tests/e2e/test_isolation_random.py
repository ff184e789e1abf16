"""Randomized account isolation: no session ever sees a byte of another
account's mail.

Several accounts; for each fixed seed a fresh daemon and a few hundred
random actions: mailboxes created, renamed (children move along) and
deleted, APPENDs and SMTP deliveries, accounts deleted and added again
(a new account under the same address is another owner), while other IMAP
sessions stay selected (some in IDLE) and POP3 sessions stay open and
read. Every message body names its owner ("OWNER=<local>/<generation>")
and every mailbox name carries it too ("M_<local>g<generation>_<n>"), so
each byte any session receives (FETCH bodies, RETR, LIST names, STATUS)
is checked to carry only its own owner's marker. A session may end only
for a reason the test caused (its selected mailbox deleted or renamed
away, its account deleted). At the end `roost check` is clean.
"""
import random
import re
import select
import smtplib
import socket
import time

SEEDS = (11, 2026, 90210)
ACTIONS_PER_SEED = 160
ACCOUNTS = ("ann", "ben", "cat", "dan")
DOMAIN = "example.com"
DEFAULT_MAILBOXES = {b"INBOX", b"Drafts", b"Sent", b"Trash", b"Junk", b"Archive"}

OWNER_RE = re.compile(rb"OWNER=([a-z]+)/(\d+)")
NAME_RE = re.compile(rb"M_([a-z]+)g(\d+)_")


class Leak(AssertionError):
    pass


class Conn:
    """A line client that keeps every byte it received, for the audit."""

    def __init__(self, port, owner):
        self.owner = owner          # (local, generation)
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.seen = b""
        self.closed = False
        self.may_close = False      # set when the test did something that ends it

    def audit(self, data):
        for m in OWNER_RE.finditer(data):
            if (m.group(1).decode(), int(m.group(2))) != self.owner:
                raise Leak("session of %s/%d received %r" % (self.owner + (m.group(0),)))
        for m in NAME_RE.finditer(data):
            if (m.group(1).decode(), int(m.group(2))) != self.owner:
                raise Leak("session of %s/%d received mailbox name %r"
                           % (self.owner + (m.group(0),)))

    def _recv(self, timeout):
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r:
            return False
        try:
            data = self.s.recv(65536)
        except (ConnectionResetError, OSError):
            data = b""
        if not data:
            self.closed = True
            return False
        self.audit(self.buf[-64:] + data)
        self.buf += data
        self.seen += data
        return True

    def drain(self):
        """Take whatever arrived (IDLE pushes, a BYE) without waiting."""
        while not self.closed and self._recv(0):
            pass

    def send(self, data):
        if self.closed:
            return False
        try:
            self.s.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False

    def read_until(self, pattern, timeout=10):
        """Bytes up to and including the first match of `pattern` (a
        compiled regex); None when the server closed first."""
        deadline = time.time() + timeout
        while True:
            m = pattern.search(self.buf)
            if m:
                out, self.buf = self.buf[:m.end()], self.buf[m.end():]
                return out
            if self.closed:
                return None
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("no reply from the server for %r: %r"
                                     % (pattern.pattern, self.buf[-300:]))
            self._recv(left)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass
        self.closed = True


class Imap(Conn):
    def __init__(self, r, owner, password="secret"):
        super().__init__(r.port("imap"), owner)
        self.n = 0
        self.selected = None
        self.idling = False
        self.read_until(re.compile(rb"\r\n"))
        out = self.cmd(b"LOGIN %s@%s %s" % (owner[0].encode(), DOMAIN.encode(),
                                            password.encode()))
        assert out is not None and self.status(out) == b"OK", out

    def cmd(self, line):
        """Send a command; its whole reply (literals included), or None
        when the server closed the connection."""
        self.n += 1
        tag = b"q%d" % self.n
        if not self.send(tag + b" " + line + b"\r\n"):
            return None
        return self.read_until(re.compile(rb"(?:^|\r\n)" + tag + rb" [^\r\n]*\r\n"))

    @staticmethod
    def status(out):
        last = out.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
        return last.split(b" ")[1]

    def idle(self):
        self.n += 1
        self.idle_tag = b"q%d" % self.n
        if self.send(self.idle_tag + b" IDLE\r\n"):
            if self.read_until(re.compile(rb"\+ [^\r\n]*\r\n")) is not None:
                self.idling = True


class Pop3(Conn):
    def __init__(self, r, owner, password="secret"):
        super().__init__(r.port("pop3"), owner)
        self.line()
        assert self.cmd(b"USER %s@%s" % (owner[0].encode(), DOMAIN.encode())).startswith(b"+OK")
        reply = self.cmd(b"PASS " + password.encode())
        assert reply is not None and reply.startswith(b"+OK"), reply

    def line(self):
        return self.read_until(re.compile(rb"\r\n"))

    def cmd(self, line):
        if not self.send(line + b"\r\n"):
            return None
        return self.line()

    def multi(self, line):
        first = self.cmd(line)
        if first is None or not first.startswith(b"+OK"):
            return first
        body = self.read_until(re.compile(rb"(?:^|\r\n)\.\r\n"))
        return None if body is None else first + body


class World:
    def __init__(self, r, rng):
        self.r = r
        self.rng = rng
        self.gen = {a: 0 for a in ACCOUNTS}
        self.nextbox = 0
        self.nextmsg = 0
        self.sessions = []          # every session ever opened (for the audit)
        self.actor = {}
        self.observers = {}         # account -> [Imap] (selected, one of them in IDLE)
        self.pop = {}
        self.last_created = None    # (account, name): the newest mailbox id
        self.add_order = []         # the last one holds the newest account id
        for a in ACCOUNTS:
            r.add_user("%s@%s" % (a, DOMAIN))
            self.add_order.append(a)
            self.open_all(a)

    def owner(self, a):
        return (a, self.gen[a])

    def track(self, c):
        self.sessions.append(c)
        return c

    def open_all(self, a):
        self.actor[a] = self.track(Imap(self.r, self.owner(a)))
        idle = self.track(Imap(self.r, self.owner(a)))
        assert idle.status(idle.cmd(b"SELECT INBOX")) == b"OK"
        idle.selected = b"INBOX"
        idle.idle()
        self.observers[a] = [idle]
        self.add_observer(a)
        self.pop[a] = self.track(Pop3(self.r, self.owner(a)))

    def mailboxes(self, a):
        out = self.actor[a].cmd(b'LIST "" *')
        assert out is not None, "the actor session of %s was closed" % a
        names = re.findall(rb'\* LIST \([^)]*\) "/" ("?)([^"\r\n]+)\1\r\n', out)
        return [n for _, n in names]

    def own_boxes(self, a):
        return [n for n in self.mailboxes(a) if n not in DEFAULT_MAILBOXES]

    def add_observer(self, a):
        boxes = self.mailboxes(a)
        o = self.track(Imap(self.r, self.owner(a)))
        name = self.rng.choice(boxes)
        out = o.cmd(b"SELECT " + name)
        if out is not None and o.status(out) == b"OK":
            o.selected = name
        self.observers[a].append(o)

    def body(self, a):
        self.nextmsg += 1
        return (b"From: x@example.org\r\nSubject: m%d\r\n\r\nOWNER=%s/%d message %d\r\n"
                % (self.nextmsg, a.encode(), self.gen[a], self.nextmsg))

    # --- actions ----------------------------------------------------

    def act_create(self, a):
        self.nextbox += 1
        name = b"M_%sg%d_%d" % (a.encode(), self.gen[a], self.nextbox)
        boxes = self.own_boxes(a)
        if boxes and self.rng.random() < 0.3:
            name = self.rng.choice(boxes) + b"/" + name
        out = self.actor[a].cmd(b"CREATE " + name)
        if out is not None and Imap.status(out) == b"OK":
            self.last_created = (a, name)

    def act_rename(self, a):
        boxes = self.own_boxes(a)
        if not boxes:
            return
        old = self.rng.choice(boxes)
        self.nextbox += 1
        new = b"M_%sg%d_%d" % (a.encode(), self.gen[a], self.nextbox)
        out = self.actor[a].cmd(b"RENAME " + old + b" " + new)
        if out is not None and Imap.status(out) == b"OK":
            for o in self.observers[a]:
                if o.selected == old or (o.selected or b"").startswith(old + b"/"):
                    o.may_close = True

    def act_delete(self, a):
        boxes = self.own_boxes(a)
        if not boxes:
            return
        name = self.rng.choice(boxes)
        out = self.actor[a].cmd(b"DELETE " + name)
        if out is not None and Imap.status(out) == b"OK":
            for o in self.observers[a]:
                if o.selected == name:
                    o.may_close = True

    def act_append(self, a):
        box = self.rng.choice(self.mailboxes(a))
        msg = self.body(a)
        self.actor[a].cmd(b"APPEND " + box + b" {%d+}\r\n" % len(msg) + msg)

    def act_smtp(self, a):
        with smtplib.SMTP("127.0.0.1", self.r.port("smtp"), timeout=10) as s:
            s.sendmail("x@example.org", ["%s@%s" % (a, DOMAIN)], self.body(a))

    def act_observe(self, a):
        o = self.rng.choice(self.observers[a])
        if o.idling or o.closed:
            o.drain()
            return
        what = self.rng.random()
        if what < 0.4:
            o.cmd(b"FETCH 1:* (UID FLAGS BODY.PEEK[TEXT])" if o.selected else b"NOOP")
        elif what < 0.6:
            o.cmd(b'LIST "" *')
        elif what < 0.8:
            boxes = self.mailboxes(a)
            o.cmd(b"STATUS " + self.rng.choice(boxes) + b" (MESSAGES UIDNEXT UNSEEN)")
        else:
            o.cmd(b"NOOP")

    def act_pop(self, a):
        p = self.pop[a]
        if p.closed:
            return
        what = self.rng.random()
        if what < 0.5:
            listing = p.multi(b"LIST")
            if listing is None or not listing.startswith(b"+OK"):
                return
            nums = re.findall(rb"\r\n(\d+) \d+", listing)
            if nums:
                p.multi(b"RETR " + self.rng.choice(nums))
        elif what < 0.6:
            p.cmd(b"DELE 1")
        elif what < 0.7:
            # commit and log in again: a new snapshot of the maildrop
            p.cmd(b"QUIT")
            p.close()
            p.may_close = True
            self.pop[a] = self.track(Pop3(self.r, self.owner(a)))
        else:
            p.cmd(b"NOOP")

    def poke(self, c):
        """Everything a stale session might still reach."""
        if isinstance(c, Imap):
            if c.idling:
                c.drain()
                return
            for line in (b"NOOP", b"FETCH 1:* (UID BODY.PEEK[TEXT])", b'LIST "" *',
                         b"SELECT INBOX", b"FETCH 1:* (UID BODY.PEEK[TEXT])"):
                if c.cmd(line) is None:
                    return
        else:
            for line in (b"LIST", b"RETR 1", b"UIDL"):
                if c.multi(line) is None:
                    return

    def act_reuse_mailbox(self, a):
        """The newest mailbox id is the one a store without AUTOINCREMENT
        hands out again: delete it under a session that has it selected,
        then let another account create a mailbox and fill it."""
        if self.last_created is None:
            return
        a, name = self.last_created
        self.last_created = None
        if name not in self.mailboxes(a):
            return
        o = self.track(Imap(self.r, self.owner(a)))
        out = o.cmd(b"SELECT " + name)
        if out is None or Imap.status(out) != b"OK":
            return
        o.selected = name
        self.observers[a].append(o)
        out = self.actor[a].cmd(b"DELETE " + name)
        if out is None or Imap.status(out) != b"OK":
            return
        for x in self.observers[a]:
            if x.selected == name:
                x.may_close = True
        b = self.rng.choice([x for x in ACCOUNTS if x != a])
        self.nextbox += 1
        other = b"M_%sg%d_%d" % (b.encode(), self.gen[b], self.nextbox)
        self.actor[b].cmd(b"CREATE " + other)
        msg = self.body(b)
        self.actor[b].cmd(b"APPEND " + other + b" {%d+}\r\n" % len(msg) + msg)
        self.poke(o)

    def act_readd(self, a):
        # the newest account most often: its id is the one reused
        if self.rng.random() < 0.7:
            a = self.add_order[-1]
        old = [c for c in self.sessions if c.owner == self.owner(a) and not c.closed]
        for c in old:
            c.may_close = True
        self.r.cli("user", "del", "%s@%s" % (a, DOMAIN))
        self.gen[a] += 1
        self.r.add_user("%s@%s" % (a, DOMAIN))
        self.add_order.remove(a)
        self.add_order.append(a)
        # a new owner under the same address, with mail and sessions of its own
        self.r.deliver(self.body(a), "%s@%s" % (a, DOMAIN))
        self.open_all(a)
        for c in old:
            self.poke(c)

    def act_metadata(self, a):
        # METADATA (RFC 5464): entries of the server and of own mailboxes,
        # each value naming its owner; observers read them back
        box = self.rng.choice(self.mailboxes(a) + [b'""'])
        value = b"OWNER=%s/%d meta" % (a.encode(), self.gen[a])
        self.actor[a].cmd(b"SETMETADATA " + box + b" (/private/x \"" + value +
                          b"\" /shared/y \"" + value + b"\")")
        o = self.rng.choice(self.observers[a])
        if not o.idling and not o.closed:
            o.cmd(b"GETMETADATA (DEPTH infinity) " +
                  self.rng.choice(self.mailboxes(a) + [b'""']) + b" (/private /shared)")

    def act_catenate(self, a):
        # CATENATE (RFC 4469) with a URL to an own message, by name and UID
        box = self.rng.choice(self.mailboxes(a))
        text = b"OWNER=%s/%d catenated\r\n" % (a.encode(), self.gen[a])
        self.actor[a].cmd(b"APPEND INBOX CATENATE (TEXT {%d+}\r\n" % len(text) + text +
                          b" URL \"/" + box + b"/;UID=%d\")" % self.rng.randint(1, 3))

    def act_new_observer(self, a):
        live = [o for o in self.observers[a] if not o.closed]
        if len(live) < 4:
            self.add_observer(a)

    def step(self):
        a = self.rng.choice(ACCOUNTS)
        acts = [(self.act_create, 12), (self.act_rename, 6), (self.act_delete, 6),
                (self.act_append, 14), (self.act_smtp, 8), (self.act_observe, 30),
                (self.act_pop, 12), (self.act_new_observer, 6), (self.act_reuse_mailbox, 4),
                (self.act_readd, 3), (self.act_metadata, 5), (self.act_catenate, 4)]
        fns, weights = zip(*acts)
        self.rng.choices(fns, weights)[0](a)
        for c in self.sessions:
            c.drain()

    def finish(self):
        time.sleep(0.3)
        for c in self.sessions:
            c.drain()
        unexpected = [c for c in self.sessions if c.closed and not c.may_close]
        assert not unexpected, "sessions ended for no reason the test gave: %r" % [
            (c.owner, c.seen[-200:]) for c in unexpected]
        # sessions of a deleted owner are gone, not merely idle
        for c in self.sessions:
            if c.owner != self.owner(c.owner[0]) and not c.closed:
                c.send(b"z NOOP\r\n")
                deadline = time.time() + 5
                while not c.closed and time.time() < deadline:
                    c._recv(deadline - time.time())
                assert c.closed, "a session of deleted %s/%d is still open" % c.owner
        for c in self.sessions:
            c.close()


def run_seed(roost_factory, seed):
    r = roost_factory(pop3__concurrent_sessions="yes")
    rng = random.Random(seed)
    w = World(r, rng)
    t0 = time.time()
    for _ in range(ACTIONS_PER_SEED):
        w.step()
        if time.time() - t0 > 25:   # keep the whole file near a minute
            break
    w.finish()
    p = r.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr


def test_isolation_random_seed_0(roost_factory):
    run_seed(roost_factory, SEEDS[0])


def test_isolation_random_seed_1(roost_factory):
    run_seed(roost_factory, SEEDS[1])


def test_isolation_random_seed_2(roost_factory):
    run_seed(roost_factory, SEEDS[2])
