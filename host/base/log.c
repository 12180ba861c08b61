/*
 * log — timestamped lines on stderr. Wall-clock time, UTC, microseconds.
 */
#include "log.h"

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum log_level log_level_min = LOG_INFO;
static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_set_level(enum log_level level)
{
	log_level_min = level;
}

enum log_level log_get_level(void)
{
	return log_level_min;
}

const char *log_level_name(enum log_level level)
{
	return (unsigned)level < 4 ? level_names[level] : "INFO";
}

int log_parse_level(const char *name, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_vmsg(enum log_level level, const char *component, const char *fmt, va_list ap)
{
	if (level < log_level_min)
		return;
	struct tm tm;
	char stamp[40];
	int64_t now = clock_wall_ns();
	time_t sec = (time_t)(now / 1000000000);
	gmtime_r(&sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	char line[2048];
	int n = snprintf(line, sizeof line, "%s.%06ldZ %s %s: ", stamp, (long)(now % 1000000000 / 1000),
			 log_level_name(level), component);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, component, fmt, ap);
	va_end(ap);
}

void log_user_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("gantry: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

char *errf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (len)
		vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}
