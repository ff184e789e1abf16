/*
 * test-sieve: the Sieve compiler (RFC 5228 grammar and the checks of
 * every extension) and interpreter.
 */
#include <stdlib.h>
#include <string.h>
#include "lib/alloc.h"
#include "sieve/sieve.h"
#include "unit.h"

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
	BAD("keep", "line 1, column 5: missing ';' after \"keep\"");
	BAD("keep\nstop;", "line 2, column 1: missing ';' after \"keep\"");
	BAD("require \"fileinto\";\nif true {\n  filein \"x\";\n}", "line 3, column 3: unknown command \"filein\"");
	BAD("fileinto \"x\";", "line 1, column 1: \"fileinto\" used without require \"fileinto\"");
	BAD("require \"foo\";", "line 1, column 9: require \"foo\": extension not supported");
	BAD("require [\"fileinto\", \"x-bar\"];", "line 1, column 9: require \"x-bar\": extension not supported");
	BAD("keep;\nrequire \"fileinto\";", "line 2, column 1: require must come before other commands");
	BAD("if header \"a\" \"b\" {\n keep;\n", "line 3, column 1: missing '}' at end of script");
	BAD("keep;\n}", "line 2, column 1: unexpected '}'");
	BAD("if header :is \"Subject\" \"abc {\n keep;\n}", "line 1, column 25: unterminated string");
	BAD("/* open", "line 1, column 1: unterminated comment");
	BAD("if header :foo \"a\" \"b\" { keep; }",
	    "line 1, column 11: unknown tagged argument \":foo\" for \"header\"");
	BAD("if header :is :contains \"a\" \"b\" { keep; }",
	    "line 1, column 15: \":contains\" conflicts with \":is\"");
	BAD("if header :is :is \"a\" \"b\" { keep; }",
	    "line 1, column 15: tagged argument \":is\" given twice");
	BAD("if header \"a\" { keep; }", "line 1, column 4: missing argument for \"header\"");
	BAD("if size :over \"1\" { keep; }", "line 1, column 15: \"size\" expects a number here");
	BAD("if size 1 { keep; }", "line 1, column 4: size needs :over or :under");
	BAD("redirect [\"a@b.c\"];", "line 1, column 10: \"redirect\" expects a string here");
	BAD("redirect \"a@b.c\" \"d\";", "line 1, column 18: too many arguments for \"redirect\"");
	BAD("redirect \"not an address\";", "line 1, column 10: redirect: invalid address \"not an address\"");
	BAD("elsif true { keep; }", "line 1, column 1: \"elsif\" without a preceding if");
	BAD("if true { keep; }\nkeep;\nelse { keep; }", "line 3, column 1: \"else\" without a preceding if");
	BAD("if keep { }", "line 1, column 4: \"keep\" is a command, not a test");
	BAD("header \"a\" \"b\";", "line 1, column 1: \"header\" is a test, not a command");
	BAD("if foo { }", "line 1, column 4: unknown test \"foo\"");
	BAD("if true;", "line 1, column 1: \"if\" needs a block { ... }");
	BAD("if (true) { keep; }", "line 1, column 1: \"if\" needs exactly one test");
	BAD("if allof true { keep; }", "line 1, column 4: \"allof\" needs a test list in ( )");
	BAD("if header :comparator \"i;foo\" \"a\" \"b\" { keep; }",
	    "line 1, column 23: comparator \"i;foo\" not supported");
	BAD("if size :over 99999999999999999999 { keep; }", "line 1, column 15: number too large");
	BAD("keep :copy;", "line 1, column 6: unknown tagged argument \":copy\" for \"keep\"");
	BAD("redirect :copy \"a@b.c\";", "line 1, column 10: \":copy\" used without require \"copy\"");
	BAD("if header :count \"eq\" \"a\" \"1\" { keep; }",
	    "line 1, column 11: \":count\" used without require \"relational\"");
	BAD("if header :is [\"a\" \"b\"] \"c\" { keep; }", "line 1, column 20: expected ',' or ']', found string");
	BAD("keep; @", "line 1, column 7: unexpected character '@'");
	BAD("if header : \"a\" \"b\" {}", "line 1, column 11: expected a tag name after ':'");
	BAD("require \"reject\"; reject text:\nabc\n", "line 1, column 26: unterminated multi-line string (missing \".\" line)");
	BAD("if address :user \"to\" \"x\" {}", "line 1, column 12: \":user\" used without require \"subaddress\"");
	BAD("require \"relational\"; if header :value \"xx\" \"a\" \"1\" {}",
	    "line 1, column 40: relational operator \"xx\" unknown (gt, ge, lt, le, eq or ne)");
	BAD("require \"regex\"; if header :regex \"a\" \"(\" {}",
	    "line 1, column 39: invalid regular expression \"(\": Unmatched ( or \\(");
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
