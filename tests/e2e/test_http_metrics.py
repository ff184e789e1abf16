"""/metrics: the Prometheus text exposition format (0.0.4), checked by a
parser of that format here (every line valid, HELP and TYPE before the
samples, histogram buckets cumulative and ending at +Inf = _count), the
counters moving after real logins and deliveries, and the access rules
(http.metrics_allow, http.metrics_token)."""
import imaplib
import math
import poplib
import re
import smtplib
import time

from http_util import fetch

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s)(?:,%s)*\})? (\S+)$" % (NAME, LABEL, LABEL))
HELP = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)


def parse_value(v):
    if v in ("+Inf", "-Inf", "NaN"):
        return float(v.replace("Inf", "inf").replace("NaN", "nan"))
    return float(v)


def parse(text):
    """{family: {"type", "help", "samples": [(name, {labels}, value)]}};
    asserts the format as it goes."""
    assert text.endswith("\n")
    fams = {}
    for line in text.split("\n")[:-1]:
        m = HELP.match(line)
        if m:
            assert m.group(1) not in fams, "HELP twice: " + line
            fams[m.group(1)] = {"help": m.group(2), "type": None, "samples": []}
            continue
        m = TYPE.match(line)
        if m:
            f = fams[m.group(1)]  # HELP came first
            assert f["type"] is None and not f["samples"]
            f["type"] = m.group(2)
            continue
        assert not line.startswith("#"), "bad comment line: %r" % line
        m = SAMPLE.match(line)
        assert m, "bad sample line: %r" % line
        name, labels, value = m.group(1), m.group(2), m.group(3)
        fam = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[:-len(suffix)] in fams and \
                    fams[name[:-len(suffix)]]["type"] == "histogram":
                fam = name[:-len(suffix)]
        assert fam in fams and fams[fam]["type"], "sample before HELP/TYPE: " + line
        lab = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels or ""))
        fams[fam]["samples"].append((name, lab, parse_value(value)))
    for name, f in fams.items():
        assert f["type"], name
        if f["type"] == "histogram":
            check_histogram(name, f["samples"])
        if f["type"] == "counter":
            assert all(v >= 0 for _, _, v in f["samples"]), name
    return fams


def check_histogram(name, samples):
    series = {}
    for n, lab, v in samples:
        key = tuple(sorted((k, x) for k, x in lab.items() if k != "le"))
        s = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if n == name + "_bucket":
            s["buckets"].append((parse_value(lab["le"]), v))
        elif n == name + "_sum":
            s["sum"] = v
        elif n == name + "_count":
            s["count"] = v
    for key, s in series.items():
        les = [le for le, _ in s["buckets"]]
        assert les == sorted(les) and les[-1] == math.inf, (name, key)
        counts = [c for _, c in s["buckets"]]
        assert counts == sorted(counts), "buckets not cumulative: %s %s" % (name, key)
        assert s["count"] == counts[-1] and s["sum"] is not None, (name, key)


def value(fams, family, sample=None, **labels):
    sample = sample or family
    total = 0
    for n, lab, v in fams.get(family, {"samples": []})["samples"]:
        if n == sample and all(lab.get(k) == x for k, x in labels.items()):
            total += v
    return total


def scrape(roost, **kw):
    status, headers, body = fetch(roost, "/metrics", **kw)
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(body.decode())


def test_format_and_counters_move(roost):
    before = scrape(roost)
    for fam in ("roost_connections", "roost_connections_total", "roost_logins_total",
                "roost_deliveries_total", "roost_command_duration_seconds",
                "roost_store_commit_seconds", "roost_store_batch_ops",
                "roost_memory_budget_used_bytes", "roost_memory_budget_limit_bytes",
                "roost_indexer_backlog"):
        assert fam in before and before[fam]["help"], fam
    assert before["roost_command_duration_seconds"]["type"] == "histogram"

    im = imaplib.IMAP4("127.0.0.1", roost.port("imap"))
    try:
        im.login("alice@example.com", "wrong")
    except imaplib.IMAP4.error:
        pass
    im.login("alice@example.com", "secret")
    im.select("INBOX")
    during = scrape(roost)
    assert value(during, "roost_connections", proto="imap") == 1
    im.logout()
    with smtplib.SMTP("127.0.0.1", roost.port("smtp"), timeout=30) as s:
        s.sendmail("bob@sender.test", ["alice@example.com"],
                   b"From: bob@sender.test\r\nSubject: m\r\n\r\nhello\r\n")
    deadline = time.time() + 10
    while time.time() < deadline:
        after = scrape(roost)
        if value(after, "roost_connections", proto="imap") == 0:
            break
        time.sleep(0.1)

    assert value(after, "roost_logins_total", proto="imap", result="ok") == \
        value(before, "roost_logins_total", proto="imap", result="ok") + 1
    assert value(after, "roost_logins_total", proto="imap", result="failed") == \
        value(before, "roost_logins_total", proto="imap", result="failed") + 1
    assert value(after, "roost_connections_total", proto="imap") == \
        value(before, "roost_connections_total", proto="imap") + 1
    assert value(after, "roost_connections", proto="imap") == 0
    assert value(after, "roost_deliveries_total", proto="smtp", result="accepted") == \
        value(before, "roost_deliveries_total", proto="smtp", result="accepted") + 1
    h = "roost_command_duration_seconds"
    for cmd in ("LOGIN", "SELECT", "LOGOUT"):
        assert value(after, h, h + "_count", proto="imap", command=cmd) >= 1, cmd
    assert value(after, "roost_commands_total", proto="smtp", command="RCPT") == \
        value(before, "roost_commands_total", proto="smtp", command="RCPT") + 1
    c = "roost_store_commit_seconds"
    assert value(after, c, c + "_count") > value(before, c, c + "_count")
    assert value(after, "roost_store_batch_ops", "roost_store_batch_ops_count") >= 1
    assert value(after, "roost_memory_budget_limit_bytes") > 0


def test_lmtp_delivery_counted(roost):
    before = scrape(roost)
    with smtplib.LMTP("127.0.0.1", roost.port("lmtp")) as s:
        s.sendmail("bob@sender.test", ["alice@example.com"], b"Subject: x\r\n\r\nhi\r\n")
        try:
            s.sendmail("bob@sender.test", ["nobody@example.com"], b"Subject: x\r\n\r\nhi\r\n")
        except smtplib.SMTPException:
            pass
    after = scrape(roost)
    assert value(after, "roost_deliveries_total", proto="lmtp", result="accepted") == \
        value(before, "roost_deliveries_total", proto="lmtp", result="accepted") + 1


def test_refused_outside_allow_list(roost_factory):
    r = roost_factory(http__metrics_allow="10.0.0.0/8, ::1/128")
    status, _, body = fetch(r, "/metrics")
    assert status == 403 and b"roost_" not in body
    # autoconfig is public all the same
    assert fetch(r, "/mail/config-v1.1.xml", host="autoconfig.example.com")[0] == 200


def test_bearer_token(roost_factory):
    r = roost_factory(http__metrics_allow="", http__metrics_token="s3cret-token")
    assert fetch(r, "/metrics")[0] == 403
    assert fetch(r, "/metrics", headers={"Authorization": "Bearer wrong"})[0] == 403
    assert fetch(r, "/metrics", headers={"Authorization": "Bearer s3cret-token-and-more"})[0] == 403
    fams = scrape(r, headers={"Authorization": "Bearer s3cret-token"}, tls=True)
    assert "roost_connections" in fams
    assert "s3cret" not in r.read_log()


def test_http_requests_counted(roost):
    fetch(roost, "/nothing-here")
    fams = scrape(roost)
    assert value(fams, "roost_http_requests_total", route="none", code="404") >= 1


def test_pop3_counted(roost):
    before = scrape(roost)
    p = poplib.POP3("127.0.0.1", roost.port("pop3"))
    p.user("alice@example.com")
    p.pass_("secret")
    p.stat()
    p.quit()
    after = scrape(roost)
    assert value(after, "roost_logins_total", proto="pop3", result="ok") == \
        value(before, "roost_logins_total", proto="pop3", result="ok") + 1
    for cmd in ("USER", "PASS", "STAT", "QUIT"):
        assert value(after, "roost_commands_total", proto="pop3", command=cmd) == \
            value(before, "roost_commands_total", proto="pop3", command=cmd) + 1, cmd


def test_cli_deliver_through_daemon_counted(roost):
    before = scrape(roost)
    roost.deliver("Subject: via cli\n\nbody\n", "alice@example.com")
    after = scrape(roost)
    assert value(after, "roost_deliveries_total", proto="deliver", result="accepted") == \
        value(before, "roost_deliveries_total", proto="deliver", result="accepted") + 1


def test_queue_sizes(roost):
    # nothing answers the test DNS (conftest points dns.resolver at a
    # dead loopback port): the message stays queued, pending
    assert value(scrape(roost), "roost_queue_messages") == 0
    msg = "From: alice@example.com\r\nTo: a@remote.test, b@remote.test\r\nSubject: q\r\n\r\nhi\r\n"
    roost.cli("sendmail", "-f", "alice@example.com", "a@remote.test", "b@remote.test", input=msg)
    fams = scrape(roost)
    assert fams["roost_queue_messages"]["type"] == "gauge"
    assert value(fams, "roost_queue_messages") == 1
    assert value(fams, "roost_queue_recipients_pending") == 2
