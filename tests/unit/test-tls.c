/* test-tls: the default TLS policy (lib/tls.h) offers only ECDHE + AEAD on
 * TLS 1.2 and TLS 1.3; bad settings are refused. */
#include "unit.h"
#include "lib/tls.h"
#include <openssl/objects.h>
#include <stdlib.h>

TEST(tls_default_policy_ecdhe_aead_only)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char *error = NULL;
	CHECK_INT(tls_server_ctx_policy(ctx, TLS_POLICY_MIN_VERSION, TLS_POLICY_CIPHERS,
					TLS_POLICY_CIPHERSUITES, &error),
		  0);
	CHECK_INT(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	SSL *ssl = SSL_new(ctx);
	STACK_OF(SSL_CIPHER) *list = SSL_get_ciphers(ssl);
	int n = sk_SSL_CIPHER_num(list), tls13 = 0, tls12 = 0;
	for (int i = 0; i < n; i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(list, i);
		CHECK(SSL_CIPHER_is_aead(c));
		int kx = SSL_CIPHER_get_kx_nid(c);
		CHECK(kx == NID_kx_ecdhe || kx == NID_kx_any); /* any: TLS 1.3 */
		if (kx == NID_kx_any)
			tls13++;
		else
			tls12++;
	}
	CHECK_INT(tls13, 3);
	CHECK_INT(tls12, 6);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

TEST(tls_policy_refuses_bad_settings)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char *error = NULL;
	CHECK_INT(tls_server_ctx_policy(ctx, "TLSv1.1", TLS_POLICY_CIPHERS, TLS_POLICY_CIPHERSUITES,
					&error),
		  -1);
	CHECK(error != NULL && strstr(error, "tls.min_version") != NULL);
	free(error);
	error = NULL;
	CHECK_INT(tls_server_ctx_policy(ctx, "TLSv1.2", "NO-SUCH-CIPHER", TLS_POLICY_CIPHERSUITES,
					&error),
		  -1);
	CHECK(error != NULL && strstr(error, "tls.ciphers") != NULL);
	free(error);
	error = NULL;
	CHECK_INT(tls_server_ctx_policy(ctx, "TLSv1.3", TLS_POLICY_CIPHERS, "TLS_NO_SUCH", &error),
		  -1);
	CHECK(error != NULL && strstr(error, "tls.ciphersuites") != NULL);
	free(error);
	SSL_CTX_free(ctx);
}
