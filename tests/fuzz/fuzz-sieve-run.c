/*
 * fuzz-sieve-run: sieve_run() (sieve/sieve.h, what delivery calls) on a
 * script and a message from one input: the bytes before the first
 * "\n%%\n" are the script, the rest the message. Scripts that do not
 * compile end the case.
 *
 * Invariants: rc is 0 or -1; -1 has a message and leaves "implicit keep
 * only"; 0 has at most max_actions actions and max_redirects redirects,
 * every action has the fields its type needs, and the implicit keep is
 * cancelled exactly when a non-:copy keep, fileinto, redirect, reject,
 * ereject or discard was taken. sieve_apply_edits() (the stored copy)
 * with no edits gives the message back byte for byte; with the run's
 * edits it is at most the message plus the fields added.
 */
#include "fuzz.h"
#include "sieve/sieve.h"

static bool dup_cb(void *ctx, const char *id, uint64_t seconds, bool last)
{
	return strlen(id) % 2 == 0;
}

static bool exists_cb(void *ctx, const char *name)
{
	return strcmp(name, "INBOX") == 0 || strcmp(name, "Junk") == 0;
}

static const char *special_cb(void *ctx, const char *use)
{
	return strcmp(use, "\\Junk") == 0 ? "Junk" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = NULL;
	for (size_t i = 0; i + 4 <= size && sep == NULL; i++)
		if (memcmp(data + i, "\n%%\n", 4) == 0)
			sep = data + i;
	size_t slen = sep != NULL ? (size_t)(sep - data) : size;
	char *script = fuzz_strndup(data, slen);
	size_t moff = sep != NULL ? slen + 4 : size;
	char *msg = fuzz_strndup(data + moff, size - moff);
	struct sieve_limits lim = { .max_nodes = 5000, .max_steps = 20000, .max_actions = 16,
				    .max_redirects = 2, .max_body_scan = 65536, .max_variable_size = 1024,
				    .max_variables = 32 };
	struct sieve_diag d;
	struct sieve_script *s = sieve_compile(script, slen, &lim, NULL, NULL, &d);
	if (s != NULL) {
		struct sieve_env env = { .msg = msg, .msg_len = size - moff, .envelope_from = "a@example.org",
					 .envelope_to = "b+x@example.com", .user_address = "b@example.com",
					 .spam_header = "X-Spam-Score", .virus_header = "X-Virus",
					 .mailbox_exists = exists_cb, .special_use_mailbox = special_cb,
					 .duplicate_check = dup_cb, .now = 1796119200 };
		struct sieve_result r;
		int rc = sieve_run(s, &env, &lim, &r, &d);
		FUZZ_CHECK(rc == 0 || rc == -1);
		if (rc < 0) {
			FUZZ_CHECK(d.message[0] != '\0');
			FUZZ_CHECK(r.implicit_keep && r.nactions == 0 && r.nedits == 0);
		} else {
			FUZZ_CHECK(r.nactions <= lim.max_actions);
			unsigned redirects = 0;
			bool cancels = false;
			for (size_t i = 0; i < r.nactions; i++) {
				const struct sieve_action *a = &r.actions[i];
				switch (a->type) {
				case SIEVE_ACT_FILEINTO:
					FUZZ_CHECK(a->mailbox != NULL && a->mailbox[0] != '\0');
					cancels |= !a->copy;
					break;
				case SIEVE_ACT_KEEP:
					cancels |= !a->copy;
					break;
				case SIEVE_ACT_REDIRECT:
					FUZZ_CHECK(a->address != NULL && strchr(a->address, '@') != NULL);
					redirects++;
					cancels |= !a->copy;
					break;
				case SIEVE_ACT_REJECT:
				case SIEVE_ACT_EREJECT:
					FUZZ_CHECK(a->reason != NULL);
					cancels = true;
					break;
				case SIEVE_ACT_VACATION:
					FUZZ_CHECK(a->reason && a->subject && a->handle && a->reply_to);
					FUZZ_CHECK(a->reply_to[0] != '\0');
					break;
				case SIEVE_ACT_DISCARD:
					cancels = true;
					break;
				}
			}
			FUZZ_CHECK(redirects <= lim.max_redirects);
			FUZZ_CHECK(r.implicit_keep == !cancels);
			size_t bound = size - moff + 2; /* a line end for an unended last line */
			for (size_t i = 0; i < r.nedits; i++) {
				FUZZ_CHECK(r.edits[i].name != NULL && r.edits[i].name[0] != '\0');
				if (r.edits[i].add)
					bound += strlen(r.edits[i].name) + strlen(r.edits[i].value) + 4;
			}
			size_t elen;
			char *edited = sieve_apply_edits(msg, size - moff, r.edits, r.nedits, &elen);
			FUZZ_CHECK(elen <= bound);
			free(edited);
		}
		sieve_result_free(&r);
	}
	sieve_script_free(s);
	size_t same_len;
	char *same = sieve_apply_edits(msg, size - moff, NULL, 0, &same_len);
	FUZZ_CHECK(same_len == size - moff && memcmp(same, msg, same_len) == 0);
	free(same);
	free(script);
	free(msg);
	return 0;
}
