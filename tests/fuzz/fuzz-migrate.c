/*
 * fuzz-migrate: what `roost migrate` reads from an IMAP server it does not
 * trust (cli/migrate-wire.h): the bytes as one server stream, framed into
 * responses with literals, tokenised, and taken by the LIST and FETCH
 * handlers.
 *
 * Invariants (checked inside migrate_wire_drain, which aborts): every
 * token lies within its response; a listing's UIDs only ascend; every
 * mailbox kept is 7-bit at the source and a valid name here. And here:
 * the run ends (EOF or a limit), never more responses than bytes.
 */
#include "fuzz.h"
#include "cli/migrate-wire.h"
#include <unistd.h>

/* Small, so the literal limit is reached by inputs of fuzzing size. */
#define FUZZ_MIGRATE_MAX_LITERAL 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	if (null == NULL)
		null = fopen("/dev/null", "w");
	FILE *f = tmpfile();
	if (f == NULL || null == NULL)
		return 0;
	if (size > 0 && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fflush(f);
	lseek(fileno(f), 0, SEEK_SET);
	struct migrate_wire_stats st;
	char *error = NULL;
	int rc = migrate_wire_drain(fileno(f), FUZZ_MIGRATE_MAX_LITERAL, null, &st, &error);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(st.responses <= size);
	FUZZ_CHECK(st.folders <= st.responses && st.messages <= st.responses);
	free(error);
	fclose(f);
	return 0;
}
