/* test-maildir: Maildir file names: flag and keyword letters, the unique
 * part, names that are not messages. */
#include "unit.h"
#include "mail/maildir.h"
#include <string.h>

TEST(maildir_parse_name_table)
{
	static const struct {
		const char *name;
		bool ok;
		unsigned flags, keywords;
		size_t base_len;
	} cases[] = {
		{"1600000000.M1P2.host,S=40:2,S", true, 0x01, 0, 25},
		{"1.a:2,DFRST", true, 0x1f, 0, 3},
		{"1.a:2,Pac", true, 0, 0x5, 3},		/* P: no IMAP flag; a, c keywords */
		{"1.a:2,", true, 0, 0, 3},
		{"1.a", true, 0, 0, 3},			/* in new/: no info */
		{"1.a:2,z", true, 0, 1u << 25, 3},
		{"1.a:2,S?!", true, 0x01, 0, 3},		/* unknown letters ignored */
		{".hidden", false, 0, 0, 0},
		{"", false, 0, 0, 0},
		{":2,S", false, 0, 0, 0},			/* no unique part */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct maildir_info info;
		CHECK(maildir_parse_name(cases[i].name, &info) == cases[i].ok);
		if (!cases[i].ok)
			continue;
		CHECK_INT(info.flags, cases[i].flags);
		CHECK_INT(info.keyword_letters, cases[i].keywords);
		CHECK_INT(info.base_len, cases[i].base_len);
	}
	char longname[MAILDIR_MAX_NAME + 2];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	struct maildir_info info;
	CHECK(!maildir_parse_name(longname, &info)); /* the named limit */
	longname[MAILDIR_MAX_NAME] = '\0';
	CHECK(maildir_parse_name(longname, &info));
}
