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
# the PostgreSQL store driver (src/store/db/db-pg.c)
PKGS="$PKGS libpq-dev"
if [ "${1:-}" = test ]; then
	PKGS="$PKGS sqlite3 python3 python3-pytest swaks fetchmail curl isync postfix
fail2ban"
	# the outbound tests' private DNS (tests/e2e/outbound_net.py)
	PKGS="$PKGS unbound"
	# systemd-analyze verify for contrib/systemd (tests/e2e/test_init_profile.py)
	PKGS="$PKGS systemd"
	# swaks --tls (STARTTLS) needs Net::SSLeay, which swaks only recommends
	PKGS="$PKGS libnet-ssleay-perl"
	# the independent DKIM verifier (tests/e2e/test_dkim.py); dkimpy
	# verifies Ed25519 (RFC 8463) only with PyNaCl, which it recommends
	PKGS="$PKGS python3-dkim python3-nacl"
	# the private Dovecot of tests/e2e/test_migrate.py (IMAP and POP3)
	PKGS="$PKGS dovecot-imapd dovecot-pop3d"
	# a real load balancer sending PROXY v2 (tests/e2e/test_proxy_protocol.py)
	PKGS="$PKGS haproxy"
	# make fuzz: clang and its libFuzzer/sanitizer runtimes
	PKGS="$PKGS clang libclang-rt-14-dev"
	# a ManageSieve client (tests/e2e/test_managesieve.py)
	PKGS="$PKGS sieve-connect"
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
