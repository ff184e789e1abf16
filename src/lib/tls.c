/*
 * tls: the server SSL_CTX every TLS connection (implicit or STARTTLS) is
 * made from, and its policy (see tls.h). Idle connections give their
 * record buffers back (SSL_MODE_RELEASE_BUFFERS, inherited by every SSL
 * made from the context), which keeps many IMAP IDLE clients cheap.
 */
#include "lib/tls.h"
#include "lib/conn.h"
#include "lib/alloc.h"
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* RFC 8737 6.2 */
#define TLS_ACME_ALPN "acme-tls/1"
#define TLS_SNI_MAX 255

static _Atomic(tls_acme_alpn_fn *) acme_alpn_fn;
static int acme_ex_index = -1;
static pthread_once_t acme_ex_once = PTHREAD_ONCE_INIT;

static void acme_ex_init(void)
{
	acme_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

void tls_set_acme_alpn(tls_acme_alpn_fn *fn)
{
	pthread_once(&acme_ex_once, acme_ex_init);
	atomic_store(&acme_alpn_fn, fn);
}

/* Whether the ALPN list (RFC 7301 3.1: 2-byte length, then 1-byte
 * length-prefixed names) offers acme-tls/1; where, in *at_r. */
static bool alpn_offers_acme(const unsigned char *p, size_t len, const unsigned char **at_r)
{
	size_t n = sizeof(TLS_ACME_ALPN) - 1;
	for (size_t i = 0; i < len;) {
		size_t l = p[i];
		if (l == 0 || l > len - i - 1)
			return false;
		if (l == n && memcmp(p + i + 1, TLS_ACME_ALPN, n) == 0) {
			*at_r = p + i;
			return true;
		}
		i += 1 + l;
	}
	return false;
}

/* The host_name of a server_name extension (RFC 6066 3), into name. */
static bool sni_name(const unsigned char *p, size_t len, char *name, size_t size)
{
	if (len < 5 || (size_t)(p[0] << 8 | p[1]) != len - 2 || p[2] != 0)
		return false;
	size_t l = (size_t)(p[3] << 8 | p[4]);
	if (l == 0 || l > len - 5 || l >= size)
		return false;
	for (size_t i = 0; i < l; i++)
		if (p[5 + i] <= 0x20 || p[5 + i] >= 0x7f)
			return false;
	memcpy(name, p + 5, l);
	name[l] = '\0';
	return true;
}

/* Before the certificate is chosen: a tls-alpn-01 validation gets the
 * challenge certificate for its server name instead of the server's. */
static int acme_client_hello_cb(SSL *ssl, int *alert, void *arg)
{
	(void)alert;
	(void)arg;
	tls_acme_alpn_fn *fn = atomic_load(&acme_alpn_fn);
	const unsigned char *ext, *at;
	size_t len;
	char name[TLS_SNI_MAX + 1];
	if (fn == NULL ||
	    SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation,
				      &ext, &len) != 1 ||
	    len < 2 || (size_t)(ext[0] << 8 | ext[1]) != len - 2 ||
	    !alpn_offers_acme(ext + 2, len - 2, &at) ||
	    SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len) != 1 ||
	    !sni_name(ext, len, name, sizeof(name)))
		return SSL_CLIENT_HELLO_SUCCESS;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	if (fn(name, &cert, &key) == 0) {
		if (SSL_use_certificate(ssl, cert) == 1 && SSL_use_PrivateKey(ssl, key) == 1)
			SSL_set_ex_data(ssl, acme_ex_index, (void *)1);
		else
			ERR_clear_error();
		X509_free(cert);
		EVP_PKEY_free(key);
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* ALPN: only a tls-alpn-01 validation negotiates a protocol (RFC 8737
 * 3: acme-tls/1, alone); every other connection goes without. */
static int acme_alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
			       const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)arg;
	const unsigned char *at;
	if (acme_ex_index < 0 || SSL_get_ex_data(ssl, acme_ex_index) == NULL ||
	    !alpn_offers_acme(in, inlen, &at))
		return SSL_TLSEXT_ERR_NOACK;
	*out = at + 1;
	*outlen = at[0];
	return SSL_TLSEXT_ERR_OK;
}

static char *tls_error_string(void)
{
	unsigned long e = ERR_peek_last_error();
	char reason[256];
	if (e == 0)
		return xstrdup("unknown error");
	ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return xstrdup(reason);
}

int tls_server_ctx_policy(SSL_CTX *ctx, const char *min_version, const char *ciphers,
			  const char *ciphersuites, char **error_r)
{
	int version;
	if (strcmp(min_version, "TLSv1.2") == 0) {
		version = TLS1_2_VERSION;
	} else if (strcmp(min_version, "TLSv1.3") == 0) {
		version = TLS1_3_VERSION;
	} else {
		*error_r = xasprintf("tls.min_version: '%s' is not TLSv1.2 or TLSv1.3", min_version);
		return -1;
	}
	char *why;
	if (SSL_CTX_set_min_proto_version(ctx, version) != 1) {
		why = tls_error_string();
		*error_r = xasprintf("tls.min_version %s: %s", min_version, why);
		free(why);
		return -1;
	}
	/* Fails when no cipher of the list is known. */
	if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		why = tls_error_string();
		*error_r = xasprintf("tls.ciphers '%s': %s", ciphers, why);
		free(why);
		return -1;
	}
	if (SSL_CTX_set_ciphersuites(ctx, ciphersuites) != 1) {
		why = tls_error_string();
		*error_r = xasprintf("tls.ciphersuites '%s': %s", ciphersuites, why);
		free(why);
		return -1;
	}
	return 0;
}

SSL_CTX *tls_server_ctx_new(const char *cert_path, const char *key_path, char **error_r)
{
	char *why;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		why = tls_error_string();
		*error_r = xasprintf("TLS setup: %s", why);
		free(why);
		return NULL;
	}
	if (tls_server_ctx_policy(ctx, TLS_POLICY_MIN_VERSION, TLS_POLICY_CIPHERS,
				  TLS_POLICY_CIPHERSUITES, error_r) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* Renegotiation is a CPU lever for clients and of no use to us. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"roost", 5);
	pthread_once(&acme_ex_once, acme_ex_init);
	SSL_CTX_set_client_hello_cb(ctx, acme_client_hello_cb, NULL);
	SSL_CTX_set_alpn_select_cb(ctx, acme_alpn_select_cb, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		why = tls_error_string();
		*error_r = xasprintf("tls.cert %s: %s", cert_path, why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
		/* OpenSSL already compares the key with the certificate here. */
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			*error_r = xasprintf("tls.key %s does not match the certificate in tls.cert %s",
					     key_path, cert_path);
			SSL_CTX_free(ctx);
			return NULL;
		}
		why = tls_error_string();
		*error_r = xasprintf("tls.key %s: %s", key_path, why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		*error_r = xasprintf("tls.key %s does not match the certificate in tls.cert %s",
				     key_path, cert_path);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
fail:
	free(why);
	SSL_CTX_free(ctx);
	return NULL;
}
