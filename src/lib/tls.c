/*
 * tls: the server SSL_CTX every TLS connection (implicit or STARTTLS) is
 * made from. TLS 1.2 is the floor (RFC 8996 retires 1.0 and 1.1; RFC 8314
 * 4.1 for mail). Idle connections give their record buffers back
 * (SSL_MODE_RELEASE_BUFFERS), which keeps many IMAP IDLE clients cheap.
 */
#include "lib/conn.h"
#include "lib/alloc.h"
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdlib.h>

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
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
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
