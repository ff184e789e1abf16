"""The open-relay battery: no path through Roost takes mail for a domain
it does not host unless the client logged in to submission as the
sender. Each case tries to get a message for remote.example accepted
(a 250 to its RCPT) and must be refused. With an outbound queue an
authenticated, own-sender submission is the only one that may go out."""
import smtplib
import socket

from test_submission import ALICE, Wire, message, plain, tls_context

REMOTE = "victim@remote.example"


def test_no_auth_on_submission(roost):
    w = Wire(roost.port("submission"))
    w.starttls()
    w.cmd("EHLO c")
    code, lines = w.cmd("MAIL FROM:<%s>" % ALICE)
    assert code == 530 and "5.7.0" in lines[0]
    code, _ = w.cmd("RCPT TO:<%s>" % REMOTE)
    assert code == 503  # no transaction: nothing to relay
    w.close()


def test_wrong_password(roost):
    w = Wire(roost.port("submission"))
    w.starttls()
    w.cmd("EHLO c")
    code, _ = w.cmd("AUTH PLAIN " + plain(ALICE, "wrong"))
    assert code == 535
    code, _ = w.cmd("MAIL FROM:<%s>" % ALICE)
    assert code == 530
    assert w.cmd("RCPT TO:<%s>" % REMOTE)[0] != 250
    w.close()


def test_unknown_user(roost):
    w = Wire(roost.port("submission"))
    w.starttls()
    w.cmd("EHLO c")
    assert w.cmd("AUTH PLAIN " + plain("mallory@example.com", "secret"))[0] == 535
    assert w.cmd("MAIL FROM:<mallory@example.com>")[0] == 530
    w.close()


def test_auth_then_foreign_sender(roost):
    w = Wire(roost.port("submission"))
    w.starttls()
    w.cmd("EHLO c")
    assert w.cmd("AUTH PLAIN " + plain(ALICE, "secret"))[0] == 235
    code, lines = w.cmd("MAIL FROM:<boss@remote.example>")
    assert code == 550 and "5.7.1" in lines[0]
    assert w.cmd("RCPT TO:<%s>" % REMOTE)[0] == 503
    w.close()


def test_auth_own_sender_remote_goes_to_the_queue(roost):
    # the one case that relays: logged in, own sender (the delivery itself
    # is test_submission_outbound.py)
    s = smtplib.SMTP("127.0.0.1", roost.port("submission"), timeout=15)
    s.starttls(context=tls_context())
    s.login(ALICE, "secret")
    s.mail(ALICE)
    code, text = s.rcpt(REMOTE)
    assert code == 250, text
    code, text = s.data("From: %s\r\nTo: %s\r\nSubject: out\r\n\r\nhi\r\n" % (ALICE, REMOTE))
    assert code == 250 and b"queued as" in text, text
    s.quit()
    rows = roost.cli("queue", "list").stdout
    assert REMOTE in rows, rows


def test_login_before_starttls_is_forgotten(roost):
    # RFC 3207 4.2: everything before TLS is discarded, the login too
    w = Wire(roost.port("submission"))
    w.cmd("EHLO c")
    assert w.cmd("AUTH PLAIN " + plain(ALICE, "secret"))[0] == 235  # loopback plaintext
    w.starttls()
    w.cmd("EHLO c")
    assert w.cmd("MAIL FROM:<%s>" % ALICE)[0] == 530
    w.close()


def test_mx_port_never_relays(roost):
    w = Wire(roost.port("smtp"))
    w.cmd("EHLO c")
    assert w.cmd("AUTH PLAIN " + plain(ALICE, "secret"))[0] == 500
    assert w.cmd("MAIL FROM:<%s>" % ALICE)[0] == 250
    code, lines = w.cmd("RCPT TO:<%s>" % REMOTE)
    assert code == 554 and "5.7.1" in lines[0]
    # the usual tricks: source routes, percent hack, bang path, quoting
    for rcpt in ("<@example.com:%s>" % REMOTE, "<victim%%remote.example@example.com>",
                 "<remote.example!victim@example.com>", '<"victim@remote.example">'):
        assert w.cmd("RCPT TO:%s" % rcpt)[0] != 250, rcpt
    w.close()


def test_lmtp_never_relays(roost):
    s = socket.create_connection(("127.0.0.1", roost.port("lmtp")), timeout=10)
    f = s.makefile("rb")

    def reply():
        lines = []
        while True:
            line = f.readline().decode()
            lines.append(line)
            if line[3] != "-":
                return int(line[:3]), lines
    reply()
    s.sendall(b"LHLO c\r\n")
    assert "AUTH" not in "".join(reply()[1])
    s.sendall(b"MAIL FROM:<%s>\r\n" % ALICE.encode())
    assert reply()[0] == 250
    s.sendall(b"RCPT TO:<%s>\r\n" % REMOTE.encode())
    code, _ = reply()
    assert code >= 500
    s.close()


def test_nothing_was_stored_for_anyone(roost):
    # the battery above runs against fresh servers; one more complete
    # attempt here, then the store must hold nothing
    w = Wire(roost.port("submission"))
    w.starttls()
    w.cmd("EHLO c")
    w.cmd("MAIL FROM:<%s>" % ALICE)
    w.cmd("RCPT TO:<%s>" % REMOTE)
    code, _ = w.cmd("DATA")
    assert code in (503, 554)
    w.close()
    assert roost.users()[ALICE][2] == 0
