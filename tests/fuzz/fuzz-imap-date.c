/*
 * fuzz-imap-date: IMAP date and date-time (imap/imap-date.h, RFC 9051
 * section 9), as APPEND's date-time and SEARCH's BEFORE/ON/SINCE hand the
 * argument text over: imap_date_time_parse() and imap_date_parse() on the
 * whole input, then imap_date_time_format() of what was accepted.
 *
 * Invariants: a date is midnight UTC; a date-time formats back (in UTC)
 * to text that parses again to the same time whenever its year is 1900..
 * 9999 (what the format can say); the formatted text is 26 bytes.
 */
#include "fuzz.h"
#include "imap/imap-date.h"

/* 1900-01-01 00:00:00 UTC and 10000-01-01 00:00:00 UTC. */
#define FUZZ_DATE_MIN INT64_C(-2208988800)
#define FUZZ_DATE_END INT64_C(253402300800)

static void check_format(int64_t t)
{
	char out[64];
	imap_date_time_format(t, out, sizeof(out));
	if (t < FUZZ_DATE_MIN || t >= FUZZ_DATE_END)
		return;
	FUZZ_CHECK(strlen(out) == 26);
	int64_t again;
	if (imap_date_time_parse(out, &again) != 0) {
		fprintf(stderr, "%lld formatted as '%s' does not parse\n", (long long)t, out);
		FUZZ_CHECK(!"formatted date-time parses");
	}
	FUZZ_CHECK(again == t);
	/* its date part names the same day */
	char day[16];
	memcpy(day, out, 11);
	day[11] = '\0';
	int64_t midnight;
	FUZZ_CHECK(imap_date_parse(day, &midnight) == 0);
	FUZZ_CHECK(midnight <= t && t - midnight < 86400);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	int64_t t;
	if (imap_date_time_parse(text, &t) == 0)
		check_format(t);
	if (imap_date_parse(text, &t) == 0) {
		FUZZ_CHECK(((t % 86400) + 86400) % 86400 == 0);
		check_format(t);
	}
	free(text);
	return 0;
}
