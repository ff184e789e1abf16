/* log: see log.h. */
#include "lib/log.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level min_level = LOG_INFO;
static bool json_format;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_set_format(const char *name)
{
	if (strcmp(name, "text") == 0)
		json_format = false;
	else if (strcmp(name, "json") == 0)
		json_format = true;
	else
		return -1;
	return 0;
}

/* Append s[0..len) to out as the inside of a JSON string (RFC 8259 7):
 * quotes, backslashes and control bytes escaped, bytes that are not
 * UTF-8 replaced by U+FFFD, so one record stays one valid line. */
static size_t json_escape(char *out, size_t room, const char *s, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 8 < room;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, room - o, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			out[o++] = (char)c;
			i++;
		} else {
			/* a whole, shortest-form UTF-8 sequence, or U+FFFD */
			size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
			bool ok = n > 0 && i + n <= len;
			for (size_t k = 1; ok && k < n; k++)
				ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
			if (ok && n == 3 && c == 0xe0 && (unsigned char)s[i + 1] < 0xa0)
				ok = false; /* overlong */
			if (ok && n == 3 && c == 0xed && (unsigned char)s[i + 1] >= 0xa0)
				ok = false; /* surrogate */
			if (ok && n == 4 && ((c == 0xf0 && (unsigned char)s[i + 1] < 0x90) ||
					     (c == 0xf4 && (unsigned char)s[i + 1] >= 0x90)))
				ok = false;
			if (ok) {
				memcpy(out + o, s + i, n);
				o += n;
				i += n;
			} else {
				memcpy(out + o, "\\ufffd", 6);
				o += 6;
				i++;
			}
		}
	}
	return o;
}

/* One JSON object: time, level, the message's leading key=value words
 * (proto, session, ip...) as fields, and the rest as "msg". */
static void write_json(const char *when, enum log_level level, const char *msg, size_t len)
{
	char out[8192];
	size_t o = (size_t)snprintf(out, sizeof(out), "{\"time\":\"%s\",\"level\":\"%s\"", when,
				    level_names[level]);
	size_t i = 0;
	for (;;) {
		size_t k = i;
		while (k < len && ((msg[k] >= 'a' && msg[k] <= 'z') || msg[k] == '_'))
			k++;
		if (k == i || k >= len || msg[k] != '=')
			break;
		size_t v = k + 1, e = v;
		while (e < len && msg[e] != ' ' && msg[e] != '"')
			e++;
		if (e == v || (e < len && msg[e] == '"'))
			break;
		if (o + 16 + (k - i) >= sizeof(out))
			break;
		o += (size_t)snprintf(out + o, sizeof(out) - o, ",\"%.*s\":\"", (int)(k - i), msg + i);
		o += json_escape(out + o, sizeof(out) - o - 4, msg + v, e - v);
		out[o++] = '"';
		i = e < len ? e + 1 : e;
	}
	o += (size_t)snprintf(out + o, sizeof(out) - o, ",\"msg\":\"");
	o += json_escape(out + o, sizeof(out) - o - 4, msg + i, len - i);
	memcpy(out + o, "\"}\n", 3);
	fwrite(out, 1, o + 3, stderr);
}

int log_parse_level(const char *s, enum log_level *level_r)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*level_r = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_set_level(enum log_level level)
{
	min_level = level;
}

int log_enabled(enum log_level level)
{
	return level >= min_level;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level < min_level)
		return;
	char line[2048];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char when[64];
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	if (json_format) {
		int m = vsnprintf(line, sizeof(line), fmt, ap);
		size_t len = m < 0 ? 0 : (size_t)m;
		if (len > sizeof(line) - 1)
			len = sizeof(line) - 1;
		write_json(when, level, line, len);
		return;
	}
	int n = snprintf(line, sizeof(line), "%s level=%s ", when, level_names[level]);
	int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	/* Never let a client-supplied byte break the one-line format. */
	for (size_t i = (size_t)n; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_ERROR, fmt, ap);
	va_end(ap);
	abort();
}
