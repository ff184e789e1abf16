"""Real IMAP clients against Roost: Debian's mbsync
(isync) syncing a folder tree both ways until it converges, and
`curl imap://` listing, fetching and appending."""
import os
import re
import subprocess

from imap_raw import Raw

FOLDERS = ["INBOX", "Archive", "Projects/Alpha", "Projects/Beta"]


def msg(mid, subject="s"):
    return (b"From: a@example.org\r\nTo: alice@example.com\r\nSubject: %s\r\n"
            b"Message-ID: <%s@test>\r\n\r\nbody of %s\r\n" % (subject.encode(), mid.encode(),
                                                             mid.encode()))


def mbsync(cfg):
    p = subprocess.run(["mbsync", "-c", cfg, "-a"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out
    return out


def write_config(tmp_path, port, mech):
    maildir = tmp_path / "mail"
    maildir.mkdir(exist_ok=True)
    cfg = tmp_path / ("mbsyncrc-" + mech)
    cfg.write_text("""IMAPAccount roost
Host 127.0.0.1
Port %d
User alice@example.com
Pass secret
SSLType None
AuthMechs %s

IMAPStore remote
Account roost

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""" % (port, mech, maildir, maildir))
    return str(cfg), maildir


def local_folder(maildir, name):
    return maildir / name


def local_ids(maildir, name):
    """Message-IDs in a local maildir folder (new + cur), with flags."""
    ids = {}
    d = local_folder(maildir, name)
    for sub in ("new", "cur"):
        p = d / sub
        if not p.is_dir():
            continue
        for f in os.listdir(p):
            data = (p / f).read_bytes()
            m = re.search(rb"Message-ID: <([^>]+)>", data)
            assert m, f
            mid = m.group(1).decode()
            assert mid not in ids, "duplicate %s in %s" % (mid, name)
            ids[mid] = f.split(":2,")[1] if ":2," in f else ""
    return ids


def server_ids(c, name):
    """Message-IDs in a server folder, with flags."""
    out = c.cmd(b'EXAMINE "%s"' % name.encode())
    assert out[-1].split()[1] == b"OK", out
    out = c.cmd(b"FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    ids = {}
    text = b"".join(out)
    for m in re.finditer(rb"FLAGS \(([^)]*)\).*?Message-ID: <([^>]+)>", text, re.S | re.I):
        mid = m.group(2).decode()
        assert mid not in ids, "duplicate %s on the server in %s" % (mid, name)
        ids[mid] = m.group(1).decode()
    return ids


def assert_converged(c, maildir, folders):
    for f in folders:
        s, l = server_ids(c, f), local_ids(maildir, f)
        assert set(s) == set(l), (f, sorted(s), sorted(l))
        for mid in s:
            assert ("\\Seen" in s[mid]) == ("S" in l[mid]), (f, mid, s[mid], l[mid])
            assert ("\\Flagged" in s[mid]) == ("F" in l[mid]), (f, mid, s[mid], l[mid])


def test_mbsync_two_way_sync_converges(roost, tmp_path):
    c = Raw(roost)
    for f in FOLDERS[2:]:  # INBOX and Archive exist already
        assert c.ok(b'CREATE "%s"' % f.encode())
    n = 0
    for f in FOLDERS:
        for _ in range(3):
            n += 1
            m = msg("m%d" % n)
            c.s.sendall(b'a%d APPEND "%s" (\\Seen) {%d+}\r\n%s\r\n' % (n, f.encode(), len(m), m))
            c.read_tagged(b"a%d" % n)
    cfg, maildir = write_config(tmp_path, roost.port("imap"), "LOGIN")
    mbsync(cfg)
    assert_converged(c, maildir, FOLDERS)
    assert len(local_ids(maildir, "Projects/Alpha")) == 3

    # server side changes: a delivery, flag changes, a new folder, an expunge
    roost.deliver(msg("d1"), "alice@example.com")
    assert c.ok(b"SELECT Archive")
    assert c.ok(b"STORE 1 +FLAGS (\\Flagged)")
    assert c.ok(b"STORE 2 -FLAGS (\\Seen)")
    assert c.ok(b"STORE 3 +FLAGS (\\Deleted)")
    assert c.ok(b"EXPUNGE")
    assert c.ok(b'CREATE "Server New"')
    m = msg("sn1")
    c.s.sendall(b'x1 APPEND "Server New" {%d+}\r\n%s\r\n' % (len(m), m))
    c.read_tagged(b"x1")

    # local changes: a new file, a flag rename, a deleted file, a new folder
    inbox_new = maildir / "INBOX" / "new"
    (inbox_new / "1700000000.local1.host").write_bytes(msg("l1"))
    cur = maildir / "Projects/Beta" / "cur"
    files = sorted(os.listdir(cur))
    os.rename(cur / files[0], cur / (files[0].split(":2,")[0] + ":2,FS"))
    alpha = maildir / "Projects/Alpha" / "cur"
    os.unlink(alpha / sorted(os.listdir(alpha))[0])
    for sub in ("cur", "new", "tmp"):
        (maildir / "Local New" / sub).mkdir(parents=True)
    (maildir / "Local New" / "new" / "1700000001.local2.host").write_bytes(msg("ln1"))

    mbsync(cfg)
    # a second run must find nothing to do and change nothing
    mbsync(cfg)
    folders = FOLDERS + ["Server New", "Local New"]
    assert_converged(c, maildir, folders)
    assert "l1@test" in server_ids(c, "INBOX") and "d1@test" in local_ids(maildir, "INBOX")
    assert len(server_ids(c, "Projects/Alpha")) == 2
    assert len(local_ids(maildir, "Archive")) == 2
    assert "ln1@test" in server_ids(c, "Local New") and "sn1@test" in local_ids(maildir, "Server New")
    beta = server_ids(c, "Projects/Beta")
    assert sum(1 for f in beta.values() if "\\Flagged" in f) == 1

    # PLAIN works too and a sync with no changes keeps everything
    cfg2, _ = write_config(tmp_path, roost.port("imap"), "PLAIN")
    mbsync(cfg2)
    assert_converged(c, maildir, folders)


def curl(*args, input=None):
    p = subprocess.run(["curl", "-sS", "--max-time", "20", *args], input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p.stdout


def test_curl_list_fetch_append(roost, tmp_path):
    roost.deliver(msg("c1", "curl one"), "alice@example.com")
    base = "imap://127.0.0.1:%d/" % roost.port("imap")
    auth = ["-u", "alice@example.com:secret"]
    out = curl(base, *auth).decode()
    for name in ("INBOX", "Sent", "Trash", "Archive"):
        assert re.search(r'^\* LIST \([^)]*\) "/" "?%s"?\r?$' % name, out, re.M), out
    body = curl(base + "INBOX;UID=1", *auth)
    assert b"Subject: curl one" in body and b"body of c1" in body
    f = tmp_path / "up.eml"
    f.write_bytes(msg("c2", "curl upload"))
    curl(base + "Drafts", *auth, "-T", str(f))
    body = curl(base + "Drafts;UID=1", *auth)
    assert b"Subject: curl upload" in body
    # a search through curl's custom request
    out = curl(base + "INBOX", *auth, "-X", "SEARCH SUBJECT curl")
    assert b"* SEARCH 1" in out


def test_curl_search_utf8_terms(roost):
    """curl searches with UTF-8 terms, through the full-text index
    and before indexing (the fallback reads the messages)."""
    roost.deliver(("From: a@example.org\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n"
                   "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n"
                   "\r\nDie Größe stimmt. Straße\r\n").encode(), "alice@example.com")
    roost.deliver(msg("c3", "plain ascii"), "alice@example.com")
    base = "imap://127.0.0.1:%d/INBOX" % roost.port("imap")
    auth = ["-u", "alice@example.com:secret"]
    for _ in range(2):  # once probably before indexing, once after
        out = curl(base, *auth, "-X", 'SEARCH CHARSET UTF-8 BODY "GRÖSSE"')
        assert re.search(rb"^\* SEARCH 1\r?$", out, re.M), out
        out = curl(base, *auth, "-X", 'SEARCH CHARSET UTF-8 SUBJECT "köln"')
        assert re.search(rb"^\* SEARCH 1\r?$", out, re.M), out
        out = curl(base, *auth, "-X", 'SEARCH CHARSET UTF-8 TEXT "straße"')
        assert re.search(rb"^\* SEARCH 1\r?$", out, re.M), out
        roost.cli("reindex")
