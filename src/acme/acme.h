/*
 * acme: certificates from an ACME CA (RFC 8555) for tls.acme_hosts,
 * proven by http-01 (the http listener's /.well-known/acme-challenge/
 * route) or tls-alpn-01 (RFC 8737, a hook in lib/tls.c), renewed before
 * they expire and loaded into every TLS listener without a restart.
 *
 * State lives in DATADIR/acme/ (0700): account.key, cert.pem (the chain)
 * and key.pem, each 0600 and replaced atomically. Once cert.pem exists,
 * tls.cert and tls.key point at it (acme_config_apply), at start and at
 * every reload; before that the configured certificate keeps serving.
 *
 * One thread of its own talks to the CA (blocking, every wait bounded);
 * the event loop only receives "a new certificate is on disk" and loads
 * it through the caller's acme_installed_fn (the SIGHUP path).
 */
#ifndef ROOST_ACME_H
#define ROOST_ACME_H
#include <stdbool.h>
#include "lib/config.h"

struct event_base;

/* This module's configuration keys (acme-config.c). */
extern const struct config_key acme_config_keys[];

/* With tls.acme = yes and an issued DATADIR/acme/cert.pem, point tls.cert
 * and tls.key of cfg at it. 0, or -1 with *error_r. */
int acme_config_apply(struct config *cfg, char **error_r);
/* Has the ACME thread written a certificate and key to DATADIR/acme/? */
bool acme_cert_issued(const struct config *cfg);

/* Runs on the event loop after a new certificate was written: load it
 * (cfg's tls.cert/tls.key already point at it). 0, or -1 with *error_r. */
typedef int acme_installed_fn(void *ctx, char **error_r);

/* Start the ACME thread (a no-op with tls.acme = no). cfg is read now
 * (the thread keeps copies). 0, or -1 with *error_r. */
int acme_start(struct config *cfg, struct event_base *base, acme_installed_fn *installed,
	       void *ctx, char **error_r);
/* Stop and join the thread (returns within a few hundred ms). */
void acme_stop(void);

/* --- challenge answers (acme-challenge.c), any thread --- */

/* The key authorization published for an http-01 token, or NULL
 * (caller frees). */
char *acme_challenge_http_get(const char *token);
#endif
