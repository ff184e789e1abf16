"""IMAP protocol rules clients rely on (issue "IMAP to the letter"): atoms
that begin with '~' (RFC 3516/9051 grammar) and the MODSEQ of an ESEARCH
MIN/MAX answer (RFC 7162 3.1.5), and nothing but the tagged OK after
LOGOUT's BYE (RFC 9051 6.1.3)."""
import base64
import imaplib
import poplib
import re

import pytest

from imap_raw import Raw

MSG = (b"From: Bob <bob@example.org>\r\nTo: alice@example.com\r\n"
       b"Subject: rules %d\r\n\r\nbody\r\n")


def append(r, n):
    data = MSG % n
    r.s.sendall(b"ap%d APPEND INBOX {%d+}\r\n" % (n, len(data)) + data + b"\r\n")
    out = r.read_tagged(b"ap%d" % n)
    assert out[-1].split()[1] == b"OK", out


def test_atom_may_begin_with_tilde(roost):
    r = Raw(roost)
    try:
        assert r.ok(b'CREATE "~foo"')
        out = r.cmd(b'LIST "" ~foo')
        assert out[-1].split()[1] == b"OK", out
        assert any(l.startswith(b"* LIST") and
                   l.rstrip().split(b" ")[-1].strip(b'"') == b"~foo"
                   for l in out), out
        out = r.cmd(b"SELECT ~foo")
        assert out[-1].split()[1] == b"OK", out
        assert any(b"EXISTS" in l for l in out), out
        out = r.cmd(b"STATUS ~foo (MESSAGES)")
        assert out[-1].split()[1] == b"OK", out
        assert any(b"* STATUS" in l and b"MESSAGES 0" in l for l in out), out
    finally:
        r.close()


def modseqs(r):
    out = r.cmd(b"FETCH 1:3 (MODSEQ)")
    got = {}
    for l in out:
        m = re.match(rb"\* (\d+) FETCH \(.*MODSEQ \((\d+)\)", l)
        if m:
            got[int(m.group(1))] = int(m.group(2))
    assert len(got) == 3, out
    return got


def esearch_modseq(r, ret):
    out = r.cmd(b"SEARCH RETURN (" + ret + b") MODSEQ 1")
    assert out[-1].split()[1] == b"OK", out
    line = [l for l in out if l.startswith(b"* ESEARCH")]
    assert len(line) == 1, out
    m = re.search(rb" MODSEQ (\d+)", line[0])
    assert m, line
    return int(m.group(1)), line[0]


def test_esearch_min_max_modseq_is_that_of_returned_messages(roost):
    r = Raw(roost)
    try:
        for n in (1, 2, 3):
            append(r, n)
        assert r.ok(b"SELECT INBOX (CONDSTORE)")
        # message 2 changes last, so it holds the highest MODSEQ; 3 is next
        assert r.ok(b"STORE 3 +FLAGS.SILENT (\\Flagged)")
        assert r.ok(b"STORE 2 +FLAGS.SILENT (\\Seen)")
        ms = modseqs(r)
        assert ms[1] < ms[3] < ms[2], ms
        got, line = esearch_modseq(r, b"MIN")
        assert b" MIN 1" in line and got == ms[1], (line, ms)
        got, line = esearch_modseq(r, b"MAX")
        assert b" MAX 3" in line and got == ms[3], (line, ms)
        got, line = esearch_modseq(r, b"MIN MAX")
        assert got == ms[3], (line, ms)
        # with ALL or COUNT the answer covers the whole result
        got, line = esearch_modseq(r, b"ALL")
        assert got == ms[2], (line, ms)
        got, line = esearch_modseq(r, b"MIN COUNT")
        assert got == ms[2], (line, ms)
        out = r.cmd(b"UID SEARCH RETURN (MAX) MODSEQ 1")
        line = [l for l in out if l.startswith(b"* ESEARCH")][0]
        assert int(re.search(rb" MODSEQ (\d+)", line).group(1)) == ms[3], (line, ms)
    finally:
        r.close()


@pytest.mark.parametrize("rev2", [False, True])
def test_nothing_but_tagged_ok_follows_logout_bye(roost, rev2):
    a = Raw(roost)
    b = Raw(roost)
    try:
        append(b, 1)
        append(b, 2)
        if rev2:
            assert a.ok(b"ENABLE IMAP4rev2")
        assert a.ok(b"SELECT INBOX")
        # b changes the mailbox a has selected: new messages, a flag and
        # an expunge, none of which a has been told of yet
        append(b, 3)
        append(b, 4)
        assert b.ok(b"SELECT INBOX")
        assert b.ok(b"STORE 1 +FLAGS (\\Flagged)")
        assert b.ok(b"STORE 2 +FLAGS (\\Deleted)")
        assert b.ok(b"EXPUNGE")
        a.s.sendall(b"lo LOGOUT\r\n")
        lines = []
        while True:
            l = a.f.readline()
            if not l:
                break
            lines.append(l)
        bye = [i for i, l in enumerate(lines) if l.startswith(b"* BYE")]
        assert len(bye) == 1, lines
        assert lines[bye[0] + 1:] == [lines[-1]] and lines[-1].startswith(b"lo OK"), lines
    finally:
        a.close()
        b.close()


def imap_login(roost, user, password):
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    try:
        m.login(user, password)
        return True
    except imaplib.IMAP4.error:
        return False
    finally:
        try:
            m.logout()
        except Exception:
            pass


def imap_auth_plain(roost, user, password):
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    try:
        m.authenticate("PLAIN", lambda _: b"\0" + user.encode() + b"\0" + password.encode())
        return True
    except imaplib.IMAP4.error:
        return False
    finally:
        try:
            m.logout()
        except Exception:
            pass


def pop3_login(roost, user, password):
    p = poplib.POP3("127.0.0.1", roost.port("pop3"), timeout=10)
    try:
        p.user(user)
        p.pass_(password)
        return True
    except poplib.error_proto:
        return False
    finally:
        try:
            p.quit()
        except Exception:
            pass


def pop3_auth_plain(roost, user, password):
    p = poplib.POP3("127.0.0.1", roost.port("pop3"), timeout=10)
    try:
        resp = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
        p._putcmd("AUTH PLAIN " + resp.decode())
        return p._getline()[0].startswith(b"+OK")
    finally:
        p.close()


def test_bare_login_name_uses_the_only_domain(roost):
    # one hosted domain: "alice" is alice@example.com
    assert imap_login(roost, "alice", "secret")
    assert imap_auth_plain(roost, "alice", "secret")
    assert pop3_login(roost, "alice", "secret")
    assert pop3_auth_plain(roost, "alice", "secret")
    assert not imap_login(roost, "alice", "wrong")
    assert not imap_login(roost, "nobody", "secret")
    # a second domain and no default: a bare name logs in nowhere
    roost.cli("domain", "add", "example.net")
    roost.add_user("alice@example.net", "other")
    assert not imap_login(roost, "alice", "secret")
    assert not imap_login(roost, "alice", "other")
    assert not pop3_login(roost, "alice", "secret")
    assert not pop3_auth_plain(roost, "alice", "secret")
    assert not imap_auth_plain(roost, "alice", "secret")
    assert imap_login(roost, "alice@example.com", "secret")


def test_bare_login_name_uses_auth_default_domain(roost_factory):
    r = roost_factory(auth__default_domain="example.net")
    r.cli("domain", "add", "example.net")
    r.add_user("alice@example.net", "other")
    # "alice" is alice@example.net (password "other"), not alice@example.com
    assert imap_login(r, "alice", "other")
    assert imap_auth_plain(r, "alice", "other")
    assert pop3_login(r, "alice", "other")
    assert pop3_auth_plain(r, "alice", "other")
    assert not imap_login(r, "alice", "secret")
    assert not pop3_login(r, "alice", "secret")
    assert imap_login(r, "alice@example.com", "secret")


def flags_lists(out):
    """The keyword sets of '* FLAGS' lines and the index of each."""
    got = []
    for i, l in enumerate(out):
        if l.startswith(b"* FLAGS ("):
            got.append((i, set(l[9:l.rindex(b")")].split())))
    return got


def first_fetch_with(out, kw):
    for i, l in enumerate(out):
        if re.match(rb"\* \d+ FETCH ", l) and kw in l.split(b"FLAGS (")[-1]:
            return i
    return None


def assert_announced_before_use(out, kw):
    i = first_fetch_with(out, kw)
    assert i is not None, out
    fl = [j for j, kws in flags_lists(out) if kw in kws]
    assert fl and fl[0] < i, out
    # PERMANENTFLAGS follows the new FLAGS
    assert any(l.startswith(b"* OK [PERMANENTFLAGS (") and kw in l
               for l in out[fl[0]:i]), out


def test_new_keywords_are_announced_before_the_fetch_that_shows_them(roost):
    a = Raw(roost)
    b = Raw(roost)
    try:
        append(b, 1)
        append(b, 2)
        out = a.cmd(b"SELECT INBOX")
        assert flags_lists(out) and b"Alpha" not in flags_lists(out)[0][1], out
        # another session's STORE
        assert b.ok(b"SELECT INBOX")
        assert b.ok(b"STORE 1 +FLAGS (Alpha)")
        out = a.cmd(b"NOOP")
        assert_announced_before_use(out, b"Alpha")
        # this session's own STORE
        out = a.cmd(b"STORE 2 +FLAGS (Beta)")
        assert_announced_before_use(out, b"Beta")
        assert b"Alpha" in flags_lists(out)[0][1], out  # the whole list again
        # told once: the next FETCH needs no new FLAGS
        out = a.cmd(b"FETCH 1:2 (FLAGS)")
        assert flags_lists(out) == [], out
        # .SILENT: no FETCH, but the keyword is announced before a later one
        out = a.cmd(b"STORE 1 +FLAGS.SILENT (Gamma)")
        out += a.cmd(b"FETCH 1 (FLAGS)")
        assert_announced_before_use(out, b"Gamma")
        # a delivery that brings a keyword (APPEND with flags)
        data = MSG % 3
        b.s.sendall(b"ap3 APPEND INBOX (Delta) {%d+}\r\n" % len(data) + data + b"\r\n")
        assert b.read_tagged(b"ap3")[-1].split()[1] == b"OK"
        out = a.cmd(b"NOOP") + a.cmd(b"FETCH 3 (FLAGS)")
        assert_announced_before_use(out, b"Delta")
        # a session that selects later gets every keyword in FLAGS
        out = b.cmd(b"SELECT INBOX")
        assert {b"Alpha", b"Beta", b"Gamma", b"Delta"} <= flags_lists(out)[0][1], out
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("events", [b"MessageNew", b"MessageExpunge", b"FlagChange",
                                    b"FlagChange MessageNew"])
def test_notify_accepts_any_message_event_alone_outside_selected(roost, events):
    w = Raw(roost)
    o = Raw(roost)
    try:
        assert w.ok(b"CREATE Other")
        append(o, 1)
        data = MSG % 2
        o.s.sendall(b"ap2 APPEND Other {%d+}\r\n" % len(data) + data + b"\r\n")
        assert o.read_tagged(b"ap2")[-1].split()[1] == b"OK"
        assert w.ok(b"SELECT INBOX")
        out = w.cmd(b"NOTIFY SET (personal (" + events + b"))")
        assert out[-1].split()[1] == b"OK", out
        # the change the event names is told as STATUS
        assert o.ok(b"SELECT Other")
        if events == b"MessageExpunge":
            assert o.ok(b"STORE 1 +FLAGS.SILENT (\\Deleted)")
            assert o.ok(b"EXPUNGE")
        elif events.startswith(b"FlagChange"):
            assert o.ok(b"STORE 1 +FLAGS.SILENT (\\Seen)")
        else:
            o.s.sendall(b"ap3 APPEND Other {%d+}\r\n" % len(data) + data + b"\r\n")
            assert o.read_tagged(b"ap3")[-1].split()[1] == b"OK"
        got = w.wait_for(b"* STATUS ")
        assert any(re.match(rb'\* STATUS "?Other"? \(', l) for l in got), got
        # for the selected mailbox the RFC 5465 5.1-5.3 pairing still holds
        out = w.cmd(b"NOTIFY SET (selected (" + events + b"))")
        assert out[-1].split()[1] == b"BAD", out
    finally:
        w.close()
        o.close()


def literals(r, tag_line_prefix):
    """Every (marker, bytes) literal in the FETCH responses of a raw read."""
    got = []
    for m in re.finditer(rb"(BODY\[[^\]]*\](?:<\d+>)?|RFC822(?:\.TEXT)?|BINARY\[[^\]]*\]) "
                         rb"(~?)\{(\d+)\}\r\n",
                         tag_line_prefix):
        n = int(m.group(3))
        got.append((m.group(1), m.group(2), tag_line_prefix[m.end():m.end() + n]))
    return got


def test_no_nul_in_a_literal_that_is_not_literal8(roost):
    r = Raw(roost)
    try:
        msg = (b"Subject: bin\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
               b"--b\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: binary\r\n\r\nA\x00B\x00\x01C\r\n--b--\r\n")
        r.s.sendall(b"ap1 APPEND INBOX ~{%d+}\r\n" % len(msg) + msg + b"\r\n")
        assert r.read_tagged(b"ap1")[-1].split()[1] == b"OK"
        assert r.ok(b"SELECT INBOX")
        out = b"".join(r.cmd(b"FETCH 1 (BODY.PEEK[1] BODY.PEEK[] RFC822.TEXT BODY.PEEK[1]<1.3>)"))
        lits = literals(r, out)
        assert len(lits) == 4, out
        for name, eight, data in lits:
            assert eight == b"" and b"\x00" not in data, (name, data)
        by = {name: data for name, _, data in lits}
        # same length, NUL shown as 0x80: sizes and offsets stay true
        assert by[b"BODY[1]"] == b"A\x80B\x80\x01C", by
        assert len(by[b"BODY[]"]) == len(msg)
        assert by[b"BODY[]"] == msg.replace(b"\x00", b"\x80")
        # RFC822 too
        out = b"".join(r.cmd(b"FETCH 1 (RFC822)"))
        (name, eight, data), = literals(r, out)
        assert eight == b"" and b"\x00" not in data and len(data) == len(msg)
        # BINARY with literal8 still gives the bytes (RFC 3516)
        out = b"".join(r.cmd(b"FETCH 1 (BINARY.PEEK[1])"))
        (name, eight, data), = literals(r, out)
        assert eight == b"~" and data == b"A\x00B\x00\x01C", out
    finally:
        r.close()


def append_raw(r, tag, data):
    r.s.sendall(b"%s APPEND INBOX {%d+}\r\n" % (tag, len(data)) + data + b"\r\n")
    assert r.read_tagged(tag)[-1].split()[1] == b"OK"


def search_nums(r, key):
    out = r.cmd(b"SEARCH " + key)
    line = [l for l in out if l.startswith(b"* SEARCH")]
    assert len(line) == 1, out
    return [int(x) for x in line[0].split()[2:]]


def test_search_address_matches_without_comments(roost):
    r = Raw(roost)
    try:
        append_raw(r, b"a1", b"From: <user (c)@ (c) example.com>\r\nTo: x@example.net\r\n"
                             b"Subject: one\r\n\r\nbody\r\n")
        append_raw(r, b"a2", b"From: bob@example.org\r\n"
                             b"To: user(c)@example.com (Name)\r\n"
                             b"Cc: Carol (the boss) <carol @ example.com>\r\n"
                             b"Subject: two\r\n\r\nbody\r\n")
        append_raw(r, b"a3", b"From: other@example.org\r\nTo: y@example.net\r\n"
                             b"Subject: three\r\n\r\nbody\r\n")
        assert r.ok(b"SELECT INBOX")
        assert search_nums(r, b'FROM "user@example.com"') == [1]
        assert search_nums(r, b'TO "user@example.com"') == [2]
        assert search_nums(r, b'CC "carol@example.com"') == [2]
        assert search_nums(r, b'OR FROM "user@example.com" TO "user@example.com"') == [1, 2]
        # the text as written still matches, comments included
        assert search_nums(r, b'TO "(Name)"') == [2]
        assert search_nums(r, b'FROM "user@example.com" NOT TO "x@example.net"') == []
    finally:
        r.close()


@pytest.mark.parametrize("key", [b"TO", b"DISPLAYTO", b"REVERSE TO"])
def test_sort_on_a_group_address_sorts_by_the_group_name(roost, key):
    r = Raw(roost)
    try:
        # the envelope's first address of a group is its marker, which
        # holds the group name (RFC 3501 7.4.2): zz-team, mmm, bbb
        append_raw(r, b"a1", b"From: a@x.org\r\nTo: zz-team: aaa@x.org;\r\nSubject: 1\r\n\r\nb\r\n")
        append_raw(r, b"a2", b"From: a@x.org\r\nTo: mmm@x.org\r\nSubject: 2\r\n\r\nb\r\n")
        append_raw(r, b"a3", b"From: a@x.org\r\nTo: bbb:;\r\nSubject: 3\r\n\r\nb\r\n")
        assert r.ok(b"SELECT INBOX")
        out = r.cmd(b"SORT (" + key + b") UTF-8 ALL")
        line = [l for l in out if l.startswith(b"* SORT")]
        assert len(line) == 1, out
        got = [int(x) for x in line[0].split()[2:]]
        want = [3, 2, 1]
        assert got == (want[::-1] if key.startswith(b"REVERSE") else want), out
    finally:
        r.close()
