/*
 * scheduler: the outbound queue's driver (see outbound.h). Due recipients
 * are read from the store in batches, grouped into jobs (one message, one
 * destination domain), queued on their destination, whose route is
 * resolved once for all its jobs; sessions (smtp-client.c) take jobs
 * within outbound.max_per_domain and outbound.max_connections. Every
 * finished job goes back to the store in one op with the DSN it causes;
 * a temporary failure is retried after queue.retry_min doubled per
 * attempt (at most queue.retry_max) until queue.max_lifetime.
 *
 * Memory is bounded by OB_MAX_JOBS jobs (message bytes are read only when
 * a session sends them); the rest of a large queue waits in the store.
 */
#include "outbound/outbound.h"
#include "outbound/outbound-private.h"
#include "outbound/dsn.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "lib/log.h"
#include "store/delivery.h"
#include "store/delivery-sieve.h"
#include "lib/workers.h"
#include "dns/dns-sync.h"
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Messages read per scan; jobs held in memory at most. */
#define OB_SCAN_BATCH 200
#define OB_MAX_JOBS 2000
/* Longest wait between scans (a safety net; changes wake us at once). */
#define OB_SCAN_MAX_S 60
/* A node that does not send the queue tries to become the sender this
 * often (the sender node may have died). */
#define OB_SENDER_RETRY_S 5

struct inflight {
	int64_t id;
	int jobs;
};

static struct outbound {
	struct store *store;
	struct event_base *base;
	struct dns *dns;
	SSL_CTX *tls;
	struct ob_settings set;
	int64_t max_lifetime, retry_min, retry_max, delay_warning; /* seconds */
	struct ob_dest *dests;
	int nsess;
	size_t njobs;
	struct inflight *inflight;
	size_t ninflight, inflight_cap;
	struct event *timer, *wake;
	int64_t cursor;		/* the last queue id of a full scan batch */
	bool running;
	bool mta_sts;
	bool sender;		/* holds the outbound node lock */
	bool taking;		/* a worker is asking for it */
} ob;

static void kick_all(void);

static void wake_soon(void)
{
	if (ob.wake != NULL)
		event_active(ob.wake, 0, 0);
}

/* The store's hook: any thread. */
static void queue_notify(void *ctx)
{
	wake_soon();
}

static struct inflight *inflight_find(int64_t id)
{
	for (size_t i = 0; i < ob.ninflight; i++)
		if (ob.inflight[i].id == id)
			return &ob.inflight[i];
	return NULL;
}

static void inflight_add(int64_t id)
{
	struct inflight *f = inflight_find(id);
	if (f == NULL) {
		ob.inflight = xgrow(ob.inflight, &ob.inflight_cap, ob.ninflight + 1,
				    sizeof(*ob.inflight));
		f = &ob.inflight[ob.ninflight++];
		f->id = id;
		f->jobs = 0;
	}
	f->jobs++;
}

static void inflight_release(int64_t id)
{
	struct inflight *f = inflight_find(id);
	if (f != NULL && --f->jobs == 0)
		*f = ob.inflight[--ob.ninflight];
}

static void job_free(struct ob_job *job)
{
	for (size_t i = 0; i < job->nrcpts; i++) {
		free(job->rcpts[i].address);
		free(job->rcpts[i].orcpt);
		free(job->rcpts[i].reply);
	}
	free(job->rcpts);
	free(job->return_path);
	free(job->envid);
	free(job->mx_host);
	free(job);
}

void ob_job_fail_rest(struct ob_job *job, bool permanent, const char *status, const char *reply)
{
	for (size_t i = 0; i < job->nrcpts; i++) {
		struct ob_rcpt *r = &job->rcpts[i];
		if (r->tried)
			continue;
		r->tried = true;
		r->status = permanent ? STORE_QUEUE_FAILED : STORE_QUEUE_PENDING;
		free(r->reply);
		r->reply = xstrdup(reply != NULL ? reply : "failed");
		r->remote = status == NULL; /* a reply of the remote MX carries its own status */
		if (status != NULL)
			snprintf(r->status_code, sizeof(r->status_code), "%s", status);
		else
			dsn_status_of_reply(reply, r->status_code, sizeof(r->status_code));
		/* the class follows the outcome (a 5xx without a code is 5.0.0) */
		r->status_code[0] = permanent ? '5' : '4';
	}
}

static int64_t backoff(int attempts)
{
	int64_t d = ob.retry_min;
	for (int i = 0; i < attempts && d < ob.retry_max; i++)
		d *= 2;
	return d < ob.retry_max ? d : ob.retry_max;
}

static void update_done(void *ctx, enum store_err err, int64_t dsn_id)
{
	struct ob_job *job = ctx;
	if (!ob.running) {
		/* completed by store_close() after outbound_stop() */
		job_free(job);
		return;
	}
	if (err != STORE_OK)
		log_error("outbound: queue %lld: recording the results failed: %s",
			  (long long)job->queue_id, store_strerror(err));
	inflight_release(job->queue_id);
	ob.njobs--;
	if (job->recorded != NULL)
		job->recorded(job->recorded_arg);
	job_free(job);
	wake_soon();
}

/* The DSN for this job's results, or NULL: RFC 3461 4.1 NOTIFY decides
 * which recipients are reported; never for the null sender. */
static char *build_dsn(struct ob_job *job, int64_t now, bool *delay_r, size_t *len_r)
{
	*delay_r = false;
	if (job->return_path[0] == '\0')
		return NULL;
	struct dsn_rcpt *dr = xcalloc(job->nrcpts, sizeof(*dr));
	size_t n = 0;
	bool late = ob.delay_warning > 0 && !job->delay_notified &&
		    now - job->created >= ob.delay_warning;
	for (size_t i = 0; i < job->nrcpts; i++) {
		struct ob_rcpt *r = &job->rcpts[i];
		unsigned nt = r->notify;
		if (nt & STORE_QUEUE_NOTIFY_NEVER)
			continue;
		enum dsn_action a;
		if (r->status == STORE_QUEUE_FAILED && (nt == 0 || (nt & STORE_QUEUE_NOTIFY_FAILURE)))
			a = DSN_FAILED;
		else if (r->status == STORE_QUEUE_PENDING && late &&
			 (nt == 0 || (nt & STORE_QUEUE_NOTIFY_DELAY)))
			a = DSN_DELAYED;
		else if (r->status == STORE_QUEUE_SENT && r->relayed &&
			 (nt & STORE_QUEUE_NOTIFY_SUCCESS))
			a = DSN_RELAYED;
		else
			continue;
		if (a == DSN_DELAYED)
			*delay_r = true;
		dr[n++] = (struct dsn_rcpt){
			.address = r->address, .orcpt = r->orcpt, .action = a,
			.status = a == DSN_RELAYED ? "2.0.0" : r->status_code,
			.remote_mta = r->remote ? job->mx_host : NULL, .diagnostic = r->reply};
	}
	char *msg = NULL;
	if (n > 0) {
		char *data = NULL;
		size_t len = 0;
		if (store_queue_data(ob.store, job->queue_id, &data, &len) != STORE_OK) {
			data = xstrdup("");
			len = 0;
		}
		struct dsn d = {.reporting_mta = ob.set.hostname, .to = job->return_path,
				.envid = job->envid, .arrival = job->created, .now = now,
				.retry_until = job->created + ob.max_lifetime,
				/* RFC 8689 5: the content stays with its TLS path */
				.ret_full = job->ret_full && !job->requiretls,
				.rcpts = dr, .nrcpts = n, .original = data, .original_len = len};
		msg = dsn_build(&d, len_r);
		free(data);
	}
	free(dr);
	return msg;
}

bool ob_job_finished(struct ob_job *job)
{
	if (!ob.running) {
		/* shutting down: the recipients stay pending in the store */
		job_free(job);
		return false;
	}
	int64_t now = time(NULL);
	ob_job_fail_rest(job, false, "4.0.0", "not attempted");
	struct store_queue_result *res = xcalloc(job->nrcpts, sizeof(*res));
	char **texts = xcalloc(job->nrcpts, sizeof(*texts));
	for (size_t i = 0; i < job->nrcpts; i++) {
		struct ob_rcpt *r = &job->rcpts[i];
		if (r->status == STORE_QUEUE_PENDING && now - job->created >= ob.max_lifetime) {
			/* RFC 5321 4.5.4.1: give up; RFC 3463 4.4.7 */
			r->status = STORE_QUEUE_FAILED;
			snprintf(r->status_code, sizeof(r->status_code), "4.4.7");
			char *why = xasprintf("%s (gave up: message too old)", r->reply);
			free(r->reply);
			r->reply = why;
		}
		texts[i] = r->remote && job->mx_host != NULL ?
				   xasprintf("%s: %s", job->mx_host, r->reply) :
				   xstrdup(r->reply);
		res[i] = (struct store_queue_result){
			.rcpt_id = r->rcpt_id, .status = r->status,
			.next_attempt = r->status == STORE_QUEUE_PENDING ? now + backoff(r->attempts) : now,
			.reply = texts[i]};
		log_info("outbound: queue=%lld to=<%s> status=%s %s", (long long)job->queue_id,
			 r->address,
			 r->status == STORE_QUEUE_SENT ? "sent" :
			 r->status == STORE_QUEUE_FAILED ? "bounced" : "deferred", texts[i]);
	}
	bool delay = false;
	size_t dsn_len = 0;
	char *dsn = build_dsn(job, now, &delay, &dsn_len);
	struct store_queue_rcpt to = {.address = job->return_path};
	struct store_queue_new dsn_new = {.return_path = "", .rcpts = &to, .n_rcpts = 1,
					  .requiretls = job->requiretls, .data = dsn, .len = dsn_len};
	struct store_queue_update u = {.queue_id = job->queue_id, .results = res,
				       .n_results = job->nrcpts, .set_delay_notified = delay,
				       .dsn = dsn != NULL ? &dsn_new : NULL};
	store_queue_update(ob.store, &u, update_done, job);
	for (size_t i = 0; i < job->nrcpts; i++)
		free(texts[i]);
	free(texts);
	free(res);
	free(dsn);
	return true;
}

/* ---- local recipients (DSNs to local senders) ---- */

struct local_job {
	struct ob_job *job;
	struct delivery d;
	char *data;
	size_t len;
	size_t *first, *count;	/* the job rcpt's delivery_rcpts */
};

static void local_done(struct store_op *op, void *ctx)
{
	struct local_job *lj = ctx;
	delivery_finish(&lj->d);
	struct ob_job *job = lj->job;
	for (size_t i = 0; i < job->nrcpts; i++) {
		struct ob_rcpt *r = &job->rcpts[i];
		if (r->tried)
			continue;
		enum store_err err = STORE_OK;
		for (size_t k = lj->first[i]; k < lj->first[i] + lj->count[i]; k++)
			if (lj->d.rcpts[k].err != STORE_OK && err == STORE_OK)
				err = lj->d.rcpts[k].err;
		if (err == STORE_OK) {
			r->tried = true;
			r->status = STORE_QUEUE_SENT;
			r->reply = xstrdup("delivered to the local mailbox");
		} else if (err == STORE_ENOQUOTA) {
			ob_job_fail_rest(job, false, "4.2.2", "mailbox over quota");
		} else {
			ob_job_fail_rest(job, false, "4.3.0", store_strerror(err));
		}
	}
	delivery_free(&lj->d);
	free(lj->data);
	free(lj->first);
	free(lj->count);
	free(lj);
	ob_job_finished(job);
}

/* Sieve at delivery for queued mail to local users (delivery-sieve.h);
 * loaded in outbound_start(). A reject here can only be a DSN. */
static struct delivery_sieve_config ob_sieve;

static void local_sieve_work(void *ctx)
{
	struct local_job *lj = ctx;
	delivery_sieve_run(&lj->d, ob.store, &ob_sieve, lj->data, lj->len, false);
}

static void local_sieve_done(void *ctx)
{
	struct local_job *lj = ctx;
	delivery_prepare(&lj->d, lj->data, lj->len);
	lj->d.op.u.deliver.per_target = true;
	if (delivery_nothing_to_store(&lj->d)) {
		lj->d.op.err = STORE_OK;
		local_done(&lj->d.op, lj);
		return;
	}
	store_submit(ob.store, &lj->d.op, local_done, lj);
}

static void local_deliver(struct ob_job *job)
{
	struct local_job *lj = xcalloc(1, sizeof(*lj));
	lj->job = job;
	lj->first = xcalloc(job->nrcpts, sizeof(size_t));
	lj->count = xcalloc(job->nrcpts, sizeof(size_t));
	size_t len = 0;
	enum store_err err = store_queue_data(ob.store, job->queue_id, &lj->data, &len);
	delivery_init(&lj->d, job->return_path, NULL);
	for (size_t i = 0; err == STORE_OK && i < job->nrcpts; i++) {
		struct ob_rcpt *r = &job->rcpts[i];
		lj->first[i] = lj->d.nrcpts;
		enum store_err e = delivery_add_rcpt(&lj->d, ob.store, r->address);
		lj->count[i] = lj->d.nrcpts - lj->first[i];
		if (e == STORE_ENOTFOUND || e == STORE_EPERM || e == STORE_EINVAL) {
			r->tried = true;
			r->status = STORE_QUEUE_FAILED;
			snprintf(r->status_code, sizeof(r->status_code), "5.1.1");
			r->reply = xstrdup("550 5.1.1 no such local user");
		} else if (e != STORE_OK) {
			ob_job_fail_rest(job, false, "4.3.0", store_strerror(e));
		}
	}
	if (err != STORE_OK || lj->d.nrcpts == 0) {
		if (err != STORE_OK)
			ob_job_fail_rest(job, false, "4.3.0", "queue read failed");
		delivery_free(&lj->d);
		free(lj->data);
		free(lj->first);
		free(lj->count);
		free(lj);
		ob_job_finished(job);
		return;
	}
	lj->len = len;
	/* the recipients' Sieve scripts, on a worker (delivery-sieve.h) */
	workers_submit_read((uint64_t)(uintptr_t)lj, local_sieve_work, local_sieve_done, lj);
}

/* ---- destinations ---- */

static void dest_maybe_free(struct ob_dest *d)
{
	if (d->njobs > 0 || d->nsess > 0 || d->lookup != NULL || d->sts_pending)
		return;
	for (struct ob_dest **p = &ob.dests; *p != NULL; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			break;
		}
	dns_route_free(&d->route);
	mta_sts_policy_free(&d->sts);
	free(d->domain);
	free(d);
}

/* Every waiting job of d fails (the route or every host failed). */
static void dest_fail_all(struct ob_dest *d, bool permanent, const char *status,
			  const char *why)
{
	struct ob_job *job;
	while ((job = ob_dest_take_job(d)) != NULL) {
		ob_job_fail_rest(job, permanent, status, why);
		ob_job_finished(job);
	}
}

bool ob_session_may_idle(void)
{
	return ob.running && ob.nsess < ob.set.max_connections;
}

static void kick_dest(struct ob_dest *d)
{
	if (d->route == NULL || d->down || d->sts_pending || !ob.running)
		return;
	ob_dest_wake_idle(d);
	while (d->njobs > (size_t)d->nsess && d->nsess < ob.set.max_per_domain &&
	       ob.nsess < ob.set.max_connections) {
		ob.nsess++;
		ob_session_start(ob.base, &ob.set, ob.tls, ob.store, d);
	}
}

static void kick_all(void)
{
	for (struct ob_dest *d = ob.dests, *next; d != NULL; d = next) {
		next = d->next;
		kick_dest(d);
	}
}

struct ob_job *ob_dest_take_job(struct ob_dest *d)
{
	struct ob_job *job = d->head;
	if (job != NULL) {
		d->head = job->next;
		if (d->head == NULL)
			d->tail = NULL;
		d->njobs--;
		job->next = NULL;
	}
	return job;
}

void ob_session_ended(struct ob_dest *d, bool connected, const char *error)
{
	d->nsess--;
	ob.nsess--;
	/* No host answered: the sessions still connecting finish, none is
	 * started in their place (else failures would feed new sessions
	 * forever), and the last one defers what is left. */
	if (!connected)
		d->down = true;
	if (d->down && d->nsess == 0)
		dest_fail_all(d, false, "4.4.1", error);
	kick_dest(d);
	dest_maybe_free(d);
	kick_all();
}

static void route_cb(void *ctx, struct dns_route *route)
{
	struct ob_dest *d = ctx;
	d->lookup = NULL;
	if (route->status == DNS_OK) {
		d->route = route;
		kick_dest(d);
		return;
	}
	log_info("outbound: %s: %s", d->domain, route->error);
	if (route->status == DNS_NULL_MX)
		dest_fail_all(d, true, "5.1.10", "556 5.1.10 the recipient's domain accepts no mail (null MX)");
	else if (route->status == DNS_NOTFOUND)
		dest_fail_all(d, true, "5.1.2", route->error);
	else
		dest_fail_all(d, false, "4.4.3", route->error);
	dns_route_free(&route);
	dest_maybe_free(d);
}

/* The destination's MTA-STS policy (mta-sts.h) is known. */
static void sts_cb(void *ctx, struct mta_sts_policy *p)
{
	struct ob_dest *d = ctx;
	d->sts_pending = false;
	if (!ob.running) {
		mta_sts_policy_free(&p);
		return;
	}
	mta_sts_policy_free(&d->sts);
	if (p != NULL && p->mode == MTA_STS_NONE)
		mta_sts_policy_free(&p);
	d->sts = p;
	kick_dest(d);
	dest_maybe_free(d);
}

static void dest_add(const char *domain, struct ob_job *job)
{
	struct ob_dest *d = ob.dests;
	while (d != NULL &&
	       (strcmp(d->domain, domain) != 0 || d->tls_optional != job->tls_optional))
		d = d->next;
	if (d == NULL) {
		d = xcalloc(1, sizeof(*d));
		d->domain = xstrdup(domain);
		d->tls_optional = job->tls_optional;
		if (d->tls_optional)
			log_info("outbound: %s: a message says TLS-Required: No: its MTA-STS and"
				 " DANE policies are not applied to it", domain);
		d->next = ob.dests;
		ob.dests = d;
	}
	job->dest = d;
	if (d->tail != NULL)
		d->tail->next = job;
	else
		d->head = job;
	d->tail = job;
	d->njobs++;
	if (d->route == NULL && d->lookup == NULL) {
		if (ob.mta_sts && !d->sts_pending && !d->tls_optional) {
			/* RFC 8461 5: the policy, alongside the route */
			d->sts_pending = true;
			mta_sts_lookup(domain, sts_cb, d);
		}
		d->lookup = dns_route(ob.dns, domain, ob.set.port, route_cb, d);
	} else
		kick_dest(d);
}

/* ---- scanning the queue ---- */

static struct ob_job *job_new(const struct store_queue_msg *m)
{
	struct ob_job *job = xcalloc(1, sizeof(*job));
	job->queue_id = m->id;
	job->account_id = m->account_id;
	job->created = m->created;
	job->return_path = xstrdup(m->return_path);
	job->envid = m->envid != NULL ? xstrdup(m->envid) : NULL;
	job->ret_full = m->ret_full;
	job->requiretls = m->requiretls;
	job->tls_optional = m->tls_optional;
	job->delay_notified = m->delay_notified;
	job->rcpts = xcalloc(m->nrcpts, sizeof(*job->rcpts));
	inflight_add(m->id);
	ob.njobs++;
	return job;
}

static void job_add_rcpt(struct ob_job *job, const struct store_queue_entry *e)
{
	struct ob_rcpt *r = &job->rcpts[job->nrcpts++];
	r->rcpt_id = e->rcpt_id;
	r->address = xstrdup(e->address);
	r->orcpt = e->orcpt != NULL ? xstrdup(e->orcpt) : NULL;
	r->notify = e->notify;
	r->attempts = e->attempts;
}

static void dispatch(const struct store_queue_msg *m)
{
	if (m->state == STORE_QUEUE_BOUNCE) {
		struct ob_job *job = job_new(m);
		for (size_t i = 0; i < m->nrcpts; i++)
			job_add_rcpt(job, &m->rcpts[i]);
		ob_job_fail_rest(job, true, "5.0.0", "bounced by the administrator");
		ob_job_finished(job);
		return;
	}
	bool *taken = xcalloc(m->nrcpts + 1, sizeof(bool));
	for (size_t i = 0; i < m->nrcpts; i++) {
		if (taken[i])
			continue;
		const char *domain = m->rcpts[i].domain;
		bool hosted = false;
		if (store_domain_hosted(ob.store, domain, &hosted) != STORE_OK)
			continue; /* a read failed: the next scan tries again */
		struct ob_job *job = job_new(m);
		for (size_t k = i; k < m->nrcpts; k++)
			if (!taken[k] && strcmp(m->rcpts[k].domain, domain) == 0) {
				taken[k] = true;
				job_add_rcpt(job, &m->rcpts[k]);
			}
		if (hosted)
			local_deliver(job);
		else
			dest_add(domain, job);
	}
	free(taken);
}

/*
 * Nodes sharing one PostgreSQL database share one queue: one node sends
 * it, the one holding the outbound node lock (store_nodelock_take; a node
 * that dies frees it, and another takes over within OB_SENDER_RETRY_S).
 * Two senders would send the same message twice. On SQLite this node is
 * always the sender. Mail queued on any node wakes the sender through the
 * change feed.
 */
static void sender_take_work(void *ctx)
{
	enum store_err *err = ctx;
	*err = store_nodelock_take(ob.store, STORE_NODELOCK_OUTBOUND, 0);
}

static void sender_take_done(void *ctx)
{
	enum store_err *err = ctx;
	bool took = *err == STORE_OK;
	free(err);
	ob.taking = false;
	if (!ob.running) {
		if (took)
			store_nodelock_release(ob.store, STORE_NODELOCK_OUTBOUND, 0);
		return;
	}
	if (!took)
		return; /* the retry timer runs: scan() tries again */
	ob.sender = true;
	log_info("outbound: this node sends the queue");
	evtimer_del(ob.timer);
	struct timeval now = {0, 0};
	evtimer_add(ob.timer, &now);
}

/* Is this node the sender? If not, the lock is asked for on a worker
 * (a database round trip) and a scan follows when it is taken. */
static bool queue_sender(void)
{
	bool held = store_nodelock_held(ob.store, STORE_NODELOCK_OUTBOUND, 0);
	if (ob.sender && !held) {
		/* what is in flight finishes; at worst a message goes twice */
		log_warn("outbound: lost the queue lock: another node may send now");
		ob.sender = false;
	} else if (!ob.sender && held) {
		/* SQLite; or the lock connection came back with the lock */
		ob.sender = true;
		if (store_backend_shared(ob.store))
			log_info("outbound: this node sends the queue");
	}
	if (!ob.sender && !ob.taking) {
		ob.taking = true;
		workers_submit_net(sender_take_work, sender_take_done,
				   xcalloc(1, sizeof(enum store_err)));
	}
	return ob.sender;
}

static void scan(void)
{
	if (!ob.running)
		return;
	if (!queue_sender()) {
		struct timeval tv = {OB_SENDER_RETRY_S, 0};
		evtimer_add(ob.timer, &tv);
		return;
	}
	int64_t now = time(NULL);
	/* Read only with room for a whole batch: a nearly full scheduler
	 * woken by every finished job would otherwise read OB_SCAN_BATCH
	 * messages to take one (that was most of the loop's time while a
	 * 20,000-message queue drained). Finished jobs wake it again. */
	bool room = ob.njobs + OB_SCAN_BATCH <= OB_MAX_JOBS;
	if (room) {
		struct store_queue_msg *list = NULL;
		size_t n = 0;
		enum store_err err = store_queue_due(ob.store, now, ob.cursor, OB_SCAN_BATCH, &list,
						     &n);
		if (err != STORE_OK)
			log_warn("outbound: reading the queue failed: %s", store_strerror(err));
		size_t i = 0;
		for (; i < n && ob.njobs < OB_MAX_JOBS; i++)
			if (list[i].nrcpts > 0 && inflight_find(list[i].id) == NULL)
				dispatch(&list[i]);
		/* Walk on past what is in flight (a hanging MX's messages must
		 * not hide the rest of the queue), from the last message looked
		 * at; wrap at the end. */
		ob.cursor = i == n && n < OB_SCAN_BATCH ? 0 : list[i - 1].id;
		store_queue_msg_list_free(list, n);
		room = ob.njobs + OB_SCAN_BATCH <= OB_MAX_JOBS;
	}
	int64_t next = 0, delay = OB_SCAN_MAX_S;
	if (!room)
		; /* the next finished job wakes us; the timer is a safety net */
	else if (ob.cursor != 0)
		delay = 0; /* more of a full batch to read */
	else if (store_queue_next_due(ob.store, &next) == STORE_OK) {
		delay = next - now;
		if (delay < 1)
			delay = 1;
		if (delay > OB_SCAN_MAX_S)
			delay = OB_SCAN_MAX_S;
	}
	struct timeval tv = {(time_t)delay, 0};
	evtimer_add(ob.timer, &tv);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	scan();
}

static SSL_CTX *client_tls_ctx(const char *ca_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* opportunistic (RFC 7435): verify to log the result, never refuse */
	SSL_CTX_set_default_verify_paths(ctx);
	if (*ca_file != '\0')
		SSL_CTX_load_verify_locations(ctx, ca_file, NULL);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* RFC 7672: sessions to hosts with TLSA records turn DANE on */
	if (SSL_CTX_dane_enable(ctx) <= 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int outbound_start(struct config *cfg, struct store *s, struct event_base *base, char **error_r)
{
	memset(&ob, 0, sizeof(ob));
	ob.store = s;
	delivery_sieve_config_clear(&ob_sieve);
	delivery_sieve_config_load(&ob_sieve, cfg, config_str(cfg, "server.hostname"));
	ob.base = base;
	ob.set = (struct ob_settings){
		.port = (int)config_int(cfg, "outbound.port"),
		.max_connections = config_int(cfg, "outbound.max_connections"),
		.max_per_domain = config_int(cfg, "outbound.max_per_domain"),
		.max_messages_per_session = config_int(cfg, "outbound.max_messages_per_session"),
		.connect_ms = config_ms(cfg, "outbound.connect_timeout"),
		.greeting_ms = config_ms(cfg, "outbound.greeting_timeout"),
		.command_ms = config_ms(cfg, "outbound.command_timeout"),
		.data_ms = config_ms(cfg, "outbound.data_timeout"),
		.starttls = config_bool(cfg, "outbound.starttls"),
		.hostname = config_str(cfg, "server.hostname"),
	};
	if (ob.set.port <= 0 || ob.set.port > 65535) {
		*error_r = xstrdup("outbound.port: not a port");
		return -1;
	}
	if (ob.set.max_connections < 1)
		ob.set.max_connections = 1;
	if (ob.set.max_per_domain < 1)
		ob.set.max_per_domain = 1;
	if (ob.set.max_messages_per_session < 1)
		ob.set.max_messages_per_session = 1;
	ob.max_lifetime = config_ms(cfg, "queue.max_lifetime") / 1000;
	ob.retry_min = config_ms(cfg, "queue.retry_min") / 1000;
	ob.retry_max = config_ms(cfg, "queue.retry_max") / 1000;
	ob.delay_warning = config_ms(cfg, "queue.delay_warning") / 1000;
	if (ob.retry_min < 1)
		ob.retry_min = 1;
	if (ob.retry_max < ob.retry_min)
		ob.retry_max = ob.retry_min;
	ob.dns = dns_new(base, config_str(cfg, "dns.resolver"), config_path(cfg, "dns.trust_anchor"),
			 error_r);
	if (ob.dns == NULL)
		return -1;
	ob.tls = client_tls_ctx(config_path(cfg, "outbound.tls_ca_file"));
	ob.mta_sts = config_bool(cfg, "outbound.mta_sts");
	if (ob.mta_sts) {
		char *cache = xasprintf("%s/mta-sts-cache", config_datadir(cfg));
		struct mta_sts_settings ms = {
			.port = 443, .timeout_ms = config_ms(cfg, "outbound.mta_sts_timeout"),
			.ca_file = config_path(cfg, "outbound.tls_ca_file"), .cache_file = cache};
		int r = dns_sync_configure(config_str(cfg, "dns.resolver"),
					   config_path(cfg, "dns.trust_anchor"), error_r);
		if (r == 0)
			r = mta_sts_start(&ms, error_r);
		free(cache);
		if (r < 0)
			return -1;
	}
	ob.timer = evtimer_new(base, timer_cb, NULL);
	ob.wake = event_new(base, -1, 0, timer_cb, NULL);
	ob.running = true;
	store_queue_set_notify(s, queue_notify, NULL);
	/* the first scan: whatever a previous run left (held ones stay) */
	struct timeval tv = {0, 0};
	evtimer_add(ob.timer, &tv);
	return 0;
}

void outbound_stop(void)
{
	if (!ob.running)
		return;
	ob.running = false;
	store_queue_set_notify(ob.store, NULL, NULL);
	if (ob.sender)
		store_nodelock_release(ob.store, STORE_NODELOCK_OUTBOUND, 0);
	ob.sender = false;
	event_free(ob.timer);
	event_free(ob.wake);
	ob.timer = ob.wake = NULL;
	/* Sessions and lookups still open end with the loop; their
	 * recipients are still pending in the store. */
	if (ob.mta_sts)
		mta_sts_stop();
	SSL_CTX_free(ob.tls);
	ob.tls = NULL;
	dns_free(&ob.dns);
	free(ob.inflight);
	ob.inflight = NULL;
	ob.ninflight = ob.inflight_cap = 0;
}
