"""TLS pieces of the private loopback internet (see outbound_net.py): a
test CA made with openssl, certificates it signs, and an HTTPS policy host
for MTA-STS (RFC 8461) on 127.0.0.N:443 that can misbehave on request."""
import http.server
import os
import socketserver
import ssl
import subprocess
import threading
import time

OPENSSL = "/usr/bin/openssl"


def _run(*args):
    subprocess.run([OPENSSL, *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


class CA:
    """A test CA in `workdir`; cert(names) returns (certfile, keyfile)."""

    def __init__(self, workdir):
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.key = os.path.join(self.dir, "ca.key")
        self.cert = os.path.join(self.dir, "ca.pem")
        _run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2",
             "-subj", "/CN=Roost Test CA")
        self.n = 0

    def cert_for(self, *names, self_signed=False):
        self.n += 1
        base = os.path.join(self.dir, "leaf%d" % self.n)
        key, csr, crt, ext = base + ".key", base + ".csr", base + ".pem", base + ".ext"
        with open(ext, "w") as f:
            f.write("subjectAltName=" + ",".join("DNS:" + n for n in names) + "\n")
        if self_signed:
            _run("req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                 "-days", "2", "-subj", "/CN=" + names[0], "-addext",
                 "subjectAltName=" + ",".join("DNS:" + n for n in names))
            return crt, key
        _run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + names[0])
        _run("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
             "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
        return crt, key

    def server_context(self, *names, self_signed=False):
        crt, key = self.cert_for(*names, self_signed=self_signed)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        return ctx


class _PolicyHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        host = self.server.host
        name = (self.headers.get("Host") or "").split(":")[0].lower()
        host.requests.append((name, self.path))
        entry = host.policies.get(name)
        if entry is None or self.path != "/.well-known/mta-sts.txt":
            self.send_error(404)
            return
        kind, value = entry
        if kind == "slow":
            time.sleep(value)
            body = b"version: STSv1\r\nmode: enforce\r\nmx: nothing.test\r\nmax_age: 600\r\n"
        elif kind == "huge":
            body = None
        else:
            body = value.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if body is not None:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body is not None:
            self.wfile.write(body)
            return
        # a hostile host: `value` octets of policy-looking lines
        chunk = b"mx: x.test\r\n" * 5461
        try:
            while host.huge_sent < value:
                self.wfile.write(chunk)
                host.huge_sent += len(chunk)
        except OSError:
            host.huge_cut = True


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class PolicyHost:
    """HTTPS on ip:443 answering for every mta-sts.DOMAIN in `names`.
    policies[name] = ("text", body) | ("slow", seconds) | ("huge", octets)."""

    def __init__(self, ca, ip, names, port=443):
        self.policies = {}
        self.requests = []
        self.huge_sent = 0
        self.huge_cut = False
        self.server = _Server((ip, port), _PolicyHandler)
        self.server.host = self
        ctx = ca.server_context(*names)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def policy(mode, *mx, max_age=86400):
    return "version: STSv1\r\nmode: %s\r\n%smax_age: %d\r\n" % (
        mode, "".join("mx: %s\r\n" % m for m in mx), max_age)
