/*
 * serve: the daemon, `roost serve`. One process: the event loop thread
 * (every listener and connection), the store's writer thread (group
 * commit) and the control thread (CLI commands, see control.h).
 *
 * Start-up order: lock the data directory (a second serve refuses),
 * chown it to server.user when started as root, open the store, build the
 * TLS context, start the protocol listeners and the control socket, drop
 * root, start the writer and control threads, then run the loop.
 * SIGHUP: reload (daemon/reload.h). Under systemd (Type=notify) it
 * reports READY=1 once serving, RELOADING=1 around a reload, STOPPING=1.
 * SIGTERM/SIGINT: stop accepting, close connections (waiting at most
 * SERVE_DRAIN_MS for them), stop the control thread, close the store
 * (which drains the writer) and return 0.
 */
#ifndef ROOST_SERVE_H
#define ROOST_SERVE_H
#include "lib/config.h"
#include "daemon/control.h"
#include "daemon/reload.h"

struct config;

/* How long shutdown waits for open connections to finish. */
#define SERVE_DRAIN_MS 5000

/* Run until a signal asks to stop; control-socket requests go to
 * control_run (the CLI's dispatcher, see control.h). Returns the process
 * exit code; start-up failures print one line "roost: <reason>" to stderr
 * and return 1. */
int serve_run(struct config *cfg, control_run_fn *control_run);
/* How SIGHUP rebuilds the configuration (roost.conf plus the command
 * line's overrides); without it a reload only logs. See reload.h. */
void serve_set_reload(serve_reload_fn *fn);

/* This module's configuration keys (daemon-config.c): the
 * daemon's own, beside the ones each protocol declares. */
extern const struct config_key daemon_config_keys[];
#endif
