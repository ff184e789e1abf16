/*
 * delivery-sieve: running each recipient's Sieve scripts at delivery
 * (the global before-script, the account's active script, the global
 * after-script) and carrying out what they say: the mailboxes (and
 * imap4flags) each recipient's copy goes to, discard, reject (at the
 * protocol when the caller can, else an RFC 5429 rejection DSN through
 * the outbound queue), redirect (SRS-rewritten sender, through the
 * queue, limited per message and per day) and vacation (RFC 3834/5230,
 * through the queue, once per sender per period). A script that fails to
 * compile or run leaves the message in INBOX and logs a warning.
 *
 * delivery_sieve_run() parses the message and reads and writes the
 * store, waiting: call it on a worker thread (src/lib/workers.h) or in
 * the CLI, after delivery_add_rcpt() and before delivery_prepare().
 */
#ifndef ROOST_DELIVERY_SIEVE_H
#define ROOST_DELIVERY_SIEVE_H
#include "store/delivery.h"
#include "lib/config.h"

/* This module's configuration keys (sieve.*). */
extern const struct config_key sieve_config_keys[];

struct delivery_sieve_config {
	char *before, *after;	/* script files, NULL = none */
	char *global_dir;	/* sieve.global_dir: `include :global` scripts, NULL = none */
	char *hostname;		/* vacation Message-IDs */
	char *datadir;		/* the SRS secret (DATA/srs.secret) */
	size_t max_script_size;	/* sieve.max_script_size */
	int64_t max_redirects_per_day; /* sieve.max_redirects_per_day */
	unsigned max_redirects;	/* sieve.max_redirects (per message) */
	int64_t min_vacation_period; /* seconds: sieve.vacation_min_period */
};
void delivery_sieve_config_load(struct delivery_sieve_config *c, const struct config *cfg,
				const char *hostname);
void delivery_sieve_config_clear(struct delivery_sieve_config *c);

/* Run the scripts of every recipient of `d` on the message data[0..len)
 * and fill d->rcpts[i].boxes/discard/refuse. can_refuse: the caller can
 * still refuse a recipient (LMTP, SMTP with one recipient); otherwise a
 * reject becomes a DSN to the envelope sender. */
void delivery_sieve_run(struct delivery *d, struct store *s, const struct delivery_sieve_config *c,
			const char *data, size_t len, bool can_refuse);

/* The SRS0 address (SRS0=HHHH=TT=domain=local@our_domain) for
 * `sender` at day `day` (unix time / 86400), with `secret`; malloc'd. */
char *delivery_srs_forward(const char *sender, const char *our_domain, const char *secret,
			   int64_t day);
/* Is this message one vacation must not answer (RFC 3834 2, RFC 5230
 * 4.5): an auto-submitted, list, bulk or junk message, or a null or
 * daemon sender? */
bool delivery_vacation_suppressed(const char *sender, const char *data, size_t len);
#endif
