/*
 * dns-packet: reading the records of one type from the answer section of
 * a DNS reply in wire format (RFC 1035 4.1), which libunbound's event API
 * hands back undecoded. Pure: no I/O, driven by the unit tests and safe
 * on any input (every length and compression pointer is checked).
 */
#ifndef ROOST_DNS_PACKET_H
#define ROOST_DNS_PACKET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_MX 15
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_TLSA 52
#define DNS_CLASS_IN 1

/* RFC 1035 2.3.4: a name is at most 255 octets; its text form fits here. */
#define DNS_NAME_MAX 256
/* Compression pointers followed for one name, at most (loops end here). */
#define DNS_MAX_POINTERS 32
/* Answers read from one reply, at most. */
#define DNS_MAX_ANSWERS 64
/* Longest TLSA association data kept (RFC 6698 2.1: a SHA-512 digest is
 * 64 bytes; a whole certificate, matching type 0, is longer and marked
 * too_long instead). */
#define DNS_TLSA_DATA_MAX 64

struct dns_rr {
	uint16_t type;
	uint16_t pref;			/* MX */
	char name[DNS_NAME_MAX];	/* MX exchange, lowercase, no final dot; "" = root */
	uint8_t addr[16];		/* A: 4 bytes, AAAA: 16 */
	/* TLSA (RFC 6698 2.1): usage, selector, matching type, data */
	uint8_t tlsa_usage, tlsa_selector, tlsa_mtype;
	uint8_t tlsa_data[DNS_TLSA_DATA_MAX];
	size_t tlsa_len;
	bool tlsa_too_long;		/* data over DNS_TLSA_DATA_MAX: not kept */
};

/* The answer records of `type` (class IN) in pkt; at most `max`. Returns
 * how many, or -1 for a malformed packet. */
int dns_packet_answers(const uint8_t *pkt, size_t len, uint16_t type, struct dns_rr *out,
		       size_t max);
#endif
