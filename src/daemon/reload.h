/*
 * reload: what SIGHUP does to a running daemon. roost.conf is read again
 * (with the same `serve --set` overrides, through the caller's
 * serve_reload_fn); the certificate and key are loaded again even when
 * their paths did not change (a renewed certificate is the usual reason
 * for a reload); the keys in reload_live_keys[] take effect at once; every
 * other changed key is logged as needing a restart and keeps its running
 * value, so what the daemon reports (autoconfig, logs) stays what it
 * actually does. A reload that fails changes nothing.
 */
#ifndef ROOST_DAEMON_RELOAD_H
#define ROOST_DAEMON_RELOAD_H
#include "lib/config.h"
#include "lib/conn.h"

/* Build the configuration anew: roost.conf plus the command line's
 * overrides. NULL with *error_r on failure. */
typedef struct config *serve_reload_fn(const char *datadir, char **error_r);

/* Keys that change live, NULL-terminated. */
extern const char *const reload_live_keys[];

/* Reload into `live`. limits are the running connection limits (kept).
 * 0, or -1 after logging why nothing changed. Event loop thread. */
int reload_run(struct config *live, serve_reload_fn *fn, struct event_base *base,
	       const struct conn_limits *limits);
/* Load live's tls.cert/tls.key/policy into every TLS listener the way a
 * reload does (new connections get it, open ones keep theirs): 0, or -1
 * with *error_r and nothing changed. Event loop thread (the ACME
 * manager's acme_installed_fn). */
int reload_certificate(struct config *live, struct event_base *base,
		       const struct conn_limits *limits, char **error_r);
#endif
