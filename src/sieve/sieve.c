/*
 * sieve: compile entry point, limits, the extension list, and the small
 * syntax helpers the checker and interpreter share.
 */
#include <ctype.h>
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "lib/alloc.h"
#include "lib/buf.h"
#include "mail/address.h"
#include "sieve/sieve-private.h"
#include "sieve/sieve-run.h"

void sieve_limits_default(struct sieve_limits *l)
{
	l->max_script_size = 512 * 1024;
	l->max_nodes = 100000;
	l->max_nesting = 64;
	l->max_include_depth = 5;
	l->max_steps = 1000000;
	l->max_actions = 64;
	l->max_redirects = 4;
	l->max_variable_size = 4096;
	l->max_variables = 256;
	l->max_body_scan = 1024 * 1024;
	l->max_run_ms = 5000;
}

/* The caller's limits with zero fields replaced by the defaults. */
void sv_limits_fill(struct sieve_limits *out, const struct sieve_limits *in)
{
	sieve_limits_default(out);
	if (in == NULL)
		return;
#define TAKE(f) if (in->f != 0) out->f = in->f
	TAKE(max_script_size);
	TAKE(max_nodes);
	TAKE(max_nesting);
	TAKE(max_include_depth);
	TAKE(max_steps);
	TAKE(max_actions);
	TAKE(max_redirects);
	TAKE(max_variable_size);
	TAKE(max_variables);
	TAKE(max_body_scan);
	TAKE(max_run_ms);
#undef TAKE
}

static char ext_list[600];
static pthread_once_t ext_once = PTHREAD_ONCE_INIT;

static void ext_list_build(void)
{
	size_t off = 0;
	for (int i = 0; i < EXT_COUNT; i++) {
		if (!sv_exts[i].supported)
			continue;
		int n = snprintf(ext_list + off, sizeof(ext_list) - off, "%s%s", off > 0 ? " " : "",
				 sv_exts[i].name);
		if (n > 0)
			off += (size_t)n;
	}
}

const char *sieve_extensions(void)
{
	pthread_once(&ext_once, ext_list_build);
	return ext_list;
}

void sieve_script_free(struct sieve_script *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->ncmds; i++)
		sv_node_free(s->cmds[i]);
	free(s->cmds);
	for (size_t i = 0; i < s->nglobals; i++)
		free(s->globals[i]);
	free(s->globals);
	free(s);
}

struct sieve_script *sv_compile_depth(const char *text, size_t len,
				      const struct sieve_limits *lim,
				      sieve_include_fn *include, void *ctx,
				      unsigned depth, char ***stack, size_t *nstack,
				      struct sieve_diag *diag)
{
	if (len > lim->max_script_size) {
		sv_diag(diag, 0, 0, "script too large (%zu bytes, at most %zu)", len, lim->max_script_size);
		return NULL;
	}
	struct sieve_script *s = xcalloc(1, sizeof(*s));
	if (sv_parse(text, len, lim, s, diag) < 0 ||
	    sv_check(s, lim, include, ctx, depth, stack, nstack, diag) < 0) {
		sieve_script_free(s);
		return NULL;
	}
	return s;
}

struct sieve_script *sieve_compile(const char *text, size_t len,
				   const struct sieve_limits *lim_in,
				   sieve_include_fn *include, void *include_ctx,
				   struct sieve_diag *diag_r)
{
	struct sieve_limits lim;
	sv_limits_fill(&lim, lim_in);
	struct sieve_diag scratch;
	if (diag_r == NULL)
		diag_r = &scratch;
	memset(diag_r, 0, sizeof(*diag_r));
	char **stack = NULL;
	size_t nstack = 0;
	struct sieve_script *s = sv_compile_depth(text, len, &lim, include, include_ctx, 0, &stack,
						  &nstack, diag_r);
	free(stack);
	return s;
}

bool sv_address_ok(const char *s)
{
	const char *err;
	char *n = address_normalize(s, &err);
	if (n == NULL)
		return false;
	free(n);
	return true;
}

bool sv_header_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 997)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127 || s[i] == ':')
			return false;
	return true;
}

#define STR_(x) #x
#define STR(x) STR_(x)

/* One bound of "{m,n}" at *p: its value, or -1 when it is not digits. */
static long regex_bound(const char **p)
{
	if (!isdigit((unsigned char)**p))
		return -1;
	long v = 0;
	while (isdigit((unsigned char)**p)) {
		if (v <= SV_REGEX_BOUND_MAX)
			v = v * 10 + (**p - '0');
		(*p)++;
	}
	return v;
}

/* How many atoms the pattern has once every repetition is copied out as
 * glibc's compiler does: a group's weight times its upper bound ("+" and
 * "{m,}" copy once more for the loop). NULL when within the limits, else
 * why not. Parses the ERE loosely: regcomp() still judges the syntax. */
static const char *regex_expansion_check(const char *pat)
{
	enum { DEPTH = 64 };
	uint64_t total[DEPTH], last[DEPTH];
	int d = 0;
	total[0] = last[0] = 0;
	for (const char *p = pat; *p != '\0'; p++) {
		uint64_t times = 1;
		switch (*p) {
		case '(':
			if (d + 1 >= DEPTH)
				return "groups nested too deeply";
			d++;
			total[d] = last[d] = 0;
			continue;
		case ')': {
			if (d == 0)
				break;	/* a literal ')' */
			uint64_t g = total[d] > 0 ? total[d] : 1;
			d--;
			total[d] += g;
			last[d] = g;
			goto check;
		}
		case '|':
			last[d] = 0;
			continue;
		case '*':
		case '?':
			continue;	/* a loop, not a copy */
		case '+':
			times = 2;
			goto repeat;
		case '{': {
			const char *q = p + 1;
			long m = regex_bound(&q);
			long n = m;
			if (m >= 0 && *q == ',') {
				q++;
				n = isdigit((unsigned char)*q) ? regex_bound(&q) : m + 1;
			}
			if (m < 0 || *q != '}')
				break;	/* not a bound: a literal '{' */
			if (m > SV_REGEX_BOUND_MAX || n > SV_REGEX_BOUND_MAX)
				return "a repetition bound is above " STR(SV_REGEX_BOUND_MAX);
			times = n > 1 ? (uint64_t)n : 1;
			p = q;
			goto repeat;
		}
		case '[':
			/* a bracket expression is one atom: "[]...]" and
			 * "[^]...]" hold a ']', "[:alpha:]" and kin nest */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p != '\0' && *p != ']') {
				if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
					char close = p[1];
					const char *e = p + 2;
					while (*e != '\0' && !(e[0] == close && e[1] == ']'))
						e++;
					p = *e != '\0' ? e + 1 : e;
				}
				if (*p != '\0')
					p++;
			}
			if (*p == '\0')
				return NULL; /* unterminated: regcomp refuses it */
			break;
		case '\\':
			if (p[1] != '\0')
				p++;
			break;
		default:
			break;
		}
		/* one atom */
		total[d] += 1;
		last[d] = 1;
		goto check;
	repeat:
		total[d] += last[d] * (times - 1);
		last[d] *= times;
	check:
		if (total[d] > SV_REGEX_EXPANDED_MAX || last[d] > SV_REGEX_EXPANDED_MAX)
			return "repetitions expand it beyond " STR(SV_REGEX_EXPANDED_MAX) " atoms";
	}
	return NULL;
}

int sv_regex_check(const char *pat, size_t len, bool icase, char *err, size_t errlen)
{
	if (len > SV_REGEX_MAX) {
		snprintf(err, errlen, "regular expression too long (%zu bytes, at most %d)", len, SV_REGEX_MAX);
		return -1;
	}
	if (strlen(pat) != len) {
		snprintf(err, errlen, "regular expression contains a NUL byte");
		return -1;
	}
	/* back-references make matching exponential: not offered */
	for (size_t i = 0; i + 1 < len; i++) {
		if (pat[i] == '\\' && pat[i + 1] >= '1' && pat[i + 1] <= '9') {
			snprintf(err, errlen, "regular expression \"%.40s\": back-references are not supported", pat);
			return -1;
		}
		if (pat[i] == '\\')
			i++;
	}
	const char *why = regex_expansion_check(pat);
	if (why != NULL) {
		snprintf(err, errlen, "regular expression \"%.40s\": %s", pat, why);
		return -1;
	}
	regex_t re;
	int rc = regcomp(&re, pat, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
	if (rc != 0) {
		char msg[100];
		regerror(rc, &re, msg, sizeof(msg));
		snprintf(err, errlen, "invalid regular expression \"%.40s\": %s", pat, msg);
		return -1;
	}
	regfree(&re);
	return 0;
}

char *sieve_include_unchecked(void *ctx, const char *name, bool global, size_t *len_r)
{
	(void)ctx;
	(void)name;
	(void)global;
	*len_r = 0;
	return xstrdup("");
}
