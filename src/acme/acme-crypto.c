/* acme-crypto: keys, JWS, CSR and challenge certificates (see acme-crypto.h). */
#include "acme/acme-crypto.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 8737 6.1: id-pe-acmeIdentifier */
#define ACME_OID_IDENTIFIER "1.3.6.1.5.5.7.1.31"
/* Largest JWS built (the CSR dominates: well under 4 KiB). */
#define ACME_JWS_MAX (64 * 1024)

static char *ossl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[256] = "unknown error";
	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return xasprintf("%s: %s", what, reason);
}

char *acme_b64url(const void *data, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	char *out = xmalloc(len / 3 * 4 + 5), *o = out;
	size_t i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
		*o++ = tab[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
	}
	*o = '\0';
	return out;
}

EVP_PKEY *acme_key_new(char **error_r)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	if (key == NULL)
		*error_r = ossl_error("P-256 key generation");
	return key;
}

/* A P-256 coordinate as 32 bytes, base64url. */
static char *coord(EVP_PKEY *key, const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char b[32];
	if (EVP_PKEY_get_bn_param(key, param, &bn) != 1 || BN_bn2binpad(bn, b, 32) != 32) {
		BN_free(bn);
		ERR_clear_error();
		return NULL;
	}
	BN_free(bn);
	return acme_b64url(b, 32);
}

char *acme_jwk(EVP_PKEY *key)
{
	char *x = coord(key, OSSL_PKEY_PARAM_EC_PUB_X), *y = coord(key, OSSL_PKEY_PARAM_EC_PUB_Y);
	char *jwk = NULL;
	if (x != NULL && y != NULL)
		jwk = xasprintf("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	free(x);
	free(y);
	return jwk;
}

char *acme_thumbprint(EVP_PKEY *key)
{
	char *jwk = acme_jwk(key);
	if (jwk == NULL)
		return NULL;
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(jwk, strlen(jwk), md, &n, EVP_sha256(), NULL);
	free(jwk);
	return acme_b64url(md, n);
}

/* ES256 over input: the raw r||s of RFC 7518 3.4, not DER. */
static char *es256(EVP_PKEY *key, const char *input, char **error_r)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[128];
	size_t dlen = sizeof(der);
	char *out = NULL;
	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &dlen, (const unsigned char *)input, strlen(input)) != 1) {
		*error_r = ossl_error("JWS signature");
		EVP_MD_CTX_free(md);
		return NULL;
	}
	EVP_MD_CTX_free(md);
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
	unsigned char raw[64];
	if (sig == NULL || BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) != 32)
		*error_r = ossl_error("JWS signature encoding");
	else
		out = acme_b64url(raw, 64);
	ECDSA_SIG_free(sig);
	return out;
}

char *acme_jws(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
	       const char *payload, char **error_r)
{
	/* nonce and url come from the server: they are JSON-escaped below by
	 * refusing anything that would need escaping. */
	for (const char *s = nonce; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_')) {
			*error_r = xstrdup("the server's nonce is not base64url (RFC 8555 6.5.1)");
			return NULL;
		}
	for (const char *s = url; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) {
			*error_r = xstrdup("a URL from the server has characters no URL has");
			return NULL;
		}
	if (kid != NULL)
		for (const char *s = kid; *s; s++)
			if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x21 ||
			    (unsigned char)*s > 0x7e) {
				*error_r = xstrdup("the account URL has characters no URL has");
				return NULL;
			}
	char *header;
	if (kid != NULL) {
		header = xasprintf("{\"alg\":\"ES256\",\"kid\":\"%s\",\"nonce\":\"%s\",\"url\":\"%s\"}",
				   kid, nonce, url);
	} else {
		char *jwk = acme_jwk(key);
		if (jwk == NULL) {
			*error_r = xstrdup("the account key has no P-256 public point");
			return NULL;
		}
		header = xasprintf("{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":\"%s\",\"url\":\"%s\"}",
				   jwk, nonce, url);
		free(jwk);
	}
	char *prot = acme_b64url(header, strlen(header));
	char *pay = acme_b64url(payload, strlen(payload));
	free(header);
	char *input = xasprintf("%s.%s", prot, pay);
	char *sig = es256(key, input, error_r);
	char *out = NULL;
	if (sig != NULL)
		out = xasprintf("{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
				prot, pay, sig);
	free(input);
	free(prot);
	free(pay);
	free(sig);
	return out;
}

static int add_san(X509 *cert, const char *const *names, size_t n)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	for (size_t i = 0; i < n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		ASN1_STRING_set(s, names[i], (int)strlen(names[i]));
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		sk_GENERAL_NAME_push(gens, g);
	}
	int ok = X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, 0);
	GENERAL_NAMES_free(gens);
	return ok == 1 ? 0 : -1;
}

char *acme_csr(EVP_PKEY *key, const char *const *names, size_t n, char **error_r)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	char *out = NULL;
	unsigned char *der = NULL;
	X509_NAME *subj = X509_REQ_get_subject_name(req);
	if (n == 0 || strlen(names[0]) > 64 || /* ub-common-name */
	    X509_REQ_set_version(req, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)names[0],
				       -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1) {
		*error_r = ossl_error("CSR");
		goto out;
	}
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	for (size_t i = 0; i < n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		ASN1_STRING_set(s, names[i], (int)strlen(names[i]));
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		sk_GENERAL_NAME_push(gens, g);
	}
	int ok = X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0, 0);
	GENERAL_NAMES_free(gens);
	if (ok != 1 || X509_REQ_add_extensions(req, exts) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		*error_r = ossl_error("CSR");
		goto out;
	}
	int len = i2d_X509_REQ(req, &der);
	if (len <= 0) {
		*error_r = ossl_error("CSR encoding");
		goto out;
	}
	out = acme_b64url(der, (size_t)len);
out:
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return out;
}

int acme_alpn_cert(const char *name, const char *key_authorization, X509 **cert_r,
		   EVP_PKEY **key_r, char **error_r)
{
	EVP_PKEY *key = acme_key_new(error_r);
	if (key == NULL)
		return -1;
	X509 *x = X509_new();
	ASN1_OCTET_STRING *digest = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *oid = OBJ_txt2obj(ACME_OID_IDENTIFIER, 1);
	X509_EXTENSION *ext = NULL;
	unsigned char md[32], *der = NULL;
	unsigned int mdlen = 0;
	int ret = -1;
	EVP_Digest(key_authorization, strlen(key_authorization), md, &mdlen, EVP_sha256(), NULL);
	/* RFC 8737 3: extnValue is the DER of an OCTET STRING holding the
	 * digest (so the OCTET STRING is wrapped twice). */
	ASN1_OCTET_STRING_set(digest, md, (int)mdlen);
	int dlen = i2d_ASN1_OCTET_STRING(digest, &der);
	ASN1_OCTET_STRING *wrapped = ASN1_OCTET_STRING_new();
	if (dlen > 0)
		ASN1_OCTET_STRING_set(wrapped, der, dlen);
	X509_NAME *subj = X509_get_subject_name(x);
	if (dlen <= 0 || oid == NULL ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, wrapped)) == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(time(NULL) & 0x7fffffff)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400) == NULL ||
	    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)name, -1,
				       -1, 0) != 1 ||
	    X509_set_issuer_name(x, subj) != 1 || X509_set_pubkey(x, key) != 1 ||
	    add_san(x, &name, 1) < 0 || X509_add_ext(x, ext, -1) != 1 ||
	    X509_sign(x, key, EVP_sha256()) <= 0) {
		*error_r = ossl_error("tls-alpn-01 certificate");
		goto out;
	}
	*cert_r = x;
	*key_r = key;
	x = NULL;
	key = NULL;
	ret = 0;
out:
	OPENSSL_free(der);
	X509_EXTENSION_free(ext);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(digest);
	ASN1_OCTET_STRING_free(wrapped);
	X509_free(x);
	EVP_PKEY_free(key);
	return ret;
}

static X509 *first_cert(const char *pem, size_t len)
{
	if (len > INT32_MAX)
		return NULL;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	ERR_clear_error();
	return x;
}

int acme_cert_times(const char *pem, size_t len, time_t *not_before_r, time_t *not_after_r)
{
	X509 *x = first_cert(pem, len);
	struct tm a, b;
	int ret = -1;
	if (x != NULL && ASN1_TIME_to_tm(X509_get0_notBefore(x), &a) == 1 &&
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &b) == 1) {
		*not_before_r = timegm(&a);
		*not_after_r = timegm(&b);
		ret = 0;
	}
	X509_free(x);
	return ret;
}

int acme_cert_covers(const char *pem, size_t len, const char *const *names, size_t n)
{
	X509 *x = first_cert(pem, len);
	if (x == NULL)
		return 0;
	bool ok = X509_check_issued(x, x) != X509_V_OK; /* not self-signed */
	for (size_t i = 0; ok && i < n; i++)
		ok = X509_check_host(x, names[i], 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) == 1;
	X509_free(x);
	return ok;
}

char *acme_key_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out = NULL, *data;
	if (bio != NULL && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1) {
		long n = BIO_get_mem_data(bio, &data);
		out = xstrndup(data, (size_t)n);
	}
	BIO_free(bio);
	return out;
}

EVP_PKEY *acme_key_from_pem(const char *pem, size_t len)
{
	if (len > INT32_MAX)
		return NULL;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	ERR_clear_error();
	return key;
}
