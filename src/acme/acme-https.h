/*
 * acme-https: a blocking HTTPS/1.1 client for the ACME thread (never the
 * event loop). One TLS connection per request (Connection: close), the
 * server verified against the system's CAs plus tls.acme_ca_file; every
 * wait is bounded by the request's deadline and every answer by
 * ACME_HTTPS_MAX_RESPONSE; a stop flag ends a wait within
 * ACME_HTTPS_TICK_MS.
 */
#ifndef ROOST_ACME_HTTPS_H
#define ROOST_ACME_HTTPS_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>

/* Largest response (headers and body): a certificate chain is a few KiB. */
#define ACME_HTTPS_MAX_RESPONSE (1024 * 1024)
/* Longest header block. */
#define ACME_HTTPS_MAX_HEADERS (32 * 1024)
/* Longest URL accepted from configuration or the server. */
#define ACME_HTTPS_MAX_URL 2048
/* How long one request may take, connect to last byte. */
#define ACME_HTTPS_TIMEOUT_MS 30000
#define ACME_HTTPS_TICK_MS 200
/* Longest Retry-After honoured (seconds); the caller bounds its polls again. */
#define ACME_RETRY_AFTER_MAX 3600

struct acme_response {
	int status;
	char *body; /* NUL-terminated */
	size_t len;
	char *nonce;	   /* Replay-Nonce, or NULL */
	char *location;	   /* Location, or NULL */
	char *content_type; /* or NULL */
	long retry_after;  /* seconds, -1 when absent */
};
void acme_response_clear(struct acme_response *r);

/* A client context verifying servers (ca_file: extra PEM CAs, "" none).
 * NULL with *error_r. */
SSL_CTX *acme_https_ctx_new(const char *ca_file, char **error_r);

/* method "GET", "HEAD" or "POST" (body with content type ctype). 0 with
 * *resp filled, or -1 with *error_r (no connection, TLS or verification
 * failure, timeout, stop, oversized or malformed answer). */
int acme_https_request(SSL_CTX *ctx, const char *method, const char *url, const char *ctype,
		       const char *body, atomic_bool *stop, struct acme_response *resp,
		       char **error_r);

/* Split https://host[:port]/path. 0, or -1 (not https, no host, too
 * long). Caller frees host and path. */
int acme_https_parse_url(const char *url, char **host_r, char **port_r, char **path_r);

/* Parse an HTTP/1.x response head[0..len) (up to the blank line) into
 * status and the headers above. 0 or -1. Exposed for the unit tests. */
int acme_https_parse_head(const char *head, size_t len, struct acme_response *resp,
			  long *content_length_r, bool *chunked_r);
/* Decode a chunked body in place. New length, or -1 (malformed). */
long acme_https_dechunk(char *body, size_t len);
#endif
