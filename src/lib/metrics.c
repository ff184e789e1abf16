/*
 * metrics: the family table, the series (atomic values) and the text
 * exposition format (Prometheus 0.0.4: "# HELP", "# TYPE", one sample a
 * line, histogram buckets cumulative with a final le="+Inf", then _sum
 * and _count).
 */
#include "lib/metrics.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

/* Durations: half a millisecond to ten seconds. */
static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					 0.1,	 0.25,	0.5,	1,     2.5,  5,	    10};
/* Ops per group commit (store-writer's STORE_BATCH_MAX is far above). */
static const double batch_buckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
#define METRICS_BUCKETS_MAX 16

struct metrics_family {
	const char *name;
	enum metrics_type type;
	const char *labels; /* "proto", "proto,result" or NULL */
	const double *buckets;
	size_t nbuckets;
	const char *help;
};

#define LAT latency_buckets, sizeof(latency_buckets) / sizeof(latency_buckets[0])
#define BATCH batch_buckets, sizeof(batch_buckets) / sizeof(batch_buckets[0])

static const struct metrics_family families[] = {
	{"roost_connections", METRICS_GAUGE, "proto", NULL, 0,
	 "Client connections open now, per protocol."},
	{"roost_connections_total", METRICS_COUNTER, "proto", NULL, 0,
	 "Client connections accepted since start, per protocol."},
	{"roost_commands_total", METRICS_COUNTER, "proto,command", NULL, 0,
	 "POP3, SMTP and LMTP commands run, per command name (IMAP: the _count of roost_command_duration_seconds)."},
	{"roost_command_duration_seconds", METRICS_HISTOGRAM, "proto,command", LAT,
	 "Time from a command's arrival to its reply, per protocol and command name (_count: the commands)."},
	{"roost_logins_total", METRICS_COUNTER, "proto,result", NULL, 0,
	 "Password checks, per protocol; result ok, failed or tempfail."},
	{"roost_auth_cache_total", METRICS_COUNTER, "result", NULL, 0,
	 "PLAIN/LOGIN password logins looked up in the auth cache; result hit (no password hash computed) or miss."},
	{"roost_deliveries_total", METRICS_COUNTER, "proto,result", NULL, 0,
	 "Recipients of incoming messages, per protocol; result accepted or refused."},
	{"roost_mx_auth_total", METRICS_COUNTER, "method,result", NULL, 0,
	 "Inbound SPF, DKIM (first signature) and DMARC results of messages checked on the MX (smtp.authenticate)."},
	{"roost_store_commit_seconds", METRICS_HISTOGRAM, NULL, LAT,
	 "Duration of one group commit of the store writer (the batch and its WAL sync)."},
	{"roost_store_batch_ops", METRICS_HISTOGRAM, NULL, BATCH,
	 "Write ops per group commit."},
	{"roost_indexer_contents_total", METRICS_COUNTER, NULL, NULL, 0,
	 "Message contents added to the full-text index."},
	{"roost_http_requests_total", METRICS_COUNTER, "route,code", NULL, 0,
	 "HTTP requests answered, per route and status code."},
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

struct metrics_series {
	struct metrics_series *next;
	char *l1, *l2;
	_Atomic int64_t value;				/* counter, gauge */
	_Atomic uint64_t buckets[METRICS_BUCKETS_MAX + 1]; /* histogram, last = +Inf */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_micro; /* sum in millionths: atomics hold no doubles */
};

struct metrics_state {
	struct metrics_series *series;
	size_t nseries;
	bool warned_full;
};

struct metrics_collector {
	metrics_collect_fn *fn;
	void *arg;
};
#define METRICS_MAX_COLLECTORS 16

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_state state[NFAMILIES];
static struct metrics_collector collectors[METRICS_MAX_COLLECTORS];
static size_t ncollectors;

static ssize_t family_index(const char *name)
{
	for (size_t i = 0; i < NFAMILIES; i++)
		if (strcmp(families[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static bool same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The series for (l1, l2) of family `name`, created at first use; NULL
 * for an undeclared family or a full one. */
static struct metrics_series *series_get(const char *name, enum metrics_type type,
					 const char *l1, const char *l2)
{
	ssize_t fi = family_index(name);
	if (fi < 0 || (families[fi].type == METRICS_HISTOGRAM) != (type == METRICS_HISTOGRAM)) {
		static _Atomic bool warned;
		if (!atomic_exchange(&warned, true))
			log_warn("metrics: %s is not a declared %s family", name,
				 type == METRICS_HISTOGRAM ? "histogram" : "counter or gauge");
		return NULL;
	}
	struct metrics_state *st = &state[fi];
	pthread_mutex_lock(&metrics_lock);
	struct metrics_series *s = st->series;
	while (s != NULL && !(same(s->l1, l1) && same(s->l2, l2)))
		s = s->next;
	if (s == NULL && st->nseries < METRICS_MAX_SERIES) {
		s = xcalloc(1, sizeof(*s));
		s->l1 = l1 != NULL ? xstrdup(l1) : NULL;
		s->l2 = l2 != NULL ? xstrdup(l2) : NULL;
		/* Appended, so the text keeps first-use order. */
		struct metrics_series **pp = &st->series;
		while (*pp != NULL)
			pp = &(*pp)->next;
		*pp = s;
		st->nseries++;
	} else if (s == NULL && !st->warned_full) {
		st->warned_full = true;
		log_warn("metrics: %s has %d series, dropping new label sets", name,
			 METRICS_MAX_SERIES);
	}
	pthread_mutex_unlock(&metrics_lock);
	return s;
}

void metrics_add(const char *family, const char *l1, const char *l2, int64_t n)
{
	struct metrics_series *s = series_get(family, METRICS_COUNTER, l1, l2);
	if (s != NULL)
		atomic_fetch_add(&s->value, n);
}

void metrics_observe(const char *family, const char *l1, const char *l2, double value)
{
	struct metrics_series *s = series_get(family, METRICS_HISTOGRAM, l1, l2);
	if (s == NULL)
		return;
	const struct metrics_family *f = &families[family_index(family)];
	size_t i = 0;
	while (i < f->nbuckets && value > f->buckets[i])
		i++;
	atomic_fetch_add(&s->buckets[i], 1);
	atomic_fetch_add(&s->count, 1);
	if (value > 0)
		atomic_fetch_add(&s->sum_micro, (uint64_t)(value * 1e6 + 0.5));
}

int64_t metrics_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void metrics_observe_since(const char *family, const char *l1, const char *l2,
			   int64_t start_us)
{
	metrics_observe(family, l1, l2, (double)(metrics_now_us() - start_us) / 1e6);
}

void metrics_conn_opened(const char *proto)
{
	metrics_add("roost_connections", proto, NULL, 1);
	metrics_add("roost_connections_total", proto, NULL, 1);
}

void metrics_conn_closed(const char *proto)
{
	metrics_add("roost_connections", proto, NULL, -1);
}

void metrics_add_collector(metrics_collect_fn *fn, void *arg)
{
	pthread_mutex_lock(&metrics_lock);
	if (ncollectors < METRICS_MAX_COLLECTORS)
		collectors[ncollectors++] = (struct metrics_collector){fn, arg};
	else
		log_warn("metrics: more than %d collectors", METRICS_MAX_COLLECTORS);
	pthread_mutex_unlock(&metrics_lock);
}

/* Label values come from the program, but escape anyway (text format:
 * backslash, double quote and newline). */
static void put_label_value(struct buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			buf_putc(b, '\\');
		if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *v);
	}
}

/* `{a="x",b="y"` plus `extra` (an already formatted le="..."), closed;
 * nothing at all for a sample without labels. */
static void put_labels(struct buf *b, const char *names, const struct metrics_series *s,
		       const char *extra)
{
	const char *vals[2] = {s->l1, s->l2};
	bool any = false;
	const char *p = names;
	for (int i = 0; i < 2 && p != NULL && *p != '\0'; i++) {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		buf_putc(b, any ? ',' : '{');
		buf_append(b, p, n);
		buf_puts(b, "=\"");
		put_label_value(b, vals[i] != NULL ? vals[i] : "");
		buf_putc(b, '"');
		any = true;
		p = comma != NULL ? comma + 1 : NULL;
	}
	if (extra != NULL) {
		buf_putc(b, any ? ',' : '{');
		buf_puts(b, extra);
		any = true;
	}
	if (any)
		buf_putc(b, '}');
}

static void put_header(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void format_family(struct buf *b, size_t fi)
{
	const struct metrics_family *f = &families[fi];
	static const char *const type_names[] = {"counter", "gauge", "histogram"};
	put_header(b, f->name, type_names[f->type], f->help);
	for (struct metrics_series *s = state[fi].series; s != NULL; s = s->next) {
		if (f->type != METRICS_HISTOGRAM) {
			buf_puts(b, f->name);
			put_labels(b, f->labels, s, NULL);
			buf_printf(b, " %lld\n", (long long)atomic_load(&s->value));
			continue;
		}
		/* Read once: count is the +Inf bucket, so the three agree. */
		uint64_t cum = 0;
		for (size_t i = 0; i <= f->nbuckets; i++) {
			cum += atomic_load(&s->buckets[i]);
			char le[48];
			if (i < f->nbuckets)
				snprintf(le, sizeof(le), "le=\"%g\"", f->buckets[i]);
			else
				snprintf(le, sizeof(le), "le=\"+Inf\"");
			buf_printf(b, "%s_bucket", f->name);
			put_labels(b, f->labels, s, le);
			buf_printf(b, " %llu\n", (unsigned long long)cum);
		}
		buf_printf(b, "%s_sum", f->name);
		put_labels(b, f->labels, s, NULL);
		buf_printf(b, " %.6f\n", (double)atomic_load(&s->sum_micro) / 1e6);
		buf_printf(b, "%s_count", f->name);
		put_labels(b, f->labels, s, NULL);
		buf_printf(b, " %llu\n", (unsigned long long)cum);
	}
}

void metrics_write_gauge(struct buf *b, const char *name, const char *help, double value)
{
	put_header(b, name, "gauge", help);
	if (isinf(value))
		buf_printf(b, "%s %sInf\n", name, value > 0 ? "+" : "-");
	else
		buf_printf(b, "%s %.17g\n", name, value);
}

int metrics_format(struct buf *b)
{
	pthread_mutex_lock(&metrics_lock); /* series lists only grow, but walk them locked */
	for (size_t i = 0; i < NFAMILIES; i++)
		format_family(b, i);
	size_t n = ncollectors;
	pthread_mutex_unlock(&metrics_lock);
	for (size_t i = 0; i < n; i++)
		collectors[i].fn(b, collectors[i].arg);
	/* buf drops what does not fit: a full buffer means truncated text. */
	return b->len + 1 >= b->max ? -1 : 0;
}

void metrics_reset(void)
{
	pthread_mutex_lock(&metrics_lock);
	for (size_t i = 0; i < NFAMILIES; i++) {
		struct metrics_series *s = state[i].series;
		while (s != NULL) {
			struct metrics_series *next = s->next;
			free(s->l1);
			free(s->l2);
			free(s);
			s = next;
		}
		state[i] = (struct metrics_state){0};
	}
	ncollectors = 0;
	pthread_mutex_unlock(&metrics_lock);
}
