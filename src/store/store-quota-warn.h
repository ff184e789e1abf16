/*
 * store-quota-warn: the notice a delivery leaves in the account's INBOX
 * when it makes the account's storage use cross a warning threshold
 * (quota.warn_percent, e.g. 80 and 95). Private to src/store/.
 */
#ifndef ROOST_STORE_QUOTA_WARN_H
#define ROOST_STORE_QUOTA_WARN_H
#include "store/store-ops.h"

/* Inside the delivery's savepoint, after `added` bytes were counted on an
 * account whose quota was `before`: when the use before was below a
 * threshold and is now at or above it, store one notice (for the highest
 * threshold crossed) in INBOX. No state is kept: the crossing itself is
 * the "once" (a drop below and a new rise warns again). A notice that
 * cannot be stored is logged and skipped; only an error that ended the
 * whole transaction comes back (the delivery cannot commit either). */
enum store_err store_quota_warn(struct store_txn *txn, int64_t account_id,
				const struct store_quota *before, int64_t added);

/* The threshold crossed going from `before` to `after` bytes of `limit`
 * (the highest one), or 0. Exposed for the unit tests. */
unsigned int store_quota_warn_crossed(const struct store_settings *set, int64_t before,
				      int64_t after, int64_t limit);

/* Expand a warning text: %a address, %u used MB, %l limit MB, %p percent
 * used, %t threshold, %% a percent sign; "\n" (backslash, n) a line break
 * (config values are one line). Caller frees. */
char *store_quota_warn_expand(const char *tmpl, const char *address, int64_t used,
			      int64_t limit, unsigned int threshold);
#endif
