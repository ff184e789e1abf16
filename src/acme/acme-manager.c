/*
 * acme-manager: the ACME thread and the files of DATADIR/acme/ (see
 * acme.h). The thread checks the certificate every
 * tls.acme_check_interval, orders a new one when it is missing, does not
 * name every host, or is near its end, writes it atomically and wakes
 * the event loop to load it. A failed attempt is logged and retried with
 * a doubling wait (up to tls.acme_retry_max); the running certificate
 * keeps serving meanwhile.
 */
#include "acme/acme-private.h"
#include "acme/acme-crypto.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "lib/tls.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

/* Largest file read back from DATADIR/acme/ (a chain or a key). */
#define ACME_FILE_MAX (256 * 1024)
/* First wait after a failure (shorter when the check interval is). */
#define ACME_RETRY_FIRST_MS 60000

struct acme_manager {
	struct acme_params params;
	char *dir;
	int64_t renew_before_s, check_ms, retry_max_ms;
	struct config *cfg; /* live; event loop only */
	acme_installed_fn *installed;
	void *ctx;
	struct event *installed_ev;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool stop;
};

static struct acme_manager *manager;

static char *acme_dir(const struct config *cfg)
{
	return xasprintf("%s/acme", config_datadir(cfg));
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool acme_cert_issued(const struct config *cfg)
{
	char *dir = acme_dir(cfg);
	char *cert = xasprintf("%s/cert.pem", dir), *key = xasprintf("%s/key.pem", dir);
	bool issued = file_exists(cert) && file_exists(key);
	free(dir);
	free(cert);
	free(key);
	return issued;
}

int acme_config_apply(struct config *cfg, char **error_r)
{
	if (!config_bool(cfg, "tls.acme"))
		return 0;
	char *dir = acme_dir(cfg);
	char *cert = xasprintf("%s/cert.pem", dir), *key = xasprintf("%s/key.pem", dir);
	int ret = 0;
	if (file_exists(cert) && file_exists(key)) {
		if (config_set(cfg, "tls.cert", cert, error_r) < 0 ||
		    config_set(cfg, "tls.key", key, error_r) < 0)
			ret = -1;
	} else if (*config_str(cfg, "tls.cert") == '\0') {
		*error_r = xstrdup("tls.acme = yes needs a starting certificate in tls.cert "
				   "until the first one is issued (roost init makes one)");
		ret = -1;
	}
	free(dir);
	free(cert);
	free(key);
	return ret;
}

/* The whole file, NUL-terminated, at most ACME_FILE_MAX; NULL if absent
 * or unreadable. */
static char *read_file(const char *path, size_t *len_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	char *data = xmalloc(ACME_FILE_MAX + 1);
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, data + len, ACME_FILE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && len + (size_t)n >= ACME_FILE_MAX)) {
			free(data);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	*len_r = len;
	return data;
}

/* tmp + fsync + rename + fsync of the directory: a crash leaves the old
 * file or the new one, never a part. 0600. */
static int write_atomic(const char *dir, const char *name, const char *data, char **error_r)
{
	char *path = xasprintf("%s/%s", dir, name), *tmp = xasprintf("%s/.%s.tmp", dir, name);
	int ret = -1;
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = xasprintf("%s: %s", tmp, strerror(errno));
		goto out;
	}
	size_t len = strlen(data);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = xasprintf("%s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	ret = 0;
out:
	free(path);
	free(tmp);
	return ret;
}

static EVP_PKEY *account_key(struct acme_manager *m, char **error_r)
{
	char *path = xasprintf("%s/account.key", m->dir);
	size_t len;
	char *pem = read_file(path, &len);
	EVP_PKEY *key = NULL;
	if (pem != NULL) {
		key = acme_key_from_pem(pem, len);
		if (key == NULL)
			*error_r = xasprintf("%s: not a private key", path);
		free(pem);
		free(path);
		return key;
	}
	free(path);
	key = acme_key_new(error_r);
	char *out = key != NULL ? acme_key_pem(key) : NULL;
	if (key != NULL && (out == NULL || write_atomic(m->dir, "account.key", out, error_r) < 0)) {
		if (out == NULL)
			*error_r = xstrdup("account key encoding");
		EVP_PKEY_free(key);
		key = NULL;
	}
	if (out != NULL) {
		OPENSSL_cleanse(out, strlen(out));
		free(out);
	}
	return key;
}

/* Seconds until the certificate should be renewed (<= 0: now), or -1
 * with *why_r when there is no usable one. */
static long renew_in(struct acme_manager *m, const char **why_r)
{
	char *path = xasprintf("%s/cert.pem", m->dir);
	size_t len;
	char *pem = read_file(path, &len);
	free(path);
	time_t nb, na;
	long ret;
	if (pem == NULL) {
		*why_r = "no certificate yet";
		ret = -1;
	} else if (!acme_cert_covers(pem, len, (const char *const *)m->params.hosts,
				     m->params.nhosts)) {
		*why_r = "the certificate does not name every host";
		ret = -1;
	} else if (acme_cert_times(pem, len, &nb, &na) < 0) {
		*why_r = "the certificate cannot be read";
		ret = -1;
	} else {
		/* renew with renew_before left, or a third of the lifetime
		 * when that is less (short-lived certificates) */
		int64_t life = na > nb ? (int64_t)(na - nb) : 0;
		int64_t before = m->renew_before_s < life / 3 ? m->renew_before_s : life / 3;
		ret = (long)((int64_t)na - before - (int64_t)time(NULL));
		*why_r = "the certificate is near its end";
		if (ret < 0)
			ret = 0;
	}
	free(pem);
	return ret;
}

static void installed_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct acme_manager *m = arg;
	char *error = NULL;
	if (acme_config_apply(m->cfg, &error) < 0 || m->installed(m->ctx, &error) < 0) {
		log_warn("acme: the new certificate is on disk but was not loaded: %s", error);
		free(error);
		return;
	}
	log_info("acme: new certificate for %s loaded into every TLS listener",
		 m->params.hosts[0]);
}

/* One attempt: 0 (issued and installed), -1 with *error_r. */
static int attempt(struct acme_manager *m, char **error_r)
{
	if (mkdir(m->dir, 0700) < 0 && errno != EEXIST) {
		*error_r = xasprintf("%s: %s", m->dir, strerror(errno));
		return -1;
	}
	EVP_PKEY *account = account_key(m, error_r);
	if (account == NULL)
		return -1;
	/* the certificate key of the last issue, kept (DANE TLSA 3 1 1 pins it) */
	char *key_path = xasprintf("%s/key.pem", m->dir);
	size_t key_len;
	char *key_pem = read_file(key_path, &key_len);
	EVP_PKEY *cert_key = key_pem != NULL ? acme_key_from_pem(key_pem, key_len) : NULL;
	if (key_pem != NULL && cert_key == NULL)
		log_warn("acme: %s is not a private key: the new certificate gets a new one",
			 key_path);
	if (key_pem != NULL) {
		OPENSSL_cleanse(key_pem, key_len);
		free(key_pem);
	}
	free(key_path);
	struct acme_issued out;
	int ret = acme_issue(&m->params, account, cert_key, &m->stop, &out, error_r);
	EVP_PKEY_free(account);
	EVP_PKEY_free(cert_key);
	if (ret < 0)
		return -1;
	/* the key first: the certificate's arrival is what readers act on */
	ret = write_atomic(m->dir, "key.pem", out.key, error_r) == 0 &&
			      write_atomic(m->dir, "cert.pem", out.chain, error_r) == 0 ?
		      0 :
		      -1;
	time_t nb, na;
	if (ret == 0 && acme_cert_times(out.chain, strlen(out.chain), &nb, &na) == 0) {
		struct tm tm;
		char when[32];
		gmtime_r(&na, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		log_info("acme: certificate issued for %s (%zu names), valid until %s",
			 m->params.hosts[0], m->params.nhosts, when);
	}
	OPENSSL_cleanse(out.key, strlen(out.key));
	free(out.key);
	free(out.chain);
	if (ret == 0)
		event_active(m->installed_ev, EV_TIMEOUT, 0);
	return ret;
}

/* Sleep ms unless stopped; false once stop was asked. */
static bool sleep_ms(struct acme_manager *m, int64_t ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m->lock);
	while (!atomic_load(&m->stop) &&
	       pthread_cond_timedwait(&m->cond, &m->lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&m->lock);
	return !atomic_load(&m->stop);
}

static void *acme_thread(void *arg)
{
	struct acme_manager *m = arg;
	int64_t backoff = 0;
	while (!atomic_load(&m->stop)) {
		const char *why = NULL;
		long in = renew_in(m, &why);
		int64_t wait = m->check_ms;
		if (in <= 0) {
			log_info("acme: ordering a certificate for %s from %s: %s", m->params.hosts[0],
				 m->params.directory, why);
			char *error = NULL;
			if (attempt(m, &error) == 0) {
				backoff = 0;
			} else {
				int64_t first = m->check_ms < ACME_RETRY_FIRST_MS ? m->check_ms :
										    ACME_RETRY_FIRST_MS;
				backoff = backoff == 0 ? first : backoff * 2;
				if (backoff > m->retry_max_ms)
					backoff = m->retry_max_ms;
				if (!atomic_load(&m->stop))
					log_warn("acme: %s failed: %s; retrying in %lld s, the current "
						 "certificate keeps serving",
						 m->params.hosts[0], error ? error : "unknown error",
						 (long long)((backoff + 999) / 1000));
				free(error);
				wait = backoff;
			}
		} else if ((int64_t)in * 1000 < wait) {
			wait = (int64_t)in * 1000 + 1000; /* wake for the renewal itself */
		}
		if (!sleep_ms(m, wait > 0 ? wait : 1000))
			break;
	}
	return NULL;
}

/* A DNS name we are willing to put in JSON and a CSR: LDH labels. */
static bool host_ok(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 253 || strchr(h, '.') == NULL || h[0] == '.' || h[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= '0' && h[i] <= '9') || h[i] == '-' ||
		      (h[i] == '.' && h[i + 1] != '.')))
			return false;
	return true;
}

static bool email_ok(const char *e)
{
	const char *at = strchr(e, '@');
	if (*e == '\0')
		return true;
	if (at == NULL || at == e || strlen(e) > 254)
		return false;
	for (const char *p = e; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '"' ||
		    *p == '\\' || *p == ',')
			return false;
	return true;
}

static int params_load(struct acme_params *p, const struct config *cfg, char **error_r)
{
	const char *hosts = config_str(cfg, "tls.acme_hosts");
	if (*hosts == '\0')
		hosts = config_str(cfg, "server.hostname");
	char *list = xstrdup(hosts);
	for (char *s = list; *s != '\0';) {
		size_t skip = strspn(s, ", \t"), n;
		s += skip;
		if (*s == '\0')
			break;
		n = strcspn(s, ", \t");
		char *h = xstrndup(s, n);
		s += n;
		for (char *c = h; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		if (!host_ok(h) || p->nhosts == ACME_MAX_HOSTS) {
			*error_r = p->nhosts == ACME_MAX_HOSTS ?
					   xasprintf("tls.acme_hosts: more than %d names", ACME_MAX_HOSTS) :
					   xasprintf("tls.acme_hosts: '%.255s' is not a host name", h);
			free(h);
			free(list);
			return -1;
		}
		p->hosts[p->nhosts++] = h;
	}
	free(list);
	if (p->nhosts == 0) {
		*error_r = xstrdup("tls.acme_hosts: no names (and no server.hostname)");
		return -1;
	}
	const char *email = config_str(cfg, "tls.acme_email");
	if (!email_ok(email)) {
		*error_r = xasprintf("tls.acme_email: '%.255s' is not an address", email);
		return -1;
	}
	const char *dir = config_str(cfg, "tls.acme_directory");
	char *h, *port, *path;
	if (acme_https_parse_url(dir, &h, &port, &path) < 0) {
		*error_r = xasprintf("tls.acme_directory: '%.255s' is not an https URL", dir);
		return -1;
	}
	free(h);
	free(port);
	free(path);
	p->directory = xstrdup(dir);
	p->email = xstrdup(email);
	p->ca_file = xstrdup(config_path(cfg, "tls.acme_ca_file"));
	p->challenge = strcmp(config_str(cfg, "tls.acme_challenge"), "tls-alpn-01") == 0 ?
			       ACME_TLS_ALPN_01 :
			       ACME_HTTP_01;
	return 0;
}

static void params_clear(struct acme_params *p)
{
	for (size_t i = 0; i < p->nhosts; i++)
		free(p->hosts[i]);
	free(p->directory);
	free(p->email);
	free(p->ca_file);
	*p = (struct acme_params){0};
}

static void manager_free(struct acme_manager *m)
{
	params_clear(&m->params);
	if (m->installed_ev != NULL)
		event_free(m->installed_ev);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	free(m->dir);
	free(m);
}

int acme_start(struct config *cfg, struct event_base *base, acme_installed_fn *installed,
	       void *ctx, char **error_r)
{
	if (!config_bool(cfg, "tls.acme") || manager != NULL)
		return 0;
	struct acme_manager *m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (params_load(&m->params, cfg, error_r) < 0) {
		manager_free(m);
		return -1;
	}
	if (m->params.challenge == ACME_HTTP_01 && *config_str(cfg, "http.listen") == '\0') {
		*error_r = xstrdup("tls.acme_challenge = http-01 needs http.listen");
		manager_free(m);
		return -1;
	}
	if (m->params.challenge == ACME_TLS_ALPN_01 && *config_str(cfg, "https.listen") == '\0') {
		*error_r = xstrdup("tls.acme_challenge = tls-alpn-01 needs https.listen");
		manager_free(m);
		return -1;
	}
	m->dir = acme_dir(cfg);
	m->renew_before_s = config_ms(cfg, "tls.acme_renew_before") / 1000;
	m->check_ms = config_ms(cfg, "tls.acme_check_interval");
	if (m->check_ms < 1000)
		m->check_ms = 1000;
	m->retry_max_ms = config_ms(cfg, "tls.acme_retry_max");
	if (m->retry_max_ms < 1000)
		m->retry_max_ms = 1000;
	m->cfg = cfg;
	m->installed = installed;
	m->ctx = ctx;
	m->installed_ev = event_new(base, -1, 0, installed_cb, m);
	tls_set_acme_alpn(acme_challenge_alpn_lookup);
	if (pthread_create(&m->thread, NULL, acme_thread, m) != 0) {
		*error_r = xstrdup("cannot start the ACME thread");
		tls_set_acme_alpn(NULL);
		manager_free(m);
		return -1;
	}
	manager = m;
	return 0;
}

void acme_stop(void)
{
	struct acme_manager *m = manager;
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	atomic_store(&m->stop, true);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	tls_set_acme_alpn(NULL);
	manager = NULL;
	manager_free(m);
}
