/*
 * dmarc: the DMARC check of one message (RFC 7489): the policy record at
 * _dmarc.<From domain>, else at _dmarc.<organizational domain> (6.6.3),
 * and identifier alignment of the SPF and DKIM results that passed (3.1).
 *
 * The organizational domain is the registrable domain by the Public
 * Suffix List (RFC 7489 3.2) through libpsl: Debian's list (package
 * publicsuffix, refreshed by its updates) or libpsl's built-in copy,
 * whichever is newer, with its wildcard and exception rules and the
 * private section (github.io, ...). A name that is itself a public
 * suffix is its own organizational domain.
 *
 * Synchronous: the lookups go through struct dns_resolver (a worker).
 */
#ifndef ROOST_DMARC_H
#define ROOST_DMARC_H
#include <stdbool.h>
#include <stddef.h>

struct dns_resolver;

#define DMARC_MAX_RECORD 2048	/* longer policy records are not read */
#define DMARC_MAX_DKIM_DOMAINS 5
#define DMARC_MAX_DOMAIN 253	/* longer names are cut (RFC 1035 2.3.4) */

enum dmarc_policy { DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT };
enum dmarc_result { DMARC_NONE, DMARC_PASS, DMARC_FAIL, DMARC_TEMPERROR, DMARC_PERMERROR };
const char *dmarc_result_name(enum dmarc_result r);
const char *dmarc_policy_name(enum dmarc_policy p);

struct dmarc_record {
	enum dmarc_policy p, sp;
	bool adkim_strict, aspf_strict;
	int pct;		/* 0..100 */
};
/* Parse "v=DMARC1; p=..." (6.3, 6.4). 0, or -1 when it is not a valid
 * DMARC record (then it counts as absent, 6.6.3). */
int dmarc_record_parse(const char *txt, struct dmarc_record *r);

/* The organizational domain of `domain` (lowercase) into out. */
void dmarc_org_domain(const char *domain, char *out, size_t outsz);

struct dmarc_input {
	const char *from_domain;	/* RFC5322.From domain, lowercase; NULL = none */
	bool from_multiple;		/* several From addresses or fields */
	bool spf_pass;
	const char *spf_domain;		/* the MAIL FROM (or HELO) domain checked */
	const char *dkim_pass[DMARC_MAX_DKIM_DOMAINS]; /* d= of passing signatures */
	size_t ndkim;
};

struct dmarc_outcome {
	enum dmarc_result result;
	enum dmarc_policy policy;	/* what the domain asks for a failure (p= or sp=) */
	bool apply;			/* fail and selected by pct= */
	char why[160];
};

/* `roll` is a number 0..99 (random in the daemon): pct= applies the
 * policy when roll < pct (6.6.4). */
void dmarc_check(const struct dns_resolver *dns, const struct dmarc_input *in, int roll,
		 struct dmarc_outcome *out);
#endif
