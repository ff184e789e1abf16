/* unit: sieve_apply_edits(), the editheader changes applied to the
 * stored copy: order, :index, :last, line ends, odd headers. */
#include "unit.h"
#include "lib/alloc.h"
#include "sieve/sieve.h"
#include <string.h>

static char *edit(const char *msg, const struct sieve_header_edit *e, size_t n)
{
	size_t len;
	char *out = sieve_apply_edits(msg, strlen(msg), e, n, &len);
	CHECK_INT((int)len, (int)strlen(out));
	return out;
}

TEST(sieve_edit_add_delete_order)
{
	const char *m = "A: 1\r\nX: a\r\n b\r\nB: 2\r\nX: c\r\n\r\nX: body\r\n";
	struct sieve_header_edit e[] = {
		{.add = true, .name = "T1", .value = "top1"},
		{.add = true, .name = "T2", .value = "top2"},
		{.add = true, .last = true, .name = "L", .value = "end"},
		{.add = false, .name = "x", .index = 2},
	};
	char *out = edit(m, e, 4);
	/* the folded first X stays whole; the second goes; the body's X stays */
	CHECK_STR(out, "T2: top2\r\nT1: top1\r\nA: 1\r\nX: a\r\n b\r\nB: 2\r\nL: end\r\n\r\nX: body\r\n");
	free(out);
	struct sieve_header_edit all[] = {{.add = false, .name = "X"}};
	out = edit(m, all, 1);
	CHECK_STR(out, "A: 1\r\nB: 2\r\n\r\nX: body\r\n");
	free(out);
	/* protected fields are never deleted (RFC 5293 7) */
	struct sieve_header_edit rcv[] = {{.add = false, .name = "received"}};
	out = edit("Received: x\r\n\r\n", rcv, 1);
	CHECK_STR(out, "Received: x\r\n\r\n");
	free(out);
}

TEST(sieve_edit_odd_messages)
{
	struct sieve_header_edit e[] = {{.add = true, .last = true, .name = "L", .value = "v"},
					{.add = true, .name = "T", .value = "w"}};
	/* LF line ends get LF fields */
	char *out = edit("A: 1\nB: 2\n\nbody\n", e, 2);
	CHECK_STR(out, "T: w\nA: 1\nB: 2\nL: v\n\nbody\n");
	free(out);
	/* no body, no final line end */
	out = edit("A: 1", e, 2);
	CHECK_STR(out, "T: w\r\nA: 1\r\nL: v\r\n");
	free(out);
	/* empty message, and a body only */
	out = edit("", e, 2);
	CHECK_STR(out, "T: w\r\nL: v\r\n");
	free(out);
	out = edit("\r\nbody", e, 2);
	CHECK_STR(out, "T: w\r\nL: v\r\n\r\nbody");
	free(out);
	/* a line that is not a field is kept, and :last goes before it */
	out = edit("A: 1\r\nnot a field\r\n\r\nb", e, 2);
	CHECK_STR(out, "T: w\r\nA: 1\r\nL: v\r\nnot a field\r\n\r\nb");
	free(out);
	/* no edits: the same bytes, NULs included */
	size_t len;
	static const char nul[] = "A: 1\0x\r\n\r\nb\0dy";
	out = sieve_apply_edits(nul, sizeof(nul) - 1, NULL, 0, &len);
	CHECK_INT((int)len, (int)sizeof(nul) - 1);
	CHECK(memcmp(out, nul, len) == 0);
	free(out);
	/* deleting an index past the end changes nothing */
	struct sieve_header_edit far[] = {{.add = false, .name = "A", .index = 5}};
	out = edit("A: 1\r\n\r\nb", far, 1);
	CHECK_STR(out, "A: 1\r\n\r\nb");
	free(out);
}

/* Several body tests in one run share one MIME parse (sieve-msg.c):
 * each still sees its own transform, and a test that changes its copy
 * (NULs become spaces) does not change what the next one reads. */
TEST(sieve_body_tests_share_one_parse)
{
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: text/html\r\n\r\n<p>Hello <b>World</b></p>\r\n"
		"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		"c2VjcmV0IHdvcmQ=\r\n--b--\r\n";
	static const char script[] =
		"require [\"body\", \"fileinto\", \"imap4flags\"];\n"
		"if body :text :contains \"hello world\" { addflag \"t1\"; }\n"
		"if body :raw :contains \"c2VjcmV0\" { addflag \"r1\"; }\n"
		"if body :content \"text/plain\" :contains \"secret word\" { addflag \"c1\"; }\n"
		"if body :text :contains \"<b>\" { addflag \"bad\"; }\n"
		"if body :text :contains \"secret word\" { addflag \"t2\"; }\n"
		"if body :content \"text/html\" :contains \"<b>World\" { addflag \"c2\"; }\n";
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	struct sieve_diag d;
	struct sieve_script *s = sieve_compile(script, strlen(script), &lim, NULL, NULL, &d);
	CHECK(s != NULL);
	struct sieve_env env = {.msg = msg, .msg_len = sizeof(msg) - 1, .envelope_from = "a@b.test",
				.envelope_to = "c@d.test", .user_address = "c@d.test"};
	struct sieve_result r;
	CHECK_INT(sieve_run(s, &env, &lim, &r, &d), 0);
	CHECK(r.keep_flags != NULL);
	char got[128] = "";
	for (size_t i = 0; r.keep_flags != NULL && r.keep_flags[i] != NULL; i++) {
		strcat(got, r.keep_flags[i]);
		strcat(got, " ");
	}
	CHECK_STR(got, "t1 r1 c1 t2 c2 ");
	sieve_result_free(&r);
	sieve_script_free(s);
}
