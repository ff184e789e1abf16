"""Authenticated submission (RFC 6409) on submission.listen (STARTTLS)
and submissions.listen (implicit TLS, RFC 8314) with Python's smtplib,
swaks, curl and raw sockets: AUTH PLAIN and LOGIN (RFC 4954) and their
error replies, the sender rules (MAIL FROM and From:), local delivery
through the store, rate limits, app passwords over submission, IMAP and
POP3, and the attacker's cases (huge AUTH lines, AUTH before TLS, "*"
cancel, guessing). The open-relay battery is test_submission_relay.py."""
import base64
import imaplib
import poplib
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

ALICE = "alice@example.com"


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def message(sender=ALICE, to="bob@example.com", subject="hello", extra=""):
    return ("From: Alice <%s>\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s@example.com>\r\n%s\r\nbody text\r\n"
            % (sender, to, subject, subject.replace(" ", "."), extra))


def submit(roost, user=ALICE, password="secret", port=None):
    s = smtplib.SMTP("127.0.0.1", port or roost.port("submission"), timeout=15)
    s.ehlo("client.example")
    s.starttls(context=tls_context())
    s.ehlo("client.example")
    s.login(user, password)
    return s


def inbox(roost, user, password="secret", mailbox="INBOX"):
    """(count, [raw messages]) of a mailbox over IMAP."""
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    m.login(user, password)
    typ, data = m.select(mailbox)
    assert typ == "OK", data
    n = int(data[0])
    raws = []
    if n:
        typ, data = m.fetch("1:*", "(BODY.PEEK[])")
        raws = [d[1] for d in data if isinstance(d, tuple)]
    m.logout()
    return n, raws


class Wire:
    """A raw SMTP client over an optional TLS socket."""

    def __init__(self, port, implicit_tls=False, timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if implicit_tls:
            self.sock = tls_context().wrap_socket(self.sock)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def reply(self):
        lines = []
        while True:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("closed after %r" % lines)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r").decode()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), lines

    def starttls(self):
        code, _ = self.cmd("STARTTLS")
        assert code == 220
        self.sock = tls_context().wrap_socket(self.sock)

    def close(self):
        self.sock.close()


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def plain(user, password, authzid=""):
    return b64("%s\0%s\0%s" % (authzid, user, password))


@pytest.fixture
def sub(roost_factory):
    r = roost_factory()
    r.add_user("bob@example.com")
    return r


# --- the listeners ---------------------------------------------------------

def test_ehlo_offers_auth_after_tls_only_when_plaintext_is_refused(roost_factory):
    r = roost_factory(auth__allow_plaintext="no")
    w = Wire(r.port("submission"))
    code, lines = w.cmd("EHLO c")
    assert code == 250
    text = "\n".join(lines)
    assert "STARTTLS" in text and "AUTH" not in text
    for ext in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8"):
        assert ext in text
    # attacker: AUTH before STARTTLS with a real password
    code, lines = w.cmd("AUTH PLAIN " + plain(ALICE, "secret"))
    assert code == 538 and "5.7.11" in lines[0]
    code, lines = w.cmd("MAIL FROM:<%s>" % ALICE)
    assert code == 530 and "5.7.0" in lines[0]
    w.starttls()
    code, lines = w.cmd("EHLO c")
    assert "AUTH SCRAM-SHA-256 PLAIN LOGIN" in "\n".join(lines)
    code, lines = w.cmd("AUTH PLAIN " + plain(ALICE, "secret"))
    assert code == 235 and "2.7.0" in lines[0], lines
    w.close()


def test_submissions_implicit_tls_login(sub):
    s = smtplib.SMTP_SSL("127.0.0.1", sub.port("submissions"), context=tls_context(),
                         timeout=15)
    s.ehlo("client.example")
    assert "PLAIN" in s.esmtp_features.get("auth", "").upper()
    s.login(ALICE, "secret")
    s.sendmail(ALICE, ["bob@example.com"], message(subject="implicit tls"))
    s.quit()
    n, raws = inbox(sub, "bob@example.com")
    assert n == 1 and b"implicit tls" in raws[0]
    # RFC 3848: the trace says the submission was authenticated over TLS
    assert b"ESMTPSA" in raws[0]


def test_mx_port_offers_no_auth(sub):
    w = Wire(sub.port("smtp"))
    code, lines = w.cmd("EHLO c")
    assert "AUTH" not in "\n".join(lines)
    code, _ = w.cmd("AUTH PLAIN " + plain(ALICE, "secret"))
    assert code == 500
    w.close()


def test_serve_prints_submission_listeners(sub):
    log = sub.read_log()
    assert "submission=127.0.0.1:%d" % sub.port("submission") in log
    assert "submissions=127.0.0.1:%d" % sub.port("submissions") in log


# --- AUTH mechanisms and errors ------------------------------------------

def test_smtplib_login_mechanisms(sub):
    for mech in ("PLAIN", "LOGIN"):
        s = smtplib.SMTP("127.0.0.1", sub.port("submission"), timeout=15)
        s.starttls(context=tls_context())
        s.ehlo("c")
        s.user, s.password = ALICE, "secret"
        code, resp = s.auth(mech, getattr(s, "auth_" + mech.lower()),
                            initial_response_ok=(mech == "PLAIN"))
        assert code == 235, (mech, code, resp)
        s.quit()


def test_login_two_step_and_wrong_password(sub):
    w = Wire(sub.port("submission"))
    w.starttls()
    w.cmd("EHLO c")
    code, lines = w.cmd("AUTH LOGIN")
    assert lines == ["334 VXNlcm5hbWU6"]
    code, lines = w.cmd(b64(ALICE))
    assert lines == ["334 UGFzc3dvcmQ6"]
    code, lines = w.cmd(b64("wrong"))
    assert code == 535 and "5.7.8" in lines[0]
    code, lines = w.cmd("AUTH PLAIN")
    assert lines == ["334 "]
    code, lines = w.cmd(plain(ALICE, "secret"))
    assert code == 235
    code, lines = w.cmd("AUTH PLAIN " + plain(ALICE, "secret"))
    assert code == 503
    w.close()


def test_auth_cancel_and_bad_base64(sub):
    w = Wire(sub.port("submission"))
    w.starttls()
    w.cmd("EHLO c")
    w.cmd("AUTH LOGIN")
    code, lines = w.cmd("*")
    assert code == 501
    code, lines = w.cmd("AUTH PLAIN")
    code, lines = w.cmd("*")
    assert code == 501
    code, lines = w.cmd("AUTH PLAIN !!!notbase64")
    assert code == 501
    code, lines = w.cmd("AUTH CRAM-MD5")
    assert code == 504
    # PLAIN with another authorization identity is refused
    code, lines = w.cmd("AUTH PLAIN " + plain(ALICE, "secret", authzid="bob@example.com"))
    assert code == 535
    # the session still works after all that
    code, lines = w.cmd("AUTH PLAIN " + plain(ALICE, "secret"))
    assert code == 235
    w.close()


def test_huge_auth_lines(sub):
    w = Wire(sub.port("submission"))
    w.starttls()
    w.cmd("EHLO c")
    # over the RFC 4954 line limit in the command itself
    code, lines = w.cmd("AUTH PLAIN " + "A" * 20000)
    assert code == 500
    # over it inside the exchange: the exchange ends, the session goes on
    w.cmd("AUTH PLAIN")
    code, lines = w.cmd("A" * 20000)
    assert code == 500 and "5.5.6" in lines[0]
    # under the line limit but over the SASL response limit
    code, lines = w.cmd("AUTH PLAIN " + "A" * 8000)
    assert code == 501
    code, lines = w.cmd("NOOP")
    assert code == 250
    w.close()


def test_failed_auth_is_throttled_and_logged(roost_factory):
    r = roost_factory(auth__fail_delay="300ms", auth__fail_delay_max="2s")
    w = Wire(r.port("submission"))
    w.starttls()
    w.cmd("EHLO c")
    times = []
    for i in range(4):
        t0 = time.monotonic()
        code, _ = w.cmd("AUTH PLAIN " + plain(ALICE, "guess%d" % i))
        times.append(time.monotonic() - t0)
        assert code == 535
    # each failure waits at least auth.fail_delay; the delay grows
    assert all(t >= 0.25 for t in times), times
    assert times[-1] > times[0], times
    w.close()
    log = r.read_log()
    assert "proto=submission" in log and "auth failed:" in log
    assert "guess" not in log  # never the password


def test_many_failures_close_the_session(sub):
    w = Wire(sub.port("submission"))
    w.starttls()
    w.cmd("EHLO c")
    closed = False
    try:
        for i in range(20):
            code, lines = w.cmd("AUTH PLAIN " + plain(ALICE, "x%d" % i))
            if code == 421:
                closed = True
                break
    except EOFError:
        closed = True
    assert closed
    w.close()


# --- sending ----------------------------------------------------------------

def test_local_delivery_visible_over_imap(sub):
    s = submit(sub)
    refused = s.sendmail(ALICE, ["bob@example.com", ALICE], message(subject="local one"))
    assert refused == {}
    s.quit()
    n, raws = inbox(sub, "bob@example.com")
    assert n == 1 and b"Subject: local one" in raws[0]
    n, _ = inbox(sub, ALICE)
    assert n == 1


def test_sender_forgery_refused(sub):
    s = submit(sub)
    code, text = s.mail("bob@example.com")
    assert code == 550 and b"5.7.1" in text and b"not yours" in text
    code, text = s.mail("ceo@bank.example")
    assert code == 550
    # own address with a +tag is fine
    code, _ = s.mail("alice+news@example.com")
    assert code == 250
    s.rset()
    # envelope ok, From: forged
    s.mail(ALICE)
    s.rcpt("bob@example.com")
    code, text = s.data(message(sender="bob@example.com", subject="forged"))
    assert code == 550 and b"5.7.1" in text and b"bob@example.com" in text
    s.quit()
    assert inbox(sub, "bob@example.com")[0] == 0


def test_alias_sender_and_null_sender(sub):
    sub.cli("alias", "add", "sales@example.com", ALICE)
    s = submit(sub)
    s.sendmail("sales@example.com", ["bob@example.com"],
               message(sender="sales@example.com", subject="as alias"))
    # null sender (an MDN, RFC 8098): allowed, From: still checked
    s.sendmail("<>", ["bob@example.com"], message(subject="mdn"))
    s.mail("<>")
    s.rcpt("bob@example.com")
    code, _ = s.data(message(sender="bob@example.com", subject="mdn forged"))
    assert code == 550
    s.quit()
    n, raws = inbox(sub, "bob@example.com")
    assert n == 2


def test_any_sender_domain_setting(roost_factory):
    r = roost_factory(submission__any_sender_domains="example.com")
    r.add_user("bob@example.com")
    s = submit(r)
    s.sendmail("info@example.com", ["bob@example.com"],
               message(sender="info@example.com", subject="role"))
    code, _ = s.mail("info@other.example")
    assert code == 550
    s.quit()
    assert inbox(r, "bob@example.com")[0] == 1


def test_rate_limits_hold_across_reconnects(roost_factory):
    r = roost_factory(submission__max_messages_per_hour="3",
                      submission__max_recipients_per_day="5")
    r.add_user("bob@example.com")
    for i in range(3):
        s = submit(r)
        s.sendmail(ALICE, ["bob@example.com"], message(subject="rate %d" % i))
        s.quit()
    s = submit(r)
    code, text = s.mail(ALICE)
    assert code == 451 and b"4.7.1" in text
    s.quit()
    assert "rate limit: messages user=" in r.read_log()
    assert inbox(r, "bob@example.com")[0] == 3


def test_recipient_rate_limit(roost_factory):
    r = roost_factory(submission__max_recipients_per_hour="2")
    r.add_user("bob@example.com")
    s = submit(r)
    s.mail(ALICE)
    assert s.rcpt("bob@example.com")[0] == 250
    assert s.rcpt(ALICE)[0] == 250
    code, text = s.rcpt("bob@example.com")
    assert code == 451 and b"4.7.1" in text
    s.quit()


def test_swaks_submission(sub):
    p = subprocess.run(
        ["swaks", "--server", "127.0.0.1", "--port", str(sub.port("submission")),
         "--tls", "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password", "secret",
         "--from", ALICE, "--to", "bob@example.com", "--h-From", ALICE,
         "--header", "Subject: via swaks"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out
    n, raws = inbox(sub, "bob@example.com")
    assert n == 1 and b"via swaks" in raws[0]


def test_curl_submission(sub, tmp_path):
    msg = tmp_path / "m.eml"
    msg.write_text(message(subject="via curl"))
    p = subprocess.run(
        ["curl", "-sS", "--ssl-reqd", "-k",
         "smtp://127.0.0.1:%d" % sub.port("submission"),
         "--mail-from", ALICE, "--mail-rcpt", "bob@example.com",
         "--user", "%s:secret" % ALICE, "--upload-file", str(msg)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    assert p.returncode == 0, p.stdout
    n, raws = inbox(sub, "bob@example.com")
    assert n == 1 and b"via curl" in raws[0]


def test_roundcube_like_session(sub):
    """Roundcube's Debian defaults: smtp_user=%u (the full address),
    port 587 with STARTTLS, AUTH PLAIN chosen from the EHLO list."""
    s = smtplib.SMTP("127.0.0.1", sub.port("submission"), timeout=15)
    s.ehlo("webmail.example.com")
    assert s.has_extn("starttls")
    s.starttls(context=tls_context())
    s.ehlo("webmail.example.com")
    mechs = s.esmtp_features["auth"].split()
    assert "PLAIN" in mechs
    s.user, s.password = ALICE, "secret"
    assert s.auth("PLAIN", s.auth_plain)[0] == 235
    s.sendmail(ALICE, ["bob@example.com"], message(subject="from webmail"))
    s.quit()
    assert inbox(sub, "bob@example.com")[0] == 1


# --- app passwords -------------------------------------------------------------

def test_app_password_add_use_revoke(sub):
    p = sub.cli("user", "app-password", "add", ALICE, "phone")
    app = p.stdout.strip()
    assert len(app) >= 16 and app != "secret"
    assert "phone" in sub.cli("user", "app-password", "list", ALICE).stdout
    # stored hashed only: the plaintext is nowhere in the database
    assert app.encode() not in sub.store_bytes()
    # usable for submission, IMAP and POP3; the main password still works
    s = submit(sub, password=app)
    s.sendmail(ALICE, ["bob@example.com"], message(subject="from phone"))
    s.quit()
    assert inbox(sub, ALICE, password=app)[0] == 0
    pop = poplib.POP3("127.0.0.1", sub.port("pop3"))
    pop.user(ALICE)
    assert pop.pass_(app).startswith(b"+OK")
    pop.quit()
    submit(sub).quit()
    # a second device, then revoke only the first
    app2 = sub.cli("user", "app-password", "add", ALICE, "laptop").stdout.strip()
    sub.cli("user", "app-password", "del", ALICE, "phone")
    with pytest.raises(smtplib.SMTPAuthenticationError):
        submit(sub, password=app)
    m = imaplib.IMAP4("127.0.0.1", sub.port("imap"))
    with pytest.raises(imaplib.IMAP4.error):
        m.login(ALICE, app)
    submit(sub, password=app2).quit()
    # passwd keeps the remaining app passwords
    sub.cli("user", "passwd", ALICE, input="newsecret\n")
    submit(sub, password=app2).quit()
    assert sub.cli("user", "app-password", "list", ALICE).stdout.split("\t")[0] == "laptop"


def test_app_password_cli_errors(sub):
    sub.cli("user", "app-password", "add", ALICE, "phone")
    p = sub.cli("user", "app-password", "add", ALICE, "phone", check=False)
    assert p.returncode != 0 and "already" in p.stderr
    p = sub.cli("user", "app-password", "del", ALICE, "tablet", check=False)
    assert p.returncode != 0
    p = sub.cli("user", "app-password", "add", "nobody@example.com", "x", check=False)
    assert p.returncode != 0
    p = sub.cli("user", "app-password", "add", ALICE, "bad label", check=False)
    assert p.returncode != 0


# --- SCRAM-SHA-256 (RFC 5802, RFC 7677), the client side written here ----

import hashlib
import hmac as hmac_mod
import os


def _h(key, msg):
    return hmac_mod.new(key, msg, hashlib.sha256).digest()


class ScramClient:
    def __init__(self, user, password, nonce=None):
        self.user, self.password = user, password
        self.cnonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self.bare = "n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), self.cnonce)

    def first(self):
        return b64("n,," + self.bare)

    def final(self, server_first_b64, nonce_override=None, corrupt_proof=False):
        sf = base64.b64decode(server_first_b64).decode()
        attrs = dict(a.split("=", 1) for a in sf.split(","))
        assert attrs["r"].startswith(self.cnonce)
        salt = base64.b64decode(attrs["s"])
        it = int(attrs["i"])
        assert it >= 4096  # RFC 7677 4
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt, it)
        client_key = _h(salted, b"Client Key")
        stored_key = hashlib.sha256(client_key).digest()
        self.server_key = _h(salted, b"Server Key")
        without = "c=%s,r=%s" % (b64("n,,"), nonce_override or attrs["r"])
        self.auth_message = ("%s,%s,%s" % (self.bare, sf, without)).encode()
        sig = _h(stored_key, self.auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        if corrupt_proof:
            proof = bytes([proof[0] ^ 1]) + proof[1:]
        return b64(without + ",p=" + base64.b64encode(proof).decode())

    def server_signature_ok(self, server_final_b64):
        want = "v=" + base64.b64encode(_h(self.server_key, self.auth_message)).decode()
        return base64.b64decode(server_final_b64).decode() == want


def scram_session(roost):
    w = Wire(roost.port("submission"))
    w.starttls()
    code, lines = w.cmd("EHLO c")
    assert "SCRAM-SHA-256" in "\n".join(lines)
    return w


def test_scram_sha256_login(sub):
    w = scram_session(sub)
    c = ScramClient(ALICE, "secret")
    code, lines = w.cmd("AUTH SCRAM-SHA-256 " + c.first())
    assert code == 334, lines
    code, lines = w.cmd(c.final(lines[0][4:]))
    assert code == 334, lines
    assert c.server_signature_ok(lines[0][4:])  # the server knows the keys
    code, lines = w.cmd("")
    assert code == 235, lines
    assert w.cmd("MAIL FROM:<%s>" % ALICE)[0] == 250
    w.close()


def test_scram_without_initial_response_and_cancel(sub):
    w = scram_session(sub)
    c = ScramClient(ALICE, "secret")
    assert w.cmd("AUTH SCRAM-SHA-256")[1] == ["334 "]
    code, lines = w.cmd(c.first())
    assert code == 334
    code, lines = w.cmd("*")
    assert code == 501
    assert w.cmd("MAIL FROM:<%s>" % ALICE)[0] == 530
    w.close()


def test_scram_bad_proof_and_bad_nonce(sub):
    for kw in ({"corrupt_proof": True}, {"nonce_override": "forged-nonce"}):
        w = scram_session(sub)
        c = ScramClient(ALICE, "secret")
        code, lines = w.cmd("AUTH SCRAM-SHA-256 " + c.first())
        code, lines = w.cmd(c.final(lines[0][4:], **kw))
        assert code == 535 and "5.7.8" in lines[0], (kw, lines)
        assert w.cmd("MAIL FROM:<%s>" % ALICE)[0] == 530
        w.close()
    # wrong password: the proof does not match either
    w = scram_session(sub)
    c = ScramClient(ALICE, "wrong")
    code, lines = w.cmd("AUTH SCRAM-SHA-256 " + c.first())
    code, lines = w.cmd(c.final(lines[0][4:]))
    assert code == 535
    w.close()
    assert "auth failed:" in sub.read_log()


def test_scram_unknown_user_looks_like_a_known_one(sub):
    salts = []
    for user in ("nobody@example.com", "nobody@example.com", ALICE):
        w = scram_session(sub)
        c = ScramClient(user, "secret")
        code, lines = w.cmd("AUTH SCRAM-SHA-256 " + c.first())
        assert code == 334
        attrs = dict(a.split("=", 1)
                     for a in base64.b64decode(lines[0][4:]).decode().split(","))
        salts.append((attrs["s"], attrs["i"]))
        code, lines = w.cmd(c.final(lines[0][4:]))
        assert code == (334 if user == ALICE else 535)
        w.close()
    # a made-up salt is stable per name and shaped like a real one
    assert salts[0] == salts[1]
    assert len(base64.b64decode(salts[0][0])) == len(base64.b64decode(salts[2][0]))
    assert salts[0][1] == salts[2][1]


def test_scram_keys_follow_the_password(sub):
    # an account made before SCRAM keys existed: drop its keys, then a
    # PLAIN login derives them again
    sub.sql("DELETE FROM scram_keys")
    w = scram_session(sub)
    c = ScramClient(ALICE, "secret")
    code, lines = w.cmd("AUTH SCRAM-SHA-256 " + c.first())
    assert w.cmd(c.final(lines[0][4:]))[0] == 535
    w.close()
    submit(sub).quit()  # PLAIN
    w = scram_session(sub)
    c = ScramClient(ALICE, "secret")
    code, lines = w.cmd("AUTH SCRAM-SHA-256 " + c.first())
    assert w.cmd(c.final(lines[0][4:]))[0] == 334
    w.close()
    # after passwd the old keys are never used again; the new ones work
    sub.cli("user", "passwd", ALICE, input="changed\n")
    for password, want in (("secret", 535), ("changed", 334)):
        w = scram_session(sub)
        c = ScramClient(ALICE, password)
        code, lines = w.cmd("AUTH SCRAM-SHA-256 " + c.first())
        assert w.cmd(c.final(lines[0][4:]))[0] == want, password
        w.close()


# --- Sent copies (submission.save_sent) and APPEND deduplication ----------

def sent_uids(roost, user=ALICE, password="secret"):
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    m.login(user, password)
    m.select("Sent")
    typ, data = m.uid("SEARCH", "ALL")
    m.logout()
    return [int(x) for x in data[0].split()]


def test_save_sent_and_append_dedup(sub):
    body = message(subject="sent copy", to="bob@example.com")
    s = submit(sub)
    s.sendmail(ALICE, ["bob@example.com"], body)
    s.quit()
    uids = sent_uids(sub)
    assert len(uids) == 1
    m = imaplib.IMAP4("127.0.0.1", sub.port("imap"))
    m.login(ALICE, "secret")
    m.select("Sent")
    typ, data = m.uid("FETCH", str(uids[0]), "(FLAGS BODY.PEEK[])")
    assert b"\\Seen" in data[0][0] and b"Subject: sent copy" in data[0][1]
    assert b"Received:" not in data[0][1]  # as the client sent it
    # the client saves its own copy too (Thunderbird adds a Bcc: line)
    client_copy = ("Bcc: carol@example.com\r\n" + body).encode()
    typ, data = m.append("Sent", "(\\Seen)", None, client_copy)
    assert typ == "OK"
    assert ("APPENDUID" in data[0].decode() and
            data[0].decode().split()[2].rstrip("]") == str(uids[0])), data
    # a different message is stored as usual
    typ, data = m.append("Sent", None, None, message(subject="other one").encode())
    assert typ == "OK"
    # the same message to another mailbox is stored as usual
    typ, data = m.append("Drafts", None, None, client_copy)
    assert typ == "OK"
    m.logout()
    assert len(sent_uids(sub)) == 2


def test_save_sent_off(roost_factory):
    r = roost_factory(submission__save_sent="no")
    r.add_user("bob@example.com")
    s = submit(r)
    s.sendmail(ALICE, ["bob@example.com"], message(subject="no copy"))
    s.quit()
    assert sent_uids(r) == []
    # without a server copy, the client's APPEND is stored
    m = imaplib.IMAP4("127.0.0.1", r.port("imap"))
    m.login(ALICE, "secret")
    assert m.append("Sent", None, None, message(subject="no copy").encode())[0] == "OK"
    m.logout()
    assert len(sent_uids(r)) == 1


def test_check_knows_the_credential_tables(sub):
    sub.cli("user", "app-password", "add", "bob@example.com", "phone")
    assert sub.cli("check").stdout == "clean\n"
    # deleting the account takes its app passwords and SCRAM keys along
    sub.cli("user", "del", "bob@example.com")
    assert sub.cli("check").stdout == "clean\n"
    assert sub.sql("SELECT count(*) FROM app_passwords") == [(0,)]
    assert sub.sql("SELECT count(*) FROM scram_keys WHERE account_id NOT IN"
                   " (SELECT id FROM accounts)") == [(0,)]
    # a row left behind (an older roost, a raw edit) is reported
    sub.sql("INSERT INTO app_passwords (account_id, label, pwhash, created)"
            " VALUES (999, 'x', '$y$x', 0)")
    p = sub.cli("check", check=False)
    assert p.returncode != 0 and "app_passwords: 1 rows of account 999" in p.stdout


def test_save_sent_per_account(roost_factory):
    r = roost_factory(submission__save_sent="no")
    r.add_user("bob@example.com")
    assert "save-sent\tdefault" in r.cli("user", "show", ALICE).stdout
    r.cli("user", "save-sent", ALICE, "yes")
    assert "save-sent\tyes" in r.cli("user", "show", ALICE).stdout
    s = submit(r)
    s.sendmail(ALICE, ["bob@example.com"], message(subject="kept"))
    s.quit()
    assert len(sent_uids(r)) == 1
    # bob keeps the server's "no"; then alice turns it off for herself
    s = submit(r, user="bob@example.com")
    s.sendmail("bob@example.com", [ALICE], message(sender="bob@example.com",
                                                   subject="not kept"))
    s.quit()
    assert sent_uids(r, user="bob@example.com") == []
    r.cli("user", "save-sent", ALICE, "no")
    s = submit(r)
    s.sendmail(ALICE, ["bob@example.com"], message(subject="not kept either"))
    s.quit()
    assert len(sent_uids(r)) == 1
    p = r.cli("user", "save-sent", ALICE, "maybe", check=False)
    assert p.returncode != 0
    r.cli("user", "save-sent", ALICE, "default")
    assert "save-sent\tdefault" in r.cli("user", "show", ALICE).stdout


def test_imap_authenticate_scram_sha256(sub):
    m = imaplib.IMAP4("127.0.0.1", sub.port("imap"))
    assert "AUTH=SCRAM-SHA-256" in m.capabilities
    c = ScramClient(ALICE, "secret")
    state = {"step": 0, "server_ok": False}

    def answer(challenge):
        state["step"] += 1
        if state["step"] == 1:
            return base64.b64decode(c.first())
        if state["step"] == 2:
            return base64.b64decode(c.final(base64.b64encode(challenge).decode()))
        state["server_ok"] = c.server_signature_ok(base64.b64encode(challenge).decode())
        return b""
    typ, data = m.authenticate("SCRAM-SHA-256", answer)
    assert typ == "OK" and state["server_ok"]
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    # a wrong password: NO, and the session may try again
    m = imaplib.IMAP4("127.0.0.1", sub.port("imap"))
    c = ScramClient(ALICE, "wrong")
    state["step"] = 0
    with pytest.raises(imaplib.IMAP4.error):
        m.authenticate("SCRAM-SHA-256", answer)
    assert m.login(ALICE, "secret")[0] == "OK"
    m.logout()
