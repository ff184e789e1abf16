"""`roost backup DEST` and `roost backup verify DEST`: an online copy
while deliveries (LMTP, SMTP) and IMAP writes (APPEND, STORE) run is a
consistent snapshot (verify: checksums, integrity_check, roost check's
invariants); once writes stop, a backup holds every message byte for byte
with its UID, MODSEQ, flags and keywords as IMAP shows them; kill -9 during
a backup leaves the previous backup valid and unchanged; verify finds a
changed byte and an unfinished backup."""
import imaplib
import os
import re
import signal
import smtplib
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import ROOST_BIN

# `roost backup` copies the SQLite store (VACUUM INTO); a PostgreSQL store
# is backed up with pg_dump, and backup refuses it (test_cli.py)
pytestmark = pytest.mark.sqlite_only("roost backup copies a SQLite store")

FLAG_BITS = [(0x01, "\\Seen"), (0x02, "\\Answered"), (0x04, "\\Flagged"),
             (0x08, "\\Deleted"), (0x10, "\\Draft")]


def message(i, size=200):
    return ("From: w%d@example.net\r\nSubject: m%d\r\n\r\n" % (i, i)
            + (("line %d " % i) * 8 + "\r\n") * max(1, size // 80))


def writers(roost, stop, errors):
    """LMTP and SMTP deliveries and IMAP APPEND/STORE until `stop`."""
    def lmtp(proto):
        try:
            n = 0
            while not stop.is_set():
                if proto == "lmtp":
                    c = smtplib.LMTP("127.0.0.1", roost.port("lmtp"), timeout=20)
                else:
                    c = smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=20)
                for _ in range(10):
                    c.sendmail("w@example.net", ["alice@example.com"],
                               message(n).encode())
                    n += 1
                c.quit()
        except Exception as e:  # noqa: BLE001 - reported by the test
            errors.append("%s: %r" % (proto, e))

    def imap():
        try:
            c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
            c.login("alice@example.com", "secret")
            c.create("Work")
            n = 0
            while not stop.is_set():
                c.append("Work", "(\\Flagged $Label1)", None, message(n).encode())
                c.select("INBOX")
                c.uid("STORE", "1:*", "+FLAGS", "(\\Seen)")
                n += 1
            c.logout()
        except Exception as e:  # noqa: BLE001
            errors.append("imap: %r" % (e,))

    return [threading.Thread(target=lmtp, args=("lmtp",)),
            threading.Thread(target=lmtp, args=("smtp",)),
            threading.Thread(target=imap)]


def backup_state(path, address):
    """{mailbox: {uid: (modseq, flags set, bytes)}} read from a backup's db."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(path, "roost.db"), uri=True)
    out = {}
    rows = db.execute(
        "SELECT mb.name, mb.uidvalidity, m.uid, m.modseq, m.flags, m.keywords,"
        " COALESCE(m.prefix, x''), c.data FROM messages m"
        " JOIN mailboxes mb ON mb.id = m.mailbox_id"
        " JOIN accounts a ON a.id = mb.account_id"
        " JOIN contents c ON c.id = m.content_id WHERE a.address = ?", (address,))
    for name, uidvalidity, uid, modseq, flags, keywords, prefix, data in rows:
        fl = {f for bit, f in FLAG_BITS if flags & bit}
        fl |= set((keywords or "").split())
        out.setdefault((name, uidvalidity), {})[uid] = (modseq, fl, bytes(prefix) + bytes(data))
    db.close()
    return out


def imap_state(roost, address):
    """The same, as a real IMAP client sees the live server."""
    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login(address, "secret")
    out = {}
    _, boxes = c.list()
    for line in boxes:
        name = line.decode().rsplit(' "/" ', 1)[1].strip('"')
        typ, _ = c.select('"%s"' % name, readonly=True)
        uidvalidity = int(c.response("UIDVALIDITY")[1][0])
        msgs = {}
        typ, data = c.uid("FETCH", "1:*", "(UID MODSEQ FLAGS BODY.PEEK[])")
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta = item[0].decode()
            uid = int(re.search(r"UID (\d+)", meta).group(1))
            modseq = int(re.search(r"MODSEQ \((\d+)\)", meta).group(1))
            flags = set(re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split())
            flags.discard("\\Recent")
            msgs[uid] = (modseq, flags, item[1])
        if msgs:
            out[(name, uidvalidity)] = msgs
    c.logout()
    return out


def test_backup_during_writes_is_consistent_and_complete(roost, tmp_path):
    roost.deliver(message(0), "alice@example.com")
    stop = threading.Event()
    errors = []
    threads = writers(roost, stop, errors)
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        dest = str(tmp_path / "live")
        for _ in range(3):  # each one replaces the previous, under load
            p = subprocess.run([ROOST_BIN, "-d", roost.datadir, "backup", dest],
                               capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr
            assert re.match(r"backup .*: \d+ files, \d+ bytes, schema \d+, ", p.stdout)
            v = roost.cli("backup", "verify", dest, check=False)
            assert v.returncode == 0, v.stdout + v.stderr
            assert v.stdout.startswith("ok: ")
            time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors
    assert not os.path.exists(dest + ".tmp")
    # the backups taken under load held messages (not an empty snapshot)
    under_load = backup_state(dest, "alice@example.com")
    assert sum(len(m) for m in under_load.values()) > 1

    # Quiet now: a backup is exactly what IMAP shows, byte for byte.
    final = str(tmp_path / "final")
    roost.cli("backup", final)
    assert roost.cli("backup", "verify", final).returncode == 0
    live = imap_state(roost, "alice@example.com")
    backed = backup_state(final, "alice@example.com")
    assert backed == live
    assert sum(len(m) for m in live.values()) > sum(len(m) for m in under_load.values()) - 1
    # the config and the TLS key came along, with their modes
    for f in ("roost.conf", "tls/cert.pem", "tls/key.pem"):
        with open(os.path.join(roost.datadir, f), "rb") as a, \
                open(os.path.join(final, f), "rb") as b:
            assert a.read() == b.read()
    assert os.stat(os.path.join(final, "tls/key.pem")).st_mode & 0o077 == 0
    assert os.stat(os.path.join(final, "roost.db")).st_mode & 0o077 == 0
    manifest = open(os.path.join(final, "MANIFEST")).read().splitlines()
    assert manifest[0] == "roost-backup 1"
    assert any(l.startswith("schema-version ") for l in manifest)
    assert not any(l.endswith(" control.sock") or "roost.db-wal" in l for l in manifest)


def test_kill9_during_backup_leaves_previous_valid(roost, tmp_path):
    # ~16 MB of distinct messages so a backup takes a while
    c = smtplib.LMTP("127.0.0.1", roost.port("lmtp"), timeout=30)
    for i in range(160):
        c.sendmail("w@example.net", ["alice@example.com"], message(i, 100000).encode())
    c.quit()
    dest = str(tmp_path / "b")
    roost.cli("backup", dest)
    before = open(os.path.join(dest, "MANIFEST")).read()
    roost.deliver(message(999), "alice@example.com")  # the next backup differs
    interrupted = 0
    for delay in (0.0, 0.02, 0.05, 0.1, 0.2):
        p = subprocess.Popen([ROOST_BIN, "-d", roost.datadir, "backup", dest],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        with open(os.path.join(dest, "MANIFEST")) as f:
            now = f.read()
        # killed before the exchange: DEST is the previous backup (after
        # it, DEST is the new one, complete; either way it verifies)
        if p.returncode == -signal.SIGKILL and now == before:
            interrupted += 1
        v = roost.cli("backup", "verify", dest, check=False)
        assert v.returncode == 0, v.stdout
        before = now
    assert interrupted > 0
    # the next backup clears the left-over DEST.tmp and succeeds
    roost.cli("backup", dest)
    assert not os.path.exists(dest + ".tmp")
    assert roost.cli("backup", "verify", dest).returncode == 0


def test_verify_finds_damage_and_unfinished_backups(roost, tmp_path):
    dest = str(tmp_path / "b")
    roost.cli("backup", dest)
    db = os.path.join(dest, "roost.db")
    with open(db, "r+b") as f:
        f.seek(5000)
        b = f.read(1)
        f.seek(5000)
        f.write(bytes([b[0] ^ 0xff]))
    v = roost.cli("backup", "verify", dest, check=False)
    assert v.returncode == 1
    assert "roost.db: SHA-256 differs from the manifest" in v.stdout
    os.unlink(os.path.join(dest, "MANIFEST"))
    v = roost.cli("backup", "verify", dest, check=False)
    assert v.returncode == 1 and "not a finished backup" in v.stderr
    # a directory that is not a backup is not replaced
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"x")
    p = roost.cli("backup", str(other), check=False)
    assert p.returncode == 1 and "is not a Roost backup" in p.stderr
    assert (other / "cat.jpg").read_bytes() == b"x"
    # nor is a backup written into the data directory itself
    p = roost.cli("backup", os.path.join(roost.datadir, "copy"), check=False)
    assert p.returncode == 1 and "inside the data directory" in p.stderr


def test_verify_runs_roost_check_on_the_copy(datadir, tmp_path):
    datadir.init()
    datadir.deliver(message(1), "alice@example.com")
    dest = str(tmp_path / "b")
    datadir.cli("backup", dest)
    # break an invariant in the live db, back it up: checksums match, the
    # check on the copy does not
    db = sqlite3.connect(os.path.join(datadir.datadir, "roost.db"))
    db.execute("UPDATE accounts SET used_bytes = used_bytes + 7")
    db.commit()
    db.close()
    datadir.cli("backup", dest)
    v = datadir.cli("backup", "verify", dest, check=False)
    assert v.returncode == 1
    assert "roost.db: account alice@example.com: used " in v.stdout
    assert not [n for n in os.listdir(tmp_path) if ".verify-" in n]


def test_restore_whole_server_equal_to_backup(roost, tmp_path):
    """Backup under load, restore into a new data directory, serve it:
    IMAP shows exactly what the backup holds."""
    roost.add_user("bob@example.com")
    roost.deliver(message(1), "bob@example.com")
    stop = threading.Event()
    errors = []
    threads = writers(roost, stop, errors)
    for t in threads:
        t.start()
    try:
        time.sleep(0.8)
        dest = str(tmp_path / "b")
        roost.cli("backup", dest)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors
    expected = {a: backup_state(dest, a) for a in ("alice@example.com", "bob@example.com")}
    assert sum(len(m) for m in expected["alice@example.com"].values()) > 1

    from conftest import Roost
    restored = Roost(tmp_path / "restored")
    # refused while the source daemon serves its directory, and into a
    # non-empty directory without --force
    p = subprocess.run([ROOST_BIN, "-d", roost.datadir, "restore", "--force", dest],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "stop it before restoring" in p.stderr
    os.makedirs(restored.datadir)
    with open(os.path.join(restored.datadir, "notes"), "w") as f:
        f.write("x")
    p = restored.cli("restore", dest, check=False)
    assert p.returncode == 1 and "is not empty" in p.stderr and "--force" in p.stderr
    assert not os.path.exists(os.path.join(restored.datadir, "roost.db"))
    p = restored.cli("restore", "--force", dest)
    assert "restored " in p.stdout
    restored.start()
    try:
        for addr, state in expected.items():
            assert imap_state(restored, addr) == state
        assert restored.cli("check").stdout == "clean\n"
        # the restored server takes new mail with fresh UIDs
        restored.deliver(message(77), "bob@example.com")
        after = imap_state(restored, "bob@example.com")
        (inbox,) = [k for k in after if k[0] == "INBOX"]
        assert len(after[inbox]) == len(expected["bob@example.com"][inbox]) + 1
        assert max(after[inbox]) > max(expected["bob@example.com"][inbox])
    finally:
        assert restored.stop() == 0


def test_restore_refuses_a_damaged_backup(datadir, tmp_path):
    datadir.init()
    dest = str(tmp_path / "b")
    datadir.cli("backup", dest)
    with open(os.path.join(dest, "roost.conf"), "a") as f:
        f.write("# changed\n")
    from conftest import Roost
    target = Roost(tmp_path / "new")
    p = target.cli("restore", dest, check=False)
    assert p.returncode == 1 and "does not verify" in p.stderr
    assert not os.path.exists(os.path.join(target.datadir, "roost.db"))


def pop3_uidls(roost, address):
    import poplib
    p = poplib.POP3("127.0.0.1", roost.port("pop3"), timeout=10)
    p.user(address)
    p.pass_("secret")
    out = [l.decode().split(" ", 1)[1] for l in p.uidl()[1]]
    p.quit()
    return out


def test_restore_one_account_into_running_server(roost, tmp_path):
    roost.add_user("bob@example.com")
    for i in range(5):
        roost.deliver(message(i), "bob@example.com")
        roost.deliver(message(100 + i), "alice@example.com")
    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login("bob@example.com", "secret")
    c.create("Lists/Roost")
    c.subscribe("Lists/Roost")
    c.append("Lists/Roost", "(\\Seen $Important)", None, message(50).encode())
    c.select("INBOX")
    c.store("2", "+FLAGS", "(\\Flagged \\Deleted custom1)")
    c.expunge()  # an expunge-log row: QRESYNC state must come back
    c.logout()
    bob_uidls = pop3_uidls(roost, "bob@example.com")
    bob_before = imap_state(roost, "bob@example.com")
    roost.cli("sieve", "put", "bob@example.com", "rules", input="keep;\n")
    roost.cli("sieve", "activate", "bob@example.com", "rules")
    # per-account settings come back as they were
    roost.cli("user", "pop3-delete", "bob@example.com", "hide")
    # (inbox, not all: the POP3 listing compared below stays INBOX's)
    roost.cli("user", "pop3-mailboxes", "bob@example.com", "inbox")
    roost.cli("user", "save-sent", "bob@example.com", "no")
    roost.cli("user", "quota", "bob@example.com", "2G", "5000")
    bob_show = roost.cli("user", "show", "bob@example.com").stdout
    assert "pop3-mailboxes\tinbox\n" in bob_show and "pop3-delete\thide\n" in bob_show
    dest = str(tmp_path / "b")
    roost.cli("backup", dest)
    assert backup_state(dest, "bob@example.com") == bob_before

    # alice keeps a session open across the whole restore
    alice = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    alice.login("alice@example.com", "secret")
    alice.select("INBOX")
    alice_before = imap_state(roost, "alice@example.com")

    # an existing account is not replaced
    p = roost.cli("restore", "--account", "bob@example.com", dest, check=False)
    assert p.returncode == 1 and "exists" in p.stderr and "user del" in p.stderr
    roost.cli("user", "del", "bob@example.com")
    p = roost.cli("restore", "--account", "bob@example.com", "relative/path", check=False)
    assert p.returncode == 64 and "absolute path" in p.stderr
    p = roost.cli("restore", "--account", "bob@example.com", dest)
    assert "restored bob@example.com: " in p.stdout
    assert "control: restore" in roost.read_log()  # the daemon's writer did it

    assert imap_state(roost, "bob@example.com") == bob_before
    assert roost.cli("user", "show", "bob@example.com").stdout == bob_show
    assert pop3_uidls(roost, "bob@example.com") == bob_uidls
    # the account's Sieve scripts come back, the active one active
    assert roost.cli("sieve", "list", "bob@example.com").stdout == "rules\tactive\t6\n"

    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login("bob@example.com", "secret")
    typ, data = c.lsub()
    assert any(b"Lists/Roost" in l for l in data)
    c.select("INBOX")
    typ, data = c.uid("FETCH", "1:*", "(UID)")
    uids_before = sorted(int(re.search(rb"UID (\d+)", l).group(1)) for l in data)
    c.logout()
    roost.deliver(message(9), "bob@example.com")
    after = imap_state(roost, "bob@example.com")
    (inbox,) = [k for k in after if k[0] == "INBOX"]
    assert max(after[inbox]) > max(uids_before)  # UIDNEXT came back too

    # alice: untouched, her session still serving
    typ, _ = alice.noop()
    assert typ == "OK"
    typ, data = alice.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK" and b"Subject: m100" in data[0][1]
    alice.logout()
    assert imap_state(roost, "alice@example.com") == alice_before
    assert roost.cli("check").stdout == "clean\n"
