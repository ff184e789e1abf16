/*
 * cmd-sendmail: `roost sendmail [-f FROM] [-t] [RCPT...] < message`, local
 * submission from scripts and cron. Local recipients are delivered through
 * the one delivery path (store/delivery.h, all of them or none), remote
 * ones are put in the outbound queue (store/store-queue.h). While the
 * daemon runs the command runs inside it through the control socket, and
 * the queue's notify hook wakes the outbound scheduler; on a stopped
 * daemon the queue rows wait for the next `roost serve`.
 *
 * -N never|success,failure,delay, -R full|hdrs and -V envid (as in
 * sendmail(8)) set the RFC 3461 NOTIFY, RET and ENVID of the message.
 *
 * -t takes the recipients from To:, Cc: and Bcc: as well (the Bcc: field
 * is removed from the message, as sendmail(8) does). Missing Date: and
 * Message-ID: fields are added (RFC 5322 3.6: both SHOULD be present;
 * RFC 6409 8.3 lets a submission agent add them), and From: when absent.
 */
#include "cli/cli.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "mail/address.h"
#include "store/delivery.h"
#include "store/store-queue.h"
#include <gmime/gmime.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Recipients one sendmail call may name (-t included). */
#define SENDMAIL_MAX_RCPTS 1000
/* RFC 3461 4.4: an ENVID is at most 100 characters. */
#define SENDMAIL_MAX_ENVID 100

/* -N: "never", or a comma list of success, failure, delay (RFC 3461 4.1). */
static int parse_notify(const char *arg, unsigned *bits_r)
{
	if (strcasecmp(arg, "never") == 0) {
		*bits_r = STORE_QUEUE_NOTIFY_NEVER;
		return 0;
	}
	unsigned bits = 0;
	const char *p = arg;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		if (n == 7 && strncasecmp(p, "success", 7) == 0)
			bits |= STORE_QUEUE_NOTIFY_SUCCESS;
		else if (n == 7 && strncasecmp(p, "failure", 7) == 0)
			bits |= STORE_QUEUE_NOTIFY_FAILURE;
		else if (n == 5 && strncasecmp(p, "delay", 5) == 0)
			bits |= STORE_QUEUE_NOTIFY_DELAY;
		else
			return -1;
		p += n;
		if (*p == ',')
			p++;
	}
	if (bits == 0)
		return -1;
	*bits_r = bits;
	return 0;
}

static bool envid_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SENDMAIL_MAX_ENVID)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '!' || s[i] > '~')
			return false;
	return true;
}

struct sendmail_rcpts {
	char **addrs;
	size_t n, cap;
};

static void rcpts_add(struct sendmail_rcpts *r, char *addr)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->addrs[i], addr) == 0) {
			free(addr);
			return;
		}
	r->addrs = xgrow(r->addrs, &r->cap, r->n + 1, sizeof(*r->addrs));
	r->addrs[r->n++] = addr;
}

/* The header block's length (up to and including the empty line). */
static size_t header_len(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (i + 1 < len && data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

static bool has_field(const char *hdr, size_t len, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i + nl < len; i++) {
		if ((i == 0 || hdr[i - 1] == '\n') && strncasecmp(hdr + i, name, nl) == 0 &&
		    hdr[i + nl] == ':')
			return true;
	}
	return false;
}

/* Addresses of the To/Cc/Bcc fields (-t), parsed with GMime. */
static int header_rcpts(struct cli *cli, const char *data, size_t len,
			struct sendmail_rcpts *r)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	if (msg == NULL)
		return cli_fail(cli, CLI_EX_DATAERR, "-t: cannot parse the message header");
	GMimeAddressType types[] = {GMIME_ADDRESS_TYPE_TO, GMIME_ADDRESS_TYPE_CC,
				    GMIME_ADDRESS_TYPE_BCC};
	int code = CLI_EX_OK;
	for (size_t t = 0; t < 3 && code == CLI_EX_OK; t++) {
		InternetAddressList *l = g_mime_message_get_addresses(msg, types[t]);
		int n = l != NULL ? internet_address_list_length(l) : 0;
		for (int i = 0; i < n && code == CLI_EX_OK; i++) {
			InternetAddress *ia = internet_address_list_get_address(l, i);
			if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
				continue;
			const char *a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
			const char *why;
			char *norm = a != NULL ? address_normalize(a, &why) : NULL;
			if (norm == NULL)
				code = cli_fail(cli, CLI_EX_NOUSER, "-t: %.256s: invalid address",
						a != NULL ? a : "");
			else
				rcpts_add(r, norm);
		}
	}
	g_object_unref(msg);
	return code;
}

/* The message as sent: Bcc removed (-t), Date/Message-ID/From added. */
static char *finish_message(struct cli *cli, const char *data, size_t len, const char *sender,
			    bool strip_bcc, size_t *len_r)
{
	size_t hl = header_len(data, len);
	struct buf b;
	buf_init(&b, len + 4096);
	const char *host = config_str(cli->cfg, "server.hostname");
	if (!has_field(data, hl, "Date")) {
		char date[64];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
		buf_printf(&b, "Date: %s\r\n", date);
	}
	if (!has_field(data, hl, "Message-ID")) {
		unsigned char rnd[12];
		RAND_bytes(rnd, sizeof(rnd));
		buf_printf(&b, "Message-ID: <%ld.", (long)time(NULL));
		for (size_t i = 0; i < sizeof(rnd); i++)
			buf_printf(&b, "%02x", rnd[i]);
		buf_printf(&b, "@%s>\r\n", host);
	}
	if (!has_field(data, hl, "From") && *sender != '\0')
		buf_printf(&b, "From: <%s>\r\n", sender);
	size_t i = 0;
	while (i < len) {
		size_t eol = i;
		while (eol < len && data[eol] != '\n')
			eol++;
		size_t next = eol < len ? eol + 1 : len;
		/* a Bcc field with its continuation lines */
		if (strip_bcc && i < hl && strncasecmp(data + i, "Bcc:", 4) == 0) {
			i = next;
			while (i < hl && (data[i] == ' ' || data[i] == '\t')) {
				while (i < len && data[i] != '\n')
					i++;
				i = i < len ? i + 1 : len;
			}
			continue;
		}
		buf_append(&b, data + i, next - i);
		i = next;
	}
	*len_r = b.len;
	return buf_steal(&b);
}

int cmd_sendmail(struct cli *cli, int argc, char **argv)
{
	const char *from = NULL, *envid = NULL;
	bool from_headers = false, ret_full = false;
	unsigned notify = 0;
	int i = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "-N") == 0 && i + 1 < argc) {
			if (parse_notify(argv[++i], &notify) < 0)
				return cli_fail(cli, CLI_EX_USAGE,
						"-N: never, or a list of success,failure,delay");
		} else if (strcmp(argv[i], "-R") == 0 && i + 1 < argc) {
			i++;
			if (strcasecmp(argv[i], "full") != 0 && strcasecmp(argv[i], "hdrs") != 0)
				return cli_fail(cli, CLI_EX_USAGE, "-R: full or hdrs");
			ret_full = strcasecmp(argv[i], "full") == 0;
		} else if (strcmp(argv[i], "-V") == 0 && i + 1 < argc) {
			envid = argv[++i];
			if (!envid_valid(envid))
				return cli_fail(cli, CLI_EX_USAGE,
						"-V: 1 to %d printable ASCII characters",
						SENDMAIL_MAX_ENVID);
		}
		else if (strcmp(argv[i], "-t") == 0)
			from_headers = true;
		else if (strcmp(argv[i], "-i") == 0 || strcmp(argv[i], "-oi") == 0)
			; /* sendmail compatibility: a lone dot never ends our input */
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			return cli_fail(cli, CLI_EX_USAGE,
					"usage: roost sendmail [-f <from>] [-t] [-N <notify>] [-R full|hdrs]"
					" [-V <envid>] [<address>...]");
	}
	char *sender = xstrdup("");
	if (from != NULL && *from != '\0') {
		const char *why;
		free(sender);
		if ((sender = address_normalize(from, &why)) == NULL)
			return cli_fail(cli, CLI_EX_USAGE, "-f %.256s: invalid sender: %s", from, why);
	}
	struct sendmail_rcpts r = {0};
	int code = CLI_EX_OK;
	for (; i < argc && code == CLI_EX_OK; i++) {
		const char *why;
		char *a = address_normalize(argv[i], &why);
		if (a == NULL)
			code = cli_fail(cli, CLI_EX_NOUSER, "%.256s: invalid address: %s", argv[i], why);
		else
			rcpts_add(&r, a);
	}
	char *raw = NULL, *data = NULL;
	size_t raw_len = 0, len = 0;
	if (code == CLI_EX_OK) {
		int rr = cli_read_message(cli->in, config_size(cli->cfg, "message.max_size"), &raw,
					  &raw_len);
		if (rr == -1)
			code = cli_fail(cli, CLI_EX_DATAERR, "message larger than message.max_size");
		else if (rr < 0)
			code = cli_fail(cli, CLI_EX_TEMPFAIL, "cannot read the message from stdin");
	}
	if (code == CLI_EX_OK && from_headers)
		code = header_rcpts(cli, raw, raw_len, &r);
	if (code == CLI_EX_OK && r.n == 0)
		code = cli_fail(cli, CLI_EX_USAGE, "no recipients");
	if (code == CLI_EX_OK && r.n > SENDMAIL_MAX_RCPTS)
		code = cli_fail(cli, CLI_EX_USAGE, "more than %d recipients", SENDMAIL_MAX_RCPTS);
	if (code == CLI_EX_OK)
		data = finish_message(cli, raw, raw_len, sender, from_headers, &len);

	/* Split: hosted domains are local (and must resolve), others remote. */
	struct delivery d;
	delivery_init(&d, sender, NULL);
	struct store_queue_rcpt *remote = xcalloc(r.n + 1, sizeof(*remote));
	size_t nremote = 0;
	for (size_t k = 0; code == CLI_EX_OK && k < r.n; k++) {
		enum store_err err = delivery_add_rcpt(&d, cli->store, r.addrs[k]);
		if (err == STORE_EPERM)
			remote[nremote++] = (struct store_queue_rcpt){.address = r.addrs[k],
								       .notify = notify};
		else if (err == STORE_ENOTFOUND)
			code = cli_fail(cli, CLI_EX_NOUSER, "%s: no such user", r.addrs[k]);
		else if (err != STORE_OK)
			code = cli_fail(cli, err == STORE_EINVAL ? CLI_EX_NOUSER : CLI_EX_TEMPFAIL,
					"%s: %s", r.addrs[k], store_strerror(err));
	}
	if (code == CLI_EX_OK && d.nrcpts > 0) {
		cli_deliver_sieve(cli, &d, data, len);
		delivery_prepare(&d, data, len);
		d.op.u.deliver.per_target = false;
		enum store_err err = delivery_nothing_to_store(&d) ? STORE_OK
								   : store_run(cli->store, &d.op);
		delivery_finish(&d);
		for (size_t k = 0; err == STORE_OK && k < d.nrcpts; k++)
			err = d.rcpts[k].err;
		if (err != STORE_OK)
			code = cli_fail(cli, err == STORE_ENOQUOTA ? CLI_EX_NOPERM : CLI_EX_TEMPFAIL,
					"local delivery failed: %s", store_strerror(err));
	}
	if (code == CLI_EX_OK && nremote > 0) {
		int64_t id = 0;
		enum store_err err = store_queue_add_wait(cli->store, 0, sender, envid,
							  ret_full ? STORE_QUEUE_RET_FULL : 0, remote,
							  nremote, data, len, &id);
		if (err != STORE_OK)
			code = cli_fail(cli, CLI_EX_TEMPFAIL, "cannot queue the message: %s",
					store_strerror(err));
		else
			fprintf(cli->out, "queued as %lld\n", (long long)id);
	}
	delivery_free(&d);
	free(remote);
	for (size_t k = 0; k < r.n; k++)
		free(r.addrs[k]);
	free(r.addrs);
	free(raw);
	free(data);
	free(sender);
	return code;
}
