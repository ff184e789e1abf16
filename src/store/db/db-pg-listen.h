/*
 * db-pg-listen: a thread holding one PostgreSQL connection in LISTEN on a
 * channel, handing each notification's payload to a callback. PostgreSQL
 * delivers a NOTIFY only to the connections listening when it commits,
 * so whatever is sent while this connection is down is lost for good: the
 * caller is told each time LISTEN has taken effect (the first time too)
 * and must then catch up from the database itself. Built with
 * ROOST_HAVE_PG; knows nothing of the store.
 */
#ifndef ROOST_STORE_DB_PG_LISTEN_H
#define ROOST_STORE_DB_PG_LISTEN_H

#include <stdbool.h>

/* Waits before connecting again after a failure or a lost connection:
 * doubling from the first to the last, so a database that is down is not
 * hammered and one that is back is found quickly. */
#define PG_LISTEN_BACKOFF_MIN_MS 100
#define PG_LISTEN_BACKOFF_MAX_MS 5000
/* Longest channel name (PostgreSQL's NAMEDATALEN - 1). */
#define PG_LISTEN_CHANNEL_MAX 63
/* The connection's application_name in pg_stat_activity. */
#define PG_LISTEN_APPLICATION "roost-feed"

struct pg_listen_callbacks {
	/* One notification on the channel (listener thread). */
	void (*notify)(void *ctx, const char *payload);
	/* LISTEN took effect on a new connection (listener thread);
	 * backend_pid identifies it in pg_stat_activity. */
	void (*listening)(void *ctx, int backend_pid);
	void *ctx;
};

struct pg_listener;

/* Start the thread; it connects in the background and keeps trying. NULL
 * with *error_r (caller frees) only for a bad channel name or no thread. */
struct pg_listener *pg_listen_start(const char *conninfo, const char *channel,
				    const struct pg_listen_callbacks *cb, char **error_r);
/* Stop the thread and close its connection; no callback runs after. */
void pg_listen_stop(struct pg_listener *l);

#endif
