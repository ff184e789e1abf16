#!/bin/sh
# bench/hostile.sh: "hostile neighbours". CLIENTS normal IMAP clients run
# the imap-mixed workload (roost-load imap-mixed) twice: alone, then while
# ATTACKERS attackers of each abuse (roost-load hostile: non-reading
# pipeliner, pre-login huge APPEND literal, hostile SEARCH/SORT/THREAD,
# slow-loris, password guessing) run from 127.0.0.2. Prints the normal
# clients' p50/p99 for both runs and the daemon's peak RSS in each.
#
# The hostile account (mallory) holds the issue-12 messages: a To: of
# 100,000 encoded-word names (~3.8 MB) and a folded Subject of 200,000
# words; search.fts=no keeps every text SEARCH on the slow path (reading
# the messages), as if the indexer had not reached them yet.
#
# Usage: bench/hostile.sh
# Environment (defaults; keep them small on a shared machine):
#   CLIENTS=1000  normal sessions      OPS=20000 their commands in all
#   ACCOUNTS=50   accounts for them    MSGS=100  messages per account
#   ATTACKERS=10  attackers per abuse  DURATION=30 attack seconds (must
#                 outlast the mixed run; a warning says when it did not)
#   HOSTILE_KINDS=pipeliner,append,search,loris,guess (default all): the
#                 abuses to run, to see what each one costs
#   SIZE=2048; PORT=23143; KEEP=1 keeps the data directory.
set -eu
clients=${CLIENTS:-1000}
ops=${OPS:-20000}
accounts=${ACCOUNTS:-50}
msgs=${MSGS:-100}
attackers=${ATTACKERS:-10}
duration=${DURATION:-30}
size=${SIZE:-2048}
port=${PORT:-23143}
root=$(cd "$(dirname "$0")/.." && pwd)
roost=$root/build/roost
load=$root/build/roost-load
deliver=$root/build/bench-deliver
make -C "$root" --no-print-directory all build/roost-load build/bench-deliver >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

dir=$(mktemp -d "${TMPDIR:-/tmp}/roost-hostile-bench.XXXXXX")
pid=
sampler=
attack=
cleanup() {
	for p in $attack $sampler; do kill "$p" 2>/dev/null || true; done
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	fi
	[ "${KEEP:-0}" = 1 ] && echo "data directory kept: $dir" >&2 || rm -rf "$dir"
}
trap cleanup EXIT INT TERM

d=$dir/data
mkdir -p "$d.pre"
echo "bench: preloading $((accounts * msgs)) messages into $accounts accounts" >&2
"$deliver" -d "$d.pre" -n $((accounts * msgs)) -a "$accounts" -w 4 -s "$size" >&2
"$roost" -d "$d" init >/dev/null
cp "$d.pre/roost.db" "$d/roost.db"
rm -rf "$d.pre" "$d/roost.db-wal" "$d/roost.db-shm"
i=0
while [ "$i" -lt "$accounts" ]; do
	echo secret | "$roost" -d "$d" user passwd "user$i@example.com"
	i=$((i + 1))
done
echo secret | "$roost" -d "$d" user add mallory@example.com
/usr/bin/python3 - "$dir" <<'EOF'
import sys
d = sys.argv[1]
to = [b"From: m@example.net\r\nTo: "]
for i in range(100000):
    to.append(b"%s=?utf-8?q?N=C3=A4me_%d?= <u%d@example.com>" % (b",\r\n " if i else b"", i, i))
to.append(b"\r\nSubject: big to\r\nMessage-ID: <to@example.net>\r\n\r\nthe invoice\r\n")
open(d + "/to.eml", "wb").write(b"".join(to))
sj = [b"From: m@example.net\r\nTo: x@example.com\r\nSubject: Re:"]
for i in range(200000):
    sj.append(b"%sw\xc3\xb6rd%d" % (b"\r\n " if i % 10 == 9 else b" ", i))
sj.append(b"\r\nReferences: <to@example.net>\r\n\r\nno money\r\n")
open(d + "/subject.eml", "wb").write(b"".join(sj))
EOF
"$roost" -d "$d" deliver mallory@example.com <"$dir/to.eml"
"$roost" -d "$d" deliver mallory@example.com <"$dir/subject.eml"

"$roost" -d "$d" serve --set server.user=root --set imap.listen=127.0.0.1:$port --set imaps.listen= \
	--set pop3.listen= --set pop3s.listen= --set smtp.listen= --set lmtp.listen= \
	--set submission.listen= --set submissions.listen= --set http.listen= --set https.listen= \
	--set log.level=warn \
	--set search.fts=no \
	--set server.max_connections=30000 --set server.max_connections_per_ip=30000 \
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

# RSS of the daemon every 0.2 s, one "kB" number a line
rss_file=$dir/rss
: >"$rss_file"
(while kill -0 "$pid" 2>/dev/null; do
	awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true
	sleep 0.2
done) >>"$rss_file" &
sampler=$!
peak_since() { tail -n "+$1" "$rss_file" | sort -n | tail -1; }
lines() { wc -l <"$rss_file"; }

mixed() {
	"$load" imap-mixed -p "$port" -c "$clients" -n "$ops" -a "$accounts" -u user 2>"$dir/mixed-$1.err"
}

start=$(($(lines) + 1))
echo "bench: $clients normal clients, $ops commands, no attackers" >&2
alone=$(mixed alone) || { cat "$dir/mixed-alone.err" >&2; exit 1; }
rss_alone=$(peak_since "$start")

start=$(($(lines) + 1))
echo "bench: again, with $attackers attackers of each abuse for ${duration}s" >&2
"$load" hostile -p "$port" -c "$attackers" -n "$duration" -u mallory 2>"$dir/hostile.err" \
	>"$dir/hostile.out" &
attack=$!
sleep 2
t0=$(date +%s)
with=$(mixed attacked) || { cat "$dir/mixed-attacked.err" >&2; }
t1=$(date +%s)
rss_with=$(peak_since "$start")
[ $((t1 - t0 + 2)) -lt "$duration" ] ||
	echo "bench: warning: the mixed run outlasted the attack (raise DURATION)" >&2
wait "$attack" || true
attack=

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
echo "without attackers: $alone"
echo "with attackers:    $with"
echo "attackers:         $(cat "$dir/hostile.out")"
sed 's/^/  /' "$dir/hostile.err"
printf 'summary: clients=%s p50 %s -> %s, p99 %s -> %s, errors %s -> %s; peak RSS %s kB -> %s kB\n' \
	"$clients" "$(field "$alone" p50)" "$(field "$with" p50)" \
	"$(field "$alone" p99)" "$(field "$with" p99)" \
	"$(field "$alone" errors)" "$(field "$with" errors)" "$rss_alone" "$rss_with"
