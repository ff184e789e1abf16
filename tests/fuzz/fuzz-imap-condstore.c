/*
 * fuzz-imap-condstore: the CONDSTORE/QRESYNC argument grammar shared by
 * FETCH, STORE and SELECT (imap/imap-condstore.h, RFC 7162): the input is
 * parsed as IMAP arguments (imap_parse_args(), literals inline); every
 * atom goes to imap_modseq_parse() (with and without zero), every list to
 * imap_condstore_fetch_modifiers() as FETCH and as UID FETCH, on a fake
 * session with nothing selected whose QRESYNC state the first byte picks.
 *
 * Invariants: an accepted mod-sequence is the atom's decimal value, 1..
 * 2^63-1 (0 only with allow_zero); accepted modifiers always carry CHANGEDSINCE, VANISHED only in UID
 * FETCH with QRESYNC enabled, and turn CONDSTORE on; a refusal has a text.
 */
#include "fuzz.h"
#include "imap/imap-condstore.h"
#include "imap/imap-parser.h"
#include "imap/imap-session.h"

static void check_modseq(const struct imap_arg *a)
{
	for (int zero = 0; zero < 2; zero++) {
		uint64_t v = 0;
		if (imap_modseq_parse(a, zero, &v) != 0)
			continue;
		FUZZ_CHECK(a->type == IMAP_ARG_ATOM);
		FUZZ_CHECK(v <= IMAP_MODSEQ_MAX && (zero || v > 0));
		/* the value is the atom's digits */
		uint64_t d = 0;
		const char *p = a->str;
		FUZZ_CHECK(*p != '\0');
		for (; *p != '\0'; p++) {
			FUZZ_CHECK(*p >= '0' && *p <= '9');
			FUZZ_CHECK(d <= (UINT64_MAX - 9) / 10);
			d = d * 10 + (uint64_t)(*p - '0');
		}
		FUZZ_CHECK(d == v);
	}
}

static void check_modifiers(const struct imap_arg *list, bool qresync)
{
	for (int uid = 0; uid < 2; uid++) {
		struct imap_session s;
		memset(&s, 0, sizeof(s));
		s.state = IMAP_STATE_AUTH;
		s.qresync = qresync;
		uint64_t since = 42;
		bool vanished = true;
		const char *error = NULL;
		if (imap_condstore_fetch_modifiers(&s, list, uid, &since, &vanished, &error) != 0) {
			FUZZ_CHECK(error != NULL);
			FUZZ_CHECK(!s.condstore);
			continue;
		}
		FUZZ_CHECK(since <= IMAP_MODSEQ_MAX);
		FUZZ_CHECK(!vanished || (uid && qresync));
		FUZZ_CHECK(s.condstore);
		bool have_since = false;
		for (size_t i = 0; i < list->count; i++)
			have_since |= imap_arg_is_atom(&list->list[i], "CHANGEDSINCE");
		FUZZ_CHECK(have_since);
	}
}

static void walk(const struct imap_arg *a, size_t n, bool qresync, int depth)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].type == IMAP_ARG_LIST) {
			check_modifiers(&a[i], qresync);
			if (depth < 4)
				walk(a[i].list, a[i].count, qresync, depth + 1);
		} else {
			check_modseq(&a[i]);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool qresync = data[0] & 1;
	char *text = fuzz_strndup(data + 1, size - 1);
	struct imap_arg *args;
	size_t n;
	const char *error;
	if (imap_parse_args(text, size - 1, &args, &n, &error) == 0) {
		walk(args, n, qresync, 0);
		imap_args_free(args, n);
	}
	free(text);
	return 0;
}
