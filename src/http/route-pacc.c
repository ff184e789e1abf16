/*
 * route-pacc: the configuration document of draft-ietf-mailmaint-pacc
 * ("Automatic Configuration of Email, Calendar, and Contact Server
 * Settings"), fetched by clients as
 * https://ua-auto-config.DOMAIN/.well-known/user-agent-configuration.json:
 * one member per protocol under "protocols" (here imap, pop3 and smtp,
 * each with host, port and the TLS mode), and the login methods under
 * "authentication" (password only: Roost has no OAuth issuer). The
 * draft pins the document with a digest in DNS (_ua-auto-config TXT),
 * so the bytes must be stable: they depend only on the settings.
 * The member names inside each protocol (host, port, tls) and the
 * "domain" member were not checked against the draft's final text:
 * revisit when it settles (its JMAP form, {"url": ...}, does not apply).
 */
#include "http/http-private.h"
#include <stdlib.h>
#include <string.h>

static void protocol(struct buf *b, const struct http_mailconf *mc,
		     const struct http_mail_service *s, bool *first)
{
	buf_printf(b, "%s\n    \"%s\": {\"host\": ", *first ? "" : ",", s->kind);
	http_json_string(b, mc->hostname);
	buf_printf(b, ", \"port\": %d, \"tls\": \"%s\"}", s->port,
		   s->security == HTTP_SEC_TLS ? "implicit" :
		   s->security == HTTP_SEC_STARTTLS ? "starttls" : "none");
	*first = false;
}

void http_route_pacc(struct http_req *r)
{
	char *domain, *address;
	if (http_mail_domain(r, http_query(r, "emailaddress"), "ua-auto-config.", &domain,
			     &address) < 0)
		return;
	struct http_mailconf mc;
	http_mailconf_get(r->cfg, &mc);
	struct buf b;
	buf_init(&b, HTTP_REPLY_MAX);
	buf_puts(&b, "{\n  \"domain\": ");
	http_json_string(&b, domain);
	buf_puts(&b, ",\n  \"protocols\": {");
	bool first = true;
	/* One per kind: the preferred (first) service of each. */
	static const char *const kinds[] = {"imap", "pop3", "smtp"};
	for (size_t i = 0; i < 3; i++) {
		const struct http_mail_service *s = http_mailconf_first(&mc, kinds[i]);
		if (s != NULL)
			protocol(&b, &mc, s, &first);
	}
	buf_puts(&b, "\n  },\n  \"authentication\": {\"password\": {}}\n}\n");
	http_reply(r, 200, "application/json", b.data, b.len);
	buf_free(&b);
	free(domain);
	free(address);
}
