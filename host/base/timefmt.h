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

/* Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.frac]` or with `T`, an optional
 * trailing `Z`. Returns 0 and sets *ns, or -1 when malformed or out of range. */
int time_parse(const char *s, size_t len, int64_t *ns);

/* `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 chars + NUL); returns the length written.
 * buf must hold TIME_ISO_LEN + 1 bytes. */
#define TIME_ISO_LEN 27
size_t time_format_iso(int64_t ns, char *buf);
/* `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` when the time of day is not zero. */
size_t time_format_short(int64_t ns, char *buf);

#endif
