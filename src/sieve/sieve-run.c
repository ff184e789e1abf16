/*
 * sieve-run: sieve_run(), the interpreter. It walks the checked tree
 * counting steps, collects actions (RFC 5228 4, 2.10: duplicates merged,
 * implicit keep cancelled by keep/fileinto/redirect/reject/discard unless
 * :copy); header edits are sieve-editheader.c's. Any runtime
 * error or limit resets the result to "implicit keep only" (2.10.6).
 * include (RFC 6609) runs the script compiled into the include node with
 * its own variable scope.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "lib/alloc.h"
#include "sieve/sieve-interp.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int sv_rt_error(struct sv_run *run, const struct sv_node *n, const char *fmt, ...)
{
	if (run->failed)
		return -1;
	run->failed = true;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sv_diag(run->diag, n != NULL ? n->line : 0, n != NULL ? n->column : 0, "%s", msg);
	return -1;
}

int sv_step(struct sv_run *run, const struct sv_node *n, uint64_t cost)
{
	if (run->failed)
		return -1;
	run->steps += cost;
	if (run->steps > run->lim.max_steps) {
		run->failed = true;
		sv_diag(run->diag, 0, 0, "too many steps (limit %llu)", (unsigned long long)run->lim.max_steps);
		return -1;
	}
	if (now_ms() > run->deadline_ms) {
		run->failed = true;
		sv_diag(run->diag, 0, 0, "script ran too long (limit %u ms)", run->lim.max_run_ms);
		return -1;
	}
	return 0;
}

char **sv_strv_dup(char **l, size_t n)
{
	char **o = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		o[i] = xstrdup(l[i]);
	return o;
}

static void strv_free(char **l)
{
	for (size_t i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

struct sieve_action *sv_action_add(struct sv_run *run, const struct sv_node *n, int type)
{
	struct sieve_result *r = run->r;
	if (r->nactions >= run->lim.max_actions) {
		sv_rt_error(run, n, "too many actions (at most %u)", run->lim.max_actions);
		return NULL;
	}
	r->actions = xgrow(r->actions, &run->cap_actions, r->nactions + 1, sizeof(*r->actions));
	struct sieve_action *a = &r->actions[r->nactions++];
	memset(a, 0, sizeof(*a));
	a->type = (enum sieve_action_type)type;
	return a;
}

static void action_clear(struct sieve_action *a)
{
	free(a->mailbox);
	strv_free(a->flags);
	free(a->mailboxid);
	free(a->special_use);
	free(a->address);
	free(a->reason);
	free(a->subject);
	free(a->from);
	free(a->handle);
	strv_free(a->addresses);
	free(a->reply_to);
}

void sieve_result_free(struct sieve_result *r)
{
	for (size_t i = 0; i < r->nactions; i++)
		action_clear(&r->actions[i]);
	free(r->actions);
	strv_free(r->keep_flags);
	for (size_t i = 0; i < r->nedits; i++) {
		free(r->edits[i].name);
		free(r->edits[i].value);
	}
	free(r->edits);
	memset(r, 0, sizeof(*r));
}

/* The flags for keep/fileinto: :flags, else the internal variable. */
static char **action_flags(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	if (!sv_uses(sc, EXT_IMAP4FLAGS))
		return NULL;
	const struct sv_tagbind *t = sv_tag(n, TAG_FLAGS);
	char *joined;
	if (t != NULL) {
		size_t nf;
		char **f = sv_expand_list(run, sc, t->val, &nf);
		joined = sv_flags_join(f, nf);
		sv_free_list(f, nf);
	} else {
		joined = xstrdup(run->flags != NULL ? run->flags : "");
	}
	size_t n_out;
	char **out = sv_flags_split(joined, &n_out);
	free(joined);
	sv_flags_filter(out);
	return out;
}

static int reject_conflict(struct sv_run *run, const struct sv_node *n)
{
	return sv_rt_error(run, n, "reject/ereject cannot be combined with keep, fileinto or vacation");
}

static int cmd_store(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n, bool keep)
{
	if (run->rejected)
		return reject_conflict(run, n);
	size_t len;
	char *mailbox = keep ? NULL : sv_expand(run, sc, &n->pos[0]->strs[0], &len);
	if (mailbox != NULL && (mailbox[0] == '\0' || strlen(mailbox) != len)) {
		free(mailbox);
		return sv_rt_error(run, n, "fileinto: invalid mailbox name");
	}
	bool copy = sv_tag(n, TAG_COPY) != NULL;
	if (!copy)
		run->r->implicit_keep = false;
	char **flags = action_flags(run, sc, n);
	/* RFC 5228 2.10.3: the same keep/fileinto twice is one action; the
	 * later flags win */
	for (size_t i = 0; i < run->r->nactions; i++) {
		struct sieve_action *a = &run->r->actions[i];
		if ((keep && a->type == SIEVE_ACT_KEEP) ||
		    (!keep && a->type == SIEVE_ACT_FILEINTO && strcmp(a->mailbox, mailbox) == 0)) {
			strv_free(a->flags);
			a->flags = flags;
			a->copy = a->copy && copy;
			a->create = a->create || sv_tag(n, TAG_CREATE) != NULL;
			free(mailbox);
			return 0;
		}
	}
	struct sieve_action *a = sv_action_add(run, n, keep ? SIEVE_ACT_KEEP : SIEVE_ACT_FILEINTO);
	if (a == NULL) {
		free(mailbox);
		strv_free(flags);
		return -1;
	}
	a->mailbox = mailbox;
	a->flags = flags;
	a->copy = copy;
	a->create = sv_tag(n, TAG_CREATE) != NULL;
	const struct sv_tagbind *t;
	if ((t = sv_tag(n, TAG_MAILBOXID)) != NULL)
		a->mailboxid = sv_expand(run, sc, &t->val->strs[0], &len);
	if ((t = sv_tag(n, TAG_SPECIALUSE)) != NULL)
		a->special_use = sv_expand(run, sc, &t->val->strs[0], &len);
	return 0;
}

static int cmd_redirect(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	size_t len;
	char *addr = sv_expand(run, sc, &n->pos[0]->strs[0], &len);
	if (strlen(addr) != len || !sv_address_ok(addr)) {
		free(addr);
		return sv_rt_error(run, n, "redirect: invalid address");
	}
	if (sv_tag(n, TAG_COPY) == NULL)
		run->r->implicit_keep = false;
	for (size_t i = 0; i < run->r->nactions; i++) {
		struct sieve_action *a = &run->r->actions[i];
		if (a->type == SIEVE_ACT_REDIRECT && strcasecmp(a->address, addr) == 0) {
			a->copy = a->copy && sv_tag(n, TAG_COPY) != NULL;
			free(addr);
			return 0;
		}
	}
	if (++run->redirects > run->lim.max_redirects) {
		free(addr);
		return sv_rt_error(run, n, "too many redirects (at most %u)", run->lim.max_redirects);
	}
	struct sieve_action *a = sv_action_add(run, n, SIEVE_ACT_REDIRECT);
	if (a == NULL) {
		free(addr);
		return -1;
	}
	a->address = addr;
	a->copy = sv_tag(n, TAG_COPY) != NULL;
	return 0;
}

/* RFC 5429 2.1-2.2: one reject per run; not with vacation, keep or fileinto. */
static int cmd_reject(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n, bool ereject)
{
	if (run->rejected || run->vacationed)
		return reject_conflict(run, n);
	for (size_t i = 0; i < run->r->nactions; i++)
		if (run->r->actions[i].type == SIEVE_ACT_KEEP || run->r->actions[i].type == SIEVE_ACT_FILEINTO)
			return reject_conflict(run, n);
	run->rejected = true;
	run->r->implicit_keep = false;
	struct sieve_action *a = sv_action_add(run, n, ereject ? SIEVE_ACT_EREJECT : SIEVE_ACT_REJECT);
	if (a == NULL)
		return -1;
	size_t len;
	a->reason = sv_expand(run, sc, &n->pos[0]->strs[0], &len);
	return 0;
}

static int run_commands(struct sv_run *run, struct sv_scope *sc, struct sv_node **cmds, size_t n);

static int run_script(struct sv_run *run, const struct sieve_script *s, const struct sv_node *at)
{
	if (run->depth >= run->lim.max_include_depth + 1)
		return sv_rt_error(run, at, "includes nested too deeply");
	struct sv_scope sc = { .s = s };
	run->depth++;
	int rc = run_commands(run, &sc, s->cmds, s->ncmds);
	run->depth--;
	sv_vars_free(&sc.locals);
	for (size_t i = 0; i < sc.nglobals; i++)
		free(sc.globals[i]);
	free(sc.globals);
	return rc;
}

static int cmd_include(struct sv_run *run, const struct sv_node *n)
{
	if (n->included == NULL)
		return 0;	/* :optional and absent */
	/* RFC 6609 3.2 :once: by name, since each include node holds its
	 * own compiled copy */
	char *key = xasprintf("%c%s", sv_tag(n, TAG_GLOBAL) ? 'g' : 'p', n->pos[0]->strs[0].s);
	for (size_t i = 0; i < run->nonce; i++) {
		if (strcmp(run->once[i], key) == 0) {
			bool skip = sv_tag(n, TAG_ONCE) != NULL;
			if (skip) {
				free(key);
				return 0;
			}
		}
	}
	run->once = xrealloc(run->once, (run->nonce + 1) * sizeof(*run->once));
	run->once[run->nonce++] = key;
	return run_script(run, n->included, n);
}

static int cmd_global(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	const struct sv_arg *a = n->pos[0];
	for (size_t i = 0; i < a->nstrs; i++) {
		char *name = xstrdup(a->strs[i].s);
		for (char *p = name; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		sc->globals = xrealloc(sc->globals, (sc->nglobals + 1) * sizeof(char *));
		sc->globals[sc->nglobals++] = name;
	}
	return 0;
}

static int run_command(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	switch (n->spec->id) {
	case CMD_STOP:
		run->stopped = true;
		return 0;
	case CMD_RETURN:
		sc->returned = true;
		return 0;
	case CMD_KEEP:
		return cmd_store(run, sc, n, true);
	case CMD_FILEINTO:
		return cmd_store(run, sc, n, false);
	case CMD_DISCARD:
		run->r->implicit_keep = false;
		for (size_t i = 0; i < run->r->nactions; i++)
			if (run->r->actions[i].type == SIEVE_ACT_DISCARD)
				return 0;
		return sv_action_add(run, n, SIEVE_ACT_DISCARD) != NULL ? 0 : -1;
	case CMD_REDIRECT:
		return cmd_redirect(run, sc, n);
	case CMD_REJECT:
	case CMD_EREJECT:
		return cmd_reject(run, sc, n, n->spec->id == CMD_EREJECT);
	case CMD_SETFLAG:
	case CMD_ADDFLAG:
	case CMD_REMOVEFLAG:
		return sv_cmd_flags(run, sc, n);
	case CMD_SET:
		return sv_cmd_set(run, sc, n);
	case CMD_VACATION:
		return sv_cmd_vacation(run, sc, n);
	case CMD_ADDHEADER:
		return sv_cmd_addheader(run, sc, n);
	case CMD_DELETEHEADER:
		return sv_cmd_deleteheader(run, sc, n);
	case CMD_INCLUDE:
		return cmd_include(run, n);
	case CMD_GLOBAL:
		return cmd_global(run, sc, n);
	case CMD_REQUIRE:
		return 0;
	}
	return sv_rt_error(run, n, "command \"%s\" not implemented", n->name);
}

static int run_commands(struct sv_run *run, struct sv_scope *sc, struct sv_node **cmds, size_t n)
{
	bool chain_done = false;	/* an if/elsif of this chain ran its block */
	for (size_t i = 0; i < n && !run->stopped && !sc->returned; i++) {
		const struct sv_node *c = cmds[i];
		if (sv_step(run, c, 1) < 0)
			return -1;
		int id = c->spec->id;
		if (id == CMD_IF || id == CMD_ELSIF || id == CMD_ELSE) {
			if (id == CMD_IF)
				chain_done = false;
			if (chain_done)
				continue;
			int t = id == CMD_ELSE ? 1 : sv_test(run, sc, c->tests[0]);
			if (t < 0)
				return -1;
			if (t == 1) {
				chain_done = true;
				if (run_commands(run, sc, c->block, c->nblock) < 0)
					return -1;
			}
			continue;
		}
		if (run_command(run, sc, c) < 0)
			return -1;
	}
	return run->failed ? -1 : 0;
}

int sieve_run(const struct sieve_script *script, const struct sieve_env *env,
	      const struct sieve_limits *lim, struct sieve_result *r,
	      struct sieve_diag *diag_r)
{
	struct sieve_diag scratch;
	struct sv_run run = { .env = env, .r = r, .diag = diag_r != NULL ? diag_r : &scratch };
	memset(run.diag, 0, sizeof(*run.diag));
	sv_limits_fill(&run.lim, lim);
	run.deadline_ms = now_ms() + run.lim.max_run_ms;
	memset(r, 0, sizeof(*r));
	r->implicit_keep = true;
	sv_msg_init(&run.msg, env->msg != NULL ? env->msg : "", env->msg != NULL ? env->msg_len : 0);
	int rc = run_script(&run, script, NULL);
	if (rc == 0 && r->implicit_keep && run.flags != NULL && (script->exts & (1u << EXT_IMAP4FLAGS))) {
		size_t nf;
		r->keep_flags = sv_flags_split(run.flags, &nf);
		sv_flags_filter(r->keep_flags);
	}
	if (rc < 0) {
		sieve_result_free(r);
		r->implicit_keep = true;
	}
	sv_msg_free(&run.msg);
	sv_vars_free(&run.globals);
	sv_captures_clear(&run.caps);
	free(run.flags);
	for (size_t i = 0; i < run.nonce; i++)
		free(run.once[i]);
	free(run.once);
	return rc;
}
