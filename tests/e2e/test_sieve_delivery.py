"""Sieve at delivery (src/store/delivery-sieve.c) over every path: LMTP
and SMTP (scripts run on a worker thread) and `roost deliver`. Filing by
header, envelope and address part; imap4flags seen over IMAP; fileinto a
missing mailbox lands in INBOX, :create makes it; a script that fails at
run time or to compile still delivers to INBOX; reject answers 550 5.7.1
over LMTP for that recipient only; redirect reaches a remote sink with an
SRS0 sender; vacation answers once per period and never a list."""
import base64
import email
import imaplib
import re
import time

import pytest

from conftest import free_port
from outbound_net import Dns, Sink, wait_for
from test_dkim import parse_txt, verify_all
from test_smtp import Wire

ALICE = "alice@example.com"
BOB = "bob@example.com"


def envelope_sender(mail_arg):
    """The reverse path of a sink's MAIL FROM argument ("<x> SIZE=..")."""
    return re.match(r"<([^>]*)>", mail_arg).group(1)


def put_script(r, text, address=ALICE, name="rules"):
    r.cli("sieve", "put", address, name, input=text)
    r.cli("sieve", "activate", address, name)


def msg(subject="hello", frm="sender@other.test", to=ALICE, extra="", mid=None):
    mid = mid or "<%s.%f@other.test>" % (re.sub(r"\W", "", subject), time.time())
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n%s\r\nBody text.\r\n"
            % (frm, to, subject, mid, extra))


def lmtp(r, data, rcpts, mail_from="sender@other.test"):
    """One LMTP transaction: the per-recipient replies after DATA."""
    w = Wire(r.port("lmtp"))
    w.ehlo("LHLO", "mta.test")
    assert w.cmd("MAIL FROM:<%s>" % mail_from)[0] == 250
    for rc in rcpts:
        assert w.cmd("RCPT TO:<%s>" % rc)[0] == 250
    assert w.cmd("DATA")[0] == 354
    w.send(data.replace("\r\n.", "\r\n..") + ".\r\n")
    out = w.replies(len(rcpts))
    w.cmd("QUIT")
    return out


def imap(r, user=ALICE):
    m = imaplib.IMAP4("127.0.0.1", r.port("imap"))
    m.login(user, "secret")
    return m


def box(m, name):
    """[(subject, flags)] of a mailbox."""
    typ, data = m.select('"%s"' % name, readonly=True)
    assert typ == "OK", (name, data)
    n = int(data[0])
    if n == 0:
        return []
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
        flags = [f for f in flags if f != "\\Recent"]
        subject = item[1].decode().split(":", 1)[1].strip()
        out.append((subject, sorted(flags)))
    return out


RULES = r'''require ["fileinto", "envelope", "imap4flags", "mailbox", "body"];
if header :contains "subject" "invoice" {
    fileinto :flags ["\\Flagged", "$Bill"] "Archive";
    stop;
}
if envelope :domain :is "from" "lists.test" { fileinto "Junk"; stop; }
if address :localpart :is "from" "boss" { addflag "\\Seen"; keep; stop; }
if header :contains "subject" "missing" { fileinto "NoSuchBox"; stop; }
if header :contains "subject" "create" { fileinto :create "Made/Here"; stop; }
if body :contains "drop me" { discard; stop; }
'''


def test_filing_by_header_envelope_address_and_flags(roost):
    put_script(roost, RULES)
    assert lmtp(roost, msg("your invoice"), [ALICE])[0][0] == 250
    assert lmtp(roost, msg("news"), [ALICE], mail_from="bounce@lists.test")[0][0] == 250
    assert lmtp(roost, msg("from boss", frm="The Boss <boss@corp.test>"), [ALICE])[0][0] == 250
    assert lmtp(roost, msg("missing box"), [ALICE])[0][0] == 250
    assert lmtp(roost, msg("please create"), [ALICE])[0][0] == 250
    assert lmtp(roost, msg("plain"), [ALICE])[0][0] == 250
    # SMTP runs the same scripts
    w = Wire(roost.port("smtp"))
    w.ehlo()
    assert w.cmd("MAIL FROM:<x@lists.test>")[0] == 250
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    assert w.cmd("DATA")[0] == 354
    w.send(msg("over smtp") + ".\r\n")
    assert w.reply()[0] == 250
    w.cmd("QUIT")
    # the body test and discard: accepted, stored nowhere
    assert lmtp(roost, msg("bye", extra="") .replace("Body text.", "please drop me"),
                [ALICE])[0][0] == 250

    m = imap(roost)
    assert box(m, "Archive") == [("your invoice", ["$Bill", "\\Flagged"])]
    assert box(m, "Junk") == [("news", []), ("over smtp", [])]
    assert box(m, "Made/Here") == [("please create", [])]
    inbox = box(m, "INBOX")
    assert ("from boss", ["\\Seen"]) in inbox
    assert ("missing box", []) in inbox          # no :create: INBOX, never lost
    assert ("plain", []) in inbox
    assert len(inbox) == 3, inbox
    typ, data = m.list()
    assert not any(b"NoSuchBox" in l for l in data)
    m.logout()


def test_runtime_and_compile_errors_deliver_to_inbox(roost):
    # a regular expression built at run time that does not compile
    put_script(roost, 'require ["regex", "variables"];\nset "re" "([";\n'
                      'if header :regex "subject" "${re}" { discard; }\ndiscard;\n')
    assert lmtp(roost, msg("runtime"), [ALICE])[0][0] == 250
    # a stored script that no longer compiles (written behind the CLI's back)
    roost.sql("UPDATE sieve_scripts SET content = ? WHERE name = 'rules'", b"if {")
    roost.deliver(msg("broken"), ALICE)
    # the account is told, once a day per script, through the queue
    assert wait_for(lambda: roost.users()[ALICE][2] == 3, timeout=20), roost.read_log()[-2000:]
    time.sleep(1)
    m = imap(roost)
    subjects = sorted(s for s, _ in box(m, "INBOX"))
    assert subjects == ["Your mail filter \"rules\" failed", "broken", "runtime"], subjects
    m.logout()
    log = roost.read_log()
    assert "filed to INBOX" in log, log[-2000:]


def test_reject_over_lmtp_is_550_for_that_recipient(roost):
    roost.add_user(BOB)
    put_script(roost, 'require "reject";\nif header :contains "subject" "spam" {'
                      ' reject "We do not want this.\r\nReally."; }\n')
    out = lmtp(roost, msg("spam offer"), [ALICE, BOB])
    assert out[0][0] == 550 and out[0][1][0].startswith("5.7.1"), out
    assert "We do not want this." in out[0][1][0] and "\r" not in out[0][1][0]
    assert out[1][0] == 250, out
    assert roost.users()[ALICE][2] == 0
    assert roost.users()[BOB][2] == 1
    # SMTP with one recipient: 550 at DATA as well
    w = Wire(roost.port("smtp"))
    w.ehlo()
    assert w.cmd("MAIL FROM:<x@other.test>")[0] == 250
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    assert w.cmd("DATA")[0] == 354
    w.send(msg("more spam") + ".\r\n")
    code, texts = w.reply()
    assert code == 550 and texts[0].startswith("5.7.1"), texts
    # not spam: stored
    assert lmtp(roost, msg("fine"), [ALICE])[0][0] == 250
    assert roost.users()[ALICE][2] == 1


@pytest.fixture
def net(tmp_path):
    port = free_port()
    dns = Dns(tmp_path / "dns", ["remote.test. MX 10 mx.remote.test.",
                                 "mx.remote.test. A 127.0.0.2"])
    sink = Sink("127.0.0.2", port).start()

    class Net:
        pass

    n = Net()
    n.port, n.dns, n.sink = port, dns, sink
    yield n
    sink.stop()
    dns.stop()


def sender(roost_factory, net):
    return roost_factory(dns__resolver=net.dns.resolver, dns__trust_anchor="",
                         outbound__port=str(net.port), queue__retry_min="1s",
                         queue__retry_max="2s", outbound__connect_timeout="2s",
                         server__hostname="mail.example.com")


def test_redirect_reaches_sink_with_srs_sender(roost_factory, net):
    r = sender(roost_factory, net)
    put_script(r, 'redirect "fwd@remote.test";\n')
    r.cli("deliver", "-f", "orig@Sender.test", ALICE, input=msg("forward me"))
    assert wait_for(lambda: len(net.sink.messages) >= 1), r.read_log()[-3000:]
    mail_from, rcpts, data = net.sink.messages[0]
    mail_from = envelope_sender(mail_from)
    assert rcpts == ["fwd@remote.test"], rcpts
    # SRS0=HHHH=TT=domain=local@our domain
    assert re.fullmatch(r"SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=sender\.test=orig@example\.com",
                        mail_from), mail_from
    assert b"Subject: forward me" in data and b"Delivered-To: alice@example.com" in data
    # redirect cancels the implicit keep
    assert r.users()[ALICE][2] == 0
    # the same message again (a retried delivery) is not redirected twice
    r.cli("deliver", "-f", "orig@sender.test", ALICE,
          input=msg("forward me", mid="<same@other.test>"))
    r.cli("deliver", "-f", "orig@sender.test", ALICE,
          input=msg("forward me", mid="<same@other.test>"))
    assert wait_for(lambda: len(net.sink.messages) >= 2)
    time.sleep(2)
    assert len(net.sink.messages) == 2


VACATION = '''require ["vacation", "fcc"];
vacation :days 1 :subject "Away" :handle "trip" :fcc "Sent" "I am away until Monday.";
'''


def test_vacation_once_per_period_never_to_lists(roost_factory, net):
    r = sender(roost_factory, net)
    r.cli("domain", "dkim", "example.com", "generate")
    recs = parse_txt(r.cli("domain", "dkim", "example.com", "show").stdout)
    put_script(r, VACATION)
    first = msg("question", frm="carol@remote.test", mid="<q1@remote.test>")
    r.cli("deliver", "-f", "carol@remote.test", ALICE, input=first)
    r.cli("deliver", "-f", "carol@remote.test", ALICE,
          input=msg("again", frm="carol@remote.test"))
    # a list message, a bulk one, an automatic one, the null sender
    r.cli("deliver", "-f", "list-bounce@remote.test", ALICE,
          input=msg("list post", frm="dave@remote.test", extra="List-Id: <l.remote.test>\r\n"))
    r.cli("deliver", "-f", "erin@remote.test", ALICE,
          input=msg("bulk", frm="erin@remote.test", extra="Precedence: bulk\r\n"))
    r.cli("deliver", "-f", "fred@remote.test", ALICE,
          input=msg("auto", frm="fred@remote.test", extra="Auto-Submitted: auto-replied\r\n"))
    r.cli("deliver", ALICE, input=msg("null sender", frm="mailer@remote.test"))
    # not addressed to alice in To/Cc (RFC 5230 4.5)
    r.cli("deliver", "-f", "gina@remote.test", ALICE,
          input=msg("bcc", frm="gina@remote.test", to="someone@else.test"))
    assert wait_for(lambda: len(net.sink.messages) >= 1), r.read_log()[-3000:]
    time.sleep(3)
    assert len(net.sink.messages) == 1, [m[1] for m in net.sink.messages]
    mail_from, rcpts, data = net.sink.messages[0]
    assert envelope_sender(mail_from) == "" and rcpts == ["carol@remote.test"]
    reply = email.message_from_bytes(data)
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["Subject"] == "Away"
    assert reply["In-Reply-To"] == "<q1@remote.test>"
    assert "<q1@remote.test>" in reply["References"]
    assert "I am away until Monday." in reply.get_payload()
    # signed like submitted mail, with the account's domain's keys
    assert sorted(verify_all(data, recs)) == ["ed25519-sha256", "rsa-sha256"]
    # the messages themselves are kept, and :fcc kept the reply in Sent
    assert r.users()[ALICE][2] == 8
    m = imap(r)
    assert box(m, "Sent") == [("Away", ["\\Seen"])]
    m.logout()
    assert r.cli("queue", "list").stdout == ""


def test_reject_without_protocol_is_a_dsn(roost_factory, net):
    """`roost deliver` (and SMTP to several recipients) cannot refuse one
    recipient: the sender gets an RFC 5429 rejection DSN instead."""
    r = sender(roost_factory, net)
    r.add_user(BOB)
    put_script(r, 'require "reject";\nreject "No thanks.";\n')
    w = Wire(r.port("smtp"))
    w.ehlo()
    assert w.cmd("MAIL FROM:<carol@remote.test>")[0] == 250
    assert w.cmd("RCPT TO:<%s>" % ALICE)[0] == 250
    assert w.cmd("RCPT TO:<%s>" % BOB)[0] == 250
    assert w.cmd("DATA")[0] == 354
    w.send(msg("to both", frm="carol@remote.test") + ".\r\n")
    assert w.reply()[0] == 250
    w.cmd("QUIT")
    assert r.users()[BOB][2] == 1 and r.users()[ALICE][2] == 0
    assert wait_for(lambda: len(net.sink.messages) >= 1), r.read_log()[-3000:]
    mail_from, rcpts, data = net.sink.messages[0]
    assert envelope_sender(mail_from) == "" and rcpts == ["carol@remote.test"]
    dsn = email.message_from_bytes(data)
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    parts = list(dsn.walk())
    assert any(p.get_content_type() == "message/delivery-status" for p in parts)
    assert b"Status: 5.7.1" in data and b"No thanks." in data
    assert b"Final-Recipient: rfc822; alice@example.com" in data
    # a null sender gets nothing back (no loop)
    r.cli("deliver", ALICE, input=msg("from nobody"))
    time.sleep(2)
    assert len(net.sink.messages) == 1


def test_redirect_limits(roost_factory, net):
    r = roost_factory(dns__resolver=net.dns.resolver, dns__trust_anchor="",
                      outbound__port=str(net.port), queue__retry_min="1s",
                      sieve__max_redirects_per_day="2", sieve__max_redirects="2")
    # five redirects asked for, two per message allowed (the interpreter
    # may stop the script at its own limit: then it keeps the message)
    put_script(r, 'redirect "a@remote.test"; redirect "b@remote.test";\n')
    for i in range(3):
        r.cli("deliver", "-f", "orig@sender.test", ALICE, input=msg("n%d" % i))
    # two per day: the first message's two, nothing after
    assert wait_for(lambda: len(net.sink.messages) >= 2)
    time.sleep(2)
    assert sorted(m[1][0] for m in net.sink.messages) == ["a@remote.test", "b@remote.test"]
    assert "max_redirects_per_day" in r.read_log()
    # what could not be redirected is kept, never lost
    assert r.users()[ALICE][2] == 2


def test_queued_mail_to_local_users_runs_their_scripts(roost):
    """A vacation reply to a local sender leaves through the queue and
    is delivered by the scheduler, which runs the sender's own rules."""
    roost.add_user(BOB)
    put_script(roost, VACATION)
    put_script(roost, 'require "fileinto";\nif header :is "auto-submitted" "auto-replied"'
                      ' { fileinto "Archive"; }\n', address=BOB)
    roost.cli("deliver", "-f", BOB, ALICE, input=msg("hi alice", frm=BOB))
    def archived():
        out = roost.cli("mailbox", "list", BOB).stdout
        return any(l.split("\t")[:2] == ["Archive", "1"] for l in out.splitlines())
    assert wait_for(archived, timeout=20), roost.cli("queue", "list").stdout + roost.read_log()[-2000:]
    assert roost.users()[BOB][2] == 1


def test_quota_applies_to_fileinto_targets(roost):
    """A message a script files elsewhere counts against the same quota:
    over it, LMTP refuses that recipient (552 5.2.2), nothing is stored."""
    roost.add_user(BOB)
    put_script(roost, 'require ["fileinto", "copy"];\nfileinto :copy "Archive";\n'
                      'fileinto "Junk";\n', address=BOB)
    roost.cli("user", "quota", BOB, "2K")
    big = msg("big") + "z" * 1500 + "\r\n"
    out = lmtp(roost, big, [BOB, ALICE])
    assert out[0][0] == 552 and out[0][1][0].startswith("5.2.2"), out
    assert out[1][0] == 250
    assert roost.users()[BOB][1:] == (0, 0)
    # within quota both copies land; the implicit keep was cancelled
    roost.cli("user", "quota", BOB, "unlimited")
    assert lmtp(roost, msg("small"), [BOB])[0][0] == 250
    m = imap(roost, BOB)
    assert [s for s, _ in box(m, "Archive")] == ["small"]
    assert [s for s, _ in box(m, "Junk")] == ["small"]
    assert box(m, "INBOX") == []
    m.logout()


def test_fileinto_specialuse_and_mailboxid(roost):
    m = imap(roost)
    typ, data = m.status("Archive", "(MAILBOXID)")
    oid = re.search(rb"MAILBOXID \(([^)]+)\)", data[0]).group(1).decode()
    m.logout()
    put_script(roost, 'require ["fileinto", "special-use", "mailboxid"];\n'
                      'if header :contains "subject" "junk" {'
                      ' fileinto :specialuse "\\\\Junk" "NoSuchName"; stop; }\n'
                      'if header :contains "subject" "by id" {'
                      ' fileinto :mailboxid "%s" "AlsoMissing"; stop; }\n'
                      'if header :contains "subject" "stale" {'
                      ' fileinto :mailboxid "F999999-1" "Archive"; stop; }\n'
                      'if allof (header :contains "subject" "probe",'
                      ' specialuse_exists "\\\\Drafts", not specialuse_exists "\\\\Important")'
                      ' { fileinto "Archive"; stop; }\n' % oid)
    for subject in ("some junk", "filed by id", "stale id", "probe"):
        assert lmtp(roost, msg(subject), [ALICE])[0][0] == 250
    m = imap(roost)
    assert [s for s, _ in box(m, "Junk")] == ["some junk"]
    # a stale id falls back to the name
    assert sorted(s for s, _ in box(m, "Archive")) == ["filed by id", "probe", "stale id"]
    assert box(m, "INBOX") == []
    m.logout()


def test_editheader_addheader_lands_in_the_stored_copy(roost):
    roost.add_user(BOB)
    put_script(roost, 'require "editheader";\naddheader "X-Filtered" "yes";\n'
                      'addheader "X-Second" "top";\naddheader "Received" "forged";\n')
    assert [c for c, _ in lmtp(roost, msg("edited"), [ALICE, BOB])] == [250, 250]
    a = roost.cli("message", "get", ALICE, "INBOX", "1", binary=True).stdout
    b = roost.cli("message", "get", BOB, "INBOX", "1", binary=True).stdout
    head = a.split(b"\r\n\r\n", 1)[0]
    # the last added is on top of the earlier one; trace fields cannot be added
    assert head.index(b"X-Second: top") < head.index(b"X-Filtered: yes")
    assert b"forged" not in a
    # only alice's script ran: bob's copy shares the content without them
    assert b"X-Filtered" not in b and a.endswith(b"Body text.\r\n") and b.endswith(b"Body text.\r\n")


def test_submission_to_a_local_recipient_runs_its_script(roost):
    """Submission hands local recipients to the same delivery path."""
    roost.add_user(BOB)
    put_script(roost, 'require "fileinto";\nif address :is "from" "alice@example.com"'
                      ' { fileinto "Archive"; }\n', address=BOB)
    w = Wire(roost.port("submission"))
    w.ehlo()
    token = base64.b64encode(b"\0alice@example.com\0secret").decode()
    assert w.cmd("AUTH PLAIN " + token)[0] == 235
    assert w.cmd("MAIL FROM:<%s>" % ALICE)[0] == 250
    assert w.cmd("RCPT TO:<%s>" % BOB)[0] == 250
    assert w.cmd("DATA")[0] == 354
    w.send(msg("from alice", frm=ALICE, to=BOB) + ".\r\n")
    assert w.reply()[0] == 250
    w.cmd("QUIT")
    m = imap(roost, BOB)
    assert [s for s, _ in box(m, "Archive")] == ["from alice"]
    m.logout()


def test_global_before_and_after_scripts(roost_factory, tmp_path):
    before = tmp_path / "before.sieve"
    before.write_text('require "fileinto";\nif header :is "X-Spam-Flag" "YES"'
                      ' { fileinto "Junk"; stop; }\n')
    after = tmp_path / "after.sieve"
    after.write_text('require "imap4flags";\naddflag "$Checked";\n')
    r = roost_factory(sieve__before=str(before), sieve__after=str(after))
    r.add_user(BOB)  # bob has no script of his own: the global ones still run
    put_script(r, 'require "fileinto";\nif header :contains "subject" "newsletter"'
                  ' { fileinto "Archive"; }\n')
    assert lmtp(r, msg("buy now", extra="X-Spam-Flag: YES\r\n"), [ALICE])[0][0] == 250
    assert lmtp(r, msg("weekly newsletter"), [ALICE])[0][0] == 250
    assert lmtp(r, msg("hello"), [ALICE, BOB])[0][0] == 250
    m = imap(r)
    assert box(m, "Junk") == [("buy now", [])]          # before: personal and after skipped
    assert box(m, "Archive") == [("weekly newsletter", [])]  # personal cancelled the keep
    assert box(m, "INBOX") == [("hello", ["$Checked"])]  # kept: after ran
    m.logout()
    m = imap(r, BOB)
    assert box(m, "INBOX") == [("hello", ["$Checked"])]
    m.logout()
    # a missing global script is logged and skipped; mail still arrives
    after.unlink()
    assert lmtp(r, msg("still here"), [BOB])[0][0] == 250
    assert r.users()[BOB][2] == 2
    assert "after.sieve" in r.read_log()


def test_include_personal_and_global(roost_factory, tmp_path):
    """RFC 6609 at delivery: :personal from the account's own scripts,
    :global from sieve.global_dir; an edit of the included script takes
    effect at the next delivery (scripts with includes are not cached);
    a missing include files to INBOX; upload checks accept an include of
    a script not uploaded yet, but not a name with a path in it."""
    gdir = tmp_path / "global"
    gdir.mkdir()
    (gdir / "lists.sieve").write_text(
        'require ["fileinto", "mailbox"];\nif header :contains "subject" "list" { fileinto :create "Lists"; }\n')
    (tmp_path / "secret.sieve").write_text('discard;\n')
    r = roost_factory(sieve__global_dir=str(gdir))
    main = ('require ["include"];\ninclude :global "lists";\n'
            'include :personal "mine";\ninclude :optional :global "absent";\n')
    # "mine" does not exist yet: the upload check still accepts the script
    put_script(r, main)
    assert lmtp(r, msg("a list mail"), [ALICE])[0][0] == 250  # include fails: INBOX
    r.cli("sieve", "put", ALICE, "mine",
          input='require ["fileinto", "mailbox"];\nif header :contains "subject" "work" '
                '{ fileinto :create "Work"; }\n')
    assert lmtp(r, msg("list again"), [ALICE])[0][0] == 250
    assert lmtp(r, msg("work item"), [ALICE])[0][0] == 250
    r.cli("sieve", "put", ALICE, "mine",
          input='require ["fileinto", "mailbox"];\nif header :contains "subject" "work" '
                '{ fileinto :create "Office"; }\n')
    assert lmtp(r, msg("work again"), [ALICE])[0][0] == 250
    # a path in a :global name is refused at upload, never read
    p = r.cli("sieve", "put", ALICE, "escape", check=False,
              input='require "include";\ninclude :global "../secret";\n')
    assert p.returncode == 1 and 'invalid script name "../secret"' in p.stderr, p.stderr
    m = imap(r)
    assert [s for s, _ in box(m, "Lists")] == ["list again"]
    assert [s for s, _ in box(m, "Work")] == ["work item"]
    assert [s for s, _ in box(m, "Office")] == ["work again"]
    inbox = [s for s, _ in box(m, "INBOX")]
    # the failed include: the message kept, the account told once (the
    # notice comes through the queue, so it may be stored first)
    assert sorted(inbox) == sorted(["a list mail", 'Your mail filter "rules" failed']), inbox
    m.logout()
    assert 'include "mine"' in r.read_log()
