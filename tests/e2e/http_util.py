"""Helpers for the HTTP tests: requests with a chosen Host header over
http or https (the daemon's self-signed certificate), with urllib."""
import ssl
import urllib.error
import urllib.request


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def fetch(roost, path, host=None, tls=False, data=None, headers=None, method=None):
    """(status, headers, body bytes) of one request to roost's http or
    https listener; Host is `host` (the URL names 127.0.0.1)."""
    port = roost.port("https" if tls else "http")
    url = "%s://127.0.0.1:%d%s" % ("https" if tls else "http", port, path)
    h = dict(headers or {})
    if host is not None:
        h["Host"] = "%s:%d" % (host, port)
    req = urllib.request.Request(url, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=20,
                                    context=tls_context() if tls else None) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
