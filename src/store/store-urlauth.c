/* store-urlauth: see store-urlauth.h. */
#include "store/store-urlauth.h"
#include "store/store-imap.h"
#include "store/store-private.h"
#include "lib/alloc.h"
#include "mail/address.h"
#include "mail/mailbox-name.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum store_err read_key(struct db *db, int64_t account_id, int64_t mailbox_id,
			       unsigned char key_r[STORE_URLAUTH_KEY_LEN])
{
	struct db_stmt *st = store_prepare(db, "SELECT key FROM urlauth_keys"
					     " WHERE account_id = ?1 AND mailbox_id = ?2");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, account_id);
	db_bind_int64(st, 2, mailbox_id);
	int rc = db_step(st);
	enum store_err err = store_row_err(rc);
	if (err == STORE_OK) {
		if (db_column_bytes(st, 0) == STORE_URLAUTH_KEY_LEN)
			memcpy(key_r, db_column_blob(st, 0), STORE_URLAUTH_KEY_LEN);
		else
			err = STORE_ECORRUPT;
	}
	db_reset(st);
	return err;
}

static enum store_err key_fn(struct store_txn *txn, void *arg, char **error_r)
{
	struct store_urlauth_key *k = arg;
	struct db *db = store_txn_db(txn);
	struct db_stmt *st;
	int rc;
	if (k->reset && k->mailbox_id == 0) {
		st = store_prepare(db, "DELETE FROM urlauth_keys WHERE account_id = ?1");
		if (st == NULL)
			return STORE_ETEMP;
		db_bind_int64(st, 1, k->account_id);
		rc = db_step(st);
		db_reset(st);
		return rc == DB_DONE ? STORE_OK : store_step_err(rc);
	}
	enum store_err err = store_mailbox_owned(db, k->account_id, k->mailbox_id);
	if (err != STORE_OK)
		return err;
	if (!k->reset) {
		err = read_key(db, k->account_id, k->mailbox_id, k->key);
		if (err != STORE_ENOTFOUND)
			return err;
	}
	if (RAND_bytes(k->key, sizeof(k->key)) != 1) {
		*error_r = xstrdup("no random bytes for an URLAUTH key");
		return STORE_ETEMP;
	}
	st = store_prepare(db, "INSERT INTO urlauth_keys (account_id, mailbox_id, key)"
			       " VALUES (?1, ?2, ?3)"
			       " ON CONFLICT (account_id, mailbox_id) DO UPDATE SET key = excluded.key");
	if (st == NULL)
		return STORE_ETEMP;
	db_bind_int64(st, 1, k->account_id);
	db_bind_int64(st, 2, k->mailbox_id);
	db_bind_blob(st, 3, k->key, sizeof(k->key), true);
	rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_step_err(rc);
}

void store_urlauth_key_init(struct store_op *op, struct store_urlauth_key *k)
{
	store_op_init(op, STORE_OP_FUNC);
	op->u.func.fn = key_fn;
	op->u.func.arg = k;
}

void store_urlauth_token(const unsigned char key[STORE_URLAUTH_KEY_LEN], const char *rump,
			 size_t len, char hex_r[STORE_URLAUTH_TOKEN_HEX + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	HMAC(EVP_sha256(), key, STORE_URLAUTH_KEY_LEN, (const unsigned char *)rump, len, mac,
	     &maclen);
	static const char hex[] = "0123456789abcdef";
	for (unsigned i = 0; i < STORE_URLAUTH_TOKEN_HEX / 2; i++) {
		hex_r[2 * i] = hex[mac[i] >> 4];
		hex_r[2 * i + 1] = hex[mac[i] & 15];
	}
	hex_r[STORE_URLAUTH_TOKEN_HEX] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
}

static int digits(const char *p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* date-time = full-date "T" partial-time time-offset (RFC 3339 5.6) */
int store_urlauth_expire_parse(const char *t, int64_t *t_r)
{
	if (strlen(t) < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') ||
	    t[13] != ':' || t[16] != ':')
		return -1;
	struct tm tm = {0};
	int y = digits(t, 4), mo = digits(t + 5, 2), d = digits(t + 8, 2);
	int h = digits(t + 11, 2), mi = digits(t + 14, 2), sec = digits(t + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60)
		return -1;
	const char *p = t + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh = digits(p + 1, 2), om = digits(p + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		offset = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*t_r = (int64_t)timegm(&tm) - offset;
	return 0;
}

void store_urlauth_message_clear(struct store_urlauth_message *m)
{
	imap_url_clear(&m->url);
	free(m->data);
	free(m->parts);
	memset(m, 0, sizeof(*m));
}

enum store_err store_urlauth_resolve(struct store *s, const char *url, size_t len,
				     const char *user, int64_t now,
				     struct store_urlauth_message *m)
{
	memset(m, 0, sizeof(*m));
	const char *error;
	if (imap_url_parse(url, len, &m->url, &error) < 0)
		return STORE_EINVAL;
	const struct imap_url *u = &m->url;
	if (!u->absolute || u->access == NULL || u->token == NULL || u->user == NULL)
		return STORE_EINVAL;
	/* RFC 4467 7: INTERNAL is the one mechanism; access only for the
	 * owner itself (see the top of store-urlauth.h) */
	if (strcmp(u->mechanism, "internal") != 0 || u->access_user == NULL ||
	    strcasecmp(u->access_user, u->user) != 0 || strcasecmp(u->user, user) != 0)
		return STORE_EPERM;
	if (u->expire != NULL) {
		int64_t t;
		if (store_urlauth_expire_parse(u->expire, &t) < 0 || t <= now)
			return STORE_EPERM;
	}
	char *addr = address_normalize(u->user, &error);
	if (addr == NULL)
		return STORE_EPERM;
	struct store_account a;
	enum store_err err = store_account_get(s, addr, &a);
	free(addr);
	if (err != STORE_OK)
		return err == STORE_ENOTFOUND ? STORE_EPERM : err;
	int64_t account_id = a.id;
	store_account_clear(&a);
	char *name = mailbox_name_normalize(u->mailbox);
	struct store_mailbox mb;
	err = store_mailbox_get(s, account_id, name, &mb);
	free(name);
	if (err != STORE_OK)
		return err;
	int64_t mailbox_id = mb.id;
	uint32_t uidvalidity = mb.uidvalidity;
	store_mailbox_clear(&mb);
	unsigned char key[STORE_URLAUTH_KEY_LEN];
	err = read_key(store_reader(s), account_id, mailbox_id, key);
	if (err == STORE_ENOTFOUND)
		return STORE_EPERM; /* no key: nothing was ever signed here */
	if (err != STORE_OK)
		return err;
	char want[STORE_URLAUTH_TOKEN_HEX + 1];
	store_urlauth_token(key, url, u->rump_len, want);
	OPENSSL_cleanse(key, sizeof(key));
	bool ok = strlen(u->token) == STORE_URLAUTH_TOKEN_HEX &&
		  CRYPTO_memcmp(want, u->token, STORE_URLAUTH_TOKEN_HEX) == 0;
	if (!ok)
		return STORE_EPERM;
	if (u->uidvalidity != 0 && u->uidvalidity != uidvalidity)
		return STORE_ENOTFOUND;
	return store_imap_message_text(s, account_id, mailbox_id, u->uid, &m->data, &m->len,
				       &m->prefix_len, &m->parts);
}
