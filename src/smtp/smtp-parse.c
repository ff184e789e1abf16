/*
 * smtp-parse: command verbs, MAIL/RCPT paths and ESMTP parameters, sizes,
 * BDAT arguments, HELO names, quoted local parts and DATA line
 * classification (see smtp-parse.h). Pure functions: no allocation, no I/O.
 */
#include "smtp/smtp-parse.h"
#include "mail/address.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

int smtp_parse_verb(const char *line, char verb_r[SMTP_MAX_VERB + 1], const char **args_r)
{
	size_t n = 0;
	while (line[n] != '\0' && line[n] != ' ') {
		unsigned char c = (unsigned char)line[n];
		if (n >= SMTP_MAX_VERB || !isalpha(c))
			return -1;
		verb_r[n] = (char)toupper(c);
		n++;
	}
	if (n == 0)
		return -1;
	verb_r[n] = '\0';
	*args_r = line[n] == ' ' ? line + n + 1 : line + n;
	return 0;
}

static bool is_param_keyword_char(unsigned char c, bool first)
{
	/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"), RFC 5321 4.1.2 */
	return isalnum(c) || (!first && c == '-');
}

static bool is_param_value_char(unsigned char c)
{
	/* esmtp-value = 1*(%d33-60 / %d62-126), widened to UTF-8 by RFC 6531 3.3 */
	return (c >= 33 && c <= 126 && c != '=') || c >= 0x80;
}

/* Split the parameters after the path; modifies s in place. */
static enum smtp_path_result parse_params(char *s, struct smtp_path_args *out)
{
	while (*s != '\0') {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		if (out->nparams >= SMTP_MAX_PARAMS)
			return SMTP_PATH_TOO_MANY_PARAMS;
		char *kw = s;
		while (*s != '\0' && *s != ' ' && *s != '=') {
			if (!is_param_keyword_char((unsigned char)*s, s == kw))
				return SMTP_PATH_BAD_PARAM;
			*s = (char)toupper((unsigned char)*s);
			s++;
		}
		if (s == kw)
			return SMTP_PATH_BAD_PARAM;
		char *value = NULL;
		if (*s == '=') {
			*s++ = '\0';
			value = s;
			while (*s != '\0' && *s != ' ') {
				if (!is_param_value_char((unsigned char)*s))
					return SMTP_PATH_BAD_PARAM;
				s++;
			}
			if (s == value)
				return SMTP_PATH_BAD_PARAM;
		}
		if (*s == ' ')
			*s++ = '\0';
		out->params[out->nparams].keyword = kw;
		out->params[out->nparams].value = value;
		out->nparams++;
	}
	return SMTP_PATH_OK;
}

enum smtp_path_result smtp_parse_path_args(char *args, const char *prefix,
					   struct smtp_path_args *out)
{
	size_t plen = strlen(prefix);
	out->path = NULL;
	out->nparams = 0;
	if (strncasecmp(args, prefix, plen) != 0)
		return SMTP_PATH_SYNTAX;
	char *p = args + plen;
	if (*p == ' ')
		p++;
	if (*p != '<')
		return SMTP_PATH_SYNTAX;
	char *path = ++p;
	bool quoted = false;
	for (;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\0')
			return SMTP_PATH_SYNTAX; /* no closing '>' */
		if ((size_t)(p - path) > SMTP_MAX_PATH)
			return SMTP_PATH_TOO_LONG;
		if (c < 0x20 || c == 0x7f)
			return SMTP_PATH_BAD_ADDRESS;
		if (quoted) {
			if (c == '\\') {
				/* quoted-pairSMTP = %d92 %d32-126: no controls */
				unsigned char e = (unsigned char)p[1];
				if (e < 0x20 || e == 0x7f)
					return SMTP_PATH_BAD_ADDRESS;
				p++;
			} else if (c == '"') {
				quoted = false;
			}
			continue;
		}
		if (c == '"') {
			quoted = true;
			continue;
		}
		if (c == '>')
			break;
		if (c == ' ' || c == '<')
			return SMTP_PATH_BAD_ADDRESS;
	}
	if ((size_t)(p - path) > SMTP_MAX_PATH)
		return SMTP_PATH_TOO_LONG;
	*p++ = '\0';
	if (*p != '\0' && *p != ' ')
		return SMTP_PATH_SYNTAX;
	/* A source route "@a,@b:user@d" MUST be accepted and ignored
	 * (RFC 5321 4.1.1.3, C). */
	if (path[0] == '@') {
		char *colon = strchr(path, ':');
		if (colon == NULL)
			return SMTP_PATH_BAD_ADDRESS;
		path = colon + 1;
	}
	out->path = path;
	return parse_params(p, out);
}

/* qtextSMTP = %d32-33 / %d35-91 / %d93-126 (RFC 5321 4.1.2), and UTF-8
 * bytes (RFC 6531 3.3; whether 8-bit is allowed at all is SMTPUTF8's call) */
static bool is_qtext_smtp(unsigned char c)
{
	return (c >= 32 && c <= 126 && c != '"' && c != '\\') || c >= 0x80;
}

enum smtp_local_form smtp_path_unquote(const char *path, char out[SMTP_MAX_PATH + 1])
{
	if (path[0] != '"')
		return SMTP_LOCAL_PLAIN;
	size_t n = 0;
	const char *p = path + 1;
	for (;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\0' || n >= SMTP_MAX_PATH)
			return SMTP_LOCAL_BAD; /* no closing quote */
		if (c == '"')
			break;
		if (c == '\\') {
			/* quoted-pairSMTP = %d92 %d32-126 */
			unsigned char e = (unsigned char)p[1];
			if (e < 32 || e > 126)
				return SMTP_LOCAL_BAD;
			out[n++] = (char)e;
			p++;
			continue;
		}
		if (!is_qtext_smtp(c))
			return SMTP_LOCAL_BAD;
		out[n++] = (char)c;
	}
	p++; /* past the closing quote */
	if (*p != '\0' && *p != '@')
		return SMTP_LOCAL_BAD; /* "a"b@d: not a Local-part */
	size_t local_len = n;
	size_t rest = strlen(p);
	if (n + rest > SMTP_MAX_PATH)
		return SMTP_LOCAL_BAD;
	memcpy(out + n, p, rest + 1);
	const char *why;
	if (local_len == 0 || !address_local_valid(out, local_len, &why))
		return SMTP_LOCAL_QUOTED;
	return SMTP_LOCAL_UNQUOTED;
}

int smtp_parse_size(const char *s, uint64_t *size_r)
{
	uint64_t v = 0;
	size_t n = 0;
	bool overflow = false;
	for (; s[n] != '\0'; n++) {
		if (!isdigit((unsigned char)s[n]))
			return -1;
		if (n >= SMTP_MAX_SIZE_DIGITS) {
			overflow = true;
			continue; /* still check the syntax of the rest */
		}
		unsigned d = (unsigned)(s[n] - '0');
		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
	}
	if (n == 0)
		return -1;
	if (overflow)
		return 1;
	*size_r = v;
	return 0;
}

int smtp_parse_bdat(const char *args, uint64_t *size_r, bool *last_r)
{
	/* bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CRLF (RFC 3030 2) */
	char num[SMTP_MAX_SIZE_DIGITS + 2];
	size_t n = 0;
	while (args[n] != '\0' && args[n] != ' ') {
		if (n >= sizeof(num) - 1) {
			/* longer than any uint64: absurd if all digits */
			for (; args[n] != '\0' && args[n] != ' '; n++)
				if (!isdigit((unsigned char)args[n]))
					return -1;
			return 1;
		}
		num[n] = args[n];
		n++;
	}
	num[n] = '\0';
	const char *rest = args + n;
	*last_r = false;
	if (*rest == ' ') {
		if (strcasecmp(rest + 1, "LAST") != 0)
			return -1;
		*last_r = true;
	}
	return smtp_parse_size(num, size_r);
}

bool smtp_helo_valid(const char *arg)
{
	size_t len = strlen(arg);
	if (len == 0 || len > SMTP_MAX_HELO)
		return false;
	if (arg[0] == '[') {
		/* address-literal, RFC 5321 4.1.3: "[" ... "]" with dcontent */
		if (len < 3 || arg[len - 1] != ']')
			return false;
		for (size_t i = 1; i < len - 1; i++) {
			unsigned char c = (unsigned char)arg[i];
			if (c < 33 || c > 126 || c == '[' || c == ']' || c == '\\')
				return false;
		}
		return true;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)arg[i];
		if (!(isalnum(c) || c == '.' || c == '-' || c == '_'))
			return false;
	}
	return arg[0] != '.' && arg[0] != '-';
}

bool smtp_has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

enum smtp_data_line smtp_data_classify(const char *line, size_t len, bool bare_lf,
				       bool prev_crlf, size_t *skip_r)
{
	*skip_r = 0;
	if (len == 1 && line[0] == '.' && !bare_lf && prev_crlf)
		return SMTP_DATA_END;
	/* A bare LF ends a text line like CRLF (the caller stores CRLF), as
	 * Postfix 3.9 "normalize" does, but never ends the data: that needs
	 * the exact CRLF "." CRLF above. A bare CR stays refused: nothing
	 * sane sends it, and some MTAs took it for a line end. */
	if (memchr(line, '\r', len) != NULL)
		return SMTP_DATA_BAD;
	if (len > 0 && line[0] == '.')
		*skip_r = 1; /* transparency, RFC 5321 4.5.2 */
	return SMTP_DATA_TEXT;
}

bool smtp_xtext_valid(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '+') {
			if (!isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2]) ||
			    islower((unsigned char)s[1]) || islower((unsigned char)s[2]))
				return false;
			s += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return false;
		}
	}
	return true;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c - 'A' + 10;
}

char *smtp_xtext_decode(const char *s)
{
	if (!smtp_xtext_valid(s))
		return NULL;
	char *out = xmalloc(strlen(s) + 1), *o = out;
	for (; *s != '\0'; s++) {
		char c = *s;
		if (c == '+') {
			c = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		}
		/* RFC 3461 4.2, 4.4: ENVID and an rfc822 ORCPT decode to
		 * printable US-ASCII; a control character would end up in
		 * a DSN's header fields */
		if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e) {
			free(out);
			return NULL;
		}
		*o++ = c;
	}
	*o = '\0';
	return out;
}
