/*
 * log — one event a line on stderr, and the user-facing error format.
 *
 * Log lines: `2026-11-24T14:30:00.123456Z LEVEL component: message`.
 * User errors (bad usage, bad input): `gantry: WHERE: what is wrong`, printed
 * by the command that detects them; below main.c nothing calls exit().
 */
#ifndef GANTRY_LOG_H
#define GANTRY_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Messages below this level are dropped (default LOG_INFO; GANTRY_LOG=debug|warn|error). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_parse_level(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level level, const char *component, const char *fmt, va_list ap);

/* `gantry: ...` on stderr, for errors a user must act on. */
void log_user_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Formats into buf like snprintf and always terminates it; returns buf. */
char *errf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
