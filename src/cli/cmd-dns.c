/*
 * cmd-dns: `roost dns DOMAIN`, every DNS record a hosted domain needs, in
 * zone-file form (absolute names), from the configuration: MX, SPF, DKIM,
 * DMARC, MTA-STS, TLS-RPT, the client SRV records and the MX's TLSA.
 *
 * Policy choices, each said in the output as a comment:
 *   SPF   "v=spf1 mx -all": Roost sends from the host its MX names, and
 *         every message of a hosted domain leaves through it; -all lets
 *         receivers refuse forgeries instead of guessing (RFC 7208 8.4).
 *   DMARC p=quarantine: every message Roost sends is DKIM-signed and SPF
 *         aligned, so it passes; quarantine files a forgery as junk, and a
 *         mistake of ours (a key not yet published) costs a trip to the
 *         Junk folder, not lost mail as p=reject would (RFC 7489 6.3).
 *         Raise it to reject once the reports (rua) show only passes.
 *   MTA-STS mode: testing: enforce makes senders refuse an MX whose
 *         certificate is not from a public CA (RFC 8461 4.1), which the
 *         self-signed certificate of `roost init` is not.
 */
#include "cli/cli.h"
#include "acme/acme.h"
#include "dkim/dkim.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "mail/address.h"
#include "store/store.h"
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

/* Most bytes of the printed records (DKIM keys are the bulk). */
#define CLI_DNS_OUT_MAX ((size_t)1 << 20)

/* The port of the first TCP listener in a "host:port,..." value; 0 when
 * the service is off (empty) or only on unix sockets. */
static long listen_port(const char *value)
{
	const char *p = value;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		const char *end = strchr(p, ',');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n > 0 && strncmp(p, "unix:", 5) != 0) {
			const char *colon = memrchr(p, ':', n);
			if (colon != NULL) {
				long port = 0;
				for (const char *q = colon + 1; q < p + n && isdigit((unsigned char)*q); q++)
					port = port * 10 + (*q - '0');
				if (port > 0 && port <= 65535)
					return port;
			}
		}
		p += n;
	}
	return 0;
}

/* RFC 6698 2.1: "3 1 1" = DANE-EE, SubjectPublicKeyInfo, SHA-256. */
static int tlsa_hex(const char *cert_path, char hex[65], char **error_r)
{
	FILE *f = fopen(cert_path, "re");
	if (f == NULL) {
		*error_r = xasprintf("%s: cannot open", cert_path);
		return -1;
	}
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		*error_r = xasprintf("%s: not a PEM certificate", cert_path);
		return -1;
	}
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	X509_free(x);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int ok = len > 0 && EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (!ok || mdlen != 32) {
		*error_r = xasprintf("%s: cannot hash the public key", cert_path);
		return -1;
	}
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static const struct {
	const char *service; /* RFC 6186 3.1, RFC 8314 5.1 */
	const char *key;
} srv_records[] = {
	{"_imaps._tcp", "imaps.listen"},
	{"_imap._tcp", "imap.listen"},
	{"_pop3s._tcp", "pop3s.listen"},
	{"_pop3._tcp", "pop3.listen"},
	{"_submissions._tcp", "submissions.listen"},
	{"_submission._tcp", "submission.listen"},
};

int cmd_dns(struct cli *cli, int argc, char **argv)
{
	if (!domain_valid(argv[0]))
		return cli_fail(cli, CLI_EX_ERROR, "%.*s: invalid domain name", ADDRESS_MAX_DOMAIN,
				argv[0]);
	char *domain = xstrdup(argv[0]);
	for (char *p = domain; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	char **names = NULL;
	size_t n = 0;
	enum store_err err = store_domain_list(cli->store, &names, &n);
	if (err != STORE_OK) {
		free(domain);
		return cli_store_result(cli, err, NULL, "domain list");
	}
	int hosted = 0;
	for (size_t i = 0; i < n; i++) {
		hosted |= strcmp(names[i], domain) == 0;
		free(names[i]);
	}
	free(names);
	if (!hosted) {
		cli_fail(cli, CLI_EX_ERROR, "%s: not a hosted domain", domain);
		free(domain);
		return CLI_EX_ERROR;
	}

	const char *host = config_str(cli->cfg, "server.hostname");
	struct buf out;
	buf_init(&out, CLI_DNS_OUT_MAX);
	char *error = NULL;
	int code = CLI_EX_OK;
	buf_printf(&out, "; DNS records for %s (roost dns %s)\n", domain, domain);
	buf_printf(&out, "%s. IN MX 10 %s.\n", domain, host);
	long smtp_port = listen_port(config_str(cli->cfg, "smtp.listen"));
	if (smtp_port != 25)
		buf_printf(&out, "; note: smtp.listen is on port %ld; other servers deliver to port 25\n",
			   smtp_port);
	buf_puts(&out, "; SPF: mail for this domain leaves only from the MX host\n");
	buf_printf(&out, "%s. IN TXT \"v=spf1 mx -all\"\n", domain);

	char *sel = NULL;
	int r = dkim_current_selector(cli->datadir, domain, &sel, &error);
	if (r == 0) {
		buf_puts(&out, "; DKIM (RSA-SHA256 and Ed25519-SHA256)\n");
		if (dkim_dns_records(cli->datadir, domain, sel, &out, &error) < 0)
			r = -1;
		/* Retired selectors stay published until removed: mail they
		 * signed may still be verified. */
		char **sels = NULL;
		size_t nsel = 0;
		if (r == 0 && dkim_selectors(cli->datadir, domain, &sels, &nsel, &error) < 0)
			r = -1;
		for (size_t i = 0; i < nsel; i++) {
			if (r == 0 && strcmp(sels[i], sel) != 0) {
				buf_printf(&out, "; retired DKIM selector %s (roost domain dkim %s remove %s)\n",
					   sels[i], domain, sels[i]);
				if (dkim_dns_records(cli->datadir, domain, sels[i], &out, &error) < 0)
					r = -1;
			}
			free(sels[i]);
		}
		free(sels);
		free(sel);
	} else if (r > 0) {
		buf_printf(&out, "; DKIM: no keys yet: roost domain dkim %s generate\n", domain);
	}
	if (r < 0) {
		code = cli_fail(cli, CLI_EX_ERROR, "%s", error);
		free(error);
		buf_free(&out);
		free(domain);
		return code;
	}

	buf_puts(&out, "; DMARC: quarantine forgeries; raise to p=reject when the reports show "
		       "only passes\n");
	buf_printf(&out, "_dmarc.%s. IN TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@%s\"\n",
		   domain, domain);

	/* RFC 8461 3.2: the policy file, served over HTTPS; its id changes
	 * whenever the policy does, so it is derived from the policy text. */
	char *policy = xasprintf("version: STSv1\nmode: testing\nmx: %s\nmax_age: 604800\n", host);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_Digest(policy, strlen(policy), md, &mdlen, EVP_sha256(), NULL);
	buf_printf(&out, "; MTA-STS: serve https://mta-sts.%s/.well-known/mta-sts.txt with the\n"
			 "; policy below; set mode: enforce once the MX has a certificate from a\n"
			 "; public CA and the TLS-RPT reports show no failures\n",
		   domain);
	for (const char *p = policy; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		buf_printf(&out, ";   %.*s\n", (int)(nl - p), p);
		p = nl + 1;
	}
	free(policy);
	buf_printf(&out, "_mta-sts.%s. IN TXT \"v=STSv1; id=", domain);
	for (unsigned i = 0; i < 8 && i < mdlen; i++)
		buf_printf(&out, "%02x", md[i]);
	buf_puts(&out, "\"\n");
	buf_printf(&out, "mta-sts.%s. IN CNAME %s.\n", domain, host);
	buf_printf(&out, "_smtp._tls.%s. IN TXT \"v=TLSRPTv1; rua=mailto:postmaster@%s\"\n", domain,
		   domain);

	buf_puts(&out, "; Client setup (RFC 6186, RFC 8314); port 0 and \".\": not offered\n");
	for (size_t i = 0; i < sizeof(srv_records) / sizeof(srv_records[0]); i++) {
		long port = listen_port(config_str(cli->cfg, srv_records[i].key));
		if (port > 0)
			buf_printf(&out, "%s.%s. IN SRV 0 1 %ld %s.\n", srv_records[i].service, domain,
				   port, host);
		else
			buf_printf(&out, "%s.%s. IN SRV 0 0 0 .\n", srv_records[i].service, domain);
	}
	buf_printf(&out, "autoconfig.%s. IN CNAME %s.\n", domain, host);
	buf_printf(&out, "autodiscover.%s. IN CNAME %s.\n", domain, host);

	/* with ACME the certificate is the issued one (its key is kept across
	 * renewals), not the starting one, which it replaces */
	bool acme = config_bool(cli->cfg, "tls.acme");
	if (acme && acme_config_apply(cli->cfg, &error) < 0) {
		buf_printf(&out, "; TLSA: %s\n", error);
		free(error);
		error = NULL;
	}
	const char *cert = config_path(cli->cfg, "tls.cert");
	if (acme && !acme_cert_issued(cli->cfg)) {
		buf_puts(&out, "; TLSA: no ACME certificate issued yet: run roost dns again once it "
			       "is (its key stays across renewals)\n");
	} else if (cert == NULL || cert[0] == '\0') {
		buf_puts(&out, "; TLSA: no tls.cert configured\n");
	} else {
		char hex[65];
		if (tlsa_hex(cert, hex, &error) < 0) {
			buf_printf(&out, "; TLSA: %s\n", error);
			free(error);
		} else {
			buf_puts(&out, acme ? "; DANE (RFC 7672): publish in a DNSSEC-signed zone; ACME "
					      "renewals keep this key\n" :
					      "; DANE (RFC 7672): publish in a DNSSEC-signed zone; renew "
					      "it before the key changes\n");
			buf_printf(&out, "_25._tcp.%s. IN TLSA 3 1 1 %s\n", host, hex);
		}
	}
	fwrite(out.data, 1, out.len, cli->out);
	buf_free(&out);
	free(domain);
	return code;
}
