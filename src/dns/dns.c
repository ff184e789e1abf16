/* dns: see dns.h. */
#include "dns/dns.h"
#include "dns/dns-packet.h"
#include "dns/dns-private.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound-event.h>
#include <unbound.h>
#include <unistd.h>

/* RFC 1035 4.1.1 RCODE 3: the name does not exist. */
#define DNS_RCODE_NXDOMAIN 3
/* libunbound's sec argument (unbound-event.h). */
#define DNS_SEC_BOGUS 1
#define DNS_SEC_SECURE 2

struct dns {
	struct event_base *base;
	struct ub_ctx *ub;
	bool validating;
};

struct dns_lookup {
	struct dns *d;
	char *domain;
	int port;
	dns_route_cb *cb;
	void *ctx;
	bool cancelled, finished;
	int pending;		/* queries sent, not answered yet */
	bool tempfail;		/* an address query failed temporarily */
	struct dns_route *route;
	struct event *deliver;	/* hands the route to cb from the loop */
};

/* The reply's RCODE (RFC 1035 4.1.1): libunbound reports NXDOMAIN in
 * the packet, with its rcode argument 0. */
static int packet_rcode(int rcode, const void *pkt, int len)
{
	if (rcode != 0 || pkt == NULL || len < 4)
		return rcode;
	return ((const unsigned char *)pkt)[3] & 0x0f;
}

/* One address (or TLSA) query of one host. */
struct addr_query {
	struct dns_lookup *l;
	size_t host;
	int type;
};

static bool valid_ip(const char *s, size_t n)
{
	char tmp[INET6_ADDRSTRLEN];
	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	unsigned char buf[16];
	return inet_pton(AF_INET, tmp, buf) == 1 || inet_pton(AF_INET6, tmp, buf) == 1;
}

int dns_set_forwarders(struct ub_ctx *ub, const char *list, char **error_r)
{
	const char *p = list;
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		const char *at = memchr(p, '@', n);
		size_t iplen = at != NULL ? (size_t)(at - p) : n;
		if (!valid_ip(p, iplen)) {
			*error_r = xasprintf("dns.resolver: %.*s: not an IP[@PORT]", (int)n, p);
			return -1;
		}
		if (at != NULL) {
			char *endp;
			long port = strtol(at + 1, &endp, 10);
			if (endp != p + n || port <= 0 || port > 65535) {
				*error_r = xasprintf("dns.resolver: %.*s: bad port", (int)n, p);
				return -1;
			}
		}
		char *one = xstrndup(p, n);
		int r = ub_ctx_set_fwd(ub, one);
		free(one);
		if (r != 0) {
			*error_r = xasprintf("dns.resolver: %s", ub_strerror(r));
			return -1;
		}
		p = end != NULL ? end + 1 : p + n;
	}
	/* Forwarders on loopback (a local cache, the tests' server) must be
	 * allowed: unbound refuses to query 127/8 and ::1 by default. */
	ub_ctx_set_option(ub, "do-not-query-localhost:", "no");
	/* libunbound answers RFC 6761 names (test., invalid., ...) itself
	 * with empty zones; with forwarders given, they decide (the tests'
	 * domains are under test.). */
	ub_ctx_set_option(ub, "local-zone:", "test. transparent");
	return 0;
}

struct dns *dns_new(struct event_base *base, const char *resolver, const char *trust_anchor,
		    char **error_r)
{
	struct ub_ctx *ub = ub_ctx_create_event(base);
	if (ub == NULL) {
		*error_r = xstrdup("dns: cannot create the libunbound context");
		return NULL;
	}
	int r = 0;
	if (strcmp(resolver, "system") == 0) {
		/* no resolv.conf: lookups fail (temporarily) until one exists */
		if ((r = ub_ctx_resolvconf(ub, NULL)) != 0)
			log_warn("dns: /etc/resolv.conf: %s; outbound lookups will fail",
				 ub_strerror(r));
		ub_ctx_hosts(ub, NULL);
	} else if (dns_set_forwarders(ub, resolver, error_r) < 0) {
		ub_ctx_delete(ub);
		return NULL;
	}
	bool validating = false;
	if (*trust_anchor != '\0') {
		if (access(trust_anchor, R_OK) != 0)
			log_warn("dns: trust anchor %s: %s; answers are not DNSSEC-validated",
				 trust_anchor, strerror(errno));
		else if ((r = ub_ctx_add_ta_file(ub, trust_anchor)) != 0)
			log_warn("dns: trust anchor %s: %s; answers are not DNSSEC-validated",
				 trust_anchor, ub_strerror(r));
		else
			validating = true;
	}
	struct dns *d = xcalloc(1, sizeof(*d));
	d->base = base;
	d->ub = ub;
	d->validating = validating;
	return d;
}

void dns_free(struct dns **dp)
{
	struct dns *d = *dp;
	if (d == NULL)
		return;
	ub_ctx_delete(d->ub);
	free(d);
	*dp = NULL;
}

void dns_route_free(struct dns_route **rp)
{
	struct dns_route *r = *rp;
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nhosts; i++)
		free(r->hosts[i].name);
	free(r->hosts);
	free(r->error);
	free(r);
	*rp = NULL;
}

static void lookup_free(struct dns_lookup *l)
{
	dns_route_free(&l->route);
	if (l->deliver != NULL)
		event_free(l->deliver);
	free(l->domain);
	free(l);
}

static void deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_lookup *l = arg;
	if (!l->cancelled) {
		struct dns_route *r = l->route;
		l->route = NULL;
		l->cb(l->ctx, r);
	}
	lookup_free(l);
}

/* The route is complete (or failed): hand it over from the loop. */
static void finish(struct dns_lookup *l, enum dns_status st, const char *error)
{
	struct dns_route *r = l->route;
	if (st == DNS_OK) {
		/* RFC 7672 2.2.2: TLSA counts only for a host whose addresses
		 * are secure too */
		for (size_t i = 0; i < r->nhosts; i++)
			if (r->hosts[i].addr_insecure && r->hosts[i].dane != DNS_DANE_NONE) {
				r->hosts[i].dane = DNS_DANE_NONE;
				r->hosts[i].ntlsa = 0;
			}
		/* keep only the hosts that have an address */
		size_t k = 0;
		for (size_t i = 0; i < r->nhosts; i++) {
			if (r->hosts[i].naddrs > 0)
				r->hosts[k++] = r->hosts[i];
			else
				free(r->hosts[i].name);
		}
		r->nhosts = k;
		if (k == 0) {
			/* MX hosts without an address are a broken zone that
			 * may be fixed: retry; no MX and no address is final */
			bool temp = l->tempfail || !r->implicit_mx;
			st = temp ? DNS_TEMPFAIL : DNS_NOTFOUND;
			error = l->tempfail ? "address lookup failed" : "no address for the mail host";
		}
	}
	r->status = st;
	if (st != DNS_OK && r->error == NULL)
		r->error = xasprintf("%s: %s", l->domain, error != NULL ? error : "lookup failed");
	l->finished = true;
	event_active(l->deliver, 0, 0);
}

static void one_done(struct dns_lookup *l)
{
	if (--l->pending == 0 && !l->finished)
		finish(l, DNS_OK, NULL);
}

static void addr_cb(void *arg, int rcode, void *pkt, int len, int sec, char *why_bogus,
		    int ratelimited)
{
	struct addr_query *q = arg;
	struct dns_lookup *l = q->l;
	struct dns_route *r = l->route;
	rcode = packet_rcode(rcode, pkt, len);
	if (rcode != 0 && rcode != DNS_RCODE_NXDOMAIN) {
		l->tempfail = true;
	} else if (rcode == 0 && sec == DNS_SEC_BOGUS) {
		l->tempfail = true;
		log_warn("dns: %s: DNSSEC bogus: %s", r->hosts[q->host].name,
			 why_bogus != NULL ? why_bogus : "?");
	} else if (rcode == 0) {
		if (sec != DNS_SEC_SECURE) {
			r->secure = false;
			r->hosts[q->host].addr_insecure = true;
		}
		struct dns_rr rr[DNS_MAX_HOST_ADDRS];
		int n = dns_packet_answers(pkt, (size_t)len, (uint16_t)q->type, rr,
					   DNS_MAX_HOST_ADDRS);
		if (n < 0)
			l->tempfail = true;
		struct dns_host *h = &r->hosts[q->host];
		for (int i = 0; i < n && h->naddrs < DNS_MAX_HOST_ADDRS; i++) {
			struct sockaddr_storage *ss = &h->addrs[h->naddrs];
			memset(ss, 0, sizeof(*ss));
			if (q->type == DNS_TYPE_A) {
				struct sockaddr_in *sin = (struct sockaddr_in *)ss;
				sin->sin_family = AF_INET;
				sin->sin_port = htons((uint16_t)l->port);
				memcpy(&sin->sin_addr, rr[i].addr, 4);
				h->addr_lens[h->naddrs++] = sizeof(*sin);
			} else {
				struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
				sin6->sin6_family = AF_INET6;
				sin6->sin6_port = htons((uint16_t)l->port);
				memcpy(&sin6->sin6_addr, rr[i].addr, 16);
				h->addr_lens[h->naddrs++] = sizeof(*sin6);
			}
		}
	}
	free(q);
	one_done(l);
}

/* RFC 7672 3.1: what SMTP can use of a TLSA record. */
static bool tlsa_usable(const struct dns_rr *rr)
{
	static const size_t digest_len[] = {0, 32, 64};	/* by matching type */
	if (rr->tlsa_usage != 2 && rr->tlsa_usage != 3)
		return false;	/* PKIX-TA/EE (0, 1) are not for SMTP */
	if (rr->tlsa_selector > 1 || rr->tlsa_mtype > 2 || rr->tlsa_too_long)
		return false;
	return rr->tlsa_mtype == 0 || rr->tlsa_len == digest_len[rr->tlsa_mtype];
}

static void tlsa_cb(void *arg, int rcode, void *pkt, int len, int sec, char *why_bogus,
		    int ratelimited)
{
	struct addr_query *q = arg;
	struct dns_lookup *l = q->l;
	struct dns_host *h = &l->route->hosts[q->host];
	rcode = packet_rcode(rcode, pkt, len);
	if (sec == DNS_SEC_BOGUS || (rcode != 0 && rcode != DNS_RCODE_NXDOMAIN)) {
		/* RFC 7672 2.2.2: not "no TLSA", but "cannot know" */
		h->dane = DNS_DANE_FAILED;
		log_warn("dns: TLSA of %s: %s", h->name,
			 sec == DNS_SEC_BOGUS ? (why_bogus != NULL ? why_bogus : "DNSSEC bogus") :
						"lookup failed");
	} else if (rcode == 0 && sec == DNS_SEC_SECURE) {
		struct dns_rr *rr = xcalloc(DNS_MAX_ANSWERS, sizeof(*rr));
		int n = dns_packet_answers(pkt, (size_t)len, DNS_TYPE_TLSA, rr, DNS_MAX_ANSWERS);
		if (n < 0) {
			h->dane = DNS_DANE_FAILED;
		} else if (n > 0) {
			h->dane = DNS_DANE_ON;
			for (int i = 0; i < n && h->ntlsa < DNS_MAX_TLSA; i++) {
				if (!tlsa_usable(&rr[i]))
					continue;
				struct dns_tlsa *t = &h->tlsa[h->ntlsa++];
				t->usage = rr[i].tlsa_usage;
				t->selector = rr[i].tlsa_selector;
				t->mtype = rr[i].tlsa_mtype;
				t->len = rr[i].tlsa_len;
				memcpy(t->data, rr[i].tlsa_data, t->len);
			}
		}
		free(rr);
	}
	/* an insecure answer or a secure denial: no DANE for this host */
	free(q);
	one_done(l);
}

/* _PORT._tcp.HOST's TLSA records (RFC 7672 2.2.3, RFC 6698 3). */
static void query_tlsa(struct dns_lookup *l, size_t host)
{
	struct addr_query *q = xcalloc(1, sizeof(*q));
	q->l = l;
	q->host = host;
	q->type = DNS_TYPE_TLSA;
	char name[DNS_NAME_MAX + 16];
	snprintf(name, sizeof(name), "_%d._tcp.%s", l->port, l->route->hosts[host].name);
	l->pending++;
	if (ub_resolve_event(l->d->ub, name, DNS_TYPE_TLSA, DNS_CLASS_IN, q, tlsa_cb, NULL) != 0) {
		free(q);
		l->route->hosts[host].dane = DNS_DANE_FAILED;
		l->pending--;
	}
}

static void query_addrs(struct dns_lookup *l, size_t host)
{
	/* IPv6 first, then IPv4 (RFC 6724 order for a dual-stack host) */
	static const int types[] = {DNS_TYPE_AAAA, DNS_TYPE_A};
	for (size_t t = 0; t < 2; t++) {
		struct addr_query *q = xcalloc(1, sizeof(*q));
		q->l = l;
		q->host = host;
		q->type = types[t];
		l->pending++;
		int r = ub_resolve_event(l->d->ub, l->route->hosts[host].name, types[t],
					 DNS_CLASS_IN, q, addr_cb, NULL);
		if (r != 0) {
			free(q);
			l->tempfail = true;
			l->pending--;
		}
	}
}

static int pref_cmp(const void *a, const void *b)
{
	const struct dns_rr *x = a, *y = b;
	return (int)x->pref - (int)y->pref;
}

static void mx_cb(void *arg, int rcode, void *pkt, int len, int sec, char *why_bogus,
		  int ratelimited)
{
	struct dns_lookup *l = arg;
	struct dns_route *r = l->route;
	l->pending--;
	rcode = packet_rcode(rcode, pkt, len);
	if (rcode == DNS_RCODE_NXDOMAIN) {
		finish(l, DNS_NOTFOUND, "no such domain");
		return;
	}
	if (rcode != 0) {
		finish(l, DNS_TEMPFAIL, "MX lookup failed (SERVFAIL or timeout)");
		return;
	}
	if (sec == DNS_SEC_BOGUS) {
		r->error = xasprintf("%s: DNSSEC validation failed: %s", l->domain,
				     why_bogus != NULL ? why_bogus : "bogus");
		finish(l, DNS_TEMPFAIL, NULL);
		return;
	}
	r->secure = sec == DNS_SEC_SECURE;
	struct dns_rr mx[DNS_MAX_ANSWERS];
	int n = dns_packet_answers(pkt, (size_t)len, DNS_TYPE_MX, mx, DNS_MAX_ANSWERS);
	if (n < 0) {
		finish(l, DNS_TEMPFAIL, "malformed MX reply");
		return;
	}
	/* RFC 7505 3: a single MX whose exchange is "." = no mail. */
	if (n == 1 && mx[0].name[0] == '\0') {
		finish(l, DNS_NULL_MX, "null MX: the domain accepts no mail");
		return;
	}
	qsort(mx, (size_t)n, sizeof(mx[0]), pref_cmp);
	r->hosts = xcalloc(DNS_MAX_MX_HOSTS, sizeof(*r->hosts));
	if (n == 0) {
		/* RFC 5321 5.1: no MX, the domain is its own mail host */
		r->implicit_mx = true;
		r->hosts[0].name = xstrdup(l->domain);
		r->nhosts = 1;
	}
	for (int i = 0; i < n && r->nhosts < DNS_MAX_MX_HOSTS; i++) {
		if (mx[i].name[0] == '\0')
			continue; /* a stray "." among real MXs */
		r->hosts[r->nhosts].name = xstrdup(mx[i].name);
		r->hosts[r->nhosts].pref = mx[i].pref;
		r->nhosts++;
	}
	l->pending++; /* hold: answers given at once must not finish early */
	/* RFC 7672 2.2.1: DANE only for MX hosts from a secure answer (the
	 * MX answer's own status: an address answer may clear r->secure) */
	bool mx_secure = r->secure;
	for (size_t i = 0; i < r->nhosts; i++) {
		query_addrs(l, i);
		if (mx_secure)
			query_tlsa(l, i);
	}
	one_done(l);
}

struct dns_lookup *dns_route(struct dns *d, const char *domain, int port, dns_route_cb *cb,
			     void *ctx)
{
	struct dns_lookup *l = xcalloc(1, sizeof(*l));
	l->d = d;
	l->domain = xstrdup(domain);
	l->port = port;
	l->cb = cb;
	l->ctx = ctx;
	l->route = xcalloc(1, sizeof(*l->route));
	l->deliver = event_new(d->base, -1, 0, deliver_cb, l);
	l->pending = 1;
	int r = ub_resolve_event(d->ub, domain, DNS_TYPE_MX, DNS_CLASS_IN, l, mx_cb, NULL);
	if (r != 0) {
		l->pending = 0;
		l->route->error = xasprintf("%s: resolver: %s", domain, ub_strerror(r));
		finish(l, DNS_TEMPFAIL, NULL);
	}
	return l;
}

void dns_lookup_cancel(struct dns_lookup **lp)
{
	if (*lp != NULL)
		(*lp)->cancelled = true;
	*lp = NULL;
}
