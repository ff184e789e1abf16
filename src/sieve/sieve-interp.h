/*
 * sieve-interp: the state of one sieve_run(), shared by the command
 * interpreter (sieve-run.c), the tests (sieve-test.c), variables and
 * flags (sieve-vars.c), vacation (sieve-vacation.c), editheader
 * (sieve-editheader.c) and date (sieve-date.c).
 */
#ifndef ROOST_SIEVE_INTERP_H
#define ROOST_SIEVE_INTERP_H
#include "sieve/sieve-msg.h"
#include "sieve/sieve-private.h"
#include "sieve/sieve-run.h"

#define SV_EXPAND_MAX ((size_t)1 << 20) /* bytes of one expanded string */
#define SV_DUPLICATE_DEFAULT_SECONDS (7 * 86400) /* RFC 7352 3.2 */

struct sv_var {
	char *name;		/* lower case */
	char *val;
	size_t len;
};

struct sv_vars {
	struct sv_var *v;
	size_t n;
};

/* One script being run: the top one or an include (RFC 6609 3.4: each has
 * its own variables; names declared `global` live in run->globals). */
struct sv_scope {
	const struct sieve_script *s;
	struct sv_vars locals;
	char **globals;
	size_t nglobals;
	bool returned;
};

struct sv_run {
	const struct sieve_env *env;
	struct sieve_limits lim;
	struct sv_msg msg;
	struct sieve_result *r;
	struct sieve_diag *diag;
	uint64_t steps;
	uint64_t deadline_ms;	/* monotonic; start + lim.max_run_ms */
	bool failed, stopped;
	struct sv_vars globals;
	size_t nvars;		/* variables set, all scopes */
	struct sv_captures caps;
	char *flags;		/* the internal imap4flags variable */
	unsigned redirects;
	bool rejected, vacationed;
	char **once;		/* includes run so far ("p"/"g" + name) */
	size_t nonce;
	unsigned depth;
	size_t cap_actions;
};

/* A runtime error: diag with the node's position, run stops. Returns -1. */
int sv_rt_error(struct sv_run *run, const struct sv_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Count one step; -1 (with the error set) past max_steps. */
int sv_step(struct sv_run *run, const struct sv_node *n, uint64_t cost);

/* vars */
bool sv_uses(const struct sv_scope *sc, int ext);
/* The string with ${...} expanded when the script uses variables;
 * malloc'd, *len_r its length. */
char *sv_expand(struct sv_run *run, struct sv_scope *sc, const struct sv_str *st, size_t *len_r);
/* Every string of a list expanded (a malloc'd array of malloc'd strings). */
char **sv_expand_list(struct sv_run *run, struct sv_scope *sc, const struct sv_arg *a, size_t *n_r);
void sv_free_list(char **l, size_t n);
/* A string list as the tests read it: a string without "${" (or in a
 * script without variables) is borrowed from the tree, only expansions
 * are allocated, and short lists need no allocation at all. v[i] stays
 * valid until sv_view_free(). */
#define SV_VIEW_SMALL 8
struct sv_view {
	char **v;		/* NULL-terminated */
	size_t n;
	char **own;		/* own[i] = v[i] when it was expanded, else NULL */
	char *small_v[SV_VIEW_SMALL + 1], *small_own[SV_VIEW_SMALL];
};
void sv_view_init(struct sv_view *w, struct sv_run *run, struct sv_scope *sc, const struct sv_arg *a);
void sv_view_free(struct sv_view *w);
int sv_var_set(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n, const char *name,
	       const char *val, size_t len);
/* NULL when unset. */
const struct sv_var *sv_var_get(struct sv_run *run, struct sv_scope *sc, const char *name);
void sv_vars_free(struct sv_vars *v);
/* Flag lists (RFC 5232 3): split on spaces, de-duplicated ignoring case. */
char *sv_flags_join(char **flags, size_t n);
char **sv_flags_split(const char *s, size_t *n_r);
/* Drop what is not a settable IMAP flag (in place, NULL-terminated list). */
void sv_flags_filter(char **flags);
int sv_cmd_flags(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n);
int sv_cmd_set(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n);

/* tests: 1 true, 0 false, -1 runtime error */
int sv_test(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n);
/* values against keys per the node's match type, comparator, relop */
int sv_match_values(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n,
		    char **values, size_t nvalues, const struct sv_arg *keys);

/* vacation: adds the action when RFC 3834 allows a reply */
int sv_cmd_vacation(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n);
struct sieve_action *sv_action_add(struct sv_run *run, const struct sv_node *n, int type);
char **sv_strv_dup(char **l, size_t n);

/* editheader (RFC 5293) */
int sv_cmd_addheader(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n);
int sv_cmd_deleteheader(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n);

/* date (RFC 5260) */
int sv_test_date(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n);
#endif
