#!/bin/sh
# A manual check of client autoconfiguration with a real Thunderbird (issue
# 16; not part of `make test`). Everything runs in a private network
# namespace that has only `lo`, with its own /etc/hosts (bind-mounted in a
# private mount namespace; the real one is never touched) naming
# example.com, autoconfig.example.com and mail.example.com 127.0.0.1, so
# Thunderbird reaches nothing but Roost (no ISPDB, updates or telemetry).
#
#   scripts/thunderbird-check.sh start     # Roost + a delivered message, Xvfb, Thunderbird
#   scripts/thunderbird-check.sh shot NAME # screenshot to $SHOTS/NAME.png
#   scripts/thunderbird-check.sh run CMD.. # a command in the namespace (DISPLAY set)
#   scripts/thunderbird-check.sh stop      # stop everything, remove $WORK
#
# ROOST_BIN (default build/roost), WORK (/tmp/tb-check), SHOTS
# (/tmp/tb-shots), ROOST_SET (more "--set key=value" for serve).
# As root (unshare, ports 80/443/143/...). Needs: thunderbird xvfb xdotool
# imagemagick (apt-get install -y thunderbird xvfb xdotool imagemagick).
set -eu
roost=${ROOST_BIN:-build/roost}
work=${WORK:-/tmp/tb-check}
shots=${SHOTS:-/tmp/tb-shots}
display=${TB_DISPLAY:-:99}
address=alice@example.com
password=${TB_PASSWORD:-alice-secret-1}

# Run "$@" inside the namespace held by the sleeper started by `start`.
in_ns() {
	nsenter -t "$(cat "$work/ns.pid")" -n -m env DISPLAY="$display" HOME="$work/home" "$@"
}

# The same, replacing the shell: `ns_exec CMD &` makes $! the pid of CMD.
ns_exec() {
	exec nsenter -t "$(cat "$work/ns.pid")" -n -m env DISPLAY="$display" HOME="$work/home" "$@"
}

# Wait up to 30 s for CMD to succeed (a listener coming up).
wait_for() {
	i=0
	until in_ns "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 60 ] || { echo "timed out: $*" >&2; exit 1; }
		sleep 0.5
	done
}

start() {
	[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
	[ ! -e "$work" ] || { echo "$work exists: run '$0 stop' first" >&2; exit 1; }
	[ -x "$roost" ] || { echo "$roost: not built (make, or set ROOST_BIN)" >&2; exit 1; }
	roost=$(realpath "$roost")
	for t in thunderbird Xvfb xdotool import unshare nsenter curl openssl; do
		command -v $t >/dev/null || { echo "missing: $t" >&2; exit 1; }
	done
	mkdir -p "$work/home" "$work/var/tls" "$shots"
	printf '127.0.0.1 localhost\n127.0.0.1 example.com autoconfig.example.com mail.example.com\n::1 localhost\n' \
		>"$work/hosts"

	# A self-signed certificate for the names clients are told to use;
	# init keeps a certificate that is already there.
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mail.example.com \
		-addext subjectAltName=DNS:mail.example.com,DNS:autoconfig.example.com,DNS:example.com \
		-keyout "$work/var/tls/key.pem" -out "$work/var/tls/cert.pem" 2>/dev/null
	"$roost" -d "$work/var" init
	"$roost" -d "$work/var" domain add example.com
	printf '%s\n' "$password" | "$roost" -d "$work/var" user add "$address"

	# The namespace: a sleeper that holds it; the rest joins with nsenter.
	# shellcheck disable=SC2016 # $1 and $$ are the inner shell's
	unshare --net --mount --fork sh -c '
		mount --make-rprivate / && mount --bind "$1/hosts" /etc/hosts &&
		ip link set lo up && echo $$ >"$1/ns.pid" && exec sleep infinity' sh "$work" \
		>/dev/null 2>&1 &
	i=0
	until [ -s "$work/ns.pid" ]; do
		i=$((i + 1)); [ $i -lt 50 ] || { echo "namespace did not start" >&2; exit 1; }
		sleep 0.1
	done

	# Standard ports, as a provider would run them (the namespace has
	# only loopback, so 127.0.0.1 is all there is to bind).
	# shellcheck disable=SC2086 # ROOST_SET: several --set key=value words
	ns_exec "$roost" -d "$work/var" serve \
		--set server.user=root --set server.hostname=mail.example.com \
		--set http.listen=127.0.0.1:80 --set https.listen=127.0.0.1:443 \
		--set imap.listen=127.0.0.1:143 --set imaps.listen=127.0.0.1:993 \
		--set pop3.listen=127.0.0.1:110 --set pop3s.listen=127.0.0.1:995 \
		--set submission.listen=127.0.0.1:587 --set submissions.listen=127.0.0.1:465 \
		--set smtp.listen=127.0.0.1:25 ${ROOST_SET:-} \
		>"$work/roost.log" 2>&1 &
	echo $! >"$work/roost.pid"
	wait_for curl -sf "http://autoconfig.example.com/mail/config-v1.1.xml?emailaddress=$address"
	printf 'Date: %s\nMessage-ID: <tb-check-%s@example.com>\nFrom: check@example.com\nTo: %s\nSubject: Roost Thunderbird check\n\nIf you read this in Thunderbird, autoconfig and IMAP work.\n' \
		"$(date -R)" "$(date +%s)" "$address" | in_ns "$roost" -d "$work/var" deliver "$address"

	ns_exec Xvfb "$display" -screen 0 1280x1024x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
	echo $! >"$work/xvfb.pid"
	wait_for xdpyinfo
	# A fresh profile; the prefs only keep unrelated first-run prompts
	# (default client, updates, telemetry) out of the way.
	mkdir -p "$work/profile"
	cat >"$work/profile/user.js" <<'PREFS'
user_pref("mail.shell.checkDefaultClient", false);
user_pref("app.update.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
PREFS
	ns_exec thunderbird --profile "$work/profile" --no-remote >"$work/thunderbird.log" 2>&1 &
	echo $! >"$work/thunderbird.pid"

	cat <<INFO
Running in the namespace (pid $(cat "$work/ns.pid")): Roost (log $work/roost.log),
Xvfb $display, Thunderbird $(thunderbird --version 2>/dev/null | sed 's/.* //') on the fresh profile $work/profile.
Account: $address / $password; one message delivered to its INBOX.
What Thunderbird will be given:
  $0 run curl -s 'http://autoconfig.example.com/mail/config-v1.1.xml?emailaddress=$address'
Screenshots: $0 shot NAME  (to $shots/NAME.png). Typing and clicks:
  $0 run xdotool type 'text'    $0 run xdotool key Tab
  $0 run xdotool mousemove X Y click 1    (no window manager: click to focus)
Steps and what to expect (README, "Client autoconfiguration"):
 1. The welcome dialog: Full name (prefilled with the login name), Email
    address $address, Continue.
 2. "Account settings found automatically", Show more: "Configuration found
    at email provider"; IMAP mail.example.com 993, SMTP mail.example.com 465,
    SSL/TLS, Normal password, username $address (Edit configuration shows
    each server in full). Roost's log shows the GETs of
    /mail/config-v1.1.xml and /.well-known/autoconfig/mail/config-v1.1.xml.
 3. Continue, the password ($password), Continue: a certificate exception
    for mail.example.com:993 (self-signed): Confirm Security Exception.
    Thunderbird logs in and creates the account; it then probes
    https://example.com and https://mail.example.com (address book and
    calendar discovery): two more exceptions, or Cancel and Skip.
 4. Finish; the INBOX shows "Roost Thunderbird check" from check@example.com.
 5. Optional: write to $address; the first send fails ("not trusted because
    it is self-signed"), OK offers the exception for mail.example.com:465;
    send again: the message arrives, with one copy in Sent.
Roost's log: $work/roost.log; per-session protocol traces:
  $0 run $roost -d $work/var user trace $address on   (files in $work/var/trace/)
Stop: $0 stop
INFO
}

stop() {
	# The namespace holder last (the namespace goes with it).
	for p in thunderbird xvfb roost ns; do
		if [ -s "$work/$p.pid" ]; then
			kill "$(cat "$work/$p.pid")" 2>/dev/null || true
			sleep 1
		fi
	done
	rm -rf "$work"
	echo "stopped; screenshots kept in $shots"
}

case ${1:-} in
start) start ;;
stop) stop ;;
shot) in_ns import -window root "$shots/${2:?name}.png" && echo "$shots/$2.png" ;;
run) shift; in_ns "$@" ;;
*) echo "usage: $0 start|shot NAME|run CMD...|stop" >&2; exit 64 ;;
esac
