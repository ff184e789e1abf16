"""`roost sieve ...`: an account's Sieve scripts from the command line,
with the daemon stopped (the CLI opens the store) and running (the
control socket). put and check compile first and print the first error
as "line L: message (column C)"."""

GOOD = 'require "fileinto";\nif header :contains "subject" "x" { fileinto "Junk"; }\n'
# the error is on line 2: an unknown command
BAD = 'require "fileinto";\nfrobnicate "x";\n'


def run_all(r):
    r.cli("sieve", "put", "alice@example.com", "main", input=GOOD)
    r.cli("sieve", "put", "alice@example.com", "other", input="keep;\n")
    assert r.cli("sieve", "list", "alice@example.com").stdout == (
        "main\tinactive\t%d\nother\tinactive\t6\n" % len(GOOD))
    assert r.cli("sieve", "get", "alice@example.com", "main").stdout == GOOD
    r.cli("sieve", "activate", "alice@example.com", "main")
    lines = r.cli("sieve", "list", "alice@example.com").stdout.splitlines()
    assert lines[0].startswith("main\tactive\t") and lines[1].startswith("other\tinactive")
    # only one active script
    r.cli("sieve", "activate", "alice@example.com", "other")
    lines = r.cli("sieve", "list", "alice@example.com").stdout.splitlines()
    assert lines[0].startswith("main\tinactive") and lines[1].startswith("other\tactive")
    # the active script cannot be deleted (RFC 5804 2.10)
    p = r.cli("sieve", "delete", "alice@example.com", "other", check=False)
    assert p.returncode == 1 and "active" in p.stderr, p.stderr
    r.cli("sieve", "deactivate", "alice@example.com")
    r.cli("sieve", "delete", "alice@example.com", "other")
    assert r.cli("sieve", "list", "alice@example.com").stdout.count("\n") == 1
    p = r.cli("sieve", "get", "alice@example.com", "other", check=False)
    assert p.returncode == 1 and "not found" in p.stderr.lower(), p.stderr

    # compile errors: line and column, nonzero exit, nothing stored
    p = r.cli("sieve", "put", "alice@example.com", "bad", input=BAD, check=False)
    assert p.returncode == 1, p.stderr
    assert p.stderr.count("line 2: unknown command") == 1 and p.stderr.count("(column 1)") == 1, p.stderr
    assert "bad" not in r.cli("sieve", "list", "alice@example.com").stdout
    p = r.cli("sieve", "check", "-", input=BAD, check=False)
    assert p.returncode == 1 and p.stderr.count("line 2: unknown command") == 1 and p.stderr.count("(column 1)") == 1, p.stderr
    p = r.cli("sieve", "check", "-", input=GOOD)
    assert p.stdout == "ok\n"
    assert r.cli("sieve", "check", "alice@example.com", "main").stdout == "ok\n"

    # hostile names and unknown accounts
    for name in ("a/b", "x" * 129, "tab\there"):
        p = r.cli("sieve", "put", "alice@example.com", name, input=GOOD, check=False)
        assert p.returncode == 1 and "invalid script name" in p.stderr, (name, p.stderr)
    p = r.cli("sieve", "list", "nobody@example.com", check=False)
    assert p.returncode == 1 and "nobody@example.com" in p.stderr
    p = r.cli("sieve", "activate", "alice@example.com", "nope", check=False)
    assert p.returncode == 1
    # over sieve.max_script_size (64K by default)
    big = "# " + "x" * 70000 + "\nkeep;\n"
    p = r.cli("sieve", "put", "alice@example.com", "big", input=big, check=False)
    assert p.returncode == 1 and "max_script_size" in p.stderr, p.stderr


def test_sieve_cli_offline(datadir):
    datadir.init()
    run_all(datadir)


def test_sieve_cli_through_daemon(roost):
    run_all(roost)
    # the scripts live in the database, per account
    rows = roost.sql("SELECT name, active FROM sieve_scripts")
    assert rows == [("main", 0)]
