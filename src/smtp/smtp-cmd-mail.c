/*
 * smtp-cmd-mail: MAIL FROM (RFC 5321 4.1.1.2) and its ESMTP parameters:
 * SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), RET and ENVID
 * (DSN, RFC 3461 4.3, 4.4), REQUIRETLS (RFC 8689, on a TLS session
 * only): each at most once, ENVID xtext-decoded and kept with the
 * transaction; submission hands them to the outbound queue, and a local
 * delivery's success DSN carries the ENVID.
 */
#include "smtp/smtp-session.h"
#include "smtp/smtp-parse.h"
#include "lib/alloc.h"
#include "lib/conn.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 3461 4.4: ENVID is at most 100 characters. */
#define SMTP_MAX_ENVID 100

/* Parameters that may appear only once (RFC 3461 4.3, 4.4). */
#define MAIL_SEEN_RET 0x1u

/* 0 ok, -1 when a reply was sent. */
static int mail_param(struct smtp_session *s, const struct smtp_param *p, unsigned *seen)
{
	struct smtp_txn *t = &s->txn;
	const char *v = p->value;
	if (strcmp(p->keyword, "SIZE") == 0) {
		uint64_t size;
		int r = v != NULL ? smtp_parse_size(v, &size) : -1;
		if (r < 0) {
			smtp_reply_error(s, "501 5.5.4 Bad SIZE parameter");
			return -1;
		}
		/* RFC 1870 6.1: a declared size over the limit is 552. */
		if (r > 0 || size > (uint64_t)s->srv->max_size) {
			smtp_reply_error(s, "552 5.3.4 Message size exceeds fixed limit of %lld bytes",
					 (long long)s->srv->max_size);
			return -1;
		}
		t->declared_size = size;
	} else if (strcmp(p->keyword, "BODY") == 0) {
		/* BINARYMIME is not offered (RFC 3030 3), so not accepted. */
		if (v == NULL || (strcasecmp(v, "7BIT") != 0 && strcasecmp(v, "8BITMIME") != 0)) {
			smtp_reply_error(s, "501 5.5.4 Bad BODY parameter");
			return -1;
		}
	} else if (strcmp(p->keyword, "SMTPUTF8") == 0) {
		if (v != NULL) {
			smtp_reply_error(s, "501 5.5.4 SMTPUTF8 takes no value");
			return -1;
		}
		t->smtputf8 = true;
	} else if (strcmp(p->keyword, "REQUIRETLS") == 0 && !s->srv->lmtp) {
		/* RFC 8689 4.1: offered after STARTTLS only, so only valid there */
		if (!conn_tls_active(s->conn)) {
			smtp_reply_error(s, "530 5.7.10 REQUIRETLS needs a TLS session (STARTTLS first)");
			return -1;
		}
		if (v != NULL || t->requiretls) {
			smtp_reply_error(s, "501 5.5.4 Bad REQUIRETLS parameter");
			return -1;
		}
		t->requiretls = true;
	} else if (strcmp(p->keyword, "RET") == 0) {
		/* RFC 3461 4.3: "RET=FULL" or "RET=HDRS", once */
		if (*seen & MAIL_SEEN_RET) {
			smtp_reply_error(s, "501 5.5.4 Duplicate RET parameter");
			return -1;
		}
		*seen |= MAIL_SEEN_RET;
		if (v == NULL || (strcasecmp(v, "FULL") != 0 && strcasecmp(v, "HDRS") != 0)) {
			smtp_reply_error(s, "501 5.5.4 Bad RET parameter");
			return -1;
		}
		t->ret_full = strcasecmp(v, "FULL") == 0;
	} else if (strcmp(p->keyword, "ENVID") == 0) {
		/* RFC 3461 4.4: xtext, at most 100 characters, once */
		if (t->envid != NULL) {
			smtp_reply_error(s, "501 5.5.4 Duplicate ENVID parameter");
			return -1;
		}
		char *id = v != NULL && v[0] != '\0' && strlen(v) <= SMTP_MAX_ENVID ?
				   smtp_xtext_decode(v) : NULL;
		if (id == NULL) {
			smtp_reply_error(s, "501 5.5.4 Bad ENVID parameter");
			return -1;
		}
		t->envid = id;
	} else {
		/* RFC 5321 4.1.1.11: unrecognised parameter: 555. */
		smtp_reply_error(s, "555 5.5.4 Unsupported parameter %.32s", p->keyword);
		return -1;
	}
	return 0;
}

/* A refused MAIL leaves no parameters behind for the next one. */
static void mail_params_clear(struct smtp_txn *t)
{
	t->smtputf8 = false;
	t->declared_size = 0;
	t->ret_full = false;
	t->requiretls = false;
	free(t->envid);
	t->envid = NULL;
}

/* A reverse path: empty (the null sender) or local@domain. Quoted local
 * parts are legal senders, so this only checks the shape. */
static bool reverse_path_ok(const char *path)
{
	if (path[0] == '\0')
		return true;
	const char *at = strrchr(path, '@');
	return at != NULL && at != path && at[1] != '\0';
}

/* Submission: the envelope sender must be the account's own (RFC 6409
 * 4.1 lets the server check it; an unchecked one is how a stolen login
 * sends as anybody), and the account must be under its message rate.
 * The null sender is allowed (RFC 8098 3: an MDN's return path is
 * null); its From: is still checked at the end of the data. */
static bool submission_sender(struct smtp_session *s, const char *path)
{
	if (path[0] != '\0') {
		bool ok = false;
		if (smtp_submit_sender_ok(s, path, &ok) < 0)
			return false;
		if (!ok) {
			conn_log(s->conn, LOG_WARN, "sender refused user=%s from=%.320s",
				 s->auth_user, path);
			smtp_reply_error(s, "550 5.7.1 Sender address <%s> is not yours: "
					    "you may send as %s or its aliases", path, s->auth_user);
			return false;
		}
	}
	if (!smtp_rate_take_message(&s->srv->rate, s->account_id)) {
		conn_log(s->conn, LOG_WARN, "rate limit: messages user=%s", s->auth_user);
		smtp_reply_error(s, "451 4.7.1 Message rate limit exceeded, try again later");
		return false;
	}
	return true;
}

void smtp_cmd_mail(struct smtp_session *s, char *args)
{
	struct smtp_txn *t = &s->txn;
	if (t->active) {
		smtp_reply_error(s, "503 5.5.1 Nested MAIL command");
		return;
	}
	/* RFC 4954 6 / RFC 6409 4.3: submission only for logged-in users. */
	if (s->srv->submission && s->account_id <= 0) {
		smtp_reply_error(s, "530 5.7.0 Authentication required");
		return;
	}
	bool has8bit = smtp_has_8bit(args, strlen(args));
	struct smtp_path_args pa;
	switch (smtp_parse_path_args(args, "FROM:", &pa)) {
	case SMTP_PATH_OK:
		break;
	case SMTP_PATH_SYNTAX:
		smtp_reply_error(s, "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]");
		return;
	case SMTP_PATH_BAD_ADDRESS:
	case SMTP_PATH_TOO_LONG:
		smtp_reply_error(s, "501 5.1.7 Bad sender address syntax");
		return;
	case SMTP_PATH_BAD_PARAM:
	case SMTP_PATH_TOO_MANY_PARAMS:
		smtp_reply_error(s, "501 5.5.4 Bad parameters");
		return;
	}
	t->smtputf8 = false;
	t->declared_size = 0;
	unsigned seen = 0;
	for (size_t i = 0; i < pa.nparams; i++)
		if (mail_param(s, &pa.params[i], &seen) < 0) {
			mail_params_clear(t);
			return;
		}
	if (has8bit && !t->smtputf8) {
		/* RFC 6531 3.2: without SMTPUTF8 the command must be ASCII. */
		mail_params_clear(t);
		smtp_reply_error(s, "553 5.6.7 Non-ASCII address requires SMTPUTF8");
		return;
	}
	if (!reverse_path_ok(pa.path)) {
		mail_params_clear(t);
		smtp_reply_error(s, "501 5.1.7 Bad sender address syntax");
		return;
	}
	if (s->srv->submission && !submission_sender(s, pa.path)) {
		mail_params_clear(t);
		return;
	}
	t->active = true;
	conn_authenticated(s->conn); /* a first transaction meets the login deadline */
	t->mail_from = xstrdup(pa.path);
	s->ntxn++;
	t->id = xasprintf("%s.%u", conn_id(s->conn), s->ntxn);
	smtp_reply(s, "250 2.1.0 Sender ok");
}
