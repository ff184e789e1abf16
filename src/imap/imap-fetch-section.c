/* imap-fetch-section: see imap-fetch-section.h. */
#include "imap/imap-fetch-section.h"
#include "lib/alloc.h"
#include "mail/transfer.h"
#include "lib/buf.h"
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void imap_section_clear(struct imap_section *sec)
{
	for (size_t i = 0; i < sec->nfields; i++)
		free(sec->fields[i]);
	free(sec->fields);
	free(sec->part);
	memset(sec, 0, sizeof(*sec));
}

int imap_section_parse(const char *text, struct imap_section *sec)
{
	memset(sec, 0, sizeof(*sec));
	const char *p = text;
	int depth = 0;
	/* part number: 1*DIGIT *("." 1*DIGIT) */
	while (*p >= '1' && *p <= '9') {
		while (isdigit((unsigned char)*p))
			p++;
		if (++depth > IMAP_MAX_SECTION_DEPTH)
			return -1;
		if (*p != '.')
			break;
		p++;
		if (!(*p >= '1' && *p <= '9'))
			break; /* "1.HEADER" */
	}
	size_t plen = (size_t)(p - text);
	if (plen > 0 && text[plen - 1] == '.')
		plen--;
	sec->part = xstrndup(text, plen);
	if (*p == '\0') {
		sec->kind = SECTION_ALL;
		if (plen > 0 && text[plen] == '.')
			goto fail;
		return 0;
	}
	if (plen > 0 && text[plen] != '.')
		goto fail;
	if (strcasecmp(p, "HEADER") == 0) {
		sec->kind = SECTION_HEADER;
		return 0;
	}
	if (strcasecmp(p, "TEXT") == 0) {
		sec->kind = SECTION_TEXT;
		return 0;
	}
	if (strcasecmp(p, "MIME") == 0 && plen > 0) {
		sec->kind = SECTION_MIME;
		return 0;
	}
	size_t kl;
	if (strncasecmp(p, "HEADER.FIELDS.NOT ", 18) == 0) {
		sec->kind = SECTION_FIELDS_NOT;
		kl = 18;
	} else if (strncasecmp(p, "HEADER.FIELDS ", 14) == 0) {
		sec->kind = SECTION_FIELDS;
		kl = 14;
	} else {
		goto fail;
	}
	struct imap_arg *args;
	size_t n;
	const char *err;
	if (imap_parse_args(p + kl, strlen(p + kl), &args, &n, &err) < 0)
		goto fail;
	if (n != 1 || args[0].type != IMAP_ARG_LIST || args[0].count == 0 ||
	    args[0].count > IMAP_MAX_SECTION_FIELDS) {
		imap_args_free(args, n);
		goto fail;
	}
	sec->fields = xcalloc(args[0].count, sizeof(char *));
	for (size_t i = 0; i < args[0].count; i++) {
		const struct imap_arg *f = &args[0].list[i];
		if (f->type == IMAP_ARG_LIST || f->len == 0 || memchr(f->str, ':', f->len)) {
			imap_args_free(args, n);
			goto fail;
		}
		sec->fields[sec->nfields++] = xstrdup(f->str);
	}
	imap_args_free(args, n);
	return 0;
fail:
	imap_section_clear(sec);
	return -1;
}

/* One line of the part map. */
struct part {
	size_t hdr, body, end;
	char cte[64];
	char type[128];
};

static int find_part(const char *parts, const char *section, struct part *p)
{
	const char *want = *section ? section : "0";
	size_t wl = strlen(want);
	for (const char *l = parts; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t ll = nl ? (size_t)(nl - l) : strlen(l);
		if (ll > wl && strncmp(l, want, wl) == 0 && l[wl] == ' ') {
			unsigned long long h, b, e;
			char line[512];
			size_t cl = ll < sizeof(line) - 1 ? ll : sizeof(line) - 1;
			memcpy(line, l, cl);
			line[cl] = '\0';
			if (sscanf(line + wl, " %llu %llu %llu %63s %127s", &h, &b, &e, p->cte, p->type) != 5)
				return -1;
			p->hdr = (size_t)h;
			p->body = (size_t)b;
			p->end = (size_t)e;
			return 0;
		}
		l = nl ? nl + 1 : NULL;
	}
	return -1;
}

/* End of the header block starting at `start`, blank line included. */
static size_t header_end(const char *data, size_t len, size_t start)
{
	for (size_t i = start; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (i + 1 < len && data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

static bool field_listed(const struct imap_section *sec, const char *name, size_t nlen)
{
	for (size_t i = 0; i < sec->nfields; i++)
		if (strlen(sec->fields[i]) == nlen && strncasecmp(sec->fields[i], name, nlen) == 0)
			return true;
	return false;
}

static char *filter_fields(const struct imap_section *sec, const char *h, size_t len,
			   size_t *outlen_r)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	size_t i = 0;
	while (i < len) {
		/* one field: a line and its continuation lines */
		size_t start = i;
		if (h[i] == '\r' || h[i] == '\n')
			break; /* blank line: end of header */
		do {
			const char *nl = memchr(h + i, '\n', len - i);
			i = nl ? (size_t)(nl - h) + 1 : len;
		} while (i < len && (h[i] == ' ' || h[i] == '\t'));
		const char *colon = memchr(h + start, ':', i - start);
		size_t nlen = colon ? (size_t)(colon - (h + start)) : 0;
		while (nlen > 0 && (h[start + nlen - 1] == ' ' || h[start + nlen - 1] == '\t'))
			nlen--;
		bool listed = colon && field_listed(sec, h + start, nlen);
		if (listed == (sec->kind == SECTION_FIELDS))
			buf_append(&b, h + start, i - start);
	}
	buf_append(&b, "\r\n", 2);
	*outlen_r = b.len;
	return buf_steal(&b);
}

int imap_section_extract(const struct imap_section *sec, const char *data, size_t len,
			 size_t prefix_len, const char *parts, const char **out_r,
			 size_t *outlen_r, char **owned_r)
{
	*owned_r = NULL;
	size_t start, end;
	if (*sec->part == '\0') {
		size_t hend = header_end(data, len, 0);
		struct part top;
		if (parts != NULL && find_part(parts, "", &top) == 0 && prefix_len + top.body <= len)
			hend = prefix_len + top.body;
		switch (sec->kind) {
		case SECTION_ALL: start = 0, end = len; break;
		case SECTION_TEXT: start = hend, end = len; break;
		default: start = 0, end = hend; break;
		}
	} else {
		struct part p;
		if (parts == NULL || find_part(parts, sec->part, &p) < 0)
			return -1;
		p.hdr += prefix_len, p.body += prefix_len, p.end += prefix_len;
		if (p.end > len || p.body > p.end || p.hdr > p.body)
			return -1;
		bool is_msg = strcasecmp(p.type, "message/rfc822") == 0 ||
			      strcasecmp(p.type, "message/global") == 0;
		switch (sec->kind) {
		case SECTION_ALL: start = p.body, end = p.end; break;
		case SECTION_MIME: start = p.hdr, end = p.body; break;
		default:
			/* HEADER/TEXT of a part: only for an encapsulated message */
			if (!is_msg)
				return -1;
			{
				size_t hend = header_end(data, p.end, p.body);
				if (sec->kind == SECTION_TEXT)
					start = hend, end = p.end;
				else
					start = p.body, end = hend;
			}
			break;
		}
	}
	if (sec->kind == SECTION_FIELDS || sec->kind == SECTION_FIELDS_NOT) {
		*owned_r = filter_fields(sec, data + start, end - start, outlen_r);
		*out_r = *owned_r;
		return 0;
	}
	*out_r = data + start;
	*outlen_r = end - start;
	return 0;
}

/* --- BINARY (RFC 3516 section 4.2) --- */

int imap_section_binary(const char *section_part, const char *data, size_t len, size_t prefix_len,
			const char *parts, char **out_r, size_t *outlen_r)
{
	*out_r = NULL;
	*outlen_r = 0;
	if (*section_part == '\0') {
		/* BINARY[]: the whole message, which has no transfer encoding
		 * of its own as a whole (RFC 3516 section 4.2) */
		*out_r = xmalloc(len + 1);
		memcpy(*out_r, data, len);
		*outlen_r = len;
		return IMAP_BINARY_OK;
	}
	struct part p;
	if (parts == NULL || find_part(parts, section_part, &p) < 0)
		return IMAP_BINARY_NOPART;
	p.body += prefix_len, p.end += prefix_len;
	if (p.end > len || p.body > p.end)
		return IMAP_BINARY_NOPART;
	const char *body = data + p.body;
	size_t blen = p.end - p.body;
	/* Multiparts and encapsulated messages are not decoded as a whole:
	 * RFC 2045 6.4 allows only identity encodings on them. */
	bool composite = strncasecmp(p.type, "multipart/", 10) == 0 ||
			 strncasecmp(p.type, "message/", 8) == 0;
	*out_r = transfer_decode(composite ? "binary" : p.cte, body, blen, outlen_r);
	return *out_r != NULL ? IMAP_BINARY_OK : IMAP_BINARY_UNKNOWN_CTE;
}

void imap_section_put_literal(struct buf *b, const char *data, size_t len)
{
	buf_printf(b, "{%zu}\r\n", len);
	const char *p = data, *end = data + len;
	const char *nul;
	while (p < end && (nul = memchr(p, '\0', (size_t)(end - p))) != NULL) {
		buf_append(b, p, (size_t)(nul - p));
		buf_putc(b, (char)IMAP_NUL_REPLACEMENT);
		p = nul + 1;
	}
	buf_append(b, p, (size_t)(end - p));
}
