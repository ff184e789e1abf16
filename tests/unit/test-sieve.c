/*
 * test-sieve: the Sieve compiler (RFC 5228 grammar and the checks of
 * every extension) and interpreter.
 */
#include <stdlib.h>
#include <string.h>
#include "lib/alloc.h"
#include "sieve/sieve.h"
#include "sieve/sieve-run.h"
#include "unit.h"

#define SV_REGEX_MAX_TEST SV_REGEX_MAX

static struct sieve_script *compile(const char *text, struct sieve_diag *d)
{
	return sieve_compile(text, strlen(text), NULL, NULL, NULL, d);
}

static void ok(const char *file, int line, const char *text)
{
	struct sieve_diag d;
	struct sieve_script *s = compile(text, &d);
	if (s == NULL)
		unit_fail(file, line, "compile failed: %s", d.message);
	sieve_script_free(s);
}
#define OK(t) ok(__FILE__, __LINE__, t)

static void bad(const char *file, int line, const char *text, const char *msg)
{
	struct sieve_diag d;
	struct sieve_script *s = compile(text, &d);
	if (s != NULL) {
		unit_fail(file, line, "compiled, expected \"%s\"", msg);
		sieve_script_free(s);
	} else if (strcmp(d.message, msg) != 0) {
		unit_fail(file, line, "error \"%s\", expected \"%s\"", d.message, msg);
	}
}
#define BAD(t, m) bad(__FILE__, __LINE__, t, m)

TEST(sieve_compile_rfc5228_examples)
{
	OK("");
	OK("# comment\nkeep;");
	OK("/* bracket\ncomment */ discard;");
	OK("require \"fileinto\";\n"
	   "if header :is \"Sender\" \"owner-ietf-mta-filters@imc.org\" {\n"
	   "  fileinto \"filter\";\n"
	   "} elsif address :DOMAIN :is [\"From\", \"To\"] \"example.com\" {\n"
	   "  keep;\n"
	   "} elsif anyof (NOT address :all :contains [\"To\", \"Cc\", \"Bcc\"] \"me@example.com\",\n"
	   "               header :matches \"subject\" [\"*make*money*fast*\", \"*university*dipl*mas*\"]) {\n"
	   "  fileinto \"spam\";\n"
	   "} else {\n"
	   "  fileinto \"personal\";\n"
	   "}\n");
	OK("if size :over 100k { discard; }");
	OK("if size :under 1M { keep; } else { discard; }");
	OK("if not exists [\"From\",\"Date\"] { discard; }");
	OK("if header :contains :comparator \"i;octet\" \"Subject\" \"MAKE MONEY FAST\" { discard; }");
	OK("require [\"envelope\"];\nif envelope :all :is \"from\" \"tim@example.com\" { discard; }");
	OK("redirect \"bart@example.com\";");
	OK("if true { stop; } if false { keep; }");
	OK("if allof (true, false) { keep; }");
	OK("require \"reject\"; reject text:\nno thanks\n..dot\n.\n;");
	OK("require \"fileinto\"; fileinto \"a\"; # trailing\n");
}

TEST(sieve_compile_errors)
{
	BAD("keep", "line 1: missing ';' after \"keep\" (column 5)");
	BAD("keep\nstop;", "line 2: missing ';' after \"keep\" (column 1)");
	BAD("require \"fileinto\";\nif true {\n  filein \"x\";\n}", "line 3: unknown command \"filein\" (column 3)");
	BAD("fileinto \"x\";", "line 1: \"fileinto\" used without require \"fileinto\" (column 1)");
	BAD("require \"foo\";", "line 1: require \"foo\": extension not supported (column 9)");
	BAD("require [\"fileinto\", \"x-bar\"];", "line 1: require \"x-bar\": extension not supported (column 9)");
	BAD("keep;\nrequire \"fileinto\";", "line 2: require must come before other commands (column 1)");
	BAD("if header \"a\" \"b\" {\n keep;\n", "line 3: missing '}' at end of script (column 1)");
	BAD("keep;\n}", "line 2: unexpected '}' (column 1)");
	BAD("if header :is \"Subject\" \"abc {\n keep;\n}", "line 1: unterminated string (column 25)");
	BAD("/* open", "line 1: unterminated comment (column 1)");
	BAD("if header :foo \"a\" \"b\" { keep; }",
	    "line 1: unknown tagged argument \":foo\" for \"header\" (column 11)");
	BAD("if header :is :contains \"a\" \"b\" { keep; }",
	    "line 1: \":contains\" conflicts with \":is\" (column 15)");
	BAD("if header :is :is \"a\" \"b\" { keep; }",
	    "line 1: tagged argument \":is\" given twice (column 15)");
	BAD("if header \"a\" { keep; }", "line 1: missing argument for \"header\" (column 4)");
	BAD("if size :over \"1\" { keep; }", "line 1: \"size\" expects a number here (column 15)");
	BAD("if size 1 { keep; }", "line 1: size needs :over or :under (column 4)");
	BAD("redirect [\"a@b.c\"];", "line 1: \"redirect\" expects a string here (column 10)");
	BAD("redirect \"a@b.c\" \"d\";", "line 1: too many arguments for \"redirect\" (column 18)");
	BAD("redirect \"not an address\";", "line 1: redirect: invalid address \"not an address\" (column 10)");
	BAD("elsif true { keep; }", "line 1: \"elsif\" without a preceding if (column 1)");
	BAD("if true { keep; }\nkeep;\nelse { keep; }", "line 3: \"else\" without a preceding if (column 1)");
	BAD("if keep { }", "line 1: \"keep\" is a command, not a test (column 4)");
	BAD("header \"a\" \"b\";", "line 1: \"header\" is a test, not a command (column 1)");
	BAD("if foo { }", "line 1: unknown test \"foo\" (column 4)");
	BAD("if true;", "line 1: \"if\" needs a block { ... } (column 1)");
	BAD("if (true) { keep; }", "line 1: \"if\" needs exactly one test (column 1)");
	BAD("if allof true { keep; }", "line 1: \"allof\" needs a test list in ( ) (column 4)");
	BAD("if header :comparator \"i;foo\" \"a\" \"b\" { keep; }",
	    "line 1: comparator \"i;foo\" not supported (column 23)");
	BAD("if size :over 99999999999999999999 { keep; }", "line 1: number too large (column 15)");
	BAD("keep :copy;", "line 1: unknown tagged argument \":copy\" for \"keep\" (column 6)");
	BAD("redirect :copy \"a@b.c\";", "line 1: \":copy\" used without require \"copy\" (column 10)");
	BAD("if header :count \"eq\" \"a\" \"1\" { keep; }",
	    "line 1: \":count\" used without require \"relational\" (column 11)");
	BAD("if header :is [\"a\" \"b\"] \"c\" { keep; }", "line 1: expected ',' or ']', found string (column 20)");
	BAD("keep; @", "line 1: unexpected character '@' (column 7)");
	BAD("if header : \"a\" \"b\" {}", "line 1: expected a tag name after ':' (column 11)");
	BAD("require \"reject\"; reject text:\nabc\n", "line 1: unterminated multi-line string (missing \".\" line) (column 26)");
	BAD("if address :user \"to\" \"x\" {}", "line 1: \":user\" used without require \"subaddress\" (column 12)");
	BAD("require \"relational\"; if header :value \"xx\" \"a\" \"1\" {}",
	    "line 1: relational operator \"xx\" unknown (gt, ge, lt, le, eq or ne) (column 40)");
	BAD("require \"regex\"; if header :regex \"a\" \"(\" {}",
	    "line 1: invalid regular expression \"(\": Unmatched ( or \\( (column 39)");
}

/* ---- interpreter ---- */

static const char MSG1[] =
	"Return-Path: <alice@example.org>\r\n"
	"From: \"Alice A.\" <Alice@Example.org>\r\n"
	"To: bob+lists@example.com, Carol <carol@example.net>\r\n"
	"Cc: undisclosed-recipients:;\r\n"
	"Subject: =?utf-8?q?Caf=C3=A9?= make money fast\r\n"
	"Date: Tue, 1 Dec 2026 10:20:30 +0100\r\n"
	"Message-ID: <m1@example.org>\r\n"
	"X-Spam-Score: 7\r\n"
	"List-Id: Test list <test.example.org>\r\n"
	"\r\n"
	"Hello Bob,\r\nthis is the body.\r\n";

struct run_out {
	int rc;
	struct sieve_result r;
	struct sieve_diag d;
};

static struct sieve_env env_for(const char *msg)
{
	struct sieve_env e = { 0 };
	e.msg = msg;
	e.msg_len = strlen(msg);
	e.envelope_from = "alice@example.org";
	e.envelope_to = "bob+lists@example.com";
	e.user_address = "bob@example.com";
	e.spam_header = "X-Spam-Score";
	e.now = 1796119200;	/* 2026-12-01T10:00:00Z */
	return e;
}

static void run_env(const char *file, int line, const char *script, const struct sieve_env *e,
		    const struct sieve_limits *lim, struct run_out *o)
{
	struct sieve_diag d;
	memset(o, 0, sizeof(*o));
	struct sieve_script *s = sieve_compile(script, strlen(script), lim, NULL, NULL, &d);
	if (s == NULL) {
		unit_fail(file, line, "compile failed: %s", d.message);
		o->rc = -2;
		o->r.implicit_keep = true;
		return;
	}
	o->rc = sieve_run(s, e, lim, &o->r, &o->d);
	sieve_script_free(s);
}

static void run_msg(const char *file, int line, const char *script, const char *msg, struct run_out *o)
{
	struct sieve_env e = env_for(msg);
	run_env(file, line, script, &e, NULL, o);
}
#define RUN(script, o) run_msg(__FILE__, __LINE__, script, MSG1, o)

/* "fileinto:INBOX.x keep redirect:a@b" etc., for compact checks */
static char *summary(const struct sieve_result *r)
{
	char buf[2048];
	size_t off = 0;
	buf[0] = '\0';
	static const char *const names[] = { "keep", "fileinto", "redirect", "reject", "ereject",
					     "vacation", "discard" };
	for (size_t i = 0; i < r->nactions; i++) {
		const struct sieve_action *a = &r->actions[i];
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? " " : "", names[a->type]);
		if (a->mailbox)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, ":%s", a->mailbox);
		if (a->address)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, ":%s", a->address);
		if (a->copy)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "(copy)");
		for (size_t j = 0; a->flags && a->flags[j]; j++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", j ? "," : "[", a->flags[j]);
		if (a->flags && a->flags[0])
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "]");
	}
	if (r->implicit_keep)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%simplicit", off ? " " : "");
	for (size_t j = 0; r->keep_flags && r->keep_flags[j]; j++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", j ? "," : "[", r->keep_flags[j]);
	if (r->keep_flags && r->keep_flags[0])
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "]");
	return xstrdup(buf);
}

static void expect(const char *file, int line, const char *script, const char *msg, const char *want)
{
	struct run_out o;
	run_msg(file, line, script, msg, &o);
	char *got = summary(&o.r);
	if (o.rc != 0)
		unit_fail(file, line, "run failed: %s", o.d.message);
	else if (strcmp(got, want) != 0)
		unit_fail(file, line, "result \"%s\", expected \"%s\"", got, want);
	free(got);
	sieve_result_free(&o.r);
}
#define EXPECT(script, want) expect(__FILE__, __LINE__, script, MSG1, want)

TEST(sieve_run_core)
{
	EXPECT("", "implicit");
	EXPECT("keep;", "keep");
	EXPECT("discard;", "discard");
	EXPECT("require \"fileinto\"; fileinto \"Junk\";", "fileinto:Junk");
	EXPECT("require \"fileinto\"; fileinto \"A\"; fileinto \"A\"; keep; keep;", "fileinto:A keep");
	EXPECT("redirect \"x@example.net\";", "redirect:x@example.net");
	EXPECT("if header :contains \"subject\" \"MONEY\" { discard; }", "discard");
	EXPECT("if header :contains :comparator \"i;octet\" \"subject\" \"MONEY\" { discard; }", "implicit");
	EXPECT("if header :is \"subject\" \"Café make money fast\" { discard; }", "discard");
	EXPECT("if header :matches \"subject\" \"*money*\" { discard; }", "discard");
	EXPECT("if header :matches \"subject\" \"caf? *\" { discard; }", "discard");
	EXPECT("if header :matches \"subject\" \"money*\" { discard; }", "implicit");
	EXPECT("if address :is :domain \"from\" \"example.org\" { discard; }", "discard");
	EXPECT("if address :is :localpart \"from\" \"alice\" { discard; }", "discard");
	EXPECT("if address :is :all \"to\" \"carol@example.net\" { discard; }", "discard");
	EXPECT("if address :is :all \"to\" \"Carol\" { discard; }", "implicit");
	EXPECT("if exists [\"from\", \"to\"] { discard; }", "discard");
	EXPECT("if exists [\"from\", \"x-none\"] { discard; }", "implicit");
	EXPECT("if size :over 100 { discard; }", "discard");
	EXPECT("if size :under 100 { discard; }", "implicit");
	EXPECT("if not true { discard; } else { keep; }", "keep");
	EXPECT("if false { discard; } elsif true { keep; } else { discard; }", "keep");
	EXPECT("if anyof (false, header :contains \"to\" \"carol\") { discard; }", "discard");
	EXPECT("if allof (true, header :contains \"to\" \"nobody\") { discard; }", "implicit");
	EXPECT("keep; stop; discard;", "keep");
	EXPECT("require \"envelope\"; if envelope :is \"from\" \"alice@example.org\" { discard; }", "discard");
	EXPECT("require [\"envelope\", \"subaddress\"]; if envelope :detail \"to\" \"lists\" { discard; }", "discard");
	EXPECT("require \"subaddress\"; if address :user \"to\" \"bob\" { discard; }", "discard");
	EXPECT("require \"subaddress\"; if address :detail \"from\" \"\" { discard; }", "implicit");
	EXPECT("require [\"reject\"]; reject \"go away\";", "reject");
	EXPECT("require [\"ereject\"]; ereject \"go away\";", "ereject");
	EXPECT("require [\"copy\", \"fileinto\"]; fileinto :copy \"A\"; redirect :copy \"a@b.example\";",
	       "fileinto:A(copy) redirect:a@b.example(copy) implicit");
}

TEST(sieve_run_imap4flags)
{
	EXPECT("require \"imap4flags\"; setflag \"\\\\Seen\"; addflag [\"\\\\Flagged\", \"\\\\seen foo\"];",
	       "implicit[\\Seen,\\Flagged,foo]");
	EXPECT("require \"imap4flags\"; addflag [\"\\\\Recent\", \"\\\\Bogus\", \"a(b\", \"ok\", \"\\\\draft\"];",
	       "implicit[ok,\\draft]");
	EXPECT("require [\"imap4flags\", \"fileinto\"]; addflag \"a b\"; removeflag \"A\"; fileinto \"X\";",
	       "fileinto:X[b]");
	EXPECT("require [\"imap4flags\", \"fileinto\"]; addflag \"a\"; fileinto :flags \"z\" \"X\"; keep;",
	       "fileinto:X[z] keep[a]");
	EXPECT("require \"imap4flags\"; addflag \"x\"; if hasflag :is \"X\" { discard; }", "discard");
	EXPECT("require [\"imap4flags\", \"variables\"]; addflag \"v\" \"a\"; if hasflag \"v\" \"a\" { discard; }"
	       " if hasflag \"a\" { keep; }", "discard");
}

TEST(sieve_run_variables)
{
	EXPECT("require [\"variables\", \"fileinto\"]; set \"a\" \"x\"; set \"B\" \"${a}y\"; fileinto \"${b}.${A}\";",
	       "fileinto:xy.x");
	EXPECT("require [\"variables\", \"fileinto\"];\n"
	       "if header :matches \"List-Id\" \"*<*.*>\" { fileinto \"lists.${2}\"; }", "fileinto:lists.test");
	EXPECT("require [\"variables\", \"fileinto\"]; set :upper :length \"n\" \"abc\"; fileinto \"${n}\";",
	       "fileinto:3");
	EXPECT("require [\"variables\", \"fileinto\"]; set :upperfirst :lower \"n\" \"hELLO\"; fileinto \"${n}\";",
	       "fileinto:Hello");
	EXPECT("require [\"variables\", \"fileinto\"]; set :quotewildcard \"n\" \"a*b?\"; fileinto \"${n}\";",
	       "fileinto:a\\*b\\?");
	EXPECT("require [\"variables\", \"fileinto\"]; fileinto \"${unset}x${}${1}$${x\";", "fileinto:x${}$${x");
	EXPECT("require \"variables\"; set \"a\" \"1\"; if string :is \"${a}\" \"1\" { discard; }", "discard");
	EXPECT("require [\"variables\", \"relational\"]; if string :count \"eq\" [\"a\", \"\", \"b\"] \"2\" { discard; }",
	       "discard");
	/* no variables extension: ${...} is literal */
	EXPECT("require \"fileinto\"; fileinto \"${x}\";", "fileinto:${x}");
}

TEST(sieve_run_relational_numeric)
{
	EXPECT("require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
	       "if header :value \"gt\" :comparator \"i;ascii-numeric\" \"x-spam-score\" \"5\" { discard; }", "discard");
	EXPECT("require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
	       "if header :value \"lt\" :comparator \"i;ascii-numeric\" \"x-spam-score\" \"10\" { discard; }", "discard");
	EXPECT("require [\"relational\", \"comparator-i;ascii-numeric\"]; if address :count \"eq\" :comparator \"i;ascii-numeric\" \"to\" \"2\" { discard; }",
	       "discard");
	EXPECT("require [\"relational\", \"comparator-i;ascii-numeric\"]; if header :count \"ge\" :comparator \"i;ascii-numeric\" \"to\" \"2\" { discard; }",
	       "implicit");
}

TEST(sieve_run_body_spamtest_date)
{
	EXPECT("require \"body\"; if body :contains \"this is the body\" { discard; }", "discard");
	EXPECT("require \"body\"; if body :raw :contains \"Hello Bob\" { discard; }", "discard");
	EXPECT("require \"body\"; if body :content \"text\" :contains \"BODY\" { discard; }", "discard");
	EXPECT("require \"body\"; if body :content \"image\" :contains \"body\" { discard; }", "implicit");
	EXPECT("require [\"spamtest\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
	       "if spamtest :value \"ge\" :comparator \"i;ascii-numeric\" \"5\" { discard; }", "discard");
	EXPECT("require [\"date\"]; if date :is \"date\" \"date\" \"2026-12-01\" { discard; }", "discard");
	EXPECT("require [\"date\"]; if date :originalzone :is \"date\" \"hour\" \"10\" { discard; }", "discard");
	EXPECT("require [\"date\"]; if date :is \"date\" \"hour\" \"09\" { discard; }", "discard");
	EXPECT("require [\"date\"]; if date :zone \"-0500\" :is \"date\" \"iso8601\" \"2026-12-01T04:20:30-05:00\" { discard; }",
	       "discard");
	EXPECT("require [\"date\"]; if currentdate :is \"julian\" \"61375\" { discard; }", "discard");
	EXPECT("require [\"date\"]; if currentdate :is \"weekday\" \"2\" { discard; }", "discard");
	EXPECT("require [\"date\", \"index\"]; if date :index 2 :is \"date\" \"year\" \"2026\" { discard; }", "implicit");
}

TEST(sieve_run_matches_linear)
{
	/* a pattern that backtracks exponentially in a naive matcher */
	size_t n = 200000;
	char *msg = xmalloc(n + 100);
	int k = snprintf(msg, n + 100, "Subject: ");
	memset(msg + k, 'a', n);
	memcpy(msg + k + n, "\r\n\r\nx\r\n", 8);
	struct run_out o;
	run_msg(__FILE__, __LINE__, "if header :matches \"subject\" \"*a*a*a*a*a*a*b\" { discard; }", msg, &o);
	CHECK_INT(o.rc, 0);
	CHECK(o.r.implicit_keep);
	CHECK_INT(o.r.nactions, 0);
	sieve_result_free(&o.r);
	run_msg(__FILE__, __LINE__, "if header :matches \"subject\" \"*a*a*a*a*a*a\" { discard; }", msg, &o);
	CHECK_INT(o.r.nactions, 1);
	sieve_result_free(&o.r);
	free(msg);
}

static const char MSG_PERSONAL[] =
	"From: alice@example.org\r\n"
	"To: Bob <bob@example.com>\r\n"
	"Subject: lunch?\r\n"
	"Received: from a by b; Tue, 1 Dec 2026 10:20:30 +0000\r\n"
	"X-A: 1\r\nX-A: 2\r\nX-A: 3\r\n"
	"\r\n"
	"hi\r\n";

static void vacation_case(const char *file, int line, const char *msg, const char *from, bool want)
{
	struct sieve_env e = env_for(msg);
	e.envelope_from = from;
	struct run_out o;
	run_env(file, line, "require \"vacation\"; vacation :days 3 \"I am away\";", &e, NULL, &o);
	bool got = o.r.nactions == 1 && o.r.actions[0].type == SIEVE_ACT_VACATION;
	if (o.rc != 0 || got != want)
		unit_fail(file, line, "vacation %s, expected %s", got ? "sent" : "not sent", want ? "sent" : "not sent");
	sieve_result_free(&o.r);
}

TEST(sieve_run_vacation)
{
	struct sieve_env e = env_for(MSG_PERSONAL);
	struct run_out o;
	run_env(__FILE__, __LINE__,
		"require [\"vacation\", \"vacation-seconds\", \"fcc\", \"imap4flags\"];\n"
		"vacation :seconds 60 :from \"bob@example.com\" :addresses [\"b@example.com\"]"
		" :fcc \"Sent\" :flags \"\\\\Seen\" \"I am away\";", &e, NULL, &o);
	CHECK_INT(o.rc, 0);
	CHECK_INT(o.r.nactions, 1);
	CHECK(o.r.implicit_keep);
	const struct sieve_action *a = &o.r.actions[0];
	CHECK_INT(a->type, SIEVE_ACT_VACATION);
	CHECK_STR(a->reason, "I am away");
	CHECK_STR(a->subject, "Auto: lunch?");
	CHECK_STR(a->from, "bob@example.com");
	CHECK_STR(a->reply_to, "alice@example.org");
	CHECK_STR(a->mailbox, "Sent");
	CHECK_STR(a->flags[0], "\\Seen");
	CHECK_STR(a->addresses[0], "b@example.com");
	CHECK(a->addresses[1] == NULL);
	CHECK_INT(a->period_seconds, 60);
	CHECK(a->handle != NULL && strncmp(a->handle, "vacation-", 9) == 0);
	sieve_result_free(&o.r);

	vacation_case(__FILE__, __LINE__, MSG_PERSONAL, "alice@example.org", true);
	vacation_case(__FILE__, __LINE__, MSG_PERSONAL, "", false);
	vacation_case(__FILE__, __LINE__, MSG_PERSONAL, "MAILER-DAEMON@example.org", false);
	vacation_case(__FILE__, __LINE__, MSG_PERSONAL, "owner-list@example.org", false);
	vacation_case(__FILE__, __LINE__, MSG_PERSONAL, "list-request@example.org", false);
	vacation_case(__FILE__, __LINE__, MSG_PERSONAL, "bob@example.com", false);
	vacation_case(__FILE__, __LINE__, MSG1, "alice@example.org", false); /* List-Id */
	vacation_case(__FILE__, __LINE__, "To: bob@example.com\r\nAuto-Submitted: auto-replied\r\n\r\nx",
		      "a@example.org", false);
	vacation_case(__FILE__, __LINE__, "To: bob@example.com\r\nAuto-Submitted: no\r\n\r\nx",
		      "a@example.org", true);
	vacation_case(__FILE__, __LINE__, "To: bob@example.com\r\nPrecedence: bulk\r\n\r\nx",
		      "a@example.org", false);
	vacation_case(__FILE__, __LINE__, "To: someone@example.net\r\n\r\nx", "a@example.org", false);
	vacation_case(__FILE__, __LINE__, "To: x@example.net\r\nBcc: BOB@example.com\r\n\r\nx", "a@example.org", true);
	e.envelope_from = "alice@example.org";
	run_env(__FILE__, __LINE__, "require \"vacation\"; vacation :days 2 \"x\";", &e, NULL, &o);
	CHECK_INT(o.r.actions[0].period_seconds, 2 * 86400);
	CHECK(o.r.actions[0].from == NULL);
	sieve_result_free(&o.r);
	/* reject and vacation exclude each other */
	run_env(__FILE__, __LINE__, "require [\"vacation\", \"reject\"]; vacation \"x\"; reject \"no\";", &e, NULL, &o);
	CHECK_INT(o.rc, -1);
	CHECK(o.r.implicit_keep);
	CHECK_INT(o.r.nactions, 0);
	CHECK(strstr(o.d.message, "reject") != NULL);
	sieve_result_free(&o.r);
}

TEST(sieve_run_editheader)
{
	struct run_out o;
	run_msg(__FILE__, __LINE__,
		"require [\"editheader\", \"index\", \"fileinto\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
		"addheader \"X-Sieve\" \"yes\";\n"
		"addheader :last \"X-Late\" \"café\";\n"
		"deleteheader :index 1 :last \"X-A\";\n"
		"deleteheader :is \"X-A\" \"1\";\n"
		"deleteheader \"received\";\n"
		"if header :is \"x-sieve\" \"yes\" { fileinto \"seen-own-edit\"; }\n"
		"if header :count \"eq\" :comparator \"i;ascii-numeric\" \"x-a\" \"1\" { discard; }\n",
		MSG_PERSONAL, &o);
	CHECK_INT(o.rc, 0);
	char *s = summary(&o.r);
	CHECK_STR(s, "fileinto:seen-own-edit discard");
	free(s);
	CHECK_INT(o.r.nedits, 4);
	CHECK(o.r.edits[0].add && !o.r.edits[0].last);
	CHECK_STR(o.r.edits[0].name, "X-Sieve");
	CHECK(o.r.edits[1].add && o.r.edits[1].last);
	CHECK_STR(o.r.edits[1].value, "=?UTF-8?b?Y2Fmw6k=?=");
	CHECK(!o.r.edits[2].add);
	CHECK_INT(o.r.edits[2].index, 3);
	CHECK_STR(o.r.edits[2].value, " 3");
	CHECK_INT(o.r.edits[3].index, 1);
	sieve_result_free(&o.r);
}

/* include callback: scripts by name from a table */
struct inc_table {
	const char *names[8], *texts[8];
	bool global[8];
	int calls;
};

static char *inc_fn(void *ctx, const char *name, bool global, size_t *len_r)
{
	struct inc_table *t = ctx;
	t->calls++;
	for (int i = 0; i < 8 && t->names[i] != NULL; i++) {
		if (strcmp(t->names[i], name) == 0 && t->global[i] == global) {
			*len_r = strlen(t->texts[i]);
			return xstrdup(t->texts[i]);
		}
	}
	return NULL;
}

static struct sieve_script *compile_inc(const char *text, struct inc_table *t, struct sieve_diag *d)
{
	return sieve_compile(text, strlen(text), NULL, inc_fn, t, d);
}

TEST(sieve_include)
{
	struct inc_table t = {
		.names = { "spam", "vars", "loop1", "loop2", "bad", "once" },
		.texts = { "require \"fileinto\"; if header :contains \"subject\" \"money\" { fileinto \"Junk\"; stop; }",
			   "require [\"include\", \"variables\"]; global \"g\"; set \"g\" \"from-included\"; set \"local\" \"x\";",
			   "require \"include\"; include \"loop2\";",
			   "require \"include\"; include \"loop1\";",
			   "require \"fileinto\";\nfilein \"x\";",
			   "require [\"include\", \"variables\"]; global \"n\"; set \"n\" \"${n}1\";" },
		.global = { true, false, false, false, false, false },
	};
	struct sieve_diag d;
	struct sieve_script *s = compile_inc("require \"include\"; include :global \"spam\"; keep;", &t, &d);
	CHECK(s != NULL);
	struct sieve_env e = env_for(MSG1);
	struct sieve_result r;
	CHECK_INT(sieve_run(s, &e, NULL, &r, &d), 0);
	char *sum = summary(&r);
	CHECK_STR(sum, "fileinto:Junk");	/* stop in the included script ends everything */
	free(sum);
	sieve_result_free(&r);
	sieve_script_free(s);

	s = compile_inc("require [\"include\", \"variables\", \"fileinto\"]; global \"g\"; include \"vars\";"
			" fileinto \"${g}.${local}\";", &t, &d);
	CHECK(s != NULL);
	CHECK_INT(sieve_run(s, &e, NULL, &r, &d), 0);
	sum = summary(&r);
	CHECK_STR(sum, "fileinto:from-included.");
	free(sum);
	sieve_result_free(&r);
	sieve_script_free(s);

	s = compile_inc("require [\"include\", \"variables\", \"fileinto\"]; global \"n\";"
			" include :once \"once\"; include :once \"once\"; include \"once\"; fileinto \"n${n}\";", &t, &d);
	CHECK(s != NULL);
	CHECK_INT(sieve_run(s, &e, NULL, &r, &d), 0);
	sum = summary(&r);
	CHECK_STR(sum, "fileinto:n11");
	free(sum);
	sieve_result_free(&r);
	sieve_script_free(s);

	s = compile_inc("require \"include\";\ninclude \"loop1\";", &t, &d);
	CHECK(s == NULL);
	CHECK_STR(d.message, "line 2: include \"loop1\": line 1: include \"loop2\": "
		  "line 1: include \"loop1\": include loop (column 28) (column 28) (column 9)");
	s = compile_inc("require \"include\";\ninclude \"bad\";", &t, &d);
	CHECK(s == NULL);
	CHECK_STR(d.message, "line 2: include \"bad\": line 2: unknown command \"filein\" (column 1) (column 9)");
	s = compile_inc("require \"include\"; include \"nothere\";", &t, &d);
	CHECK(s == NULL);
	CHECK_STR(d.message, "line 1: include \"nothere\": no such script (column 28)");
	s = compile_inc("require \"include\"; include :optional \"nothere\"; keep;", &t, &d);
	CHECK(s != NULL);
	sieve_script_free(s);
	s = compile_inc("require \"include\"; include :global :personal \"x\";", &t, &d);
	CHECK(s == NULL);
	CHECK_STR(d.message, "line 1: \":personal\" conflicts with \":global\" (column 36)");
	s = sieve_compile("require \"include\"; include \"x\";", 31, NULL, NULL, NULL, &d);
	CHECK(s == NULL);
	CHECK_STR(d.message, "line 1: include \"x\": includes are not available here (column 28)");
	/* a chain deeper than max_include_depth */
	struct inc_table deep = {
		.names = { "d1", "d2", "d3" },
		.texts = { "require \"include\"; include \"d2\";", "require \"include\"; include \"d3\";", "keep;" },
	};
	struct sieve_limits lim = { .max_include_depth = 2 };
	s = sieve_compile("require \"include\"; include \"d1\";", 32, &lim, inc_fn, &deep, &d);
	CHECK(s == NULL);
	CHECK(strstr(d.message, "includes nested too deeply") != NULL);
	lim.max_include_depth = 3;
	s = sieve_compile("require \"include\"; include \"d1\";", 32, &lim, inc_fn, &deep, &d);
	CHECK(s != NULL);
	sieve_script_free(s);
}

struct dup_state {
	char last_id[256];
	uint64_t last_seconds;
	int calls;
	bool answer;
};

static bool dup_fn(void *ctx, const char *id, uint64_t seconds, bool last)
{
	struct dup_state *st = ctx;
	st->calls++;
	snprintf(st->last_id, sizeof(st->last_id), "%s", id);
	st->last_seconds = seconds;
	return st->answer;
}

TEST(sieve_duplicate)
{
	struct dup_state st = { .answer = true };
	struct sieve_env e = env_for(MSG1);
	e.duplicate_check = dup_fn;
	e.ctx = &st;
	struct run_out o;
	run_env(__FILE__, __LINE__, "require \"duplicate\"; if duplicate { discard; }", &e, NULL, &o);
	CHECK_INT(o.r.nactions, 1);
	CHECK_STR(st.last_id, "\n<m1@example.org>");
	CHECK_INT(st.last_seconds, 7 * 86400);
	sieve_result_free(&o.r);
	st.answer = false;
	run_env(__FILE__, __LINE__, "require \"duplicate\"; if duplicate :handle \"h\" :header \"subject\""
		" :seconds 60 { discard; }", &e, NULL, &o);
	CHECK_INT(o.r.nactions, 0);
	CHECK_STR(st.last_id, "h\nCafé make money fast");
	CHECK_INT(st.last_seconds, 60);
	sieve_result_free(&o.r);
	run_env(__FILE__, __LINE__, "require [\"duplicate\", \"variables\"]; set \"u\" \"abc\";"
		" if duplicate :uniqueid \"${u}\" { discard; }", &e, NULL, &o);
	CHECK_STR(st.last_id, "\nabc");
	CHECK_INT(st.calls, 3);
	sieve_result_free(&o.r);
	BAD("require \"duplicate\"; if duplicate :header \"a\" :uniqueid \"b\" { }",
	    "line 1: \":uniqueid\" conflicts with \":header\" (column 47)");
	/* no callback: never a duplicate */
	e.duplicate_check = NULL;
	run_env(__FILE__, __LINE__, "require \"duplicate\"; if duplicate { discard; }", &e, NULL, &o);
	CHECK_INT(o.r.nactions, 0);
	sieve_result_free(&o.r);
}

static bool mbox_exists(void *ctx, const char *name)
{
	return strcmp(name, "INBOX") == 0 || strcmp(name, "Work") == 0;
}

static const char *mbox_special(void *ctx, const char *use)
{
	return strcasecmp(use, "\\Junk") == 0 ? "Spam" : NULL;
}

TEST(sieve_mailbox_specialuse)
{
	struct sieve_env e = env_for(MSG1);
	e.mailbox_exists = mbox_exists;
	e.special_use_mailbox = mbox_special;
	struct run_out o;
	run_env(__FILE__, __LINE__, "require [\"mailbox\", \"fileinto\"];"
		" if mailboxexists [\"Work\", \"INBOX\"] { fileinto :create \"A\"; }"
		" if mailboxexists \"Nope\" { discard; }", &e, NULL, &o);
	CHECK_INT(o.r.nactions, 1);
	CHECK(o.r.actions[0].create);
	sieve_result_free(&o.r);
	run_env(__FILE__, __LINE__, "require [\"special-use\", \"fileinto\"];"
		" if specialuse_exists \"\\\\Junk\" { fileinto :specialuse \"\\\\Junk\" \"Junk\"; }"
		" if specialuse_exists \"Spam\" \"\\\\Junk\" { keep; }"
		" if specialuse_exists \"\\\\Archive\" { discard; }", &e, NULL, &o);
	char *s = summary(&o.r);
	CHECK_STR(s, "fileinto:Junk keep");
	free(s);
	CHECK_STR(o.r.actions[0].special_use, "\\Junk");
	sieve_result_free(&o.r);
	run_env(__FILE__, __LINE__, "require [\"mailboxid\", \"fileinto\"];"
		" fileinto :mailboxid \"F123\" \"X\"; if mailboxidexists \"F1\" { discard; }", &e, NULL, &o);
	CHECK_STR(o.r.actions[0].mailboxid, "F123");
	CHECK_INT(o.r.nactions, 1);
	sieve_result_free(&o.r);
}

TEST(sieve_encoded_character_regex)
{
	EXPECT("require [\"encoded-character\", \"fileinto\"]; fileinto \"${hex:41 42}${unicode:e9}${hex:zz}\";",
	       "fileinto:ABé${hex:zz}");
	BAD("require \"encoded-character\"; keep :flags \"${unicode:d800}\";",
	    "line 1: encoded-character: invalid Unicode code point (column 42)");
	EXPECT("require [\"regex\", \"variables\", \"fileinto\"];"
	       " if header :regex \"subject\" \"(money) (f[a-z]+)$\" { fileinto \"${2}-${1}\"; }", "fileinto:fast-money");
	struct run_out o;
	RUN("require [\"regex\", \"variables\"]; set \"p\" \"[\"; if header :regex \"subject\" \"${p}\" { discard; }", &o);
	CHECK_INT(o.rc, -1);
	CHECK(strncmp(o.d.message, "line 1: invalid regular expression", 34) == 0 && strstr(o.d.message, "(column 49)") != NULL);
	sieve_result_free(&o.r);
	char big[SV_REGEX_MAX_TEST + 64];
	memset(big, 'a', sizeof(big));
	int k = snprintf(big, sizeof(big), "require \"regex\"; if header :regex \"s\" \"");
	big[k + SV_REGEX_MAX_TEST + 1] = '\0';
	memset(big + k, 'a', SV_REGEX_MAX_TEST + 1);
	strcat(big, "\" {}");
	struct sieve_diag d;
	CHECK(compile(big, &d) == NULL);
	CHECK(strstr(d.message, "regular expression too long") != NULL);
}

TEST(sieve_limits)
{
	struct sieve_diag d;
	/* 100k keep; commands: over max_nodes */
	size_t n = 100001;
	char *big = xmalloc(n * 5 + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(big + i * 5, "keep;", 5);
	big[n * 5] = '\0';
	struct sieve_limits lim = { .max_script_size = n * 5 + 1 };
	struct sieve_script *s = sieve_compile(big, n * 5, &lim, NULL, NULL, &d);
	CHECK(s == NULL);
	CHECK_STR(d.message, "line 1: script too complex: more than 100000 commands and tests (column 500001)");
	free(big);
	/* the default script size */
	char *huge = xmalloc(600 * 1024);
	memset(huge, ' ', 600 * 1024);
	CHECK(sieve_compile(huge, 600 * 1024, NULL, NULL, NULL, &d) == NULL);
	CHECK_STR(d.message, "script too large (614400 bytes, at most 524288)");
	CHECK_INT(d.line, 0);
	free(huge);
	/* deep nesting: blocks and tests */
	struct buf_s { char b[4096]; } deep;
	size_t off = 0;
	for (int i = 0; i < 70; i++)
		off += (size_t)snprintf(deep.b + off, sizeof(deep.b) - off, "if true {");
	CHECK(compile(deep.b, &d) == NULL);
	CHECK_STR(d.message, "line 1: nesting too deep (more than 64 levels) (column 580)");
	off = 0;
	off += (size_t)snprintf(deep.b + off, sizeof(deep.b) - off, "if ");
	for (int i = 0; i < 100; i++)
		off += (size_t)snprintf(deep.b + off, sizeof(deep.b) - off, "not ");
	snprintf(deep.b + off, sizeof(deep.b) - off, "true {}");
	CHECK(compile(deep.b, &d) == NULL);
	CHECK(strstr(d.message, "nesting too deep") != NULL);
	/* a 1 MB string literal compiles with a large enough script limit */
	size_t sl = 1 << 20;
	char *str = xmalloc(sl + 64);
	int k = snprintf(str, sl + 64, "require \"reject\"; reject \"");
	memset(str + k, 'x', sl);
	memcpy(str + k + sl, "\";", 3);
	lim.max_script_size = sl + 64;
	s = sieve_compile(str, strlen(str), &lim, NULL, NULL, &d);
	CHECK(s != NULL);
	struct sieve_env e = env_for(MSG1);
	struct sieve_result r;
	CHECK_INT(sieve_run(s, &e, NULL, &r, &d), 0);
	CHECK_INT(strlen(r.actions[0].reason), sl);
	sieve_result_free(&r);
	sieve_script_free(s);
	free(str);
	/* steps */
	struct sieve_limits few = { .max_steps = 50 };
	struct run_out o;
	run_env(__FILE__, __LINE__, "require \"fileinto\"; fileinto \"a\";"
		" if true { if true { if true { keep; } } } keep; keep; keep; keep; keep; keep; keep; keep;"
		" keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep;"
		" keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep;"
		" keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep; keep;",
		&e, &few, &o);
	CHECK_INT(o.rc, -1);
	CHECK_STR(o.d.message, "too many steps (limit 50)");
	CHECK(o.r.implicit_keep);
	CHECK_INT(o.r.nactions, 0);
	sieve_result_free(&o.r);
	/* actions and redirects */
	run_env(__FILE__, __LINE__, "redirect \"a@x.example\"; redirect \"b@x.example\"; redirect \"c@x.example\";"
		" redirect \"d@x.example\"; redirect \"a@x.example\"; redirect \"e@x.example\";", &e, NULL, &o);
	CHECK_INT(o.rc, -1);
	CHECK_STR(o.d.message, "line 1: too many redirects (at most 4) (column 121)");
	CHECK(o.r.implicit_keep);
	CHECK_INT(o.r.nactions, 0);
	sieve_result_free(&o.r);
	struct sieve_limits two = { .max_actions = 2 };
	run_env(__FILE__, __LINE__, "require \"fileinto\"; fileinto \"a\"; fileinto \"b\"; fileinto \"c\";", &e, &two, &o);
	CHECK_INT(o.rc, -1);
	CHECK_STR(o.d.message, "line 1: too many actions (at most 2) (column 49)");
	sieve_result_free(&o.r);
	/* variable size and count */
	struct sieve_limits small = { .max_variable_size = 8, .max_variables = 2 };
	run_env(__FILE__, __LINE__, "require [\"variables\", \"fileinto\"]; set \"a\" \"0123456789abc\";"
		" fileinto \"${a}\";", &e, &small, &o);
	CHECK_INT(o.rc, 0);
	CHECK_STR(o.r.actions[0].mailbox, "01234567");
	sieve_result_free(&o.r);
	run_env(__FILE__, __LINE__, "require [\"variables\"]; set \"a\" \"1\"; set \"b\" \"2\"; set \"a\" \"3\";"
		" set \"c\" \"4\";", &e, &small, &o);
	CHECK_INT(o.rc, -1);
	CHECK_STR(o.d.message, "line 1: too many variables (at most 2) (column 63)");
	sieve_result_free(&o.r);
	/* a runtime error keeps the message */
	run_env(__FILE__, __LINE__, "require [\"variables\"]; set \"a\" \"not an address\"; discard; redirect \"${a}\";",
		&e, NULL, &o);
	CHECK_INT(o.rc, -1);
	CHECK(o.r.implicit_keep);
	CHECK_INT(o.r.nactions, 0);
	sieve_result_free(&o.r);
}

TEST(sieve_extensions_list)
{
	const char *x = sieve_extensions();
	CHECK(strstr(x, "fileinto") != NULL);
	CHECK(strstr(x, "imap4flags") != NULL);
	CHECK(strstr(x, "vacation-seconds") != NULL);
	CHECK(strstr(x, "comparator-i;ascii-numeric") != NULL);
	/* every listed extension can be required */
	char *copy = xstrdup(x);
	for (char *save = NULL, *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		char script[128];
		snprintf(script, sizeof(script), "require \"%s\";", w);
		OK(script);
	}
	free(copy);
}

/* Examples in the style of each extension RFC's own (compile only). */
TEST(sieve_compile_extension_examples)
{
	/* RFC 5229 */
	OK("require [\"variables\", \"fileinto\"];\n"
	   "set \"honorific\" \"Mr\";\nset \"first_name\" \"Wile\";\nset \"last_name\" \"Coyote\";\n"
	   "set \"vacation\" text:\nDear ${HONORIFIC} ${last_name},\nI'm out, please leave a message after the meep.\n.\n;\n"
	   "if header :matches \"List-ID\" \"*<*@*\" { fileinto \"INBOX.lists.${2}\"; stop; }\n"
	   "if header :matches \"Subject\" \"[*] *\" { fileinto \"INBOX.lists.${1}\"; stop; }\n"
	   "if address :matches [\"To\", \"Cc\"] [\"coyote@**.com\", \"wile@**.com\"] { fileinto \"INBOX.business.${2}\"; stop; }\n"
	   "set :lower :upperfirst \"b\" \"${a}\";\nset :length \"c\" \"${b}\";\n");
	/* RFC 5232 */
	OK("require [\"imap4flags\", \"fileinto\", \"variables\"];\n"
	   "if size :over 500K { setflag \"\\\\Deleted\"; }\n"
	   "if header :contains \"from\" \"boss@frobnitzm.example.edu\" {\n"
	   "  setflag \"flagvar\" \"\\\\Flagged\"; fileinto :flags \"${flagvar}\" \"INBOX.From Boss\";\n}\n"
	   "addflag \"flagvar\" [\"\\\\Deleted\", \"\\\\Answered\"];\n"
	   "if hasflag :contains \"MyVar\" \"Junk\" { removeflag \"MyVar\" \"Junk\"; }\n"
	   "keep :flags [\"\\\\Seen\"];");
	/* RFC 5230 / 6131 / 8580 */
	OK("require \"vacation\";\nif header :contains \"subject\" \"cyrus\" {\n"
	   "  vacation \"I'm out -- send mail to cyrus-bugs\";\n} else {\n"
	   "  vacation \"I'm out -- call me at +1 304 555 0123\";\n}");
	OK("require [\"vacation\", \"variables\"];\nif header :matches \"subject\" \"*\" {\n"
	   "  vacation :subject \"Automatic response to: ${1}\" \"I'm away\";\n}");
	OK("require \"vacation\";\nvacation :days 23 :addresses [\"tjs@example.edu\", \"ts4z@landru.example.edu\"]\n"
	   " :mime \"Content-Type: text/plain\r\n\r\nI'm away.\";");
	OK("require [\"vacation\", \"vacation-seconds\", \"fcc\"];\nvacation :seconds 1800 :fcc \"INBOX.Sent\" :handle \"h\" \"x\";");
	BAD("require \"vacation\"; vacation :seconds 60 \"x\";",
	    "line 1: \":seconds\" used without require \"vacation-seconds\" (column 30)");
	BAD("require \"vacation\"; vacation :days 1 :seconds 60 \"x\";",
	    "line 1: \":seconds\" used without require \"vacation-seconds\" (column 38)");
	BAD("require [\"vacation\", \"imap4flags\"]; vacation :flags \"x\" \"y\";",
	    "line 1: vacation: :flags, :create, :specialuse and :mailboxid need :fcc (column 37)");
	/* RFC 5231 */
	OK("require [\"relational\", \"comparator-i;ascii-numeric\", \"fileinto\"];\n"
	   "if header :value \"lt\" :comparator \"i;ascii-numeric\" [\"x-priority\"] [\"3\"] { fileinto \"Priority\"; }\n"
	   "elsif address :count \"gt\" :comparator \"i;ascii-numeric\" [\"to\"] [\"5\"] { fileinto \"unimportant\"; }\n"
	   "elsif address :value \"gt\" :all :comparator \"i;ascii-casemap\" [\"from\"] [\"M\"] { fileinto \"From N-Z\"; }");
	/* RFC 5233 */
	OK("require [\"envelope\", \"subaddress\", \"fileinto\"];\n"
	   "if envelope :user \"to\" \"postmaster\" { fileinto \"inbox.postmaster\"; stop; }\n"
	   "if envelope :detail :is \"to\" \"mta-filters\" { fileinto \"inbox.ietf-mta-filters\"; }");
	/* RFC 5173 */
	OK("require [\"body\", \"fileinto\"];\n"
	   "if body :raw :contains \"MAKE MONEY FAST\" { discard; }\n"
	   "if body :content \"text\" :contains [\"missile\", \"coordinates\"] { fileinto \"secrets\"; }\n"
	   "if body :content \"audio/mp3\" :contains \"\" { fileinto \"jukebox\"; }\n"
	   "if body :text :contains \"project schedule\" { fileinto \"project/schedule\"; }");
	/* RFC 5260 */
	OK("require [\"date\", \"relational\", \"fileinto\", \"variables\", \"index\"];\n"
	   "if allof(currentdate :value \"ge\" \"date\" \"2007-06-30\", currentdate :value \"le\" \"date\" \"2007-07-07\")"
	   " { fileinto \"vacation\"; }\n"
	   "if date :value \"ge\" :originalzone \"date\" \"hour\" \"09\" { discard; }\n"
	   "if currentdate :matches \"std11\" \"*\" { set \"d\" \"${0}\"; }\n"
	   "if date :zone \"-0800\" :index 2 :last :is \"received\" \"year\" \"2007\" { keep; }");
	BAD("require \"date\"; if currentdate :is \"month-ish\" \"1\" {}",
	    "line 1: unknown date part \"month-ish\" (column 36)");
	BAD("require \"date\"; if currentdate :zone \"0800\" :is \"month\" \"1\" {}",
	    "line 1: invalid time zone \"0800\" (+hhmm or -hhmm) (column 38)");
	BAD("require [\"date\", \"index\"]; if date :last :is \"date\" \"year\" \"1\" {}",
	    "line 1: \":last\" needs \":index\" (column 36)");
	BAD("require \"date\"; if header :index 1 \"a\" \"b\" {}",
	    "line 1: \":index\" used without require \"index\" (column 27)");
	/* RFC 5293 */
	OK("require [\"editheader\", \"variables\"];\n"
	   "if header :matches \"Subject\" \"*\" { deleteheader \"Subject\"; addheader \"Subject\" \"[SPAM] ${1}\"; }\n"
	   "addheader :last \"X-Sieve-Filtered\" \"<kim@job.example.com>\";\n"
	   "deleteheader :index 1 :last :contains \"x-a\" [\"1\", \"2\"];");
	BAD("require \"editheader\"; addheader \"Bad Name\" \"x\";",
	    "line 1: addheader: invalid header field name \"Bad Name\" (column 33)");
	/* RFC 5235, 5490, 8579, 9042, 3894, 5429, 6609, 7352 */
	OK("require [\"spamtestplus\", \"virustest\", \"fileinto\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
	   "if spamtest :percent :value \"gt\" :comparator \"i;ascii-numeric\" \"50\" { fileinto \"spam\"; }\n"
	   "if virustest :value \"eq\" :comparator \"i;ascii-numeric\" \"0\" { fileinto \"Unscanned\"; }");
	BAD("require \"spamtest\"; if spamtest :percent \"1\" {}",
	    "line 1: \":percent\" used without require \"spamtestplus\" (column 33)");
	OK("require [\"mailbox\", \"fileinto\"]; if mailboxexists \"Partners\" { fileinto :create \"Partners\"; }");
	OK("require [\"special-use\", \"fileinto\"]; fileinto :specialuse \"\\\\Junk\" \"Spam\";"
	   " if specialuse_exists [\"\\\\Junk\", \"\\\\Trash\"] { keep; }");
	OK("require [\"mailboxid\", \"fileinto\"]; if mailboxidexists \"F6352ae03\" { fileinto :mailboxid \"F6352ae03\" \"x\"; }");
	OK("require [\"copy\", \"fileinto\"]; redirect :copy \"a@example.org\"; fileinto :copy \"x\";");
	OK("require [\"reject\", \"ereject\"]; if size :over 1M { ereject \"too big\"; } else { reject \"no\"; }");
	OK("require [\"include\", \"variables\"]; global [\"a\", \"b\"]; set \"global.c\" \"1\"; return;");
	OK("require \"duplicate\"; if duplicate :header \"list-id\" :handle \"l\" :seconds 1800 :last { discard; }");
	BAD("require \"variables\"; set \"1a\" \"x\";", "line 1: set: invalid variable name \"1a\" (column 26)");
	BAD("require \"imap4flags\"; setflag \"v\" \"x\";",
	    "line 1: setflag: a variable name needs require \"variables\" (column 31)");
	BAD("if true { keep; } else keep;", "line 1: \"else\" needs a block { ... } (column 19)");
	BAD("stop stop;", "line 1: missing ';' after \"stop\" (column 6)");
	BAD("if header :contains \"a\" [] {}", "line 1: expected a string in the list, found ']' (column 26)");
	BAD("require \"fileinto\"; fileinto :copy \"x\";",
	    "line 1: \":copy\" used without require \"copy\" (column 30)");
	BAD("require \"fileinto\"; fileinto 1;", "line 1: \"fileinto\" expects a string here (column 30)");
	BAD("require \"fileinto\"; fileinto;", "line 1: missing argument for \"fileinto\" (column 21)");
	BAD("if header :is \"a\" \"b\" :is {}", "line 1: tagged argument \":is\" after positional arguments (column 23)");
	BAD("if header :comparator 1 \"a\" \"b\" {}", "line 1: \":comparator\" needs a string (column 23)");
	BAD("require \"comparator-i;ascii-numeric\"; if header :contains :comparator \"i;ascii-numeric\" \"a\" \"b\" {}",
	    "line 1: comparator \"i;ascii-numeric\" only supports :is, :value and :count (column 42)");
	BAD("require \"encoded-character\"; keep; require \"fileinto\";",
	    "line 1: require must come before other commands (column 36)");
	BAD("if true { require \"fileinto\"; }", "line 1: require must come before other commands (column 11)");
	BAD("require [\"vacation\"]; vacation :from \"not an address\" \"x\";",
	    "line 1: vacation: invalid :from address \"not an address\" (column 38)");
}

TEST(sieve_hostile_inputs)
{
	struct sieve_diag d;
	/* back-references would make :regex exponential */
	BAD("require \"regex\"; if header :regex \"s\" \"(a*)*\\\\1\" {}",
	    "line 1: regular expression \"(a*)*\\1\": back-references are not supported (column 39)");
	/* a list of 120k strings parses in linear time */
	size_t n = 120000;
	char *s = xmalloc(n * 4 + 64);
	size_t off = (size_t)snprintf(s, 64, "if header :is \"x\" [");
	for (size_t i = 0; i < n; i++) {
		memcpy(s + off, i ? ",\"a\"" : "\"a\" ", 4);
		off += 4;
	}
	memcpy(s + off, "] {}", 5);
	struct sieve_script *sc = sieve_compile(s, strlen(s), NULL, NULL, NULL, &d);
	CHECK(sc != NULL);
	struct run_out o;
	/* the keys against a long header: bounded by max_steps */
	size_t hl = 200000;
	char *msg = xmalloc(hl + 32);
	int k = snprintf(msg, hl + 32, "X: ");
	memset(msg + k, 'a', hl);
	memcpy(msg + k + hl, "\r\n\r\n", 5);
	struct sieve_env e = env_for(msg);
	struct sieve_limits lim = { .max_steps = 100000 };
	o.rc = sieve_run(sc, &e, &lim, &o.r, &o.d);
	CHECK_INT(o.rc, -1);
	CHECK_STR(o.d.message, "too many steps (limit 100000)");
	sieve_result_free(&o.r);
	sieve_script_free(sc);
	free(s);
	/* :matches against a long value counts value * pattern work */
	run_env(__FILE__, __LINE__, "if header :matches \"x\" \"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\" {}",
		&e, &lim, &o);
	CHECK_INT(o.rc, 0);
	sieve_result_free(&o.r);
	/* variables that double: capped at max_variable_size, expansion counted */
	run_env(__FILE__, __LINE__, "require \"variables\"; set \"a\" \"xxxxxxxxxxxxxxxx\";"
		" set \"a\" \"${a}${a}\"; set \"a\" \"${a}${a}\"; set \"a\" \"${a}${a}\"; set \"a\" \"${a}${a}\";"
		" set \"a\" \"${a}${a}\"; set \"a\" \"${a}${a}\"; set \"a\" \"${a}${a}\"; set \"a\" \"${a}${a}\";"
		" set \"a\" \"${a}${a}\"; set \"a\" \"${a}${a}\"; if string :is \"${a}\" \"\" { discard; }", &e, NULL, &o);
	CHECK_INT(o.rc, 0);
	CHECK_INT(o.r.nactions, 0);
	sieve_result_free(&o.r);
	/* a regex that takes glibc long to match over the (capped) value:
	 * the wall-clock limit stops the run, whatever the step count */
	struct sieve_limits quick = { .max_run_ms = 1 };
	run_env(__FILE__, __LINE__, "require \"regex\"; if header :regex \"x\" \"(.*a){1,20}b\" {}"
		" if header :regex \"x\" \"(.*a){1,20}c\" {} if header :regex \"x\" \"(.*a){1,20}d\" {}",
		&e, &quick, &o);
	CHECK_INT(o.rc, -1);
	CHECK_STR(o.d.message, "script ran too long (limit 1 ms)");
	CHECK(o.r.implicit_keep);
	sieve_result_free(&o.r);
	free(msg);
	/* bounded repetitions are copied out by regcomp (a{1,32767} took
	 * 20 s): bounds above 255 and patterns that expand past 4096 atoms
	 * are refused at compile time, with the reason */
	BAD("require \"regex\"; if header :regex \"s\" \"a{1,32767}\" {}",
	    "line 1: regular expression \"a{1,32767}\": a repetition bound is above 255 (column 39)");
	BAD("require \"regex\"; if header :regex \"s\" \"((a{1,30}){1,30}){1,30}\" {}",
	    "line 1: regular expression \"((a{1,30}){1,30}){1,30}\": repetitions expand it beyond 4096 atoms"
	    " (column 39)");
	BAD("require \"regex\"; if header :regex \"s\" \"(a|bc+|d{20}){255}x{2,}\" {}",
	    "line 1: regular expression \"(a|bc+|d{20}){255}x{2,}\": repetitions expand it beyond 4096 atoms"
	    " (column 39)");
	CHECK((sc = compile("require \"regex\"; if header :regex \"s\" \"(a{1,40}){1,50}[{]{3}a{,2}\\\\{9}\" {}",
			    &d)) != NULL);
	sieve_script_free(sc);
	/* NUL bytes in a script are an error, not a truncation */
	CHECK(sieve_compile("keep;\0discard;", 14, NULL, NULL, NULL, &d) == NULL);
	CHECK_STR(d.message, "line 1: unexpected byte 0x00 (column 6)");
	/* a NUL inside a required extension name */
	CHECK(sieve_compile("require \"fileinto\0x\";", 21, NULL, NULL, NULL, &d) == NULL);
	CHECK_STR(d.message, "line 1: require \"fileinto\": extension not supported (column 9)");
}

TEST(sieve_multiline_and_field_scans)
{
	/* LF-only lines become CRLF; dot-stuffing undone */
	struct run_out o;
	RUN("require \"reject\";\nreject text:\na\n..b\n\n.\n;", &o);
	CHECK_INT(o.rc, 0);
	CHECK_STR(o.r.actions[0].reason, "a\r\n.b\r\n\r\n");
	sieve_result_free(&o.r);
	RUN("require \"reject\"; reject text: # comment\r\nx\r\n.\r\n;", &o);
	CHECK_STR(o.r.actions[0].reason, "x\r\n");
	sieve_result_free(&o.r);
	/* many names against many fields: bounded by the step limit */
	size_t nf = 5000;
	char *msg = xmalloc(nf * 8 + 16);
	size_t off = 0;
	for (size_t i = 0; i < nf; i++) {
		memcpy(msg + off, "X-A: 1\r\n", 8);
		off += 8;
	}
	memcpy(msg + off, "\r\nbody\r\n", 9);
	size_t nn = 20000;
	char *script = xmalloc(nn * 6 + 64);
	size_t so = (size_t)snprintf(script, 64, "if exists [\"x-a\"");
	for (size_t i = 0; i < nn; i++) {
		memcpy(script + so, ",\"x-b\"", 6);
		so += 6;
	}
	memcpy(script + so, "] {}", 5);
	struct sieve_env e = env_for(msg);
	struct sieve_limits lim = { .max_steps = 100000 };
	run_env(__FILE__, __LINE__, script, &e, &lim, &o);
	CHECK_INT(o.rc, 0);	/* the first missing name ends it */
	sieve_result_free(&o.r);
	script[10] = ' ';
	memcpy(script, "if header ", 10);
	so = (size_t)snprintf(script, 64, "if header :is [\"x-b\"");
	for (size_t i = 0; i < nn; i++) {
		memcpy(script + so, ",\"x-b\"", 6);
		so += 6;
	}
	memcpy(script + so, "] \"2\" {}", 9);
	run_env(__FILE__, __LINE__, script, &e, &lim, &o);
	CHECK_INT(o.rc, -1);
	CHECK_STR(o.d.message, "too many steps (limit 100000)");
	sieve_result_free(&o.r);
	free(script);
	free(msg);
}

TEST(sieve_addresses)
{
	static const char msg[] =
		"From: \"Doe, John\" <john.doe@Example.COM> (work), (c) jane@example.org\r\n"
		"To: friends: a@x.example, \"b;c\" <b@x.example>;, <@route.example:c@x.example>\r\n"
		"Cc: d+@x.example, e+tag+more@x.example\r\n"
		"Sender: not an address\r\n"
		"\r\n";
	struct run_out o;
#define ADDR(script, want) do { \
		run_msg(__FILE__, __LINE__, script, msg, &o); \
		char *s_ = summary(&o.r); \
		if (strcmp(s_, want) != 0) \
			unit_fail(__FILE__, __LINE__, "result \"%s\", expected \"%s\"", s_, want); \
		free(s_); sieve_result_free(&o.r); } while (0)
	ADDR("if address :is \"from\" \"john.doe@example.com\" { discard; }", "discard");
	ADDR("if address :is :localpart \"from\" \"jane\" { discard; }", "discard");
	ADDR("if address :is :domain \"from\" \"EXAMPLE.com\" { discard; }", "discard");
	ADDR("if address :is :all :comparator \"i;octet\" \"from\" \"john.doe@example.com\" { discard; }", "implicit");
	ADDR("if address :is \"to\" [\"a@x.example\"] { if address :is \"to\" \"b@x.example\" {"
	     " if address :is \"to\" \"c@x.example\" { discard; } } }", "discard");
	ADDR("require [\"relational\", \"comparator-i;ascii-numeric\"];"
	     " if address :count \"eq\" :comparator \"i;ascii-numeric\" \"to\" \"3\" { discard; }", "discard");
	ADDR("require \"subaddress\"; if address :detail :is \"cc\" \"\" { discard; }", "discard");
	ADDR("require \"subaddress\"; if address :detail :is \"cc\" \"tag+more\" { discard; }", "discard");
	ADDR("require \"subaddress\"; if address :user :is \"cc\" \"e\" { discard; }", "discard");
	ADDR("if address :contains \"sender\" \"address\" { discard; }", "discard");
	/* RFC 5228 5.4: the null reverse-path */
	struct sieve_env e = env_for(msg);
	e.envelope_from = "";
	run_env(__FILE__, __LINE__, "require \"envelope\"; if envelope :is \"from\" \"\" { discard; }", &e, NULL, &o);
	CHECK_INT(o.r.nactions, 1);
	sieve_result_free(&o.r);
#undef ADDR
}

TEST(sieve_columns_and_body_limit)
{
	BAD("require \"fileinto\"; fileinto \"Café\"; filein \"x\";", "line 1: unknown command \"filein\" (column 38)");
	BAD("\t\tkeep stop;", "line 1: missing ';' after \"keep\" (column 8)");
	/* body tests read at most max_body_scan bytes of body */
	size_t n = 100000;
	char *msg = xmalloc(n + 64);
	int k = snprintf(msg, 64, "Subject: x\r\n\r\n");
	memset(msg + k, 'a', n);
	memcpy(msg + k + n, "NEEDLE\r\n", 9);
	struct sieve_env e = env_for(msg);
	struct sieve_limits lim = { .max_body_scan = 50000 };
	struct run_out o;
	run_env(__FILE__, __LINE__, "require \"body\"; if body :raw :contains \"NEEDLE\" { discard; }", &e, &lim, &o);
	CHECK_INT(o.rc, 0);
	CHECK_INT(o.r.nactions, 0);
	sieve_result_free(&o.r);
	lim.max_body_scan = 200000;
	run_env(__FILE__, __LINE__, "require \"body\"; if body :raw :contains \"NEEDLE\" { discard; }", &e, &lim, &o);
	CHECK_INT(o.r.nactions, 1);
	sieve_result_free(&o.r);
	run_env(__FILE__, __LINE__, "require \"body\"; if body :text :contains \"needle\" { discard; }", &e, &lim, &o);
	CHECK_INT(o.r.nactions, 1);
	sieve_result_free(&o.r);
	free(msg);
}

TEST(sieve_body_content_charset)
{
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: text/plain; charset=\"ISO-8859-1\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
		"caf=E9 cr=E8me\r\n"
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		"c2VjcmV0\r\n--b--\r\n";
	struct run_out o;
	run_msg(__FILE__, __LINE__, "require \"body\"; if body :content \"text\" :contains \"café crème\" { discard; }", msg, &o);
	CHECK_INT(o.r.nactions, 1);
	sieve_result_free(&o.r);
	run_msg(__FILE__, __LINE__, "require \"body\"; if body :text :contains \"CAFé CRèME\" { discard; }", msg, &o);
	CHECK_INT(o.r.nactions, 1);
	sieve_result_free(&o.r);
	run_msg(__FILE__, __LINE__, "require \"body\"; if body :content \"application/octet-stream\" :is \"secret\" { discard; }",
		msg, &o);
	CHECK_INT(o.r.nactions, 1);
	sieve_result_free(&o.r);
	run_msg(__FILE__, __LINE__, "require \"body\"; if body :content \"text\" :contains \"secret\" { discard; }", msg, &o);
	CHECK_INT(o.r.nactions, 0);
	sieve_result_free(&o.r);
}
