/* test-dns-packet: answers read from wire-format replies, hostile ones too. */
#include "unit.h"
#include "dns/dns-packet.h"

/* Reply to "example.test MX": 10 mx1.example.test, 20 mx2 (compressed). */
static const uint8_t mx_reply[] = {
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0, 0, 15, 0, 1,
	/* answer 1: name = ptr 12 */
	0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 8, 0, 10, 3, 'M', 'X', '1', 0xc0, 12,
	/* answer 2 */
	0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 8, 0, 20, 3, 'm', 'x', '2', 0xc0, 12,
};

TEST(dns_packet_mx)
{
	struct dns_rr rr[4];
	CHECK_INT(dns_packet_answers(mx_reply, sizeof(mx_reply), DNS_TYPE_MX, rr, 4), 2);
	CHECK_INT(rr[0].pref, 10);
	CHECK_STR(rr[0].name, "mx1.example.test");
	CHECK_INT(rr[1].pref, 20);
	CHECK_STR(rr[1].name, "mx2.example.test");
	CHECK_INT(dns_packet_answers(mx_reply, sizeof(mx_reply), DNS_TYPE_A, rr, 4), 0);
	CHECK_INT(dns_packet_answers(mx_reply, sizeof(mx_reply), DNS_TYPE_MX, rr, 1), 1);
}

TEST(dns_packet_null_mx)
{
	static const uint8_t r[] = {
		0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0,
		1, 'x', 0, 0, 15, 0, 1, 0, 0, 0, 60, 0, 3, 0, 0, 0,
	};
	struct dns_rr rr[2];
	CHECK_INT(dns_packet_answers(r, sizeof(r), DNS_TYPE_MX, rr, 2), 1);
	CHECK_INT(rr[0].pref, 0);
	CHECK_STR(rr[0].name, "");
}

TEST(dns_packet_a_aaaa)
{
	static const uint8_t r[] = {
		0, 1, 0x81, 0x80, 0, 0, 0, 2, 0, 0, 0, 0,
		1, 'h', 0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 2,
		1, 'h', 0, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 1,
	};
	struct dns_rr rr[2];
	CHECK_INT(dns_packet_answers(r, sizeof(r), DNS_TYPE_A, rr, 2), 1);
	CHECK_INT(rr[0].addr[0], 127);
	CHECK_INT(rr[0].addr[3], 2);
	CHECK_INT(dns_packet_answers(r, sizeof(r), DNS_TYPE_AAAA, rr, 2), 1);
	CHECK_INT(rr[0].addr[15], 1);
}

TEST(dns_packet_hostile)
{
	struct dns_rr rr[4];
	/* a compression loop */
	static const uint8_t loop[] = {
		0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0,
		0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 4, 0, 1, 0xc0, 24,
	};
	CHECK_INT(dns_packet_answers(loop, sizeof(loop), DNS_TYPE_MX, rr, 4), -1);
	/* every truncation of a good reply is refused or yields fewer answers */
	for (size_t n = 0; n < sizeof(mx_reply); n++)
		CHECK(dns_packet_answers(mx_reply, n, DNS_TYPE_MX, rr, 4) < 2);
	/* rdlength past the end */
	uint8_t bad[sizeof(mx_reply)];
	memcpy(bad, mx_reply, sizeof(bad));
	bad[41] = 200;
	CHECK_INT(dns_packet_answers(bad, sizeof(bad), DNS_TYPE_MX, rr, 4), -1);
	/* an A record of the wrong length */
	static const uint8_t a5[] = {
		0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0,
		0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 5, 1, 2, 3, 4, 5,
	};
	CHECK_INT(dns_packet_answers(a5, sizeof(a5), DNS_TYPE_A, rr, 4), -1);
}

/* Append one TLSA answer for "h": usage, selector, matching type, then
 * len bytes of data counting up from `first`. */
static size_t put_tlsa(uint8_t *r, size_t n, uint8_t usage, uint8_t sel, uint8_t mtype,
		       uint8_t first, size_t len)
{
	static const uint8_t owner[] = {1, 'h', 0, 0, 52, 0, 1, 0, 0, 0, 60};
	memcpy(r + n, owner, sizeof(owner));
	n += sizeof(owner);
	r[n++] = (uint8_t)((len + 3) >> 8);
	r[n++] = (uint8_t)(len + 3);
	r[n++] = usage;
	r[n++] = sel;
	r[n++] = mtype;
	for (size_t i = 0; i < len; i++)
		r[n++] = (uint8_t)(first + i);
	return n;
}

TEST(dns_packet_tlsa)
{
	/* "3 1 1 <32 bytes>" and a 70-byte full-data "2 0 0" record */
	uint8_t r[256] = {0, 1, 0x81, 0x80, 0, 0, 0, 2, 0, 0, 0, 0};
	size_t n = put_tlsa(r, 12, 3, 1, 1, 0, 32);
	n = put_tlsa(r, n, 2, 0, 0, 0xa0, 70);
	struct dns_rr rr[4];
	CHECK_INT(dns_packet_answers(r, n, DNS_TYPE_TLSA, rr, 4), 2);
	CHECK_INT(rr[0].tlsa_usage, 3);
	CHECK_INT(rr[0].tlsa_selector, 1);
	CHECK_INT(rr[0].tlsa_mtype, 1);
	CHECK_INT((int)rr[0].tlsa_len, 32);
	CHECK(!rr[0].tlsa_too_long);
	CHECK_INT(rr[0].tlsa_data[31], 31);
	CHECK_INT(rr[1].tlsa_usage, 2);
	CHECK(rr[1].tlsa_too_long);
	CHECK_INT((int)rr[1].tlsa_len, 70);
	/* a record with no association data is malformed */
	uint8_t bad[64] = {0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0};
	CHECK_INT(dns_packet_answers(bad, put_tlsa(bad, 12, 3, 1, 1, 0, 0), DNS_TYPE_TLSA, rr, 4),
		  -1);
}
