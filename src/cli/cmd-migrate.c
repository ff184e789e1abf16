/*
 * cmd-migrate: `roost migrate imap[s]://user@host[:port] ADDRESS` — copy a
 * live account from another IMAP server (RFC 9051 / RFC 3501 client side,
 * blocking, one connection) into a local account.
 *
 * Per folder of LIST (special-use attributes, RFC 6154, kept on mailboxes
 * it creates): EXAMINE (read-only: no \Recent or \Seen changes at the
 * source) gives UIDVALIDITY and UIDNEXT; when the local mailbox is new or
 * empty it takes them (store_mailbox_import_ids) and every message keeps
 * its UID (store_target.import_uid); else messages get new UIDs and the
 * summary says so. UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)
 * lists the source; bodies (BODY.PEEK[]) are fetched in batches for the
 * UIDs not yet here, each message one store op with its flags, keywords,
 * internal date and a POP3 UIDL: Dovecot's default "%08Xu%08Xv" (which
 * Dovecot 2.3 prints in lowercase hex) when the
 * source is Dovecot (or --pop3-uidl dovecot), else "<uidvalidity>.<uid>"
 * of the source. The UIDL is the resume key: a rerun, after kill -9 or
 * new mail at the source, fetches only what is missing. LSUB gives the
 * subscriptions. A per-mailbox verification (counts and UIDs on both
 * sides) ends the run. With --pop3 pop3[s]://user@host the old server's
 * own UIDLs (UIDL, and TOP n 0 for each header) are matched to INBOX's
 * messages by header hash, as Dovecot's pop3-migration plugin does, and
 * stored instead.
 *
 * The server is not trusted: response lines at most MIGRATE_MAX_LINE
 * bytes, a literal at most message.max_size (a larger message is an
 * error for the run, not an allocation), MIGRATE_MAX_RESPONSE untagged
 * responses per command, MIGRATE_TIMEOUT_SECS per read or write
 * (--timeout changes it, within MIGRATE_MAX_TIMEOUT_SECS).
 * The password comes from a file or the environment, never argv;
 * imap:// upgrades with STARTTLS when offered; pop3:// with STLS (RFC
 * 2595 4) and, without it, sends no password unless --allow-plaintext.
 * Certificates are checked against the system's CAs, or --ca FILE's.
 */
#include "cli/cli.h"
#include "cli/migrate-wire.h"
#include "imap/imap-date.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "mail/mailbox-name.h"
#include "store/store.h"
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* One response line (without literals). */
#define MIGRATE_MAX_LINE (64 * 1024)
/* Literals of one response other than a message body. */
#define MIGRATE_MAX_SMALL_LITERAL (64 * 1024)
/* Untagged responses to one command. */
#define MIGRATE_MAX_RESPONSE 5000000
/* Seconds a read or a write may wait. */
#define MIGRATE_TIMEOUT_SECS 60
#define MIGRATE_MAX_TIMEOUT_SECS 3600
/* Message bodies per UID FETCH. */
#define MIGRATE_BATCH 50
/* The password file: one line. */
#define MIGRATE_MAX_PASSWORD 1024
/* Messages listed per mailbox, and the bytes of their keywords. */
#define MIGRATE_MAX_MESSAGES 2000000
#define MIGRATE_MAX_KEYWORD_BYTES (64 * 1024 * 1024)

struct mig {
	struct cli *cli;
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	unsigned tag;
	int64_t max_literal;
	char rbuf[16384];
	size_t rpos, rlen;
	char *error;		/* why the connection failed */
	bool dovecot;		/* the greeting names Dovecot */
	const char *ca_file;	/* --ca: trust these instead of the system's */
	int timeout;		/* seconds per read or write */
	/* the current response: its line and literals, joined */
	char *resp;
	size_t resp_len, resp_cap;
};

/* ---- connection ------------------------------------------------------- */

static int fail(struct mig *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct mig *m, const char *fmt, ...)
{
	if (m->error == NULL) {
		va_list ap;
		va_start(ap, fmt);
		m->error = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return -1;
}

static ssize_t raw_read(struct mig *m, void *p, size_t n)
{
	if (m->ssl != NULL) {
		int r = SSL_read(m->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		return r > 0 ? r : -1;
	}
	ssize_t r;
	do
		r = read(m->fd, p, n);
	while (r < 0 && errno == EINTR);
	return r > 0 ? r : -1;
}

static int raw_write(struct mig *m, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w;
		if (m->ssl != NULL) {
			int r = SSL_write(m->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
			w = r > 0 ? r : -1;
		} else {
			w = write(m->fd, p, n);
			if (w < 0 && errno == EINTR)
				continue;
		}
		if (w <= 0)
			return fail(m, "write to the server failed (or timed out)");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fill(struct mig *m)
{
	if (m->rpos < m->rlen)
		return 0;
	ssize_t r = raw_read(m, m->rbuf, sizeof(m->rbuf));
	if (r <= 0)
		return fail(m, "the server closed the connection (or %d s passed without data)",
			    m->timeout);
	m->rpos = 0;
	m->rlen = (size_t)r;
	return 0;
}

static void resp_add(struct mig *m, const char *p, size_t n)
{
	if (m->resp_len + n + 1 > m->resp_cap) {
		m->resp_cap = (m->resp_len + n + 1) * 2;
		m->resp = xrealloc(m->resp, m->resp_cap);
	}
	memcpy(m->resp + m->resp_len, p, n);
	m->resp_len += n;
	m->resp[m->resp_len] = '\0';
}

/* Append one line (up to and without CRLF) to the response. */
static int read_line(struct mig *m, size_t *start_r)
{
	*start_r = m->resp_len;
	for (;;) {
		if (fill(m) < 0)
			return -1;
		char *nl = memchr(m->rbuf + m->rpos, '\n', m->rlen - m->rpos);
		size_t take = nl ? (size_t)(nl - (m->rbuf + m->rpos)) + 1 : m->rlen - m->rpos;
		if (m->resp_len - *start_r + take > MIGRATE_MAX_LINE)
			return fail(m, "the server sent a line longer than %d bytes", MIGRATE_MAX_LINE);
		resp_add(m, m->rbuf + m->rpos, take);
		m->rpos += take;
		if (nl != NULL)
			break;
	}
	m->resp_len--; /* the LF */
	if (m->resp_len > *start_r && m->resp[m->resp_len - 1] == '\r')
		m->resp_len--;
	m->resp[m->resp_len] = '\0';
	return 0;
}

/* Read one whole response: a line and, for each "{N}" ending it, the N
 * bytes of the literal and the line's continuation. Literals are kept
 * inline as "{N}\r\n<bytes>" so the parser sees the IMAP syntax. */
static int read_response(struct mig *m)
{
	m->resp_len = 0;
	int64_t budget = m->max_literal + MIGRATE_MAX_SMALL_LITERAL;
	for (;;) {
		size_t start;
		if (read_line(m, &start) < 0)
			return -1;
		size_t l = m->resp_len;
		if (l == start || m->resp[l - 1] != '}')
			return 0;
		char *open = memrchr(m->resp + start, '{', l - start);
		if (open == NULL)
			return 0;
		char *end = NULL;
		errno = 0;
		unsigned long long n = strtoull(open + 1, &end, 10);
		if (end != m->resp + l - 1 || errno != 0 || open[1] == '+')
			return fail(m, "the server sent a bad literal");
		if ((int64_t)n > budget || (int64_t)n < 0)
			return fail(m, "the server sent a literal of %llu bytes, larger than "
				       "message.max_size (%" PRId64 ")", n, m->max_literal);
		budget -= (int64_t)n;
		resp_add(m, "\r\n", 2);
		size_t need = (size_t)n;
		while (need > 0) {
			if (fill(m) < 0)
				return -1;
			size_t take = m->rlen - m->rpos < need ? m->rlen - m->rpos : need;
			resp_add(m, m->rbuf + m->rpos, take);
			m->rpos += take;
			need -= take;
		}
	}
}

/* ---- response parsing -------------------------------------------------- */

struct tok {
	const char *p;
	size_t len;
	bool nil;
};

struct cursor {
	const char *p, *end;
};

static void skip_sp(struct cursor *c)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
}

/* An atom, quoted string, literal or NIL. false at ')' or the end. The
 * quoted string's bytes are returned with their backslashes: callers
 * unescape what they keep. */
static bool next_string(struct cursor *c, struct tok *t)
{
	skip_sp(c);
	*t = (struct tok){0};
	if (c->p >= c->end || *c->p == ')' || *c->p == '(')
		return false;
	if (*c->p == '"') {
		const char *s = ++c->p;
		while (c->p < c->end && *c->p != '"') {
			if (*c->p == '\\' && c->p + 1 < c->end)
				c->p++;
			c->p++;
		}
		t->p = s;
		t->len = (size_t)(c->p - s);
		if (c->p < c->end)
			c->p++;
		return true;
	}
	if (*c->p == '{') {
		char *e = NULL;
		unsigned long long n = strtoull(c->p + 1, &e, 10);
		if (e == NULL || e + 3 > c->end || e[0] != '}' || e[1] != '\r' || e[2] != '\n' ||
		    n > (unsigned long long)(c->end - (e + 3)))
			return false;
		t->p = e + 3;
		t->len = (size_t)n;
		c->p = t->p + n;
		return true;
	}
	const char *s = c->p;
	int depth = 0;
	/* atoms may hold "[...]" (BODY[]) with spaces inside */
	while (c->p < c->end && (depth > 0 || (*c->p != ' ' && *c->p != ')' && *c->p != '('))) {
		if (*c->p == '[')
			depth++;
		else if (*c->p == ']')
			depth--;
		c->p++;
	}
	t->p = s;
	t->len = (size_t)(c->p - s);
	t->nil = t->len == 3 && strncasecmp(s, "NIL", 3) == 0;
	return t->len > 0;
}

static char *tok_dup_unescaped(const struct tok *t)
{
	char *out = xmalloc(t->len + 1);
	size_t o = 0;
	for (size_t i = 0; i < t->len; i++) {
		if (t->p[i] == '\\' && i + 1 < t->len)
			i++;
		out[o++] = t->p[i];
	}
	out[o] = '\0';
	return out;
}

static bool tok_is(const struct tok *t, const char *s)
{
	return t->len == strlen(s) && strncasecmp(t->p, s, t->len) == 0;
}

/* ---- commands ---------------------------------------------------------- */

typedef int untagged_fn(struct mig *m, struct cursor *c, void *ctx);

/* Read until the tagged response of `tag`; each untagged one goes to fn.
 * 0 on OK, 1 on NO or BAD (m->error says it), -1 when the connection
 * failed or the server broke a limit. */
static int wait_tagged(struct mig *m, const char *tag, const char *what, untagged_fn *fn,
		       void *ctx)
{
	size_t tl = strlen(tag);
	for (unsigned n = 0; n < MIGRATE_MAX_RESPONSE; n++) {
		if (read_response(m) < 0)
			return -1;
		struct cursor c = {m->resp, m->resp + m->resp_len};
		if (m->resp_len > tl && strncmp(m->resp, tag, tl) == 0 && m->resp[tl] == ' ') {
			c.p += tl + 1;
			if (strncasecmp(c.p, "OK", 2) == 0)
				return 0;
			fail(m, "%s: %.200s", what, c.p);
			return 1;
		}
		if (m->resp_len >= 2 && m->resp[0] == '*' && m->resp[1] == ' ') {
			c.p += 2;
			if (fn != NULL && fn(m, &c, ctx) < 0)
				return -1;
		} else if (m->resp_len > 0 && m->resp[0] == '+') {
			return fail(m, "%s: unexpected continuation request", what);
		}
	}
	return fail(m, "more than %d responses to one command", MIGRATE_MAX_RESPONSE);
}

/* Send a command (no tag, no CRLF) and wait for its tagged response. */
static int command(struct mig *m, const char *cmd, untagged_fn *fn, void *ctx)
{
	char tag[16];
	snprintf(tag, sizeof(tag), "m%u", ++m->tag);
	char *line = xasprintf("%s %s\r\n", tag, cmd);
	int rc = raw_write(m, line, strlen(line));
	free(line);
	if (rc < 0)
		return -1;
	char what[32];
	snprintf(what, sizeof(what), "%.*s", (int)strcspn(cmd, " "), cmd);
	return wait_tagged(m, tag, what, fn, ctx);
}

/* An IMAP string argument: quoted when it can be, else refused (the
 * names and users here are 7-bit; a password with CR/LF/8-bit is sent as
 * a literal by login()). */
static char *quote(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(2 * n + 3);
	size_t o = 0;
	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			out[o++] = '\\';
		out[o++] = s[i];
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

static bool plain_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* LOGIN (RFC 9051 6.2.3): a password outside quoted's range goes as a
 * synchronising literal. */
static int login(struct mig *m, const char *user, const char *pass)
{
	char *u = quote(user);
	int rc;
	if (plain_ascii(pass)) {
		char *p = quote(pass);
		char *cmd = xasprintf("LOGIN %s %s", u, p);
		explicit_bzero(p, strlen(p));
		free(p);
		rc = command(m, cmd, NULL, NULL);
		explicit_bzero(cmd, strlen(cmd));
		free(cmd);
	} else {
		char tag[16];
		snprintf(tag, sizeof(tag), "m%u", ++m->tag);
		char *line = xasprintf("%s LOGIN %s {%zu}\r\n", tag, u, strlen(pass));
		rc = raw_write(m, line, strlen(line));
		free(line);
		if (rc == 0 && read_response(m) == 0 && m->resp[0] == '+') {
			rc = raw_write(m, pass, strlen(pass));
			if (rc == 0)
				rc = raw_write(m, "\r\n", 2);
			if (rc == 0)
				rc = wait_tagged(m, tag, "LOGIN", NULL, NULL);
		} else {
			rc = fail(m, "LOGIN: the server refused the password literal");
		}
	}
	free(u);
	return rc == 0 ? 0 : -1;
}

/* ---- URL and setup ----------------------------------------------------- */

struct mig_url {
	bool tls;
	char *user, *host, *port;
};

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* imap[s]://user@host[:port][/] (RFC 5092's server part; the user
 * percent-decoded, so "a%40example.com" is a@example.com), or the same
 * with pop3[s]:// (RFC 2384) when pop3 is set. */
static int parse_url(const char *url, bool pop3, struct mig_url *u, char **error_r)
{
	const char *rest;
	const char *scheme = pop3 ? "pop3" : "imap";
	size_t sl = strlen(scheme);
	if (strncasecmp(url, scheme, sl) == 0 && strncmp(url + sl, "://", 3) == 0) {
		rest = url + sl + 3;
	} else if (strncasecmp(url, scheme, sl) == 0 && strncasecmp(url + sl, "s://", 4) == 0) {
		rest = url + sl + 4;
		u->tls = true;
	} else {
		*error_r = xasprintf("%s: not a %s:// or %ss:// URL", url, scheme, scheme);
		return -1;
	}
	const char *at = strrchr(rest, '@');
	if (at == NULL || at == rest) {
		*error_r = xasprintf("%s: no user (imap://user@host)", url);
		return -1;
	}
	char *user = xmalloc((size_t)(at - rest) + 1);
	size_t o = 0;
	for (const char *p = rest; p < at; p++) {
		if (*p == '%' && p + 2 < at && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			user[o++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		} else {
			user[o++] = *p;
		}
	}
	user[o] = '\0';
	u->user = user;
	const char *h = at + 1;
	size_t hl = strcspn(h, "/");
	char *hostport = xstrndup(h, hl);
	char *colon = NULL;
	if (hostport[0] == '[') {
		char *rb = strchr(hostport, ']');
		if (rb != NULL) {
			*rb = '\0';
			colon = rb[1] == ':' ? rb + 1 : NULL;
			memmove(hostport, hostport + 1, strlen(hostport + 1) + 1);
			if (colon)
				colon--;
		}
	} else {
		colon = strrchr(hostport, ':');
	}
	if (colon != NULL) {
		*colon = '\0';
		u->port = xstrdup(colon + 1);
	} else {
		u->port = xstrdup(pop3 ? (u->tls ? "995" : "110") : (u->tls ? "993" : "143"));
	}
	u->host = hostport;
	if (*u->host == '\0' || *u->port == '\0') {
		*error_r = xasprintf("%s: no host", url);
		return -1;
	}
	return 0;
}

static int start_tls(struct mig *m, const char *host, bool insecure);

static int connect_to(struct mig *m, const struct mig_url *u, bool insecure)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int gai = getaddrinfo(u->host, u->port, &hints, &res);
	if (gai != 0)
		return fail(m, "%s: %s", u->host, gai_strerror(gai));
	m->fd = -1;
	int saved = 0;
	for (struct addrinfo *ai = res; ai != NULL && m->fd < 0; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		struct timeval tv = {.tv_sec = m->timeout};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			m->fd = fd;
		} else {
			saved = errno;
			close(fd);
		}
	}
	freeaddrinfo(res);
	if (m->fd < 0)
		return fail(m, "%s:%s: %s", u->host, u->port, strerror(saved));
	return u->tls ? start_tls(m, u->host, insecure) : 0;
}

/* Capabilities of the server: from the greeting's [CAPABILITY ...] or,
 * when it has none, a CAPABILITY command (RFC 9051 7.2.2). */
static int on_capability(struct mig *m, struct cursor *c, void *ctx)
{
	if (strncasecmp(c->p, "CAPABILITY ", 11) == 0) {
		bool *starttls = ctx;
		*starttls = strcasestr(c->p, " STARTTLS") != NULL;
	}
	return 0;
}

/* imap://: STARTTLS when the server offers it (RFC 9051 6.2.1), so the
 * password does not go in clear; the certificate is checked as for
 * imaps://. A server that does not offer it gets LOGIN in clear. */
static int maybe_starttls(struct mig *m, const char *host, bool insecure, bool *used_r)
{
	*used_r = false;
	bool starttls = false;
	const char *cap = strcasestr(m->resp, "[CAPABILITY ");
	if (cap != NULL) {
		const char *end = strchr(cap, ']');
		const char *st = strcasestr(cap, " STARTTLS");
		starttls = st != NULL && (end == NULL || st < end);
	} else if (command(m, "CAPABILITY", on_capability, &starttls) != 0) {
		return -1;
	}
	if (!starttls)
		return 0;
	if (command(m, "STARTTLS", NULL, NULL) != 0)
		return -1;
	/* bytes sent before the handshake would be taken as protected */
	if (m->rpos != m->rlen)
		return fail(m, "the server sent data after its STARTTLS reply");
	*used_r = true;
	return start_tls(m, host, insecure);
}

static int start_tls(struct mig *m, const char *host, bool insecure)
{
	m->ctx = SSL_CTX_new(TLS_client_method());
	if (m->ctx == NULL)
		return fail(m, "TLS: cannot create a context");
	SSL_CTX_set_min_proto_version(m->ctx, TLS1_2_VERSION);
	if (!insecure) {
		if (m->ca_file == NULL)
			SSL_CTX_set_default_verify_paths(m->ctx);
		else if (SSL_CTX_load_verify_locations(m->ctx, m->ca_file, NULL) != 1)
			return fail(m, "TLS: cannot read the CA file %s", m->ca_file);
		SSL_CTX_set_verify(m->ctx, SSL_VERIFY_PEER, NULL);
	}
	m->ssl = SSL_new(m->ctx);
	SSL_set_fd(m->ssl, m->fd);
	SSL_set_tlsext_host_name(m->ssl, host);
	if (!insecure)
		SSL_set1_host(m->ssl, host);
	if (SSL_connect(m->ssl) != 1) {
		unsigned long e = ERR_get_error();
		char buf[256];
		ERR_error_string_n(e, buf, sizeof(buf));
		SSL_free(m->ssl);
		m->ssl = NULL;
		return fail(m, "TLS with %s: %s", host, buf);
	}
	return 0;
}

static char *read_password(struct cli *cli, const char *file)
{
	if (file == NULL) {
		const char *env = getenv("ROOST_MIGRATE_PASSWORD");
		return env != NULL ? xstrdup(env) : NULL;
	}
	FILE *f = fopen(file, "re");
	if (f == NULL) {
		fprintf(cli->err, "roost: %s: %s\n", file, strerror(errno));
		return NULL;
	}
	char buf[MIGRATE_MAX_PASSWORD + 2];
	char *pw = NULL;
	if (fgets(buf, sizeof(buf), f) != NULL) {
		buf[strcspn(buf, "\r\n")] = '\0';
		pw = xstrdup(buf);
	}
	explicit_bzero(buf, sizeof(buf));
	fclose(f);
	return pw;
}

/* ---- folders ----------------------------------------------------------- */

struct folder {
	char *remote;		/* the name as the server spells it (mUTF-7) */
	char *local;		/* UTF-8, '/' separated */
	char *special_use;
	bool noselect;
};

struct folders {
	struct folder *v;
	size_t n, cap;
	char **subs;
	size_t nsubs, subs_cap;
};

/* The local name of a remote one: delimiter -> '/', mUTF-7 decoded,
 * INBOX in any case -> "INBOX". NULL when not valid here. */
static char *local_name(const char *remote, char delim)
{
	if (strcasecmp(remote, "INBOX") == 0)
		return xstrdup("INBOX");
	char *s = xstrdup(remote);
	if (delim != '\0' && delim != '/')
		for (char *c = s; *c; c++)
			if (*c == delim)
				*c = '/';
	char *out = NULL;
	if (mailbox_name_mutf7_decode(s, &out) < 0)
		out = xstrdup(s);
	free(s);
	if (strncasecmp(out, "INBOX/", 6) == 0)
		memcpy(out, "INBOX", 5);
	if (!store_mailbox_name_valid(out)) {
		free(out);
		return NULL;
	}
	return out;
}

/* "* LIST (attrs) delim name" and "* LSUB ..." */
static int on_list(struct mig *m, struct cursor *c, void *ctx)
{
	struct folders *fs = ctx;
	struct tok t;
	if (!next_string(c, &t))
		return 0;
	bool lsub = tok_is(&t, "LSUB");
	if (!lsub && !tok_is(&t, "LIST"))
		return 0;
	skip_sp(c);
	if (c->p >= c->end || *c->p != '(')
		return fail(m, "bad LIST response");
	c->p++;
	bool noselect = false;
	const char *special = NULL;
	static const char *const uses[] = {"\\Sent", "\\Drafts", "\\Trash", "\\Junk",
					   "\\Archive", "\\All", "\\Flagged", NULL};
	while (next_string(c, &t)) {
		if (tok_is(&t, "\\Noselect") || tok_is(&t, "\\NonExistent"))
			noselect = true;
		for (int i = 0; uses[i]; i++)
			if (tok_is(&t, uses[i]))
				special = uses[i];
	}
	if (c->p < c->end && *c->p == ')')
		c->p++;
	if (!next_string(c, &t))
		return fail(m, "bad LIST response");
	char delim = t.nil || t.len == 0 ? '\0' : t.p[t.len - 1];
	if (!next_string(c, &t) || t.len > STORE_MAX_MAILBOX_NAME)
		return 0;
	char *remote = tok_dup_unescaped(&t);
	if (!plain_ascii(remote) || *remote == '\0') {
		/* mailbox names are 7-bit (modified UTF-7, RFC 3501 5.1.3) */
		fprintf(m->cli->err, "roost: a mailbox name that is not 7-bit: skipped\n");
		free(remote);
		return 0;
	}
	char *local = local_name(remote, delim);
	if (local == NULL) {
		fprintf(m->cli->err, "roost: mailbox %s: not a valid name here: skipped\n", remote);
		free(remote);
		return 0;
	}
	if (lsub) {
		free(remote);
		if (fs->nsubs >= STORE_MAX_SUBSCRIPTIONS) {
			free(local);
			return 0;
		}
		fs->subs = xgrow(fs->subs, &fs->subs_cap, fs->nsubs + 1, sizeof(*fs->subs));
		fs->subs[fs->nsubs++] = local;
		return 0;
	}
	if (fs->n >= STORE_MAX_MAILBOXES) {
		free(remote);
		free(local);
		return fail(m, "more than %d mailboxes", STORE_MAX_MAILBOXES);
	}
	fs->v = xgrow(fs->v, &fs->cap, fs->n + 1, sizeof(*fs->v));
	fs->v[fs->n++] = (struct folder){.remote = remote, .local = local,
					 .special_use = special ? xstrdup(special) : NULL,
					 .noselect = noselect};
	return 0;
}

struct src_msg {
	uint32_t uid, flags;
	char *keywords;
	char *uidl;		/* from the POP3 server (--pop3), or NULL */
	unsigned char hash[32];	/* of the header (--pop3 matching) */
	bool has_hash;
	int64_t date, size;
	bool want;
};

/* ---- --pop3: the old server's UIDLs --------------------------------- */

/* As Dovecot's pop3-migration plugin matches them: a POP3 message and an
 * IMAP one are the same when their headers hash the same (line ends and
 * trailing blanks ignored, and the headers a POP3 server on mbox adds or
 * drops skipped); among equal hashes, in order. */
struct pop3_ent {
	char *uidl;
	unsigned char hash[32];
	bool used;
};

struct pop3_list {
	struct pop3_ent *v;
	size_t n, cap;
};

static void header_hash(const char *p, size_t len, unsigned char out[32])
{
	static const char *const skip[] = {"Status:", "X-Status:", "X-Keywords:", "X-UID:",
					   "X-IMAP:", "X-IMAPbase:", "Content-Length:", NULL};
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	const char *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t l = (size_t)(le - p);
		while (l > 0 && (p[l - 1] == '\r' || p[l - 1] == ' ' || p[l - 1] == '\t'))
			l--;
		if (l == 0)
			break; /* the end of the header */
		bool skipped = false;
		for (int i = 0; skip[i]; i++)
			if (l >= strlen(skip[i]) && strncasecmp(p, skip[i], strlen(skip[i])) == 0)
				skipped = true;
		if (!skipped) {
			EVP_DigestUpdate(ctx, p, l);
			EVP_DigestUpdate(ctx, "\n", 1);
		}
		p = nl ? nl + 1 : end;
	}
	unsigned int olen = 32;
	EVP_DigestFinal_ex(ctx, out, &olen);
	EVP_MD_CTX_free(ctx);
}

/* One POP3 reply line into m->resp: 0 on "+OK", 1 on "-ERR", -1 broken. */
static int pop3_status(struct mig *m, const char *what)
{
	size_t start;
	m->resp_len = 0;
	if (read_line(m, &start) < 0)
		return -1;
	if (strncmp(m->resp, "+OK", 3) == 0)
		return 0;
	fail(m, "POP3 %s: %.200s", what, m->resp);
	return 1;
}

/* A multi-line reply's lines (dot-unstuffed, RFC 1939 3), each to fn;
 * at most `max` bytes in all. */
static int pop3_lines(struct mig *m, int64_t max, void (*fn)(void *ctx, const char *line,
							    size_t len), void *ctx)
{
	int64_t total = 0;
	for (;;) {
		size_t start;
		m->resp_len = 0;
		if (read_line(m, &start) < 0)
			return -1;
		const char *l = m->resp;
		size_t n = m->resp_len;
		if (n == 1 && l[0] == '.')
			return 0;
		if (n > 0 && l[0] == '.') {
			l++;
			n--;
		}
		total += (int64_t)n + 2;
		if (total > max)
			return fail(m, "POP3: a reply larger than %" PRId64 " bytes", max);
		fn(ctx, l, n);
	}
}

static int pop3_cmd(struct mig *m, const char *cmd, const char *what)
{
	char *line = xasprintf("%s\r\n", cmd);
	int rc = raw_write(m, line, strlen(line));
	explicit_bzero(line, strlen(line));
	free(line);
	return rc < 0 ? -1 : pop3_status(m, what);
}

static void on_uidl_line(void *ctx, const char *line, size_t len)
{
	struct pop3_list *pl = ctx;
	/* "<n> <uidl>", n counting from 1 in order */
	const char *sp = memchr(line, ' ', len);
	if (sp == NULL || pl->n >= MIGRATE_MAX_MESSAGES)
		return;
	size_t ul = len - (size_t)(sp + 1 - line);
	if (ul == 0 || ul > 70)
		return;
	pl->v = xgrow(pl->v, &pl->cap, pl->n + 1, sizeof(*pl->v));
	pl->v[pl->n++] = (struct pop3_ent){.uidl = xstrndup(sp + 1, ul)};
}

struct hdr_acc {
	char *buf;
	size_t len, cap;
};

static void on_top_line(void *ctx, const char *line, size_t len)
{
	struct hdr_acc *h = ctx;
	if (h->len + len + 3 > h->cap) {
		h->cap = (h->len + len + 3) * 2;
		h->buf = xrealloc(h->buf, h->cap);
	}
	memcpy(h->buf + h->len, line, len);
	h->len += len;
	memcpy(h->buf + h->len, "\r\n", 2);
	h->len += 2;
}

static void on_capa_line(void *ctx, const char *line, size_t len)
{
	bool *stls = ctx;
	if (len == 4 && strncasecmp(line, "STLS", 4) == 0)
		*stls = true;
}

/* pop3://: STLS (RFC 2595 4) when CAPA (RFC 2449 5) lists it, or when the
 * server has no CAPA; the certificate is checked as for pop3s://. 0 with
 * *used_r false: the server has no STLS. */
static int pop3_stls(struct mig *m, const char *host, bool insecure, bool *used_r)
{
	*used_r = false;
	bool stls = false, have_capa = false;
	int rc = raw_write(m, "CAPA\r\n", 6);
	if (rc == 0) {
		m->resp_len = 0;
		size_t start;
		rc = read_line(m, &start);
	}
	if (rc < 0)
		return -1;
	if (strncmp(m->resp, "+OK", 3) == 0) {
		have_capa = true;
		if (pop3_lines(m, MIGRATE_MAX_SMALL_LITERAL, on_capa_line, &stls) < 0)
			return -1;
	} else if (strncmp(m->resp, "-ERR", 4) != 0) {
		return fail(m, "POP3 CAPA: %.200s", m->resp);
	}
	if (have_capa && !stls)
		return 0;
	if (raw_write(m, "STLS\r\n", 6) < 0)
		return -1;
	m->resp_len = 0;
	size_t start;
	if (read_line(m, &start) < 0)
		return -1;
	if (strncmp(m->resp, "+OK", 3) != 0) {
		if (have_capa)
			return fail(m, "POP3 STLS: %.200s", m->resp);
		return 0; /* no CAPA, no STLS: an old server */
	}
	/* bytes sent before the handshake would be taken as protected */
	if (m->rpos != m->rlen)
		return fail(m, "the server sent data after its STLS reply");
	*used_r = true;
	return start_tls(m, host, insecure);
}

/* Log in to the POP3 server, read UIDL and each message's header (TOP n
 * 0), and QUIT without deleting anything. */
static int pop3_fetch(struct cli *cli, const struct mig_url *u, const char *pass, bool insecure,
		      bool allow_plaintext, const char *ca_file, int64_t max_size, int timeout,
		      struct pop3_list *pl, char **error_r)
{
	struct mig m = {.cli = cli, .fd = -1, .max_literal = max_size, .timeout = timeout,
			.ca_file = ca_file};
	int rc = connect_to(&m, u, insecure);
	if (rc == 0)
		rc = pop3_status(&m, "greeting");
	bool tls_started = u->tls;
	if (rc == 0 && !u->tls)
		rc = pop3_stls(&m, u->host, insecure, &tls_started);
	if (rc == 0 && !tls_started) {
		if (!allow_plaintext)
			rc = fail(&m, "the server offers no STLS: the password would go in clear "
				      "(--allow-plaintext to send it anyway)");
		else
			fprintf(cli->err, "roost: %s offers no STLS: the password goes in clear\n",
				u->host);
	}
	if (rc == 0 && (!plain_ascii(pass) || !plain_ascii(u->user)))
		rc = fail(&m, "POP3: user and password must be printable ASCII for USER/PASS");
	if (rc == 0) {
		char *c = xasprintf("USER %s", u->user);
		rc = pop3_cmd(&m, c, "USER");
		free(c);
	}
	if (rc == 0) {
		char *c = xasprintf("PASS %s", pass);
		rc = pop3_cmd(&m, c, "PASS");
		explicit_bzero(c, strlen(c));
		free(c);
	}
	if (rc == 0)
		rc = pop3_cmd(&m, "UIDL", "UIDL");
	if (rc == 0)
		rc = pop3_lines(&m, (int64_t)MIGRATE_MAX_MESSAGES * 80, on_uidl_line, pl);
	for (size_t i = 0; rc == 0 && i < pl->n; i++) {
		char c[32];
		snprintf(c, sizeof(c), "TOP %zu 0", i + 1);
		rc = pop3_cmd(&m, c, "TOP");
		struct hdr_acc h = {0};
		if (rc == 0)
			rc = pop3_lines(&m, max_size, on_top_line, &h);
		if (rc == 0)
			header_hash(h.buf ? h.buf : "", h.len, pl->v[i].hash);
		free(h.buf);
	}
	if (rc == 0)
		pop3_cmd(&m, "QUIT", "QUIT");
	if (rc != 0)
		*error_r = xasprintf("%s:%s: %s", u->host, u->port, m.error ? m.error : "failed");
	if (m.ssl != NULL) {
		SSL_shutdown(m.ssl);
		SSL_free(m.ssl);
	}
	if (m.ctx != NULL)
		SSL_CTX_free(m.ctx);
	if (m.fd >= 0)
		close(m.fd);
	free(m.resp);
	free(m.error);
	return rc == 0 ? 0 : -1;
}

/* Give each listed IMAP message the UIDL of the POP3 message with the
 * same header hash: the first unused one, in order. */
static void pop3_match(struct pop3_list *pl, struct src_msg *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!v[i].has_hash)
			continue;
		for (size_t k = 0; k < pl->n; k++) {
			if (pl->v[k].used || memcmp(pl->v[k].hash, v[i].hash, 32) != 0)
				continue;
			pl->v[k].used = true;
			v[i].uidl = xstrdup(pl->v[k].uidl);
			break;
		}
	}
}

/* ---- one mailbox ------------------------------------------------------- */


struct examine {
	uint32_t uidvalidity, uidnext, exists;
};

static int on_examine(struct mig *m, struct cursor *c, void *ctx)
{
	struct examine *x = ctx;
	const char *s = c->p;
	if (strncasecmp(s, "OK [UIDVALIDITY ", 16) == 0)
		x->uidvalidity = (uint32_t)strtoul(s + 16, NULL, 10);
	else if (strncasecmp(s, "OK [UIDNEXT ", 12) == 0)
		x->uidnext = (uint32_t)strtoul(s + 12, NULL, 10);
	else if (s[0] >= '0' && s[0] <= '9' && strstr(s, " EXISTS") != NULL)
		x->exists = (uint32_t)strtoul(s, NULL, 10);
	return 0;
}

struct listing {
	struct src_msg *v;
	size_t n, cap;
	size_t keyword_bytes;
};

/* FETCH's attributes: "* n FETCH (UID u FLAGS (...) INTERNALDATE "..." ...)";
 * calls back with each attribute name and the cursor on its value. */
static void parse_flags(struct cursor *c, uint32_t *flags_r, char **kw_r)
{
	*flags_r = 0;
	*kw_r = NULL;
	skip_sp(c);
	if (c->p >= c->end || *c->p != '(')
		return;
	c->p++;
	static const struct {
		const char *name;
		uint32_t bit;
	} sys[] = {{"\\Seen", STORE_FLAG_SEEN}, {"\\Answered", STORE_FLAG_ANSWERED},
		   {"\\Flagged", STORE_FLAG_FLAGGED}, {"\\Deleted", STORE_FLAG_DELETED},
		   {"\\Draft", STORE_FLAG_DRAFT}};
	char *kw = xstrdup("");
	struct tok t;
	while (next_string(c, &t)) {
		if (t.len > 0 && t.p[0] == '\\') {
			for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
				if (tok_is(&t, sys[i].name))
					*flags_r |= sys[i].bit;
			continue;
		}
		if (t.len > STORE_MAX_KEYWORD_LEN || strlen(kw) > 64 * (STORE_MAX_KEYWORD_LEN + 1))
			continue;
		char *next = xasprintf("%s%s%.*s", kw, *kw ? " " : "", (int)t.len, t.p);
		free(kw);
		kw = next;
	}
	if (c->p < c->end && *c->p == ')')
		c->p++;
	if (*kw)
		*kw_r = kw;
	else
		free(kw);
}

struct fetch_ctx {
	struct listing *list;	/* metadata pass: append */
	/* body pass */
	struct mig_box *box;
};

struct mig_box {
	struct mig *m;
	int64_t account_id, mbid;
	bool keep;
	uint32_t uidvalidity;
	struct listing *list;
	size_t imported, renumbered, failed;
	size_t total_want, done_want;
	const char *name;
	bool pop3_dovecot;
	int stop;		/* exit code that stops the run, or 0 */
};

static void uidl_for(const struct mig_box *b, uint32_t uid, char out[72])
{
	if (b->pop3_dovecot)
		snprintf(out, 72, "%08x%08x", uid, b->uidvalidity);
	else
		snprintf(out, 72, "%" PRIu32 ".%" PRIu32, b->uidvalidity, uid);
}

static struct src_msg *find_src(struct listing *l, uint32_t uid)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (l->v[mid].uid == uid)
			return &l->v[mid];
		if (l->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void store_body(struct mig_box *b, struct src_msg *sm, const char *data, size_t len)
{
	struct mig *m = b->m;
	char uidl[72];
	if (sm->uidl != NULL)
		snprintf(uidl, sizeof(uidl), "%s", sm->uidl);
	else
		uidl_for(b, sm->uid, uidl);
	for (int attempt = 0; attempt < 2; attempt++) {
		struct store_target t = {.account_id = b->account_id, .mailbox_id = b->mbid,
					 .flags = sm->flags, .keywords = sm->keywords,
					 .import_uid = b->keep && attempt == 0 ? sm->uid : 0};
		struct store_op op;
		store_op_init(&op, STORE_OP_DELIVER);
		op.u.deliver.data = data;
		op.u.deliver.len = len;
		op.u.deliver.internaldate = sm->date;
		op.u.deliver.targets = &t;
		op.u.deliver.ntargets = 1;
		op.u.deliver.pop3_uidl = uidl;
		enum store_err err = store_run(m->cli->store, &op);
		if (err == STORE_OK && t.err != STORE_OK)
			err = t.err;
		if (err == STORE_EEXISTS && t.import_uid != 0) {
			store_op_clear(&op);
			b->renumbered++;
			continue;
		}
		if (err == STORE_OK) {
			b->imported++;
		} else if (err == STORE_ENOQUOTA || err == STORE_ETEMP || err == STORE_ENOSPACE ||
			   err == STORE_EINUSE) {
			b->stop = cli_store_result(m->cli, err, op.error ? xstrdup(op.error) : NULL,
						   b->name);
		} else {
			fprintf(m->cli->err, "roost: %s UID %" PRIu32 ": %s\n", b->name, sm->uid,
				store_strerror(err));
			b->failed++;
		}
		store_op_clear(&op);
		return;
	}
}

static int on_fetch(struct mig *m, struct cursor *c, void *ctx)
{
	struct fetch_ctx *fc = ctx;
	struct tok t;
	if (!next_string(c, &t) || t.len == 0 || t.p[0] < '0' || t.p[0] > '9')
		return 0;
	if (!next_string(c, &t) || !tok_is(&t, "FETCH"))
		return 0;
	skip_sp(c);
	if (c->p >= c->end || *c->p != '(')
		return fail(m, "bad FETCH response");
	c->p++;
	struct src_msg sm = {0};
	struct tok body = {0};
	bool have_body = false;
	while (next_string(c, &t)) {
		if (tok_is(&t, "FLAGS")) {
			free(sm.keywords);
			parse_flags(c, &sm.flags, &sm.keywords);
			continue;
		}
		struct tok v;
		skip_sp(c);
		if (c->p < c->end && *c->p == '(') {
			/* a value we do not read (a list): skip it balanced */
			int depth = 0;
			do {
				if (*c->p == '(')
					depth++;
				else if (*c->p == ')')
					depth--;
				c->p++;
			} while (c->p < c->end && depth > 0);
			continue;
		}
		if (!next_string(c, &v))
			break;
		if (tok_is(&t, "UID")) {
			sm.uid = (uint32_t)strtoul(v.p, NULL, 10);
		} else if (tok_is(&t, "INTERNALDATE")) {
			char d[64];
			snprintf(d, sizeof(d), "%.*s", (int)(v.len < 63 ? v.len : 63), v.p);
			if (imap_date_time_parse(d, &sm.date) < 0)
				sm.date = 0;
		} else if (tok_is(&t, "RFC822.SIZE")) {
			sm.size = strtoll(v.p, NULL, 10);
		} else if (tok_is(&t, "BODY[HEADER]") && !v.nil) {
			header_hash(v.p, v.len, sm.hash);
			sm.has_hash = true;
		} else if (t.len >= 6 && strncasecmp(t.p, "BODY[]", 6) == 0 && !v.nil) {
			body = v;
			have_body = true;
		}
	}
	if (sm.uid == 0) {
		free(sm.keywords);
		return 0;
	}
	if (fc->list != NULL) {
		struct listing *l = fc->list;
		/* responses come in sequence order = UID order; a repeat or an
		 * out-of-order one is ignored */
		if (l->n > 0 && l->v[l->n - 1].uid >= sm.uid) {
			free(sm.keywords);
			return 0;
		}
		l->keyword_bytes += sm.keywords ? strlen(sm.keywords) : 0;
		if (l->n >= MIGRATE_MAX_MESSAGES || l->keyword_bytes > MIGRATE_MAX_KEYWORD_BYTES) {
			free(sm.keywords);
			return fail(m, "more than %d messages (or %d bytes of keywords) in one mailbox",
				    MIGRATE_MAX_MESSAGES, MIGRATE_MAX_KEYWORD_BYTES);
		}
		l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = sm;
		return 0;
	}
	free(sm.keywords);
	struct mig_box *b = fc->box;
	struct src_msg *src = find_src(b->list, sm.uid);
	if (!have_body || src == NULL || !src->want || b->stop != 0)
		return 0;
	src->want = false;
	store_body(b, src, body.p, body.len);
	b->done_want++;
	if (isatty(fileno(m->cli->err)))
		fprintf(m->cli->err, "\r%s: %zu/%zu", b->name, b->done_want, b->total_want);
	return 0;
}

static int cmp_msg_uid(const void *a, const void *b)
{
	uint32_t x = ((const struct src_msg *)a)->uid, y = ((const struct src_msg *)b)->uid;
	return x < y ? -1 : x > y;
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static enum store_err mailbox_get_or_create(struct cli *cli, int64_t account_id,
					    const struct folder *f, int64_t *id_r, bool *created_r)
{
	return cli_mailbox_ensure(cli, account_id, f->local, f->special_use, id_r, created_r);
}

struct totals {
	size_t folders, imported, skipped, renumbered, failed, fallback;
};

/* One folder: EXAMINE, list, fetch what is missing, verify. */
static int migrate_folder(struct mig *m, int64_t account_id, const struct folder *f,
			  bool pop3_dovecot, struct pop3_list *pl, struct totals *tot)
{
	bool pop3 = pl != NULL && strcmp(f->local, "INBOX") == 0;
	struct cli *cli = m->cli;
	char *q = quote(f->remote);
	char *cmd = xasprintf("EXAMINE %s", q);
	free(q);
	struct examine x = {0};
	int rc = command(m, cmd, on_examine, &x);
	free(cmd);
	if (rc == 1) {
		fprintf(cli->err, "roost: %s: %s: skipped\n", f->local, m->error);
		free(m->error);
		m->error = NULL;
		tot->failed++;
		return 0;
	}
	if (rc < 0)
		return -1;
	int64_t mbid;
	bool created;
	enum store_err err = mailbox_get_or_create(cli, account_id, f, &mbid, &created);
	if (err != STORE_OK) {
		cli_store_result(cli, err, NULL, f->local);
		return -2;
	}
	struct store_msg *have = NULL;
	size_t nhave = 0;
	if ((err = store_mailbox_messages(cli->store, account_id, mbid, &have, &nhave)) != STORE_OK) {
		cli_store_result(cli, err, NULL, f->local);
		return -2;
	}
	struct store_mailbox mb = {0};
	if ((err = store_mailbox_get_by_id(cli->store, account_id, mbid, &mb)) != STORE_OK) {
		store_msg_list_free(have, nhave);
		cli_store_result(cli, err, NULL, f->local);
		return -2;
	}
	bool keep = x.uidvalidity != 0 && mb.uidvalidity == x.uidvalidity;
	store_mailbox_clear(&mb);
	if (!keep && x.uidvalidity != 0 && nhave == 0) {
		char *error = NULL;
		err = store_mailbox_import_ids(cli->store, account_id, mbid, x.uidvalidity, &error);
		keep = err == STORE_OK;
		if (err != STORE_OK && err != STORE_EPERM) {
			store_msg_list_free(have, nhave);
			cli_store_result(cli, err, error, f->local);
			return -2;
		}
		free(error);
	}
	if (!keep) {
		fprintf(cli->out, "%s: holds other messages: its UIDVALIDITY stays, migrated "
				  "messages get new UIDs\n", f->local);
		tot->fallback++;
	}
	struct listing list = {0};
	struct fetch_ctx fc = {.list = &list};
	rc = x.exists == 0 ? 0 :
	     command(m, pop3 ? "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER])" :
			       "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)", on_fetch, &fc);
	if (rc != 0) {
		for (size_t i = 0; i < list.n; i++) {
			free(list.v[i].keywords);
			free(list.v[i].uidl);
		}
		free(list.v);
		store_msg_list_free(have, nhave);
		return -1;
	}
	if (list.n > 1)
		qsort(list.v, list.n, sizeof(*list.v), cmp_msg_uid);
	if (pop3)
		pop3_match(pl, list.v, list.n);
	struct mig_box b = {.m = m, .account_id = account_id, .mbid = mbid, .keep = keep,
			    .uidvalidity = x.uidvalidity, .list = &list, .name = f->local,
			    .pop3_dovecot = pop3_dovecot};
	/* what is already here, by UIDL (the resume key) */
	const char **uidls = xcalloc(nhave + 1, sizeof(*uidls));
	size_t nu = 0;
	for (size_t i = 0; i < nhave; i++)
		if (have[i].pop3_uidl != NULL)
			uidls[nu++] = have[i].pop3_uidl;
	if (nu > 1)
		qsort(uidls, nu, sizeof(*uidls), cmp_cstr);
	/* With kept UIDs a rerun fetches only UIDs above the highest an
	 * earlier run stored: one deleted here since does not come back. */
	uint32_t done_uid = 0;
	for (size_t i = 0; keep && i < nhave; i++)
		if (have[i].pop3_uidl != NULL && have[i].uid > done_uid)
			done_uid = have[i].uid;
	size_t skipped = 0;
	for (size_t i = 0; i < list.n; i++) {
		char uidl[72];
		if (list.v[i].uidl != NULL)
			snprintf(uidl, sizeof(uidl), "%s", list.v[i].uidl);
		else
			uidl_for(&b, list.v[i].uid, uidl);
		const char *key = uidl;
		list.v[i].want = list.v[i].uid > done_uid &&
				 (nu == 0 || bsearch(&key, uidls, nu, sizeof(*uidls), cmp_cstr) == NULL);
		if (list.v[i].want && list.v[i].size > m->max_literal) {
			fprintf(cli->err, "roost: %s UID %" PRIu32 ": larger than message.max_size: "
					  "skipped\n", f->local, list.v[i].uid);
			list.v[i].want = false;
			b.failed++;
		}
		if (list.v[i].want)
			b.total_want++;
		else
			skipped++;
	}
	free(uidls);
	fc = (struct fetch_ctx){.box = &b};
	for (size_t i = 0; i < list.n && rc == 0 && b.stop == 0;) {
		char *set = xstrdup("");
		size_t k = 0;
		for (; i < list.n && k < MIGRATE_BATCH; i++) {
			if (!list.v[i].want)
				continue;
			char *next = xasprintf("%s%s%" PRIu32, set, *set ? "," : "", list.v[i].uid);
			free(set);
			set = next;
			k++;
		}
		if (k > 0) {
			char *fetch = xasprintf("UID FETCH %s (UID BODY.PEEK[])", set);
			rc = command(m, fetch, on_fetch, &fc);
			free(fetch);
		}
		free(set);
	}
	if (isatty(fileno(cli->err)) && b.total_want > 0)
		fputc('\n', cli->err);
	/* the source's UIDNEXT, once every message is in */
	if (keep && rc == 0 && b.stop == 0 && b.failed == 0 && x.uidnext > 1 &&
	    (err = store_mailbox_raise_uidnext(cli->store, account_id, mbid, x.uidnext,
					       NULL)) != STORE_OK)
		b.stop = cli_store_result(cli, err, NULL, f->local);
	/* verification: both sides' counts and UIDs */
	store_msg_list_free(have, nhave);
	have = NULL;
	nhave = 0;
	uint32_t local_uv = 0;
	if (store_mailbox_messages(cli->store, account_id, mbid, &have, &nhave) == STORE_OK &&
	    store_mailbox_get_by_id(cli->store, account_id, mbid, &mb) == STORE_OK) {
		local_uv = mb.uidvalidity;
		store_mailbox_clear(&mb);
	}
	size_t same = 0;
	for (size_t i = 0, j = 0; i < list.n && j < nhave;) {
		if (list.v[i].uid == have[j].uid) {
			same++;
			i++;
			j++;
		} else if (list.v[i].uid < have[j].uid) {
			i++;
		} else {
			j++;
		}
	}
	fprintf(cli->out, "verify\t%s\tsource %zu messages UIDVALIDITY %" PRIu32 "\troost %zu "
			  "messages UIDVALIDITY %" PRIu32 "\t%s\n", f->local, list.n, x.uidvalidity,
		nhave, local_uv,
		local_uv == x.uidvalidity && same == list.n && nhave == list.n ? "same UIDs" :
		"UIDs differ");
	store_msg_list_free(have, nhave);
	tot->folders++;
	tot->imported += b.imported;
	tot->skipped += skipped;
	tot->renumbered += b.renumbered;
	tot->failed += b.failed;
	for (size_t i = 0; i < list.n; i++) {
		free(list.v[i].keywords);
		free(list.v[i].uidl);
	}
	free(list.v);
	if (b.stop != 0)
		return -2;
	return rc;
}

int migrate_wire_drain(int fd, int64_t max_literal, FILE *err, struct migrate_wire_stats *st,
		       char **error_r)
{
	struct cli cli = {.err = err, .out = err};
	struct mig m = {.cli = &cli, .fd = fd, .max_literal = max_literal,
			.timeout = MIGRATE_TIMEOUT_SECS};
	struct folders fs = {0};
	struct listing list = {0};
	struct fetch_ctx fc = {.list = &list};
	memset(st, 0, sizeof(*st));
	int rc = 0;
	while (rc == 0 && read_response(&m) == 0) {
		st->responses++;
		/* every token, lists entered, within the response's bytes */
		struct cursor c = {m.resp, m.resp + m.resp_len};
		while (c.p < c.end) {
			struct tok t;
			skip_sp(&c);
			if (c.p >= c.end)
				break;
			if (*c.p == '(' || *c.p == ')') {
				c.p++;
				continue;
			}
			const char *before = c.p;
			if (!next_string(&c, &t)) {
				c.p = before + 1;
				continue;
			}
			if (t.p < m.resp || t.p + t.len > m.resp + m.resp_len || c.p > c.end)
				abort();
			st->tokens++;
		}
		if (m.resp_len < 2 || m.resp[0] != '*' || m.resp[1] != ' ')
			continue;
		c = (struct cursor){m.resp + 2, m.resp + m.resp_len};
		if (on_list(&m, &c, &fs) < 0)
			rc = -1;
		c = (struct cursor){m.resp + 2, m.resp + m.resp_len};
		if (rc == 0 && on_fetch(&m, &c, &fc) < 0)
			rc = -1;
	}
	st->folders = fs.n;
	st->messages = list.n;
	for (size_t i = 1; i < list.n; i++)
		if (list.v[i - 1].uid >= list.v[i].uid)
			abort(); /* a listing only ascends */
	bool eof = m.error != NULL && strncmp(m.error, "the server closed", 17) == 0;
	if (!eof && m.error != NULL)
		*error_r = xstrdup(m.error);
	for (size_t i = 0; i < fs.n; i++) {
		if (!plain_ascii(fs.v[i].remote) || !store_mailbox_name_valid(fs.v[i].local))
			abort();
		free(fs.v[i].remote);
		free(fs.v[i].local);
		free(fs.v[i].special_use);
	}
	free(fs.v);
	for (size_t i = 0; i < fs.nsubs; i++)
		free(fs.subs[i]);
	free(fs.subs);
	for (size_t i = 0; i < list.n; i++) {
		free(list.v[i].keywords);
		free(list.v[i].uidl);
	}
	free(list.v);
	free(m.resp);
	free(m.error);
	return eof ? 0 : -1;
}

int cmd_migrate(struct cli *cli, int argc, char **argv)
{
	const char *pwfile = NULL, *pop3 = NULL, *pop3_url = NULL, *ca_file = NULL;
	bool insecure = false, allow_plaintext = false;
	long timeout = MIGRATE_TIMEOUT_SECS;
	int i = 0;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--insecure") == 0)
			insecure = true;
		else if (strcmp(argv[i], "--allow-plaintext") == 0)
			allow_plaintext = true;
		else if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc)
			ca_file = argv[++i];
		else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc)
			pwfile = argv[++i];
		else if (strcmp(argv[i], "--pop3-uidl") == 0 && i + 1 < argc)
			pop3 = argv[++i];
		else if (strcmp(argv[i], "--pop3") == 0 && i + 1 < argc)
			pop3_url = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			char *end = NULL;
			timeout = strtol(argv[++i], &end, 10);
			if (*end != '\0' || timeout < 1 || timeout > MIGRATE_MAX_TIMEOUT_SECS)
				return cli_fail(cli, CLI_EX_USAGE, "--timeout: 1 to %d seconds",
						MIGRATE_MAX_TIMEOUT_SECS);
		}
		else
			return cli_fail(cli, CLI_EX_USAGE, "migrate: unknown option %s", argv[i]);
	}
	if (argc - i != 2)
		return cli_fail(cli, CLI_EX_USAGE, "migrate: give <imap-url> <address>");
	if (pop3 != NULL && strcmp(pop3, "dovecot") != 0 && strcmp(pop3, "source") != 0)
		return cli_fail(cli, CLI_EX_USAGE, "--pop3-uidl: dovecot or source");
	struct mig_url u = {0};
	char *error = NULL;
	if (parse_url(argv[i], false, &u, &error) < 0) {
		int code = cli_fail(cli, CLI_EX_USAGE, "%s", error);
		free(error);
		free(u.user);
		free(u.host);
		free(u.port);
		return code;
	}
	char *addr = cli_address(cli, argv[i + 1]);
	struct store_account acct = {0};
	enum store_err err = addr ? store_account_get(cli->store, addr, &acct) : STORE_EINVAL;
	char *pass = NULL;
	int code = CLI_EX_OK;
	struct mig m = {.cli = cli, .fd = -1, .timeout = (int)timeout, .ca_file = ca_file,
			.max_literal = config_size(cli->cfg, "message.max_size")};
	struct folders fs = {0};
	struct totals tot = {0};
	struct pop3_list pl = {0};
	struct mig_url pu = {0};
	bool have_pop3 = false;
	if (addr == NULL) {
		code = CLI_EX_ERROR;
		goto out;
	}
	if (err != STORE_OK) {
		code = cli_store_result(cli, err, NULL, addr);
		goto out;
	}
	if (!plain_ascii(u.user) || *u.user == '\0') {
		code = cli_fail(cli, CLI_EX_USAGE, "the user name must be printable ASCII");
		goto out;
	}
	pass = read_password(cli, pwfile);
	if (pass == NULL) {
		code = cli_fail(cli, CLI_EX_USAGE, "no password: --password-file <file> or "
						   "ROOST_MIGRATE_PASSWORD");
		goto out;
	}
	if (pop3_url != NULL) {
		if (parse_url(pop3_url, true, &pu, &error) < 0 ||
		    pop3_fetch(cli, &pu, pass, insecure, allow_plaintext, ca_file, m.max_literal,
			       m.timeout, &pl, &error) < 0) {
			code = cli_fail(cli, CLI_EX_TEMPFAIL, "%s", error);
			free(error);
			goto out;
		}
		have_pop3 = true;
		fprintf(cli->out, "pop3: %zu UIDLs from %s\n", pl.n, pu.host);
	}
	if (connect_to(&m, &u, insecure) < 0 || read_response(&m) < 0)
		goto net;
	if (strncasecmp(m.resp, "* OK", 4) != 0 && strncasecmp(m.resp, "* PREAUTH", 9) != 0) {
		fail(&m, "not an IMAP greeting: %.100s", m.resp);
		goto net;
	}
	m.dovecot = strstr(m.resp, "Dovecot") != NULL;
	bool preauth = strncasecmp(m.resp, "* OK", 4) != 0;
	bool tls_started = false;
	if (!u.tls && !preauth && maybe_starttls(&m, u.host, insecure, &tls_started) < 0)
		goto net;
	if (!u.tls && !preauth && !tls_started)
		fprintf(cli->err, "roost: %s offers no STARTTLS: the password goes in clear\n",
			u.host);
	if (!preauth && login(&m, u.user, pass) < 0)
		goto net;
	bool pop3_dovecot = pop3 != NULL ? strcmp(pop3, "dovecot") == 0 : m.dovecot;
	if (command(&m, "LIST \"\" \"*\"", on_list, &fs) != 0 ||
	    command(&m, "LSUB \"\" \"*\"", on_list, &fs) != 0)
		goto net;
	for (size_t k = 0; k < fs.n; k++) {
		if (fs.v[k].noselect)
			continue;
		int rc = migrate_folder(&m, acct.id, &fs.v[k], pop3_dovecot,
					have_pop3 ? &pl : NULL, &tot);
		if (rc != 0 && rc != -2)
			goto net;
		if (rc == -2) {
			code = CLI_EX_TEMPFAIL;
			goto summary;
		}
	}
	for (size_t k = 0; k < fs.nsubs; k++) {
		struct store_op op;
		store_op_init(&op, STORE_OP_MAILBOX_SUBSCRIBE);
		op.u.mailbox.account_id = acct.id;
		op.u.mailbox.name = fs.subs[k];
		op.u.mailbox.subscribe = true;
		err = store_run(cli->store, &op);
		if (err != STORE_OK)
			fprintf(cli->err, "roost: subscribe %s: %s\n", fs.subs[k], store_strerror(err));
		store_op_clear(&op);
	}
	command(&m, "LOGOUT", NULL, NULL);
	goto summary;
net:
	code = cli_fail(cli, CLI_EX_TEMPFAIL, "%s:%s: %s", u.host, u.port,
			m.error ? m.error : "failed");
summary:
	fprintf(cli->out, "migrated %zu messages into %zu mailboxes of %s; %zu already there, "
			  "%zu with new UIDs, %zu failed; %zu subscriptions\n",
		tot.imported, tot.folders, addr, tot.skipped, tot.renumbered, tot.failed, fs.nsubs);
	if (code == CLI_EX_OK && tot.failed > 0)
		code = CLI_EX_ERROR;
out:
	if (pass != NULL) {
		explicit_bzero(pass, strlen(pass));
		free(pass);
	}
	if (m.ssl != NULL) {
		SSL_shutdown(m.ssl);
		SSL_free(m.ssl);
	}
	if (m.ctx != NULL)
		SSL_CTX_free(m.ctx);
	if (m.fd >= 0)
		close(m.fd);
	for (size_t k = 0; k < fs.n; k++) {
		free(fs.v[k].remote);
		free(fs.v[k].local);
		free(fs.v[k].special_use);
	}
	free(fs.v);
	for (size_t k = 0; k < fs.nsubs; k++)
		free(fs.subs[k]);
	free(fs.subs);
	free(m.resp);
	free(m.error);
	store_account_clear(&acct);
	free(addr);
	free(u.user);
	free(u.host);
	free(u.port);
	free(pu.user);
	free(pu.host);
	free(pu.port);
	for (size_t k = 0; k < pl.n; k++)
		free(pl.v[k].uidl);
	free(pl.v);
	return code;
}
