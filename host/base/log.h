/*
 * log — one event a line on stderr, and the user-facing error format.
 *
 * Log lines: `2026-11-24T14:30:00.123456Z LEVEL component: message`; in a
 * backtest `... LEVEL component: [event 2024-01-03T00:00:00.000000Z] message`.
 * A WARN or ERROR call site logs at most 10 lines a second; the rest are
 * counted and reported in one line.
 * User errors (bad usage, bad input): `gantry: WHERE: what is wrong`, printed
 * by the command that detects them; below main.c nothing calls exit().
 */
#ifndef GANTRY_LOG_H
#define GANTRY_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Messages below this level are dropped (default LOG_INFO; GANTRY_LOG=debug|warn|error). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_parse_level(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level level, const char *component, const char *fmt, va_list ap);

/* `gantry: ...` on stderr (and the log file), for errors a user must act on. */
void log_user_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log lines of the calling thread carry the event time now(ud) returns
 * (INT64_MIN: none yet) as `[event TIME] ` before the message; NULL: none. */
void log_set_event_clock(int64_t (*now)(const void *ud), const void *ud);
/* --log: every line (and user error) also goes to path, appended and
 * line-buffered; NULL closes it. 0, or -1 with err. */
int log_set_file(const char *path, char *err, size_t errlen);
/* Says what the rate limit held back and is not reported yet; flushes the
 * log file. At the end of a run, and now and then by a running host. */
void log_flush(void);

/* Formats into buf like snprintf and always terminates it; returns buf. */
char *errf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, returning -1: `return errf_fail(err, errlen, "risk.%s: ...", key);` */
int errf_fail(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
