"""DSN parameters (RFC 3461) on submission: RET and ENVID on MAIL, NOTIFY
and ORCPT on RCPT are checked (501 5.5.4 for bad syntax, a duplicate, an
over-long value or xtext that decodes to a control character), carried
into the outbound queue (`roost queue show`) and honoured by it (NEVER:
no bounce; FAILURE: one). A local delivery with NOTIFY=SUCCESS, over
submission or the MX, sends a "delivered" DSN (RFC 3461 5, RFC 3464) to
the sender through the queue."""
import time

from outbound_net import wait_for
from test_outbound import dsn_reports, inbox, message, net, queue_rows, sender  # noqa: F401
from test_submission import ALICE, submit

MSG = ("From: Alice <alice@example.com>\r\nTo: {to}\r\nSubject: {subject}\r\n"
       "Message-ID: <{mid}@example.com>\r\n\r\nHello.\r\n")


def send(r, to, mail_opts=(), rcpt_opts=(), subject="dsn", mid="d1"):
    s = submit(r)
    code, text = s.mail(ALICE, list(mail_opts))
    assert code == 250, text
    for addr in to:
        code, text = s.rcpt(addr, list(rcpt_opts))
        assert code == 250, (addr, text)
    code, text = s.data(MSG.format(to=", ".join(to), subject=subject, mid=mid))
    assert code == 250, text
    s.quit()


def test_ehlo_offers_dsn_on_submission(roost_factory, net):
    r = sender(roost_factory, net)
    s = submit(r)
    assert s.has_extn("dsn")
    s.quit()


def test_parameters_are_decoded_and_carried_into_the_queue(roost_factory, net):
    # down.test has no server: the message stays queued for `queue show`
    r = sender(roost_factory, net)
    send(r, ["held@down.test"], mail_opts=["RET=FULL", "ENVID=QQ+2B7+3Dx"],
         rcpt_opts=["NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;Held+40down.test"])
    rows = queue_rows(r)
    assert len(rows) == 1, rows
    show = r.cli("queue", "show", rows[0][0]).stdout
    assert "envid: QQ+7=x\n" in show, show
    assert "ret: full\n" in show, show
    assert "rcpt-dsn: held@down.test\tnotify=success,delay\torcpt=rfc822;Held@down.test\n" \
        in show, show
    # without parameters: the queue's defaults
    send(r, ["plain@down.test"], mid="d2")
    rows = [row for row in queue_rows(r) if row[2] == "plain@down.test"]
    show = r.cli("queue", "show", rows[0][0]).stdout
    assert "envid: -\n" in show and "ret: hdrs\n" in show and "rcpt-dsn:" not in show, show


def test_bad_dsn_syntax_is_refused(roost_factory, net):
    r = sender(roost_factory, net, smtp__max_errors="100")
    s = submit(r)
    for params in ("RET=BOGUS", "RET", "RET=FULL RET=HDRS", "ENVID=", "ENVID=a=b",
                   "ENVID=+0Aevil", "ENVID=+zz", "ENVID=+4", "ENVID=" + "x" * 101,
                   "ENVID=a ENVID=b"):
        code, text = s.docmd("MAIL FROM:<%s> %s" % (ALICE, params))
        assert code == 501 and text.startswith(b"5.5.4"), (params, code, text)
    # the longest ENVID is fine
    code, text = s.docmd("MAIL FROM:<%s> ENVID=%s" % (ALICE, "x" * 100))
    assert code == 250, text
    for params in ("NOTIFY=NEVER,SUCCESS", "NOTIFY=SUCCESS,SUCCESS", "NOTIFY=", "NOTIFY",
                   "NOTIFY=BOGUS", "NOTIFY=SUCCESS,", "NOTIFY=,FAILURE",
                   "NOTIFY=SUCCESS NOTIFY=FAILURE", "ORCPT=rfc822", "ORCPT=;a@b",
                   "ORCPT=rfc822;", "ORCPT=rfc822;a+0Db@c", "ORCPT=rfc822;a+0",
                   "ORCPT=rfc822;" + "a" * 600, "ORCPT=bad type;a@b",
                   "ORCPT=rfc822;a@b ORCPT=rfc822;c@d"):
        code, text = s.docmd("RCPT TO:<carol@remote.test> %s" % params)
        assert code == 501 and text.startswith(b"5.5.4"), (params, code, text)
    code, text = s.docmd("RCPT TO:<carol@remote.test> NOTIFY=failure,DELAY ORCPT=rfc822;x@y")
    assert code == 250, text
    s.quit()


def test_notify_never_gets_no_bounce_and_failure_gets_one(roost_factory, net):
    sink = net.sink("127.0.0.3")
    sink.rcpt_replies["nobody@bad.test"] = "550 5.1.1 <nobody@bad.test>: no such user"
    r = sender(roost_factory, net)
    send(r, ["nobody@bad.test"], rcpt_opts=["NOTIFY=NEVER"], mid="never")
    assert wait_for(lambda: queue_rows(r) == [], 20), r.read_log()
    time.sleep(1)
    assert inbox(r, ALICE) == 0
    send(r, ["nobody@bad.test"], mail_opts=["ENVID=env-1", "RET=FULL"],
         rcpt_opts=["NOTIFY=FAILURE", "ORCPT=rfc822;Nobody+40bad.test"], mid="fail")
    assert wait_for(lambda: inbox(r, ALICE) == 1, 20), r.read_log()
    rcpts, per_msg, parts = dsn_reports(message(r, ALICE, 1))
    assert per_msg["Original-Envelope-Id"] == "env-1"
    assert rcpts[0]["Action"] == "failed" and rcpts[0]["Status"] == "5.1.1"
    assert rcpts[0]["Original-Recipient"].replace(" ", "") == "rfc822;Nobody@bad.test"
    # RET=FULL: the whole message comes back
    assert parts[2].get_content_type() == "message/rfc822"
    assert wait_for(lambda: queue_rows(r) == [], 10)
    time.sleep(1)
    assert inbox(r, ALICE) == 1  # nothing more: no DSN about the DSN


def success_dsn(r):
    m = message(r, ALICE, 1)
    assert m["Return-Path"] == "<>"
    return dsn_reports(m)


def test_local_delivery_with_notify_success_sends_delivered_dsn(roost_factory, net):
    r = sender(roost_factory, net)
    r.add_user("bob@example.com")
    r.add_user("dave@example.com")
    # dave asked for FAILURE only: no success DSN for him
    s = submit(r)
    assert s.mail(ALICE, ["ENVID=sub+2D1", "RET=HDRS"])[0] == 250
    assert s.rcpt("bob@example.com", ["NOTIFY=SUCCESS,FAILURE",
                                      "ORCPT=rfc822;Bob+40Example.com"])[0] == 250
    assert s.rcpt("dave@example.com", ["NOTIFY=FAILURE"])[0] == 250
    code, text = s.data(MSG.format(to="bob@example.com", subject="local", mid="l1"))
    assert code == 250, text
    s.quit()
    assert wait_for(lambda: inbox(r, ALICE) == 1, 20), r.read_log()
    assert inbox(r, "bob@example.com") == 1 and inbox(r, "dave@example.com") == 1
    rcpts, per_msg, parts = success_dsn(r)
    assert per_msg["Reporting-MTA"] == "dns; mail.example.com"
    assert per_msg["Original-Envelope-Id"] == "sub-1"
    assert len(rcpts) == 1, rcpts
    assert rcpts[0]["Final-Recipient"] == "rfc822; bob@example.com"
    assert rcpts[0]["Original-Recipient"].replace(" ", "") == "rfc822;Bob@Example.com"
    assert rcpts[0]["Action"] == "delivered"
    assert rcpts[0]["Status"] == "2.0.0"
    # RET=HDRS: only the header comes back
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert "Subject: local" in parts[2].get_payload()
    assert wait_for(lambda: queue_rows(r) == [], 10)
    time.sleep(1)
    assert inbox(r, ALICE) == 1


def test_mx_delivery_with_notify_success_sends_dsn_but_not_for_null_sender(roost_factory, net):
    import smtplib
    r = sender(roost_factory, net)
    r.add_user("bob@example.com")
    s = smtplib.SMTP("127.0.0.1", r.port("smtp"), timeout=15)
    s.ehlo("mx.example.net")
    assert s.has_extn("dsn")
    # the null sender: no DSN ever (RFC 3461 5.2.2)
    s.sendmail("", ["bob@example.com"], MSG.format(to="bob", subject="null", mid="n1"),
               rcpt_options=["NOTIFY=SUCCESS"])
    # the sender's case does not matter: the DSN finds her mailbox
    s.sendmail("Alice@Example.COM", ["bob@example.com"],
               MSG.format(to="bob", subject="mx", mid="m1"), mail_options=["RET=FULL"],
               rcpt_options=["NOTIFY=SUCCESS"])
    s.quit()
    assert inbox(r, "bob@example.com") == 2
    assert wait_for(lambda: inbox(r, ALICE) == 1, 20), r.read_log()
    rcpts, _, parts = success_dsn(r)
    assert rcpts[0]["Action"] == "delivered"
    assert rcpts[0]["Final-Recipient"] == "rfc822; bob@example.com"
    # a success DSN carries the header only, even with RET=FULL
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert "Subject: mx" in parts[2].get_payload()
    assert "Hello." not in parts[2].get_payload()
    # LMTP: the same, per recipient (bob asked, dave did not)
    r.add_user("dave@example.com")
    l = smtplib.LMTP("127.0.0.1", r.port("lmtp"), timeout=15)
    l.ehlo("mta.example.com")
    assert l.has_extn("dsn")
    assert l.mail(ALICE)[0] == 250
    assert l.rcpt("bob@example.com", ["NOTIFY=SUCCESS"])[0] == 250
    assert l.rcpt("dave@example.com")[0] == 250
    l.data(MSG.format(to="bob", subject="lmtp", mid="lm1"))
    l.quit()
    assert wait_for(lambda: inbox(r, ALICE) == 2, 20), r.read_log()
    rcpts, _, parts = dsn_reports(message(r, ALICE, 2))
    assert [x["Final-Recipient"] for x in rcpts] == ["rfc822; bob@example.com"]
    assert "Subject: lmtp" in parts[2].get_payload()
    assert wait_for(lambda: queue_rows(r) == [], 10)
    time.sleep(1)
    assert inbox(r, ALICE) == 2
