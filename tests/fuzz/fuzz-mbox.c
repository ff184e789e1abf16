/*
 * fuzz-mbox: mbox_next() (mail/mbox.h, what `roost import mbox` reads) and
 * maildir_parse_name() over the whole input as one file.
 *
 * Invariants: each call moves forward (or ends); a message is never
 * larger than the limit or than the input and is NUL-terminated; flags
 * use only the five system bits; keywords hold no
 * tab or comma; a maildir name's unique part is within the name.
 */
#include "fuzz.h"
#include "mail/maildir.h"
#include "mail/mbox.h"

#define FUZZ_MBOX_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	size_t off = 0;
	for (int guard = 0; guard < 100000; guard++) {
		size_t before = off;
		struct mbox_msg m;
		int rc = mbox_next(d, size, &off, FUZZ_MBOX_MAX, &m);
		if (rc <= 0) {
			FUZZ_CHECK(off == before);
			break;
		}
		FUZZ_CHECK(off > before && off <= size);
		if (rc == 1) {
			FUZZ_CHECK(m.len <= FUZZ_MBOX_MAX && m.len <= size);
			FUZZ_CHECK((m.flags & ~0x1fu) == 0);
			FUZZ_CHECK(m.data[m.len] == '\0');
			if (m.keywords != NULL)
				FUZZ_CHECK(strpbrk(m.keywords, "\t,") == NULL);
		}
		mbox_msg_clear(&m);
	}
	char name[MAILDIR_MAX_NAME + 2];
	size_t n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, data, n);
	name[n] = '\0';
	struct maildir_info info;
	if (maildir_parse_name(name, &info))
		FUZZ_CHECK(info.base_len > 0 && info.base_len <= strlen(name));
	return 0;
}
