/* test-acme-crypto: base64url, JWK/thumbprint, an ES256 JWS checked with
 * OpenSSL, the CSR and the tls-alpn-01 certificate (RFC 8737 3). */
#include "unit.h"
#include "acme/acme-crypto.h"
#include "acme/acme-json.h"
#include "acme/acme-private.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* base64url back to bytes (test helper), NULL on a bad character. */
static unsigned char *unb64(const char *s, size_t *len_r)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t n = strlen(s);
	unsigned char *out = xmalloc(n + 1);
	size_t o = 0;
	unsigned v = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = strchr(tab, s[i]);
		if (p == NULL || s[i] == '\0') {
			free(out);
			return NULL;
		}
		v = (v << 6) | (unsigned)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	*len_r = o;
	return out;
}

TEST(acme_b64url)
{
	/* RFC 4648 10 vectors, url alphabet, no padding */
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE",
					  "Zm9vYmFy"};
	for (size_t i = 0; i < 7; i++) {
		char *b = acme_b64url(in[i], strlen(in[i]));
		CHECK_STR(b, out[i]);
		free(b);
	}
	unsigned char bin[] = {0xfb, 0xff, 0xbf};
	char *b = acme_b64url(bin, 3);
	CHECK_STR(b, "-_-_");
	free(b);
}

TEST(acme_jws_verifies)
{
	char *err = NULL;
	EVP_PKEY *key = acme_key_new(&err);
	CHECK(key != NULL);
	char *jwk = acme_jwk(key);
	CHECK(jwk != NULL && strncmp(jwk, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"", 31) == 0);
	char *thumb = acme_thumbprint(key);
	CHECK(thumb != NULL && strlen(thumb) == 43); /* 32 bytes */
	char *jws = acme_jws(key, NULL, "nonce_1-A", "https://ca/new-acct", "{\"a\":1}", &err);
	CHECK(jws != NULL);
	struct acme_json *j = acme_json_parse(jws, strlen(jws), &err);
	CHECK(j != NULL);
	const char *prot = acme_json_get_str(j, "protected"), *pay = acme_json_get_str(j, "payload"),
		   *sig = acme_json_get_str(j, "signature");
	CHECK(prot != NULL && pay != NULL && sig != NULL);
	size_t hl, pl, sl;
	unsigned char *h = unb64(prot, &hl), *pp = unb64(pay, &pl), *s = unb64(sig, &sl);
	CHECK(h != NULL && pp != NULL && s != NULL && sl == 64);
	CHECK(pl == 7 && memcmp(pp, "{\"a\":1}", 7) == 0);
	struct acme_json *hdr = acme_json_parse((char *)h, hl, &err);
	CHECK_STR(acme_json_get_str(hdr, "alg"), "ES256");
	CHECK_STR(acme_json_get_str(hdr, "nonce"), "nonce_1-A");
	CHECK_STR(acme_json_get_str(hdr, "url"), "https://ca/new-acct");
	CHECK(acme_json_get(hdr, "kid") == NULL);
	CHECK_STR(acme_json_get_str(acme_json_get(hdr, "jwk"), "kty"), "EC");
	acme_json_free(&hdr);
	/* the signature: r||s over "protected.payload" */
	ECDSA_SIG *es = ECDSA_SIG_new();
	ECDSA_SIG_set0(es, BN_bin2bn(s, 32, NULL), BN_bin2bn(s + 32, 32, NULL));
	unsigned char *der = NULL;
	int dl = i2d_ECDSA_SIG(es, &der);
	char *input = xasprintf("%s.%s", prot, pay);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1);
	CHECK(EVP_DigestVerify(md, der, (size_t)dl, (unsigned char *)input, strlen(input)) == 1);
	input[0] ^= 1; /* any change breaks it */
	CHECK(EVP_DigestVerify(md, der, (size_t)dl, (unsigned char *)input, strlen(input)) != 1);
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	free(input);
	free(h), free(pp), free(s);
	acme_json_free(&j);
	free(jws);
	/* with a kid: no jwk */
	jws = acme_jws(key, "https://ca/acct/7", "n", "https://ca/order", "", &err);
	CHECK(jws != NULL);
	j = acme_json_parse(jws, strlen(jws), &err);
	h = unb64(acme_json_get_str(j, "protected"), &hl);
	hdr = acme_json_parse((char *)h, hl, &err);
	CHECK_STR(acme_json_get_str(hdr, "kid"), "https://ca/acct/7");
	CHECK(acme_json_get(hdr, "jwk") == NULL);
	CHECK_STR(acme_json_get_str(j, "payload"), ""); /* POST-as-GET */
	acme_json_free(&hdr);
	acme_json_free(&j);
	free(h);
	free(jws);
	/* hostile server values never reach the header */
	static const char *const bad_nonce[] = {"a\"b", "a\\b", "a b", "a.b", "a=", "\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad_nonce) / sizeof(bad_nonce[0]); i++) {
		err = NULL;
		CHECK(acme_jws(key, NULL, bad_nonce[i], "https://ca/x", "", &err) == NULL);
		CHECK(err != NULL);
		free(err);
	}
	err = NULL;
	CHECK(acme_jws(key, NULL, "n", "https://ca/\"},\"x\":\"", "", &err) == NULL);
	free(err);
	err = NULL;
	CHECK(acme_jws(key, "https://ca/a\"", "n", "https://ca/x", "", &err) == NULL);
	free(err);
	/* the key survives a PEM round trip with the same thumbprint */
	char *pem = acme_key_pem(key);
	EVP_PKEY *back = acme_key_from_pem(pem, strlen(pem));
	char *thumb2 = acme_thumbprint(back);
	CHECK_STR(thumb2, thumb);
	CHECK(acme_key_from_pem("junk", 4) == NULL);
	free(thumb2);
	EVP_PKEY_free(back);
	free(pem);
	free(thumb);
	free(jwk);
	EVP_PKEY_free(key);
}

TEST(acme_csr_names)
{
	char *err = NULL;
	EVP_PKEY *key = acme_key_new(&err);
	const char *names[] = {"mail.example.com", "imap.example.com"};
	char *csr = acme_csr(key, names, 2, &err);
	CHECK(csr != NULL);
	size_t len;
	unsigned char *der = unb64(csr, &len);
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
	CHECK(req != NULL);
	CHECK(X509_REQ_verify(req, key) == 1);
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	CHECK(gens != NULL && sk_GENERAL_NAME_num(gens) == 2);
	const ASN1_IA5STRING *s = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, 1), NULL);
	CHECK(ASN1_STRING_length(s) == 16 &&
	      memcmp(ASN1_STRING_get0_data(s), "imap.example.com", 16) == 0);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	free(der);
	free(csr);
	/* a CN longer than 64 is refused rather than truncated */
	char longname[80];
	memset(longname, 'a', 70);
	strcpy(longname + 70, ".test");
	const char *ln[] = {longname};
	err = NULL;
	CHECK(acme_csr(key, ln, 1, &err) == NULL);
	free(err);
	EVP_PKEY_free(key);
}

TEST(acme_alpn_cert_extension)
{
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	char *err = NULL;
	CHECK_INT(acme_alpn_cert("mail.example.com", "tok.thumb", &cert, &key, &err), 0);
	CHECK(X509_check_host(cert, "mail.example.com", 0, 0, NULL) == 1);
	CHECK(X509_check_private_key(cert, key) == 1);
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	int at = X509_get_ext_by_OBJ(cert, oid, -1);
	CHECK(at >= 0);
	X509_EXTENSION *ext = X509_get_ext(cert, at);
	CHECK(X509_EXTENSION_get_critical(ext) == 1);
	/* extnValue = DER OCTET STRING (0x04 0x20) of SHA-256(keyauth) */
	ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
	const unsigned char *d = ASN1_STRING_get0_data(v);
	unsigned char md[32];
	unsigned int mdl;
	EVP_Digest("tok.thumb", 9, md, &mdl, EVP_sha256(), NULL);
	CHECK(ASN1_STRING_length(v) == 34 && d[0] == 0x04 && d[1] == 0x20 &&
	      memcmp(d + 2, md, 32) == 0);
	/* a self-signed certificate never counts as issued */
	const char *names[] = {"mail.example.com"};
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(bio, cert);
	char *pem;
	long n = BIO_get_mem_data(bio, &pem);
	CHECK(!acme_cert_covers(pem, (size_t)n, names, 1));
	time_t nb, na;
	CHECK_INT(acme_cert_times(pem, (size_t)n, &nb, &na), 0);
	CHECK(na > nb);
	CHECK(acme_cert_times("x", 1, &nb, &na) < 0);
	BIO_free(bio);
	ASN1_OBJECT_free(oid);
	X509_free(cert);
	EVP_PKEY_free(key);
}

TEST(acme_challenge_tables)
{
	CHECK(acme_challenge_http_get("tok") == NULL);
	CHECK_INT(acme_challenge_http_set("tok", "tok.thumb"), 0);
	char *k = acme_challenge_http_get("tok");
	CHECK_STR(k, "tok.thumb");
	free(k);
	CHECK(acme_challenge_http_get("to") == NULL);
	CHECK(acme_challenge_http_get("tokk") == NULL);
	acme_challenge_http_del("tok");
	CHECK(acme_challenge_http_get("tok") == NULL);
	/* bounded: the table refuses past ACME_CHALLENGES_MAX */
	char name[32];
	for (int i = 0; i < ACME_CHALLENGES_MAX; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		CHECK_INT(acme_challenge_http_set(name, "x"), 0);
	}
	CHECK_INT(acme_challenge_http_set("one-more", "x"), -1);
	for (int i = 0; i < ACME_CHALLENGES_MAX; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		acme_challenge_http_del(name);
	}
	X509 *cert, *c2;
	EVP_PKEY *key, *k2;
	char *err = NULL;
	CHECK_INT(acme_alpn_cert("a.example", "k", &cert, &key, &err), 0);
	CHECK_INT(acme_challenge_alpn_set("a.example", cert, key), 0);
	CHECK_INT(acme_challenge_alpn_lookup("A.Example", &c2, &k2), 0);
	CHECK(c2 == cert && k2 == key);
	X509_free(c2);
	EVP_PKEY_free(k2);
	CHECK_INT(acme_challenge_alpn_lookup("b.example", &c2, &k2), -1);
	acme_challenge_alpn_del("a.example");
	CHECK_INT(acme_challenge_alpn_lookup("a.example", &c2, &k2), -1);
	X509_free(cert);
	EVP_PKEY_free(key);
}
