/*
 * fuzz-dns-packet: the wire-format reply reader (dns/dns-packet.h) that
 * every answer libunbound hands back goes through. The input is a whole
 * reply packet.
 *
 * Invariants: the reader returns -1 or at most `max` records of the type
 * asked for; an MX exchange is a NUL-terminated name shorter than
 * DNS_NAME_MAX without upper-case letters; a TLSA record has 1..size
 * bytes of data, kept unless over DNS_TLSA_DATA_MAX; it never reads outside the
 * packet (ASan).
 */
#include "fuzz.h"
#include "dns/dns-packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = {DNS_TYPE_MX, DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_TLSA};
	struct dns_rr rr[8];
	for (size_t t = 0; t < 4; t++) {
		int n = dns_packet_answers(data, size, types[t], rr, 8);
		FUZZ_CHECK(n >= -1 && n <= 8);
		for (int i = 0; i < n; i++) {
			FUZZ_CHECK(rr[i].type == types[t]);
			size_t len = strnlen(rr[i].name, DNS_NAME_MAX);
			FUZZ_CHECK(len < DNS_NAME_MAX);
			for (size_t k = 0; k < len; k++)
				FUZZ_CHECK(rr[i].name[k] < 'A' || rr[i].name[k] > 'Z');
			if (types[t] == DNS_TYPE_TLSA)
				FUZZ_CHECK(rr[i].tlsa_len >= 1 && rr[i].tlsa_len < size &&
					   rr[i].tlsa_too_long == (rr[i].tlsa_len > DNS_TLSA_DATA_MAX));
		}
	}
	return 0;
}
