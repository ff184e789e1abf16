#!/bin/sh
# bench/expunge-view.sh [N=100000]: a mailbox of N small messages, two
# sessions selected on it; session B flags the first N/2 \Deleted and
# EXPUNGEs them, then session A's NOOP receives the N/2 EXPUNGE responses.
# Prints B's EXPUNGE time and A's NOOP time (the view compaction on the
# loop, issue 17). Needs `make`.
set -eu
N=${1:-100000}
cd "$(dirname "$0")/.."
B=$PWD/build
T=$(mktemp -d)
trap 'kill $S 2>/dev/null || true; rm -rf "$T"' EXIT
S=
$B/roost -d "$T/var" init >/dev/null
$B/roost -d "$T/var" domain add example.com
echo secret | $B/roost -d "$T/var" user add bench@example.com
$B/roost -d "$T/var" user quota bench@example.com unlimited unlimited
/usr/bin/python3 - "$T/Maildir" "$N" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(root, d))
for i in range(n):
    with open(os.path.join(root, "cur", "17%08d.M%dP1.bench:2,S" % (i, i)), "wb") as f:
        f.write(b"From: a@example.net\r\nSubject: bench %d\r\n\r\nbody\r\n" % i)
PY
$B/roost -d "$T/var" import maildir bench@example.com "$T/Maildir" >/dev/null
set -- $(/usr/bin/python3 -c 'import socket
for _ in range(4):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
$B/roost -d "$T/var" serve --set imap.listen=127.0.0.1:$1 --set server.user=root \
  --set pop3.listen=127.0.0.1:$2 --set smtp.listen=127.0.0.1:$3 --set lmtp.listen=127.0.0.1:$4 \
  --set dns.resolver=127.0.0.1@9 --set http.listen= 2>"$T/log" &
S=$!
[ -n "${PERF:-}" ] && { perf record -g -o "$PERF" -p $S 2>/dev/null & }
for i in $(seq 100); do [ -S "$T/var/control.sock" ] && break; sleep 0.1; done
/usr/bin/python3 - "$1" "$N" <<'PY'
import imaplib, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
a = imaplib.IMAP4("127.0.0.1", port)
b = imaplib.IMAP4("127.0.0.1", port)
for c in (a, b):
    c.login("bench@example.com", "secret")
    t0 = time.time()
    c.select("INBOX")
    print("SELECT of %d messages: %.3f s" % (n, time.time() - t0))
b.store("1:%d" % (n // 2), "+FLAGS.SILENT", "(\\Deleted)")
t0 = time.time()
b.expunge()
print("EXPUNGE of %d (session B): %.3f s" % (n // 2, time.time() - t0))
t0 = time.time()
typ, data = a.noop()
gone = len(a.untagged_responses.get("EXPUNGE", []))
print("NOOP with %d EXPUNGE responses (session A): %.3f s" % (gone, time.time() - t0))
PY
