/*
 * metrics: the daemon's counters, gauges and histograms, rendered in the
 * Prometheus text exposition format (version 0.0.4) by the http module's
 * /metrics route.
 *
 * Every family is declared once, by name, in the table in metrics.c
 * (type, HELP text, label names, histogram buckets). Code that counts
 * names the family and up to two label values; each distinct label set
 * is a series, created at first use (at most METRICS_MAX_SERIES per
 * family, so a bug can never grow memory without bound). Label values
 * must come from the program (a protocol, a command name from a command
 * table), never from client input. Values are atomics: any thread may
 * count. An undeclared family name is logged once and ignored.
 *
 * Values known only at scrape time (memory budget, indexer backlog,
 * queue sizes) come from collectors: metrics_add_collector() registers a
 * function that appends its families with metrics_write_gauge().
 */
#ifndef ROOST_LIB_METRICS_H
#define ROOST_LIB_METRICS_H
#include <stdint.h>
#include "lib/buf.h"

/* Series per family; label sets past it are dropped (and logged once). */
#define METRICS_MAX_SERIES 512

/* Counter (or gauge) family += n, for the series (l1, l2); unused
 * labels are NULL. */
void metrics_add(const char *family, const char *l1, const char *l2, int64_t n);
#define metrics_inc(family, l1, l2) metrics_add((family), (l1), (l2), 1)
/* Histogram family: one observation (seconds for durations). */
void metrics_observe(const char *family, const char *l1, const char *l2, double value);

/* A monotonic clock in microseconds, and a duration observation since a
 * value it returned. */
int64_t metrics_now_us(void);
void metrics_observe_since(const char *family, const char *l1, const char *l2,
			   int64_t start_us);

/* The connection layer's counters: open connections (gauge) and
 * connections accepted (counter), per protocol. */
void metrics_conn_opened(const char *proto);
void metrics_conn_closed(const char *proto);

/* Scrape-time values. The function runs on the thread serving /metrics
 * and appends whole families to b (metrics_write_gauge). Register before
 * the loop runs; there is no removal (collectors live as long as the
 * daemon). */
typedef void metrics_collect_fn(struct buf *b, void *arg);
void metrics_add_collector(metrics_collect_fn *fn, void *arg);
/* One gauge family with a single unlabelled sample. */
void metrics_write_gauge(struct buf *b, const char *name, const char *help, double value);

/* Every family, then every collector, in the text format. -1 when b's
 * maximum was too small (b then holds a truncated text). */
int metrics_format(struct buf *b);

/* Forget every value (unit tests). */
void metrics_reset(void);
#endif
