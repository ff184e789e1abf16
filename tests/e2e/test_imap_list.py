"""LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE selection
(RFC 6154), LSUB and \\NonExistent parents."""
import re
import socket
import time

import pytest


class Raw:
    def __init__(self, roost):
        self.s = socket.create_connection(("127.0.0.1", roost.port("imap")), timeout=10)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.n = 0
        assert self.ok(b"LOGIN alice@example.com secret")

    def cmd(self, text):
        self.n += 1
        tag = b"L%d" % self.n
        self.s.sendall(tag + b" " + text + b"\r\n")
        out = []
        while True:
            line = self.f.readline()
            assert line, out
            out.append(line.rstrip(b"\r\n"))
            if line.startswith(tag + b" "):
                return out

    def ok(self, text):
        r = self.cmd(text)
        return r[-1].split(b" ")[1] == b"OK"

    def listing(self, text, verb=b"LIST"):
        """{name: (attrs set, extended data)} of the untagged replies."""
        r = self.cmd(text)
        assert r[-1].split(b" ")[1] == b"OK", r
        out = {}
        for line in r[:-1]:
            m = re.match(rb'\* ' + verb + rb' \(([^)]*)\) "/" ("[^"]*"|\S+)(.*)$', line)
            if m:
                out[m.group(2).strip(b'"').decode()] = (
                    set(m.group(1).decode().split()), m.group(3).strip().decode())
        return out, r


@pytest.fixture
def c(roost):
    c = Raw(roost)
    yield c
    c.s.close()


def test_children_attributes_always(c):
    assert c.ok(b"CREATE Par/Kid")
    got, _ = c.listing(b'LIST "" "*"')
    assert "\\HasChildren" in got["Par"][0]
    assert "\\HasNoChildren" in got["Par/Kid"][0]
    assert "\\HasNoChildren" in got["INBOX"][0]
    got, _ = c.listing(b'LIST "" "*" RETURN (CHILDREN)')
    assert "\\HasChildren" in got["Par"][0]


def test_nonexistent_parent(c):
    assert c.ok(b"CREATE A/B/C")
    assert c.ok(b"DELETE A/B") and c.ok(b"DELETE A")
    # "*" lists only what exists
    got, _ = c.listing(b'LIST "" "*"')
    assert "A/B/C" in got and "A" not in got and "A/B" not in got
    # "%" stops at A: returned as a non-selectable level
    got, _ = c.listing(b'LIST "" "%"')
    assert got["A"][0] == {"\\Noselect", "\\HasChildren"}
    got, _ = c.listing(b'LIST () "" "A/%"')
    assert got["A/B"][0] == {"\\NonExistent", "\\HasChildren"}
    # rev2 always says \NonExistent
    assert c.ok(b"ENABLE IMAP4rev2")
    got, _ = c.listing(b'LIST "" "%"')
    assert "\\NonExistent" in got["A"][0]
    # no STATUS for a mailbox that does not exist
    _, raw = c.listing(b'LIST "" "%" RETURN (STATUS (MESSAGES))')
    assert not any(l.startswith(b'* STATUS "A"') or l.startswith(b"* STATUS A ") for l in raw)
    assert any(l.startswith(b'* STATUS "INBOX"') for l in raw)


def test_subscribed_selection_and_recursivematch(c):
    assert c.ok(b"CREATE X/Y")
    assert c.ok(b"SUBSCRIBE X/Y")  # CREATE does not subscribe
    got, _ = c.listing(b'LIST (SUBSCRIBED) "" "*"')
    assert "X/Y" in got and "\\Subscribed" in got["X/Y"][0]
    assert "X" not in got
    assert all("\\Subscribed" in a for a, _ in got.values())
    got, _ = c.listing(b'LIST (SUBSCRIBED) "" "%"')
    assert "X" not in got
    got, _ = c.listing(b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    assert "X" in got and "\\Subscribed" not in got["X"][0]
    assert got["X"][1] == '("CHILDINFO" ("SUBSCRIBED"))'
    assert "X/Y" not in got
    # RETURN (SUBSCRIBED) on a plain LIST marks without selecting
    got, _ = c.listing(b'LIST "" "*" RETURN (SUBSCRIBED)')
    assert "X" in got and "\\Subscribed" not in got["X"][0]
    assert "\\Subscribed" in got["X/Y"][0]
    # RECURSIVEMATCH alone, unknown options: BAD
    assert c.cmd(b'LIST (RECURSIVEMATCH) "" "*"')[-1].split(b" ")[1] == b"BAD"
    assert c.cmd(b'LIST (BOGUS) "" "*"')[-1].split(b" ")[1] == b"BAD"
    assert c.cmd(b'LIST "" "*" RETURN (BOGUS)')[-1].split(b" ")[1] == b"BAD"
    # REMOTE is accepted (there are no remote mailboxes)
    got, _ = c.listing(b'LIST (REMOTE) "" "INBOX"')
    assert list(got) == ["INBOX"]


def test_lsub_unsubscribed_parent_is_noselect(c):
    assert c.ok(b"CREATE Work/Done")
    assert c.ok(b"SUBSCRIBE Work/Done")  # CREATE does not subscribe
    got, _ = c.listing(b'LSUB "" "%"', verb=b"LSUB")
    assert "\\Noselect" in got["Work"][0]
    assert "\\Noselect" not in got["INBOX"][0]
    got, _ = c.listing(b'LSUB "" "*"', verb=b"LSUB")
    assert "Work" not in got and "Work/Done" in got
    assert c.ok(b"UNSUBSCRIBE Work/Done")
    got, _ = c.listing(b'LSUB "" "%"', verb=b"LSUB")
    assert "Work" not in got


def test_special_use_selection_and_return(c):
    got, _ = c.listing(b'LIST (SPECIAL-USE) "" "*"')
    assert set(got) == {"Drafts", "Sent", "Trash", "Junk", "Archive"}
    assert "\\Sent" in got["Sent"][0]
    got, _ = c.listing(b'LIST "" "*" RETURN (SPECIAL-USE)')
    assert "INBOX" in got and "\\Trash" in got["Trash"][0]


def test_list_status_and_multiple_patterns(roost, c):
    roost.deliver(b"Subject: s\r\n\r\nx\r\n", "alice@example.com")
    got, raw = c.listing(b'LIST "" ("INBOX" "Sent") RETURN (STATUS (MESSAGES UNSEEN))')
    assert set(got) == {"INBOX", "Sent"}
    st = [l for l in raw if l.startswith(b"* STATUS")]
    assert b'* STATUS "INBOX" (MESSAGES 1 UNSEEN 1)' in st
    assert b'* STATUS "Sent" (MESSAGES 0 UNSEEN 0)' in st
    # each STATUS follows its LIST line
    i = raw.index(b'* STATUS "INBOX" (MESSAGES 1 UNSEEN 1)')
    assert raw[i - 1].startswith(b"* LIST") and raw[i - 1].endswith(b'"INBOX"')
    assert c.cmd(b'LIST "" "*" RETURN (STATUS (BOGUS))')[-1].split(b" ")[1] == b"BAD"


def test_matcher_wildcards_and_hostile_patterns(c):
    name = b"a" * 200
    assert c.ok(b"CREATE " + name)
    assert c.ok(b"CREATE m/n/o")
    got, _ = c.listing(b'LIST "" "m/%/o"')
    assert list(got) == ["m/n/o"]
    got, _ = c.listing(b'LIST "" "m%"')
    assert list(got) == ["m"]
    got, _ = c.listing(b'LIST "" "%/n"')
    assert list(got) == ["m/n"]
    got, _ = c.listing(b'LIST "" "*o"')
    assert "m/n/o" in got
    # many wildcards over a long name: linear time, right answers
    hostile = b"*a" * 400 + b"%"
    start = time.time()
    for _ in range(5):
        got, _ = c.listing(b'LIST "" "' + hostile[:-1] + b'b"')
        assert got == {}
    got, _ = c.listing(b'LIST "" "' + b"%a" * 150 + b'*"')
    assert name.decode() in got
    assert time.time() - start < 3
    r = c.cmd(b'LIST "" "' + b"*" * 2000 + b'"')
    assert r[-1].split(b" ")[1] == b"BAD"
