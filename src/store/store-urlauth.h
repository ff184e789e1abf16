/*
 * store-urlauth: URLAUTH (RFC 4467): each mailbox's access key (random,
 * kept in table urlauth_keys per account and mailbox, replaced by
 * RESETKEY, gone with its mailbox or account), the INTERNAL mechanism's
 * token (HMAC-SHA256 of the URL rump under that key), and the one
 * function that turns an URLAUTH URL into message bytes, for IMAP
 * URLFETCH and for BURL (RFC 4468) in submission.
 *
 * Access is never wider than the account itself: a URL resolves only
 * when its user, its access identifier ("submit+" or "user+") and the
 * caller's user are the same account. Cross-account grants (authuser,
 * another user) wait for ACL.
 */
#ifndef ROOST_STORE_URLAUTH_H
#define ROOST_STORE_URLAUTH_H
#include "store/store.h"
#include "mail/imap-url.h"

#define STORE_URLAUTH_KEY_LEN 32
/* hex digits of an INTERNAL token (RFC 4467 7: at least 128 bits) */
#define STORE_URLAUTH_TOKEN_HEX 64

/* Get the mailbox's key, creating it when it has none (GENURLAUTH), or
 * replace it (reset: RESETKEY). A write op; mailbox_id must be the
 * account's (else STORE_ENOTFOUND). With reset and mailbox_id 0 every
 * key of the account is dropped (new ones come on the next GENURLAUTH). */
struct store_urlauth_key {
	int64_t account_id;
	int64_t mailbox_id;
	bool reset;
	/* out (not for a reset of all) */
	unsigned char key[STORE_URLAUTH_KEY_LEN];
};
void store_urlauth_key_init(struct store_op *op, struct store_urlauth_key *k);

/* The INTERNAL token of rump[0..len) under key: lower-case hex, NUL
 * terminated. */
void store_urlauth_token(const unsigned char key[STORE_URLAUTH_KEY_LEN], const char *rump,
			 size_t len, char hex_r[STORE_URLAUTH_TOKEN_HEX + 1]);

/* A resolved URLAUTH URL: the whole message (prefix + content, its part
 * map as store_imap_message_text gives them) and the parsed URL, whose
 * section and partial range the caller applies (IMAP:
 * imap_section_extract()). */
struct store_urlauth_message {
	struct imap_url url;
	char *data;
	size_t len, prefix_len;
	char *parts;
};
void store_urlauth_message_clear(struct store_urlauth_message *m);

/* Resolve url[0..len) for `user` (the authenticated address: the IMAP
 * session's, or the submission client's for BURL). STORE_EINVAL: not an
 * URLAUTH URL with a verifier; STORE_EPERM: wrong token, expired, another
 * user, an access this server does not grant, or a mechanism other than
 * INTERNAL; STORE_ENOTFOUND: no such mailbox, UIDVALIDITY or message;
 * STORE_ETEMP/ECORRUPT: the read failed. `now` is unix time (EXPIRE). */
enum store_err store_urlauth_resolve(struct store *s, const char *url, size_t len,
				     const char *user, int64_t now,
				     struct store_urlauth_message *m_r);

/* RFC 3339 date-time (EXPIRE=) as unix time; -1 when malformed. */
int store_urlauth_expire_parse(const char *text, int64_t *t_r);
#endif
