/*
 * sieve-vacation: the vacation action (RFC 5230, :seconds of RFC 6131,
 * :fcc of RFC 8580). The interpreter decides only what needs the message
 * (RFC 3834 2 and RFC 5230 4.5-4.6, see sieve.h for the exact list); the
 * caller keeps the once-per-sender-per-period record under `handle` and
 * sends the reply.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "lib/alloc.h"
#include "sieve/sieve-interp.h"

static bool has_field(struct sv_msg *m, const char *name)
{
	for (size_t i = 0; i < m->nh; i++)
		if (strcasecmp(m->h[i].name, name) == 0)
			return true;
	return false;
}

static const char *field(struct sv_msg *m, const char *name)
{
	for (size_t i = 0; i < m->nh; i++)
		if (strcasecmp(m->h[i].name, name) == 0)
			return sv_hdr_value(&m->h[i]);
	return NULL;
}

/* Sender local parts that are never answered (RFC 5230 4.6). */
static bool robot_sender(const char *from)
{
	const char *at = strrchr(from, '@');
	size_t n = at != NULL ? (size_t)(at - from) : strlen(from);
	if (n == 13 && strncasecmp(from, "mailer-daemon", 13) == 0)
		return true;
	if (n >= 6 && strncasecmp(from, "owner-", 6) == 0)
		return true;
	if (n >= 8 && strncasecmp(from + n - 8, "-request", 8) == 0)
		return true;
	if ((n == 8 && strncasecmp(from, "listserv", 8) == 0) ||
	    (n == 9 && strncasecmp(from, "majordomo", 9) == 0))
		return true;
	return false;
}

static bool in_list(char **l, size_t n, const char *a)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(l[i], a) == 0)
			return true;
	return false;
}

/* Is one of `mine` in To, Cc, Bcc, Resent-To or Resent-Cc? */
static bool addressed_to_me(struct sv_msg *m, char **mine, size_t nmine)
{
	static const char *const fields[] = { "to", "cc", "bcc", "resent-to", "resent-cc", NULL };
	for (size_t i = 0; i < m->nh; i++) {
		bool addr_field = false;
		for (int f = 0; fields[f] != NULL && !addr_field; f++)
			addr_field = strcasecmp(m->h[i].name, fields[f]) == 0;
		if (!addr_field)
			continue;
		char **a;
		size_t na;
		sv_addr_parse(m->h[i].raw, &a, &na);
		bool hit = false;
		for (size_t j = 0; j < na && !hit; j++)
			hit = in_list(mine, nmine, a[j]);
		sv_free_list(a, na);
		if (hit)
			return true;
	}
	return false;
}

static bool should_reply(struct sv_run *run, char **mine, size_t nmine)
{
	const struct sieve_env *e = run->env;
	struct sv_msg *m = &run->msg;
	if (e->envelope_from == NULL || e->envelope_from[0] == '\0')
		return false;
	if (robot_sender(e->envelope_from) || in_list(mine, nmine, e->envelope_from))
		return false;
	const char *as = field(m, "auto-submitted");
	if (as != NULL && strncasecmp(as, "no", 2) != 0)
		return false;
	if (as != NULL && as[2] != '\0' && as[2] != ' ' && as[2] != ';' && as[2] != '(')
		return false;
	const char *prec = field(m, "precedence");
	if (prec != NULL && (strcasecmp(prec, "bulk") == 0 || strcasecmp(prec, "list") == 0 ||
			     strcasecmp(prec, "junk") == 0))
		return false;
	static const char *const list_fields[] = { "list-id", "list-help", "list-subscribe",
						   "list-unsubscribe", "list-post", "list-owner",
						   "list-archive", NULL };
	for (int i = 0; list_fields[i] != NULL; i++)
		if (has_field(m, list_fields[i]))
			return false;
	return addressed_to_me(m, mine, nmine);
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h ^ 0xff;
}

int sv_cmd_vacation(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	if (run->vacationed)
		return sv_rt_error(run, n, "vacation used more than once");
	if (run->rejected)
		return sv_rt_error(run, n, "vacation cannot be used with reject");
	run->vacationed = true;
	const struct sv_tagbind *t;
	size_t len;
	size_t nmine = 0;
	char **mine = NULL;
	if ((t = sv_tag(n, TAG_ADDRESSES)) != NULL)
		mine = sv_expand_list(run, sc, t->val, &nmine);
	mine = xrealloc(mine, (nmine + 3) * sizeof(char *));
	if (run->env->user_address != NULL)
		mine[nmine++] = xstrdup(run->env->user_address);
	if (run->env->envelope_to != NULL)
		mine[nmine++] = xstrdup(run->env->envelope_to);
	mine[nmine] = NULL;
	bool reply = should_reply(run, mine, nmine);
	if (!reply) {
		sv_free_list(mine, nmine);
		return 0;
	}
	struct sieve_action *a = sv_action_add(run, n, SIEVE_ACT_VACATION);
	if (a == NULL) {
		sv_free_list(mine, nmine);
		return -1;
	}
	a->reason = sv_expand(run, sc, &n->pos[0]->strs[0], &len);
	if ((t = sv_tag(n, TAG_SUBJECT)) != NULL) {
		a->subject = sv_expand(run, sc, &t->val->strs[0], &len);
	} else {
		const char *subj = field(&run->msg, "subject");
		a->subject = subj != NULL && subj[0] != '\0' ? xasprintf("Auto: %s", subj)
			: xstrdup("Automatic reply");
	}
	if ((t = sv_tag(n, TAG_FROM)) != NULL)
		a->from = sv_expand(run, sc, &t->val->strs[0], &len);
	a->mime = sv_tag(n, TAG_MIME) != NULL;
	if ((t = sv_tag(n, TAG_HANDLE)) != NULL) {
		a->handle = sv_expand(run, sc, &t->val->strs[0], &len);
	} else {
		/* RFC 5230 4.2: without :handle, the arguments identify the reply */
		uint64_t h = 1469598103934665603ull;
		h = fnv(h, a->reason);
		h = fnv(h, sv_tag(n, TAG_SUBJECT) ? a->subject : "");
		h = fnv(h, a->from);
		h = fnv(h, a->mime ? "mime" : "");
		a->handle = xasprintf("vacation-%016llx", (unsigned long long)h);
	}
	/* the addresses the user asked to count as theirs (NULL-terminated) */
	size_t nadd = nmine - (run->env->user_address != NULL) - (run->env->envelope_to != NULL);
	if (nadd > 0)
		a->addresses = sv_strv_dup(mine, nadd);
	sv_free_list(mine, nmine);
	if ((t = sv_tag(n, TAG_SECONDS)) != NULL)
		a->period_seconds = t->val->num;
	else if ((t = sv_tag(n, TAG_DAYS)) != NULL)
		a->period_seconds = (t->val->num < 1 ? 1 : t->val->num > 36500 ? 36500 : t->val->num) * 86400;
	else
		a->period_seconds = 7 * 86400;
	a->reply_to = xstrdup(run->env->envelope_from);
	if ((t = sv_tag(n, TAG_FCC)) != NULL) {
		a->mailbox = sv_expand(run, sc, &t->val->strs[0], &len);
		a->create = sv_tag(n, TAG_CREATE) != NULL;
		if ((t = sv_tag(n, TAG_FLAGS)) != NULL) {
			size_t nf;
			char **f = sv_expand_list(run, sc, t->val, &nf);
			char *j = sv_flags_join(f, nf);
			sv_free_list(f, nf);
			a->flags = sv_flags_split(j, &nf);
			sv_flags_filter(a->flags);
			free(j);
		}
		if ((t = sv_tag(n, TAG_SPECIALUSE)) != NULL)
			a->special_use = sv_expand(run, sc, &t->val->strs[0], &len);
		if ((t = sv_tag(n, TAG_MAILBOXID)) != NULL)
			a->mailboxid = sv_expand(run, sc, &t->val->strs[0], &len);
	}
	return 0;
}
