"""RENAME of a parent moves its children with it (RFC 9051 6.3.6): every
child's new name must stay within the mailbox name limits (32 levels,
512 bytes, store.h), or the whole rename is refused with NO [LIMIT] and
nothing moves. Otherwise the children end up where they can be neither
selected nor deleted."""
import imaplib

MAX_DEPTH = 32
MAX_NAME = 512


def login(roost):
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    m.login("alice@example.com", "secret")
    return m


def names(m):
    typ, data = m.list('""', "*")
    assert typ == "OK"
    out = set()
    for line in data:
        line = line.decode()
        out.add(line.rsplit(' "/" ', 1)[1].strip('"'))
    return out


def test_rename_parent_past_depth_or_length_refused(roost):
    m = login(roost)
    deep = "p" + "/c" * (MAX_DEPTH - 1)
    assert m.create(deep)[0] == "OK"
    long_name = "q/" + "x" * (MAX_NAME - 2)
    assert m.create(long_name)[0] == "OK"
    before = names(m)
    for old, new in (("p", "a/p"), ("p/c", "p/d/c"), ("q", "qq"),
                     ("q", "z/" * 10 + "q")):
        typ, data = m.rename(old, new)
        assert (typ, data[0][:7]) == ("NO", b"[LIMIT]"), (old, new, typ, data)
        assert names(m) == before
    # every child is still usable where it was
    assert m.select('"%s"' % deep)[0] == "OK"
    m.close()
    assert m.select('"%s"' % long_name)[0] == "OK"
    m.close()
    # and a rename within the limits moves the whole hierarchy
    assert m.rename("p", "r")[0] == "OK"
    after = names(m)
    assert "r" + "/c" * (MAX_DEPTH - 1) in after
    assert not any(n == "p" or n.startswith("p/") for n in after)
    m.logout()
    p = roost.cli("check", check=False)
    assert (p.returncode, p.stdout) == (0, "clean\n"), p.stdout + p.stderr
