"""REQUIRETLS (RFC 8689), over the MTA-STS test internet (test_mta_sts.py:
unbound without DNSSEC, a test CA, an HTTPS policy host). Receiving: the
option is offered and accepted on TLS sessions only. Sending: a message
submitted with REQUIRETLS is relayed only to an MX host named by an
MTA-STS policy (or from a DNSSEC-validated answer), over TLS with a
certificate valid for that name, to a peer that offers REQUIRETLS, and
with the option passed on; otherwise it bounces with 5.7.30 (the peer or
the route cannot carry it) or waits (a certificate problem), and the
bounce carries the headers only."""
import imaplib
import smtplib
import socket
import ssl

from outbound_net import wait_for
from test_mta_sts import net, sender, queue_rows, full_log  # noqa: F401 (net: fixture)
from test_outbound import dsn_reports, inbox, message
from tls_net import policy

ALICE = "alice@example.com"
MSG = ("From: alice@example.com\r\nTo: {to}\r\nSubject: secret\r\n"
       "Message-ID: <{mid}@example.com>\r\n\r\nThe body that must not travel in clear.\r\n")


def submit(r, to, mid, requiretls=True, options=()):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", r.port("submission"), timeout=20) as s:
        s.starttls(context=ctx)
        s.login(ALICE, "secret")
        s.sendmail(ALICE, [to], MSG.format(to=to, mid=mid),
                   mail_options=(["REQUIRETLS"] if requiretls else []) + list(options))


def lines(sock, n=1):
    """Read until n complete replies (a reply ends with 'NNN ')."""
    buf = b""
    done = 0
    while done < n:
        chunk = sock.recv(65536)
        assert chunk, buf
        buf += chunk
        done = sum(1 for l in buf.split(b"\r\n") if len(l) >= 4 and l[3:4] == b" ")
    return buf.decode()


def test_offered_and_accepted_over_tls_only(roost):
    s = socket.create_connection(("127.0.0.1", roost.port("smtp")), timeout=10)
    lines(s)
    s.sendall(b"EHLO client.example.net\r\n")
    ehlo = lines(s)
    assert "STARTTLS" in ehlo and "REQUIRETLS" not in ehlo
    s.sendall(b"MAIL FROM:<x@example.net> REQUIRETLS\r\n")
    assert lines(s).startswith("530 5.7.10"), "REQUIRETLS accepted without TLS"
    t = starttls(s)
    t.sendall(b"EHLO client.example.net\r\n")
    assert "REQUIRETLS" in lines(t)
    t.sendall(b"MAIL FROM:<x@example.net> REQUIRETLS=yes\r\n")
    assert lines(t).startswith("501")
    t.sendall(b"MAIL FROM:<x@example.net> REQUIRETLS REQUIRETLS\r\n")
    assert lines(t).startswith("501")
    t.sendall(b"MAIL FROM:<x@example.net> REQUIRETLS\r\n")
    assert lines(t).startswith("250")
    t.sendall(b"RCPT TO:<alice@example.com>\r\nDATA\r\n")
    assert lines(t, 2).splitlines()[-1].startswith("354")
    t.sendall(b"Subject: over tls\r\n\r\nhi\r\n.\r\n")
    assert lines(t).startswith("250")
    t.close()
    assert inbox(roost, ALICE) == 1


def starttls(s):
    """STARTTLS on an SMTP socket after EHLO: the TLS socket."""
    s.sendall(b"STARTTLS\r\n")
    assert lines(s).startswith("220")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(s)


def test_sieve_redirect_keeps_the_requirement(roost):
    """A message the MX took with REQUIRETLS and a Sieve rule redirects
    goes into the queue with REQUIRETLS too: the sender's demand is not
    dropped at the first relay."""
    roost.cli("sieve", "put", ALICE, "fwd", input='redirect "fwd@elsewhere.test";\n')
    roost.cli("sieve", "activate", ALICE, "fwd")
    s = socket.create_connection(("127.0.0.1", roost.port("smtp")), timeout=10)
    lines(s)
    s.sendall(b"EHLO client.example.net\r\n")
    lines(s)
    t = starttls(s)
    t.sendall(b"EHLO client.example.net\r\n")
    lines(t)
    t.sendall(b"MAIL FROM:<x@example.net> REQUIRETLS\r\nRCPT TO:<alice@example.com>\r\n"
              b"DATA\r\n")
    assert lines(t, 3).splitlines()[-1].startswith("354")
    t.sendall(b"Subject: forward me\r\n\r\nhi\r\n.\r\n")
    assert lines(t).startswith("250")
    t.close()
    rows = queue_rows(roost)
    assert len(rows) == 1, rows
    assert "requiretls: yes\n" in roost.cli("queue", "show", rows[0][0]).stdout


def test_relayed_with_the_option_over_verified_tls(roost_factory, net):
    net.host.policies["mta-sts.enf.test"] = ("text", policy("enforce", "mx.enf.test"))
    sink = net.sink("127.0.0.41", ["mx.enf.test"])
    sink.requiretls = True
    r = sender(roost_factory, net)
    submit(r, "bob@enf.test", "rt1")
    assert wait_for(lambda: len(sink.messages) == 1, 20), full_log(r)
    mail, rcpts, _ = sink.messages[0]
    assert " REQUIRETLS" in mail and rcpts == ["bob@enf.test"]
    assert sink.tls_used == [True]
    assert wait_for(lambda: queue_rows(r) == [], 10)


def bounce_of(r):
    """The one DSN in alice's INBOX: (per-recipient fields, its parts, the
    human-readable text, which names a local reason: a reply from the
    peer would be a Diagnostic-Code)."""
    assert wait_for(lambda: inbox(r, ALICE) == 1, 20), full_log(r)
    m = message(r, ALICE, 1)
    rcpts, _, parts = dsn_reports(m)
    assert len(rcpts) == 1 and "Diagnostic-Code" not in rcpts[0]
    return rcpts[0], parts, parts[0].get_payload(decode=True).decode()


def test_peer_without_requiretls_bounces_with_headers_only(roost_factory, net):
    net.host.policies["mta-sts.enf.test"] = ("text", policy("enforce", "mx.enf.test"))
    sink = net.sink("127.0.0.41", ["mx.enf.test"])          # TLS, no REQUIRETLS
    r = sender(roost_factory, net)
    submit(r, "bob@enf.test", "rt2", options=["RET=FULL"])
    fields, parts, text = bounce_of(r)
    assert fields["Action"] == "failed" and fields["Status"] == "5.7.30", fields
    assert "REQUIRETLS: mx.enf.test does not offer REQUIRETLS" in text, text
    assert sink.messages == []
    # RET=FULL asked for the content; REQUIRETLS keeps it to the headers
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert b"must not travel" not in parts[2].as_bytes()
    # the same message without the option goes (over TLS all the same)
    submit(r, "carol@enf.test", "rt3", requiretls=False)
    assert wait_for(lambda: len(sink.messages) == 1, 20), full_log(r)
    assert " REQUIRETLS" not in sink.messages[0][0]


def test_mx_neither_dnssec_nor_policy_bounces(roost_factory, net):
    sink = net.sink("127.0.0.46", ["mx.plain.test"])        # no policy for plain.test
    sink.requiretls = True
    r = sender(roost_factory, net)
    submit(r, "bob@plain.test", "rt4")
    fields, _, text = bounce_of(r)
    assert fields["Status"] == "5.7.30", fields
    assert "neither from a DNSSEC-validated MX answer nor named by an MTA-STS policy" \
        in " ".join(text.split()), text
    assert sink.messages == []


def test_certificate_not_valid_waits(roost_factory, net):
    # testing mode: ordinary mail goes despite the self-signed certificate,
    # a REQUIRETLS message waits for a valid one
    net.host.policies["mta-sts.testing.test"] = ("text", policy("testing", "mx.testing.test"))
    sink = net.sink("127.0.0.47", ["mx.testing.test"], self_signed=True)
    sink.requiretls = True
    r = sender(roost_factory, net)
    submit(r, "bob@testing.test", "rt5")
    assert wait_for(lambda: any("REQUIRETLS: the certificate of mx.testing.test" in row[5]
                                for row in queue_rows(r)), 20), full_log(r)
    assert sink.messages == [] and inbox(r, ALICE) == 0
    submit(r, "carol@testing.test", "rt6", requiretls=False)
    assert wait_for(lambda: len(sink.messages) == 1, 20), full_log(r)
    show = r.cli("queue", "show", queue_rows(r)[0][0]).stdout
    assert "requiretls: yes\n" in show, show
