/*
 * smtp-submit-remote: the one place where a submitted message's remote
 * recipient (a domain not hosted here, from an authenticated submission
 * session only) is handed to the outbound queue.
 *
 * The outbound queue is not part of this tree yet, so the recipient is
 * refused with a clear temporary reply: the client keeps the message and
 * retries, nothing is accepted that could not be sent (RFC 5321 6.1 forbids
 * accepting and then dropping it). Wiring the queue in means: accept here
 * (remember the recipient in the transaction), and at the end of the data
 * add the message to the queue in the same durable step as the local
 * deliveries (store_queue_add()), replying 250 only after both.
 */
#include "smtp/smtp-session.h"
#include "lib/conn.h"

bool smtp_submit_remote_rcpt(struct smtp_session *s, const char *address)
{
	conn_log(s->conn, LOG_INFO, "remote rcpt deferred user=%s rcpt=%.320s: no outbound queue",
		 s->auth_user, address);
	/* not the client's error: not counted toward smtp.max_errors */
	smtp_reply(s, "451 4.3.2 <%s>: outbound queue not available yet", address);
	return false;
}
