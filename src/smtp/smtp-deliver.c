/*
 * smtp-deliver: the end of a mail transaction: hand the message to the
 * store through delivery.c (the same path as `roost deliver`), pause the
 * connection while the op is in flight (never block the event loop on a
 * sync), and reply once the store says the message is durable.
 *
 * LMTP (RFC 2033 4.2) replies once per accepted RCPT, in order, so the op
 * runs per target: one full mailbox never blocks the others.
 *
 * SMTP has only one reply for all recipients, and RFC 5321 6.1 forbids
 * accepting (250) for a recipient we then fail to store, since Roost has
 * no queue to send a bounce from. So for SMTP the store op is all or
 * nothing (per_target = false): either every recipient has the message
 * durably and the client gets 250, or none has it and the client gets one
 * error, and retries, without duplicates for anyone. Over-quota is
 * normally caught per recipient at RCPT time (the account is full, or
 * the declared SIZE would not fit: every MTA sends SIZE when it is
 * offered). When the authoritative check in the store op still fails on
 * quota (no SIZE given, or concurrent deliveries filled the mailbox):
 *   - every recipient would be over quota: the over-quota reply
 *     (552 5.2.2, or 452 4.2.2 when quota.overquota = temporary);
 *   - only some would: 452 4.2.2, temporary, so the client retries; with
 *     SIZE the full mailbox is then refused at RCPT and the others get it.
 * Any other storage failure is 451 4.3.0 (452 4.3.1 for a full disk).
 *
 * Submission runs the same path, for the recipients hosted here, after
 * smtp_submit_check_message() (From: must be the account's).
 *
 * If the client disconnects while the op is in flight, the session stays
 * alive (smtp_session_conn_closed()) and is freed here on completion.
 */
#include "smtp/smtp-session.h"
#include "lib/conn.h"
#include "store/store-auth.h"
#include "store/delivery-sieve.h"
#include "lib/workers.h"
#include <stdio.h>
#include "lib/metrics.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

void smtp_deliver_refuse(struct smtp_session *s, const char *reply)
{
	struct smtp_txn *t = &s->txn;
	if (s->srv->lmtp) {
		for (size_t i = 0; i + 1 < t->nrcpts; i++)
			smtp_reply(s, "%s", reply);
	}
	smtp_txn_reset(s);
	smtp_reply_error(s, "%s", reply);
}

/* Would `id` refuse `size` more bytes or one more message? */
static bool would_overflow(struct store *store, int64_t id, size_t size)
{
	struct store_account a;
	if (store_account_get_by_id(store, id, &a) != STORE_OK)
		return false;
	bool over = (a.quota_bytes >= 0 && a.used_bytes + (int64_t)size > a.quota_bytes) ||
		    (a.quota_messages >= 0 && a.used_messages + 1 > a.quota_messages);
	store_account_clear(&a);
	return over;
}

/* Errors that mean nothing of the op was committed. */
static bool global_failure(enum store_err err)
{
	return err != STORE_OK && err != STORE_ENOQUOTA && err != STORE_ENOTFOUND;
}

static void smtp_final_reply(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	struct delivery *d = &t->d;
	enum store_err err = d->op.err;
	for (size_t i = 0; i < d->nrcpts; i++) {
		if (d->rcpts[i].refuse != NULL) {
			/* a Sieve reject, while SMTP can still say so (RFC 5429 2.2) */
			metrics_add("roost_deliveries_total", "smtp", "refused", (int64_t)d->nrcpts);
			smtp_reply_error(s, "550 5.7.1 %s", d->rcpts[i].refuse);
			return;
		}
	}
	for (size_t i = 0; err == STORE_OK && i < d->nrcpts; i++)
		err = d->rcpts[i].err;
	if (err == STORE_OK && t->nremote > 0)
		err = t->queue_err;
	metrics_add("roost_deliveries_total", "smtp", err == STORE_OK ? "accepted" : "refused",
		    (int64_t)d->nrcpts);
	if (err == STORE_OK) {
		conn_log(s->conn, LOG_INFO, "stored id=%s size=%zu rcpts=%zu remote=%zu", t->id,
			 t->data.len, d->nrcpts, t->nremote);
		if (t->nremote > 0)
			smtp_reply(s, "250 2.0.0 Ok: queued as %s", t->id);
		else
			smtp_reply(s, "250 2.0.0 Ok: stored as %s", t->id);
		return;
	}
	conn_log(s->conn, LOG_WARN, "store failed id=%s: %s%s%s", t->id, store_strerror(err),
		 d->op.error ? ": " : "", d->op.error ? d->op.error : "");
	if (err == STORE_ENOQUOTA && d->nrcpts > 1) {
		size_t size = t->data.len + (t->received ? strlen(t->received) : 0);
		size_t full = 0;
		for (size_t i = 0; i < d->nrcpts; i++)
			full += would_overflow(s->srv->store, d->rcpts[i].account_id, size);
		if (full < d->nrcpts) {
			smtp_reply_error(s, "452 4.2.2 A recipient's mailbox is full, try again later");
			return;
		}
	}
	struct smtp_store_reply r;
	smtp_store_reply(s->srv, err, SMTP_AT_DATA, &r);
	smtp_reply_error(s, "%s %s", r.code, r.text);
}

/* The result for one RCPT: the first failure among its accounts. */
static enum store_err rcpt_result(const struct smtp_txn *t, const struct smtp_rcpt *r)
{
	const struct delivery *d = &t->d;
	if (r->gone != STORE_OK)
		return r->gone;
	if (global_failure(d->op.err))
		return d->op.err;
	enum store_err err = STORE_OK;
	for (size_t i = 0; i < r->naccounts && err == STORE_OK; i++) {
		bool found = false;
		for (size_t j = 0; j < d->nrcpts; j++)
			if (d->rcpts[j].account_id == r->account_ids[i]) {
				err = d->rcpts[j].err;
				found = true;
				break;
			}
		if (!found)
			err = STORE_ENOTFOUND; /* the alias changed since RCPT */
	}
	return err;
}

/* A Sieve reject of one of this RCPT's accounts (RFC 5429 2.2), or NULL. */
static const char *rcpt_refused(const struct smtp_txn *t, const struct smtp_rcpt *r)
{
	const struct delivery *d = &t->d;
	for (size_t i = 0; i < r->naccounts; i++)
		for (size_t j = 0; j < d->nrcpts; j++)
			if (d->rcpts[j].account_id == r->account_ids[i] && d->rcpts[j].refuse != NULL)
				return d->rcpts[j].refuse;
	return NULL;
}

static void lmtp_replies(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	unsigned failed = 0;
	for (size_t i = 0; i < t->nrcpts; i++) {
		struct smtp_rcpt *r = &t->rcpts[i];
		const char *refuse = rcpt_refused(t, r);
		if (refuse != NULL) {
			metrics_inc("roost_deliveries_total", "lmtp", "refused");
			failed++;
			smtp_reply(s, "550 5.7.1 <%s> %s", r->address, refuse);
			continue;
		}
		enum store_err err = rcpt_result(t, r);
		metrics_inc("roost_deliveries_total", "lmtp", err == STORE_OK ? "accepted" : "refused");
		if (err == STORE_OK) {
			smtp_reply(s, "250 2.0.0 <%s> Ok: stored as %s", r->address, t->id);
		} else {
			failed++;
			struct smtp_store_reply sr;
			smtp_store_reply(s->srv, err, SMTP_AT_DATA, &sr);
			smtp_reply(s, "%s <%s> %s", sr.code, r->address, sr.text);
		}
	}
	conn_log(s->conn, failed ? LOG_WARN : LOG_INFO, "stored id=%s size=%zu rcpts=%zu failed=%u",
		 t->id, t->data.len, t->nrcpts, failed);
}

/* Did every recipient get the message? */
static bool all_stored(const struct smtp_txn *t)
{
	const struct delivery *d = &t->d;
	if (d->op.err != STORE_OK)
		return false;
	for (size_t i = 0; i < d->nrcpts; i++)
		if (d->rcpts[i].err != STORE_OK)
			return false;
	return true;
}

static void reply_and_resume(struct smtp_session *s)
{
	if (s->srv->lmtp)
		lmtp_replies(s);
	else
		smtp_final_reply(s);
	smtp_txn_reset(s);
	if (!s->quitting)
		conn_resume(s->conn);
}

static void sent_done(struct store_op *op, void *ctx)
{
	struct smtp_session *s = ctx;
	struct smtp_txn *t = &s->txn;
	s->storing = false;
	enum store_err err = op->err == STORE_OK ? t->sent_target.err : op->err;
	/* The recipients have the message: a failed copy (the sender over
	 * quota, say) is logged, never a failed submission. */
	if (err != STORE_OK)
		log_warn("proto=submission id=%s sent copy not stored: %s", t->id,
			 store_strerror(err));
	if (s->closed) {
		smtp_session_free(s);
		return;
	}
	reply_and_resume(s);
}

/* submission.save_sent: store the message as the client sent it (no
 * trace prefix), \Seen, in the sender's \Sent. True when started. */
static bool sent_copy_start(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	int64_t mailbox_id = 0;
	uint32_t uidvalidity;
	enum store_err err =
		store_mailbox_special(s->srv->store, s->account_id, "\\Sent", &mailbox_id, &uidvalidity);
	if (err != STORE_OK) {
		if (err != STORE_ENOTFOUND)
			log_warn("proto=submission id=%s no sent copy: %s", t->id, store_strerror(err));
		return false;
	}
	t->sent_target = (struct store_target){
		.account_id = s->account_id,
		.mailbox_id = mailbox_id,
		.flags = STORE_FLAG_SEEN,
	};
	store_op_init(&t->sent_op, STORE_OP_DELIVER);
	t->sent_op.u.deliver.data = t->data.data != NULL ? t->data.data : "";
	t->sent_op.u.deliver.len = t->data.len;
	t->sent_op.u.deliver.targets = &t->sent_target;
	t->sent_op.u.deliver.ntargets = 1;
	t->sent_op.u.deliver.per_target = true;
	t->sent_live = true;
	s->storing = true;
	store_submit(s->srv->store, &t->sent_op, sent_done, s);
	return true;
}

/* submission.save_sent, or the account's own choice
 * (`roost user save-sent`); a failed read keeps the server's. */
static bool save_sent(struct smtp_session *s)
{
	int mode = -1;
	if (store_save_sent_get(s->srv->store, s->account_id, &mode) != STORE_OK)
		mode = -1;
	return mode < 0 ? s->srv->save_sent : mode == 1;
}

/* Every recipient has the message (or the queue has it for them): the
 * Sent copy if wanted, then the reply. */
static void finish_submission(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	bool ok = all_stored(t) && (t->nremote == 0 || t->queue_err == STORE_OK);
	if (s->srv->submission && ok && save_sent(s) && sent_copy_start(s))
		return; /* sent_done replies */
	reply_and_resume(s);
}

/* smtp_submit_queue_start() is over: txn.queue_err says how. */
static void queue_done(struct smtp_session *s)
{
	s->storing = false;
	if (s->closed) {
		log_info("proto=submission id=%s client gone before reply (%s)", s->txn.id,
			 store_strerror(s->txn.queue_err));
		smtp_session_free(s);
		return;
	}
	finish_submission(s);
}

static void deliver_done(struct store_op *op, void *ctx)
{
	struct smtp_session *s = ctx;
	struct smtp_txn *t = &s->txn;
	s->storing = false;
	delivery_finish(&t->d);
	smtp_dsn_success(s); /* RFC 3461 5: NOTIFY=SUCCESS, delivered here */
	if (s->closed) {
		/* The client left while we stored: the message is durable or
		 * not, but there is nobody to tell. */
		log_info("proto=%s id=%s client gone before reply (%s)",
			 s->srv->lmtp ? "lmtp" : "smtp", t->id, store_strerror(op->err));
		smtp_session_free(s);
		return;
	}
	if (s->srv->submission && all_stored(t) && t->nremote > 0) {
		smtp_submit_queue_start(s, queue_done);
		return;
	}
	finish_submission(s);
}

/* Store what the recipients' Sieve scripts left to store (all of it
 * without scripts). */
static void store_start(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	const struct smtp_server *srv = s->srv;
	delivery_prepare(&t->d, t->data.data != NULL ? t->data.data : "", t->data.len);
	t->d.op.u.deliver.per_target = srv->lmtp;
	smtp_mxauth_file(s);
	if (delivery_nothing_to_store(&t->d)) {
		/* every recipient discarded or refused by its script */
		t->d.op.err = STORE_OK;
		deliver_done(&t->d.op, s);
		return;
	}
	store_submit(srv->store, &t->d.op, deliver_done, s);
}

/* Worker thread: the recipients' Sieve scripts (delivery-sieve.h). A
 * refusal can still be a reply in LMTP, or in SMTP with one recipient. */
static void sieve_work(void *ctx)
{
	struct smtp_session *s = ctx;
	struct smtp_txn *t = &s->txn;
	size_t nlocal = t->nrcpts - t->nremote;
	bool can_refuse = s->srv->lmtp || (nlocal == 1 && t->nremote == 0);
	delivery_sieve_run(&t->d, s->srv->store, s->srv->sieve,
			   t->data.data != NULL ? t->data.data : "", t->data.len, can_refuse);
}

static void sieve_done(void *ctx)
{
	struct smtp_session *s = ctx;
	if (s->closed) {
		/* nobody to reply to: the client retries, nothing stored */
		s->storing = false;
		smtp_session_free(s);
		return;
	}
	store_start(s);
}

void smtp_deliver_start(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;
	const struct smtp_server *srv = s->srv;
	struct conn *c = s->conn;
	if (srv->submission && !smtp_submit_check_message(s))
		return; /* refused, the transaction is over */
	if (smtp_mxauth_start(s))
		return; /* SPF/DKIM/DMARC on a worker; it calls us again */
	char proto[24];
	/* RFC 3848 2: "A" marks an authenticated submission (ESMTPSA) */
	snprintf(proto, sizeof(proto), "%s%s",
		 smtp_trace_protocol(srv->lmtp, s->esmtp, conn_tls_active(c), t->smtputf8),
		 s->account_id > 0 ? "A" : "");
	struct smtp_trace tr = {
		.helo = s->helo,
		.ip = conn_remote_ip(c),
		.hostname = srv->hostname,
		.protocol = proto,
		.id = t->id,
		.tls = conn_tls_description(c),
		.for_rcpt = t->nrcpts == 1 ? t->rcpts[0].address : NULL,
		.when = (int64_t)time(NULL),
	};
	t->received = smtp_trace_received(&tr);
	delivery_init(&t->d, t->mail_from, t->received);
	t->d.requiretls = t->requiretls;
	t->d_live = true;
	size_t gone = 0;
	bool temp = false;
	size_t nlocal = t->nrcpts - t->nremote;
	if (nlocal == 0) {
		/* submission to remote recipients only: straight to the queue */
		smtp_submit_queue_start(s, queue_done);
		return;
	}
	for (size_t i = 0; i < t->nrcpts; i++) {
		if (t->rcpts[i].remote)
			continue;
		enum store_err err = delivery_add_rcpt(&t->d, srv->store, t->rcpts[i].address);
		if (err != STORE_OK) {
			conn_log(c, LOG_WARN, "rcpt %s no longer resolves: %s", t->rcpts[i].address,
				 store_strerror(err));
			t->rcpts[i].gone = err;
			temp |= err != STORE_ENOTFOUND && err != STORE_EPERM && err != STORE_EINVAL;
			gone++;
		}
	}
	if (gone > 0 && (!srv->lmtp || gone == nlocal)) {
		/* SMTP: all or nothing; LMTP: nobody left to store for. */
		if (srv->lmtp)
			lmtp_replies(s);
		else if (temp)
			smtp_reply_error(s, "451 4.3.0 Temporary storage failure, try again later");
		else
			smtp_reply_error(s, "451 4.3.0 Recipients changed, try again later");
		smtp_txn_reset(s);
		return;
	}
	s->storing = true;
	conn_pause(c);
	if (srv->sieve != NULL) {
		/* Sieve parses the message: on a worker, never on this loop;
		 * the read pool, so a flood of mail never queues before logins */
		workers_submit_read((uint64_t)(uintptr_t)s, sieve_work, sieve_done, s);
		return;
	}
	store_start(s);
}
