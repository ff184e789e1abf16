"""The auth cache (src/auth/auth-cache.c): a repeated successful password
login is answered without a password hash, yet a changed password, a
disabled or deleted account and a revoked app password fail at once, a
wrong password is never answered from it, a blocked network stays
blocked, and auth.cache_ttl=0 turns it off. Hits are seen in the debug
log, never by timing."""
import time

from test_abuse import IMAP_FAIL, POP3_FAIL, USER, PASSWORD, ImapClient, Pop3Client

IMAP_BLOCKED = b"NO [UNAVAILABLE] Too many failed logins from your address, try again later"
HIT = "auth cache hit: account id"


def full_log(r):
    with open(r.logfile, "rb") as f:
        return f.read().decode(errors="replace")


def hits(r):
    return full_log(r).count(HIT)


def imap_login(r, user=USER, password=PASSWORD, src="127.0.0.1"):
    c = ImapClient(src, r.port("imap"))
    reply, _ = c.login(user, password)
    c.close()
    return reply


def pop3_login(r, user=USER, password=PASSWORD):
    c = Pop3Client("127.0.0.1", r.port("pop3"))
    reply, _ = c.login(user, password)
    c.close()
    return reply


def cached(roost_factory, **settings):
    """A daemon with a debug log, alice's login cached (a hit seen)."""
    r = roost_factory(log__level="debug", **settings)
    assert imap_login(r).startswith(b"OK")
    assert hits(r) == 0
    assert imap_login(r).startswith(b"OK")
    assert hits(r) == 1, full_log(r)[-3000:]
    return r


def test_repeated_login_is_a_hit_for_imap_and_pop3(roost_factory):
    r = cached(roost_factory)
    assert pop3_login(r).startswith(b"+OK")
    assert hits(r) == 2
    # the bare name of the only hosted domain is the same entry
    assert imap_login(r, user=b"alice").startswith(b"OK")
    assert hits(r) == 3
    log = full_log(r)
    assert "auth cache: up to 10000 successful logins, each for 300 s" in log
    # never the password, in any line
    assert PASSWORD.decode() not in log


def test_wrong_password_after_a_cached_right_one_fails(roost_factory):
    r = cached(roost_factory)
    assert imap_login(r, password=b"secreT") == IMAP_FAIL
    assert imap_login(r, password=b"secret2") == IMAP_FAIL
    assert pop3_login(r, password=b"wrong") == POP3_FAIL
    assert hits(r) == 1
    assert imap_login(r).startswith(b"OK")
    assert hits(r) == 2


def test_old_password_fails_at_once_after_passwd(roost_factory):
    r = cached(roost_factory)
    r.cli("user", "passwd", "alice@example.com", input="new-secret\n")
    assert imap_login(r) == IMAP_FAIL
    assert pop3_login(r) == POP3_FAIL
    assert imap_login(r, password=b"new-secret").startswith(b"OK")
    assert hits(r) == 1
    # and changing it back makes the old entry no good either: a fresh check
    r.cli("user", "passwd", "alice@example.com", input="secret\n")
    assert imap_login(r).startswith(b"OK")
    assert imap_login(r, password=b"new-secret") == IMAP_FAIL


def test_disabled_account_never_logs_in_from_the_cache(roost_factory):
    r = cached(roost_factory)
    r.cli("user", "disable", "alice@example.com")
    assert imap_login(r) == IMAP_FAIL
    assert pop3_login(r) == POP3_FAIL
    assert hits(r) == 1
    r.cli("user", "enable", "alice@example.com")
    assert imap_login(r).startswith(b"OK")


def test_deleted_then_recreated_account_misses(roost_factory):
    r = cached(roost_factory)
    r.cli("user", "del", "alice@example.com")
    assert imap_login(r) == IMAP_FAIL
    # same name, same password, a new account: a full check, not the old entry
    r.add_user("alice@example.com", "secret")
    n = hits(r)
    assert imap_login(r).startswith(b"OK")
    assert hits(r) == n


def test_revoked_app_password_fails_at_once(roost_factory):
    r = roost_factory(log__level="debug")
    app = r.cli("user", "app-password", "add", "alice@example.com", "phone").stdout.strip()
    assert imap_login(r, password=app.encode()).startswith(b"OK")
    assert imap_login(r, password=app.encode()).startswith(b"OK")
    assert hits(r) == 1
    r.cli("user", "app-password", "del", "alice@example.com", "phone")
    assert imap_login(r, password=app.encode()) == IMAP_FAIL
    assert imap_login(r).startswith(b"OK")


def test_blocked_network_stays_blocked_with_a_cached_login(roost_factory):
    r = cached(roost_factory, auth__fail_delay="10ms", auth__fail_delay_max="50ms",
               auth__block_failures="3", auth__block_time="1m")
    src = "127.14.0.1"
    assert imap_login(r, src=src).startswith(b"OK")  # cached for this address too
    c = ImapClient(src, r.port("imap"))
    for _ in range(3):
        assert c.login(USER, b"wrong")[0] == IMAP_FAIL
    assert c.login(USER, PASSWORD)[0] == IMAP_BLOCKED
    c.close()
    # others are not blocked and still hit
    n = hits(r)
    assert imap_login(r).startswith(b"OK")
    assert hits(r) == n + 1


def test_entries_expire_after_the_ttl(roost_factory):
    r = cached(roost_factory, auth__cache_ttl="2s")
    time.sleep(2.5)
    assert imap_login(r).startswith(b"OK")
    assert hits(r) == 1  # a full check again
    assert imap_login(r).startswith(b"OK")
    assert hits(r) == 2


def test_ttl_zero_turns_the_cache_off(roost_factory):
    r = roost_factory(log__level="debug", auth__cache_ttl="0")
    for _ in range(3):
        assert imap_login(r).startswith(b"OK")
        assert pop3_login(r).startswith(b"+OK")
    assert imap_login(r, password=b"wrong") == IMAP_FAIL
    r.cli("user", "passwd", "alice@example.com", input="other\n")
    assert imap_login(r) == IMAP_FAIL
    assert imap_login(r, password=b"other").startswith(b"OK")
    assert hits(r) == 0
    assert "auth cache: off" in full_log(r)


def test_metrics_count_hits_and_misses(roost_factory):
    from http_util import fetch
    r = cached(roost_factory)
    assert imap_login(r, password=b"wrong") == IMAP_FAIL
    status, _, body = fetch(r, "/metrics")
    assert status == 200
    text = body.decode()
    # the first login and the wrong password missed, the second was a hit
    assert 'roost_auth_cache_total{result="hit"} 1\n' in text, text
    assert 'roost_auth_cache_total{result="miss"} 2\n' in text, text
