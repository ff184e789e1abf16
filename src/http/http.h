/*
 * http: the daemon's HTTP and HTTPS listeners (libevent's evhttp; TLS
 * through OpenSSL bufferevents with the server's certificate) and the
 * route table they serve (http-routes.c): client autoconfiguration
 * (Thunderbird, Outlook, PACC, Apple profiles) and /metrics.
 *
 * Every answer is generated from the running daemon's configuration at
 * request time, so it always names the listeners actually served.
 * Runs on the event loop thread; routes only read (the store's read
 * connection of that thread, the config), never block on a write.
 */
#ifndef ROOST_HTTP_H
#define ROOST_HTTP_H
#include <openssl/ssl.h>
#include "lib/config.h"

struct store;

/* Bind http.listen and https.listen (https needs ssl_ctx, of which http
 * takes a reference). 0, or -1 with *error_r naming the address. */
int http_start(struct config *cfg, struct store *store, SSL_CTX *ssl_ctx, char **error_r);
/* A reloaded certificate: new HTTPS connections and profile signatures
 * use ctx (http takes a reference); open connections keep theirs. */
void http_set_ssl_ctx(SSL_CTX *ctx);
/* Close the listeners and every HTTP connection (shutdown). */
void http_stop(void);

/* This module's configuration keys (http-config.c). */
extern const struct config_key http_config_keys[];
#endif
