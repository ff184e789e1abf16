/* fake-dns: a table of records behind struct dns_resolver, for the SPF,
 * DKIM and DMARC unit tests. A name absent from the table is NXDOMAIN;
 * a present name without the asked type is NODATA; the value "TEMPFAIL"
 * answers SERVFAIL. Header-only (static), one table per test. */
#ifndef ROOST_FAKE_DNS_H
#define ROOST_FAKE_DNS_H
#include "dns/dns-packet.h"
#include "dns/dns-sync.h"
#include "lib/alloc.h"
#include <arpa/inet.h>
#include <stdlib.h>
#include <strings.h>

struct fake_rr {
	const char *name;
	int type;
	const char *value;
};

struct fake_dns {
	const struct fake_rr *rrs;
	unsigned queries;
};

static void fake_query(void *ctx, const char *name, int type, struct dns_answer *a)
{
	struct fake_dns *f = ctx;
	f->queries++;
	a->n = 0;
	a->status = DNS_ANSWER_NXDOMAIN;
	for (const struct fake_rr *r = f->rrs; r->name != NULL; r++) {
		if (strcasecmp(r->name, name) != 0)
			continue;
		if (a->status == DNS_ANSWER_NXDOMAIN)
			a->status = DNS_ANSWER_OK;
		if (r->type != type)
			continue;
		if (strcmp(r->value, "TEMPFAIL") == 0) {
			dns_answer_clear(a);
			a->status = DNS_ANSWER_TEMPFAIL;
			return;
		}
		if (a->n == DNS_SYNC_MAX_RECORDS)
			continue;
		struct dns_record *rec = &a->recs[a->n++];
		memset(rec, 0, sizeof(*rec));
		if (type == DNS_TYPE_A)
			inet_pton(AF_INET, r->value, rec->addr);
		else if (type == DNS_TYPE_AAAA)
			inet_pton(AF_INET6, r->value, rec->addr);
		else if (type == DNS_TYPE_MX) {
			char *end;
			rec->pref = (uint16_t)strtoul(r->value, &end, 10);
			rec->text = xstrdup(end + 1);
		} else
			rec->text = xstrdup(r->value);
	}
}

static struct dns_resolver fake_resolver(struct fake_dns *f)
{
	return (struct dns_resolver){fake_query, f};
}
#endif
