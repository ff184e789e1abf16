#!/bin/sh
# bench/pop3.sh: the POP3 download benchmark. Creates a fresh
# data directory with ACCOUNTS accounts (alice0..), preloads each inbox
# with MESSAGES messages of SIZE bytes over LMTP (`roost-load lmtp`),
# then runs `roost-load pop3`: SESSIONS clients, one per account, each
# RETRs and DELEs its whole inbox and QUITs. Prints roost-load's lines
# (messages/s and MB/s) and checks that every inbox ended up empty.
#
# Usage: bench/pop3.sh [SESSIONS [MESSAGES [SIZE [ACCOUNTS]]]]
#        defaults: 20 sessions, 100 messages per account of 51200 bytes,
#        20 accounts
# Environment: KEEP=1 keeps the data directory; PORT picks the POP3 port
# (default 21110; LMTP uses PORT+1).
set -eu
sessions=${1:-20}
per_account=${2:-100}
size=${3:-51200}
accounts=${4:-20}
port=${PORT:-21110}
lmtp_port=$((port + 1))
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

off="imap.listen= imaps.listen= pop3s.listen= smtp.listen= submission.listen= submissions.listen= http.listen= https.listen= managesieve.listen="
sets=""
for kv in $off; do sets="$sets --set $kv"; done
# shellcheck disable=SC2086
"$roost" -d "$data" serve --set server.user=root $sets --set pop3.listen=127.0.0.1:$port \
	--set lmtp.listen=127.0.0.1:$lmtp_port --set log.level=warn \
	--set server.max_connections_per_ip=10000 2>"$dir/serve.log" &
pid=$!
n=0
until ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port " &&
	ss -ltn 2>/dev/null | grep -q "127.0.0.1:$lmtp_port "; do
	n=$((n + 1))
	if [ "$n" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "bench: roost serve did not start:" >&2
		cat "$dir/serve.log" >&2
		exit 1
	fi
	sleep 0.1
done

total=$((per_account * accounts))
echo "bench: preloading $total messages of $size bytes over LMTP" >&2
"$load" lmtp -p "$lmtp_port" -c "$accounts" -n "$total" -s "$size" -a "$accounts" >&2
stored=$("$roost" -d "$data" user list | awk -F'\t' '{n += $4} END {print n}')
if [ "$stored" -ne "$total" ]; then
	echo "bench: preload stored $stored of $total messages" >&2
	exit 1
fi

echo "bench: pop3: $sessions sessions, $per_account messages of $size bytes each" >&2
status=0
"$load" pop3 -p "$port" -c "$sessions" -s "$size" -a "$accounts" || status=$?
left=$("$roost" -d "$data" user list | awk -F'\t' '{n += $4} END {print n}')
echo "bench: messages left after POP3: $left (of $stored)" >&2
exit $status
