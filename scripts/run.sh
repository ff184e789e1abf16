#!/bin/sh
# What `make run` runs after building: on first use create ./var (config,
# self-signed TLS certificate, database) with the domain example.com and
# the account demo@example.com, whose random password is printed once and
# stored nowhere but as a hash; then run `roost serve` in the foreground.
# As root, serve drops to the system user roost (created here if missing,
# as scripts/deps.sh does), which must be able to reach ./var.
set -eu
roost=${ROOST_BIN:-build/roost}
dir=var
demo=demo@example.com

if [ ! -e "$dir/roost.conf" ]; then
	"$roost" -d "$dir" init
	"$roost" -d "$dir" domain add example.com
	password=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 16)
	printf '%s\n' "$password" | "$roost" -d "$dir" user add "$demo"
	echo
	echo "Demo account: $demo / $password"
	unset password
else
	echo
	echo "Demo account: $demo (its password was printed on the first run;"
	echo "  reset it with: $roost -d $dir user passwd $demo)"
fi
cat <<INFO

Connect (default ports on 127.0.0.1; see $dir/roost.conf):
  IMAP  127.0.0.1:1143 (STARTTLS)   IMAPS 127.0.0.1:1993
  POP3  127.0.0.1:1110 (STLS)       POP3S 127.0.0.1:1995
  SMTP  127.0.0.1:2525              LMTP  127.0.0.1:2424
  Submission 127.0.0.1:1587 (STARTTLS, AUTH)   Submissions 127.0.0.1:1465
  ManageSieve 127.0.0.1:4190 (Sieve filters, STARTTLS)
  HTTP  127.0.0.1:8080              HTTPS 127.0.0.1:8443 (autoconfig, /metrics)
The TLS certificate is self-signed for localhost: $dir/tls/cert.pem
Deliver a test message: printf 'Subject: hi\n\nhello\n' | $roost -d $dir deliver $demo
Stop with Ctrl-C.

INFO
as_root=""
if [ "$(id -u)" = 0 ]; then
	id roost >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin roost
	# serve hands ./var to roost, but every directory above it must be
	# searchable by roost too (a checkout under /root usually is not).
	if ! runuser -u roost -- test -x "$(pwd)"; then
		echo "note: the user roost cannot reach $(pwd); this demo runs as root"
		echo "  (server.user = root). Move the checkout, or chmod o+x its parents."
		as_root="--set server.user=root"
	fi
fi
# shellcheck disable=SC2086
exec "$roost" -d "$dir" serve $as_root
