/*
 * log: structured one-line logs on stderr.
 * Format (log.format = text): "2026-11-23T17:44:03.123Z level=info <message>".
 * Protocol sessions log through conn_log(), which adds "proto=imap
 * session=ID ip=ADDR". log.format = json writes one JSON object per line
 * instead: time, level, the message's leading key=value words as fields,
 * the rest as "msg" (escaped; bytes that are not UTF-8 become U+FFFD).
 * Secrets never reach a log at any level.
 */
#ifndef ROOST_LOG_H
#define ROOST_LOG_H
#include <stdarg.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

int log_parse_level(const char *s, enum log_level *level_r);
void log_set_level(enum log_level level);
/* "text" or "json": 0, or -1 for another name. */
int log_set_format(const char *name);
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap);
/* For bugs and unrecoverable states only; never for client input. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#endif
