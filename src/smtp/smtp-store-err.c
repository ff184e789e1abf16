/*
 * smtp-store-err: the one place a store error becomes an SMTP or LMTP
 * reply (RFC 5321 4.2.1 reply codes, RFC 3463 enhanced status codes), for
 * the RCPT lookup and the end of data alike. A temporary store failure is
 * always 4xx, so a sender retries and nothing bounces on a busy disk
 * (store.h: a failed read is never "not found").
 */
#include "smtp/smtp-session.h"

const char *smtp_overquota_reply(const struct smtp_server *srv)
{
	/* RFC 3463 X.2.2: mailbox full */
	return srv->overquota_temp ? "452 4.2.2" : "552 5.2.2";
}

void smtp_store_reply(const struct smtp_server *srv, enum store_err err, enum smtp_stage stage,
		      struct smtp_store_reply *r)
{
	bool rcpt = stage == SMTP_AT_RCPT;
	switch (err) {
	case STORE_OK:
		r->code = rcpt ? "250 2.1.5" : "250 2.0.0";
		r->text = rcpt ? "Recipient ok" : "Ok";
		return;
	case STORE_ENOTFOUND:
		/* RFC 3463 X.1.1: bad destination mailbox address */
		r->code = "550 5.1.1";
		r->text = rcpt ? "Recipient address rejected: no such user" : "No such user";
		return;
	case STORE_EPERM:
		/* RFC 5321 3.6.2: not a relay; RFC 3463 X.7.1 */
		r->code = "554 5.7.1";
		r->text = "Relay access denied";
		return;
	case STORE_EINVAL:
		r->code = "501 5.1.3";
		r->text = "Bad recipient address syntax";
		return;
	case STORE_ENOQUOTA:
		r->code = smtp_overquota_reply(srv);
		r->text = "Mailbox full";
		return;
	case STORE_ENOSPACE:
		/* RFC 3463 X.3.1: mail system full */
		r->code = "452 4.3.1";
		r->text = "Insufficient system storage";
		return;
	case STORE_ELIMIT:
		r->code = "552 5.3.4";
		r->text = "Message too big for system";
		return;
	default:
		/* ETEMP, EINUSE, ECORRUPT...: RFC 3463 X.3.0, try again later */
		r->code = "451 4.3.0";
		r->text = rcpt ? "Temporary lookup failure, try again later"
			       : "Temporary storage failure, try again later";
		return;
	}
}
