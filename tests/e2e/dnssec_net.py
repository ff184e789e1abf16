"""A DNSSEC-signed "test." zone on loopback for the DANE tests.

The zone is written from the caller's records, signed with Debian's
ldnsutils (ldns-keygen, ldns-signzone: ECDSA P-256, NSEC3) and served by
Debian's unbound as an auth-zone on 127.0.0.1 and a free port. Roost
points dns.resolver at it and dns.trust_anchor at the zone's key, so
libunbound validates every answer against it, as it would the root's.
"""
import os
import subprocess

from outbound_net import Unbound

LDNS_KEYGEN = "/usr/bin/ldns-keygen"
LDNS_SIGNZONE = "/usr/bin/ldns-signzone"


class SignedDns(Unbound):
    def __init__(self, workdir, records):
        """records: zone-file lines with absolute names, e.g.
        "mx.dane.test. IN A 127.0.0.51"."""
        workdir = str(workdir)
        os.makedirs(workdir, exist_ok=True)
        zone = os.path.join(workdir, "test.zone")
        with open(zone, "w") as f:
            f.write("$ORIGIN test.\n$TTL 300\n"
                    "@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300\n"
                    "@ IN NS ns.test.\nns IN A 127.0.0.1\n")
            f.write("\n".join(records) + "\n")
        key = subprocess.run([LDNS_KEYGEN, "-a", "ECDSAP256SHA256", "-k", "test"],
                             cwd=workdir, check=True, capture_output=True,
                             text=True).stdout.strip()
        subprocess.run([LDNS_SIGNZONE, "-n", zone, key], cwd=workdir, check=True,
                       capture_output=True)
        # the key-signing key's DNSKEY line: the trust anchor
        self.anchor = os.path.join(workdir, key + ".key")
        # unbound answers "test." itself (RFC 6761) unless told not to
        self.start(workdir, ['  local-zone: "test." nodefault'],
                   ["auth-zone:", '  name: "test."', '  zonefile: "%s.signed"' % zone,
                    "  for-downstream: yes", "  for-upstream: no"])
