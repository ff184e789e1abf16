"""`roost import maildir ADDRESS PATH`: Maildir++ folders, flags from file
names, keywords through dovecot-keywords, the mtime as internal date;
export -> import round-trip equal; kill -9 during an import, then a
rerun: every message exactly once."""
import os
import signal
import subprocess
import time

from conftest import ROOST_BIN
from test_backup import imap_state


def make_maildir(root, n_inbox=3, n_sub=2):
    for folder in ("", ".Lists.Roost"):
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(root, folder, d), exist_ok=True)
    with open(os.path.join(root, "dovecot-keywords"), "w") as f:
        f.write("0 $Work\n1 Later\n")
    for i in range(n_inbox):
        name = "1600000%03d.M%dP1.host,S=40:2,%s" % (i, i, ["S", "FRa", "Tb"][i % 3])
        p = os.path.join(root, "cur", name)
        with open(p, "wb") as f:
            f.write(b"Subject: in %d\r\n\r\nbody %d\r\n" % (i, i))
        os.utime(p, (1600000000 + i, 1600000000 + i))
    for i in range(n_sub):
        p = os.path.join(root, ".Lists.Roost", "new", "1700000%03d.x%d.host" % (i, i))
        with open(p, "wb") as f:
            f.write(b"Subject: sub %d\r\n\r\nx\r\n" % i)


def test_import_maildir_flags_keywords_folders(roost, tmp_path):
    src = str(tmp_path / "Maildir")
    make_maildir(src)
    p = roost.cli("import", "maildir", "alice@example.com", src)
    assert "imported 5 messages into 2 mailboxes" in p.stdout
    state = imap_state(roost, "alice@example.com")
    inbox = next(v for k, v in state.items() if k[0] == "INBOX")
    sub = next(v for k, v in state.items() if k[0] == "Lists/Roost")
    got = sorted((fl, body) for _, fl, body in inbox.values())
    assert ({"\\Seen"}, b"Subject: in 0\r\n\r\nbody 0\r\n") in got
    assert ({"\\Flagged", "\\Answered", "$Work"}, b"Subject: in 1\r\n\r\nbody 1\r\n") in got
    assert ({"\\Deleted", "Later"}, b"Subject: in 2\r\n\r\nbody 2\r\n") in got
    assert len(sub) == 2 and all(fl == set() for _, fl, _ in sub.values())
    import imaplib
    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login("alice@example.com", "secret")
    c.select("INBOX")
    typ, data = c.fetch("1:*", "(INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    c.logout()
    metas = [d[0] for d in data if isinstance(d, tuple)]
    (m0,) = [m for m, d in zip(metas, [d[1] for d in data if isinstance(d, tuple)])
             if b"in 0" in d]
    assert b'"13-Sep-2020 12:26:40 +0000"' in m0  # the file's mtime
    # a rerun adds nothing
    p = roost.cli("import", "maildir", "alice@example.com", src)
    assert "imported 0 messages" in p.stdout and "5 already there" in p.stdout
    assert imap_state(roost, "alice@example.com") == state
    # relative paths cannot reach the daemon
    p = roost.cli("import", "maildir", "alice@example.com", "Maildir", check=False)
    assert p.returncode == 64


def test_export_import_round_trip(roost, tmp_path):
    src = str(tmp_path / "Maildir")
    make_maildir(src)
    roost.cli("import", "maildir", "alice@example.com", src)
    out = str(tmp_path / "exported")
    roost.cli("export", "alice@example.com", "maildir", out)
    roost.add_user("bob@example.com")
    roost.cli("import", "maildir", "bob@example.com", out)

    def view(addr):
        return {k[0]: sorted(((fl, body) for _, fl, body in v.values()), key=lambda x: x[1])
                for k, v in imap_state(roost, addr).items()}
    assert view("bob@example.com") == view("alice@example.com")


def test_kill9_during_import_then_rerun(datadir, tmp_path):
    datadir.init()
    src = str(tmp_path / "Maildir")
    make_maildir(src, n_inbox=0, n_sub=0)
    for i in range(400):
        with open(os.path.join(src, "cur", "17%08d.k%d.host:2,S" % (i, i)), "wb") as f:
            f.write(b"Subject: k%d\r\n\r\n%s\r\n" % (i, b"y" * 2000))
    p = subprocess.Popen([ROOST_BIN, "-d", datadir.datadir, "import", "maildir",
                          "alice@example.com", src],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    p.send_signal(signal.SIGKILL)
    p.wait()
    first = datadir.users()["alice@example.com"][2]
    assert 0 < first < 400 or p.returncode == 0
    r = datadir.cli("import", "maildir", "alice@example.com", src)
    assert datadir.users()["alice@example.com"][2] == 400
    assert "%d already there" % first in r.stdout
    assert datadir.cli("check").stdout == "clean\n"


MBOX = (b"From someone@example.net Sat Feb  1 10:00:00 2020\n"
        b"Subject: one\nStatus: RO\nX-Status: AF\nX-Keywords: $Work Later\n\n"
        b"body\n>From the top\n>>From twice\n\n"
        b"From x Sun Feb  2 11:00:00 2020\n"
        b"Subject: two\n\nplain\n")


def test_import_mbox_flags_keywords_unquoting(roost, tmp_path):
    path = str(tmp_path / "in.mbox")
    with open(path, "wb") as f:
        f.write(MBOX)
    p = roost.cli("import", "mbox", "alice@example.com", path)
    assert "imported 2 messages" in p.stdout
    state = imap_state(roost, "alice@example.com")
    inbox = sorted(next(v for k, v in state.items() if k[0] == "INBOX").values(),
                   key=lambda x: x[2])
    (_, fl1, b1), (_, fl2, b2) = inbox
    assert b1 == b"Subject: one\n\nbody\nFrom the top\n>From twice\n"
    assert fl1 == {"\\Seen", "\\Answered", "\\Flagged", "$Work", "Later"}
    assert b2 == b"Subject: two\n\nplain\n" and fl2 == set()
    p = roost.cli("import", "mbox", "alice@example.com", path)
    assert "imported 0 messages" in p.stdout and "2 already there" in p.stdout
    bad = str(tmp_path / "bad.mbox")
    with open(bad, "wb") as f:
        f.write(b"Subject: not an mbox\n\n")
    p = roost.cli("import", "mbox", "alice@example.com", bad, check=False)
    assert p.returncode == 1 and "not an mbox" in p.stderr


def test_export_mbox_import_round_trip(roost, tmp_path):
    src = str(tmp_path / "Maildir")
    make_maildir(src)
    roost.cli("import", "maildir", "alice@example.com", src)
    out = str(tmp_path / "mb")
    roost.cli("export", "alice@example.com", "mbox", out)
    roost.add_user("bob@example.com")
    roost.cli("import", "mbox", "bob@example.com", out)

    def view(addr):
        return {k[0]: sorted(((fl, body) for _, fl, body in v.values()), key=lambda x: x[1])
                for k, v in imap_state(roost, addr).items()}
    assert view("bob@example.com") == view("alice@example.com")


def test_import_eml_file_and_directory(roost, tmp_path):
    d = tmp_path / "emls"
    d.mkdir()
    for i in range(3):
        (d / ("m%d.eml" % i)).write_bytes(b"Subject: eml %d\r\n\r\nhi\r\n" % i)
    (d / ".hidden").write_bytes(b"x")
    one = tmp_path / "single.eml"
    one.write_bytes(b"Subject: single\r\n\r\nx\r\n")
    assert "imported 3 messages" in roost.cli("import", "eml", "alice@example.com", str(d)).stdout
    assert "imported 1 messages" in roost.cli("import", "eml", "alice@example.com", str(one)).stdout
    p = roost.cli("import", "eml", "alice@example.com", str(d))
    assert "imported 0 messages" in p.stdout and "3 already there" in p.stdout
    state = imap_state(roost, "alice@example.com")
    bodies = sorted(b for v in state.values() for _, _, b in v.values())
    assert bodies == sorted([b"Subject: eml %d\r\n\r\nhi\r\n" % i for i in range(3)]
                            + [b"Subject: single\r\n\r\nx\r\n"])
