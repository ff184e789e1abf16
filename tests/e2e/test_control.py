"""The control socket spoken directly: the daemon runs each request through
the CLI's dispatcher (cli_control_run), so the command language, its
limits and the commands that never run inside the daemon are the same as
in `roost` itself."""
import os
import socket
import struct

MAGIC = 0x524f5354  # "ROST"


def request(roost, argv, stdin=b"", magic=MAGIC, version=1):
    """Send one request; returns (exit code, stdout, stderr)."""
    msg = struct.pack(">III", magic, version, len(argv))
    for a in argv:
        b = a.encode()
        msg += struct.pack(">I", len(b)) + b
    msg += struct.pack(">Q", len(stdin)) + stdin
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(os.path.join(roost.datadir, "control.sock"))
    s.sendall(msg)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    code, = struct.unpack(">I", data[:4])
    n, = struct.unpack(">Q", data[4:12])
    out = data[12:12 + n]
    m, = struct.unpack(">Q", data[12 + n:20 + n])
    err = data[20 + n:20 + n + m]
    return code, out.decode(), err.decode()


def test_command_runs_in_the_daemon(roost):
    code, out, err = request(roost, ["domain", "add", "example.net"])
    assert (code, err) == (0, "")
    code, out, err = request(roost, ["domain", "list"])
    assert code == 0 and "example.net" in out.split()
    assert "control: domain add: exit 0" in roost.read_log()


def test_local_commands_refused(roost):
    for argv in (["serve"], ["init"], ["help"], ["version"]):
        code, out, err = request(roost, argv)
        assert code == 64, argv
        assert err == "roost: %s: cannot run inside the daemon\n" % argv[0]
        assert out == ""


def test_grammar_checked_as_in_the_cli(roost):
    code, _, err = request(roost, ["frobnicate"])
    assert code == 64 and "unknown command 'frobnicate'" in err
    code, _, err = request(roost, ["domain", "add"])
    assert code == 64 and "usage: roost domain add <domain>" in err


def test_bad_request_refused(roost):
    code, _, err = request(roost, ["domain", "list"], magic=0x12345678)
    assert code == 64 and "control: bad request" in err
    code, _, err = request(roost, ["domain", "list"], version=2)
    assert code == 64 and "control: bad request" in err
    # an argument past the wire limit (CONTROL_MAX_ARG, 4096) never reaches
    # the dispatcher
    code, _, err = request(roost, ["user", "show", "x" * 5000])
    assert code == 64 and "control: bad request" in err
