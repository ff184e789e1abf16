"""METADATA and METADATA-SERVER (RFC 5464): the RFC's examples, the
limits and their response codes, entries going with their mailbox, and
isolation between accounts."""
import re
import socket

from imap_raw import Raw


def lit(data):
    return b"{%d+}\r\n" % len(data) + data


def text(out):
    return b"".join(out)


def login(roost, user):
    c = Raw(roost, login=False)
    assert c.ok(b"LOGIN " + user + b" secret")
    return c


def test_capability_only_after_login(roost):
    c = Raw(roost, login=False)
    assert b"METADATA" not in text(c.cmd(b"CAPABILITY"))
    out = c.cmd(b"GETMETADATA \"\" /shared/comment")
    assert out[-1].split()[1] == b"BAD", out
    assert c.ok(b"LOGIN alice@example.com secret")
    caps = c.cmd(b"CAPABILITY")[0].split()
    assert b"METADATA" in caps and b"METADATA-SERVER" in caps


def test_rfc_server_and_mailbox_examples(roost):
    c = Raw(roost)
    # RFC 5464 4.3: a server annotation
    assert c.ok(b"SETMETADATA \"\" (/shared/comment \"Shared comment\")")
    out = c.cmd(b"GETMETADATA \"\" /shared/comment")
    assert out[0] == b"* METADATA \"\" (/shared/comment \"Shared comment\")\r\n", out
    assert out[-1].split()[1] == b"OK"
    # RFC 5464 4.3: a multi-line value in a literal
    c.s.sendall(b"a1 SETMETADATA INBOX (/private/comment {33}\r\n")
    assert c.f.readline().startswith(b"+")
    c.s.sendall(b"My new comment across\r\ntwo lines.)\r\n")
    assert c.read_tagged(b"a1")[-1].startswith(b"a1 OK")
    assert c.ok(b"SETMETADATA INBOX (/shared/comment \"Shared comment\")")
    # RFC 5464 4.2: one entry, then two of one mailbox in one response
    out = c.cmd(b"GETMETADATA \"INBOX\" /private/comment")
    assert out[0] == b"* METADATA \"INBOX\" (/private/comment {33}\r\n", out
    assert out[1] == b"My new comment across\r\n" and out[2] == b"two lines.)\r\n"
    out = c.cmd(b"GETMETADATA \"INBOX\" (/shared/comment /private/comment)")
    t = text(out)
    assert t.startswith(b"* METADATA \"INBOX\" (/shared/comment \"Shared comment\""
                        b" /private/comment {33}\r\nMy new comment"), t
    # RFC 5464 4.3: NIL removes the entry; a missing entry reads as NIL
    assert c.ok(b"SETMETADATA INBOX (/private/comment NIL)")
    out = c.cmd(b"GETMETADATA INBOX /private/comment")
    assert out[0] == b"* METADATA \"INBOX\" (/private/comment NIL)\r\n", out
    # the server's entries are not the mailbox's
    out = c.cmd(b"GETMETADATA INBOX /shared/comment")
    assert out[0] == b"* METADATA \"INBOX\" (/shared/comment \"Shared comment\")\r\n"
    assert c.ok(b"SETMETADATA \"\" (/shared/comment NIL)")
    out = c.cmd(b"GETMETADATA \"\" /shared/comment")
    assert out[0] == b"* METADATA \"\" (/shared/comment NIL)\r\n", out


def test_entry_names_are_case_insensitive(roost):
    c = Raw(roost)
    assert c.ok(b"SETMETADATA INBOX (/Private/Vendor/Roost/Color \"red\")")
    out = c.cmd(b"GETMETADATA INBOX /private/vendor/roost/color")
    assert b"\"red\"" in out[0], out


def test_maxsize_longentries(roost):
    c = Raw(roost)
    big = b"x" * 2199
    assert c.ok(b"SETMETADATA INBOX (/shared/comment " + lit(big) +
                b" /private/comment \"My own comment\")")
    # RFC 5464 4.2.1, options before the mailbox (the grammar) ...
    out = c.cmd(b"GETMETADATA (MAXSIZE 1024) \"INBOX\" (\"/shared/comment\" \"/private/comment\")")
    assert out[0] == b"* METADATA \"INBOX\" (/private/comment \"My own comment\")\r\n", out
    assert b"OK [METADATA LONGENTRIES 2199]" in out[-1], out
    # ... and after it (the RFC's example)
    out = c.cmd(b"GETMETADATA \"INBOX\" (MAXSIZE 1024) (\"/shared/comment\" \"/private/comment\")")
    assert b"OK [METADATA LONGENTRIES 2199]" in out[-1], out
    out = c.cmd(b"GETMETADATA (MAXSIZE 4096) INBOX /shared/comment")
    assert b"LONGENTRIES" not in out[-1] and big in text(out)
    # nothing fits: no METADATA response at all (its list may not be empty)
    out = c.cmd(b"GETMETADATA (MAXSIZE 10) INBOX /shared/comment")
    assert len(out) == 1 and b"LONGENTRIES 2199" in out[-1], out


def test_depth(roost):
    c = Raw(roost)
    assert c.ok(b"SETMETADATA INBOX (/private/filters/values/small \"SMALLER THAN 1MB\""
                b" /private/filters/values/big \"BIGGER THAN 1MB\""
                b" /private/filters/values/big/deeper \"deep\""
                b" /private/filtersx \"not a child\")")
    # RFC 5464 4.2.2
    out = c.cmd(b"GETMETADATA (DEPTH 1) INBOX (/private/filters/values)")
    t = text(out)
    assert b"/private/filters/values/small \"SMALLER THAN 1MB\"" in t
    assert b"/private/filters/values/big \"BIGGER THAN 1MB\"" in t
    assert b"deeper" not in t and b"filtersx" not in t
    assert b"/private/filters/values NIL" not in t
    out = c.cmd(b"GETMETADATA (DEPTH infinity) INBOX /private/filters")
    t = text(out)
    assert b"/private/filters/values/big/deeper \"deep\"" in t and b"filtersx" not in t
    out = c.cmd(b"GETMETADATA (DEPTH infinity) INBOX /private")
    assert b"filtersx" in text(out)
    out = c.cmd(b"GETMETADATA (DEPTH 0) INBOX /private/filters/values")
    assert out[0] == b"* METADATA \"INBOX\" (/private/filters/values NIL)\r\n", out
    out = c.cmd(b"GETMETADATA (DEPTH 2) INBOX /private/filters/values")
    assert out[-1].split()[1] == b"BAD", out


def test_bad_entry_names(roost):
    c = Raw(roost)
    for name in (b"/comment", b"/private//x", b"/private/x/", b"/private/a*b",
                 b"/private/a%b", b"/private", b"/sharedx/y", b"private/x"):
        out = c.cmd(b"SETMETADATA INBOX (" + name + b" \"v\")")
        assert out[-1].split()[1] == b"BAD", (name, out)
    out = c.cmd(b"GETMETADATA INBOX /private/" + b"a" * 2000)
    assert out[-1].split()[1] == b"BAD", out
    out = c.cmd(b"SETMETADATA NoSuchBox (/private/comment \"v\")")
    assert b"NO [NONEXISTENT]" in out[-1], out
    out = c.cmd(b"GETMETADATA NoSuchBox /private/comment")
    assert b"NO [NONEXISTENT]" in out[-1], out


def test_value_too_large_is_maxsize(roost):
    c = Raw(roost)
    assert c.ok(b"SETMETADATA INBOX (/private/comment \"old\")")
    big = b"y" * (64 * 1024 + 1)
    out = c.cmd(b"SETMETADATA INBOX (/private/other \"x\" /private/comment " + lit(big) + b")")
    assert b"NO [METADATA MAXSIZE 65536]" in out[-1], out
    out = c.cmd(b"GETMETADATA INBOX (/private/comment /private/other)")
    assert out[0] == b"* METADATA \"INBOX\" (/private/comment \"old\" /private/other NIL)\r\n"
    # exactly the limit is fine
    assert c.ok(b"SETMETADATA INBOX (/private/comment " + lit(big[:-1]) + b")")


def test_huge_literal_before_and_after_login(roost):
    # before login: no continuation for a value, whatever its size
    s = socket.create_connection(("127.0.0.1", roost.port("imap")), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a SETMETADATA \"\" (/shared/comment {50000000}\r\n")
    l = f.readline()
    assert not l.startswith(b"+") and (l.startswith(b"a NO") or l.startswith(b"a BAD")
                                       or l.startswith(b"* BYE")), l
    s.close()
    # after login: a literal over the command limit is refused before it is read
    c = Raw(roost)
    c.s.sendall(b"b SETMETADATA \"\" (/shared/comment {50000000}\r\n")
    l = c.f.readline()
    assert l.startswith(b"b NO"), l
    assert c.ok(b"NOOP")
    out = c.cmd(b"GETMETADATA \"\" /shared/comment")
    assert out[0] == b"* METADATA \"\" (/shared/comment NIL)\r\n"


def test_too_many_entries_all_or_nothing(roost):
    c = Raw(roost)
    entries = b" ".join(b"/private/e%d \"v\"" % i for i in range(200))
    assert c.ok(b"SETMETADATA INBOX (" + entries + b")")
    out = c.cmd(b"SETMETADATA INBOX (/private/e0 NIL /private/new1 \"a\" /private/new2 \"b\")")
    assert b"NO [METADATA TOOMANY]" in out[-1], out
    # nothing of the refused command was stored, not even the removal
    out = c.cmd(b"GETMETADATA INBOX (/private/e0 /private/new1)")
    assert out[0] == b"* METADATA \"INBOX\" (/private/e0 \"v\" /private/new1 NIL)\r\n", out
    # replacing a value needs no new entry
    assert c.ok(b"SETMETADATA INBOX (/private/e1 \"changed\")")
    # another mailbox has its own count
    assert c.ok(b"SETMETADATA Drafts (/private/new1 \"a\")")
    # one command of more entries than a mailbox may hold
    many = b" ".join(b"/private/m%d \"v\"" % i for i in range(201))
    out = c.cmd(b"SETMETADATA Trash (" + many + b")")
    assert b"NO [METADATA TOOMANY]" in out[-1], out


def test_account_total_limit(roost):
    c = Raw(roost)
    value = b"z" * 60000
    stored = 0
    # 1 MiB per account: 17 values of 60,000 octets, spread over mailboxes
    for box in (b"INBOX", b"Drafts", b"Sent", b"\"\""):
        for i in range(6):
            out = c.cmd(b"SETMETADATA " + box + b" (/private/v%d " % i + lit(value) + b")")
            if out[-1].split()[1] != b"OK":
                assert b"NO [METADATA TOOMANY]" in out[-1], out
                assert stored == 17, stored
                # what is stored is whole, and one GETMETADATA asking for
                # everything many times over sends each entry once
                asks = b" ".join([b"/private", b"/private/v0"] * 50)
                out = c.cmd(b"GETMETADATA (DEPTH infinity) INBOX (" + asks + b")")
                t = b"".join(out)
                assert t.count(b"/private/v0 {60000}") == 1 and len(t) < 400000, len(t)
                return
            stored += 1
    raise AssertionError("no account limit after %d values" % stored)


def test_entries_go_with_their_mailbox_and_follow_rename(roost):
    c = Raw(roost)
    assert c.ok(b"CREATE Projects")
    assert c.ok(b"CREATE Projects/Sub")
    assert c.ok(b"SETMETADATA Projects (/private/comment \"parent\")")
    assert c.ok(b"SETMETADATA Projects/Sub (/shared/comment \"child\")")
    assert c.ok(b"RENAME Projects Work")
    out = c.cmd(b"GETMETADATA Work /private/comment")
    assert out[0] == b"* METADATA \"Work\" (/private/comment \"parent\")\r\n", out
    out = c.cmd(b"GETMETADATA Work/Sub /shared/comment")
    assert out[0] == b"* METADATA \"Work/Sub\" (/shared/comment \"child\")\r\n", out
    assert c.ok(b"DELETE Work/Sub")
    assert c.ok(b"CREATE Work/Sub")
    out = c.cmd(b"GETMETADATA Work/Sub /shared/comment")
    assert out[0] == b"* METADATA \"Work/Sub\" (/shared/comment NIL)\r\n", out
    # a new mailbox under an old name starts empty too
    assert c.ok(b"CREATE Projects")
    out = c.cmd(b"GETMETADATA Projects /private/comment")
    assert out[0] == b"* METADATA \"Projects\" (/private/comment NIL)\r\n", out
    roost.stop()
    roost.start()
    out = roost.cli("check").stdout
    assert "metadata" not in out.lower(), out


def test_accounts_never_see_each_other(roost):
    roost.add_user("bob@example.com")
    roost.add_user("eve@example.com")
    bob = login(roost, b"bob@example.com")
    assert bob.ok(b"CREATE BobOnly")
    assert bob.ok(b"SETMETADATA \"\" (/shared/comment \"bob server\" /private/x \"bob\")")
    assert bob.ok(b"SETMETADATA INBOX (/shared/comment \"bob inbox\")")
    assert bob.ok(b"SETMETADATA BobOnly (/private/secret \"bob's\")")
    eve = login(roost, b"eve@example.com")
    # the same names are eve's own: empty
    out = eve.cmd(b"GETMETADATA (DEPTH infinity) \"\" (/shared /private)")
    assert b"bob" not in text(out), out
    out = eve.cmd(b"GETMETADATA INBOX /shared/comment")
    assert out[0] == b"* METADATA \"INBOX\" (/shared/comment NIL)\r\n", out
    out = eve.cmd(b"GETMETADATA BobOnly /private/secret")
    assert b"NO [NONEXISTENT]" in out[-1] and b"bob" not in text(out), out
    out = eve.cmd(b"SETMETADATA BobOnly (/private/secret \"eve\")")
    assert b"NO [NONEXISTENT]" in out[-1], out
    # eve's writes do not reach bob's entries
    assert eve.ok(b"SETMETADATA INBOX (/shared/comment \"eve inbox\")")
    assert eve.ok(b"SETMETADATA \"\" (/shared/comment NIL)")
    out = bob.cmd(b"GETMETADATA INBOX /shared/comment")
    assert b"\"bob inbox\"" in out[0], out
    out = bob.cmd(b"GETMETADATA \"\" /shared/comment")
    assert b"\"bob server\"" in out[0], out
    # a deleted account takes its entries along; a new account of the same
    # address starts with none
    bob.close()
    roost.cli("user", "del", "bob@example.com")
    roost.add_user("bob@example.com")
    bob = login(roost, b"bob@example.com")
    out = bob.cmd(b"GETMETADATA (DEPTH infinity) \"\" /shared")
    assert b"bob server" not in text(out), out
    out = bob.cmd(b"GETMETADATA INBOX /shared/comment")
    assert out[0] == b"* METADATA \"INBOX\" (/shared/comment NIL)\r\n", out


def test_binary_value_comes_back_as_literal8(roost):
    c = Raw(roost)
    value = b"a\x00b\xff"
    assert c.ok(b"SETMETADATA INBOX (/private/bin ~{4+}\r\n" + value + b")")
    out = c.cmd(b"GETMETADATA INBOX /private/bin")
    assert out[0] == b"* METADATA \"INBOX\" (/private/bin ~{4}\r\n", out
    assert out[1].startswith(value + b")"), out


def test_check_reports_entries_of_another_accounts_mailbox(roost):
    roost.add_user("bob@example.com")
    c = Raw(roost)
    assert c.ok(b"SETMETADATA INBOX (/private/comment \"alice\")")
    c.close()
    assert roost.cli("check").stdout == "clean\n"
    assert roost.stop() == 0
    [(bob,)] = roost.sql("SELECT id FROM accounts WHERE address = 'bob@example.com'")
    [(alice_inbox,)] = roost.sql("SELECT b.id FROM mailboxes b JOIN accounts a ON a.id ="
                                 " b.account_id WHERE a.address = 'alice@example.com'"
                                 " AND b.name = 'INBOX'")
    roost.sql("INSERT INTO metadata VALUES (?, ?, '/private/x', ?)", bob, alice_inbox,
              b"bob on alice")
    p = roost.cli("check", check=False)
    assert p.returncode == 1, p.stdout
    assert "metadata: 1 entries of account %d, mailbox %d" % (bob, alice_inbox) in p.stdout


def test_notify_metadata_events(roost):
    """RFC 5465 5.6, 5.7: MailboxMetadataChange and ServerMetadataChange
    bring the unsolicited METADATA response of RFC 5464 4.4.2 (names only),
    to the account's other sessions that asked for them, and to no one else."""
    roost.add_user("bob@example.com")
    watcher = Raw(roost)
    out = watcher.cmd(b"NOTIFY SET (INBOXES (MailboxMetadataChange)) (PERSONAL (ServerMetadataChange))")
    assert out[-1].split()[1] == b"OK", out
    both = Raw(roost)
    assert both.ok(b"NOTIFY SET (PERSONAL (MailboxMetadataChange ServerMetadataChange))")
    bob = login(roost, b"bob@example.com")
    assert bob.ok(b"NOTIFY SET (PERSONAL (MailboxMetadataChange ServerMetadataChange))")
    writer = Raw(roost)
    assert writer.ok(b"SETMETADATA INBOX (/private/comment \"x\" /shared/comment NIL)")
    got = watcher.wait_for(b"* METADATA")
    assert got[-1] == b"* METADATA \"INBOX\" \"/private/comment\" \"/shared/comment\"\r\n", got
    assert both.wait_for(b"* METADATA")[-1] == got[-1]
    assert writer.ok(b"SETMETADATA \"\" (/shared/motd \"hello\")")
    assert watcher.wait_for(b"* METADATA")[-1] == b"* METADATA \"\" \"/shared/motd\"\r\n"
    # a mailbox outside the watcher's INBOXES group: only `both` hears
    assert writer.ok(b"SETMETADATA Drafts (/private/comment \"d\")")
    assert both.wait_for(b"* METADATA \"Drafts\"")[-1] == \
        b"* METADATA \"Drafts\" \"/private/comment\"\r\n"
    out = watcher.cmd(b"NOOP")
    assert not any(l.startswith(b"* METADATA") for l in out), out
    # the writer is not told of its own change, bob never of alice's
    for c in (writer, bob):
        out = c.cmd(b"NOOP")
        assert not any(l.startswith(b"* METADATA") for l in out), out
