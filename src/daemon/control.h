/*
 * control: the local socket through which the `roost` CLI runs admin
 * commands inside a running daemon (so deliveries and account changes go
 * through the daemon's storage writer and notify its sessions).
 *
 * The socket (config control.socket, a unix stream socket, mode 0600)
 * is served by a dedicated thread and its workers, never the event loop:
 * commands call the blocking store_run(). One request per connection, a
 * few connections at once; only root and the daemon's own user may
 * connect (SO_PEERCRED).
 *
 * Wire format (all integers big-endian):
 *   request:  u32 magic "ROST", u32 version 1, u32 argc,
 *             argc x (u32 len, bytes), u64 stdin_len, stdin bytes
 *   reply:    u32 exit code, u64 out_len, out bytes, u64 err_len, err bytes
 * argc <= CONTROL_MAX_ARGS, each arg <= CONTROL_MAX_ARG bytes, stdin and
 * each output <= CONTROL_MAX_DATA. Exit codes are sysexits(3) values.
 *
 * The daemon does not know the command language: whoever starts it (the
 * CLI's `roost serve`, the layer above) hands in a control_run_fn that
 * looks argv up in its grammar table and runs the command. So the daemon
 * never includes cli/, and the dependency points one way.
 */
#ifndef ROOST_CONTROL_H
#define ROOST_CONTROL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;
struct store;

#define CONTROL_MAGIC 0x524f5354u /* "ROST" */
#define CONTROL_VERSION 1u
/* Most words and longest word in a request (the CLI's own limits are
 * checked against these at compile time, cli/cmd-serve.c). */
#define CONTROL_MAX_ARGS 1024
#define CONTROL_MAX_ARG 4096
/* Largest stdin or output carried (a message is at most CLI_MAX_MESSAGE). */
#define CONTROL_MAX_DATA ((uint64_t)1 << 30)
/* A peer that stalls this long in one read or write is dropped (also
 * bounds how long shutdown waits for a stuck client). */
#define CONTROL_IO_TIMEOUT_S 10

/* One request as a control thread hands it to the runner: the daemon's
 * config and store, argv as sent, and streams bound to the request's
 * stdin bytes and to memory buffers that become the reply. */
struct control_request {
	struct config *cfg;
	struct store *store;
	int argc;
	char **argv;
	FILE *in, *out, *err;
};

/* Run one request (on a control thread: may block on store_run()).
 * Returns the exit code; *name_r names the command for the log (a static
 * string), or stays NULL when argv named none. Errors go to req->err. */
typedef int control_run_fn(const struct control_request *req, const char **name_r);

/* Daemon side. Bind and listen on control.socket (replacing a stale
 * socket file). Called before dropping privileges. */
int control_listen(struct config *cfg, char **error_r);
/* Start the control threads serving commands with this config and store
 * through `run`. */
int control_start(struct config *cfg, struct store *store, control_run_fn *run, char **error_r);
/* Stop accepting, finish the command in progress, join the thread,
 * remove the socket file. */
void control_stop(void);

/* CLI side. Connect to a running daemon: 0 and *fd_r; -1 when no daemon
 * is listening (missing or stale socket: the caller then works on the
 * data directory itself); otherwise a one-line reason on err and an exit
 * code. */
int control_client_connect(const char *socket_path, int *fd_r, FILE *err);
/* Run argv in the daemon over fd (then closed): copy the command's output
 * to out and err and return its exit code. */
int control_client_run(int fd, int argc, char **argv, const char *input, size_t input_len,
		       FILE *out, FILE *err);

/* Framing helpers shared by both sides: full reads/writes on a blocking
 * socket. 0, or -1 on error/EOF/timeout. */
int control_write_all(int fd, const void *p, size_t n);
int control_read_all(int fd, void *p, size_t n);
int control_write_u32(int fd, uint32_t v);
int control_write_u64(int fd, uint64_t v);
int control_read_u32(int fd, uint32_t *v_r);
int control_read_u64(int fd, uint64_t *v_r);
/* A sockaddr_un for path even when path is longer than sun_path allows
 * (through /proc/self/fd/N/name of its directory). dirfd_r is closed by
 * the caller when >= 0. */
int control_sockaddr(const char *path, void *sun_r, unsigned *len_r, int *dirfd_r);
#endif
