"""Disk faults: the data directory lives on a
small tmpfs volume (`mount -t tmpfs -o size=...`), which the test fills
with a filler file until the kernel answers ENOSPC. This is a real full
filesystem, the same errno every write of SQLite sees on a full disk.

While the disk is full: SMTP gets 452 4.3.1, LMTP 452 4.3.1 for every
recipient, IMAP APPEND a tagged NO [UNAVAILABLE] (src/imap/imap-op.c maps
STORE_ENOSPACE to RFC 5530's UNAVAILABLE, a temporary failure); IMAP
FETCH and POP3 RETR keep serving what is stored. Once the filler is
removed, deliveries and APPENDs work again; nothing acknowledged is lost,
nothing refused is stored, nothing is stored twice, and `roost check` is
clean (through the daemon and on the stopped data directory).

Mounting needs root with CAP_SYS_ADMIN (CI runs as root). Where it is not
possible the test fails loudly: a fallback such as RLIMIT_FSIZE is not
faithful (it raises SIGXFSZ/EFBIG for one process's file size, not ENOSPC
for the filesystem), so the test does not pretend with one.
"""
import os
import poplib
import subprocess

import pytest

from conftest import Roost

# the data directory's volume fills up: with the store in PostgreSQL the
# mail is not there (the database's own disk-full is SQLSTATE 53100)
pytestmark = pytest.mark.sqlite_only("the SQLite file's volume fills up")
from faults import ALICE, Smtp, complete, imap_append, imap_login, make_message, stored_tokens

VOLUME_SIZE = "12m"
MSG_SIZE = 16 * 1024  # big enough that a few fill the last WAL pages
BIG_SIZE = 20 << 20   # above SQLite's 16 MB page cache (store.c cache_size)


@pytest.fixture
def volume(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % VOLUME_SIZE,
                        "tmpfs", str(mnt)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        pytest.fail("cannot mount a tmpfs for the disk-full test (needs root with "
                    "CAP_SYS_ADMIN): %s" % p.stdout.decode(errors="replace"))
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def fill(path):
    """Write a filler file until the filesystem is full; returns its path."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (1 << 20, 64 << 10, 4 << 10, 512, 1):
            block = b"\0" * chunk
            while True:
                try:
                    if os.write(fd, block) < chunk:
                        break
                except OSError:
                    break
    finally:
        os.close(fd)
    st = os.statvfs(path)
    assert st.f_bavail == 0, "the volume did not fill"
    return filler


def deliver(port, lmtp, token, rcpts=(ALICE,)):
    c = Smtp(port, lmtp=lmtp)
    try:
        return c.send(make_message(token, MSG_SIZE), rcpts)
    finally:
        c.close()


def test_disk_full_temporary_errors_then_recovery(volume, tmp_path):
    r = Roost(volume / "var")
    r.logfile = str(tmp_path / "roost.log")  # the log must not share the full disk
    r.init()
    r.add_user("bob@example.com")
    r.start()
    acked = set()     # tokens the server acknowledged (must be stored once)
    refused = set()   # tokens refused with a temporary error (must be absent)
    try:
        # Before the fault: something stored, to read during it.
        assert [c for c, _ in deliver(r.port("smtp"), False, "tok-before")] == [250]
        acked.add("tok-before")
        imap = imap_login(r.port("imap"))
        ok, uidvalidity, _, text = imap_append(imap, make_message("tok-append-before", MSG_SIZE))
        assert ok, text
        acked.add("tok-append-before")

        filler = fill(str(volume))

        # SQLite may still have room inside its WAL file for a commit or
        # two: deliver until the first refusal (bounded), counting acks.
        first = None
        for i in range(60):
            token = "tok-fill-%d" % i
            [(code, text)] = deliver(r.port("smtp"), False, token)
            if code == 250:
                acked.add(token)
                continue
            first = (code, text)
            refused.add(token)
            break
        assert first is not None, "60 deliveries of %d bytes fit on a full disk" % MSG_SIZE
        assert first[0] == 452 and first[1].startswith("4.3.1"), first

        # Now every write path gets its temporary error, repeatedly.
        for i in range(3):
            token = "tok-smtp-full-%d" % i
            assert deliver(r.port("smtp"), False, token)[0][:1] == (452,)
            refused.add(token)
        token = "tok-lmtp-full"
        replies = deliver(r.port("lmtp"), True, token, rcpts=(ALICE, "bob@example.com"))
        assert len(replies) == 2
        for code, text in replies:
            assert code == 452 and text.startswith("4.3.1"), replies
        refused.add(token)
        # A message larger than SQLite's page cache (16 MB) spills to the
        # WAL mid-transaction, so the failure can come inside the op (where
        # SQLite may roll back the whole transaction) rather than at COMMIT.
        token = "tok-lmtp-big"
        c = Smtp(r.port("lmtp"), lmtp=True, timeout=60)
        replies = c.send(make_message(token, BIG_SIZE), (ALICE, "bob@example.com"))
        c.close()
        assert [(code, text[:5]) for code, text in replies] == [(452, "4.3.1")] * 2, replies
        refused.add(token)
        token = "tok-append-full"
        ok, _, _, text = imap_append(imap, make_message(token, MSG_SIZE))
        assert not ok and "[UNAVAILABLE]" in text, text
        refused.add(token)

        # Reads keep working: IMAP FETCH and POP3 RETR of stored mail.
        typ, data = imap.select("INBOX", readonly=True)
        assert typ == "OK", data
        typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (X-TOKEN)])")
        assert typ == "OK"
        seen = b"".join(x[1] for x in data if isinstance(x, tuple))
        assert b"tok-before" in seen and b"tok-append-before" in seen
        pop = poplib.POP3("127.0.0.1", r.port("pop3"), timeout=10)
        pop.user(ALICE)
        pop.pass_("secret")
        count, _ = pop.stat()
        assert count == len(acked)
        resp, lines, _ = pop.retr(1)
        assert resp.startswith(b"+OK") and any(b"X-Token: tok-" in ln for ln in lines)
        # QUIT records the retrieval (a write): a temporary error now
        # (RFC 3206 SYS/TEMP), and the message stays.
        with pytest.raises(poplib.error_proto, match=r"\[SYS/TEMP\]"):
            pop.quit()
        pop.close()

        # Space returns: everything works again, at once.
        os.unlink(filler)
        for proto in ("smtp", "lmtp"):
            token = "tok-after-" + proto
            replies = deliver(r.port(proto), proto == "lmtp", token)
            assert [c for c, _ in replies] == [250], replies
            acked.add(token)
        ok, uv2, _, text = imap_append(imap, make_message("tok-append-after", MSG_SIZE))
        assert ok, text
        assert uv2 == uidvalidity
        acked.add("tok-append-after")
        imap.logout()

        # Nothing lost, nothing refused stored, nothing twice, all whole.
        stored = stored_tokens(r.port("imap"))
        for token in acked:
            assert len(stored.get(token, [])) == 1, (token, len(stored.get(token, [])))
        for token in refused:
            assert token not in stored, token
        assert set(stored) == acked
        for token, [(uid, body)] in stored.items():
            assert complete(token, body, MSG_SIZE), token
        users = r.users()
        assert users[ALICE][2] == len(acked)
        assert users["bob@example.com"][2] == 0
        p = r.cli("check", check=False)
        assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr
    finally:
        rc = r.stop()
    assert rc == 0, r.read_log()
    p = r.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr
