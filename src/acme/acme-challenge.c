/*
 * acme-challenge: the answers the ACME thread publishes while an order
 * waits for validation: http-01 tokens (read by the http route on the
 * event loop) and tls-alpn-01 certificates (read in the TLS handshake).
 * Small fixed tables behind one mutex.
 */
#include "acme/acme-private.h"
#include "lib/alloc.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
	char *token, *keyauth;
} http[ACME_CHALLENGES_MAX];

static struct {
	char *name;
	X509 *cert;
	EVP_PKEY *key;
} alpn[ACME_CHALLENGES_MAX];

int acme_challenge_http_set(const char *token, const char *keyauth)
{
	int ret = -1;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ACME_CHALLENGES_MAX; i++)
		if (http[i].token == NULL) {
			http[i].token = xstrdup(token);
			http[i].keyauth = xstrdup(keyauth);
			ret = 0;
			break;
		}
	pthread_mutex_unlock(&lock);
	return ret;
}

void acme_challenge_http_del(const char *token)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ACME_CHALLENGES_MAX; i++)
		if (http[i].token != NULL && strcmp(http[i].token, token) == 0) {
			free(http[i].token);
			free(http[i].keyauth);
			http[i].token = http[i].keyauth = NULL;
		}
	pthread_mutex_unlock(&lock);
}

char *acme_challenge_http_get(const char *token)
{
	char *out = NULL;
	if (strlen(token) > ACME_TOKEN_MAX)
		return NULL;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ACME_CHALLENGES_MAX && out == NULL; i++)
		if (http[i].token != NULL && strcmp(http[i].token, token) == 0)
			out = xstrdup(http[i].keyauth);
	pthread_mutex_unlock(&lock);
	return out;
}

int acme_challenge_alpn_set(const char *name, X509 *cert, EVP_PKEY *key)
{
	int ret = -1;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ACME_CHALLENGES_MAX; i++)
		if (alpn[i].name == NULL) {
			alpn[i].name = xstrdup(name);
			X509_up_ref(cert);
			EVP_PKEY_up_ref(key);
			alpn[i].cert = cert;
			alpn[i].key = key;
			ret = 0;
			break;
		}
	pthread_mutex_unlock(&lock);
	return ret;
}

void acme_challenge_alpn_del(const char *name)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ACME_CHALLENGES_MAX; i++)
		if (alpn[i].name != NULL && strcasecmp(alpn[i].name, name) == 0) {
			free(alpn[i].name);
			X509_free(alpn[i].cert);
			EVP_PKEY_free(alpn[i].key);
			alpn[i].name = NULL;
			alpn[i].cert = NULL;
			alpn[i].key = NULL;
		}
	pthread_mutex_unlock(&lock);
}

int acme_challenge_alpn_lookup(const char *name, X509 **cert_r, EVP_PKEY **key_r)
{
	int ret = -1;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ACME_CHALLENGES_MAX; i++)
		if (alpn[i].name != NULL && strcasecmp(alpn[i].name, name) == 0) {
			X509_up_ref(alpn[i].cert);
			EVP_PKEY_up_ref(alpn[i].key);
			*cert_r = alpn[i].cert;
			*key_r = alpn[i].key;
			ret = 0;
			break;
		}
	pthread_mutex_unlock(&lock);
	return ret;
}
