"""Real POP3 clients against Roost: Debian's fetchmail (leave-on-server
with UIDL across runs, then download-and-delete) and curl's pop3://."""
import os
import re
import subprocess

ALICE = "alice@example.com"


def message(i):
    return (b"From: bob@example.net\r\nTo: alice@example.com\r\n"
            b"Subject: fetch-%d\r\nMessage-ID: <fetch-%d@example.net>\r\n\r\n"
            b"body of %d\r\n.dotted line %d\r\n" % (i, i, i, i))


class Fetchmail:
    """fetchmail with a private home, rc file and mda writing one mbox."""

    def __init__(self, roost, tmp_path):
        self.home = tmp_path / "fetchmail"
        self.home.mkdir()
        self.out = self.home / "delivered"
        self.roost = roost

    def run(self, keep):
        rc = self.home / "fetchmailrc"
        rc.write_text(
            'set no syslog\n'
            'set idfile "%s"\n'
            'poll 127.0.0.1 service %d protocol POP3 uidl auth password\n'
            '  user "%s" there with password "secret" is "root" here\n'
            "  options %s sslproto '' mda \"cat >> %s\"\n"
            % (self.home / "fetchids", self.roost.port("pop3"), ALICE,
               "keep" if keep else "nokeep flush", self.out))
        os.chmod(rc, 0o600)    # fetchmail refuses a readable rc file
        env = dict(os.environ, HOME=str(self.home), FETCHMAILHOME=str(self.home))
        p = subprocess.run(["fetchmail", "-f", str(rc), "--nodetach", "-v"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        out = p.stdout.decode(errors="replace")
        # 0: mail fetched, 1: no mail; anything else is a failure.
        assert p.returncode in (0, 1), out
        return p.returncode

    def subjects(self):
        if not self.out.exists():
            return []
        return re.findall(rb"^Subject: (fetch-\d+)\r?$", self.out.read_bytes(), re.M)


def test_fetchmail_keep_then_delete(roost, tmp_path):
    fm = Fetchmail(roost, tmp_path)
    roost.deliver(message(1), ALICE)
    roost.deliver(message(2), ALICE)
    assert fm.run(keep=True) == 0
    assert sorted(fm.subjects()) == [b"fetch-1", b"fetch-2"]
    roost.deliver(message(3), ALICE)
    assert fm.run(keep=True) == 0
    roost.deliver(message(4), ALICE)
    roost.deliver(message(5), ALICE)
    assert fm.run(keep=True) == 0
    # Three runs with new mail in between: every message exactly once.
    assert sorted(fm.subjects()) == [b"fetch-%d" % i for i in range(1, 6)]
    assert roost.users()[ALICE][2] == 5        # all still on the server
    # The dot-stuffed line arrived intact.
    assert b"\n.dotted line 3" in fm.out.read_bytes()
    # Without keep (and with flush for the ones already downloaded): the
    # new message is downloaded once and the inbox is emptied.
    roost.deliver(message(6), ALICE)
    assert fm.run(keep=False) == 0
    assert roost.users()[ALICE][2] == 0
    assert sorted(fm.subjects()) == [b"fetch-%d" % i for i in range(1, 7)]
    assert fm.run(keep=False) == 1        # nothing left


def curl(roost, path, *extra):
    p = subprocess.run(["curl", "-s", "-S", "--max-time", "20", *extra,
                        "pop3://127.0.0.1:%d/%s" % (roost.port("pop3"), path),
                        "--user", ALICE + ":secret"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_curl_list_and_retrieve(roost):
    roost.deliver(message(1), ALICE)
    roost.deliver(message(2), ALICE)
    listing = curl(roost, "").decode().split("\r\n")
    rows = [x.split() for x in listing if x]
    assert [r[0] for r in rows] == ["1", "2"]
    msg2 = curl(roost, "2")
    assert b"Subject: fetch-2\r\n" in msg2
    assert b"\r\n.dotted line 2\r\n" in msg2
    # curl's body is the message as sent, its size what LIST said.
    assert len(msg2) == int(rows[1][1])
    # A message that does not exist fails cleanly.
    p = subprocess.run(["curl", "-s", "--max-time", "20",
                        "pop3://127.0.0.1:%d/7" % roost.port("pop3"),
                        "--user", ALICE + ":secret"], stdout=subprocess.PIPE, timeout=60)
    assert p.returncode != 0
    # curl over implicit TLS too.
    out = subprocess.run(["curl", "-s", "-S", "-k", "--max-time", "20",
                          "pop3s://127.0.0.1:%d/1" % roost.port("pop3s"),
                          "--user", ALICE + ":secret"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=60)
    assert out.returncode == 0, out.stderr
    assert b"Subject: fetch-1\r\n" in out.stdout
