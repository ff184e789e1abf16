/* auth-results: see auth-results.h. */
#include "mail/auth-results.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* RFC 2045 5.1 token characters. */
static bool token_char(unsigned char c)
{
	return c > ' ' && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static void put_value(struct buf *b, const char *v, bool allow_at)
{
	bool token = *v != '\0';
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (!token_char(*p) && !(allow_at && *p == '@'))
			token = false;
	if (token) {
		buf_puts(b, v);
		return;
	}
	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p < ' ' || *p == 127)
			continue;
		if (*p == '"' || *p == '\\')
			buf_putc(b, '\\');
		buf_putc(b, (char)*p);
	}
	buf_putc(b, '"');
}

char *auth_results_header(const char *authserv_id, const struct auth_results_entry *e,
			  size_t n)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_puts(&b, "Authentication-Results: ");
	buf_puts(&b, authserv_id);
	buf_putc(&b, ';');
	if (n == 0)
		buf_puts(&b, " none");
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s\r\n\t%s=%s", i > 0 ? ";" : "", e[i].method, e[i].result);
		if (e[i].reason != NULL && *e[i].reason != '\0') {
			buf_puts(&b, " (");
			for (const unsigned char *p = (const unsigned char *)e[i].reason; *p; p++)
				if (*p >= ' ' && *p < 127 && *p != '(' && *p != ')' && *p != '\\')
					buf_putc(&b, (char)*p);
			buf_putc(&b, ')');
		}
		for (size_t k = 0; k < AUTH_RESULTS_MAX_PROPS && e[i].props[k][0] != NULL; k++) {
			if (e[i].props[k][1] == NULL)
				continue;
			buf_printf(&b, " %s=", e[i].props[k][0]);
			put_value(&b, e[i].props[k][1], true);
		}
	}
	buf_puts(&b, "\r\n");
	return buf_steal(&b);
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Does this field (name ... CRLF) name `id` as its authserv-id? */
static bool claims(const char *f, size_t n, const char *id)
{
	static const char name[] = "authentication-results";
	size_t nl = sizeof(name) - 1;
	if (n <= nl || strncasecmp(f, name, nl) != 0)
		return false;
	size_t i = nl;
	while (i < n && is_wsp(f[i]))
		i++;
	if (i == n || f[i] != ':')
		return false;
	i++;
	/* skip CFWS: whitespace, folding and (nested) comments */
	for (;;) {
		while (i < n && (is_wsp(f[i]) || f[i] == '\r' || f[i] == '\n'))
			i++;
		if (i < n && f[i] == '(') {
			int depth = 0;
			for (; i < n; i++) {
				if (f[i] == '\\' && i + 1 < n)
					i++;
				else if (f[i] == '(')
					depth++;
				else if (f[i] == ')' && --depth == 0) {
					i++;
					break;
				}
			}
			continue;
		}
		break;
	}
	size_t start = i;
	while (i < n && !is_wsp(f[i]) && f[i] != ';' && f[i] != '(' && f[i] != '\r' && f[i] != '\n')
		i++;
	size_t idl = strlen(id);
	const char *v = f + start;
	size_t vl = i - start;
	/* a quoted authserv-id ("value" is allowed) */
	if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
		v++, vl -= 2;
	return vl == idl && strncasecmp(v, id, idl) == 0;
}

size_t auth_results_strip(char *msg, size_t len, const char *authserv_id, size_t *removed_r)
{
	size_t removed = 0, pos = 0;
	while (pos < len) {
		/* one field: its line and the continuation lines */
		if (msg[pos] == '\n' || (msg[pos] == '\r' && pos + 1 < len && msg[pos + 1] == '\n'))
			break; /* end of the header */
		size_t end = pos;
		for (;;) {
			const char *nl = memchr(msg + end, '\n', len - end);
			end = nl != NULL ? (size_t)(nl - msg) + 1 : len;
			if (end >= len || !is_wsp(msg[end]))
				break;
		}
		if (claims(msg + pos, end - pos, authserv_id)) {
			memmove(msg + pos, msg + end, len - end);
			len -= end - pos;
			removed++;
			continue;
		}
		pos = end;
	}
	if (removed_r != NULL)
		*removed_r = removed;
	return len;
}
