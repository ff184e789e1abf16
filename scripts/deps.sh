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
libgmime-3.0-dev libcrypt-dev zlib1g-dev openssl"
if [ "${1:-}" = test ]; then
	PKGS="$PKGS sqlite3 python3 python3-pytest swaks fetchmail curl isync postfix"
	# swaks --tls (STARTTLS) needs Net::SSLeay, which swaks only recommends
	PKGS="$PKGS libnet-ssleay-perl"
	# make fuzz: clang and its libFuzzer/sanitizer runtimes
	PKGS="$PKGS clang libclang-rt-14-dev"
fi
if [ -n "$list" ]; then
	for p in $PKGS; do
		echo "$p"
	done
	exit 0
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# postfix is only for tests/e2e/test_postfix_lmtp.py, which runs a private
# instance: leave the system's Postfix unconfigured, so it never starts.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
