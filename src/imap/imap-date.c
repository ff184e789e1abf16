/* imap-date: see imap-date.h. */
#include "imap/imap-date.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void imap_date_time_format(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	snprintf(out, outlen, "%02d-%s-%04d %02d:%02d:%02d +0000", tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int digits(const char *s, int n, int *v_r)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*v_r = v;
	return 0;
}

/* "d-Mon-yyyy" or "dd-Mon-yyyy" (or " d-..." when space_ok). Returns chars used. */
static int parse_day_month_year(const char *s, struct tm *tm, int space_ok)
{
	int i = 0, day;
	if (space_ok && s[0] == ' ' && s[1] >= '0' && s[1] <= '9' && s[2] == '-') {
		day = s[1] - '0';
		i = 2;
	} else if (s[0] >= '0' && s[0] <= '9' && s[1] == '-') {
		day = s[0] - '0';
		i = 1;
	} else if (digits(s, 2, &day) == 0 && s[2] == '-') {
		i = 2;
	} else {
		return -1;
	}
	if (s[i] != '-')
		return -1;
	i++;
	int mon = -1;
	for (int m = 0; m < 12; m++)
		if (strncasecmp(s + i, months[m], 3) == 0)
			mon = m;
	if (mon < 0 || s[i + 3] != '-')
		return -1;
	i += 4;
	int year;
	if (digits(s + i, 4, &year) < 0)
		return -1;
	i += 4;
	if (day < 1 || day > 31 || year < 1900)
		return -1;
	memset(tm, 0, sizeof(*tm));
	tm->tm_mday = day;
	tm->tm_mon = mon;
	tm->tm_year = year - 1900;
	return i;
}

int imap_date_parse(const char *s, int64_t *t_r)
{
	struct tm tm;
	int n = parse_day_month_year(s, &tm, 0);
	if (n < 0 || s[n] != '\0')
		return -1;
	*t_r = (int64_t)timegm(&tm);
	return 0;
}

int imap_date_time_parse(const char *s, int64_t *t_r)
{
	struct tm tm;
	int n = parse_day_month_year(s, &tm, 1);
	if (n < 0)
		return -1;
	s += n;
	int h, m, sec, zh, zm;
	if (s[0] != ' ' || digits(s + 1, 2, &h) < 0 || s[3] != ':' || digits(s + 4, 2, &m) < 0 ||
	    s[6] != ':' || digits(s + 7, 2, &sec) < 0 || s[9] != ' ' ||
	    (s[10] != '+' && s[10] != '-') || digits(s + 11, 2, &zh) < 0 ||
	    digits(s + 13, 2, &zm) < 0 || s[15] != '\0')
		return -1;
	if (h > 23 || m > 59 || sec > 60 || zm > 59)
		return -1;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	int64_t t = (int64_t)timegm(&tm);
	int64_t off = (int64_t)(zh * 3600 + zm * 60);
	*t_r = s[10] == '+' ? t - off : t + off;
	return 0;
}
