#!/bin/sh
# bench/submission.sh: authenticated submission to a remote sink. Starts
# `roost serve` on a private loopback internet (tests/e2e/outbound_net.py:
# unbound for DNS, the Python SMTP sink as the remote MX), with DKIM keys
# for example.com so every message is signed, then runs `roost-load
# submission`: SESSIONS sessions, each AUTH PLAIN as alice@example.com,
# MESSAGES messages of SIZE bytes to rcptN@sink.test. Prints roost-load's
# line (accepted msg/s, latency of each 250: durable in the queue) and the
# delivered rate: messages at the sink over the time from the first
# submission to the last arrival.
#
# Usage: bench/submission.sh [SESSIONS [MESSAGES [SIZE]]]
#        defaults: 50 sessions, 20000 messages of 4096 bytes
#        ROOST_BUILD=dir uses dir/roost and dir/roost-load (default build)
#        PER_DOMAIN=n sessions to the sink at once (outbound.max_per_domain,
#        default 4; Postfix's default_destination_concurrency_limit is 20)
set -eu
cd "$(dirname "$0")/.."
export SESSIONS=${1:-50} MESSAGES=${2:-20000} SIZE=${3:-4096}
export ROOST_BUILD=${ROOST_BUILD:-build}
[ -x "$ROOST_BUILD/roost" ] && [ -x "$ROOST_BUILD/roost-load" ] ||
	make -s BUILD="$ROOST_BUILD" "$ROOST_BUILD/roost" "$ROOST_BUILD/roost-load"
# conftest's Roost runs $ROOST_BIN
export ROOST_BIN=${ROOST_BIN:-$(cd "$ROOST_BUILD" && pwd)/roost}
exec /usr/bin/python3 - <<'PYTHON'
import os, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, "tests/e2e")
from conftest import Roost, free_port
from outbound_net import Dns, Sink, wait_for

sessions, messages, size = (int(os.environ[k]) for k in ("SESSIONS", "MESSAGES", "SIZE"))
work = tempfile.mkdtemp(prefix="roost-submission-")
port = free_port()
dns = Dns(os.path.join(work, "dns"),
          ["sink.test. MX 10 mx.sink.test.", "mx.sink.test. A 127.0.0.3"])
r = Roost(os.path.join(work, "var"), {
    "dns.resolver": dns.resolver, "dns.trust_anchor": "", "outbound.port": str(port),
    "outbound.max_per_domain": os.environ.get("PER_DOMAIN", "4"),
    "auth.allow_plaintext": "yes", "submission.save_sent": "no",
    "submission.max_messages_per_hour": "0", "submission.max_recipients_per_hour": "0",
    "submission.max_messages_per_day": "0", "submission.max_recipients_per_day": "0"})
r.init()
r.cli("domain", "dkim", "example.com", "generate")
sink = Sink("127.0.0.3", port).start()
r.start()
try:
    t0 = time.time()
    load = os.path.join(os.environ["ROOST_BUILD"], "roost-load")
    out = subprocess.run([load, "submission", "-p", str(r.port("submission")),
                          "-c", str(sessions), "-n", str(messages), "-s", str(size),
                          "-a", "50", "-u", "alice@example.com", "-P", "secret",
                          "-d", "sink.test"], capture_output=True, text=True)
    print(out.stdout.strip() or out.stderr.strip())
    wait_for(lambda: len(sink.messages) >= messages, 900, 0.05)
    t1 = time.time()
    signed = sum(1 for m in sink.messages[:100] if b"DKIM-Signature:" in m[2])
    print("delivered: %d msgs in %.1f s = %.0f msg/s (DKIM-signed: %d of the first 100)"
          % (len(sink.messages), t1 - t0, len(sink.messages) / (t1 - t0), signed))
finally:
    sink.stop()
    r.stop()
    dns.stop()
    shutil.rmtree(work, ignore_errors=True)
PYTHON
