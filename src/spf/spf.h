/*
 * spf: the Sender Policy Framework check (RFC 7208): check_host() of a
 * client IP against the SPF record of the MAIL FROM domain (or the HELO
 * name for the null sender).
 *
 * Synchronous on purpose: the chained lookups (include:, redirect=, a,
 * mx, exists) go through a struct dns_resolver, which in the daemon is
 * dns-sync.h on a worker thread with a deadline, and in the tests a fake
 * table. The RFC's limits bound the work whatever the records say: 10
 * mechanisms and modifiers that query DNS (4.6.4), 2 void lookups, 10 MX
 * hosts per mx mechanism, and SPF_MAX_DEPTH nested records. Not
 * implemented: ptr (RFC 7208 5.5 says "do not use"; it never matches
 * here but still counts as a lookup) and the exp= explanation.
 */
#ifndef ROOST_SPF_H
#define ROOST_SPF_H
#include <stddef.h>

struct dns_resolver;

#define SPF_MAX_DNS_TERMS 10	/* RFC 7208 4.6.4 */
#define SPF_MAX_VOID_LOOKUPS 2	/* RFC 7208 4.6.4 */
#define SPF_MAX_MX_HOSTS 10	/* RFC 7208 4.6.4 */
#define SPF_MAX_DEPTH 12	/* nested include/redirect (the lookup limit ends loops first) */
#define SPF_MAX_TERMS 128	/* terms in one record */
#define SPF_MAX_EXPANDED 253	/* a domain after macro expansion (RFC 7208 7.3) */

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};
/* "none", "neutral", "pass", ... as in Authentication-Results. */
const char *spf_result_name(enum spf_result r);

struct spf_request {
	const char *ip;		/* the client, "192.0.2.1" or "2001:db8::1" */
	const char *sender;	/* MAIL FROM, or "postmaster@HELO" for <> */
	const char *helo;	/* %{h} */
};

/* check_host(ip, domain, sender) (RFC 7208 4). *why_r (caller frees)
 * says what decided, for the log and the A-R comment. */
enum spf_result spf_check(const struct dns_resolver *dns, const struct spf_request *req,
			  const char *domain, char **why_r);

/* Is `record` (len bytes, "v=spf1 ...") syntactically valid? 0, or -1
 * and *error_r (caller frees). The same term parser spf_check() uses. */
int spf_record_parse(const char *record, size_t len, char **error_r);
#endif
