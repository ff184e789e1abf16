#!/bin/sh
# bench/migrate.sh: moving a mailbox of N messages of S bytes out of a
# private Dovecot (dovecot-imapd on 127.0.0.1, its own config, passwd-file
# and maildir in a temp dir, as tests/e2e/test_migrate.py does), all in one
# run, one line per figure:
#   - Dovecot's first look at the generated Maildir (IMAP STATUS: it writes
#     dovecot-uidlist and its index),
#   - `roost import dovecot` of that Maildir (files read directly),
#   - `roost migrate imap://` from the running Dovecot (over loopback IMAP,
#     password in ROOST_MIGRATE_PASSWORD),
#   - `roost backup` of each resulting store, time and size,
#   - `doveadm backup` (dsync) of the same mailbox into a fresh maildir,
#     time and size, for comparison.
# Each Roost command runs without a daemon into its own data directory.
#
#   bench/migrate.sh [N=100000] [S=4096]
# (root: Dovecot runs its mail processes as nobody; make build/roost first;
# the issue's size is 100,000, on a shared machine try a small N first)
set -eu
N=${1:-100000}
S=${2:-4096}
cd "$(dirname "$0")/.."
ROOST=$PWD/build/roost
T=$(mktemp -d /tmp/roost-benchmig.XXXXXX)
chmod 755 "$T"
DPID=
cleanup() {
	if [ -n "$DPID" ]; then
		kill "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
USER=old@example.org
PASS=oldpass
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { # label t0 t1 count bytes
	awk -v l="$1" -v t0="$2" -v t1="$3" -v n="$4" -v b="$5" 'BEGIN {
		printf "%s: %d messages, %.1f MB in %.2f s: %.0f messages/s, %.1f MB/s\n",
		       l, n, b / 1e6, t1 - t0, n / (t1 - t0), b / 1e6 / (t1 - t0) }'
}
size() { awk -v b="$(du -sb "$1" | cut -f1)" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

# ---- the source: a Maildir and a private Dovecot serving it ----
IMAP=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$T/dc/run" "$T/dc/state" "$T/mail/example.org/old" "$T/dsync"
printf '%s:{PLAIN}%s::::::\n' "$USER" "$PASS" > "$T/dc/users"
cat > "$T/dc/dovecot.conf" <<EOF
protocols = imap
listen = 127.0.0.1
base_dir = $T/dc/run
state_dir = $T/dc/state
instance_name = roostbench-$IMAP
log_path = $T/dc/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:~/Maildir
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login
ssl = no
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $T/dc/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $T/dc/users
  default_fields = home=$T/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP
  }
  inet_listener imaps {
    port = 0
  }
}
namespace inbox {
  inbox = yes
  separator = /
}
EOF
MD=$T/mail/example.org/old/Maildir
/usr/bin/python3 - "$MD" "$N" "$S" <<'PY'
import os, sys
root, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(root, d))
line = b"abcdefghij klmnopqrst uvwxyz0123 456789ABCD EFGHIJKLMN OPQRSTUVWX\r\n"
body = line * max(1, size // len(line))
for i in range(n):
    flags = "S" if i % 3 else "FS"
    with open(os.path.join(root, "cur", "17%08d.M%dP1.bench:2,%s" % (i, i, flags)), "wb") as f:
        f.write(b"From: a@example.org\r\nTo: old@example.org\r\nSubject: bench %d\r\n"
                b"Message-ID: <bench%d@example.org>\r\n\r\n" % (i, i) + body)
PY
bytes=$(du -sb "$MD/cur" | cut -f1)
chown -R nobody:nogroup "$T/mail" "$T/dsync"
dovecot -F -c "$T/dc/dovecot.conf" >/dev/null 2>&1 &
DPID=$!
/usr/bin/python3 - "$IMAP" <<'PY'
import socket, sys, time
deadline = time.time() + 20
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("dovecot did not start")
        time.sleep(0.1)
PY
echo "source: $N messages of $S bytes in one INBOX, $(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }'); Dovecot $(dovecot --version | cut -d' ' -f1) on 127.0.0.1:$IMAP"

t0=$(now)
got=$(/usr/bin/python3 - "$IMAP" "$USER" "$PASS" <<'PY'
import imaplib, sys
c = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
c.login(sys.argv[2], sys.argv[3])
typ, data = c.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY)")
c.logout()
print(data[0].decode())
PY
)
t1=$(now)
case "$got" in
*"MESSAGES $N "*) ;;
*) echo "dovecot STATUS: $got (expected MESSAGES $N)" >&2; exit 1 ;;
esac
echo "dovecot first STATUS (builds dovecot-uidlist and index): $(secs "$t0" "$t1") s"

setup() { # datadir
	"$ROOST" -d "$1" init >/dev/null
	"$ROOST" -d "$1" domain add example.com
	echo secret | "$ROOST" -d "$1" user add bench@example.com
	"$ROOST" -d "$1" user quota bench@example.com unlimited unlimited
}

# ---- roost import dovecot (reads the files Dovecot serves) ----
setup "$T/var-import"
t0=$(now)
"$ROOST" -d "$T/var-import" import dovecot bench@example.com "$MD" >"$T/import.out"
t1=$(now)
rate "roost import dovecot" "$t0" "$t1" "$N" "$bytes"
t0=$(now)
"$ROOST" -d "$T/var-import" backup "$T/backup-import" >/dev/null
t1=$(now)
echo "roost backup (after import): $(secs "$t0" "$t1") s, $(size "$T/backup-import")"

# ---- roost migrate imap:// (over IMAP from the running Dovecot) ----
setup "$T/var-migrate"
t0=$(now)
ROOST_MIGRATE_PASSWORD=$PASS "$ROOST" -d "$T/var-migrate" migrate \
	"imap://old%40example.org@127.0.0.1:$IMAP" bench@example.com >"$T/migrate.out"
t1=$(now)
if ! grep -q "migrated $N messages" "$T/migrate.out"; then
	echo "roost migrate: unexpected summary:" >&2
	cat "$T/migrate.out" >&2
	exit 1
fi
rate "roost migrate imap://" "$t0" "$t1" "$N" "$bytes"
t0=$(now)
"$ROOST" -d "$T/var-migrate" backup "$T/backup-migrate" >/dev/null
t1=$(now)
echo "roost backup (after migrate): $(secs "$t0" "$t1") s, $(size "$T/backup-migrate")"
echo "roost database (after migrate): $(size "$T/var-migrate/roost.db")"

# ---- doveadm backup (dsync) of the same mailbox into a fresh maildir ----
t0=$(now)
doveadm -c "$T/dc/dovecot.conf" backup -u "$USER" "maildir:$T/dsync/Maildir"
t1=$(now)
dn=$(find "$T/dsync/Maildir/cur" "$T/dsync/Maildir/new" -type f | wc -l)
if [ "$dn" -ne "$N" ]; then
	echo "doveadm backup: $dn messages in the copy, expected $N" >&2
	exit 1
fi
rate "doveadm backup" "$t0" "$t1" "$N" "$bytes"
echo "doveadm backup size (maildir + Dovecot index): $(size "$T/dsync")"
