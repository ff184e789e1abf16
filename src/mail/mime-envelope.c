/*
 * mime-envelope: the IMAP ENVELOPE of a message (RFC 3501 7.4.2, RFC 9051
 * 7.5.2) from its raw header:
 *   (date subject from sender reply-to to cc bcc in-reply-to message-id)
 * Values are the raw header text, unfolded, NOT decoded from RFC 2047 (the
 * client decodes). Addresses are (name adl mailbox host); a group is
 * (NIL NIL "group" NIL) ... (NIL NIL NIL NIL). Absent or empty fields are
 * NIL; Sender and Reply-To default to From.
 *
 * The address parser is a tolerant RFC 5322 3.4 tokenizer: whatever it is
 * given, it writes well-formed output, reads each byte a bounded number of
 * times and stops after MIME_MAX_ADDRESSES addresses per field.
 */
#include "mail/mime-index-private.h"
#include "mail/imap-quote.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>

enum tok_kind {
	TOK_ATOM, TOK_QUOTED, TOK_COMMENT, TOK_LITERAL,	/* [domain literal] */
	TOK_SPECIAL,		/* one of < > : ; @ , */
};

struct tok {
	enum tok_kind kind;
	size_t start, end;	/* raw bytes; for comments/quoted: inside */
	bool space_before;	/* white space or a comment came before it */
};

struct addr_parser {
	const char *v;
	size_t len, pos;
	struct tok *toks;	/* tokens of the address being read */
	size_t ntoks, cap;
	struct buf tmp;
};

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
	return c == '<' || c == '>' || c == ':' || c == ';' || c == '@' || c == ',';
}

/* Read the next token; false at the end of the value. */
static bool next_tok(struct addr_parser *ap, struct tok *t)
{
	const char *v = ap->v;
	bool space = false;
	while (ap->pos < ap->len && is_wsp(v[ap->pos])) {
		ap->pos++;
		space = true;
	}
	if (ap->pos >= ap->len)
		return false;
	t->space_before = space;
	size_t p = ap->pos;
	char c = v[p];
	if (c == '(' || c == '"' || c == '[') {
		char close = c == '(' ? ')' : c == '"' ? '"' : ']';
		size_t depth = 1;
		size_t q = p + 1;
		while (q < ap->len) {
			char d = v[q];
			if (d == '\\' && q + 1 < ap->len) {
				q += 2;
				continue;
			}
			if (c == '(' && d == '(')
				depth++;
			else if (d == close && --depth == 0)
				break;
			q++;
		}
		t->kind = c == '(' ? TOK_COMMENT : c == '"' ? TOK_QUOTED : TOK_LITERAL;
		if (c == '[') {
			t->start = p;	/* the literal keeps its brackets */
			t->end = q < ap->len ? q + 1 : q;
		} else {
			t->start = p + 1;
			t->end = q;
		}
		ap->pos = q < ap->len ? q + 1 : q;
		return true;
	}
	if (is_special(c)) {
		t->kind = TOK_SPECIAL;
		t->start = p;
		t->end = p + 1;
		ap->pos = p + 1;
		return true;
	}
	size_t q = p;
	while (q < ap->len && !is_wsp(v[q]) && !is_special(v[q]) &&
	       v[q] != '(' && v[q] != '"' && v[q] != '[')
		q++;
	t->kind = TOK_ATOM;
	t->start = p;
	t->end = q;
	ap->pos = q;
	return true;
}

/* Append the unquoted text of a quoted-string or comment body. */
static void append_unescaped(struct buf *b, const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			buf_append(b, s + run, i - run);
			run = i + 1;
			i++;
		}
	}
	buf_append(b, s + run, n - run);
}

/* A display phrase from tokens [a, b): words unquoted, joined by one space
 * where the header had white space; comments dropped. */
static void phrase(struct addr_parser *ap, size_t a, size_t b, struct buf *out)
{
	buf_reset(out);
	bool first = true, gap = false;
	for (size_t i = a; i < b; i++) {
		const struct tok *t = &ap->toks[i];
		if (t->kind == TOK_COMMENT) {
			gap = true;
			continue;
		}
		if (!first && (t->space_before || gap))
			buf_putc(out, ' ');
		if (t->kind == TOK_QUOTED)
			append_unescaped(out, ap->v + t->start, t->end - t->start);
		else
			buf_append(out, ap->v + t->start, t->end - t->start);
		first = false;
		gap = false;
	}
}

/* Concatenate the raw tokens [a, b) without comments or white space (the
 * form of a local part, a domain or a route). */
static void raw_concat(struct addr_parser *ap, size_t a, size_t b, struct buf *out)
{
	buf_reset(out);
	for (size_t i = a; i < b; i++) {
		const struct tok *t = &ap->toks[i];
		if (t->kind == TOK_COMMENT)
			continue;
		if (t->kind == TOK_QUOTED) {
			buf_putc(out, '"');
			buf_append(out, ap->v + t->start, t->end - t->start);
			buf_putc(out, '"');
		} else {
			buf_append(out, ap->v + t->start, t->end - t->start);
		}
	}
}

static bool tok_is(const struct tok *t, const char *v, char c)
{
	return t->kind == TOK_SPECIAL && v[t->start] == c;
}

static void put_nstring_buf(struct buf *out, const struct buf *b, bool nil_if_empty)
{
	if (nil_if_empty && b->len == 0)
		buf_puts(out, "NIL");
	else
		imap_quote_string(out, b->data ? b->data : "", b->len);
}

/* Write the addr-spec tokens [a, b) as "mailbox host" (last '@' splits). */
static void write_addr_spec(struct addr_parser *ap, size_t a, size_t b, struct buf *out)
{
	size_t at = b;
	for (size_t i = a; i < b; i++)
		if (tok_is(&ap->toks[i], ap->v, '@'))
			at = i;
	raw_concat(ap, a, at, &ap->tmp);
	put_nstring_buf(out, &ap->tmp, false);
	buf_putc(out, ' ');
	/* No domain: "" keeps it from reading as a group marker (host NIL). */
	raw_concat(ap, at < b ? at + 1 : b, b, &ap->tmp);
	put_nstring_buf(out, &ap->tmp, false);
}

/* Write one mailbox from the collected tokens; false when there was none. */
static bool flush_mailbox(struct addr_parser *ap, struct buf *out)
{
	size_t n = ap->ntoks, lt = n, gt = n, words = 0, last_comment = n;
	bool has_at = false;
	for (size_t i = 0; i < n; i++) {
		const struct tok *t = &ap->toks[i];
		if (t->kind == TOK_COMMENT) {
			last_comment = i;
			continue;
		}
		words++;
		if (lt == n && tok_is(t, ap->v, '<'))
			lt = i;
		else if (lt < n && gt == n && tok_is(t, ap->v, '>'))
			gt = i;
		else if (tok_is(t, ap->v, '@'))
			has_at = true;
	}
	ap->ntoks = 0;
	if (words == 0)
		return false;
	buf_putc(out, '(');
	if (lt < n) {
		/* name-addr: [phrase] "<" [route ":"] addr-spec ">" */
		phrase(ap, 0, lt, &ap->tmp);
		put_nstring_buf(out, &ap->tmp, true);
		buf_putc(out, ' ');
		size_t a = lt + 1, colon = gt;
		if (a < gt && tok_is(&ap->toks[a], ap->v, '@'))
			for (size_t i = a; i < gt && colon == gt; i++)
				if (tok_is(&ap->toks[i], ap->v, ':'))
					colon = i;
		if (colon < gt) {
			raw_concat(ap, a, colon, &ap->tmp);
			put_nstring_buf(out, &ap->tmp, true);
			a = colon + 1;
		} else {
			buf_puts(out, "NIL");
		}
		buf_putc(out, ' ');
		write_addr_spec(ap, a, gt, out);
	} else if (!has_at && words > 1) {
		/* Only a phrase: keep it as the name. */
		phrase(ap, 0, n, &ap->tmp);
		put_nstring_buf(out, &ap->tmp, true);
		buf_puts(out, " NIL \"\" \"\"");
	} else {
		/* addr-spec, maybe with a comment that names it:
		 * "john@example.org (John Doe)" */
		if (last_comment < n) {
			const struct tok *c = &ap->toks[last_comment];
			buf_reset(&ap->tmp);
			append_unescaped(&ap->tmp, ap->v + c->start, c->end - c->start);
			put_nstring_buf(out, &ap->tmp, true);
		} else {
			buf_puts(out, "NIL");
		}
		buf_puts(out, " NIL ");
		write_addr_spec(ap, 0, n, out);
	}
	buf_putc(out, ')');
	return true;
}

/* Append an address list (or NIL) for the unfolded value v; returns the
 * number of mailboxes and group markers written. */
static size_t write_address_list(struct buf *out, const char *v, size_t len)
{
	struct addr_parser ap = { .v = v, .len = len };
	buf_init(&ap.tmp, (size_t)-1);
	size_t count = 0, opened = out->len;
	bool in_group = false, in_angle = false;
	struct tok t;

	buf_putc(out, '(');
	for (;;) {
		bool more = count < MIME_MAX_ADDRESSES && next_tok(&ap, &t);
		char c = more && t.kind == TOK_SPECIAL ? v[t.start] : '\0';
		if (in_angle && more && c != '>') {
			c = '\0';	/* route and addr-spec specials stay inside */
		} else if (c == '>') {
			in_angle = false;
		} else if (c == '<') {
			in_angle = true;
		}
		if (!more || c == ',' || c == ';') {
			count += flush_mailbox(&ap, out);
			if (in_group && (!more || c == ';')) {
				buf_puts(out, "(NIL NIL NIL NIL)");
				count++;
				in_group = false;
			}
			in_angle = false;
			if (!more)
				break;
			continue;
		}
		if (c == ':' && !in_group) {
			bool plain = true;	/* a group name is a bare phrase */
			for (size_t i = 0; i < ap.ntoks; i++)
				if (ap.toks[i].kind == TOK_SPECIAL)
					plain = false;
			if (plain) {
				phrase(&ap, 0, ap.ntoks, &ap.tmp);
				buf_puts(out, "(NIL NIL ");
				put_nstring_buf(out, &ap.tmp, false);
				buf_puts(out, " NIL)");
				count++;
				ap.ntoks = 0;
				in_group = true;
				continue;
			}
		}
		ap.toks = xgrow(ap.toks, &ap.cap, ap.ntoks + 1, sizeof(*ap.toks));
		ap.toks[ap.ntoks++] = t;
	}
	buf_putc(out, ')');
	if (count == 0) {
		out->len = opened;
		buf_puts(out, "NIL");
	}
	free(ap.toks);
	buf_free(&ap.tmp);
	return count;
}

static void write_text_field(struct buf *out, const char *data, const struct mime_part *p,
			     enum mime_field f, struct buf *tmp)
{
	if (mime_field_unfold(data, &p->field[f], tmp) && tmp->len > 0)
		imap_quote_string(out, tmp->data, tmp->len);
	else
		buf_puts(out, "NIL");
}

/* Address field f, or From's list when f is absent or empty (RFC 3501
 * 7.4.2 for Sender and Reply-To). */
static void write_address_field(struct buf *out, const char *data, const struct mime_part *p,
				enum mime_field f, const struct buf *from, struct buf *tmp)
{
	if (mime_field_unfold(data, &p->field[f], tmp)) {
		size_t mark = out->len;
		if (write_address_list(out, tmp->data, tmp->len) > 0 || from == NULL)
			return;
		out->len = mark;
	}
	if (from != NULL)
		buf_append(out, from->data, from->len);
	else
		buf_puts(out, "NIL");
}

void mime_envelope_write(struct buf *out, const char *data, const struct mime_part *p)
{
	struct buf tmp, from;
	buf_init(&tmp, (size_t)-1);
	buf_init(&from, (size_t)-1);
	write_address_field(&from, data, p, MF_FROM, NULL, &tmp);

	buf_putc(out, '(');
	write_text_field(out, data, p, MF_DATE, &tmp);
	buf_putc(out, ' ');
	write_text_field(out, data, p, MF_SUBJECT, &tmp);
	buf_putc(out, ' ');
	buf_append(out, from.data, from.len);
	buf_putc(out, ' ');
	write_address_field(out, data, p, MF_SENDER, &from, &tmp);
	buf_putc(out, ' ');
	write_address_field(out, data, p, MF_REPLY_TO, &from, &tmp);
	buf_putc(out, ' ');
	write_address_field(out, data, p, MF_TO, NULL, &tmp);
	buf_putc(out, ' ');
	write_address_field(out, data, p, MF_CC, NULL, &tmp);
	buf_putc(out, ' ');
	write_address_field(out, data, p, MF_BCC, NULL, &tmp);
	buf_putc(out, ' ');
	write_text_field(out, data, p, MF_IN_REPLY_TO, &tmp);
	buf_putc(out, ' ');
	write_text_field(out, data, p, MF_MESSAGE_ID, &tmp);
	buf_putc(out, ')');
	buf_free(&tmp);
	buf_free(&from);
}
