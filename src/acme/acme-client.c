/*
 * acme-client: one certificate order, RFC 8555 7: directory, nonce,
 * account (jwk, then kid), order, authorizations and their challenges,
 * finalize with a CSR, poll, download the chain. Runs on the ACME thread
 * only; every request is bounded (acme-https.h), every poll counted
 * (ACME_POLL_MAX) and the whole order timed (ACME_ORDER_TIMEOUT_S).
 */
#include "acme/acme-private.h"
#include "acme/acme-crypto.h"
#include "acme/acme-json.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct client {
	const struct acme_params *p;
	EVP_PKEY *account;
	EVP_PKEY *cert_key;	/* kept across renewals, or NULL */
	atomic_bool *stop;
	SSL_CTX *tls;
	char *new_nonce, *new_account, *new_order;
	char *kid;
	char *nonce;
	time_t deadline;
};

static bool is_b64url(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '-' || s[n] == '_'))
			return false;
	return n > 0 && n <= max;
}

/* The problem document of an error answer (RFC 8555 6.7), as text. */
static char *problem(const struct acme_response *r)
{
	char *err = NULL;
	struct acme_json *j = acme_json_parse(r->body, r->len, &err);
	free(err);
	const char *type = acme_json_get_str(j, "type"), *detail = acme_json_get_str(j, "detail");
	char *out = xasprintf("HTTP %d%s%.200s%s%.300s", r->status, type ? " " : "",
			      type ? type : "", detail ? ": " : "", detail ? detail : "");
	acme_json_free(&j);
	return out;
}

static void take_nonce(struct client *c, struct acme_response *r)
{
	if (r->nonce != NULL && is_b64url(r->nonce, 512)) {
		free(c->nonce);
		c->nonce = r->nonce;
		r->nonce = NULL;
	}
}

static int get_nonce(struct client *c, char **error_r)
{
	struct acme_response r;
	if (acme_https_request(c->tls, "HEAD", c->new_nonce, NULL, NULL, c->stop, &r, error_r) < 0)
		return -1;
	take_nonce(c, &r);
	int ok = c->nonce != NULL && (r.status == 200 || r.status == 204);
	if (!ok)
		*error_r = xasprintf("newNonce: HTTP %d without a Replay-Nonce", r.status);
	acme_response_clear(&r);
	return ok ? 0 : -1;
}

/* A signed POST (payload "" = POST-as-GET), retried on badNonce. 0 with
 * *r (any status; the caller judges it), or -1 with *error_r. */
static int post(struct client *c, const char *url, const char *payload, struct acme_response *r,
		char **error_r)
{
	for (int attempt = 0;; attempt++) {
		if (c->nonce == NULL && get_nonce(c, error_r) < 0)
			return -1;
		char *jws = acme_jws(c->account, c->kid, c->nonce, url, payload, error_r);
		free(c->nonce);
		c->nonce = NULL;
		if (jws == NULL)
			return -1;
		int ret = acme_https_request(c->tls, "POST", url, "application/jose+json", jws,
					     c->stop, r, error_r);
		free(jws);
		if (ret < 0)
			return -1;
		take_nonce(c, r);
		if (r->status == 400 && attempt < ACME_NONCE_RETRIES) {
			char *err = NULL;
			struct acme_json *j = acme_json_parse(r->body, r->len, &err);
			free(err);
			const char *type = acme_json_get_str(j, "type");
			bool bad = type != NULL &&
				   strcmp(type, "urn:ietf:params:acme:error:badNonce") == 0;
			acme_json_free(&j);
			if (bad) {
				acme_response_clear(r);
				continue;
			}
		}
		return 0;
	}
}

/* post() whose answer must have one of the two statuses and a JSON
 * object body: the parsed body, or NULL with *error_r. */
static struct acme_json *post_json(struct client *c, const char *what, const char *url,
				   const char *payload, int ok1, int ok2, struct acme_response *r,
				   char **error_r)
{
	if (post(c, url, payload, r, error_r) < 0) {
		char *e = *error_r;
		*error_r = xasprintf("%s: %s", what, e);
		free(e);
		return NULL;
	}
	if (r->status != ok1 && r->status != ok2) {
		char *pr = problem(r);
		*error_r = xasprintf("%s: %s", what, pr);
		free(pr);
		acme_response_clear(r);
		return NULL;
	}
	char *err = NULL;
	struct acme_json *j = acme_json_parse(r->body, r->len, &err);
	if (j == NULL || j->type != ACME_JSON_OBJECT) {
		*error_r = xasprintf("%s: %s", what, err != NULL ? err : "not a JSON object");
		free(err);
		acme_json_free(&j);
		acme_response_clear(r);
		return NULL;
	}
	return j;
}

/* Wait before the next poll: Retry-After (RFC 8555 7.5.1), bounded. */
static int poll_wait(struct client *c, const struct acme_response *r, int attempt,
		     char **error_r)
{
	if (attempt >= ACME_POLL_MAX || time(NULL) >= c->deadline) {
		*error_r = xasprintf("still not done after %d polls", attempt);
		return -1;
	}
	long s = r->retry_after;
	if (s < 1)
		s = 1;
	if (s > ACME_POLL_MAX_WAIT_S)
		s = ACME_POLL_MAX_WAIT_S;
	for (long ms = 0; ms < s * 1000; ms += 100) {
		if (atomic_load(c->stop)) {
			*error_r = xstrdup("stopped");
			return -1;
		}
		usleep(100000);
	}
	return 0;
}

static int directory(struct client *c, char **error_r)
{
	struct acme_response r;
	if (acme_https_request(c->tls, "GET", c->p->directory, NULL, NULL, c->stop, &r,
			       error_r) < 0) {
		char *e = *error_r;
		*error_r = xasprintf("directory %s: %s", c->p->directory, e);
		free(e);
		return -1;
	}
	char *err = NULL;
	struct acme_json *j = r.status == 200 ? acme_json_parse(r.body, r.len, &err) : NULL;
	const char *nn = acme_json_get_str(j, "newNonce"), *na = acme_json_get_str(j, "newAccount"),
		   *no = acme_json_get_str(j, "newOrder");
	int ret = -1;
	if (nn == NULL || na == NULL || no == NULL) {
		*error_r = xasprintf("directory %s: HTTP %d, %s", c->p->directory, r.status,
				     err != NULL ? err : "no newNonce, newAccount or newOrder");
	} else {
		c->new_nonce = xstrdup(nn);
		c->new_account = xstrdup(na);
		c->new_order = xstrdup(no);
		ret = 0;
	}
	free(err);
	acme_json_free(&j);
	acme_response_clear(&r);
	return ret;
}

/* RFC 8555 7.3: newAccount (found again when it exists: 200). */
static int account(struct client *c, char **error_r)
{
	char *payload;
	if (*c->p->email != '\0')
		payload = xasprintf("{\"termsOfServiceAgreed\":true,\"contact\":[\"mailto:%s\"]}",
				    c->p->email);
	else
		payload = xstrdup("{\"termsOfServiceAgreed\":true}");
	struct acme_response r;
	struct acme_json *j = post_json(c, "newAccount", c->new_account, payload, 200, 201, &r,
					error_r);
	free(payload);
	if (j == NULL)
		return -1;
	int ret = -1;
	if (r.location == NULL) {
		*error_r = xstrdup("newAccount: no Location (account URL)");
	} else {
		c->kid = xstrdup(r.location);
		ret = 0;
	}
	acme_json_free(&j);
	acme_response_clear(&r);
	return ret;
}

/* Publish the answer to the challenge of `type` of one authorization. */
static int publish(struct client *c, const char *host, const char *token, char **error_r)
{
	char *thumb = acme_thumbprint(c->account);
	if (thumb == NULL) {
		*error_r = xstrdup("account key thumbprint");
		return -1;
	}
	/* RFC 8555 8.1 */
	char *keyauth = xasprintf("%s.%s", token, thumb);
	free(thumb);
	int ret = -1;
	if (c->p->challenge == ACME_HTTP_01) {
		ret = acme_challenge_http_set(token, keyauth);
		if (ret < 0)
			*error_r = xstrdup("too many challenges published");
	} else {
		X509 *cert;
		EVP_PKEY *key;
		if (acme_alpn_cert(host, keyauth, &cert, &key, error_r) == 0) {
			ret = acme_challenge_alpn_set(host, cert, key);
			if (ret < 0)
				*error_r = xstrdup("too many challenges published");
			X509_free(cert);
			EVP_PKEY_free(key);
		}
	}
	free(keyauth);
	return ret;
}

static void unpublish(struct client *c, const char *host, const char *token)
{
	if (c->p->challenge == ACME_HTTP_01)
		acme_challenge_http_del(token);
	else
		acme_challenge_alpn_del(host);
}

/* RFC 8555 7.5: one authorization, to valid. */
static int authorize(struct client *c, const char *url, char **error_r)
{
	struct acme_response r;
	struct acme_json *a = post_json(c, "authorization", url, "", 200, 200, &r, error_r);
	if (a == NULL)
		return -1;
	acme_response_clear(&r);
	const char *status = acme_json_get_str(a, "status");
	const struct acme_json *id = acme_json_get(a, "identifier");
	const char *host = acme_json_get_str(id, "value");
	int ret = -1;
	if (status != NULL && strcmp(status, "valid") == 0) {
		acme_json_free(&a);
		return 0; /* reused (RFC 8555 7.1.3) */
	}
	if (status == NULL || strcmp(status, "pending") != 0 || host == NULL) {
		*error_r = xasprintf("authorization %s is %s", host ? host : "?",
				     status ? status : "without status");
		acme_json_free(&a);
		return -1;
	}
	const char *want = c->p->challenge == ACME_HTTP_01 ? "http-01" : "tls-alpn-01";
	const struct acme_json *chals = acme_json_get(a, "challenges"), *ch = NULL;
	for (size_t i = 0; chals != NULL && i < chals->n; i++) {
		const struct acme_json *x = acme_json_nth(chals, i);
		const char *t = acme_json_get_str(x, "type");
		if (t != NULL && strcmp(t, want) == 0) {
			ch = x;
			break;
		}
	}
	const char *token = acme_json_get_str(ch, "token"), *curl = acme_json_get_str(ch, "url");
	if (ch == NULL || token == NULL || curl == NULL || !is_b64url(token, ACME_TOKEN_MAX)) {
		*error_r = xasprintf("authorization %s offers no usable %s challenge", host, want);
		acme_json_free(&a);
		return -1;
	}
	char *tok = xstrdup(token), *curl_dup = xstrdup(curl), *name = xstrdup(host);
	acme_json_free(&a);
	if (publish(c, name, tok, error_r) < 0)
		goto out;
	/* RFC 8555 7.5.1: respond with {}, then poll the authorization */
	struct acme_json *j = post_json(c, "challenge", curl_dup, "{}", 200, 200, &r, error_r);
	if (j == NULL)
		goto unpub;
	acme_json_free(&j);
	for (int attempt = 0;; attempt++) {
		if (poll_wait(c, &r, attempt, error_r) < 0) {
			char *e = *error_r;
			*error_r = xasprintf("authorization %s: %s", name, e);
			free(e);
			acme_response_clear(&r);
			goto unpub;
		}
		acme_response_clear(&r);
		a = post_json(c, "authorization", url, "", 200, 200, &r, error_r);
		if (a == NULL)
			goto unpub;
		status = acme_json_get_str(a, "status");
		if (status != NULL && strcmp(status, "valid") == 0) {
			ret = 0;
		} else if (status == NULL || strcmp(status, "pending") != 0) {
			/* the challenge's error says why (RFC 8555 8.2) */
			const char *detail = NULL;
			chals = acme_json_get(a, "challenges");
			for (size_t i = 0; chals != NULL && i < chals->n && detail == NULL; i++)
				detail = acme_json_get_str(
					acme_json_get(acme_json_nth(chals, i), "error"), "detail");
			*error_r = xasprintf("authorization %s is %s: %.300s", name,
					     status ? status : "without status",
					     detail ? detail : "no detail");
		}
		bool done = status == NULL || strcmp(status, "pending") != 0;
		acme_json_free(&a);
		if (done)
			break;
	}
	acme_response_clear(&r);
unpub:
	unpublish(c, name, tok);
out:
	free(tok);
	free(curl_dup);
	free(name);
	return ret;
}

static int order(struct client *c, struct acme_issued *out, char **error_r)
{
	struct buf ids;
	buf_init(&ids, 64 * 1024);
	buf_puts(&ids, "{\"identifiers\":[");
	for (size_t i = 0; i < c->p->nhosts; i++)
		buf_printf(&ids, "%s{\"type\":\"dns\",\"value\":\"%s\"}", i ? "," : "",
			   c->p->hosts[i]);
	buf_puts(&ids, "]}");
	struct acme_response r;
	struct acme_json *o = post_json(c, "newOrder", c->new_order, ids.data, 201, 200, &r,
					error_r);
	buf_free(&ids);
	if (o == NULL)
		return -1;
	int ret = -1;
	char *order_url = r.location != NULL ? xstrdup(r.location) : NULL;
	acme_response_clear(&r);
	const struct acme_json *authz = acme_json_get(o, "authorizations");
	const char *fin = acme_json_get_str(o, "finalize");
	EVP_PKEY *key = NULL;
	char *fin_url = fin != NULL ? xstrdup(fin) : NULL, *cert_url = NULL;
	if (order_url == NULL || fin_url == NULL || authz == NULL ||
	    authz->type != ACME_JSON_ARRAY || authz->n == 0 || authz->n > ACME_MAX_HOSTS) {
		*error_r = xstrdup("newOrder: no Location, finalize or authorizations");
		goto out;
	}
	for (size_t i = 0; i < authz->n; i++) {
		const struct acme_json *u = acme_json_nth(authz, i);
		if (u->type != ACME_JSON_STRING) {
			*error_r = xstrdup("newOrder: an authorization is not a URL");
			goto out;
		}
		if (authorize(c, u->str, error_r) < 0)
			goto out;
	}
	/* RFC 8555 7.4: finalize with a CSR for a key of the certificate's own:
	 * the one it had, so a DANE-EE "3 1 1" TLSA record of ours survives */
	if (c->cert_key != NULL && EVP_PKEY_up_ref(c->cert_key) == 1)
		key = c->cert_key;
	else
		key = acme_key_new(error_r);
	if (key == NULL)
		goto out;
	char *csr = acme_csr(key, (const char *const *)c->p->hosts, c->p->nhosts, error_r);
	if (csr == NULL)
		goto out;
	char *payload = xasprintf("{\"csr\":\"%s\"}", csr);
	free(csr);
	struct acme_json *j = post_json(c, "finalize", fin_url, payload, 200, 200, &r, error_r);
	free(payload);
	for (int attempt = 0; j != NULL; attempt++) {
		const char *status = acme_json_get_str(j, "status");
		const char *cu = acme_json_get_str(j, "certificate");
		if (status != NULL && strcmp(status, "valid") == 0 && cu != NULL) {
			cert_url = xstrdup(cu);
			break;
		}
		if (status == NULL ||
		    (strcmp(status, "processing") != 0 && strcmp(status, "ready") != 0 &&
		     strcmp(status, "valid") != 0)) {
			*error_r = xasprintf("order is %s", status ? status : "without status");
			break;
		}
		acme_json_free(&j);
		if (poll_wait(c, &r, attempt, error_r) < 0)
			break;
		acme_response_clear(&r);
		j = post_json(c, "order", order_url, "", 200, 200, &r, error_r);
	}
	acme_json_free(&j);
	acme_response_clear(&r);
	if (cert_url == NULL)
		goto out;
	/* RFC 8555 7.4.2: the chain, application/pem-certificate-chain */
	if (post(c, cert_url, "", &r, error_r) < 0)
		goto out;
	if (r.status != 200 || r.len == 0) {
		char *pr = problem(&r);
		*error_r = xasprintf("certificate download: %s", pr);
		free(pr);
		acme_response_clear(&r);
		goto out;
	}
	if (!acme_cert_covers(r.body, r.len, (const char *const *)c->p->hosts, c->p->nhosts)) {
		*error_r = xstrdup("the issued certificate does not name every host");
		acme_response_clear(&r);
		goto out;
	}
	out->chain = r.body;
	r.body = NULL;
	acme_response_clear(&r);
	out->key = acme_key_pem(key);
	ret = out->key != NULL ? 0 : -1;
	if (ret < 0) {
		*error_r = xstrdup("certificate key encoding");
		free(out->chain);
		out->chain = NULL;
	}
out:
	EVP_PKEY_free(key);
	acme_json_free(&o);
	free(order_url);
	free(fin_url);
	free(cert_url);
	return ret;
}

int acme_issue(const struct acme_params *p, EVP_PKEY *account_key, EVP_PKEY *cert_key,
	       atomic_bool *stop, struct acme_issued *out, char **error_r)
{
	struct client c = {.p = p, .account = account_key, .cert_key = cert_key, .stop = stop,
			   .deadline = time(NULL) + ACME_ORDER_TIMEOUT_S};
	*out = (struct acme_issued){0};
	int ret = -1;
	c.tls = acme_https_ctx_new(p->ca_file, error_r);
	if (c.tls != NULL && directory(&c, error_r) == 0 && account(&c, error_r) == 0)
		ret = order(&c, out, error_r);
	SSL_CTX_free(c.tls);
	free(c.new_nonce);
	free(c.new_account);
	free(c.new_order);
	free(c.kid);
	free(c.nonce);
	return ret;
}
