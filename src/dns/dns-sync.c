/* dns-sync: see dns-sync.h. */
#include "dns/dns-sync.h"
#include "dns/dns-packet.h"
#include "dns/dns-private.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>
#include <unistd.h>

static char *sync_resolver, *sync_anchor;
/* Each thread's context, deleted when the thread ends (a key, not
 * __thread, so its destructor runs). */
static pthread_key_t ub_key;
static pthread_once_t ub_key_once = PTHREAD_ONCE_INIT;

static void ub_destroy(void *p)
{
	ub_ctx_delete(p);
}

static void ub_key_make(void)
{
	pthread_key_create(&ub_key, ub_destroy);
}

void dns_answer_clear(struct dns_answer *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->recs[i].text);
	a->n = 0;
}

int dns_sync_configure(const char *resolver, const char *trust_anchor, char **error_r)
{
	/* Check the setting once here, so a worker never meets a bad one. */
	struct ub_ctx *ub = ub_ctx_create();
	if (ub == NULL) {
		*error_r = xstrdup("dns: cannot create the libunbound context");
		return -1;
	}
	int r = strcmp(resolver, "system") == 0 ? 0 : dns_set_forwarders(ub, resolver, error_r);
	ub_ctx_delete(ub);
	if (r < 0)
		return -1;
	free(sync_resolver);
	free(sync_anchor);
	sync_resolver = xstrdup(resolver);
	sync_anchor = xstrdup(trust_anchor);
	return 0;
}

static struct ub_ctx *thread_ctx(void)
{
	pthread_once(&ub_key_once, ub_key_make);
	struct ub_ctx *ub = pthread_getspecific(ub_key);
	if (ub != NULL || sync_resolver == NULL)
		return ub;
	ub = ub_ctx_create();
	if (ub == NULL)
		return NULL;
	/* a thread, not the forked process libunbound uses by default */
	ub_ctx_async(ub, 1);
	char *error = NULL;
	if (strcmp(sync_resolver, "system") == 0) {
		ub_ctx_resolvconf(ub, NULL);
		ub_ctx_hosts(ub, NULL);
	} else if (dns_set_forwarders(ub, sync_resolver, &error) < 0) {
		free(error);
		ub_ctx_delete(ub);
		return NULL;
	}
	if (*sync_anchor != '\0' && access(sync_anchor, R_OK) == 0)
		ub_ctx_add_ta_file(ub, sync_anchor);
	pthread_setspecific(ub_key, ub);
	return ub;
}

struct pending {
	bool done;
	struct ub_result *result;
	int err;
};

static void answered(void *ctx, int err, struct ub_result *result)
{
	struct pending *p = ctx;
	p->done = true;
	p->err = err;
	p->result = result;
}

static int64_t ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* RFC 1035 3.3.14: TXT RDATA is one or more <length><bytes> strings. */
static char *txt_join(const uint8_t *d, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t n = d[i++];
		if (n > len - i)
			n = len - i;
		if (o + n > DNS_SYNC_MAX_TXT)
			n = DNS_SYNC_MAX_TXT - o;
		memcpy(out + o, d + i, n);
		o += n;
		i += d[i - 1];
	}
	out[o] = '\0';
	return out;
}

static void fill(struct ub_result *res, int type, struct dns_answer *a)
{
	if (res->bogus) {
		a->status = DNS_ANSWER_TEMPFAIL;
		return;
	}
	if (res->nxdomain) {
		a->status = DNS_ANSWER_NXDOMAIN;
		return;
	}
	if (res->rcode != 0) {
		a->status = DNS_ANSWER_TEMPFAIL;
		return;
	}
	a->status = DNS_ANSWER_OK;
	if (type == DNS_TYPE_TXT_RR) {
		for (size_t i = 0; res->havedata && res->data[i] != NULL && a->n < DNS_SYNC_MAX_RECORDS; i++)
			a->recs[a->n++].text = txt_join((const uint8_t *)res->data[i], (size_t)res->len[i]);
		return;
	}
	struct dns_rr *rrs = xcalloc(DNS_MAX_ANSWERS, sizeof(*rrs));
	int n = res->answer_packet == NULL ? 0
		: dns_packet_answers(res->answer_packet, (size_t)res->answer_len, (uint16_t)type, rrs,
				     DNS_MAX_ANSWERS);
	if (n < 0)
		a->status = DNS_ANSWER_TEMPFAIL;
	for (int i = 0; i < n && a->n < DNS_SYNC_MAX_RECORDS; i++) {
		struct dns_record *r = &a->recs[a->n++];
		memcpy(r->addr, rrs[i].addr, sizeof(r->addr));
		r->pref = rrs[i].pref;
		if (type == DNS_TYPE_MX)
			r->text = xstrdup(rrs[i].name);
	}
	free(rrs);
}

static void sync_query(void *ctx, const char *name, int type, struct dns_answer *a)
{
	const struct timespec *deadline = ctx;
	a->n = 0;
	a->status = DNS_ANSWER_TEMPFAIL;
	struct ub_ctx *ub = thread_ctx();
	if (ub == NULL || ms_left(deadline) <= 0)
		return;
	struct pending p = {0};
	int id = 0;
	if (ub_resolve_async(ub, name, type, DNS_CLASS_IN, &p, answered, &id) != 0)
		return;
	while (!p.done) {
		int64_t left = ms_left(deadline);
		if (left <= 0) {
			ub_cancel(ub, id);
			return;
		}
		struct pollfd pfd = {.fd = ub_fd(ub), .events = POLLIN};
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) > 0)
			ub_process(ub);
	}
	if (p.err == 0 && p.result != NULL)
		fill(p.result, type, a);
	ub_resolve_free(p.result);
}

struct dns_resolver dns_sync_resolver(struct timespec *deadline)
{
	return (struct dns_resolver){sync_query, deadline};
}
