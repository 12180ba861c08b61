/*
 * timefmt — UTC calendar time <-> nanoseconds since the epoch, without libc
 * time zones (backtests must not depend on TZ). Proleptic Gregorian.
 */
#ifndef GANTRY_TIMEFMT_H
#define GANTRY_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define NS_PER_SEC 1000000000LL
#define NS_PER_DAY (86400LL * NS_PER_SEC)

int64_t time_days_from_civil(int y, unsigned m, unsigned d);
void time_civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d);

/* Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.frac]` or with `T`, then an
 * optional `Z` or UTC offset (`+HH:MM`, `+HHMM`, `+HH`, or with `-`; after a
 * time of day only), which is taken off: *ns is UTC. A time without either
 * is read as UTC. Years 1900 to 2200. Returns 0 and sets *ns, or -1 when
 * malformed or out of range. */
int time_parse(const char *s, size_t len, int64_t *ns);

/* How a data file writes its times: ISO as above, or a count since the epoch
 * (digits, an optional fraction) in seconds, ms, us or ns; TIME_AUTO reads a
 * value with '-' at [4] as ISO and any other by its magnitude: below 1e8
 * refused (a YYYYMMDD date is not epoch seconds), below 1e11 seconds, 1e14
 * milliseconds, 1e17 microseconds, else nanoseconds. */
enum time_form { TIME_AUTO, TIME_ISO, TIME_EPOCH_S, TIME_EPOCH_MS, TIME_EPOCH_US, TIME_EPOCH_NS };
/* "auto", "iso", "s", "ms", "us", "ns"; -1 for any other name. */
int time_form_from_name(const char *name);
/* Parses s in the given form. *zoned is 1 when the value is UTC by its form
 * (an epoch count, `Z`, an offset), 0 for a wall-clock time without a zone,
 * which a caller with a time zone converts (tz.h). 0, or -1 as time_parse. */
int time_parse_form(const char *s, size_t len, enum time_form form, int64_t *ns, int *zoned);

/* `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 chars + NUL); returns the length written.
 * buf must hold TIME_ISO_LEN + 1 bytes. */
#define TIME_ISO_LEN 27
size_t time_format_iso(int64_t ns, char *buf);
/* `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` when the time of day is not zero. */
size_t time_format_short(int64_t ns, char *buf);

#endif
