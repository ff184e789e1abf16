/*
 * mta-sts: SMTP MTA Strict Transport Security (RFC 8461) for outbound
 * delivery.
 *
 * The pure part (mta-sts.c): the _mta-sts TXT record (3.1), the policy
 * file (3.2) and MX patterns (4.1), safe on any input. The lookup part
 * (mta-sts-cache.c, on the event loop): a bounded cache of policies per
 * domain, refreshed when the TXT id changes or max_age passes, which runs
 * the TXT query and the HTTPS fetch (mta-sts-fetch.c) on a net worker
 * (lib/workers.h), never on the loop.
 */
#ifndef ROOST_MTA_STS_H
#define ROOST_MTA_STS_H
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 8461 3.1: id is 1*32 alphanumeric characters. */
#define MTA_STS_ID_MAX 32
/* MX patterns of one policy kept at most; more are ignored. */
#define MTA_STS_MAX_MX 32
/* Longest MX pattern (a domain name, RFC 1035 2.3.4). */
#define MTA_STS_MX_MAX 253
/* RFC 8461 3.2: max_age is at most 31557600 seconds (about a year). */
#define MTA_STS_MAX_AGE_MAX 31557600
/* Policy body read at most (RFC 8461 3.3 lets senders bound it; a
 * longer body fails the fetch). */
#define MTA_STS_BODY_MAX (64 * 1024)
/* Response headers read at most. */
#define MTA_STS_HEADER_MAX (8 * 1024)
/* Policies held in the cache at most (the soonest to expire goes). */
#define MTA_STS_CACHE_MAX 1000

enum mta_sts_mode {
	MTA_STS_NONE,
	MTA_STS_TESTING,
	MTA_STS_ENFORCE,
};

struct mta_sts_policy {
	char id[MTA_STS_ID_MAX + 1];	/* of the TXT record it was fetched for */
	enum mta_sts_mode mode;
	int64_t max_age;		/* seconds */
	int64_t expires;		/* unix time: fetch time + max_age */
	char *mx[MTA_STS_MAX_MX];	/* lowercase patterns */
	size_t nmx;
};

const char *mta_sts_mode_name(enum mta_sts_mode m);

/* RFC 8461 3.1: the id of a "v=STSv1; id=...;" record into id_r; -1 for
 * a record that is not one (or is malformed). */
int mta_sts_parse_txt(const char *txt, char id_r[MTA_STS_ID_MAX + 1]);

/* RFC 8461 3.2: the policy in body[0..len) into *p (mode, max_age, mx;
 * id and expires are left to the caller). 0, or -1 with *error_r (a
 * static string) and *p cleared. */
int mta_sts_parse_policy(const char *body, size_t len, struct mta_sts_policy *p,
			 const char **error_r);

/* RFC 8461 4.1: the MX host name matches one of the policy's patterns
 * ("mx.example.com", or "*.example.com" for exactly one more label). */
bool mta_sts_mx_match(const struct mta_sts_policy *p, const char *host);

struct mta_sts_policy *mta_sts_policy_dup(const struct mta_sts_policy *p);
void mta_sts_policy_clear(struct mta_sts_policy *p);
void mta_sts_policy_free(struct mta_sts_policy **p);

/* ---- fetching (mta-sts-fetch.c; blocking, for a worker thread) ---- */

struct dns_resolver;
/* GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt within timeout_ms
 * (address lookup, connect, TLS, request and the whole response), the
 * certificate verified by `ctx` for the host name; redirects are not
 * followed (3.3). The body (at most MTA_STS_BODY_MAX) into *body_r, to
 * free. 0, or -1 with *error_r (to free). */
int mta_sts_fetch(SSL_CTX *ctx, const struct dns_resolver *res, const char *domain, int port,
		  int64_t timeout_ms, char **body_r, size_t *len_r, char **error_r);

/* ---- the cache and lookups (mta-sts-cache.c; event loop) ---- */

struct mta_sts_settings {
	int port;		/* of the policy host: 443 */
	int64_t timeout_ms;	/* TXT lookup + fetch */
	const char *ca_file;	/* extra CAs besides the system store, or "" */
	const char *cache_file;	/* the cache persisted here, or "" */
};

/* 0, or -1 with *error_r. Loads the persisted cache. */
int mta_sts_start(const struct mta_sts_settings *set, char **error_r);
/* Lookups still running finish on their worker; their callbacks do not
 * run. */
void mta_sts_stop(void);

/* The policy to apply for `domain` (NULL = none), the callback's to
 * free; the callback runs later on the loop, never inside the call. */
typedef void mta_sts_cb(void *ctx, struct mta_sts_policy *p);
void mta_sts_lookup(const char *domain, mta_sts_cb *cb, void *ctx);
#endif
