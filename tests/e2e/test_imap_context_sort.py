"""CONTEXT=SORT (RFC 5267 4): SORT RETURN (UPDATE) keeps the sorted result
live while the mailbox stays selected. ADDTO and REMOVEFROM carry the
1-based position in the sorted result (4.3.3, 4.3.4): pairs apply one after
the other, an ADDTO's first message takes the position given, a
REMOVEFROM's first message is the one at that position. Every test applies
the updates to a model of the client's list and checks it against a fresh
SORT."""
import re

from imap_raw import Raw

CONTEXT_MAX = 16  # IMAP_CONTEXT_MAX in src/imap/imap-context.h


def msg(subject, date="Mon, 1 Jun 2026 10:00:00 +0000", body=b"body"):
    return (b"From: a@example.org\r\nSubject: %s\r\nDate: %s\r\n\r\n%s\r\n"
            % (subject.encode(), date.encode(), body))


def deliver(roost, subject, date="Mon, 1 Jun 2026 10:00:00 +0000"):
    roost.deliver(msg(subject, date), "alice@example.com")


def status(lines):
    return lines[-1].split()[1]


def updates(lines, tag):
    return [l.rstrip(b"\r\n") for l in lines
            if l.startswith(b'* ESEARCH (TAG "%s")' % tag) and
            (b" ADDTO " in l or b" REMOVEFROM " in l)]


def parse_set(s):
    out = []
    for part in s.split(b","):
        if b":" in part:
            a, b = (int(x) for x in part.split(b":"))
            out.extend(range(a, b + 1) if a <= b else range(a, b - 1, -1))
        else:
            out.append(int(part))
    return out


def apply(model, lines, tag):
    """Apply the ADDTO/REMOVEFROM lines for tag, pair by pair (4.3.3)."""
    for l in updates(lines, tag):
        m = re.search(rb" (ADDTO|REMOVEFROM) \((.*)\)$", l)
        what, toks = m.group(1), m.group(2).split()
        assert len(toks) % 2 == 0, l
        for i in range(0, len(toks), 2):
            pos, nums = int(toks[i]), parse_set(toks[i + 1])
            # a sorted context never sends position 0 (that is SEARCH's)
            assert pos >= 1, l
            if what == b"ADDTO":
                assert pos <= len(model) + 1, (l, model)
                model[pos - 1:pos - 1] = nums
            else:
                assert model[pos - 1:pos - 1 + len(nums)] == nums, (l, model)
                del model[pos - 1:pos - 1 + len(nums)]
    return model


def fresh(c, crit, keys, uid=True):
    out = c.cmd(b"%sSORT %s UTF-8 %s" % (b"UID " if uid else b"", crit, keys))
    assert status(out) == b"OK", out
    line = [l for l in out if l.startswith(b"* SORT")][0]
    return [int(x) for x in line.split()[2:]]


def start(c, crit, keys, uid=True):
    out = c.cmd(b"%sSORT RETURN (ALL UPDATE) %s UTF-8 %s" % (b"UID " if uid else b"", crit, keys))
    tag = b"r%d" % c.n
    assert status(out) == b"OK", out
    assert not any(b"NOUPDATE" in l for l in out), out
    model = []
    for l in out:
        m = re.match(rb'\* ESEARCH \(TAG "[^"]+"\)(?: UID)? ALL (\S+)', l)
        if m:
            model = parse_set(m.group(1))
    return tag, model


def test_capability(roost):
    c = Raw(roost)
    caps = b"".join(c.cmd(b"CAPABILITY")).split()
    assert b"CONTEXT=SORT" in caps and b"CONTEXT=SEARCH" in caps and b"ESORT" in caps
    c.close()


def test_subject_positions_follow_changes(roost):
    for s in ("mango", "cherry", "xigua"):
        deliver(roost, s)
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    tag, model = start(c, b"(SUBJECT)", b"UNSEEN")
    assert model == [2, 1, 3]  # cherry mango xigua
    # a new message sorts into the middle: position 2 (after cherry)
    deliver(roost, "damson")
    out = c.cmd(b"NOOP")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") UID ADDTO (2 4)' % tag]
    # the ADDTO follows the EXISTS that announced the message
    assert out.index(b"* 4 EXISTS\r\n") < [i for i, l in enumerate(out) if b"ADDTO" in l][0]
    assert apply(model, out, tag) == fresh(c, b"(SUBJECT)", b"UNSEEN") == [2, 4, 1, 3]
    # one at the front
    deliver(roost, "apple")
    out = c.cmd(b"NOOP")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") UID ADDTO (1 5)' % tag]
    apply(model, out, tag)
    # another session's \Seen takes mango out, at its position (4)
    d = Raw(roost)
    assert d.ok(b"SELECT INBOX")
    assert d.ok(b"UID STORE 1 +FLAGS (\\Seen)")
    out = c.cmd(b"NOOP")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") UID REMOVEFROM (4 1)' % tag]
    assert apply(model, out, tag) == fresh(c, b"(SUBJECT)", b"UNSEEN") == [5, 2, 4, 3]
    # and -FLAGS puts it back where it sorts
    assert d.ok(b"UID STORE 1 -FLAGS (\\Seen)")
    out = c.cmd(b"NOOP")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") UID ADDTO (4 1)' % tag]
    apply(model, out, tag)
    # a flag change that keeps membership says nothing
    assert d.ok(b"UID STORE 1 +FLAGS (\\Flagged)")
    assert updates(c.cmd(b"NOOP"), tag) == []
    # several at once, in sort order, pairs applied one after the other
    assert d.ok(b"UID STORE 2,3,5 +FLAGS (\\Seen)")
    out = c.cmd(b"NOOP")
    assert len(updates(out, tag)) == 1
    assert apply(model, out, tag) == fresh(c, b"(SUBJECT)", b"UNSEEN") == [4, 1]
    assert d.ok(b"UID STORE 2,3,5 -FLAGS (\\Seen)")
    out = c.cmd(b"NOOP")
    assert apply(model, out, tag) == fresh(c, b"(SUBJECT)", b"UNSEEN") == [5, 2, 4, 1, 3]
    # an expunged member leaves with the EXPUNGE alone; later positions
    # count the list without it
    assert d.ok(b"UID STORE 2 +FLAGS.SILENT (\\Deleted)")
    assert d.ok(b"EXPUNGE")
    out = c.cmd(b"NOOP")
    assert b"* 2 EXPUNGE\r\n" in out and updates(out, tag) == []
    model.remove(2)
    deliver(roost, "banana")
    out = c.cmd(b"NOOP")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") UID ADDTO (2 6)' % tag]
    assert apply(model, out, tag) == fresh(c, b"(SUBJECT)", b"UNSEEN") == [5, 6, 4, 1, 3]
    # this session's own STORE is told in the STORE's response
    out = c.cmd(b"UID STORE 4 +FLAGS (\\Seen)")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") UID REMOVEFROM (3 4)' % tag]
    apply(model, out, tag)
    d.close()
    c.close()


def test_reverse_date_with_deliveries_and_expunges(roost):
    dates = ["Mon, 1 Jun 2026 10:00:00 +0000", "Wed, 3 Jun 2026 10:00:00 +0000",
             "Fri, 5 Jun 2026 10:00:00 +0000"]
    for i, dt in enumerate(dates):
        deliver(roost, "m%d" % i, dt)
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    tag, model = start(c, b"(REVERSE DATE)", b"ALL")
    assert model == [3, 2, 1]
    d = Raw(roost)
    assert d.ok(b"SELECT INBOX")
    # newest first: between June 3 and 5, before all, after all
    for subj, dt in (("a", "Thu, 4 Jun 2026 10:00:00 +0000"),
                     ("b", "Sat, 6 Jun 2026 10:00:00 +0000"),
                     ("c", "Sun, 31 May 2026 10:00:00 +0000")):
        deliver(roost, subj, dt)
    out = c.cmd(b"NOOP")
    assert apply(model, out, tag) == fresh(c, b"(REVERSE DATE)", b"ALL") == [5, 3, 4, 2, 1, 6]
    # one sync, one ADDTO line: 5 at 1, 4 at 3, 6 at 6
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") UID ADDTO (1 5 3 4 6 6)' % tag]
    # expunges elsewhere, then more mail: positions still match
    assert d.ok(b"UID STORE 3,1 +FLAGS.SILENT (\\Deleted)")
    assert d.ok(b"EXPUNGE")
    deliver(roost, "d", "Tue, 2 Jun 2026 10:00:00 +0000")
    out = c.cmd(b"NOOP")
    model = [u for u in model if u not in (1, 3)]
    assert apply(model, out, tag) == fresh(c, b"(REVERSE DATE)", b"ALL") == [5, 4, 2, 7, 6]
    d.close()
    c.close()


def test_arrival_sequence_numbers_grouped(roost):
    # SORT without UID: the updates name sequence numbers; messages that
    # tie on ARRIVAL sort in sequence order
    for i in range(4):
        deliver(roost, "m%d" % i)
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    tag, model = start(c, b"(ARRIVAL)", b"FLAGGED", uid=False)
    assert model == []
    out = c.cmd(b"STORE 1:3 +FLAGS (\\Flagged)")
    # consecutive positions share one pair
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") ADDTO (1 1,2,3)' % tag]
    apply(model, out, tag)
    out = c.cmd(b"STORE 1,3 -FLAGS (\\Flagged)")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") REMOVEFROM (1 1 2 3)' % tag]
    assert apply(model, out, tag) == fresh(c, b"(ARRIVAL)", b"FLAGGED", uid=False) == [2]
    out = c.cmd(b"STORE 1:4 +FLAGS (\\Flagged)")
    assert updates(out, tag) == [b'* ESEARCH (TAG "%s") ADDTO (1 1 3 3,4)' % tag]
    assert apply(model, out, tag) == fresh(c, b"(ARRIVAL)", b"FLAGGED", uid=False) == [1, 2, 3, 4]
    c.close()


def test_cancelupdate_and_selection_end(roost):
    deliver(roost, "b")
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    tag, _ = start(c, b"(SUBJECT)", b"ALL")
    tag2, model2 = start(c, b"(REVERSE SUBJECT)", b"ALL")
    assert c.ok(b'CANCELUPDATE "%s"' % tag)
    deliver(roost, "a")
    out = c.cmd(b"NOOP")
    assert updates(out, tag) == []
    # REVERSE SUBJECT: "a" goes last
    assert updates(out, tag2) == [b'* ESEARCH (TAG "%s") UID ADDTO (2 2)' % tag2]
    assert status(c.cmd(b'CANCELUPDATE "%s"' % tag)) == b"BAD"
    assert c.ok(b'CANCELUPDATE "%s"' % tag2)
    tag3, _ = start(c, b"(ARRIVAL)", b"ALL")
    assert c.ok(b"SELECT INBOX")
    assert status(c.cmd(b'CANCELUPDATE "%s"' % tag3)) == b"BAD"
    deliver(roost, "c")
    assert updates(c.cmd(b"NOOP"), tag3) == []
    c.close()


def test_noupdate_cases(roost):
    deliver(roost, "a")
    deliver(roost, "b")
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    # a page of the sorted result is answered, not kept live
    out = c.cmd(b"UID SORT RETURN (PARTIAL 1:1 UPDATE) (SUBJECT) UTF-8 ALL")
    tag = b"r%d" % c.n
    assert status(out) == b"OK"
    assert any(l.startswith(b'* NO [NOUPDATE "%s"]' % tag) for l in out), out
    assert any(b" PARTIAL (1:1 1)" in l for l in out), out
    # sequence-number keys shift with every expunge: not kept
    out = c.cmd(b"SORT RETURN (UPDATE ALL) (ARRIVAL) UTF-8 1:2")
    tag = b"r%d" % c.n
    assert status(out) == b"OK"
    assert any(l.startswith(b'* NO [NOUPDATE "%s"]' % tag) for l in out), out
    assert b'* ESEARCH (TAG "%s") ALL 1:2\r\n' % tag in out
    deliver(roost, "c")
    out = c.cmd(b"NOOP")
    assert not any(b"ADDTO" in l for l in out), out
    c.close()


def test_attacker_many_sorted_contexts(roost):
    # SEARCH and SORT contexts share the per-session limit; past it each
    # SORT still answers, gets NOUPDATE, and is never updated
    for s in ("c", "a", "b"):
        deliver(roost, s)
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    live = []
    for i in range(CONTEXT_MAX // 2):
        assert c.ok(b"UID SEARCH RETURN (UPDATE) ALL")
        live.append(b"r%d" % c.n)
    for i in range(CONTEXT_MAX - CONTEXT_MAX // 2):
        tag, model = start(c, b"(SUBJECT)", b"ALL")
        assert model == [2, 3, 1]
        live.append(tag)
    refused = []
    for i in range(60):
        out = c.cmd(b"UID SORT RETURN (UPDATE COUNT) (REVERSE SUBJECT FROM SIZE) UTF-8 ALL")
        tag = b"r%d" % c.n
        assert status(out) == b"OK"
        assert any(l.startswith(b'* NO [NOUPDATE "%s"]' % tag) for l in out), out
        assert b" COUNT 3" in b"".join(out)
        refused.append(tag)
    deliver(roost, "aa")
    out = c.cmd(b"NOOP")
    told = [re.match(rb'\* ESEARCH \(TAG "([^"]+)"\)', l).group(1)
            for l in out if b" ADDTO " in l]
    assert sorted(told) == sorted(live)
    # the sorted ones name the position, the SEARCH ones 0
    for l in out:
        if b" ADDTO " in l:
            tag = re.match(rb'\* ESEARCH \(TAG "([^"]+)"\)', l).group(1)
            want = b"(2 4)" if live.index(tag) >= CONTEXT_MAX // 2 else b"(0 4)"
            assert l.rstrip().endswith(want), l
    # a refused tag cannot be cancelled; a live one can, and frees a slot
    assert status(c.cmd(b'CANCELUPDATE "%s"' % refused[0])) == b"BAD"
    assert c.ok(b'CANCELUPDATE "%s"' % live[-1])
    start(c, b"(ARRIVAL)", b"ALL")
    # garbage sort criteria with UPDATE: BAD, nothing kept
    out = c.cmd(b"UID SORT RETURN (UPDATE) (NOSUCH) UTF-8 ALL")
    assert status(out) == b"BAD"
    out = c.cmd(b"UID SORT RETURN (UPDATE) (REVERSE) UTF-8 ALL")
    assert status(out) == b"BAD"
    c.close()


def test_random_changes_match_fresh_sort(roost):
    # random deliveries, flag changes (own and another session's) and
    # expunges: after every sync the list the updates build is the SORT
    import random
    rnd = random.Random(5267)
    words = ["kiwi", "Re: fig", "apple", "Fwd: lime", "pear", "fig", "date", "APPLE"]

    def some_date():
        return "%s, %d Jun 2026 %02d:00:00 +0000" % (
            "Mon", rnd.randint(1, 28), rnd.randint(0, 23))

    for i in range(12):
        deliver(roost, rnd.choice(words), some_date())
    c = Raw(roost)
    assert c.ok(b"SELECT INBOX")
    d = Raw(roost)
    assert d.ok(b"SELECT INBOX")
    crits = [(b"(SUBJECT DATE)", b"UNSEEN"), (b"(REVERSE DATE)", b"FLAGGED"),
             (b"(REVERSE SUBJECT REVERSE SIZE)", b"OR SEEN DELETED")]
    ctx = [start(c, cr, keys) + (cr, keys) for cr, keys in crits]
    uids = fresh(c, b"(ARRIVAL)", b"ALL")
    for step in range(25):
        op = rnd.randrange(4)
        own = []
        if op == 0:
            for _ in range(rnd.randint(1, 3)):
                deliver(roost, rnd.choice(words), some_date())
        elif op == 3 and len(uids) > 4:
            gone = rnd.sample(uids, 2)
            assert d.ok(b"UID STORE %d,%d +FLAGS.SILENT (\\Deleted)" % tuple(gone))
            assert d.ok(b"UID EXPUNGE %d,%d" % tuple(gone))
        else:
            who = c if op == 1 else d
            pick = rnd.sample(uids, min(len(uids), rnd.randint(1, 5)))
            flag = rnd.choice([b"\\Seen", b"\\Flagged", b"\\Deleted"])
            sign = rnd.choice([b"+", b"-"])
            res = who.cmd(b"UID STORE %s %sFLAGS.SILENT (%s)" % (
                b",".join(b"%d" % u for u in pick), sign, flag))
            assert status(res) == b"OK"
            if who is c:  # this session's own STORE says it in its response
                own = res
        out = own + c.cmd(b"NOOP")
        uids = fresh(c, b"(ARRIVAL)", b"ALL")
        for tag, model, cr, keys in ctx:
            model[:] = [u for u in model if u in uids]  # expunges leave silently
            assert apply(model, out, tag) == fresh(c, cr, keys), (step, cr, out)
    d.close()
    c.close()


def test_large_mailbox_updates_stay_fast(roost):
    # 1500 messages, every one leaving and rejoining a sorted result in
    # one STORE each: the positions still match, quickly
    import time
    c = Raw(roost)
    for i in range(1500):
        m = msg("s%04d" % ((i * 7919) % 1500))
        c.s.sendall(b"a%d APPEND INBOX {%d+}\r\n%s\r\n" % (i, len(m), m))
    for i in range(1500):
        assert c.read_tagged(b"a%d" % i)[-1].split()[1] == b"OK"
    assert c.ok(b"SELECT INBOX")
    tag, model = start(c, b"(SUBJECT)", b"UNSEEN")
    assert len(model) == 1500
    t = time.time()
    out = c.cmd(b"STORE 1:* +FLAGS.SILENT (\\Seen)")
    assert len(updates(out, tag)) == 1
    assert apply(model, out, tag) == []
    out = c.cmd(b"STORE 1:* -FLAGS.SILENT (\\Seen)")
    assert apply(model, out, tag) == fresh(c, b"(SUBJECT)", b"UNSEEN")
    evens = b",".join(b"%d" % i for i in range(2, 1501, 2))
    out = c.cmd(b"STORE %s +FLAGS.SILENT (\\Seen)" % evens)
    assert status(out) == b"OK"
    assert apply(model, out, tag) == fresh(c, b"(SUBJECT)", b"UNSEEN")
    assert len(model) == 750
    assert time.time() - t < 20
    c.close()
