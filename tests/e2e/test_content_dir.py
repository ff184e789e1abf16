"""store.content = dir:PATH (issue 18): message bytes in files of a content
directory, the database keeping rows that name them. On either backend
(ROOST_TEST_STORE): every protocol reads the same bytes as from the
database; one file per content, shared by hash; a file goes only when its
last message does; roost check finds a missing or foreign file; a store
switches from db to dir:PATH with what it held still readable; two nodes
on one PostgreSQL database share the directory."""
import glob
import hashlib
import imaplib
import os
import poplib
import smtplib
import time

import pytest

from conftest import Roost, pg_cluster, pg_new_database, stop_clean
from multinode import nodes  # noqa: F401

MSG = (b"From: sender@example.org\r\nTo: alice@example.com\r\n"
       b"Subject: filed away\r\nMessage-ID: <cd1@example.org>\r\n\r\n"
       b"The quick zebrafinch sings.\r\n")


def files(content):
    return sorted(p for p in glob.glob(os.path.join(content, "??", "*")))


def imap_login(r, user="alice@example.com"):
    m = imaplib.IMAP4("127.0.0.1", r.port("imap"))
    m.login(user, "secret")
    return m


def fetch_all(r, user="alice@example.com"):
    m = imap_login(r, user)
    try:
        m.select("INBOX")
        typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[] BODY.PEEK[HEADER])")
        assert typ == "OK", data
        return [x for item in data if isinstance(item, tuple) for x in item[1:2]]
    finally:
        m.logout()


def set_conf(r, line):
    """roost.conf, which the daemon and the CLI (roost deliver, check) read."""
    with open(os.path.join(r.datadir, "roost.conf"), "a") as f:
        f.write(line + "\n")


def content_roost(tmp_path):
    content = str(tmp_path / "content")
    r = Roost(tmp_path / "var")
    r.init()
    r.add_user("bob@example.com")
    set_conf(r, "store.content = dir:" + content)
    r.start()
    return r, content


def test_bytes_in_files_read_by_every_protocol(tmp_path):
    r, content = content_roost(tmp_path)
    try:
        r.deliver(MSG, "alice@example.com")
        (path,) = files(content)
        with open(path, "rb") as f:
            assert f.read() == MSG
        rows = r.sql("SELECT length(data), location FROM contents")
        # (the PostgreSQL helper reads 0 as 0 and '' as None)
        assert rows == [(0, os.path.relpath(path, content))], rows
        body, header = fetch_all(r)
        # (after the message's own prefix: Return-Path and the like)
        assert body.endswith(MSG) and body.startswith(b"Return-Path:")
        assert header.endswith(MSG[:MSG.index(b"\r\n\r\n") + 4])
        assert len(header) == len(body) - len(b"The quick zebrafinch sings.\r\n")
        # SEARCH reads the file (the index, or the message itself)
        m = imap_login(r)
        m.select("INBOX")
        assert m.uid("SEARCH", "BODY", "zebrafinch") == ("OK", [b"1"])
        m.logout()
        p = poplib.POP3("127.0.0.1", r.port("pop3"))
        p.user("alice@example.com")
        p.pass_("secret")
        _, lines, _ = p.retr(1)
        assert (b"\r\n".join(lines) + b"\r\n").endswith(MSG)
        p.quit()
        check = r.cli("check", check=False)
        assert (check.returncode, check.stdout) == (0, "clean\n"), check.stdout + check.stderr
    finally:
        stop_clean(r)


def test_one_file_per_content_gone_with_its_last_message(tmp_path):
    r, content = content_roost(tmp_path)
    try:
        r.deliver(MSG, "alice@example.com", "bob@example.com")
        assert len(files(content)) == 1
        for user, left in (("alice@example.com", 1), ("bob@example.com", 0)):
            m = imap_login(r, user)
            m.select("INBOX")
            m.store("1", "+FLAGS", "\\Deleted")
            assert m.expunge()[0] == "OK"
            m.logout()
            assert len(files(content)) == left, user
        assert r.sql("SELECT count(*) FROM contents") == [(0,)]
        # the same bytes again: a file of a new name
        r.deliver(MSG, "alice@example.com")
        assert len(files(content)) == 1
        assert fetch_all(r)[0].endswith(MSG)
    finally:
        stop_clean(r)


def test_check_finds_missing_and_foreign_files(tmp_path):
    r, content = content_roost(tmp_path)
    try:
        r.deliver(MSG, "alice@example.com")
        (path,) = files(content)
        # a file no row names, older than a batch could be
        stray = os.path.join(os.path.dirname(path), "f" * 64 + ".0123456789abcdef")
        with open(stray, "wb") as f:
            f.write(b"x")
        old = time.time() - 7200
        os.utime(stray, (old, old))
        young = os.path.join(os.path.dirname(path), "e" * 64 + ".0123456789abcdef")
        with open(young, "wb") as f:
            f.write(b"y")
        check = r.cli("check", check=False)
        assert check.returncode != 0
        assert os.path.relpath(stray, content) in check.stdout, check.stdout
        assert os.path.relpath(young, content) not in check.stdout, check.stdout
        os.unlink(stray)
        os.unlink(young)
        # the message's own file gone: check says so, IMAP answers NO, the
        # daemon carries on
        os.rename(path, path + ".moved")
        check = r.cli("check", check=False)
        assert check.returncode != 0 and "No such file" in check.stdout, check.stdout
        m = imap_login(r)
        m.select("INBOX")
        typ, data = m.uid("FETCH", "1", "(BODY.PEEK[])")
        assert typ == "NO", (typ, data)
        assert m.noop()[0] == "OK"
        m.logout()
        os.rename(path + ".moved", path)
        assert fetch_all(r)[0].endswith(MSG)
    finally:
        stop_clean(r)


def test_switch_from_db_to_files(tmp_path):
    r = Roost(tmp_path / "var")
    r.init()
    r.start()
    content = str(tmp_path / "content")
    try:
        r.deliver(MSG, "alice@example.com")
        r.stop()
        set_conf(r, "store.content = dir:" + content)
        r.start()
        second = MSG.replace(b"cd1@", b"cd2@")
        r.deliver(second, "alice@example.com")
        assert len(files(content)) == 1
        got = fetch_all(r)
        assert got[0].endswith(MSG) and got[2].endswith(second)
        check = r.cli("check", check=False)
        assert (check.returncode, check.stdout) == (0, "clean\n"), check.stdout + check.stderr
        # a backup of the database alone would lack the bytes: refused
        p = r.cli("backup", str(tmp_path / "backup"), check=False)
        assert p.returncode != 0 and "roost backup copies" in p.stderr, p.stderr
    finally:
        stop_clean(r)


def test_bad_setting_refused(tmp_path):
    r = Roost(tmp_path / "var")
    r.init()
    conf = os.path.join(r.datadir, "roost.conf")
    with open(conf) as f:
        base = f.read()
    for value, why in (("dir:relative/path", "must be absolute"),
                       ("s3", "expected db or dir:PATH")):
        with open(conf, "w") as f:
            f.write(base + "store.content = %s\n" % value)
        p = r.cli("check", check=False)
        assert p.returncode != 0 and why in p.stderr, p.stderr


def test_two_nodes_share_the_directory(nodes, tmp_path):
    content = str(tmp_path / "shared")
    a, b = nodes(2, store__content="dir:" + content)
    # (the nodes' daemons have it from --set; roost deliver from roost.conf)
    set_conf(a, "store.content = dir:" + content)
    a.deliver(MSG, "alice@example.com")
    assert len(files(content)) == 1
    assert fetch_all(b)[0].endswith(MSG)
    m = imap_login(b)
    m.select("INBOX")
    m.store("1", "+FLAGS", "\\Deleted")
    m.expunge()
    m.logout()
    assert files(content) == []


def test_postgresql_store_of_version_7_is_upgraded(tmp_path):
    """PostgreSQL stores were made at schema version 7: the first opening
    by this roost adds contents.location (one transaction), and what the
    store held reads as before. On PostgreSQL whatever ROOST_TEST_STORE
    says."""
    r = Roost(tmp_path / "var")
    r.pg_dbname = pg_new_database()
    r.cli("init", "--postgresql", pg_cluster().conninfo_for(r.pg_dbname, tcp=True))
    r.cli("domain", "add", "example.com")
    r.add_user("alice@example.com")
    r.deliver(MSG, "alice@example.com")
    r.sql("ALTER TABLE contents DROP COLUMN location")
    r.sql("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    p = r.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr
    assert "schema upgraded from version 7 to 8" in p.stderr, p.stderr
    assert r.sql("SELECT value FROM meta WHERE key = 'schema_version'") == [(8,)]
    r.start()
    try:
        assert fetch_all(r)[0].endswith(MSG)
    finally:
        stop_clean(r)
    # a version no PostgreSQL store ever had is refused, nothing changed
    r.sql("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    p = r.cli("check", check=False)
    assert p.returncode != 0 and "a PostgreSQL store begins at 7" in p.stderr, p.stderr


def test_store_copy_gives_the_copy_files_of_its_own(tmp_path):
    """roost store copy SQLite -> PostgreSQL with a content directory: the
    bytes are read from the source's files and written as new files for
    the copy, so deleting in one store never takes the other's bytes."""
    content = str(tmp_path / "content")
    r = Roost(tmp_path / "var")
    r.cli("init")   # SQLite, whatever ROOST_TEST_STORE says
    r.cli("domain", "add", "example.com")
    r.add_user("alice@example.com")
    set_conf(r, "store.content = dir:" + content)
    r.deliver(MSG, "alice@example.com")
    (source_file,) = files(content)
    dbname = pg_new_database()
    r.cli("store", "copy", "--to", "postgresql",
          pg_cluster().conninfo_for(dbname, tcp=True))
    r.pg_dbname = dbname
    copied = [f for f in files(content) if f != source_file]
    assert len(copied) == 1 and os.path.exists(source_file)
    assert r.sql("SELECT location FROM contents") == [(os.path.relpath(copied[0], content),)]
    check = r.cli("check", check=False)
    # the source's file is named by no row of this store; younger than an
    # hour it may be a batch in flight, so it is not reported yet
    assert (check.returncode, check.stdout) == (0, "clean\n"), check.stdout + check.stderr
    r.start()
    try:
        assert fetch_all(r)[0].endswith(MSG)
    finally:
        stop_clean(r)


def test_a_file_that_cannot_be_written_is_a_temporary_failure(tmp_path):
    """The content's directory cannot be made (a plain file is in its way):
    the delivery fails temporarily (EX_TEMPFAIL for roost deliver, 451 over
    LMTP), nothing is stored, and the next try after the repair works."""
    r, content = content_roost(tmp_path)
    try:
        r.deliver(MSG.replace(b"cd1@", b"other@"), "bob@example.com")
        blocker = os.path.join(content, hashlib.sha256(MSG).hexdigest()[:2])
        if os.path.isdir(blocker):
            os.rmdir(blocker)
        with open(blocker, "wb") as f:
            f.write(b"in the way")
        p = r.deliver(MSG, "alice@example.com", check=False)
        assert p.returncode == 75, (p.returncode, p.stderr)
        with smtplib.LMTP("127.0.0.1", r.port("lmtp")) as lmtp:
            with pytest.raises(smtplib.SMTPDataError) as e:
                lmtp.sendmail("sender@example.org", ["alice@example.com"], MSG)
        assert e.value.smtp_code == 451, e.value
        assert r.users()["alice@example.com"][2] == 0
        os.unlink(blocker)
        r.deliver(MSG, "alice@example.com")
        assert r.users()["alice@example.com"][2] == 1
        assert fetch_all(r)[0].endswith(MSG)
    finally:
        stop_clean(r)
