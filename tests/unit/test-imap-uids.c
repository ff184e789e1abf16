/* test-imap-uids: the sorted UID list helpers shared by FETCH, STORE,
 * SEARCH and the view. */
#include "unit.h"
#include "imap/imap-seqset.h"

TEST(imap_uids_sort_and_contain)
{
	uint32_t uids[] = {9, 1, 4294967295u, 5, 5, 2};
	imap_uids_sort(uids, 6);
	const uint32_t want[] = {1, 2, 5, 5, 9, 4294967295u};
	for (int i = 0; i < 6; i++)
		CHECK_INT(uids[i], want[i]);
	CHECK(imap_uids_contain(uids, 6, 1));
	CHECK(imap_uids_contain(uids, 6, 5));
	CHECK(imap_uids_contain(uids, 6, 4294967295u));
	CHECK(!imap_uids_contain(uids, 6, 3));
	CHECK(!imap_uids_contain(uids, 6, 0));
	CHECK(!imap_uids_contain(NULL, 0, 1));
}
