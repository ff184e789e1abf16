/*
 * http-private: what the server (http-server.c), the route table
 * (http-routes.c) and the routes (route-*.c) share.
 */
#ifndef ROOST_HTTP_PRIVATE_H
#define ROOST_HTTP_PRIVATE_H
#include "http/http.h"
#include "lib/buf.h"
#include <stdbool.h>
#include <stddef.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

/* Largest answer a route builds (a mobileconfig is a few KiB; /metrics
 * is the big one). */
#define HTTP_REPLY_MAX (8 << 20)
/* Longest path or query a route looks at; longer is 414. */
#define HTTP_URI_MAX 2048

/* One request, as a route sees it. */
struct http_req {
	struct evhttp_request *ev;
	struct config *cfg;
	struct store *store;
	SSL_CTX *ssl_ctx;	 /* the server's certificate (NULL: no TLS) */
	bool tls;		 /* arrived over HTTPS */
	const char *ip;		 /* peer address */
	const char *path;	 /* decoded path */
	char host[256];		 /* Host header, lowercased, without port; "" if none */
	struct evkeyvalq query;	 /* decoded query parameters */
	int code;		 /* answered status (access log) */
	size_t bytes;		 /* answered body size (access log) */
};

typedef void http_route_fn(struct http_req *r);

struct http_route {
	const char *path;	/* exact match */
	unsigned methods;	/* EVHTTP_REQ_GET | ... */
	const char *name;	/* metrics label */
	http_route_fn *fn;
};
/* The table (http-routes.c), ended by a NULL path. */
extern const struct http_route http_routes[];

/* Answer with body b (NULL: none) of the given type. */
void http_reply(struct http_req *r, int code, const char *content_type, const void *body,
		size_t len);
/* A short text/plain answer for an error code. */
void http_reply_error(struct http_req *r, int code, const char *text);
/* A query parameter, or NULL. */
const char *http_query(struct http_req *r, const char *name);
/* The request body (POST), NUL-terminated copy in *body_r (caller
 * frees); the size limit is evhttp's (http.max_body_size). */
char *http_body_dup(struct http_req *r, size_t *len_r);

/* Escaping every inserted value (http-escape.c). */
void http_xml_escape(struct buf *b, const char *s);
void http_json_string(struct buf *b, const char *s); /* with the quotes */

/* --- client autoconfiguration (http-mailconf.c) --- */

enum http_mail_security { HTTP_SEC_PLAIN, HTTP_SEC_STARTTLS, HTTP_SEC_TLS };

struct http_mail_service {
	const char *kind; /* "imap", "pop3", "smtp" */
	int port;
	enum http_mail_security security;
};

#define HTTP_MAIL_SERVICES_MAX 6
/* What clients should use, from the live listener settings: implicit TLS
 * first (RFC 8314 3.3), then STARTTLS; plain only when the server has
 * no certificate at all. */
struct http_mailconf {
	const char *hostname; /* server.hostname */
	size_t n;
	struct http_mail_service s[HTTP_MAIL_SERVICES_MAX];
};
void http_mailconf_get(const struct config *cfg, struct http_mailconf *mc_r);
/* The first service of `kind`, or NULL. */
const struct http_mail_service *http_mailconf_first(const struct http_mailconf *mc,
						    const char *kind);

/* Which domain a request asks about: the domain of ?emailaddress= (also
 * "email"), else the Host header without a "prefix." label (e.g.
 * "autoconfig."). Checks it is hosted here: 0 with *domain_r (caller
 * frees) and *address_r (normalised, NULL when none was given; caller
 * frees); -1 after answering (400 bad address, 404 not hosted, 503 the
 * store failed). */
int http_mail_domain(struct http_req *r, const char *address, const char *prefix,
		     char **domain_r, char **address_r);

/* The EMailAddress of an Outlook autodiscover request body[0..len)
 * (NUL-terminated at len), entity-decoded, not yet validated; NULL when
 * there is none (route-autodiscover.c; fuzzed by fuzz-autodiscover). */
char *http_autodiscover_address(const char *body, size_t len);

/* Routes (route-*.c). */
http_route_fn http_route_autoconfig;
http_route_fn http_route_autodiscover;
http_route_fn http_route_pacc;
http_route_fn http_route_mobileconfig;
http_route_fn http_route_metrics;
http_route_fn http_route_acme;
/* Register the scrape-time gauges (memory budget, indexer backlog). */
void http_metrics_collectors(struct store *store);
#endif
