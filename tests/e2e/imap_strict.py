"""A strict IMAP client checker: it reads both directions of an IMAP
connection and reports every server response that breaks a rule a strict
client relies on (RFC 3501, RFC 9051, RFC 7162).

`Checker` holds what is shared by every session of one server (which
session claimed \\Recent for which message) and the violations found.
`Session` follows one connection: it learns tags, the selected mailbox and
ENABLEd extensions from the client's commands, and checks each response.
`Proxy` is a transparent TCP proxy (one thread pair per connection) that
feeds a Session with everything it forwards, so imaplib, raw sockets,
mbsync and curl are all checked unchanged. conftest.py puts one in front
of every test server's IMAP port.

Bytes are checked before they are forwarded to the client, so anything a
test has read has been checked. After STARTTLS the proxy can only pass
bytes through (counted in `Checker.opaque`); after COMPRESS=DEFLATE it
inflates a copy of both streams and keeps checking.
"""
import os
import re
import socket
import threading
import zlib

# Rules that fire only because of a known server bug still being fixed:
# their violations are logged to PENDING_LOG, not failed. Empty: every
# rule fails the test that breaks it. Add a name here only with the bug's
# description, and remove it with the fix.
PENDING_RULES = set()

PENDING_LOG = os.environ.get("ROOST_STRICT_PENDING_LOG") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "imap-strict-pending.log"))

# rule name -> (RFC section, what is required)
RULES = {
    "framing": ("RFC 3501 2.2, 4.3, 9 (RFC 9051 2.2, 4.3, 9)",
                "every response begins with '* ', '+' or a tag; a literal's "
                "octet count is exact, so what follows it parses"),
    "tag-unknown": ("RFC 3501 2.2.2 (RFC 9051 2.2.2)",
                    "a tagged response carries the tag of a command the client "
                    "sent and that is not complete yet"),
    "after-bye": ("RFC 3501 6.1.3, 7.1.5 (RFC 9051 6.1.3, 7.1.5)",
                  "after * BYE the server sends nothing but the tagged OK of LOGOUT"),
    "seq-above-exists": ("RFC 3501 2.3.1.2, 7.4.1, 7.4.2 (RFC 9051 2.3.1.2, 7.5.1, 7.5.2)",
                         "a message sequence number in FETCH or EXPUNGE lies in "
                         "1..the number of messages the client was told of (EXISTS)"),
    "exists-decrease": ("RFC 3501 7.4.1 (RFC 9051 7.5.1)",
                        "only EXPUNGE (or VANISHED) reduces the number of messages; "
                        "an EXISTS never does"),
    "uid-order": ("RFC 3501 2.3.1.1 (RFC 9051 2.3.1.1)",
                  "UIDs strictly ascend with sequence numbers and a message's UID "
                  "never changes"),
    "modseq-decrease": ("RFC 7162 3.1",
                        "a message's MODSEQ never decreases"),
    "keyword-unannounced": ("RFC 3501 7.2.6 (RFC 9051 7.3.5)",
                            "every keyword in FETCH FLAGS was listed in an earlier "
                            "* FLAGS response of the selected mailbox"),
    "recent-once": ("RFC 3501 2.3.2",
                    "\\Recent: only one read-write session is told a message is "
                    "recent (mailbox UIDVALIDITY + UID)"),
    "nul-in-literal": ("RFC 3501 4.3, 9 CHAR8 (RFC 9051 4.3)",
                       "a literal never holds NUL; only literal8 (~{n}) may"),
    "nul-in-line": ("RFC 3501 9 CHAR (RFC 9051 9)",
                    "a response line outside literals never holds NUL"),
    "literal8-unasked": ("RFC 3516 4.2, RFC 9051 4.3",
                         "literal8 is sent only for BINARY[...] data"),
}

SYSTEM_FLAGS = {b"\\seen", b"\\answered", b"\\flagged", b"\\deleted", b"\\draft",
                b"\\recent"}

CONTEXT_LINES = 6
LITERAL_KEEP = 4096          # literal bytes kept for parsing/context
LINE_MAX = 1 << 20           # a "line" longer than this is reported as framing
UID_SCAN = 64                # neighbours looked at for the UID order rule


class Violation:
    def __init__(self, rule, detail, line, context, where):
        self.rule = rule
        self.section, self.requirement = RULES[rule]
        self.detail = detail
        self.line = line
        self.context = list(context)
        self.where = where

    def __str__(self):
        out = ["%s (%s): %s" % (self.rule, self.section, self.requirement),
               "  %s" % self.detail,
               "  connection: %s" % self.where,
               "  offending: %s" % show(self.line),
               "  context (C: client, S: server):"]
        out += ["    " + c for c in self.context]
        return "\n".join(out)


def show(b, limit=300):
    s = repr(bytes(b))[2:-1]
    return s if len(s) <= limit else s[:limit] + "...(%d bytes)" % len(b)


class Checker:
    """State shared by every session of one server, and its findings."""

    def __init__(self, name="imap", log_pending=True):
        self.name = name
        self.log_pending = log_pending
        self.lock = threading.Lock()
        self.recent = {}          # (uidvalidity, uid) -> session id that was told
        self.violations = []      # failing
        self.pending = []         # of PENDING_RULES: logged only
        self.sessions = 0
        self.opaque = 0           # connections that went TLS: unchecked from then
        self.compressed = 0       # connections checked through COMPRESS
        self.active = 0           # proxied connections open now
        self.stopped = False      # its server was stopped (set by conftest.py)

    def wait_idle(self, timeout):
        """Waits until no proxied connection is open (the last bytes of a
        closing one are checked by then)."""
        import time
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if self.active == 0:
                    return True
            time.sleep(0.01)
        return False

    def session(self, where=""):
        with self.lock:
            self.sessions += 1
            n = self.sessions
        return Session(self, n, where)

    def report(self, v):
        with self.lock:
            if v.rule in PENDING_RULES:
                self.pending.append(v)
                if not self.log_pending:
                    return
                try:
                    os.makedirs(os.path.dirname(PENDING_LOG), exist_ok=True)
                    with open(PENDING_LOG, "a") as f:
                        f.write("[%s] %s\n\n" % (os.environ.get("PYTEST_CURRENT_TEST", ""), v))
                except OSError:
                    pass
            else:
                self.violations.append(v)

    def take(self):
        """Violations found since the last call (failing rules only)."""
        with self.lock:
            out, self.violations = self.violations, []
        return out

    def claim_recent(self, key, sid):
        """Returns the other session that was already told `key` is recent."""
        with self.lock:
            other = self.recent.setdefault(key, sid)
        return None if other == sid else other


class Literal:
    __slots__ = ("size", "data", "lit8", "nul")

    def __init__(self, size, data, lit8, nul=False):
        self.size, self.data, self.lit8, self.nul = size, data, lit8, nul


class Framer:
    """Splits one direction of the stream into messages: a line plus the
    literals it announces and the lines that continue it.
    `on_message(parts, literals)` gets the line pieces (without CRLF) and
    the Literal objects between them. `hold(parts)` (client side) may
    return True to stop before reading a literal until `resume()`."""
    LIT = re.compile(rb"(~?)\{(\d+)(\+?)\}$")

    def __init__(self, on_message, hold=None, on_framing=None, lf=False):
        self.lf = lf            # a bare LF ends a line (what servers accept)
        self.buf = bytearray()
        self.parts = []
        self.lits = []
        self.need = None        # Literal being read
        self.held = False
        self.on_message = on_message
        self.hold = hold
        self.on_framing = on_framing
        self.stopped = False    # stream no longer parsed (TLS)
        self.switch = None      # callable(rest) -> takes over the remaining bytes

    def feed(self, data):
        if self.stopped:
            return
        self.buf += data
        self._run()

    def resume(self, take_literal):
        """Continue after hold(): take_literal False drops the command
        (the server refused the synchronizing literal)."""
        if not self.held:
            return
        self.held = False
        if not take_literal:
            self.need = None
            self.parts, self.lits = [], []
        self._run()

    def discard_pending(self):
        self.need = None
        self.parts, self.lits = [], []
        self.held = False

    def _run(self):
        while not self.held and not self.stopped and self.switch is None:
            if self.need is not None:
                lit = self.need
                want = lit.size - lit.got
                take = self.buf[:want]
                del self.buf[:len(take)]
                if len(lit.data) < LITERAL_KEEP:
                    lit.data += take[:LITERAL_KEEP - len(lit.data)]
                if not lit.lit8 and b"\0" in take:
                    lit.nul = True
                lit.got += len(take)
                if lit.got < lit.size:
                    return
                self.need = None
                self.lits.append(Literal(lit.size, bytes(lit.data), lit.lit8, lit.nul))
                continue
            if self.lf:
                i = self.buf.find(b"\n")
                end = i + 1
                if i > 0 and self.buf[i - 1] == 13:
                    i -= 1
            else:
                i = self.buf.find(b"\r\n")
                end = i + 2
            if i < 0:
                if len(self.buf) > LINE_MAX and self.on_framing:
                    self.on_framing(bytes(self.buf[:200]))
                    self.stopped = True
                return
            line = bytes(self.buf[:i])
            del self.buf[:end]
            self.parts.append(line)
            m = self.LIT.search(line)
            if m:
                lit = _Pending(int(m.group(2)), bool(m.group(1)), m.group(3) == b"+")
                self.need = lit
                if not lit.nonsync and self.hold is not None and self.hold(self.parts):
                    self.held = True
                continue
            parts, lits = self.parts, self.lits
            self.parts, self.lits = [], []
            self.on_message(parts, lits)

    def take_rest(self):
        rest = bytes(self.buf)
        self.buf = bytearray()
        return rest


class _Pending:
    def __init__(self, size, lit8, nonsync):
        self.size, self.lit8, self.nonsync = size, lit8, nonsync
        self.got = 0
        self.data = bytearray()
        self.nul = False


# --- tokens ------------------------------------------------------------------

class ParseError(Exception):
    pass


def join_parts(parts, lits):
    """One bytes string with \\x00 where each literal was (lines holding a
    NUL are reported before this)."""
    out = bytearray()
    for i, p in enumerate(parts):
        if i < len(lits):
            m = Framer.LIT.search(p)
            out += p[:m.start()] + b"\0"
        else:
            out += p
    return bytes(out)


def tokenize(text, lits, pos=0):
    """Parses a sequence of IMAP values up to the end (or a ')' at depth
    0, returned with its position). Values: bytes (atom, quoted string),
    Literal, list."""
    items = []
    li = [0]

    def value(pos):
        c = text[pos:pos + 1]
        if c == b"(":
            lst = []
            pos += 1
            while True:
                if pos >= len(text):
                    raise ParseError("unclosed '('")
                if text[pos:pos + 1] == b")":
                    return lst, pos + 1
                if text[pos:pos + 1] == b" " and lst:
                    pos += 1
                v, pos = value(pos)
                lst.append(v)
                # bodies of a multipart and addresses follow each other
                # without SP (RFC 3501 9: body-type-mpart, env-from)
                if pos < len(text) and text[pos:pos + 1] not in (b" ", b")", b"("):
                    raise ParseError("junk after value at %d" % pos)
        if c == b'"':
            out = bytearray()
            pos += 1
            while True:
                if pos >= len(text):
                    raise ParseError("unterminated quoted string")
                ch = text[pos:pos + 1]
                if ch == b"\\":
                    out += text[pos + 1:pos + 2]
                    pos += 2
                    continue
                if ch == b'"':
                    return bytes(out), pos + 1
                out += ch
                pos += 1
        if c == b"\0":
            if li[0] >= len(lits):
                raise ParseError("literal marker without literal")
            lit = lits[li[0]]
            li[0] += 1
            return lit, pos + 1
        if c in (b"", b" ", b")"):
            raise ParseError("empty value at %d" % pos)
        start = pos
        depth = 0
        while pos < len(text):
            ch = text[pos:pos + 1]
            if ch == b"[":
                depth += 1
            elif ch == b"]":
                depth -= 1
            elif depth == 0 and ch in (b" ", b"(", b")"):
                break
            pos += 1
        if depth:
            raise ParseError("unbalanced '['")
        return text[start:pos], pos

    while pos < len(text):
        if text[pos:pos + 1] == b" ":
            pos += 1
            continue
        v, pos = value(pos)
        items.append(v)
    return items


def atom_upper(v):
    return v.upper() if isinstance(v, bytes) else b""


def parse_uidset(s):
    out = []
    for part in s.split(b","):
        if b":" in part:
            a, b = part.split(b":", 1)
            a, b = int(a), int(b)
            if a > b:
                a, b = b, a
            out.extend(range(a, b + 1))
        elif part:
            out.append(int(part))
    return out


# --- one connection ----------------------------------------------------------

class Session:
    def __init__(self, checker, sid, where=""):
        self.checker = checker
        self.sid = sid
        self.where = "%s session %d %s" % (checker.name, sid, where)
        self.lock = threading.RLock()
        self.history = []                  # recent lines for context
        self.tags = {}                     # outstanding tag -> [command names]
        self.logout_tag = None
        self.bye = False
        self.enabled = set()
        self.selecting = None              # (tag, readonly) of a SELECT/EXAMINE in flight
        self.select_reset = False
        self.selected = False
        self.readonly = False
        self.uidvalidity = None
        self.next_uidvalidity = None
        self.exists = 0
        self.uids = []                     # seq-1 -> UID or None
        self.modseq = {}                   # UID -> last MODSEQ
        self.flags = None                  # announced flags (lower case) or None
        self.sasl_lines = 0                # client lines answering a '+'
        self.hold_tag = None               # client command waiting for '+'
        self.hold_kind = None              # "literal", "starttls", "compress"
        self.hold_added = False            # the held command's tag is registered
        self.idle_tag = None
        self.pending_switch = None         # "tls"/"deflate" after the tagged OK
        self.client_inflate = None
        self.server_inflate = None
        self.opaque = False
        self.client = Framer(self._client_message, hold=self._client_hold, lf=True)
        self.server = Framer(self._server_message, on_framing=self._framing_overflow)

    # -- feeding --------------------------------------------------------
    def feed_client(self, data):
        with self.lock:
            if self.opaque:
                return
            if self.client_inflate is not None:
                data = self._inflate(self.client_inflate, data)
                if data is None:
                    return
            self.client.feed(data)

    def feed_server(self, data):
        with self.lock:
            if self.opaque:
                return
            if self.server_inflate is not None:
                data = self._inflate(self.server_inflate, data)
                if data is None:
                    return
            self.server.feed(data)
            self._after_server_switch()

    def _inflate(self, z, data):
        try:
            return z.decompress(data)
        except zlib.error:
            self._go_opaque()
            return None

    def _go_opaque(self):
        if not self.opaque:
            self.opaque = True
            self.client.stopped = self.server.stopped = True
            with self.checker.lock:
                self.checker.opaque += 1

    def _after_server_switch(self):
        if self.server.switch is None:
            return
        kind = self.server.switch
        self.server.switch = None
        rest = self.server.take_rest()
        if kind == "tls":
            self._go_opaque()
            return
        self.server_inflate = zlib.decompressobj(-15)
        with self.checker.lock:
            self.checker.compressed += 1
        if rest:
            data = self._inflate(self.server_inflate, rest)
            if data:
                self.server.feed(data)

    # -- reporting --------------------------------------------------------
    def _note(self, who, parts, lits):
        """Keeps the start of the message for context (a command may have
        100,000 literals: never build all of it)."""
        out, size = [], 0
        for i, p in enumerate(parts):
            out.append(p[:400])
            size += len(p)
            if i < len(lits):
                out.append(b" <literal %d octets>" % lits[i].size)
            if size > 400:
                out.append(b"...(%d lines)" % len(parts))
                break
        text = b"".join(out)
        self.history.append("%s: %s" % (who, show(text, 200)))
        del self.history[:-CONTEXT_LINES]
        return text

    def violate(self, rule, detail, line):
        self.checker.report(Violation(rule, detail, line, self.history, self.where))

    def _framing_overflow(self, head):
        self.violate("framing", "no CRLF within %d octets" % LINE_MAX, head)

    # -- client side ------------------------------------------------------
    def _client_hold(self, parts):
        """A synchronizing literal: wait for '+' or the tagged reply."""
        tag = parts[0].split(b" ", 1)[0]
        self.hold_tag, self.hold_kind = tag, "literal"
        if not self.hold_added:
            self._add_tag(tag, self._command_name(parts[0]))
            self.hold_added = True
        return True

    def _add_tag(self, tag, name):
        # a client may reuse a tag (RFC 3501 2.2.1 only says SHOULD be unique)
        self.tags.setdefault(tag, []).append(name)

    def _pop_tag(self, tag):
        names = self.tags.get(tag)
        if not names:
            return None
        name = names.pop(0)
        if not names:
            del self.tags[tag]
        return name

    @staticmethod
    def _command_name(first):
        words = first.split(b" ")
        name = words[1].upper() if len(words) > 1 else b""
        if name == b"UID" and len(words) > 2:
            name = b"UID " + words[2].upper()
        return name

    def _client_message(self, parts, lits):
        text = self._note("C", parts, lits)
        if self.sasl_lines > 0:
            self.sasl_lines -= 1
            return
        if self.idle_tag is not None and parts[0].strip().upper() == b"DONE":
            return
        tag = parts[0].split(b" ", 1)[0]
        name = self._command_name(parts[0])
        if self.hold_added:
            self.hold_added = False      # registered when its literal began
        else:
            self._add_tag(tag, name)
        if self.hold_tag == tag:
            self.hold_tag = self.hold_kind = None
        if name in (b"SELECT", b"EXAMINE"):
            self.selecting = (tag, name == b"EXAMINE")
            self.select_reset = False
        elif name == b"LOGOUT":
            self.logout_tag = tag
        elif name == b"IDLE":
            self.idle_tag = tag
        elif name in (b"STARTTLS", b"COMPRESS"):
            # the client sends nothing more until the tagged reply; then
            # either the stream changes or it goes on as before
            self.hold_tag = tag
            self.hold_kind = "starttls" if name == b"STARTTLS" else "compress"
            self.client.held = True
        del text

    # -- server side ------------------------------------------------------
    def _server_message(self, parts, lits):
        line = self._note("S", parts, lits)
        first = parts[0]
        for p in parts:
            if b"\0" in p:
                self.violate("nul-in-line", "NUL outside a literal", line)
                break
        for lit in lits:
            if lit.nul:
                self.violate("nul-in-literal", "NUL in a {%d} literal" % lit.size, line)
        if self.bye:
            tag = first.split(b" ", 1)[0]
            ok = len(first.split(b" ")) > 1 and first.split(b" ")[1].upper() == b"OK"
            if not (tag == self.logout_tag and b"LOGOUT" in self.tags.get(tag, ()) and ok):
                self.violate("after-bye", "sent after * BYE", line)
        if first[:1] == b"+" and (len(first) == 1 or first[1:2] == b" "):
            self._continuation()
            return
        if first.startswith(b"* "):
            try:
                self._untagged(parts, lits, line)
            except (ParseError, ValueError, IndexError) as e:
                self.violate("framing", "untagged response does not parse: %s" % e, line)
            return
        words = first.split(b" ", 2)
        if len(words) < 2 or words[1].upper() not in (b"OK", b"NO", b"BAD"):
            self.violate("framing", "not '* ', '+' or 'tag OK/NO/BAD'", line)
            return
        self._tagged(words[0], words[1].upper(), first, line)

    def _continuation(self):
        if self.hold_tag is not None and self.hold_kind == "literal":
            self.hold_tag = self.hold_kind = None
            self.client.resume(True)
            return
        if self.idle_tag is not None:
            return
        if any(b"AUTHENTICATE" in n for n in self.tags.values()):
            self.sasl_lines += 1
            self.client.resume(True)

    def _tagged(self, tag, status, first, line):
        name = self._pop_tag(tag)
        if name is None:
            self.violate("tag-unknown", "no outstanding command has tag %s" % show(tag), line)
            return
        code = b""
        m = re.match(rb"\S+ \S+ \[([^\]]*)\]", first)
        if m:
            code = m.group(1).upper()
        if tag == self.idle_tag:
            self.idle_tag = None
        if self.hold_tag == tag:
            kind = self.hold_kind
            self.hold_tag = self.hold_kind = None
            if kind == "literal":
                self.hold_added = False
                self.client.resume(False)
            elif status == b"OK" and kind == "starttls":
                self.server.switch = "tls"
                self._go_opaque()
            elif status == b"OK" and kind == "compress":
                self.server.switch = "deflate"
                self.client_inflate = zlib.decompressobj(-15)
                rest = self.client.take_rest()
                self.client.held = False
                if rest:
                    data = self._inflate(self.client_inflate, rest)
                    if data:
                        self.client.feed(data)
            else:
                self.client.resume(True)
        if self.selecting is not None and tag == self.selecting[0]:
            readonly = self.selecting[1]
            self.selecting = None
            reset, self.select_reset = self.select_reset, False
            if status == b"OK":
                if not reset:
                    self._reset_selected()
                self.selected = True
                self.readonly = readonly or code.startswith(b"READ-ONLY")
                self.uidvalidity = self.next_uidvalidity
            elif status == b"NO" or reset:
                # RFC 3501 6.3.1: a failed SELECT leaves none selected; a
                # BAD one was not run (2.2.2), so nothing changed
                self._reset_selected()
                self.selected = False
        elif name in (b"CLOSE", b"UNSELECT") and status == b"OK":
            self._reset_selected()
            self.selected = False

    def _reset_selected(self):
        if self.selecting is not None and self.select_reset:
            return
        self.exists = 0
        self.uids = []
        self.modseq = {}
        self.flags = None
        self.uidvalidity = None
        if self.selecting is not None:
            self.select_reset = True

    def _start_select_data(self):
        """The first response that belongs to the mailbox being selected."""
        if self.selecting is not None and not self.select_reset:
            self._reset_selected()

    def _untagged(self, parts, lits, line):
        first = parts[0]
        words = first.split(b" ", 3)
        kw = words[1].upper() if len(words) > 1 else b""
        if kw == b"BYE":
            self.bye = True
            return
        if kw == b"OK" or kw == b"NO" or kw == b"BAD":
            if self.hold_kind == "literal" and (
                    kw == b"BAD" or re.match(rb"\* NO \[(TOOBIG|LIMIT)\]", first)):
                # the server refused a command line it could not read
                # (too long): the client does not send the literal
                self._pop_tag(self.hold_tag)
                self.hold_added = False
                self.hold_tag = self.hold_kind = None
                self.client.resume(False)
            m = re.match(rb"\* \S+ \[([A-Za-z-]+)(?: ([^\]]*))?\]", first)
            if m:
                code = m.group(1).upper()
                if code == b"UIDVALIDITY" and m.group(2):
                    self._start_select_data()
                    self.next_uidvalidity = int(m.group(2))
                    if self.selecting is None:
                        self.uidvalidity = self.next_uidvalidity
                elif code == b"CLOSED":
                    self._start_select_data()
            return
        if kw == b"FLAGS":
            self._start_select_data()
            toks = tokenize(join_parts(parts, lits), lits)
            if len(toks) < 3 or not isinstance(toks[2], list):
                raise ParseError("FLAGS without a list")
            self.flags = {f.lower() for f in toks[2] if isinstance(f, bytes)}
            return
        if kw == b"ENABLED":
            self.enabled |= {w.upper() for w in first.split(b" ")[2:]}
            return
        if kw == b"VANISHED":
            self._vanished(first, line)
            return
        if not kw.isdigit():
            return
        n = int(kw)
        what = words[2].upper() if len(words) > 2 else b""
        if what == b"EXISTS":
            self._start_select_data()
            if self.selecting is not None:
                # the size of the mailbox being selected
                self.uids = [None] * n
            elif n < self.exists:
                self.violate("exists-decrease", "EXISTS %d after %d" % (n, self.exists), line)
                self.uids = self.uids[:n]
            elif n > self.exists:
                self.uids.extend([None] * (n - self.exists))
            self.exists = n
        elif what == b"EXPUNGE":
            if n < 1 or n > self.exists:
                self.violate("seq-above-exists",
                             "EXPUNGE %d with %d messages known" % (n, self.exists), line)
                return
            uid = self.uids.pop(n - 1)
            if uid is not None:
                self.modseq.pop(uid, None)
            self.exists -= 1
        elif what == b"FETCH":
            self._fetch(n, parts, lits, line)

    def _vanished(self, first, line):
        rest = first.split(b" ", 2)[2] if first.count(b" ") >= 2 else b""
        if rest.upper().startswith(b"(EARLIER)"):
            return
        uids = parse_uidset(rest.strip())
        known = set(uids)
        before = len(self.uids)
        kept = [u for u in self.uids if u not in known]
        removed = before - len(kept)
        unknown = len(uids) - removed
        self.exists -= len(uids)
        if self.exists < 0:
            self.violate("seq-above-exists",
                         "VANISHED of %d UIDs with %d messages known" % (len(uids), before), line)
            self.exists = 0
        for u in uids:
            self.modseq.pop(u, None)
        if unknown:
            # which sequence numbers went is unknown: forget the UIDs
            self.uids = [None] * self.exists
        else:
            self.uids = kept

    def _fetch(self, n, parts, lits, line):
        toks = tokenize(join_parts(parts, lits), lits)
        if len(toks) != 4 or not isinstance(toks[3], list) or len(toks[3]) % 2:
            raise ParseError("FETCH data is not one list of name/value pairs")
        if n < 1 or n > self.exists:
            self.violate("seq-above-exists", "FETCH %d with %d messages known"
                         % (n, self.exists), line)
            return
        items = toks[3]
        data = {}
        for i in range(0, len(items), 2):
            name = atom_upper(items[i])
            val = items[i + 1]
            data[name] = val
            if isinstance(val, Literal) and val.lit8 and not name.startswith(b"BINARY"):
                self.violate("literal8-unasked", "literal8 for %s" % show(name), line)
        uid = self.uids[n - 1]
        if b"UID" in data:
            new = int(data[b"UID"])
            if uid is not None and uid != new:
                self.violate("uid-order", "message %d had UID %d, now %d" % (n, uid, new), line)
            else:
                self._check_uid_order(n, new, line)
            uid = new
            self.uids[n - 1] = new
        if b"MODSEQ" in data and uid is not None:
            ms = data[b"MODSEQ"]
            if isinstance(ms, list) and ms:
                v = int(ms[0])
                old = self.modseq.get(uid)
                if old is not None and v < old:
                    self.violate("modseq-decrease", "UID %d: MODSEQ %d after %d"
                                 % (uid, v, old), line)
                self.modseq[uid] = max(v, old or 0)
        if b"FLAGS" in data:
            flags = data[b"FLAGS"]
            if not isinstance(flags, list):
                raise ParseError("FLAGS is not a list")
            for f in flags:
                if not isinstance(f, bytes):
                    raise ParseError("flag is not an atom")
                low = f.lower()
                if low in SYSTEM_FLAGS:
                    continue
                if self.flags is None or low not in self.flags:
                    self.violate("keyword-unannounced",
                                 "%s not in the last * FLAGS %s" % (
                                     show(f), sorted(self.flags or [])), line)
            if b"\\recent" in (f.lower() for f in flags):
                self._recent(uid, line)

    def _check_uid_order(self, n, uid, line):
        i = n - 2
        stop = max(-1, i - UID_SCAN)
        while i > stop:
            u = self.uids[i]
            if u is not None:
                if u >= uid:
                    self.violate("uid-order", "UID %d at %d, but UID %d at %d"
                                 % (uid, n, u, i + 1), line)
                break
            i -= 1
        i = n
        stop = min(len(self.uids), i + UID_SCAN)
        while i < stop:
            u = self.uids[i]
            if u is not None:
                if u <= uid:
                    self.violate("uid-order", "UID %d at %d, but UID %d at %d"
                                 % (uid, n, u, i + 1), line)
                break
            i += 1

    def _recent(self, uid, line):
        # IMAP4rev2 removed \Recent; a read-only session may see it without
        # taking it (RFC 3501 6.3.2)
        if b"IMAP4REV2" in self.enabled or self.readonly or uid is None:
            return
        if self.uidvalidity is None:
            return
        other = self.checker.claim_recent((self.uidvalidity, uid), self.sid)
        if other is not None:
            self.violate("recent-once", "UIDVALIDITY %d UID %d: \\Recent here and in "
                         "session %d" % (self.uidvalidity, uid, other), line)


# --- the proxy ---------------------------------------------------------------

class Proxy:
    """Listens on a free loopback port and forwards every connection to
    `target_port`, from the client's own source address (so per-address
    limits and throttles see the real client), feeding both directions
    into a Session of `checker`. Bytes go on only after they are checked."""

    def __init__(self, checker, target_port, host="127.0.0.1", port=None):
        self.checker = checker
        self.target = (host, target_port)
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.lsock.bind((host, port or 0))
        except OSError:
            if not port:
                raise
            self.lsock.bind((host, 0))
        self.lsock.listen(512)
        self.port = self.lsock.getsockname()[1]
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.closed:
            try:
                c, addr = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(c, addr), daemon=True).start()

    def _connect(self, c, addr):
        try:
            u = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            u.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if addr[0] != self.target[0]:
                u.bind((addr[0], 0))
            u.connect(self.target)
        except OSError:
            c.close()
            return
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sess = self.checker.session("from %s:%d" % addr)
        with self.checker.lock:
            self.checker.active += 1
        try:
            # the server closing ends the client's side too (IMAP has no
            # half-close); the client closing lets the server finish
            t = threading.Thread(target=self._pump, args=(u, c, sess.feed_server, True),
                                 daemon=True)
            t.start()
            self._pump(c, u, sess.feed_client, False)
            t.join()
        finally:
            with self.checker.lock:
                self.checker.active -= 1
            c.close()
            u.close()

    @staticmethod
    def _pump(src, dst, feed, close_both):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            try:
                feed(data)
            except Exception as e:      # a checker bug must not hang the test
                feed_error(e)
            try:
                dst.sendall(data)
            except OSError:
                break
        for s, how in ((dst, socket.SHUT_RDWR if close_both else socket.SHUT_WR),
                       (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass

    def close(self):
        """Stops accepting; open connections end when either side closes."""
        self.closed = True
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.lsock.close()
        except OSError:
            pass


CHECKER_ERRORS = []


def feed_error(e):
    import traceback
    CHECKER_ERRORS.append("".join(traceback.format_exception(type(e), e, e.__traceback__)))
