/*
 * scram: the server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as pure
 * functions: key derivation, parsing the client's two messages, and the
 * proof and signature math. No store, no session: the protocol owns the
 * exchange (smtp-cmd-auth.c) and the auth layer the check (auth/auth.h).
 * Channel binding (-PLUS) is not offered; SASLprep is not applied, so a
 * non-ASCII password works only when the client sends the same bytes.
 */
#ifndef ROOST_SCRAM_H
#define ROOST_SCRAM_H
#include <stdbool.h>
#include <stddef.h>

#define SCRAM_KEY_LEN 32	/* SHA-256 */
#define SCRAM_SALT_LEN 16
/* RFC 7677 4: at least 4096; the cost an attacker with a stolen database
 * pays per guess. */
#define SCRAM_ITERATIONS 10000
#define SCRAM_MAX_ITERATIONS 1000000
#define SCRAM_MAX_MESSAGE 2048	/* bytes of one decoded client message */
#define SCRAM_NONCE_LEN 24	/* random bytes in the server's nonce part */

struct scram_keys {
	unsigned char salt[SCRAM_SALT_LEN];
	unsigned iterations;
	unsigned char stored_key[SCRAM_KEY_LEN];
	unsigned char server_key[SCRAM_KEY_LEN];
};

/* StoredKey and ServerKey of `password` with the given salt and count
 * (RFC 5802 3). 0, or -1 when OpenSSL fails. */
int scram_derive(const char *password, const unsigned char *salt, size_t salt_len,
		 unsigned iterations, unsigned char stored_key_r[SCRAM_KEY_LEN],
		 unsigned char server_key_r[SCRAM_KEY_LEN]);
/* New keys with a random salt and SCRAM_ITERATIONS. */
int scram_keys_new(const char *password, struct scram_keys *keys_r);

/* The client-first-message (RFC 5802 7): gs2-header then
 * "n=user,r=nonce[,ext]". *gs2_r is the header ("n,," or "y,," with an
 * optional a=authzid), *user_r the decoded name ("=2C" and "=3D"),
 * *authzid_r the decoded authzid or "", *nonce_r the client nonce,
 * *bare_r the message without its gs2 header. Channel binding ("p=") is
 * refused. All malloc'd. -1 with *error_r (static) when malformed. */
int scram_parse_client_first(const char *msg, size_t len, char **gs2_r, char **authzid_r,
			     char **user_r, char **nonce_r, char **bare_r,
			     const char **error_r);
/* The server-first-message "r=<client nonce><ours>,s=<salt>,i=<count>"
 * (malloc'd); *nonce_r the combined nonce. NULL when the RNG fails. */
char *scram_server_first(const char *client_nonce, const unsigned char *salt, size_t salt_len,
			 unsigned iterations, char **nonce_r);
/* The client-final-message "c=<b64 gs2>,r=<nonce>[,ext],p=<proof>":
 * *cbind_r the c= value, *nonce_r the r= value, proof_r the decoded
 * proof, *without_proof_r the message up to ",p=". -1 when malformed. */
int scram_parse_client_final(const char *msg, size_t len, char **cbind_r, char **nonce_r,
			     unsigned char proof_r[SCRAM_KEY_LEN], char **without_proof_r);
/* Does the proof show knowledge of the password behind stored_key, for
 * this AuthMessage (client-first-bare "," server-first ","
 * client-final-without-proof)? Constant time. */
bool scram_proof_valid(const unsigned char stored_key[SCRAM_KEY_LEN], const char *auth_message,
		       const unsigned char proof[SCRAM_KEY_LEN]);
/* "v=<base64 ServerSignature>" (malloc'd), the server-final-message. */
char *scram_server_final(const unsigned char server_key[SCRAM_KEY_LEN], const char *auth_message);
#endif
