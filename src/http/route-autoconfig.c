/*
 * route-autoconfig: Thunderbird's autoconfig file, clientConfig version
 * 1.1 (the format of Mozilla's ISPDB, documented on the Mozilla wiki
 * "Thunderbird:Autoconfiguration:ConfigFileFormat" and in
 * draft-ietf-mailmaint-autoconfig). Thunderbird asks
 * https://autoconfig.DOMAIN/mail/config-v1.1.xml?emailaddress=ADDRESS,
 * then https://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml?...
 * (and the same over http), so the domain comes from the address, else
 * from the Host header.
 */
#include "http/http-private.h"
#include <stdlib.h>
#include <string.h>

static const char *socket_type(enum http_mail_security sec)
{
	return sec == HTTP_SEC_TLS ? "SSL" : sec == HTTP_SEC_STARTTLS ? "STARTTLS" : "plain";
}

static void server(struct buf *b, const struct http_mailconf *mc,
		   const struct http_mail_service *s)
{
	bool out = strcmp(s->kind, "smtp") == 0;
	buf_printf(b, "    <%s type=\"%s\">\n      <hostname>", out ? "outgoingServer" : "incomingServer",
		   s->kind);
	http_xml_escape(b, mc->hostname);
	buf_printf(b, "</hostname>\n      <port>%d</port>\n      <socketType>%s</socketType>\n",
		   s->port, socket_type(s->security));
	/* The full address is the login name (auth.default_domain only
	 * helps bare names); Thunderbird substitutes it. */
	buf_puts(b, "      <username>%EMAILADDRESS%</username>\n"
		    "      <authentication>password-cleartext</authentication>\n");
	buf_printf(b, "    </%s>\n", out ? "outgoingServer" : "incomingServer");
}

void http_route_autoconfig(struct http_req *r)
{
	char *domain, *address;
	if (http_mail_domain(r, http_query(r, "emailaddress"), "autoconfig.", &domain, &address) < 0)
		return;
	struct http_mailconf mc;
	http_mailconf_get(r->cfg, &mc);
	struct buf b;
	buf_init(&b, HTTP_REPLY_MAX);
	buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n"
		     "  <emailProvider id=\"");
	http_xml_escape(&b, domain);
	buf_puts(&b, "\">\n    <domain>");
	http_xml_escape(&b, domain);
	buf_puts(&b, "</domain>\n    <displayName>");
	http_xml_escape(&b, domain);
	buf_puts(&b, "</displayName>\n    <displayShortName>");
	http_xml_escape(&b, domain);
	buf_puts(&b, "</displayShortName>\n");
	/* Thunderbird offers the incoming servers in this order; IMAP first. */
	for (size_t i = 0; i < mc.n; i++)
		if (strcmp(mc.s[i].kind, "smtp") != 0)
			server(&b, &mc, &mc.s[i]);
	for (size_t i = 0; i < mc.n; i++)
		if (strcmp(mc.s[i].kind, "smtp") == 0)
			server(&b, &mc, &mc.s[i]);
	buf_puts(&b, "  </emailProvider>\n</clientConfig>\n");
	http_reply(r, 200, "application/xml; charset=utf-8", b.data, b.len);
	buf_free(&b);
	free(domain);
	free(address);
}
