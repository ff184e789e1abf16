/*
 * http-mailconf: what every autoconfiguration format says, read from the
 * live listener settings at each request: which of IMAP, POP3 and
 * submission are served, on which port, with implicit TLS or STARTTLS;
 * and which hosted domain a request asks about.
 */
#include "http/http-private.h"
#include "lib/alloc.h"
#include "mail/address.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>

/* The port of the first TCP address of a listener value ("a:143,b:143"
 * -> 143); 0 when the listener is off or only on unix sockets. */
static int listen_port(const char *value)
{
	const char *p = value;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		char item[300];
		if (n < sizeof(item)) {
			memcpy(item, p, n);
			item[n] = '\0';
			char *s = item + strspn(item, " \t");
			const char *colon = strrchr(s, ':');
			if (strncmp(s, "unix:", 5) != 0 && colon != NULL) {
				char *end;
				long port = strtol(colon + 1, &end, 10);
				if (end != colon + 1 && port > 0 && port <= 65535)
					return (int)port;
			}
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static void add(struct http_mailconf *mc, const struct config *cfg, const char *kind,
		const char *key, enum http_mail_security sec)
{
	int port = listen_port(config_str(cfg, key));
	if (port > 0 && mc->n < HTTP_MAIL_SERVICES_MAX)
		mc->s[mc->n++] = (struct http_mail_service){kind, port, sec};
}

void http_mailconf_get(const struct config *cfg, struct http_mailconf *mc_r)
{
	bool tls = *config_str(cfg, "tls.cert") != '\0';
	/* Without a certificate STARTTLS is not offered: plain it is. */
	enum http_mail_security upgrade = tls ? HTTP_SEC_STARTTLS : HTTP_SEC_PLAIN;
	*mc_r = (struct http_mailconf){.hostname = config_str(cfg, "server.hostname")};
	/* RFC 8314 3.3: implicit TLS is preferred over STARTTLS. */
	if (tls)
		add(mc_r, cfg, "imap", "imaps.listen", HTTP_SEC_TLS);
	add(mc_r, cfg, "imap", "imap.listen", upgrade);
	if (tls)
		add(mc_r, cfg, "pop3", "pop3s.listen", HTTP_SEC_TLS);
	add(mc_r, cfg, "pop3", "pop3.listen", upgrade);
	if (tls)
		add(mc_r, cfg, "smtp", "submissions.listen", HTTP_SEC_TLS);
	add(mc_r, cfg, "smtp", "submission.listen", upgrade);
}

const struct http_mail_service *http_mailconf_first(const struct http_mailconf *mc,
						    const char *kind)
{
	for (size_t i = 0; i < mc->n; i++)
		if (strcmp(mc->s[i].kind, kind) == 0)
			return &mc->s[i];
	return NULL;
}

int http_mail_domain(struct http_req *r, const char *address, const char *prefix,
		     char **domain_r, char **address_r)
{
	*domain_r = NULL;
	*address_r = NULL;
	char *domain = NULL;
	if (address != NULL && *address != '\0') {
		const char *error = NULL;
		char *norm = address_normalize(address, &error);
		if (norm == NULL) {
			http_reply_error(r, 400, "invalid email address");
			return -1;
		}
		*address_r = norm;
		domain = xstrdup(address_domain(norm));
	} else {
		const char *h = r->host;
		size_t plen = prefix != NULL ? strlen(prefix) : 0;
		if (plen > 0 && strncmp(h, prefix, plen) == 0)
			h += plen;
		if (*h == '\0' || !domain_valid(h)) {
			http_reply_error(r, 404, "no domain named");
			return -1;
		}
		domain = xstrdup(h);
	}
	bool hosted = false;
	enum store_err err = store_domain_hosted(r->store, domain, &hosted);
	if (err != STORE_OK || !hosted) {
		/* A failed read is not "not hosted" (a client would give up). */
		http_reply_error(r, err != STORE_OK ? 503 : 404,
				 err != STORE_OK ? "temporary failure" : "domain not hosted here");
		free(domain);
		xfree(address_r);
		return -1;
	}
	*domain_r = domain;
	return 0;
}
