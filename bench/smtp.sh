#!/bin/sh
# bench/smtp.sh: the SMTP load benchmark. Creates a fresh data
# directory with ACCOUNTS accounts (alice0..), starts `roost serve` with
# only SMTP listening, runs `roost-load smtp`, stops the daemon and prints
# roost-load's summary line. Every message is durable before its 250.
#
# Usage: bench/smtp.sh [SESSIONS [MESSAGES [SIZE [ACCOUNTS]]]]
#        defaults: 50 sessions, 100000 messages of 4096 bytes, 1000 accounts
# Environment: MODE=lmtp runs the same load over LMTP; KEEP=1 keeps the
# data directory; PORT picks the port (default 22525); SIEVE=N gives every
# account an active Sieve script of N rules (header, address and envelope
# tests that do not match, so every rule runs and the message is kept).
set -eu
sessions=${1:-50}
messages=${2:-100000}
size=${3:-4096}
accounts=${4:-1000}
mode=${MODE:-smtp}
port=${PORT:-22525}
root=$(cd "$(dirname "$0")/.." && pwd)
roost=$root/build/roost
load=$root/build/roost-load
[ -x "$roost" ] && [ -x "$load" ] || make -C "$root" --no-print-directory bench >/dev/null

dir=$(mktemp -d "${TMPDIR:-/tmp}/roost-bench.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] && echo "data directory kept: $dir" >&2 || rm -rf "$dir"
}
trap cleanup EXIT INT TERM

data=$dir/var
"$roost" -d "$data" init >/dev/null
"$roost" -d "$data" domain add example.com
echo "bench: creating $accounts accounts" >&2
i=0
while [ "$i" -lt "$accounts" ]; do
	echo "alice$i@example.com"
	i=$((i + 1))
done | xargs -P 2 -I{} sh -c 'echo secret | "$0" -d "$1" user add "{}"' "$roost" "$data"
if [ "${SIEVE:-0}" -gt 0 ]; then
	script=$dir/rules.sieve
	echo 'require ["fileinto", "envelope", "imap4flags"];' >"$script"
	r=0
	while [ "$r" -lt "$SIEVE" ]; do
		case $((r % 3)) in
		0) echo "if header :contains \"subject\" \"nomatch$r\" { fileinto \"Junk\"; stop; }" ;;
		1) echo "if address :domain :is \"from\" \"nomatch$r.test\" { addflag \"\\\\Flagged\"; }" ;;
		2) echo "if envelope :localpart :is \"from\" \"nomatch$r\" { discard; stop; }" ;;
		esac
		r=$((r + 1))
	done >>"$script"
	echo "bench: a $SIEVE-rule Sieve script for every account" >&2
	i=0
	while [ "$i" -lt "$accounts" ]; do
		"$roost" -d "$data" sieve put "alice$i@example.com" rules <"$script"
		"$roost" -d "$data" sieve activate "alice$i@example.com" rules
		i=$((i + 1))
	done
fi

off="imap.listen= imaps.listen= pop3.listen= pop3s.listen= submission.listen= submissions.listen= http.listen= https.listen= managesieve.listen="
sets=""
for kv in $off; do sets="$sets --set $kv"; done
if [ "$mode" = lmtp ]; then
	sets="$sets --set smtp.listen= --set lmtp.listen=127.0.0.1:$port"
else
	sets="$sets --set lmtp.listen= --set smtp.listen=127.0.0.1:$port"
fi
# shellcheck disable=SC2086
"$roost" -d "$data" serve --set server.user=root $sets --set log.level=warn --set server.max_connections_per_ip=10000 \
	2>"$dir/serve.log" &
pid=$!
n=0
until ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port "; do
	n=$((n + 1))
	if [ "$n" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "bench: roost serve did not start:" >&2
		cat "$dir/serve.log" >&2
		exit 1
	fi
	sleep 0.1
done

echo "bench: $mode: $sessions sessions, $messages messages of $size bytes to $accounts accounts" >&2
status=0
"$load" "$mode" -p "$port" -c "$sessions" -n "$messages" -s "$size" -a "$accounts" || status=$?
# the daemon's own CPU time (all threads), steadier than msg/s on a busy machine
if [ -r "/proc/$pid/stat" ]; then
	ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	hz=$(getconf CLK_TCK)
	echo "bench: server cpu: $((ticks * 1000 / hz)) ms, $((ticks * 1000000 / hz / messages)) us per message" >&2
fi
stored=$("$roost" -d "$data" user list | awk -F'\t' '{n += $4} END {print n}')
echo "bench: messages stored: $stored" >&2
exit $status
