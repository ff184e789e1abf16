"""Debian's haproxy on loopback for the tests (test_proxy_protocol.py,
test_multinode_haproxy.py): TCP mode, one frontend per entry, each with
its backend servers (least connections first: two live sessions land
on two servers), which get a PROXY v2 header.

    with haproxy(tmp_path, {front_port: [server_port, ...]}):
        ...  # connect to front_port
"""
import contextlib
import socket
import subprocess
import time

HEAD = """
global
    log stderr format short local0 notice
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
"""


@contextlib.contextmanager
def haproxy(tmp_path, fronts):
    cfg = [HEAD]
    for i, (front, servers) in enumerate(sorted(fronts.items())):
        cfg.append("frontend in%d\n    bind 127.0.0.1:%d\n    default_backend out%d\n"
                   "backend out%d\n    balance leastconn\n" % (i, front, i, i))
        for j, port in enumerate(servers):
            cfg.append("    server node%d 127.0.0.1:%d send-proxy-v2\n" % (j, port))
    path = tmp_path / "haproxy.cfg"
    path.write_text("".join(cfg))
    hap = subprocess.Popen(["haproxy", "-db", "-f", str(path)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 10
        for front in fronts:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", front), timeout=1).close()
                    break
                except OSError:
                    assert hap.poll() is None, hap.stdout.read()
                    assert time.time() < deadline, "haproxy did not start"
                    time.sleep(0.1)
        yield hap
    finally:
        hap.terminate()
        hap.wait(10)
