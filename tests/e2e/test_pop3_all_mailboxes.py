"""pop3.mailboxes = all (src/pop3/pop3-maildrop.c, src/store/store-pop3-all.c):
POP3 also sees what Sieve rules filed into folders, never Trash, Junk or
Sent; UIDLs stay the same when IMAP moves a message (MOVE, COPY+EXPUNGE),
so fetchmail in keep mode downloads each message exactly once; a copy is
one maildrop entry; DELE removes the message from the folder it is in;
the per-account override works both ways; a large maildrop over several
folders lists completely and in order; pop3.expire_days covers the folders
POP3 shows and no other."""
import imaplib
import poplib
import re
import socket
import time

from test_pop3_clients import Fetchmail
from test_pop3_mixing import db_exec

ALICE = "alice@example.com"
BOB = "bob@example.com"

RULES = r'''require ["fileinto"];
if header :is "X-List" "roost" { fileinto "Lists"; stop; }
'''


def db_rows(r, sql):
    return r.sql(sql)


def message(i, extra=b""):
    return (b"From: bob@example.net\r\nTo: alice@example.com\r\n"
            b"Subject: fetch-%d\r\nMessage-ID: <all-%d@example.net>\r\n%s\r\n"
            b"body of %d\r\n" % (i, i, extra, i))


def imap_login(r, user=ALICE):
    m = imaplib.IMAP4("127.0.0.1", r.port("imap"), timeout=20)
    m.login(user, "secret")
    return m


def pop_login(r, user=ALICE):
    p = poplib.POP3("127.0.0.1", r.port("pop3"), timeout=20)
    p.user(user)
    p.pass_("secret")
    return p


def imap_subjects(m, mailbox):
    typ, _ = m.select(mailbox)
    assert typ == "OK", mailbox
    typ, data = m.uid("SEARCH", "ALL")
    assert typ == "OK"
    out = []
    for uid in data[0].split():
        typ, d = m.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        out.append(d[0][1].decode().strip().split(": ", 1)[1])
    return sorted(out)


def append(m, mailbox, data, date=None):
    typ, resp = m.append(mailbox, None, date, data)
    assert typ == "OK", resp


def pop_uidls(p):
    """{subject: uidl} of the maildrop, and the listing in order."""
    resp, lines, _ = p.uidl()
    order = []
    out = {}
    for line in lines:
        num, uidl = line.decode().split(" ")
        top = p.top(int(num), 0)[1]
        subj = [x.decode() for x in top if x.startswith(b"Subject: ")][0][9:]
        order.append(subj)
        out[subj] = uidl
    return out, order


def with_rule_filing_lists(r):
    """Alice's IMAP session, with a Lists folder, a Sieve rule that files
    X-List mail there, and fetch-1 delivered to INBOX, fetch-2 to Lists."""
    m = imap_login(r)
    assert m.create("Lists")[0] == "OK"
    r.cli("sieve", "put", ALICE, "rules", input=RULES)
    r.cli("sieve", "activate", ALICE, "rules")
    r.deliver(message(1), ALICE)
    r.deliver(message(2, b"X-List: roost\r\n"), ALICE)
    return m


def test_filed_message_fetched_once_and_moves_keep_uidl(roost_factory, tmp_path):
    r = roost_factory(pop3__mailboxes="all")
    m = with_rule_filing_lists(r)
    assert imap_subjects(m, "INBOX") == ["fetch-1"]
    assert imap_subjects(m, "Lists") == ["fetch-2"]     # the rule filed it

    fm = Fetchmail(r, tmp_path)
    assert fm.run(keep=True) == 0
    assert sorted(fm.subjects()) == [b"fetch-1", b"fetch-2"]

    # The phone moves both: MOVE, and the old COPY + EXPUNGE way.
    m.select("Lists")
    typ, data = m.uid("MOVE", "1", "Archive")
    assert typ == "OK", data
    m.select("INBOX")
    assert m.uid("COPY", "1", "Lists")[0] == "OK"
    assert m.uid("STORE", "1", "+FLAGS.SILENT", r"(\Deleted)")[0] == "OK"
    assert m.expunge()[0] == "OK"
    assert imap_subjects(m, "INBOX") == []
    assert imap_subjects(m, "Lists") == ["fetch-1"]
    assert imap_subjects(m, "Archive") == ["fetch-2"]

    # Nothing new for fetchmail (exit 1: no mail), nothing downloaded twice.
    assert fm.run(keep=True) == 1
    assert sorted(fm.subjects()) == [b"fetch-1", b"fetch-2"]
    r.deliver(message(3, b"X-List: roost\r\n"), ALICE)
    assert fm.run(keep=True) == 0
    assert sorted(fm.subjects()) == [b"fetch-1", b"fetch-2", b"fetch-3"]
    m.logout()


def test_uidl_persisted_at_first_sight_survives_mode_switch(roost):
    # Server default: INBOX only. The UIDL POP3 showed for an INBOX message
    # is stored, so after a move and a switch to `all` it is the same.
    roost.deliver(message(1), ALICE)
    p = pop_login(roost)
    before, _ = pop_uidls(p)
    p.quit()
    m = imap_login(roost)
    m.select("INBOX")
    assert m.uid("MOVE", "1", "Archive")[0] == "OK"
    p = pop_login(roost)
    assert p.stat()[0] == 0                       # INBOX only: gone from view
    p.quit()
    roost.cli("user", "pop3-mailboxes", ALICE, "all")
    p = pop_login(roost)
    after, _ = pop_uidls(p)
    p.quit()
    assert after == before
    m.logout()


def test_trash_junk_sent_not_listed_and_order_by_date(roost_factory):
    r = roost_factory(pop3__mailboxes="all")
    m = imap_login(r)
    append(m, "Trash", message(10), '"01-Jan-2024 10:00:00 +0000"')
    append(m, "Junk", message(11), '"01-Jan-2024 10:00:00 +0000"')
    append(m, "Sent", message(12), '"01-Jan-2024 10:00:00 +0000"')
    # internal dates: Archive's is oldest, then Drafts, then INBOX
    append(m, "INBOX", message(3), '"03-Jan-2024 10:00:00 +0000"')
    append(m, "Archive", message(1), '"01-Jan-2024 10:00:00 +0000"')
    append(m, "Drafts", message(2), '"02-Jan-2024 10:00:00 +0000"')
    p = pop_login(r)
    uidls, order = pop_uidls(p)
    assert order == ["fetch-1", "fetch-2", "fetch-3"]
    assert len(set(uidls.values())) == 3
    p.quit()

    # Without special-use the names say it: Trash, Junk, Spam, Sent (any case).
    for name in ("Trash", "Junk", "Sent"):
        assert m.delete(name)[0] == "OK"
    for name in ("trash", "Spam", "SENT", "Notes"):
        assert m.create(name)[0] == "OK"
        append(m, name, message(20 + len(name)), '"04-Jan-2024 10:00:00 +0000"')
    p = pop_login(r)
    _, order = pop_uidls(p)
    assert order == ["fetch-1", "fetch-2", "fetch-3", "fetch-25"]      # Notes only
    p.quit()
    m.logout()


def test_per_account_override_both_ways(roost_factory):
    r = roost_factory()                          # server default: inbox
    r.add_user(BOB)
    for user in (ALICE, BOB):
        m = imap_login(r, user)
        append(m, "Archive", message(1))
        append(m, "INBOX", message(2))
        m.logout()
    r.cli("user", "pop3-mailboxes", ALICE, "all")
    assert "pop3-mailboxes\tall" in r.cli("user", "show", ALICE).stdout
    assert "pop3-mailboxes\tdefault" in r.cli("user", "show", BOB).stdout
    p = pop_login(r, ALICE)
    assert p.stat()[0] == 2
    p.quit()
    p = pop_login(r, BOB)
    assert p.stat()[0] == 1
    p.quit()
    r.cli("user", "pop3-mailboxes", ALICE, "default")
    p = pop_login(r, ALICE)
    assert p.stat()[0] == 1
    p.quit()
    # hostile: a bad mode or an unknown account is refused, nothing changes
    assert r.cli("user", "pop3-mailboxes", ALICE, "everything", check=False).returncode != 0
    assert r.cli("user", "pop3-mailboxes", "nobody@example.com", "all",
                 check=False).returncode != 0
    assert "pop3-mailboxes\tdefault" in r.cli("user", "show", ALICE).stdout

    r2 = roost_factory(pop3__mailboxes="all")
    m = imap_login(r2)
    append(m, "Archive", message(1))
    append(m, "INBOX", message(2))
    m.logout()
    p = pop_login(r2)
    assert p.stat()[0] == 2
    p.quit()
    r2.cli("user", "pop3-mailboxes", ALICE, "inbox")
    p = pop_login(r2)
    assert p.stat()[0] == 1
    p.quit()


def test_dele_removes_it_from_its_folder(roost_factory):
    r = roost_factory(pop3__mailboxes="all")
    m = imap_login(r)
    assert m.create("Lists")[0] == "OK"
    append(m, "Lists", message(1), '"01-Jan-2024 10:00:00 +0000"')
    append(m, "INBOX", message(2), '"02-Jan-2024 10:00:00 +0000"')
    m.select("Lists")                            # a selected IMAP session sees it go
    p = pop_login(r)
    assert p.stat()[0] == 2
    assert b"Subject: fetch-1" in b"\r\n".join(p.retr(1)[1])
    p.dele(1)
    p.quit()
    typ, _ = m.noop()
    assert typ == "OK"
    assert imap_subjects(m, "Lists") == []
    assert imap_subjects(m, "INBOX") == ["fetch-2"]
    # RETR set \Seen on the INBOX one only when retrieved: retrieve it now
    p = pop_login(r)
    assert p.stat()[0] == 1
    p.retr(1)
    p.quit()
    m.select("INBOX", readonly=True)
    assert m.uid("SEARCH", "SEEN")[1][0].split() == [b"1"]
    m.logout()


def test_copy_is_one_entry_and_dele_takes_every_copy(roost_factory):
    r = roost_factory(pop3__mailboxes="all")
    r.deliver(message(1), ALICE)
    p = pop_login(r)
    first, _ = pop_uidls(p)
    p.quit()
    m = imap_login(r)
    m.select("INBOX")
    assert m.uid("COPY", "1", "Archive")[0] == "OK"
    assert m.uid("COPY", "1", "Drafts")[0] == "OK"
    p = pop_login(r)
    again, order = pop_uidls(p)
    assert order == ["fetch-1"] and again == first
    p.dele(1)
    p.quit()
    for box in ("INBOX", "Archive", "Drafts"):
        assert imap_subjects(m, box) == [], box
    m.logout()


def test_hide_follows_the_message_into_another_folder(roost_factory):
    r = roost_factory(pop3__mailboxes="all", pop3__delete="hide")
    r.deliver(message(1), ALICE)
    r.deliver(message(2), ALICE)
    p = pop_login(r)
    p.dele(1)
    p.quit()
    m = imap_login(r)
    assert imap_subjects(m, "INBOX") == ["fetch-1", "fetch-2"]   # hidden, not gone
    m.select("INBOX")
    assert m.uid("MOVE", "1:2", "Archive")[0] == "OK"
    p = pop_login(r)
    _, order = pop_uidls(p)
    assert order == ["fetch-2"]
    p.quit()
    m.logout()


def read_until(sock, buf, marker):
    while marker not in buf:
        chunk = sock.recv(65536)
        assert chunk, "connection closed: %r" % buf[-200:]
        buf += chunk
    return buf


def read_tagged(sock, buf, tag):
    """Read until the tagged reply of `tag`; returns (its line, the rest)."""
    pat = re.compile(rb"(?:^|\r\n)" + tag + rb" (OK|NO|BAD)[^\r\n]*\r\n")
    while not pat.search(buf):
        chunk = sock.recv(65536)
        assert chunk, "connection closed: %r" % buf[-200:]
        buf += chunk
    found = pat.search(buf)
    return found.group(0).strip(), buf[found.end():]


def multiappend(r, mailbox, msgs):
    """One MULTIAPPEND (RFC 3502) with LITERAL+: one commit for all."""
    s = socket.create_connection(("127.0.0.1", r.port("imap")), timeout=60)
    s.sendall(b"a LOGIN %s secret\r\n" % ALICE.encode())
    line, buf = read_tagged(s, b"", b"a")
    assert line.startswith(b"a OK"), line
    cmd = b"b APPEND " + mailbox.encode()
    for date, data in msgs:
        cmd += b" %s {%d+}\r\n%s" % (date.encode(), len(data), data)
    s.sendall(cmd + b"\r\n")
    line, buf = read_tagged(s, buf, b"b")
    assert line.startswith(b"b OK"), line
    s.sendall(b"c LOGOUT\r\n")
    s.close()


def test_large_maildrop_over_folders_lists_completely(roost_factory):
    # hostile: thousands of messages across folders; LIST and UIDL are
    # streamed as the client reads, pipelined with STAT, complete and in order
    n = 2000
    folders = ["INBOX", "Archive", "Drafts", "Lists"]
    r = roost_factory(pop3__mailboxes="all")
    m = imap_login(r)
    assert m.create("Lists")[0] == "OK"
    m.logout()
    batches = {f: [] for f in folders}
    for i in range(n):
        day = 1 + i // 1440
        date = '"%02d-Jan-2024 %02d:%02d:00 +0000"' % (day, (i // 60) % 24, i % 60)
        batches[folders[i % 4]].append((date, message(i)))
    batches["Trash"] = [('"01-Jan-2024 00:00:00 +0000"', message(n + 1))]
    for folder, msgs in batches.items():
        for k in range(0, len(msgs), 250):
            multiappend(r, folder, msgs[k:k + 250])
    m = imap_login(r)
    for folder in folders:
        typ, data = m.select(folder, readonly=True)
        assert typ == "OK" and int(data[0]) == n // 4
    m.logout()

    s = socket.create_connection(("127.0.0.1", r.port("pop3")), timeout=60)
    buf = read_until(s, b"", b"\r\n")
    s.sendall(b"USER %s\r\nPASS secret\r\n" % ALICE.encode())
    buf = read_until(s, b"", b"Logged in")
    buf = read_until(s, buf, b"\r\n")
    s.sendall(b"LIST\r\nUIDL\r\nSTAT\r\nQUIT\r\n")
    buf = b""
    while b"signing off" not in buf:
        chunk = s.recv(4096)            # a slow reader: small reads
        assert chunk
        buf += chunk
    s.close()
    text = buf.decode()
    lst, rest = text.split("\r\n.\r\n", 1)
    uidl, rest = rest.split("\r\n.\r\n", 1)
    lst_lines = lst.split("\r\n")[1:]
    uidl_lines = uidl.split("\r\n")[1:]
    assert lst.startswith("+OK") and uidl.startswith("+OK")
    assert [int(x.split()[0]) for x in lst_lines] == list(range(1, n + 1))
    assert all(int(x.split()[1]) > 0 for x in lst_lines)
    assert [int(x.split()[0]) for x in uidl_lines] == list(range(1, n + 1))
    assert len({x.split()[1] for x in uidl_lines}) == n
    assert rest.startswith("+OK %d " % n)

    # and the order is by internal date across the folders
    p = pop_login(r)
    for num in (1, 2, 3, 1000, n):
        top = b"\r\n".join(p.top(num, 0)[1])
        assert b"Subject: fetch-%d\r\n" % (num - 1) in top + b"\r\n", num
    p.quit()


def downloads_long_ago(r, query=None):
    """Stopped, every POP3 download so far dated ten days back (there is
    no CLI for that, on purpose), `query`'s rows read, started again: the
    expire pass runs at start."""
    assert r.stop() == 0
    db_exec(r, "UPDATE messages SET pop3_retrieved = ? WHERE pop3_retrieved > 0",
            int(time.time()) - 10 * 86400)
    rows = db_rows(r, query) if query else None
    r.start()
    return rows


def wait_expired(m, mailbox):
    deadline = time.time() + 10
    while imap_subjects(m, mailbox) and time.time() < deadline:
        time.sleep(0.1)
    assert imap_subjects(m, mailbox) == []


def test_expire_days_covers_every_folder_pop3_shows(roost_factory):
    """pop3.expire_days under `all` (src/store/store-pop3-all.c
    store_pop3_expired): an old download in a folder a Sieve rule filed it
    to expires like one in INBOX; the same kind of download the user moved
    to Trash stays, as POP3 no longer shows it."""
    r = roost_factory(pop3__mailboxes="all", pop3__expire_days="3")
    m = with_rule_filing_lists(r)
    r.deliver(message(3), ALICE)
    r.deliver(message(4), ALICE)                 # never downloaded
    p = pop_login(r)
    _, order = pop_uidls(p)
    for n, subject in enumerate(order, 1):
        if subject != "fetch-4":
            p.retr(n)
    p.quit()
    m.select("INBOX")
    typ, data = m.uid("SEARCH", "HEADER", "Subject", "fetch-3")
    assert m.uid("MOVE", data[0].decode(), "Trash")[0] == "OK"
    m.logout()
    moved = "SELECT count(*) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id" \
            " WHERE b.name = 'Trash' AND m.pop3_retrieved > 0"
    assert downloads_long_ago(r, moved) == [(1,)]  # the move kept the download time
    m = imap_login(r)
    wait_expired(m, "Lists")
    assert imap_subjects(m, "INBOX") == ["fetch-4"]
    assert imap_subjects(m, "Trash") == ["fetch-3"]
    m.logout()


def test_expire_days_under_inbox_keeps_a_copy_filed_elsewhere(roost_factory):
    r = roost_factory(pop3__expire_days="3")
    r.deliver(message(1), ALICE)
    p = pop_login(r)
    assert b"fetch-1" in b"\n".join(p.retr(1)[1])
    p.quit()
    m = imap_login(r)
    m.select("INBOX")
    assert m.uid("COPY", "1", "Archive")[0] == "OK"
    m.logout()
    downloads_long_ago(r)
    m = imap_login(r)
    wait_expired(m, "INBOX")
    assert imap_subjects(m, "Archive") == ["fetch-1"]
    m.logout()
