/*
 * sieve-test: the tests of RFC 5228 section 5 and of the extensions
 * (envelope, imap4flags hasflag, variables string, body, mailbox,
 * mailboxid, special-use, spamtest/virustest, duplicate, relational,
 * index), and matching a set of values against keys with the node's
 * match type and comparator. Match variables (RFC 5229 3.2) are set from
 * a successful :matches or :regex when the script uses variables.
 */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "lib/alloc.h"
#include "sieve/sieve-interp.h"

static void set_caps(struct sv_run *run, struct sv_captures *c)
{
	sv_captures_clear(&run->caps);
	for (size_t i = 0; i < 10; i++) {
		run->caps.v[i] = c->v[i];
		c->v[i] = NULL;
		if (run->caps.v[i] != NULL && strlen(run->caps.v[i]) > run->lim.max_variable_size)
			run->caps.v[i][run->lim.max_variable_size] = '\0';
	}
	run->caps.n = c->n;
}

static int regex_match(struct sv_run *run, const struct sv_node *n, const char *v, const char *key,
		       bool want_caps, bool *hit)
{
	char err[160];
	if (sv_regex_check(key, strlen(key), n->comparator == CMP_CASEMAP, err, sizeof(err)) < 0)
		return sv_rt_error(run, n, "%s", err);
	regex_t re;
	if (regcomp(&re, key, REG_EXTENDED | (n->comparator == CMP_CASEMAP ? REG_ICASE : 0)) != 0)
		return sv_rt_error(run, n, "invalid regular expression");
	regmatch_t m[10];
	/* glibc's matcher is polynomial but not linear: only the start of a
	 * long value is searched (REG_STARTEND bounds it without a copy) */
	size_t vl = strlen(v);
	m[0].rm_so = 0;
	m[0].rm_eo = (regoff_t)(vl < SV_REGEX_SUBJECT_MAX ? vl : SV_REGEX_SUBJECT_MAX);
	*hit = regexec(&re, v, 10, m, REG_STARTEND) == 0;
	if (*hit && want_caps) {
		struct sv_captures c = { 0 };
		for (size_t i = 0; i < 10; i++) {
			if (m[i].rm_so < 0)
				c.v[i] = xstrdup("");
			else
				c.v[i] = xstrndup(v + m[i].rm_so, (size_t)(m[i].rm_eo - m[i].rm_so));
		}
		c.n = 10;
		set_caps(run, &c);
	}
	regfree(&re);
	return 0;
}

int sv_match_values(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n,
		    char **values, size_t nvalues, const struct sv_arg *keys)
{
	struct sv_view kv;
	sv_view_init(&kv, run, sc, keys);
	char **k = kv.v;
	size_t nk = kv.n;
	int result = 0;
	bool caps = sv_uses(sc, EXT_VARIABLES);
	if (n->match == MATCH_COUNT) {
		char num[32];
		snprintf(num, sizeof(num), "%zu", nvalues);
		for (size_t j = 0; j < nk && result == 0; j++)
			if (sv_relop_ok(n->relop, sv_compare(num, strlen(num), k[j], strlen(k[j]), n->comparator)))
				result = 1;
		sv_view_free(&kv);
		return result;
	}
	for (size_t i = 0; i < nvalues && result == 0; i++) {
		const char *v = values[i];
		size_t vl = strlen(v);
		for (size_t j = 0; j < nk && result == 0; j++) {
			/* cost in steps: linear matches by length, :matches by
			 * its O(value * pattern) bound, :regex by its capped input */
			size_t kl = strlen(k[j]);
			uint64_t cost = 1 + vl / 256 + kl / 256;
			if (n->match == MATCH_MATCHES)
				cost += (uint64_t)vl * kl / 65536;
			else if (n->match == MATCH_REGEX)
				cost += (uint64_t)(vl < SV_REGEX_SUBJECT_MAX ? vl : SV_REGEX_SUBJECT_MAX) * kl / 4096;
			if (sv_step(run, n, cost) < 0) {
				result = -1;
				break;
			}
			bool casemap = n->comparator == CMP_CASEMAP;
			bool hit = false;
			switch (n->match) {
			case MATCH_IS:
				hit = sv_compare(v, vl, k[j], kl, n->comparator) == 0;
				break;
			case MATCH_CONTAINS:
				hit = sv_contains(v, vl, k[j], kl, casemap);
				break;
			case MATCH_MATCHES: {
				struct sv_captures c = { 0 };
				hit = sv_glob(k[j], kl, v, vl, casemap, caps ? &c : NULL);
				if (hit && caps)
					set_caps(run, &c);
				sv_captures_clear(&c);
				break;
			}
			case MATCH_REGEX:
				if (regex_match(run, n, v, k[j], caps, &hit) < 0)
					result = -1;
				break;
			case MATCH_VALUE:
				hit = sv_relop_ok(n->relop, sv_compare(v, vl, k[j], kl, n->comparator));
				break;
			}
			if (result == 0 && hit)
				result = 1;
		}
	}
	sv_view_free(&kv);
	return result;
}

/* Values to match: `own` entries are malloc'd, the others borrowed
 * (header values, parsed addresses: they live as long as the run). */
struct strv {
	char **v;
	size_t n, cap;
	char **own;
	size_t nown, owncap;
};

static void strv_ref(struct strv *s, const char *v)
{
	s->v = xgrow(s->v, &s->cap, s->n + 2, sizeof(char *));
	s->v[s->n++] = (char *)v;
	s->v[s->n] = NULL;
}

static void strv_add(struct strv *s, char *v)
{
	strv_ref(s, v);
	s->own = xgrow(s->own, &s->owncap, s->nown + 1, sizeof(char *));
	s->own[s->nown++] = v;
}

static void strv_free(struct strv *s)
{
	sv_free_list(s->own, s->nown);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Fields named `name` honouring :index / :last (RFC 5260 6), borrowed
 * into *out: the caller's array of *cap entries (`first` is its stack
 * array, never freed), grown on the heap when more fields match. */
static void select_fields(struct sv_run *run, const struct sv_node *n, const char *name,
			  struct sv_hdr **first, struct sv_hdr ***out, size_t *nout, size_t *cap)
{
	*nout = 0;
	size_t nlen = strlen(name);
	const struct sv_tagbind *ix = sv_tag(n, TAG_INDEX);
	uint64_t want = 0;
	if (ix != NULL) {
		size_t count = 0;
		for (size_t i = 0; i < run->msg.nh; i++)
			if (sv_hdr_is(&run->msg.h[i], name, nlen))
				count++;
		uint64_t k = ix->val->num;
		if (k > count)
			return;
		want = sv_tag(n, TAG_LAST) != NULL ? count - k + 1 : k;
	}
	size_t seen = 0;
	for (size_t i = 0; i < run->msg.nh; i++) {
		if (!sv_hdr_is(&run->msg.h[i], name, nlen))
			continue;
		seen++;
		if (want != 0 && seen != want)
			continue;
		if (*nout == *cap) {
			size_t ncap = *cap * 2;
			struct sv_hdr **grown = xmalloc(ncap * sizeof(*grown));
			memcpy(grown, *out, *nout * sizeof(*grown));
			if (*out != first)
				free(*out);
			*out = grown;
			*cap = ncap;
		}
		(*out)[(*nout)++] = &run->msg.h[i];
	}
}

static int test_header_like(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n, bool address)
{
	struct sv_view nv;
	sv_view_init(&nv, run, sc, n->pos[0]);
	char **names = nv.v;
	size_t nn = nv.n;
	struct strv vals = { 0 };
	int r = 0;
	struct sv_hdr *fstack[8], **f = fstack;
	size_t fcap = sizeof(fstack) / sizeof(fstack[0]);
	for (size_t i = 0; i < nn && r == 0; i++) {
		/* each name scans every field; each field read costs its size */
		if (sv_step(run, n, 1 + run->msg.nh / 64) < 0) {
			r = -1;
			break;
		}
		size_t nf;
		select_fields(run, n, names[i], fstack, &f, &nf, &fcap);
		for (size_t j = 0; j < nf; j++) {
			if (sv_step(run, n, 1 + strlen(f[j]->raw) / 256) < 0) {
				r = -1;
				break;
			}
			if (!address) {
				strv_ref(&vals, sv_hdr_value(f[j]));
				continue;
			}
			size_t na;
			char **addrs = sv_hdr_addresses(f[j], &na);
			for (size_t a = 0; a < na; a++) {
				if (n->addrpart == AP_ALL) {
					strv_ref(&vals, addrs[a]);
				} else if (n->addrpart == AP_DOMAIN) {
					const char *at = strrchr(addrs[a], '@');
					strv_ref(&vals, at != NULL ? at + 1 : "");
				} else {
					char *p = sv_addr_part(addrs[a], n->addrpart);
					if (p != NULL)
						strv_add(&vals, p);
				}
			}
		}
	}
	if (f != fstack)
		free(f);
	sv_view_free(&nv);
	if (r == 0)
		r = sv_match_values(run, sc, n, vals.v, vals.n, n->pos[1]);
	strv_free(&vals);
	return r;
}

static int test_envelope(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	struct sv_view pv;
	sv_view_init(&pv, run, sc, n->pos[0]);
	char **parts = pv.v;
	size_t nn = pv.n;
	struct strv vals = { 0 };
	for (size_t i = 0; i < nn; i++) {
		const char *a = NULL;
		if (strcasecmp(parts[i], "from") == 0)
			a = run->env->envelope_from;
		else if (strcasecmp(parts[i], "to") == 0)
			a = run->env->envelope_to;
		if (a == NULL)
			continue;
		if (a[0] == '\0') {	/* RFC 5228 5.4: the null reverse-path is "" */
			strv_ref(&vals, "");
			continue;
		}
		char *p = sv_addr_part(a, n->addrpart);
		if (p != NULL)
			strv_add(&vals, p);
	}
	sv_view_free(&pv);
	int r = sv_match_values(run, sc, n, vals.v, vals.n, n->pos[1]);
	strv_free(&vals);
	return r;
}

static int test_hasflag(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	struct strv vals = { 0 };
	if (n->pos[0] != NULL) {
		for (size_t i = 0; i < n->pos[0]->nstrs; i++) {
			const struct sv_var *v = sv_var_get(run, sc, n->pos[0]->strs[i].s);
			size_t nf;
			char **f = sv_flags_split(v != NULL ? v->val : "", &nf);
			for (size_t j = 0; j < nf; j++)
				strv_add(&vals, f[j]);
			free(f);
		}
	} else {
		size_t nf;
		char **f = sv_flags_split(run->flags != NULL ? run->flags : "", &nf);
		for (size_t j = 0; j < nf; j++)
			strv_add(&vals, f[j]);
		free(f);
	}
	int r = sv_match_values(run, sc, n, vals.v, vals.n, n->pos[1]);
	strv_free(&vals);
	return r;
}

/* spamtest 0..10 / :percent 0..100 and virustest 0..5 (RFC 5235 3.2-3.4)
 * from the header the scanner wrote: its value starts with the score on
 * the test's scale (a spam score of 1..10, a percentage with :percent,
 * a virus level of 1..5); an absent header, or one that does not start
 * with a number, reads "0" (not tested). */
static int test_scan(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n, bool spam)
{
	const char *hname = spam ? run->env->spam_header : run->env->virus_header;
	long v = 0;
	if (hname != NULL) {
		for (size_t i = 0; i < run->msg.nh; i++) {
			if (strcasecmp(run->msg.h[i].name, hname) != 0)
				continue;
			const char *s = sv_hdr_value(&run->msg.h[i]);
			if (isdigit((unsigned char)*s)) {
				v = 0;
				while (isdigit((unsigned char)*s) && v < 1000)
					v = v * 10 + (*s++ - '0');
				long max = !spam ? 5 : sv_tag(n, TAG_PERCENT) ? 100 : 10;
				long min = sv_tag(n, TAG_PERCENT) ? 0 : 1;
				v = v < min ? min : v > max ? max : v;
			}
			break;
		}
	}
	char num[16];
	snprintf(num, sizeof(num), "%ld", v);
	char *vals[2] = { num, NULL };
	return sv_match_values(run, sc, n, vals, 1, n->pos[0]);
}

/* RFC 7352: the id is :uniqueid, the :header field's value, or Message-ID;
 * the key the callback sees is "handle\nid". */
static int test_duplicate(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	if (run->env->duplicate_check == NULL)
		return 0;
	char *id = NULL;
	const struct sv_tagbind *t;
	size_t len;
	if ((t = sv_tag(n, TAG_UNIQUEID)) != NULL) {
		id = sv_expand(run, sc, &t->val->strs[0], &len);
	} else {
		char *hname = (t = sv_tag(n, TAG_HEADER)) != NULL
			? sv_expand(run, sc, &t->val->strs[0], &len) : xstrdup("message-id");
		for (size_t i = 0; i < run->msg.nh && id == NULL; i++)
			if (strcasecmp(run->msg.h[i].name, hname) == 0)
				id = xstrdup(sv_hdr_value(&run->msg.h[i]));
		free(hname);
		if (id == NULL)
			return 0;
	}
	char *handle = (t = sv_tag(n, TAG_HANDLE)) != NULL ? sv_expand(run, sc, &t->val->strs[0], &len)
		: xstrdup("");
	char *key = xasprintf("%s\n%s", handle, id);
	uint64_t secs = (t = sv_tag(n, TAG_SECONDS)) != NULL ? t->val->num : SV_DUPLICATE_DEFAULT_SECONDS;
	bool dup = run->env->duplicate_check(run->env->ctx, key, secs, sv_tag(n, TAG_LAST) != NULL);
	free(key);
	free(handle);
	free(id);
	return dup ? 1 : 0;
}

static int test_mailbox(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	const struct sieve_env *e = run->env;
	int id = n->spec->id;
	const struct sv_arg *list = id == TEST_SPECIALUSE_EXISTS ? n->pos[1] : n->pos[0];
	size_t nn;
	char **names = sv_expand_list(run, sc, list, &nn);
	int r = 1;
	char *mbox = NULL;
	if (id == TEST_SPECIALUSE_EXISTS && n->pos[0] != NULL) {
		size_t len;
		mbox = sv_expand(run, sc, &n->pos[0]->strs[0], &len);
	}
	for (size_t i = 0; i < nn && r == 1; i++) {
		if (id == TEST_MAILBOXEXISTS) {
			r = e->mailbox_exists != NULL && e->mailbox_exists(e->ctx, names[i]);
		} else if (id == TEST_MAILBOXIDEXISTS) {
			r = e->mailboxid_exists != NULL && e->mailboxid_exists(e->ctx, names[i]);
		} else {
			const char *m = e->special_use_mailbox != NULL ? e->special_use_mailbox(e->ctx, names[i]) : NULL;
			r = m != NULL && (mbox == NULL || strcmp(m, mbox) == 0);
		}
	}
	free(mbox);
	sv_free_list(names, nn);
	return r;
}

static int test_body(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	int transform = SV_BODY_TEXT;
	size_t nt = 0;
	char **types = NULL;
	const struct sv_tagbind *t;
	if (sv_tag(n, TAG_RAW) != NULL)
		transform = SV_BODY_RAW;
	if ((t = sv_tag(n, TAG_CONTENT)) != NULL) {
		transform = SV_BODY_CONTENT;
		types = sv_expand_list(run, sc, t->val, &nt);
	}
	size_t len;
	char *body = sv_msg_body(&run->msg, transform, types, nt, run->lim.max_body_scan, &len);
	sv_free_list(types, nt);
	/* NULs would end the value early; a body test sees text */
	for (size_t i = 0; i < len; i++)
		if (body[i] == '\0')
			body[i] = ' ';
	if (sv_step(run, n, len / 1024) < 0) {
		free(body);
		return -1;
	}
	char *vals[2] = { body, NULL };
	int r = sv_match_values(run, sc, n, vals, 1, n->pos[0]);
	free(body);
	return r;
}

int sv_test(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	if (sv_step(run, n, 1) < 0)
		return -1;
	int r;
	switch (n->spec->id) {
	case TEST_TRUE:
		return 1;
	case TEST_FALSE:
		return 0;
	case TEST_NOT:
		r = sv_test(run, sc, n->tests[0]);
		return r < 0 ? -1 : !r;
	case TEST_ALLOF:
	case TEST_ANYOF: {
		bool all = n->spec->id == TEST_ALLOF;
		for (size_t i = 0; i < n->ntests; i++) {
			r = sv_test(run, sc, n->tests[i]);
			if (r < 0)
				return -1;
			if (all && r == 0)
				return 0;
			if (!all && r == 1)
				return 1;
		}
		return all ? 1 : 0;
	}
	case TEST_EXISTS: {
		struct sv_view nv;
		sv_view_init(&nv, run, sc, n->pos[0]);
		char **names = nv.v;
		size_t nn = nv.n;
		r = 1;
		for (size_t i = 0; i < nn && r == 1; i++) {
			if (sv_step(run, n, 1 + run->msg.nh / 64) < 0) {
				r = -1;
				break;
			}
			bool found = false;
			for (size_t j = 0; j < run->msg.nh && !found; j++)
				found = strcasecmp(run->msg.h[j].name, names[i]) == 0;
			r = found;
		}
		sv_view_free(&nv);
		return r;
	}
	case TEST_SIZE: {
		uint64_t lim = n->pos[0]->num, size = run->env->msg_len;
		return sv_tag(n, TAG_OVER) != NULL ? size > lim : size < lim;
	}
	case TEST_HEADER:
		return test_header_like(run, sc, n, false);
	case TEST_ADDRESS:
		return test_header_like(run, sc, n, true);
	case TEST_ENVELOPE:
		return test_envelope(run, sc, n);
	case TEST_HASFLAG:
		return test_hasflag(run, sc, n);
	case TEST_STRING: {
		size_t nv;
		char **vals = sv_expand_list(run, sc, n->pos[0], &nv);
		/* RFC 5229 5: :count counts the non-empty strings */
		if (n->match == MATCH_COUNT) {
			size_t k = 0;
			for (size_t i = 0; i < nv; i++)
				if (vals[i][0] != '\0')
					vals[k++] = vals[i];
				else
					free(vals[i]);
			nv = k;
		}
		r = sv_match_values(run, sc, n, vals, nv, n->pos[1]);
		sv_free_list(vals, nv);
		return r;
	}
	case TEST_BODY:
		return test_body(run, sc, n);
	case TEST_MAILBOXEXISTS:
	case TEST_MAILBOXIDEXISTS:
	case TEST_SPECIALUSE_EXISTS:
		return test_mailbox(run, sc, n);
	case TEST_DATE:
	case TEST_CURRENTDATE:
		return sv_test_date(run, sc, n);
	case TEST_SPAMTEST:
		return test_scan(run, sc, n, true);
	case TEST_VIRUSTEST:
		return test_scan(run, sc, n, false);
	case TEST_DUPLICATE:
		return test_duplicate(run, sc, n);
	}
	return sv_rt_error(run, n, "test \"%s\" not implemented", n->name);
}
