/*
 * control: the daemon side of the control socket (see control.h). A
 * small fixed pool of control threads (CONTROL_THREADS) each accept from
 * the one non-blocking listening socket; the thread that wins a
 * connection reads the command, hands it to the runner the caller gave
 * control_start() (the CLI's dispatcher: the same command function the
 * CLI would run itself) with stdin, stdout and stderr bound to memory
 * streams, and sends back the exit code and both outputs. Concurrent
 * `roost deliver` runs thus share the store writer's group commits. The
 * pool is fixed, not a thread per connection, because the store keeps one
 * read connection per thread for the life of the store.
 */
#include "daemon/control.h"
#include "lib/alloc.h"
#include "lib/config.h"
#include "lib/log.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

/* Commands run at once; more wait in the listen backlog. */
#define CONTROL_THREADS 4
/* Exit code of a command that failed at run time (the CLI's 1). */
#define CONTROL_EX_ERROR 1
/* Pause after a failed accept() (EMFILE and the like). */
#define CONTROL_ACCEPT_BACKOFF_MS 100

static struct {
	int listen_fd;
	int wake[2];		/* control_stop() writes here to end the thread */
	char *path;
	struct config *cfg;
	struct store *store;
	control_run_fn *run;
	pthread_t threads[CONTROL_THREADS];
	int nthreads;
} ctl = {.listen_fd = -1, .wake = {-1, -1}};

int control_listen(struct config *cfg, char **error_r)
{
	const char *path = config_path(cfg, "control.socket");
	if (path[0] == '\0')
		return 0;
	/* Bind under a temporary name, listen, then rename into place: a CLI
	 * that sees the socket file can always connect to it. */
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	struct sockaddr_un sun;
	unsigned len;
	int dirfd = -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(tmp);
	mode_t old_umask = umask(0177);
	bool ok = fd >= 0 && control_sockaddr(tmp, &sun, &len, &dirfd) == 0 &&
		  bind(fd, (struct sockaddr *)&sun, len) == 0;
	umask(old_umask);
	ok = ok && chmod(tmp, 0600) == 0 && listen(fd, 16) == 0 && rename(tmp, path) == 0;
	int saved = errno;
	if (dirfd >= 0)
		close(dirfd);
	if (!ok) {
		*error_r = xasprintf("control.socket %s: %s", path, strerror(saved));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	ctl.listen_fd = fd;
	ctl.path = xstrdup(path);
	return 0;
}

/* Only root and the daemon's own user may run admin commands. */
static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void send_reply(int fd, int code, const char *out, size_t outlen, const char *err,
		       size_t errlen)
{
	if (control_write_u32(fd, (uint32_t)code) == 0 && control_write_u64(fd, outlen) == 0 &&
	    control_write_all(fd, out, outlen) == 0 && control_write_u64(fd, errlen) == 0)
		control_write_all(fd, err, errlen);
}

/* After refusing a request: let the peer read the reply. Closing with
 * unread input would reset the connection and lose it, so read what the
 * peer still sends, bounded in bytes and time. */
#define CONTROL_DRAIN_MAX 65536
#define CONTROL_DRAIN_TIMEOUT_MS 500

static void drain_input(int fd)
{
	struct timeval tv = {0, CONTROL_DRAIN_TIMEOUT_MS * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	shutdown(fd, SHUT_WR);
	char buf[4096];
	size_t total = 0;
	ssize_t n;
	while (total < CONTROL_DRAIN_MAX && (n = recv(fd, buf, sizeof(buf), 0)) > 0)
		total += (size_t)n;
}

static void reply_error(int fd, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_error(int fd, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	char *line = xasprintf("roost: %s\n", msg);
	send_reply(fd, code, "", 0, line, strlen(line));
	free(line);
	free(msg);
}

/* Run one request through the runner; outputs in out_r and err_r. */
static int run_command(int argc, char **argv, char *input, size_t input_len, const char **name_r,
		       char **out_r, size_t *outlen_r, char **err_r, size_t *errlen_r)
{
	struct control_request req = {
		.cfg = ctl.cfg,
		.store = ctl.store,
		.argc = argc,
		.argv = argv,
	};
	req.in = input_len > 0 ? fmemopen(input, input_len, "r") : fopen("/dev/null", "r");
	req.out = open_memstream(out_r, outlen_r);
	req.err = open_memstream(err_r, errlen_r);
	if (req.in == NULL || req.out == NULL || req.err == NULL)
		fatal("control: cannot create memory streams: %s", strerror(errno));
	int code = ctl.run(&req, name_r);
	fclose(req.in);
	fclose(req.out);
	fclose(req.err);
	return code;
}

static void serve_one(int fd)
{
	uint32_t magic, version, argc;
	char **argv = NULL;
	uint32_t nread = 0;
	char *input = NULL;
	uint64_t input_len = 0;
	if (control_read_u32(fd, &magic) < 0 || control_read_u32(fd, &version) < 0 ||
	    magic != CONTROL_MAGIC || version != CONTROL_VERSION ||
	    control_read_u32(fd, &argc) < 0 || argc > CONTROL_MAX_ARGS) {
		reply_error(fd, EX_USAGE, "control: bad request");
		drain_input(fd);
		return;
	}
	argv = xcalloc(argc + 1, sizeof(*argv));
	for (; nread < argc; nread++) {
		uint32_t len;
		if (control_read_u32(fd, &len) < 0 || len > CONTROL_MAX_ARG)
			goto bad;
		argv[nread] = xmalloc(len + 1);
		if (control_read_all(fd, argv[nread], len) < 0)
			goto bad_arg;
		argv[nread][len] = '\0';
		if (strlen(argv[nread]) != len)
			goto bad_arg; /* an embedded NUL */
	}
	if (control_read_u64(fd, &input_len) < 0 || input_len > CONTROL_MAX_DATA)
		goto bad;
	input = xmalloc(input_len + 1);
	if (control_read_all(fd, input, input_len) < 0)
		goto bad;

	const char *name = NULL;
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	int code = run_command((int)argc, argv, input, input_len, &name, &out, &outlen, &err,
			       &errlen);
	if (name != NULL)
		log_info("control: %s: exit %d", name, code);
	if (outlen > CONTROL_MAX_DATA || errlen > CONTROL_MAX_DATA)
		reply_error(fd, CONTROL_EX_ERROR, "%s: output too large", name ? name : "command");
	else
		send_reply(fd, code, out, outlen, err, errlen);
	free(out);
	free(err);
	goto out;
bad_arg:
	nread++;
bad:
	reply_error(fd, EX_USAGE, "control: bad request");
	drain_input(fd);
out:
	/* stdin may have carried a password */
	if (input != NULL) {
		wipe(input, input_len);
		free(input);
	}
	for (uint32_t i = 0; i < nread; i++)
		free(argv[i]);
	free(argv);
}

static void *control_main(void *arg)
{
	struct pollfd pfd[2] = {
		{.fd = ctl.listen_fd, .events = POLLIN},
		{.fd = ctl.wake[0], .events = POLLIN},
	};
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("control: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		/* Another control thread may have taken it: EAGAIN. */
		int fd = accept4(ctl.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			/* Out of descriptors or memory: back off instead of
			 * spinning on a listener that stays readable. */
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				poll(&pfd[1], 1, CONTROL_ACCEPT_BACKOFF_MS);
			continue;
		}
		if (!peer_allowed(fd)) {
			log_warn("control: refused a client of another user");
			close(fd);
			continue;
		}
		struct timeval tv = {.tv_sec = CONTROL_IO_TIMEOUT_S};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		serve_one(fd);
		close(fd);
	}
	return NULL;
}

int control_start(struct config *cfg, struct store *store, control_run_fn *run, char **error_r)
{
	if (ctl.listen_fd < 0)
		return 0;
	ctl.cfg = cfg;
	ctl.store = store;
	ctl.run = run;
	if (pipe2(ctl.wake, O_CLOEXEC) < 0) {
		*error_r = xasprintf("control: pipe: %s", strerror(errno));
		return -1;
	}
	int flags = fcntl(ctl.listen_fd, F_GETFL);
	if (flags < 0 || fcntl(ctl.listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		*error_r = xasprintf("control: fcntl: %s", strerror(errno));
		return -1;
	}
	/* Signals belong to the event loop thread, not these. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = 0;
	while (ctl.nthreads < CONTROL_THREADS &&
	       (r = pthread_create(&ctl.threads[ctl.nthreads], NULL, control_main, NULL)) == 0)
		ctl.nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		*error_r = xasprintf("control: cannot start its threads: %s", strerror(r));
		return -1;
	}
	return 0;
}

void control_stop(void)
{
	if (ctl.nthreads > 0) {
		/* Never read: every thread's poll() sees it. Commands in
		 * progress finish first (each I/O step is bounded by
		 * CONTROL_IO_TIMEOUT_S). */
		char c = 0;
		if (write(ctl.wake[1], &c, 1) < 0)
			log_warn("control: cannot wake the threads: %s", strerror(errno));
		for (int i = 0; i < ctl.nthreads; i++)
			pthread_join(ctl.threads[i], NULL);
		ctl.nthreads = 0;
	}
	for (int i = 0; i < 2; i++) {
		if (ctl.wake[i] >= 0)
			close(ctl.wake[i]);
		ctl.wake[i] = -1;
	}
	if (ctl.listen_fd >= 0) {
		close(ctl.listen_fd);
		ctl.listen_fd = -1;
	}
	if (ctl.path != NULL) {
		unlink(ctl.path);
		xfree(&ctl.path);
	}
}
