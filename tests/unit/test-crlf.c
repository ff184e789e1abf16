/* test-crlf: the store's CRLF size equals what POP3 sends (LIST = RETR). */
#include "unit.h"
#include "mail/crlf.h"
#include "pop3/pop3-private.h"
#include <stdlib.h>

TEST(crlf_size_cases)
{
	CHECK_INT(crlf_size("", 0), 0);
	CHECK_INT(crlf_size("a\r\n", 3), 3);
	CHECK_INT(crlf_size("a\n", 2), 3);
	CHECK_INT(crlf_size("a", 1), 3);
	CHECK_INT(crlf_size("a\rb\n", 4), 5);   /* lone CR is data */
	CHECK_INT(crlf_size("\n\n", 2), 4);
	CHECK_INT(crlf_size("a\r\r\n", 4), 4);
}

TEST(crlf_size_matches_pop3_format)
{
	static const char alphabet[] = "ab.\r\n\n\n\r";
	char buf[512];
	srand(42);
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)(rand() % (int)sizeof(buf));
		for (size_t i = 0; i < len; i++)
			buf[i] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
		CHECK_INT(crlf_size(buf, len), pop3_format_size(buf, len));
	}
}
