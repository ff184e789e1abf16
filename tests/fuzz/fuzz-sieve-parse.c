/*
 * fuzz-sieve-parse: sieve_compile() (sieve/sieve.h, what ManageSieve
 * PUTSCRIPT/CHECKSCRIPT and `roost sieve check` call) on the input as a
 * script, with an include callback that hands back the input itself for
 * any name (so include loops and depth limits are exercised).
 *
 * Invariants: a failure has a message, and a position inside the script
 * (line within the script's line count + 1, column >= 1) or none (0, 0);
 * compiling the same text twice agrees; a compiled script runs on a
 * small message without crashing.
 */
#include "fuzz.h"
#include "sieve/sieve.h"

struct self { const uint8_t *data; size_t size; };

static char *include_self(void *ctx, const char *name, bool global, size_t *len_r)
{
	struct self *s = ctx;
	if (name[0] == 'x')	/* some names do not exist */
		return NULL;
	*len_r = s->size;
	return fuzz_strndup(s->data, s->size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct self self = { data, size };
	struct sieve_limits lim = { .max_nodes = 5000, .max_include_depth = 3 };
	struct sieve_diag d;
	char *text = fuzz_strndup(data, size);
	struct sieve_script *s = sieve_compile(text, size, &lim, include_self, &self, &d);
	struct sieve_diag d2;
	struct sieve_script *s2 = sieve_compile(text, size, &lim, include_self, &self, &d2);
	FUZZ_CHECK((s == NULL) == (s2 == NULL));
	if (s == NULL) {
		FUZZ_CHECK(d.message[0] != '\0');
		FUZZ_CHECK(strcmp(d.message, d2.message) == 0);
		size_t lines = 1;
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n';
		FUZZ_CHECK(d.line <= lines);
		FUZZ_CHECK((d.line == 0) == (d.column == 0));
	} else {
		static const char msg[] = "From: a@example.org\r\nTo: b@example.com\r\nSubject: x\r\n\r\nbody\r\n";
		struct sieve_env env = { .msg = msg, .msg_len = sizeof(msg) - 1, .envelope_from = "a@example.org",
					 .envelope_to = "b@example.com", .user_address = "b@example.com" };
		struct sieve_limits rl = { .max_steps = 20000 };
		struct sieve_result r;
		sieve_run(s, &env, &rl, &r, &d);
		sieve_result_free(&r);
	}
	sieve_script_free(s);
	sieve_script_free(s2);
	free(text);
	return 0;
}
