/*
 * fuzz-imap-notify: the NOTIFY SET grammar (RFC 5465 section 8),
 * imap_notify_parse(), with the arguments after "NOTIFY SET" parsed from
 * the input by imap_parse_args() (literals inline), as cmd-notify.c hands
 * them over. The session is a fake one with nothing selected: the parser
 * reads only its mailbox-name mode (UTF8=ACCEPT or modified UTF-7, picked
 * by the first byte). imap_notify_set() needs the store and is not called;
 * imap_notify_selected_events() is, on the parsed state.
 *
 * Invariants: success yields a state and failure a status of BAD or NO
 * with a text (NO only for BADEVENT, LIMIT and unoffered fetch
 * attributes); the selected-mailbox events are known event bits; the state is freed completely (leak detection).
 */
#include "fuzz.h"
#include "imap/imap-notify.h"
#include "imap/imap-parser.h"
#include "imap/imap-session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	struct imap_session s;
	memset(&s, 0, sizeof(s));
	s.state = IMAP_STATE_AUTH;
	s.utf8_names = data[0] & 1;
	char *text = fuzz_strndup(data + 1, size - 1);
	struct imap_arg *args;
	size_t n;
	const char *error;
	if (imap_parse_args(text, size - 1, &args, &n, &error) == 0) {
		struct imap_notify *nt = NULL;
		bool send_status = false;
		const char *status = NULL;
		char *reply = NULL;
		if (imap_notify_parse(&s, args, n, &nt, &send_status, &status, &reply) == 0) {
			FUZZ_CHECK(nt != NULL);
			FUZZ_CHECK(!send_status || (n > 0 && imap_arg_is_atom(&args[0], "STATUS")));
			s.notify = nt;
			unsigned ev = imap_notify_selected_events(&s);
			FUZZ_CHECK((ev & ~(unsigned)(IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE |
						     IMAP_NOTIFY_FLAG_CHANGE |
						     IMAP_NOTIFY_MAILBOX_NAME |
						     IMAP_NOTIFY_SUBSCRIPTION_CHANGE)) == 0);
			s.notify = NULL;
			imap_notify_free(&nt);
			FUZZ_CHECK(nt == NULL);
		} else {
			FUZZ_CHECK(status != NULL && reply != NULL);
			FUZZ_CHECK(strcmp(status, "BAD") == 0 || strcmp(status, "NO") == 0);
			if (strcmp(status, "NO") == 0)
				FUZZ_CHECK(strstr(reply, "BADEVENT") != NULL ||
					   strstr(reply, "[LIMIT]") != NULL ||
					   strstr(reply, "not offered") != NULL);
			free(reply);
		}
		imap_args_free(args, n);
	}
	free(text);
	return 0;
}
