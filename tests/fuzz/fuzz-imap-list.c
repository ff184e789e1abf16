/*
 * fuzz-imap-list: LIST and LSUB arguments (imap/imap-list.h, RFC 9051
 * 6.3.9, RFC 5258, RFC 5819): the input is the rest of a LIST (or, first
 * byte odd, LSUB) command line in wire form, parsed by
 * imap_parse_command() as the session hands it over, then
 * imap_list_parse_options() on a fake session (IMAP4rev2 when bit 1 of
 * the first byte is set: STATUS RECENT is refused then). Each accepted
 * pattern, joined to the reference as cmd-list.c does, is compiled and
 * matched against fixed names and names made from the pattern itself.
 *
 * Invariants: accepted arguments have the shape the grammar allows
 * (reference and pattern astrings, 1..IMAP_LIST_MAX_PATTERNS patterns in a
 * list only for LIST, RECURSIVEMATCH only with SUBSCRIBED, no selection or
 * RETURN options for LSUB); imap_list_pattern_match() agrees with a plain
 * dynamic-programming matcher on every name.
 */
#include "fuzz.h"
#include "imap/imap-list.h"
#include "imap/imap-parser.h"
#include "imap/imap-session.h"

static const char *const fixed_names[] = {
	"INBOX", "INBOX/a", "Archive", "Archive/2024", "Archive/2024/Q1", "a", "a/b", "a/b/c",
	"", "%", "*", "/", "a//b", "Sent Items", "\xc3\xa4rger",
};

/* '*' = any run, '%' = any run without '/': dp[j] = pattern[0..j) matches
 * the name read so far. O(pattern x name); names here are short. */
static bool slow_match(const char *pat, const char *name)
{
	size_t m = strlen(pat);
	bool *dp = calloc(m + 1, sizeof(bool)), *nx = calloc(m + 1, sizeof(bool));
	FUZZ_CHECK(dp != NULL && nx != NULL);
	dp[0] = true;
	for (size_t j = 1; j <= m; j++)
		dp[j] = dp[j - 1] && (pat[j - 1] == '*' || pat[j - 1] == '%');
	for (const char *c = name; *c; c++) {
		nx[0] = false;
		for (size_t j = 1; j <= m; j++) {
			char pc = pat[j - 1];
			if (pc == '*')
				nx[j] = nx[j - 1] || dp[j];
			else if (pc == '%')
				nx[j] = nx[j - 1] || (dp[j] && *c != '/');
			else
				nx[j] = dp[j - 1] && pc == *c;
		}
		bool *t = dp;
		dp = nx;
		nx = t;
	}
	bool r = dp[m];
	free(dp);
	free(nx);
	return r;
}

static void check_name(const struct imap_list_pattern *p, const char *pat, const char *name)
{
	if (imap_list_pattern_match(p, name) != slow_match(pat, name)) {
		fprintf(stderr, "pattern '%s' name '%s': matcher %d\n", pat, name,
			imap_list_pattern_match(p, name));
		FUZZ_CHECK(!"pattern matcher agrees with the reference");
	}
}

static void check_pattern(const struct imap_arg *ref, const struct imap_arg *pat)
{
	if (ref->len + pat->len > IMAP_LIST_MAX_PATTERN_LEN)
		return; /* cmd-list.c answers BAD [LIMIT] */
	size_t n = strlen(ref->str) + strlen(pat->str);
	char *joined = malloc(n + 1);
	FUZZ_CHECK(joined != NULL);
	memcpy(joined, ref->str, strlen(ref->str));
	memcpy(joined + strlen(ref->str), pat->str, strlen(pat->str) + 1);
	struct imap_list_pattern p;
	imap_list_pattern_compile(&p, joined);
	for (size_t i = 0; i < sizeof(fixed_names) / sizeof(fixed_names[0]); i++)
		check_name(&p, joined, fixed_names[i]);
	/* names the pattern nearly describes: wildcards as nothing, as "x",
	 * as "x/y", and the pattern itself */
	static const char *const fills[] = {"", "x", "x/y", "//"};
	for (size_t f = 0; f < sizeof(fills) / sizeof(fills[0]); f++) {
		char *name = malloc(n * 3 + 1);
		FUZZ_CHECK(name != NULL);
		size_t k = 0;
		for (const char *c = joined; *c; c++) {
			if (*c == '*' || *c == '%') {
				memcpy(name + k, fills[f], strlen(fills[f]));
				k += strlen(fills[f]);
			} else {
				name[k++] = *c;
			}
		}
		name[k] = '\0';
		check_name(&p, joined, name);
		free(name);
	}
	check_name(&p, joined, joined);
	imap_list_pattern_free(&p);
	free(joined);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool lsub = data[0] & 1;
	struct imap_session s;
	memset(&s, 0, sizeof(s));
	s.state = IMAP_STATE_AUTH;
	s.rev2 = (data[0] & 2) != 0;
	const char *prefix = lsub ? "a LSUB " : "a LIST ";
	size_t plen = strlen(prefix), len = plen + size - 1;
	char *wire = malloc(len + 1);
	FUZZ_CHECK(wire != NULL);
	memcpy(wire, prefix, plen);
	memcpy(wire + plen, data + 1, size - 1);
	wire[len] = '\0';

	struct imap_command_args cmd;
	const char *error = NULL;
	memset(&cmd, 0, sizeof(cmd));
	if (imap_parse_command(wire, len, &cmd, &error) == 0) {
		struct imap_list_opts o = {.lsub = lsub};
		size_t i = 99;
		if (imap_list_parse_options(&s, &cmd, &o, &i) == 0) {
			FUZZ_CHECK(i <= 1 && cmd.count >= i + 2);
			FUZZ_CHECK(!o.sel_recursive || o.sel_subscribed);
			if (lsub)
				FUZZ_CHECK(i == 0 && !o.extended && !o.sel_subscribed &&
					   !o.sel_special_use && !o.ret_subscribed &&
					   !o.ret_special_use && o.status_items == 0);
			const struct imap_arg *ref = &cmd.args[i], *p = &cmd.args[i + 1];
			FUZZ_CHECK(imap_arg_is_astring(ref));
			if (p->type == IMAP_ARG_LIST) {
				FUZZ_CHECK(!lsub && o.extended);
				FUZZ_CHECK(p->count >= 1 && p->count <= IMAP_LIST_MAX_PATTERNS);
				for (size_t j = 0; j < p->count; j++) {
					FUZZ_CHECK(imap_arg_is_astring(&p->list[j]));
					check_pattern(ref, &p->list[j]);
				}
			} else {
				FUZZ_CHECK(imap_arg_is_astring(p));
				check_pattern(ref, p);
			}
		}
		imap_command_args_clear(&cmd);
	}
	free(wire);
	return 0;
}
