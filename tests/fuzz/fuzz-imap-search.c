/*
 * fuzz-imap-search: the SEARCH key grammar (imap/imap-search.h) through
 * its public functions. The input is the rest of a SEARCH command line in
 * wire form (literals inline as "{n}\r\n<bytes>"), so it goes through
 * imap_parse_command() first, exactly as the session hands it over; a
 * RETURN list goes to imap_return_parse() (imap-return.h: ESEARCH options,
 * PARTIAL ranges, UPDATE) and, when it parses, a PARTIAL slice is taken of
 * a result of every small length; the CHARSET prefix is skipped the way
 * cmd-search.c does, and
 * the remaining arguments go to imap_search_parse() against a fake
 * selected mailbox: a view with a few messages and a saved result ("$"),
 * which is all the parser reads from the session. imap_search_run_snap() needs
 * the store and is not called. A parsed search goes through
 * imap_search_limit() (MESSAGELIMIT, RFC 9738 3.1) with every limit up to
 * the view's size, which walks its top-level sets, UIDAFTER and UIDBEFORE.
 *
 * Invariants: success yields a search and failure an error text, and the
 * parsed tree is freed completely (leak detection). The limit's floor is
 * 0 (no cut) or a UID of the view, 0 for a limit not below the view's
 * size, and never rises as the limit grows (a larger limit keeps more).
 */
#include "fuzz.h"
#include "imap/imap-parser.h"
#include "imap/imap-return.h"
#include "imap/imap-search.h"
#include "imap/imap-session.h"
#include "imap/imap-view.h"

#define FUZZ_SEARCH_MSGS 7

static const char prefix[] = "a SEARCH ";

static bool view_has_uid(const struct imap_view *v, uint32_t uid)
{
	for (size_t i = 0; i < v->count; i++)
		if (v->msgs[i].uid == uid)
			return true;
	return false;
}

/* imap_search_limit() for limits 1 .. count + 1, largest first. */
static void check_limit(struct imap_search *search, const struct imap_view *v)
{
	uint32_t above = 0; /* the floor of the next larger limit */
	for (uint32_t limit = (uint32_t)v->count + 1; limit >= 1; limit--) {
		uint32_t floor = imap_search_limit(search, v, limit);
		FUZZ_CHECK(floor == 0 || view_has_uid(v, floor));
		FUZZ_CHECK(limit < v->count || floor == 0);
		/* fewer kept: a floor at or above the larger limit's, and a
		 * cut whenever the larger limit cut */
		FUZZ_CHECK(above == 0 || (floor != 0 && floor >= above));
		FUZZ_CHECK(imap_search_limit(search, v, limit) == floor);
		above = floor;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_view_msg msgs[FUZZ_SEARCH_MSGS];
	uint32_t saved[] = {3, 5, 6, 40};
	struct imap_view view;
	struct imap_session session;

	memset(msgs, 0, sizeof(msgs));
	for (size_t i = 0; i < FUZZ_SEARCH_MSGS; i++)
		msgs[i].uid = (uint32_t)(i * 3 + 1);
	memset(&view, 0, sizeof(view));
	view.msgs = msgs;
	view.count = FUZZ_SEARCH_MSGS;
	view.cap = FUZZ_SEARCH_MSGS;
	view.saved = saved;
	view.nsaved = sizeof(saved) / sizeof(saved[0]);
	view.uidvalidity = 1;
	memset(&session, 0, sizeof(session));
	session.state = IMAP_STATE_SELECTED;
	session.view = &view;

	size_t len = sizeof(prefix) - 1 + size;
	char *wire = malloc(len + 1);
	FUZZ_CHECK(wire != NULL);
	memcpy(wire, prefix, sizeof(prefix) - 1);
	if (size > 0)
		memcpy(wire + sizeof(prefix) - 1, data, size);
	wire[len] = '\0';

	struct imap_command_args cmd;
	const char *error = NULL;
	memset(&cmd, 0, sizeof(cmd));
	if (imap_parse_command(wire, len, &cmd, &error) == 0) {
		FUZZ_CHECK(strcmp(cmd.name, "SEARCH") == 0);
		size_t i = 0;
		if (i + 1 < cmd.count && imap_arg_is_atom(&cmd.args[i], "RETURN")) {
			struct imap_return ret;
			const char *rerr = NULL;
			if (imap_return_parse(&cmd.args[i + 1], &ret, &rerr) == 0) {
				FUZZ_CHECK(ret.opts != 0);
				FUZZ_CHECK(!(ret.opts & IMAP_RETURN_PARTIAL) ||
					   (ret.lo >= 1 && ret.lo <= ret.hi));
				for (size_t n = 0; n < 5; n++) {
					size_t first, k;
					imap_return_partial_slice(&ret, n, &first, &k);
					FUZZ_CHECK(first + k <= n);
				}
			} else {
				FUZZ_CHECK(rerr != NULL);
			}
			i += 2;
		}
		if (i + 1 < cmd.count && imap_arg_is_atom(&cmd.args[i], "CHARSET"))
			i += 2;
		struct imap_search *search = NULL;
		error = NULL;
		/* cmd.args is NULL when there are no arguments ("a SEARCH"):
		 * no offset may be applied to it (C11 6.5.6). */
		const struct imap_arg *keys = cmd.count > i ? cmd.args + i : NULL;
		size_t nkeys = cmd.count > i ? cmd.count - i : 0;
		if (imap_search_parse(&session, keys, nkeys, &search, &error) == 0) {
			FUZZ_CHECK(search != NULL);
			check_limit(search, &view);
			imap_search_free(&search);
			FUZZ_CHECK(search == NULL);
		} else {
			FUZZ_CHECK(error != NULL);
		}
		imap_command_args_clear(&cmd);
	}
	free(wire);
	return 0;
}
