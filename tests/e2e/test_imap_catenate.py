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
