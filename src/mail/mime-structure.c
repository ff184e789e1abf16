/*
 * mime-structure: BODY and BODYSTRUCTURE (RFC 3501 7.4.2, RFC 9051 7.5.2)
 * and the parts map (mime-index.h) from the part tree.
 *
 * Media types, subtypes, parameter names, disposition types and encodings
 * are written uppercase, as the RFC examples do; values are kept as sent.
 * Parameters are the raw list (RFC 2231 continuations are not merged).
 */
#include "mail/mime-index-private.h"
#include "mail/imap-quote.h"
#include <string.h>
#include <strings.h>

static void put_upper(struct buf *out, const char *s, size_t n, struct buf *tmp)
{
	buf_reset(tmp);
	buf_append(tmp, s, n);
	for (size_t i = 0; i < tmp->len; i++)
		if (tmp->data[i] >= 'a' && tmp->data[i] <= 'z')
			tmp->data[i] = (char)(tmp->data[i] - 'a' + 'A');
	imap_quote_string(out, tmp->data ? tmp->data : "", tmp->len);
}

/* body-fld-param from a lexer positioned after the main value. */
static void put_params(struct buf *out, struct mime_lex *lx, struct buf *tmp)
{
	struct buf val;
	const char *name;
	size_t nl, count = 0;
	buf_init(&val, (size_t)-1);
	while (count < MIME_MAX_PARAMS && mime_lex_param(lx, &name, &nl, &val)) {
		buf_putc(out, count++ == 0 ? '(' : ' ');
		put_upper(out, name, nl, tmp);
		buf_putc(out, ' ');
		imap_quote_string(out, val.data ? val.data : "", val.len);
	}
	buf_puts(out, count > 0 ? ")" : "NIL");
	buf_free(&val);
}

static void put_type_params(struct buf *out, const char *data, const struct mime_part *p,
			    struct buf *tmp)
{
	if (p->params == PARAMS_NONE) {
		buf_puts(out, "NIL");
		return;
	}
	if (p->params == PARAMS_US_ASCII) {
		buf_puts(out, "(\"CHARSET\" \"US-ASCII\")");
		return;
	}
	struct buf v;
	buf_init(&v, (size_t)-1);
	mime_field_unfold(data, &p->field[MF_CONTENT_TYPE], &v);
	/* Skip "type/subtype", already validated by the scanner. */
	struct mime_lex lx = { v.data, v.data + v.len };
	const char *tok;
	size_t tl;
	mime_lex_skip_cfws(&lx);
	mime_lex_token(&lx, &tok, &tl);
	mime_lex_skip_cfws(&lx);
	if (lx.p < lx.end && *lx.p == '/')
		lx.p++;
	mime_lex_skip_cfws(&lx);
	mime_lex_token(&lx, &tok, &tl);
	put_params(out, &lx, tmp);
	buf_free(&v);
}

static void put_field_nstring(struct buf *out, const char *data, const struct mime_part *p,
			      enum mime_field f, struct buf *tmp)
{
	if (mime_field_unfold(data, &p->field[f], tmp) && tmp->len > 0)
		imap_quote_string(out, tmp->data, tmp->len);
	else
		buf_puts(out, "NIL");
}

/* body-fld-dsp: ("TYPE" params) from Content-Disposition (RFC 2183). */
static void put_disposition(struct buf *out, const char *data, const struct mime_part *p,
			    struct buf *tmp)
{
	struct buf v;
	buf_init(&v, (size_t)-1);
	const char *tok;
	size_t tl;
	if (!mime_field_unfold(data, &p->field[MF_CONTENT_DISPOSITION], &v)) {
		buf_puts(out, "NIL");
		buf_free(&v);
		return;
	}
	struct mime_lex lx = { v.data, v.data + v.len };
	mime_lex_skip_cfws(&lx);
	if (!mime_lex_token(&lx, &tok, &tl)) {
		buf_puts(out, "NIL");
	} else {
		buf_putc(out, '(');
		put_upper(out, tok, tl, tmp);
		buf_putc(out, ' ');
		put_params(out, &lx, tmp);
		buf_putc(out, ')');
	}
	buf_free(&v);
}

/* body-fld-lang: Content-Language is a comma list of tags (RFC 3282). */
static void put_language(struct buf *out, const char *data, const struct mime_part *p)
{
	struct buf v;
	buf_init(&v, (size_t)-1);
	size_t count = 0, mark = out->len;
	if (mime_field_unfold(data, &p->field[MF_CONTENT_LANGUAGE], &v)) {
		struct mime_lex lx = { v.data, v.data + v.len };
		while (lx.p < lx.end && count < MIME_MAX_PARAMS) {
			const char *tok;
			size_t tl;
			mime_lex_skip_cfws(&lx);
			if (mime_lex_token(&lx, &tok, &tl)) {
				buf_putc(out, count++ == 0 ? '(' : ' ');
				imap_quote_string(out, tok, tl);
			}
			while (lx.p < lx.end && *lx.p != ',' && *lx.p != '(')
				lx.p++;
			if (lx.p < lx.end && *lx.p == ',')
				lx.p++;
		}
	}
	if (count == 0) {
		buf_puts(out, "NIL");
	} else if (count == 1) {
		/* A single tag is written as a plain string. */
		memmove(out->data + mark, out->data + mark + 1, out->len - mark - 1);
		out->len--;
		out->data[out->len] = '\0';
	} else {
		buf_putc(out, ')');
	}
	buf_free(&v);
}

static size_t body_lines(const struct mime_tree *t, const struct mime_part *p)
{
	size_t n = p->end_lf - p->body_lf;
	if (p->end > p->body_start && t->data[p->end - 1] != '\n')
		n++;	/* a last line without a line break still counts */
	return n;
}

static void write_part(struct buf *out, const struct mime_tree *t, int idx, bool ext,
		       struct buf *tmp)
{
	const struct mime_part *p = &t->parts[idx];
	const char *d = t->data;
	buf_putc(out, '(');
	if (p->kind == MIME_MULTIPART) {
		for (int c = p->first_child; c >= 0; c = t->parts[c].next)
			write_part(out, t, c, ext, tmp);
		buf_putc(out, ' ');
		put_upper(out, p->subtype, strlen(p->subtype), tmp);
		if (ext) {
			buf_putc(out, ' ');
			put_type_params(out, d, p, tmp);
			buf_putc(out, ' ');
			put_disposition(out, d, p, tmp);
			buf_putc(out, ' ');
			put_language(out, d, p);
			buf_putc(out, ' ');
			put_field_nstring(out, d, p, MF_CONTENT_LOCATION, tmp);
		}
		buf_putc(out, ')');
		return;
	}
	put_upper(out, p->type, strlen(p->type), tmp);
	buf_putc(out, ' ');
	put_upper(out, p->subtype, strlen(p->subtype), tmp);
	buf_putc(out, ' ');
	put_type_params(out, d, p, tmp);
	buf_putc(out, ' ');
	put_field_nstring(out, d, p, MF_CONTENT_ID, tmp);
	buf_putc(out, ' ');
	put_field_nstring(out, d, p, MF_CONTENT_DESCRIPTION, tmp);
	buf_putc(out, ' ');
	put_upper(out, p->cte, strlen(p->cte), tmp);
	buf_printf(out, " %zu", p->end - p->body_start);
	if (p->kind == MIME_MESSAGE) {
		buf_putc(out, ' ');
		mime_envelope_write(out, d, &t->parts[p->message]);
		buf_putc(out, ' ');
		write_part(out, t, p->message, ext, tmp);
		buf_printf(out, " %zu", body_lines(t, p));
	} else if (strcmp(p->type, "text") == 0) {
		buf_printf(out, " %zu", body_lines(t, p));
	}
	if (ext) {
		buf_putc(out, ' ');
		put_field_nstring(out, d, p, MF_CONTENT_MD5, tmp);
		buf_putc(out, ' ');
		put_disposition(out, d, p, tmp);
		buf_putc(out, ' ');
		put_language(out, d, p);
		buf_putc(out, ' ');
		put_field_nstring(out, d, p, MF_CONTENT_LOCATION, tmp);
	}
	buf_putc(out, ')');
}

void mime_structure_write(struct buf *out, const struct mime_tree *t, int idx, bool extended)
{
	struct buf tmp;
	buf_init(&tmp, (size_t)-1);
	write_part(out, t, idx, extended, &tmp);
	buf_free(&tmp);
}

static void map_line(struct buf *out, const struct mime_tree *t, int idx, const char *section)
{
	const struct mime_part *p = &t->parts[idx];
	buf_printf(out, "%s %zu %zu %zu %s %s/%s\n", section, p->hdr_start, p->body_start,
		   p->end, p->cte, p->type, p->subtype);
}

static void map_part(struct buf *out, const struct mime_tree *t, int idx, struct buf *sec);

/* A message (top level or encapsulated) numbered under prefix sec: its own
 * "0"/"N.0" line, then its parts (RFC 3501 6.4.5: a message that is not
 * multipart has a part 1, its body). */
static void map_message(struct buf *out, const struct mime_tree *t, int idx, struct buf *sec)
{
	size_t mark = sec->len;
	buf_puts(sec, mark ? ".0" : "0");
	map_line(out, t, idx, sec->data);
	sec->len = mark;
	const struct mime_part *p = &t->parts[idx];
	if (p->kind == MIME_MULTIPART) {
		size_t n = 1;
		for (int c = p->first_child; c >= 0; c = t->parts[c].next, n++) {
			buf_printf(sec, mark ? ".%zu" : "%zu", n);
			map_part(out, t, c, sec);
			sec->len = mark;
		}
	} else {
		buf_puts(sec, mark ? ".1" : "1");
		map_part(out, t, idx, sec);
	}
	sec->len = mark;
	sec->data[mark] = '\0';
}

static void map_part(struct buf *out, const struct mime_tree *t, int idx, struct buf *sec)
{
	const struct mime_part *p = &t->parts[idx];
	map_line(out, t, idx, sec->data);
	size_t mark = sec->len;
	if (p->kind == MIME_MULTIPART) {
		size_t n = 1;
		for (int c = p->first_child; c >= 0; c = t->parts[c].next, n++) {
			buf_printf(sec, ".%zu", n);
			map_part(out, t, c, sec);
			sec->len = mark;
			sec->data[mark] = '\0';
		}
	} else if (p->kind == MIME_MESSAGE) {
		map_message(out, t, p->message, sec);
	}
	sec->len = mark;
	sec->data[mark] = '\0';
}

void mime_parts_write(struct buf *out, const struct mime_tree *t)
{
	struct buf sec;
	buf_init(&sec, (size_t)-1);
	buf_puts(&sec, "");
	map_message(out, t, 0, &sec);
	buf_free(&sec);
}
