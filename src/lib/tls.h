/*
 * tls: the TLS policy of every server SSL_CTX. Defaults follow Mozilla's
 * "intermediate" profile: TLS 1.2 with ECDHE key exchange and AEAD ciphers
 * only (no CBC, no SHA-1 MACs, no static RSA), and TLS 1.3 (RFC 8996
 * retires 1.0 and 1.1; RFC 8314 4.1 for mail; RFC 9325 4.2 for the suites).
 * tls_server_ctx_new() (lib/conn.h) applies the defaults; the tls.* keys
 * replace them through tls_server_ctx_policy().
 */
#ifndef ROOST_TLS_H
#define ROOST_TLS_H
#include <openssl/ssl.h>

#define TLS_POLICY_MIN_VERSION "TLSv1.2"
#define TLS_POLICY_CIPHERS                                                                     \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                            \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                            \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_POLICY_CIPHERSUITES                                                                \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* Set the oldest version ("TLSv1.2" or "TLSv1.3"), the TLS 1.2 cipher list
 * and the TLS 1.3 suites (OpenSSL syntax). 0, or -1 with *error_r (a list
 * OpenSSL cannot use, or one that leaves no cipher). */
int tls_server_ctx_policy(SSL_CTX *ctx, const char *min_version, const char *ciphers,
			  const char *ciphersuites, char **error_r);

/* tls-alpn-01 (RFC 8737): for a ClientHello offering ALPN "acme-tls/1"
 * with server name `name`, the challenge certificate and key (each with a
 * reference for the caller), or -1 when there is none. Called on the
 * thread doing the handshake; must be thread-safe. */
typedef int tls_acme_alpn_fn(const char *name, X509 **cert_r, EVP_PKEY **key_r);
/* Install (NULL: remove) the hook every server SSL_CTX consults. */
void tls_set_acme_alpn(tls_acme_alpn_fn *fn);
#endif
