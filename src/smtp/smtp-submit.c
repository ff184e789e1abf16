/*
 * smtp-submit: the submission sender rules (RFC 6409 4.1, 8). The envelope
 * sender and every address in From: must be the logged-in account's own:
 * its address, a +tag form of it, or an alias whose target is the account
 * (store_address_owned). A domain listed in submission.any_sender_domains
 * lets its users send as any address of their own domain (a shared
 * role address without an alias, a newsletter sender). Anything else is
 * 550 5.7.1 with the reason: a stolen or shared login must not let
 * anybody send as anybody.
 */
#include "smtp/smtp-session.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "mail/address.h"
#include "mail/header-field.h"
#include "mail/mime-index.h"
#include "store/store-auth.h"
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Mailboxes in one From: field checked; more is refused. */
#define SMTP_SUBMIT_FROM_MAX 32

/* Is `domain` in the comma-separated list? */
static bool domain_listed(const char *list, const char *domain)
{
	size_t dl = strlen(domain);
	const char *p = list;
	while (*p != '\0') {
		p += strspn(p, " ,");
		size_t n = strcspn(p, " ,");
		if (n == dl && n > 0 && strncasecmp(p, domain, n) == 0)
			return true;
		p += n;
	}
	return false;
}

int smtp_submit_sender_ok(struct smtp_session *s, const char *address, bool *ok_r)
{
	*ok_r = false;
	const char *why;
	char *addr = address_normalize(address, &why);
	if (addr == NULL)
		return 0; /* a quoted or odd local part: never a hosted address */
	enum store_err err = store_address_owned(s->srv->store, s->account_id, addr, ok_r);
	if (err == STORE_OK && !*ok_r && s->srv->any_sender_domains[0] != '\0') {
		struct store_account a;
		err = store_account_get_by_id(s->srv->store, s->account_id, &a);
		if (err == STORE_OK) {
			const char *own = address_domain(a.address);
			*ok_r = strcmp(own, address_domain(addr)) == 0 &&
				domain_listed(s->srv->any_sender_domains, own);
			store_account_clear(&a);
		}
	}
	free(addr);
	if (err != STORE_OK) {
		conn_log(s->conn, LOG_WARN, "sender check failed: %s", store_strerror(err));
		smtp_reply_error(s, "451 4.3.0 Cannot check the sender now, try again later");
		return -1;
	}
	return 0;
}

static bool refuse(struct smtp_session *s, const char *reply)
{
	smtp_deliver_refuse(s, reply);
	return false;
}

bool smtp_submit_check_message(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	unsigned count;
	char *value = header_field_get(t->data.data != NULL ? t->data.data : "", t->data.len,
				       "From", &count);
	/* RFC 5322 3.6: exactly one From: field. */
	if (count != 1) {
		free(value);
		conn_log(s->conn, LOG_INFO, "refused id=%s: %u From: fields", t->id, count);
		return refuse(s, count == 0 ? "550 5.6.0 Message has no From: header"
					    : "550 5.6.0 Message has more than one From: header");
	}
	mime_index_global_init(); /* GMime's address parser needs it */
	InternetAddressList *list = internet_address_list_parse(NULL, value);
	free(value);
	int n = list != NULL ? internet_address_list_length(list) : 0;
	bool ok = n > 0 && n <= SMTP_SUBMIT_FROM_MAX;
	char *bad = NULL;
	for (int i = 0; ok && i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			ok = false; /* a group in From: (RFC 6854) is not a sender */
			break;
		}
		const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		bool mine = false;
		if (smtp_submit_sender_ok(s, addr != NULL ? addr : "", &mine) < 0) {
			g_object_unref(list);
			smtp_txn_reset(s);
			return false; /* 451 sent */
		}
		if (!mine) {
			ok = false;
			bad = xstrndup(addr != NULL ? addr : "", 320);
		} else if (i == 0 && addr != NULL && strrchr(addr, '@') != NULL) {
			/* the DKIM signing domain aligns with From: (DMARC) */
			free(t->from_domain);
			t->from_domain = xstrdup(strrchr(addr, '@') + 1);
		}
	}
	if (list != NULL)
		g_object_unref(list);
	if (ok)
		return true;
	conn_log(s->conn, LOG_WARN, "refused id=%s user=%s: From: %.320s is not the account's",
		 t->id, s->auth_user, bad != NULL ? bad : "(unparseable)");
	char *reply = xasprintf("550 5.7.1 From: header address %s%s%s is not yours: you may "
				"send as %s or its aliases",
				bad != NULL ? "<" : "", bad != NULL ? bad : "(unparseable)",
				bad != NULL ? ">" : "", s->auth_user);
	free(bad);
	refuse(s, reply);
	free(reply);
	return false;
}
