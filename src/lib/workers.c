/* workers: see workers.h. One queue, N threads, completions handed to the
 * event loop through one activated event. */
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

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct worker_job *todo_head, *todo_tail, *done_head, *done_tail;
static pthread_t threads[WORKERS_MAX];
static int nthreads_running;
static bool stopping;
static struct event *done_ev;

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
	pthread_mutex_lock(&lock);
	struct worker_job *j = done_head;
	done_head = done_tail = NULL;
	pthread_mutex_unlock(&lock);
	while (j != NULL) {
		struct worker_job *next = j->next;
		j->done(j->ctx);
		free(j);
		j = next;
	}
}

static void *worker_main(void *arg)
{
	pthread_mutex_lock(&lock);
	for (;;) {
		while (todo_head == NULL && !stopping)
			pthread_cond_wait(&cond, &lock);
		if (todo_head == NULL)
			break;
		struct worker_job *j = todo_head;
		todo_head = j->next;
		if (todo_head == NULL)
			todo_tail = NULL;
		pthread_mutex_unlock(&lock);
		j->work(j->ctx);
		pthread_mutex_lock(&lock);
		push(&done_head, &done_tail, j);
		event_active(done_ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

void workers_start(struct event_base *base, int n)
{
	if (n < 1)
		n = 1;
	if (n > WORKERS_MAX)
		n = WORKERS_MAX;
	done_ev = event_new(base, -1, 0, run_done, NULL);
	stopping = false;
	for (int i = 0; i < n; i++)
		if (pthread_create(&threads[nthreads_running], NULL, worker_main, NULL) == 0)
			nthreads_running++;
}

void workers_stop(void)
{
	if (nthreads_running == 0)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < nthreads_running; i++)
		pthread_join(threads[i], NULL);
	nthreads_running = 0;
	run_done(-1, 0, NULL);
	event_free(done_ev);
	done_ev = NULL;
}

bool workers_running(void)
{
	return nthreads_running > 0;
}

void workers_submit(void (*work)(void *ctx), void (*done)(void *ctx), void *ctx)
{
	if (nthreads_running == 0) {
		work(ctx);
		done(ctx);
		return;
	}
	struct worker_job *j = xmalloc(sizeof(*j));
	j->work = work;
	j->done = done;
	j->ctx = ctx;
	pthread_mutex_lock(&lock);
	push(&todo_head, &todo_tail, j);
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}
