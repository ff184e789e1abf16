"""MESSAGELIMIT (RFC 9738): the server advertises MESSAGELIMIT=n
(section 3). FETCH, STORE, MOVE, UID EXPUNGE and SEARCH (and their UID
forms) over more than n messages process the n with the highest UIDs,
highest first, and end OK [MESSAGELIMIT n uid] with the lowest UID
processed, so the client goes on below it (section 3.1). COPY and a
MULTIAPPEND are atomic: more than n is NO [MESSAGELIMIT n ...] and nothing
is done; so is a FETCH PARTIAL range wider than n, and SORT or THREAD over
more than n messages (section 3.3). UIDAFTER and UIDBEFORE (section 3.2)
narrow a search by UID. EXPUNGE and CLOSE are never limited.

Every test runs with imap.message_limit=5 over 8 messages (UIDs 1..8)
unless it says otherwise."""
import re

import pytest

from imap_raw import Raw

MSG = b"From: a@example.org\r\nSubject: m%d\r\nDate: Mon, %d Jan 2024 10:00:00 +0000\r\n\r\nbody %d\r\n"
LIMIT = 5
CODE = re.compile(rb"\[MESSAGELIMIT (\d+)(?: (\d+))?\]")


def tagged(out):
    return out[-1]


def status(out):
    return tagged(out).split()[1]


def code(line):
    """(limit, uid or None) from a [MESSAGELIMIT ...] code, or None."""
    m = CODE.search(line)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)) if m.group(2) else None


def fetch_numbers(out, word=b"FETCH"):
    """The message numbers of the untagged FETCH (or UIDFETCH) responses,
    in the order they came."""
    return [int(l.split()[1]) for l in out if re.match(rb"\* \d+ %s \(" % word, l)]


def fetch_uids(out):
    return [int(re.search(rb"UID (\d+)", l).group(1)) for l in out
            if re.match(rb"\* \d+ (UID)?FETCH \(", l)]


@pytest.fixture
def limited(roost_factory):
    r = roost_factory(imap__message_limit=str(LIMIT))
    for i in range(1, 9):
        r.deliver(MSG % (i, i, i), "alice@example.com")
    return r


def selected(roost, mailbox=b"INBOX"):
    c = Raw(roost)
    assert c.ok(b"SELECT " + mailbox)
    return c


# --- section 3: the capability ---

def test_capability_carries_the_configured_limit(limited):
    c = Raw(limited)
    caps = c.cmd(b"CAPABILITY")[0].split()
    assert b"MESSAGELIMIT=5" in caps, caps
    # SAVELIMIT is for a server that limits only COPY and APPEND: one or
    # the other, never both
    assert not any(w.startswith(b"SAVELIMIT") for w in caps), caps
    c.close()


def test_default_limit_is_advertised(roost):
    c = Raw(roost)
    caps = c.cmd(b"CAPABILITY")[0].split()
    assert b"MESSAGELIMIT=100000" in caps, caps
    c.close()


def test_limit_zero_is_not_advertised_and_limits_nothing(roost_factory):
    r = roost_factory(imap__message_limit="0")
    for i in range(1, 9):
        r.deliver(MSG % (i, i, i), "alice@example.com")
    c = selected(r)
    caps = c.cmd(b"CAPABILITY")[0].split()
    assert not any(w.startswith(b"MESSAGELIMIT") for w in caps), caps
    out = c.cmd(b"FETCH 1:* (FLAGS)")
    assert status(out) == b"OK" and code(tagged(out)) is None, out
    assert fetch_numbers(out) == list(range(1, 9))
    out = c.cmd(b"COPY 1:* Drafts")
    assert status(out) == b"OK", out
    out = c.cmd(b"SORT (ARRIVAL) UTF-8 ALL")
    assert status(out) == b"OK", out
    c.close()


# --- section 3.1: FETCH ---

def test_uid_fetch_over_the_limit_processes_the_highest_uids(limited):
    c = selected(limited)
    out = c.cmd(b"UID FETCH 1:* (FLAGS)")
    assert status(out) == b"OK", out
    # the 5 highest UIDs, from the highest down
    assert fetch_uids(out) == [8, 7, 6, 5, 4], out
    assert code(tagged(out)) == (LIMIT, 4), out
    # the client goes on below the lowest UID processed
    out = c.cmd(b"UID FETCH 1:3 (FLAGS)")
    assert status(out) == b"OK" and code(tagged(out)) is None, out
    assert fetch_uids(out) == [1, 2, 3], out
    c.close()


def test_fetch_by_sequence_number_over_the_limit(limited):
    c = selected(limited)
    out = c.cmd(b"FETCH 1:* (UID)")
    assert status(out) == b"OK", out
    assert fetch_numbers(out) == [8, 7, 6, 5, 4], out
    assert code(tagged(out)) == (LIMIT, 4), out
    c.close()


def test_fetch_under_and_at_the_limit_is_unchanged(limited):
    c = selected(limited)
    for line, want in ((b"FETCH 1:4 (FLAGS)", [1, 2, 3, 4]),
                       (b"FETCH 2:6 (FLAGS)", [2, 3, 4, 5, 6]),
                       (b"UID FETCH 4:8 (FLAGS)", [4, 5, 6, 7, 8])):
        out = c.cmd(line)
        assert status(out) == b"OK" and code(tagged(out)) is None, out
        assert fetch_numbers(out) == want, out
    c.close()


def test_fetch_body_over_the_limit_sets_seen_only_on_the_processed(limited):
    c = selected(limited)
    out = c.cmd(b"UID FETCH 1:* (BODY[TEXT])")
    assert code(tagged(out)) == (LIMIT, 4), out
    out = c.cmd(b"UID SEARCH UIDAFTER 3 SEEN")
    assert out[0].split()[2:] == [b"4", b"5", b"6", b"7", b"8"], out
    out = c.cmd(b"UID SEARCH UIDBEFORE 4 SEEN")
    assert out[0] == b"* SEARCH\r\n", out
    c.close()


def test_fetch_partial_page_over_the_limit_is_refused(limited):
    # PARTIAL (RFC 9394) is the client's own choice of messages: a page of
    # more than the limit is NO, with nothing sent, not cut to others
    c = selected(limited)
    for line in (b"UID FETCH 1:* (FLAGS) (PARTIAL 1:6)", b"FETCH 1:* (FLAGS) (PARTIAL -1:-100)"):
        out = c.cmd(line)
        assert status(out) == b"NO", out
        assert code(tagged(out)) == (LIMIT, None), out
        assert fetch_numbers(out) == [], out
    # what the page holds counts, not the range's width
    out = c.cmd(b"UID FETCH 4:* (FLAGS) (PARTIAL 1:4294967295)")
    assert status(out) == b"OK" and code(tagged(out)) is None, out
    assert fetch_uids(out) == [4, 5, 6, 7, 8], out
    out = c.cmd(b"UID FETCH 1:* (FLAGS) (PARTIAL -1:-5)")
    assert status(out) == b"OK" and code(tagged(out)) is None, out
    assert sorted(fetch_uids(out)) == [4, 5, 6, 7, 8], out
    c.close()


# --- section 3.1: STORE ---

def test_store_over_the_limit(limited):
    c = selected(limited)
    out = c.cmd(b"UID STORE 1:* +FLAGS (\\Flagged)")
    assert status(out) == b"OK", out
    assert code(tagged(out)) == (LIMIT, 4), out
    assert fetch_uids(out) == [8, 7, 6, 5, 4], out
    out = c.cmd(b"UID SEARCH UIDAFTER 3 FLAGGED")
    assert out[0].split()[2:] == [b"4", b"5", b"6", b"7", b"8"], out
    out = c.cmd(b"UID SEARCH UIDBEFORE 4 FLAGGED")
    assert out[0] == b"* SEARCH\r\n", out
    # going on below UID 4 does the rest
    out = c.cmd(b"UID STORE 1:3 +FLAGS.SILENT (\\Flagged)")
    assert status(out) == b"OK" and code(tagged(out)) is None, out
    out = c.cmd(b"SEARCH UID 1:5 FLAGGED")
    assert out[0].split()[2:] == [b"1", b"2", b"3", b"4", b"5"], out
    c.close()


def test_store_by_sequence_number_over_the_limit(limited):
    c = selected(limited)
    out = c.cmd(b"STORE 1:* +FLAGS.SILENT (\\Seen)")
    assert status(out) == b"OK", out
    assert code(tagged(out)) == (LIMIT, 4), out
    out = c.cmd(b"SEARCH UID 1:5 UNSEEN")
    assert out[0].split()[2:] == [b"1", b"2", b"3"], out
    c.close()


def test_store_with_modified_sends_messagelimit_untagged(limited):
    # one response code per response: with [MODIFIED] on the tagged OK,
    # MESSAGELIMIT comes in an untagged NO
    c = selected(limited)
    out = c.cmd(b"UID FETCH 8 (MODSEQ)")
    modseq = int(re.search(rb"MODSEQ \((\d+)\)", b"".join(out)).group(1))
    assert c.ok(b"UID STORE 8 +FLAGS.SILENT (\\Answered)")
    out = c.cmd(b"UID STORE 1:* (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Flagged)" % modseq)
    assert status(out) == b"OK", out
    assert re.search(rb"\[MODIFIED 8\]", tagged(out)), out
    untagged = [l for l in out if l.startswith(b"* NO [MESSAGELIMIT")]
    assert len(untagged) == 1 and code(untagged[0]) == (LIMIT, 4), out
    c.close()


# --- section 3.1: COPY is atomic, MOVE is not ---

def mailbox_count(c, name):
    out = c.cmd(b"STATUS " + name + b" (MESSAGES)")
    return int(re.search(rb"MESSAGES (\d+)", out[0]).group(1))


def test_copy_over_the_limit_copies_nothing(limited):
    c = selected(limited)
    for line in (b"COPY 1:* Drafts", b"UID COPY 1:* Drafts"):
        out = c.cmd(line)
        assert status(out) == b"NO", out
        # the UID where a split would start
        assert code(tagged(out)) == (LIMIT, 4), out
        assert mailbox_count(c, b"Drafts") == 0
    out = c.cmd(b"UID COPY 4:* Drafts")
    assert status(out) == b"OK" and code(tagged(out)) is None, out
    assert b"[COPYUID " in tagged(out)
    assert mailbox_count(c, b"Drafts") == 5
    c.close()


def test_uid_move_over_the_limit_moves_the_highest_and_continues(limited):
    c = selected(limited)
    out = c.cmd(b"UID MOVE 1:* Drafts")
    assert status(out) == b"OK", out
    assert code(tagged(out)) == (LIMIT, 4), out
    m = [l for l in out if b"[COPYUID " in l]
    assert m and re.search(rb"\[COPYUID \d+ 4:8 ", m[0]), out
    assert mailbox_count(c, b"Drafts") == 5
    out = c.cmd(b"UID FETCH 1:* (UID)")
    assert fetch_uids(out) == [1, 2, 3], out
    out = c.cmd(b"UID MOVE 1:3 Drafts")
    assert status(out) == b"OK" and code(tagged(out)) is None, out
    assert mailbox_count(c, b"Drafts") == 8
    assert mailbox_count(c, b"INBOX") == 0
    c.close()


def test_move_by_sequence_number_over_the_limit(limited):
    c = selected(limited)
    out = c.cmd(b"MOVE 1:* Drafts")
    assert status(out) == b"OK", out
    assert code(tagged(out)) == (LIMIT, 4), out
    assert mailbox_count(c, b"INBOX") == 3
    c.close()


# --- section 3.1: UID EXPUNGE is limited, EXPUNGE is not ---

def test_uid_expunge_over_the_limit(limited):
    c = selected(limited)
    assert c.ok(b"STORE 1:5 +FLAGS.SILENT (\\Deleted)")
    assert c.ok(b"UID STORE 6:8 +FLAGS.SILENT (\\Deleted)")
    out = c.cmd(b"UID EXPUNGE 1:*")
    assert status(out) == b"OK", out
    assert code(tagged(out)) == (LIMIT, 4), out
    assert sum(1 for l in out if re.match(rb"\* \d+ EXPUNGE", l)) == 5, out
    out = c.cmd(b"UID EXPUNGE 1:3")
    assert status(out) == b"OK" and code(tagged(out)) is None, out
    assert mailbox_count(c, b"INBOX") == 0
    c.close()


def test_uid_expunge_counts_only_deleted_messages(limited):
    c = selected(limited)
    assert c.ok(b"UID STORE 2,4,6,8 +FLAGS.SILENT (\\Deleted)")
    out = c.cmd(b"UID EXPUNGE 1:*")
    assert status(out) == b"OK" and code(tagged(out)) is None, out
    assert mailbox_count(c, b"INBOX") == 4
    c.close()


def test_expunge_is_never_limited(limited):
    c = selected(limited)
    assert c.ok(b"UID STORE 1:5 +FLAGS.SILENT (\\Deleted)")
    assert c.ok(b"UID STORE 6:8 +FLAGS.SILENT (\\Deleted)")
    out = c.cmd(b"EXPUNGE")
    assert status(out) == b"OK" and code(tagged(out)) is None, out
    assert sum(1 for l in out if re.match(rb"\* \d+ EXPUNGE", l)) == 8, out
    c.close()


# --- section 3.1: SEARCH counts the messages it looks at ---

def test_search_over_the_limit_searches_the_highest_uids(limited):
    c = selected(limited)
    out = c.cmd(b"UID SEARCH ALL")
    assert status(out) == b"OK", out
    # answered from the highest UID down
    assert out[0] == b"* SEARCH 8 7 6 5 4\r\n", out
    assert code(tagged(out)) == (LIMIT, 4), out
    # the rest, with UIDBEFORE (section 3.2)
    out = c.cmd(b"UID SEARCH UIDBEFORE 4")
    assert out[0] == b"* SEARCH 1 2 3\r\n", out
    assert code(tagged(out)) is None, out
    c.close()


def test_search_counts_searched_not_matching_messages(limited):
    # no message matches, but 8 would be looked at
    c = selected(limited)
    out = c.cmd(b"SEARCH DELETED")
    assert out[0] == b"* SEARCH\r\n", out
    assert code(tagged(out)) == (LIMIT, 4), out
    # a top-level UID set narrows what is looked at
    out = c.cmd(b"SEARCH UID 2:6 DELETED")
    assert out[0] == b"* SEARCH\r\n" and code(tagged(out)) is None, out
    out = c.cmd(b"SEARCH 1:3 NOT DELETED")
    assert out[0] == b"* SEARCH 1 2 3\r\n" and code(tagged(out)) is None, out
    c.close()


def test_search_with_messages_below_the_limit_is_unchanged(limited):
    c = selected(limited)
    out = c.cmd(b"UID SEARCH UIDAFTER 3")
    assert out[0] == b"* SEARCH 4 5 6 7 8\r\n", out
    assert code(tagged(out)) is None, out
    c.close()


def test_esearch_and_searchres_over_the_limit(limited):
    c = selected(limited)
    out = c.cmd(b"UID SEARCH RETURN (ALL COUNT SAVE) ALL")
    assert status(out) == b"OK", out
    assert re.search(rb"ALL 4:8 COUNT 5", out[0]), out
    assert code(tagged(out)) == (LIMIT, 4), out
    # "$" holds what was searched and found, no more
    out = c.cmd(b"UID FETCH $ (UID)")
    assert sorted(fetch_uids(out)) == [4, 5, 6, 7, 8], out
    c.close()


# --- section 3.2: UIDAFTER and UIDBEFORE ---

def test_uidafter_uidbefore(limited):
    c = selected(limited)
    out = c.cmd(b"UID SEARCH UIDAFTER 5 UIDBEFORE 8")
    assert out[0] == b"* SEARCH 6 7\r\n", out
    out = c.cmd(b"UID SEARCH UIDBEFORE 1")
    assert out[0] == b"* SEARCH\r\n", out
    out = c.cmd(b"UID SEARCH UIDAFTER 4294967295")
    assert out[0] == b"* SEARCH\r\n", out
    # OR does not narrow what is looked at: only top-level keys do
    out = c.cmd(b"UID SEARCH OR UIDBEFORE 2 UIDAFTER 7")
    assert out[0] == b"* SEARCH 8\r\n" and code(tagged(out)) == (LIMIT, 4), out
    out = c.cmd(b"UID SEARCH UID 1:4 OR UIDBEFORE 2 UIDAFTER 3")
    assert out[0] == b"* SEARCH 1 4\r\n" and code(tagged(out)) is None, out
    for bad in (b"UIDAFTER 0", b"UIDAFTER 1:3", b"UIDBEFORE *", b"UIDBEFORE"):
        out = c.cmd(b"UID SEARCH " + bad)
        assert status(out) == b"BAD", (bad, out)
    c.close()


def test_paging_a_mailbox_with_uidbefore(limited):
    # section 3.2's use: walk the whole mailbox down by UID
    c = selected(limited)
    found, line = [], b"UID SEARCH ALL"
    for _ in range(4):
        out = c.cmd(line)
        found += [int(x) for x in out[0].split()[2:]]
        got = code(tagged(out))
        if got is None:
            break
        line = b"UID SEARCH UIDBEFORE %d" % got[1]
    assert sorted(found) == list(range(1, 9)), found
    c.close()


# --- section 3.3: SORT and THREAD are refused whole ---

def test_sort_and_thread_over_the_limit_are_refused(limited):
    c = selected(limited)
    for line in (b"SORT (DATE) UTF-8 ALL", b"UID SORT (ARRIVAL) UTF-8 ALL",
                 b"THREAD REFERENCES UTF-8 ALL"):
        out = c.cmd(line)
        assert status(out) == b"NO", out
        assert code(tagged(out)) == (LIMIT, None), out
    out = c.cmd(b"UID SORT (REVERSE DATE) UTF-8 UIDAFTER 3")
    assert status(out) == b"OK" and code(tagged(out)) is None, out
    assert out[0] == b"* SORT 8 7 6 5 4\r\n", out
    out = c.cmd(b"UID THREAD REFERENCES UTF-8 UIDBEFORE 6")
    assert status(out) == b"OK", out
    c.close()


# --- section 3.1: APPEND (MULTIAPPEND) is all or none ---

def lit(data):
    return b"{%d+}\r\n" % len(data) + data


def test_multiappend_over_the_limit_appends_nothing(limited):
    c = Raw(limited)
    msgs = [MSG % (i, i, i) for i in range(1, 7)]
    out = c.cmd(b"APPEND Drafts " + b" ".join(lit(m) for m in msgs))
    assert status(out) == b"NO", out
    assert code(tagged(out)) == (LIMIT, None), out
    assert mailbox_count(c, b"Drafts") == 0
    out = c.cmd(b"APPEND Drafts " + b" ".join(lit(m) for m in msgs[:5]))
    assert status(out) == b"OK", out
    assert mailbox_count(c, b"Drafts") == 5
    c.close()


# --- with UIDONLY (RFC 9586) ---

def test_uidonly_uid_fetch_over_the_limit(limited):
    c = Raw(limited)
    assert c.cmd(b"ENABLE UIDONLY")[0] == b"* ENABLED UIDONLY\r\n"
    assert c.ok(b"SELECT INBOX")
    out = c.cmd(b"UID FETCH 1:* (FLAGS)")
    assert status(out) == b"OK", out
    assert fetch_numbers(out, b"UIDFETCH") == [8, 7, 6, 5, 4], out
    assert code(tagged(out)) == (LIMIT, 4), out
    out = c.cmd(b"UID FETCH 1:3 (FLAGS)")
    assert fetch_numbers(out, b"UIDFETCH") == [1, 2, 3], out
    c.close()


# --- a store read that fails in a command the limit cut ---
# `roost debug fail-reads` (test_store_faults.py) fails the daemon's next
# reads; search.fts = no keeps the indexer's own reads out of the count.

@pytest.fixture
def faulty(roost_factory):
    r = roost_factory(imap__message_limit=str(LIMIT), debug__fault_injection="yes",
                      search__fts="no")
    for i in range(1, 9):
        r.deliver(MSG % (i, i, i), "alice@example.com")
    return r


def without_tags(out):
    """The untagged responses, ESEARCH's (TAG "...") left out."""
    return [re.sub(rb'\(TAG "[^"]*"\) ', b"", l) for l in out[:-1]]


@pytest.mark.parametrize("kind", ["ioerr", "busy"])
@pytest.mark.parametrize("line, skip", [
    (b"UID FETCH 1:* (ENVELOPE)", 0),
    (b"UID FETCH 1:* (ENVELOPE)", 2),
    (b"FETCH 1:* (BODY.PEEK[])", 0),
    (b"FETCH 1:* (BODY.PEEK[])", 2),
    (b"UID FETCH 1:* (RFC822.SIZE INTERNALDATE)", 0),
    (b"UID SEARCH BODY body", 0),
    (b"UID SEARCH BODY body", 2),
    (b"SEARCH RETURN (COUNT) SUBJECT m", 0),
])
def test_read_fault_in_a_cut_command_is_unavailable(faulty, kind, line, skip):
    """The limit cut the command (OK [MESSAGELIMIT 5 4] without faults);
    a read failing after `skip` good ones is NO [UNAVAILABLE] like any
    other temporary store error (imap-op.h), not a bare NO and not a cut
    answer; what was sent before is the top of the cut answer, and the
    retry is the whole cut answer again."""
    c = selected(faulty)
    full = c.cmd(line)
    assert status(full) == b"OK" and code(tagged(full)) == (LIMIT, 4), full
    faulty.cli("debug", "fail-reads", "100000", kind, str(skip))
    out = c.cmd(line)
    faulty.cli("debug", "fail-reads", "0", "ioerr")
    assert status(out) == b"NO", out
    assert tagged(out).split()[2] == b"[UNAVAILABLE]", out
    assert code(tagged(out)) is None, out
    got = fetch_numbers(out)
    assert got == fetch_numbers(full)[:len(got)], out
    again = c.cmd(line)
    assert without_tags(again) == without_tags(full), again
    assert status(again) == b"OK" and code(tagged(again)) == (LIMIT, 4), again
    c.close()
