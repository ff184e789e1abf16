"""CATENATE (RFC 4469): APPEND of a message assembled from TEXT literals
and IMAP URLs (RFC 5092) to the session's own messages, with sections
and partial ranges; NO [BADURL] for anything else (another account's
message above all); the part and size limits."""
import re

from imap_raw import Raw

BOUNDARY = b"------------030308070208000400050907"
ORIGINAL = (b"From: Joe <joe@example.com>\r\n"
            b"Subject: the draft\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"" + BOUNDARY[2:] + b"\"\r\n"
            b"\r\n"
            b"--" + BOUNDARY[2:] + b"\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\n"
            b"\r\n"
            b"Part one.\r\n"
            b"--" + BOUNDARY[2:] + b"\r\n"
            b"Content-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"\r\n"
            b"QmlnIGF0dGFjaG1lbnQ=\r\n"
            b"--" + BOUNDARY[2:] + b"--\r\n")


def lit(data):
    return b"{%d+}\r\n" % len(data) + data


def q(s):
    return b"\"" + s + b"\""


def fetch_body(c, box, uid):
    assert c.ok(b"EXAMINE " + box)
    out = c.cmd(b"UID FETCH %d BODY.PEEK[]" % uid)
    t = b"".join(out)
    m = re.search(rb"BODY\[\] \{(\d+)\}\r\n", t)
    assert m, out
    start = m.end()
    return t[start:start + int(m.group(1))]


def store_original(c, box=b"Drafts"):
    out = c.cmd(b"APPEND " + box + b" " + lit(ORIGINAL))
    m = re.search(rb"APPENDUID (\d+) (\d+)", out[-1])
    assert m, out
    return int(m.group(1)), int(m.group(2))


def test_capability(roost):
    c = Raw(roost)
    assert b"CATENATE" in c.cmd(b"CAPABILITY")[0].split()


def test_rfc_example_forward_with_a_new_part(roost):
    c = Raw(roost)
    uidvalidity, uid = store_original(c)
    base = b"/Drafts;UIDVALIDITY=%d/;UID=%d" % (uidvalidity, uid)
    new_part = (b"\r\n--" + BOUNDARY[2:] + b"\r\n"
                b"Content-Type: text/plain\r\n\r\nA new part.\r\n")
    # RFC 4469 5: header from the old draft, the old parts by URL, new text
    sep = b"\r\n--" + BOUNDARY[2:] + b"\r\n"
    out = c.cmd(b"APPEND Drafts CATENATE (URL " + q(base + b"/;section=HEADER") +
                b" TEXT " + lit(sep[2:]) +
                b" URL " + q(base + b"/;section=1.MIME") +
                b" URL " + q(base + b"/;section=1") +
                b" TEXT " + lit(sep) +
                b" URL " + q(base + b"/;section=2.MIME") +
                b" URL " + q(base + b"/;section=2") +
                b" TEXT " + lit(new_part + b"--" + BOUNDARY[2:] + b"--\r\n") + b")")
    m = re.search(rb"OK \[APPENDUID (\d+) (\d+)\]", out[-1])
    assert m, out
    body = fetch_body(c, b"Drafts", int(m.group(2)))
    header_end = ORIGINAL.index(b"\r\n\r\n") + 4
    assert body.startswith(ORIGINAL[:header_end] + b"--" + BOUNDARY[2:] + b"\r\n"
                           b"Content-Type: text/plain; charset=us-ascii\r\n\r\nPart one."), body
    assert b"QmlnIGF0dGFjaG1lbnQ=" in body and b"A new part." in body
    # the new message parses: three parts
    out = c.cmd(b"UID FETCH %s BODYSTRUCTURE" % m.group(2))
    assert b"\"application\" \"octet-stream\"" in b"".join(out).lower() or \
        b"octet-stream" in b"".join(out).lower(), out


def test_whole_message_absolute_url_and_partial(roost):
    c = Raw(roost)
    uidvalidity, uid = store_original(c, b"INBOX")
    url = b"imap://alice%%40example.com@localhost/INBOX;UIDVALIDITY=%d/;UID=%d" % (uidvalidity, uid)
    out = c.cmd(b"APPEND Sent CATENATE (URL " + q(url) + b")")
    m = re.search(rb"APPENDUID \d+ (\d+)", out[-1])
    assert m, out
    assert fetch_body(c, b"Sent", int(m.group(1))) == ORIGINAL
    # RFC 5092 ;PARTIAL=start.length, and a bare relative URL without UIDVALIDITY
    out = c.cmd(b"APPEND Sent CATENATE (TEXT " + lit(b"Subject: part\r\n\r\n") +
                b" URL \"/INBOX/;UID=%d/;SECTION=1/;PARTIAL=0.4\")" % uid)
    m = re.search(rb"APPENDUID \d+ (\d+)", out[-1])
    assert m, out
    assert fetch_body(c, b"Sent", int(m.group(1))) == b"Subject: part\r\n\r\nPart"


def test_rfc_example_badurl(roost):
    c = Raw(roost)
    uidvalidity, uid = store_original(c)
    # RFC 4469 5: a URL to a message that is not there
    url = b"/Drafts;UIDVALIDITY=%d/;UID=%d" % (uidvalidity, uid + 10)
    out = c.cmd(b"APPEND Drafts CATENATE (URL " + q(url) + b")")
    assert out[-1].startswith(b"r%d NO [BADURL " % c.n + url + b"]"), out
    for bad in (b"/Drafts;UIDVALIDITY=%d/;UID=%d" % (uidvalidity + 1, uid),  # stale
                b"/NoSuchBox/;UID=1", b"/Drafts/;UID=%d/;SECTION=9" % uid,
                b"/Drafts/;UID=0", b"not a url", b"imap://alice@example.com/Drafts"):
        out = c.cmd(b"APPEND Drafts CATENATE (TEXT " + lit(b"x") + b" URL " + q(bad) + b")")
        assert b"NO [BADURL" in out[-1], (bad, out)
    # nothing was stored by the refused commands
    out = c.cmd(b"STATUS Drafts (MESSAGES)")
    assert b"MESSAGES 1" in out[0], out
    for bad in (b"CATENATE ()", b"CATENATE (TEXT \"quoted\")", b"CATENATE (URL)",
                b"CATENATE (FOO \"x\")", b"CATENATE URL \"/Drafts/;UID=1\""):
        out = c.cmd(b"APPEND Drafts " + bad)
        assert out[-1].split()[1] == b"BAD", (bad, out)


def test_another_accounts_message_is_never_reached(roost):
    roost.add_user("bob@example.com")
    bob = Raw(roost, login=False)
    assert bob.ok(b"LOGIN bob@example.com secret")
    assert bob.ok(b"CREATE BobsBox")
    secret = b"Subject: bob's secret\r\n\r\nTOP SECRET bob\r\n"
    out = bob.cmd(b"APPEND BobsBox " + lit(secret))
    bob_validity, bob_uid = map(int, re.search(rb"APPENDUID (\d+) (\d+)", out[-1]).groups())
    out = bob.cmd(b"APPEND INBOX " + lit(secret))
    inbox_validity, inbox_uid = map(int, re.search(rb"APPENDUID (\d+) (\d+)", out[-1]).groups())
    alice = Raw(roost)
    for url in (b"imap://bob@example.com/BobsBox;UIDVALIDITY=%d/;UID=%d" % (bob_validity, bob_uid),
                b"imap://bob@example.com/INBOX/;UID=%d" % inbox_uid,
                b"/BobsBox;UIDVALIDITY=%d/;UID=%d" % (bob_validity, bob_uid),
                b"/BobsBox/;UID=%d" % bob_uid,
                # bob's INBOX by its UIDVALIDITY: alice's INBOX has another
                b"/INBOX;UIDVALIDITY=%d/;UID=%d" % (inbox_validity, inbox_uid),
                b"imap://bob%40example.com@localhost/INBOX/;UID=1"):
        out = alice.cmd(b"APPEND Drafts CATENATE (URL " + q(url) + b")")
        assert b"NO [BADURL" in out[-1] and b"SECRET" not in b"".join(out), (url, out)
    out = alice.cmd(b"STATUS Drafts (MESSAGES)")
    assert b"MESSAGES 0" in out[0], out


def test_thousands_of_parts_are_refused(roost):
    c = Raw(roost)
    store_original(c)
    # as many as one 64 KiB command line holds
    parts = b" ".join(b"URL /Drafts/;UID=1" for _ in range(3000))
    out = c.cmd(b"APPEND Drafts CATENATE (" + parts + b")")
    assert b"NO [LIMIT]" in out[-1], out[-1]
    # at the limit it works
    parts = b" ".join(b"URL \"/Drafts/;UID=1/;SECTION=1\"" for _ in range(256))
    out = c.cmd(b"APPEND Drafts CATENATE (" + parts + b")")
    assert out[-1].split()[1] == b"OK", out[-1]
    assert c.ok(b"NOOP")


def test_total_size_within_appendlimit(roost_factory):
    r = roost_factory(**{"message.max_size": "100K"})
    c = Raw(r)
    big = b"Subject: big\r\n\r\n" + b"z" * 60000 + b"\r\n"
    out = c.cmd(b"APPEND Drafts " + lit(big))
    uid = int(re.search(rb"APPENDUID \d+ (\d+)", out[-1]).group(1))
    out = c.cmd(b"APPEND Drafts CATENATE (URL \"/Drafts/;UID=%d\" URL \"/Drafts/;UID=%d\")"
                % (uid, uid))
    assert b"NO [TOOBIG]" in out[-1], out
    out = c.cmd(b"APPEND Drafts CATENATE (URL \"/Drafts/;UID=%d\" TEXT " % uid +
                lit(b"y" * 50000) + b")")
    assert b"NO [TOOBIG]" in out[-1], out
    out = c.cmd(b"STATUS Drafts (MESSAGES)")
    assert b"MESSAGES 1" in out[0], out
    # MULTIAPPEND of CATENATE messages: all or none
    out = c.cmd(b"APPEND Drafts CATENATE (URL \"/Drafts/;UID=%d\") CATENATE (URL \"/Drafts/;UID=99\")"
                % uid)
    assert b"NO [BADURL" in out[-1], out
    out = c.cmd(b"APPEND Drafts CATENATE (URL \"/Drafts/;UID=%d\") (\\Seen) CATENATE (TEXT "
                % uid + lit(b"Subject: two\r\n\r\n2\r\n") + b")")
    assert re.search(rb"OK \[APPENDUID \d+ \d+:\d+\]", out[-1]), out


# --- URLAUTH (RFC 4467) ---------------------------------------------------

ALICE = b"alice%40example.com"


def genurlauth(c, rump):
    out = c.cmd(b"GENURLAUTH " + q(rump) + b" INTERNAL")
    assert out[-1].split()[1] == b"OK", out
    m = re.match(rb"\* GENURLAUTH \"([^\"]+)\"\r\n", out[0])
    assert m, out
    return m.group(1)


def urlfetch(c, url):
    out = c.cmd(b"URLFETCH " + q(url))
    assert out[-1].split()[1] == b"OK", out
    t = b"".join(out[:-1])
    assert t.startswith(b"* URLFETCH " + q(url) + b" "), t
    rest = t[len(b"* URLFETCH " + q(url) + b" "):]
    if rest.startswith(b"NIL"):
        return None
    m = re.match(rb"\{(\d+)\}\r\n", rest)
    assert m, t
    return rest[m.end():m.end() + int(m.group(1))]


def test_capability_urlauth(roost):
    c = Raw(roost)
    assert b"URLAUTH" in c.cmd(b"CAPABILITY")[0].split()


def test_rfc_example_genurlauth_urlfetch(roost):
    c = Raw(roost)
    _, uid = store_original(c, b"INBOX")
    # RFC 4467 section 8 (with this server's user and an access of its own)
    rump = (b"imap://" + ALICE + b"@example.com/INBOX/;uid=%d/;section=1;urlauth=submit+" % uid +
            ALICE)
    full = genurlauth(c, rump)
    assert full.startswith(rump + b":internal:")
    token = full[len(rump + b":internal:"):]
    assert re.fullmatch(rb"[0-9a-f]{64}", token), token
    assert urlfetch(c, full) == b"Part one."
    # user+ access, the whole message, and a partial range
    full2 = genurlauth(c, b"imap://" + ALICE + b"@example.com/INBOX/;UID=%d;URLAUTH=user+" % uid
                       + ALICE)
    assert urlfetch(c, full2) == ORIGINAL
    full3 = genurlauth(c, b"imap://" + ALICE + b"@example.com/INBOX/;UID=%d/;PARTIAL=6.3"
                       b";URLAUTH=user+" % uid + ALICE)
    assert urlfetch(c, full3) == ORIGINAL[6:9]
    # two URLs in one command, one NIL
    bad = full[:-1] + (b"0" if full[-1:] != b"0" else b"1")
    out = c.cmd(b"URLFETCH " + q(full) + b" " + q(bad))
    t = b"".join(out)
    assert b"Part one." in t and (q(bad) + b" NIL") in t, out
    # the signed URL goes into CATENATE too (RFC 4469 5)
    out = c.cmd(b"APPEND Sent CATENATE (TEXT " + lit(b"Subject: fwd\r\n\r\n") + b" URL " +
                q(full) + b")")
    m = re.search(rb"APPENDUID \d+ (\d+)", out[-1])
    assert m, out
    assert fetch_body(c, b"Sent", int(m.group(1))) == b"Subject: fwd\r\n\r\nPart one."


def test_tampered_expired_and_reset_urls_fetch_nothing(roost):
    c = Raw(roost)
    _, uid = store_original(c, b"INBOX")
    base = b"imap://" + ALICE + b"@example.com/INBOX/;UID=%d" % uid
    full = genurlauth(c, base + b";URLAUTH=user+" + ALICE)
    # another UID under the same token, another access, a flipped digit
    for forged in (full.replace(b";UID=%d" % uid, b";UID=%d" % (uid + 1)),
                   full.replace(b"user+", b"submit+"),
                   full[:-2] + (b"00" if full[-2:] != b"00" else b"11"),
                   full.replace(b":internal:", b":other:")):
        assert urlfetch(c, forged) is None, forged
    # EXPIRE (RFC 4467 2.2): past is dead, future works
    old = genurlauth(c, base + b";EXPIRE=2000-01-01T00:00:00Z;URLAUTH=user+" + ALICE)
    assert urlfetch(c, old) is None
    future = genurlauth(c, base + b";EXPIRE=2999-01-01T00:00:00+01:00;URLAUTH=user+" + ALICE)
    assert urlfetch(c, future) == ORIGINAL
    # RESETKEY of the mailbox: every URL signed with its key stops working
    out = c.cmd(b"RESETKEY INBOX INTERNAL")
    assert b"OK [URLMECH INTERNAL]" in out[-1], out
    assert urlfetch(c, full) is None and urlfetch(c, future) is None
    again = genurlauth(c, base + b";URLAUTH=user+" + ALICE)
    assert again != full and urlfetch(c, again) == ORIGINAL
    # RESETKEY with no mailbox: all of the account's keys
    assert c.ok(b"RESETKEY")
    assert urlfetch(c, again) is None
    out = c.cmd(b"RESETKEY NoSuchBox")
    assert b"NO [NONEXISTENT]" in out[-1], out


def test_genurlauth_refusals(roost):
    roost.add_user("bob@example.com")
    c = Raw(roost)
    _, uid = store_original(c, b"INBOX")
    base = b"imap://" + ALICE + b"@example.com/INBOX/;UID=%d" % uid
    for rump, mech in ((base + b";URLAUTH=anonymous", b"INTERNAL"),
                       (base + b";URLAUTH=authuser", b"INTERNAL"),
                       (base + b";URLAUTH=user+bob%40example.com", b"INTERNAL"),
                       (b"imap://bob%40example.com@example.com/INBOX/;UID=1;URLAUTH=user+" +
                        b"bob%40example.com", b"INTERNAL"),
                       (base + b";URLAUTH=user+" + ALICE, b"XSECRET"),
                       (b"imap://" + ALICE + b"@example.com/INBOX/;UID=%d;URLAUTH=user+" %
                        (uid + 5) + ALICE, b"INTERNAL"),
                       (b"/INBOX/;UID=%d" % uid, b"INTERNAL"),
                       (base + b";URLAUTH=user+" + ALICE + b":internal:" + b"0" * 64,
                        b"INTERNAL")):
        out = c.cmd(b"GENURLAUTH " + q(rump) + b" " + mech)
        assert b"NO [BADURL]" in out[-1] and b"* GENURLAUTH" not in b"".join(out), (rump, out)
    out = c.cmd(b"GENURLAUTH " + q(base + b";URLAUTH=user+" + ALICE))
    assert out[-1].split()[1] == b"BAD", out


def test_urls_never_cross_accounts(roost):
    roost.add_user("bob@example.com")
    alice = Raw(roost)
    _, uid = store_original(alice, b"INBOX")
    signed = genurlauth(alice, b"imap://" + ALICE + b"@example.com/INBOX/;UID=%d;URLAUTH=user+"
                        % uid + ALICE)
    submit = genurlauth(alice, b"imap://" + ALICE + b"@example.com/INBOX/;UID=%d;URLAUTH=submit+"
                        % uid + ALICE)
    bob = Raw(roost, login=False)
    assert bob.ok(b"LOGIN bob@example.com secret")
    # alice's signed URLs are hers: bob fetches nothing, not even by CATENATE
    for url in (signed, submit):
        assert urlfetch(bob, url) is None
        out = bob.cmd(b"APPEND INBOX CATENATE (URL " + q(url) + b")")
        assert b"NO [BADURL" in out[-1] and b"Part one" not in b"".join(out), out
    # bob signs his own INBOX's UID 1, then points the URL at alice
    out = bob.cmd(b"APPEND INBOX " + lit(b"Subject: bob\r\n\r\nbob\r\n"))
    bob_uid = int(re.search(rb"APPENDUID \d+ (\d+)", out[-1]).group(1))
    bob_url = genurlauth(bob, b"imap://bob%%40example.com@example.com/INBOX/;UID=%d;URLAUTH="
                         b"user+bob%%40example.com" % bob_uid)
    assert urlfetch(bob, bob_url) == b"Subject: bob\r\n\r\nbob\r\n"
    token = bob_url.rsplit(b":", 1)[1]
    at_alice = (b"imap://" + ALICE + b"@example.com/INBOX/;UID=%d;URLAUTH=user+" % uid + ALICE +
                b":internal:" + token)
    assert urlfetch(bob, at_alice) is None and urlfetch(alice, at_alice) is None
    # a deleted mailbox takes its key: a new one of that name signs anew
    assert alice.ok(b"CREATE Tmp")
    out = alice.cmd(b"APPEND Tmp " + lit(ORIGINAL))
    tmp_uid = int(re.search(rb"APPENDUID \d+ (\d+)", out[-1]).group(1))
    tmp_url = genurlauth(alice, b"imap://" + ALICE + b"@example.com/Tmp/;UID=%d;URLAUTH=user+"
                         % tmp_uid + ALICE)
    assert alice.ok(b"DELETE Tmp")
    assert alice.ok(b"CREATE Tmp")
    alice.cmd(b"APPEND Tmp " + lit(b"Subject: other\r\n\r\nother\r\n"))
    assert urlfetch(alice, tmp_url) is None
    out = roost.cli("check").stdout
    assert out == "clean\n", out


def test_urlfetch_of_data_with_nul_is_nil(roost):
    c = Raw(roost)
    data = b"Subject: bin\r\n\r\na\x00b\r\n"
    out = c.cmd(b"APPEND INBOX ~{%d+}\r\n" % len(data) + data)
    uid = int(re.search(rb"APPENDUID \d+ (\d+)", out[-1]).group(1))
    url = genurlauth(c, b"imap://" + ALICE + b"@example.com/INBOX/;UID=%d;URLAUTH=user+" % uid +
                     ALICE)
    out = c.cmd(b"URLFETCH " + q(url))
    assert out[0] == b"* URLFETCH " + q(url) + b" NIL\r\n", out


def test_select_and_examine_name_the_urlauth_mechanism(roost):
    c = Raw(roost)
    for cmd in (b"SELECT INBOX", b"EXAMINE Drafts"):
        out = c.cmd(cmd)
        assert b"* OK [URLMECH INTERNAL] Ok\r\n" in out, out
