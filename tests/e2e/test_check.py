"""`roost check`: the consistency check through a running
daemon's control socket and on a stopped data directory; a corruption
made with direct SQL is reported with exit status 1. (Each check is
exercised on its own in tests/unit/test-store-check.c.)"""


def test_check_clean_via_daemon_and_reports_corruption(roost):
    roost.deliver("Subject: one\r\n\r\nbody\r\n", "alice@example.com")
    for args in (("check",), ("check", "--quick")):
        p = roost.cli(*args, check=False)
        assert (p.returncode, p.stdout, p.stderr) == (0, "clean\n", "")
    assert "control: check: exit 0" in roost.read_log()  # it ran in the daemon
    assert roost.cli("check", "--full", check=False).returncode == 64
    assert roost.stop() == 0

    roost.sql("UPDATE accounts SET used_bytes = used_bytes + 7")
    roost.sql("UPDATE contents SET refs = refs + 1")
    p = roost.cli("check", check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith("account alice@example.com: used ")
    assert lines[1].startswith("content 1: refs 2, 1 messages reference it")
    assert lines[2] == "problems: 2"
