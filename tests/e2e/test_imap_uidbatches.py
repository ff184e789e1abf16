"""UIDBATCHES (RFC 10022): "UIDBATCHES size [first:last]" in the selected
state answers "* UIDBATCHES (TAG "tag")" and UID ranges that split the
mailbox into batches of `size` messages, the newest batch first, each
range written highest UID first, the oldest batch ending at UID 1
(section 3.1). A size under 500 is NO [TOOFEW], more than 100,000
messages in one command NO [TOOMANY]; bad syntax (zero, a reversed
range) is BAD. With MESSAGELIMIT under 500 the smallest size is the
limit, so a batch always fits one command."""
import re

from imap_raw import Raw

MSG = b"From: a@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n"
LINE = re.compile(rb'^\* UIDBATCHES \(TAG "([^"]*)"\)(?: (\S+))?\r\n$')


def status(out):
    return out[-1].split()[1]


def append_many(c, n, start=1):
    """n messages in MULTIAPPENDs of up to 1000 (one command each)."""
    i = start
    while i < start + n:
        k = min(1000, start + n - i)
        parts = []
        for j in range(i, i + k):
            m = MSG % (j, j)
            parts.append(b"{%d+}\r\n%s" % (len(m), m))
        assert status(c.cmd(b"APPEND INBOX " + b" ".join(parts))) == b"OK"
        i += k


def batches(c, args):
    """(tag, [(high, low), ...]) of one UIDBATCHES answered OK."""
    out = c.cmd(b"UIDBATCHES " + args)
    assert status(out) == b"OK", out
    lines = [l for l in out if l.startswith(b"* UIDBATCHES")]
    assert len(lines) == 1, out
    m = LINE.match(lines[0])
    assert m, lines[0]
    assert m.group(1) == out[-1].split()[0]  # the correlator is our tag
    ranges = []
    if m.group(2):
        for r in m.group(2).split(b","):
            hi, lo = r.split(b":")
            ranges.append((int(hi), int(lo)))
    return ranges


def model(uids, size):
    """The batches the RFC asks for over ascending UIDs."""
    newest = sorted(uids, reverse=True)
    out = []
    for i in range(0, len(newest), size):
        chunk = newest[i:i + size]
        last = i + size >= len(newest)
        out.append((chunk[0], 1 if last else chunk[-1]))
    return out


def count(c, hi, lo):
    out = c.cmd(b"UID SEARCH RETURN (COUNT) UID %d:%d" % (lo, hi))
    m = re.search(rb"COUNT (\d+)", b"".join(out))
    return int(m.group(1)) if m else 0


def selected(roost, n=0):
    c = Raw(roost)
    if n:
        append_many(c, n)
    assert c.ok(b"SELECT INBOX")
    return c


def test_capability(roost):
    c = Raw(roost)
    assert b" UIDBATCHES" in b"".join(c.cmd(b"CAPABILITY"))
    c.close()


def test_batches_newest_first_with_gaps(roost):
    # The shape of the section 3 example ("UIDBATCHES 2000" answered by
    # 215295:99696,99695:20350,20349:7829,7828:1) on a smaller mailbox:
    # descending, each batch `size` messages, the last one down to UID 1
    # even where UID 1 is gone
    c = selected(roost, 1300)
    assert c.ok(b"UID STORE 1:5,600:649 +FLAGS.SILENT (\\Deleted)")
    assert c.ok(b"EXPUNGE")
    uids = [u for u in range(1, 1301) if not (u <= 5 or 600 <= u <= 649)]
    got = batches(c, b"500")
    # the second batch reaches past the gap 600..649
    assert got == model(uids, 500) == [(1300, 801), (800, 251), (250, 1)]
    # every batch but the last holds exactly the batch size
    assert [count(c, hi, lo) for hi, lo in got] == [500, 500, len(uids) - 1000]
    c.close()


def test_batch_range(roost):
    c = selected(roost, 1300)
    whole = batches(c, b"500")
    assert len(whole) == 3
    assert batches(c, b"500 1:1") == whole[:1]
    assert batches(c, b"500 2:2") == whole[1:2]
    assert batches(c, b"500 2:3") == whole[1:]
    # a range reaching past the oldest batch stops there
    assert batches(c, b"500 3:9") == whole[2:]
    # a range wholly past it: the response still comes, with no ranges
    assert batches(c, b"500 4:5") == []
    # a batch size the mailbox fills exactly ends at UID 1 too
    assert batches(c, b"650") == [(1300, 651), (650, 1)]
    c.close()


def test_fewer_messages_than_one_batch(roost):
    c = selected(roost, 3)
    assert batches(c, b"500") == [(3, 1)]
    assert batches(c, b"500 1:4") == [(3, 1)]
    assert batches(c, b"500 2:4") == []
    c.close()


def test_empty_mailbox(roost):
    c = selected(roost)
    out = c.cmd(b"UIDBATCHES 500")
    assert out[0] == b'* UIDBATCHES (TAG "%s")\r\n' % out[-1].split()[0]
    assert status(out) == b"OK"
    c.close()


def test_batch_sizes(roost):
    c = selected(roost, 3)
    out = c.cmd(b"UIDBATCHES 499")
    assert status(out) == b"NO" and b"[TOOFEW]" in out[-1], out
    assert not any(l.startswith(b"* UIDBATCHES") for l in out)
    assert b"[TOOFEW]" in c.cmd(b"UIDBATCHES 1")[-1]
    assert batches(c, b"500") == [(3, 1)]
    # the largest nz-number is a valid size: one batch of everything
    assert batches(c, b"4294967295") == [(3, 1)]
    for bad in (b"0", b"4294967296", b"-1", b"abc", b"5x", b"\"500\"", b"(500)"):
        out = c.cmd(b"UIDBATCHES " + bad)
        assert status(out) == b"BAD", (bad, out)
    c.close()


def test_too_many_messages(roost):
    # section 3.1.5: 100,000 messages is the least a server spans; beyond
    # that the server may answer NO [TOOMANY], as Roost does
    c = selected(roost, 3)
    assert batches(c, b"500 1:200") == [(3, 1)]  # 100,000 exactly
    for args in (b"500 1:201", b"100001 1:1", b"4294967295 1:2", b"500 1:4294967295"):
        out = c.cmd(b"UIDBATCHES " + args)
        assert status(out) == b"NO" and b"[TOOMANY]" in out[-1], (args, out)
    c.close()


def test_syntax_errors(roost):
    c = selected(roost, 3)
    for args in (b"", b"500 3:2", b"500 0:2", b"500 2", b"500 1:*", b"500 *:1",
                 b"500 1:2 3", b"500 1:2:3", b"500 :2", b"500 1:", b"500 1,2"):
        out = c.cmd(b"UIDBATCHES " + args if args else b"UIDBATCHES")
        assert status(out) == b"BAD", (args, out)
        assert not any(l.startswith(b"* UIDBATCHES") for l in out)
    # not a UID command
    assert status(c.cmd(b"UID UIDBATCHES 500")) == b"BAD"
    c.close()


def test_selected_state_only(roost):
    c = Raw(roost, login=False)
    assert status(c.cmd(b"UIDBATCHES 500")) == b"BAD"
    assert c.ok(b"LOGIN alice@example.com secret")
    assert status(c.cmd(b"UIDBATCHES 500")) == b"BAD"
    assert c.ok(b"SELECT INBOX")
    assert c.ok(b"UIDBATCHES 500")
    assert c.ok(b"UNSELECT")
    assert status(c.cmd(b"UIDBATCHES 500")) == b"BAD"
    c.close()


def test_examine_and_other_mailbox(roost):
    c = Raw(roost)
    append_many(c, 2)
    assert c.ok(b"CREATE Other")
    assert c.ok(b"EXAMINE Other")
    assert batches(c, b"500") == []
    assert c.ok(b"EXAMINE INBOX")
    assert batches(c, b"500") == [(2, 1)]
    c.close()


def test_announced_expunges_leave_the_batches(roost):
    c = selected(roost, 3)
    d = selected(roost)
    assert d.ok(b"UID STORE 3 +FLAGS.SILENT (\\Deleted)")
    assert d.ok(b"EXPUNGE")
    out = c.cmd(b"NOOP")
    assert any(b"EXPUNGE" in l for l in out), out
    assert batches(c, b"500") == [(2, 1)]
    # and new mail joins the newest batch once announced
    append_many(d, 1, start=4)
    c.cmd(b"NOOP")
    assert batches(c, b"500") == [(4, 1)]
    c.close()
    d.close()


def test_with_uidonly(roost):
    # section 1: the point of UIDBATCHES is paging without sequence
    # numbers; the command works the same after ENABLE UIDONLY
    c = Raw(roost)
    append_many(c, 1200)
    assert c.cmd(b"ENABLE UIDONLY")[0] == b"* ENABLED UIDONLY\r\n"
    assert c.ok(b"SELECT INBOX")
    got = batches(c, b"500")
    assert got == [(1200, 701), (700, 201), (200, 1)]
    hi, lo = got[1]
    out = c.cmd(b"UID FETCH %d:%d (FLAGS)" % (lo, hi))
    assert status(out) == b"OK"
    fetched = [l for l in out if re.match(rb"\* \d+ UIDFETCH ", l)]
    assert len(fetched) == 500
    assert not any(re.match(rb"\* \d+ FETCH ", l) for l in out)
    c.close()


def test_message_limit_lowers_the_minimum(roost_factory):
    # with MESSAGELIMIT=5 a batch of 5 fits one command; batches never
    # exceed the requested size (RFC 10022 3.1.3 with RFC 9738)
    r = roost_factory(imap__message_limit="5")
    for i in range(1, 9):
        r.deliver(MSG % (i, i), "alice@example.com")
    c = Raw(r)
    assert b" MESSAGELIMIT=5" in b"".join(c.cmd(b"CAPABILITY"))
    assert c.ok(b"SELECT INBOX")
    out = c.cmd(b"UIDBATCHES 4")
    assert status(out) == b"NO" and b"[TOOFEW]" in out[-1], out
    got = batches(c, b"5")
    assert got == [(8, 4), (3, 1)]
    for hi, lo in got:
        out = c.cmd(b"UID FETCH %d:%d (FLAGS)" % (lo, hi))
        assert status(out) == b"OK" and b"MESSAGELIMIT" not in out[-1], out
    assert batches(c, b"500") == [(8, 1)]
    c.close()
