/*
 * fuzz-imap-uidbatches: the UIDBATCHES arguments (RFC 10022 3) through
 * imap_uidbatches_parse() (imap/imap-uidbatches.h). The input is the rest
 * of a UIDBATCHES command line in wire form (literals inline), so it goes
 * through imap_parse_command() first, as the session hands it over.
 *
 * Invariants: a refusal has a text; only one or two arguments are
 * accepted, both atoms of at most IMAP_UIDBATCHES_MAX_DIGITS digits per
 * number; the size is the first atom's value and not 0; ranged exactly
 * with two arguments, then first and last are the values either side of
 * the one ':' and 1 <= first <= last, else 1 and 2^32-1; written back as
 * "size first:last" it parses to the same.
 */
#include "fuzz.h"
#include "imap/imap-parser.h"
#include "imap/imap-uidbatches.h"

static const char prefix[] = "a UIDBATCHES ";

/* The value of s[0..len) when it is 1..10 digits, else UINT64_MAX. */
static uint64_t digits_value(const char *s, size_t len)
{
	uint64_t v = 0;
	if (len == 0 || len > IMAP_UIDBATCHES_MAX_DIGITS)
		return UINT64_MAX;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return UINT64_MAX;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v;
}

static void check_accepted(const struct imap_command_args *cmd,
			   const struct imap_uidbatches_args *r)
{
	FUZZ_CHECK(cmd->count == 1 || cmd->count == 2);
	FUZZ_CHECK(r->ranged == (cmd->count == 2));
	const struct imap_arg *size = &cmd->args[0];
	FUZZ_CHECK(size->type == IMAP_ARG_ATOM);
	FUZZ_CHECK(r->size != 0 && digits_value(size->str, size->len) == r->size);
	if (!r->ranged) {
		FUZZ_CHECK(r->first == 1 && r->last == UINT32_MAX);
	} else {
		const struct imap_arg *range = &cmd->args[1];
		FUZZ_CHECK(range->type == IMAP_ARG_ATOM);
		const char *colon = memchr(range->str, ':', range->len);
		FUZZ_CHECK(colon != NULL);
		size_t left = (size_t)(colon - range->str);
		FUZZ_CHECK(digits_value(range->str, left) == r->first);
		FUZZ_CHECK(digits_value(colon + 1, range->len - left - 1) == r->last);
		FUZZ_CHECK(r->first >= 1 && r->first <= r->last);
	}

	/* written back it parses alike */
	char text[64];
	int n = r->ranged ? snprintf(text, sizeof(text), "%u %u:%u", r->size, r->first, r->last)
			  : snprintf(text, sizeof(text), "%u", r->size);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(text));
	struct imap_arg *args;
	size_t count;
	const char *error = NULL;
	FUZZ_CHECK(imap_parse_args(text, (size_t)n, &args, &count, &error) == 0);
	struct imap_uidbatches_args again;
	FUZZ_CHECK(imap_uidbatches_parse(args, count, &again, &error) == 0);
	FUZZ_CHECK(again.size == r->size && again.ranged == r->ranged &&
		   again.first == r->first && again.last == r->last);
	imap_args_free(args, count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = sizeof(prefix) - 1 + size;
	char *wire = malloc(len + 1);
	FUZZ_CHECK(wire != NULL);
	memcpy(wire, prefix, sizeof(prefix) - 1);
	if (size > 0)
		memcpy(wire + sizeof(prefix) - 1, data, size);
	wire[len] = '\0';

	struct imap_command_args cmd;
	const char *error = NULL;
	memset(&cmd, 0, sizeof(cmd));
	if (imap_parse_command(wire, len, &cmd, &error) == 0) {
		FUZZ_CHECK(strcmp(cmd.name, "UIDBATCHES") == 0);
		struct imap_uidbatches_args r;
		error = NULL;
		if (imap_uidbatches_parse(cmd.args, cmd.count, &r, &error) == 0)
			check_accepted(&cmd, &r);
		else
			FUZZ_CHECK(error != NULL && error[0] != '\0');
		imap_command_args_clear(&cmd);
	}
	free(wire);
	return 0;
}
