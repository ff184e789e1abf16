/* dns-packet: see dns-packet.h. RFC 1035 4.1 (message format), 4.1.4
 * (compression), 3.3.9 (MX), 3.4.1 (A); RFC 3596 2.2 (AAAA); RFC 6698
 * 2.1 (TLSA). */
#include "dns/dns-packet.h"
#include <stdbool.h>
#include <string.h>

#define DNS_HEADER_LEN 12

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Read the name at *off; text into out (may be NULL: skip). *off moves
 * past the name as it appears at that place (a pointer counts 2). */
static int read_name(const uint8_t *pkt, size_t len, size_t *off, char *out)
{
	size_t p = *off, olen = 0;
	int pointers = 0;
	bool jumped = false;
	for (;;) {
		if (p >= len)
			return -1;
		uint8_t l = pkt[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= len || ++pointers > DNS_MAX_POINTERS)
				return -1;
			size_t target = (size_t)((l & 0x3f) << 8 | pkt[p + 1]);
			if (!jumped)
				*off = p + 2;
			jumped = true;
			p = target;
			continue;
		}
		if ((l & 0xc0) != 0)
			return -1; /* extended label types are not used in replies */
		if (l == 0) {
			if (!jumped)
				*off = p + 1;
			break;
		}
		if (p + 1 + l > len || olen + l + 1 >= DNS_NAME_MAX)
			return -1;
		if (out != NULL) {
			if (olen > 0)
				out[olen++] = '.';
			for (size_t i = 0; i < l; i++) {
				char c = (char)pkt[p + 1 + i];
				out[olen++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
			}
		} else {
			olen += l + 1;
		}
		p += 1 + l;
	}
	if (out != NULL)
		out[olen] = '\0';
	return 0;
}

int dns_packet_answers(const uint8_t *pkt, size_t len, uint16_t type, struct dns_rr *out,
		       size_t max)
{
	if (len < DNS_HEADER_LEN)
		return -1;
	unsigned qd = get16(pkt + 4), an = get16(pkt + 6);
	size_t off = DNS_HEADER_LEN;
	for (unsigned i = 0; i < qd; i++) {
		if (read_name(pkt, len, &off, NULL) < 0 || off + 4 > len)
			return -1;
		off += 4;
	}
	int n = 0;
	for (unsigned i = 0; i < an; i++) {
		if (read_name(pkt, len, &off, NULL) < 0 || off + 10 > len)
			return -1;
		uint16_t rtype = get16(pkt + off), rclass = get16(pkt + off + 2);
		size_t rdlen = get16(pkt + off + 8);
		off += 10;
		if (off + rdlen > len)
			return -1;
		size_t rd = off;
		off += rdlen;
		if (rtype != type || rclass != DNS_CLASS_IN || (size_t)n >= max)
			continue;
		struct dns_rr *rr = &out[n];
		memset(rr, 0, sizeof(*rr));
		rr->type = rtype;
		if (type == DNS_TYPE_A) {
			if (rdlen != 4)
				return -1;
			memcpy(rr->addr, pkt + rd, 4);
		} else if (type == DNS_TYPE_AAAA) {
			if (rdlen != 16)
				return -1;
			memcpy(rr->addr, pkt + rd, 16);
		} else if (type == DNS_TYPE_MX) {
			if (rdlen < 3)
				return -1;
			rr->pref = get16(pkt + rd);
			size_t noff = rd + 2;
			/* the exchange must lie inside this record's data */
			if (read_name(pkt, rd + rdlen, &noff, rr->name) < 0)
				return -1;
		} else if (type == DNS_TYPE_TLSA) {
			/* usage, selector, matching type, then at least one byte */
			if (rdlen < 4)
				return -1;
			rr->tlsa_usage = pkt[rd];
			rr->tlsa_selector = pkt[rd + 1];
			rr->tlsa_mtype = pkt[rd + 2];
			rr->tlsa_len = rdlen - 3;
			if (rr->tlsa_len > DNS_TLSA_DATA_MAX)
				rr->tlsa_too_long = true;
			else
				memcpy(rr->tlsa_data, pkt + rd + 3, rr->tlsa_len);
		} else {
			continue;
		}
		n++;
	}
	return n;
}
