/* acme-private: what the files of src/acme share. */
#ifndef ROOST_ACME_PRIVATE_H
#define ROOST_ACME_PRIVATE_H
#include "acme/acme.h"
#include "acme/acme-https.h"
#include <stdatomic.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Names one certificate may carry (tls.acme_hosts). */
#define ACME_MAX_HOSTS 16
/* Longest http-01 token accepted from the server. */
#define ACME_TOKEN_MAX 256
/* Challenges published at once. */
#define ACME_CHALLENGES_MAX (2 * ACME_MAX_HOSTS)
/* How long one order may take from newOrder to the certificate. */
#define ACME_ORDER_TIMEOUT_S 300
/* Polls of one authorization or order (each waits Retry-After, at
 * least 1 s and at most ACME_POLL_MAX_WAIT_S). */
#define ACME_POLL_MAX 60
#define ACME_POLL_MAX_WAIT_S 10
/* badNonce retries of one request (RFC 8555 6.5). */
#define ACME_NONCE_RETRIES 5

enum acme_challenge_type { ACME_HTTP_01, ACME_TLS_ALPN_01 };

/* What one issue needs, copied from the configuration. */
struct acme_params {
	char *directory;
	char *email;
	char *ca_file;
	enum acme_challenge_type challenge;
	char *hosts[ACME_MAX_HOSTS];
	size_t nhosts;
};

/* A certificate and its key, PEM. */
struct acme_issued {
	char *chain;
	char *key;
};

/* Obtain a certificate (acme-client.c): blocking; account is the account
 * key; cert_key the certificate's key to keep (NULL: a new one); stop
 * ends it early. 0 with *out (caller frees the strings), or -1 with
 * *error_r. */
int acme_issue(const struct acme_params *p, EVP_PKEY *account, EVP_PKEY *cert_key,
	       atomic_bool *stop,
	       struct acme_issued *out, char **error_r);

/* Challenge tables (acme-challenge.c). */
int acme_challenge_http_set(const char *token, const char *keyauth);
void acme_challenge_http_del(const char *token);
int acme_challenge_alpn_set(const char *name, X509 *cert, EVP_PKEY *key);
void acme_challenge_alpn_del(const char *name);
/* The tls_acme_alpn_fn of lib/tls.h. */
int acme_challenge_alpn_lookup(const char *name, X509 **cert_r, EVP_PKEY **key_r);
#endif
