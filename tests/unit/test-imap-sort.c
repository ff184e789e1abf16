/* test-imap-sort: the first address of an address field as SORT FROM/TO/CC
 * (addr-mailbox, RFC 5256 3) and DISPLAYFROM/DISPLAYTO (RFC 5957) see it. */
#include "unit.h"
#include "imap/imap-sort.h"
#include <stdlib.h>

static const struct {
	const char *field, *mailbox, *display;
} cases[] = {
	{"\"Zed Alpha\" <zed@x.org>", "zed", "Zed Alpha"},
	{"amy@x.org", "amy", "amy@x.org"},
	{"<carl@x.org>", "carl", "carl@x.org"},
	{"Mallory <amy@x.org>, bob@y.org", "amy", "Mallory"},
	{"bob@y.org (Bob Comment)", "bob", "bob@y.org"},
	{"\"Doe, John\" <jd@x.org>", "jd", "Doe, John"},
	/* a group is its name (RFC 3501 7.4.2's group marker) */
	{"undisclosed-recipients:;", "undisclosed-recipients", "undisclosed-recipients"},
	{"undisclosed:; , bob@y.org", "undisclosed", "undisclosed"},
	{"Team: ann@x.org, bo@x.org;", "Team", "Team"},
	{"\"The Team\" (c): ann@x.org;", "The Team", "The Team"},
	{"\"john q\"@x.org", "john q", "john q@x.org"},
	{"Émile <emile@x.org>", "emile", "Émile"},
	{"<@route.example:al@x.org>", "al", "al@x.org"},
	{"", "", ""},
	{NULL, "", ""},
	{"nohost", "nohost", "nohost"},
};

TEST(imap_sort_first_address_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *mb, *disp;
		imap_sort_first_address(cases[i].field, &mb, &disp);
		if (strcmp(mb, cases[i].mailbox) != 0 || strcmp(disp, cases[i].display) != 0)
			unit_fail(__FILE__, __LINE__, "case %zu: got \"%s\" / \"%s\"", i, mb, disp);
		free(mb);
		free(disp);
	}
}
