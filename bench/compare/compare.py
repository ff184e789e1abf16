#!/usr/bin/python3
"""bench/compare/compare.py (`make bench-compare`): Roost side by side with
Debian's Postfix + Dovecot on this machine, in one run.

Starts, in one temporary directory, a private Roost and a private Postfix
in front of a private Dovecot (Postfix hands mail to Dovecot over LMTP),
all on loopback high ports, never touching the system services; creates
the same users on both (Dovecot gets Roost's own password hashes); loads
the same messages through each side's LMTP; runs every scenario
with build/roost-load against both, alternating Roost and peer, at least
three times each; prints one table of medians and ratios; stops every
process it started, by pid, and checks that none is left.

    bench/compare/compare.py [--quick] [--runs N] [--only 1,2,...] [--keep]

--quick scales the sizes down (whole run well under 15 minutes here);
without it the issue's sizes are used. Needs root (Postfix's master and
Dovecot's start as root and drop privileges themselves).
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
ROOST = os.path.join(ROOT, "build", "roost")
LOAD = os.path.join(ROOT, "build", "roost-load")
DOMAIN = "example.com"
PASSWORD = "secret"
MAIL_USER = "roostbench"  # owns Dovecot's maildirs; created if missing
PACKAGES = ["dovecot-imapd", "dovecot-pop3d", "dovecot-lmtpd", "postfix", "postgresql-15"]

# Sizes: (quick, full). The full ones are the issue's.
SIZES = {
    "smtp_accounts": (1000, 1000),
    "smtp_sessions": (50, 50),
    "smtp_messages": (2000, 20000),
    "login_threads": (8, 8),
    "logins": (200, 2000),
    "mixed_clients": (50, 50),
    "mixed_preload": (100, 200),      # messages per account
    "mixed_commands": (2000, 20000),
    "big_messages": (5000, 100000),
    "search_rounds": (3, 5),
    "pop3_clients": (20, 20),
    "pop3_per_account": (60, 250),
    "idle_connections": (1000, 10000),
    "fsm_clients": (20, 50),          # several per account (fsm_accounts)
    "fsm_accounts": (5, 10),
    "fsm_commands": (3000, 30000),
}
MSG_SIZE = 4096

procs = []          # every Popen we started, for the final cleanup
log_lines = []


def say(msg):
    line = "compare: " + msg
    print(line, file=sys.stderr, flush=True)
    log_lines.append(line)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def wait_ports(ports, alive, what, timeout=30):
    deadline = time.time() + timeout
    while not all(accepts(p) for p in ports):
        if not alive() or time.time() > deadline:
            raise RuntimeError("%s did not start" % what)
        time.sleep(0.1)


def fill_template(name, dest, values):
    with open(os.path.join(HERE, name)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("@%s@" % k, str(v))
    with open(dest, "w") as f:
        f.write(text)


def run(cmd, **kw):
    kw.setdefault("check", True)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


# --- process trees: memory and CPU ---------------------------------------

CLK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is state (stat field 3): ppid is field 4, utime 14 ...
    return int(fields[1]), [int(x) for x in fields[11:15]]


def tree(roots):
    """Every live pid in the process trees under `roots`."""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                parent[int(name)] = proc_stat(int(name))[0]
            except (OSError, ValueError):
                pass
    out = set(r for r in roots if r in parent)
    grew = True
    while grew:
        grew = False
        for pid, ppid in parent.items():
            if ppid in out and pid not in out:
                out.add(pid)
                grew = True
    return out


def tree_cpu(roots):
    """CPU seconds of the trees: user+system of live processes plus what
    their exited, reaped children used (cutime+cstime)."""
    ticks = 0
    for pid in tree(roots):
        try:
            ticks += sum(proc_stat(pid)[1])
        except (OSError, ValueError):
            pass
    return ticks / CLK


def tree_mem(roots):
    """(sum of VmRSS, sum of Pss) of the trees, in kB. VmRSS counts shared
    pages once per process (the brief's figure); Pss splits them."""
    rss = pss = 0
    for pid in tree(roots):
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return rss, pss


def stop_pid(pid, timeout=20):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        # reap it if it is our child
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


# --- the servers -------------------------------------------------------------

class Roost:
    name = "Roost"

    def __init__(self, base, idle_max, subdir="roost"):
        self.max_conn = idle_max + 2000
        self.dir = os.path.join(base, subdir)
        self.data = os.path.join(self.dir, "var")
        os.makedirs(self.dir)
        self.ports = {p: free_port() for p in ("imap", "imaps", "pop3", "lmtp", "smtp")}
        self.proc = None

    def cli(self, *args, stdin=None):
        return run([ROOST, "-d", self.data, *args], input=stdin)

    def setup(self, users, init_args=()):
        self.cli("init", *init_args)
        self.cli("domain", "add", DOMAIN)
        # two at a time: yescrypt hashing is the cost
        errors = []

        def add(chunk):
            for u in chunk:
                p = run([ROOST, "-d", self.data, "user", "add", u], input=(PASSWORD + "\n").encode(),
                        check=False)
                if p.returncode != 0:
                    errors.append(p.stderr.decode(errors="replace"))
        ts = [threading.Thread(target=add, args=(users[i::2],)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errors:
            raise RuntimeError("roost user add: " + errors[0])

    def hashes(self):
        out = run(["sqlite3", "-separator", "\t", os.path.join(self.data, "roost.db"),
                   "SELECT address, pwhash FROM accounts"]).stdout.decode()
        return [line.split("\t") for line in out.splitlines() if line]

    def start(self):
        # the bench's private directory is 0700: stay root, as the e2e
        # fixtures do (Dovecot and Postfix drop privileges either way)
        args = [ROOST, "-d", self.data, "serve", "--set", "server.user=root"]
        for p, port in self.ports.items():
            args += ["--set", "%s.listen=127.0.0.1:%d" % (p, port)]
        for k in ("pop3s", "submission", "submissions", "http", "https", "managesieve"):
            args += ["--set", "%s.listen=" % k]
        args += ["--set", "log.level=warn", "--set", "server.max_connections=%d" % self.max_conn,
                 "--set", "server.max_connections_per_ip=%d" % self.max_conn]
        self.log = open(os.path.join(self.dir, "serve.log"), "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        procs.append(self.proc)
        wait_ports(self.ports.values(), lambda: self.proc.poll() is None, "roost serve")

    def stop(self):
        if self.proc is not None:
            stop_pid(self.proc.pid)
            self.proc.wait()
            self.proc = None
            self.log.close()

    def roots(self):
        return [self.proc.pid] if self.proc else []

    def smtp_port(self):
        return self.ports["smtp"]

    def cleanup(self):
        pass


class RoostPG(Roost):
    """The same Roost on the PostgreSQL backend: a private PostgreSQL 15
    (the e2e suite's PgCluster, durable: fsync and synchronous_commit on)
    reached over its unix socket. Its server processes count in the
    CPU and memory figures, as Dovecot's and Postfix's do."""
    name = "Roost on PostgreSQL"

    def __init__(self, base, idle_max):
        super().__init__(base, idle_max, "roost-pg")
        self.pg = None

    def setup(self, users):
        sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
        from pg_cluster import PgCluster
        # the writer, a reader per thread, the listener, headroom
        self.pg = PgCluster(max_connections=200, durable=True).start()
        super().setup(users, ["--postgresql", self.pg.conninfo])

    def roots(self):
        r = super().roots()
        try:
            with open(os.path.join(self.pg.datadir, "postmaster.pid")) as f:
                r.append(int(f.readline()))
        except (OSError, ValueError, AttributeError):
            pass
        return r

    def cleanup(self):
        if self.pg is not None:
            self.pg.stop()
            self.pg = None


class Peer:
    """Postfix (SMTP in) -> LMTP -> Dovecot (LMTP, IMAP, POP3)."""
    name = "Postfix+Dovecot"

    def __init__(self, base, idle_max):
        self.dir = os.path.join(base, "peer")
        self.dv = os.path.join(self.dir, "dovecot")
        self.pf = os.path.join(self.dir, "postfix")
        for d in (self.dv, self.pf):
            os.makedirs(d)
        self.ports = {p: free_port() for p in ("imap", "imaps", "pop3", "lmtp", "smtp")}
        self.idle_max = idle_max
        self.run_tag = base
        self.dproc = None
        self.pf_pid = None

    def setup(self, hashes):
        ensure_mail_user()
        import pwd
        pw = pwd.getpwnam(MAIL_USER)
        d = self.dv
        for sub in ("run", "state"):
            os.makedirs(os.path.join(d, sub))
        os.makedirs(os.path.join(d, "mail"))
        os.chown(os.path.join(d, "mail"), pw.pw_uid, pw.pw_gid)
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=localhost", "-keyout", os.path.join(d, "key.pem"),
             "-out", os.path.join(d, "cert.pem")])
        with open(os.path.join(d, "users"), "w") as f:
            for addr, h in hashes:
                f.write("%s:{CRYPT}%s::::::\n" % (addr, h))
        os.chmod(os.path.join(d, "users"), 0o644)
        procs_needed = self.idle_max + 2000
        fill_template("dovecot.conf.in", os.path.join(d, "dovecot.conf"), {
            "DIR": d, "PORT_IMAP": self.ports["imap"], "PORT_IMAPS": self.ports["imaps"],
            "PORT_POP3": self.ports["pop3"], "PORT_LMTP": self.ports["lmtp"],
            "MAIL_UID": pw.pw_uid, "MAIL_GID": pw.pw_gid, "PROCS": procs_needed,
            "CLIENTS": self.idle_max * 2 + 1000, "RUN": self.run_tag})
        # Postfix
        p = self.pf
        for sub in ("conf", "queue", "data"):
            os.makedirs(os.path.join(p, sub))
        shutil.chown(os.path.join(p, "data"), "postfix")
        fill_template("main.cf.in", os.path.join(p, "conf", "main.cf"),
                      {"DIR": p, "PORT_LMTP": self.ports["lmtp"], "RUN": self.run_tag})
        fill_template("master.cf.in", os.path.join(p, "conf", "master.cf"),
                      {"PORT_SMTP": self.ports["smtp"]})
        with open(os.path.join(p, "vmailbox"), "w") as f:
            for addr, _ in hashes:
                f.write("%s OK\n" % addr)

    def start(self):
        self.start_dovecot()
        self.start_postfix()

    def start_dovecot(self):
        conf = os.path.join(self.dv, "dovecot.conf")
        self.dlog = open(os.path.join(self.dv, "master.log"), "ab")
        self.dproc = subprocess.Popen(["dovecot", "-F", "-c", conf], stdout=self.dlog,
                                      stderr=self.dlog)
        procs.append(self.dproc)
        wait_ports([self.ports[k] for k in ("imap", "imaps", "pop3", "lmtp")],
                   lambda: self.dproc.poll() is None, "dovecot (see %s)" % self.dv)

    def start_postfix(self):
        conf = os.path.join(self.pf, "conf")
        # `script` gives postfix a terminal so its fatal errors reach us
        p = run(["script", "-qc", "postfix -c %s start" % conf, "/dev/null"], check=False)
        if p.returncode != 0:
            raise RuntimeError("postfix start: " + p.stdout.decode(errors="replace"))
        with open(os.path.join(self.pf, "queue", "pid", "master.pid")) as f:
            self.pf_pid = int(f.read().split()[0])
        wait_ports([self.ports["smtp"]], lambda: os.path.exists("/proc/%d" % self.pf_pid),
                   "postfix")

    def stop(self):
        self.stop_postfix()
        self.stop_dovecot()

    def stop_dovecot(self):
        if self.dproc is not None:
            stop_pid(self.dproc.pid)
            self.dproc.wait()
            self.dproc = None
            self.dlog.close()

    def stop_postfix(self):
        if self.pf_pid is not None:
            stop_pid(self.pf_pid)
            self.pf_pid = None

    def roots(self):
        r = []
        if self.dproc is not None:
            r.append(self.dproc.pid)
        if self.pf_pid is not None:
            r.append(self.pf_pid)
        return r

    def smtp_port(self):
        return self.ports["smtp"]

    def cleanup(self):
        pass


def ensure_mail_user():
    import pwd
    try:
        pwd.getpwnam(MAIL_USER)
    except KeyError:
        say("creating system user %s (owner of Dovecot's maildirs)" % MAIL_USER)
        run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", MAIL_USER])


def install_packages():
    missing = [p for p in PACKAGES
               if "install ok installed" not in run(["dpkg-query", "-W", "-f=${Status}", p],
                                                    check=False).stdout.decode()]
    if not missing:
        return
    say("installing " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["debconf-set-selections"],
        input=b"postfix postfix/main_mailer_type select No configuration\n")
    # the packages' scripts must not start the system services
    policy = "/usr/sbin/policy-rc.d"
    made_policy = False
    if not os.path.exists(policy):
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
        made_policy = True
    try:
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)
    finally:
        if made_policy:
            os.unlink(policy)


# --- the load generator ------------------------------------------------------

def load(mode, port, *args, check=True):
    cmd = [LOAD, mode, "-p", str(port), *[str(a) for a in args]]
    p = run(cmd, check=False, timeout=1800)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s %s" % (" ".join(cmd), p.returncode, out, err[-2000:]))
    return parse_summary(out), out, err


def parse_summary(out):
    """roost-load's summary line: key=value words."""
    res = {}
    for line in out.splitlines():
        if line.startswith("mode="):
            for word in line.split():
                if "=" in word:
                    k, v = word.split("=", 1)
                    for suffix in ("ms", "/s", "s"):
                        if v.endswith(suffix):
                            v = v[:-len(suffix)]
                            break
                    try:
                        res[k] = float(v)
                    except ValueError:
                        res[k] = v
    return res


def preload(side, user, accounts, total):
    """total messages over LMTP to <user>0..<user>accounts-1, round-robin."""
    sessions = min(accounts, 20)
    load("lmtp", side.ports["lmtp"], "-u", user, "-a", accounts, "-n", total, "-s", MSG_SIZE,
         "-c", sessions)


# --- IMAP visibility probe (scenario 1) --------------------------------------

class Prober:
    """One logged-in IMAP connection per account, opened before the load;
    STATUS INBOX (MESSAGES) until every account shows what was sent."""

    def __init__(self, port, users):
        self.conns = []
        for u in users:
            s = socket.create_connection(("127.0.0.1", port), timeout=60)
            f = s.makefile("rb")
            f.readline()
            s.sendall(("l LOGIN %s %s\r\n" % (u, PASSWORD)).encode())
            self._until(f, b"l ")
            self.conns.append((s, f))

    @staticmethod
    def _until(f, tag):
        lines = []
        while True:
            line = f.readline()
            if not line:
                raise RuntimeError("IMAP probe: connection closed")
            lines.append(line)
            if line.startswith(tag):
                if not line.startswith(tag + b"OK"):
                    raise RuntimeError("IMAP probe: " + line.decode(errors="replace"))
                return lines

    def count(self, i):
        s, f = self.conns[i]
        s.sendall(b"s STATUS INBOX (MESSAGES)\r\n")
        for line in self._until(f, b"s "):
            if line.startswith(b"* STATUS"):
                return int(line.split(b"MESSAGES")[1].strip(b" )\r\n"))
        return -1

    def wait_all(self, expected, timeout=600):
        # One account at a time: while one is short, poll only it (every
        # 20 ms), so the probe's own cost stays near one STATUS per
        # account and hardly shows in scenario 8's CPU figures.
        deadline = time.time() + timeout
        for i in range(len(self.conns)):
            while self.count(i) < expected[i]:
                if time.time() > deadline:
                    raise RuntimeError("account %d still short after %d s" % (i, timeout))
                time.sleep(0.02)

    def close(self):
        for s, f in self.conns:
            try:
                s.sendall(b"z LOGOUT\r\n")
            except OSError:
                pass
            f.close()
            s.close()


# --- scenarios -----------------------------------------------------------------

class Results:
    def __init__(self):
        self.rows = []   # (scenario, metric, unit, better, {side: [values]})
        self.index = {}

    def add(self, scenario, metric, unit, better, side, value):
        key = (scenario, metric)
        if key not in self.index:
            self.index[key] = len(self.rows)
            self.rows.append((scenario, metric, unit, better, {}))
        self.rows[self.index[key]][4].setdefault(side, []).append(value)


def alternate(runs, sides, fn):
    """fn(side, run_index) for each run, alternating which side goes first."""
    for r in range(runs):
        order = sides if r % 2 == 0 else list(reversed(sides))
        for side in order:
            fn(side, r)


def sc_smtp(ctx):
    sz = ctx.sz
    accounts, n = sz["smtp_accounts"], sz["smtp_messages"]
    users = ["user%d@%s" % (i, DOMAIN) for i in range(accounts)]
    probes, delivered, base = {}, {}, {}
    for side in ctx.sides:
        probes[side.name] = Prober(side.ports["imap"], users)
        delivered[side.name] = [0] * accounts
        base[side.name] = (tree_cpu(side.roots()), tree_mem(side.roots()))

    def one(side, r):
        exp = delivered[side.name]
        for k in range(n):
            exp[k % accounts] += 1
        cpu0 = tree_cpu(side.roots())
        t0 = time.time()
        res, _, _ = load("smtp", side.smtp_port(), "-c", sz["smtp_sessions"], "-n", n, "-s",
                         MSG_SIZE, "-a", accounts, "-u", "user")
        probes[side.name].wait_all(exp)
        e2e = time.time() - t0
        cpu = tree_cpu(side.roots()) - cpu0
        ctx.res.add("1 SMTP in, %d sessions, 4 KB, %d accounts" % (sz["smtp_sessions"], accounts),
                    "accepted msg/s", "msg/s", "high", side.name, res["rate"])
        ctx.res.add("1 SMTP in", "p99 latency of the 250 after DATA", "ms", "low", side.name,
                    res["p99"])
        ctx.res.add("1 SMTP in", "end to end until visible over IMAP", "msg/s", "high",
                    side.name, n / e2e)
        ctx.res.add("8 cost of delivery (scenario 1)", "CPU seconds per 1,000 messages", "s",
                    "low", side.name, cpu * 1000 / n)
        say("  smtp %s run %d: %.0f msg/s accepted, %.0f msg/s visible, p99 %.1f ms, cpu %.1fs"
            % (side.name, r + 1, res["rate"], n / e2e, res["p99"], cpu))

    alternate(ctx.runs, ctx.sides, one)
    for side in ctx.sides:
        probes[side.name].close()
    time.sleep(2)  # the peer's imap processes exit
    for side in ctx.sides:
        rss0, pss0 = base[side.name][1]
        rss1, pss1 = tree_mem(side.roots())
        total = n * ctx.runs
        ctx.res.add("8 cost of delivery (scenario 1)",
                    "tree VmRSS after scenario 1 (sum over processes)", "MB", "low", side.name,
                    rss1 / 1024.0)
        ctx.res.add("8 cost of delivery (scenario 1)", "tree Pss after the runs", "MB", "low",
                    side.name, pss1 / 1024.0)


def sc_login(ctx):
    sz = ctx.sz

    def one(side, r):
        for tls in (False, True):
            mode = "imap-login-tls" if tls else "imap-login"
            port = side.ports["imaps" if tls else "imap"]
            res, _, _ = load(mode, port, "-c", sz["login_threads"], "-n", sz["logins"], "-a",
                             sz["smtp_accounts"], "-u", "user")
            ctx.res.add("2 IMAP login storm, %d client threads" % sz["login_threads"],
                        "logins/s, %s" % ("TLS (full handshake)" if tls else "plain"), "/s",
                        "high", side.name, res["rate"])
            say("  %s %s run %d: %.0f logins/s" % (mode, side.name, r + 1, res["rate"]))
    alternate(ctx.runs, ctx.sides, one)


def sc_mixed(ctx):
    sz = ctx.sz
    k = sz["mixed_clients"]
    for side in ctx.sides:
        preload(side, "mix", k, k * sz["mixed_preload"])

    def one(side, r):
        res, _, _ = load("imap-mixed", side.ports["imap"], "-c", k, "-n", sz["mixed_commands"],
                         "-a", k, "-u", "mix")
        ctx.res.add("3 IMAP mixed, %d clients" % k, "commands/s", "/s", "high", side.name,
                    res["rate"])
        ctx.res.add("3 IMAP mixed", "p99 command latency", "ms", "low", side.name, res["p99"])
        say("  imap-mixed %s run %d: %.0f commands/s, p99 %.1f ms"
            % (side.name, r + 1, res["rate"], res["p99"]))
    alternate(ctx.runs, ctx.sides, one)


def drop_caches():
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def sc_big(ctx):
    sz = ctx.sz
    n = sz["big_messages"]
    for side in ctx.sides:
        say("  preloading %d messages into big0 of %s" % (n, side.name))
        t0 = time.time()
        preload(side, "big", 1, n)
        say("  ... %.0f s" % (time.time() - t0))
    label = "4 large mailbox, %d messages" % n

    def one(side, r):
        side.stop()
        ctx.dropped = drop_caches() and ctx.dropped is not False
        side.start()
        _, _, err = load("imap-big", side.ports["imap"], "-n", 2, "-u", "big")
        rounds = [line for line in err.splitlines() if line.strip().startswith("round")]
        for i, line in enumerate(rounds[:2]):
            sel = float(line.split("SELECT ")[1].split(" ms")[0])
            fetch = float(line.split("(UID FLAGS) ")[1].split(" ms")[0])
            temp = "cold" if i == 0 else "warm"
            ctx.res.add(label, "SELECT + UID FETCH 1:* (UID FLAGS), %s" % temp, "ms", "low",
                        side.name, sel + fetch)
        say("  imap-big %s run %d: %s" % (side.name, r + 1, "; ".join(x.strip() for x in rounds)))
        res, _, _ = load("imap-search", side.ports["imap"], "-n", sz["search_rounds"], "-u", "big")
        ctx.res.add("5 SEARCH BODY, %d messages" % n, "p50 (Roost: FTS5 trigram index; Dovecot: no FTS plugin, reads bodies)", "ms",
                    "low", side.name, res["p50"])
        say("  imap-search %s run %d: p50 %.0f ms" % (side.name, r + 1, res["p50"]))
    alternate(ctx.runs, ctx.sides, one)


def sc_pop3(ctx):
    sz = ctx.sz
    k, per = sz["pop3_clients"], sz["pop3_per_account"]

    def one(side, r):
        preload(side, "pop", k, k * per)
        _, out, _ = load("pop3", side.ports["pop3"], "-c", k, "-a", k, "-u", "pop")
        rate = float(out.split("messages/s")[0].split()[-1])
        ctx.res.add("6 POP3 download and delete, %d clients" % k, "messages/s", "msg/s", "high",
                    side.name, rate)
        say("  pop3 %s run %d: %.0f msg/s" % (side.name, r + 1, rate))
    alternate(ctx.runs, ctx.sides, one)


def sc_idle(ctx):
    sz = ctx.sz
    n = sz["idle_connections"]

    def one(side, r):
        for tls in (False, True):
            mode = "imap-hold-tls" if tls else "imap-hold"
            port = side.ports["imaps" if tls else "imap"]
            # a fresh server: memory freed by earlier scenarios would
            # otherwise be reused and hide what a connection costs
            side.stop()
            side.start()
            time.sleep(1)
            rss0, pss0 = tree_mem(side.roots())
            p = subprocess.Popen([LOAD, mode, "-p", str(port), "-c", str(n), "-a",
                                  str(sz["smtp_accounts"]), "-u", "user"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            procs.append(p)
            line = p.stdout.readline().decode()
            held = int(line.split()[1]) if line.startswith("holding") else 0
            time.sleep(1)  # let the servers settle their buffers
            rss1, pss1 = tree_mem(side.roots())
            p.stdin.close()
            p.wait(timeout=300)
            err = p.stderr.read().decode(errors="replace")
            p.stdout.close()
            p.stderr.close()
            if held < n:
                raise RuntimeError("%s: only %d of %d connections idling: %s"
                                   % (mode, held, n, err[-1000:]))
            kind = "TLS" if tls else "plain"
            ctx.res.add("7 idle density, %d IDLE connections" % n,
                        "tree VmRSS per connection, %s" % kind, "kB", "low", side.name,
                        (rss1 - rss0) / held)
            ctx.res.add("7 idle density", "tree Pss per connection, %s" % kind, "kB", "low",
                        side.name, (pss1 - pss0) / held)
            say("  %s %s run %d: %.1f kB VmRSS, %.1f kB Pss per connection"
                % (mode, side.name, r + 1, (rss1 - rss0) / held, (pss1 - pss0) / held))
    alternate(ctx.runs, ctx.sides, one)


def parse_per_command(err):
    """roost-load imap-fsm's per-command lines: {command: commands/s}."""
    rates = {}
    for line in err.splitlines():
        words = line.split()
        if len(words) == 5 and words[0].isupper() and words[1].isdigit():
            rates[words[0]] = float(words[2])
    return rates


def sc_fsm(ctx):
    """The IMAP state-machine stress: several clients per account at
    random over LOGIN, LIST, STATUS, SELECT, FETCH, STORE, EXPUNGE, APPEND
    and LOGOUT, logged in throughout and with a login per session."""
    sz = ctx.sz
    k, accounts = sz["fsm_clients"], sz["fsm_accounts"]
    for side in ctx.sides:
        preload(side, "fsm", accounts, accounts * sz["mixed_preload"])

    def one(side, r):
        for mode, label in (("imap-fsm", "logged in throughout"),
                            ("imap-fsm-login", "a login per 3-12 commands")):
            res, _, err = load(mode, side.ports["imap"], "-c", k, "-n", sz["fsm_commands"],
                               "-a", accounts, "-u", "fsm")
            scen = "9 IMAP state machine, %d clients on %d accounts, %s" % (k, accounts, label)
            ctx.res.add(scen, "all commands/s", "/s", "high", side.name, res["rate"])
            for cmd, rate in sorted(parse_per_command(err).items()):
                ctx.res.add(scen, "%s/s" % cmd, "/s", "high", side.name, rate)
            say("  %s %s run %d: %.0f commands/s, p99 %.1f ms"
                % (mode, side.name, r + 1, res["rate"], res["p99"]))
    alternate(ctx.runs, ctx.sides, one)


SCENARIOS = [("1", sc_smtp), ("2", sc_login), ("3", sc_mixed), ("4", sc_big), ("6", sc_pop3),
             ("7", sc_idle), ("9", sc_fsm)]


# --- the table -------------------------------------------------------------------

def fmt(v):
    if abs(v) >= 100:
        return "{:,.0f}".format(v)
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def ratio_note(better, mine, peer):
    if mine <= 0 or peer <= 0:
        return "n/a (below noise)"
    if better == "high":
        ratio = mine / peer
        return "%.2f×%s" % (ratio, "" if ratio >= 1 else " (behind)")
    # lower is better: how many times less Roost needs
    ratio = peer / mine
    return "%.2f× %s" % (ratio, "less" if ratio >= 1 else "(behind)")


def table(res, names):
    """One column per side (the peer last) and a ratio column for each
    Roost side against the peer."""
    mine, peer = names[:-1], names[-1]
    out = ["| scenario | metric | %s | %s |" % (" | ".join(names),
                                                " | ".join("%s / peer" % n for n in mine)),
           "|---|---|" + "---|" * (len(names) + len(mine))]
    for scenario, metric, unit, better, vals in res.rows:
        if not all(vals.get(n) for n in names):
            continue
        med = [statistics.median(vals[n]) for n in names]
        notes = [ratio_note(better, m, med[-1]) for m in med[:-1]]
        out.append("| %s | %s (%s) | %s | %s |" % (scenario, metric, unit,
                                                   " | ".join(fmt(m) for m in med),
                                                   " | ".join(notes)))
    return "\n".join(out)


def leftovers(base):
    """Live processes of this run: everything we start carries
    ROOST_COMPARE_RUN=<temp dir> in its environment (Dovecot and Postfix
    pass it on through their import_environment settings)."""
    tag = ("ROOST_COMPARE_RUN=%s" % base).encode()
    left = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                env = f.read().split(b"\0")
            if tag not in env:
                continue
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        left.append((int(name), cmd))
    return left


def main():
    global ROOST, LOAD
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="scaled-down sizes")
    ap.add_argument("--tiny", action="store_true",
                    help="quick sizes divided by 10 (a smoke test of the script only)")
    ap.add_argument("--runs", type=int, default=3, help="runs per side (median; default 3)")
    ap.add_argument("--only", default="", help="scenarios to run, e.g. 1,3 (5 runs with 4)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--no-pg", action="store_true",
                    help="leave out the PostgreSQL backend's column")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("compare: needs root (Postfix and Dovecot start as root)")
    if args.runs < 1:
        sys.exit("compare: --runs must be at least 1")
    started = time.time()
    install_packages()
    if not (os.access(ROOST, os.X_OK) and os.access(LOAD, os.X_OK)):
        run(["make", "-C", ROOT, "--no-print-directory", "all", "build/roost-load"])

    class Ctx:
        pass
    ctx = Ctx()
    ctx.sz = {k: v[0 if args.quick or args.tiny else 1] for k, v in SIZES.items()}
    if args.tiny:
        for k in ("smtp_accounts", "smtp_messages", "logins", "mixed_preload", "mixed_commands",
                  "big_messages", "pop3_per_account", "idle_connections", "fsm_commands"):
            ctx.sz[k] = max(10, ctx.sz[k] // 10)
    ctx.runs = args.runs
    ctx.res = Results()
    ctx.dropped = None  # page cache dropped for the cold runs (None: not tried)
    only = set(x.strip() for x in args.only.split(",") if x.strip())

    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < ctx.sz["idle_connections"] + 1000:
        say("warning: open-file limit %d is low for %d idle connections"
            % (hard, ctx.sz["idle_connections"]))

    base = tempfile.mkdtemp(prefix="roost-compare-")
    os.chmod(base, 0o755)
    os.environ["ROOST_COMPARE_RUN"] = base
    # Snapshot the binaries: the tree is shared, and a rebuild elsewhere
    # must not swap or remove them in the middle of the run.
    os.makedirs(os.path.join(base, "bin"))
    for name, path in (("ROOST", ROOST), ("LOAD", LOAD)):
        dest = os.path.join(base, "bin", os.path.basename(path))
        for attempt in range(15):  # a relink may be under way: retry
            shutil.copy2(path, dest)
            if subprocess.run([dest], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode in (0, 1, 2, 64):
                break
            time.sleep(2)
        if name == "ROOST":
            ROOST = dest
        else:
            LOAD = dest
    roost = Roost(base, ctx.sz["idle_connections"])
    peer = Peer(base, ctx.sz["idle_connections"])
    ctx.sides = [roost] + ([] if args.no_pg else [RoostPG(base, ctx.sz["idle_connections"])])
    ctx.sides.append(peer)

    def on_signal(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)
    status = 0
    try:
        users = (["user%d@%s" % (i, DOMAIN) for i in range(ctx.sz["smtp_accounts"])]
                 + ["mix%d@%s" % (i, DOMAIN) for i in range(ctx.sz["mixed_clients"])]
                 + ["pop%d@%s" % (i, DOMAIN) for i in range(ctx.sz["pop3_clients"])]
                 + ["fsm%d@%s" % (i, DOMAIN) for i in range(ctx.sz["fsm_accounts"])]
                 + ["big0@%s" % DOMAIN])
        say("temporary directory %s; creating %d accounts" % (base, len(users)))
        for side in ctx.sides[:-1]:
            side.setup(users)
        peer.setup(roost.hashes())
        for side in ctx.sides:
            side.start()
        say("Roost on %s; Postfix smtpd on %d, Dovecot on %s"
            % (roost.ports, peer.ports["smtp"],
               {k: v for k, v in peer.ports.items() if k != "smtp"}))
        for key, fn in SCENARIOS:
            if only and key not in only and not (key == "4" and "5" in only):
                continue
            say("scenario %s (%s)" % (key, fn.__name__))
            t0 = time.time()
            fn(ctx)
            say("scenario %s took %.0f s" % (key, time.time() - t0))
    except KeyboardInterrupt:
        say("interrupted")
        status = 130
    except Exception as e:  # report, then clean up all the same
        say("error: %s" % e)
        status = 1
    finally:
        for side in ctx.sides:
            try:
                side.stop()
                side.cleanup()
            except Exception as e:
                say("stopping %s: %s" % (side.name, e))
        for p in procs:
            if p.poll() is None:
                stop_pid(p.pid)
        time.sleep(0.5)
        left = leftovers(base)
        for pid, cmd in left:
            say("left over, stopping: %d %s" % (pid, cmd))
            stop_pid(pid)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            say("kept %s" % base)
    elapsed = time.time() - started
    header = ("Roost vs Postfix 3.7 + Dovecot %s on %s, %d vCPU; %s mode, median of %d "
              "alternating runs each; %.1f min in all.\nDurability: Roost syncs every commit "
              "(WAL, synchronous=FULL; on PostgreSQL: fsync, synchronous_commit on) before "
              "its 250; Postfix fsyncs the queue file before "
              "its 250 (its default) and Dovecot fsyncs each delivery before LMTP's 250 "
              "(mail_fsync = optimized).\nRatio: Roost / peer where higher is better, peer / "
              "Roost where lower is better; below 1 means Roost is behind.%s"
              % (run(["dovecot", "--version"], check=False).stdout.decode().split()[0]
                 if shutil.which("dovecot") else "?",
                 os.uname().nodename, os.cpu_count(), "tiny" if args.tiny else "quick" if args.quick else "full",
                 args.runs, elapsed / 60,
                 "" if ctx.dropped is None else "\nCold = server restarted, " +
                 ("page cache dropped." if ctx.dropped else
                  "page cache NOT dropped (not allowed here).")))
    print(header)
    print()
    print(table(ctx.res, [side.name for side in ctx.sides]))
    left = leftovers(base)
    if left:
        print("\nWARNING: processes left over: %s" % left)
        status = status or 1
    else:
        print("\nAll processes started by this run are stopped.")
    sys.exit(status)


if __name__ == "__main__":
    main()
