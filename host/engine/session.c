/*
 * session — timeframes aligned to the trading session (a strategy's
 * `timeframes_align = "session"`): a frame's bars start at the session's
 * open, a wall time in the exchange's zone (the deploy config's
 * `session_open`, default 09:30, and `timezone`, default America/New_York,
 * as ctx:at reads it), so a 1h frame of a New York day is 09:30-10:30,
 * 10:30-11:30, ... whatever the offset from UTC that day.
 *
 * Rules (history_bounds): the session day of t is the local day whose open
 * is the last at or before t. A frame shorter than a day starts at that
 * open plus a whole number of frames, and ends at the next frame or at the
 * next day's open, whichever comes first (a day of 23 or 25 hours, or a
 * frame that does not divide 24 h, has a short last bar). A frame of whole
 * days (1d, 2d) runs from the open of a day to the open n days later, days
 * counted from the epoch's local day, so DST never shifts it.
 */
#include "engine-internal.h"

#include <string.h>

#include "history.h"
#include "log.h"
#include "tz.h"

#define NS 1000000000LL
#define DAY_S 86400LL

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The UTC instant (ns) at which local day `day` reads sec after midnight
 * (the first pass in an hour the clocks go back over; in one they skip, an
 * hour later, as ctx:at does). */
static int64_t open_of(const struct tz *z, int64_t day, int sec)
{
	int64_t local = day * DAY_S + sec, u[2];
	int64_t at = tz_local_to_utc(z, local, u) ? u[0] : local - tz_offset_at(z, local - DAY_S);
	return at * NS;
}

static void session_bounds(void *ud, int64_t t, int64_t len, int64_t *start, int64_t *end)
{
	const struct engine *e = ud;
	int sec = e->cfg.has_session_open ? e->cfg.session_open_sec : 9 * 3600 + 30 * 60;
	int64_t s = floor_div(t, NS);
	int64_t day = floor_div(s + tz_offset_at(e->tz, s), DAY_S);
	int64_t open = open_of(e->tz, day, sec);
	while (open > t) /* before today's open: yesterday's session */
		open = open_of(e->tz, --day, sec);
	int64_t next = open_of(e->tz, day + 1, sec);
	while (next <= t) /* a day the open came twice (DST): the later one */
		open = next, next = open_of(e->tz, ++day + 1, sec);
	if (len >= DAY_S * NS && len % (DAY_S * NS) == 0) {
		int64_t n = len / (DAY_S * NS), d0 = day - (day % n + n) % n;
		*start = open_of(e->tz, d0, sec);
		*end = open_of(e->tz, d0 + n, sec);
		return;
	}
	*start = open + (t - open) / len * len;
	*end = *start + len < next ? *start + len : next;
}

int engine_session_align(struct engine *e, struct history *h)
{
	if (!e->tz) {
		char err[256];
		const char *zone = e->cfg.timezone ? e->cfg.timezone : "America/New_York";
		if (!(e->tz = tz_load(zone, err, sizeof err))) {
			log_msg(LOG_WARN, "engine",
				"timeframes_align = \"session\": %s; frames stay "
				"aligned to UTC",
				err);
			return -1;
		}
	}
	history_align(h, session_bounds, e);
	return 0;
}
