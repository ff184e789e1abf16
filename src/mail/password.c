/*
 * password: crypt(3) hashing and verification (see password.h).
 *
 * Hashes go through libcrypt's crypt_ra(), so every scheme libxcrypt
 * knows verifies ($y$ yescrypt, $6$ SHA-512, $2b$ bcrypt, ...); new hashes
 * are always yescrypt with libxcrypt's default cost.
 */
#include "mail/password.h"
#include "lib/alloc.h"
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

char *password_hash(const char *password)
{
	if (strlen(password) > PASSWORD_MAX)
		return NULL;
	/* count 0 = libxcrypt's default cost; NULL rbytes = it reads
	 * the salt from the OS random source. */
	char *salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (salt == NULL)
		return NULL;
	void *data = NULL;
	int size = 0;
	const char *h = crypt_ra(password, salt, &data, &size);
	char *out = h != NULL && h[0] == '$' ? xstrdup(h) : NULL;
	free(salt);
	if (data != NULL) {
		wipe(data, (size_t)size);
		free(data);
	}
	return out;
}

bool password_verify(const char *password, const char *hash)
{
	/* Failure tokens of crypt(3) start with '*'; an empty or locked ("!")
	 * hash never matches. */
	if (hash == NULL || hash[0] != '$' || strlen(password) > PASSWORD_MAX)
		return false;
	void *data = NULL;
	int size = 0;
	const char *h = crypt_ra(password, hash, &data, &size);
	bool ok = false;
	if (h != NULL && h[0] == '$') {
		size_t hl = strlen(h), want = strlen(hash);
		ok = hl == want && CRYPTO_memcmp(h, hash, hl) == 0;
	}
	if (data != NULL) {
		wipe(data, (size_t)size);
		free(data);
	}
	return ok;
}
