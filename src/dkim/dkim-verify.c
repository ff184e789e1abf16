/*
 * dkim-verify: checking DKIM signatures (RFC 6376 6) with rsa-sha256 and
 * ed25519-sha256 (RFC 8463), relaxed and simple canonicalization, keys
 * fetched through a struct dns_resolver (dns/dns-sync.h).
 *
 * One pass records where every header field is; each signature then
 * hashes its h= fields (bottom-up per name, 5.4.2) and the body. Bodies
 * are hashed once per body canonicalization, not once per signature.
 */
#include "dkim/dkim.h"
#include "dkim/dkim-private.h"
#include "dns/dns-sync.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Tags in one tag list (RFC 6376 3.2), at most. */
#define DKIM_MAX_TAGS 32
/* Entries in one h= list, at most. */
#define DKIM_VERIFY_MAX_H 128

const char *dkim_result_name(enum dkim_result r)
{
	static const char *const names[] = {"none", "pass", "fail", "neutral", "temperror",
					    "permerror"};
	return r <= DKIM_PERMERROR ? names[r] : "permerror";
}

void dkim_verify_result_clear(struct dkim_verify_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->sigs[i].domain);
		free(r->sigs[i].selector);
		free(r->sigs[i].why);
	}
	r->n = 0;
}

static bool is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct tag {
	char name[16];
	char *value;		/* FWS removed for base64 tags, else trimmed */
};

struct taglist {
	struct tag t[DKIM_MAX_TAGS];
	size_t n;
};

static void taglist_free(struct taglist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->t[i].value);
	l->n = 0;
}

static const char *tag_get(const struct taglist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->t[i].name, name) == 0)
			return l->t[i].value;
	return NULL;
}

/* RFC 6376 3.2: tag=value pairs separated by ';'. Whitespace (FWS) is
 * dropped from the values altogether: no value we use may contain any
 * (base64 has it only as folding; names, domains and numbers none). */
static int taglist_parse(const char *p, size_t len, struct taglist *l, char **error_r)
{
	l->n = 0;
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && p[end] != ';')
			end++;
		size_t a = i, b = end;
		while (a < b && is_fws(p[a]))
			a++;
		while (b > a && is_fws(p[b - 1]))
			b--;
		i = end < len ? end + 1 : end;
		if (a == b)
			continue; /* empty, e.g. after a final ';' */
		const char *eq = memchr(p + a, '=', b - a);
		if (eq == NULL) {
			*error_r = xstrdup("a tag without '='");
			goto fail;
		}
		size_t nl = (size_t)(eq - (p + a));
		while (nl > 0 && is_fws(p[a + nl - 1]))
			nl--;
		if (nl == 0 || nl >= sizeof(l->t[0].name)) {
			*error_r = xstrdup("a bad tag name");
			goto fail;
		}
		char name[16];
		memcpy(name, p + a, nl);
		name[nl] = '\0';
		for (size_t k = 0; k < nl; k++)
			if (!((name[k] >= 'a' && name[k] <= 'z') || (name[k] >= 'A' && name[k] <= 'Z') ||
			      (k > 0 && ((name[k] >= '0' && name[k] <= '9') || name[k] == '_')))) {
				*error_r = xstrdup("a bad tag name");
				goto fail;
			}
		if (tag_get(l, name) != NULL) {
			*error_r = xasprintf("tag %s given twice", name); /* 3.2: invalid */
			goto fail;
		}
		if (l->n == DKIM_MAX_TAGS) {
			*error_r = xasprintf("more than %d tags", DKIM_MAX_TAGS);
			goto fail;
		}
		const char *v = eq + 1;
		size_t vn = (size_t)(p + b - v);
		char *val = xmalloc(vn + 1);
		size_t o = 0;
		for (size_t k = 0; k < vn; k++)
			if (!is_fws(v[k]))
				val[o++] = v[k];
		val[o] = '\0';
		memcpy(l->t[l->n].name, name, nl + 1);
		l->t[l->n++].value = val;
	}
	return 0;
fail:
	taglist_free(l);
	return -1;
}

struct field {
	size_t off, len;	/* the whole field, its CRLF included */
	size_t nlen;		/* name length */
};

struct hdrs {
	struct field *f;
	size_t n, cap;
	size_t body_off;
};

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static void add_field(struct hdrs *h, const char *msg, size_t off, size_t len)
{
	const char *colon = memchr(msg + off, ':', len);
	if (colon == NULL)
		return;
	size_t nlen = (size_t)(colon - (msg + off));
	while (nlen > 0 && is_wsp(msg[off + nlen - 1]))
		nlen--;
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 32;
		h->f = xrealloc(h->f, h->cap * sizeof(*h->f));
	}
	h->f[h->n++] = (struct field){off, len, nlen};
}

/* RFC 5322 2.2 fields up to the first empty line (as dkim-sign.c). */
static int parse_fields(const char *msg, size_t len, struct hdrs *h)
{
	size_t pos = 0, field_off = 0, nfields = 0;
	bool in_field = false;
	while (pos < len) {
		const char *nl = memchr(msg + pos, '\n', len - pos);
		size_t next = nl != NULL ? (size_t)(nl - msg) + 1 : len;
		bool empty = msg[pos] == '\n' ||
			     (msg[pos] == '\r' && pos + 1 < len && msg[pos + 1] == '\n');
		bool cont = is_wsp(msg[pos]);
		if (in_field && !cont) {
			add_field(h, msg, field_off, pos - field_off);
			in_field = false;
		}
		if (empty) {
			h->body_off = next;
			return 0;
		}
		if (!in_field) {
			if (++nfields > DKIM_MAX_HEADER_FIELDS)
				return -1;
			field_off = pos;
			in_field = true;
		}
		pos = next;
	}
	if (in_field)
		add_field(h, msg, field_off, len - field_off);
	h->body_off = len;
	return 0;
}

static bool name_is(const char *msg, const struct field *f, const char *name, size_t n)
{
	return f->nlen == n && strncasecmp(msg + f->off, name, n) == 0;
}

/* One parsed signature. */
struct sig {
	struct taglist tags;
	bool rsa;		/* else ed25519 */
	bool hdr_simple, body_simple;
	const char *d, *s, *h, *b, *bh, *i;
	long long t, x;		/* -1 = absent */
};

static bool all_digits(const char *v)
{
	if (*v == '\0' || strlen(v) > 12)
		return false;
	for (; *v; v++)
		if (*v < '0' || *v > '9')
			return false;
	return true;
}

/* Is `sub` equal to `dom` or a subdomain of it (case-insensitive)? */
static bool domain_within(const char *sub, const char *dom)
{
	size_t a = strlen(sub), b = strlen(dom);
	if (a < b || strcasecmp(sub + a - b, dom) != 0)
		return false;
	return a == b || sub[a - b - 1] == '.';
}

/* RFC 6376 6.1.1: the required tags and their values. */
static int sig_parse(const char *value, size_t len, struct sig *sg, char **error_r)
{
	memset(sg, 0, sizeof(*sg));
	if (len > DKIM_VERIFY_MAX_SIG_BYTES) {
		*error_r = xasprintf("signature longer than %d bytes", DKIM_VERIFY_MAX_SIG_BYTES);
		return -1;
	}
	if (taglist_parse(value, len, &sg->tags, error_r) < 0)
		return -1;
	const char *v = tag_get(&sg->tags, "v"), *a = tag_get(&sg->tags, "a"),
		   *c = tag_get(&sg->tags, "c");
	sg->d = tag_get(&sg->tags, "d");
	sg->s = tag_get(&sg->tags, "s");
	sg->h = tag_get(&sg->tags, "h");
	sg->b = tag_get(&sg->tags, "b");
	sg->bh = tag_get(&sg->tags, "bh");
	sg->i = tag_get(&sg->tags, "i");
	const char *t = tag_get(&sg->tags, "t"), *x = tag_get(&sg->tags, "x"),
		   *l = tag_get(&sg->tags, "l"), *q = tag_get(&sg->tags, "q");
	if (v == NULL || strcmp(v, "1") != 0) {
		*error_r = xstrdup("v= is not 1");
		goto fail;
	}
	if (a == NULL || sg->d == NULL || sg->s == NULL || sg->h == NULL || sg->b == NULL ||
	    sg->bh == NULL) {
		*error_r = xstrdup("a required tag is missing");
		goto fail;
	}
	if (strcasecmp(a, "rsa-sha256") == 0)
		sg->rsa = true;
	else if (strcasecmp(a, "ed25519-sha256") != 0) {
		/* rsa-sha1 included: RFC 8301 3.1 says it MUST NOT be accepted */
		*error_r = xasprintf("algorithm %.32s not supported", a);
		goto fail;
	}
	if (c != NULL) {
		const char *slash = strchr(c, '/');
		size_t hn = slash != NULL ? (size_t)(slash - c) : strlen(c);
		const char *bc = slash != NULL ? slash + 1 : "simple";
		if (hn == 6 && strncasecmp(c, "simple", 6) == 0)
			sg->hdr_simple = true;
		else if (!(hn == 7 && strncasecmp(c, "relaxed", 7) == 0)) {
			*error_r = xstrdup("unknown header canonicalization");
			goto fail;
		}
		if (strcasecmp(bc, "simple") == 0)
			sg->body_simple = true;
		else if (strcasecmp(bc, "relaxed") != 0) {
			*error_r = xstrdup("unknown body canonicalization");
			goto fail;
		}
	} else {
		sg->hdr_simple = sg->body_simple = true; /* 3.5: default simple/simple */
	}
	if (q != NULL && strcasecmp(q, "dns/txt") != 0) {
		*error_r = xstrdup("q= is not dns/txt");
		goto fail;
	}
	if (*sg->d == '\0' || strlen(sg->d) > 253 || *sg->s == '\0' || strlen(sg->s) > 63 * 4) {
		*error_r = xstrdup("a bad d= or s=");
		goto fail;
	}
	for (const char *p = sg->d; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '.' || *p == '_')) {
			*error_r = xstrdup("a bad d=");
			goto fail;
		}
	for (const char *p = sg->s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '.' || *p == '_')) {
			*error_r = xstrdup("a bad s=");
			goto fail;
		}
	if (sg->i != NULL) {
		const char *at = strrchr(sg->i, '@');
		if (at == NULL || !domain_within(at + 1, sg->d)) {
			*error_r = xstrdup("i= is not within d="); /* 6.1.1 */
			goto fail;
		}
	}
	/* 6.1.1: h= must sign From */
	bool from = false;
	for (const char *p = sg->h; *p;) {
		const char *e = strchr(p, ':');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 4 && strncasecmp(p, "from", 4) == 0)
			from = true;
		p += n + (e != NULL);
	}
	if (!from) {
		*error_r = xstrdup("h= does not include From");
		goto fail;
	}
	sg->t = sg->x = -1;
	if ((t != NULL && !all_digits(t)) || (x != NULL && !all_digits(x)) ||
	    (l != NULL && !all_digits(l))) {
		*error_r = xstrdup("a bad t=, x= or l=");
		goto fail;
	}
	if (t != NULL)
		sg->t = strtoll(t, NULL, 10);
	if (x != NULL)
		sg->x = strtoll(x, NULL, 10);
	if (sg->t >= 0 && sg->x >= 0 && sg->x < sg->t) {
		*error_r = xstrdup("x= is before t=");
		goto fail;
	}
	return 0;
fail:
	taglist_free(&sg->tags);
	return -1;
}

int dkim_sig_check_syntax(const char *value, size_t len, char **error_r)
{
	struct sig *sg = xcalloc(1, sizeof(*sg));
	int r = sig_parse(value, len, sg, error_r);
	if (r == 0)
		taglist_free(&sg->tags);
	free(sg);
	return r;
}

/* The key record (3.6.1) as an EVP_PKEY: 0; -1 with *res_r and *why_r. */
static int fetch_key(const struct dns_resolver *dns, const struct sig *sg, EVP_PKEY **key_r,
		     enum dkim_result *res_r, char **why_r)
{
	char name[600];
	snprintf(name, sizeof(name), "%s._domainkey.%s", sg->s, sg->d);
	struct dns_answer *a = xcalloc(1, sizeof(*a));
	dns->query(dns->ctx, name, DNS_TYPE_TXT_RR, a);
	int ret = -1;
	*key_r = NULL;
	if (a->status == DNS_ANSWER_TEMPFAIL) {
		*res_r = DKIM_TEMPERROR;
		*why_r = xasprintf("key lookup %s failed", name);
		goto done;
	}
	*res_r = DKIM_PERMERROR;
	if (a->status == DNS_ANSWER_NXDOMAIN || a->n == 0) {
		*why_r = xasprintf("no key at %s", name);
		goto done;
	}
	/* 3.6.2.2: more than one record, the verifier may pick; we take the
	 * first that parses. */
	struct taglist *kl = xcalloc(1, sizeof(*kl));
	char *error = NULL;
	for (size_t i = 0; i < a->n && *key_r == NULL; i++) {
		free(error);
		error = NULL;
		const char *txt = a->recs[i].text;
		if (taglist_parse(txt, strlen(txt), kl, &error) < 0)
			continue;
		const char *v = tag_get(kl, "v"), *k = tag_get(kl, "k"), *p = tag_get(kl, "p"),
			   *h = tag_get(kl, "h"), *t = tag_get(kl, "t");
		if ((v != NULL && strcmp(v, "DKIM1") != 0) || p == NULL) {
			error = xstrdup("not a DKIM key record");
		} else if (*p == '\0') {
			error = xstrdup("key revoked"); /* 3.6.1: empty p= */
		} else if (h != NULL && strstr(h, "sha256") == NULL) {
			error = xstrdup("key does not allow sha256");
		} else if ((k == NULL || strcasecmp(k, "rsa") == 0) != sg->rsa ||
			   (k != NULL && strcasecmp(k, "rsa") != 0 && strcasecmp(k, "ed25519") != 0)) {
			error = xstrdup("key type does not match a=");
		} else {
			size_t dlen = 0;
			unsigned char *der = (unsigned char *)base64_decode(p, strlen(p), &dlen);
			if (der == NULL) {
				error = xstrdup("key is not base64");
			} else if (sg->rsa) {
				const unsigned char *q = der;
				EVP_PKEY *key = d2i_PUBKEY(NULL, &q, (long)dlen);
				if (key == NULL) {
					q = der; /* a bare RSAPublicKey (PKCS#1) also seen */
					key = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)dlen);
				}
				if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
					error = xstrdup("bad RSA key");
					EVP_PKEY_free(key);
				} else if (EVP_PKEY_get_bits(key) < DKIM_VERIFY_MIN_RSA_BITS) {
					error = xstrdup("RSA key too short");
					EVP_PKEY_free(key);
				} else {
					*key_r = key;
				}
			} else if (dlen != 32) {
				error = xstrdup("bad Ed25519 key");
			} else {
				*key_r = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, dlen);
				if (*key_r == NULL)
					error = xstrdup("bad Ed25519 key");
			}
			free(der);
			/* t=s: i= must be exactly d= (3.6.1) */
			if (*key_r != NULL && t != NULL && sg->i != NULL) {
				const char *at = strrchr(sg->i, '@');
				bool strict = false;
				for (const char *f = t; *f; f++)
					if (*f == 's' && (f == t || f[-1] == ':') && (f[1] == '\0' || f[1] == ':'))
						strict = true;
				if (strict && strcasecmp(at + 1, sg->d) != 0) {
					EVP_PKEY_free(*key_r);
					*key_r = NULL;
					error = xstrdup("key t=s and i= is a subdomain");
				}
			}
		}
		taglist_free(kl);
	}
	free(kl);
	if (*key_r != NULL) {
		ret = 0;
		free(error);
	} else {
		*why_r = error != NULL ? error : xstrdup("no usable key");
	}
done:
	dns_answer_clear(a);
	free(a);
	return ret;
}

/* The DKIM-Signature field with b='s value removed (3.7), raw. */
static char *strip_b(const char *p, size_t n, size_t *len_r)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	const char *colon = memchr(p, ':', n);
	size_t i = colon != NULL ? (size_t)(colon - p) + 1 : n;
	buf_append(&b, p, i);
	while (i < n) {
		size_t end = i;
		while (end < n && p[end] != ';')
			end++;
		/* is this tag "b" (not "bh")? */
		size_t a = i;
		while (a < end && is_fws(p[a]))
			a++;
		size_t e = a;
		while (e < end && !is_fws(p[e]) && p[e] != '=')
			e++;
		const char *eq = memchr(p + a, '=', end - a);
		if (e - a == 1 && p[a] == 'b' && eq != NULL) {
			buf_append(&b, p + i, (size_t)(eq + 1 - (p + i)));
		} else {
			buf_append(&b, p + i, end - i);
		}
		if (end < n)
			buf_putc(&b, ';');
		i = end + 1;
	}
	*len_r = b.len;
	return buf_steal(&b);
}

/* The body hashes, computed at most once per canonicalization. */
struct body_hash {
	bool done[2];
	unsigned char d[2][32];
};

static void body_hash(const char *msg, size_t len, size_t off, bool simple, struct body_hash *bhc)
{
	int k = simple ? 1 : 0;
	if (bhc->done[k])
		return;
	struct dkim_sink *s = xcalloc(1, sizeof(*s));
	s->md = EVP_MD_CTX_new();
	unsigned dl = 0;
	if (s->md != NULL && EVP_DigestInit_ex(s->md, EVP_sha256(), NULL)) {
		if (simple)
			dkim_canon_body_simple(s, msg + off, len - off);
		else
			dkim_canon_body(s, msg + off, len - off);
		dkim_sink_flush(s);
		EVP_DigestFinal_ex(s->md, bhc->d[k], &dl);
	}
	EVP_MD_CTX_free(s->md);
	free(s);
	bhc->done[k] = true;
}

static void emit_field(struct dkim_sink *s, bool simple, const char *p, size_t n, bool crlf)
{
	if (!simple) {
		dkim_canon_header(s, p, n, crlf);
		return;
	}
	/* simple: unchanged; without its CRLF when crlf is false */
	if (!crlf && n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n')
		n -= 2;
	if (s->md != NULL)
		EVP_DigestUpdate(s->md, p, n);
	if (crlf && (n < 2 || p[n - 2] != '\r' || p[n - 1] != '\n') && s->md != NULL)
		EVP_DigestUpdate(s->md, "\r\n", 2);
}

static void verify_one(const struct dns_resolver *dns, const char *msg, size_t len,
		       const struct hdrs *h, size_t sig_field, time_t now, struct body_hash *bhc,
		       struct dkim_sig_result *out)
{
	const struct field *sf = &h->f[sig_field];
	const char *colon = memchr(msg + sf->off, ':', sf->len);
	struct sig *sg = xcalloc(1, sizeof(*sg));
	char *error = NULL;
	size_t vlen = sf->len - (size_t)(colon + 1 - (msg + sf->off));
	if (sig_parse(colon + 1, vlen, sg, &error) < 0) {
		out->result = DKIM_PERMERROR;
		out->why = xasprintf("bad signature: %s", error);
		free(error);
		free(sg);
		return;
	}
	out->domain = xstrdup(sg->d);
	for (char *p = out->domain; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	out->selector = xstrdup(sg->s);
	snprintf(out->b_prefix, sizeof(out->b_prefix), "%.8s", sg->b);
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	struct dkim_sink *s = NULL;
	unsigned char *sigbin = NULL, *bhbin = NULL;
	if (sg->x >= 0 && (long long)now > sg->x) {
		out->result = DKIM_FAIL;
		out->why = xstrdup("signature expired");
		goto done;
	}
	size_t bhlen = 0, siglen = 0;
	bhbin = (unsigned char *)base64_decode(sg->bh, strlen(sg->bh), &bhlen);
	sigbin = (unsigned char *)base64_decode(sg->b, strlen(sg->b), &siglen);
	if (bhbin == NULL || sigbin == NULL || bhlen != 32 || siglen == 0) {
		out->result = DKIM_PERMERROR;
		out->why = xstrdup("bad bh= or b=");
		goto done;
	}
	if (fetch_key(dns, sg, &key, &out->result, &out->why) < 0)
		goto done;
	body_hash(msg, len, h->body_off, sg->body_simple, bhc);
	if (memcmp(bhc->d[sg->body_simple ? 1 : 0], bhbin, 32) != 0) {
		out->result = DKIM_FAIL;
		out->why = xstrdup("body hash did not verify");
		goto done;
	}
	/* 5.4.2: each h= name takes its instances from the bottom up; a
	 * name with no instance left is an empty (absent) field. */
	s = xcalloc(1, sizeof(*s));
	s->md = EVP_MD_CTX_new();
	if (s->md == NULL || !EVP_DigestInit_ex(s->md, EVP_sha256(), NULL)) {
		out->result = DKIM_TEMPERROR;
		out->why = xstrdup("hash failed");
		goto done;
	}
	bool *used = xcalloc(h->n, sizeof(*used));
	size_t nh = 0;
	for (const char *p = sg->h; *p && nh < DKIM_VERIFY_MAX_H; nh++) {
		const char *e = strchr(p, ':');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
		for (size_t k = h->n; k-- > 0;) {
			if (used[k] || !name_is(msg, &h->f[k], p, n))
				continue;
			used[k] = true;
			emit_field(s, sg->hdr_simple, msg + h->f[k].off, h->f[k].len, true);
			break;
		}
		p += n + (e != NULL);
	}
	free(used);
	size_t stripped_len;
	char *stripped = strip_b(msg + sf->off, sf->len, &stripped_len);
	emit_field(s, sg->hdr_simple, stripped, stripped_len, false);
	free(stripped);
	dkim_sink_flush(s);
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	EVP_DigestFinal_ex(s->md, digest, &dlen);
	bool ok = false;
	if (sg->rsa) {
		EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
		ok = pctx != NULL && EVP_PKEY_verify_init(pctx) > 0 &&
		     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) > 0 &&
		     EVP_PKEY_verify(pctx, sigbin, siglen, digest, dlen) == 1;
		EVP_PKEY_CTX_free(pctx);
	} else {
		/* RFC 8463 3: Ed25519 over the SHA-256 hash */
		md = EVP_MD_CTX_new();
		ok = md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) > 0 &&
		     EVP_DigestVerify(md, sigbin, siglen, digest, dlen) == 1;
	}
	out->result = ok ? DKIM_PASS : DKIM_FAIL;
	out->why = xstrdup(ok ? "good signature" : "signature did not verify");
done:
	if (s != NULL)
		EVP_MD_CTX_free(s->md);
	free(s);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	free(sigbin);
	free(bhbin);
	taglist_free(&sg->tags);
	free(sg);
}

void dkim_verify(const struct dns_resolver *dns, const char *msg, size_t len, time_t now,
		 struct dkim_verify_result *out)
{
	out->n = 0;
	struct hdrs h = {0};
	if (parse_fields(msg, len, &h) < 0) {
		struct dkim_sig_result *r = &out->sigs[out->n++];
		memset(r, 0, sizeof(*r));
		r->result = DKIM_PERMERROR;
		r->why = xasprintf("more than %d header fields", DKIM_MAX_HEADER_FIELDS);
		free(h.f);
		return;
	}
	struct body_hash bhc = {0};
	for (size_t i = 0; i < h.n && out->n < DKIM_VERIFY_MAX_SIGS; i++) {
		if (!name_is(msg, &h.f[i], "dkim-signature", 14))
			continue;
		struct dkim_sig_result *r = &out->sigs[out->n++];
		memset(r, 0, sizeof(*r));
		verify_one(dns, msg, len, &h, i, now, &bhc, r);
	}
	free(h.f);
}
