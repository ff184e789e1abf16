#!/bin/sh
# bench/login-cache.sh TTL: a small IMAP login storm (10 accounts, 4 client
# threads, 400 connect+LOGIN+LOGOUT cycles, roost-load imap-login) against
# a fresh daemon with auth.cache_ttl=TTL (0 = no auth cache). Needs
# `make bench`. Each account logs in 40 times: the cache's best case.
set -e
B=$(cd "$(dirname "$0")/.." && pwd)/build
T=${TMPDIR:-/tmp}
D=$T/roost-login-cache-$1
rm -rf $D; $B/roost -d $D init >/dev/null
$B/roost -d $D domain add example.com
for i in 0 1 2 3 4 5 6 7 8 9; do echo secret | $B/roost -d $D user add user$i@example.com; done
set -- "$1" $(python3 -c 'import socket
for _ in range(4):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
P=$2
$B/roost -d $D serve --set imap.listen=127.0.0.1:$2 --set server.user=root --set auth.cache_ttl=$1 \
  --set pop3.listen=127.0.0.1:$3 --set smtp.listen=127.0.0.1:$4 --set lmtp.listen=127.0.0.1:$5 \
  --set dns.resolver=127.0.0.1@9 --set http.listen= 2>$D.log &
S=$!
for i in $(seq 50); do [ -S $D/control.sock ] && break; sleep 0.1; done
$B/roost-load imap-login -p $P -c 4 -n 400 -a 10 -u user
kill $S; wait $S || true
