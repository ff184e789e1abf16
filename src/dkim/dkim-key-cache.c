/*
 * dkim-key-cache: private keys read from their PEM files once, not once
 * per signed message. OpenSSL 3's PEM decoding of an RSA key costs about
 * as much as the RSA signature itself (1.4 vs 1.2 ms here), so a
 * submission server that reloads the keys for every message pays the
 * signing twice.
 *
 * A key is kept by path and reused while the file is the same file with
 * the same size, mtime and ctime (a rotation or `dkim generate` writes a
 * new file: another inode). The file is still opened on every lookup, so
 * one made unreadable stops signing as before. Keys are shared across the
 * worker threads read-only (EVP_PKEY is reference-counted; signing does
 * not modify it, as with a TLS server's key). Bounded: DKIM_KEY_CACHE_MAX
 * keys, the least recently used goes first.
 */
#include "dkim/dkim-private.h"
#include "lib/alloc.h"
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* two keys (RSA, Ed25519) for each of 32 signing domains */
#define DKIM_KEY_CACHE_MAX 64

struct cached_key {
	char *path;		/* NULL: a free slot */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	EVP_PKEY *key;
	uint64_t used;		/* tick of the last lookup that found it */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached_key cache[DKIM_KEY_CACHE_MAX];
static uint64_t cache_tick;

static bool same_file(const struct cached_key *c, const struct stat *st)
{
	return c->dev == st->st_dev && c->ino == st->st_ino && c->size == st->st_size &&
	       c->mtime.tv_sec == st->st_mtim.tv_sec && c->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       c->ctime.tv_sec == st->st_ctim.tv_sec && c->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* Under cache_lock: a new reference to the key cached for path and st. */
static EVP_PKEY *lookup(const char *path, const struct stat *st)
{
	for (size_t i = 0; i < DKIM_KEY_CACHE_MAX; i++) {
		struct cached_key *c = &cache[i];
		if (c->path != NULL && strcmp(c->path, path) == 0 && same_file(c, st)) {
			c->used = ++cache_tick;
			EVP_PKEY_up_ref(c->key);
			return c->key;
		}
	}
	return NULL;
}

/* Under cache_lock: keep key (one reference of its own) for path. */
static void insert(const char *path, const struct stat *st, EVP_PKEY *key)
{
	struct cached_key *slot = NULL;
	for (size_t i = 0; i < DKIM_KEY_CACHE_MAX && slot == NULL; i++)
		if (cache[i].path != NULL && strcmp(cache[i].path, path) == 0)
			slot = &cache[i];	/* an older version of the file */
	for (size_t i = 0; i < DKIM_KEY_CACHE_MAX && slot == NULL; i++)
		if (cache[i].path == NULL)
			slot = &cache[i];
	if (slot == NULL) {
		slot = &cache[0];
		for (size_t i = 1; i < DKIM_KEY_CACHE_MAX; i++)
			if (cache[i].used < slot->used)
				slot = &cache[i];
	}
	if (slot->path != NULL) {
		free(slot->path);
		EVP_PKEY_free(slot->key);	/* signers holding it keep their reference */
	}
	slot->path = xstrdup(path);
	slot->dev = st->st_dev;
	slot->ino = st->st_ino;
	slot->size = st->st_size;
	slot->mtime = st->st_mtim;
	slot->ctime = st->st_ctim;
	EVP_PKEY_up_ref(key);
	slot->key = key;
	slot->used = ++cache_tick;
}

int dkim_key_load(const char *path, EVP_PKEY **key_r, char **error_r)
{
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT)
			return 1;
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	pthread_mutex_lock(&cache_lock);
	EVP_PKEY *key = lookup(path, &st);
	pthread_mutex_unlock(&cache_lock);
	if (key != NULL) {
		fclose(f);
		*key_r = key;
		return 0;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL) {
		unsigned long e = ERR_get_error();
		char msg[256];
		ERR_error_string_n(e, msg, sizeof(msg));
		*error_r = xasprintf("%s: %s", path, e != 0 ? msg : "failed");
		return -1;
	}
	pthread_mutex_lock(&cache_lock);
	insert(path, &st, key);
	pthread_mutex_unlock(&cache_lock);
	*key_r = key;
	return 0;
}
