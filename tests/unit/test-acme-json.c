/* test-acme-json: the bounded JSON reader of src/acme, valid and hostile input. */
#include "unit.h"
#include "acme/acme-json.h"
#include "lib/alloc.h"
#include <stdlib.h>

static struct acme_json *parse(const char *s)
{
	char *err = NULL;
	struct acme_json *j = acme_json_parse(s, strlen(s), &err);
	free(err);
	return j;
}

static int rejects(const char *s)
{
	char *err = NULL;
	struct acme_json *j = acme_json_parse(s, strlen(s), &err);
	int ok = j == NULL && err != NULL && strncmp(err, "JSON: ", 6) == 0;
	acme_json_free(&j);
	free(err);
	return ok;
}

TEST(acme_json_order)
{
	struct acme_json *j = parse(
		"{\"status\":\"pending\",\"expires\":\"2026-12-10T00:00:00Z\",\r\n"
		" \"identifiers\":[{\"type\":\"dns\",\"value\":\"mail.example.com\"}],\n"
		" \"authorizations\":[\"https://ca/authz/1\",\"https://ca/authz/2\"],\t"
		" \"finalize\":\"https://ca/finalize/1\",\"n\":-12.5e+3,\"t\":true,\"f\":false,"
		"\"z\":null,\"e\":{},\"a\":[]}");
	CHECK(j != NULL);
	CHECK_STR(acme_json_get_str(j, "status"), "pending");
	CHECK_STR(acme_json_get_str(j, "finalize"), "https://ca/finalize/1");
	const struct acme_json *a = acme_json_get(j, "authorizations");
	CHECK(a != NULL && a->type == ACME_JSON_ARRAY);
	CHECK_INT(a->n, 2);
	CHECK_STR(acme_json_nth(a, 1)->str, "https://ca/authz/2");
	CHECK(acme_json_nth(a, 2) == NULL);
	CHECK_STR(acme_json_get_str(acme_json_nth(acme_json_get(j, "identifiers"), 0), "value"),
		  "mail.example.com");
	CHECK_STR(acme_json_get(j, "n")->str, "-12.5e+3");
	CHECK_INT(acme_json_get(j, "t")->type, ACME_JSON_TRUE);
	CHECK_INT(acme_json_get(j, "f")->type, ACME_JSON_FALSE);
	CHECK_INT(acme_json_get(j, "z")->type, ACME_JSON_NULL);
	CHECK_INT(acme_json_get(j, "e")->n, 0);
	CHECK_INT(acme_json_get(j, "a")->n, 0);
	/* the wrong type reads as absent */
	CHECK(acme_json_get_str(j, "n") == NULL);
	CHECK(acme_json_get_str(j, "missing") == NULL);
	CHECK(acme_json_get(a, "x") == NULL);
	CHECK(acme_json_nth(j, 0) == NULL);
	CHECK(acme_json_get(NULL, "x") == NULL);
	acme_json_free(&j);
	CHECK(j == NULL);
	acme_json_free(&j); /* no-op */
}

TEST(acme_json_strings)
{
	struct acme_json *j = parse("[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u20ac\","
				    " \"\\ud83d\\ude00\", \"\", \"caf\xc3\xa9\"]");
	CHECK(j != NULL);
	CHECK_STR(acme_json_nth(j, 0)->str, "a\"b\\c/d\b\f\n\r\t");
	CHECK_STR(acme_json_nth(j, 1)->str, "\xc3\xa9\xe2\x82\xac");
	CHECK_STR(acme_json_nth(j, 2)->str, "\xf0\x9f\x98\x80");
	CHECK_STR(acme_json_nth(j, 3)->str, "");
	CHECK_STR(acme_json_nth(j, 4)->str, "caf\xc3\xa9");
	acme_json_free(&j);
	/* a scalar document, surrounded by white space */
	j = parse(" \"x\" ");
	CHECK(j != NULL && j->type == ACME_JSON_STRING);
	acme_json_free(&j);
	j = parse("0");
	CHECK(j != NULL && j->type == ACME_JSON_NUMBER);
	acme_json_free(&j);
}

TEST(acme_json_hostile)
{
	static const char *const bad[] = {
		"", " ", "{", "}", "[", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}",
		"{\"a\":1}x", "[1] [2]", "\"abc", "\"a\\x\"", "\"a\\u12\"", "\"a\\u12G4\"",
		"\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\u0000\"", "\"a\tb\"",
		"\"a\nb\"", "01", "-", "1.", ".5", "1e", "1e+", "+1", "tru", "nul", "True",
		"NaN", "Infinity", "{\"a\":1,\"a\":2}", "[\"\\", "\xef\xbb\xbf{}", "{\"a\"}",
		"{\"a\":}", "[1 2]", "\v[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!rejects(bad[i]))
			unit_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
	/* a NUL inside the text is not the end of it */
	char *err = NULL;
	struct acme_json *j = acme_json_parse("{}\0{}", 5, &err);
	CHECK(j == NULL);
	free(err);
}

TEST(acme_json_limits)
{
	/* nesting: ACME_JSON_MAX_DEPTH levels fit, one more does not */
	char deep[2 * ACME_JSON_MAX_DEPTH + 3];
	size_t n = ACME_JSON_MAX_DEPTH;
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	struct acme_json *j = parse(deep);
	CHECK(j != NULL);
	acme_json_free(&j);
	memset(deep, '[', n + 1);
	memset(deep + n + 1, ']', n + 1);
	deep[2 * n + 2] = '\0';
	CHECK(rejects(deep));
	/* a million '[' is refused by depth, without recursing */
	size_t big = 1000000;
	char *many = xmalloc(big + 1);
	memset(many, '[', big);
	many[big] = '\0';
	char *err = NULL;
	CHECK(acme_json_parse(many, ACME_JSON_MAX_INPUT, &err) == NULL);
	free(err);
	err = NULL;
	/* over the size limit */
	CHECK(acme_json_parse(many, ACME_JSON_MAX_INPUT + 1, &err) == NULL);
	CHECK(err != NULL && strstr(err, "over the limit") != NULL);
	free(err);
	free(many);
	/* too many values */
	size_t count = ACME_JSON_MAX_NODES + 1;
	char *arr = xmalloc(count * 2 + 2);
	arr[0] = '[';
	for (size_t i = 0; i < count; i++) {
		arr[1 + 2 * i] = '0';
		arr[2 + 2 * i] = ',';
	}
	arr[count * 2] = ']';
	arr[count * 2 + 1] = '\0';
	CHECK(rejects(arr));
	arr[(count - 2) * 2] = ']'; /* ACME_JSON_MAX_NODES - 1 elements + the array */
	arr[(count - 2) * 2 + 1] = '\0';
	j = parse(arr);
	CHECK(j != NULL && j->n == ACME_JSON_MAX_NODES - 1);
	acme_json_free(&j);
	free(arr);
}
