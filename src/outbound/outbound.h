/*
 * outbound: delivery of the outbound queue (store/store-queue.h) to the
 * remote MXs, on the daemon's event loop.
 *
 * The scheduler (scheduler.c) reads due recipients from the store, groups
 * them per destination domain, resolves each domain's mail route (dns/)
 * and runs SMTP client sessions (smtp-client.c) within the concurrency
 * limits, several messages per session. Results go back to the store in
 * one op per message and destination, together with the DSN they cause
 * (dsn.c), which is itself a queued message: delivered to the sender's
 * mailbox when local, else sent like any other. Recipients of hosted
 * domains (DSNs to local senders) go through the local delivery path.
 */
#ifndef ROOST_OUTBOUND_H
#define ROOST_OUTBOUND_H
#include "lib/config.h"

struct event_base;
struct store;

extern const struct config_key outbound_config_keys[];

/* Start the scheduler on `base` (the daemon's loop, after the store's
 * writer). -1 with *error_r on a bad setting. */
int outbound_start(struct config *cfg, struct store *s, struct event_base *base,
		   char **error_r);
/* Stop: sessions are dropped (their recipients stay pending in the store
 * and are sent again after a restart: see ARCHITECTURE.md, duplicates). */
void outbound_stop(void);
#endif
