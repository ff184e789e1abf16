/*
 * fuzz-imap-flags: flag lists (imap/imap-flags.h, RFC 9051 2.3.2) as
 * STORE, APPEND and SELECT's callers hand them over: the input is parsed
 * as IMAP arguments (imap_parse_args(), literals inline as "{n}\r\n..."),
 * and each top-level argument goes to imap_flags_parse().
 *
 * Invariants: accepted flags are system flags only; keywords are valid
 * atoms, at most STORE_MAX_KEYWORDS, no two equal ignoring case; the
 * result formatted with imap_flags_format() and parsed again is the same;
 * a refusal comes with an error text and no keywords.
 */
#include "fuzz.h"
#include "imap/imap-flags.h"
#include "imap/imap-parser.h"
#include "lib/buf.h"
#include "store/store.h"
#include <strings.h>

static uint32_t system_mask;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* every system flag at once: the mask of bits a parse may set */
	static const char all[] = "(" IMAP_SYSTEM_FLAGS ")";
	struct imap_arg *args;
	size_t n;
	const char *err;
	char *kw = NULL;
	FUZZ_CHECK(imap_parse_args(all, sizeof(all) - 1, &args, &n, &err) == 0 && n == 1);
	FUZZ_CHECK(imap_flags_parse(&args[0], &system_mask, &kw, &err) == 0 && kw == NULL);
	imap_args_free(args, n);
	return 0;
}

static void check_keywords(const char *keywords)
{
	char *copy = strdup(keywords);
	FUZZ_CHECK(copy != NULL);
	char *words[STORE_MAX_KEYWORDS + 1];
	size_t n = 0;
	char *save = NULL;
	for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		FUZZ_CHECK(n < STORE_MAX_KEYWORDS);
		FUZZ_CHECK(imap_keyword_valid(w));
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(strcasecmp(words[i], w) != 0);
		words[n++] = w;
	}
	FUZZ_CHECK(n > 0);
	free(copy);
}

static void check_one(const struct imap_arg *arg)
{
	uint32_t flags = 0xdeadbeef;
	char *keywords = (char *)"unset";
	const char *error = NULL;
	if (imap_flags_parse(arg, &flags, &keywords, &error) != 0) {
		FUZZ_CHECK(error != NULL && keywords == NULL);
		return;
	}
	FUZZ_CHECK((flags & ~system_mask) == 0);
	if (keywords != NULL)
		check_keywords(keywords);

	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_putc(&b, '(');
	imap_flags_format(&b, flags, keywords);
	buf_putc(&b, ')');
	struct imap_arg *args;
	size_t n;
	FUZZ_CHECK(imap_parse_args(b.data, b.len, &args, &n, &error) == 0 && n == 1);
	uint32_t flags2;
	char *keywords2 = NULL;
	FUZZ_CHECK(imap_flags_parse(&args[0], &flags2, &keywords2, &error) == 0);
	FUZZ_CHECK(flags2 == flags);
	FUZZ_CHECK((keywords == NULL) == (keywords2 == NULL));
	FUZZ_CHECK(keywords == NULL || strcmp(keywords, keywords2) == 0);
	imap_args_free(args, n);
	buf_free(&b);
	free(keywords);
	free(keywords2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the session hands commands over NUL-terminated */
	char *text = fuzz_strndup(data, size);
	struct imap_arg *args;
	size_t n;
	const char *error;
	if (imap_parse_args(text, size, &args, &n, &error) == 0) {
		for (size_t i = 0; i < n; i++)
			check_one(&args[i]);
		imap_args_free(args, n);
	}
	free(text);
	return 0;
}
