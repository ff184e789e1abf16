"""docs/postfix-lmtp.md, run for real: a private Postfix instance (its own
config and queue directories under the test's tmp dir, high loopback
ports; never the system service) relays mail for example.com to Roost
over LMTP. Needs Debian's postfix package (scripts/deps.sh) and root, as
Postfix's master does."""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import free_port
from test_smtp import ALICE, BOB, count, fill, roost, roost_factory, split_trace, stored  # noqa: F401

MASTER_CF = """\
127.0.0.1:{smtp_port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
smtp      unix  - - n - - smtp
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.example.net
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = reject_unverified_recipient
unverified_recipient_reject_code = 550
address_verify_poll_delay = 1s
virtual_mailbox_domains = example.com
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
# the test wants the retry of a deferred message soon
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""


def postfix(confdir, *args):
    # `script` gives postfix a terminal, so its fatal errors reach us too
    cmd = "postfix -c %s %s" % (confdir, " ".join(args))
    return subprocess.run(["script", "-qc", cmd, "/dev/null"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60)


@pytest.fixture
def mta(roost):
    if shutil.which("postfix") is None:
        pytest.fail("postfix is not installed: run scripts/deps.sh")
    # Postfix's daemons drop to the postfix user, which cannot enter
    # pytest's private tmp dir: use one of our own, removed afterwards.
    d = tempfile.mkdtemp(prefix="roost-postfix-")
    os.chmod(d, 0o755)
    conf = os.path.join(d, "conf")
    os.makedirs(conf)
    os.makedirs(os.path.join(d, "queue"))
    os.makedirs(os.path.join(d, "data"))
    shutil.chown(os.path.join(d, "data"), "postfix")
    smtp_port = free_port()
    with open(os.path.join(conf, "main.cf"), "w") as f:
        f.write(MAIN_CF.format(dir=d, lmtp_port=roost.port("lmtp")))
    with open(os.path.join(conf, "master.cf"), "w") as f:
        f.write(MASTER_CF.format(smtp_port=smtp_port))
    p = postfix(conf, "start")
    assert p.returncode == 0, p.stdout.decode(errors="replace")
    try:
        deadline = time.time() + 15
        while not roost._accepts(smtp_port):
            assert time.time() < deadline, "postfix smtpd did not start"
            time.sleep(0.1)
        yield {"port": smtp_port, "dir": d}
    finally:
        try:
            with open(os.path.join(d, "queue", "pid", "master.pid")) as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pid = None
        postfix(conf, "stop")
        # the master and its children exit within a second or two
        deadline = time.time() + 10
        while pid is not None and os.path.exists("/proc/%d" % pid) and time.time() < deadline:
            time.sleep(0.1)
        shutil.rmtree(d, ignore_errors=True)


def maillog(mta):
    try:
        with open(os.path.join(mta["dir"], "maillog"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def wait_for(pred, mta, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError("timed out; postfix log:\n" + maillog(mta)[-3000:])


def swaks(port, to, body="Hello through Postfix.", extra=()):
    return subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--to", to,
                           "--from", "sender@other.example", "--helo", "client.example",
                           "--header", "Subject: via postfix", "--body", body,
                           "--timeout", "10", *extra],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)


def test_postfix_delivers_over_lmtp(roost, mta):
    p = swaks(mta["port"], ALICE)
    assert p.returncode == 0, p.stdout.decode(errors="replace")
    wait_for(lambda: count(roost) == 1, mta)
    trace, rest = split_trace(stored(roost, 1))
    assert trace.startswith(b"Return-Path: <sender@other.example>\r\n"
                            b"Delivered-To: alice@example.com\r\n")
    assert b"by localhost (Roost) with LMTP id" in trace
    # Postfix's own trace header follows ours, then the message as sent
    assert rest.startswith(b"Received: from client.example")
    assert b"Subject: via postfix" in rest and b"Hello through Postfix." in rest
    assert "status=sent" in maillog(mta)


def test_postfix_full_mailbox_bounces_only_that_recipient(roost, mta):
    """Bob's mailbox has room for Postfix's small verification probe but
    not for the message: Roost refuses the message for bob only (LMTP
    per-recipient replies), Postfix bounces it for bob and alice has it."""
    roost.add_user(BOB)
    fill(roost, BOB, "2K")
    p = swaks(mta["port"], "%s,%s" % (ALICE, BOB), body="x" * 70 + ("\n" + "y" * 70) * 40)
    assert p.returncode == 0, p.stdout.decode(errors="replace")
    wait_for(lambda: count(roost, ALICE) == 1 and "bob@example.com" in maillog(mta)
             and "status=bounced" in maillog(mta), mta)
    log = maillog(mta)
    assert "552 5.2.2" in log
    assert count(roost, BOB) == 1  # only the message fill() delivered


def test_postfix_verifies_recipients_with_roost(roost, mta):
    """reject_unverified_recipient: Postfix asks Roost (an LMTP RCPT probe)
    and refuses an unknown user while talking to the sender, instead of
    accepting and bouncing later."""
    t0 = time.time()
    p = swaks(mta["port"], "nobody@example.com")
    assert p.returncode != 0
    out = p.stdout.decode(errors="replace")
    assert "550" in out and "nobody@example.com" in out, out
    assert time.time() - t0 < 30
    p = swaks(mta["port"], ALICE)
    assert p.returncode == 0, p.stdout.decode(errors="replace")
    wait_for(lambda: count(roost) == 1, mta)
