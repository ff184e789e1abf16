/*
 * delivery-sieve: see delivery-sieve.h. The interpreter (src/sieve/)
 * only decides; this file does: it builds each recipient's list of
 * mailboxes for delivery_prepare() and queues the mail scripts send.
 *
 * Side effects (redirects, vacation replies, rejection DSNs) are queued
 * before the message is stored. A store failure makes the client retry
 * the delivery: the redirect log (per message id and target) and the
 * vacation log keep the retry from sending twice.
 */
#include "store/delivery-sieve.h"
#include "store/delivery-sieve-cache.h"
#include "store/store-queue.h"
#include "store/store-sieve.h"
#include "store/store-auth.h"
#include "sieve/sieve.h"
#include "dkim/dkim.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include "lib/log.h"
#include "mail/address.h"
#include "mail/header-field.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const struct config_key sieve_config_keys[] = {
	{"sieve.before", CONFIG_STR, "", NULL,
	 "Sieve script file run before every account's own script (empty = none)."},
	{"sieve.after", CONFIG_STR, "", NULL,
	 "Sieve script file run after every account's own script, when it kept the message (empty = none)."},
	{"sieve.global_dir", CONFIG_STR, "", NULL,
	 "Directory of the scripts `include :global \"NAME\"` reads, as NAME.sieve (RFC 6609; empty = none)."},
	{"sieve.max_script_size", CONFIG_SIZE, "64K", NULL,
	 "Largest Sieve script an account may store (roost sieve put, ManageSieve)."},
	{"sieve.max_redirects", CONFIG_INT, "4", NULL, "Redirects one message may cause per account."},
	{"sieve.max_redirects_per_day", CONFIG_INT, "100", NULL,
	 "Redirects one account's scripts may send per day."},
	{"sieve.vacation_min_period", CONFIG_SECONDS, "1d", NULL,
	 "Shortest interval between two vacation replies to one sender (RFC 5230 :days, RFC 6131 :seconds)."},
	{NULL, 0, NULL, NULL, NULL},
};

/* Days a redirect log row and a duplicate id are kept at most. */
#define STATE_KEEP_SECONDS (14 * 86400)
/* Vacation replies: the default :days (RFC 5230 4.1: 7) and the longest. */
#define VACATION_DEFAULT_PERIOD (7 * 86400)
#define VACATION_MAX_PERIOD (90 * 86400)
/* Octets of the rejected message's header a rejection DSN returns. */
#define DSN_MAX_HEADERS (64 * 1024)
/* Octets of a reject reason in an SMTP reply line. */
#define REFUSE_MAX 400
/* Octets of the fields editheader may add to one recipient's copy. */
#define EDIT_MAX_ADDED (16 * 1024)
/* Octets of the SRS secret. */
#define SRS_SECRET_LEN 32

static char *path_or_null(const struct config *cfg, const char *key)
{
	const char *v = config_str(cfg, key);
	if (v == NULL || *v == '\0')
		return NULL;
	if (v[0] == '/')
		return xstrdup(v);
	return xasprintf("%s/%s", config_datadir(cfg), v);
}

void delivery_sieve_config_load(struct delivery_sieve_config *c, const struct config *cfg,
				const char *hostname)
{
	memset(c, 0, sizeof(*c));
	c->before = path_or_null(cfg, "sieve.before");
	c->after = path_or_null(cfg, "sieve.after");
	c->global_dir = path_or_null(cfg, "sieve.global_dir");
	c->hostname = xstrdup(hostname != NULL ? hostname : "localhost");
	c->datadir = xstrdup(config_datadir(cfg));
	int64_t max = config_size(cfg, "sieve.max_script_size");
	c->max_script_size = max < 0 || max > STORE_SIEVE_MAX_CONTENT ? STORE_SIEVE_MAX_CONTENT
								       : (size_t)max;
	c->max_redirects = (unsigned)config_int(cfg, "sieve.max_redirects");
	c->max_redirects_per_day = config_int(cfg, "sieve.max_redirects_per_day");
	c->min_vacation_period = config_ms(cfg, "sieve.vacation_min_period") / 1000;
}

void delivery_sieve_config_clear(struct delivery_sieve_config *c)
{
	free(c->before);
	free(c->after);
	free(c->global_dir);
	free(c->hostname);
	free(c->datadir);
	memset(c, 0, sizeof(*c));
}

/* ---- SRS (the SRS0 scheme of Shevek's "Sender Rewriting Scheme") ---- */

static const char base32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

char *delivery_srs_forward(const char *sender, const char *our_domain, const char *secret,
			   int64_t day)
{
	const char *at = strrchr(sender, '@');
	if (at == NULL)
		return NULL;
	char tt[3] = {base32[(day >> 5) & 31], base32[day & 31], '\0'};
	char *domain = xstrdup(at + 1);
	for (char *p = domain; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	char *local = xstrndup(sender, (size_t)(at - sender));
	/* the hash covers the timestamp, the domain (case-folded) and local */
	char *input = xasprintf("%s%s%s", tt, domain, local);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)input, strlen(input),
	     mac, &maclen);
	char *b64 = base64_encode(mac, maclen);
	char *out = xasprintf("SRS0=%.4s=%s=%s=%s@%s", b64, tt, domain, local, our_domain);
	free(b64);
	free(input);
	free(local);
	free(domain);
	return out;
}

/* DATA/srs.secret, made on first use (owner-only). NULL when it cannot
 * be read or made. */
static char *srs_secret(const char *datadir)
{
	char *path = xasprintf("%s/srs.secret", datadir);
	char buf[256];
	char *out = NULL;
	FILE *f = fopen(path, "r");
	if (f == NULL && errno == ENOENT) {
		unsigned char raw[SRS_SECRET_LEN];
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 && RAND_bytes(raw, sizeof(raw)) == 1) {
			char *hex = base64_encode(raw, sizeof(raw));
			size_t n = strlen(hex);
			bool ok = write(fd, hex, n) == (ssize_t)n;
			free(hex);
			close(fd);
			if (!ok)
				unlink(path);
		} else if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		f = fopen(path, "r");
	}
	if (f != NULL) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			n--;
		if (n > 0)
			out = xstrndup(buf, n);
	}
	if (out == NULL)
		log_warn("sieve: no SRS secret in %s: %s", path, strerror(errno));
	free(path);
	return out;
}

/* ---- reading the message ---- */

static bool header_has(const char *data, size_t len, const char *name)
{
	char *v = header_field_get(data, len, name, NULL);
	bool has = v != NULL;
	free(v);
	return has;
}

bool delivery_vacation_suppressed(const char *sender, const char *data, size_t len)
{
	if (sender == NULL || *sender == '\0')
		return true;
	const char *at = strrchr(sender, '@');
	size_t llen = at != NULL ? (size_t)(at - sender) : strlen(sender);
	/* RFC 5230 4.5: owner-*, *-request, MAILER-DAEMON and the like */
	static const char *const daemons[] = {"mailer-daemon", "postmaster", "listserv",
					      "majordomo", "noreply", "no-reply", NULL};
	for (int i = 0; daemons[i] != NULL; i++)
		if (strlen(daemons[i]) == llen && strncasecmp(sender, daemons[i], llen) == 0)
			return true;
	if (strncasecmp(sender, "owner-", 6) == 0 ||
	    (llen >= 8 && strncasecmp(sender + llen - 8, "-request", 8) == 0))
		return true;
	/* RFC 3834 2: never answer an automatic message */
	char *as = header_field_get(data, len, "Auto-Submitted", NULL);
	bool auto_sub = as != NULL && strncasecmp(as + strspn(as, " \t"), "no", 2) != 0;
	free(as);
	if (auto_sub)
		return true;
	/* lists (RFC 2369, RFC 2919) */
	static const char *const lists[] = {"List-Id", "List-Post", "List-Unsubscribe",
					    "List-Help", "List-Owner", "X-Loop", NULL};
	for (int i = 0; lists[i] != NULL; i++)
		if (header_has(data, len, lists[i]))
			return true;
	char *prec = header_field_get(data, len, "Precedence", NULL);
	bool bulk = false;
	if (prec != NULL) {
		const char *p = prec + strspn(prec, " \t");
		bulk = strncasecmp(p, "bulk", 4) == 0 || strncasecmp(p, "list", 4) == 0 ||
		       strncasecmp(p, "junk", 4) == 0;
	}
	free(prec);
	return bulk;
}

/* ---- per recipient ---- */

struct run {
	struct delivery *d;
	struct delivery_rcpt *r;
	struct store *s;
	const struct delivery_sieve_config *c;
	const char *data;
	size_t len;
	bool can_refuse;
	char *account_address;
	char *message_id;
	unsigned redirects;
	char *special_name;	/* the last special_use_mailbox answer */
	/* editheader: the message with this recipient's edits so far (data
	 * points here once a script edited it: later scripts, redirect and
	 * the stored copy use it); needs_copy when an edit is more than
	 * fields added on top (which r->added can carry alone) */
	char *edited;
	bool needs_copy;
	size_t added_bytes;	/* of every field added, at most EDIT_MAX_ADDED */
};

static bool cb_mailbox_exists(void *ctx, const char *mailbox)
{
	struct run *rn = ctx;
	struct store_mailbox mb = {0};
	enum store_err err = store_mailbox_get(rn->s, rn->r->account_id, mailbox, &mb);
	store_mailbox_clear(&mb);
	return err == STORE_OK;
}

/* RFC 8579 specialuse_exists: the name of the account's mailbox with
 * that use, valid until the next call (the run owns it), or NULL. */
static const char *cb_special_use(void *ctx, const char *use)
{
	struct run *rn = ctx;
	int64_t id = 0;
	uint32_t uv;
	xfree(&rn->special_name);
	if (store_mailbox_special(rn->s, rn->r->account_id, use, &id, &uv) != STORE_OK)
		return NULL;
	struct store_mailbox mb = {0};
	if (store_mailbox_get_by_id(rn->s, rn->r->account_id, id, &mb) == STORE_OK)
		rn->special_name = xstrdup(mb.name);
	store_mailbox_clear(&mb);
	return rn->special_name;
}

static bool cb_duplicate(void *ctx, const char *id, uint64_t seconds, bool last)
{
	struct run *rn = ctx;
	int64_t now = (int64_t)time(NULL), when = 0;
	if (strlen(id) > STORE_SIEVE_MAX_KEY)
		return false;
	if (store_sieve_state_get(rn->s, rn->r->account_id, STORE_SIEVE_DUPLICATE, id, NULL,
				  &when) != STORE_OK)
		return false;
	bool seen = when > 0 && now - when < (int64_t)(seconds > INT32_MAX ? INT32_MAX : seconds);
	if (!seen || last) {
		struct store_sieve_mark m = {.account_id = rn->r->account_id,
					     .kind = STORE_SIEVE_DUPLICATE, .key = id, .when = now,
					     .expire_before = now - STATE_KEEP_SECONDS};
		struct store_op op;
		store_sieve_mark_init(&op, &m);
		store_run(rn->s, &op);
		store_op_clear(&op);
	}
	return seen;
}

/* A script file (before/after): malloc'd text or NULL. */
static char *read_file(const char *path, size_t max, size_t *len_r)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		log_warn("sieve: %s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = xmalloc(max + 1);
	size_t n = fread(buf, 1, max + 1, f);
	bool err = ferror(f) != 0;
	fclose(f);
	if (err || n > max) {
		log_warn("sieve: %s: %s", path, err ? "read error" : "larger than sieve.max_script_size");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len_r = n;
	return buf;
}

static void add_box_id(struct delivery_rcpt *r, int64_t mailbox_id, const char *mailbox,
		       bool create, char **flags);

static void add_box(struct delivery_rcpt *r, const char *mailbox, bool create, char **flags)
{
	add_box_id(r, 0, mailbox, create, flags);
}

/* RFC 9042 :mailboxid is our MAILBOXID, "F<id>-<uidvalidity>" (see
 * imap-objectid.h): the account's mailbox of that id, if it still has
 * that UIDVALIDITY; 0 otherwise. */
static int64_t mailbox_by_objectid(struct run *rn, const char *oid)
{
	char *end;
	if (oid[0] != 'F' || oid[1] < '0' || oid[1] > '9')
		return 0;
	errno = 0;
	long long id = strtoll(oid + 1, &end, 10);
	if (errno != 0 || *end != '-' || end[1] < '0' || end[1] > '9')
		return 0;
	unsigned long long uv = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0' || uv > UINT32_MAX || id <= 0)
		return 0;
	struct store_mailbox mb = {0};
	int64_t found = 0;
	if (store_mailbox_get_by_id(rn->s, rn->r->account_id, id, &mb) == STORE_OK &&
	    mb.uidvalidity == (uint32_t)uv)
		found = id;
	store_mailbox_clear(&mb);
	return found;
}

/* RFC 8579 :specialuse: the account's mailbox with that use, or 0. */
static int64_t mailbox_by_use(struct run *rn, const char *use)
{
	int64_t id = 0;
	uint32_t uv;
	if (store_mailbox_special(rn->s, rn->r->account_id, use, &id, &uv) != STORE_OK)
		return 0;
	return id;
}

static void add_box_id(struct delivery_rcpt *r, int64_t mailbox_id, const char *mailbox,
		       bool create, char **flags)
{
	if (mailbox != NULL && strcasecmp(mailbox, "INBOX") == 0)
		mailbox = NULL;
	uint32_t bits = 0;
	char *keywords = NULL;
	static const struct { const char *name; uint32_t bit; } sys[] = {
		{"\\Seen", STORE_FLAG_SEEN}, {"\\Answered", STORE_FLAG_ANSWERED},
		{"\\Flagged", STORE_FLAG_FLAGGED}, {"\\Deleted", STORE_FLAG_DELETED},
		{"\\Draft", STORE_FLAG_DRAFT},
	};
	for (size_t i = 0; flags != NULL && flags[i] != NULL; i++) {
		bool known = false;
		for (size_t j = 0; j < sizeof(sys) / sizeof(sys[0]); j++)
			if (strcasecmp(flags[i], sys[j].name) == 0) {
				bits |= sys[j].bit;
				known = true;
			}
		if (known || flags[i][0] == '\\' || flags[i][0] == '\0')
			continue;
		char *k = keywords ? xasprintf("%s %s", keywords, flags[i]) : xstrdup(flags[i]);
		free(keywords);
		keywords = k;
	}
	/* one copy per mailbox (RFC 5228 4.1: fileinto twice = once) */
	for (size_t i = 0; i < r->nboxes; i++) {
		struct delivery_box *b = &r->boxes[i];
		bool same = mailbox_id != 0 ? b->mailbox_id == mailbox_id :
			b->mailbox_id == 0 &&
			((b->mailbox == NULL && mailbox == NULL) ||
			 (b->mailbox != NULL && mailbox != NULL && strcmp(b->mailbox, mailbox) == 0));
		if (same) {
			b->flags |= bits;
			b->create |= create;
			if (keywords != NULL) {
				char *k = b->keywords ? xasprintf("%s %s", b->keywords, keywords)
						      : xstrdup(keywords);
				free(b->keywords);
				b->keywords = k;
			}
			free(keywords);
			return;
		}
	}
	size_t cap = r->nboxes;
	r->boxes = xgrow(r->boxes, &cap, r->nboxes + 1, sizeof(*r->boxes));
	r->boxes[r->nboxes++] = (struct delivery_box){
		.mailbox_id = mailbox_id,
		.mailbox = mailbox != NULL ? xstrdup(mailbox) : NULL,
		.create = create,
		.flags = bits,
		.keywords = keywords,
	};
}

/* Mail we write ourselves (vacation replies, rejection DSNs) is signed
 * with the account's domain's DKIM keys, as submission signs (src/dkim/;
 * we are on a worker already). Redirects keep the original's
 * signatures and get none of ours. A malloc'd signed copy, or NULL. */
static char *dkim_signed(struct run *rn, const char *msg, size_t len, size_t *len_r)
{
	const char *at = strrchr(rn->account_address, '@');
	struct dkim_signer *signer = NULL;
	char *error = NULL, *fields = NULL, *out = NULL;
	if (at == NULL || dkim_signer_load(rn->c->datadir, at + 1, &signer, &error) != 0) {
		if (error != NULL)
			log_warn("sieve: account=%s unsigned: %s", rn->account_address, error);
		free(error);
		return NULL;
	}
	if (dkim_sign(signer, msg, len, time(NULL), &fields, &error) == 0) {
		out = xasprintf("%s%.*s", fields, (int)len, msg);
		*len_r = strlen(out);
	} else {
		log_warn("sieve: account=%s unsigned: %s", rn->account_address,
			 error != NULL ? error : "?");
	}
	free(fields);
	free(error);
	dkim_signer_free(&signer);
	return out;
}

static bool queue_mail(struct run *rn, const char *return_path, const char *to, const char *msg,
		       size_t len, const char *what, bool sign, unsigned flags)
{
	struct store_queue_rcpt q = {.address = to};
	int64_t id = 0;
	size_t slen = 0;
	char *signed_msg = sign ? dkim_signed(rn, msg, len, &slen) : NULL;
	if (signed_msg != NULL) {
		msg = signed_msg;
		len = slen;
	}
	enum store_err err = store_queue_add_wait(rn->s, rn->r->account_id, return_path, NULL,
						  flags, &q, 1, msg, len, &id);
	free(signed_msg);
	if (err != STORE_OK)
		log_warn("sieve: account=%s %s to %s not queued: %s", rn->account_address, what, to,
			 store_strerror(err));
	else
		log_info("sieve: account=%s %s to %s queued id=%" PRId64, rn->account_address, what,
			 to, id);
	return err == STORE_OK;
}

static void date_header(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(buf, size, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static char *new_message_id(const char *hostname)
{
	unsigned char raw[12];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		memset(raw, 0, sizeof(raw));
	char hex[25];
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	return xasprintf("<%s.sieve@%s>", hex, hostname);
}

static bool header_safe(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") == NULL;
}

/* RFC 5429 2.1: a rejection the protocol could not carry goes back to
 * the sender as a DSN (RFC 3464) with the reason. */
static void reject_dsn(struct run *rn, const char *reason)
{
	const char *why;
	char *norm = *rn->d->return_path != '\0' ? address_normalize(rn->d->return_path, &why) : NULL;
	if (norm == NULL) {
		log_info("sieve: account=%s reject of a message without a usable sender: discarded",
			 rn->account_address);
		return;
	}
	const char *sender = norm;
	char date[64];
	date_header(date, sizeof(date));
	char *mid = new_message_id(rn->c->hostname);
	size_t hlen = rn->len;
	const char *eoh = memmem(rn->data, rn->len, "\r\n\r\n", 4);
	if (eoh != NULL && (size_t)(eoh - rn->data) < rn->len)
		hlen = (size_t)(eoh - rn->data) + 2;
	if (hlen > DSN_MAX_HEADERS)
		hlen = DSN_MAX_HEADERS; /* RFC 3462: the headers, not the message */
	char *msg = xasprintf(
		"From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
		"To: <%s>\r\nSubject: Message rejected by %s\r\nDate: %s\r\nMessage-ID: %s\r\n"
		"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/report; report-type=delivery-status;"
		" boundary=\"=_sieve_reject\"\r\n\r\n"
		"--=_sieve_reject\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
		"Your message to <%s> was rejected by the recipient's mail filter:\r\n\r\n%s\r\n\r\n"
		"--=_sieve_reject\r\nContent-Type: message/delivery-status\r\n\r\n"
		"Reporting-MTA: dns; %s\r\n\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\n"
		"Status: 5.7.1\r\n\r\n"
		"--=_sieve_reject\r\nContent-Type: text/rfc822-headers\r\n\r\n%.*s\r\n"
		"--=_sieve_reject--\r\n",
		rn->c->hostname, sender, rn->r->address, date, mid, rn->r->address, reason,
		rn->c->hostname, rn->r->address, (int)hlen, rn->data);
	queue_mail(rn, "", sender, msg, strlen(msg), "rejection", false, 0);
	free(msg);
	free(mid);
	free(norm);
}

/* False when the message could not be redirected (a limit, a bad
 * address, the queue): the caller keeps it instead, so it is never lost. */
static bool do_redirect(struct run *rn, const char *to)
{
	const char *why;
	char *addr = address_normalize(to, &why);
	if (addr == NULL) {
		log_warn("sieve: account=%s redirect to a bad address: %s", rn->account_address, why);
		return false;
	}
	if (rn->redirects >= rn->c->max_redirects) {
		log_warn("sieve: account=%s redirect to %s: over sieve.max_redirects",
			 rn->account_address, addr);
		free(addr);
		return false;
	}
	int64_t now = (int64_t)time(NULL), n = 0, when = 0;
	const char *mid = rn->message_id != NULL ? rn->message_id : "";
	if (store_sieve_redirects_since(rn->s, rn->r->account_id, now - 86400, &n) != STORE_OK ||
	    n >= rn->c->max_redirects_per_day) {
		log_warn("sieve: account=%s redirect to %s: over sieve.max_redirects_per_day"
			 " (or the count could not be read)", rn->account_address, addr);
		free(addr);
		return false;
	}
	if (*mid != '\0' &&
	    store_sieve_state_get(rn->s, rn->r->account_id, STORE_SIEVE_REDIRECT, mid, addr,
				  &when) == STORE_OK && when > 0 && now - when < 86400) {
		log_info("sieve: account=%s %s already redirected to %s", rn->account_address, mid,
			 addr);
		free(addr);
		return true;
	}
	rn->redirects++;
	/* SRS: the envelope sender becomes ours, so SPF at the target
	 * holds; bounces to it come back here */
	char *rp = NULL;
	if (*rn->d->return_path != '\0') {
		char *secret = srs_secret(rn->c->datadir);
		const char *at = strrchr(rn->account_address, '@');
		if (secret != NULL && at != NULL)
			rp = delivery_srs_forward(rn->d->return_path, at + 1, secret, now / 86400);
		free(secret);
		if (rp == NULL)
			rp = xstrdup(rn->account_address);
	} else {
		rp = xstrdup("");
	}
	/* Delivered-To: loop detection at the next hop */
	char *dt = xasprintf("Delivered-To: %s\r\n", rn->r->address);
	size_t dtlen = strlen(dt), mlen = dtlen + rn->len;
	char *msg = xmalloc(mlen + 1);
	memcpy(msg, dt, dtlen);
	memcpy(msg + dtlen, rn->data, rn->len);
	msg[mlen] = '\0';
	free(dt);
	bool queued = queue_mail(rn, rp, addr, msg, mlen, "redirect", false,
				 rn->d->requiretls ? STORE_QUEUE_REQUIRETLS : 0);
	struct store_sieve_mark m = {.account_id = rn->r->account_id, .kind = STORE_SIEVE_REDIRECT,
				     .key = *mid != '\0' ? mid : "-", .key2 = addr, .when = now,
				     .expire_before = now - STATE_KEEP_SECONDS};
	struct store_op op;
	store_sieve_mark_init(&op, &m);
	store_run(rn->s, &op);
	store_op_clear(&op);
	free(msg);
	free(rp);
	free(addr);
	return queued;
}

/* Does `data`'s To/Cc/Bcc name `addr`? (RFC 5230 4.5) */
static bool addressed_to(const char *data, size_t len, const char *addr)
{
	static const char *const fields[] = {"To", "Cc", "Bcc", "Resent-To", NULL};
	size_t alen = strlen(addr);
	for (int i = 0; fields[i] != NULL; i++) {
		char *v = header_field_get(data, len, fields[i], NULL);
		bool hit = false;
		for (const char *p = v; p != NULL && !hit && (p = strcasestr(p, addr)) != NULL; p++) {
			char before = p == v ? ' ' : p[-1], after = p[alen];
			hit = strchr(" \t<,:\"", before) != NULL &&
			      (after == '\0' || strchr(" \t>,;\"", after) != NULL);
		}
		free(v);
		if (hit)
			return true;
	}
	return false;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; s != NULL && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* RFC 8580 :fcc: a copy of the reply in the account's mailbox, \Seen
 * (a missing mailbox: INBOX, as for fileinto). */
static void fcc_copy(struct run *rn, const char *mailbox, const char *msg, size_t len)
{
	struct store_target t = {
		.account_id = rn->r->account_id,
		.mailbox_name = mailbox,
		.flags = STORE_FLAG_SEEN,
	};
	struct store_op op;
	store_op_init(&op, STORE_OP_DELIVER);
	op.u.deliver.data = msg;
	op.u.deliver.len = len;
	op.u.deliver.targets = &t;
	op.u.deliver.ntargets = 1;
	op.u.deliver.per_target = true;
	enum store_err err = store_run(rn->s, &op);
	if (err != STORE_OK)
		log_warn("sieve: account=%s vacation :fcc %s not stored: %s", rn->account_address,
			 mailbox, store_strerror(err));
	store_op_clear(&op);
}

static void do_vacation(struct run *rn, const struct sieve_action *a)
{
	const char *sender = rn->d->return_path;
	if (delivery_vacation_suppressed(sender, rn->data, rn->len))
		return;
	bool mine = addressed_to(rn->data, rn->len, rn->account_address) ||
		    addressed_to(rn->data, rn->len, rn->r->address);
	for (size_t i = 0; !mine && a->addresses != NULL && a->addresses[i] != NULL; i++)
		mine = addressed_to(rn->data, rn->len, a->addresses[i]);
	if (!mine)
		return;
	/* RFC 5230 4.4 / RFC 3834 4: to the envelope return path, never to
	 * an address the message itself names (no backscatter by Reply-To) */
	const char *why;
	char *norm = address_normalize(sender, &why);
	if (norm == NULL)
		return;
	const char *to = norm;
	char handle[40];
	if (a->handle != NULL && *a->handle != '\0')
		snprintf(handle, sizeof(handle), "h%016" PRIx64, fnv1a(a->handle));
	else
		snprintf(handle, sizeof(handle), "r%016" PRIx64 "%016" PRIx64, fnv1a(a->reason),
			 fnv1a(a->subject));
	int64_t period = a->period_seconds > 0 ? (int64_t)a->period_seconds : VACATION_DEFAULT_PERIOD;
	if (period < rn->c->min_vacation_period)
		period = rn->c->min_vacation_period;
	if (period > VACATION_MAX_PERIOD)
		period = VACATION_MAX_PERIOD;
	int64_t now = (int64_t)time(NULL), when = 0;
	if (store_sieve_state_get(rn->s, rn->r->account_id, STORE_SIEVE_VACATION, to, handle,
				  &when) != STORE_OK || (when > 0 && now - when < period)) {
		/* unknown: better no reply than a second one */
		free(norm);
		return;
	}
	char *subject = NULL;
	if (a->subject != NULL && header_safe(a->subject)) {
		subject = xstrdup(a->subject);
	} else {
		char *orig = header_field_get(rn->data, rn->len, "Subject", NULL);
		subject = xasprintf("Auto: %s", orig != NULL ? orig + strspn(orig, " \t") : "");
		free(orig);
	}
	const char *from = a->from != NULL && header_safe(a->from) ? a->from : rn->account_address;
	char date[64];
	date_header(date, sizeof(date));
	char *mid = new_message_id(rn->c->hostname);
	char *refs = header_field_get(rn->data, rn->len, "References", NULL);
	char *thread = rn->message_id == NULL ? xstrdup("") :
		xasprintf("In-Reply-To: %s\r\nReferences: %s%s%s\r\n", rn->message_id,
			  refs != NULL ? refs + strspn(refs, " \t") : "", refs != NULL ? " " : "",
			  rn->message_id);
	char *body = a->mime ? xstrdup(a->reason != NULL ? a->reason : "") :
		xasprintf("Content-Type: text/plain; charset=utf-8\r\n"
			  "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
			  a->reason != NULL ? a->reason : "");
	char *msg = xasprintf("From: %s\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\n"
			      "%sAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n%s",
			      from, to, subject, date, mid, thread, body);
	/* RFC 3834 3.3: the null return path, so nothing answers the answer */
	queue_mail(rn, "", to, msg, strlen(msg), "vacation reply", true, 0);
	if (a->mailbox != NULL)
		fcc_copy(rn, a->mailbox, msg, strlen(msg));
	struct store_sieve_mark m = {.account_id = rn->r->account_id, .kind = STORE_SIEVE_VACATION,
				     .key = to, .key2 = handle, .when = now,
				     .expire_before = now - VACATION_MAX_PERIOD};
	struct store_op op;
	store_sieve_mark_init(&op, &m);
	store_run(rn->s, &op);
	store_op_clear(&op);
	free(msg);
	free(body);
	free(thread);
	free(refs);
	free(mid);
	free(subject);
	free(norm);
}

/* Carry out one script's result; returns whether the message is still
 * kept implicitly (then the next script runs). */
static bool apply(struct run *rn, const struct sieve_result *res)
{
	struct delivery_rcpt *r = rn->r;
	for (size_t i = 0; i < res->nactions; i++) {
		const struct sieve_action *a = &res->actions[i];
		switch (a->type) {
		case SIEVE_ACT_KEEP:
			add_box(r, NULL, false, a->flags);
			break;
		case SIEVE_ACT_FILEINTO: {
			/* :mailboxid, then :specialuse, win over the name when
			 * they find a mailbox (RFC 9042 3.1, RFC 8579 4) */
			int64_t id = a->mailboxid != NULL ? mailbox_by_objectid(rn, a->mailboxid) : 0;
			if (id == 0 && a->special_use != NULL)
				id = mailbox_by_use(rn, a->special_use);
			add_box_id(r, id, a->mailbox, a->create, a->flags);
			break;
		}
		case SIEVE_ACT_REDIRECT:
			if (a->address == NULL || !do_redirect(rn, a->address))
				add_box(r, NULL, false, NULL);
			break;
		case SIEVE_ACT_REJECT:
		case SIEVE_ACT_EREJECT: {
			const char *reason = a->reason != NULL ? a->reason : "rejected";
			if (rn->can_refuse) {
				/* one reply line: controls become spaces, bounded */
				free(r->refuse);
				r->refuse = xstrndup(reason, REFUSE_MAX);
				for (char *p = r->refuse; *p != '\0'; p++)
					if ((unsigned char)*p < 0x20 || *p == 0x7f)
						*p = ' ';
			} else {
				reject_dsn(rn, reason);
			}
			break;
		}
		case SIEVE_ACT_VACATION:
			do_vacation(rn, a);
			break;
		case SIEVE_ACT_DISCARD:
			break;
		}
	}
	return res->implicit_keep;
}

/* A script failed: tell the account once a day per script (a notice
 * through the queue, delivered like any local mail), besides the log. */
static void notify_failure(struct run *rn, const char *what, const struct sieve_diag *diag)
{
	char key[STORE_SIEVE_MAX_NAME + 32];
	snprintf(key, sizeof(key), "roost-notice/%s", what);
	int64_t now = (int64_t)time(NULL), when = 0;
	if (store_sieve_state_get(rn->s, rn->r->account_id, STORE_SIEVE_DUPLICATE, key, NULL,
				  &when) != STORE_OK || (when > 0 && now - when < 86400))
		return;
	struct store_sieve_mark m = {.account_id = rn->r->account_id,
				     .kind = STORE_SIEVE_DUPLICATE, .key = key, .when = now};
	struct store_op op;
	store_sieve_mark_init(&op, &m);
	enum store_err err = store_run(rn->s, &op);
	store_op_clear(&op);
	if (err != STORE_OK)
		return;
	char date[64];
	date_header(date, sizeof(date));
	char *mid = new_message_id(rn->c->hostname);
	char *msg = xasprintf(
		"From: Mail Delivery System <MAILER-DAEMON@%s>\r\nTo: <%s>\r\n"
		"Subject: Your mail filter \"%s\" failed\r\nDate: %s\r\nMessage-ID: %s\r\n"
		"Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n\r\n"
		"Your Sieve filter \"%s\" could not run on a message delivered to you:\r\n\r\n"
		"  %s\r\n\r\n"
		"The message was kept in your INBOX. Until the filter is fixed, every\r\n"
		"message goes to INBOX; this notice comes at most once a day.\r\n",
		rn->c->hostname, rn->account_address, what, date, mid, what, diag->message);
	queue_mail(rn, "", rn->account_address, msg, strlen(msg), "failure notice", false, 0);
	free(msg);
	free(mid);
}

/* A field name we add (RFC 5322 3.6.8 ftext) that is not one of the
 * trace fields delivery itself writes (RFC 5293 6). */
static bool addable_name(const char *name)
{
	static const char *const ours[] = {"Return-Path", "Delivered-To", "Received", NULL};
	if (name == NULL || *name == '\0' || strlen(name) > 76)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (*p <= 32 || *p >= 127 || *p == ':')
			return false;
	for (int i = 0; ours[i] != NULL; i++)
		if (strcasecmp(name, ours[i]) == 0)
			return false;
	return true;
}

/* editheader (RFC 5293): the edits we accept (not the trace fields
 * delivery writes, one line, bounded) are applied to rn->data, so the
 * next script, redirect (7) and the stored copy see them. The fields
 * added on top are also collected in r->added (each on top of the ones
 * before, 5: "at the beginning"): when the recipients of one message end
 * with different copies, delivery_sieve_run() falls back to those. */
static void apply_edits(struct run *rn, const struct sieve_result *res)
{
	struct sieve_header_edit *ok = xcalloc(res->nedits + 1, sizeof(*ok));
	size_t nok = 0;
	for (size_t i = 0; i < res->nedits; i++) {
		const struct sieve_header_edit *e = &res->edits[i];
		if (!e->add) {
			if (e->name != NULL && addable_name(e->name)) {
				ok[nok++] = *e;
				rn->needs_copy = true;
			}
			continue;
		}
		if (!addable_name(e->name) || !header_safe(e->value) || strlen(e->value) > 900) {
			log_warn("sieve: account=%s addheader refused: bad field", rn->account_address);
			continue;
		}
		size_t bytes = strlen(e->name) + strlen(e->value) + 4;
		if (rn->added_bytes + bytes > EDIT_MAX_ADDED) {
			log_warn("sieve: account=%s addheader refused: over %d bytes of added fields",
				 rn->account_address, EDIT_MAX_ADDED);
			break;
		}
		rn->added_bytes += bytes;
		ok[nok++] = *e;
		if (e->last) {
			rn->needs_copy = true;
			continue;
		}
		char *next = xasprintf("%s: %s\r\n%s", e->name, e->value,
				       rn->r->added != NULL ? rn->r->added : "");
		free(rn->r->added);
		rn->r->added = next;
	}
	if (nok > 0) {
		size_t len;
		char *edited = sieve_apply_edits(rn->data, rn->len, ok, nok, &len);
		free(rn->edited);
		rn->edited = edited;
		rn->data = edited;
		rn->len = len;
	}
	free(ok);
}

/* After every recipient's scripts: when every recipient that stores the
 * message ends with the same bytes, those are the stored content (the
 * usual case: one recipient). Otherwise the content stays the original,
 * fields added on top still reach each copy through its prefix, and
 * deletions and :last additions are logged as not applied: the store
 * keeps one content per message. */
static void settle_edits(struct delivery *d, const char *data, size_t len, char **edited,
			 size_t *elen, const bool *needs_copy)
{
	const char *common = NULL;
	size_t clen = 0;
	bool any = false, same = true;
	for (size_t i = 0; i < d->nrcpts; i++) {
		const struct delivery_rcpt *r = &d->rcpts[i];
		if (r->discard || r->refuse != NULL)
			continue;
		const char *m = edited[i] != NULL ? edited[i] : data;
		size_t ml = edited[i] != NULL ? elen[i] : len;
		any |= edited[i] != NULL;
		if (common == NULL) {
			common = m;
			clen = ml;
		} else if (ml != clen || memcmp(m, common, ml) != 0) {
			same = false;
		}
	}
	if (!any)
		return;
	if (same) {
		for (size_t i = 0; i < d->nrcpts; i++) {
			struct delivery_rcpt *r = &d->rcpts[i];
			if (r->discard || r->refuse != NULL)
				continue;
			free(r->added);
			r->added = NULL;
		}
		d->content = xmemdup(common, clen);
		d->content_len = clen;
		return;
	}
	for (size_t i = 0; i < d->nrcpts; i++)
		if (needs_copy[i] && !d->rcpts[i].discard && d->rcpts[i].refuse == NULL)
			log_info("sieve: %s: editheader deletions and :last additions not applied to"
				 " the stored copy (other recipients of the message keep it unedited)",
				 d->rcpts[i].address);
}

/* RFC 6609 include at delivery: :personal scripts are the account's own
 * (sieve_scripts), :global ones NAME.sieve files in sieve.global_dir. A
 * script that includes anything is not cached (its text alone would not
 * say when an included script changed). */
struct include_ctx {
	struct store *s;
	int64_t account_id;
	const char *global_dir;
	size_t max_size;
	bool used;
};

static bool include_name_ok(const char *name)
{
	/* a file name in one directory: no path, no hidden file */
	return name[0] != '\0' && name[0] != '.' && strchr(name, '/') == NULL &&
	       strlen(name) <= 128;
}

static char *include_script(void *ctx, const char *name, bool global, size_t *len_r)
{
	struct include_ctx *ic = ctx;
	ic->used = true;
	if (!include_name_ok(name))
		return NULL;
	if (!global) {
		char *content = NULL;
		if (store_sieve_get(ic->s, ic->account_id, name, &content, len_r, NULL) != STORE_OK)
			return NULL; /* missing, or a read error: the include fails */
		return content;
	}
	if (ic->global_dir == NULL)
		return NULL;
	char *path = xasprintf("%s/%s.sieve", ic->global_dir, name);
	char *text = NULL;
	FILE *f = fopen(path, "re");
	free(path);
	if (f == NULL)
		return NULL;
	size_t cap = ic->max_size > 0 ? ic->max_size : STORE_SIEVE_MAX_CONTENT;
	text = xmalloc(cap + 2);
	size_t n = fread(text, 1, cap + 1, f);
	bool bad = ferror(f) || n > cap;
	fclose(f);
	if (bad) {
		free(text);
		return NULL;
	}
	text[n] = '\0';
	*len_r = n;
	return text;
}

/* The compiled script for `text` (NULL with *diag_r on a compile error),
 * from the cache (delivery-sieve-cache.h) when it is there. *ref_r is
 * the cache reference to release, or NULL when the caller owns the
 * script (it includes others, or the cache was full of scripts in use). */
static struct sieve_script *script_get(int64_t owner, const char *text, size_t len,
				       const struct sieve_limits *lim, struct include_ctx *ic,
				       struct delivery_sieve_cache_ref **ref_r,
				       struct sieve_diag *diag_r)
{
	const struct sieve_script *cached = delivery_sieve_cache_get(owner, text, len, lim, ref_r);
	if (cached != NULL)
		return (struct sieve_script *)cached;
	struct sieve_script *script = sieve_compile(text, len, lim, include_script, ic, diag_r);
	if (script == NULL || ic->used)
		return script; /* the caller owns a script with includes */
	*ref_r = delivery_sieve_cache_add(owner, text, len, lim, script);
	return script;
}

static void script_put(struct sieve_script *script, struct delivery_sieve_cache_ref *ref)
{
	if (ref == NULL)
		sieve_script_free(script);
	else
		delivery_sieve_cache_put(ref);
}

/* Compile and run one script; false when it cancelled the implicit keep.
 * *keep_flags_r: the implicit keep's flags (last script wins). */
static bool run_one(struct run *rn, int64_t owner, const char *what, const char *text,
		    size_t len, char ***keep_flags_r)
{
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	lim.max_script_size = rn->c->max_script_size > 0 ? rn->c->max_script_size : 0;
	if (rn->c->max_redirects > 0)
		lim.max_redirects = rn->c->max_redirects;
	struct sieve_diag diag = {0};
	struct delivery_sieve_cache_ref *entry;
	struct include_ctx ic = {.s = rn->s, .account_id = rn->r->account_id,
				 .global_dir = rn->c->global_dir,
				 .max_size = rn->c->max_script_size};
	struct sieve_script *script = script_get(owner, text, len, &lim, &ic, &entry, &diag);
	if (script == NULL) {
		log_warn("sieve: account=%s %s: %s: filed to INBOX", rn->account_address, what,
			 diag.message);
		notify_failure(rn, what, &diag);
		return true;
	}
	struct sieve_env env = {
		.msg = rn->data,
		.msg_len = rn->len,
		.envelope_from = rn->d->return_path,
		.envelope_to = rn->r->address,
		.user_address = rn->account_address,
		.spam_header = "X-Spam-Score",
		.virus_header = "X-Virus-Status",
		.mailbox_exists = cb_mailbox_exists,
		.special_use_mailbox = cb_special_use,
		.duplicate_check = cb_duplicate,
		.ctx = rn,
		.now = (int64_t)time(NULL),
	};
	struct sieve_result res = {0};
	bool keep = true;
	if (sieve_run(script, &env, &lim, &res, &diag) < 0) {
		log_warn("sieve: account=%s %s: failed while running: %s: filed to INBOX",
			 rn->account_address, what, diag.message);
		notify_failure(rn, what, &diag);
		/* implicit keep only (sieve.h) */
	} else {
		apply_edits(rn, &res);
		keep = apply(rn, &res);
		if (keep && res.keep_flags != NULL) {
			size_t n = 0;
			while (res.keep_flags[n] != NULL)
				n++;
			char **copy = xcalloc(n + 1, sizeof(*copy));
			for (size_t i = 0; i < n; i++)
				copy[i] = xstrdup(res.keep_flags[i]);
			if (*keep_flags_r != NULL) {
				for (size_t i = 0; (*keep_flags_r)[i] != NULL; i++)
					free((*keep_flags_r)[i]);
				free(*keep_flags_r);
			}
			*keep_flags_r = copy;
		}
	}
	sieve_result_free(&res);
	script_put(script, entry);
	return keep;
}

static void run_rcpt(struct run *rn)
{
	struct delivery_rcpt *r = rn->r;
	char *pname = NULL, *ptext = NULL;
	size_t plen = 0;
	enum store_err err = store_sieve_get_active(rn->s, r->account_id, &pname, &ptext, &plen);
	if (err != STORE_OK && err != STORE_ENOTFOUND)
		log_warn("sieve: account=%s active script unreadable (%s): filed to INBOX",
			 rn->account_address, store_strerror(err));
	if (ptext == NULL && rn->c->before == NULL && rn->c->after == NULL)
		return;
	char **keep_flags = NULL;
	bool keep = true;
	size_t len = 0;
	char *text;
	if (rn->c->before != NULL && (text = read_file(rn->c->before, rn->c->max_script_size, &len))) {
		keep = run_one(rn, DELIVERY_SIEVE_OWNER_BEFORE, "sieve.before", text, len, &keep_flags);
		free(text);
	}
	if (keep && ptext != NULL && r->refuse == NULL)
		keep = run_one(rn, r->account_id, pname, ptext, plen, &keep_flags);
	if (keep && r->refuse == NULL && rn->c->after != NULL &&
	    (text = read_file(rn->c->after, rn->c->max_script_size, &len))) {
		keep = run_one(rn, DELIVERY_SIEVE_OWNER_AFTER, "sieve.after", text, len, &keep_flags);
		free(text);
	}
	if (keep && r->refuse == NULL)
		add_box(r, NULL, false, keep_flags);
	if (r->nboxes == 0 && r->refuse == NULL)
		r->discard = true;
	for (size_t i = 0; keep_flags != NULL && keep_flags[i] != NULL; i++)
		free(keep_flags[i]);
	free(keep_flags);
	free(pname);
	free(ptext);
}

void delivery_sieve_run(struct delivery *d, struct store *s, const struct delivery_sieve_config *c,
			const char *data, size_t len, bool can_refuse)
{
	if (c == NULL)
		return;
	char *message_id = header_field_get(data, len, "Message-ID", NULL);
	if (message_id != NULL) {
		char *trimmed = xstrdup(message_id + strspn(message_id, " \t"));
		free(message_id);
		message_id = trimmed;
		if (strlen(message_id) > STORE_SIEVE_MAX_KEY || !header_safe(message_id)) {
			free(message_id);
			message_id = NULL;
		}
	}
	char **edited = xcalloc(d->nrcpts + 1, sizeof(*edited));
	size_t *elen = xcalloc(d->nrcpts + 1, sizeof(*elen));
	bool *needs_copy = xcalloc(d->nrcpts + 1, sizeof(*needs_copy));
	for (size_t i = 0; i < d->nrcpts; i++) {
		struct store_account a;
		if (store_account_get_by_id(s, d->rcpts[i].account_id, &a) != STORE_OK)
			continue; /* gone or unreadable: the store op says which */
		struct run rn = {.d = d, .r = &d->rcpts[i], .s = s, .c = c, .data = data, .len = len,
				 .can_refuse = can_refuse, .account_address = a.address,
				 .message_id = message_id};
		run_rcpt(&rn);
		edited[i] = rn.edited;
		elen[i] = rn.edited != NULL ? rn.len : 0;
		needs_copy[i] = rn.needs_copy;
		free(rn.special_name);
		store_account_clear(&a);
	}
	settle_edits(d, data, len, edited, elen, needs_copy);
	for (size_t i = 0; i < d->nrcpts; i++)
		free(edited[i]);
	free(edited);
	free(elen);
	free(needs_copy);
	free(message_id);
}
