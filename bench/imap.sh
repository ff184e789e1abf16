#!/bin/sh
# bench/imap.sh: the IMAP benchmarks (roost-load imap-* modes).
# Mailboxes are preloaded through the store's group-commit writer
# (build/bench-deliver into a fresh database, accounts user0..), then
# `roost serve` runs with IMAP on $PORT and IMAPS on $PORT+1.
#
# Usage: bench/imap.sh [mixed] [big] [idle] [idle-tls] [fsm] [fsm-login]
#        (default: all six; fsm = the state-machine stress, load-imap-fsm.c)
# Environment (small defaults; the issue's targets in brackets):
#   SESSIONS=10 [50]   imap-mixed sessions     OPS=2000      commands in all
#   ACCOUNTS=5 [50]    accounts for mixed      MSGS=200 [1000] per account
#   BIG=10000 [100000] messages for imap-big   IDLE_N=500 [10000] connections
#   SIZE=2048 message bytes; PORT=22143; KEEP=1 keeps the data directories.
set -eu
modes=${*:-mixed big idle idle-tls fsm fsm-login}
sessions=${SESSIONS:-10}
ops=${OPS:-2000}
accounts=${ACCOUNTS:-5}
msgs=${MSGS:-200}
big=${BIG:-10000}
idle_n=${IDLE_N:-500}
size=${SIZE:-2048}
port=${PORT:-22143}
root=$(cd "$(dirname "$0")/.." && pwd)
roost=$root/build/roost
load=$root/build/roost-load
deliver=$root/build/bench-deliver
[ -x "$roost" ] && [ -x "$load" ] && [ -x "$deliver" ] ||
	make -C "$root" --no-print-directory all build/roost-load build/bench-deliver >/dev/null

# 10,000 connections need file descriptors on both ends
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

dir=$(mktemp -d "${TMPDIR:-/tmp}/roost-imap-bench.XXXXXX")
pid=
stop() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
		pid=
	fi
}
cleanup() {
	stop
	[ "${KEEP:-0}" = 1 ] && echo "data directories kept: $dir" >&2 || rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# prepare NAME ACCOUNTS MESSAGES: a data directory with user0.. (password
# "secret") holding MESSAGES messages spread over the accounts.
prepare() {
	d=$dir/$1
	mkdir -p "$d.pre"
	echo "bench: preloading $3 messages into $2 account(s)" >&2
	"$deliver" -d "$d.pre" -n "$3" -a "$2" -w 4 -s "$size" >&2
	"$roost" -d "$d" init >/dev/null
	cp "$d.pre/roost.db" "$d/roost.db"
	rm -f "$d/roost.db-wal" "$d/roost.db-shm"
	i=0
	while [ "$i" -lt "$2" ]; do
		echo secret | "$roost" -d "$d" user passwd "user$i@example.com"
		i=$((i + 1))
	done
	rm -rf "$d.pre"
}

serve() {
	"$roost" -d "$dir/$1" serve --set server.user=root --set imap.listen=127.0.0.1:$port \
		--set imaps.listen=127.0.0.1:$((port + 1)) --set pop3.listen= --set pop3s.listen= \
		--set smtp.listen= --set lmtp.listen= --set submission.listen= \
		--set submissions.listen= --set http.listen= --set https.listen= --set log.level=warn \
		--set server.max_connections=30000 --set server.max_connections_per_ip=30000 \
		2>"$dir/serve-$1.log" &
	pid=$!
	n=0
	until ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port "; do
		n=$((n + 1))
		if [ "$n" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
			echo "bench: roost serve did not start:" >&2
			cat "$dir/serve-$1.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	export ROOST_PID=$pid
}

status=0
for m in $modes; do
	case $m in
	mixed)
		prepare mixed "$accounts" $((accounts * msgs))
		serve mixed
		echo "bench: imap-mixed: $sessions sessions, $ops commands, $accounts accounts x $msgs messages" >&2
		"$load" imap-mixed -p "$port" -c "$sessions" -n "$ops" -a "$accounts" -u user || status=$?
		stop
		;;
	fsm | fsm-login)
		[ -d "$dir/fsm" ] || prepare fsm "$accounts" $((accounts * msgs))
		serve fsm
		echo "bench: imap-$m: $sessions sessions over $accounts accounts, $ops commands" >&2
		"$load" "imap-$m" -p "$port" -c "$sessions" -n "$ops" -a "$accounts" -u user || status=$?
		stop
		;;
	big)
		prepare big 1 "$big"
		serve big
		echo "bench: imap-big: SELECT + UID FETCH 1:* (UID FLAGS) on $big messages" >&2
		"$load" imap-big -p "$port" -n 3 -u user || status=$?
		stop
		;;
	idle | idle-tls)
		[ -d "$dir/idle" ] || prepare idle 1 10
		serve idle
		p=$port
		[ "$m" = idle-tls ] && p=$((port + 1))
		echo "bench: imap-$m: $idle_n connections" >&2
		"$load" "imap-$m" -p "$p" -c "$idle_n" -u user || status=$?
		stop
		;;
	*)
		echo "bench: unknown mode $m" >&2
		exit 64
		;;
	esac
done
exit $status
