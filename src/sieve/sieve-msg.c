/*
 * sieve-msg: what tests read from the message. The top header is split
 * into fields once (unfolded, at most SV_MSG_HEADERS fields within
 * HEADER_FIELD_SCAN_MAX bytes); values are RFC 2047 decoded on first use
 * (mail/mime-decode). Address fields are split into "local@domain" with
 * comments removed (mail/address). Body tests (RFC 5173) use the MIME part
 * map and text extraction of mail/mime-index and mail/search-text, on at
 * most max_body_scan bytes of body: :text is the decoded, charset-converted
 * text of every text part with HTML reduced to its text (search-text);
 * :content gives each matching leaf part with its transfer encoding undone
 * (text parts converted from their charset), parts joined by a newline;
 * :raw the body bytes.
 * editheader (RFC 5293) edits this field list, so later tests see the
 * edited header.
 */
#include <ctype.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "lib/alloc.h"
#include "lib/buf.h"
#include "mail/address.h"
#include "mail/header-field.h"
#include "mail/mime-decode.h"
#include "mail/mime-index.h"
#include "mail/search-text.h"
#include "mail/transfer.h"
#include "sieve/sieve-msg.h"

static void add_field(struct sv_msg *m, const char *name, size_t nlen, const char *val, size_t vlen)
{
	if (m->nh == SV_MSG_HEADERS)
		return;
	m->h = xrealloc(m->h, (m->nh + 1) * sizeof(*m->h));
	struct sv_hdr *h = &m->h[m->nh++];
	h->name = xstrndup(name, nlen);
	h->nlen = strlen(h->name);
	/* unfold: drop CR and LF, keep the white space after them */
	char *v = xmalloc(vlen + 1);
	size_t o = 0;
	for (size_t i = 0; i < vlen; i++)
		if (val[i] != '\r' && val[i] != '\n' && val[i] != '\0')
			v[o++] = val[i];
	v[o] = '\0';
	h->raw = v;
	h->decoded = NULL;
	h->addrs = NULL;
	h->naddrs = 0;
	h->addrs_done = false;
}

static void hdr_free(struct sv_hdr *h)
{
	free(h->name);
	free(h->raw);
	free(h->decoded);
	for (size_t i = 0; i < h->naddrs; i++)
		free(h->addrs[i]);
	free(h->addrs);
}

void sv_msg_init(struct sv_msg *m, const char *data, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->data = data;
	m->len = len;
	size_t limit = len < HEADER_FIELD_SCAN_MAX ? len : HEADER_FIELD_SCAN_MAX;
	size_t i = 0;
	m->body_off = len;
	while (i < limit) {
		const char *eol = memchr(data + i, '\n', len - i);
		size_t le = eol != NULL ? (size_t)(eol - data) : len;
		size_t n = le - i;
		if (n > 0 && data[i + n - 1] == '\r')
			n--;
		if (n == 0) {
			m->body_off = eol != NULL ? le + 1 : len;
			return;
		}
		/* the field continues over lines that start with white space */
		size_t end = eol != NULL ? le + 1 : len;
		while (end < len && (data[end] == ' ' || data[end] == '\t')) {
			const char *e2 = memchr(data + end, '\n', len - end);
			end = e2 != NULL ? (size_t)(e2 - data) + 1 : len;
		}
		const char *colon = memchr(data + i, ':', n);
		if (colon != NULL) {
			size_t nlen = (size_t)(colon - (data + i));
			while (nlen > 0 && (data[i + nlen - 1] == ' ' || data[i + nlen - 1] == '\t'))
				nlen--;
			size_t vs = (size_t)(colon - data) + 1;
			if (nlen > 0)
				add_field(m, data + i, nlen, data + vs, end - vs);
		}
		i = end;
	}
	m->body_off = i < len ? i : len;
}

void sv_msg_free(struct sv_msg *m)
{
	for (size_t i = 0; i < m->nh; i++)
		hdr_free(&m->h[i]);
	free(m->h);
	m->h = NULL;
	m->nh = 0;
	if (m->idx != NULL) {
		mime_index_clear(m->idx);
		free(m->idx);
		m->idx = NULL;
	}
	free(m->text);
	m->text = NULL;
}

static char *trim_dup(const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return xstrndup(s, n);
}

const char *sv_hdr_value(struct sv_hdr *h)
{
	if (h->decoded == NULL) {
		char *d = mime_decode_header_text_n(h->raw, strlen(h->raw), NULL);
		h->decoded = trim_dup(d, strlen(d));
		free(d);
	}
	return h->decoded;
}

void sv_msg_add_header(struct sv_msg *m, const char *name, const char *value, bool last)
{
	if (m->nh == SV_MSG_HEADERS)
		return;
	add_field(m, name, strlen(name), value, strlen(value));
	if (!last) {
		struct sv_hdr h = m->h[m->nh - 1];
		memmove(m->h + 1, m->h, (m->nh - 1) * sizeof(*m->h));
		m->h[0] = h;
	}
}

void sv_msg_delete_header(struct sv_msg *m, size_t i)
{
	hdr_free(&m->h[i]);
	memmove(m->h + i, m->h + i + 1, (m->nh - i - 1) * sizeof(*m->h));
	m->nh--;
}

/* Split an address field into "local@domain" strings: commas outside
 * quotes and angle brackets separate; "<...>" gives the address (a source
 * route "@a,@b:" dropped); a group's "name:" and ";" are dropped. */
void sv_addr_parse(const char *value, char ***list_r, size_t *n_r)
{
	char *stripped = address_strip_comments(value);
	const char *s = stripped != NULL ? stripped : value;
	size_t n = strlen(s), start = 0;
	bool q = false;
	int angle = 0;
	*list_r = NULL;
	*n_r = 0;
	for (size_t i = 0; i <= n && *n_r < SV_MSG_ADDRESSES; i++) {
		char c = i < n ? s[i] : ',';
		if (q) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '"')
				q = false;
			if (i < n)
				continue;
		}
		if (c == '"') {
			q = true;
			continue;
		}
		if (c == '<')
			angle++;
		else if (c == '>' && angle > 0)
			angle--;
		else if (c == ':' && angle == 0) {
			start = i + 1;	/* group name */
			continue;
		}
		if ((c != ',' && c != ';') || (angle > 0 && i < n))
			continue;
		const char *e = s + start;
		size_t len = i - start;
		const char *lt = memchr(e, '<', len);
		if (lt != NULL) {
			const char *gt = memchr(lt, '>', (size_t)(e + len - lt));
			len = (size_t)((gt != NULL ? gt : e + len) - (lt + 1));
			e = lt + 1;
			const char *colon = memchr(e, ':', len);
			if (len > 0 && e[0] == '@' && colon != NULL) {
				len -= (size_t)(colon + 1 - e);
				e = colon + 1;
			}
		}
		char *a = trim_dup(e, len);
		if (a[0] != '\0') {
			*list_r = xrealloc(*list_r, (*n_r + 1) * sizeof(char *));
			(*list_r)[(*n_r)++] = a;
		} else {
			free(a);
		}
		start = i + 1;
	}
	free(stripped);
}

bool sv_hdr_is(const struct sv_hdr *h, const char *name, size_t nlen)
{
	return h->nlen == nlen && strncasecmp(h->name, name, nlen) == 0;
}

char **sv_hdr_addresses(struct sv_hdr *h, size_t *n_r)
{
	if (!h->addrs_done) {
		sv_addr_parse(h->raw, &h->addrs, &h->naddrs);
		h->addrs_done = true;
	}
	*n_r = h->naddrs;
	return h->addrs;
}

char *sv_addr_part(const char *addr, int part)
{
	const char *at = strrchr(addr, '@');
	size_t llen = at != NULL ? (size_t)(at - addr) : strlen(addr);
	switch (part) {
	case AP_ALL:
		return xstrdup(addr);
	case AP_LOCALPART:
		return xstrndup(addr, llen);
	case AP_DOMAIN:
		return xstrdup(at != NULL ? at + 1 : "");
	case AP_USER: {
		const char *plus = memchr(addr, '+', llen);
		return xstrndup(addr, plus != NULL ? (size_t)(plus - addr) : llen);
	}
	case AP_DETAIL: {
		/* RFC 5233 4: no separator means no detail, which matches nothing */
		const char *plus = memchr(addr, '+', llen);
		if (plus == NULL)
			return NULL;
		return xstrndup(plus + 1, (size_t)(addr + llen - plus - 1));
	}
	}
	return NULL;
}

/* The charset parameter of a part's header data[hs..bs), or "". */
static void part_charset(const char *data, size_t hs, size_t bs, char *out, size_t outlen)
{
	out[0] = '\0';
	const char *h = data + hs, *end = data + bs;
	while (h < end) {
		const char *c = memmem(h, (size_t)(end - h), "harset", 6);
		if (c == NULL || c == data + hs)
			return;
		h = c + 6;
		if (c[-1] != 'c' && c[-1] != 'C')
			continue;
		while (h < end && (*h == ' ' || *h == '\t'))
			h++;
		if (h >= end || *h != '=')
			continue;
		h++;
		while (h < end && (*h == ' ' || *h == '\t' || *h == '"'))
			h++;
		size_t n = 0;
		while (h + n < end && n + 1 < outlen &&
		       (isalnum((unsigned char)h[n]) || strchr("-_.:", h[n]) != NULL))
			n++;
		memcpy(out, h, n);
		out[n] = '\0';
		return;
	}
}

/* Text in `charset` as UTF-8 when iconv knows it; else unchanged. */
static char *to_utf8(const char *charset, char *s, size_t *len)
{
	if (charset[0] == '\0' || strcasecmp(charset, "utf-8") == 0 || strcasecmp(charset, "us-ascii") == 0)
		return s;
	iconv_t cd = g_mime_iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return s;
	char *u = g_mime_iconv_strndup(cd, s, *len);
	g_mime_iconv_close(cd);
	if (u == NULL)
		return s;
	free(s);
	*len = strlen(u);
	char *r = xmemdup(u, *len + 1);
	g_free(u);
	return r;
}

static bool type_matches(const char *ct, const char *want)
{
	if (want[0] == '\0')
		return true;
	if (strchr(want, '/') != NULL)
		return strcasecmp(ct, want) == 0;
	size_t n = strlen(want);
	return strncasecmp(ct, want, n) == 0 && ct[n] == '/';
}

char *sv_msg_body(struct sv_msg *m, int transform, char **types, size_t ntypes, size_t max,
		  size_t *len_r)
{
	size_t blen = m->len - m->body_off;
	if (transform == SV_BODY_RAW) {
		if (blen > max)
			blen = max;
		*len_r = blen;
		return xmemdup(m->data + m->body_off, blen);
	}
	/* `max` is the run's limit, the same for every body test */
	size_t len = m->body_off + (blen > max ? max : blen);
	if (m->idx == NULL) {
		mime_index_global_init();
		m->idx = xcalloc(1, sizeof(*m->idx));
		mime_index_build(m->data, len, m->idx);
	}
	if (transform == SV_BODY_TEXT) {
		if (m->text == NULL) {
			m->text = search_text_body(m->data, len, m->idx->parts, &m->text_len);
			if (m->text == NULL) {
				m->text = xstrdup("");
				m->text_len = 0;
			}
		}
		*len_r = m->text_len;
		char *copy = xmalloc(m->text_len + 1);
		memcpy(copy, m->text, m->text_len);
		copy[m->text_len] = '\0';
		return copy;
	}
	struct mime_index idx = *m->idx;
	/* :content: each leaf part whose type matches, transfer-decoded,
	 * parts separated by a newline */
	struct buf b;
	buf_init(&b, max + 1);
	for (const char *line = idx.parts; line != NULL && *line != '\0';) {
		const char *nl = strchr(line, '\n');
		size_t ll = nl != NULL ? (size_t)(nl - line) : strlen(line);
		char sect[64], cte[64], ct[160];
		unsigned long hs, bs, end;
		char *l = xstrndup(line, ll);
		int got = sscanf(l, "%63s %lu %lu %lu %63s %159s", sect, &hs, &bs, &end, cte, ct);
		free(l);
		line = nl != NULL ? nl + 1 : NULL;
		if (got != 6 || strcmp(sect, "0") == 0 || (strlen(sect) > 2 && strcmp(sect + strlen(sect) - 2, ".0") == 0))
			continue;
		if (strncasecmp(ct, "multipart/", 10) == 0 || bs > end || end > len)
			continue;
		bool want = false;
		for (size_t i = 0; i < ntypes && !want; i++)
			want = type_matches(ct, types[i]);
		if (!want)
			continue;
		size_t dlen;
		char *d = transfer_decode(cte, m->data + bs, end - bs, &dlen);
		if (d == NULL)
			d = xmemdup(m->data + bs, dlen = end - bs);
		if (strncasecmp(ct, "text/", 5) == 0) {
			char cs[64];
			part_charset(m->data, hs, bs, cs, sizeof(cs));
			d = to_utf8(cs, d, &dlen);
		}
		if (b.len > 0)
			buf_putc(&b, '\n');
		if (buf_append(&b, d, dlen) < 0)
			buf_append(&b, d, b.max - 1 - b.len);
		free(d);
	}
	*len_r = b.len;
	return b.data != NULL ? buf_steal(&b) : xstrdup("");
}
