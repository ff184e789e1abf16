/*
 * mime-header: reading raw header values for the message indexer.
 * Unfolding (RFC 5322 2.2.3) and a small lexer for structured MIME values:
 * Content-Type, Content-Transfer-Encoding, Content-Disposition and their
 * parameters (RFC 2045 5.1, RFC 2183). Every loop consumes input, so the
 * cost is linear in the value's length whatever it contains.
 */
#include "mail/mime-index-private.h"
#include <string.h>

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool mime_field_unfold(const char *data, const struct mime_span *sp, struct buf *out)
{
	buf_reset(out);
	if (sp->start == 0)
		return false;
	size_t a = sp->start, b = sp->end;
	while (a < b && is_wsp(data[a]))
		a++;
	while (b > a && is_wsp(data[b - 1]))
		b--;
	/* Inside a field every LF starts a continuation line: drop it, and a
	 * CR just before it, keeping the white space that follows. */
	size_t run = a;
	for (size_t i = a; i < b; i++) {
		if (data[i] != '\n')
			continue;
		size_t stop = (i > run && data[i - 1] == '\r') ? i - 1 : i;
		buf_append(out, data + run, stop - run);
		run = i + 1;
	}
	buf_append(out, data + run, b - run);
	return true;
}

void mime_lex_skip_cfws(struct mime_lex *lx)
{
	while (lx->p < lx->end) {
		if (is_wsp(*lx->p)) {
			lx->p++;
			continue;
		}
		if (*lx->p != '(')
			return;
		/* RFC 5322 3.2.2 comments nest; an unterminated one runs to the
		 * end of the value. */
		size_t depth = 0;
		while (lx->p < lx->end) {
			char c = *lx->p++;
			if (c == '\\' && lx->p < lx->end)
				lx->p++;
			else if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				break;
		}
	}
}

/* RFC 2045 5.1: token := 1*<any CHAR except SPACE, CTLs, or tspecials> */
static bool is_token_char(char c)
{
	unsigned char u = (unsigned char)c;
	return u > 0x20 && u < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

bool mime_lex_token(struct mime_lex *lx, const char **tok_r, size_t *len_r)
{
	const char *s = lx->p;
	while (lx->p < lx->end && is_token_char(*lx->p))
		lx->p++;
	*tok_r = s;
	*len_r = (size_t)(lx->p - s);
	return lx->p > s;
}

/* Skip over a quoted string starting at the DQUOTE. */
static void skip_quoted(struct mime_lex *lx)
{
	lx->p++;
	while (lx->p < lx->end) {
		char c = *lx->p++;
		if (c == '\\' && lx->p < lx->end)
			lx->p++;
		else if (c == '"')
			return;
	}
}

bool mime_lex_param(struct mime_lex *lx, const char **name_r, size_t *name_len_r,
		    struct buf *value_r)
{
	for (;;) {
		mime_lex_skip_cfws(lx);
		/* Junk before the next ';' is skipped, quoted strings and
		 * comments included (they may contain ';'). */
		while (lx->p < lx->end && *lx->p != ';') {
			if (*lx->p == '"')
				skip_quoted(lx);
			else if (*lx->p == '(')
				mime_lex_skip_cfws(lx);
			else
				lx->p++;
		}
		if (lx->p >= lx->end)
			return false;
		lx->p++;
		mime_lex_skip_cfws(lx);
		if (!mime_lex_token(lx, name_r, name_len_r))
			continue;
		mime_lex_skip_cfws(lx);
		if (lx->p >= lx->end || *lx->p != '=')
			continue;
		lx->p++;
		mime_lex_skip_cfws(lx);
		buf_reset(value_r);
		if (lx->p < lx->end && *lx->p == '"') {
			lx->p++;
			const char *run = lx->p;
			while (lx->p < lx->end && *lx->p != '"') {
				if (*lx->p == '\\' && lx->p + 1 < lx->end) {
					buf_append(value_r, run, (size_t)(lx->p - run));
					lx->p++;
					run = lx->p;
				}
				lx->p++;
			}
			buf_append(value_r, run, (size_t)(lx->p - run));
			if (lx->p < lx->end)
				lx->p++;
		} else {
			/* Lenient: unquoted values often hold tspecials such as
			 * '=' (boundary=----=_Part_1); take up to ';' or space. */
			const char *s = lx->p;
			while (lx->p < lx->end && *lx->p != ';' && !is_wsp(*lx->p))
				lx->p++;
			buf_append(value_r, s, (size_t)(lx->p - s));
		}
		return true;
	}
}

bool mime_token_lower(char *dst, const char *tok, size_t len)
{
	if (len == 0 || len > MIME_MAX_TOKEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = tok[i];
		dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	dst[len] = '\0';
	return true;
}
