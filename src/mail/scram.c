/*
 * scram: SCRAM-SHA-256 server math and message parsing (see scram.h).
 * RFC 5802 3:
 *   SaltedPassword  = Hi(password, salt, i)   (PBKDF2 with HMAC-SHA-256)
 *   ClientKey       = HMAC(SaltedPassword, "Client Key")
 *   StoredKey       = H(ClientKey)
 *   ServerKey       = HMAC(SaltedPassword, "Server Key")
 *   ClientSignature = HMAC(StoredKey, AuthMessage)
 *   ClientProof     = ClientKey XOR ClientSignature
 *   ServerSignature = HMAC(ServerKey, AuthMessage)
 * The server checks H(ClientProof XOR ClientSignature) == StoredKey.
 */
#include "mail/scram.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

static void hmac(const unsigned char *key, size_t key_len, const void *data, size_t len,
		 unsigned char out[SCRAM_KEY_LEN])
{
	unsigned int n = SCRAM_KEY_LEN;
	HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n);
}

int scram_derive(const char *password, const unsigned char *salt, size_t salt_len,
		 unsigned iterations, unsigned char stored_key_r[SCRAM_KEY_LEN],
		 unsigned char server_key_r[SCRAM_KEY_LEN])
{
	unsigned char salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len,
			      (int)iterations, EVP_sha256(), SCRAM_KEY_LEN, salted) != 1)
		return -1;
	hmac(salted, sizeof(salted), "Client Key", 10, client_key);
	SHA256(client_key, sizeof(client_key), stored_key_r);
	hmac(salted, sizeof(salted), "Server Key", 10, server_key_r);
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
	return 0;
}

int scram_keys_new(const char *password, struct scram_keys *keys_r)
{
	if (RAND_bytes(keys_r->salt, SCRAM_SALT_LEN) != 1)
		return -1;
	keys_r->iterations = SCRAM_ITERATIONS;
	return scram_derive(password, keys_r->salt, SCRAM_SALT_LEN, SCRAM_ITERATIONS,
			    keys_r->stored_key, keys_r->server_key);
}

/* RFC 5802 5.1 saslname: "=2C" is ',', "=3D" is '='; any other '=' or a
 * ',' is malformed. NULL when malformed or empty. */
static char *saslname_decode(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == ',' || s[i] == '\0')
			goto bad;
		if (s[i] == '=') {
			if (len - i >= 3 && s[i + 1] == '2' && s[i + 2] == 'C')
				out[o++] = ',';
			else if (len - i >= 3 && s[i + 1] == '3' && s[i + 2] == 'D')
				out[o++] = '=';
			else
				goto bad;
			i += 2;
			continue;
		}
		out[o++] = s[i];
	}
	if (o == 0)
		goto bad;
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* printable = %x21-2B / %x2D-7E (RFC 5802 7): the nonce's characters */
static bool nonce_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return false;
	return true;
}

int scram_parse_client_first(const char *msg, size_t len, char **gs2_r, char **authzid_r,
			     char **user_r, char **nonce_r, char **bare_r,
			     const char **error_r)
{
	*gs2_r = *authzid_r = *user_r = *nonce_r = *bare_r = NULL;
	*error_r = "malformed client-first-message";
	if (len > SCRAM_MAX_MESSAGE || memchr(msg, '\0', len) != NULL || len < 3)
		return -1;
	/* gs2-cbind-flag: "n" (no binding) or "y" (client could, thinks we
	 * cannot); "p=" asks for a binding we do not offer. */
	if (msg[0] == 'p') {
		*error_r = "channel binding is not supported";
		return -1;
	}
	if ((msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',')
		return -1;
	const char *azend = memchr(msg + 2, ',', len - 2);
	if (azend == NULL)
		return -1;
	char *authzid = NULL;
	if (azend > msg + 2) {
		if (azend - msg < 5 || msg[2] != 'a' || msg[3] != '=')
			return -1;
		authzid = saslname_decode(msg + 4, (size_t)(azend - msg - 4));
		if (authzid == NULL)
			return -1;
	}
	const char *bare = azend + 1;
	size_t blen = len - (size_t)(bare - msg);
	/* "n=" saslname "," "r=" c-nonce ["," extensions]; "m=" is reserved
	 * for mandatory extensions we do not know: refuse (RFC 5802 5.1) */
	if (blen < 5 || bare[0] != 'n' || bare[1] != '=')
		goto bad;
	const char *uend = memchr(bare + 2, ',', blen - 2);
	if (uend == NULL)
		goto bad;
	char *user = saslname_decode(bare + 2, (size_t)(uend - bare - 2));
	if (user == NULL)
		goto bad;
	const char *r = uend + 1;
	size_t rlen = len - (size_t)(r - msg);
	if (rlen < 3 || r[0] != 'r' || r[1] != '=') {
		free(user);
		goto bad;
	}
	const char *nend = memchr(r + 2, ',', rlen - 2);
	size_t nlen = nend != NULL ? (size_t)(nend - r - 2) : rlen - 2;
	if (!nonce_valid(r + 2, nlen)) {
		free(user);
		goto bad;
	}
	*gs2_r = xstrndup(msg, (size_t)(bare - msg));
	*authzid_r = authzid != NULL ? authzid : xstrdup("");
	*user_r = user;
	*nonce_r = xstrndup(r + 2, nlen);
	*bare_r = xstrndup(bare, blen);
	return 0;
bad:
	free(authzid);
	return -1;
}

char *scram_server_first(const char *client_nonce, const unsigned char *salt, size_t salt_len,
			 unsigned iterations, char **nonce_r)
{
	unsigned char rnd[SCRAM_NONCE_LEN];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return NULL;
	char *ours = base64_encode(rnd, sizeof(rnd)); /* base64 has no ',' */
	char *salt64 = base64_encode(salt, salt_len);
	*nonce_r = xasprintf("%s%s", client_nonce, ours);
	char *msg = xasprintf("r=%s,s=%s,i=%u", *nonce_r, salt64, iterations);
	free(ours);
	free(salt64);
	return msg;
}

int scram_parse_client_final(const char *msg, size_t len, char **cbind_r, char **nonce_r,
			     unsigned char proof_r[SCRAM_KEY_LEN], char **without_proof_r)
{
	*cbind_r = *nonce_r = *without_proof_r = NULL;
	if (len > SCRAM_MAX_MESSAGE || memchr(msg, '\0', len) != NULL)
		return -1;
	/* the proof is the last attribute (RFC 5802 7) */
	const char *p = NULL;
	for (size_t i = len; i >= 3; i--)
		if (msg[i - 3] == ',' && msg[i - 2] == 'p' && msg[i - 1] == '=') {
			p = msg + i - 3;
			break;
		}
	if (p == NULL || len < 2 || msg[0] != 'c' || msg[1] != '=')
		return -1;
	const char *cend = memchr(msg, ',', len);
	if (cend == NULL || cend > p)
		return -1;
	const char *r = cend + 1;
	if (p - r < 3 || r[0] != 'r' || r[1] != '=')
		return -1;
	const char *rend = memchr(r, ',', (size_t)(p - r));
	if (rend == NULL)
		rend = p;
	const char *proof = p + 3;
	size_t plen = len - (size_t)(proof - msg);
	size_t dlen = 0;
	char *raw = base64_decode(proof, plen, &dlen);
	if (raw == NULL || dlen != SCRAM_KEY_LEN) {
		free(raw);
		return -1;
	}
	memcpy(proof_r, raw, SCRAM_KEY_LEN);
	free(raw);
	*cbind_r = xstrndup(msg + 2, (size_t)(cend - msg - 2));
	*nonce_r = xstrndup(r + 2, (size_t)(rend - r - 2));
	*without_proof_r = xstrndup(msg, (size_t)(p - msg));
	return 0;
}

bool scram_proof_valid(const unsigned char stored_key[SCRAM_KEY_LEN], const char *auth_message,
		       const unsigned char proof[SCRAM_KEY_LEN])
{
	unsigned char sig[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN], check[SCRAM_KEY_LEN];
	hmac(stored_key, SCRAM_KEY_LEN, auth_message, strlen(auth_message), sig);
	for (size_t i = 0; i < SCRAM_KEY_LEN; i++)
		client_key[i] = proof[i] ^ sig[i];
	SHA256(client_key, sizeof(client_key), check);
	bool ok = CRYPTO_memcmp(check, stored_key, SCRAM_KEY_LEN) == 0;
	OPENSSL_cleanse(client_key, sizeof(client_key));
	return ok;
}

char *scram_server_final(const unsigned char server_key[SCRAM_KEY_LEN], const char *auth_message)
{
	unsigned char sig[SCRAM_KEY_LEN];
	hmac(server_key, SCRAM_KEY_LEN, auth_message, strlen(auth_message), sig);
	char *b = base64_encode(sig, sizeof(sig));
	char *out = xasprintf("v=%s", b);
	free(b);
	return out;
}
