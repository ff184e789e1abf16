/*
 * smtp-submit-remote: the one place where a submitted message's remote
 * recipients (domains not hosted here, from an authenticated submission
 * session only) go to the outbound queue.
 *
 * At RCPT the recipient is only remembered (txn.rcpts with `remote`). At
 * the end of the data, after the local recipients have their copies
 * (smtp-deliver.c), the message is signed with the From: domain's DKIM
 * keys on a worker thread (src/dkim/: key files and an RSA signature are
 * not for the event loop), then added to the queue with every remote
 * recipient in one writer op: store_queue_add() reports only after the
 * group commit is on disk, so the 250 that follows is true.
 *
 * The RFC 3461 parameters go with them: ENVID and RET of the MAIL,
 * NOTIFY and ORCPT of each RCPT (decoded; the queue encodes them again
 * for the next hop and names them in its DSNs).
 *
 * One reply covers every recipient (RFC 5321 6.1), so a queue failure
 * after the local copies were stored answers 4xx for the whole message:
 * the client retries and the local recipients may get it twice. The
 * other order would duplicate it for remote ones instead, which we can
 * no longer take back.
 */
#include "smtp/smtp-session.h"
#include "dkim/dkim.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/workers.h"
#include "store/store-queue.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

bool smtp_submit_remote_rcpt(struct smtp_session *s, const char *address, unsigned notify,
			     const char *orcpt)
{
	struct smtp_txn *t = &s->txn;
	/* The same remote address twice is one recipient (the queue would
	 * otherwise send it twice). */
	for (size_t i = 0; i < t->nrcpts; i++)
		if (t->rcpts[i].remote && strcasecmp(t->rcpts[i].address, address) == 0) {
			smtp_reply(s, "250 2.1.5 Recipient ok (duplicate)");
			return true;
		}
	t->rcpts = xgrow(t->rcpts, &t->rcpts_cap, t->nrcpts + 1, sizeof(*t->rcpts));
	struct smtp_rcpt *r = &t->rcpts[t->nrcpts++];
	memset(r, 0, sizeof(*r));
	r->address = xstrdup(address);
	r->remote = true;
	r->notify = notify;
	r->orcpt = orcpt != NULL ? xstrdup(orcpt) : NULL;
	t->nremote++;
	smtp_reply(s, "250 2.1.5 Recipient ok, will be relayed");
	return true;
}

struct queue_job {
	struct smtp_session *s;
	void (*then)(struct smtp_session *s);
	/* inputs of the signing, copied: the worker never reads the session */
	char *datadir, *domain, *msg;
	size_t len;
	/* outputs */
	char *fields;
	char *error;
};

/* Worker thread: the DKIM-Signature fields for the message, if the
 * domain has keys. Failing to sign is logged and sends it unsigned. */
static void sign_work(void *ctx)
{
	struct queue_job *j = ctx;
	if (j->domain == NULL)
		return;
	struct dkim_signer *signer = NULL;
	char *error = NULL;
	int r = dkim_signer_load(j->datadir, j->domain, &signer, &error);
	if (r == 0) {
		if (dkim_sign(signer, j->msg, j->len, time(NULL), &j->fields, &error) < 0)
			j->fields = NULL;
		dkim_signer_free(&signer);
	}
	j->error = error;
}

static void queued(void *ctx, enum store_err err, int64_t queue_id)
{
	struct queue_job *j = ctx;
	struct smtp_session *s = j->s;
	struct smtp_txn *t = &s->txn;
	t->queue_err = err;
	t->queue_id = queue_id;
	if (err == STORE_OK)
		log_info("proto=submission id=%s queued as %" PRId64 " rcpts=%zu dkim=%s", t->id,
			 queue_id, t->nremote, j->fields != NULL ? "yes" : "no");
	else
		log_warn("proto=submission id=%s not queued: %s", t->id, store_strerror(err));
	void (*then)(struct smtp_session *) = j->then;
	free(j->fields);
	free(j->msg);
	free(j->domain);
	free(j->datadir);
	free(j);
	then(s);
}

/* Event loop, after sign_work: the queue op with the signed bytes. */
static void sign_done(void *ctx)
{
	struct queue_job *j = ctx;
	struct smtp_session *s = j->s;
	struct smtp_txn *t = &s->txn;
	if (j->error != NULL) {
		log_warn("proto=submission id=%s sent without DKIM signature (%s): %s", t->id,
			 j->domain, j->error);
		free(j->error);
		j->error = NULL;
	}
	struct store_queue_rcpt *rcpts = xcalloc(t->nremote, sizeof(*rcpts));
	size_t n = 0;
	for (size_t i = 0; i < t->nrcpts; i++)
		if (t->rcpts[i].remote)
			rcpts[n++] = (struct store_queue_rcpt){.address = t->rcpts[i].address,
								.orcpt = t->rcpts[i].orcpt,
								.notify = t->rcpts[i].notify};
	/* what goes out: signatures, our Received:, the client's message */
	if (j->fields != NULL) {
		size_t flen = strlen(j->fields);
		char *signed_msg = xmalloc(flen + j->len + 1);
		memcpy(signed_msg, j->fields, flen);
		memcpy(signed_msg + flen, j->msg, j->len + 1);
		free(j->msg);
		j->msg = signed_msg;
		j->len += flen;
	}
	/* store_queue_add copies the recipients and the data */
	store_queue_add(s->srv->store, s->account_id, t->mail_from != NULL ? t->mail_from : "",
			t->envid,
			(t->ret_full ? STORE_QUEUE_RET_FULL : 0) |
				(t->requiretls ? STORE_QUEUE_REQUIRETLS : 0),
			rcpts, n, j->msg, j->len, queued, j);
	free(rcpts);
}

void smtp_submit_queue_start(struct smtp_session *s, void (*then)(struct smtp_session *s))
{
	struct smtp_txn *t = &s->txn;
	struct queue_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->then = then;
	j->datadir = xstrdup(s->srv->datadir != NULL ? s->srv->datadir : ".");
	j->domain = t->from_domain != NULL ? xstrdup(t->from_domain) : NULL;
	/* The signature covers what the remote side receives: our trace
	 * field first, then the message (DKIM signs the header fields it
	 * names, Received: is not among them, so later hops may add more). */
	size_t rlen = t->received != NULL ? strlen(t->received) : 0;
	j->len = rlen + t->data.len;
	j->msg = xmalloc(j->len + 1);
	if (rlen > 0)
		memcpy(j->msg, t->received, rlen);
	if (t->data.len > 0)
		memcpy(j->msg + rlen, t->data.data, t->data.len);
	j->msg[j->len] = '\0';
	s->storing = true;
	if (s->conn != NULL)
		conn_pause(s->conn);
	if (workers_running())
		workers_submit(sign_work, sign_done, j);
	else {
		sign_work(j);
		sign_done(j);
	}
}
