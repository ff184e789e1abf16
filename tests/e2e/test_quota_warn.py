"""Quota warnings (src/store/store-quota-warn.c): a delivery that makes an
account's storage use cross quota.warn_percent (80, 95) leaves exactly one
notice in INBOX (From postmaster@domain, Auto-Submitted); a delivery that
stays between thresholds leaves none; a drop and a new rise warns again;
the notice is never refused by the quota. `roost user list --over PCT`."""
import email
import email.policy
import imaplib
import os
import smtplib

ALICE = "alice@example.com"
LIMIT = 100 * 1024  # `user quota alice 100K`


def message(size, tag):
    head = "From: s@other.example\r\nTo: %s\r\nSubject: %s\r\n\r\n" % (ALICE, tag)
    body = ("x" * 76 + "\r\n") * max(1, (size - len(head)) // 78)
    return head + body


def usage(roost):
    quota, used, count = roost.users()[ALICE]
    return used, count


def notices(roost):
    """(subject, headers, body) of every quota notice in alice's INBOX."""
    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login(ALICE, "secret")
    c.select("INBOX", readonly=True)
    typ, data = c.uid("SEARCH", None, "HEADER", "Auto-Submitted", "auto-generated")
    out = []
    for uid in data[0].split():
        typ, d = c.uid("FETCH", uid, "(BODY.PEEK[])")
        m = email.message_from_bytes(d[0][1], policy=email.policy.default)
        out.append((str(m["Subject"]), m, m.get_content().replace("\r\n", "\n")))
    c.logout()
    return out


def deliver_to(roost, pct_after, tag):
    """Deliver one message that brings alice's use to about pct_after %."""
    used, _ = usage(roost)
    size = int(LIMIT * pct_after / 100) - used - 120  # trace headers
    assert size > 200, (used, pct_after)
    roost.deliver(message(size, tag), ALICE)


def test_one_notice_per_crossing(roost):
    roost.cli("user", "quota", ALICE, "100K")
    deliver_to(roost, 60, "sixty")
    assert usage(roost)[1] == 1 and notices(roost) == []

    deliver_to(roost, 85, "eighty-five")       # crosses 80
    used, count = usage(roost)
    assert count == 3, count                  # the message and one notice
    found = notices(roost)
    assert len(found) == 1
    subject, m, body = found[0]
    assert m["From"].addresses[0].addr_spec == "postmaster@example.com"
    assert m["Auto-Submitted"] == "auto-generated"
    assert "full" in subject and "8" in subject, subject
    assert "80%" in body and "MB" in body and "0.1 MB" in body, body  # 100K = 0.1 MB
    assert "%s" % ALICE in body

    deliver_to(roost, 89, "eighty-nine")       # between 80 and 95: nothing
    assert usage(roost)[1] == count + 1
    assert len(notices(roost)) == 1

    deliver_to(roost, 96, "ninety-six")        # crosses 95
    assert usage(roost)[1] == count + 3
    found = notices(roost)
    assert len(found) == 2 and "95%" in found[1][2]

    # over the quota: refused, and no notice either
    before = usage(roost)
    p = roost.deliver(message(8000, "too-big"), ALICE, check=False)
    assert p.returncode == 77, (p.returncode, p.stderr)
    assert usage(roost) == before

    # the support desk's view
    out = roost.cli("user", "list", "--over", "90%").stdout.splitlines()
    assert len(out) == 1, out
    addr, used_s, limit_s, pct = out[0].split("\t")
    assert addr == ALICE and int(used_s) == before[0] and int(limit_s) == LIMIT
    assert 95.0 <= float(pct.rstrip("%")) < 100.0
    assert roost.cli("user", "list", "--over", "99").stdout == ""


def test_drop_and_rise_warns_again_and_jump_warns_once(roost):
    roost.cli("user", "quota", ALICE, "100K")
    deliver_to(roost, 85, "big")
    assert len(notices(roost)) == 1
    # expunge everything: use falls to zero
    c = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    c.login(ALICE, "secret")
    c.select("INBOX")
    c.store("1:*", "+FLAGS", "(\\Deleted)")
    c.expunge()
    c.logout()
    assert usage(roost) == (0, 0)
    # one delivery from 0 to 97 % crosses both: one notice, for 95
    deliver_to(roost, 97, "jump")
    found = notices(roost)
    assert len(found) == 1 and "95%" in found[0][2], found
    assert usage(roost)[1] == 2


def test_lmtp_delivery_warns_and_notice_ignores_quota(roost):
    """LMTP path too; a delivery that lands exactly on the quota still gets
    its notice, although the notice then puts the account over it."""
    roost.cli("user", "quota", ALICE, "100K")
    deliver_to(roost, 70, "seventy")
    used, _ = usage(roost)
    with smtplib.LMTP("127.0.0.1", roost.port("lmtp"), timeout=20) as s:
        s.ehlo("mta.example")  # smtplib.LMTP sends LHLO
        # fill to the byte: the stored size is the data plus trace headers
        probe = message(2000, "probe")
        s.sendmail("s@other.example", [ALICE], probe)
    after, count = usage(roost)
    assert count == 2 and notices(roost) == []
    prefix = after - used - len(probe)
    fill = LIMIT - after - prefix
    head = "From: s@other.example\r\nSubject: fill\r\n\r\n"
    rest = fill - len(head)
    data = head + ("y" * 76 + "\r\n") * (rest // 78)
    data += "y" * (rest % 78 - 2) + "\r\n" if rest % 78 >= 3 else ""
    assert len(data) in (fill, fill - rest % 78)
    if len(data) != fill:  # make up the last bytes in the first line
        data = head + "z" * (rest % 78) + data[len(head):]
    with smtplib.LMTP("127.0.0.1", roost.port("lmtp"), timeout=20) as s:
        s.ehlo("mta.example")  # smtplib.LMTP sends LHLO
        s.sendmail("s@other.example", [ALICE], data)
    used, count = usage(roost)
    found = notices(roost)
    assert len(found) == 1 and "95%" in found[0][2]  # 70 -> 100: the highest
    assert count == 4 and used > LIMIT                # the notice is over the limit


def test_domain_template_and_config_texts(roost_factory):
    r = roost_factory(quota__warn_percent="50",
                      quota__warn_subject="Quota %p%% (limit %l MB)",
                      quota__warn_template="Line one %a\\nused %u of %l, %t%% crossed")
    r.add_user("bob@example.com")
    r.cli("user", "quota", ALICE, "100K")
    r.cli("user", "quota", "bob@example.com", "100K")
    deliver_to(r, 40, "forty")
    assert notices(r) == []
    deliver_to(r, 60, "sixty")                 # crosses 50 (80 and 95 are off)
    found = notices(r)
    assert len(found) == 1
    subject, m, body = found[0]
    assert subject[:8] in ("Quota 59", "Quota 60") and "(limit 0.1 MB)" in subject, subject
    assert body.splitlines()[:2] == ["Line one %s" % ALICE, "used 0.1 of 0.1, 50% crossed"], body
    # a per-domain file overrides both (first line the subject, UTF-8 ok)
    os.makedirs(os.path.join(r.datadir, "quota-warn"), exist_ok=True)
    with open(os.path.join(r.datadir, "quota-warn", "example.com"), "w") as f:
        f.write("Postfach zu %p%% voll \u2013 bitte aufr\u00e4umen\nHallo %a,\n%u MB von %l MB.\n")
    r.deliver(message(60000, "bob"), "bob@example.com")
    c = imaplib.IMAP4("127.0.0.1", r.port("imap"))
    c.login("bob@example.com", "secret")
    c.select("INBOX", readonly=True)
    typ, data = c.uid("SEARCH", None, "HEADER", "Auto-Submitted", "auto-generated")
    assert len(data[0].split()) == 1
    typ, d = c.uid("FETCH", data[0].split()[0], "(BODY.PEEK[])")
    c.logout()
    m = email.message_from_bytes(d[0][1], policy=email.policy.default)
    assert str(m["Subject"]).startswith("Postfach zu 5") and "aufr\u00e4umen" in str(m["Subject"])
    assert m.get_content().replace("\r\n", "\n").startswith("Hallo bob@example.com,\n0.1 MB von 0.1 MB.")


def test_bad_warn_percent_refused(datadir):
    datadir.init()
    with open(os.path.join(datadir.datadir, "roost.conf"), "a") as f:
        f.write("quota.warn_percent = 95, 80\n")
    p = datadir.cli("user", "list", check=False)
    assert p.returncode != 0 and "quota.warn_percent" in p.stderr, p.stderr


def test_user_list_over_arguments(roost):
    roost.add_user("bob@example.com")
    # bob has the default 1G quota and no mail: listed only from 0 %
    assert roost.cli("user", "list", "--over", "1").stdout == ""
    lines = roost.cli("user", "list", "--over", "0").stdout.splitlines()
    assert sorted(line.split("\t")[0] for line in lines) == [ALICE, "bob@example.com"]
    roost.cli("user", "quota", "bob@example.com", "unlimited")
    lines = roost.cli("user", "list", "--over", "0%").stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [ALICE]  # no limit, no share
    for bad in (["--over"], ["--over", "abc"], ["--over", "-5"], ["--over", "90%%"],
                ["--under", "5"], ["--over", "5000"]):
        p = roost.cli("user", "list", *bad, check=False)
        assert p.returncode != 0, bad


def test_offline_deliver_warns_and_oversized_domain_file_is_ignored(datadir):
    """`roost deliver` without a daemon takes the same path; a per-domain
    text file over its limit (or binary) is ignored for the built-in text."""
    datadir.init()
    datadir.cli("user", "quota", ALICE, "100K")
    os.makedirs(os.path.join(datadir.datadir, "quota-warn"))
    with open(os.path.join(datadir.datadir, "quota-warn", "example.com"), "w") as f:
        f.write("Huge subject\n" + "x" * 5000)
    datadir.deliver(message(60000, "sixty"), ALICE)
    assert datadir.users()[ALICE][2] == 1
    datadir.deliver(message(30000, "ninety"), ALICE)     # 58 % -> 88 %: crosses 80
    assert datadir.users()[ALICE][2] == 3
    out = datadir.cli("message", "get", ALICE, "INBOX", "3", binary=True).stdout
    assert b"Auto-Submitted: auto-generated" in out
    assert b"Huge subject" not in out and b"Subject: Your mailbox is 8" in out
    assert b"has reached 80% of its storage quota" in out
