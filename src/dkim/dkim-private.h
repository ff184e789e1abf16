/* dkim-private: what dkim-key.c and dkim-sign.c share. */
#ifndef ROOST_DKIM_PRIVATE_H
#define ROOST_DKIM_PRIVATE_H
#include <openssl/evp.h>

enum dkim_alg { DKIM_ALG_RSA, DKIM_ALG_ED25519 };
#define DKIM_NALGS 2
/* The file name part and the DNS selector suffix of each key type. */
static const char *const dkim_alg_suffix[DKIM_NALGS] = {"rsa", "ed25519"};

struct dkim_signer {
	char *domain, *selector;
	EVP_PKEY *key[DKIM_NALGS]; /* NULL when that key file is absent */
};
#endif
