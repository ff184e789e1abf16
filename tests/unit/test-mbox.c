/* test-mbox: mbox_next(): separators, mboxrd unquoting, the status
 * headers turned into flags, the size limit, input that is not an mbox. */
#include "unit.h"
#include "mail/mbox.h"
#include <string.h>

TEST(mbox_next_messages)
{
	const char *in = "From a@b Sat Feb  1 10:00:00 2020\n"
			 "Subject: one\nX-Status: FT\nstatus: R\nX-Keywords: k1,k2\n\n"
			 "b\n>From x\n>>From y\n\n"
			 "From c Sun Feb  2 11:00:00 2020\n\nlast";
	size_t off = 0;
	struct mbox_msg m;
	CHECK_INT(mbox_next(in, strlen(in), &off, 1000, &m), 1);
	CHECK_STR(m.data, "Subject: one\n\nb\nFrom x\n>From y\n");
	CHECK_INT(m.flags, 0x01 | 0x04 | 0x10);
	CHECK_STR(m.keywords, "k1 k2");
	CHECK(m.date == 1580551200);
	mbox_msg_clear(&m);
	CHECK_INT(mbox_next(in, strlen(in), &off, 1000, &m), 1);
	CHECK_STR(m.data, "\nlast");
	CHECK_INT(m.flags, 0);
	CHECK(m.keywords == NULL);
	mbox_msg_clear(&m);
	CHECK_INT(mbox_next(in, strlen(in), &off, 1000, &m), 0);
	CHECK_INT(off, strlen(in));
}

TEST(mbox_next_limit_and_garbage)
{
	const char *in = "From a Sat Feb  1 10:00:00 2020\n\n0123456789\n"
			 "From b Sat Feb  1 10:00:00 2020\n\nok\n";
	size_t off = 0;
	struct mbox_msg m;
	CHECK_INT(mbox_next(in, strlen(in), &off, 8, &m), 2); /* too large: skipped */
	CHECK(m.data == NULL);
	CHECK_INT(mbox_next(in, strlen(in), &off, 8, &m), 1);
	CHECK_STR(m.data, "\nok\n");
	mbox_msg_clear(&m);
	off = 0;
	CHECK_INT(mbox_next("Subject: x\n\n", 12, &off, 100, &m), -1);
	CHECK_INT(off, 0);
}
