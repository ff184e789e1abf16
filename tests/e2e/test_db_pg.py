"""The PostgreSQL driver (src/store/db/db-pg.c) against a real, private
PostgreSQL 15 (pg_cluster.py): the contract of db.h, checked by the C
program tests/db/pg-driver-test.c, and the PostgreSQL schema, loaded into
the cluster and compared with the SQLite schema a fresh `roost init`
makes."""
import os
import sqlite3
import subprocess

from conftest import ROOST_BIN
from pg_cluster import pg  # noqa: F401  (the fixture)

DRIVER_TEST = os.path.join(os.path.dirname(ROOST_BIN), "pg-driver-test")


def run_driver_test(*args):
    assert os.path.exists(DRIVER_TEST), "build it: make %s" % DRIVER_TEST
    p = subprocess.run([DRIVER_TEST, *args], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    oks = [line[5:] for line in p.stdout.splitlines() if line.startswith("ok - ")]
    fails = [line for line in p.stdout.splitlines() if line.startswith("FAIL")]
    assert p.returncode == 0 and not fails, p.stdout
    return oks


def test_rewriter_and_sqlstates():
    oks = run_driver_test("rewrite")
    assert sum(1 for n in oks if n.startswith("rewrite ")) >= 22
    assert sum(1 for n in oks if n.startswith("rewrite refuses")) == 6
    assert "sqlstate 23505" in oks and "sqlstate 53100" in oks


# Checks the contract run must have passed (every one, by name: a check
# that stopped running would otherwise go unnoticed).
CONTRACT = [
    "open failure names the database, never the password",
    "read-only connection refuses writes",
    "INSERT RETURNING gives the new id",
    "reset and rebind runs again",
    "unbound parameter stored NULL, read as NULL/0",
    "64-bit integer and blob read back",
    "binding a parameter the statement lacks fails",
    "syntax error at prepare",
    "blob with NUL bytes and a backslash round-trips",
    "empty blob is a blob, not NULL",
    "blob bound to an untyped parameter round-trips",
    "text with a NUL byte accepted at bind",
    "invalid UTF-8 text counts U+FFFD per byte",
    "text repair case 0",
    "text repair case 1",
    "text repair case 2",
    "text repair case 3",
    "text repair case 4",
    "text repair case 5",
    "sum() and count() are INTEGER",
    "literal with ?1 left alone",
    "bind_column copies integer, text, blob and float",
    "changes after UPDATE of every row (a SELECT keeps it)",
    "UNIQUE violation is DB_CONSTRAINT",
    "NOT NULL violation is DB_CONSTRAINT",
    "INSERT OR IGNORE of a duplicate: no row, no change",
    "an index row over the limit is DB_TOOBIG",
    "the other connection does not see it",
    "the other connection sees it after COMMIT",
    "error inside a savepoint keeps the transaction",
    "after ROLLBACK TO the same statement works",
    "concurrent update under REPEATABLE READ is DB_BUSY",
    "deferred inserts are seen by the next statement that waits",
    "a deferred statement's error is the next statement's",
    "ROLLBACK TO undoes the deferred statements",
    "ROLLBACK TO runs after a failed deferred statement",
    "a prepare after a failed deferred statement returns its error",
    "COMMIT after a failed deferred statement fails",
    "nothing of the failed transaction committed",
    "a statement prepared after deferred ones sees them",
    "a lost connection is DB_ERROR saying so",
    "the PostgreSQL schema loads",
    "message triggers follow flag changes and deletes",
    "delete triggers remove metadata, URLAUTH keys and Sieve scripts",
]


def test_driver_contract(pg):
    # the first connection on the unix socket, the second over TCP
    oks = run_driver_test(pg.conninfo, pg.tcp_conninfo)
    missing = [c for c in CONTRACT if c not in oks]
    assert not missing, missing
    # the driver left no transaction open and no statement behind
    assert pg.psql("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in%'").strip() == "0"


def sqlite_schema(tmp_path):
    datadir = tmp_path / "data"
    subprocess.run([ROOST_BIN, "-d", str(datadir), "init"], check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    db = sqlite3.connect(str(datadir / "roost.db"))
    tables, indexes, triggers = {}, set(), set()
    for name, type_, sql in db.execute("SELECT name, type, sql FROM sqlite_master"):
        if name.startswith("sqlite_") or name.startswith("search_fts"):
            continue
        if type_ == "table":
            tables[name] = {col: decl.split()[0].lower() if decl else ""
                            for _, col, decl, *_ in db.execute("PRAGMA table_info(%s)" % name)}
        elif type_ == "index" and sql is not None:
            indexes.add(name)
        elif type_ == "trigger":
            triggers.add(name)
    meta = dict(db.execute("SELECT key, value FROM meta"))
    db.close()
    return tables, indexes, triggers, meta


def test_schema_matches_sqlite(pg, tmp_path):
    pg.psql("CREATE DATABASE schema_cmp", dbname="postgres")
    conninfo = pg.conninfo.replace("dbname=roost", "dbname=schema_cmp")
    oks = run_driver_test("schema", conninfo)
    assert "the PostgreSQL schema loads" in oks

    def q(sql):
        return [line.split("|") for line in pg.psql(sql, dbname="schema_cmp").splitlines() if line]

    pg_tables = {}
    for table, col, type_ in q("SELECT table_name, column_name, data_type FROM"
                               " information_schema.columns WHERE table_schema = 'public'"):
        pg_tables.setdefault(table, {})[col] = type_
    pg_indexes = {r[0] for r in q("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
                                  " AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'")}
    pg_triggers = {r[0] for r in q("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
    pg_meta = dict(q("SELECT key, value FROM meta"))

    tables, indexes, triggers, meta = sqlite_schema(tmp_path)
    assert sorted(pg_tables) == sorted(tables)
    want_type = {"integer": "bigint", "text": "text", "blob": "bytea"}
    # IMAP renderings of raw headers, literals and octet counts included:
    # any bytes, so bytea on PostgreSQL (db-pg-schema.c)
    rendered = {("content_index", c) for c in ("envelope", "body", "bodystructure", "parts")}
    for table, cols in tables.items():
        assert sorted(pg_tables[table]) == sorted(cols), table
        for col, decl in cols.items():
            want = "bytea" if (table, col) in rendered else want_type[decl]
            assert pg_tables[table][col] == want, (table, col, decl)
    assert pg_indexes == indexes
    assert pg_triggers == triggers
    assert pg_meta == meta
