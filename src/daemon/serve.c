/* serve: the daemon's start, run and shutdown (see serve.h). */
#include "daemon/serve.h"
#include "acme/acme.h"
#include "auth/auth.h"
#include "daemon/control.h"
#include "daemon/privdrop.h"
#include "daemon/reload.h"
#include "http/http.h"
#include "imap/imap.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/membudget.h"
#include "lib/proxy-proto.h"
#include "lib/registry.h"
#include "lib/tls.h"
#include "lib/trace.h"
#include "lib/version.h"
#include "lib/workers.h"
#include "outbound/outbound.h"
#include "pop3/pop3.h"
#include "managesieve/managesieve.h"
#include "smtp/smtp.h"
#include "store/store.h"
#include "store/store-config.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <systemd/sd-daemon.h>

/* How often shutdown checks whether the connections are gone. */
#define SERVE_DRAIN_POLL_MS 50

/* Listener keys announced at start-up, in this order. */
static const char *const serve_protocols[] = {"imap", "imaps", "pop3", "pop3s",
					      "smtp", "submission", "submissions",
					      "lmtp", "http", "https", "managesieve"};

struct serve {
	struct config *cfg;
	control_run_fn *control_run;
	struct event_base *base;
	struct event *sigterm, *sigint, *sighup, *drain;
	struct conn_limits limits; /* kept for a reload of the certificate */
	struct timespec drain_deadline;
	bool stopping;
	int lock_fd;
};

static serve_reload_fn *serve_reload;

void serve_set_reload(serve_reload_fn *fn)
{
	serve_reload = fn;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	/* The same one-line form as every CLI error (stderr is the log too). */
	fprintf(stderr, "roost: %s\n", msg);
	free(msg);
	return 1;
}

/* One `roost serve` per data directory: an exclusive flock on
 * DIR/roost.lock, held until the process exits. */
static int lock_datadir(struct serve *sv)
{
	const char *dir = config_datadir(sv->cfg);
	char *path = xasprintf("%s/roost.lock", dir);
	sv->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	int ret = 0;
	if (sv->lock_fd < 0)
		ret = fail("%s: %s", path, strerror(errno));
	else if (flock(sv->lock_fd, LOCK_EX | LOCK_NB) < 0)
		ret = errno == EWOULDBLOCK ?
			      fail("another roost serve is already running on %s", dir) :
			      fail("%s: %s", path, strerror(errno));
	free(path);
	return ret == 0 ? 0 : -1;
}

static bool past(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve *sv = arg;
	size_t open = conn_count();
	if (open == 0 || past(&sv->drain_deadline)) {
		if (open > 0)
			log_warn("shutdown: %zu connections still open after %d ms", open,
				 SERVE_DRAIN_MS);
		event_base_loopbreak(sv->base);
	}
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct serve *sv = arg;
	if (sv->stopping) {
		log_warn("second signal: stopping now");
		event_base_loopbreak(sv->base);
		return;
	}
	sv->stopping = true;
	sd_notify(0, "STOPPING=1");
	log_info("shutdown: signal %d, closing %zu connections", (int)sig, conn_count());
	conn_listen_stop_all();
	http_stop();
	conn_close_all();
	clock_gettime(CLOCK_MONOTONIC, &sv->drain_deadline);
	sv->drain_deadline.tv_sec += SERVE_DRAIN_MS / 1000;
	sv->drain_deadline.tv_nsec += (long)(SERVE_DRAIN_MS % 1000) * 1000000L;
	if (sv->drain_deadline.tv_nsec >= 1000000000L) {
		sv->drain_deadline.tv_sec++;
		sv->drain_deadline.tv_nsec -= 1000000000L;
	}
	struct timeval tv = {0, SERVE_DRAIN_POLL_MS * 1000};
	sv->drain = event_new(sv->base, -1, EV_PERSIST, drain_cb, sv);
	event_add(sv->drain, &tv);
}

/* SIGHUP (systemctl reload): see daemon/reload.h. */
static void sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct serve *sv = arg;
	if (sv->stopping)
		return;
	sd_notify(0, "RELOADING=1");
	log_info("reload: signal %d, reading the configuration again", (int)sig);
	reload_run(sv->cfg, serve_reload, sv->base, &sv->limits);
	sd_notify(0, "READY=1");
}

/* A certificate from ACME is on disk: load it like SIGHUP does. */
static int acme_installed(void *arg, char **error_r)
{
	struct serve *sv = arg;
	if (sv->stopping)
		return 0;
	return reload_certificate(sv->cfg, sv->base, &sv->limits, error_r);
}

static void log_startup(struct config *cfg)
{
	struct buf b;
	buf_init(&b, 4096);
	buf_printf(&b, "roost %s serving in %s:", ROOST_VERSION, config_datadir(cfg));
	for (size_t i = 0; i < sizeof(serve_protocols) / sizeof(serve_protocols[0]); i++) {
		char *key = xasprintf("%s.listen", serve_protocols[i]);
		const char *v = config_str(cfg, key);
		buf_printf(&b, " %s=%s", serve_protocols[i], *v ? v : "off");
		free(key);
	}
	const char *ctl = config_path(cfg, "control.socket");
	buf_printf(&b, " control=%s tls=%s", *ctl ? ctl : "off",
		   *config_str(cfg, "tls.cert") ? "on" : "off");
	log_info("%s", b.data);
	buf_free(&b);
	log_info("memory budget: %zu bytes", membudget_limit());
}

/* Every client connection is a descriptor: raise the soft limit to the
 * hard one, so server.max_connections is not silently capped by a shell's
 * default of 1024. Warn when the limit still cannot hold max_connections. */
static void raise_fd_limit(struct config *cfg)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t before = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			rl.rlim_cur = before;
	}
	if (rl.rlim_cur != before)
		log_info("open file limit raised from %llu to %llu", (unsigned long long)before,
			 (unsigned long long)rl.rlim_cur);
	int64_t want = config_int(cfg, "server.max_connections");
	if (rl.rlim_cur != RLIM_INFINITY && want > 0 && (rlim_t)want + 64 > rl.rlim_cur)
		log_warn("open file limit %llu is below server.max_connections=%lld (plus 64 for "
			 "listeners and the store): connections past it fail at accept",
			 (unsigned long long)rl.rlim_cur, (long long)want);
}

static int allow_plaintext(struct config *cfg)
{
	const char *v = config_str(cfg, "auth.allow_plaintext");
	return strcmp(v, "no") == 0 ? 0 : strcmp(v, "yes") == 0 ? 2 : 1;
}

/* Everything up to running the loop; -1 after printing why. */
static int serve_start(struct serve *sv, struct store **store_r, struct privdrop *drop)
{
	struct config *cfg = sv->cfg;
	char *error = NULL;
	const char *user = config_str(cfg, "server.user");
	bool root = geteuid() == 0;

	if (lock_datadir(sv) < 0)
		return -1;
	/* before the data directory is handed to server.user (privdrop) */
	trace_start(config_datadir(cfg), config_size(cfg, "trace.max_bytes"));
	if (root && !privdrop_stays_root(user) &&
	    privdrop_prepare(drop, user, config_datadir(cfg), &error) < 0)
		goto fail;

	struct store_settings settings;
	if (store_config_settings(cfg, &settings, &error) < 0)
		goto fail;
	if (drop->user != NULL && settings.content_dir[0] != '\0' &&
	    privdrop_hand_dir(drop, settings.content_dir, &error) < 0)
		goto fail;
	if (store_open(config_datadir(cfg), &settings, store_r, &error) != STORE_OK)
		goto fail;

	/* an issued ACME certificate replaces tls.cert/tls.key */
	if (acme_config_apply(cfg, &error) < 0)
		goto fail;
	SSL_CTX *ssl_ctx = NULL;
	const char *cert = config_path(cfg, "tls.cert");
	if (*cert) {
		ssl_ctx = tls_server_ctx_new(cert, config_path(cfg, "tls.key"), &error);
		if (ssl_ctx == NULL ||
		    tls_server_ctx_policy(ssl_ctx, config_str(cfg, "tls.min_version"),
					  config_str(cfg, "tls.ciphers"),
					  config_str(cfg, "tls.ciphersuites"), &error) < 0) {
			SSL_CTX_free(ssl_ctx);
			goto fail;
		}
	}
	struct conn_limits limits = sv->limits = (struct conn_limits){
		.max_connections = config_int(cfg, "server.max_connections"),
		.max_connections_per_ip = config_int(cfg, "server.max_connections_per_ip"),
		.allow_plaintext = allow_plaintext(cfg),
		.line_timeout_ms = config_ms(cfg, "server.line_timeout"),
		.output_stall_ms = config_ms(cfg, "server.output_stall_timeout"),
		.login_timeout_ms = config_ms(cfg, "server.login_timeout"),
	};
	raise_fd_limit(cfg);
	membudget_init(membudget_limit_for(config_size(cfg, "server.memory_budget")));
	conn_global_init(sv->base, &limits, ssl_ctx);
	if (proxy_configure(config_str(cfg, "proxy.protocol"), config_str(cfg, "proxy.trusted"),
			    &error) < 0) {
		SSL_CTX_free(ssl_ctx);
		goto fail;
	}
	auth_configure(cfg);
	int64_t nw = config_int(cfg, "auth.workers"), nmin = config_int(cfg, "server.worker_threads");
	nw = nw > 0 ? nw : sysconf(_SC_NPROCESSORS_ONLN); /* hashing is CPU-bound: one per core */
	workers_start(sv->base, (int)(nw > nmin ? nw : nmin));

	if (smtp_start(cfg, *store_r, &error) < 0 || pop3_start(cfg, *store_r, &error) < 0 ||
	    imap_start(cfg, *store_r, &error) < 0 || control_listen(cfg, &error) < 0 ||
	    http_start(cfg, *store_r, ssl_ctx, &error) < 0 ||
	    managesieve_start(cfg, *store_r, &error) < 0) {
		SSL_CTX_free(ssl_ctx);
		goto fail;
	}
	SSL_CTX_free(ssl_ctx); /* conn and http hold their own references */
	/* Every port is bound: root is no longer needed. */
	if (drop->user != NULL) {
		if (privdrop_switch(drop, &error) < 0)
			goto fail;
		log_info("running as user %s", drop->user);
	}
	if (store_writer_start(*store_r, sv->base) < 0) {
		error = xstrdup("cannot start the storage writer thread");
		goto fail;
	}
	if (control_start(cfg, *store_r, sv->control_run, &error) < 0)
		goto fail;
	/* after the drop: DATADIR/acme/ belongs to server.user */
	if (acme_start(cfg, sv->base, acme_installed, sv, &error) < 0)
		goto fail;
	return 0;
fail:
	fail("%s", error != NULL ? error : "start-up failed");
	free(error);
	return -1;
}

int serve_run(struct config *cfg, control_run_fn *control_run)
{
	struct serve sv = {.cfg = cfg, .control_run = control_run, .lock_fd = -1};
	struct store *store = NULL;
	struct privdrop drop = {0};
	enum log_level level;
	if (log_parse_level(config_str(cfg, "log.level"), &level) == 0)
		log_set_level(level);
	log_set_format(config_str(cfg, "log.format"));
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	sv.base = event_base_new();
	if (sv.base == NULL)
		return fail("cannot create the event loop");
	registry_start(sv.base); /* control threads end sessions through it */

	/* SIGHUP before anything listens: a reload sent as soon as the ports
	 * answer would otherwise end the daemon (SIGHUP's default action).
	 * It waits for the loop to run. SIGTERM keeps its default until
	 * then, so a start that hangs can still be stopped. */
	sv.sighup = evsignal_new(sv.base, SIGHUP, sighup_cb, &sv);
	event_add(sv.sighup, NULL);
	int code = 1;
	if (serve_start(&sv, &store, &drop) == 0) {
		sv.sigterm = evsignal_new(sv.base, SIGTERM, signal_cb, &sv);
		sv.sigint = evsignal_new(sv.base, SIGINT, signal_cb, &sv);
		event_add(sv.sigterm, NULL);
		event_add(sv.sigint, NULL);
		log_startup(cfg);
		/* the outbound queue's scheduler: after the writer (it submits
		 * ops) and the signal handlers (its resolver takes a moment) */
		char *error = NULL;
		bool outbound_ok = outbound_start(cfg, store, sv.base, &error) == 0;
		if (!outbound_ok) {
			fail("%s", error);
			free(error);
		} else {
			/* systemd Type=notify: every port is bound, the writer runs */
			sd_notify(0, "READY=1\nSTATUS=serving");
			event_base_dispatch(sv.base);
		}
		log_info("shutdown: stopping");
		/* After the drain every transfer has ended: anything still
		 * in use is a leak (or a connection that would not close). */
		log_info("memory budget: %zu of %zu bytes in use at shutdown", membudget_used(),
			 membudget_limit());
		code = outbound_ok ? 0 : 1;
	}
	/* Order matters: the control thread may be inside store_run(), which
	 * needs the writer; the writer is drained by store_close(). */
	acme_stop();
	outbound_stop();
	registry_stop(); /* answers a control thread waiting on the loop */
	control_stop();
	conn_listen_stop_all();
	http_stop();
	workers_stop();
	store_close(&store);
	if (sv.drain != NULL)
		event_free(sv.drain);
	if (sv.sigterm != NULL)
		event_free(sv.sigterm);
	if (sv.sigint != NULL)
		event_free(sv.sigint);
	if (sv.sighup != NULL)
		event_free(sv.sighup);
	event_base_free(sv.base);
	privdrop_clear(&drop);
	if (sv.lock_fd >= 0)
		close(sv.lock_fd);
	if (code == 0)
		log_info("shutdown: done");
	return code;
}
