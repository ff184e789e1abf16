"""CONTEXT=SEARCH (RFC 5267 4): SEARCH RETURN (UPDATE) keeps the result
live while the mailbox stays selected, with untagged ESEARCH ADDTO and
REMOVEFROM as messages arrive or change flags; CANCELUPDATE ends it; the
number of live results per session is bounded (IMAP_CONTEXT_MAX, then
NO [NOUPDATE])."""
import re

from imap_raw import Raw

MSG = b"From: a@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n"
CONTEXT_MAX = 16  # IMAP_CONTEXT_MAX in src/imap/imap-context.h


def deliver(roost, i):
    roost.deliver(MSG % (i, i), "alice@example.com")


def status(lines):
    return lines[-1].split()[1]


def updates(lines, tag):
    return [l.rstrip(b"\r\n") for l in lines
            if l.startswith(b'* ESEARCH (TAG "%s")' % tag) and
            (b" ADDTO " in l or b" REMOVEFROM " in l)]


def selected(roost, n):
    for i in range(1, n + 1):
        deliver(roost, i)
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    return c


def test_capability(roost):
    c = Raw(roost)
    caps = b"".join(c.cmd(b"CAPABILITY")).split()
    assert b"CONTEXT=SEARCH" in caps
    # live sorted results: test_imap_context_sort.py
    assert b"CONTEXT=SORT" in caps
    c.close()


def test_rfc5267_update_addto_removefrom(roost):
    # RFC 5267 4.3: the result of "UNSEEN" follows new mail and \Seen
    c = selected(roost, 3)
    assert c.ok(b"STORE 2 +FLAGS.SILENT (\\Seen)")
    out = c.cmd(b"UID SEARCH RETURN (UPDATE) UNSEEN")
    tag = b"r%d" % c.n
    assert status(out) == b"OK"
    # UPDATE alone asks for no result data
    assert [l for l in out if l.startswith(b"* ESEARCH")] == [b'* ESEARCH (TAG "%s") UID\r\n' % tag]
    deliver(roost, 4)
    out = c.cmd(b"NOOP")
    assert b"* 4 EXISTS\r\n" in out
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") UID ADDTO (0 4)' % tag]
    # ADDTO follows the EXISTS that announced the message
    assert out.index(b"* 4 EXISTS\r\n") < [i for i, l in enumerate(out) if b"ADDTO" in l][0]
    # this session's own STORE takes a message out, and puts one back
    out = c.cmd(b"STORE 1 +FLAGS (\\Seen)")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") UID REMOVEFROM (0 1)' % tag]
    out = c.cmd(b"STORE 2 -FLAGS (\\Seen)")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") UID ADDTO (0 2)' % tag]
    # a change that leaves membership as it was says nothing
    out = c.cmd(b"STORE 2 +FLAGS (\\Flagged)")
    assert updates(out, tag) == []
    # another session's change is told at the next sync
    d = Raw(roost)
    assert d.ok(b"SELECT INBOX")
    assert d.ok(b"STORE 3 +FLAGS (\\Seen)")
    out = c.cmd(b"NOOP")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") UID REMOVEFROM (0 3)' % tag]
    # an expunged member leaves with EXPUNGE alone
    assert d.ok(b"STORE 4 +FLAGS.SILENT (\\Deleted)")
    assert d.ok(b"EXPUNGE")
    out = c.cmd(b"NOOP")
    assert b"* 4 EXPUNGE\r\n" in out and updates(out, tag) == []
    # the live result is what a fresh search finds
    deliver(roost, 5)
    out = c.cmd(b"NOOP")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") UID ADDTO (0 5)' % tag]
    fresh = [l for l in c.cmd(b"UID SEARCH RETURN (ALL) UNSEEN") if l.startswith(b"* ESEARCH")]
    assert fresh[0].rstrip().endswith(b" ALL 2,5")
    d.close()
    c.close()


def test_sequence_number_updates_and_initial_result(roost):
    c = selected(roost, 2)
    out = c.cmd(b"SEARCH RETURN (ALL COUNT UPDATE) UNSEEN")
    tag = b"r%d" % c.n
    line = [l for l in out if l.startswith(b"* ESEARCH")][0]
    assert line == b'* ESEARCH (TAG "%s") ALL 1:2 COUNT 2\r\n' % tag
    deliver(roost, 3)
    out = c.cmd(b"NOOP")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") ADDTO (0 3)' % tag]
    out = c.cmd(b"STORE 1 +FLAGS (\\Seen)")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") REMOVEFROM (0 1)' % tag]
    c.close()


def test_updates_during_idle(roost):
    c = selected(roost, 1)
    assert c.ok(b"UID SEARCH RETURN (UPDATE) UNSEEN")
    tag = b"r%d" % c.n
    c.s.sendall(b"i1 IDLE\r\n")
    assert c.f.readline().startswith(b"+")
    deliver(roost, 2)
    got = c.wait_for(b"ADDTO")
    assert got[-1] == b'* ESEARCH (TAG "%s") UID ADDTO (0 2)\r\n' % tag
    c.s.sendall(b"DONE\r\n")
    assert c.read_tagged(b"i1")[-1].split()[1] == b"OK"
    c.close()


def test_cancelupdate(roost):
    c = selected(roost, 1)
    assert c.ok(b"UID SEARCH RETURN (UPDATE) UNSEEN")
    tag = b"r%d" % c.n
    assert c.ok(b"UID SEARCH RETURN (UPDATE) ALL")
    tag2 = b"r%d" % c.n
    assert c.ok(b'CANCELUPDATE "%s"' % tag)
    deliver(roost, 2)
    out = c.cmd(b"NOOP")
    assert updates(out, tag) == []
    assert updates(out, tag2) == [b'* ESEARCH (TAG "%s") UID ADDTO (0 2)' % tag2]
    # a tag with no live result is BAD, and cancels nothing
    assert status(c.cmd(b'CANCELUPDATE "%s" "%s"' % (tag2, tag))) == b"BAD"
    assert status(c.cmd(b"CANCELUPDATE")) == b"BAD"
    assert c.ok(b'CANCELUPDATE "%s"' % tag2)
    # contexts end with the selection (RFC 5267 4.2)
    assert c.ok(b"UID SEARCH RETURN (UPDATE) ALL")
    tag3 = b"r%d" % c.n
    assert c.ok(b"SELECT INBOX")
    assert status(c.cmd(b'CANCELUPDATE "%s"' % tag3)) == b"BAD"
    deliver(roost, 3)
    assert updates(c.cmd(b"NOOP"), tag3) == []
    c.close()


def test_noupdate_cases(roost):
    c = selected(roost, 2)
    # sequence numbers shift with every expunge: not kept
    out = c.cmd(b"SEARCH RETURN (UPDATE ALL) 1:2")
    tag = b"r%d" % c.n
    assert status(out) == b"OK"
    assert any(l.startswith(b'* NO [NOUPDATE "%s"]' % tag) for l in out), out
    assert b'* ESEARCH (TAG "%s") ALL 1:2\r\n' % tag in out
    # a sorted result is kept (CONTEXT=SORT, test_imap_context_sort.py)
    out = c.cmd(b"SORT RETURN (UPDATE ALL) (ARRIVAL) UTF-8 ALL")
    tag = b"r%d" % c.n
    assert status(out) == b"OK"
    assert not any(b"NOUPDATE" in l for l in out), out
    # a page of the result is answered, but not kept live
    out = c.cmd(b"UID SEARCH RETURN (PARTIAL 1:1 UPDATE) ALL")
    tag = b"r%d" % c.n
    assert status(out) == b"OK"
    assert any(l.startswith(b'* NO [NOUPDATE "%s"]' % tag) for l in out), out
    assert any(b" PARTIAL (1:1 1)" in l for l in out), out
    # RETURN (CONTEXT) is a hint (RFC 5267 4.1)
    out = c.cmd(b"SEARCH RETURN (CONTEXT COUNT) ALL")
    assert status(out) == b"OK" and b" COUNT 2" in b"".join(out)
    c.close()


def test_attacker_many_update_contexts(roost):
    # a client opening live results without end: each one past the limit
    # gets NOUPDATE, the SEARCH still answers, and the session goes on
    c = selected(roost, 3)
    tags = []
    for i in range(CONTEXT_MAX):
        out = c.cmd(b"UID SEARCH RETURN (UPDATE) UNSEEN")
        assert status(out) == b"OK"
        assert not any(b"NOUPDATE" in l for l in out), (i, out)
        tags.append(b"r%d" % c.n)
    for i in range(50):
        out = c.cmd(b"UID SEARCH RETURN (UPDATE COUNT) UNSEEN")
        tag = b"r%d" % c.n
        assert status(out) == b"OK"
        assert any(l.startswith(b'* NO [NOUPDATE "%s"]' % tag) for l in out), out
        assert b" COUNT 3" in b"".join(out)
    # every live one is told, once, of a new message; the refused ones never
    deliver(roost, 4)
    out = c.cmd(b"NOOP")
    told = [re.match(rb'\* ESEARCH \(TAG "([^"]+)"\)', l).group(1)
            for l in out if b" ADDTO " in l]
    assert sorted(told) == sorted(tags)
    # after one is cancelled a new one fits
    assert c.ok(b'CANCELUPDATE "%s"' % tags[0])
    out = c.cmd(b"UID SEARCH RETURN (UPDATE) UNSEEN")
    assert not any(b"NOUPDATE" in l for l in out), out
    c.close()


def test_reused_tag_is_refused(roost):
    c = selected(roost, 1)
    c.s.sendall(b"same UID SEARCH RETURN (UPDATE) ALL\r\n")
    assert c.read_tagged(b"same")[-1].split()[1] == b"OK"
    c.s.sendall(b"same UID SEARCH RETURN (UPDATE) ALL\r\n")
    out = c.read_tagged(b"same")
    assert any(l.startswith(b'* NO [NOUPDATE "same"]') for l in out), out
    deliver(roost, 2)
    out = c.cmd(b"NOOP")
    assert len(updates(out, b"same")) == 1
    c.close()


def test_content_search_with_too_many_changes_ends(roost):
    # a result whose keys read message bodies is not re-tested for more
    # than IMAP_CONTEXT_SYNC_MAX changed messages on the event loop: the
    # context ends with NOUPDATE and the session goes on
    sync_max = 200  # IMAP_CONTEXT_SYNC_MAX in src/imap/imap-context.h
    c = Raw(roost)
    for i in range(sync_max + 5):
        m = MSG % (i, i)
        assert c.ok(b"APPEND INBOX {%d+}\r\n%s" % (len(m), m))
    assert c.ok(b"SELECT INBOX")
    assert c.ok(b'UID SEARCH RETURN (UPDATE) BODY "body 1"')
    heavy = b"r%d" % c.n
    assert c.ok(b"UID SEARCH RETURN (UPDATE) UNFLAGGED")
    light = b"r%d" % c.n
    # a few changes: the content search is re-tested and stays
    out = c.cmd(b"UID STORE 1:3 +FLAGS (\\Flagged)")
    assert not any(b"NOUPDATE" in l for l in out), out
    assert updates(out, light) == [b'* ESEARCH (TAG "%s") UID REMOVEFROM (0 1:3)' % light]
    out = c.cmd(b"STORE 1:* +FLAGS.SILENT (\\Seen)")
    assert status(out) == b"OK"
    assert [l for l in out if b"NOUPDATE" in l] == [b'* NO [NOUPDATE "%s"] Result no longer kept updated\r\n' % heavy]
    # the cheap one lives on; the other is gone
    assert status(c.cmd(b'CANCELUPDATE "%s"' % heavy)) == b"BAD"
    assert c.ok(b'CANCELUPDATE "%s"' % light)
    c.close()
