"""Response codes (RFC 9051 7.1, RFC 5530, RFC 4315, RFC 9208, RFC 3516,
RFC 7889): a table of situations, each with the command that must carry the
code and where the RFC puts it (tagged reply, untagged OK, greeting)."""
import re
import socket

import pytest

MSG = b"From: bob@example.org\r\nSubject: codes\r\n\r\nbody\r\n"


class Raw:
    def __init__(self, port, login=True):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.s.makefile("rb")
        self.greeting = self.f.readline()
        self.n = 0
        if login:
            self.cmd(b"LOGIN alice@example.com secret")

    def cmd(self, text):
        self.n += 1
        tag = b"C%d" % self.n
        self.s.sendall(tag + b" " + text + b"\r\n")
        out = []
        while True:
            line = self.f.readline()
            assert line, out
            if line.startswith(b"+ "):      # synchronizing literal accepted
                out.append(line)
                continue
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                line += self.f.read(int(m.group(1))) + self.f.readline()
            out.append(line)
            if line.startswith(tag + b" "):
                return out


def append_cmd(c, mailbox, msg=MSG, flags=b""):
    return c.cmd(b"APPEND " + mailbox + b" " + flags + b"{%d+}\r\n" % len(msg) + msg)


def kw(n):
    return b"(" + b" ".join(b"kw%d" % i for i in range(n)) + b")"


# name: (setup(roost, c), command, expected status, code regex, where)
# where: "tagged" = in the tagged reply; "untagged" = in an untagged line
CASES = {
    "CAPABILITY after LOGIN": (
        None, b"NOOP", "OK", None, None),  # checked by test_capability_codes
    "NONEXISTENT on SELECT": (
        None, b"SELECT NoSuchBox", "NO", rb"\[NONEXISTENT\]", "tagged"),
    "NONEXISTENT on STATUS": (
        None, b"STATUS NoSuchBox (MESSAGES)", "NO", rb"\[NONEXISTENT\]", "tagged"),
    "ALREADYEXISTS on CREATE": (
        None, b"CREATE Sent", "NO", rb"\[ALREADYEXISTS\]", "tagged"),
    "ALREADYEXISTS on RENAME": (
        None, b"RENAME Drafts Sent", "NO", rb"\[ALREADYEXISTS\]", "tagged"),
    "CANNOT on DELETE INBOX": (
        None, b"DELETE INBOX", "NO", rb"\[CANNOT\]", "tagged"),
    "CANNOT on a dot-dot name": (
        None, b'CREATE "../etc"', "NO", rb"\[CANNOT\]", "tagged"),
    "CANNOT on a control character": (
        None, b'CREATE {3+}\r\na\tb', "NO", rb"\[CANNOT\]", "tagged"),
    "TRYCREATE on APPEND": (
        None, lambda c: append_cmd(c, b"NoSuchBox"), "NO", rb"\[TRYCREATE\]", "tagged"),
    "TRYCREATE on COPY": (
        "select", b"COPY 1 NoSuchBox", "NO", rb"\[TRYCREATE\]", "tagged"),
    "TRYCREATE on MOVE": (
        "select", b"MOVE 1 NoSuchBox", "NO", rb"\[TRYCREATE\]", "tagged"),
    "APPENDUID on APPEND": (
        None, lambda c: append_cmd(c, b"INBOX"), "OK", rb"\[APPENDUID \d+ \d+\]", "tagged"),
    "COPYUID on COPY": (
        "select", b"COPY 1 Trash", "OK", rb"\[COPYUID \d+ \d+ \d+\]", "tagged"),
    "COPYUID on MOVE (untagged OK)": (
        "select", b"MOVE 1 Trash", "OK", rb"^\* OK \[COPYUID \d+ \d+ \d+\]", "untagged"),
    "UIDVALIDITY on SELECT": (
        None, b"SELECT INBOX", "OK", rb"^\* OK \[UIDVALIDITY \d+\]", "untagged"),
    "UIDNEXT on SELECT": (
        None, b"SELECT INBOX", "OK", rb"^\* OK \[UIDNEXT \d+\]", "untagged"),
    "UNSEEN on SELECT (rev1)": (
        None, b"SELECT INBOX", "OK", rb"^\* OK \[UNSEEN 1\]", "untagged"),
    "PERMANENTFLAGS with \\* on SELECT": (
        None, b"SELECT INBOX", "OK", rb"^\* OK \[PERMANENTFLAGS \([^)]*\\Seen[^)]*\\\*\)\]",
        "untagged"),
    "PERMANENTFLAGS empty on EXAMINE": (
        None, b"EXAMINE INBOX", "OK", rb"^\* OK \[PERMANENTFLAGS \(\)\]", "untagged"),
    "READ-WRITE on SELECT": (
        None, b"SELECT INBOX", "OK", rb"\[READ-WRITE\]", "tagged"),
    "READ-ONLY on EXAMINE": (
        None, b"EXAMINE INBOX", "OK", rb"\[READ-ONLY\]", "tagged"),
    "READ-ONLY on STORE in EXAMINE": (
        "examine", b"STORE 1 +FLAGS (\\Seen)", "NO", rb"\[READ-ONLY\]", "tagged"),
    "CLOSED on a second SELECT (rev2)": (
        "rev2select", b"SELECT Sent", "OK", rb"^\* OK \[CLOSED\]", "untagged"),
    "LIMIT on too many keywords (STORE)": (
        "select", b"STORE 1 +FLAGS " + kw(65), "NO", rb"\[LIMIT\]", "tagged"),
    "LIMIT on too many keywords (APPEND)": (
        None, lambda c: append_cmd(c, b"INBOX", flags=kw(65) + b" "), "NO", rb"\[LIMIT\]",
        "tagged"),
    "UNKNOWN-CTE on BINARY": (
        "select_cte", b"FETCH 2 BINARY.PEEK[1]", "NO", rb"\[UNKNOWN-CTE\]", "tagged"),
    "BADCHARSET on SEARCH": (
        "select", b"SEARCH CHARSET KOI8-R ALL", "NO", rb"\[BADCHARSET", "tagged"),
}


def setup_state(roost, c, how):
    if how == "select":
        c.cmd(b"SELECT INBOX")
    elif how == "examine":
        c.cmd(b"EXAMINE INBOX")
    elif how == "rev2select":
        c.cmd(b"ENABLE IMAP4rev2")
        c.cmd(b"SELECT INBOX")
    elif how == "select_cte":
        roost.deliver(b"Subject: u\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n",
                      "alice@example.com")
        c.cmd(b"SELECT INBOX")


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One daemon for the whole table (each case gets a fresh session)."""
    from conftest import Roost
    r = Roost(tmp_path_factory.mktemp("codes") / "var")
    r.init()
    r.start()
    yield r
    assert r.stop() in (0, None)
    assert "AddressSanitizer" not in r.read_log()


@pytest.mark.parametrize("name", sorted(CASES))
def test_code_table(shared, name):
    setup, command, status, code, where = CASES[name]
    # every case starts from one message, unseen, in INBOX
    c0 = Raw(shared.port("imap"))
    c0.cmd(b"SELECT INBOX")
    c0.cmd(b"STORE 1:* +FLAGS.SILENT (\\Deleted)")
    c0.cmd(b"EXPUNGE")
    c0.cmd(b"DELETE Trash")
    c0.cmd(b"CREATE Trash")
    c0.s.close()
    shared.deliver(MSG, "alice@example.com")
    c = Raw(shared.port("imap"))
    setup_state(shared, c, setup)
    out = command(c) if callable(command) else c.cmd(command)
    tagged = out[-1]
    assert tagged.split(b" ")[1].decode() == status, (name, out)
    if code is None:
        return
    if where == "tagged":
        assert re.search(code, tagged), (name, out)
    else:
        assert any(re.search(code, l) for l in out[:-1]), (name, out)
    c.s.close()


def test_capability_codes(roost):
    c = Raw(roost.port("imap"), login=False)
    assert c.greeting.startswith(b"* OK [CAPABILITY IMAP4rev2 IMAP4rev1")
    out = c.cmd(b"LOGIN alice@example.com secret")
    assert re.match(rb"C1 OK \[CAPABILITY IMAP4rev2 [^\]]*\bMOVE\b", out[-1]), out
    assert b"BINARY" in out[-1] and b"SEARCHRES" in out[-1]


def test_authenticationfailed(roost):
    c = Raw(roost.port("imap"), login=False)
    out = c.cmd(b"LOGIN alice@example.com nope")
    assert out[-1].startswith(b"C1 NO [AUTHENTICATIONFAILED]")
    out = c.cmd(b"AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUuY29tAG5vcGU=")
    assert out[-1].startswith(b"C2 NO [AUTHENTICATIONFAILED]")


def test_toobig_on_append(roost_factory):
    r = roost_factory(message__max_size="2000")
    c = Raw(r.port("imap"))
    assert b"APPENDLIMIT=2000" in b"".join(c.cmd(b"CAPABILITY"))
    c.n += 1
    c.s.sendall(b"C%d APPEND INBOX {3000}\r\n" % c.n)
    line = c.f.readline()
    assert line.startswith(b"C%d NO [TOOBIG]" % c.n), line
    # and the session goes on
    assert c.cmd(b"NOOP")[-1].split(b" ")[1] == b"OK"


def test_overquota_and_alert(roost):
    roost.deliver(MSG * 20, "alice@example.com")
    roost.cli("user", "quota", "alice@example.com", "100")
    c = Raw(roost.port("imap"))
    out = c.cmd(b"SELECT INBOX")
    assert any(l.startswith(b"* OK [ALERT]") for l in out), out
    out = append_cmd(c, b"INBOX")
    assert out[-1].split(b" ")[1] == b"NO" and b"[OVERQUOTA]" in out[-1], out
    out = c.cmd(b"COPY 1 Trash")
    assert b"[OVERQUOTA]" in out[-1], out
    # back under quota: no ALERT
    roost.cli("user", "quota", "alice@example.com", "unlimited")
    out = c.cmd(b"SELECT INBOX")
    assert not any(b"[ALERT]" in l for l in out)
    assert append_cmd(c, b"INBOX")[-1].split(b" ")[1] == b"OK"


def test_nonexistent_after_delete_of_selected(roost):
    # deleting its own selected mailbox unselects it; the name is then
    # NONEXISTENT (another session that had it selected gets BYE:
    # test_isolation_sessions.py)
    c = Raw(roost.port("imap"))
    c.cmd(b"CREATE Gone")
    c.cmd(b"SELECT Gone")
    assert c.cmd(b"DELETE Gone")[-1].split(b" ")[1] == b"OK"
    out = c.cmd(b"STATUS Gone (MESSAGES)")
    assert b"[NONEXISTENT]" in out[-1]
    out = c.cmd(b"SELECT Gone")
    assert b"[NONEXISTENT]" in out[-1]
