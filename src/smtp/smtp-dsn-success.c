/*
 * smtp-dsn-success: RFC 3461 5.2.2 / 5.3: when a message is delivered
 * into a local mailbox for a recipient that asked NOTIFY=SUCCESS, the
 * final MTA MUST send a "delivered" DSN to the envelope sender. This
 * builds it (RFC 3464, outbound/dsn.c: multipart/report, Action:
 * delivered, Status: 2.0.0, Original-Recipient from ORCPT, the ENVID,
 * and the message or only its header as RET asked) and hands it to the
 * outbound queue, which delivers it to the sender's mailbox or relays it.
 *
 * The DSN has the null return path (RFC 3461 6.2: no DSN about a DSN),
 * and none is sent for a null sender. It is queued after the local copy
 * was committed; the session does not wait for it (a failure to queue
 * it is logged, the delivery stands).
 */
#include "smtp/smtp-session.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "mail/address.h"
#include "outbound/dsn.h"
#include "store/store-queue.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Did every account `r` resolved to get the message? */
static bool rcpt_delivered(const struct smtp_txn *t, const struct smtp_rcpt *r)
{
	const struct delivery *d = &t->d;
	if (r->gone != STORE_OK || r->remote || r->naccounts == 0 || d->op.err != STORE_OK)
		return false;
	for (size_t i = 0; i < r->naccounts; i++) {
		bool ok = false;
		for (size_t j = 0; j < d->nrcpts; j++)
			if (d->rcpts[j].account_id == r->account_ids[i])
				ok = d->rcpts[j].err == STORE_OK;
		if (!ok)
			return false;
	}
	return true;
}

static void queued(void *ctx, enum store_err err, int64_t queue_id)
{
	char *id = ctx;
	if (err == STORE_OK)
		log_info("id=%s success DSN queued as %" PRId64, id, queue_id);
	else
		log_warn("id=%s success DSN not queued: %s", id, store_strerror(err));
	free(id);
}

void smtp_dsn_success(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	if (t->mail_from == NULL || t->mail_from[0] == '\0')
		return;
	struct dsn_rcpt *dr = NULL;
	size_t n = 0;
	for (size_t i = 0; i < t->nrcpts; i++) {
		const struct smtp_rcpt *r = &t->rcpts[i];
		if (!(r->notify & STORE_QUEUE_NOTIFY_SUCCESS) || !rcpt_delivered(t, r))
			continue;
		dr = xrealloc(dr, (n + 1) * sizeof(*dr));
		dr[n++] = (struct dsn_rcpt){.address = r->address, .orcpt = r->orcpt,
					    .action = DSN_DELIVERED, .status = "2.0.0"};
	}
	if (n == 0)
		return;
	/* the message as the recipients got it: our trace field, then it */
	size_t rlen = t->received != NULL ? strlen(t->received) : 0;
	size_t olen = rlen + t->data.len;
	char *original = xmalloc(olen + 1);
	if (rlen > 0)
		memcpy(original, t->received, rlen);
	if (t->data.len > 0)
		memcpy(original + rlen, t->data.data, t->data.len);
	original[olen] = '\0';
	int64_t now = (int64_t)time(NULL);
	struct dsn d = {.reporting_mta = s->srv->hostname, .to = t->mail_from,
			.envid = t->envid, .arrival = now, .now = now, .retry_until = now,
			.ret_full = t->ret_full, .rcpts = dr, .nrcpts = n,
			.original = original, .original_len = olen};
	size_t len = 0;
	char *msg = dsn_build(&d, &len);
	free(original);
	free(dr);
	/* the queue routes by the normalised address (a hosted sender's
	 * mailbox whatever the case of MAIL FROM); a sender it cannot
	 * normalise (a quoted local part) is used as given */
	const char *why;
	char *norm = address_normalize(t->mail_from, &why);
	struct store_queue_rcpt to = {.address = norm != NULL ? norm : t->mail_from,
				      .orcpt = NULL, .notify = STORE_QUEUE_NOTIFY_NEVER};
	/* copies everything: the transaction may end before `queued` */
	store_queue_add(s->srv->store, 0, "", NULL, 0, &to, 1, msg, len, queued,
			xstrdup(t->id != NULL ? t->id : "-"));
	free(norm);
	free(msg);
}
