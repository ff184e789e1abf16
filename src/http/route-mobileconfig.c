/*
 * route-mobileconfig: an Apple configuration profile for one address
 * (?emailaddress=), a property list with one com.apple.mail.managed
 * payload (Apple's "Configuration Profile Reference", Mail payload),
 * signed as CMS SignedData (PKCS #7, RFC 5652) with the server's TLS
 * certificate and key, content attached, so the device shows who made
 * it and that it was not altered. The payload identifiers and UUIDs are
 * name-based (RFC 9562 5.5, SHA-1), so fetching the profile again
 * replaces the installed one instead of adding a second account.
 */
#include "http/http-private.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>

/* The name space of our name-based UUIDs (a fixed random UUID). */
static const unsigned char uuid_ns[16] = {0x6b, 0x1e, 0x0f, 0x52, 0x8c, 0x3a, 0x4e, 0x19,
					  0x9d, 0x27, 0x51, 0xa4, 0xc0, 0x3e, 0x77, 0x10};

static void name_uuid(const char *name, char out[37])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
	EVP_DigestUpdate(ctx, uuid_ns, sizeof(uuid_ns));
	EVP_DigestUpdate(ctx, name, strlen(name));
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* RFC 9562 variant */
	snprintf(out, 37,
		 "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", md[0],
		 md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11],
		 md[12], md[13], md[14], md[15]);
}

static void key_string(struct buf *b, const char *key, const char *value)
{
	buf_printf(b, "      <key>%s</key>\n      <string>", key);
	http_xml_escape(b, value);
	buf_puts(b, "</string>\n");
}

static void server_keys(struct buf *b, const char *dir, const struct http_mailconf *mc,
			const struct http_mail_service *s, const char *address)
{
	char key[64];
	snprintf(key, sizeof(key), "%sMailServerAuthentication", dir);
	key_string(b, key, "EmailAuthPassword");
	snprintf(key, sizeof(key), "%sMailServerHostName", dir);
	key_string(b, key, mc->hostname);
	buf_printf(b, "      <key>%sMailServerPortNumber</key>\n      <integer>%d</integer>\n", dir,
		   s->port);
	/* Mail upgrades with STARTTLS when UseSSL is set on a plain port. */
	buf_printf(b, "      <key>%sMailServerUseSSL</key>\n      <%s/>\n", dir,
		   s->security == HTTP_SEC_PLAIN ? "false" : "true");
	snprintf(key, sizeof(key), "%sMailServerUsername", dir);
	key_string(b, key, address);
}

static void plist(struct buf *b, const struct http_mailconf *mc, const char *address,
		  const struct http_mail_service *in, const struct http_mail_service *out)
{
	char *id = xasprintf("mail:%s@%s", address, mc->hostname);
	char *id_payload = xasprintf("payload:%s@%s", address, mc->hostname);
	char uuid[37], uuid_payload[37];
	name_uuid(id, uuid);
	name_uuid(id_payload, uuid_payload);
	buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
		    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
		    "<plist version=\"1.0\">\n<dict>\n  <key>PayloadContent</key>\n  <array>\n    <dict>\n");
	key_string(b, "EmailAccountDescription", address);
	key_string(b, "EmailAccountType",
		   strcmp(in->kind, "imap") == 0 ? "EmailTypeIMAP" : "EmailTypePOP");
	key_string(b, "EmailAddress", address);
	server_keys(b, "Incoming", mc, in, address);
	if (out != NULL) {
		server_keys(b, "Outgoing", mc, out, address);
		buf_puts(b, "      <key>OutgoingPasswordSameAsIncomingPassword</key>\n      <true/>\n");
	}
	key_string(b, "PayloadDisplayName", address);
	key_string(b, "PayloadIdentifier", id_payload);
	key_string(b, "PayloadType", "com.apple.mail.managed");
	key_string(b, "PayloadUUID", uuid_payload);
	buf_puts(b, "      <key>PayloadVersion</key>\n      <integer>1</integer>\n"
		    "    </dict>\n  </array>\n");
	/* the profile itself: two spaces less, same helpers */
	buf_puts(b, "  <key>PayloadDisplayName</key>\n  <string>");
	http_xml_escape(b, address);
	buf_puts(b, "</string>\n  <key>PayloadIdentifier</key>\n  <string>");
	http_xml_escape(b, id);
	buf_printf(b, "</string>\n  <key>PayloadType</key>\n  <string>Configuration</string>\n"
		      "  <key>PayloadUUID</key>\n  <string>%s</string>\n"
		      "  <key>PayloadVersion</key>\n  <integer>1</integer>\n</dict>\n</plist>\n",
		   uuid);
	free(id);
	free(id_payload);
}

/* CMS SignedData over data, DER, with the certificate chain of ctx. */
static unsigned char *sign(SSL_CTX *ctx, const char *data, size_t len, size_t *len_r)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	EVP_PKEY *key = SSL_CTX_get0_privatekey(ctx);
	STACK_OF(X509) *chain = NULL;
	SSL_CTX_get0_chain_certs(ctx, &chain);
	unsigned char *der = NULL;
	BIO *in = BIO_new_mem_buf(data, (int)len);
	PKCS7 *p7 = cert != NULL && key != NULL && in != NULL ?
			    PKCS7_sign(cert, key, chain, in, PKCS7_BINARY) : NULL;
	int n = p7 != NULL ? i2d_PKCS7(p7, &der) : -1;
	PKCS7_free(p7);
	BIO_free(in);
	if (n <= 0) {
		log_warn("proto=http mobileconfig: signing failed: %s",
			 ERR_reason_error_string(ERR_get_error()));
		ERR_clear_error();
		return NULL;
	}
	*len_r = (size_t)n;
	return der;
}

void http_route_mobileconfig(struct http_req *r)
{
	const char *given = http_query(r, "emailaddress");
	if (given == NULL || *given == '\0') {
		http_reply_error(r, 400, "emailaddress= is required");
		return;
	}
	char *domain, *address;
	if (http_mail_domain(r, given, NULL, &domain, &address) < 0)
		return;
	struct http_mailconf mc;
	http_mailconf_get(r->cfg, &mc);
	const struct http_mail_service *in = http_mailconf_first(&mc, "imap");
	if (in == NULL)
		in = http_mailconf_first(&mc, "pop3");
	if (in == NULL || r->ssl_ctx == NULL) {
		http_reply_error(r, 503, in == NULL ? "no IMAP or POP3 listener"
						    : "no certificate to sign the profile with");
	} else {
		struct buf b;
		buf_init(&b, HTTP_REPLY_MAX);
		plist(&b, &mc, address, in, http_mailconf_first(&mc, "smtp"));
		size_t len;
		unsigned char *der = sign(r->ssl_ctx, b.data, b.len, &len);
		if (der == NULL) {
			http_reply_error(r, 500, "cannot sign the profile");
		} else {
			evhttp_add_header(evhttp_request_get_output_headers(r->ev),
					  "Content-Disposition",
					  "attachment; filename=\"mail.mobileconfig\"");
			http_reply(r, 200, "application/x-apple-aspen-config", der, len);
			OPENSSL_free(der);
		}
		buf_free(&b);
	}
	free(domain);
	free(address);
}
