/*
 * dns-sync: DNS queries for a worker thread, with a deadline. The inbound
 * checks (SPF's chained lookups, DKIM keys, DMARC policies) run as one job
 * on a worker (lib/workers.h) and call these in sequence; each worker
 * thread keeps its own libunbound context (and so its own cache), and a
 * query waits at most until the deadline, never on an event loop.
 *
 * struct dns_resolver is the seam the unit tests fill with a fake table.
 */
#ifndef ROOST_DNS_SYNC_H
#define ROOST_DNS_SYNC_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DNS_TYPE_TXT_RR 16
/* Records read from one answer, at most (more are ignored). */
#define DNS_SYNC_MAX_RECORDS 64
/* Longest TXT record (its strings joined, RFC 7208 3.3) kept; a longer
 * one is cut here, which no SPF, DKIM key or DMARC record needs. */
#define DNS_SYNC_MAX_TXT 8192

enum dns_answer_status {
	DNS_ANSWER_OK,		/* records (maybe none: NODATA) */
	DNS_ANSWER_NXDOMAIN,	/* the name does not exist */
	DNS_ANSWER_TEMPFAIL,	/* SERVFAIL, bogus, or the deadline passed */
};

struct dns_record {
	uint8_t addr[16];	/* A: 4 bytes, AAAA: 16 */
	uint16_t pref;		/* MX */
	char *text;		/* TXT: the strings joined; MX: exchange name */
};

struct dns_answer {
	enum dns_answer_status status;
	struct dns_record recs[DNS_SYNC_MAX_RECORDS];
	size_t n;
};
void dns_answer_clear(struct dns_answer *a);

struct dns_resolver {
	/* type: DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_MX (dns-packet.h) or
	 * DNS_TYPE_TXT_RR. Fills *a (cleared by the caller afterwards). */
	void (*query)(void *ctx, const char *name, int type, struct dns_answer *a);
	void *ctx;
};

/* Set once at startup, before any worker queries: dns.resolver and
 * dns.trust_anchor as for dns_new(). 0, or -1 and *error_r. */
int dns_sync_configure(const char *resolver, const char *trust_anchor, char **error_r);
/* The resolver of the calling thread, answering until `deadline`
 * (CLOCK_MONOTONIC seconds); after it every query is TEMPFAIL. */
struct dns_resolver dns_sync_resolver(struct timespec *deadline);
#endif
