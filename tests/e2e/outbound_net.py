"""A private "internet" on loopback for the outbound tests.

Dns: Debian's unbound serving local zones (local-zone/local-data) on
127.0.0.1 and a free port; Roost's dns.resolver points at it.
Sink: a small SMTP server in a thread, bound to 127.0.0.N on the shared
outbound port, recording what it receives and misbehaving on request
(refusing recipients, 4xx, never greeting, an endless line).
"""
import os
import socket
import socketserver
import struct
import subprocess
import threading
import time

UNBOUND = "/usr/sbin/unbound"


def free_udp_tcp_port():
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue


def dns_query(port, name, qtype=15):
    q = struct.pack(">HHHHHH", 7, 0x100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p for p in name.encode().split(b".")) + b"\0"
    q += struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1)
        s.sendto(q, ("127.0.0.1", port))
        return s.recv(4096)


class Unbound:
    """Debian's unbound on 127.0.0.1 and a free port (UDP and TCP), in the
    foreground, configured with `server` lines after the common ones and
    then `sections` (auth-zone: ...); resolver is what dns.resolver takes."""

    def start(self, workdir, server, sections=()):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.port = free_udp_tcp_port()
        conf = os.path.join(self.workdir, "unbound.conf")
        lines = [
            "server:",
            "  interface: 127.0.0.1@%d" % self.port,
            "  port: %d" % self.port,
            "  do-daemonize: no",
            '  username: ""',
            '  chroot: ""',
            '  directory: "%s"' % self.workdir,
            '  pidfile: ""',
            "  use-syslog: no",
            "  verbosity: 0",
            "  access-control: 127.0.0.0/8 allow",
            "  do-ip6: no",
            '  module-config: "iterator"',
        ] + list(server) + list(sections) + ["remote-control:", "  control-enable: no"]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(self.workdir, "unbound.log"), "wb")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", conf], stdout=self.log,
                                     stderr=self.log)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                dns_query(self.port, "test", 6)
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        raise AssertionError("unbound did not start")

    @property
    def resolver(self):
        return "127.0.0.1@%d" % self.port

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


class Dns(Unbound):
    def __init__(self, workdir, records):
        """records: zone-file lines for local-data, e.g.
        "remote.test. MX 10 mx.remote.test."."""
        # a record with quoted strings (TXT) is quoted with ' instead
        self.start(workdir, ['  local-zone: "test." static'] +
                   [("  local-data: '%s'" if '"' in r else '  local-data: "%s"') % r
                    for r in records])


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def send(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        sink = self.server.sink
        sink.connections += 1
        conn = sink.connections
        # replies go out at once: with Nagle, the second of a pipelined
        # group's replies waits for the client's delayed ACK (~40 ms)
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mode = sink.mode
        if mode == "no_greeting":
            time.sleep(sink.hang_seconds)
            return
        if mode == "endless":
            try:
                self.wfile.write(b"220-")
                chunk = b"a" * 65536
                for _ in range(2000):
                    self.wfile.write(chunk)
                    sink.endless_sent += len(chunk)
            except OSError:
                pass
            return
        if mode == "refuse_greeting":
            self.send("554 5.7.1 go away")
            return
        self.send("220 sink.test ESMTP")
        mail = None
        rcpts = []
        tls = False
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.decode(errors="replace").rstrip("\r\n")
            verb = cmd[:4].upper()
            sink.verbs.append((conn, verb))
            if verb == "EHLO" and sink.ehlo_refused:
                self.send("502 5.5.2 HELO only here")  # an old server
            elif verb in ("EHLO", "HELO"):
                self.wfile.write(b"250-sink.test\r\n" +
                                 (b"250-STARTTLS\r\n" if sink.tls_context and not tls
                                  else b"") +
                                 (b"250-REQUIRETLS\r\n" if sink.requiretls else b"") +
                                 (b"" if sink.no_pipelining else b"250-PIPELINING\r\n") +
                                 b"250-8BITMIME\r\n" +
                                 (b"" if sink.no_dsn else b"250-DSN\r\n") +
                                 b"250 SIZE 10000000\r\n")
                self.wfile.flush()
            elif cmd.upper() == "STARTTLS" and sink.tls_context and not tls:
                self.send("220 2.0.0 go ahead")
                try:
                    self.request = sink.tls_context.wrap_socket(self.request, server_side=True)
                except (OSError, ValueError):
                    return
                self.rfile = self.request.makefile("rb")
                self.wfile = socketserver._SocketWriter(self.request)
                tls = True
                mail = None
            elif verb == "MAIL":
                if sink.tempfail_mail > 0:
                    sink.tempfail_mail -= 1
                    self.send("451 4.3.0 try again later")
                    continue
                mail = cmd[10:]
                rcpts = []
                self.send("250 2.1.0 ok")
            elif verb == "RCPT" and mail is None:
                self.send("503 5.5.1 MAIL first")
            elif verb == "RCPT":
                addr = cmd[8:].split(">")[0].lstrip("<").lower()
                reply = sink.rcpt_replies.get(addr)
                sink.rcpt_cmds.append(cmd)
                if reply:
                    self.send(reply)
                else:
                    rcpts.append(addr)
                    self.send("250 2.1.5 ok")
            elif verb == "DATA":
                if not rcpts:
                    self.send("554 5.5.1 no valid recipients")
                    continue
                self.send("354 go ahead")
                data = []
                while True:
                    l = self.rfile.readline(1 << 20)
                    if not l:
                        return  # cut off: not a message
                    if l == b".\r\n":
                        break
                    if l.startswith(b".."):
                        l = l[1:]
                    data.append(l)
                if sink.slow_final_reply:
                    time.sleep(sink.slow_final_reply)
                with sink.lock:
                    sink.messages.append((mail, list(rcpts), b"".join(data)))
                    sink.tls_used.append(tls)
                # RFC 5321 4.1.1.4: the transaction is over, its state cleared
                mail = None
                rcpts = []
                self.send("250 2.0.0 queued")
            elif verb == "RSET":
                mail = None
                rcpts = []
                self.send("250 2.0.0 ok")
            elif verb == "QUIT":
                sink.quits += 1
                self.send("221 2.0.0 bye")
                return
            else:
                self.send("502 5.5.2 unknown")


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 256  # the listen backlog: many sessions at once


class _Server6(_Server):
    address_family = socket.AF_INET6


class Sink:
    def __init__(self, ip, port, mode="accept"):
        self.ip, self.port = ip, port
        self.mode = mode
        self.rcpt_replies = {}
        self.rcpt_cmds = []
        self.verbs = []          # (connection number, command verb) as they came
        self.tempfail_mail = 0
        self.no_dsn = False
        self.no_pipelining = False
        self.slow_final_reply = 0
        self.tls_context = None  # an ssl.SSLContext: offer STARTTLS
        self.requiretls = False  # advertise REQUIRETLS (RFC 8689)
        self.tls_used = []       # per message: it came over TLS
        self.hang_seconds = 30
        self.messages = []
        self.connections = 0
        self.quits = 0
        self.ehlo_refused = False  # answer EHLO with 502 (HELO only)
        self.endless_sent = 0
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        cls = _Server6 if ":" in self.ip else _Server
        self.server = cls((self.ip, self.port), _Handler)
        self.server.sink = self
        t = threading.Thread(target=self.server.serve_forever, daemon=True)
        t.start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def message_ids(self):
        import email
        ids = []
        with self.lock:
            for _, _, data in self.messages:
                ids.append(email.message_from_bytes(data).get("Message-ID"))
        return ids


def wait_for(cond, timeout=30, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()
