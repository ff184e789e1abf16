/*
 * dkim-key: DKIM key pairs in the data directory (see dkim.h for the
 * layout): generation with OpenSSL EVP, atomic 0600 files, the signing
 * selector, and the public keys as DNS TXT records (RFC 6376 3.6.1;
 * RFC 8463 3 for k=ed25519, whose p= is the raw 32-byte public key).
 */
#include "dkim/dkim.h"
#include "dkim/dkim-private.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest selector file contents (a selector and a newline). */
#define DKIM_SELECTOR_FILE_MAX (DKIM_MAX_SELECTOR + 2)
/* Most selectors listed for one domain. */
#define DKIM_MAX_SELECTORS 1000
/* A TXT character-string holds at most 255 bytes (RFC 1035 3.3). */
#define DKIM_TXT_STRING_MAX 255


int dkim_selector_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DKIM_MAX_SELECTOR || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* The domain becomes a directory name: the caller validated it as a
 * domain; this only makes sure it cannot leave DATA/dkim/. */
static int domain_safe(const char *d)
{
	return d[0] != '\0' && d[0] != '.' && strchr(d, '/') == NULL && strlen(d) <= 253;
}

static char *domain_dir(const char *datadir, const char *domain)
{
	return xasprintf("%s/dkim/%s", datadir, domain);
}

static int mkdir_p(const char *path, char **error_r)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The key files belong to whoever owns the data directory: a root `roost`
 * writing them for a daemon that runs as server.user must hand them over,
 * or the daemon could not read its own keys. */
static void chown_like_datadir(const char *datadir, int fd_or_neg, const char *path)
{
	struct stat st;
	if (geteuid() != 0 || stat(datadir, &st) < 0)
		return;
	int r = fd_or_neg >= 0 ? fchown(fd_or_neg, st.st_uid, st.st_gid)
		: path != NULL ? chown(path, st.st_uid, st.st_gid) : 0;
	(void)r; /* best effort: the daemon reports an unreadable key */
}

/* Write `data` to `path` atomically with mode 0600. */
static int write_atomic(const char *datadir, const char *path, const void *data, size_t len,
			char **error_r)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		*error_r = xasprintf("%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	chown_like_datadir(datadir, fd, NULL);
	const char *p = data;
	size_t left = len;
	int ok = 1;
	while (left > 0 && ok) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			ok = 0;
		else
			p += w, left -= (size_t)w;
	}
	if (ok && fsync(fd) < 0)
		ok = 0;
	int saved = errno;
	if (close(fd) < 0 && ok)
		ok = 0, saved = errno;
	if (!ok || rename(tmp, path) < 0) {
		if (ok)
			saved = errno;
		*error_r = xasprintf("%s: %s", path, strerror(saved));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	/* The rename is durable once the directory is synced. */
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	free(dir);
	return 0;
}

static char *key_path(const char *datadir, const char *domain, const char *selector,
		      enum dkim_alg alg)
{
	return xasprintf("%s/dkim/%s/%s.%s.pem", datadir, domain, selector, dkim_alg_suffix[alg]);
}

static char *openssl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char msg[256];
	ERR_error_string_n(e, msg, sizeof(msg));
	return xasprintf("%s: %s", what, e != 0 ? msg : "failed");
}

static EVP_PKEY *generate_key(enum dkim_alg alg)
{
	/* RFC 8301 3.2: RSA keys of at least 1024 bits, 2048 recommended. */
	if (alg == DKIM_ALG_RSA)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

static int write_key(const char *datadir, const char *path, EVP_PKEY *key, char **error_r)
{
	BIO *mem = BIO_new(BIO_s_mem());
	if (mem == NULL || !PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(mem);
		*error_r = openssl_error("PEM encoding");
		return -1;
	}
	char *data;
	long len = BIO_get_mem_data(mem, &data);
	int ret = write_atomic(datadir, path, data, (size_t)len, error_r);
	BIO_free(mem); /* BIO_s_mem clears its buffer on free */
	return ret;
}

int dkim_keys_generate(const char *datadir, const char *domain, const char *selector,
		       char **error_r)
{
	if (!domain_safe(domain) || !dkim_selector_valid(selector)) {
		*error_r = xasprintf("invalid domain or selector");
		return -1;
	}
	char *top = xasprintf("%s/dkim", datadir);
	char *dir = domain_dir(datadir, domain);
	int ret = mkdir_p(top, error_r) < 0 || mkdir_p(dir, error_r) < 0 ? -1 : 0;
	if (ret == 0) {
		chown_like_datadir(datadir, -1, top);
		chown_like_datadir(datadir, -1, dir);
	}
	for (int a = 0; a < DKIM_NALGS && ret == 0; a++) {
		char *path = key_path(datadir, domain, selector, (enum dkim_alg)a);
		if (access(path, F_OK) == 0) {
			*error_r = xasprintf("selector %s of %s already exists", selector, domain);
			ret = -1;
		}
		free(path);
	}
	for (int a = 0; a < DKIM_NALGS && ret == 0; a++) {
		EVP_PKEY *key = generate_key((enum dkim_alg)a);
		if (key == NULL) {
			*error_r = openssl_error("key generation");
			ret = -1;
			break;
		}
		char *path = key_path(datadir, domain, selector, (enum dkim_alg)a);
		ret = write_key(datadir, path, key, error_r);
		free(path);
		EVP_PKEY_free(key);
	}
	if (ret == 0) {
		char *path = xasprintf("%s/selector", dir);
		char *line = xasprintf("%s\n", selector);
		ret = write_atomic(datadir, path, line, strlen(line), error_r);
		free(line);
		free(path);
	}
	free(dir);
	free(top);
	return ret;
}

int dkim_keys_remove(const char *datadir, const char *domain, const char *selector,
		     char **error_r)
{
	if (!domain_safe(domain) || !dkim_selector_valid(selector)) {
		*error_r = xasprintf("invalid domain or selector");
		return -1;
	}
	char *current = NULL;
	int r = dkim_current_selector(datadir, domain, &current, error_r);
	if (r < 0)
		return -1;
	if (r == 0 && strcmp(current, selector) == 0) {
		*error_r = xasprintf("%s signs %s's mail now: rotate first", selector, domain);
		free(current);
		return -1;
	}
	free(current);
	int removed = 0, ret = 0;
	for (int a = 0; a < DKIM_NALGS; a++) {
		char *path = key_path(datadir, domain, selector, (enum dkim_alg)a);
		if (unlink(path) == 0)
			removed++;
		else if (errno != ENOENT && ret == 0) {
			*error_r = xasprintf("%s: %s", path, strerror(errno));
			ret = -1;
		}
		free(path);
	}
	if (ret == 0 && removed == 0) {
		*error_r = xasprintf("%s has no selector %s", domain, selector);
		ret = -1;
	}
	char *dir = domain_dir(datadir, domain);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dir);
	return ret;
}

int dkim_current_selector(const char *datadir, const char *domain, char **selector_r,
			  char **error_r)
{
	if (!domain_safe(domain))
		return 1;
	char *path = xasprintf("%s/dkim/%s/selector", datadir, domain);
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		int e = errno;
		if (e == ENOENT) {
			free(path);
			return 1;
		}
		*error_r = xasprintf("%s: %s", path, strerror(e));
		free(path);
		return -1;
	}
	char line[DKIM_SELECTOR_FILE_MAX + 1];
	size_t n = fread(line, 1, sizeof(line) - 1, f);
	int rerr = ferror(f);
	fclose(f);
	line[n] = '\0';
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (rerr || !dkim_selector_valid(line)) {
		*error_r = xasprintf("%s: unreadable or invalid selector", path);
		free(path);
		return -1;
	}
	free(path);
	*selector_r = xstrdup(line);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dkim_selectors(const char *datadir, const char *domain, char ***selectors_r, size_t *n_r,
		   char **error_r)
{
	*selectors_r = NULL;
	*n_r = 0;
	if (!domain_safe(domain))
		return 0;
	char *dir = domain_dir(datadir, domain);
	DIR *d = opendir(dir);
	if (d == NULL) {
		int e = errno;
		if (e == ENOENT) {
			free(dir);
			return 0;
		}
		*error_r = xasprintf("%s: %s", dir, strerror(e));
		free(dir);
		return -1;
	}
	free(dir);
	char **list = NULL;
	size_t n = 0, cap = 0;
	const char *suffix = ".rsa.pem";
	size_t slen = strlen(suffix);
	struct dirent *de;
	/* Each selector has an RSA key; list it once, by that file. */
	while ((de = readdir(d)) != NULL && n < DKIM_MAX_SELECTORS) {
		size_t len = strlen(de->d_name);
		if (len <= slen || strcmp(de->d_name + len - slen, suffix) != 0)
			continue;
		char *sel = xstrndup(de->d_name, len - slen);
		if (!dkim_selector_valid(sel)) {
			free(sel);
			continue;
		}
		list = xgrow(list, &cap, n + 1, sizeof(*list));
		list[n++] = sel;
	}
	closedir(d);
	if (n > 0)
		qsort(list, n, sizeof(*list), cmp_str);
	*selectors_r = list;
	*n_r = n;
	return 0;
}

/* Load one key file: 0, 1 absent, -1 error. */
/* The p= value: RSA as a DER SubjectPublicKeyInfo (what RFC 6376 3.6.1
 * verifiers accept), Ed25519 as the raw key (RFC 8463 4.2). */
static char *public_b64(EVP_PKEY *key, enum dkim_alg alg)
{
	unsigned char *der = NULL;
	char *out = NULL;
	if (alg == DKIM_ALG_RSA) {
		int len = i2d_PUBKEY(key, &der);
		if (len > 0)
			out = base64_encode(der, (size_t)len);
		OPENSSL_free(der);
	} else {
		unsigned char raw[64];
		size_t len = sizeof(raw);
		if (EVP_PKEY_get_raw_public_key(key, raw, &len))
			out = base64_encode(raw, len);
	}
	return out;
}

int dkim_dns_records(const char *datadir, const char *domain, const char *selector,
		     struct buf *out, char **error_r)
{
	if (!domain_safe(domain) || !dkim_selector_valid(selector)) {
		*error_r = xasprintf("invalid domain or selector");
		return -1;
	}
	for (int a = 0; a < DKIM_NALGS; a++) {
		char *path = key_path(datadir, domain, selector, (enum dkim_alg)a);
		EVP_PKEY *key = NULL;
		int r = dkim_key_load(path, &key, error_r);
		free(path);
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		char *p = public_b64(key, (enum dkim_alg)a);
		EVP_PKEY_free(key);
		if (p == NULL) {
			*error_r = openssl_error("public key");
			return -1;
		}
		char *txt = xasprintf("v=DKIM1; k=%s; p=%s", dkim_alg_suffix[a], p);
		free(p);
		buf_printf(out, "%s-%s._domainkey.%s. IN TXT", selector, dkim_alg_suffix[a], domain);
		size_t len = strlen(txt);
		for (size_t off = 0; off < len; off += DKIM_TXT_STRING_MAX) {
			size_t chunk = len - off < DKIM_TXT_STRING_MAX ? len - off : DKIM_TXT_STRING_MAX;
			buf_printf(out, " \"%.*s\"", (int)chunk, txt + off);
		}
		buf_puts(out, "\n");
		free(txt);
	}
	return 0;
}

int dkim_signer_load(const char *datadir, const char *domain, struct dkim_signer **signer_r,
		     char **error_r)
{
	char *selector = NULL;
	int r = dkim_current_selector(datadir, domain, &selector, error_r);
	if (r != 0)
		return r;
	struct dkim_signer *s = xcalloc(1, sizeof(*s));
	s->domain = xstrdup(domain);
	s->selector = selector;
	int found = 0;
	for (int a = 0; a < DKIM_NALGS; a++) {
		char *path = key_path(datadir, domain, selector, (enum dkim_alg)a);
		r = dkim_key_load(path, &s->key[a], error_r);
		if (r == 0 && !EVP_PKEY_is_a(s->key[a], a == DKIM_ALG_RSA ? "RSA" : "ED25519")) {
			*error_r = xasprintf("%s: not an %s key", path, dkim_alg_suffix[a]);
			r = -1;
		}
		free(path);
		if (r < 0) {
			dkim_signer_free(&s);
			return -1;
		}
		found += r == 0;
	}
	if (found == 0) {
		*error_r = xasprintf("dkim: %s: selector %s has no key files", domain, selector);
		dkim_signer_free(&s);
		return -1;
	}
	*signer_r = s;
	return 0;
}

void dkim_signer_free(struct dkim_signer **signer)
{
	struct dkim_signer *s = *signer;
	if (s == NULL)
		return;
	for (int a = 0; a < DKIM_NALGS; a++)
		EVP_PKEY_free(s->key[a]);
	free(s->domain);
	free(s->selector);
	free(s);
	*signer = NULL;
}
