"""A private PostgreSQL 15 for the tests: initdb in a temporary directory,
a server on a unix socket in that directory and on 127.0.0.1 at a free
port, one database, stopped and removed at the end.

PostgreSQL refuses to run as root, so when the tests run as root every
server program runs as the `postgres` user (runuser), which owns the
directory. Durability is off (fsync, synchronous_commit): the cluster lives
for one test module. PgCluster(durable=True) keeps PostgreSQL's durable
defaults (the benchmarks).

    with PgCluster() as pg:
        pg.conninfo          # unix socket, database "roost"
        pg.tcp_conninfo      # the same database over 127.0.0.1
        pg.psql("SELECT 1")  # stdout of psql -c

or the `pg` fixture (module scope) in a test file:
    from pg_cluster import pg  # noqa: F401
"""
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

PG_BIN = "/usr/lib/postgresql/15/bin"
INITDB = PG_BIN + "/initdb"
PG_CTL = PG_BIN + "/pg_ctl"
PSQL = PG_BIN + "/psql"
SERVER_USER = "postgres"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    def __init__(self, dbname="roost", max_connections=40, durable=False):
        self.dbname = dbname
        self.max_connections = max_connections
        self.durable = durable  # fsync on (benchmarks): PostgreSQL's defaults
        self.dir = None
        self.port = None
        self.started = False

    @property
    def datadir(self):
        return os.path.join(self.dir, "data")

    @property
    def logfile(self):
        return os.path.join(self.dir, "server.log")

    @property
    def conninfo(self):
        return "host=%s port=%d dbname=%s user=%s" % (self.dir, self.port, self.dbname,
                                                        SERVER_USER)

    def conninfo_for(self, dbname, tcp=False):
        """A database's conninfo: the unix socket (reachable by root and
        postgres only), or 127.0.0.1 (any user: a daemon that dropped its
        privileges)."""
        return "host=%s port=%d dbname=%s user=%s" % ("127.0.0.1" if tcp else self.dir,
                                                        self.port, dbname, SERVER_USER)

    @property
    def tcp_conninfo(self):
        return "host=127.0.0.1 port=%d dbname=%s user=%s" % (self.port, self.dbname,
                                                              SERVER_USER)

    def _run(self, *args, timeout=60, check=True):
        """Runs a server program as the postgres user (as ourselves when
        we are not root)."""
        argv = ["runuser", "-u", SERVER_USER, "--", *args]
        if os.geteuid() != 0:
            argv = argv[4:]
        p = subprocess.run(argv, cwd=self.dir, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, text=True)
        if check and p.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s%s" % (
                os.path.basename(args[0]), p.returncode, p.stdout, p.stderr,
                self._log_tail()))
        return p

    def _log_tail(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return "\nserver log:\n" + f.read()[-3000:]
        except OSError:
            return ""

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="roost-pg-", dir="/tmp")
        try:
            if os.geteuid() == 0:
                shutil.chown(self.dir, user=SERVER_USER, group=SERVER_USER)
            os.chmod(self.dir, 0o700)
            self._run(INITDB, "-D", self.datadir, "-U", SERVER_USER, "--auth=trust",
                      "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
            self.port = _free_port()
            opts = ("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=%d"
                    % (self.port, self.dir, self.max_connections))
            if self.durable:
                opts += " -c shared_buffers=256MB"
            else:
                opts += (" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                         " -c shared_buffers=16MB")
            self._run(PG_CTL, "-D", self.datadir, "-l", self.logfile, "-o", opts,
                      "-w", "-t", "30", "start")
            self.started = True
            self.psql("CREATE DATABASE %s" % self.dbname, dbname="postgres")
        except BaseException:
            self.stop()
            raise
        return self

    def psql(self, sql, dbname=None, separator="|"):
        p = self._run(PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                      "-F", separator,
                      "-h", self.dir, "-p", str(self.port), "-U", SERVER_USER,
                      "-d", dbname or self.dbname, "-c", sql)
        return p.stdout

    def session(self, dbname=None):
        """An interactive psql (stdin/stdout pipes, text) that stays
        connected, for holding a lock or a transaction open."""
        argv = ["runuser", "-u", SERVER_USER, "--", PSQL, "-X", "-q", "-A", "-t",
                "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
                "-U", SERVER_USER, "-d", dbname or self.dbname]
        if os.geteuid() != 0:
            argv = argv[4:]
        return subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, bufsize=1)

    def dump(self, dbname=None):
        """pg_dump --data-only of a database, as bytes."""
        argv = ["runuser", "-u", SERVER_USER, "--", PG_BIN + "/pg_dump", "--data-only",
                "-h", self.dir, "-p", str(self.port), "-U", SERVER_USER,
                dbname or self.dbname]
        if os.geteuid() != 0:
            argv = argv[4:]
        return subprocess.run(argv, cwd=self.dir, stdout=subprocess.PIPE, check=True,
                              timeout=60).stdout

    def stop(self):
        if self.started:
            self._run(PG_CTL, "-D", self.datadir, "-m", "fast", "-w", "-t", "30", "stop",
                      check=False)
            self.started = False
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@pytest.fixture(scope="module")
def pg():
    with PgCluster() as cluster:
        yield cluster
