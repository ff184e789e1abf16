#!/bin/sh
# check-test-deps: prove that `scripts/deps.sh test` installs everything
# the test suite runs, so `make test` passes on a bare Debian machine.
#
# Every external program the tests and scripts call (a list kept below,
# which the scan of the test sources must not exceed), every Python module
# the tests import and every Perl module a called program needs must be a
# file owned (`dpkg -S`) by a package that deps.sh names, by a package
# those depend on (Depends/Pre-Depends; Recommends do not count: deps.sh
# installs with --no-install-recommends), or by the base system (Essential
# or Priority: required). Fails naming each thing that is not.
#
# Usage: scripts/check-test-deps.sh [--deps PATH_TO_DEPS_SH] [--scan DIR]...
# (defaults: scripts/deps.sh; tests and scripts). Runs from `make test`.
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 - "$@" <<'PYTHON'
import ast
import os
import re
import shutil
import subprocess
import sys
import importlib

# Programs the tests, scripts/*.sh and the Makefile run. The scan below
# finds the ones Python tests start (subprocess, shutil.which, os.system)
# and C tests run (system, popen) and fails on any not listed here; shell
# scripts and make are covered by this list alone.
PROGRAMS = {
    # e2e: real clients and system tools
    "swaks": "SMTP client (tests/e2e/test_smtp.py, test_postfix_lmtp.py)",
    "mbsync": "IMAP client (tests/e2e/test_imap_clients.py)",
    "curl": "IMAP/POP3 client (test_imap_clients.py, test_pop3_clients.py)",
    "fetchmail": "POP3 client (test_pop3_clients.py)",
    "sieve-connect": "ManageSieve client (test_managesieve.py)",
    "postfix": "front MTA (test_postfix_lmtp.py)",
    "script": "a terminal for postfix (test_postfix_lmtp.py)",
    "mount": "tmpfs for the disk-full test (test_disk_full.py)",
    "umount": "test_disk_full.py",
    "python3": "pytest and helper processes (sys.executable, tests/unit)",
    "rm": "tests/unit/main.c (the per-test directories)",
    "sqlite3": "tests/data/make-schema-v1.py (the schema 1 dump)",
    "fail2ban-regex": "the fail2ban filter against a live log (test_auth_throttle.py, test_fail2ban.py)",
    "openssl": "s_client for the TLS policy (test_tls_policy.py)",
    "unbound": "the outbound tests' local DNS server (tests/e2e/outbound_net.py)",
    "ldns-keygen": "the DANE tests' zone key (tests/e2e/dnssec_net.py)",
    "ldns-signzone": "signs the DANE tests' zone (tests/e2e/dnssec_net.py)",
    "pebble": "the ACME test CA (tests/e2e/test_acme.py)",
    "useradd": "the roost system user (scripts/deps.sh, scripts/run.sh)",
    "haproxy": "a load balancer sending PROXY v2 (test_proxy_protocol.py)",
    "systemd-analyze": "verifies contrib/systemd/roost.service (test_init_profile.py)",
    "dovecot": "the private source server of test_migrate.py",
    "php": "serves Debian's Roundcube (php -S, tests/e2e/roundcube_site.py)",
    "chromium": "the headless browser of test_roundcube_sieve.py (via chromedriver)",
    "chromedriver": "Selenium's driver for chromium (tests/e2e/roundcube_site.py)",
    "runuser": "runs PostgreSQL as postgres (tests/e2e/pg_cluster.py)",
    "/usr/lib/postgresql/15/bin/initdb": "the private cluster of tests/e2e/pg_cluster.py",
    "/usr/lib/postgresql/15/bin/pg_ctl": "tests/e2e/pg_cluster.py",
    "/usr/lib/postgresql/15/bin/psql": "tests/e2e/pg_cluster.py",
    "/usr/lib/postgresql/15/bin/pg_dump": "Roost.store_bytes() on PostgreSQL (pg_cluster.py)",
    # build and the scripts
    "make": "Makefile", "cc": "Makefile", "ar": "Makefile", "pkg-config": "Makefile",
    "clang": "make fuzz-build", "find": "Makefile",
    "sh": "scripts/*.sh", "grep": "scripts", "sed": "scripts", "tail": "scripts",
    "head": "scripts", "tr": "scripts/run.sh", "mkdir": "scripts/fuzz.sh",
    "ls": "scripts/fuzz.sh", "id": "scripts/deps.sh", "dpkg-query": "scripts/deps.sh",
    "apt-get": "scripts/deps.sh", "debconf-set-selections": "scripts/deps.sh",
}
# Perl modules a listed program loads for what the tests ask of it.
PERL_MODULES = {
    "Net::SSLeay": "swaks --tls (STARTTLS, tests/e2e/test_smtp.py)",
}
# Program names in test sources that are ours, not the system's.
OURS = {"ROOST_BIN", "LOAD", "MAKER"}

deps_sh = "scripts/deps.sh"
scan_dirs = []
args = sys.argv[1:]
while args:
    a = args.pop(0)
    if a == "--deps" and args:
        deps_sh = args.pop(0)
    elif a == "--scan" and args:
        scan_dirs.append(args.pop(0))
    else:
        sys.exit("usage: check-test-deps.sh [--deps DEPS_SH] [--scan DIR]...")
scan_dirs = scan_dirs or ["tests", "scripts"]
problems = []


def fail(msg):
    problems.append(msg)


# --- what the test sources call and import -------------------------------

def py_files():
    for d in scan_dirs:
        for root, dirs, files in os.walk(d):
            dirs[:] = [x for x in dirs if x not in ("corpus", "regressions", "__pycache__")]
            for f in files:
                if f.endswith(".py"):
                    yield os.path.join(root, f)


def first_word(node, assigns, depth=0):
    """The program a subprocess argument names: a string, or None when it
    is only known at run time."""
    if depth > 8 or node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        w = node.value.split()
        return w[0] if w else None
    if isinstance(node, (ast.List, ast.Tuple)):
        return first_word(node.elts[0], assigns, depth + 1) if node.elts else None
    if isinstance(node, ast.BinOp):  # base + extra, "postfix -c %s" % x
        return first_word(node.left, assigns, depth + 1)
    if isinstance(node, ast.JoinedStr) and node.values:
        return first_word(node.values[0], assigns, depth + 1)
    if isinstance(node, ast.Attribute) and node.attr == "executable":
        return "python3"
    if isinstance(node, ast.Name):
        if node.id in OURS:
            return None
        for v in assigns.get(node.id, []):
            w = first_word(v, assigns, depth + 1)
            if w is not None:
                return w
    return None


def scan():
    called = {}   # program -> first place seen
    imported = {}  # module -> first place seen
    local = set()
    files = list(py_files())
    for f in files:
        local.add(os.path.splitext(os.path.basename(f))[0])
    for f in files:
        try:
            tree = ast.parse(open(f, encoding="utf-8").read(), f)
        except SyntaxError as e:
            fail("%s: cannot parse: %s" % (f, e))
            continue
        assigns = {}
        for n in ast.walk(tree):
            if isinstance(n, ast.Assign):
                for t in n.targets:
                    if isinstance(t, ast.Name):
                        assigns.setdefault(t.id, []).append(n.value)
        for n in ast.walk(tree):
            where = "%s:%d" % (f, getattr(n, "lineno", 0))
            if isinstance(n, ast.Import):
                for a in n.names:
                    imported.setdefault(a.name.split(".")[0], where)
            elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module:
                imported.setdefault(n.module.split(".")[0], where)
            elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
                mod = n.func.value.id if isinstance(n.func.value, ast.Name) else ""
                name = n.func.attr
                arg = n.args[0] if n.args else next(
                    (k.value for k in n.keywords if k.arg == "args"), None)
                if mod == "subprocess" and name in ("run", "Popen", "call", "check_call",
                                                    "check_output"):
                    prog = first_word(arg, assigns)
                    if prog is not None:
                        called.setdefault(os.path.basename(prog), where)
                        # `script -qc CMD`: CMD's program runs too
                        if prog == "script" and isinstance(arg, ast.List):
                            for i, e in enumerate(arg.elts[:-1]):
                                if isinstance(e, ast.Constant) and e.value in ("-c", "-qc"):
                                    inner = first_word(arg.elts[i + 1], assigns)
                                    if inner:
                                        called.setdefault(inner, where)
                elif mod == "shutil" and name == "which":
                    prog = first_word(arg, assigns)
                    if prog is not None:
                        called.setdefault(prog, where)
                elif mod == "os" and name == "system":
                    prog = first_word(arg, assigns)
                    if prog is not None:
                        called.setdefault(prog, where)
    # C tests run commands through system()/popen(): the command is the
    # string literal built just before the call.
    for d in scan_dirs:
        for root, dirs, files in os.walk(d):
            dirs[:] = [x for x in dirs if x not in ("corpus", "regressions")]
            for f in files:
                if f.endswith(".c"):
                    scan_c(os.path.join(root, f), called)
    for m in list(imported):
        if m in local or m == "__future__":
            del imported[m]
    return called, imported


def scan_c(path, called):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    for i, line in enumerate(lines):
        if not re.search(r"\b(system|popen)\s*\(", line):
            continue
        for back in range(i, max(i - 4, -1), -1):
            m = re.search(r'"([^"\s]+)', lines[back])
            if m:
                called.setdefault(os.path.basename(m.group(1)), "%s:%d" % (path, back + 1))
                break
        else:
            fail("%s:%d: a command whose program cannot be read from the source: "
                 "build it from a string literal just before the call" % (path, i + 1))


# --- who owns what ---------------------------------------------------------

def installed_packages():
    fmt = "${Package}\t${Status}\t${Essential}\t${Priority}\t${Depends}\t${Pre-Depends}\t${Provides}\n"
    out = subprocess.run(["dpkg-query", "-W", "-f=" + fmt], stdout=subprocess.PIPE,
                         text=True, check=True).stdout
    pkgs, provides = {}, {}
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 7 or not f[1].endswith(" installed"):
            continue
        deps = []
        for field in (f[4], f[5]):
            for alt in field.split(","):
                deps.append([a.split()[0].split(":")[0] for a in alt.split("|") if a.strip()])
        pkgs[f[0]] = {"base": f[2] == "yes" or f[3] == "required", "deps": deps}
        for p in f[6].split(","):
            if p.strip():
                provides.setdefault(p.split()[0], []).append(f[0])
    return pkgs, provides


def closure(names, pkgs, provides):
    seen, todo = set(), list(names)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for alts in pkgs.get(p, {}).get("deps", []):
            for a in alts:
                todo.extend([a] if a in pkgs else provides.get(a, []))
    return seen


def owners(paths):
    """path -> set of packages owning it, for every path dpkg knows."""
    want = []
    for p in paths:
        for c in (p, os.path.realpath(p)):
            want.append(c)
            # merged /usr: dpkg may record /bin/x for /usr/bin/x and back
            if c.startswith("/usr/"):
                want.append(c[4:])
            else:
                want.append("/usr" + c)
    r = subprocess.run(["dpkg-query", "-S", *sorted(set(want))], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    got = {}
    for line in r.stdout.splitlines():
        if line.startswith("diversion ") or ": " not in line:
            continue
        who, path = line.split(": ", 1)
        got[path] = {w.strip().split(":")[0] for w in who.split(",")}
    res = {}
    for p in paths:
        s = set()
        for c in (p, os.path.realpath(p)):
            for v in (c, c[4:] if c.startswith("/usr/") else "/usr" + c):
                s |= got.get(v, set())
        res[p] = s
    return res


def program_path(name):
    # The system's directories only: what a bare machine has after deps.sh
    # (a developer's ~/.pyenv or /usr/local would hide a missing package).
    return shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")


def python_module_paths(name):
    """The files importing `name` loads (its own and the modules and C
    extensions it pulls in), or None when it cannot be imported."""
    before = set(sys.modules)
    try:
        importlib.import_module(name)
    except Exception:
        return None
    paths = set()
    for m in set(sys.modules) - before | {name}:
        f = getattr(sys.modules.get(m), "__file__", None)
        if f is None:  # compiled into the interpreter
            f = os.path.realpath(sys.executable)
        paths.add(os.path.realpath(f))
    return sorted(paths)


def perl_module_path(name):
    rel = name.replace("::", "/") + ".pm"
    r = subprocess.run(["perl", "-e", 'require "%s"; print $INC{"%s"}' % (rel, rel)],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


def main():
    called, imported = scan()
    for prog, where in sorted(called.items()):
        if prog not in PROGRAMS:
            fail("%s runs '%s', which is not in the PROGRAMS list of "
                 "scripts/check-test-deps.sh: add it there and its package to deps.sh"
                 % (where, prog))
    r = subprocess.run(["sh", deps_sh, "--list", "test"], stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        fail("%s --list test failed" % deps_sh)
    named = r.stdout.split()
    pkgs, provides = installed_packages()
    for p in named:
        if p not in pkgs:
            fail("package %s (named by %s) is not installed: run %s test as root"
                 % (p, deps_sh, deps_sh))
    allowed = closure(named, pkgs, provides) | {p for p, v in pkgs.items() if v["base"]}

    items = []  # (description, path or None)
    for prog, why in sorted(PROGRAMS.items()):
        items.append(("program %s (%s)" % (prog, why), program_path(prog)))
    for mod, where in sorted(imported.items()):
        what = "Python module %s (imported at %s)" % (mod, where)
        paths = python_module_paths(mod)
        if paths is None:
            items.append((what, None))
        for p in paths or []:
            items.append((what, p))
    for mod, why in sorted(PERL_MODULES.items()):
        items.append(("Perl module %s (%s)" % (mod, why), perl_module_path(mod)))
    own = owners([p for _, p in items if p])
    for what, path in items:
        if path is None:
            fail("%s: not installed; name its package in %s" % (what, deps_sh))
            continue
        by = own.get(path, set())
        if not by:
            fail("%s: %s belongs to no Debian package" % (what, path))
        elif not by & allowed:
            fail("%s: %s comes from %s, which %s does not install (not named, not a "
                 "dependency of a named package, not in the base system): add it to %s"
                 % (what, path, ", ".join(sorted(by)), deps_sh, deps_sh))
    if os.environ.get("CHECK_TEST_DEPS_VERBOSE"):
        for what, path in items:
            print("  %s: %s (%s)" % (what, path, ", ".join(sorted(own.get(path, set())))))
    if problems:
        for p in problems:
            print("check-test-deps: " + p, file=sys.stderr)
        print("check-test-deps: FAILED (%d problems)" % len(problems), file=sys.stderr)
        sys.exit(1)
    print("check-test-deps: ok (%d programs, %d Python modules, %d Perl modules)"
          % (len(PROGRAMS), len(imported), len(PERL_MODULES)))


main()
PYTHON
