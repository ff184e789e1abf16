/* mta-sts: the record, policy and MX pattern parts (see mta-sts.h). */
#include "outbound/mta-sts.h"
#include "lib/alloc.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *mta_sts_mode_name(enum mta_sts_mode m)
{
	switch (m) {
	case MTA_STS_ENFORCE:
		return "enforce";
	case MTA_STS_TESTING:
		return "testing";
	default:
		return "none";
	}
}

static const char *skip_wsp(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

int mta_sts_parse_txt(const char *txt, char id_r[MTA_STS_ID_MAX + 1])
{
	/* sts-text-record = sts-version 1*(*WSP ";" *WSP sts-field) [";"],
	 * sts-version = "v" *WSP "=" *WSP "STSv1" */
	const char *p = txt, *end = txt + strlen(txt);
	bool have_id = false;
	bool first = true;
	id_r[0] = '\0';
	while (p < end) {
		p = skip_wsp(p, end);
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *fend = semi != NULL ? semi : end;
		const char *eq = memchr(p, '=', (size_t)(fend - p));
		if (eq == NULL) {
			/* only a trailing empty field may lack '=' */
			if (skip_wsp(p, fend) != fend || first)
				return -1;
		} else {
			const char *k = p, *kend = eq;
			while (kend > k && (kend[-1] == ' ' || kend[-1] == '\t'))
				kend--;
			const char *v = skip_wsp(eq + 1, fend), *vend = fend;
			while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
				vend--;
			size_t kl = (size_t)(kend - k), vl = (size_t)(vend - v);
			if (first) {
				if (kl != 1 || k[0] != 'v' || vl != 5 || memcmp(v, "STSv1", 5) != 0)
					return -1;
			} else if (kl == 2 && memcmp(k, "id", 2) == 0) {
				if (have_id || vl == 0 || vl > MTA_STS_ID_MAX)
					return -1;
				for (size_t i = 0; i < vl; i++)
					if (!isalnum((unsigned char)v[i]))
						return -1;
				memcpy(id_r, v, vl);
				id_r[vl] = '\0';
				have_id = true;
			}
			/* other fields (extensions) are ignored */
		}
		first = false;
		if (semi == NULL)
			break;
		p = semi + 1;
	}
	return have_id ? 0 : -1;
}

static bool valid_pattern(const char *v, size_t n)
{
	if (n == 0 || n > MTA_STS_MX_MAX)
		return false;
	size_t i = 0;
	if (n > 2 && v[0] == '*' && v[1] == '.')
		i = 2;
	bool label_start = true;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '.') {
			if (label_start)
				return false;
			label_start = true;
		} else if (isalnum(c) || c == '-' || c == '_') {
			label_start = false;
		} else {
			return false;
		}
	}
	return !label_start || v[n - 1] == '.';
}

int mta_sts_parse_policy(const char *body, size_t len, struct mta_sts_policy *p,
			 const char **error_r)
{
	/* sts-policy-record = sts-policy-field *WSP *(sts-policy-term ...),
	 * fields "key:" *WSP value, one per line (CRLF, LF accepted) */
	bool have_version = false, have_mode = false, have_age = false;
	p->nmx = 0;
	const char *s = body, *end = body + len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *lend = nl != NULL ? nl : end;
		size_t ll = (size_t)(lend - s);
		if (ll > 0 && s[ll - 1] == '\r')
			ll--;
		const char *e = s + ll;
		const char *colon = memchr(s, ':', ll);
		if (colon != NULL) {
			const char *k = s;
			size_t kl = (size_t)(colon - s);
			const char *v = skip_wsp(colon + 1, e), *vend = e;
			while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
				vend--;
			size_t vl = (size_t)(vend - v);
			if (kl == 7 && memcmp(k, "version", 7) == 0 && !have_version) {
				if (vl != 5 || memcmp(v, "STSv1", 5) != 0) {
					*error_r = "version is not STSv1";
					goto fail;
				}
				have_version = true;
			} else if (kl == 4 && memcmp(k, "mode", 4) == 0 && !have_mode) {
				if (vl == 7 && memcmp(v, "enforce", 7) == 0)
					p->mode = MTA_STS_ENFORCE;
				else if (vl == 7 && memcmp(v, "testing", 7) == 0)
					p->mode = MTA_STS_TESTING;
				else if (vl == 4 && memcmp(v, "none", 4) == 0)
					p->mode = MTA_STS_NONE;
				else {
					*error_r = "unknown mode";
					goto fail;
				}
				have_mode = true;
			} else if (kl == 7 && memcmp(k, "max_age", 7) == 0 && !have_age) {
				if (vl == 0 || vl > 10) {
					*error_r = "bad max_age";
					goto fail;
				}
				int64_t a = 0;
				for (size_t i = 0; i < vl; i++) {
					if (v[i] < '0' || v[i] > '9') {
						*error_r = "bad max_age";
						goto fail;
					}
					a = a * 10 + (v[i] - '0');
				}
				p->max_age = a > MTA_STS_MAX_AGE_MAX ? MTA_STS_MAX_AGE_MAX : a;
				have_age = true;
			} else if (kl == 2 && memcmp(k, "mx", 2) == 0) {
				if (!valid_pattern(v, vl)) {
					*error_r = "bad mx pattern";
					goto fail;
				}
				if (p->nmx < MTA_STS_MAX_MX) {
					char *m = xstrndup(v, vl);
					for (char *c = m; *c; c++)
						*c = (char)tolower((unsigned char)*c);
					size_t ml = strlen(m);
					if (ml > 0 && m[ml - 1] == '.')
						m[ml - 1] = '\0';
					p->mx[p->nmx++] = m;
				}
			}
			/* unknown keys are ignored (3.2) */
		} else if (skip_wsp(s, e) != e) {
			*error_r = "a line without a key";
			goto fail;
		}
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	if (!have_version || !have_mode || !have_age) {
		*error_r = !have_version ? "no version" : !have_mode ? "no mode" : "no max_age";
		goto fail;
	}
	if (p->mode != MTA_STS_NONE && p->nmx == 0) {
		*error_r = "no mx";
		goto fail;
	}
	return 0;
fail:
	mta_sts_policy_clear(p);
	return -1;
}

bool mta_sts_mx_match(const struct mta_sts_policy *p, const char *host)
{
	size_t hl = strlen(host);
	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	for (size_t i = 0; i < p->nmx; i++) {
		const char *m = p->mx[i];
		size_t ml = strlen(m);
		if (m[0] == '*' && m[1] == '.') {
			/* "*.example.com": one label, then ".example.com" */
			size_t sl = ml - 1;	/* ".example.com" */
			if (hl <= sl || strncasecmp(host + hl - sl, m + 1, sl) != 0)
				continue;
			size_t first = hl - sl;
			if (memchr(host, '.', first) == NULL)
				return true;
		} else if (ml == hl && strncasecmp(host, m, hl) == 0) {
			return true;
		}
	}
	return false;
}

struct mta_sts_policy *mta_sts_policy_dup(const struct mta_sts_policy *p)
{
	struct mta_sts_policy *c = xcalloc(1, sizeof(*c));
	*c = *p;
	for (size_t i = 0; i < p->nmx; i++)
		c->mx[i] = xstrdup(p->mx[i]);
	return c;
}

void mta_sts_policy_clear(struct mta_sts_policy *p)
{
	for (size_t i = 0; i < p->nmx; i++)
		free(p->mx[i]);
	p->nmx = 0;
}

void mta_sts_policy_free(struct mta_sts_policy **pp)
{
	if (*pp == NULL)
		return;
	mta_sts_policy_clear(*pp);
	free(*pp);
	*pp = NULL;
}
