/*
 * route-metrics: /metrics in the Prometheus text exposition format
 * (version 0.0.4), for the addresses in http.metrics_allow (CIDR list)
 * or a request carrying "Authorization: Bearer <http.metrics_token>"
 * (RFC 6750 2.1); anyone else gets 403. The counters live in
 * lib/metrics; the values only known at scrape time come from the
 * collectors registered here (memory budget, indexer backlog, the
 * outbound queue's sizes: each a cheap read on the loop's connection).
 */
#include "http/http-private.h"
#include "lib/alloc.h"
#include "lib/membudget.h"
#include "lib/metrics.h"
#include "store/store.h"
#include "store/store-queue.h"
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>

/* Longest http.metrics_allow entry ("ffff:...:ffff/128"). */
#define METRICS_CIDR_MAX 64

/* Does ip fall in the network "addr/bits" (or a bare address)? */
static bool cidr_match(const char *cidr, const char *ip)
{
	char net[METRICS_CIDR_MAX];
	if (strlen(cidr) >= sizeof(net))
		return false;
	memcpy(net, cidr, strlen(cidr) + 1);
	char *slash = strchr(net, '/');
	long bits = -1;
	if (slash != NULL) {
		*slash = '\0';
		char *end;
		bits = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end != '\0' || bits < 0)
			return false;
	}
	unsigned char a[16], b[16];
	int family = strchr(net, ':') != NULL ? AF_INET6 : AF_INET;
	size_t len = family == AF_INET6 ? 16 : 4;
	if (inet_pton(family, net, a) != 1 || inet_pton(family, ip, b) != 1)
		return false;
	if (bits < 0)
		bits = (long)len * 8;
	else if (bits > (long)len * 8)
		return false;
	size_t whole = (size_t)bits / 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	unsigned rest = (unsigned)bits % 8;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return rest == 0 || (a[whole] & mask) == (b[whole] & mask);
}

static bool allowed_by_address(const char *list, const char *ip)
{
	char *copy = xstrdup(list), *save = NULL;
	bool ok = false;
	for (char *tok = strtok_r(copy, ", \t", &save); tok != NULL && !ok;
	     tok = strtok_r(NULL, ", \t", &save))
		ok = cidr_match(tok, ip);
	free(copy);
	return ok;
}

static bool allowed_by_token(struct http_req *r, const char *token)
{
	if (*token == '\0')
		return false;
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->ev),
					   "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	size_t n = strlen(token);
	/* constant time: the comparison must not tell how much matched */
	return strlen(h) == n && CRYPTO_memcmp(h, token, n) == 0;
}

void http_route_metrics(struct http_req *r)
{
	/* An IPv4 client on an IPv6 socket arrives as ::ffff:a.b.c.d. */
	const char *ip = strncmp(r->ip, "::ffff:", 7) == 0 && strchr(r->ip + 7, ':') == NULL ?
				 r->ip + 7 : r->ip;
	if (!allowed_by_address(config_str(r->cfg, "http.metrics_allow"), ip) &&
	    !allowed_by_token(r, config_str(r->cfg, "http.metrics_token"))) {
		http_reply_error(r, 403, "metrics are not open to this client");
		return;
	}
	struct buf b;
	buf_init(&b, HTTP_REPLY_MAX);
	if (metrics_format(&b) < 0) {
		http_reply_error(r, 500, "metrics text too large");
	} else {
		http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
	}
	buf_free(&b);
}

/* --- scrape-time gauges --------------------------------------------- */

static void collect_budget(struct buf *b, void *arg)
{
	metrics_write_gauge(b, "roost_memory_budget_used_bytes",
			    "Bytes of the memory budget (server.memory_budget) held by transfers now.",
			    (double)membudget_used());
	size_t limit = membudget_limit();
	metrics_write_gauge(b, "roost_memory_budget_limit_bytes",
			    "The memory budget (server.memory_budget); +Inf when unlimited.",
			    limit == SIZE_MAX ? 1.0 / 0.0 : (double)limit);
}

static void collect_indexer(struct buf *b, void *arg)
{
	struct store *s = arg;
	int64_t n = 0;
	/* a failed read is left out rather than reported as 0 */
	if (store_fts_backlog(s, &n) == STORE_OK)
		metrics_write_gauge(b, "roost_indexer_backlog",
				    "Message contents stored but not yet in the full-text index.",
				    (double)n);
}

static void collect_queue(struct buf *b, void *arg)
{
	struct store *s = arg;
	int64_t messages = 0, pending = 0;
	if (store_queue_count(s, &messages, &pending) != STORE_OK)
		return; /* left out, never a false 0 */
	metrics_write_gauge(b, "roost_queue_messages",
			    "Messages in the outbound queue (held ones included).",
			    (double)messages);
	metrics_write_gauge(b, "roost_queue_recipients_pending",
			    "Remote recipients still to be delivered from the outbound queue.",
			    (double)pending);
}

void http_metrics_collectors(struct store *store)
{
	metrics_add_collector(collect_budget, NULL);
	metrics_add_collector(collect_indexer, store);
	metrics_add_collector(collect_queue, store);
}
