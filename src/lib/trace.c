/* trace: see trace.h. */
#include "lib/trace.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/conn.h"
#include "lib/log.h"
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLAG_SUFFIX ".on"
#define REDACTED "[redacted]"

/* The daemon's switches (trace_start): addresses, under the lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *trace_dir;		/* NULL: not the daemon, nothing is traced */
static int64_t max_file_bytes;
static char **accounts;
static size_t naccounts, accounts_cap;
/* Bumped after each change of the set (under the lock): sessions compare
 * it per command line, a load instead of a lock or a stat(). */
static _Atomic uint64_t generation = 1;

enum trace_state { TRACE_PRELOGIN, TRACE_ON, TRACE_OFF };

struct trace {
	enum trace_state state;
	char *proto, *session;
	struct buf pending;	/* pre-login lines, or output not yet written */
	bool prelogin_cut;
	bool capped;		/* stopped at trace.max_bytes: stays off */
	bool managesieve;	/* SASL continuations are strings (RFC 5804 2.1) */
	bool sasl;		/* a SASL exchange: client lines are secrets */
	int fd;
	int64_t written;
	struct event *flush_ev;
	/* mail content is counted, never copied: an IMAP literal the server
	 * sends (skip_out bytes left), a POP3 RETR/TOP answer, SMTP DATA */
	uint64_t skip_out;
	bool want_body, server_body;
	uint64_t server_body_bytes;
	bool want_data, client_data;
	uint64_t client_data_bytes;
};

/* An address that can name a file: no '/', no leading '.', no control
 * characters, not empty, not too long. */
static bool address_ok(const char *a)
{
	size_t n = strlen(a);
	if (n == 0 || n > 254 || a[0] == '.' || strchr(a, '/') != NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)a[i] < 0x21 || a[i] == 0x7f)
			return false;
	return true;
}

static void set_locked(const char *address, bool on)
{
	for (size_t i = 0; i < naccounts; i++) {
		if (strcasecmp(accounts[i], address) == 0) {
			if (!on) {
				free(accounts[i]);
				accounts[i] = accounts[--naccounts];
			}
			return;
		}
	}
	if (!on || naccounts >= TRACE_MAX_ACCOUNTS)
		return;
	accounts = xgrow(accounts, &accounts_cap, naccounts + 1, sizeof(*accounts));
	accounts[naccounts++] = xstrdup(address);
}

uint64_t trace_generation(void)
{
	return atomic_load_explicit(&generation, memory_order_acquire);
}

void trace_start(const char *datadir, int64_t max_bytes)
{
	char *dir = xasprintf("%s/trace", datadir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		log_warn("trace: cannot create %s: %s", dir, strerror(errno));
	pthread_mutex_lock(&lock);
	free(trace_dir);
	trace_dir = dir;
	max_file_bytes = max_bytes > 0 ? max_bytes : INT64_MAX; /* unlimited */
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n <= strlen(FLAG_SUFFIX) || strcmp(e->d_name + n - 3, FLAG_SUFFIX) != 0)
			continue;
		e->d_name[n - 3] = '\0';
		if (address_ok(e->d_name))
			set_locked(e->d_name, true);
	}
	if (d != NULL)
		closedir(d);
	size_t n = naccounts;
	pthread_mutex_unlock(&lock);
	if (n > 0)
		log_info("trace: %zu account(s) traced (%s)", n, dir);
}

int trace_switch(const char *datadir, const char *address, bool on, char **error_r)
{
	if (!address_ok(address)) {
		*error_r = xstrdup("this address cannot name a trace file");
		return -1;
	}
	char *dir = xasprintf("%s/trace", datadir);
	char *flag = xasprintf("%s/%s" FLAG_SUFFIX, dir, address);
	int r = 0;
	if (on) {
		int fd = -1;
		if ((mkdir(dir, 0700) < 0 && errno != EEXIST) ||
		    (fd = open(flag, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0) {
			*error_r = xasprintf("%s: %s", fd < 0 ? flag : dir, strerror(errno));
			r = -1;
		}
		if (fd >= 0)
			close(fd);
	} else if (unlink(flag) < 0 && errno != ENOENT) {
		*error_r = xasprintf("%s: %s", flag, strerror(errno));
		r = -1;
	}
	if (r == 0) {
		pthread_mutex_lock(&lock);
		if (trace_dir != NULL) {
			set_locked(address, on);
			atomic_fetch_add_explicit(&generation, 1, memory_order_release);
		}
		pthread_mutex_unlock(&lock);
	}
	free(flag);
	free(dir);
	return r;
}

bool trace_enabled(const char *address)
{
	bool on = false;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < naccounts && !on; i++)
		on = strcasecmp(accounts[i], address) == 0;
	pthread_mutex_unlock(&lock);
	return on;
}

/* --- redaction ------------------------------------------------------- */

/* The next space-separated word of line[*pos..len): its start and length. */
static size_t word(const char *line, size_t len, size_t *pos, size_t *start_r)
{
	while (*pos < len && line[*pos] == ' ')
		(*pos)++;
	*start_r = *pos;
	while (*pos < len && line[*pos] != ' ')
		(*pos)++;
	return *pos - *start_r;
}

static bool word_is(const char *line, size_t start, size_t n, const char *w)
{
	return n == strlen(w) && strncasecmp(line + start, w, n) == 0;
}

/* An IMAP astring starting at `p` (RFC 3501 9): its end. A quoted string
 * ends at the first unescaped '"'; a literal "{n}" ends the line. */
static size_t astring_end(const char *line, size_t len, size_t p)
{
	if (p < len && line[p] == '"') {
		for (p++; p < len; p++) {
			if (line[p] == '\\' && p + 1 < len)
				p++;
			else if (line[p] == '"')
				return p + 1;
		}
		return len;
	}
	while (p < len && line[p] != ' ')
		p++;
	return p;
}

static size_t put(char *out, size_t out_max, size_t o, const char *s, size_t n)
{
	if (o + 1 >= out_max)
		return o;
	if (n > out_max - 1 - o)
		n = out_max - 1 - o;
	memcpy(out + o, s, n);
	return o + n;
}

size_t trace_redact(const char *line, size_t len, bool *sasl, char *out, size_t out_max)
{
	size_t o = 0;
	if (out_max == 0)
		return 0;
	if (*sasl) {
		/* a continuation: "*" cancels, anything else is a secret */
		o = len == 1 && line[0] == '*' ? put(out, out_max, 0, "*", 1)
					       : put(out, out_max, 0, REDACTED, strlen(REDACTED));
		out[o] = '\0';
		return o;
	}
	size_t pos = 0, s1, s2, s3;
	size_t n1 = word(line, len, &pos, &s1);
	size_t n2 = word(line, len, &pos, &s2);
	size_t keep = len, redact = 0;
	if (word_is(line, s1, n1, "PASS") && n2 > 0) {
		keep = s2; /* POP3 PASS (RFC 1939 7) */
		redact = 1;
	} else if (word_is(line, s1, n1, "AUTH") && n2 > 0) {
		/* POP3 AUTH (RFC 5034), SMTP AUTH (RFC 4954): the mechanism
		 * stays, an initial response goes */
		*sasl = true;
		size_t n3 = word(line, len, &pos, &s3);
		if (n3 > 0) {
			keep = s3;
			redact = 1;
		}
	} else if (word_is(line, s1, n1, "AUTHENTICATE")) {
		/* ManageSieve (RFC 5804 2.1): no tag; the mechanism stays,
		 * an initial response (string or literal) goes */
		*sasl = true;
		if (n2 > 0 && pos < len) {
			keep = pos + 1;
			redact = 1;
		}
	} else if (word_is(line, s2, n2, "AUTHENTICATE")) {
		*sasl = true; /* IMAP (RFC 3501 6.2.2; SASL-IR, RFC 4959) */
		size_t m, n3 = word(line, len, &pos, &m);
		size_t n4 = n3 > 0 ? word(line, len, &pos, &s3) : 0;
		if (n4 > 0) {
			keep = s3;
			redact = 1;
		}
	} else if (word_is(line, s2, n2, "LOGIN")) {
		/* IMAP LOGIN user password: the user stays */
		size_t u = pos;
		while (u < len && line[u] == ' ')
			u++;
		size_t e = astring_end(line, len, u);
		if (e < len) {
			keep = e + 1;
			redact = 1;
		}
	}
	o = put(out, out_max, 0, line, keep);
	if (redact)
		o = put(out, out_max, o, REDACTED, strlen(REDACTED));
	for (size_t i = 0; i < o; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	out[o] = '\0';
	return o;
}

/* --- files ----------------------------------------------------------- */

static void flush(struct trace *t)
{
	if (t->state != TRACE_ON || t->pending.len == 0)
		return;
	size_t n = t->pending.len;
	if (t->written + (int64_t)n > max_file_bytes) {
		n = max_file_bytes > t->written ? (size_t)(max_file_bytes - t->written) : 0;
	}
	const char *p = t->pending.data;
	size_t left = n;
	while (left > 0) {
		ssize_t w = write(t->fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		left -= (size_t)w;
	}
	t->written += (int64_t)n;
	buf_reset(&t->pending);
	if (t->written >= max_file_bytes) {
		static const char stop[] = "-- trace stopped: trace.max_bytes reached\n";
		if (write(t->fd, stop, sizeof(stop) - 1) < 0) {
			/* nothing more to do: the file is full or gone */
		}
		t->state = TRACE_OFF;
		t->capped = true;
	}
}

static void flush_timer(evutil_socket_t fd, short what, void *arg)
{
	flush(arg);
}

static void append(struct trace *t, const char *dir, const char *text, size_t n)
{
	if (t->state == TRACE_OFF)
		return;
	char when[32];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%02d:%02d:%02d.%03ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000000);
	if (t->state == TRACE_PRELOGIN) {
		if (t->prelogin_cut)
			return;
		if (buf_printf(&t->pending, "%s %s %.*s\n", when, dir, (int)n, text) < 0) {
			buf_puts(&t->pending, "-- (earlier lines cut)\n");
			t->prelogin_cut = true;
		}
		return;
	}
	if (buf_printf(&t->pending, "%s %s %.*s\n", when, dir, (int)n, text) < 0) {
		flush(t);
		buf_printf(&t->pending, "%s %s %.*s\n", when, dir, (int)n, text);
	}
	if (t->pending.len >= TRACE_FLUSH_BYTES) {
		flush(t);
	} else if (t->flush_ev != NULL && !evtimer_pending(t->flush_ev, NULL)) {
		struct timeval tv = {1, 0};
		evtimer_add(t->flush_ev, &tv);
	}
}

static struct trace *trace_alloc(const char *proto, const char *session)
{
	struct trace *t = xcalloc(1, sizeof(*t));
	t->state = TRACE_PRELOGIN;
	t->proto = xstrdup(proto);
	t->session = xstrdup(session);
	t->managesieve = strcmp(proto, "managesieve") == 0;
	t->fd = -1;
	buf_init(&t->pending, TRACE_PRELOGIN_MAX);
	return t;
}

struct trace *trace_conn_new(const char *proto, const char *session)
{
	/* MTA sessions (SMTP on port 25, LMTP) never log in: no buffer */
	if (strcmp(proto, "smtp") == 0 || strcmp(proto, "lmtp") == 0)
		return NULL;
	pthread_mutex_lock(&lock);
	bool any = trace_dir != NULL && naccounts > 0;
	pthread_mutex_unlock(&lock);
	if (!any)
		return NULL;
	return trace_alloc(proto, session);
}

void trace_client_line(struct trace *t, const char *line, size_t len)
{
	if (t->state == TRACE_OFF)
		return;
	if (t->client_data) {
		/* SMTP DATA (RFC 5321 4.1.1.4): mail content, counted only */
		if (len == 1 && line[0] == '.') {
			char text[64];
			snprintf(text, sizeof(text), "[message: %llu bytes]",
				 (unsigned long long)t->client_data_bytes);
			append(t, "C:", text, strlen(text));
			append(t, "C:", ".", 1);
			t->client_data = false;
			t->client_data_bytes = 0;
		} else {
			t->client_data_bytes += len + 2;
		}
		return;
	}
	size_t pos = 0, start;
	size_t n1 = word(line, len, &pos, &start);
	t->want_data = word_is(line, start, n1, "DATA");
	/* POP3 RETR and TOP (RFC 1939 7): a multi-line answer of mail content */
	t->want_body = word_is(line, start, n1, "RETR") || word_is(line, start, n1, "TOP");
	char out[1100];
	size_t n = trace_redact(line, len, &t->sasl, out, sizeof(out));
	append(t, "C:", out, n);
	if (n == sizeof(out) - 1 && n < len) {
		char more[64];
		snprintf(more, sizeof(more), "[%zu more bytes]", len - n);
		append(t, "C:", more, strlen(more));
	}
}

void trace_client_bytes(struct trace *t, size_t n)
{
	if (t->state == TRACE_OFF)
		return;
	char text[64];
	snprintf(text, sizeof(text), "[%zu bytes]", n);
	append(t, "C:", text, strlen(text));
}

/* An IMAP line ending in a literal marker "{N}" (RFC 3501 4.3): N, else 0. */
static uint64_t literal_size(const char *line, size_t k)
{
	if (k < 3 || line[k - 1] != '}')
		return 0;
	size_t i = k - 1;
	uint64_t v = 0, scale = 1;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9' && scale <= 1000000000000ULL) {
		v += (uint64_t)(line[--i] - '0') * scale;
		scale *= 10;
	}
	return i > 0 && i < k - 1 && line[i - 1] == '{' ? v : 0;
}

void trace_server(struct trace *t, const void *data, size_t len)
{
	if (t->state == TRACE_OFF || len == 0)
		return;
	const char *p = data, *end = p + len;
	/* RFC 3501 7.5, RFC 5034 4, RFC 4954 4: a continuation keeps the
	 * SASL exchange going; any other reply ends it */
	if (t->skip_out == 0 && !t->server_body)
		t->sasl = t->sasl && ((len >= 2 && p[0] == '+' && (p[1] == ' ' || p[1] == '\r')) ||
				      (len >= 4 && memcmp(p, "334 ", 4) == 0) ||
				      (t->managesieve && (p[0] == '"' || p[0] == '{')));
	if (t->want_data) {
		t->client_data = len >= 3 && memcmp(p, "354", 3) == 0;
		t->want_data = false;
	}
	size_t shown = 0, hidden = 0;
	while (p < end) {
		if (t->skip_out > 0) {
			/* an IMAP literal's bytes, announced by its marker */
			size_t n = (uint64_t)(end - p) < t->skip_out ? (size_t)(end - p)
								    : (size_t)t->skip_out;
			t->skip_out -= n;
			hidden += n;
			p += n;
			continue;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		size_t k = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
		size_t step = n + (nl != NULL ? 1 : 0);
		if (t->server_body) {
			/* POP3 content until the lone "." (RFC 1939 3) */
			if (k == 1 && p[0] == '.') {
				t->server_body = false;
				char text[64];
				snprintf(text, sizeof(text), "[message: %llu bytes]",
					 (unsigned long long)t->server_body_bytes);
				append(t, "S:", text, strlen(text));
				append(t, "S:", ".", 1);
				t->server_body_bytes = 0;
			} else {
				t->server_body_bytes += step;
			}
			p += step;
			continue;
		}
		if (t->want_body) {
			t->want_body = false;
			t->server_body = k >= 3 && memcmp(p, "+OK", 3) == 0;
		}
		if (shown == 0 || shown + k <= TRACE_SERVER_CHUNK_MAX) {
			/* the first line always, cut at the maximum */
			size_t m = k < TRACE_SERVER_CHUNK_MAX ? k : TRACE_SERVER_CHUNK_MAX;
			char line[TRACE_SERVER_CHUNK_MAX + 1];
			memcpy(line, p, m);
			for (size_t i = 0; i < m; i++)
				if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
					line[i] = '?';
			append(t, "S:", line, m);
			shown += m;
			hidden += k - m;
		} else {
			hidden += step;
		}
		t->skip_out = literal_size(p, k);
		p += step;
	}
	if (hidden > 0) {
		char more[64];
		snprintf(more, sizeof(more), "[%zu bytes not shown]", hidden);
		append(t, "S:", more, strlen(more));
	}
}

void trace_free(struct trace **tp)
{
	struct trace *t = *tp;
	if (t == NULL)
		return;
	flush(t);
	if (t->fd >= 0)
		close(t->fd);
	if (t->flush_ev != NULL)
		event_free(t->flush_ev);
	buf_free(&t->pending);
	free(t->proto);
	free(t->session);
	free(t);
	*tp = NULL;
}

/* The account is traced: open its file and write what came before (or,
 * with `note`, say why nothing did). */
static void trace_begin(struct trace *t, struct conn *c, const char *user, const char *note)
{
	char *path = NULL;
	pthread_mutex_lock(&lock);
	if (trace_dir != NULL) {
		char when[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
		path = xasprintf("%s/%s-%s-%s.log", trace_dir, user, when, t->session);
	}
	pthread_mutex_unlock(&lock);
	t->fd = path != NULL ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
	if (t->fd < 0) {
		if (path != NULL)
			log_warn("trace: cannot open %s: %s", path, strerror(errno));
		free(path);
		t->state = TRACE_OFF;
		return;
	}
	free(path);
	char *prelogin = buf_steal(&t->pending);
	buf_init(&t->pending, 2 * TRACE_FLUSH_BYTES);
	t->state = TRACE_ON;
	buf_printf(&t->pending, "-- %s session %s from %s, user %s%s%s\n", t->proto, t->session,
		   conn_remote_ip(c), user, note != NULL ? ": " : "", note != NULL ? note : "");
	if (prelogin != NULL)
		buf_puts(&t->pending, prelogin);
	free(prelogin);
	t->flush_ev = evtimer_new(conn_base(c), flush_timer, t);
	flush(t);
}

void conn_login(struct conn *c, const char *user, const char *address, const char *method,
		const char *extra)
{
	const char *tls = conn_tls_description(c);
	size_t tls_len = tls != NULL ? strcspn(tls, " ") : 4;
	conn_log(c, LOG_INFO, "login user=%s method=%s tls=%.*s%s%s", user, method, (int)tls_len,
		 tls != NULL ? tls : "none", extra != NULL ? " " : "", extra != NULL ? extra : "");
	struct trace *t = conn_trace(c);
	if (t != NULL && t->state == TRACE_PRELOGIN) {
		if (address_ok(address) && trace_enabled(address)) {
			trace_begin(t, c, address, NULL);
		} else {
			t->state = TRACE_OFF;
			buf_free(&t->pending);
		}
	}
	/* a session that connected before the switch starts here; a switch
	 * moved later reaches it at its next command (conn.c) */
	conn_set_account(c, address_ok(address) ? address : NULL);
}

struct trace *trace_conn_update(struct conn *c, struct trace *t, const char *proto,
				const char *address)
{
	pthread_mutex_lock(&lock);
	bool daemon = trace_dir != NULL;
	pthread_mutex_unlock(&lock);
	bool on = daemon && trace_enabled(address);
	if (on && t != NULL && (t->state != TRACE_OFF || t->capped))
		return t; /* traced already (or full: trace.max_bytes holds) */
	if (on) {
		trace_free(&t);
		t = trace_alloc(proto, conn_id(c));
		trace_begin(t, c, address,
			    "trace began mid-session (switched on after the session "
			    "started; earlier lines not traced)");
		if (t->state != TRACE_ON)
			trace_free(&t); /* the file could not be opened */
		return t;
	}
	if (t != NULL && t->state == TRACE_ON) {
		append(t, "--", "trace switched off", strlen("trace switched off"));
		trace_free(&t);
	}
	return t;
}
