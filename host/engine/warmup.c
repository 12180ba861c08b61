/*
 * warmup — a warm start: history replayed through the strategies before a
 * running host's first live event, so that indicators, ctx:bars rings and
 * timeframes are ready when trading starts.
 *
 * The history is an ordinary feed, dispatched by the run loop's own code
 * (engine_fetch / engine_dispatch) with the engine swapped onto it: its
 * clock replays the history's event time, its venue is one that takes no
 * orders and matches nothing. Orders are refused at the door (ctx:buy and
 * ctx:sell give nil, "warming_up"; no order reaches the book of record),
 * and nothing is an output of the run: no equity rows, no price series for
 * the report, no fills or orders; only log lines (the strategies' own, and
 * one line at the end saying what the warm-up was). Afterwards the live
 * feed, venue and clock are back, and the last prices are forgotten (the
 * live feed's come next; history that overlaps it is not an error).
 */
#include "engine-internal.h"

#include <limits.h>
#include <string.h>

#include "log.h"
#include "timefmt.h"

static int warm_submit(void *self, struct order *o, int64_t now)
{
	(void)self, (void)o, (void)now;
	return -1;
}

static int warm_cancel(void *self, struct order *o, int64_t now)
{
	(void)self, (void)o, (void)now;
	return -1;
}

static int warm_replace(void *self, struct order *o, double qty, double price, int64_t now)
{
	(void)self, (void)o, (void)qty, (void)price, (void)now;
	return -1;
}

static void warm_cancel_all(void *self, const char *reason, int64_t now)
{
	(void)self, (void)reason, (void)now;
}

static void warm_market(void *self, const struct feed_event *ev, int64_t now)
{
	(void)self, (void)ev, (void)now;
}

static int64_t warm_due(void *self)
{
	(void)self;
	return INT64_MAX;
}

static void warm_advance(void *self, int64_t now)
{
	(void)self, (void)now;
}

static void warm_status(void *self, struct venue_status *out)
{
	(void)self;
	out->state = VENUE_DOWN;
	snprintf(out->detail, sizeof out->detail, "warming up (no orders)");
}

static void warm_free(void *self)
{
	(void)self;
}

/* The venue while warming up: no orders, nothing to match. */
static const struct venue_ops warm_venue = {
    .name = "warmup",
    .submit = warm_submit,
    .cancel = warm_cancel,
    .replace = warm_replace,
    .cancel_all = warm_cancel_all,
    .market = warm_market,
    .due = warm_due,
    .advance = warm_advance,
    .status = warm_status,
    .free = warm_free,
};

/* The history feed's sink: event time moves; no venue has work. */
static void sink_advance(void *ud, int64_t t)
{
	struct engine *e = ud;
	clock_set(&e->clock, t);
}

int engine_warmup(struct engine *e, struct feed *history, const char *what, char *err,
		  size_t errlen)
{
	struct feed_sink sink = {warm_due, NULL, sink_advance, e};
	if (history->ops->start(history, &sink, err, errlen) != 0)
		return -1;
	struct feed *live = e->feed;
	struct venue venue = e->venue;
	struct clock clock = e->clock;
	e->feed = history;
	e->venue = (struct venue){&warm_venue, NULL};
	clock_init(&e->clock, CLOCK_REPLAY);
	e->warming = 1;
	e->warm_refused = 0;
	int64_t first = INT64_MIN, last = INT64_MIN;
	long n = 0;
	int r = 0;
	while (!e->failed && (r = engine_fetch(e, err, errlen)) > 0) {
		if (first == INT64_MIN)
			first = engine_next_time(e);
		last = engine_next_time(e);
		if ((r = engine_dispatch(e, err, errlen)) != 0)
			break;
		n++;
	}
	e->warming = 0;
	e->feed = live;
	e->venue = venue;
	e->clock = clock;
	e->cur = INT64_MIN; /* the live feed's first event starts the run's time */
	if (e->last)
		memset(e->last, 0, (size_t)e->nlast * sizeof *e->last);
	if (r < 0)
		return -1;
	char a[TIME_ISO_LEN + 1] = "-", b[TIME_ISO_LEN + 1] = "-";
	if (n > 0) {
		time_format_iso(first, a);
		time_format_iso(last, b);
	}
	log_msg(LOG_INFO, "warmup",
		"%s: %ld events (%s to %s) through %d strateg%s, %ld orders "
		"refused (warming_up)",
		what, n, a, b, e->nstrat, e->nstrat == 1 ? "y" : "ies", e->warm_refused);
	return 0;
}
