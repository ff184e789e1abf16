/*
 * store-quota-warn: the quota warning notice (see store-quota-warn.h).
 *
 * It runs on the writer, inside the delivery that crossed the threshold,
 * so the notice commits with that message or not at all, and it needs no
 * "already warned" state: use below the threshold before this delivery and
 * at or above it after is exactly one crossing. The notice is a small
 * nested delivery to INBOX that the quota never refuses (a full mailbox
 * must still learn why), and it never triggers a warning itself.
 *
 * Texts: DATADIR/quota-warn/DOMAIN (first line the Subject, the rest the
 * body) when it exists, else quota.warn_subject and quota.warn_template,
 * else the built-in English ones. Read only when a notice is written: a
 * rare, small read.
 */
#include "store/store-quota-warn.h"
#include "store/store-private.h"
#include "lib/alloc.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/log.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_SUBJECT "Your mailbox is %p%% full"
#define DEFAULT_TEXT                                                                   \
	"Your mailbox %a has reached %t%% of its storage quota:\\n"                    \
	"%u MB of %l MB are used (%p%%).\\n\\n"                                          \
	"When it is full, new mail to you is refused. Please delete or archive\\n"    \
	"messages you no longer need (empty the Trash too), or ask for more space.\\n"
/* A per-domain text file longer than this is ignored (logged). */
#define QUOTA_WARN_FILE_MAX (2 * STORE_QUOTA_WARN_TEXT_MAX)
/* The notice as built (headers + expanded body). */
#define QUOTA_WARN_MESSAGE_MAX (4 * STORE_QUOTA_WARN_TEXT_MAX + 2048)

unsigned int store_quota_warn_crossed(const struct store_settings *set, int64_t before,
				      int64_t after, int64_t limit)
{
	if (limit <= 0 || after <= before)
		return 0;
	unsigned int crossed = 0;
	for (size_t i = 0; i < STORE_QUOTA_WARN_MAX && set->quota_warn_percent[i] != 0; i++) {
		unsigned int pct = set->quota_warn_percent[i];
		/* before*100 < pct*limit <= after*100, in 128 bits: no overflow
		 * and no rounding at the edge */
		__int128 edge = (__int128)pct * limit;
		if ((__int128)before * 100 < edge && (__int128)after * 100 >= edge && pct > crossed)
			crossed = pct;
	}
	return crossed;
}

static void put_mb(struct buf *b, int64_t bytes)
{
	/* tenths of a MiB, rounded to nearest */
	int64_t tenths = (int64_t)(((__int128)bytes * 10 + 524288) / 1048576);
	buf_printf(b, "%" PRId64 ".%d", tenths / 10, (int)(tenths % 10));
}

char *store_quota_warn_expand(const char *tmpl, const char *address, int64_t used,
			      int64_t limit, unsigned int threshold)
{
	struct buf b;
	buf_init(&b, 2 * STORE_QUOTA_WARN_TEXT_MAX);
	for (const char *p = tmpl; *p != '\0'; p++) {
		if (*p == '\\' && p[1] == 'n') {
			buf_puts(&b, "\r\n");
			p++;
			continue;
		}
		if (*p == '\n') {
			buf_puts(&b, "\r\n");
			continue;
		}
		if (*p == '\r')
			continue;
		if (*p != '%' || p[1] == '\0') {
			buf_putc(&b, *p);
			continue;
		}
		switch (*++p) {
		case 'a': buf_puts(&b, address); break;
		case 'u': put_mb(&b, used); break;
		case 'l': put_mb(&b, limit); break;
		case 'p': buf_printf(&b, "%d", limit > 0 ? (int)((__int128)used * 100 / limit) : 0); break;
		case 't': buf_printf(&b, "%u", threshold); break;
		case '%': buf_putc(&b, '%'); break;
		default: buf_putc(&b, '%'); buf_putc(&b, *p); break;
		}
	}
	char *s = buf_steal(&b);
	return s != NULL ? s : xstrdup("");
}

/* The domain's own texts, when DATADIR/quota-warn/DOMAIN exists and is sane. */
static bool domain_texts(const struct store *s, const char *domain, char **subject_r,
			 char **body_r)
{
	if (*domain == '\0' || *domain == '.' || strchr(domain, '/') != NULL)
		return false;
	char *path = xasprintf("%s/quota-warn/%s", s->dir, domain);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		free(path);
		return false;
	}
	char *text = xmalloc(QUOTA_WARN_FILE_MAX + 1);
	size_t n = fread(text, 1, QUOTA_WARN_FILE_MAX + 1, f);
	fclose(f);
	if (n > QUOTA_WARN_FILE_MAX || memchr(text, '\0', n) != NULL) {
		log_warn("quota warning: %s ignored (longer than %d bytes, or binary)", path,
			 QUOTA_WARN_FILE_MAX);
		free(text);
		free(path);
		return false;
	}
	free(path);
	text[n] = '\0';
	char *nl = strchr(text, '\n');
	if (nl != NULL)
		*nl = '\0';
	*subject_r = xstrdup(text);
	*body_r = xstrdup(nl != NULL ? nl + 1 : "");
	free(text);
	return true;
}

/* The Subject as an RFC 2047 encoded word when it is not plain ASCII, one
 * line (a template's line breaks become spaces). */
static void put_subject(struct buf *b, char *subject)
{
	bool ascii = true;
	for (char *p = subject; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n')
			*p = ' ';
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			ascii = false;
	}
	if (ascii) {
		buf_printf(b, "Subject: %s\r\n", subject);
		return;
	}
	/* RFC 2047 2: an encoded word is at most 75 characters, so long
	 * subjects are split into several, folded (whole UTF-8 sequences
	 * per word, 45 bytes -> 60 base64 characters) */
	buf_puts(b, "Subject:");
	size_t len = strlen(subject);
	for (size_t i = 0; i < len;) {
		size_t n = len - i > 45 ? 45 : len - i;
		while (n > 1 && i + n < len && ((unsigned char)subject[i + n] & 0xc0) == 0x80)
			n--;
		char *enc = base64_encode(subject + i, n);
		buf_printf(b, "%s=?utf-8?b?%s?=", i == 0 ? " " : "\r\n ", enc);
		free(enc);
		i += n;
	}
	buf_puts(b, "\r\n");
}

static char *build_notice(const struct store *s, const char *address, int64_t used,
			  int64_t limit, unsigned int threshold)
{
	const char *at = strrchr(address, '@');
	const char *domain = at != NULL ? at + 1 : "localhost";
	char *subject_t = NULL, *body_t = NULL;
	if (!domain_texts(s, domain, &subject_t, &body_t)) {
		const struct store_settings *set = &s->settings;
		subject_t = xstrdup(*set->quota_warn_subject ? set->quota_warn_subject
							   : DEFAULT_SUBJECT);
		body_t = xstrdup(*set->quota_warn_template ? set->quota_warn_template
							    : DEFAULT_TEXT);
	}
	char *subject = store_quota_warn_expand(subject_t, address, used, limit, threshold);
	char *body = store_quota_warn_expand(body_t, address, used, limit, threshold);
	free(subject_t);
	free(body_t);

	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct buf b;
	buf_init(&b, QUOTA_WARN_MESSAGE_MAX);
	/* RFC 3834 5: Auto-Submitted: auto-generated, so no autoresponder
	 * (vacation, Sieve) answers it */
	buf_printf(&b, "From: Postmaster <postmaster@%s>\r\nTo: <%s>\r\n", domain, address);
	put_subject(&b, subject);
	buf_printf(&b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
		   tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		   tm.tm_sec);
	buf_printf(&b, "Message-ID: <quota-warn.%lld.%u.%lld@%s>\r\n", (long long)now, threshold,
		   (long long)used, domain);
	buf_puts(&b, "Auto-Submitted: auto-generated\r\n"
		     "MIME-Version: 1.0\r\n"
		     "Content-Type: text/plain; charset=utf-8\r\n"
		     "Content-Transfer-Encoding: 8bit\r\n\r\n");
	buf_puts(&b, body);
	if (b.len < 2 || memcmp(b.data + b.len - 2, "\r\n", 2) != 0)
		buf_puts(&b, "\r\n");
	free(subject);
	free(body);
	char *msg = buf_steal(&b);
	return msg != NULL ? msg : xstrdup("");
}

static enum store_err account_address(struct store_txn *txn, int64_t account_id, char **address_r)
{
	struct db_stmt *st = store_prepare(txn->db, "SELECT address FROM accounts WHERE id = ?1");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		*address_r = xstrdup(db_column_text(st, 0));
	db_reset(st);
	return store_row_err(rc);
}

enum store_err store_quota_warn(struct store_txn *txn, int64_t account_id,
				const struct store_quota *before, int64_t added)
{
	int64_t after = before->used_bytes + added;
	unsigned int threshold = store_quota_warn_crossed(&txn->s->settings, before->used_bytes,
							  after, before->limit_bytes);
	if (threshold == 0)
		return STORE_OK;
	char *address = NULL;
	enum store_err err = account_address(txn, account_id, &address);
	if (err != STORE_OK) {
		log_warn("quota warning: account id %lld: %s", (long long)account_id,
			 store_strerror(err));
		return STORE_OK;
	}
	char *msg = build_notice(txn->s, address, after, before->limit_bytes, threshold);

	struct store_target target = {.account_id = account_id};
	struct store_op op;
	store_op_init(&op, STORE_OP_DELIVER);
	op.u.deliver.data = msg;
	op.u.deliver.len = strlen(msg);
	op.u.deliver.targets = &target;
	op.u.deliver.ntargets = 1;
	store_op_prepare(txn->s, &op);
	((struct store_deliver_priv *)op.priv)->quota_exempt = true;
	/* its own savepoint: a failed notice leaves no content row behind */
	store_step_sql(txn->db, "SAVEPOINT quota_warn");
	err = store_op_deliver(txn, &op);
	if (err == STORE_OK) {
		store_step_sql(txn->db, "RELEASE quota_warn");
		log_info("quota warning: %s at %u%% (%lld of %lld bytes), notice uid %u", address,
			 threshold, (long long)after, (long long)before->limit_bytes, target.uid);
	} else {
		store_step_sql(txn->db, "ROLLBACK TO quota_warn");
		store_step_sql(txn->db, "RELEASE quota_warn");
		store_txn_undone(txn);
		log_warn("quota warning: %s at %u%%: notice not stored: %s", address, threshold,
			 store_strerror(err));
	}
	store_op_clear(&op);
	free(msg);
	free(address);
	/* DB_FULL and friends roll back the whole transaction: the
	 * delivery is gone too and must say so */
	if (err != STORE_OK && !db_in_transaction(txn->db))
		return err;
	return STORE_OK;
}
