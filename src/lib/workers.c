/* workers: see workers.h. Each pool: one queue, N threads, completions
 * handed to the event loop through one activated event. */
#include "lib/workers.h"
#include "lib/alloc.h"
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>

struct worker_job {
	void (*work)(void *ctx);
	void (*done)(void *ctx);
	void *ctx;
	struct worker_job *next;
};

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct worker_job *todo_head, *todo_tail, *done_head, *done_tail;
	pthread_t threads[WORKERS_MAX];
	int nthreads;
	bool stopping;
	struct event *done_ev;
};

static struct pool auth_pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
static struct pool read_pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

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

static void *worker_main(void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->todo_head == NULL && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->todo_head == NULL)
			break;
		struct worker_job *j = p->todo_head;
		p->todo_head = j->next;
		if (p->todo_head == NULL)
			p->todo_tail = NULL;
		pthread_mutex_unlock(&p->lock);
		j->work(j->ctx);
		pthread_mutex_lock(&p->lock);
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

static void pool_submit(struct pool *p, void (*work)(void *ctx), void (*done)(void *ctx),
			void *ctx)
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
	pthread_mutex_lock(&p->lock);
	push(&p->todo_head, &p->todo_tail, j);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void workers_start(struct event_base *base, int n)
{
	pool_start(&auth_pool, base, n);
	pool_start(&read_pool, base, n);
}

void workers_stop(void)
{
	pool_stop(&read_pool);
	pool_stop(&auth_pool);
}

bool workers_running(void)
{
	return auth_pool.nthreads > 0;
}

void workers_submit(void (*work)(void *ctx), void (*done)(void *ctx), void *ctx)
{
	pool_submit(&auth_pool, work, done, ctx);
}

void workers_submit_read(void (*work)(void *ctx), void (*done)(void *ctx), void *ctx)
{
	pool_submit(&read_pool, work, done, ctx);
}
