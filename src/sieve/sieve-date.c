/*
 * sieve-date: the date and currentdate tests (RFC 5260 4-5). A header's
 * date is parsed with GMime's RFC 5322 date parser. Without :zone or
 * :originalzone the date is shown in UTC (the server's zone for Sieve;
 * RFC 5260 leaves the local zone to the implementation).
 */
#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "lib/alloc.h"
#include "mail/mime-index.h"
#include "sieve/sieve-interp.h"

static int zone_minutes(const char *z)
{
	int h = (z[1] - '0') * 10 + (z[2] - '0'), m = (z[3] - '0') * 10 + (z[4] - '0');
	return (z[0] == '-' ? -1 : 1) * (h * 60 + m);
}

static bool zone_ok(const char *z)
{
	if (strlen(z) != 5 || (z[0] != '+' && z[0] != '-'))
		return false;
	for (int i = 1; i < 5; i++)
		if (z[i] < '0' || z[i] > '9')
			return false;
	return true;
}

/* The date part of unix time `t` shown at UTC offset `off` minutes. */
static char *date_part(int64_t t, int off, const char *part)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t lt = (time_t)(t + (int64_t)off * 60);
	struct tm tm;
	if (gmtime_r(&lt, &tm) == NULL)
		return NULL;
	char zone[32];
	snprintf(zone, sizeof(zone), "%c%02d%02d", off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
	int year = tm.tm_year + 1900;
	if (strcasecmp(part, "year") == 0)
		return xasprintf("%04d", year);
	if (strcasecmp(part, "month") == 0)
		return xasprintf("%02d", tm.tm_mon + 1);
	if (strcasecmp(part, "day") == 0)
		return xasprintf("%02d", tm.tm_mday);
	if (strcasecmp(part, "date") == 0)
		return xasprintf("%04d-%02d-%02d", year, tm.tm_mon + 1, tm.tm_mday);
	if (strcasecmp(part, "julian") == 0) {
		/* Modified Julian Day: days since 1858-11-17 (unix day 0 = MJD 40587) */
		int64_t days = (int64_t)lt / 86400 - ((int64_t)lt % 86400 < 0);
		return xasprintf("%lld", (long long)(days + 40587));
	}
	if (strcasecmp(part, "hour") == 0)
		return xasprintf("%02d", tm.tm_hour);
	if (strcasecmp(part, "minute") == 0)
		return xasprintf("%02d", tm.tm_min);
	if (strcasecmp(part, "second") == 0)
		return xasprintf("%02d", tm.tm_sec);
	if (strcasecmp(part, "time") == 0)
		return xasprintf("%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (strcasecmp(part, "iso8601") == 0)
		return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", year, tm.tm_mon + 1, tm.tm_mday,
				 tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', abs(off) / 60,
				 abs(off) % 60);
	if (strcasecmp(part, "std11") == 0)
		return xasprintf("%s, %02d %s %04d %02d:%02d:%02d %s", wd[tm.tm_wday], tm.tm_mday,
				 mon[tm.tm_mon], year, tm.tm_hour, tm.tm_min, tm.tm_sec, zone);
	if (strcasecmp(part, "zone") == 0)
		return xstrdup(zone);
	if (strcasecmp(part, "weekday") == 0)
		return xasprintf("%d", tm.tm_wday);
	return NULL;
}

int sv_test_date(struct sv_run *run, struct sv_scope *sc, const struct sv_node *n)
{
	bool current = n->spec->id == TEST_CURRENTDATE;
	size_t len;
	char *part = sv_expand(run, sc, &n->pos[current ? 0 : 1]->strs[0], &len);
	int64_t t = run->env->now;
	int off = 0;
	bool have = true;
	if (!current) {
		have = false;
		char *hname = sv_expand(run, sc, &n->pos[0]->strs[0], &len);
		size_t count = 0, want = 0, seen = 0;
		for (size_t i = 0; i < run->msg.nh; i++)
			if (strcasecmp(run->msg.h[i].name, hname) == 0)
				count++;
		const struct sv_tagbind *ix = sv_tag(n, TAG_INDEX);
		if (ix != NULL)
			want = ix->val->num > count ? (size_t)-1
				: sv_tag(n, TAG_LAST) ? count - (size_t)ix->val->num + 1 : (size_t)ix->val->num;
		for (size_t i = 0; i < run->msg.nh && !have; i++) {
			if (strcasecmp(run->msg.h[i].name, hname) != 0)
				continue;
			seen++;
			if (want != 0 && seen != want)
				continue;
			/* RFC 5260 4: the date is whatever follows the last ';'
			 * (Received fields); else the whole value */
			const char *v = sv_hdr_value(&run->msg.h[i]);
			const char *semi = strrchr(v, ';');
			mime_index_global_init();
			GDateTime *dt = g_mime_utils_header_decode_date(semi != NULL ? semi + 1 : v);
			if (dt != NULL) {
				t = g_date_time_to_unix(dt);
				off = (int)(g_date_time_get_utc_offset(dt) / G_TIME_SPAN_MINUTE);
				g_date_time_unref(dt);
				have = true;
			}
			if (want == 0)
				break;	/* the first such field only */
		}
		free(hname);
	}
	if (!have) {
		free(part);
		return 0;
	}
	const struct sv_tagbind *z = sv_tag(n, TAG_ZONE);
	if (z != NULL) {
		char *zs = sv_expand(run, sc, &z->val->strs[0], &len);
		bool ok = zone_ok(zs);
		if (ok)
			off = zone_minutes(zs);
		free(zs);
		if (!ok) {
			free(part);
			return 0;
		}
	} else if (current || sv_tag(n, TAG_ORIGINALZONE) == NULL) {
		off = 0;
	}
	char *val = date_part(t, off, part);
	free(part);
	if (val == NULL)
		return 0;
	char *vals[2] = { val, NULL };
	int r = sv_match_values(run, sc, n, vals, 1, n->pos[current ? 1 : 2]);
	free(val);
	return r;
}
