/*
 * db-pg-listen: see db-pg-listen.h. One thread per listener; it polls the
 * connection's socket and a pipe that pg_listen_stop() writes to, so a
 * stop never waits for the database (the connect is asynchronous too).
 */
#include "store/db/db-pg-listen.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* While the database stays down, one warning per this interval. */
#define PG_LISTEN_WARN_INTERVAL_S 60

struct pg_listener {
	char *conninfo, *channel;
	struct pg_listen_callbacks cb;
	pthread_t thread;
	int stop_pipe[2];
	atomic_bool stopping;
};

/* Wait until fd is ready for `events` (fd < 0: only the timeout), the
 * timeout passes (-1: none) or a stop is asked; false on stop. */
static bool wait_fd(struct pg_listener *l, int fd, short events, int timeout_ms)
{
	struct pollfd p[2] = {{.fd = l->stop_pipe[0], .events = POLLIN},
			      {.fd = fd, .events = events}};
	while (!atomic_load(&l->stopping)) {
		int n = poll(p, fd >= 0 ? 2 : 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		return !atomic_load(&l->stopping) && (p[0].revents & POLLIN) == 0;
	}
	return false;
}

/* libpq's message without its trailing newline (static buffer: this
 * thread only). */
static const char *conn_error(PGconn *c)
{
	static _Thread_local char msg[256];
	snprintf(msg, sizeof(msg), "%s", c != NULL ? PQerrorMessage(c) : "out of memory");
	msg[strcspn(msg, "\r\n")] = '\0';
	return msg;
}

/* Connect without blocking a stop. Keepalives find a peer that vanished
 * without a word (a network partition) within about a minute; the admin's
 * conninfo comes last, so its own settings win. */
static PGconn *connect_async(struct pg_listener *l, char **error_r)
{
	const char *keys[] = {"application_name", "keepalives_idle", "keepalives_interval",
			      "keepalives_count", "dbname", NULL};
	const char *values[] = {PG_LISTEN_APPLICATION, "30", "10", "3", l->conninfo, NULL};
	PGconn *c = PQconnectStartParams(keys, values, 1);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	if (c == NULL || PQstatus(c) == CONNECTION_BAD)
		goto fail;
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED)
			goto fail;
		short ev = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		if (!wait_fd(l, PQsocket(c), ev, -1)) {
			PQfinish(c);
			*error_r = xstrdup("stopping");
			return NULL;
		}
		st = PQconnectPoll(c);
	}
	return c;
fail:
	*error_r = xstrdup(conn_error(c));
	PQfinish(c);
	return NULL;
}

static PGconn *connect_and_listen(struct pg_listener *l, char **error_r)
{
	PGconn *c = connect_async(l, error_r);
	if (c == NULL)
		return NULL;
	char *ident = PQescapeIdentifier(c, l->channel, strlen(l->channel));
	char *sql = xasprintf("LISTEN %s", ident != NULL ? ident : "\"\"");
	PQfreemem(ident);
	/* quick: it only registers the channel */
	PGresult *r = PQexec(c, sql);
	free(sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok || PQsetnonblocking(c, 1) != 0) {
		*error_r = xasprintf("LISTEN: %s", conn_error(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Hand every notification to the callback until the connection is lost
 * (or a stop); the reason is logged. */
static void serve(struct pg_listener *l, PGconn *c)
{
	while (wait_fd(l, PQsocket(c), POLLIN, -1)) {
		if (PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK) {
			log_warn("change feed: the LISTEN connection was lost: %s", conn_error(c));
			return;
		}
		PGnotify *n;
		while ((n = PQnotifies(c)) != NULL) {
			l->cb.notify(l->cb.ctx, n->extra);
			PQfreemem(n);
		}
		/* results of nothing we sent: a server notice, say */
		PGresult *r;
		while (!PQisBusy(c) && (r = PQgetResult(c)) != NULL)
			PQclear(r);
	}
}

static void *listen_main(void *arg)
{
	struct pg_listener *l = arg;
	int backoff_ms = 0;
	time_t last_warn = 0;
	bool down = false;
	while (!atomic_load(&l->stopping)) {
		if (backoff_ms > 0 && !wait_fd(l, -1, 0, backoff_ms))
			break;
		backoff_ms = backoff_ms == 0 ? PG_LISTEN_BACKOFF_MIN_MS : backoff_ms * 2;
		if (backoff_ms > PG_LISTEN_BACKOFF_MAX_MS)
			backoff_ms = PG_LISTEN_BACKOFF_MAX_MS;
		char *error = NULL;
		PGconn *c = connect_and_listen(l, &error);
		if (c == NULL) {
			time_t now = time(NULL);
			if (!atomic_load(&l->stopping) && now - last_warn >= PG_LISTEN_WARN_INTERVAL_S) {
				log_warn("change feed: cannot listen (retrying): %s", error);
				last_warn = now;
			}
			down = true;
			free(error);
			continue;
		}
		if (down)
			log_info("change feed: listening again");
		down = false;
		last_warn = 0;
		l->cb.listening(l->cb.ctx, PQbackendPID(c));
		serve(l, c);
		PQfinish(c);
		/* a connection that was up starts the doubling afresh */
		backoff_ms = PG_LISTEN_BACKOFF_MIN_MS;
		down = true;
		last_warn = time(NULL);
	}
	return NULL;
}

struct pg_listener *pg_listen_start(const char *conninfo, const char *channel,
				    const struct pg_listen_callbacks *cb, char **error_r)
{
	size_t n = strlen(channel);
	if (n == 0 || n > PG_LISTEN_CHANNEL_MAX) {
		*error_r = xasprintf("LISTEN channel: 1 to %d bytes", PG_LISTEN_CHANNEL_MAX);
		return NULL;
	}
	struct pg_listener *l = xcalloc(1, sizeof(*l));
	l->conninfo = xstrdup(conninfo);
	l->channel = xstrdup(channel);
	l->cb = *cb;
	atomic_init(&l->stopping, false);
	if (pipe(l->stop_pipe) != 0) {
		*error_r = xasprintf("pipe: %s", strerror(errno));
		goto fail;
	}
	int rc = pthread_create(&l->thread, NULL, listen_main, l);
	if (rc != 0) {
		*error_r = xasprintf("thread: %s", strerror(rc));
		close(l->stop_pipe[0]);
		close(l->stop_pipe[1]);
		goto fail;
	}
	return l;
fail:
	free(l->conninfo);
	free(l->channel);
	free(l);
	return NULL;
}

void pg_listen_stop(struct pg_listener *l)
{
	if (l == NULL)
		return;
	atomic_store(&l->stopping, true);
	ssize_t w = write(l->stop_pipe[1], "x", 1);
	(void)w;
	pthread_join(l->thread, NULL);
	close(l->stop_pipe[0]);
	close(l->stop_pipe[1]);
	free(l->conninfo);
	free(l->channel);
	free(l);
}
