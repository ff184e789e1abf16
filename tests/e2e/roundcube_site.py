"""A private Roundcube webmail for the e2e tests, as Debian ships it.

Debian installs Roundcube 1.6 under /usr/share/roundcube with the web
root /var/lib/roundcube/public_html and the configuration in
/etc/roundcube; its iniset.php reads the configuration directory from
ROUNDCUBE_CONFIG_DIR. Site writes a configuration directory of its own
(config.inc.php pointing IMAP, submission and ManageSieve at one Roost,
an SQLite database for Roundcube's own state, logs and temp files, all
under the test's tmp dir) and serves the unchanged Debian tree with
PHP's built-in web server on a loopback port: no system web server, no
change to /etc/roundcube.

Browser() starts Debian's headless Chromium under Selenium (chromedriver
from chromium-driver).
"""
import os
import signal
import sqlite3
import shutil
import socket
import subprocess
import time

DEBIAN_ROOT = "/var/lib/roundcube"          # INSTALL_PATH of Debian's iniset.php
PUBLIC_HTML = os.path.join(DEBIAN_ROOT, "public_html")
DEBIAN_CONFIG = "/etc/roundcube"
PHP = "/usr/bin/php"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _php_string(s):
    return "'" + str(s).replace("\\", "\\\\").replace("'", "\\'") + "'"


class Site:
    """Roundcube for one Roost: Site(workdir, roost).start() ... stop()."""

    def __init__(self, workdir, imap_port, smtp_port, sieve_port):
        self.workdir = str(workdir)
        self.imap_port = imap_port
        self.smtp_port = smtp_port
        self.sieve_port = sieve_port
        self.port = None
        self.proc = None
        self.confdir = os.path.join(self.workdir, "config")
        self.logdir = os.path.join(self.workdir, "logs")
        self.tempdir = os.path.join(self.workdir, "temp")
        self.db = os.path.join(self.workdir, "roundcube.db")
        self.serverlog = os.path.join(self.workdir, "php-server.log")

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port

    def write_config(self):
        for d in (self.confdir, self.logdir, self.tempdir):
            os.makedirs(d, exist_ok=True)
        # Roundcube loads defaults.inc.php and mimetypes.php from the same
        # directory as config.inc.php: Debian's, unchanged.
        for f in ("defaults.inc.php", "mimetypes.php"):
            shutil.copy(os.path.join(DEBIAN_CONFIG, f), os.path.join(self.confdir, f))
        settings = {
            "db_dsnw": "sqlite:///%s?mode=0600" % self.db,
            "imap_host": "127.0.0.1:%d" % self.imap_port,
            "imap_timeout": 10,
            "smtp_host": "127.0.0.1:%d" % self.smtp_port,
            "smtp_user": "%u",
            "smtp_pass": "%p",
            "smtp_timeout": 10,
            "des_key": "roost-e2e-test-key-24byt",
            "plugins": ["managesieve"],
            # Roundcube 1.6: host[:port], "tls://" for STARTTLS
            "managesieve_host": "127.0.0.1:%d" % self.sieve_port,
            "managesieve_vacation": 1,
            "managesieve_default": "",
            "managesieve_debug": True,
            "managesieve_conn_options": None,
            "skin": "elastic",
            "log_driver": "file",
            "log_dir": self.logdir + "/",
            "temp_dir": self.tempdir + "/",
            "imap_debug": True,
            "smtp_debug": False,
            "enable_installer": False,
            "enable_spellcheck": False,
            "support_url": "",
            "product_name": "Roost test webmail",
            "ip_check": False,
            "use_https": False,
            "login_rate_limit": 0,
            "session_lifetime": 30,
            "language": "en_US",
            "timezone": "UTC",
            "refresh_interval": 0,
            "check_all_folders": False,
            "create_default_folders": False,
            "mime_types": os.path.join(self.confdir, "mime.types"),
        }
        lines = ["<?php", "$config = [];"]
        for k, v in settings.items():
            lines.append("$config[%s] = %s;" % (_php_string(k), _php_value(v)))
        with open(os.path.join(self.confdir, "config.inc.php"), "w") as f:
            f.write("\n".join(lines) + "\n")
        # mime.types is optional for Roundcube; an empty one keeps it from
        # reading the system's /etc/mime.types (or failing without it)
        open(os.path.join(self.confdir, "mime.types"), "w").close()
        # Roundcube's own tables, from the schema Debian ships
        with open(os.path.join(DEBIAN_ROOT, "SQL", "sqlite.initial.sql")) as f:
            schema = f.read()
        con = sqlite3.connect(self.db)
        con.executescript(schema)
        con.close()

    def start(self):
        self.write_config()
        env = dict(os.environ)
        env["ROUNDCUBE_CONFIG_DIR"] = self.confdir
        env.pop("RCUBE_CONFIG_PATH", None)
        # the page, its frames and their AJAX calls arrive in parallel
        env["PHP_CLI_SERVER_WORKERS"] = "4"
        for attempt in range(4):
            self.port = _free_port()
            log = open(self.serverlog, "ab")
            self.proc = subprocess.Popen(
                [PHP, "-S", "127.0.0.1:%d" % self.port, "-t", PUBLIC_HTML,
                 "-d", "display_errors=stderr", "-d", "log_errors=1",
                 "-d", "error_log=" + os.path.join(self.logdir, "php-errors.log"),
                 "-d", "session.save_path=" + self.tempdir],
                cwd=PUBLIC_HTML, env=env, stdout=log, stderr=log,
                stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            deadline = time.time() + 10
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise AssertionError("php -S did not start: %s" % self.read_logs())

    def stop(self):
        if self.proc is None:
            return
        # php -S forks PHP_CLI_SERVER_WORKERS workers that outlive a
        # terminated parent: signal the whole process group
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # the workers of a group whose leader has gone
        for _ in range(100):
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None

    def read_logs(self, limit=4000):
        """The PHP server's log and Roundcube's own logs (errors, the
        ManageSieve and IMAP conversations), for failure messages."""
        out = []
        paths = [self.serverlog]
        if os.path.isdir(self.logdir):
            paths += sorted(os.path.join(self.logdir, f) for f in os.listdir(self.logdir))
        for p in paths:
            try:
                with open(p, "rb") as f:
                    data = f.read().decode(errors="replace")
            except OSError:
                continue
            out.append("--- %s\n%s" % (p, data[-limit:]))
        return "\n".join(out)


def _php_value(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_php_value(x) for x in v) + "]"
    return _php_string(v)


def browser(download_dir=None):
    """Headless Chromium under Selenium; the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-sync",
              "--disable-component-update", "--disable-default-apps"):
        opts.add_argument(a)
    service = Service(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(20)
    return driver
