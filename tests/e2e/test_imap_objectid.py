"""OBJECTID (RFC 8474): MAILBOXID in SELECT and STATUS, stable across
RENAME and new after DELETE+CREATE; EMAILID kept by COPY and MOVE; THREADID
groups replies (In-Reply-To/References) within an account. SAVEDATE (RFC
8514) in FETCH."""
import re
import time

from imap_raw import Raw


def lit(data):
    return b"{%d+}\r\n" % len(data) + data


def mailboxid_of(c, name):
    out = c.cmd(b"STATUS " + name + b" (MAILBOXID MESSAGES)")
    m = re.search(rb"MAILBOXID \(([A-Za-z0-9_-]+)\)", b"".join(out))
    assert m, out
    return m.group(1)


def test_mailboxid_select_status_rename_recreate(roost):
    c = Raw(roost)
    assert c.ok(b"CREATE Projects")
    first = mailboxid_of(c, b"Projects")
    assert first != mailboxid_of(c, b"INBOX")
    out = c.cmd(b"SELECT Projects")
    assert b"* OK [MAILBOXID (" + first + b")]" in b"".join(out), out
    assert c.ok(b"UNSELECT")
    assert c.ok(b"RENAME Projects Work")
    assert mailboxid_of(c, b"Work") == first
    assert c.ok(b"DELETE Work") and c.ok(b"CREATE Work")
    assert mailboxid_of(c, b"Work") != first


def fetch_ids(c, seqs=b"1:*"):
    out = c.cmd(b"FETCH " + seqs + b" (UID EMAILID THREADID)")
    rows = re.findall(rb"UID (\d+) EMAILID \(([A-Za-z0-9_-]+)\) THREADID \(([A-Za-z0-9_-]+)\)",
                      b"".join(out))
    assert len(rows) == sum(1 for l in out if b" FETCH (" in l), out
    return [(int(u), e, t) for u, e, t in rows]


def test_emailid_kept_by_copy_and_move(roost):
    for i in range(3):
        roost.deliver(b"From: a@example.org\r\nSubject: s%d\r\n\r\nsame body\r\n" % i,
                      "alice@example.com")
    # the same bytes again: still its own message and id
    roost.deliver(b"From: a@example.org\r\nSubject: s0\r\n\r\nsame body\r\n", "alice@example.com")
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    ids = fetch_ids(c)
    emailids = [e for _, e, _ in ids]
    assert len(set(emailids)) == 4 and all(e.startswith(b"M") for e in emailids)
    assert c.ok(b"COPY 1 Archive")
    assert c.ok(b"MOVE 2 Trash")
    assert c.ok(b"EXAMINE Archive")
    assert fetch_ids(c)[0][1] == emailids[0]
    assert c.ok(b"EXAMINE Trash")
    assert fetch_ids(c)[0][1] == emailids[1]
    # SAVEDATE: when it was saved into this mailbox
    out = c.cmd(b"FETCH 1 (SAVEDATE)")
    m = re.search(rb"SAVEDATE \"(\d+)-(\w+)-(\d{4}) ", b"".join(out))
    assert m and int(m.group(3)) == time.gmtime().tm_year, out


def test_threadid_groups_replies(roost):
    root = b"From: a@example.org\r\nMessage-ID: <root@x>\r\nSubject: plan\r\n\r\nhi\r\n"
    reply = (b"From: b@example.org\r\nMessage-ID: <r1@x>\r\nIn-Reply-To: <root@x>\r\n"
             b"References: <root@x>\r\nSubject: Re: plan\r\n\r\nok\r\n")
    other = b"From: c@example.org\r\nMessage-ID: <other@x>\r\nSubject: else\r\n\r\nno\r\n"
    # a reply to the reply arrives before its parent r1 (only References)
    late = (b"From: a@example.org\r\nMessage-ID: <r2@x>\r\nReferences: <root@x> <r1@x>\r\n"
            b"Subject: Re: plan\r\n\r\nfine\r\n")
    orphan_child = (b"From: d@example.org\r\nMessage-ID: <c1@x>\r\nIn-Reply-To: <p9@x>\r\n"
                    b"Subject: Re: lost\r\n\r\nchild first\r\n")
    orphan_parent = b"From: d@example.org\r\nMessage-ID: <p9@x>\r\nSubject: lost\r\n\r\nparent\r\n"
    for m in (root, other, late, reply, orphan_child, orphan_parent):
        roost.deliver(m, "alice@example.com")
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    t = [tid for _, _, tid in fetch_ids(c)]
    assert t[0] == t[2] == t[3], t
    assert t[1] != t[0]
    assert t[4] == t[5] and t[4] not in (t[0], t[1]), t
    # a copy stays in its thread
    assert c.ok(b"COPY 4 Archive")
    assert c.ok(b"EXAMINE Archive")
    assert fetch_ids(c)[0][2] == t[0]


def test_threads_are_per_account(roost):
    roost.add_user("bob@example.com")
    m = b"From: a@example.org\r\nMessage-ID: <shared@x>\r\nSubject: x\r\n\r\nx\r\n"
    roost.deliver(m, "alice@example.com", "bob@example.com")
    a = Raw(roost)
    assert a.ok(b"SELECT INBOX")
    b = Raw(roost, login=False)
    assert b.ok(b"LOGIN bob@example.com secret") and b.ok(b"SELECT INBOX")
    ia, ib = fetch_ids(a)[0], fetch_ids(b)[0]
    assert ia[1] != ib[1] and ia[2] != ib[2]


def search_uids(c, keys):
    out = c.cmd(b"UID SEARCH " + keys)
    assert out[-1].split()[1] == b"OK", out
    m = re.search(rb"^\* SEARCH([ \d]*)", b"".join(out), re.M)
    assert m, out
    return sorted(int(x) for x in m.group(1).split())


def test_search_emailid_threadid(roost):
    root = b"From: a@example.org\r\nMessage-ID: <s-root@x>\r\nSubject: plan\r\n\r\nhi\r\n"
    reply = (b"From: b@example.org\r\nMessage-ID: <s-r1@x>\r\nIn-Reply-To: <s-root@x>\r\n"
             b"Subject: Re: plan\r\n\r\nok\r\n")
    other = b"From: c@example.org\r\nMessage-ID: <s-other@x>\r\nSubject: else\r\n\r\nno\r\n"
    for m in (root, other, reply):
        roost.deliver(m, "alice@example.com")
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    ids = fetch_ids(c)
    (u1, e1, t1), (u2, e2, t2), (u3, e3, t3) = ids
    assert search_uids(c, b"EMAILID " + e2) == [u2]
    assert search_uids(c, b"EMAILID " + e3) == [u3]
    assert search_uids(c, b"THREADID " + t1) == [u1, u3]
    assert search_uids(c, b"THREADID " + t2) == [u2]
    assert search_uids(c, b"NOT THREADID " + t1) == [u2]
    # an email id is not a thread id, and ids not ours match nothing
    assert search_uids(c, b"THREADID " + e1) == []
    assert search_uids(c, b"EMAILID M999999999") == []
    assert search_uids(c, b"EMAILID some_other-id") == []
    # objectid syntax: 1*255(ALPHA / DIGIT / "_" / "-")
    assert c.cmd(b"SEARCH EMAILID M1.2")[-1].split()[1] == b"BAD"
    assert c.cmd(b"SEARCH THREADID " + b"T" * 256)[-1].split()[1] == b"BAD"
    assert c.cmd(b"SEARCH EMAILID")[-1].split()[1] == b"BAD"
    # COPY keeps the email id, so the copy is found by it
    assert c.ok(b"UID COPY %d Archive" % u2)
    assert c.ok(b"EXAMINE Archive")
    assert search_uids(c, b"EMAILID " + e2) == [1]
    c.close()
