"""editheader (RFC 5293) reaches what is stored and what is redirected,
not only what later tests see (src/store/delivery-sieve.c,
sieve_apply_edits() in src/sieve/sieve-editheader.c): deleteheader,
addheader :last and addheader on top change the copy read back over
IMAP, for fileinto and for the implicit keep; redirect sends the edited
message; trace fields cannot be forged or removed; one message to two
recipients with different edits keeps its content and says so."""
import imaplib
import re

from test_sieve_delivery import ALICE, BOB, lmtp, net, put_script, sender  # noqa: F401
from outbound_net import wait_for


def message(subject, extra=""):
    return ("Received: from hop1.test by mx.test; Thu, 3 Dec 2026 08:00:00 +0000\r\n"
            "From: sender@other.test\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s@other.test>\r\nX-Remove: secret value\r\n"
            "X-Multi: one\r\nX-Multi: two\r\n%s\r\nBody line.\r\n"
            % (ALICE, subject, re.sub(r"\W", "", subject), extra))


def stored(r, mailbox, user=ALICE):
    """[full message bytes] of a mailbox, over IMAP."""
    m = imaplib.IMAP4("127.0.0.1", r.port("imap"))
    m.login(user, "secret")
    typ, data = m.select('"%s"' % mailbox, readonly=True)
    assert typ == "OK", data
    out = []
    if int(data[0]) > 0:
        typ, data = m.fetch("1:*", "(BODY.PEEK[])")
        out = [item[1] for item in data if isinstance(item, tuple)]
    m.logout()
    return out


def fields(msg):
    """Field names of the header, in order (lower case)."""
    head = msg.split(b"\r\n\r\n", 1)[0].decode()
    return [line.split(":", 1)[0].lower() for line in head.split("\r\n")
            if line and line[0] not in " \t"]


EDITS = r'''require ["editheader", "fileinto"];
deleteheader "X-Remove";
deleteheader :index 1 "X-Multi";
addheader :last "X-Last" "bottom";
addheader "X-Top" "top";
if header :is "X-Top" "top" {
    if header :contains "subject" "file" { fileinto "Archive"; }
}
'''


def test_edits_reach_fileinto_and_implicit_keep_copies(roost):
    put_script(roost, EDITS)
    assert lmtp(roost, message("please file"), [ALICE])[0][0] == 250
    assert lmtp(roost, message("keep me"), [ALICE])[0][0] == 250
    (filed,) = stored(roost, "Archive")
    (kept,) = stored(roost, "INBOX")
    for m in (filed, kept):
        names = fields(m)
        assert b"X-Remove" not in m and b"secret value" not in m, m
        assert b"X-Multi: one" not in m and b"X-Multi: two" in m, m
        # :last goes after every field, the top one before the original ones
        assert names[-1] == "x-last" and b"X-Last: bottom\r\n\r\n" in m, names
        assert names.index("x-top") < names.index("from"), names
        # our trace fields stay first, the earlier hop's Received stays
        assert names[:2] == ["return-path", "delivered-to"], names
        assert b"from hop1.test" in m
        assert m.endswith(b"\r\n\r\nBody line.\r\n"), m
    assert stored(roost, "INBOX")[0].count(b"X-Top: top") == 1


def test_trace_fields_and_injection_refused(roost):
    put_script(roost, r'''require ["editheader", "variables", "encoded-character"];
set "v" "a${unicode:000D}${unicode:000A}Bcc: evil@x.test";
addheader "X-Inj" "${v}";
addheader "Received" "forged";
addheader "Delivered-To" "someone@else.test";
deleteheader "Received";
deleteheader "Return-Path";
''')
    assert lmtp(roost, message("hostile"), [ALICE])[0][0] == 250
    (m,) = stored(roost, "INBOX")
    names = fields(m)
    assert "bcc" not in names, names
    assert re.search(rb"\r\nX-Inj: a +Bcc: evil@x\.test\r\n", m), m
    assert b"forged" not in m and b"someone@else.test" not in m
    assert b"from hop1.test" in m and names.count("return-path") == 1, names


def test_redirect_sends_the_edited_message(roost_factory, net):  # noqa: F811
    r = sender(roost_factory, net)
    put_script(r, '''require ["editheader"];
deleteheader "X-Remove";
addheader "X-Forwarded-By" "roost";
redirect "fwd@remote.test";
''')
    r.cli("deliver", "-f", "orig@sender.test", ALICE, input=message("forward"))
    assert wait_for(lambda: len(net.sink.messages) >= 1), r.read_log()[-3000:]
    data = net.sink.messages[0][2]
    assert b"X-Forwarded-By: roost" in data and b"X-Remove" not in data, data
    assert b"Delivered-To: alice@example.com" in data and b"Body line." in data


def test_two_recipients_with_different_edits(roost):
    roost.add_user(BOB)
    put_script(roost, 'require "editheader";\ndeleteheader "X-Remove";\n'
                      'addheader "X-Alice" "yes";\n')
    assert [c for c, _ in lmtp(roost, message("shared"), [ALICE, BOB])] == [250, 250]
    (a,) = stored(roost, "INBOX")
    (b,) = stored(roost, "INBOX", user=BOB)
    # one content for both: alice's field on top through her prefix; the
    # deletion is not applied to her copy, and the log says so
    assert b"X-Alice: yes" in a and b"X-Alice" not in b
    assert b"X-Remove: secret value" in a and b"X-Remove: secret value" in b
    assert "not applied to the stored copy" in roost.read_log()
    # the same edits for both recipients: the edited content is stored once
    put_script(roost, 'require "editheader";\ndeleteheader "X-Remove";\n'
                      'addheader "X-Alice" "yes";\n', address=BOB)
    assert [c for c, _ in lmtp(roost, message("both"), [ALICE, BOB])] == [250, 250]
    a = stored(roost, "INBOX")[1]
    b = stored(roost, "INBOX", user=BOB)[1]
    for m in (a, b):
        assert b"X-Remove" not in m and m.count(b"X-Alice: yes") == 1, m
