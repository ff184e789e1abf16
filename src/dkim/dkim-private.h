/* dkim-private: what dkim-key.c, dkim-key-cache.c, dkim-canon.c,
 * dkim-sign.c and dkim-verify.c share. */
#ifndef ROOST_DKIM_PRIVATE_H
#define ROOST_DKIM_PRIVATE_H
#include <openssl/evp.h>
#include <stddef.h>

struct buf;

enum dkim_alg { DKIM_ALG_RSA, DKIM_ALG_ED25519 };
#define DKIM_NALGS 2
/* The file name part and the DNS selector suffix of each key type. */
static const char *const dkim_alg_suffix[DKIM_NALGS] = {"rsa", "ed25519"};

struct dkim_signer {
	char *domain, *selector;
	EVP_PKEY *key[DKIM_NALGS]; /* NULL when that key file is absent */
};

/* The private key in the PEM file at path (dkim-key-cache.c: decoded
 * once while the file stays the same): 0 and a reference the caller
 * frees, 1 when there is no such file, -1 and *error_r. */
int dkim_key_load(const char *path, EVP_PKEY **key_r, char **error_r);

/* Staging buffer between canonicalization and the hash. */
#define DKIM_SINK_STAGE 8192

/* Canonicalized bytes go to a hash (md) or, for the tests, a buffer. */
struct dkim_sink {
	EVP_MD_CTX *md;
	struct buf *buf;
	size_t n;
	char stage[DKIM_SINK_STAGE];
};
void dkim_sink_flush(struct dkim_sink *s);
/* RFC 6376 3.4.2 relaxed header: one field, its CRLF emitted if crlf. */
void dkim_canon_header(struct dkim_sink *s, const char *p, size_t n, int crlf);
/* RFC 6376 3.4.4 relaxed body. */
void dkim_canon_body(struct dkim_sink *s, const char *p, size_t len);
/* RFC 6376 3.4.3 simple body: trailing empty lines go; an empty body is
 * one CRLF. (Simple header canonicalization is the field unchanged.) */
void dkim_canon_body_simple(struct dkim_sink *s, const char *p, size_t len);
#endif
