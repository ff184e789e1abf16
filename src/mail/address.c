/*
 * address: validation and normal form of mail addresses (see address.h).
 * Only the dot-atom form of RFC 5322 3.4.1 is accepted for hosted
 * addresses: a quoted local part whose content is a dot-atom names the same
 * mailbox and is unquoted by the protocol first (smtp-parse.c); any other
 * quoted form is never a mailbox we host, and refusing it keeps shell and
 * header metacharacters out of the store. UTF-8 local parts (RFC 6531) are
 * allowed.
 */
#include "mail/address.h"
#include "lib/alloc.h"
#include <ctype.h>
#include <string.h>

/* RFC 5322 atext, plus UTF-8 bytes (RFC 6532). */
static bool is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if (isalnum(c))
		return true;
	return strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL && c != '\0';
}

bool domain_valid(const char *d)
{
	size_t len = strlen(d);
	if (len == 0 || len > ADDRESS_MAX_DOMAIN)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(isalnum(c) || c == '-' || c >= 0x80))
			return false;
		if (label == 0 && c == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && d[len - 1] != '-';
}

bool address_local_valid(const char *local, size_t len, const char **error_r)
{
	if (len == 0 || len > ADDRESS_MAX_LOCAL) {
		*error_r = len == 0 ? "empty local part" : "local part longer than 64 octets";
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)local[i];
		if (c == '.') {
			if (i == 0 || i == len - 1 || local[i - 1] == '.') {
				*error_r = "bad dots in local part";
				return false;
			}
		} else if (!is_atext(c)) {
			*error_r = "invalid character in local part";
			return false;
		}
	}
	return true;
}

char *address_normalize(const char *addr, const char **error_r)
{
	size_t len = strlen(addr);
	if (len == 0 || len > ADDRESS_MAX) {
		*error_r = "address too long or empty";
		return NULL;
	}
	const char *at = strrchr(addr, '@');
	if (at == NULL || at == addr) {
		*error_r = "address must be local@domain";
		return NULL;
	}
	if (!address_local_valid(addr, (size_t)(at - addr), error_r))
		return NULL;
	if (!domain_valid(at + 1)) {
		*error_r = "invalid domain";
		return NULL;
	}
	char *out = xstrdup(addr);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

const char *address_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : addr;
}

/* The length of the white space run starting at p. */
static size_t ws_run(const char *p)
{
	size_t n = 0;
	while (p[n] == ' ' || p[n] == '\t')
		n++;
	return n;
}

char *address_strip_comments(const char *field)
{
	if (strchr(field, '(') == NULL)
		return NULL;
	size_t len = strlen(field);
	char *out = xmalloc(len + 1);
	size_t o = 0;
	int depth = 0;
	bool quoted = false, angle = false;
	for (size_t i = 0; i < len; i++) {
		char c = field[i];
		if (depth > 0) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (quoted) {
			out[o++] = c;
			if (c == '\\' && i + 1 < len)
				out[o++] = field[++i];
			else if (c == '"')
				quoted = false;
			continue;
		}
		if (c == '(') {
			depth = 1;
			continue;
		}
		if (c == ' ' || c == '\t') {
			/* drop the run when it only separates parts of an addr-spec */
			size_t n = ws_run(field + i);
			char next = field[i + n];
			char prev = o > 0 ? out[o - 1] : '\0';
			bool drop = o == 0 || prev == ' ' || prev == '<' || prev == '@' ||
				    next == '@' || next == '>' || next == '\0' || next == '(' ||
				    (angle && (prev == '.' || next == '.'));
			if (!drop)
				out[o++] = ' ';
			i += n - 1;
			continue;
		}
		if (c == '"')
			quoted = true;
		else if (c == '<')
			angle = true;
		else if (c == '>')
			angle = false;
		else if (c == ',')
			while (o > 0 && out[o - 1] == ' ')
				o--;
		if ((c == '@' || c == '>' || (angle && c == '.')) && o > 0 && out[o - 1] == ' ')
			o--; /* a comment just before it left a space */
		out[o++] = c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}
