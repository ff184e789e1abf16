"""QUOTA (RFC 9208) beyond GETQUOTA: SETQUOTA by the quota administrators
of imap.quota_admins for the accounts of their own domain (QUOTASET),
NO [NOPERM] for everyone else; STATUS DELETED (RFC 9051 6.3.11) and
DELETED-STORAGE (RFC 9208 4.2)."""
import re

from imap_raw import Raw


def lit(data):
    return b"{%d+}\r\n" % len(data) + data


def login(roost, user):
    c = Raw(roost, login=False)
    assert c.ok(b"LOGIN " + user + b" secret")
    return c


QUOTA_100K = "102400"  # `user list` shows the byte limit


def admin_roost(roost_factory):
    r = roost_factory(**{"imap.quota_admins": "postmaster@example.com, boss@other.org"})
    r.add_user("postmaster@example.com")
    r.add_user("bob@example.com")
    r.cli("domain", "add", "other.org")
    r.add_user("boss@other.org")
    r.add_user("carol@other.org")
    return r


def test_not_admin_is_refused_and_no_quotaset(roost):
    before = roost.users()["alice@example.com"]
    c = Raw(roost)
    caps = c.cmd(b"CAPABILITY")[0].split()
    assert b"QUOTA" in caps and b"QUOTASET" not in caps
    out = c.cmd(b"SETQUOTA \"\" (STORAGE 512)")
    assert b"NO [NOPERM]" in out[-1], out
    out = c.cmd(b"SETQUOTA alice@example.com (STORAGE 512)")
    assert b"NO [NOPERM]" in out[-1], out
    assert roost.users()["alice@example.com"] == before
    assert b" 512)" not in b"".join(c.cmd(b"GETQUOTA \"\""))


def test_rfc_example_setquota_by_admin(roost_factory):
    r = admin_roost(roost_factory)
    pm = login(r, b"postmaster@example.com")
    assert b"QUOTASET" in pm.cmd(b"CAPABILITY")[0].split()
    # RFC 9208 4.1.3 example, on the administrator's own root ""
    out = pm.cmd(b"SETQUOTA \"\" (STORAGE 512)")
    assert out[0] == b"* QUOTA \"\" (STORAGE 0 512)\r\n", out
    assert out[-1].split()[1] == b"OK"
    # another account of the domain, named by its address
    pm.cmd(b"NOOP")
    out = pm.cmd(b"SETQUOTA bob@example.com (STORAGE 100 MESSAGE 3)")
    assert out[0] == b"* QUOTA \"bob@example.com\" (STORAGE 0 100 MESSAGE 0 3)\r\n", out
    out = pm.cmd(b"GETQUOTA bob@example.com")
    assert out[0] == b"* QUOTA \"bob@example.com\" (STORAGE 0 100 MESSAGE 0 3)\r\n", out
    # bob sees it on his own root and is held to it
    bob = login(r, b"bob@example.com")
    out = bob.cmd(b"GETQUOTA \"\"")
    assert out[0] == b"* QUOTA \"\" (STORAGE 0 100 MESSAGE 0 3)\r\n", out
    for i in range(3):
        assert bob.ok(b"APPEND INBOX " + lit(b"Subject: %d\r\n\r\nx\r\n" % i))
    out = bob.cmd(b"APPEND INBOX " + lit(b"Subject: 4\r\n\r\nx\r\n"))
    assert b"NO [OVERQUOTA]" in out[-1], out
    # a resource left out keeps its limit; 0 is a limit, not "unlimited"
    out = pm.cmd(b"SETQUOTA bob@example.com (MESSAGE 10)")
    assert b"STORAGE 1 100 MESSAGE 3 10" in out[0], out
    assert bob.ok(b"APPEND INBOX " + lit(b"Subject: 5\r\n\r\nx\r\n"))
    # the CLI agrees
    assert r.users()["bob@example.com"][0] == QUOTA_100K, r.users()["bob@example.com"]


def test_admin_cannot_reach_another_domain(roost_factory):
    r = admin_roost(roost_factory)
    pm = login(r, b"postmaster@example.com")
    before = r.users()["carol@other.org"][0]
    out = pm.cmd(b"SETQUOTA carol@other.org (STORAGE 1)")
    assert b"NO [NOPERM]" in out[-1], out
    out = pm.cmd(b"GETQUOTA carol@other.org")
    assert b"NO [NOPERM]" in out[-1] and b"* QUOTA" not in b"".join(out), out
    assert r.users()["carol@other.org"][0] == before
    # no such account in its own domain
    out = pm.cmd(b"SETQUOTA nobody@example.com (STORAGE 1)")
    assert b"NO [NONEXISTENT]" in out[-1], out
    # the other domain's administrator may
    boss = login(r, b"boss@other.org")
    out = boss.cmd(b"SETQUOTA carol@other.org (STORAGE 1)")
    assert out[-1].split()[1] == b"OK", out


def test_plain_user_cannot_name_other_accounts(roost_factory):
    r = admin_roost(roost_factory)
    bob = login(r, b"bob@example.com")
    for cmd in (b"SETQUOTA postmaster@example.com (STORAGE 1)",
                b"SETQUOTA bob@example.com (STORAGE 1)", b"SETQUOTA \"\" (STORAGE 1)"):
        out = bob.cmd(cmd)
        assert b"NO [NOPERM]" in out[-1], out
    out = bob.cmd(b"GETQUOTA postmaster@example.com")
    assert b"NO [NONEXISTENT]" in out[-1] and b"* QUOTA" not in b"".join(out), out


def test_setquota_syntax(roost_factory):
    r = admin_roost(roost_factory)
    pm = login(r, b"postmaster@example.com")
    for bad in (b"SETQUOTA \"\" (STORAGE)", b"SETQUOTA \"\" (STORAGE x)",
                b"SETQUOTA \"\" STORAGE 1", b"SETQUOTA \"\" (STORAGE -1)",
                b"SETQUOTA \"\" (STORAGE 99999999999999999999)"):
        out = pm.cmd(bad)
        assert out[-1].split()[1] == b"BAD", (bad, out)
    out = pm.cmd(b"SETQUOTA \"\" (MAILBOX 5)")
    assert out[-1].split()[1] == b"NO", out


def test_status_deleted_and_deleted_storage(roost):
    c = Raw(roost)
    body = b"Subject: s\r\n\r\n" + b"y" * 3000 + b"\r\n"
    for i in range(3):
        assert c.ok(b"APPEND INBOX " + lit(body))
    out = c.cmd(b"STATUS INBOX (DELETED DELETED-STORAGE)")
    assert b"(DELETED 0 DELETED-STORAGE 0)" in out[0], out
    assert c.ok(b"SELECT INBOX")
    assert c.ok(b"STORE 1:2 +FLAGS.SILENT (\\Deleted)")
    out = c.cmd(b"STATUS INBOX (DELETED-STORAGE DELETED MESSAGES)")
    m = re.search(rb"DELETED-STORAGE (\d+)", out[0])
    assert m and int(m.group(1)) == (2 * len(body) + 1023) // 1024, out
    assert b"DELETED 2" in out[0] and b"MESSAGES 3" in out[0]
    assert c.ok(b"EXPUNGE")
    out = c.cmd(b"STATUS INBOX (DELETED-STORAGE)")
    assert b"(DELETED-STORAGE 0)" in out[0], out
    out = c.cmd(b"STATUS NoSuch (DELETED-STORAGE)")
    assert b"NO [NONEXISTENT]" in out[-1]
