"""`roost export ADDRESS maildir|mbox DEST`: every message byte for byte
as IMAP serves it; Maildir++ folder names, flag letters and
dovecot-keywords letters in file names, the internal date as mtime;
mboxrd From_ quoting and Status/X-Status/X-Keywords headers."""
import imaplib
import mailbox
import os
import re


MSG = ("From: a@example.net\r\nSubject: quoted\r\n\r\n"
       "first\r\nFrom the top\r\n>From quoted once\r\nlast\r\n")


def fill(roost):
    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login("alice@example.com", "secret")
    c.create("Lists/Roost")
    c.append("INBOX", "(\\Seen \\Answered $Work)", '"01-Feb-2020 10:00:00 +0000"', MSG.encode())
    c.append("INBOX", "()", '"02-Feb-2020 10:00:00 +0000"',
             b"Subject: plain\r\n\r\nbody\r\n")
    c.append("Lists/Roost", "(\\Flagged \\Draft \\Deleted)", None,
             b"Subject: in a folder\r\n\r\nx\r\n")
    c.logout()


def test_export_maildir(roost, tmp_path):
    fill(roost)
    dest = str(tmp_path / "md")
    p = roost.cli("export", "alice@example.com", "maildir", dest)
    assert "3 messages" in p.stdout
    cur = sorted(os.listdir(os.path.join(dest, "cur")))
    assert len(cur) == 2
    first, second = cur
    assert re.fullmatch(r"\d+\.R1\.roost,S=%d:2,RSa" % len(MSG), first), first
    assert second.endswith(":2,")
    with open(os.path.join(dest, "cur", first), "rb") as f:
        assert f.read() == MSG.encode()
    assert os.stat(os.path.join(dest, "cur", first)).st_mtime == 1580551200
    with open(os.path.join(dest, "dovecot-keywords")) as f:
        assert f.read() == "0 $Work\n"
    (sub,) = os.listdir(os.path.join(dest, ".Lists.Roost", "cur"))
    assert sub.endswith(":2,DFT")
    for d in ("new", "tmp"):
        assert os.path.isdir(os.path.join(dest, ".Lists.Roost", d))


def test_export_mbox(roost, tmp_path):
    fill(roost)
    dest = str(tmp_path / "mb")
    roost.cli("export", "alice@example.com", "mbox", dest)
    with open(os.path.join(dest, "INBOX.mbox"), "rb") as f:
        raw = f.read()
    assert raw.startswith(b"From MAILER-DAEMON Sat Feb  1 10:00:00 2020\n")
    assert b"\n>From the top\r\n>>From quoted once\r\n" in raw
    assert raw.count(b"\nFrom ") == 1  # the second message's separator only
    box = mailbox.mbox(os.path.join(dest, "INBOX.mbox"))
    msgs = list(box)
    assert len(msgs) == 2
    assert msgs[0]["Status"] == "RO" and msgs[0]["X-Status"] == "A"
    assert msgs[0]["X-Keywords"] == "$Work"
    assert msgs[0]["Subject"] == "quoted"
    assert msgs[1]["Status"] == "O" and msgs[1]["X-Keywords"] is None
    sub = list(mailbox.mbox(os.path.join(dest, "Lists", "Roost.mbox")))
    assert len(sub) == 1 and sub[0]["X-Status"] == "FTD"


def test_export_unknown_account_and_format(roost, tmp_path):
    p = roost.cli("export", "nobody@example.com", "maildir", str(tmp_path / "x"), check=False)
    assert p.returncode == 1
    p = roost.cli("export", "alice@example.com", "pst", str(tmp_path / "x"), check=False)
    assert p.returncode == 64
