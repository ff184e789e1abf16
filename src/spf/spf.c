/*
 * spf: see spf.h. One record is parsed term by term (RFC 7208 4.6.1,
 * 12) and evaluated left to right (4.6.2); macros are expanded as in 7.
 */
#include "spf/spf.h"
#include "dns/dns-packet.h"
#include "dns/dns-sync.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *spf_result_name(enum spf_result r)
{
	static const char *const names[] = {"none",	"neutral",   "pass",	 "fail",
					    "softfail", "temperror", "permerror"};
	return r <= SPF_PERMERROR ? names[r] : "permerror";
}

enum mech { M_ALL, M_INCLUDE, M_A, M_MX, M_PTR, M_IP4, M_IP6, M_EXISTS, M_REDIRECT, M_EXP,
	    M_UNKNOWN_MOD };

struct term {
	char qual;		/* + - ~ ? */
	enum mech mech;
	const char *spec;	/* domain-spec or ip, not NUL-terminated */
	size_t speclen;
	int cidr4, cidr6;	/* -1 = not given */
};

static const struct {
	const char *name;
	enum mech mech;
} mechs[] = {
	{"all", M_ALL}, {"include", M_INCLUDE}, {"a", M_A},	    {"mx", M_MX},
	{"ptr", M_PTR}, {"ip4", M_IP4},		{"ip6", M_IP6}, {"exists", M_EXISTS},
};

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "/N" at the end of s..*n: strip it into *cidr (max `max`). */
static int take_cidr(const char *s, size_t *n, int max, int *cidr)
{
	size_t i = *n;
	while (i > 0 && is_digit(s[i - 1]))
		i--;
	if (i == *n || i == 0 || s[i - 1] != '/')
		return 0;
	if (*n - i > 3)
		return -1;
	int v = 0;
	for (size_t k = i; k < *n; k++)
		v = v * 10 + (s[k] - '0');
	if (v > max || (*n - i > 1 && s[i] == '0'))
		return -1;
	*cidr = v;
	*n = i - 1;
	return 0;
}

/* One term (RFC 7208 12): 0 and *t, or -1 with *error_r. */
static int parse_term(const char *p, size_t n, struct term *t, char **error_r)
{
	memset(t, 0, sizeof(*t));
	t->cidr4 = t->cidr6 = -1;
	/* modifier: name "=" macro-string, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
	size_t k = 0;
	while (k < n && (is_alpha(p[k]) || (k > 0 && (is_digit(p[k]) || p[k] == '-' || p[k] == '_' ||
						       p[k] == '.'))))
		k++;
	if (k > 0 && k < n && p[k] == '=') {
		t->spec = p + k + 1;
		t->speclen = n - k - 1;
		if (k == 8 && strncasecmp(p, "redirect", 8) == 0)
			t->mech = M_REDIRECT;
		else if (k == 3 && strncasecmp(p, "exp", 3) == 0)
			t->mech = M_EXP;
		else
			t->mech = M_UNKNOWN_MOD; /* 6: ignored */
		if (t->mech == M_REDIRECT && t->speclen == 0) {
			*error_r = xstrdup("redirect= without a domain");
			return -1;
		}
		return 0;
	}
	t->qual = '+';
	if (n > 0 && strchr("+-~?", p[0]) != NULL) {
		t->qual = p[0];
		p++, n--;
	}
	size_t nl = 0;
	while (nl < n && (is_alpha(p[nl]) || (nl > 0 && is_digit(p[nl]))))
		nl++;
	bool found = false;
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strlen(mechs[i].name) == nl && strncasecmp(mechs[i].name, p, nl) == 0) {
			t->mech = mechs[i].mech;
			found = true;
		}
	if (!found) {
		*error_r = xasprintf("unknown mechanism \"%.*s\"", (int)(n > 40 ? 40 : n), p);
		return -1;
	}
	const char *rest = p + nl;
	size_t rn = n - nl;
	bool colon = rn > 0 && rest[0] == ':';
	if (colon)
		rest++, rn--;
	else if (rn > 0 && rest[0] != '/') {
		*error_r = xasprintf("bad term \"%.*s\"", (int)(n > 40 ? 40 : n), p);
		return -1;
	}
	switch (t->mech) {
	case M_ALL:
		if (rn > 0) {
			*error_r = xstrdup("all takes no argument");
			return -1;
		}
		break;
	case M_INCLUDE:
	case M_EXISTS:
		if (!colon || rn == 0) {
			*error_r = xstrdup("include/exists need a domain");
			return -1;
		}
		break;
	case M_A:
	case M_MX: {
		/* dual-cidr-length: [ "/" ip4 ] [ "//" ip6 ] */
		size_t m = rn;
		const char *dd = m >= 2 ? memmem(rest, m, "//", 2) : NULL;
		if (dd != NULL) {
			size_t v6n = m;
			if (take_cidr(rest, &v6n, 128, &t->cidr6) < 0 || rest + v6n != dd + 1) {
				*error_r = xstrdup("bad ip6 cidr length");
				return -1;
			}
			m = (size_t)(dd - rest);
		}
		if (take_cidr(rest, &m, 32, &t->cidr4) < 0) {
			*error_r = xstrdup("bad ip4 cidr length");
			return -1;
		}
		rn = m;
		if (colon && rn == 0) {
			*error_r = xstrdup("empty domain");
			return -1;
		}
		break;
	}
	case M_PTR:
		break;
	case M_IP4:
	case M_IP6: {
		if (!colon) {
			*error_r = xstrdup("ip4/ip6 need an address");
			return -1;
		}
		int *c = t->mech == M_IP4 ? &t->cidr4 : &t->cidr6;
		if (take_cidr(rest, &rn, t->mech == M_IP4 ? 32 : 128, c) < 0) {
			*error_r = xstrdup("bad cidr length");
			return -1;
		}
		char ip[INET6_ADDRSTRLEN];
		uint8_t bin[16];
		if (rn == 0 || rn >= sizeof(ip)) {
			*error_r = xstrdup("bad address");
			return -1;
		}
		memcpy(ip, rest, rn);
		ip[rn] = '\0';
		if (inet_pton(t->mech == M_IP4 ? AF_INET : AF_INET6, ip, bin) != 1) {
			*error_r = xasprintf("bad address \"%s\"", ip);
			return -1;
		}
		break;
	}
	default:
		break;
	}
	t->spec = rest;
	t->speclen = rn;
	return 0;
}

/* Walk the terms of a record after "v=spf1"; calls `fn` per term. */
static int parse_record(const char *rec, size_t len, struct term *terms, size_t *n_r,
			char **error_r)
{
	if (len < 6 || strncasecmp(rec, "v=spf1", 6) != 0 || (len > 6 && rec[6] != ' ')) {
		*error_r = xstrdup("not an SPF record");
		return -1;
	}
	size_t n = 0, redirects = 0, exps = 0;
	for (size_t i = 6; i < len;) {
		while (i < len && rec[i] == ' ')
			i++;
		if (i == len)
			break;
		size_t j = i;
		while (j < len && rec[j] != ' ')
			j++;
		if (n == SPF_MAX_TERMS) {
			*error_r = xasprintf("more than %d terms", SPF_MAX_TERMS);
			return -1;
		}
		if (parse_term(rec + i, j - i, &terms[n], error_r) < 0)
			return -1;
		/* 6: redirect and exp at most once each */
		if ((terms[n].mech == M_REDIRECT && ++redirects > 1) ||
		    (terms[n].mech == M_EXP && ++exps > 1)) {
			*error_r = xstrdup("a modifier given twice");
			return -1;
		}
		n++;
		i = j;
	}
	*n_r = n;
	return 0;
}

int spf_record_parse(const char *record, size_t len, char **error_r)
{
	struct term *terms = xcalloc(SPF_MAX_TERMS, sizeof(*terms));
	size_t n;
	int r = parse_record(record, len, terms, &n, error_r);
	free(terms);
	return r;
}

struct eval {
	const struct dns_resolver *dns;
	const struct spf_request *req;
	int family;		/* AF_INET / AF_INET6 */
	uint8_t ip[16];
	unsigned lookups, voids, depth;
	char *why;
};

static void set_why(struct eval *e, char *why)
{
	if (e->why == NULL)
		e->why = why;
	else
		free(why);
}

/* RFC 7208 7: expand macros of spec into out (a domain, <= 253 bytes:
 * longer results lose their left labels, 7.3). -1 on a syntax error. */
static int expand(struct eval *e, const char *domain, const char *spec, size_t n, char *out,
		  size_t outsz)
{
	struct buf b;
	buf_init(&b, 4096);
	const char *sender = e->req->sender;
	const char *at = strrchr(sender, '@');
	char local[256];
	snprintf(local, sizeof(local), "%.*s", at != NULL ? (int)(at - sender) : 10,
		 at != NULL ? sender : "postmaster");
	const char *odom = at != NULL ? at + 1 : sender;
	char ipdots[80];
	if (e->family == AF_INET) {
		snprintf(ipdots, sizeof(ipdots), "%u.%u.%u.%u", e->ip[0], e->ip[1], e->ip[2], e->ip[3]);
	} else {
		size_t o = 0;
		for (int i = 0; i < 16; i++)
			o += (size_t)snprintf(ipdots + o, sizeof(ipdots) - o, "%s%x.%x", i ? "." : "",
					      e->ip[i] >> 4, e->ip[i] & 15);
	}
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (spec[i] != '%') {
			buf_putc(&b, spec[i]);
			continue;
		}
		if (++i == n) {
			ret = -1;
			break;
		}
		char c = spec[i];
		if (c == '%' || c == '_' || c == '-') {
			buf_puts(&b, c == '%' ? "%" : c == '_' ? " " : "%20");
			continue;
		}
		if (c != '{' || i + 2 >= n) {
			ret = -1;
			break;
		}
		const char *close = memchr(spec + i, '}', n - i);
		if (close == NULL) {
			ret = -1;
			break;
		}
		char letter = spec[i + 1];
		const char *value;
		char lc = letter | 0x20;
		switch (lc) {
		case 's': value = sender; break;
		case 'l': value = local; break;
		case 'o': value = odom; break;
		case 'd': value = domain; break;
		case 'i': value = ipdots; break;
		case 'h': value = e->req->helo != NULL ? e->req->helo : ""; break;
		case 'v': value = e->family == AF_INET ? "in-addr" : "ip6"; break;
		case 'p': value = "unknown"; break;
		default: value = NULL; break;
		}
		if (value == NULL) {
			ret = -1;
			break;
		}
		/* transformers: *DIGIT [ "r" ], then delimiters */
		const char *q = spec + i + 2;
		unsigned keep = 0;
		bool have_keep = false, rev = false;
		while (q < close && is_digit(*q)) {
			keep = keep * 10 + (unsigned)(*q++ - '0');
			have_keep = true;
			if (keep > 128)
				keep = 128;
		}
		if (q < close && (*q == 'r' || *q == 'R'))
			rev = true, q++;
		char delims[8] = "";
		size_t nd = 0;
		for (; q < close; q++) {
			if (strchr(".-+,/_=", *q) == NULL || nd + 1 >= sizeof(delims)) {
				ret = -1;
				break;
			}
			delims[nd++] = *q;
		}
		if (ret < 0 || (have_keep && keep == 0)) {
			ret = -1;
			break;
		}
		if (nd == 0)
			delims[0] = '.', nd = 1;
		/* split into parts */
		const char *parts[128];
		size_t plen[128], np = 0;
		const char *v = value, *start = v;
		for (;; v++) {
			if (*v == '\0' || memchr(delims, *v, nd) != NULL) {
				if (np < 128)
					parts[np] = start, plen[np++] = (size_t)(v - start);
				if (*v == '\0')
					break;
				start = v + 1;
			}
		}
		if (rev)
			for (size_t k = 0; k < np / 2; k++) {
				const char *tp = parts[k];
				size_t tl = plen[k];
				parts[k] = parts[np - 1 - k], plen[k] = plen[np - 1 - k];
				parts[np - 1 - k] = tp, plen[np - 1 - k] = tl;
			}
		size_t first = have_keep && keep < np ? np - keep : 0;
		for (size_t k = first; k < np; k++) {
			if (k > first)
				buf_putc(&b, '.');
			buf_append(&b, parts[k], plen[k]);
		}
		i = (size_t)(close - spec);
	}
	if (ret == 0) {
		const char *s = b.data != NULL ? b.data : "";
		size_t len = b.len;
		/* 7.3: drop left labels until it fits */
		while (len > SPF_MAX_EXPANDED) {
			const char *dot = memchr(s, '.', len);
			if (dot == NULL)
				break;
			len -= (size_t)(dot + 1 - s);
			s = dot + 1;
		}
		if (len == 0 || len >= outsz) {
			ret = -1;
		} else {
			memcpy(out, s, len);
			out[len] = '\0';
		}
	}
	buf_free(&b);
	return ret;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
	int full = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

static bool count_lookup(struct eval *e)
{
	if (++e->lookups > SPF_MAX_DNS_TERMS) {
		set_why(e, xasprintf("more than %d DNS lookups", SPF_MAX_DNS_TERMS));
		return false;
	}
	return true;
}

/* A lookup that found nothing (4.6.4): past the limit, permerror. */
static bool count_void(struct eval *e, const struct dns_answer *a)
{
	if (a->status == DNS_ANSWER_NXDOMAIN || (a->status == DNS_ANSWER_OK && a->n == 0)) {
		if (++e->voids > SPF_MAX_VOID_LOOKUPS) {
			set_why(e, xasprintf("more than %d void lookups", SPF_MAX_VOID_LOOKUPS));
			return false;
		}
	}
	return true;
}

/* Does `host` have an address of our family within cidr? -1 temperror,
 * -2 permerror (void limit), 0 no, 1 yes. */
static int addr_match(struct eval *e, const char *host, int cidr4, int cidr6, bool count_voids)
{
	int type = e->family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA;
	int bits = e->family == AF_INET ? (cidr4 < 0 ? 32 : cidr4) : (cidr6 < 0 ? 128 : cidr6);
	struct dns_answer *a = xcalloc(1, sizeof(*a));
	e->dns->query(e->dns->ctx, host, type, a);
	int r = 0;
	if (a->status == DNS_ANSWER_TEMPFAIL)
		r = -1;
	else if (count_voids && !count_void(e, a))
		r = -2;
	for (size_t i = 0; r == 0 && i < a->n; i++)
		if (prefix_match(a->recs[i].addr, e->ip, bits))
			r = 1;
	dns_answer_clear(a);
	free(a);
	return r;
}

static enum spf_result check_host(struct eval *e, const char *domain);

/* The mechanism matches: 1, not: 0, or an error result as -result. */
static int mech_match(struct eval *e, const char *domain, const struct term *t)
{
	char target[SPF_MAX_EXPANDED + 1];
	if (t->mech == M_IP4 || t->mech == M_IP6) {
		int fam = t->mech == M_IP4 ? AF_INET : AF_INET6;
		if (fam != e->family)
			return 0;
		char ip[INET6_ADDRSTRLEN];
		uint8_t bin[16] = {0};
		snprintf(ip, sizeof(ip), "%.*s", (int)t->speclen, t->spec);
		inet_pton(fam, ip, bin);
		int bits = fam == AF_INET ? (t->cidr4 < 0 ? 32 : t->cidr4) : (t->cidr6 < 0 ? 128 : t->cidr6);
		return prefix_match(bin, e->ip, bits);
	}
	if (t->mech == M_ALL)
		return 1;
	if (!count_lookup(e))
		return -SPF_PERMERROR;
	if (t->speclen > 0) {
		if (expand(e, domain, t->spec, t->speclen, target, sizeof(target)) < 0) {
			set_why(e, xasprintf("bad macro in \"%.*s\"", (int)t->speclen, t->spec));
			return -SPF_PERMERROR;
		}
	} else {
		snprintf(target, sizeof(target), "%s", domain);
	}
	switch (t->mech) {
	case M_INCLUDE: {
		/* 5.2: the included record's result decides the match */
		enum spf_result r = check_host(e, target);
		if (r == SPF_PASS)
			return 1;
		if (r == SPF_TEMPERROR)
			return -SPF_TEMPERROR;
		if (r == SPF_PERMERROR || r == SPF_NONE) {
			set_why(e, xasprintf("include:%s gave %s", target, spf_result_name(r)));
			return -SPF_PERMERROR;
		}
		return 0;
	}
	case M_A: {
		int r = addr_match(e, target, t->cidr4, t->cidr6, true);
		return r == -1 ? -SPF_TEMPERROR : r == -2 ? -SPF_PERMERROR : r;
	}
	case M_MX: {
		struct dns_answer *a = xcalloc(1, sizeof(*a));
		e->dns->query(e->dns->ctx, target, DNS_TYPE_MX, a);
		int r = 0;
		if (a->status == DNS_ANSWER_TEMPFAIL)
			r = -SPF_TEMPERROR;
		else if (!count_void(e, a))
			r = -SPF_PERMERROR;
		else if (a->n > SPF_MAX_MX_HOSTS) {
			set_why(e, xasprintf("%s has more than %d MX hosts", target, SPF_MAX_MX_HOSTS));
			r = -SPF_PERMERROR;
		}
		for (size_t i = 0; r == 0 && i < a->n; i++) {
			if (a->recs[i].text == NULL || a->recs[i].text[0] == '\0')
				continue;
			int m = addr_match(e, a->recs[i].text, t->cidr4, t->cidr6, false);
			r = m == -1 ? -SPF_TEMPERROR : m;
		}
		dns_answer_clear(a);
		free(a);
		return r;
	}
	case M_EXISTS: {
		/* 5.7: an A query whatever the client's family */
		struct dns_answer *a = xcalloc(1, sizeof(*a));
		e->dns->query(e->dns->ctx, target, DNS_TYPE_A, a);
		int r = a->status == DNS_ANSWER_TEMPFAIL ? -SPF_TEMPERROR
			: !count_void(e, a)		 ? -SPF_PERMERROR
			: a->n > 0;
		dns_answer_clear(a);
		free(a);
		return r;
	}
	case M_PTR:
	default:
		return 0;
	}
}

static enum spf_result qual_result(char q)
{
	return q == '-' ? SPF_FAIL : q == '~' ? SPF_SOFTFAIL : q == '?' ? SPF_NEUTRAL : SPF_PASS;
}

/* 4.5: the one "v=spf1" TXT record of domain. */
static enum spf_result find_record(struct eval *e, const char *domain, char **rec_r)
{
	*rec_r = NULL;
	struct dns_answer *a = xcalloc(1, sizeof(*a));
	e->dns->query(e->dns->ctx, domain, DNS_TYPE_TXT_RR, a);
	enum spf_result r = SPF_NONE;
	if (a->status == DNS_ANSWER_TEMPFAIL) {
		set_why(e, xasprintf("DNS error for %s", domain));
		r = SPF_TEMPERROR;
	} else {
		size_t found = 0;
		for (size_t i = 0; i < a->n; i++) {
			const char *t = a->recs[i].text;
			if (strncasecmp(t, "v=spf1", 6) == 0 && (t[6] == '\0' || t[6] == ' ')) {
				found++;
				if (*rec_r == NULL)
					*rec_r = xstrdup(t);
			}
		}
		if (found > 1) {
			set_why(e, xasprintf("%s has %zu SPF records", domain, found));
			free(*rec_r);
			*rec_r = NULL;
			r = SPF_PERMERROR;
		} else if (found == 0) {
			set_why(e, xasprintf("%s has no SPF record", domain));
		} else {
			r = SPF_PASS; /* "found" */
		}
	}
	dns_answer_clear(a);
	free(a);
	return r;
}

static bool domain_ok(const char *d)
{
	size_t n = strlen(d), label = 0;
	if (n == 0 || n > 253 || strchr(d, '.') == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (d[i] == '.') {
			if (label == 0 && i + 1 < n)
				return false;
			label = 0;
		} else if (++label > 63 || (unsigned char)d[i] <= ' ') {
			return false;
		}
	}
	return true;
}

static enum spf_result check_host(struct eval *e, const char *domain)
{
	if (!domain_ok(domain))
		return SPF_NONE; /* 4.3 */
	if (e->depth >= SPF_MAX_DEPTH) {
		set_why(e, xstrdup("records nested too deeply"));
		return SPF_PERMERROR;
	}
	char *rec;
	enum spf_result r = find_record(e, domain, &rec);
	if (rec == NULL)
		return r;
	struct term *terms = xcalloc(SPF_MAX_TERMS, sizeof(*terms));
	size_t n = 0;
	char *error = NULL;
	e->depth++;
	if (parse_record(rec, strlen(rec), terms, &n, &error) < 0) {
		set_why(e, xasprintf("%s: %s", domain, error));
		free(error);
		r = SPF_PERMERROR;
		goto done;
	}
	const struct term *redirect = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct term *t = &terms[i];
		if (t->mech == M_REDIRECT) {
			redirect = t;
			continue;
		}
		if (t->mech == M_EXP || t->mech == M_UNKNOWN_MOD)
			continue;
		int m = mech_match(e, domain, t);
		if (m < 0) {
			r = (enum spf_result)-m;
			goto done;
		}
		if (m == 1) {
			r = qual_result(t->qual);
			if (e->depth == 1)
				set_why(e, xasprintf("%s: term %zu matched", domain, i + 1));
			goto done;
		}
	}
	if (redirect != NULL) {
		/* 6.1: a lookup; the target's result, none becoming permerror */
		char target[SPF_MAX_EXPANDED + 1];
		if (!count_lookup(e)) {
			r = SPF_PERMERROR;
			goto done;
		}
		if (expand(e, domain, redirect->spec, redirect->speclen, target, sizeof(target)) < 0) {
			set_why(e, xstrdup("bad macro in redirect="));
			r = SPF_PERMERROR;
			goto done;
		}
		r = check_host(e, target);
		if (r == SPF_NONE)
			r = SPF_PERMERROR;
		goto done;
	}
	r = SPF_NEUTRAL; /* 4.7: no match, no redirect */
done:
	e->depth--;
	free(terms);
	free(rec);
	return r;
}

enum spf_result spf_check(const struct dns_resolver *dns, const struct spf_request *req,
			  const char *domain, char **why_r)
{
	struct eval e = {.dns = dns, .req = req};
	if (inet_pton(AF_INET, req->ip, e.ip) == 1) {
		e.family = AF_INET;
	} else if (inet_pton(AF_INET6, req->ip, e.ip) == 1) {
		e.family = AF_INET6;
		/* an IPv4-mapped address is checked as IPv4 (5 note) */
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(e.ip, mapped, 12) == 0) {
			memmove(e.ip, e.ip + 12, 4);
			e.family = AF_INET;
		}
	} else {
		*why_r = xstrdup("no client IP address");
		return SPF_NONE;
	}
	enum spf_result r = check_host(&e, domain);
	*why_r = e.why != NULL ? e.why : xasprintf("%s: %s", domain, spf_result_name(r));
	return r;
}
