"""A DNSSEC-signed "test." zone on loopback for the DANE tests.

The zone is written from the caller's records, signed with Debian's
ldnsutils (ldns-keygen, ldns-signzone: ECDSA P-256, NSEC3) and served by
Debian's unbound as an auth-zone on 127.0.0.1 and a free port. Roost
points dns.resolver at it and dns.trust_anchor at the zone's key, so
libunbound validates every answer against it, as it would the root's.
"""
import os
import subprocess
import time

from outbound_net import UNBOUND, dns_query, free_udp_tcp_port

LDNS_KEYGEN = "/usr/bin/ldns-keygen"
LDNS_SIGNZONE = "/usr/bin/ldns-signzone"


class SignedDns:
    def __init__(self, workdir, records):
        """records: zone-file lines with absolute names, e.g.
        "mx.dane.test. IN A 127.0.0.51"."""
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.port = free_udp_tcp_port()
        zone = os.path.join(self.workdir, "test.zone")
        with open(zone, "w") as f:
            f.write("$ORIGIN test.\n$TTL 300\n"
                    "@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300\n"
                    "@ IN NS ns.test.\nns IN A 127.0.0.1\n")
            f.write("\n".join(records) + "\n")
        key = subprocess.run([LDNS_KEYGEN, "-a", "ECDSAP256SHA256", "-k", "test"],
                             cwd=self.workdir, check=True, capture_output=True,
                             text=True).stdout.strip()
        subprocess.run([LDNS_SIGNZONE, "-n", zone, key], cwd=self.workdir, check=True,
                       capture_output=True)
        # the key-signing key's DNSKEY line: the trust anchor
        self.anchor = os.path.join(self.workdir, key + ".key")
        conf = os.path.join(self.workdir, "unbound.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
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
                # unbound answers "test." itself (RFC 6761) unless told not to
                '  local-zone: "test." nodefault',
                "auth-zone:",
                '  name: "test."',
                '  zonefile: "%s.signed"' % zone,
                "  for-downstream: yes",
                "  for-upstream: no",
                "remote-control:",
                "  control-enable: no",
            ]) + "\n")
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
