#!/bin/sh
# bench/submission-postfix.sh: the peer of bench/submission.sh. The same
# load (`roost-load submission`: SESSIONS sessions, each AUTH PLAIN as
# alice@example.com, MESSAGES messages of SIZE bytes to rcptN@sink.test)
# against Debian's Postfix: its submission service on a loopback port,
# SASL through a private Dovecot's auth socket, the opendkim milter
# signing every message for example.com with an RSA-2048 and an Ed25519
# key (as Roost does; one opendkim per key), relaying to the same Python
# sink on 127.0.0.3 (tests/e2e/outbound_net.py). Postfix's defaults otherwise, durability
# included: cleanup fsyncs the queue file before smtpd's 250.
#
# Everything is private: its own config_directory, queue_directory,
# Dovecot base_dir and opendkim socket in one temporary directory, loopback
# ports only; no system service is touched. Needs root (Postfix's master
# and Dovecot start as root and drop privileges) and the Debian packages
# postfix, dovecot-core, opendkim (installed here if missing).
#
# Differences from the Roost side, both in Postfix's favour: Postfix finds
# the sink through a transport map ([127.0.0.3]:port, no DNS), where Roost
# asks the private unbound for the MX (and its MTA-STS/DANE records); and
# the submission port has no TLS on either side (roost-load speaks plain
# AUTH PLAIN), unlike Debian's stock submission entry.
#
# Usage: bench/submission-postfix.sh [SESSIONS [MESSAGES [SIZE]]]
#        defaults: 50 sessions, 20000 messages of 4096 bytes
#        ROOST_BUILD=dir uses dir/roost-load (default build)
set -eu
cd "$(dirname "$0")/.."
export SESSIONS=${1:-50} MESSAGES=${2:-20000} SIZE=${3:-4096}
export ROOST_BUILD=${ROOST_BUILD:-build}
[ -x "$ROOST_BUILD/roost-load" ] || make -s BUILD="$ROOST_BUILD" "$ROOST_BUILD/roost-load"
for p in postfix dovecot-core opendkim; do
	dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q "install ok installed" && continue
	# the package scripts must not start the system services
	[ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d;
		chmod 755 /usr/sbin/policy-rc.d; made_policy=1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $p
	[ -z "${made_policy:-}" ] || { rm -f /usr/sbin/policy-rc.d; made_policy=; }
done
exec /usr/bin/python3 - <<'PYTHON'
import os, shutil, signal, socket, subprocess, sys, tempfile, time
sys.path.insert(0, "tests/e2e")
from outbound_net import Sink, wait_for

sessions, messages, size = (int(os.environ[k]) for k in ("SESSIONS", "MESSAGES", "SIZE"))
load = os.path.join(os.environ["ROOST_BUILD"], "roost-load")
work = tempfile.mkdtemp(prefix="roost-submission-postfix-")
os.chmod(work, 0o755)  # Postfix, Dovecot and opendkim run as their own users
tag = "ROOST_SUBMISSION_RUN=" + work  # in every process we start, for the leftover check
os.environ["ROOST_SUBMISSION_RUN"] = work
pf, dv, dk, sasl = (os.path.join(work, d) for d in ("postfix", "dovecot", "dkim", "sasl"))
for d in (pf + "/conf", pf + "/queue", pf + "/data", dv + "/run", dv + "/state", dk, sasl):
    os.makedirs(d)
shutil.chown(pf + "/data", "postfix")
os.chmod(sasl, 0o755)


def free_port(ip="127.0.0.1"):
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_port(port, ok, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if not ok():
                break
            time.sleep(0.1)
    raise RuntimeError("%s did not start" % what)


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def leftovers():
    left = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                if tag.encode() not in f.read().split(b"\0"):
                    continue
            with open("/proc/%s/cmdline" % name, "rb") as f:
                left.append((int(name), f.read().replace(b"\0", b" ").decode(errors="replace")))
        except OSError:
            pass
    return left


sub_port, sink_port = free_port(), free_port("127.0.0.3")

# --- Dovecot: SASL only, alice@example.com / secret -----------------------
pwhash = run(["openssl", "passwd", "-6", "secret"]).stdout.decode().strip()
write(dv + "/users", "alice@example.com:{CRYPT}%s::::::\n" % pwhash)
write(dv + "/dovecot.conf", """\
# auth only: the SASL server of the private Postfix (smtpd_sasl_type = dovecot)
protocols =
listen = 127.0.0.1
base_dir = {dv}/run
state_dir = {dv}/state
instance_name = roost-submission-{port}
log_path = {dv}/dovecot.log
import_environment = TZ {tag}
default_internal_user = dovecot
default_login_user = dovenull
disable_plaintext_auth = no
auth_mechanisms = plain login
ssl = no
passdb {{
  driver = passwd-file
  args = scheme=CRYPT username_format=%u {dv}/users
}}
userdb {{
  driver = static
  args = uid=postfix gid=postfix home=/nonexistent
}}
service auth {{
  unix_listener {sasl}/auth {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
""".format(dv=dv, sasl=sasl, port=sub_port, tag=tag))

# --- opendkim: sign for example.com with both keys ------------------------
# Debian's opendkim 2.11.0~beta2 signs with one algorithm per process (the
# SignatureAlgorithm setting; a per-key algorithm in the KeyTable came
# later upstream), so each key has its own milter and Postfix calls both.
for alg, name in (("rsa-sha256", "rsa"), ("ed25519-sha256", "ed")):
    d = "%s/%s" % (dk, name)
    os.makedirs(d)
    if name == "rsa":
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", d + "/key.private"])
    else:
        run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", d + "/key.private"])
    shutil.chown(d + "/key.private", "opendkim", "opendkim")
    os.chmod(d + "/key.private", 0o600)
    shutil.chown(d, "opendkim", "opendkim")
    write(d + "/opendkim.conf", """\
Mode s
Background no
Syslog yes
Canonicalization relaxed/relaxed
Domain example.com
Selector {name}
KeyFile {d}/key.private
SignatureAlgorithm {alg}
OversignHeaders From
Socket local:{d}/opendkim.sock
UMask 000
UserID opendkim:opendkim
PidFile {d}/opendkim.pid
# the files are under /tmp, which other users may write: a safety check
# that has nothing to do with speed
RequireSafeKeys no
""".format(d=d, name=name, alg=alg))

# --- Postfix: submission on a loopback port, relaying to the sink ---------
write(pf + "/transport", "sink.test smtp:[127.0.0.3]:%d\n" % sink_port)
write(pf + "/senders", "alice@example.com alice@example.com\n")
write(pf + "/conf/main.cf", """\
# the private Postfix of bench/submission-postfix.sh (postfix -c {pf}/conf)
compatibility_level = 3.6
queue_directory = {pf}/queue
data_directory = {pf}/data
maillog_file = {pf}/maillog
maillog_file_prefixes = {pf}
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.example.com
mydomain = example.com
myorigin = example.com
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
transport_maps = texthash:{pf}/transport
smtpd_sasl_type = dovecot
smtpd_sasl_path = {sasl}/auth
smtpd_sasl_security_options = noanonymous
smtpd_sender_login_maps = texthash:{pf}/senders
smtpd_tls_security_level = none
smtp_tls_security_level = none
milter_default_action = tempfail
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME {tag}
""".format(pf=pf, sasl=sasl, tag=tag))
write(pf + "/conf/master.cf", """\
# Debian's master.cf without chroot, and a submission service (Debian's
# commented-out entry, without TLS) on a loopback port
127.0.0.1:{port} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_sender_restrictions=reject_sender_login_mismatch
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=
  -o milter_macro_daemon_name=ORIGINATING
  -o smtpd_milters=unix:{dk}/rsa/opendkim.sock,unix:{dk}/ed/opendkim.sock
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
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
""".format(port=sub_port, dk=dk))

sink = dproc = None
kprocs = []
pf_pid = None
# a SIGTERM (timeout, ^C's cousin) still runs the cleanup below
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
try:
    sink = Sink("127.0.0.3", sink_port).start()
    dlog = open(dv + "/master.log", "ab")
    dproc = subprocess.Popen(["dovecot", "-F", "-c", dv + "/dovecot.conf"],
                             stdout=dlog, stderr=dlog)
    if not wait_for(lambda: os.path.exists(sasl + "/auth") or dproc.poll() is not None, 30):
        raise RuntimeError("dovecot: no auth socket (see %s)" % dv)
    for name in ("rsa", "ed"):
        d = "%s/%s" % (dk, name)
        klog = open(d + "/opendkim.log", "ab")
        k = subprocess.Popen(["opendkim", "-f", "-x", d + "/opendkim.conf"],
                             stdout=klog, stderr=klog)
        kprocs.append(k)
        if not wait_for(lambda: os.path.exists(d + "/opendkim.sock") or k.poll() is not None,
                        30) or k.poll() is not None:
            raise RuntimeError("opendkim did not start (see %s)" % d)
    # `script` gives postfix a terminal so its fatal errors reach us
    p = subprocess.run(["script", "-qc", "postfix -c %s/conf start" % pf, "/dev/null"],
                       capture_output=True)
    if p.returncode != 0:
        raise RuntimeError("postfix start: " + p.stdout.decode(errors="replace"))
    with open(pf + "/queue/pid/master.pid") as f:
        pf_pid = int(f.read().split()[0])
    wait_port(sub_port, lambda: alive(pf_pid), "postfix")

    t0 = time.time()
    out = subprocess.run([load, "submission", "-p", str(sub_port),
                          "-c", str(sessions), "-n", str(messages), "-s", str(size),
                          "-a", "50", "-u", "alice@example.com", "-P", "secret",
                          "-d", "sink.test"], capture_output=True, text=True)
    print(out.stdout.strip() or out.stderr.strip())
    if out.stderr.strip() and out.stdout.strip():
        print(out.stderr.strip()[-2000:], file=sys.stderr)
    wait_for(lambda: len(sink.messages) >= messages, 900, 0.05)
    t1 = time.time()
    sample = sink.messages[:100]
    both = sum(1 for m in sample if b"a=rsa-sha256" in m[2] and b"a=ed25519-sha256" in m[2])
    rsa = sum(1 for m in sample if b"a=rsa-sha256" in m[2])
    print("delivered: %d msgs in %.1f s = %.0f msg/s (DKIM-signed: %d of the first %d with "
          "rsa-sha256, %d with rsa-sha256 and ed25519-sha256)"
          % (len(sink.messages), t1 - t0, len(sink.messages) / (t1 - t0), rsa, len(sample),
             both))
    if os.environ.get("SHOW_SAMPLE") and sample:
        print(sample[0][2].decode(errors="replace")[:3000])
finally:
    if pf_pid is not None:
        subprocess.run(["postfix", "-c", pf + "/conf", "stop"], capture_output=True)
        deadline = time.time() + 20
        while alive(pf_pid) and time.time() < deadline:
            time.sleep(0.1)
        if alive(pf_pid):
            os.kill(pf_pid, signal.SIGKILL)
    for k in kprocs:
        stop(k)
    stop(dproc)
    if sink is not None:
        sink.stop()
    time.sleep(0.5)
    left = leftovers()
    for pid, cmd in left:
        print("left over, killed: %d %s" % (pid, cmd), file=sys.stderr)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if os.environ.get("KEEP"):
        print("kept " + work, file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
PYTHON
