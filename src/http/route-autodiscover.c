/*
 * route-autodiscover: Outlook's "POX" autodiscover. The client POSTs
 *   <Autodiscover xmlns=".../outlook/requestschema/2006"><Request>
 *     <EMailAddress>ADDRESS</EMailAddress>
 *     <AcceptableResponseSchema>.../outlook/responseschema/2006a</...>
 *   </Request></Autodiscover>
 * to https://autodiscover.DOMAIN/autodiscover/autodiscover.xml and gets
 * an Account of type email with one Protocol per service ([MS-OXDSCLI]
 * section 2.2.4). The request is not parsed as a whole document: only
 * the text of its one EMailAddress element (any namespace prefix) is
 * taken, entity-decoded, and then validated as an address.
 */
#include "http/http-private.h"
#include "lib/alloc.h"
#include <stdlib.h>
#include <string.h>

#define RESPONSE_NS "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
#define OUTLOOK_NS "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
/* Longest EMailAddress text taken from a request. */
#define AUTODISCOVER_ADDRESS_MAX 320
/* The scan is linear; http.max_body_size bounds the input anyway. */
#define AUTODISCOVER_BODY_MAX (1 << 20)

/* Decode the five predefined XML entities of s[0..n) (XML 1.0 4.6);
 * NULL for anything else with '&' (numeric references are not needed
 * for an address). */
static char *xml_text(const char *s, size_t n)
{
	static const struct { const char *ent; char c; } ents[] = {
		{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''},
	};
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n;) {
		if (s[i] != '&') {
			*o++ = s[i++];
			continue;
		}
		size_t k = 0;
		while (k < 5 && strncmp(s + i, ents[k].ent, strlen(ents[k].ent)) != 0)
			k++;
		if (k == 5 || i + strlen(ents[k].ent) > n) {
			free(out);
			return NULL;
		}
		*o++ = ents[k].c;
		i += strlen(ents[k].ent);
	}
	*o = '\0';
	return out;
}

/* The text of the first <EMailAddress> (or <p:EMailAddress>) element. */
static char *request_address(const char *body)
{
	if (strlen(body) > AUTODISCOVER_BODY_MAX)
		return NULL;
	for (const char *p = strchr(body, '<'); p != NULL; p = strchr(p + 1, '<')) {
		const char *name = p + 1;
		const char *gt = strchr(name, '>');
		if (gt == NULL)
			return NULL;
		const char *colon = memchr(name, ':', (size_t)(gt - name));
		const char *local = colon != NULL ? colon + 1 : name;
		if ((size_t)(gt - local) != strlen("EMailAddress") ||
		    strncmp(local, "EMailAddress", (size_t)(gt - local)) != 0)
			continue;
		const char *text = gt + 1;
		const char *end = strchr(text, '<');
		if (end == NULL || (size_t)(end - text) > AUTODISCOVER_ADDRESS_MAX)
			return NULL;
		/* surrounding white space is not part of the address */
		while (text < end && (*text == ' ' || *text == '\n' || *text == '\r' || *text == '\t'))
			text++;
		while (end > text && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\r' ||
				      end[-1] == '\t'))
			end--;
		return xml_text(text, (size_t)(end - text));
	}
	return NULL;
}

char *http_autodiscover_address(const char *body, size_t len)
{
	/* a NUL inside the body is no XML text we take */
	return memchr(body, '\0', len) == NULL && body[len] == '\0' ? request_address(body) : NULL;
}

static void protocol(struct buf *b, const struct http_mailconf *mc,
		     const struct http_mail_service *s, const char *address)
{
	static const char *const types[][2] = {{"imap", "IMAP"}, {"pop3", "POP3"}, {"smtp", "SMTP"}};
	const char *type = "IMAP";
	for (size_t i = 0; i < 3; i++)
		if (strcmp(types[i][0], s->kind) == 0)
			type = types[i][1];
	buf_printf(b, "      <Protocol>\n        <Type>%s</Type>\n        <Server>", type);
	http_xml_escape(b, mc->hostname);
	buf_printf(b, "</Server>\n        <Port>%d</Port>\n        <LoginName>", s->port);
	http_xml_escape(b, address);
	/* SSL on with Encryption TLS means STARTTLS; SSL means implicit. */
	buf_printf(b, "</LoginName>\n        <DomainRequired>off</DomainRequired>\n"
		      "        <SPA>off</SPA>\n        <SSL>%s</SSL>\n",
		   s->security == HTTP_SEC_PLAIN ? "off" : "on");
	if (s->security != HTTP_SEC_PLAIN)
		buf_printf(b, "        <Encryption>%s</Encryption>\n",
			   s->security == HTTP_SEC_TLS ? "SSL" : "TLS");
	buf_puts(b, "        <AuthRequired>on</AuthRequired>\n");
	if (strcmp(s->kind, "smtp") == 0)
		buf_puts(b, "        <UsePOPAuth>off</UsePOPAuth>\n        <SMTPLast>off</SMTPLast>\n");
	buf_puts(b, "      </Protocol>\n");
}

void http_route_autodiscover(struct http_req *r)
{
	char *given = NULL;
	if (evhttp_request_get_command(r->ev) == EVHTTP_REQ_POST) {
		size_t len;
		char *body = http_body_dup(r, &len);
		given = http_autodiscover_address(body, len);
		free(body);
		if (given == NULL) {
			http_reply_error(r, 400, "no EMailAddress in the request");
			return;
		}
	} else if (http_query(r, "emailaddress") != NULL) {
		given = xstrdup(http_query(r, "emailaddress"));
	} else {
		http_reply_error(r, 400, "no EMailAddress in the request");
		return;
	}
	char *domain, *address;
	int ret = http_mail_domain(r, given, NULL, &domain, &address);
	free(given);
	if (ret < 0)
		return;
	struct http_mailconf mc;
	http_mailconf_get(r->cfg, &mc);
	struct buf b;
	buf_init(&b, HTTP_REPLY_MAX);
	buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"" RESPONSE_NS
		     "\">\n  <Response xmlns=\"" OUTLOOK_NS "\">\n    <User>\n      <DisplayName>");
	http_xml_escape(&b, address);
	buf_puts(&b, "</DisplayName>\n    </User>\n    <Account>\n      <AccountType>email</AccountType>\n"
		     "      <Action>settings</Action>\n");
	for (size_t i = 0; i < mc.n; i++)
		protocol(&b, &mc, &mc.s[i], address);
	buf_puts(&b, "    </Account>\n  </Response>\n</Autodiscover>\n");
	http_reply(r, 200, "application/xml; charset=utf-8", b.data, b.len);
	buf_free(&b);
	free(domain);
	free(address);
}
