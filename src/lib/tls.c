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
#include <stdlib.h>
#include <string.h>

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
