/*
 * route-acme: /.well-known/acme-challenge/TOKEN (RFC 8555 8.3), the
 * http-01 answers the ACME thread publishes while an order is pending.
 * Served over HTTP (the CA connects to port 80) and HTTPS alike.
 */
#include "http/http-private.h"
#include "acme/acme.h"
#include <stdlib.h>
#include <string.h>

void http_route_acme(struct http_req *r)
{
	const char *token = r->path + strlen("/.well-known/acme-challenge/");
	char *keyauth = acme_challenge_http_get(token);
	if (keyauth == NULL) {
		http_reply_error(r, 404, NULL);
		return;
	}
	http_reply(r, 200, "application/octet-stream", keyauth, strlen(keyauth));
	free(keyauth);
}
