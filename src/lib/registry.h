/*
 * registry: the live sessions of each owner, so that an administrator's
 * command can end all of them at once. An owner is an int64 key (the
 * protocols use the account id); the registry knows nothing of mail.
 *
 * Sessions add and remove themselves on the event loop thread. Ending an
 * owner's sessions runs on that thread too: registry_end_owner() when the
 * caller is on it, registry_end_owner_wait() from any other thread (the
 * daemon's control threads), which hands the request to the loop and
 * waits until every session was told. Without registry_start() (the CLI
 * alone, unit tests) there is no loop and no session: nothing to end.
 */
#ifndef ROOST_REGISTRY_H
#define ROOST_REGISTRY_H
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct registry_entry;

/* Longest a caller of registry_end_owner_wait() waits for the loop. */
#define REGISTRY_WAIT_MS 5000
/* Longest reason text passed to the sessions (longer is cut). */
#define REGISTRY_MAX_REASON 128

/* Ends one session: say why to the client (text without CRLF) and close.
 * Must not free the session synchronously (closing is deferred). */
typedef void registry_end_fn(void *ctx, const char *reason);

/* Loop thread. The entry is the session's, until registry_remove(). */
struct registry_entry *registry_add(int64_t owner, registry_end_fn *end, void *ctx);
/* Loop thread; no-op on NULL; clears the pointer. */
void registry_remove(struct registry_entry **entry);
/* Loop thread: end every session of the owner; returns how many. */
size_t registry_end_owner(int64_t owner, const char *reason);
/* Any thread but the loop's: the same, run on the loop. Returns how many
 * were ended, 0 without a loop, -1 when the loop did not answer within
 * REGISTRY_WAIT_MS (shutting down). */
int registry_end_owner_wait(int64_t owner, const char *reason);
/* Sessions registered for the owner (loop thread; tests and logs). */
size_t registry_count(int64_t owner);

/* `roost who`: a session describes itself in tab-separated fields
 * ("imap\t192.0.2.1\tINBOX"), appended to `out` without a newline. */
struct buf;
typedef void registry_describe_fn(void *ctx, struct buf *out);
/* Loop thread: set once after registry_add(). */
void registry_set_describe(struct registry_entry *e, registry_describe_fn *fn);
/* Longest listing registry_list_wait() returns (bytes; cut beyond). */
#define REGISTRY_MAX_LIST (4u << 20)
/* Any thread but the loop's: one line "owner\tsince\t<described>\n" per
 * session (of `owner`, or of every owner when it is 0; since = unix time
 * of registry_add, the login) into *text_r (caller frees). 0, or -1
 * when the loop did not answer within REGISTRY_WAIT_MS. Without a loop:
 * 0 and "". */
int registry_list_wait(int64_t owner, char **text_r);

/* The daemon: requests from other threads run on this loop. */
void registry_start(struct event_base *base);
void registry_stop(void);
#endif
