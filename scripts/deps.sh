#!/bin/sh
# Install the Debian packages Roost needs: `deps.sh` to build and run
# (make run), `deps.sh test` also for the test suite's real clients
# (make test). Idempotent: does nothing when everything is already there.
# `deps.sh --list [test]` prints the package names and installs nothing
# (scripts/check-test-deps.sh checks the tests' programs against them).
# Packages are installed without their Recommends, so whatever a test
# needs must be named here, even when Debian only recommends it.
set -e
list=""
if [ "${1:-}" = --list ]; then
	list=1
	shift
fi
PKGS="build-essential pkg-config libevent-dev libssl-dev libsqlite3-dev
libgmime-3.0-dev libcrypt-dev zlib1g-dev openssl libunbound-dev dns-root-data libsystemd-dev"
# DMARC's organizational domain: libpsl and Debian's Public Suffix List
PKGS="$PKGS libpsl-dev publicsuffix"
# the PostgreSQL store driver (src/store/db/db-pg.c)
PKGS="$PKGS libpq-dev"
if [ "${1:-}" = test ]; then
	PKGS="$PKGS sqlite3 python3 python3-pytest swaks fetchmail curl isync postfix
fail2ban"
	# two pytest workers (scripts/test.sh E2E_JOBS): the suite waits on
	# timeouts and outside programs more than it computes
	PKGS="$PKGS python3-pytest-xdist"
	# the outbound tests' private DNS (tests/e2e/outbound_net.py) and the
	# signed zone of the DANE tests (tests/e2e/dnssec_net.py)
	PKGS="$PKGS unbound ldnsutils"
	# the ACME test CA (tests/e2e/test_acme.py)
	PKGS="$PKGS pebble"
	# systemd-analyze verify for contrib/systemd (tests/e2e/test_init_profile.py)
	PKGS="$PKGS systemd"
	# swaks --tls (STARTTLS) needs Net::SSLeay, which swaks only recommends
	PKGS="$PKGS libnet-ssleay-perl"
	# the independent DKIM verifier (tests/e2e/test_dkim.py); dkimpy
	# verifies Ed25519 (RFC 8463) only with PyNaCl, which it recommends
	PKGS="$PKGS python3-dkim python3-nacl"
	# dnspython (under dkimpy) imports idna whenever it is installed, which
	# other packages pull in: name it, so the set does not depend on them
	PKGS="$PKGS python3-idna"
	# the private Dovecot of tests/e2e/test_migrate.py (IMAP and POP3)
	PKGS="$PKGS dovecot-imapd dovecot-pop3d"
	# a real load balancer sending PROXY v2 (tests/e2e/test_proxy_protocol.py)
	PKGS="$PKGS haproxy"
	# make fuzz: clang and its libFuzzer/sanitizer runtimes
	PKGS="$PKGS clang libclang-rt-14-dev"
	# a ManageSieve client (tests/e2e/test_managesieve.py)
	PKGS="$PKGS sieve-connect"
	# Roundcube's managesieve plugin in headless Chromium
	# (tests/e2e/test_roundcube_sieve.py, served by `php -S`). php8.2-cgi
	# named here satisfies php8.2's "libapache2-mod-php8.2 | php8.2-fpm |
	# php8.2-cgi", which apt would otherwise meet with Apache.
	PKGS="$PKGS roundcube-core roundcube-plugins roundcube-sqlite3 php8.2-cgi
chromium chromium-driver python3-selenium"
	# the private PostgreSQL of tests/e2e/pg_cluster.py (initdb, pg_ctl, psql)
	PKGS="$PKGS postgresql-15"
fi
if [ -n "$list" ]; then
	for p in $PKGS; do
		echo "$p"
	done
	exit 0
fi
# `roost serve` started as root drops to this system user (server.user).
add_user() {
	id roost >/dev/null 2>&1 && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "deps: the system user roost is missing (run as root to create it)" >&2
		return 0
	fi
	echo "deps: creating the system user roost"
	useradd --system --no-create-home --shell /usr/sbin/nologin roost
}
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	add_user
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# postfix is only for tests/e2e/test_postfix_lmtp.py, which runs a private
# instance: leave the system's Postfix unconfigured, so it never starts.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# Roundcube is only for tests/e2e/test_roundcube_sieve.py, which writes its
# own configuration: no database made by dbconfig-common, no web server
# configured or reloaded.
printf '%s\n' "roundcube-core roundcube/dbconfig-install boolean false" \
	"roundcube-core roundcube/reconfigure-webserver multiselect" \
	"roundcube-core roundcube/restart-webserver boolean false" | debconf-set-selections
# fail2ban is only for fail2ban-regex (tests/e2e/test_auth_throttle.py, test_fail2ban.py)
# and unbound for the outbound tests' private DNS (they run their own):
# no service may start on install (invoke-rc.d asks policy-rc.d; 101 = no).
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=1
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ -n "$own_policy" ] && rm -f "$policy"
add_user
