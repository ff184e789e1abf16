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
