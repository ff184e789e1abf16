/*
 * smtp-session: what one SMTP or LMTP connection knows, shared by the
 * files of src/smtp/ (never included from outside). The session hangs off
 * the conn; smtp.c owns the conn callbacks, smtp-cmd.c the command table,
 * one smtp-cmd-*.c file per group of commands, smtp-data.c the message
 * bytes (DATA and BDAT) and smtp-deliver.c the hand-off to the store.
 */
#ifndef ROOST_SMTP_SESSION_H
#define ROOST_SMTP_SESSION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/buf.h"
#include "store/delivery.h"

struct conn;
struct config;
struct event;
struct auth_scram;

/* When message.max_size is "unlimited", this is still the most one message
 * may take in memory. */
#define SMTP_HARD_MAX_SIZE ((int64_t)1 << 30)

/* RFC 4954 4: an AUTH command line (and each response) may be up to
 * 12288 octets with its CRLF; submission reads command lines this long. */
#define SMTP_AUTH_LINE_MAX 12288

/* IMAP listener ports a BURL URL may name (imap.listen, imaps.listen). */
#define SMTP_BURL_MAX_PORTS 8

/* Per-account submission rate limits (0 = no limit), smtp-submit-rate.c. */
struct smtp_rate_limits {
	int64_t messages_hour, messages_day;
	int64_t rcpts_hour, rcpts_day;
};

/* One listener's settings (smtp.listen, lmtp.listen, submission.listen or
 * submissions.listen), read at startup. */
struct smtp_server {
	bool lmtp;
	bool submission;	  /* RFC 6409: AUTH required, relays for its users */
	size_t command_line_max;  /* without the CRLF */
	const char *any_sender_domains; /* submission.any_sender_domains */
	bool save_sent;		  /* submission.save_sent */
	struct smtp_rate_limits rate;
	struct store *store;
	const char *hostname;
	const char *datadir;	/* DKIM keys (DATA/dkim/, src/dkim/) */
	int64_t max_size;	  /* message.max_size, capped at SMTP_HARD_MAX_SIZE */
	size_t max_rcpts;	  /* smtp.max_recipients */
	unsigned max_errors;	  /* smtp.max_errors */
	size_t data_line_max;	  /* smtp.max_line_length without the CRLF */
	int64_t timeout_ms;	  /* smtp.timeout */
	int64_t greeting_delay_ms; /* smtp.greeting_delay (SMTP only) */
	bool overquota_temp;	  /* quota.overquota = temporary */
	const char *postmaster;	  /* smtp.postmaster, "" = the first account */
	/* BURL (RFC 4468, smtp-cmd-burl.c): offered on submission when IMAP
	 * (and so URLAUTH) listens; URLs must name this host and, when they
	 * carry a port, one of these IMAP ports */
	bool burl;
	uint16_t burl_ports[SMTP_BURL_MAX_PORTS];
	size_t nburl_ports;
	/* inbound authentication (smtp-mxauth.c) */
	bool authenticate;	  /* smtp.authenticate / lmtp.authenticate */
	bool dmarc_enforce;	  /* smtp.dmarc_policy = enforce */
	int64_t auth_check_timeout_ms; /* smtp.auth_check_timeout */
	const struct delivery_sieve_config *sieve; /* sieve.* (delivery-sieve.h) */
};

/* One accepted RCPT. */
struct smtp_rcpt {
	char *address;		/* normalised */
	int64_t *account_ids;	/* where it resolved at RCPT time */
	size_t naccounts;
	/* Why it no longer resolves at end of data (LMTP reply): STORE_OK
	 * while it does; a failed read is a temporary error, never "gone". */
	enum store_err gone;
	bool remote;		/* submission: not hosted here, goes to the outbound
				 * queue (smtp-submit-remote.c) */
	unsigned notify;	/* RFC 3461 NOTIFY (STORE_QUEUE_NOTIFY_*), 0 = not given */
	char *orcpt;		/* RFC 3461 ORCPT, "type;decoded", or NULL */
};

/* One mail transaction: MAIL .. end of DATA / BDAT LAST. */
struct smtp_txn {
	bool active;		/* MAIL accepted */
	char *mail_from;	/* reverse path without <>, "" = null sender */
	bool smtputf8;		/* MAIL ... SMTPUTF8 (RFC 6531) */
	uint64_t declared_size;	/* SIZE= (RFC 1870), 0 = not given */
	char *envid;		/* RFC 3461 ENVID, xtext-decoded, or NULL */
	bool ret_full;		/* RFC 3461 RET=FULL (RET=HDRS or none: false) */
	bool requiretls;	/* RFC 8689 MAIL FROM ... REQUIRETLS (over TLS only) */
	struct smtp_rcpt *rcpts;
	size_t nrcpts, rcpts_cap;
	/* message bytes */
	struct buf data;
	bool too_big;		/* more than max_size: 552 5.3.4 at the end */
	bool bad_eol;		/* bare CR or LF in DATA: 550 5.6.0 */
	bool long_line;		/* a DATA line over the limit: 550 5.6.0 */
	bool prev_crlf;		/* DATA: the previous line ended in CRLF */
	bool bdat;		/* BDAT used (DATA then refused, RFC 3030 3) */
	bool no_budget;		/* the memory budget refused: 452 4.3.1 at the end */
	size_t budget_held;	/* bytes of `data` drawn from the memory budget */
	/* storing */
	struct delivery d;
	bool d_live;
	char *received;
	char *id;		/* transaction id for the log and Received: */
	/* submission.save_sent: the copy in the sender's \Sent, stored
	 * after the delivery succeeded (smtp-deliver.c) */
	struct store_op sent_op;
	struct store_target sent_target;
	bool sent_live;
	/* submission: the remote recipients' copy in the outbound queue */
	size_t nremote;
	char *from_domain;	/* the From: address's domain (DKIM d=) */
	char *dkim_fields;	/* DKIM-Signature fields to prepend, or NULL */
	enum store_err queue_err;
	int64_t queue_id;
	/* inbound authentication (smtp-mxauth.c) */
	bool mxauth_done;	/* checked; the A-R header is in `data` */
	bool mxauth_quarantine;	/* DMARC quarantine: file into Junk */
};

struct smtp_session {
	struct conn *conn;	/* NULL once the client is gone */
	const struct smtp_server *srv;
	char *helo;		/* HELO/EHLO/LHLO argument, NULL before it */
	bool esmtp;		/* EHLO or LHLO (not HELO) */
	bool greeted;		/* our 220 went out */
	bool talked_early;	/* input before the greeting (pregreet) */
	struct event *greet_timer;
	unsigned errors;
	unsigned ntxn;
	bool in_data;		/* between 354 and the final "." */
	/* BDAT chunk being read */
	bool bdat_reading, bdat_last, bdat_discard;
	uint64_t bdat_size;
	bool storing;		/* a store op is in flight: conn paused */
	bool closed;		/* conn gone while storing: free when the op ends */
	bool quitting;		/* QUIT or fatal reply sent: ignore further input */
	bool blind_next;	/* the next command was sent before PIPELINING was known */
	struct smtp_txn txn;
	/* submission (smtp-cmd-auth.c) */
	enum smtp_auth_step {
		SMTP_AUTH_NONE,		/* no exchange in progress */
		SMTP_AUTH_PLAIN,	/* 334 sent, waiting for the PLAIN response */
		SMTP_AUTH_LOGIN_USER,	/* LOGIN: waiting for the user name */
		SMTP_AUTH_LOGIN_PASS,	/* LOGIN: waiting for the password */
		SMTP_AUTH_SCRAM_FIRST,	/* SCRAM: waiting for the client-first-message */
		SMTP_AUTH_SCRAM_FINAL,	/* SCRAM: waiting for the client-final-message */
		SMTP_AUTH_SCRAM_ACK,	/* SCRAM: server-final sent, waiting for "" */
		SMTP_AUTH_CHECKING,	/* a check in flight, conn paused */
	} auth_step;
	struct auth_scram *scram;	/* SCRAM exchange (auth/auth-scram.h) */
	int64_t scram_account_id;	/* proof good: logged in after the client's "" */
	char *login_user;		/* LOGIN's user name between its two steps */
	const char *auth_method;	/* the mechanism, for the login line */
	struct auth_request *auth_req;
	struct registry_entry *reg;	/* ends the session on `user del`/`passwd` */
	int64_t account_id;		/* > 0 once AUTH succeeded */
	char *auth_user;		/* the login name that succeeded */
};

struct smtp_session *smtp_session_new(struct conn *c, const struct smtp_server *srv);
void smtp_session_free(struct smtp_session *s);
/* The conn is gone: free now, or when the in-flight store op finishes. */
void smtp_session_conn_closed(struct smtp_session *s);

/* Reply lines (text without CRLF). */
void smtp_reply(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A 4xx/5xx reply to a command: counted toward smtp.max_errors; past the
 * limit a 421 follows and the session ends. */
void smtp_reply_error(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "421 4.7.0 <host> <why>" and close. */
void smtp_close_421(struct smtp_session *s, const char *why);

/* End the mail transaction (RSET, after the final reply, EHLO, STARTTLS). */
void smtp_txn_reset(struct smtp_session *s);
/* Reset to "no EHLO seen" (after STARTTLS, RFC 3207 4.2). */
void smtp_session_reset_helo(struct smtp_session *s);

/* Input entry points (smtp.c routes the conn callbacks here). */
void smtp_session_command(struct smtp_session *s, char *line, size_t len);

/* --- commands (smtp-cmd*.c) --- */
/* Command flags: the rules of RFC 5321 4.1.4 and its extensions, as data. */
#define SMTP_CMD_NEEDS_HELO 0x01u /* RFC 5321 4.1.4: EHLO/HELO first */
#define SMTP_CMD_NEEDS_MAIL 0x02u /* RFC 5321 4.1.1.3: RCPT only after MAIL */
#define SMTP_CMD_NEEDS_RCPT 0x04u /* RFC 5321 4.1.1.4: DATA needs a recipient */
#define SMTP_CMD_NO_ARGS 0x08u	  /* RFC 5321 4.1.1: "DATA" CRLF etc. */
#define SMTP_CMD_UTF8_ARGS 0x10u  /* RFC 6531 3.3: 8-bit allowed in the path */
#define SMTP_CMD_SMTP_ONLY 0x20u  /* RFC 2033 4.1: no HELO/EHLO in LMTP */
#define SMTP_CMD_LMTP_ONLY 0x40u  /* RFC 2033 4.1: LHLO */
#define SMTP_CMD_HELLO 0x80u	  /* EHLO, HELO, LHLO: what follows it is judged */
#define SMTP_CMD_BLIND_OK 0x100u  /* changes no state: may be sent blind (RFC 2920 3.1) */
#define SMTP_CMD_SUBMISSION_ONLY 0x200u /* RFC 4954: AUTH on submission, never the MX */

struct smtp_cmd {
	const char *name;
	void (*handler)(struct smtp_session *s, char *args);
	unsigned flags;
};
const struct smtp_cmd *smtp_cmd_find(const char *verb);

void smtp_cmd_helo(struct smtp_session *s, char *args);
void smtp_cmd_ehlo(struct smtp_session *s, char *args);
void smtp_cmd_lhlo(struct smtp_session *s, char *args);
void smtp_cmd_mail(struct smtp_session *s, char *args);
void smtp_cmd_rcpt(struct smtp_session *s, char *args);
void smtp_cmd_data(struct smtp_session *s, char *args);
void smtp_cmd_bdat(struct smtp_session *s, char *args);
void smtp_cmd_rset(struct smtp_session *s, char *args);
void smtp_cmd_noop(struct smtp_session *s, char *args);
void smtp_cmd_quit(struct smtp_session *s, char *args);
void smtp_cmd_help(struct smtp_session *s, char *args);
void smtp_cmd_vrfy(struct smtp_session *s, char *args);
void smtp_cmd_expn(struct smtp_session *s, char *args);
void smtp_cmd_starttls(struct smtp_session *s, char *args);
void smtp_cmd_auth(struct smtp_session *s, char *args);
void smtp_cmd_burl(struct smtp_session *s, char *args);

/* --- submission (smtp-cmd-auth.c, smtp-submit*.c) --- */
/* A line of an AUTH exchange (s->auth_step is PLAIN or LOGIN_*). */
void smtp_auth_line(struct smtp_session *s, char *line, size_t len);
/* A line of an AUTH exchange was too long: the exchange ends. */
void smtp_auth_line_too_long(struct smtp_session *s);
/* Cancel a check in flight and forget the login (session end). */
void smtp_auth_clear(struct smtp_session *s);
/* May the authenticated account use `address` (normalised or not) as its
 * envelope sender or in From:? 0 and *ok_r, or -1 after a 451 reply. */
int smtp_submit_sender_ok(struct smtp_session *s, const char *address, bool *ok_r);
/* End of data on submission: From: must name only the account's
 * addresses. true when the message may go on; false after a reply (the
 * transaction is then over). */
bool smtp_submit_check_message(struct smtp_session *s);
/* A recipient outside the hosted domains (smtp-submit-remote.c): hand it
 * to the outbound queue. Replies to the RCPT itself; true when accepted. */
bool smtp_submit_remote_rcpt(struct smtp_session *s, const char *address, unsigned notify,
			     const char *orcpt);
/* After the local recipients have the message (or when there are none):
 * sign it (DKIM, on a worker), add it to the outbound queue for the
 * remote recipients, and call `then` on the event loop with
 * txn.queue_err set. The session is paused and `storing` throughout. */
void smtp_submit_queue_start(struct smtp_session *s, void (*then)(struct smtp_session *s));
/* Rate limits (smtp-submit-rate.c), per account and shared by every
 * session and thread. Each returns true when allowed and counts it. */
bool smtp_rate_take_message(const struct smtp_rate_limits *lim, int64_t account_id);
bool smtp_rate_take_rcpt(const struct smtp_rate_limits *lim, int64_t account_id);

/* --- message bytes (smtp-data.c) --- */
void smtp_data_line(struct smtp_session *s, const char *line, size_t len, bool bare_lf);
void smtp_data_line_too_long(struct smtp_session *s, bool bare_lf);
void smtp_bdat_bytes(struct smtp_session *s, const char *data, size_t len, bool last);
/* BURL: a chunk the server fetched itself, taken as a BDAT chunk of
 * that size (limits, budget, the reply, LAST ends the data). The
 * transaction must have a recipient. */
void smtp_data_chunk(struct smtp_session *s, const char *data, size_t len, bool last);

/* --- RFC 3461 5: success DSNs for local deliveries (smtp-dsn-success.c) --- */
/* After the local store op: queue a "delivered" DSN to the sender for
 * each recipient that asked NOTIFY=SUCCESS and got the message. */
void smtp_dsn_success(struct smtp_session *s);

/* --- storing (smtp-deliver.c) --- */
/* The message is complete and valid: store it, reply when durable. */
void smtp_deliver_start(struct smtp_session *s);
/* Refuse the complete message with one reply (SMTP) or one per accepted
 * recipient (LMTP, RFC 2033 4.2), then end the transaction. */
void smtp_deliver_refuse(struct smtp_session *s, const char *reply);
/* The reply for an over-quota recipient (quota.overquota). */
const char *smtp_overquota_reply(const struct smtp_server *srv);
/* A store error as the reply (smtp-store-err.c, the one mapping): code
 * ("451 4.3.0") and text, for the RCPT lookup or the end of data. */
enum smtp_stage { SMTP_AT_RCPT, SMTP_AT_DATA };
struct smtp_store_reply {
	const char *code, *text;
};
void smtp_store_reply(const struct smtp_server *srv, enum store_err err, enum smtp_stage stage,
		      struct smtp_store_reply *r);

/* --- inbound authentication (smtp-mxauth.c) --- */
/* At the end of data on the MX: when this listener authenticates and the
 * message has not been checked, start SPF, DKIM and DMARC on a worker and
 * return true; the worker's completion then removes Authentication-Results
 * fields that claim our name, prepends ours, refuses a DMARC reject (when
 * enforced) or calls smtp_deliver_start() again. */
bool smtp_mxauth_start(struct smtp_session *s);
/* After delivery_prepare(): a quarantined message goes to each account's
 * \Junk mailbox (INBOX when it has none). */
void smtp_mxauth_file(struct smtp_session *s);

/* --- trace (smtp-trace.c) --- */
struct smtp_trace {
	const char *helo;	/* may be NULL */
	const char *ip;		/* "127.0.0.1", or "unix" */
	const char *hostname;
	const char *protocol;	/* "ESMTPS", "LMTP", ... (RFC 3848) */
	const char *id;
	const char *tls;	/* conn_tls_description or NULL */
	const char *for_rcpt;	/* only with exactly one recipient, or NULL */
	int64_t when;		/* unix time */
};
/* The Received: header (RFC 5321 4.4), folded, CRLF-terminated. */
char *smtp_trace_received(const struct smtp_trace *t);
/* "SMTP", "ESMTP", "ESMTPS", "UTF8SMTPS", "LMTP", "LMTPS", ... */
const char *smtp_trace_protocol(bool lmtp, bool esmtp, bool tls, bool utf8);
#endif
