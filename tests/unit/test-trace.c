/* test-trace: the trace's redaction of client lines (lib/trace.c) and the
 * quota warning's threshold arithmetic (store/store-quota-warn.c). */
#include "unit.h"
#include "lib/trace.h"
#include "store/store-quota-warn.h"
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *in, *out;
	bool sasl_after;
} redact[] = {
	{"a LOGIN alice secret", "a LOGIN alice [redacted]", false},
	{"a login \"al ice\" \"se cret\"", "a login \"al ice\" [redacted]", false},
	{"a LOGIN \"a\\\"b\" pw", "a LOGIN \"a\\\"b\" [redacted]", false},
	{"a LOGIN {5}", "a LOGIN {5}", false},	/* the literal bytes are never copied */
	{"a LOGIN alice", "a LOGIN alice", false},
	{"a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==", "a AUTHENTICATE PLAIN [redacted]", true},
	{"a AUTHENTICATE PLAIN", "a AUTHENTICATE PLAIN", true},
	{"PASS secret", "PASS [redacted]", false},
	{"pass  secret with spaces", "pass  [redacted]", false},
	{"AUTH PLAIN AGFsaWNlAHNlY3JldA==", "AUTH PLAIN [redacted]", true},
	{"AUTH LOGIN", "AUTH LOGIN", true},
	/* ManageSieve (RFC 5804 2.1): no tag, strings or literals */
	{"AUTHENTICATE \"PLAIN\" \"AGFsaWNlAHNlY3JldA==\"", "AUTHENTICATE \"PLAIN\" [redacted]", true},
	{"AUTHENTICATE \"PLAIN\" {20+}", "AUTHENTICATE \"PLAIN\" [redacted]", true},
	{"AUTHENTICATE \"SCRAM-SHA-256\"", "AUTHENTICATE \"SCRAM-SHA-256\"", true},
	{"a SELECT INBOX", "a SELECT INBOX", false},
	{"a NOOP\x01", "a NOOP?", false},
	{"", "", false},
};

TEST(trace_redact_secrets)
{
	for (size_t i = 0; i < sizeof(redact) / sizeof(redact[0]); i++) {
		bool sasl = false;
		char out[256];
		trace_redact(redact[i].in, strlen(redact[i].in), &sasl, out, sizeof(out));
		CHECK_STR(out, redact[i].out);
		CHECK(sasl == redact[i].sasl_after);
	}
	/* during an exchange every line is a secret, "*" (cancel) excepted */
	bool sasl = true;
	char out[64];
	trace_redact("AGFsaWNlAHNlY3JldA==", 20, &sasl, out, sizeof(out));
	CHECK_STR(out, "[redacted]");
	trace_redact("*", 1, &sasl, out, sizeof(out));
	CHECK_STR(out, "*");
	/* a tiny output buffer is never overrun */
	sasl = false;
	char small[8];
	size_t n = trace_redact("a LOGIN alice secret", 20, &sasl, small, sizeof(small));
	CHECK_INT(n, 7);
	CHECK(memcmp(small, "a LOGIN", 7) == 0 && small[7] == '\0');
}

TEST(quota_warn_crossing)
{
	struct store_settings set = {.quota_warn_percent = {80, 95}};
	CHECK_INT(store_quota_warn_crossed(&set, 0, 79, 100), 0);
	CHECK_INT(store_quota_warn_crossed(&set, 79, 80, 100), 80);	/* at is enough */
	CHECK_INT(store_quota_warn_crossed(&set, 80, 90, 100), 0);	/* already over */
	CHECK_INT(store_quota_warn_crossed(&set, 90, 96, 100), 95);
	CHECK_INT(store_quota_warn_crossed(&set, 10, 99, 100), 95);	/* both: the highest */
	CHECK_INT(store_quota_warn_crossed(&set, 10, 99, -1), 0);	/* unlimited */
	CHECK_INT(store_quota_warn_crossed(&set, 50, 40, 100), 0);	/* a drop */
	/* no overflow near INT64_MAX */
	CHECK_INT(store_quota_warn_crossed(&set, 0, INT64_MAX / 2, INT64_MAX / 2), 95);
	char *s = store_quota_warn_expand("%a %u/%l %p%% %t %x\\nend", "a@b", 1048576, 2097152, 80);
	CHECK_STR(s, "a@b 1.0/2.0 50% 80 %x\r\nend");
	free(s);
}
