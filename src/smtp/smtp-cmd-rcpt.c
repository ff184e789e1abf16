/*
 * smtp-cmd-rcpt: RCPT TO (RFC 5321 4.1.1.3). This is where Roost refuses
 * to be an open relay: a recipient is accepted only when the store
 * resolves it to hosted accounts (aliases, catch-alls and plus-addressing
 * included). Quota is pre-checked here so a full mailbox is refused for
 * that recipient only: an account already full is refused, and so is one
 * the declared SIZE would push over its limit. (The authoritative check
 * is in the store op at the end of the data; see smtp-deliver.c.)
 *
 * Postmaster (RFC 5321 4.5.1) is always deliverable, at every hosted
 * domain and without one (route_postmaster). A quoted local part whose
 * content is a plain name is that name (RFC 5321 4.1.2, smtp-parse.h).
 * The accepted recipient keeps the address it was routed to, so the
 * resolution at the end of the data finds the same accounts.
 *
 * On submission (after AUTH) a recipient in a domain not hosted here is
 * handed to smtp-submit-remote.c; a hosted one is delivered locally
 * through the same path as the MX's.
 */
#include "smtp/smtp-session.h"
#include "smtp/smtp-parse.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "mail/address.h"
#include "store/store-queue.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 3461 4.2: ORCPT is at most 500 characters; its addr-type is a
 * registered name ("rfc822", "utf-8"), never long. */
#define SMTP_MAX_ORCPT 500
#define SMTP_MAX_ORCPT_TYPE 32

/* RFC 3461 4.1: "NEVER", or a comma list of SUCCESS, FAILURE and
 * DELAY, each once. The bits, or 0 when malformed. */
static unsigned notify_parse(const char *v)
{
	if (strcasecmp(v, "NEVER") == 0)
		return STORE_QUEUE_NOTIFY_NEVER;
	static const struct {
		const char *name;
		unsigned bit;
	} words[] = {{"SUCCESS", STORE_QUEUE_NOTIFY_SUCCESS},
		     {"FAILURE", STORE_QUEUE_NOTIFY_FAILURE},
		     {"DELAY", STORE_QUEUE_NOTIFY_DELAY}};
	unsigned bits = 0;
	const char *p = v;
	for (;;) {
		size_t n = strcspn(p, ",");
		unsigned bit = 0;
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].name) == n && strncasecmp(p, words[i].name, n) == 0)
				bit = words[i].bit;
		if (bit == 0 || (bits & bit))
			return 0; /* unknown, empty, NEVER in a list, or twice */
		bits |= bit;
		if (p[n] == '\0')
			return bits;
		p += n + 1;
	}
}

/* The DSN parameters of one RCPT. */
struct rcpt_dsn {
	unsigned notify;
	bool notify_seen;
	char *orcpt; /* "type;decoded" */
};

static int rcpt_param(struct smtp_session *s, const struct smtp_param *p, struct rcpt_dsn *dsn)
{
	const char *v = p->value;
	if (strcmp(p->keyword, "NOTIFY") == 0) {
		if (dsn->notify_seen) {
			smtp_reply_error(s, "501 5.5.4 Duplicate NOTIFY parameter");
			return -1;
		}
		dsn->notify_seen = true;
		dsn->notify = v != NULL ? notify_parse(v) : 0;
		if (dsn->notify == 0) {
			smtp_reply_error(s, "501 5.5.4 Bad NOTIFY parameter");
			return -1;
		}
	} else if (strcmp(p->keyword, "ORCPT") == 0) {
		/* orcpt-parameter = addr-type ";" xtext, at most 500
		 * characters (RFC 3461 4.2); addr-type is an atom */
		if (dsn->orcpt != NULL) {
			smtp_reply_error(s, "501 5.5.4 Duplicate ORCPT parameter");
			return -1;
		}
		const char *semi = v != NULL ? strchr(v, ';') : NULL;
		bool type_ok = semi != NULL && semi != v && semi - v <= SMTP_MAX_ORCPT_TYPE;
		for (const char *c = v; type_ok && c < semi; c++)
			type_ok = isalnum((unsigned char)*c) || *c == '-';
		char *addr = type_ok && strlen(v) <= SMTP_MAX_ORCPT && semi[1] != '\0' ?
				     smtp_xtext_decode(semi + 1) : NULL;
		if (addr == NULL) {
			smtp_reply_error(s, "501 5.5.4 Bad ORCPT parameter");
			return -1;
		}
		dsn->orcpt = xasprintf("%.*s;%s", (int)(semi - v), v, addr);
		free(addr);
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

static bool is_postmaster(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at != NULL && (size_t)(at - addr) == 10 && strncasecmp(addr, "postmaster", 10) == 0;
}

/* The domain bare <postmaster> belongs to: server.hostname when hosted,
 * else the first hosted domain (`roost domain list` order). */
static enum store_err primary_domain(struct smtp_session *s, char **domain_r)
{
	bool hosted;
	enum store_err err = store_domain_hosted(s->srv->store, s->srv->hostname, &hosted);
	if (err != STORE_OK)
		return err;
	if (hosted) {
		*domain_r = xstrdup(s->srv->hostname);
		return STORE_OK;
	}
	char **names = NULL;
	size_t n = 0;
	err = store_domain_list(s->srv->store, &names, &n);
	if (err != STORE_OK)
		return err;
	*domain_r = n > 0 ? xstrdup(names[0]) : NULL;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return n > 0 ? STORE_OK : STORE_ENOTFOUND;
}

/* RFC 5321 4.5.1: mail for postmaster (bare, or at any hosted domain) must
 * be deliverable. *to_r is the address to resolve: postmaster@domain itself
 * when an account, alias or catch-all takes it; else smtp.postmaster; else
 * the first account in `roost user list` order. STORE_EPERM: not a hosted
 * domain (the caller refuses to relay), as for any address. */
static enum store_err route_postmaster(struct smtp_session *s, const char *addr, char **to_r)
{
	struct store *store = s->srv->store;
	char *pm = NULL;
	*to_r = NULL;
	if (addr == NULL) {
		char *domain = NULL;
		enum store_err err = primary_domain(s, &domain);
		if (err != STORE_OK)
			return err;
		pm = xasprintf("postmaster@%s", domain);
		free(domain);
	} else {
		pm = xstrdup(addr);
	}
	int64_t *ids = NULL;
	size_t n = 0;
	enum store_err err = store_resolve(store, pm, &ids, &n);
	free(ids);
	if (err != STORE_ENOTFOUND) {
		*to_r = pm; /* taken, or an error the caller reports */
		return err;
	}
	free(pm);
	if (s->srv->postmaster[0] != '\0') {
		const char *why = "no such account or alias";
		char *to = address_normalize(s->srv->postmaster, &why);
		ids = NULL;
		err = to != NULL ? store_resolve(store, to, &ids, &n) : STORE_EINVAL;
		free(ids);
		if (err == STORE_OK || (err != STORE_ENOTFOUND && err != STORE_EINVAL &&
					err != STORE_EPERM)) {
			*to_r = to; /* taken, or a temporary error the caller reports */
			return err;
		}
		free(to);
		/* a setting that names nobody must not bounce the postmaster */
		conn_log(s->conn, LOG_WARN, "smtp.postmaster %.64s: %s; using the first account",
			 s->srv->postmaster, err == STORE_EINVAL ? why : store_strerror(err));
	}
	struct store_account *list = NULL;
	err = store_account_list(store, &list, &n);
	if (err != STORE_OK)
		return err;
	if (n > 0)
		*to_r = xstrdup(list[0].address);
	store_account_list_free(list, n);
	return n > 0 ? STORE_OK : STORE_ENOTFOUND;
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
	struct rcpt_dsn dsn = {0};
	for (size_t i = 0; i < pa.nparams; i++)
		if (rcpt_param(s, &pa.params[i], &dsn) < 0) {
			free(dsn.orcpt);
			return;
		}
	if (has8bit && !t->smtputf8) {
		free(dsn.orcpt);
		smtp_reply_error(s, "553 5.6.7 Non-ASCII address requires SMTPUTF8");
		return;
	}
	const char *path = pa.path;
	char plain[SMTP_MAX_PATH + 1];
	switch (smtp_path_unquote(path, plain)) {
	case SMTP_LOCAL_PLAIN:
		break;
	case SMTP_LOCAL_UNQUOTED:
		path = plain; /* "alice"@d is alice@d */
		break;
	case SMTP_LOCAL_QUOTED:
		/* valid syntax (so not 501), but no hosted mailbox has such a
		 * name: RFC 5321 4.2.2 553 "mailbox name not allowed" */
		smtp_reply_error(s, "553 5.1.3 Quoted local parts other than a plain name "
				    "are not accepted here");
		free(dsn.orcpt);
		return;
	case SMTP_LOCAL_BAD:
		smtp_reply_error(s, "501 5.1.3 Bad recipient address syntax: bad quoted string");
		free(dsn.orcpt);
		return;
	}
	const char *why = NULL;
	char *addr = NULL;
	int64_t *ids = NULL;
	size_t nids = 0;
	enum store_err err;
	if (strcasecmp(path, "postmaster") == 0) {
		/* RFC 5321 4.1.1.3: <Postmaster> without a domain MUST work. */
		err = route_postmaster(s, NULL, &addr);
	} else {
		addr = address_normalize(path, &why);
		if (addr == NULL) {
			smtp_reply_error(s, "501 5.1.3 Bad recipient address syntax: %s", why);
			free(dsn.orcpt);
			return;
		}
		err = STORE_OK;
		if (is_postmaster(addr)) {
			char *to = NULL;
			err = route_postmaster(s, addr, &to);
			free(addr);
			addr = to;
		}
	}
	if (err == STORE_OK)
		err = store_resolve(s->srv->store, addr, &ids, &nids);
	if (err == STORE_OK && nids == 0)
		err = STORE_ENOTFOUND;
	if (addr == NULL)
		addr = xstrdup("postmaster");
	for (size_t i = 0; err == STORE_OK && i < nids; i++)
		err = account_refuses(s, ids[i], t->declared_size);
	/* Submission relays for its logged-in user (RFC 6409 4.3: MAIL
	 * required AUTH): a domain not hosted here goes out. The MX and LMTP
	 * never get here: STORE_EPERM is "Relay access denied" for them. */
	bool remote = s->srv->submission && s->account_id > 0 && err == STORE_EPERM;
	if ((err == STORE_OK || remote) && s->srv->submission &&
	    !smtp_rate_take_rcpt(&s->srv->rate, s->account_id)) {
		conn_log(s->conn, LOG_WARN, "rate limit: recipients user=%s", s->auth_user);
		smtp_reply_error(s, "451 4.7.1 Recipient rate limit exceeded, try again later");
		goto fail;
	}
	if (remote) {
		/* the address as given: a remote local part keeps its case
		 * (RFC 5321 2.4); the hand-off copies what it keeps */
		smtp_submit_remote_rcpt(s, path, dsn.notify, dsn.orcpt);
		goto fail;
	}
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
	r->gone = STORE_OK;
	r->remote = false;
	r->notify = dsn.notify;
	r->orcpt = dsn.orcpt;
	smtp_reply(s, "250 2.1.5 Recipient ok");
	return;
fail:
	free(dsn.orcpt);
	free(ids);
	free(addr);
}
