"""Several `roost serve` nodes on one PostgreSQL database (issue 18): the
`nodes` fixture gives a factory, nodes(2, **settings), of Roost objects
that share the store of the first one. Every node has a data directory of
its own (roost.conf and the TLS key are copied from the first, so all
nodes are one service); only the database is shared. These tests run on
PostgreSQL whatever ROOST_TEST_STORE says: that is what they are about.
start_nodes() is the same without pytest (bench/multinode.py).
"""
import os
import shutil

import pytest

from conftest import Roost, pg_cluster, pg_new_database, stop_clean


def _copy_config(src, dst):
    os.makedirs(dst, mode=0o700)
    shutil.copy2(os.path.join(src, "roost.conf"), dst)
    tls = os.path.join(src, "tls")
    if os.path.isdir(tls):
        shutil.copytree(tls, os.path.join(dst, "tls"))


def start_nodes(parent, n=2, users=("alice@example.com",), started=None, **settings):
    """n running nodes in directories under `parent`, one new database;
    each is appended to `started` as soon as it runs (for the caller's
    cleanup)."""
    first = Roost(os.path.join(str(parent), "node0"), settings)
    first.pg_dbname = pg_new_database()
    first.cli("init", "--postgresql", pg_cluster().conninfo_for(first.pg_dbname, tcp=True))
    first.cli("domain", "add", "example.com")
    for u in users:
        first.add_user(u)
    out = [first]
    for i in range(1, n):
        r = Roost(os.path.join(str(parent), "node%d" % i), settings)
        _copy_config(first.datadir, r.datadir)
        r.pg_dbname = first.pg_dbname
        out.append(r)
    for r in out:
        r.start()
        if started is not None:
            started.append(r)
    return out


@pytest.fixture
def nodes(tmp_path):
    started = []

    def make(n=2, users=("alice@example.com",), **settings):
        return start_nodes(tmp_path, n, users, started, **settings)

    yield make
    for r in started:
        stop_clean(r)
