/* workers: see workers.h. Each pool: one queue, N threads, completions
 * handed to the event loop through one activated event. */
#include "lib/workers.h"
#include "lib/alloc.h"
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <unistd.h>

struct worker_job {
	void (*work)(void *ctx);
	void (*done)(void *ctx);
	void *ctx;
	uint64_t key;
	struct worker_job *next;
};

/* Read workers yield the CPU to the event loop (Linux: nice is per
 * thread): a heavy search then slows only its own client. */
#define WORKERS_READ_NICE 10

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct worker_job *todo_head, *todo_tail, *done_head, *done_tail;
	pthread_t threads[WORKERS_MAX];
	int nthreads;
	bool stopping, fair;	/* fair: jobs picked by key (see workers.h) */
	int nice;
	uint64_t running[WORKERS_MAX];	/* keys of the jobs running */
	int nrunning;
	struct event *done_ev;
};

static struct pool auth_pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
static struct pool read_pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
				 .fair = true, .nice = WORKERS_READ_NICE};
static struct pool net_pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
				.nice = WORKERS_READ_NICE};

static void push(struct worker_job **head, struct worker_job **tail, struct worker_job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static void run_done(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->lock);
	struct worker_job *j = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->lock);
	while (j != NULL) {
		struct worker_job *next = j->next;
		j->done(j->ctx);
		free(j);
		j = next;
	}
}

static bool key_running(const struct pool *p, uint64_t key)
{
	for (int i = 0; i < p->nrunning; i++)
		if (p->running[i] == key)
			return true;
	return false;
}

/* Take the next job: the oldest, or in a fair pool the oldest whose key
 * has none running (else the oldest). The scan is bounded by the queue,
 * which holds at most one job per session. Caller holds the lock. */
static struct worker_job *take(struct pool *p)
{
	struct worker_job **pp = &p->todo_head, *prev = NULL;
	if (p->fair) {
		struct worker_job *q = p->todo_head, *qprev = NULL;
		for (; q != NULL; qprev = q, q = q->next)
			if (!key_running(p, q->key))
				break;
		if (q != NULL) {
			pp = qprev != NULL ? &qprev->next : &p->todo_head;
			prev = qprev;
		}
	}
	struct worker_job *j = *pp;
	*pp = j->next;
	if (p->todo_tail == j)
		p->todo_tail = prev;
	if (p->nrunning < WORKERS_MAX)
		p->running[p->nrunning++] = j->key;
	return j;
}

static void finished(struct pool *p, uint64_t key)
{
	for (int i = 0; i < p->nrunning; i++)
		if (p->running[i] == key) {
			p->running[i] = p->running[--p->nrunning];
			return;
		}
}

static void *worker_main(void *arg)
{
	struct pool *p = arg;
	if (p->nice != 0)
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(), p->nice);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->todo_head == NULL && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->todo_head == NULL)
			break;
		struct worker_job *j = take(p);
		pthread_mutex_unlock(&p->lock);
		j->work(j->ctx);
		pthread_mutex_lock(&p->lock);
		finished(p, j->key);
		push(&p->done_head, &p->done_tail, j);
		event_active(p->done_ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void pool_start(struct pool *p, struct event_base *base, int n)
{
	if (n < 1)
		n = 1;
	if (n > WORKERS_MAX)
		n = WORKERS_MAX;
	p->done_ev = event_new(base, -1, 0, run_done, p);
	p->stopping = false;
	for (int i = 0; i < n; i++)
		if (pthread_create(&p->threads[p->nthreads], NULL, worker_main, p) == 0)
			p->nthreads++;
}

static void pool_stop(struct pool *p)
{
	if (p->nthreads == 0)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	p->nthreads = 0;
	run_done(-1, 0, p);
	event_free(p->done_ev);
	p->done_ev = NULL;
}

static void pool_submit(struct pool *p, uint64_t key, void (*work)(void *ctx),
			void (*done)(void *ctx), void *ctx)
{
	if (p->nthreads == 0) {
		work(ctx);
		done(ctx);
		return;
	}
	struct worker_job *j = xmalloc(sizeof(*j));
	j->work = work;
	j->done = done;
	j->ctx = ctx;
	j->key = key;
	pthread_mutex_lock(&p->lock);
	push(&p->todo_head, &p->todo_tail, j);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void workers_start(struct event_base *base, int n)
{
	pool_start(&auth_pool, base, n);
	pool_start(&read_pool, base, n);
	pool_start(&net_pool, base, WORKERS_NET_THREADS);
}

void workers_stop(void)
{
	pool_stop(&net_pool);
	pool_stop(&read_pool);
	pool_stop(&auth_pool);
}

bool workers_running(void)
{
	return auth_pool.nthreads > 0;
}

void workers_submit(void (*work)(void *ctx), void (*done)(void *ctx), void *ctx)
{
	pool_submit(&auth_pool, 0, work, done, ctx);
}

void workers_submit_read(uint64_t key, void (*work)(void *ctx), void (*done)(void *ctx),
			 void *ctx)
{
	pool_submit(&read_pool, key, work, done, ctx);
}

void workers_submit_net(void (*work)(void *ctx), void (*done)(void *ctx), void *ctx)
{
	pool_submit(&net_pool, 0, work, done, ctx);
}
