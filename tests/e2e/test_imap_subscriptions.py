"""Subscriptions are names, not mailboxes (RFC 3501 6.3.6-6.3.9, RFC 9051
6.3.7-6.3.8, RFC 5258 3.1): CREATE does not subscribe, SUBSCRIBE takes a
name with no mailbox, DELETE leaves the subscription, LIST (SUBSCRIBED)
shows such a name as \\NonExistent and LSUB as \\Noselect; an unsubscribed
parent of a subscribed child is a \\Noselect level of LSUB "%". RENAME
carries the subscription to the new name. The folders a new account gets
are subscribed."""
import re
import subprocess

from imap_raw import Raw


def listing(r, cmd, verb=b"LIST"):
    """{name: attrs} of the untagged replies."""
    out = r.cmd(cmd)
    assert out[-1].split()[1] == b"OK", out
    got = {}
    for l in out[:-1]:
        m = re.match(rb"\* " + verb + rb' \(([^)]*)\) "/" ("[^"]*"|\S+)', l)
        if m:
            got[m.group(2).strip(b'"').decode()] = set(m.group(1).decode().split())
    return got


def test_default_folders_subscribed_create_does_not_subscribe(roost):
    r = Raw(roost)
    try:
        got = listing(r, b'LSUB "" "*"', b"LSUB")
        assert set(got) == {"INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"}, got
        assert r.ok(b"CREATE Fresh")
        assert "Fresh" not in listing(r, b'LSUB "" "*"', b"LSUB")
        assert "Fresh" not in listing(r, b'LIST (SUBSCRIBED) "" "*"')
        assert "\\Subscribed" not in listing(r, b'LIST "" "*" RETURN (SUBSCRIBED)')["Fresh"]
    finally:
        r.close()


def test_subscribe_nonexistent_and_delete_keeps_it(roost):
    r = Raw(roost)
    try:
        assert r.ok(b"SUBSCRIBE Later")
        got = listing(r, b'LIST (SUBSCRIBED) "" "*"')
        assert got["Later"] >= {"\\NonExistent", "\\Subscribed"}, got
        got = listing(r, b'LSUB "" "*"', b"LSUB")
        assert "\\Noselect" in got["Later"], got
        # a plain LIST lists only mailboxes
        assert "Later" not in listing(r, b'LIST "" "*"')
        # created later: now a mailbox, still subscribed
        assert r.ok(b"CREATE Later")
        got = listing(r, b'LIST (SUBSCRIBED) "" "*"')
        assert "\\NonExistent" not in got["Later"] and "\\Subscribed" in got["Later"], got
        # DELETE does not unsubscribe (RFC 3501 6.3.6)
        assert r.ok(b"DELETE Later")
        got = listing(r, b'LIST (SUBSCRIBED) "" "*"')
        assert "\\NonExistent" in got["Later"], got
        assert "Later" in listing(r, b'LSUB "" "*"', b"LSUB")
        # and UNSUBSCRIBE takes the name with no mailbox off the list
        assert r.ok(b"UNSUBSCRIBE Later")
        assert "Later" not in listing(r, b'LIST (SUBSCRIBED) "" "*"')
        # a name no mailbox could have is refused
        assert r.cmd(b'SUBSCRIBE "a//b"')[-1].split()[1] == b"NO"
    finally:
        r.close()


def test_lsub_percent_unsubscribed_parent_is_noselect(roost):
    r = Raw(roost)
    try:
        assert r.ok(b"CREATE Top/Sub")
        assert r.ok(b"SUBSCRIBE Top/Sub")
        got = listing(r, b'LSUB "" "%"', b"LSUB")
        assert "\\Noselect" in got["Top"], got
        got = listing(r, b'LSUB "" "*"', b"LSUB")
        assert "Top" not in got and "Top/Sub" in got, got
        # the same with a child subscribed that has no mailbox at all
        assert r.ok(b"SUBSCRIBE Ghost/Child")
        got = listing(r, b'LSUB "" "%"', b"LSUB")
        assert "\\Noselect" in got["Ghost"], got
        got = listing(r, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
        assert "Ghost" in got, got
    finally:
        r.close()


def test_rename_carries_the_subscription(roost):
    r = Raw(roost)
    try:
        assert r.ok(b"CREATE Old/Kid")
        assert r.ok(b"SUBSCRIBE Old")
        assert r.ok(b"SUBSCRIBE Old/Kid")
        assert r.ok(b"RENAME Old New")
        got = listing(r, b'LSUB "" "*"', b"LSUB")
        assert "New" in got and "New/Kid" in got, got
        assert "Old" not in got and "Old/Kid" not in got, got
    finally:
        r.close()


def test_subscriptions_survive_a_restart(roost):
    r = Raw(roost)
    assert r.ok(b"SUBSCRIBE Kept")
    r.close()
    roost.stop()
    roost.start()
    r = Raw(roost)
    try:
        assert "Kept" in listing(r, b'LSUB "" "*"', b"LSUB")
    finally:
        r.close()
