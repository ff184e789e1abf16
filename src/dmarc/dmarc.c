/* dmarc: see dmarc.h. */
#include "dmarc/dmarc.h"
#include "dns/dns-sync.h"
#include "lib/alloc.h"
#include <ctype.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *dmarc_result_name(enum dmarc_result r)
{
	static const char *const names[] = {"none", "pass", "fail", "temperror", "permerror"};
	return r <= DMARC_PERMERROR ? names[r] : "permerror";
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	return p == DMARC_P_REJECT ? "reject" : p == DMARC_P_QUARANTINE ? "quarantine" : "none";
}

static int parse_policy(const char *v, size_t n, enum dmarc_policy *p)
{
	if (n == 4 && strncasecmp(v, "none", 4) == 0)
		*p = DMARC_P_NONE;
	else if (n == 10 && strncasecmp(v, "quarantine", 10) == 0)
		*p = DMARC_P_QUARANTINE;
	else if (n == 6 && strncasecmp(v, "reject", 6) == 0)
		*p = DMARC_P_REJECT;
	else
		return -1;
	return 0;
}

int dmarc_record_parse(const char *txt, struct dmarc_record *r)
{
	size_t len = strlen(txt);
	if (len > DMARC_MAX_RECORD)
		return -1;
	*r = (struct dmarc_record){.pct = 100};
	bool have_p = false, have_sp = false, first = true;
	for (size_t i = 0; i < len;) {
		size_t end = i;
		while (end < len && txt[end] != ';')
			end++;
		size_t a = i, b = end;
		while (a < b && (txt[a] == ' ' || txt[a] == '\t'))
			a++;
		while (b > a && (txt[b - 1] == ' ' || txt[b - 1] == '\t'))
			b--;
		i = end + 1;
		if (a == b) {
			if (first)
				return -1;
			continue;
		}
		const char *eq = memchr(txt + a, '=', b - a);
		if (eq == NULL)
			return -1;
		size_t nl = (size_t)(eq - (txt + a));
		while (nl > 0 && (txt[a + nl - 1] == ' ' || txt[a + nl - 1] == '\t'))
			nl--;
		const char *v = eq + 1;
		while (v < txt + b && (*v == ' ' || *v == '\t'))
			v++;
		size_t vn = (size_t)(txt + b - v);
		const char *name = txt + a;
		if (first) {
			/* 6.4: v=DMARC1 comes first */
			if (nl != 1 || name[0] != 'v' || vn != 6 || strncmp(v, "DMARC1", 6) != 0)
				return -1;
			first = false;
			continue;
		}
		if (nl == 1 && name[0] == 'p') {
			if (parse_policy(v, vn, &r->p) < 0)
				return -1;
			have_p = true;
		} else if (nl == 2 && strncmp(name, "sp", 2) == 0) {
			if (parse_policy(v, vn, &r->sp) == 0)
				have_sp = true;
		} else if (nl == 5 && strncmp(name, "adkim", 5) == 0) {
			r->adkim_strict = vn == 1 && v[0] == 's';
		} else if (nl == 4 && strncmp(name, "aspf", 4) == 0) {
			r->aspf_strict = vn == 1 && v[0] == 's';
		} else if (nl == 3 && strncmp(name, "pct", 3) == 0) {
			int pct = 0;
			if (vn == 0 || vn > 3)
				return -1;
			for (size_t k = 0; k < vn; k++) {
				if (v[k] < '0' || v[k] > '9')
					return -1;
				pct = pct * 10 + (v[k] - '0');
			}
			r->pct = pct > 100 ? 100 : pct;
		}
		/* rua, ruf, fo, rf, ri: reports, which Roost does not send */
	}
	if (first || !have_p)
		return -1; /* 6.6.3: no valid p= means no policy */
	if (!have_sp)
		r->sp = r->p;
	return 0;
}

/* The Public Suffix List, loaded once per process: Debian's file
 * (package publicsuffix) when it is newer than libpsl's built-in copy. */
static const psl_ctx_t *psl;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

static void psl_load(void)
{
	psl = psl_latest(NULL);
	if (psl == NULL)
		psl = psl_builtin();
}

void dmarc_org_domain(const char *domain, char *out, size_t outsz)
{
	pthread_once(&psl_once, psl_load);
	size_t n = strlen(domain);
	while (n > 0 && domain[n - 1] == '.')
		n--;
	char lower[DMARC_MAX_DOMAIN + 1];
	if (n > DMARC_MAX_DOMAIN)
		n = DMARC_MAX_DOMAIN;
	bool ascii = true;
	for (size_t i = 0; i < n; i++) {
		lower[i] = (char)tolower((unsigned char)domain[i]);
		ascii &= (unsigned char)domain[i] < 0x80;
	}
	lower[n] = '\0';
	/* a U-label (RFC 6532 address): Unicode lower case, as the list has it */
	char *folded = NULL;
	if (!ascii && psl_str_to_utf8lower(lower, "utf-8", NULL, &folded) == PSL_SUCCESS) {
		snprintf(lower, sizeof(lower), "%s", folded);
		psl_free_string(folded);
	}
	/* The registrable domain: one label below the longest public suffix
	 * (RFC 7489 3.2). A public suffix itself has none: it stays as it is. */
	const char *reg = psl != NULL ? psl_registrable_domain(psl, lower) : NULL;
	snprintf(out, outsz, "%s", reg != NULL ? reg : lower);
}

/* 0 found (*r), 1 none, -1 temperror. */
static int fetch(const struct dns_resolver *dns, const char *domain, struct dmarc_record *r)
{
	char name[300];
	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	struct dns_answer *a = xcalloc(1, sizeof(*a));
	dns->query(dns->ctx, name, DNS_TYPE_TXT_RR, a);
	int ret = 1;
	if (a->status == DNS_ANSWER_TEMPFAIL) {
		ret = -1;
	} else {
		size_t found = 0;
		for (size_t i = 0; i < a->n; i++) {
			if (strncmp(a->recs[i].text, "v=DMARC1", 8) != 0)
				continue;
			struct dmarc_record one;
			if (dmarc_record_parse(a->recs[i].text, &one) == 0 && found++ == 0)
				*r = one;
		}
		ret = found == 1 ? 0 : 1; /* 6.6.3: more than one is none */
	}
	dns_answer_clear(a);
	free(a);
	return ret;
}

static bool aligned(const char *id, const char *from, bool strict)
{
	if (id == NULL)
		return false;
	if (strcasecmp(id, from) == 0)
		return true;
	if (strict)
		return false;
	char o1[256], o2[256];
	dmarc_org_domain(id, o1, sizeof(o1));
	dmarc_org_domain(from, o2, sizeof(o2));
	return strcmp(o1, o2) == 0;
}

void dmarc_check(const struct dns_resolver *dns, const struct dmarc_input *in, int roll,
		 struct dmarc_outcome *out)
{
	memset(out, 0, sizeof(*out));
	if (in->from_multiple) {
		/* 6.6.1: several authors; we cannot tell whose policy applies */
		out->result = DMARC_PERMERROR;
		snprintf(out->why, sizeof(out->why), "several From addresses");
		return;
	}
	if (in->from_domain == NULL || *in->from_domain == '\0') {
		out->result = DMARC_NONE;
		snprintf(out->why, sizeof(out->why), "no From domain");
		return;
	}
	struct dmarc_record rec;
	char org[256];
	dmarc_org_domain(in->from_domain, org, sizeof(org));
	bool sub = strcasecmp(org, in->from_domain) != 0;
	int f = fetch(dns, in->from_domain, &rec);
	if (f == 1 && sub) {
		f = fetch(dns, org, &rec);
		if (f == 0)
			rec.p = rec.sp; /* 6.6.3: a subdomain gets sp= */
	}
	if (f < 0) {
		out->result = DMARC_TEMPERROR;
		snprintf(out->why, sizeof(out->why), "policy lookup failed");
		return;
	}
	if (f == 1) {
		out->result = DMARC_NONE;
		snprintf(out->why, sizeof(out->why), "no policy for %.100s", in->from_domain);
		return;
	}
	out->policy = rec.p;
	bool pass = in->spf_pass && aligned(in->spf_domain, in->from_domain, rec.aspf_strict);
	const char *via = pass ? "spf" : NULL;
	for (size_t i = 0; !pass && i < in->ndkim; i++)
		if (aligned(in->dkim_pass[i], in->from_domain, rec.adkim_strict))
			pass = true, via = "dkim";
	out->result = pass ? DMARC_PASS : DMARC_FAIL;
	out->apply = !pass && roll < rec.pct;
	if (pass)
		snprintf(out->why, sizeof(out->why), "aligned %s", via);
	else
		snprintf(out->why, sizeof(out->why), "no aligned pass, p=%s pct=%d",
			 dmarc_policy_name(rec.p), rec.pct);
}
