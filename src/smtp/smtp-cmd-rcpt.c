/*
 * smtp-cmd-rcpt: RCPT TO (RFC 5321 4.1.1.3). This is where Roost refuses
 * to be an open relay: a recipient is accepted only when the store
 * resolves it to hosted accounts (aliases, catch-alls and plus-addressing
 * included). Quota is pre-checked here so a full mailbox is refused for
 * that recipient only: an account already full is refused, and so is one
 * the declared SIZE would push over its limit. (The authoritative check
 * is in the store op at the end of the data; see smtp-deliver.c.)
 */
#include "smtp/smtp-session.h"
#include "smtp/smtp-parse.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "mail/address.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 3461 4.2: ORCPT is at most 500 characters. */
#define SMTP_MAX_ORCPT 500

static bool notify_valid(const char *v)
{
	/* RFC 3461 4.1: "NEVER" or a comma list of SUCCESS, FAILURE, DELAY */
	if (strcasecmp(v, "NEVER") == 0)
		return true;
	char copy[64];
	if (strlen(v) >= sizeof(copy))
		return false;
	memcpy(copy, v, strlen(v) + 1);
	char *save = NULL;
	for (char *w = strtok_r(copy, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save))
		if (strcasecmp(w, "SUCCESS") != 0 && strcasecmp(w, "FAILURE") != 0 &&
		    strcasecmp(w, "DELAY") != 0)
			return false;
	return v[0] != ',' && v[strlen(v) - 1] != ',' && strstr(v, ",,") == NULL;
}

static int rcpt_param(struct smtp_session *s, const struct smtp_param *p)
{
	const char *v = p->value;
	if (strcmp(p->keyword, "NOTIFY") == 0) {
		if (v == NULL || !notify_valid(v)) {
			smtp_reply_error(s, "501 5.5.4 Bad NOTIFY parameter");
			return -1;
		}
	} else if (strcmp(p->keyword, "ORCPT") == 0) {
		/* orcpt-parameter = addr-type ";" xtext */
		const char *semi = v != NULL ? strchr(v, ';') : NULL;
		if (semi == NULL || semi == v || strlen(v) > SMTP_MAX_ORCPT ||
		    !smtp_xtext_valid(semi + 1)) {
			smtp_reply_error(s, "501 5.5.4 Bad ORCPT parameter");
			return -1;
		}
	} else {
		smtp_reply_error(s, "555 5.5.4 Unsupported parameter %.32s", p->keyword);
		return -1;
	}
	return 0;
}

/* Would this account refuse the message? Full already, or over with the
 * declared size: STORE_ENOQUOTA. A failed read is its own error (451). */
static enum store_err account_refuses(struct smtp_session *s, int64_t id, uint64_t size)
{
	bool full;
	enum store_err err = delivery_account_full(s->srv->store, id, size, &full);
	if (err == STORE_ENOTFOUND)
		return STORE_OK; /* deleted since the lookup: the store op will decide */
	return err != STORE_OK ? err : full ? STORE_ENOQUOTA : STORE_OK;
}

void smtp_cmd_rcpt(struct smtp_session *s, char *args)
{
	struct smtp_txn *t = &s->txn;
	if (t->bdat) {
		smtp_reply_error(s, "503 5.5.1 RCPT after BDAT");
		return;
	}
	if (t->nrcpts >= s->srv->max_rcpts) {
		/* RFC 5321 4.5.3.1.10: 452 and the client sends the rest in
		 * another transaction; not counted as a client error. */
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	bool has8bit = smtp_has_8bit(args, strlen(args));
	struct smtp_path_args pa;
	switch (smtp_parse_path_args(args, "TO:", &pa)) {
	case SMTP_PATH_OK:
		break;
	case SMTP_PATH_SYNTAX:
		smtp_reply_error(s, "501 5.5.4 Syntax: RCPT TO:<address> [parameters]");
		return;
	case SMTP_PATH_BAD_ADDRESS:
	case SMTP_PATH_TOO_LONG:
		smtp_reply_error(s, "501 5.1.3 Bad recipient address syntax");
		return;
	case SMTP_PATH_BAD_PARAM:
	case SMTP_PATH_TOO_MANY_PARAMS:
		smtp_reply_error(s, "501 5.5.4 Bad parameters");
		return;
	}
	for (size_t i = 0; i < pa.nparams; i++)
		if (rcpt_param(s, &pa.params[i]) < 0)
			return;
	if (has8bit && !t->smtputf8) {
		smtp_reply_error(s, "553 5.6.7 Non-ASCII address requires SMTPUTF8");
		return;
	}
	char *postmaster = NULL;
	const char *path = pa.path;
	if (strcasecmp(path, "postmaster") == 0) {
		/* RFC 5321 4.1.1.3: <Postmaster> without a domain MUST work. */
		postmaster = xasprintf("postmaster@%s", s->srv->hostname);
		path = postmaster;
	}
	const char *why = NULL;
	char *addr = address_normalize(path, &why);
	free(postmaster);
	if (addr == NULL) {
		smtp_reply_error(s, "501 5.1.3 Bad recipient address syntax: %s", why);
		return;
	}
	int64_t *ids = NULL;
	size_t nids = 0;
	enum store_err err = store_resolve(s->srv->store, addr, &ids, &nids);
	if (err == STORE_OK && nids == 0)
		err = STORE_ENOTFOUND;
	for (size_t i = 0; err == STORE_OK && i < nids; i++)
		err = account_refuses(s, ids[i], t->declared_size);
	if (err != STORE_OK) {
		struct smtp_store_reply r;
		smtp_store_reply(s->srv, err, SMTP_AT_RCPT, &r);
		if (err != STORE_ENOTFOUND && err != STORE_EPERM && err != STORE_EINVAL &&
		    err != STORE_ENOQUOTA)
			conn_log(s->conn, LOG_WARN, "rcpt lookup failed: %s", store_strerror(err));
		smtp_reply_error(s, "%s <%s>: %s", r.code, addr, r.text);
		goto fail;
	}
	t->rcpts = xgrow(t->rcpts, &t->rcpts_cap, t->nrcpts + 1, sizeof(*t->rcpts));
	struct smtp_rcpt *r = &t->rcpts[t->nrcpts++];
	r->address = addr;
	r->account_ids = ids;
	r->naccounts = nids;
	r->gone = false;
	smtp_reply(s, "250 2.1.5 Recipient ok");
	return;
fail:
	free(ids);
	free(addr);
}
