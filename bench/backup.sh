#!/bin/sh
# bench/backup.sh: `roost backup` time and size for a store of N messages
# of S bytes, and why it uses VACUUM INTO: the same copy through SQLite's
# online backup API (sqlite3_backup_step, 64 pages a step) idle and while
# another connection commits every few milliseconds (a daemon taking
# deliveries), where each commit restarts the copy from page 1.
#
#   bench/backup.sh [N=20000] [S=4096]
# (make bench first; keep N small on a shared machine)
set -eu
N=${1:-20000}
S=${2:-4096}
cd "$(dirname "$0")/.."
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/var"
build/bench-deliver -n "$N" -s "$S" -w 4 -a 10 -d "$T/var" >/dev/null
: > "$T/var/roost.conf"
now() { date +%s.%N; }
t0=$(now)
build/roost -d "$T/var" backup "$T/b" >/dev/null
t1=$(now)
build/roost backup verify "$T/b" >/dev/null
t2=$(now)
db=$(stat -c %s "$T/var/roost.db")
bk=$(du -sb "$T/b" | cut -f1)
echo "messages $N x $S bytes: database $db bytes"
echo "roost backup: $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s, $bk bytes;" \
     "backup verify: $(awk "BEGIN{printf \"%.2f\", $t2 - $t1}") s"
/usr/bin/python3 - "$T/var/roost.db" "$T" <<'PY'
import sqlite3, sys, threading, time, os
src, tmp = sys.argv[1], sys.argv[2]

def copy(name, busy):
    stop = threading.Event()
    def writer():
        w = sqlite3.connect(src, timeout=30)
        i = 0
        while not stop.is_set():
            w.execute("INSERT OR REPLACE INTO meta VALUES ('bench-tick', ?)", (str(i),))
            w.commit()
            i += 1
            time.sleep(0.005)
        w.close()
    t = threading.Thread(target=writer)
    if busy:
        t.start()
    restarts = [0, None]
    def progress(status, remaining, total):
        if restarts[1] is not None and remaining > restarts[1]:
            restarts[0] += 1
        restarts[1] = remaining
    s = sqlite3.connect("file:%s?mode=ro" % src, uri=True)
    d = sqlite3.connect(os.path.join(tmp, name))
    t0 = time.time()
    deadline = t0 + 30
    done = True
    try:
        if name.startswith("vacuum"):
            d.close()
            os.unlink(os.path.join(tmp, name))
            s.execute("VACUUM INTO ?", (os.path.join(tmp, name),))
            d = sqlite3.connect(os.path.join(tmp, name))
        else:
            s.backup(d, pages=64, progress=progress)
    except Exception:
        done = False
    el = time.time() - t0
    stop.set()
    if busy:
        t.join()
    print("%s, %s: %.2f s, %d restarts%s" % (
        "VACUUM INTO" if name.startswith("vacuum") else "backup API, 64 pages/step",
        "with commits every 5 ms" if busy else "idle", el, restarts[0],
        "" if done else " (failed)"))
    s.close(); d.close()
    os.unlink(os.path.join(tmp, name))

copy("idle.db", False)
copy("busy.db", True)
copy("vacuum-busy.db", True)
PY
