/*
 * outbound-private: what the scheduler (scheduler.c) and the SMTP client
 * (smtp-client.c) share. Everything runs on the daemon's event loop.
 */
#ifndef ROOST_OUTBOUND_PRIVATE_H
#define ROOST_OUTBOUND_PRIVATE_H
#include "dns/dns.h"
#include "outbound/mta-sts.h"
#include "store/store-queue.h"
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct ob_session;

/* One recipient of a job and, once tried, its result. */
struct ob_rcpt {
	int64_t rcpt_id;
	char *address, *orcpt;
	unsigned notify;
	int attempts;		/* before this one */
	/* result */
	bool tried;
	enum store_queue_status status;	/* PENDING = failed temporarily */
	bool relayed;		/* accepted by a peer without DSN: NOTIFY=SUCCESS gets "relayed" */
	bool remote;		/* reply came from the remote MX (else a local reason) */
	char *reply;
	char status_code[16];	/* RFC 3463, for the DSN */
};

/* One queued message for one destination domain. */
struct ob_job {
	struct ob_job *next;
	struct ob_dest *dest;	/* NULL for a local job */
	int64_t queue_id, account_id, created;
	char *return_path, *envid;
	bool ret_full, delay_notified;
	bool requiretls;	/* RFC 8689: only over validated TLS to a REQUIRETLS peer */
	bool tls_optional;	/* RFC 8689 5 "TLS-Required: No": its dest ignores policy */
	struct ob_rcpt *rcpts;
	size_t nrcpts;
	char *mx_host;		/* the host that answered, for the DSN */
	/* called once the results are committed (never at shutdown): the
	 * session that sent it waits for this before its next message */
	void (*recorded)(void *arg);
	void *recorded_arg;
};

/* A destination domain: its route and the jobs waiting for a session. */
struct ob_dest {
	struct ob_dest *next;
	char *domain;
	struct dns_route *route;
	struct dns_lookup *lookup;
	struct ob_job *head, *tail;
	size_t njobs;
	int nsess;
	bool tls_failed;	/* a STARTTLS handshake failed: next sessions go without */
	bool down;		/* a session found no usable host: start no more */
	struct mta_sts_policy *sts;	/* RFC 8461, or NULL */
	bool sts_pending;	/* the policy lookup runs: no session yet */
	struct ob_session *idle;	/* connected sessions waiting for a job */
	/* RFC 8689 5: the jobs of messages that say "TLS-Required: No" have
	 * a destination of their own, without MTA-STS or DANE: opportunistic
	 * STARTTLS only, so a broken policy does not hold them */
	bool tls_optional;
};

struct ob_settings {
	int port;
	int64_t max_connections, max_per_domain, max_messages_per_session;
	int64_t connect_ms, greeting_ms, command_ms, data_ms;
	bool starttls;
	const char *hostname;
};

/* Session side (smtp-client.c). */
void ob_session_start(struct event_base *base, const struct ob_settings *set, SSL_CTX *tls,
		      struct store *s, struct ob_dest *dest);
/* d has new jobs: its idle sessions take them. */
void ob_dest_wake_idle(struct ob_dest *d);
/* Scheduler side, called by sessions (scheduler.c). */
struct ob_job *ob_dest_take_job(struct ob_dest *d);
/* May a session with nothing to do stay connected? (Not when the
 * connection limit is reached: other destinations may be waiting.) */
bool ob_session_may_idle(void);
/* Every rcpt of the job has its result: record them (and the DSN).
 * false when the job was freed at once (shutting down: nothing is
 * recorded, job->recorded is never called). */
bool ob_job_finished(struct ob_job *job);
/* The session is gone. connected = a server accepted EHLO/HELO at some
 * point; when not, `error` says why no server could be used. */
void ob_session_ended(struct ob_dest *d, bool connected, const char *error);
/* Set every untried rcpt of the job to a temporary failure. */
void ob_job_fail_rest(struct ob_job *job, bool permanent, const char *status,
		      const char *reply);
#endif
