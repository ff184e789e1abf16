"""Connection logs a support desk can use (issue 16 point 6): every
protocol starts a session with one "connected" info line and ends it with
one carrying the reason, its duration and byte counts."""

import imaplib
import os
import poplib
import re
import socket
import time

DISCONNECT = re.compile(r"disconnected reason=\"([^\"]*)\" duration_ms=(\d+) bytes_in=(\d+) bytes_out=(\d+)")


def full_log(roost):
    with open(roost.logfile, "rb") as f:
        return f.read().decode(errors="replace")


def log_mark(roost):
    return len(full_log(roost))


def wait_lines(roost, proto, n, mark):
    """Disconnect lines for `proto` logged after `mark` (the start-up
    probe's own connections come before it)."""
    deadline = time.time() + 10
    while time.time() < deadline:
        lines = [l for l in full_log(roost)[mark:].splitlines()
                 if "proto=%s" % proto in l and DISCONNECT.search(l)]
        if len(lines) >= n:
            return lines
        time.sleep(0.05)
    raise AssertionError("no disconnect line for %s:\n%s" % (proto, full_log(roost)[-3000:]))


def test_imap_and_pop3_disconnect_lines_count_bytes(roost):
    roost.add_user("a@example.com", "pw-a")
    mark = log_mark(roost)
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    m.login("a@example.com", "pw-a")
    m.select("INBOX")
    m.logout()
    line = wait_lines(roost, "imap", 1, mark)[-1]
    why, d, bin_, bout = DISCONNECT.search(line).groups()
    bin_, bout = int(bin_), int(bout)
    assert why == "logout", line
    # LOGIN + SELECT + LOGOUT are well over 40 bytes each way.
    assert bin_ > 40 and bout > 100, line

    mark = log_mark(roost)
    p = poplib.POP3("127.0.0.1", roost.port("pop3"), timeout=10)
    p.user("a@example.com")
    p.pass_("pw-a")
    p.quit()
    line = wait_lines(roost, "pop3", 1, mark)[-1]
    why, d, bin_, bout = DISCONNECT.search(line).groups()
    bin_, bout = int(bin_), int(bout)
    assert why == "logout", line
    assert bin_ >= len("USER a@example.com\r\nPASS pw-a\r\nQUIT\r\n"), line
    assert bout > 20, line
    # One line per session: the POP3 session no longer logs its own.
    pop3_lines = [l for l in full_log(roost).splitlines()
                  if "proto=pop3" in l and l.rstrip().endswith("disconnected")]
    assert pop3_lines == []


def test_client_that_just_hangs_up_is_logged_as_such(roost):
    import socket
    mark = log_mark(roost)
    s = socket.create_connection(("127.0.0.1", roost.port("imap")), timeout=10)
    s.recv(1000)
    s.close()
    line = wait_lines(roost, "imap", 1, mark)[-1]
    assert DISCONNECT.search(line).group(1) == "client closed", line
    assert int(DISCONNECT.search(line).group(3)) == 0, line


def test_connected_line_for_every_protocol(roost):
    """Every protocol's session starts with the same info line
    ("proto=P session=... ip=... connected"), from the conn layer."""
    want = {"imap", "pop3", "smtp", "lmtp", "submission"}
    for proto in sorted(want):
        with socket.create_connection(("127.0.0.1", roost.listen_port(proto)), timeout=5) as s:
            s.recv(512)  # the greeting: the session has started
    deadline = time.time() + 5
    seen = set()
    while time.time() < deadline and seen != want:
        with open(roost.logfile, "rb") as f:
            lines = [l for l in f.read().decode(errors="replace").splitlines()
                     if l.endswith(" connected")]
        seen = {p for p in want if any("proto=%s " % p in l for l in lines)}
        time.sleep(0.05)
    assert seen == want, lines[-20:]


def test_json_format_one_valid_object_per_line(roost_factory):
    import json
    r = roost_factory(log__format="json")
    # a login name with a quote, a backslash, a control byte and bytes
    # that are not UTF-8 (sent raw over POP3) must not break the format
    with socket.create_connection(("127.0.0.1", r.listen_port("pop3")), timeout=5) as s:
        s.recv(512)
        s.sendall(b'USER "q\\\x01\xff\xfe@example.com\r\nPASS wrong\r\nQUIT\r\n')
        time.sleep(0.5)
        s.recv(4096)
    deadline = time.time() + 5
    while time.time() < deadline:
        with open(r.logfile, "rb") as f:
            raw = f.read()
        if b"auth failed" in raw:
            break
        time.sleep(0.1)
    records = []
    for line in raw.splitlines():
        if not line.startswith(b"{"):
            continue  # earlier start-up output before the config is read
        records.append(json.loads(line.decode("utf-8")))
    assert records, raw[-2000:]
    assert all({"time", "level", "msg"} <= set(rec) for rec in records)
    conn = [rec for rec in records if rec.get("proto") == "pop3" and rec["msg"] == "connected"]
    assert conn and "session" in conn[0] and conn[0]["ip"] == "127.0.0.1", records[-5:]
    assert any("auth failed" in rec["msg"] for rec in records), records[-5:]
