/*
 * acme-crypto: the OpenSSL side of ACME: base64url (RFC 4648 5), the
 * account key (ECDSA P-256), its JWK (RFC 7517) and thumbprint (RFC
 * 7638), JWS signing with ES256 (RFC 7515, 7518 3.4; RFC 8555 6.2), the
 * certificate request (PKCS#10), the tls-alpn-01 challenge certificate
 * (RFC 8737 3) and the validity of an issued certificate.
 */
#ifndef ROOST_ACME_CRYPTO_H
#define ROOST_ACME_CRYPTO_H
#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* base64url without padding (caller frees). */
char *acme_b64url(const void *data, size_t len);
/* A new P-256 key, or NULL with *error_r. */
EVP_PKEY *acme_key_new(char **error_r);
/* The public JWK with members in lexicographic order, which is also the
 * thumbprint input of RFC 7638 3.2 (caller frees). */
char *acme_jwk(EVP_PKEY *key);
/* base64url(SHA-256(JWK)) (caller frees). */
char *acme_thumbprint(EVP_PKEY *key);
/* A flattened JWS (RFC 7515 7.2.2) over payload ("" = POST-as-GET,
 * RFC 8555 6.3) with the protected header {alg, jwk or kid, nonce, url}
 * (kid NULL: the jwk). NULL with *error_r. Caller frees. */
char *acme_jws(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
	       const char *payload, char **error_r);
/* A DER CSR for names[0..n) (the first is the subject CN, all are
 * dNSName SANs), signed by key, base64url (caller frees); NULL with
 * *error_r. */
char *acme_csr(EVP_PKEY *key, const char *const *names, size_t n, char **error_r);
/* The tls-alpn-01 certificate for `name`: self-signed, SAN dNSName name,
 * critical id-pe-acmeIdentifier holding SHA-256(key_authorization). 0
 * with *cert_r and *key_r (caller frees both), or -1 with *error_r. */
int acme_alpn_cert(const char *name, const char *key_authorization, X509 **cert_r,
		   EVP_PKEY **key_r, char **error_r);
/* notBefore and notAfter of the first certificate of PEM text. 0 or -1. */
int acme_cert_times(const char *pem, size_t len, time_t *not_before_r, time_t *not_after_r);
/* Whether the first certificate of the PEM text names every one of
 * names[0..n) among its dNSName SANs and was not issued by itself. */
int acme_cert_covers(const char *pem, size_t len, const char *const *names, size_t n);
/* Key as PEM (PKCS#8, unencrypted), caller frees; PEM text back to a key. */
char *acme_key_pem(EVP_PKEY *key);
EVP_PKEY *acme_key_from_pem(const char *pem, size_t len);
#endif
