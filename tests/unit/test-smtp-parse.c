/* Unit tests for src/smtp/smtp-parse.c and the Received: builder. */
#include "unit.h"
#include "smtp/smtp-parse.h"
#include "smtp/smtp-session.h"
#include <stdlib.h>
#include <string.h>

TEST(smtp_parse_verb)
{
	static const struct {
		const char *line, *verb, *args;
	} ok[] = {
		{"EHLO example.org", "EHLO", "example.org"},
		{"mail FROM:<a@b>", "MAIL", "FROM:<a@b>"},
		{"QUIT", "QUIT", ""},
		{"StartTLS", "STARTTLS", ""},
		{"data ", "DATA", ""},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char verb[SMTP_MAX_VERB + 1];
		const char *args = NULL;
		CHECK_INT(smtp_parse_verb(ok[i].line, verb, &args), 0);
		CHECK_STR(verb, ok[i].verb);
		CHECK_STR(args, ok[i].args);
	}
	static const char *const bad[] = {"", " EHLO", "EH1O x", "ABCDEFGHIJKLMNOPQ", "MAIL:x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char verb[SMTP_MAX_VERB + 1];
		const char *args;
		CHECK_INT(smtp_parse_verb(bad[i], verb, &args), -1);
	}
}

TEST(smtp_parse_path_ok)
{
	static const struct {
		const char *args, *prefix, *path;
		size_t nparams;
		const char *kw0, *val0;
	} cases[] = {
		{"FROM:<alice@example.com>", "FROM:", "alice@example.com", 0, NULL, NULL},
		{"from: <a@b.c> SIZE=100", "FROM:", "a@b.c", 1, "SIZE", "100"},
		{"FROM:<>", "FROM:", "", 0, NULL, NULL},
		{"FROM:<> body=8bitmime SMTPUTF8", "FROM:", "", 2, "BODY", "8bitmime"},
		{"TO:<@relay.example,@b.example:bob@example.com>", "TO:", "bob@example.com", 0, NULL,
		 NULL},
		{"TO:<\"a b\"@example.com> NOTIFY=NEVER", "TO:", "\"a b\"@example.com", 1, "NOTIFY",
		 "NEVER"},
		{"TO:<x@y>  ORCPT=rfc822;x@y", "TO:", "x@y", 1, "ORCPT", "rfc822;x@y"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *copy = strdup(cases[i].args);
		struct smtp_path_args pa;
		CHECK_INT(smtp_parse_path_args(copy, cases[i].prefix, &pa), SMTP_PATH_OK);
		CHECK_STR(pa.path, cases[i].path);
		CHECK_INT(pa.nparams, cases[i].nparams);
		if (cases[i].kw0 != NULL && pa.nparams > 0) {
			CHECK_STR(pa.params[0].keyword, cases[i].kw0);
			CHECK_STR(pa.params[0].value, cases[i].val0);
		}
		free(copy);
	}
}

TEST(smtp_parse_path_bad)
{
	char longpath[SMTP_MAX_PATH + 64];
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "TO:<", 4);
	memcpy(longpath + sizeof(longpath) - 3, "@b>", 3);
	char longcopy[sizeof(longpath) + 1];
	memcpy(longcopy, longpath, sizeof(longpath));
	longcopy[sizeof(longpath)] = '\0';
	const struct {
		const char *args, *prefix;
		enum smtp_path_result want;
	} cases[] = {
		{"FROM:alice@example.com", "FROM:", SMTP_PATH_SYNTAX},
		{"FROM:<alice@example.com", "FROM:", SMTP_PATH_SYNTAX},
		{"TO:<a@b>", "FROM:", SMTP_PATH_SYNTAX},
		{"FROM:<a@b>x", "FROM:", SMTP_PATH_SYNTAX},
		{"FROM:<a b@c>", "FROM:", SMTP_PATH_BAD_ADDRESS},
		{"FROM:<a\tb@c>", "FROM:", SMTP_PATH_BAD_ADDRESS},
		{"FROM:<a\rb@c>", "FROM:", SMTP_PATH_BAD_ADDRESS},
		{"FROM:<a<b@c>", "FROM:", SMTP_PATH_BAD_ADDRESS},
		/* quoted-pairSMTP is %d92 %d32-126: no DEL or control escaped */
		{"FROM:<\"a\\\x7f\"@c>", "FROM:", SMTP_PATH_BAD_ADDRESS},
		{"FROM:<\"a\\\x01\"@c>", "FROM:", SMTP_PATH_BAD_ADDRESS},
		{"FROM:<\"a\\ b\"@c>", "FROM:", SMTP_PATH_OK},
		{"TO:<@relay:>", "TO:", SMTP_PATH_OK}, /* empty after route: caller rejects */
		{"TO:<@relay>", "TO:", SMTP_PATH_BAD_ADDRESS},
		{"FROM:<a@b> =1", "FROM:", SMTP_PATH_BAD_PARAM},
		{"FROM:<a@b> SIZE=", "FROM:", SMTP_PATH_BAD_PARAM},
		{"FROM:<a@b> -X=1", "FROM:", SMTP_PATH_BAD_PARAM},
		{"FROM:<a@b> A=1 B=2 C=3 D=4 E=5 F=6 G=7 H=8 I=9 J=10 K=11 L=12 M=13 N=14 O=15 P=16 Q=17",
		 "FROM:", SMTP_PATH_TOO_MANY_PARAMS},
		{longcopy, "TO:", SMTP_PATH_TOO_LONG},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *copy = strdup(cases[i].args);
		struct smtp_path_args pa;
		enum smtp_path_result r = smtp_parse_path_args(copy, cases[i].prefix, &pa);
		if (r != cases[i].want)
			unit_fail(__FILE__, __LINE__, "case %zu (%.40s): got %d want %d", i,
				  cases[i].args, r, cases[i].want);
		free(copy);
	}
}

/* RFC 5321 4.1.2 Quoted-string local parts, as RCPT sees them. */
TEST(smtp_path_unquote)
{
	static const struct {
		const char *path;
		enum smtp_local_form form;
		const char *out; /* SMTP_LOCAL_UNQUOTED only */
	} cases[] = {
		{"alice@example.com", SMTP_LOCAL_PLAIN, NULL},
		{"postmaster", SMTP_LOCAL_PLAIN, NULL},
		{"", SMTP_LOCAL_PLAIN, NULL},
		{"\"alice\"@example.com", SMTP_LOCAL_UNQUOTED, "alice@example.com"},
		{"\"al.ice\"@example.com", SMTP_LOCAL_UNQUOTED, "al.ice@example.com"},
		{"\"Alice+tag\"@Example.COM", SMTP_LOCAL_UNQUOTED, "Alice+tag@Example.COM"},
		{"\"al\\ice\"@example.com", SMTP_LOCAL_UNQUOTED, "alice@example.com"}, /* quoted-pair */
		{"\"postmaster\"", SMTP_LOCAL_UNQUOTED, "postmaster"},
		{"\"j\xc3\xb6rg\"@example.com", SMTP_LOCAL_UNQUOTED, "j\xc3\xb6rg@example.com"},
		/* valid Quoted-strings that are no dot-string */
		{"\"al ice\"@example.com", SMTP_LOCAL_QUOTED, NULL},
		{"\"al..ice\"@example.com", SMTP_LOCAL_QUOTED, NULL},
		{"\".alice\"@example.com", SMTP_LOCAL_QUOTED, NULL},
		{"\"a@b\"@example.com", SMTP_LOCAL_QUOTED, NULL},
		{"\"\"@example.com", SMTP_LOCAL_QUOTED, NULL},
		{"\"a\\\"b\"@example.com", SMTP_LOCAL_QUOTED, NULL},
		{"\"a,b\"@example.com", SMTP_LOCAL_QUOTED, NULL},
		{"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"@example.com",
		 SMTP_LOCAL_QUOTED, NULL}, /* 65 octets: over ADDRESS_MAX_LOCAL */
		/* not a Quoted-string at all */
		{"\"alice@example.com", SMTP_LOCAL_BAD, NULL},
		{"\"ali\"ce@example.com", SMTP_LOCAL_BAD, NULL},
		{"\"a\tb\"@example.com", SMTP_LOCAL_BAD, NULL},
		{"\"a\\\x01\"@example.com", SMTP_LOCAL_BAD, NULL},
		{"\"a\\", SMTP_LOCAL_BAD, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[SMTP_MAX_PATH + 1];
		enum smtp_local_form f = smtp_path_unquote(cases[i].path, out);
		CHECK_INT(f, cases[i].form);
		if (f == SMTP_LOCAL_UNQUOTED && cases[i].form == SMTP_LOCAL_UNQUOTED)
			CHECK_STR(out, cases[i].out);
	}
	/* the longest path smtp_parse_path_args() passes on fits */
	char path[SMTP_MAX_PATH + 1], out[SMTP_MAX_PATH + 1];
	memset(path, 'a', SMTP_MAX_PATH);
	path[0] = '"';
	path[SMTP_MAX_PATH] = '\0';
	CHECK_INT(smtp_path_unquote(path, out), SMTP_LOCAL_BAD);
	path[SMTP_MAX_PATH - 1] = '"';
	CHECK_INT(smtp_path_unquote(path, out), SMTP_LOCAL_QUOTED);
}

TEST(smtp_parse_size)
{
	uint64_t v = 7;
	CHECK_INT(smtp_parse_size("0", &v), 0);
	CHECK_INT(v, 0);
	CHECK_INT(smtp_parse_size("52428800", &v), 0);
	CHECK_INT(v, 52428800);
	CHECK_INT(smtp_parse_size("18446744073709551615", &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_INT(smtp_parse_size("18446744073709551616", &v), 1); /* 2^64 */
	CHECK_INT(smtp_parse_size("99999999999999999999999999", &v), 1);
	CHECK_INT(smtp_parse_size("", &v), -1);
	CHECK_INT(smtp_parse_size("-1", &v), -1);
	CHECK_INT(smtp_parse_size("12k", &v), -1);
	CHECK_INT(smtp_parse_size(" 12", &v), -1);
	CHECK_INT(smtp_parse_size("99999999999999999999999x", &v), -1);
}

TEST(smtp_parse_bdat)
{
	uint64_t size = 0;
	bool last = true;
	CHECK_INT(smtp_parse_bdat("100", &size, &last), 0);
	CHECK_INT(size, 100);
	CHECK(!last);
	CHECK_INT(smtp_parse_bdat("0 LAST", &size, &last), 0);
	CHECK_INT(size, 0);
	CHECK(last);
	CHECK_INT(smtp_parse_bdat("12 last", &size, &last), 0);
	CHECK(last);
	CHECK_INT(smtp_parse_bdat("", &size, &last), -1);
	CHECK_INT(smtp_parse_bdat("12 FIRST", &size, &last), -1);
	CHECK_INT(smtp_parse_bdat("12  LAST", &size, &last), -1);
	CHECK_INT(smtp_parse_bdat("x LAST", &size, &last), -1);
	CHECK_INT(smtp_parse_bdat("18446744073709551616 LAST", &size, &last), 1);
	CHECK_INT(smtp_parse_bdat("999999999999999999999999999999999999", &size, &last), 1);
}

TEST(smtp_helo_valid)
{
	static const char *const ok[] = {"example.org", "mail-1.example.org", "localhost",
					 "[127.0.0.1]", "[IPv6:::1]", "WIN_HOST"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK(smtp_helo_valid(ok[i]));
	static const char *const bad[] = {"", "a b", "evil)(x", "-x", "[]", "[1.2.3.4",
					  "x\r\nReceived:", "caf\xc3\xa9.org", "a;b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (smtp_helo_valid(bad[i]))
			unit_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
	char big[SMTP_MAX_HELO + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(!smtp_helo_valid(big));
}

TEST(smtp_data_classify)
{
	size_t skip = 9;
	/* CRLF . CRLF ends the message */
	CHECK_INT(smtp_data_classify(".", 1, false, true, &skip), SMTP_DATA_END);
	/* "\n.\r\n": the line before ended in a bare LF */
	CHECK_INT(smtp_data_classify(".", 1, false, false, &skip), SMTP_DATA_TEXT);
	CHECK_INT(skip, 1);
	/* "\n.\n" and "\r\n.\n": a bare LF after the dot: text, not the end */
	CHECK_INT(smtp_data_classify(".", 1, true, true, &skip), SMTP_DATA_TEXT);
	CHECK_INT(smtp_data_classify(".", 1, true, false, &skip), SMTP_DATA_TEXT);
	/* "\r.\r\n" arrives as a line with a bare CR inside */
	CHECK_INT(smtp_data_classify("text\r.", 6, false, true, &skip), SMTP_DATA_BAD);
	CHECK_INT(smtp_data_classify("text\r.", 6, true, true, &skip), SMTP_DATA_BAD);
	/* a bare LF line end is a line end (stored as CRLF) */
	CHECK_INT(smtp_data_classify("abc", 3, true, true, &skip), SMTP_DATA_TEXT);
	CHECK_INT(skip, 0);
	/* dot-stuffing */
	CHECK_INT(smtp_data_classify("..", 2, false, true, &skip), SMTP_DATA_TEXT);
	CHECK_INT(skip, 1);
	CHECK_INT(smtp_data_classify(".x", 2, false, true, &skip), SMTP_DATA_TEXT);
	CHECK_INT(skip, 1);
	CHECK_INT(smtp_data_classify("Subject: x", 10, false, true, &skip), SMTP_DATA_TEXT);
	CHECK_INT(skip, 0);
	CHECK_INT(smtp_data_classify("", 0, false, true, &skip), SMTP_DATA_TEXT);
	CHECK_INT(skip, 0);
	CHECK_INT(smtp_data_classify("a\0b", 3, false, true, &skip), SMTP_DATA_TEXT);
}

TEST(smtp_xtext_valid)
{
	CHECK(smtp_xtext_valid("abc+2Bdef"));
	CHECK(smtp_xtext_valid("rfc822"));
	CHECK(!smtp_xtext_valid("a+2b"));
	CHECK(!smtp_xtext_valid("a+"));
	CHECK(!smtp_xtext_valid("a=b"));
	CHECK(!smtp_xtext_valid("a b"));
}

TEST(smtp_xtext_decode)
{
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} cases[] = {
		{"abc+2Bdef", "abc+def"},
		{"rfc822", "rfc822"},
		{"+3D+2B", "=+"},
		{"Bob+40example.com", "Bob@example.com"},
		{"+20sp", " sp"},	   /* RFC 3461 4.4: white space is printable */
		{"", ""},
		{"a+0Db", NULL},	   /* CR: never into a DSN header */
		{"a+0A", NULL},
		{"+00", NULL},
		{"+7F", NULL},
		{"+C3+A9", NULL},	   /* 8-bit */
		{"a+2b", NULL},	   /* lower-case hex is not xtext */
		{"a+2", NULL},
		{"a=b", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = smtp_xtext_decode(cases[i].in);
		if (cases[i].out == NULL)
			CHECK(got == NULL);
		else
			CHECK(got != NULL && strcmp(got, cases[i].out) == 0);
		free(got);
	}
}

TEST(smtp_trace_received)
{
	struct smtp_trace t = {
		.helo = "client.example",
		.ip = "192.0.2.1",
		.hostname = "mx.example.com",
		.protocol = smtp_trace_protocol(false, true, true, false),
		.id = "abc.1",
		.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384",
		.for_rcpt = "alice@example.com",
		.when = 0,
	};
	char *r = smtp_trace_received(&t);
	CHECK_STR(r, "Received: from client.example ([192.0.2.1])\r\n"
		     "\tby mx.example.com (Roost) with ESMTPS id abc.1\r\n"
		     "\t(using TLSv1.3 TLS_AES_256_GCM_SHA384)\r\n"
		     "\tfor <alice@example.com>; Thu, 1 Jan 1970 00:00:00 +0000\r\n");
	free(r);
	t.ip = "unix";
	t.tls = NULL;
	t.for_rcpt = NULL;
	t.protocol = smtp_trace_protocol(true, true, false, false);
	r = smtp_trace_received(&t);
	CHECK_STR(r, "Received: from client.example\r\n"
		     "\tby mx.example.com (Roost) with LMTP id abc.1; Thu, 1 Jan 1970 00:00:00 +0000\r\n");
	free(r);
	t.ip = "::1";
	r = smtp_trace_received(&t);
	CHECK(strstr(r, "from client.example ([IPv6:::1])") != NULL);
	free(r);
	CHECK_STR(smtp_trace_protocol(false, false, false, false), "SMTP");
	CHECK_STR(smtp_trace_protocol(false, true, false, false), "ESMTP");
	CHECK_STR(smtp_trace_protocol(false, true, true, true), "UTF8SMTPS");
	CHECK_STR(smtp_trace_protocol(true, true, true, false), "LMTPS");
}
