/*
 * tz — wall-clock time in a named zone of the tz database (`America/New_York`),
 * read from the system's compiled zone files (/usr/share/zoneinfo, Debian's
 * tzdata), never through the process's TZ: a backtest reads a local time the
 * same way on every machine with the same tzdata.
 *
 * A zone is immutable once loaded: readers on several threads may share it.
 */
#ifndef GANTRY_TZ_H
#define GANTRY_TZ_H

#include <stddef.h>
#include <stdint.h>

#define TZ_DIR "/usr/share/zoneinfo"

struct tz;

/* Loads zone name (as in the tz database). NULL with err: an unknown zone
 * says `unknown time zone 'NAME' (...)`. */
struct tz *tz_load(const char *name, char *err, size_t errlen);
void tz_free(struct tz *z);
const char *tz_name(const struct tz *z);

/* The zone's offset from UTC, in seconds east, at UTC time t (seconds). */
int32_t tz_offset_at(const struct tz *z, int64_t t);

/* The UTC instants (seconds) at which the wall clock reads `local` (seconds
 * since the epoch, as if UTC), earliest first: 1 as a rule, 2 in an hour the
 * clocks go back over, 0 in one they skip. Returns the count. */
int tz_local_to_utc(const struct tz *z, int64_t local, int64_t out[2]);

#endif
