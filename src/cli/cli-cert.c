/*
 * cli-cert: the self-signed certificate `roost init` creates so that TLS
 * works out of the box on loopback: EC P-256 key, SAN DNS:localhost,
 * IP:127.0.0.1 and IP:::1, valid for ten years. Made with the OpenSSL 3
 * APIs, never by running the openssl tool. Replace the files (tls.cert,
 * tls.key) with a real certificate for production.
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define CERT_DAYS 3650
#define CERT_SERIAL_BITS 127

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	int r = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return r == 1 ? 0 : -1;
}

static X509 *make_cert(EVP_PKEY *key)
{
	X509 *x = X509_new();
	BIGNUM *serial = BN_new();
	X509_NAME *name = X509_get_subject_name(x);
	bool ok = x != NULL && serial != NULL && X509_set_version(x, X509_VERSION_3) &&
		  BN_rand(serial, CERT_SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
		  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) != NULL &&
		  X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
		  X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL) != NULL &&
		  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					     (const unsigned char *)"localhost", -1, -1, 0) &&
		  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					     (const unsigned char *)"Roost self-signed", -1, -1,
					     0) &&
		  X509_set_issuer_name(x, name) && X509_set_pubkey(x, key);
	BN_free(serial);
	/* The key identifiers need the public key set first. */
	ok = ok && add_ext(x, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
	     add_ext(x, NID_key_usage, "critical,digitalSignature") == 0 &&
	     add_ext(x, NID_ext_key_usage, "serverAuth") == 0 &&
	     add_ext(x, NID_subject_key_identifier, "hash") == 0 &&
	     add_ext(x, NID_authority_key_identifier, "keyid:always") == 0 &&
	     add_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") == 0 &&
	     X509_sign(x, key, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Open a new file with `mode` (refusing to follow or reuse one). */
static FILE *create_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "w");
	if (f == NULL)
		close(fd);
	return f;
}

int cli_cert_selfsigned(const char *cert_path, const char *key_path, char **error_r)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = key != NULL ? make_cert(key) : NULL;
	if (x == NULL) {
		unsigned long e = ERR_get_error();
		*error_r = xasprintf("cannot create a certificate: %s",
				     e ? ERR_reason_error_string(e) : "unknown error");
		EVP_PKEY_free(key);
		return -1;
	}
	int ret = -1;
	FILE *kf = create_file(key_path, 0600);
	if (kf == NULL) {
		*error_r = xasprintf("%s: %s", key_path, strerror(errno));
		goto out;
	}
	bool ok = PEM_write_PrivateKey(kf, key, NULL, NULL, 0, NULL, NULL) == 1;
	if (fclose(kf) != 0 || !ok) {
		*error_r = xasprintf("%s: write failed", key_path);
		goto out;
	}
	FILE *cf = create_file(cert_path, 0644);
	if (cf == NULL) {
		*error_r = xasprintf("%s: %s", cert_path, strerror(errno));
		unlink(key_path);
		goto out;
	}
	ok = PEM_write_X509(cf, x) == 1;
	if (fclose(cf) != 0 || !ok) {
		*error_r = xasprintf("%s: write failed", cert_path);
		unlink(key_path);
		unlink(cert_path);
		goto out;
	}
	ret = 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return ret;
}
