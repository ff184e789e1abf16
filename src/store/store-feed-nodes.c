/*
 * store-feed-nodes: the change feed across nodes that share one PostgreSQL
 * database. A batch that changed mailboxes also sends, inside its own
 * transaction, NOTIFY on STORE_FEED_CHANNEL with its changed list;
 * PostgreSQL delivers that to every listening connection when, and only
 * if, the transaction commits. Each node's listener (db-pg-listen.c)
 * queues the entries for the event loop as if its own writer had
 * committed them, so the watchers cannot tell a remote change from a
 * local one.
 *
 * A notification sent while a listener is down is lost for good, so each
 * time LISTEN takes effect (the first time too) the watchers resynchronise
 * by MODSEQ (store_feed_resync): a change is never missed, at worst read
 * twice. Payloads are hints, never data: a watcher reads what changed
 * from the database, so a forged or garbled NOTIFY (anyone who may connect
 * to the database can send one) costs reads, nothing else.
 *
 * Payload: "roost1 NODE [q] A:M:S:E A:M:S:E ..." with NODE the sender's
 * node id (hex), q when mail was queued for sending (the node that sends
 * the queue scans it at once), and per entry the account, mailbox, MODSEQ
 * (0: none) and mailbox event bits, in decimal; a long list is sent as
 * several.
 */
#include "store/store-internal.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"
#include <event2/event.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef ROOST_HAVE_PG
#include "store/db/db-pg-listen.h"
#endif

#define STORE_FEED_CHANNEL "roost_feed"
#define STORE_FEED_MAGIC "roost1"
/* PostgreSQL refuses a payload of 8000 bytes or more. */
#define STORE_FEED_PAYLOAD_MAX 7900
/* Longest entry: three 20-digit numbers, the event bits, separators. */
#define STORE_FEED_ENTRY_MAX 80
/* Remote entries queued for the loop at most; past that they are dropped
 * for one resynchronisation, so a loop that falls behind a flood of
 * notifications does not grow without bound. */
#define STORE_FEED_REMOTE_MAX 65536
/* While the database does not answer, a resynchronisation is tried again
 * this often. */
#define STORE_FEED_RESYNC_RETRY_MS 500

static uint64_t node_id(struct store *s)
{
	while (s->node_id == 0)
		if (RAND_bytes((unsigned char *)&s->node_id, sizeof(s->node_id)) != 1)
			s->node_id = (uint64_t)store_now() ^ (uint64_t)(uintptr_t)s;
	return s->node_id;
}

static enum store_err send_payload(struct db *db, const char *payload)
{
	struct db_stmt *st = store_prepare(db, "SELECT pg_notify('" STORE_FEED_CHANNEL "', ?1)");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_text(st, 1, payload, -1, true);
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_ROW ? STORE_OK : store_db_err(rc);
}

enum store_err store_feed_publish(struct store_txn *txn)
{
	struct store *s = txn->s;
	if (!store_on_pg(s) || (txn->nchanged == 0 && !txn->queue_changed))
		return STORE_OK;
	struct buf b;
	buf_init(&b, STORE_FEED_PAYLOAD_MAX + STORE_FEED_ENTRY_MAX);
	char head[64];
	int headlen = snprintf(head, sizeof(head), STORE_FEED_MAGIC " %016" PRIx64, node_id(s));
	enum store_err err = STORE_OK;
	if (txn->queue_changed) {
		buf_append(&b, head, (size_t)headlen);
		buf_puts(&b, " q");
		if (txn->nchanged == 0) {
			err = send_payload(txn->db, b.data);
			buf_reset(&b);
		}
	}
	for (size_t i = 0; i < txn->nchanged && err == STORE_OK; i++) {
		const struct store_changed *c = &txn->changed[i];
		if (b.len == 0)
			buf_append(&b, head, (size_t)headlen);
		buf_printf(&b, " %" PRId64 ":%" PRId64 ":%" PRIu64 ":%u", c->account_id,
			   c->mailbox_id, c->modseq, c->mailbox_events);
		if (b.len > STORE_FEED_PAYLOAD_MAX - STORE_FEED_ENTRY_MAX || i + 1 == txn->nchanged) {
			err = send_payload(txn->db, b.data);
			buf_reset(&b);
		}
	}
	buf_free(&b);
	if (err != STORE_OK)
		log_error("store: change feed NOTIFY failed: %s", db_errmsg(txn->db));
	return err;
}

#ifdef ROOST_HAVE_PG

static bool parse_u64(const char **p, char end, uint64_t *v_r)
{
	const char *q = *p;
	uint64_t v = 0;
	if (*q < '0' || *q > '9')
		return false;
	for (; *q >= '0' && *q <= '9'; q++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*q - '0');
	}
	if (*q != end)
		return false;
	*p = end == '\0' ? q : q + 1;
	*v_r = v;
	return true;
}

static bool parse_entry(const char **p, struct store_changed *c_r)
{
	uint64_t acct, mbox, modseq, events;
	const char *q = *p;
	const char *space = strchr(q, ' ');
	char last = space != NULL ? ' ' : '\0';
	if (!parse_u64(&q, ':', &acct) || !parse_u64(&q, ':', &mbox) ||
	    !parse_u64(&q, ':', &modseq) || !parse_u64(&q, last, &events))
		return false;
	if (acct == 0 || acct > INT64_MAX || mbox == 0 || mbox > INT64_MAX || events > UINT32_MAX)
		return false;
	*c_r = (struct store_changed){.account_id = (int64_t)acct, .mailbox_id = (int64_t)mbox,
				      .modseq = modseq, .mailbox_events = (unsigned)events};
	*p = q;
	return true;
}

/* Ask the loop to resynchronise every watcher (s->lock held). */
static void want_resync_locked(struct store *s)
{
	s->feed_resync = true;
}

/* Listener thread: one notification. */
static void on_notify(void *ctx, const char *payload)
{
	struct store *s = ctx;
	char own[32];
	snprintf(own, sizeof(own), STORE_FEED_MAGIC " %016" PRIx64 " ", s->node_id);
	size_t magic = sizeof(STORE_FEED_MAGIC " ") - 1;
	if (strncmp(payload, own, strlen(own)) == 0)
		return; /* our own commit: the writer has queued it already */
	struct store_changed entries[STORE_FEED_PAYLOAD_MAX / 8];
	size_t n = 0;
	bool queued = false;
	bool ok = strncmp(payload, STORE_FEED_MAGIC " ", magic) == 0 &&
		  strlen(payload) > magic + 16 && payload[magic + 16] == ' ';
	for (const char *p = payload + magic + 17; ok && *p != '\0';) {
		if (n == 0 && !queued && p[0] == 'q' && (p[1] == ' ' || p[1] == '\0')) {
			queued = true;
			p += p[1] == ' ' ? 2 : 1;
		} else if (n == sizeof(entries) / sizeof(entries[0]) ||
			   !parse_entry(&p, &entries[n]))
			ok = false;
		else
			n++;
	}
	pthread_mutex_lock(&s->lock);
	if (!ok) {
		/* not one of ours, or garbled: catch up from the database */
		if (!s->feed_resync)
			log_warn("change feed: unreadable notification (%zu bytes): resynchronising",
				 strlen(payload));
		want_resync_locked(s);
	} else if (s->nfeed + n > STORE_FEED_REMOTE_MAX) {
		want_resync_locked(s);
	} else if (n > 0) {
		s->feed_queue |= queued;
		s->feed = xgrow(s->feed, &s->feed_cap, s->nfeed + n, sizeof(*s->feed));
		memcpy(s->feed + s->nfeed, entries, n * sizeof(*entries));
		s->nfeed += n;
	} else {
		s->feed_queue |= queued;
	}
	pthread_mutex_unlock(&s->lock);
	event_active(s->done_ev, EV_READ, 0);
}

/* Base thread: the resynchronisation asked for. Its reads must see the
 * database: after a restart of PostgreSQL the loop's reader may still
 * hold the dead connection, and a watcher whose read fails would miss
 * the change for good. So probe first, and try again a little later
 * while the probe fails. */
static void resync_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->lock);
	want_resync_locked(s);
	pthread_mutex_unlock(&s->lock);
	event_active(s->done_ev, EV_READ, 0);
}

void store_feed_nodes_resync(struct store *s)
{
	struct db_stmt *st = store_prepare(store_reader(s), "SELECT 1");
	int rc = st != NULL ? db_step(st) : DB_ERROR;
	if (st != NULL)
		db_reset(st);
	if (rc == DB_ROW || s->resync_timer == NULL) {
		store_feed_resync(s);
		return;
	}
	struct timeval tv = {.tv_sec = 0, .tv_usec = STORE_FEED_RESYNC_RETRY_MS * 1000};
	evtimer_add(s->resync_timer, &tv);
}

/* Listener thread: LISTEN took effect on a new connection. */
static void on_listening(void *ctx, int backend_pid)
{
	struct store *s = ctx;
	log_info("change feed: listening (backend pid %d)", backend_pid);
	pthread_mutex_lock(&s->lock);
	want_resync_locked(s);
	pthread_mutex_unlock(&s->lock);
	event_active(s->done_ev, EV_READ, 0);
}

void store_feed_nodes_start(struct store *s)
{
	if (!store_on_pg(s) || s->done_ev == NULL)
		return;
	node_id(s);
	s->resync_timer = evtimer_new(s->base, resync_retry_cb, s);
	struct pg_listen_callbacks cb = {.notify = on_notify, .listening = on_listening, .ctx = s};
	char *error = NULL;
	s->listener = pg_listen_start(s->settings.pg_conninfo, STORE_FEED_CHANNEL, &cb, &error);
	if (s->listener == NULL) {
		/* only without memory or threads: changes from other nodes
		 * then reach this node's sessions at their next command */
		log_error("change feed: no listener: %s", error);
		free(error);
	}
}

void store_feed_nodes_stop(struct store *s)
{
	pg_listen_stop(s->listener);
	s->listener = NULL;
	if (s->resync_timer != NULL)
		event_free(s->resync_timer);
	s->resync_timer = NULL;
}

#else

void store_feed_nodes_resync(struct store *s)
{
	store_feed_resync(s);
}

void store_feed_nodes_start(struct store *s)
{
	(void)s;
}

void store_feed_nodes_stop(struct store *s)
{
	(void)s;
}

#endif
