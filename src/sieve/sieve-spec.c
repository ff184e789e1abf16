/*
 * sieve-spec: the commands, tests, tags and extensions we know, as data.
 * The checker (sieve-check.c) reads these rows; the interpreter dispatches
 * on the id. An extension is `supported` only when its run-time part is
 * done: `require` of any other name is a compile error naming it.
 */
#include <string.h>
#include <strings.h>
#include "sieve/sieve-private.h"

const struct sv_ext_info sv_exts[EXT_COUNT] = {
	[EXT_FILEINTO] = { "fileinto", true },
	[EXT_REJECT] = { "reject", true },
	[EXT_EREJECT] = { "ereject", true },
	[EXT_ENVELOPE] = { "envelope", true },
	[EXT_ENCODED] = { "encoded-character", true },
	[EXT_IMAP4FLAGS] = { "imap4flags", true },
	[EXT_COPY] = { "copy", true },
	[EXT_VARIABLES] = { "variables", true },
	[EXT_VACATION] = { "vacation", true },
	[EXT_VACSECONDS] = { "vacation-seconds", true },
	[EXT_RELATIONAL] = { "relational", true },
	[EXT_SUBADDRESS] = { "subaddress", true },
	[EXT_BODY] = { "body", true },
	[EXT_MAILBOX] = { "mailbox", true },
	[EXT_MAILBOXID] = { "mailboxid", true },
	[EXT_SPECIALUSE] = { "special-use", true },
	[EXT_DATE] = { "date", true },
	[EXT_INDEX] = { "index", true },
	[EXT_REGEX] = { "regex", true },
	[EXT_EDITHEADER] = { "editheader", true },
	[EXT_SPAMTEST] = { "spamtest", true },
	[EXT_SPAMTESTPLUS] = { "spamtestplus", true },
	[EXT_VIRUSTEST] = { "virustest", true },
	[EXT_DUPLICATE] = { "duplicate", true },
	[EXT_INCLUDE] = { "include", true },
	[EXT_FCC] = { "fcc", true },
	[EXT_NUMERIC] = { "comparator-i;ascii-numeric", true },
};

int sv_ext_lookup(const char *name)
{
	for (int i = 0; i < EXT_COUNT; i++)
		if (sv_exts[i].name != NULL && strcmp(sv_exts[i].name, name) == 0)
			return sv_exts[i].supported ? i : -1;
	return -1;
}

/* Groups: tags of one group exclude each other. */
enum { G_NONE, G_MATCH, G_CMP, G_ADDR, G_SIZE, G_PERIOD, G_TRANSFORM, G_ZONE,
       G_LOCATION, G_DUPID, G_CASE, G_FIRST };

const struct sv_tagspec sv_tagspecs[TAG_COUNT_] = {
	[TAG_IS] = { "is", 0, G_MATCH, -1 },
	[TAG_CONTAINS] = { "contains", 0, G_MATCH, -1 },
	[TAG_MATCHES] = { "matches", 0, G_MATCH, -1 },
	[TAG_REGEX] = { "regex", 0, G_MATCH, EXT_REGEX },
	[TAG_VALUE] = { "value", 'S', G_MATCH, EXT_RELATIONAL },
	[TAG_COUNT] = { "count", 'S', G_MATCH, EXT_RELATIONAL },
	[TAG_COMPARATOR] = { "comparator", 'S', G_CMP, -1 },
	[TAG_ALL] = { "all", 0, G_ADDR, -1 },
	[TAG_LOCALPART] = { "localpart", 0, G_ADDR, -1 },
	[TAG_DOMAIN] = { "domain", 0, G_ADDR, -1 },
	[TAG_USER] = { "user", 0, G_ADDR, EXT_SUBADDRESS },
	[TAG_DETAIL] = { "detail", 0, G_ADDR, EXT_SUBADDRESS },
	[TAG_OVER] = { "over", 0, G_SIZE, -1 },
	[TAG_UNDER] = { "under", 0, G_SIZE, -1 },
	[TAG_COPY] = { "copy", 0, G_NONE, EXT_COPY },
	[TAG_FLAGS] = { "flags", 'L', G_NONE, EXT_IMAP4FLAGS },
	[TAG_CREATE] = { "create", 0, G_NONE, EXT_MAILBOX },
	[TAG_MAILBOXID] = { "mailboxid", 'S', G_NONE, EXT_MAILBOXID },
	[TAG_SPECIALUSE] = { "specialuse", 'S', G_NONE, EXT_SPECIALUSE },
	[TAG_DAYS] = { "days", 'N', G_PERIOD, -1 },
	[TAG_SECONDS] = { "seconds", 'N', G_PERIOD, EXT_VACSECONDS },
	[TAG_SUBJECT] = { "subject", 'S', G_NONE, -1 },
	[TAG_FROM] = { "from", 'S', G_NONE, -1 },
	[TAG_ADDRESSES] = { "addresses", 'L', G_NONE, -1 },
	[TAG_MIME] = { "mime", 0, G_NONE, -1 },
	[TAG_HANDLE] = { "handle", 'S', G_NONE, -1 },
	[TAG_FCC] = { "fcc", 'S', G_NONE, EXT_FCC },
	[TAG_RAW] = { "raw", 0, G_TRANSFORM, -1 },
	[TAG_CONTENT] = { "content", 'L', G_TRANSFORM, -1 },
	[TAG_TEXT] = { "text", 0, G_TRANSFORM, -1 },
	[TAG_LOWER] = { "lower", 0, G_CASE, -1 },
	[TAG_UPPER] = { "upper", 0, G_CASE, -1 },
	[TAG_LOWERFIRST] = { "lowerfirst", 0, G_FIRST, -1 },
	[TAG_UPPERFIRST] = { "upperfirst", 0, G_FIRST, -1 },
	[TAG_QUOTEWILDCARD] = { "quotewildcard", 0, G_NONE, -1 },
	[TAG_LENGTH] = { "length", 0, G_NONE, -1 },
	[TAG_ZONE] = { "zone", 'S', G_ZONE, -1 },
	[TAG_ORIGINALZONE] = { "originalzone", 0, G_ZONE, -1 },
	[TAG_INDEX] = { "index", 'N', G_NONE, EXT_INDEX },
	[TAG_LAST] = { "last", 0, G_NONE, -1 },
	[TAG_PERCENT] = { "percent", 0, G_NONE, EXT_SPAMTESTPLUS },
	[TAG_PERSONAL] = { "personal", 0, G_LOCATION, -1 },
	[TAG_GLOBAL] = { "global", 0, G_LOCATION, -1 },
	[TAG_ONCE] = { "once", 0, G_NONE, -1 },
	[TAG_OPTIONAL] = { "optional", 0, G_NONE, -1 },
	[TAG_HEADER] = { "header", 'S', G_DUPID, -1 },
	[TAG_UNIQUEID] = { "uniqueid", 'S', G_DUPID, -1 },
};

int sv_tag_lookup(const char *name)
{
	for (int i = 0; i < TAG_COUNT_; i++)
		if (strcmp(sv_tagspecs[i].name, name) == 0)
			return i;
	return -1;
}

static const struct sv_spec specs[] = {
	{ "require", CMD_REQUIRE, false, -1, "", "L", 0, false },
	{ "if", CMD_IF, false, -1, "", "", '1', true },
	{ "elsif", CMD_ELSIF, false, -1, "", "", '1', true },
	{ "else", CMD_ELSE, false, -1, "", "", 0, true },
	{ "stop", CMD_STOP, false, -1, "", "", 0, false },
	{ "keep", CMD_KEEP, false, -1, "flags", "", 0, false },
	{ "discard", CMD_DISCARD, false, -1, "", "", 0, false },
	{ "fileinto", CMD_FILEINTO, false, EXT_FILEINTO,
	  "copy flags create mailboxid specialuse", "S", 0, false },
	{ "redirect", CMD_REDIRECT, false, -1, "copy", "S", 0, false },
	{ "reject", CMD_REJECT, false, EXT_REJECT, "", "S", 0, false },
	{ "ereject", CMD_EREJECT, false, EXT_EREJECT, "", "S", 0, false },
	{ "setflag", CMD_SETFLAG, false, EXT_IMAP4FLAGS, "", "sL", 0, false },
	{ "addflag", CMD_ADDFLAG, false, EXT_IMAP4FLAGS, "", "sL", 0, false },
	{ "removeflag", CMD_REMOVEFLAG, false, EXT_IMAP4FLAGS, "", "sL", 0, false },
	{ "set", CMD_SET, false, EXT_VARIABLES,
	  "lower upper lowerfirst upperfirst quotewildcard length", "SS", 0, false },
	{ "vacation", CMD_VACATION, false, EXT_VACATION,
	  "days seconds subject from addresses mime handle fcc flags create specialuse mailboxid",
	  "S", 0, false },
	{ "addheader", CMD_ADDHEADER, false, EXT_EDITHEADER, "last", "SS", 0, false },
	{ "deleteheader", CMD_DELETEHEADER, false, EXT_EDITHEADER, "index last @match", "Sl", 0, false },
	{ "include", CMD_INCLUDE, false, EXT_INCLUDE, "personal global once optional", "S", 0, false },
	{ "return", CMD_RETURN, false, EXT_INCLUDE, "", "", 0, false },
	{ "global", CMD_GLOBAL, false, EXT_INCLUDE, "", "L", 0, false },
	{ "address", TEST_ADDRESS, true, -1, "@match @addr index last", "LL", 0, false },
	{ "allof", TEST_ALLOF, true, -1, "", "", 'L', false },
	{ "anyof", TEST_ANYOF, true, -1, "", "", 'L', false },
	{ "envelope", TEST_ENVELOPE, true, EXT_ENVELOPE, "@match @addr", "LL", 0, false },
	{ "exists", TEST_EXISTS, true, -1, "", "L", 0, false },
	{ "false", TEST_FALSE, true, -1, "", "", 0, false },
	{ "true", TEST_TRUE, true, -1, "", "", 0, false },
	{ "header", TEST_HEADER, true, -1, "@match index last", "LL", 0, false },
	{ "not", TEST_NOT, true, -1, "", "", '1', false },
	{ "size", TEST_SIZE, true, -1, "over under", "N", 0, false },
	{ "hasflag", TEST_HASFLAG, true, EXT_IMAP4FLAGS, "@match", "lL", 0, false },
	{ "string", TEST_STRING, true, EXT_VARIABLES, "@match", "LL", 0, false },
	{ "body", TEST_BODY, true, EXT_BODY, "@match raw content text", "L", 0, false },
	{ "mailboxexists", TEST_MAILBOXEXISTS, true, EXT_MAILBOX, "", "L", 0, false },
	{ "mailboxidexists", TEST_MAILBOXIDEXISTS, true, EXT_MAILBOXID, "", "L", 0, false },
	{ "specialuse_exists", TEST_SPECIALUSE_EXISTS, true, EXT_SPECIALUSE, "", "lL", 0, false },
	{ "date", TEST_DATE, true, EXT_DATE, "@match zone originalzone index last", "SSL", 0, false },
	{ "currentdate", TEST_CURRENTDATE, true, EXT_DATE, "@match zone", "SL", 0, false },
	{ "spamtest", TEST_SPAMTEST, true, EXT_SPAMTEST, "@match percent", "S", 0, false },
	{ "virustest", TEST_VIRUSTEST, true, EXT_VIRUSTEST, "@match", "S", 0, false },
	{ "duplicate", TEST_DUPLICATE, true, EXT_DUPLICATE, "handle header uniqueid seconds last", "", 0, false },
};

const struct sv_spec *sv_spec_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (strcmp(specs[i].name, name) == 0)
			return &specs[i];
	return NULL;
}
