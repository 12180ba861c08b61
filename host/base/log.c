/*
 * log — timestamped lines on stderr (and the --log file). Wall-clock time,
 * UTC, microseconds; in a backtest the event time too, which the engine
 * lends through log_set_event_clock (the log is below the engine).
 *
 * Repeated WARN and ERROR lines are rate-limited: per component and format
 * (one call site), at most LOG_BURST a second of wall time; what is held
 * back is counted and said in one line when the second is over (or at
 * log_flush), with the last message held back. Lines come from more than
 * one thread (reload compiles, readers), so one mutex covers the table and
 * the writes.
 */
#include "log.h"

#include "clock.h"
#include "timefmt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum log_level log_level_min = LOG_INFO;
static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file; /* --log: a copy of every line; owned */

/* the event time: asked of the engine only on the thread that lent it */
static int64_t (*event_now)(const void *ud);
static const void *event_ud;
static pthread_t event_thread;

#define LOG_BURST 10 /* lines of one call site a second, then counted */
#define LOG_KEYS 64

struct log_key {
	const char *fmt; /* the call site's format (a literal: its address is its identity) */
	int64_t second;	 /* wall-clock second of the count */
	long held;	 /* lines held back this second */
	enum log_level level;
	int count;
	char component[32];
	char last[512]; /* the last one held back */
};
static struct log_key keys[LOG_KEYS];
static int nkeys;

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

/* Writes one line to stderr and the log file. Under log_mu. */
static void emit(const char *line)
{
	fputs(line, stderr);
	if (log_file)
		fputs(line, log_file);
}

/* `STAMP LEVEL component: [event TIME] message`: the contract's layout,
 * the event time (as fills.csv writes it) first in the message, so that
 * `LEVEL component: ` reads as always. Under log_mu. */
static void emit_msg(int64_t now, enum log_level level, const char *component, const char *msg,
		     int with_event)
{
	struct tm tm;
	char stamp[40], ev[TIME_ISO_LEN + 16] = "";
	time_t sec = (time_t)(now / 1000000000);
	gmtime_r(&sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	if (with_event && event_now && pthread_equal(pthread_self(), event_thread)) {
		int64_t t = event_now(event_ud);
		if (t != INT64_MIN) {
			char iso[TIME_ISO_LEN + 1];
			time_format_iso(t, iso);
			snprintf(ev, sizeof ev, "[event %s] ", iso);
		}
	}
	char line[2600];
	snprintf(line, sizeof line, "%s.%06ldZ %s %s: %s%s\n", stamp,
		 (long)(now % 1000000000 / 1000), log_level_name(level), component, ev, msg);
	emit(line);
}

/* The line that says how many of a call site's lines were held back. */
static void report_held(int64_t now, struct log_key *k)
{
	if (k->held == 0)
		return;
	char msg[640];
	snprintf(msg, sizeof msg, "%ld more like this suppressed (at most %d a second), the last: %s",
		 k->held, LOG_BURST, k->last);
	emit_msg(now, k->level, k->component, msg, 0);
	k->held = 0;
}

static struct log_key *key_of(int64_t now, enum log_level level, const char *component,
			      const char *fmt)
{
	struct log_key *oldest = NULL;
	for (int i = 0; i < nkeys; i++) {
		struct log_key *k = &keys[i];
		if (k->fmt == fmt && k->level == level &&
		    strncmp(k->component, component, sizeof k->component - 1) == 0)
			return k;
		if (!oldest || k->second < oldest->second)
			oldest = k;
	}
	struct log_key *k = nkeys < LOG_KEYS ? &keys[nkeys++] : oldest;
	report_held(now, k); /* an evicted call site says what it held first */
	memset(k, 0, sizeof *k);
	k->fmt = fmt;
	k->level = level;
	snprintf(k->component, sizeof k->component, "%s", component);
	return k;
}

/* Whether a WARN or ERROR line may go out now; counts it when not. The
 * counts of seconds that are over are reported first. Under log_mu. */
static int admit(int64_t now, enum log_level level, const char *component, const char *fmt,
		 const char *msg)
{
	int64_t second = now / 1000000000;
	for (int i = 0; i < nkeys; i++)
		if (keys[i].held && keys[i].second != second)
			report_held(now, &keys[i]);
	if (level < LOG_WARN)
		return 1;
	struct log_key *k = key_of(now, level, component, fmt);
	if (k->second != second) {
		k->second = second;
		k->count = 0;
	}
	if (++k->count <= LOG_BURST)
		return 1;
	k->held++;
	snprintf(k->last, sizeof k->last, "%s", msg);
	return 0;
}

void log_vmsg(enum log_level level, const char *component, const char *fmt, va_list ap)
{
	if (level < log_level_min)
		return;
	char msg[2048];
	vsnprintf(msg, sizeof msg, fmt, ap);
	int64_t now = clock_wall_ns();
	pthread_mutex_lock(&log_mu);
	if (admit(now, level, component, fmt, msg))
		emit_msg(now, level, component, msg, 1);
	pthread_mutex_unlock(&log_mu);
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, component, fmt, ap);
	va_end(ap);
}

void log_flush(void)
{
	pthread_mutex_lock(&log_mu);
	int64_t now = clock_wall_ns();
	for (int i = 0; i < nkeys; i++)
		report_held(now, &keys[i]);
	if (log_file)
		fflush(log_file);
	pthread_mutex_unlock(&log_mu);
}

void log_set_event_clock(int64_t (*now)(const void *ud), const void *ud)
{
	pthread_mutex_lock(&log_mu);
	event_now = now;
	event_ud = ud;
	event_thread = pthread_self();
	pthread_mutex_unlock(&log_mu);
}

int log_set_file(const char *path, char *err, size_t errlen)
{
	FILE *f = NULL;
	if (path && !(f = fopen(path, "a"))) {
		errf(err, errlen, "%s: cannot open the log: %s", path, strerror(errno));
		return -1;
	}
	if (f)
		setvbuf(f, NULL, _IOLBF, BUFSIZ);
	pthread_mutex_lock(&log_mu);
	FILE *old = log_file;
	log_file = f;
	pthread_mutex_unlock(&log_mu);
	if (old)
		fclose(old);
	return 0;
}

void log_user_error(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(line, sizeof line, "gantry: ");
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t end = strlen(line); /* room was kept for it */
	line[end] = '\n';
	line[end + 1] = '\0';
	pthread_mutex_lock(&log_mu);
	emit(line);
	pthread_mutex_unlock(&log_mu);
}

char *errf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (buf && len)
		vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

int errf_fail(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (buf && len)
		vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return -1;
}
