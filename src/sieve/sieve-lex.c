/*
 * sieve-lex: the tokens of RFC 5228 section 8.1: identifiers, tags,
 * numbers with K/M/G quantifiers, quoted strings and "text:" multi-line
 * strings (dot-stuffed), hash and bracket comments. Every token carries
 * the 1-based line and column of its first byte; string bodies are
 * bounded by the script size the caller already checked.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "lib/alloc.h"
#include "lib/buf.h"
#include "sieve/sieve-private.h"

void sv_diag(struct sieve_diag *d, unsigned line, unsigned col, const char *fmt, ...)
{
	if (d == NULL)
		return;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->line = line;
	d->column = col;
	if (line > 0)
		snprintf(d->message, sizeof(d->message), "line %u: %s (column %u)", line, msg, col);
	else
		snprintf(d->message, sizeof(d->message), "%s", msg);
}

const char *sv_tok_name(enum sv_tok t)
{
	switch (t) {
	case TOK_EOF: return "end of script";
	case TOK_IDENT: return "identifier";
	case TOK_TAG: return "tag";
	case TOK_NUMBER: return "number";
	case TOK_STRING: return "string";
	case TOK_LBRACKET: return "'['";
	case TOK_RBRACKET: return "']'";
	case TOK_LPAREN: return "'('";
	case TOK_RPAREN: return "')'";
	case TOK_COMMA: return "','";
	case TOK_SEMI: return "';'";
	case TOK_LBRACE: return "'{'";
	case TOK_RBRACE: return "'}'";
	case TOK_ERROR: return "error";
	}
	return "?";
}

void sv_lex_init(struct sv_lexer *lx, const char *text, size_t len, struct sieve_diag *diag)
{
	memset(lx, 0, sizeof(*lx));
	lx->p = text;
	lx->end = text + len;
	lx->line = 1;
	lx->column = 1;
	lx->diag = diag;
}

void sv_lex_free(struct sv_lexer *lx)
{
	xfree(&lx->text);
}

static void adv(struct sv_lexer *lx)
{
	/* columns count characters: UTF-8 continuation bytes add none */
	if (*lx->p == '\n') {
		lx->line++;
		lx->column = 1;
	} else if (((unsigned char)*lx->p & 0xc0) != 0x80) {
		lx->column++;
	}
	lx->p++;
}

static enum sv_tok lex_error(struct sv_lexer *lx, unsigned line, unsigned col, const char *msg)
{
	sv_diag(lx->diag, line, col, "%s", msg);
	lx->tok = TOK_ERROR;
	return TOK_ERROR;
}

/* After "text:": optional blanks, then a hash comment or CRLF, then lines
 * up to a line holding only "." (RFC 5228 2.4.2). */
static enum sv_tok lex_multiline(struct sv_lexer *lx)
{
	while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t'))
		adv(lx);
	if (lx->p < lx->end && *lx->p == '#') {
		while (lx->p < lx->end && *lx->p != '\n')
			adv(lx);
	} else if (lx->p < lx->end && *lx->p == '\r' && lx->p + 1 < lx->end && lx->p[1] == '\n') {
		adv(lx);
	}
	if (lx->p >= lx->end || *lx->p != '\n')
		return lex_error(lx, lx->line, lx->column, "expected end of line after \"text:\"");
	adv(lx);
	/* every line gets CRLF: at most twice the source */
	struct buf b;
	buf_init(&b, 2 * (size_t)(lx->end - lx->p) + 2);
	for (;;) {
		if (lx->p >= lx->end) {
			buf_free(&b);
			return lex_error(lx, lx->tline, lx->tcol, "unterminated multi-line string (missing \".\" line)");
		}
		const char *eol = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));
		const char *le = eol != NULL ? eol : lx->end;
		size_t n = (size_t)(le - lx->p);
		if (n > 0 && lx->p[n - 1] == '\r')
			n--;
		if (n == 1 && lx->p[0] == '.' && eol != NULL) {
			while (lx->p <= eol)
				adv(lx);
			break;
		}
		if (eol == NULL) {
			buf_free(&b);
			return lex_error(lx, lx->tline, lx->tcol, "unterminated multi-line string (missing \".\" line)");
		}
		const char *s = lx->p;
		if (n > 0 && s[0] == '.') {	/* dot-stuffing */
			s++;
			n--;
		}
		buf_append(&b, s, n);
		buf_append(&b, "\r\n", 2);
		while (lx->p <= eol)
			adv(lx);
	}
	lx->text_len = b.len;
	lx->text = b.data != NULL ? buf_steal(&b) : xstrdup("");
	lx->tok = TOK_STRING;
	return TOK_STRING;
}

enum sv_tok sv_lex_next(struct sv_lexer *lx)
{
	xfree(&lx->text);
	lx->text_len = 0;
	for (;;) {
		while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' || *lx->p == '\n'))
			adv(lx);
		if (lx->p >= lx->end)
			break;
		if (*lx->p == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				adv(lx);
			continue;
		}
		if (*lx->p == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
			unsigned l = lx->line, c = lx->column;
			adv(lx);
			adv(lx);
			for (;;) {
				if (lx->p + 1 >= lx->end) {
					lx->p = lx->end;
					return lex_error(lx, l, c, "unterminated comment");
				}
				if (lx->p[0] == '*' && lx->p[1] == '/') {
					adv(lx);
					adv(lx);
					break;
				}
				adv(lx);
			}
			continue;
		}
		break;
	}
	lx->tline = lx->line;
	lx->tcol = lx->column;
	if (lx->p >= lx->end) {
		lx->tok = TOK_EOF;
		return TOK_EOF;
	}
	unsigned char c = (unsigned char)*lx->p;
	static const char punct[] = "[](),;{}";
	static const enum sv_tok ptok[] = { TOK_LBRACKET, TOK_RBRACKET, TOK_LPAREN, TOK_RPAREN,
					    TOK_COMMA, TOK_SEMI, TOK_LBRACE, TOK_RBRACE };
	const char *pc = c != 0 ? strchr(punct, c) : NULL;
	if (pc != NULL) {
		adv(lx);
		lx->tok = ptok[pc - punct];
		return lx->tok;
	}
	if (isalpha(c) || c == '_' || c == ':') {
		bool tag = c == ':';
		if (tag) {
			adv(lx);
			if (lx->p >= lx->end || !(isalpha((unsigned char)*lx->p) || *lx->p == '_'))
				return lex_error(lx, lx->tline, lx->tcol, "expected a tag name after ':'");
		}
		const char *s = lx->p;
		while (lx->p < lx->end && (isalnum((unsigned char)*lx->p) || *lx->p == '_'))
			adv(lx);
		size_t n = (size_t)(lx->p - s);
		if (!tag && n == 4 && strncasecmp(s, "text", 4) == 0 && lx->p < lx->end && *lx->p == ':') {
			adv(lx);
			return lex_multiline(lx);
		}
		lx->text = xstrndup(s, n);
		for (size_t i = 0; i < n; i++)
			lx->text[i] = (char)tolower((unsigned char)lx->text[i]);
		lx->text_len = n;
		lx->tok = tag ? TOK_TAG : TOK_IDENT;
		return lx->tok;
	}
	if (isdigit(c)) {
		uint64_t v = 0;
		bool over = false;
		while (lx->p < lx->end && isdigit((unsigned char)*lx->p)) {
			unsigned d = (unsigned)(*lx->p - '0');
			if (v > (UINT64_MAX - d) / 10)
				over = true;
			else
				v = v * 10 + d;
			adv(lx);
		}
		unsigned shift = 0;
		if (lx->p < lx->end) {
			switch (*lx->p) {
			case 'K': case 'k': shift = 10; break;
			case 'M': case 'm': shift = 20; break;
			case 'G': case 'g': shift = 30; break;
			}
			if (shift != 0)
				adv(lx);
		}
		if (shift != 0 && v > (UINT64_MAX >> shift))
			over = true;
		/* RFC 5228 2.4.1: implementations support at least 2^31 - 1;
		 * we keep 63 bits so arithmetic never wraps. */
		v <<= shift;
		if (over || v > (uint64_t)INT64_MAX)
			return lex_error(lx, lx->tline, lx->tcol, "number too large");
		if (lx->p < lx->end && (isalpha((unsigned char)*lx->p) || *lx->p == '_'))
			return lex_error(lx, lx->line, lx->column, "unexpected character after number");
		lx->num = v;
		lx->tok = TOK_NUMBER;
		return TOK_NUMBER;
	}
	if (c == '"') {
		adv(lx);
		struct buf b;
		buf_init(&b, (size_t)(lx->end - lx->p) + 1);
		for (;;) {
			if (lx->p >= lx->end) {
				buf_free(&b);
				return lex_error(lx, lx->tline, lx->tcol, "unterminated string");
			}
			char ch = *lx->p;
			if (ch == '"') {
				adv(lx);
				break;
			}
			if (ch == '\\') {
				adv(lx);
				if (lx->p >= lx->end) {
					buf_free(&b);
					return lex_error(lx, lx->tline, lx->tcol, "unterminated string");
				}
				ch = *lx->p;
			}
			buf_putc(&b, ch);
			adv(lx);
		}
		lx->text_len = b.len;
		lx->text = b.data != NULL ? buf_steal(&b) : xstrdup("");
		lx->tok = TOK_STRING;
		return TOK_STRING;
	}
	if (c >= 0x20 && c < 0x7f)
		sv_diag(lx->diag, lx->tline, lx->tcol, "unexpected character '%c'", c);
	else
		sv_diag(lx->diag, lx->tline, lx->tcol, "unexpected byte 0x%02x", c);
	lx->tok = TOK_ERROR;
	return TOK_ERROR;
}
