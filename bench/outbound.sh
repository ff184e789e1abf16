#!/bin/sh
# bench/outbound.sh: the outbound queue. Two runs on a private loopback
# internet (tests/e2e/outbound_net.py: unbound for DNS, a Python SMTP sink
# as the remote MX):
#   1. submit MSGS messages of SIZE bytes with `roost sendmail` (through
#      the control socket, PAR at once) to a sink that accepts everything:
#      accepted msg/s, delivered msg/s;
#   2. QUEUE messages to DOMAINS unreachable domains (their MX refuses
#      connections): the daemon's RSS and CPU while the queue sits, then
#      the time to drain once the MX comes back (`queue retry all`).
# Submission over AUTH at full speed: bench/submission.sh.
#
# Usage: bench/outbound.sh    (the full size: MSGS=10000 QUEUE=100000
# DOMAINS=1000; CI and shared machines: MSGS=200 QUEUE=500 DOMAINS=20)
# Environment: MSGS=1000 SIZE=4096 PAR=4 QUEUE=100000 DOMAINS=1000 KEEP=1
set -eu
cd "$(dirname "$0")/.."
export MSGS=${MSGS:-1000} SIZE=${SIZE:-4096} PAR=${PAR:-4}
export QUEUE=${QUEUE:-100000} DOMAINS=${DOMAINS:-1000}
[ -x build/roost ] || make -s build/roost
exec /usr/bin/python3 - <<'PYTHON'
import os, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, "tests/e2e")
from conftest import Roost, free_port
from outbound_net import Dns, Sink, wait_for

msgs, size, par = int(os.environ["MSGS"]), int(os.environ["SIZE"]), int(os.environ["PAR"])
queue, domains = int(os.environ["QUEUE"]), int(os.environ["DOMAINS"])
work = tempfile.mkdtemp(prefix="roost-outbound-")
port = free_port()
recs = ["sink.test. MX 10 mx.sink.test.", "mx.sink.test. A 127.0.0.3"]
recs += ["d%d.test. MX 10 mx.down.test." % i for i in range(domains)]
recs += ["mx.down.test. A 127.0.0.4"]
dns = Dns(os.path.join(work, "dns"), recs)
body = ("x" * 76 + "\r\n") * max(1, size // 78)


def rss_cpu(pid):
    """(VmRSS KiB, RssAnon KiB, CPU seconds): RssFile, the rest of VmRSS,
    is the database's mapped pages, shared with the kernel's page cache."""
    with open("/proc/%d/status" % pid) as f:
        st = dict(l.split(":", 1) for l in f)
    rss, anon = (int(st[k].split()[0]) for k in ("VmRSS", "RssAnon"))
    with open("/proc/%d/stat" % pid) as f:
        st = f.read().split(")")[1].split()
    return rss, anon, (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")


r = Roost(os.path.join(work, "var"), {
    "dns.resolver": dns.resolver, "dns.trust_anchor": "", "outbound.port": str(port),
    "queue.retry_min": "1h", "queue.delay_warning": "0", "outbound.max_connections": "50"})
r.init()
r.start()
sink = Sink("127.0.0.3", port).start()
try:
    def send(i, to):
        m = "From: alice@example.com\r\nTo: %s\r\nMessage-ID: <b%d@example.com>\r\n" \
            "Subject: bench %d\r\n\r\n%s" % (to, i, i, body)
        r.cli("sendmail", "-f", "alice@example.com", to, input=m)

    t0 = time.time()
    with ThreadPoolExecutor(par) as ex:
        list(ex.map(lambda i: send(i, "u%d@sink.test" % (i % 50)), range(msgs)))
    t1 = time.time()
    wait_for(lambda: len(sink.messages) >= msgs, 600, 0.05)
    t2 = time.time()
    print("submit->sink: %d msgs of %d B: accepted %.0f msg/s, delivered %.0f msg/s"
          % (msgs, size, msgs / (t1 - t0), len(sink.messages) / (t2 - t0)))

    t0 = time.time()
    with ThreadPoolExecutor(par) as ex:
        list(ex.map(lambda i: send(msgs + i, "u@d%d.test" % (i % domains)), range(queue)))
    fill = time.time() - t0
    wait_for(lambda: "refused" in r.cli("queue", "list").stdout, 120)
    time.sleep(5)
    pid = r.proc.pid
    rss, anon, cpu0 = rss_cpu(pid)
    time.sleep(10)
    _, _, cpu1 = rss_cpu(pid)
    print("queue of %d to %d unreachable domains (filled in %.0f s): RSS %d KiB "
          "(anonymous %d KiB), CPU idle %.1f%%" % (queue, domains, fill, rss, anon,
                                                    (cpu1 - cpu0) * 10))
    before = len(sink.messages)
    back = Sink("127.0.0.4", port).start()
    t0 = time.time()
    r.cli("queue", "retry", "all")
    wait_for(lambda: len(back.messages) >= queue, 3600, 0.2)
    print("drain when the domains came back: %d msgs in %.1f s (%.0f msg/s)"
          % (len(back.messages), time.time() - t0, len(back.messages) / (time.time() - t0)))
    back.stop()
finally:
    sink.stop()
    r.stop()
    dns.stop()
    if not os.environ.get("KEEP"):
        shutil.rmtree(work, ignore_errors=True)
PYTHON
