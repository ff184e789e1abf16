/* auth-scram: see auth-scram.h. The math and parsing are mail/scram.c's. */
#include "auth/auth-scram.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include "mail/sasl.h"
#include "mail/scram.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct auth_scram {
	char *gs2, *user, *bare, *server_first, *nonce, *server_final;
	struct scram_keys keys;
	bool known;
	int64_t account_id;
};

struct auth_scram *auth_scram_new(void)
{
	return xcalloc(1, sizeof(struct auth_scram));
}

void auth_scram_free(struct auth_scram **xp)
{
	struct auth_scram *x = *xp;
	*xp = NULL;
	if (x == NULL)
		return;
	free(x->gs2);
	free(x->user);
	free(x->bare);
	free(x->server_first);
	free(x->nonce);
	free(x->server_final);
	wipe(x, sizeof(*x));
	free(x);
}

/* base64 -> decoded text without NUL, or NULL */
static char *decode(const char *b64, size_t len)
{
	if (len > SASL_MAX_RESPONSE)
		return NULL;
	size_t dlen;
	char *d = base64_decode(b64, len, &dlen);
	if (d != NULL && memchr(d, '\0', dlen) != NULL) {
		wipe(d, dlen);
		free(d);
		return NULL;
	}
	return d;
}

enum auth_scram_status auth_scram_first(struct auth_scram *x, struct store *s, const char *b64,
					size_t len, char **challenge_r)
{
	*challenge_r = NULL;
	char *msg = decode(b64, len);
	char *gs2, *authzid, *user, *cnonce, *bare;
	const char *why;
	if (msg == NULL || x->gs2 != NULL ||
	    scram_parse_client_first(msg, strlen(msg), &gs2, &authzid, &user, &cnonce, &bare,
				     &why) < 0) {
		free(msg);
		return AUTH_SCRAM_MALFORMED;
	}
	free(msg);
	x->gs2 = gs2;
	x->user = user;
	x->bare = bare;
	/* RFC 5802 5.1: acting as another identity is not offered */
	bool other = authzid[0] != '\0' && strcasecmp(authzid, user) != 0;
	free(authzid);
	if (other) {
		free(cnonce);
		return AUTH_SCRAM_AUTHZID;
	}
	if (auth_scram_lookup(s, user, &x->keys, &x->account_id, &x->known) != AUTH_OK) {
		free(cnonce);
		return AUTH_SCRAM_TEMPFAIL;
	}
	x->server_first = scram_server_first(cnonce, x->keys.salt, SCRAM_SALT_LEN,
					     x->keys.iterations, &x->nonce);
	free(cnonce);
	if (x->server_first == NULL)
		return AUTH_SCRAM_TEMPFAIL;
	*challenge_r = base64_encode(x->server_first, strlen(x->server_first));
	return AUTH_SCRAM_OK;
}

enum auth_scram_status auth_scram_final(struct auth_scram *x, struct store *s, struct conn *c,
					const char *proto, const char *b64, size_t len,
					auth_done_cb *done, void *ctx, struct auth_request **req_r)
{
	*req_r = NULL;
	if (x->server_first == NULL)
		return AUTH_SCRAM_MALFORMED;
	char *msg = decode(b64, len);
	char *cbind = NULL, *nonce = NULL, *without = NULL;
	unsigned char proof[SCRAM_KEY_LEN];
	if (msg == NULL ||
	    scram_parse_client_final(msg, strlen(msg), &cbind, &nonce, proof, &without) < 0) {
		free(msg);
		return AUTH_SCRAM_MALFORMED;
	}
	free(msg);
	/* RFC 5802 5.1: c= is the base64 of the gs2 header; r= is our nonce */
	char *want = base64_encode(x->gs2, strlen(x->gs2));
	bool ok = strcmp(cbind, want) == 0 && strcmp(nonce, x->nonce) == 0;
	free(want);
	free(cbind);
	free(nonce);
	if (!ok) {
		free(without);
		return AUTH_SCRAM_MISMATCH;
	}
	char *auth_message = xasprintf("%s,%s,%s", x->bare, x->server_first, without);
	free(without);
	x->server_final = scram_server_final(x->keys.server_key, auth_message);
	*req_r = auth_scram_start(s, c, proto, x->user, &x->keys, x->known, x->account_id,
				  auth_message, proof, done, ctx);
	free(auth_message);
	return AUTH_SCRAM_OK;
}

char *auth_scram_server_final(const struct auth_scram *x)
{
	const char *f = x->server_final != NULL ? x->server_final : "";
	return base64_encode(f, strlen(f));
}

const char *auth_scram_user(const struct auth_scram *x)
{
	return x->user != NULL ? x->user : "";
}
