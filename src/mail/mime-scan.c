/*
 * mime-scan: split a raw message into its MIME part tree with exact byte
 * offsets, in one pass over the bytes.
 *
 * Lines end at LF (a CR before it is optional, so bare-LF messages work; a
 * bare CR is an ordinary byte). A delimiter line is "--" boundary, then
 * "--" for the close delimiter, then only white space (RFC 2046 5.1.1).
 * Every open multipart's boundary is checked on every line, so a part whose
 * own delimiters are missing still ends at an enclosing one. The CRLF before
 * a delimiter belongs to the delimiter, not to the part before it.
 *
 * Malformed input never fails: a multipart without a usable boundary or
 * without any part becomes text/plain; nesting deeper than MIME_MAX_DEPTH and
 * parts beyond MIME_MAX_PARTS become opaque application/octet-stream leaves
 * or are left out. Each line is read once and compared with at most
 * MIME_MAX_DEPTH boundaries, so the cost is linear in the message size.
 */
#include "mail/mime-index-private.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct scan {
	struct mime_tree *t;
	const char *d;
	size_t len;
	size_t pos, lf;		/* start of the next unread line; LFs before it */
	const char *bnd[MIME_MAX_DEPTH + 1];
	size_t blen[MIME_MAX_DEPTH + 1];
	int nbnd;
	int hit;		/* boundary whose delimiter line is at pos; -1: EOF */
	bool hit_close;
};

static const char *const field_names[MF_COUNT] = {
	[MF_DATE] = "date",
	[MF_SUBJECT] = "subject",
	[MF_FROM] = "from",
	[MF_SENDER] = "sender",
	[MF_REPLY_TO] = "reply-to",
	[MF_TO] = "to",
	[MF_CC] = "cc",
	[MF_BCC] = "bcc",
	[MF_IN_REPLY_TO] = "in-reply-to",
	[MF_MESSAGE_ID] = "message-id",
	[MF_REFERENCES] = "references",
	[MF_CONTENT_TYPE] = "content-type",
	[MF_CONTENT_TRANSFER_ENCODING] = "content-transfer-encoding",
	[MF_CONTENT_ID] = "content-id",
	[MF_CONTENT_DESCRIPTION] = "content-description",
	[MF_CONTENT_DISPOSITION] = "content-disposition",
	[MF_CONTENT_LANGUAGE] = "content-language",
	[MF_CONTENT_LOCATION] = "content-location",
	[MF_CONTENT_MD5] = "content-md5",
};

static int new_part(struct mime_tree *t)
{
	t->parts = xgrow(t->parts, &t->cap, t->nparts + 1, sizeof(*t->parts));
	struct mime_part *p = &t->parts[t->nparts];
	memset(p, 0, sizeof(*p));
	p->first_child = p->next = p->message = -1;
	return (int)t->nparts++;
}

/* End of the line content starting at p (before LF and a CR before it), and
 * the start of the next line. */
static size_t line_bounds(const struct scan *s, size_t p, size_t *next_r)
{
	const char *nl = memchr(s->d + p, '\n', s->len - p);
	size_t ce = nl ? (size_t)(nl - s->d) : s->len;
	*next_r = nl ? ce + 1 : s->len;
	if (ce > p && s->d[ce - 1] == '\r')
		ce--;
	return ce;
}

/* Index of the open boundary whose delimiter is the line [p, ce), or -1.
 * The innermost boundary is tried first. */
static int match_delimiter(const struct scan *s, size_t p, size_t ce, bool *close_r)
{
	if (ce - p < 3 || s->d[p] != '-' || s->d[p + 1] != '-')
		return -1;
	for (int i = s->nbnd - 1; i >= 0; i--) {
		size_t bl = s->blen[i];
		if (ce - p - 2 < bl || memcmp(s->d + p + 2, s->bnd[i], bl) != 0)
			continue;
		size_t q = p + 2 + bl;
		bool close = false;
		if (ce - q >= 2 && s->d[q] == '-' && s->d[q + 1] == '-') {
			close = true;
			q += 2;
		}
		while (q < ce && (s->d[q] == ' ' || s->d[q] == '\t' || s->d[q] == '\r'))
			q++;
		if (q == ce) {
			*close_r = close;
			return i;
		}
	}
	return -1;
}

static void advance(struct scan *s, size_t next)
{
	if (next > s->pos && s->d[next - 1] == '\n')
		s->lf++;
	s->pos = next;
}

/* Move pos to the next delimiter line of any open boundary, or to EOF. */
static void scan_to_delimiter(struct scan *s)
{
	while (s->pos < s->len) {
		size_t next, ce = line_bounds(s, s->pos, &next);
		s->hit = match_delimiter(s, s->pos, ce, &s->hit_close);
		if (s->hit >= 0)
			return;
		advance(s, next);
	}
	s->hit = -1;
}

/* Set p->end where the part stops: EOF, or before the line break that
 * precedes the delimiter at pos (RFC 2046 5.1.1), never before body_start. */
static void finish_part(struct scan *s, struct mime_part *p)
{
	p->end = p->body_start;
	p->end_lf = p->body_lf;
	if (s->hit < 0) {
		p->end = s->len;
		p->end_lf = s->lf;
		return;
	}
	if (s->pos == 0 || s->d[s->pos - 1] != '\n')
		return;
	size_t eol = (s->pos >= 2 && s->d[s->pos - 2] == '\r') ? 2 : 1;
	if (s->pos - eol >= p->body_start) {
		p->end = s->pos - eol;
		p->end_lf = s->lf - 1;
	}
}

/* Which interesting field a header line names, and where its value starts;
 * -1 for other fields and for lines that are not "name:" at all. */
static int field_lookup(const struct scan *s, size_t p, size_t ce, size_t *value_r)
{
	size_t q = p;
	while (q < ce && s->d[q] > ' ' && s->d[q] < 0x7f && s->d[q] != ':')
		q++;
	size_t name_len = q - p;
	while (q < ce && (s->d[q] == ' ' || s->d[q] == '\t'))	/* obs-optional */
		q++;
	if (q >= ce || s->d[q] != ':' || name_len == 0)
		return -1;
	*value_r = q + 1;
	for (int f = 0; f < MF_COUNT; f++)
		if (strlen(field_names[f]) == name_len &&
		    strncasecmp(field_names[f], s->d + p, name_len) == 0)
			return f;
	return -1;
}

enum header_end { HEADER_BLANK, HEADER_DELIMITER, HEADER_EOF };

/* Read the header of the part starting at pos, recording the first
 * occurrence of each interesting field. */
static enum header_end scan_header(struct scan *s, struct mime_part *p)
{
	int cur = -1;		/* field that continuation lines extend */
	while (s->pos < s->len) {
		size_t next, ce = line_bounds(s, s->pos, &next);
		s->hit = match_delimiter(s, s->pos, ce, &s->hit_close);
		if (s->hit >= 0)
			return HEADER_DELIMITER;
		if (ce == s->pos) {
			advance(s, next);
			return HEADER_BLANK;
		}
		if (s->d[s->pos] == ' ' || s->d[s->pos] == '\t') {
			if (cur >= 0)
				p->field[cur].end = ce;
		} else {
			size_t v = 0;
			cur = field_lookup(s, s->pos, ce, &v);
			if (cur >= 0 && p->field[cur].start != 0)
				cur = -1;	/* only the first occurrence counts */
			if (cur >= 0) {
				p->field[cur].start = v;
				p->field[cur].end = ce;
			}
		}
		advance(s, next);
	}
	s->hit = -1;
	return HEADER_EOF;
}

static void set_type(struct mime_part *p, const char *type, const char *subtype,
		     enum mime_params params)
{
	size_t tl = strlen(type), sl = strlen(subtype);
	memcpy(p->type, type, tl + 1);
	memcpy(p->subtype, subtype, sl + 1);
	p->params = params;
}

/* Content-Type and Content-Transfer-Encoding of p. RFC 2045 5.2: a missing
 * or invalid Content-Type means text/plain; charset=us-ascii (message/rfc822
 * inside multipart/digest, RFC 2046 5.1.5). Returns the boundary for a
 * multipart (caller frees), else NULL. */
static char *classify(struct scan *s, struct mime_part *p, bool in_digest)
{
	struct buf v;
	buf_init(&v, (size_t)-1);
	char *boundary = NULL;

	memcpy(p->cte, "7bit", 5);
	if (mime_field_unfold(s->d, &p->field[MF_CONTENT_TRANSFER_ENCODING], &v)) {
		struct mime_lex lx = { v.data, v.data + v.len };
		const char *tok;
		size_t tl;
		mime_lex_skip_cfws(&lx);
		if (mime_lex_token(&lx, &tok, &tl) && !mime_token_lower(p->cte, tok, tl))
			memcpy(p->cte, "7bit", 5);
	}

	if (in_digest)
		set_type(p, "message", "rfc822", PARAMS_NONE);
	else
		set_type(p, "text", "plain", PARAMS_US_ASCII);
	if (mime_field_unfold(s->d, &p->field[MF_CONTENT_TYPE], &v)) {
		struct mime_lex lx = { v.data, v.data + v.len };
		const char *tok, *sub;
		size_t tl, sl;
		char type[MIME_MAX_TOKEN + 1], subtype[MIME_MAX_TOKEN + 1];
		bool ok;
		mime_lex_skip_cfws(&lx);
		ok = mime_lex_token(&lx, &tok, &tl) && mime_token_lower(type, tok, tl);
		mime_lex_skip_cfws(&lx);
		ok = ok && lx.p < lx.end && *lx.p++ == '/';
		mime_lex_skip_cfws(&lx);
		ok = ok && mime_lex_token(&lx, &sub, &sl) && mime_token_lower(subtype, sub, sl);
		if (!ok) {
			set_type(p, "text", "plain", PARAMS_US_ASCII);
		} else {
			set_type(p, type, subtype, PARAMS_HEADER);
			if (strcmp(type, "multipart") == 0) {
				const char *name;
				size_t nl;
				struct buf val;
				buf_init(&val, (size_t)-1);
				while (mime_lex_param(&lx, &name, &nl, &val)) {
					if (nl == 8 && strncasecmp(name, "boundary", 8) == 0) {
						if (val.len > 0 && val.len <= MIME_MAX_BOUNDARY &&
						    memchr(val.data, '\0', val.len) == NULL)
							boundary = buf_steal(&val);
						break;
					}
				}
				buf_free(&val);
			}
		}
	}
	buf_free(&v);
	return boundary;
}

static int scan_entity(struct scan *s, int depth, bool in_digest);

/* The children of multipart part idx, from just after its header. */
static void scan_multipart(struct scan *s, int idx, int depth, char *boundary)
{
	struct mime_tree *t = s->t;
	int own = s->nbnd++;
	bool digest = strcmp(t->parts[idx].subtype, "digest") == 0;
	int last = -1, nchildren = 0;

	s->bnd[own] = boundary;
	s->blen[own] = strlen(boundary);
	scan_to_delimiter(s);	/* the preamble */
	while (s->hit == own && !s->hit_close) {
		size_t next;
		line_bounds(s, s->pos, &next);
		advance(s, next);
		if (t->nparts >= MIME_MAX_PARTS) {
			/* Not indexed: skip to this multipart's end. */
			for (;;) {
				scan_to_delimiter(s);
				if (s->hit != own || s->hit_close)
					break;
				line_bounds(s, s->pos, &next);
				advance(s, next);
			}
			break;
		}
		int c = scan_entity(s, depth + 1, digest);
		if (last < 0)
			t->parts[idx].first_child = c;
		else
			t->parts[last].next = c;
		last = c;
		nchildren++;
	}
	s->nbnd--;
	free(boundary);
	if (s->hit == own) {
		/* Close delimiter: the epilogue runs to an enclosing delimiter. */
		size_t next;
		line_bounds(s, s->pos, &next);
		advance(s, next);
		scan_to_delimiter(s);
	}
	struct mime_part *p = &t->parts[idx];
	finish_part(s, p);
	if (nchildren == 0) {
		/* RFC 3501 needs at least one body in a multipart; a body with
		 * no parts is served as plain text instead. */
		p->kind = MIME_LEAF;
		p->first_child = -1;
		set_type(p, "text", "plain", PARAMS_US_ASCII);
	}
}

static int scan_entity(struct scan *s, int depth, bool in_digest)
{
	struct mime_tree *t = s->t;
	int idx = new_part(t);
	struct mime_part *p = &t->parts[idx];
	p->hdr_start = s->pos;
	p->body_start = s->pos;
	p->body_lf = s->lf;
	enum header_end he = scan_header(s, p);
	char *boundary = classify(s, p, in_digest);

	/* Containers need depth and part budget left (room for one child). */
	bool room = depth < MIME_MAX_DEPTH && t->nparts < MIME_MAX_PARTS;
	p->kind = MIME_LEAF;
	if (strcmp(p->type, "multipart") == 0) {
		if (!room)
			set_type(p, "application", "octet-stream", PARAMS_NONE);
		else if (boundary != NULL && he == HEADER_BLANK)
			p->kind = MIME_MULTIPART;
		else
			set_type(p, "text", "plain", PARAMS_US_ASCII);
	} else if (strcmp(p->type, "message") == 0 && strcmp(p->subtype, "rfc822") == 0) {
		/* Only message/rfc822: IMAP4rev1 clients would misparse a
		 * message/global written in the body-type-msg form. */
		if (room)
			p->kind = MIME_MESSAGE;
		else
			set_type(p, "application", "octet-stream", PARAMS_NONE);
	}

	if (he != HEADER_BLANK) {
		/* The part ends inside its header: no body. */
		finish_part(s, p);
		p->body_start = p->end;
		p->body_lf = p->end_lf;
		free(boundary);
		if (p->kind == MIME_MESSAGE) {
			int c = new_part(t);
			p = &t->parts[idx];
			struct mime_part *m = &t->parts[c];
			m->hdr_start = m->body_start = m->end = p->end;
			m->body_lf = m->end_lf = p->end_lf;
			memcpy(m->cte, "7bit", 5);
			set_type(m, "text", "plain", PARAMS_US_ASCII);
			p->message = c;
		}
		return idx;
	}
	p->body_start = s->pos;
	p->body_lf = s->lf;
	switch (p->kind) {
	case MIME_MULTIPART:
		scan_multipart(s, idx, depth, boundary);
		boundary = NULL;
		break;
	case MIME_MESSAGE: {
		int c = scan_entity(s, depth + 1, false);
		p = &t->parts[idx];
		p->message = c;
		p->end = t->parts[c].end;
		p->end_lf = t->parts[c].end_lf;
		break;
	}
	case MIME_LEAF:
		scan_to_delimiter(s);
		finish_part(s, p);
		break;
	}
	free(boundary);
	return idx;
}

void mime_tree_build(struct mime_tree *t, const char *data, size_t len)
{
	memset(t, 0, sizeof(*t));
	t->data = data;
	t->len = len;
	struct scan s = { .t = t, .d = data, .len = len, .hit = -1 };
	scan_entity(&s, 0, false);
}

void mime_tree_free(struct mime_tree *t)
{
	xfree(&t->parts);
	t->nparts = t->cap = 0;
}
