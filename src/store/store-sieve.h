/*
 * store-sieve: each account's Sieve scripts (RFC 5804 model: named
 * scripts, at most one active) and the state delivery keeps for them:
 * vacation replies sent (RFC 5230 4.2), redirects made (per-day limit and
 * no repeat when a delivery is retried) and ids seen by the duplicate
 * test (RFC 7352). Every read and op carries the account; a read failure
 * is STORE_ETEMP, never STORE_ENOTFOUND. Reads run on the calling
 * thread; writes are ops (store_run() or store_submit()).
 */
#ifndef ROOST_STORE_SIEVE_H
#define ROOST_STORE_SIEVE_H
#include "store/store.h"

/* Octets of a script name (RFC 5804 1.6: names are UTF-8 without
 * controls; we also bound their length). */
#define STORE_SIEVE_MAX_NAME 128
/* The store's own ceiling on a script's size: sieve.max_script_size is
 * checked first and may be lower. */
#define STORE_SIEVE_MAX_CONTENT (1024 * 1024)
/* Octets of a sender, handle, message id or address kept as state. */
#define STORE_SIEVE_MAX_KEY 1024

/* A script name we accept: 1..STORE_SIEVE_MAX_NAME octets, no control
 * characters, no '/' (names double as file names in exports). */
bool store_sieve_name_valid(const char *name);

struct store_sieve_script {
	char *name;
	bool active;
	int64_t updated;
	size_t size;
};
void store_sieve_list_free(struct store_sieve_script *list, size_t n);
/* The account's scripts, name ascending (none: an empty list). */
enum store_err store_sieve_list(struct store *s, int64_t account_id,
				struct store_sieve_script **list_r, size_t *n_r);
/* One script's text (malloc'd, NUL-terminated). STORE_ENOTFOUND: none of
 * that name. active_r may be NULL. */
enum store_err store_sieve_get(struct store *s, int64_t account_id, const char *name,
			       char **content_r, size_t *len_r, bool *active_r);
/* The active script: name and text (both malloc'd). STORE_ENOTFOUND when
 * the account has no active script. */
enum store_err store_sieve_get_active(struct store *s, int64_t account_id, char **name_r,
				      char **content_r, size_t *len_r);

/* Ops. Every struct stays valid until completion. */
struct store_sieve_put {
	int64_t account_id;
	const char *name;
	const char *content;
	size_t len;
	unsigned max_scripts;	/* 0 = no limit; a new name past it: STORE_ELIMIT */
	bool activate;		/* also make it the active script */
};
/* Create or replace (keeps its active flag). STORE_EINVAL for a bad
 * name or a script over STORE_SIEVE_MAX_CONTENT; STORE_ENOTFOUND when the
 * account is gone. */
void store_sieve_put_init(struct store_op *op, struct store_sieve_put *p);

struct store_sieve_name {
	int64_t account_id;
	const char *name;	/* activate: NULL = deactivate every script */
	const char *new_name;	/* rename only */
};
/* Make `name` the only active script (NULL: none). STORE_ENOTFOUND. */
void store_sieve_activate_init(struct store_op *op, struct store_sieve_name *n);
/* STORE_ENOTFOUND; STORE_EINUSE for the active script (RFC 5804 2.10:
 * it must be deactivated first). */
void store_sieve_delete_init(struct store_op *op, struct store_sieve_name *n);
/* STORE_ENOTFOUND, STORE_EEXISTS (new name taken), STORE_EINVAL. */
void store_sieve_rename_init(struct store_op *op, struct store_sieve_name *n);

/* Delivery state. */
enum store_sieve_state_kind {
	STORE_SIEVE_VACATION,	/* key = sender, key2 = handle */
	STORE_SIEVE_REDIRECT,	/* key = message id, key2 = target address */
	STORE_SIEVE_DUPLICATE,	/* key = the tracked id, key2 unused ("") */
};
/* *when_r: when the row was last recorded (0 = never). */
enum store_err store_sieve_state_get(struct store *s, int64_t account_id,
				     enum store_sieve_state_kind kind, const char *key,
				     const char *key2, int64_t *when_r);
/* Redirects the account made since `since` (the per-day limit). */
enum store_err store_sieve_redirects_since(struct store *s, int64_t account_id, int64_t since,
					   int64_t *n_r);

struct store_sieve_mark {
	int64_t account_id;
	enum store_sieve_state_kind kind;
	const char *key, *key2;
	int64_t when;
	/* rows of this kind and account older than this go (0 = keep) */
	int64_t expire_before;
};
/* Record (or refresh) one state row. STORE_EINVAL for a key over
 * STORE_SIEVE_MAX_KEY. */
void store_sieve_mark_init(struct store_op *op, struct store_sieve_mark *m);
#endif
