/*
 * fuzz-spf-record: SPF records (src/spf/spf.c).
 *  - the input through spf_record_parse().
 *  - the input as the one TXT record of every name, through spf_check()
 *    for an IPv4 and an IPv6 client, with A/AAAA/MX answers for every
 *    name, so include:, redirect=, a, mx, exists and the macros all run
 *    on fuzzed text. Invariants: a result in range; at most a bounded
 *    number of DNS queries whatever the record says (the 10-lookup
 *    limit, 10 MX hosts each); an input that is an SPF record the parser
 *    refuses is a permerror.
 */
#include "fuzz.h"
#include "dns/dns-packet.h"
#include "dns/dns-sync.h"
#include "lib/alloc.h"
#include "spf/spf.h"

struct fake {
	const char *record;
	unsigned queries;
};

static void query(void *ctx, const char *name, int type, struct dns_answer *a)
{
	struct fake *f = ctx;
	f->queries++;
	a->status = DNS_ANSWER_OK;
	a->n = 0;
	FUZZ_CHECK(strlen(name) <= 600);
	if (type == DNS_TYPE_TXT_RR) {
		a->recs[a->n++].text = xstrdup(f->record);
	} else if (type == DNS_TYPE_MX) {
		for (int i = 0; i < 3; i++) {
			a->recs[a->n].pref = (uint16_t)i;
			a->recs[a->n++].text = xasprintf("mx%d.%s", i, name);
		}
	} else if (type == DNS_TYPE_A) {
		memset(&a->recs[0], 0, sizeof(a->recs[0]));
		a->recs[0].addr[0] = 127, a->recs[0].addr[3] = 2;
		a->n = 1;
	} else {
		memset(&a->recs[0], 0, sizeof(a->recs[0]));
		a->recs[0].addr[0] = 0x20, a->recs[0].addr[1] = 0x01;
		a->n = 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *rec = fuzz_strndup(data, size);
	char *error = NULL;
	int parsed = spf_record_parse(rec, size, &error);
	FUZZ_CHECK(parsed == 0 || error != NULL);
	free(error);
	bool is_spf = strlen(rec) == size && size >= 6 && strncasecmp(rec, "v=spf1", 6) == 0 &&
		      (size == 6 || rec[6] == ' ');
	static const char *const ips[] = {"192.0.2.1", "2001:db8::1"};
	for (int k = 0; k < 2; k++) {
		struct fake f = {rec, 0};
		struct dns_resolver r = {query, &f};
		struct spf_request req = {.ip = ips[k], .sender = "user@example.test",
					  .helo = "helo.test"};
		char *why = NULL;
		enum spf_result res = spf_check(&r, &req, "example.test", &why);
		FUZZ_CHECK(res >= SPF_NONE && res <= SPF_PERMERROR);
		FUZZ_CHECK(why != NULL);
		/* 1 record + 10 terms, each an include (a record) or an mx
		 * (its MX and up to 10 address queries) */
		FUZZ_CHECK(f.queries <= 1 + SPF_MAX_DNS_TERMS * (2 + SPF_MAX_MX_HOSTS));
		if (is_spf && parsed != 0)
			FUZZ_CHECK(res == SPF_PERMERROR);
		free(why);
	}
	free(rec);
	return 0;
}
