"""scripts/check-test-deps.sh: passes on the tree's deps.sh, and fails,
naming what is missing, when deps.sh leaves out a package the tests need
or a test starts a program the check does not know. (No daemon needed.)"""
import os
import re
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHECK = os.path.join(ROOT, "scripts", "check-test-deps.sh")
DEPS = os.path.join(ROOT, "scripts", "deps.sh")


def check(*args):
    return subprocess.run([CHECK, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120)


def deps_without(tmp_path, *packages):
    """A copy of deps.sh that no longer names `packages`."""
    cut = open(DEPS).read()
    for package in packages:
        text = cut
        cut = re.sub(r'(?<=[\s"])%s(?=[\s"])' % re.escape(package), "", text)
        assert cut != text, package
    path = tmp_path / "deps.sh"
    path.write_text(cut)
    listed = subprocess.run(["sh", str(path), "--list", "test"], stdout=subprocess.PIPE,
                            text=True, check=True).stdout.split()
    assert not set(packages) & set(listed) and len(listed) > 10
    return str(path)


def test_tree_deps_cover_the_tests():
    p = check()
    assert p.returncode == 0, p.stderr
    assert "check-test-deps: ok" in p.stdout


def test_missing_perl_tls_module_fails(tmp_path):
    # Net::SSLeay is only recommended by swaks: without naming it, a bare
    # machine cannot run swaks --tls. (sieve-connect depends on it through
    # libio-socket-ssl-perl, so the check rightly counts it as installed
    # while sieve-connect is listed: leave both out.)
    p = check("--deps", deps_without(tmp_path, "libnet-ssleay-perl", "sieve-connect"))
    assert p.returncode != 0
    assert "Perl module Net::SSLeay" in p.stderr and "libnet-ssleay-perl" in p.stderr


def test_missing_client_package_fails(tmp_path):
    p = check("--deps", deps_without(tmp_path, "swaks"))
    assert p.returncode != 0
    assert "program swaks" in p.stderr


def test_unknown_program_in_a_test_fails(tmp_path):
    d = tmp_path / "more-tests"
    d.mkdir()
    (d / "test_new.py").write_text(
        "import subprocess\n"
        "def test_x():\n"
        "    subprocess.run(['frobnicate-tool', '--now'])\n")
    p = check("--scan", os.path.join(ROOT, "tests"), "--scan", str(d))
    assert p.returncode != 0
    assert "'frobnicate-tool'" in p.stderr and "PROGRAMS" in p.stderr
