/*
 * mta-sts-cache: the policies of the destinations we send to (RFC 8461
 * 5.1), on the event loop, and the lookups that refresh them on a net
 * worker: each lookup queries the _mta-sts TXT record; when its id
 * differs from the cached policy's, or the cached one has expired, the
 * policy is fetched again. A failed lookup or fetch keeps an unexpired
 * cached policy (5.1: a downgrade attempt must not remove it); without
 * one the domain has no policy.
 *
 * At most MTA_STS_CACHE_MAX policies are kept (the one expiring first
 * makes room); the cache is written to a small file in the data
 * directory (temp file + rename, on the worker) and read at start, so a
 * restart does not forget the policies an attacker could then strip.
 * File format, one policy per line:
 *   domain TAB id TAB mode TAB max_age TAB expires TAB mx[,mx...]
 */
#include "outbound/mta-sts.h"
#include "dns/dns-sync.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/workers.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* A line of the cache file read at most. */
#define CACHE_LINE_MAX (MTA_STS_MAX_MX * (MTA_STS_MX_MAX + 1) + 512)

struct entry {
	struct entry *next;
	char *domain;
	struct mta_sts_policy p;
};

static struct {
	bool running;
	struct mta_sts_settings set;
	char *ca_file, *cache_file;
	SSL_CTX *ctx;
	struct entry *entries;
	size_t n;
	int pending;		/* lookups on workers */
	uint64_t generation;	/* of the cache contents, for the file */
} sts;

static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t file_generation;	/* written last; under file_lock */

enum result { R_CACHE, R_NEW };

struct lookup {
	char *domain;
	mta_sts_cb *cb;
	void *ctx;
	/* in: the cached policy's id, when unexpired */
	char cached_id[MTA_STS_ID_MAX + 1];
	bool have_cached;
	/* settings copied for the worker */
	SSL_CTX *tls;
	int port;
	int64_t timeout_ms;
	/* out */
	enum result result;
	struct mta_sts_policy p;
	char *error;
	/* a cache snapshot to write */
	char *file_text;
	uint64_t file_gen;
	char *file_path;
};

static struct entry *find(const char *domain)
{
	for (struct entry *e = sts.entries; e != NULL; e = e->next)
		if (strcasecmp(e->domain, domain) == 0)
			return e;
	return NULL;
}

static void entry_free(struct entry *e)
{
	mta_sts_policy_clear(&e->p);
	free(e->domain);
	free(e);
}

static void cache_put(const char *domain, const struct mta_sts_policy *p)
{
	struct entry *e = find(domain);
	if (e == NULL) {
		if (sts.n >= MTA_STS_CACHE_MAX) {
			/* room: the policy expiring first goes */
			struct entry **victim = &sts.entries;
			for (struct entry **q = &sts.entries; *q != NULL; q = &(*q)->next)
				if ((*q)->p.expires < (*victim)->p.expires)
					victim = q;
			struct entry *v = *victim;
			*victim = v->next;
			entry_free(v);
			sts.n--;
		}
		e = xcalloc(1, sizeof(*e));
		e->domain = xstrdup(domain);
		e->next = sts.entries;
		sts.entries = e;
		sts.n++;
	} else {
		mta_sts_policy_clear(&e->p);
	}
	struct mta_sts_policy *c = mta_sts_policy_dup(p);
	e->p = *c;
	free(c);
	sts.generation++;
}

static char *cache_text(void)
{
	struct buf b;
	buf_init(&b, (size_t)MTA_STS_CACHE_MAX * CACHE_LINE_MAX);
	int64_t now = time(NULL);
	for (struct entry *e = sts.entries; e != NULL; e = e->next) {
		if (e->p.expires <= now)
			continue;
		buf_printf(&b, "%s\t%s\t%s\t%lld\t%lld\t", e->domain, e->p.id,
			   mta_sts_mode_name(e->p.mode), (long long)e->p.max_age,
			   (long long)e->p.expires);
		for (size_t i = 0; i < e->p.nmx; i++)
			buf_printf(&b, "%s%s", i > 0 ? "," : "", e->p.mx[i]);
		buf_putc(&b, '\n');
	}
	char *s = xstrdup(b.data != NULL ? b.data : "");
	buf_free(&b);
	return s;
}

/* On a worker: the newest snapshot wins, an older one is not written. */
static void write_file(const char *path, const char *text, uint64_t gen)
{
	pthread_mutex_lock(&file_lock);
	if (gen > file_generation) {
		char *tmp = xasprintf("%s.tmp", path);
		FILE *f = fopen(tmp, "w");
		bool ok = f != NULL && fputs(text, f) >= 0;
		if (f != NULL && fclose(f) != 0)
			ok = false;
		if (ok && rename(tmp, path) == 0)
			file_generation = gen;
		else {
			log_warn("mta-sts: writing %s: %s", path, strerror(errno));
			unlink(tmp);
		}
		free(tmp);
	}
	pthread_mutex_unlock(&file_lock);
}

static void load_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	char *line = xmalloc(CACHE_LINE_MAX);
	int64_t now = time(NULL);
	while (fgets(line, CACHE_LINE_MAX, f) != NULL && sts.n < MTA_STS_CACHE_MAX) {
		line[strcspn(line, "\n")] = '\0';
		char *fields[6];
		char *save = NULL, *p = line;
		size_t nf = 0;
		for (char *t; nf < 6 && (t = strsep(&p, "\t")) != NULL;)
			fields[nf++] = t;
		(void)save;
		if (nf != 6)
			continue;
		struct mta_sts_policy pol = {0};
		if (strlen(fields[1]) > MTA_STS_ID_MAX)
			continue;
		snprintf(pol.id, sizeof(pol.id), "%s", fields[1]);
		pol.mode = strcmp(fields[2], "enforce") == 0 ? MTA_STS_ENFORCE :
			   strcmp(fields[2], "testing") == 0 ? MTA_STS_TESTING : MTA_STS_NONE;
		pol.max_age = strtoll(fields[3], NULL, 10);
		pol.expires = strtoll(fields[4], NULL, 10);
		if (pol.expires <= now || pol.expires > now + MTA_STS_MAX_AGE_MAX)
			continue;
		for (char *mx, *q = fields[5]; (mx = strsep(&q, ",")) != NULL && pol.nmx < MTA_STS_MAX_MX;)
			if (*mx != '\0' && strlen(mx) <= MTA_STS_MX_MAX)
				pol.mx[pol.nmx++] = xstrdup(mx);
		if (pol.mode != MTA_STS_NONE && pol.nmx == 0) {
			mta_sts_policy_clear(&pol);
			continue;
		}
		cache_put(fields[0], &pol);
		mta_sts_policy_clear(&pol);
	}
	free(line);
	fclose(f);
	if (sts.n > 0)
		log_info("mta-sts: %zu cached policies read from %s", sts.n, path);
}

/* ---- lookups ---- */

static void lookup_work(void *arg)
{
	struct lookup *l = arg;
	if (l->file_text != NULL) {
		/* a write-only job */
		write_file(l->file_path, l->file_text, l->file_gen);
		return;
	}
	l->result = R_CACHE;
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += l->timeout_ms / 1000;
	deadline.tv_nsec += (l->timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	struct dns_resolver res = dns_sync_resolver(&deadline);
	char *name = xasprintf("_mta-sts.%s", l->domain);
	struct dns_answer *a = xcalloc(1, sizeof(*a));
	res.query(res.ctx, name, DNS_TYPE_TXT_RR, a);
	free(name);
	/* RFC 8461 3.1: records not starting "v=STSv1" are discarded; not
	 * exactly one left = no (new) policy */
	size_t nsts = 0;
	const char *rec = NULL;
	for (size_t i = 0; a->status == DNS_ANSWER_OK && i < a->n; i++)
		if (strncmp(a->recs[i].text, "v=STSv1", 7) == 0) {
			nsts++;
			rec = a->recs[i].text;
		}
	char id[MTA_STS_ID_MAX + 1];
	if (a->status == DNS_ANSWER_TEMPFAIL) {
		l->error = xstrdup("TXT lookup failed");
	} else if (nsts != 1 || mta_sts_parse_txt(rec, id) < 0) {
		if (nsts > 0)
			l->error = xstrdup(nsts > 1 ? "more than one STSv1 TXT record"
						    : "malformed TXT record");
	} else if (l->have_cached && strcmp(id, l->cached_id) == 0) {
		/* unchanged: the cached policy stands */
	} else {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t left = (int64_t)(deadline.tv_sec - now.tv_sec) * 1000 +
			       (deadline.tv_nsec - now.tv_nsec) / 1000000;
		char *body = NULL, *err = NULL;
		size_t len = 0;
		const char *perr = NULL;
		if (left <= 0) {
			l->error = xstrdup("timed out");
		} else if (mta_sts_fetch(l->tls, &res, l->domain, l->port, left, &body, &len, &err) < 0) {
			l->error = err;
		} else if (mta_sts_parse_policy(body, len, &l->p, &perr) < 0) {
			l->error = xasprintf("invalid policy: %s", perr);
		} else {
			snprintf(l->p.id, sizeof(l->p.id), "%s", id);
			l->p.expires = (int64_t)time(NULL) + l->p.max_age;
			l->result = R_NEW;
		}
		free(body);
	}
	dns_answer_clear(a);
	free(a);
}

static void lookup_free(struct lookup *l)
{
	mta_sts_policy_clear(&l->p);
	free(l->error);
	free(l->domain);
	free(l->file_text);
	free(l->file_path);
	free(l);
}

static void stop_if_idle(void);

static void lookup_done(void *arg)
{
	struct lookup *l = arg;
	sts.pending--;
	if (l->file_text != NULL || !sts.running) {
		lookup_free(l);
		stop_if_idle();
		return;
	}
	struct entry *e = find(l->domain);
	int64_t now = time(NULL);
	if (l->result == R_NEW) {
		char mx[512] = "";
		for (size_t i = 0, o = 0; i < l->p.nmx && o < sizeof(mx) - 1; i++)
			o += (size_t)snprintf(mx + o, sizeof(mx) - o, "%s%s", i > 0 ? "," : "",
					      l->p.mx[i]);
		log_info("mta-sts: %s: policy id=%s mode=%s max_age=%lld mx=%s", l->domain, l->p.id,
			 mta_sts_mode_name(l->p.mode), (long long)l->p.max_age, mx);
		cache_put(l->domain, &l->p);
		e = find(l->domain);
		if (*sts.cache_file != '\0') {
			struct lookup *w = xcalloc(1, sizeof(*w));
			w->file_text = cache_text();
			w->file_gen = sts.generation;
			w->file_path = xstrdup(sts.cache_file);
			sts.pending++;
			workers_submit_net(lookup_work, lookup_done, w);
		}
	}
	bool cached = e != NULL && e->p.expires > now;
	if (l->error != NULL)
		log_warn("mta-sts: %s: %s; %s", l->domain, l->error,
			 cached ? "the cached policy stays in force" : "no policy applies");
	struct mta_sts_policy *p = cached ? mta_sts_policy_dup(&e->p) : NULL;
	l->cb(l->ctx, p);
	lookup_free(l);
}

void mta_sts_lookup(const char *domain, mta_sts_cb *cb, void *ctx)
{
	struct lookup *l = xcalloc(1, sizeof(*l));
	l->domain = xstrdup(domain);
	l->cb = cb;
	l->ctx = ctx;
	struct entry *e = find(domain);
	if (e != NULL && e->p.expires > time(NULL)) {
		l->have_cached = true;
		memcpy(l->cached_id, e->p.id, sizeof(l->cached_id));
	}
	l->tls = sts.ctx;
	l->port = sts.set.port;
	l->timeout_ms = sts.set.timeout_ms;
	sts.pending++;
	workers_submit_net(lookup_work, lookup_done, l);
}

int mta_sts_start(const struct mta_sts_settings *set, char **error_r)
{
	memset(&sts, 0, sizeof(sts));
	sts.set = *set;
	sts.ca_file = xstrdup(set->ca_file);
	sts.cache_file = xstrdup(set->cache_file);
	sts.set.ca_file = sts.ca_file;
	sts.set.cache_file = sts.cache_file;
	sts.ctx = SSL_CTX_new(TLS_client_method());
	if (sts.ctx == NULL) {
		*error_r = xstrdup("mta-sts: cannot create a TLS context");
		return -1;
	}
	SSL_CTX_set_min_proto_version(sts.ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(sts.ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_default_verify_paths(sts.ctx);
	if (*sts.ca_file != '\0' && SSL_CTX_load_verify_locations(sts.ctx, sts.ca_file, NULL) != 1) {
		*error_r = xasprintf("outbound.tls_ca_file: %s: cannot load", sts.ca_file);
		SSL_CTX_free(sts.ctx);
		sts.ctx = NULL;
		return -1;
	}
	SSL_CTX_set_verify(sts.ctx, SSL_VERIFY_PEER, NULL);
	if (*sts.cache_file != '\0')
		load_file(sts.cache_file);
	file_generation = 0;
	sts.running = true;
	return 0;
}

static void stop_if_idle(void)
{
	if (sts.running || sts.pending > 0 || sts.ctx == NULL)
		return;
	SSL_CTX_free(sts.ctx);
	sts.ctx = NULL;
	for (struct entry *e = sts.entries, *next; e != NULL; e = next) {
		next = e->next;
		entry_free(e);
	}
	sts.entries = NULL;
	sts.n = 0;
	free(sts.ca_file);
	free(sts.cache_file);
	sts.ca_file = sts.cache_file = NULL;
}

void mta_sts_stop(void)
{
	/* lookups still on workers finish first (their SSL_CTX) */
	sts.running = false;
	stop_if_idle();
}
