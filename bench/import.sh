#!/bin/sh
# bench/import.sh: `roost import maildir` rate (messages/s, MB/s) for a
# generated Maildir of N messages of S bytes, then `roost backup` time and
# size of the result. No daemon runs: the import commits each message
# itself (through a daemon its ops share the writer's group commits).
#
#   bench/import.sh [N=100000] [S=4096]
# (the issue's size is 100,000; on a shared machine run a small N)
set -eu
N=${1:-100000}
S=${2:-4096}
cd "$(dirname "$0")/.."
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
build/roost -d "$T/var" init >/dev/null
build/roost -d "$T/var" domain add example.com
echo secret | build/roost -d "$T/var" user add bench@example.com
build/roost -d "$T/var" user quota bench@example.com unlimited unlimited
/usr/bin/python3 - "$T/Maildir" "$N" "$S" <<'PY'
import os, sys
root, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(root, d))
line = b"abcdefghij klmnopqrst uvwxyz0123 456789ABCD EFGHIJKLMN OPQRSTUVWX\r\n"
body = line * max(1, size // len(line))
for i in range(n):
    with open(os.path.join(root, "cur", "17%08d.M%dP1.bench:2,S" % (i, i)), "wb") as f:
        f.write(b"From: a@example.net\r\nSubject: bench %d\r\n\r\n" % i + body)
PY
bytes=$(du -sb "$T/Maildir" | cut -f1)
now() { date +%s.%N; }
t0=$(now)
build/roost -d "$T/var" import maildir bench@example.com "$T/Maildir"
t1=$(now)
build/roost -d "$T/var" backup "$T/backup" >/dev/null
t2=$(now)
bk=$(du -sb "$T/backup" | cut -f1)
awk -v n="$N" -v b="$bytes" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v bk="$bk" 'BEGIN {
	printf "import: %d messages, %.1f MB in %.2f s: %.0f messages/s, %.1f MB/s\n",
	       n, b / 1e6, t1 - t0, n / (t1 - t0), b / 1e6 / (t1 - t0)
	printf "backup: %.2f s, %.1f MB\n", t2 - t1, bk / 1e6 }'
