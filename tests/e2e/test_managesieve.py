"""ManageSieve (RFC 5804) on managesieve.listen: a raw Python client and
Debian's sieve-connect. Greeting capabilities, STARTTLS (capabilities
again), AUTHENTICATE PLAIN with and without an initial response,
PUTSCRIPT/CHECKSCRIPT with line-accurate errors, the script commands and
their response codes, quotas, literal limits before and after login."""
import base64
import os
import re
import socket
import ssl
import subprocess

ALICE = "alice@example.com"
GOOD = 'require "fileinto";\r\nif header :contains "subject" "x" { fileinto "Junk"; }\r\n'


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.caps, self.greeting = self.response()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        """(data lines, final line) until OK/NO/BYE."""
        lines = []
        while True:
            line = self.line()
            m = re.match(rb"^(.*)\{(\d+)\}$", line)
            if m:
                lit = self.read_exact(int(m.group(2)))
                rest = self.line()
                lines.append(m.group(1) + lit + rest)
                continue
            if re.match(rb"^(OK|NO|BYE)\b", line):
                return lines, line.decode()
            lines.append(line)

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.response()

    def login(self, user=ALICE, password="secret"):
        token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        return self.cmd('AUTHENTICATE "PLAIN" "%s"' % token)[1]

    def put(self, name, script):
        data = script.encode()
        self.send('PUTSCRIPT "%s" {%d+}\r\n' % (name, len(data)))
        self.send(data + b"\r\n")
        return self.response()[1]


def caps_dict(lines):
    out = {}
    for l in lines:
        m = re.match(rb'^"([^"]+)"(?: "(.*)")?$', l)
        assert m, l
        out[m.group(1).decode()] = (m.group(2) or b"").decode()
    return out


def test_greeting_login_and_scripts(roost):
    c = Client(roost.port("managesieve"))
    caps = caps_dict(c.caps)
    assert c.greeting.startswith("OK")
    assert caps["IMPLEMENTATION"] == "Roost" and caps["VERSION"] == "1.0"
    assert "PLAIN" in caps["SASL"].split()
    assert "fileinto" in caps["SIEVE"].split() and "vacation" in caps["SIEVE"].split()
    assert "STARTTLS" in caps and caps["MAXREDIRECTS"].isdigit()
    # nothing but the pre-login commands before AUTHENTICATE
    assert c.cmd("LISTSCRIPTS")[1].startswith("NO")
    assert c.login(password="wrong").startswith("NO")
    assert c.login().startswith("OK"), c
    assert c.cmd("LISTSCRIPTS") == ([], 'OK "Listscripts completed"')
    assert c.put("main", GOOD).startswith("OK")
    assert c.put("second", "keep;\r\n").startswith("OK")
    # a compile error names the line and column; nothing stored
    final = c.put("bad", 'require "fileinto";\r\nbogus;\r\n')
    assert final.startswith("NO") and final.count("line 2: unknown command") == 1 and final.count("(column 1)") == 1, final
    final = c.cmd('CHECKSCRIPT "if true {"')[1]
    assert final.startswith("NO") and "line 1" in final, final
    assert c.cmd('CHECKSCRIPT "keep;"')[1].startswith("OK")
    assert c.cmd('SETACTIVE "main"')[1].startswith("OK")
    lines, final = c.cmd("LISTSCRIPTS")
    assert sorted(lines) == [b'"main" ACTIVE', b'"second"'] and final.startswith("OK")
    lines, final = c.cmd('GETSCRIPT "main"')
    assert final.startswith("OK") and lines[0] == GOOD.encode()
    assert c.cmd('GETSCRIPT "nope"')[1].startswith("NO (NONEXISTENT)")
    assert c.cmd('DELETESCRIPT "main"')[1].startswith("NO (ACTIVE)")
    assert c.cmd('RENAMESCRIPT "second" "main"')[1].startswith("NO (ALREADYEXISTS)")
    assert c.cmd('RENAMESCRIPT "second" "third"')[1].startswith("OK")
    assert c.cmd('DELETESCRIPT "third"')[1].startswith("OK")
    assert c.cmd('SETACTIVE ""')[1].startswith("OK")
    assert c.cmd("LISTSCRIPTS")[0] == [b'"main"']
    assert c.cmd('HAVESPACE "x" 100')[1].startswith("OK")
    assert c.cmd('HAVESPACE "x" 999999999')[1].startswith("NO (QUOTA/MAXSIZE)")
    assert c.cmd('NOOP "tag1"')[1] == 'OK (TAG "tag1") "Done"'
    # the CLI sees the same scripts
    assert roost.cli("sieve", "list", ALICE).stdout.startswith("main\tinactive")
    assert c.cmd("UNAUTHENTICATE")[1].startswith("OK")
    assert c.cmd("LISTSCRIPTS")[1].startswith("NO")
    assert c.cmd("LOGOUT")[1].startswith("OK")


def test_plain_with_challenge_and_starttls(roost):
    c = Client(roost.port("managesieve"))
    assert c.cmd("STARTTLS")[1].startswith("OK")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c.sock = ctx.wrap_socket(c.sock)
    # RFC 5804 2.2: the capabilities again, without STARTTLS
    lines, final = c.response()
    assert final.startswith("OK") and "STARTTLS" not in caps_dict(lines)
    c.send('AUTHENTICATE "PLAIN"\r\n')
    assert c.line() == b'""'
    token = base64.b64encode(b"\0" + ALICE.encode() + b"\0secret").decode()
    assert c.cmd('"%s"' % token)[1].startswith("OK")
    caps = caps_dict(c.cmd("CAPABILITY")[0])
    assert caps.get("OWNER") == ALICE


def test_quota_and_hostile_input(roost_factory):
    r = roost_factory(managesieve__max_scripts="2", sieve__max_script_size="1K")
    c = Client(r.port("managesieve"))
    # before login a literal over 8 KiB ends the connection
    c.send('AUTHENTICATE "PLAIN" {100000+}\r\n')
    lines, final = c.response()
    assert final.startswith("BYE (QUOTA/MAXSIZE)"), final
    c = Client(r.port("managesieve"))
    for bad in ("BOGUS", 'PUTSCRIPT "a"', '"quoted-command"', 'NOOP "unterminated',
                "NOOP {5}x", "NOOP a b c d e f"):
        assert c.cmd(bad)[1].startswith("NO"), bad
    assert c.login().startswith("OK")
    assert c.put("one", "keep;").startswith("OK")
    assert c.put("two", "keep;").startswith("OK")
    assert c.put("three", "keep;").startswith("NO (QUOTA/MAXSCRIPTS)")
    assert c.put("two", "discard;").startswith("OK")      # a replacement is no new script
    big = "# " + "x" * 2000 + "\r\nkeep;\r\n"
    assert c.put("two", big).startswith("NO (QUOTA/MAXSIZE)")
    for name in ("a/b", "", "x" * 200):
        assert c.put(name, "keep;").startswith("NO"), name
    # after login the limit is the script size plus room for names
    c.send('PUTSCRIPT "x" {1000000+}\r\n')
    assert c.response()[1].startswith("BYE (QUOTA/MAXSIZE)")
    # other accounts see none of alice's scripts
    r.add_user("bob@example.com")
    b = Client(r.port("managesieve"))
    assert b.login("bob@example.com").startswith("OK")
    assert b.cmd("LISTSCRIPTS")[0] == []
    assert b.cmd('GETSCRIPT "one"')[1].startswith("NO (NONEXISTENT)")
    assert b.cmd('DELETESCRIPT "one"')[1].startswith("NO (NONEXISTENT)")


def test_sieve_connect(roost, tmp_path):
    script = tmp_path / "vacation.sieve"
    script.write_text('require "vacation";\nvacation :days 3 "Away.";\n')
    base = ["sieve-connect", "--server", "127.0.0.1", "--port",
            str(roost.port("managesieve")), "--user", ALICE, "--passwordfd", "0",
            "--notlsverify", "--authmech", "PLAIN"]

    def run(*args):
        return subprocess.run(base + list(args), input=b"secret\n", stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)

    p = run("--upload", "--localsieve", str(script), "--remotesieve", "away")
    assert p.returncode == 0, p.stderr.decode()
    p = run("--activate", "--remotesieve", "away")
    assert p.returncode == 0, p.stderr.decode()
    p = run("--list")
    assert p.returncode == 0 and re.search(rb"^\"away\" ACTIVE$", p.stdout, re.M), p.stdout + p.stderr
    out = tmp_path / "back.sieve"
    p = run("--download", "--remotesieve", "away", "--localsieve", str(out))
    assert p.returncode == 0, p.stderr.decode()
    assert out.read_text() == script.read_text()
    assert roost.cli("sieve", "list", ALICE).stdout.startswith("away\tactive")


def test_scram_sha256(roost):
    from test_submission import ScramClient
    c = Client(roost.port("managesieve"))
    assert "SCRAM-SHA-256" in caps_dict(c.caps)["SASL"].split()
    # a login with PLAIN first derives the SCRAM keys (auth/auth.h)
    roost.cli("user", "passwd", ALICE, input="secret\n")
    sc = ScramClient(ALICE, "secret")
    c.send('AUTHENTICATE "SCRAM-SHA-256" "%s"\r\n' % sc.first())
    challenge = c.line().decode().strip('"')
    lines, final = c.cmd('"%s"' % sc.final(challenge))
    m = re.match(r'^OK \(SASL "([^"]+)"\)', final)
    assert m, final
    assert sc.server_signature_ok(m.group(1))
    assert c.cmd("LISTSCRIPTS")[1].startswith("OK")
    # a wrong password: NO, and the session may try again
    c2 = Client(roost.port("managesieve"))
    bad = ScramClient(ALICE, "wrong")
    c2.send('AUTHENTICATE "SCRAM-SHA-256"\r\n')
    assert c2.line() == b'""'
    c2.send('"%s"\r\n' % bad.first())
    challenge = c2.line().decode().strip('"')
    assert c2.cmd('"%s"' % bad.final(challenge))[1].startswith("NO")
    assert c2.login().startswith("OK")
    # "*" cancels
    c3 = Client(roost.port("managesieve"))
    c3.send('AUTHENTICATE "SCRAM-SHA-256"\r\n')
    assert c3.line() == b'""'
    assert c3.cmd('"*"')[1].startswith("NO")
    assert c3.cmd("LISTSCRIPTS")[1].startswith("NO")


def test_disable_ends_the_session(roost):
    c = Client(roost.port("managesieve"))
    assert c.login().startswith("OK")
    assert "managesieve" in roost.cli("who", ALICE).stdout
    roost.cli("user", "disable", ALICE)
    lines, final = c.response()
    assert final.startswith("BYE"), final
    # and a disabled account cannot log in again
    c = Client(roost.port("managesieve"))
    assert c.login().startswith("NO")
