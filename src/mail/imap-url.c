/* imap-url: see imap-url.h. Grammar from RFC 5092 section 11 (and RFC
 * 4467 section 9 for URLAUTH). */
#include "mail/imap-url.h"
#include "mail/mailbox-name.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cur {
	const char *p, *end;
};

/* Consume `word` (ASCII, case-insensitive) if it comes next. */
static bool eat(struct cur *c, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, word, n) != 0)
		return false;
	c->p += n;
	return true;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* RFC 5092: uchar = unreserved / pct-encoded / sub-delims-sh;
 * achar = uchar / "&" / "=" / "~"; bchar = achar / ":" / "@" / "/". */
static bool is_uchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       strchr("-._~!$'()*+,", ch) != NULL;
}

static bool is_achar(char ch)
{
	return is_uchar(ch) || ch == '&' || ch == '=';
}

static bool is_bchar(char ch)
{
	return is_achar(ch) || ch == ':' || ch == '@' || ch == '/';
}

/* A run of characters accepted by `ok` (and %XX escapes), %-decoded into
 * a malloc'd string. Stops before the first other character. NULL when
 * empty, too long, a bad escape or an escaped NUL. */
static char *take(struct cur *c, bool (*ok)(char))
{
	const char *start = c->p;
	while (c->p < c->end && (ok(*c->p) || *c->p == '%')) {
		if (*c->p == '%') {
			if (c->end - c->p < 3 || hexval(c->p[1]) < 0 || hexval(c->p[2]) < 0)
				return NULL;
			c->p += 3;
		} else {
			c->p++;
		}
	}
	size_t n = (size_t)(c->p - start);
	if (n == 0 || n > 3 * IMAP_URL_MAX_FIELD)
		return NULL;
	char *out = xmalloc(n + 1);
	size_t o = 0;
	for (const char *q = start; q < c->p; q++) {
		if (*q == '%') {
			char ch = (char)(hexval(q[1]) * 16 + hexval(q[2]));
			if (ch == '\0') {
				free(out);
				return NULL;
			}
			out[o++] = ch;
			q += 2;
		} else {
			out[o++] = *q;
		}
	}
	out[o] = '\0';
	if (o > IMAP_URL_MAX_FIELD) {
		free(out);
		return NULL;
	}
	return out;
}

/* number (RFC 9051): digits, 32 bits; nz: no zero value. */
static bool number(struct cur *c, bool nz, uint32_t *n_r)
{
	uint64_t v = 0;
	const char *start = c->p;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		v = v * 10 + (uint64_t)(*c->p - '0');
		if (v > UINT32_MAX)
			return false;
		c->p++;
	}
	if (c->p == start || (nz && (v == 0 || *start == '0')))
		return false;
	*n_r = (uint32_t)v;
	return true;
}

static bool is_host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       strchr("-._~[]:", ch) != NULL;
}

/* iserver = [iuserinfo "@"] host [":" port] (RFC 5092, RFC 3986 host) */
static int server(struct cur *c, struct imap_url *u, const char **error_r)
{
	const char *slash = memchr(c->p, '/', (size_t)(c->end - c->p));
	const char *send = slash != NULL ? slash : c->end;
	const char *at = NULL;
	for (const char *q = c->p; q < send; q++)
		if (*q == '@')
			at = q;
	if (at != NULL) {
		struct cur uc = {c->p, at};
		u->user = take(&uc, is_achar);
		/* ";AUTH=type" is allowed and ignored: we never connect anywhere */
		if (uc.p < uc.end && eat(&uc, ";AUTH=")) {
			while (uc.p < uc.end && (is_achar(*uc.p) || *uc.p == '*' || *uc.p == '%'))
				uc.p++;
		}
		if (u->user == NULL || uc.p != uc.end) {
			*error_r = "Bad user in URL";
			return -1;
		}
		c->p = at + 1;
	}
	const char *h = c->p;
	if (c->p < send && *c->p == '[') {
		const char *close = memchr(c->p, ']', (size_t)(send - c->p));
		if (close == NULL) {
			*error_r = "Bad host in URL";
			return -1;
		}
		c->p = close + 1;
	} else {
		while (c->p < send && *c->p != ':' && is_host_char(*c->p))
			c->p++;
	}
	if (c->p == h || (size_t)(c->p - h) > 255) {
		*error_r = "Bad host in URL";
		return -1;
	}
	u->host = xstrndup(h, (size_t)(c->p - h));
	if (c->p < send && *c->p == ':') {
		c->p++;
		if (!number(c, true, &u->port) || u->port > 65535) {
			*error_r = "Bad port in URL";
			return -1;
		}
	}
	if (c->p != send) {
		*error_r = "Bad host in URL";
		return -1;
	}
	return 0;
}

static bool is_mech_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '.';
}

static bool is_expire_char(char ch)
{
	return (ch >= '0' && ch <= '9') || strchr("TtZz:.+-", ch) != NULL;
}

/* [";EXPIRE=" date-time] ";URLAUTH=" access [":" mechanism ":" token] */
static int urlauth(struct cur *c, const char *url, struct imap_url *u, const char **error_r)
{
	*error_r = "Bad URLAUTH in URL";
	if (eat(c, ";EXPIRE=")) {
		const char *e = c->p;
		while (c->p < c->end && is_expire_char(*c->p))
			c->p++;
		if (c->p == e || c->p - e > 64)
			return -1;
		u->expire = xstrndup(e, (size_t)(c->p - e));
	}
	if (!eat(c, ";URLAUTH="))
		return -1;
	const char *a = c->p;
	if (eat(c, "submit+") || eat(c, "user+")) {
		u->access_user = take(c, is_achar);
		if (u->access_user == NULL)
			return -1;
	} else if (!eat(c, "authuser") && !eat(c, "anonymous")) {
		return -1;
	}
	u->access = xstrndup(a, (size_t)(c->p - a));
	/* the keyword part lower-cased, the user kept as written */
	for (char *q = u->access; *q != '\0' && *q != '+'; q++)
		*q = (char)(*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q);
	u->rump_len = (size_t)(c->p - url);
	if (c->p == c->end)
		return 0;
	if (*c->p != ':')
		return -1;
	c->p++;
	const char *m = c->p;
	while (c->p < c->end && is_mech_char(*c->p))
		c->p++;
	if (c->p == m || c->p - m > 64 || c->p == c->end || *c->p != ':')
		return -1;
	u->mechanism = xstrndup(m, (size_t)(c->p - m));
	for (char *q = u->mechanism; *q != '\0'; q++)
		*q = (char)(*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q);
	c->p++;
	const char *t = c->p;
	while (c->p < c->end && hexval(*c->p) >= 0)
		c->p++;
	/* enc-urlauth = 32*HEXDIG */
	if (c->p - t < 32 || c->p - t > 256 || c->p != c->end)
		return -1;
	u->token = xstrndup(t, (size_t)(c->p - t));
	for (char *q = u->token; *q != '\0'; q++)
		*q = (char)(*q >= 'A' && *q <= 'F' ? *q - 'A' + 'a' : *q);
	return 0;
}

int imap_url_parse(const char *s, size_t len, struct imap_url *u, const char **error_r)
{
	memset(u, 0, sizeof(*u));
	struct cur c = {s, s + len};
	*error_r = "Not an IMAP message URL";
	if (len == 0 || len > IMAP_URL_MAX || memchr(s, '\0', len) != NULL)
		return -1;
	if (eat(&c, "imap://")) {
		u->absolute = true;
		if (server(&c, u, error_r) < 0)
			goto fail;
	}
	if (c.p >= c.end || *c.p != '/') {
		*error_r = "URL names no message";
		goto fail;
	}
	c.p++;
	/* enc-mailbox may hold '/', so it ends at the first ';'; a '/'
	 * right before it starts "/;UID=" */
	const char *semi = memchr(c.p, ';', (size_t)(c.end - c.p));
	if (semi == NULL || semi == c.p) {
		*error_r = "URL names no message";
		goto fail;
	}
	bool uid_next = semi[-1] == '/';
	struct cur mc = {c.p, uid_next ? semi - 1 : semi};
	u->mailbox = take(&mc, is_bchar);
	if (u->mailbox == NULL || mc.p != mc.end ||
	    !mailbox_name_utf8_valid(u->mailbox, strlen(u->mailbox))) {
		*error_r = "Bad mailbox in URL";
		goto fail;
	}
	c.p = semi;
	if (!uid_next) {
		if (!eat(&c, ";UIDVALIDITY=") || !number(&c, true, &u->uidvalidity) ||
		    !eat(&c, "/")) {
			*error_r = "URL names no message";
			goto fail;
		}
	}
	if (!eat(&c, ";UID=") || !number(&c, true, &u->uid)) {
		*error_r = "URL names no message";
		goto fail;
	}
	if (eat(&c, "/;SECTION=")) {
		/* enc-section = 1*bchar: up to "/;PARTIAL" or the URLAUTH ';' */
		const char *e = c.p;
		while (e < c.end && *e != ';')
			e++;
		if (e < c.end && e > c.p && e[-1] == '/')
			e--;
		struct cur sc = {c.p, e};
		u->section = take(&sc, is_bchar);
		if (u->section == NULL || sc.p != sc.end) {
			*error_r = "Bad section in URL";
			goto fail;
		}
		c.p = e;
	}
	if (eat(&c, "/;PARTIAL=")) {
		u->partial = true;
		if (!number(&c, false, &u->partial_start) ||
		    (eat(&c, ".") && !number(&c, true, &u->partial_len))) {
			*error_r = "Bad partial range in URL";
			goto fail;
		}
	}
	if (c.p < c.end) {
		if (!u->absolute) {
			/* RFC 4467 2: an URLAUTH URL is an absolute one */
			*error_r = "Unexpected text after the URL";
			goto fail;
		}
		if (urlauth(&c, s, u, error_r) < 0)
			goto fail;
	}
	return 0;
fail:
	imap_url_clear(u);
	return -1;
}

void imap_url_clear(struct imap_url *u)
{
	free(u->user);
	free(u->host);
	free(u->mailbox);
	free(u->section);
	free(u->expire);
	free(u->access);
	free(u->access_user);
	free(u->mechanism);
	free(u->token);
	memset(u, 0, sizeof(*u));
}
