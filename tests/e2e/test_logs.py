"""Connection logs a support desk can use (issue 16 point 6): every
protocol ends a session with one info line carrying its duration and
byte counts."""

import imaplib
import os
import poplib
import re
import time

DISCONNECT = re.compile(r"disconnected duration_ms=(\d+) bytes_in=(\d+) bytes_out=(\d+)")


def full_log(roost):
    with open(roost.logfile, "rb") as f:
        return f.read().decode(errors="replace")


def wait_lines(roost, proto, n):
    deadline = time.time() + 10
    while time.time() < deadline:
        lines = [l for l in full_log(roost).splitlines()
                 if "proto=%s" % proto in l and DISCONNECT.search(l)]
        if len(lines) >= n:
            return lines
        time.sleep(0.05)
    raise AssertionError("no disconnect line for %s:\n%s" % (proto, full_log(roost)[-3000:]))


def test_imap_and_pop3_disconnect_lines_count_bytes(roost):
    roost.add_user("a@example.com", "pw-a")
    m = imaplib.IMAP4("127.0.0.1", roost.port("imap"), timeout=10)
    m.login("a@example.com", "pw-a")
    m.select("INBOX")
    m.logout()
    line = wait_lines(roost, "imap", 1)[-1]
    d, bin_, bout = (int(x) for x in DISCONNECT.search(line).groups())
    # LOGIN + SELECT + LOGOUT are well over 40 bytes each way.
    assert bin_ > 40 and bout > 100, line

    p = poplib.POP3("127.0.0.1", roost.port("pop3"), timeout=10)
    p.user("a@example.com")
    p.pass_("pw-a")
    p.quit()
    line = wait_lines(roost, "pop3", 1)[-1]
    d, bin_, bout = (int(x) for x in DISCONNECT.search(line).groups())
    assert bin_ >= len("USER a@example.com\r\nPASS pw-a\r\nQUIT\r\n"), line
    assert bout > 20, line
    # One line per session: the POP3 session no longer logs its own.
    pop3_lines = [l for l in full_log(roost).splitlines()
                  if "proto=pop3" in l and l.rstrip().endswith("disconnected")]
    assert pop3_lines == []
