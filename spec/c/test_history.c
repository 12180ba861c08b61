/*
 * test_history — a strategy's rings and timeframes (host/engine/history.c):
 * the ring keeps the newest `depth` bars, a timeframe's bar closes only once
 * time reaches its end, the earliest (then shortest) first; other bounds
 * (history_align, the session's) decide where a bar starts and ends.
 */
#include <stdint.h>

#include "check.h"
#include "history.h"

#define S_NS 1000000000LL

static const char names[2][HISTORY_FRAME_NAME] = {"1h", "5m"};
static const int64_t lens[2] = {3600 * S_NS, 300 * S_NS};

static struct bar bar_at(int64_t sec, int sym, double px)
{
	return (struct bar){.time = sec * S_NS, .open = px, .high = px + 1, .low = px - 1,
			    .close = px + 0.5, .volume = 1, .sym = sym};
}

static void test_ring_keeps_the_newest(void)
{
	struct history *h = history_new(3, names, lens, 0);
	CHECK(h != NULL);
	for (int i = 0; i < 5; i++) {
		struct bar b = bar_at(60 * i, 2, 100 + i);
		CHECK_EQ_INT(history_add_bar(h, &b), 0);
	}
	struct bar out;
	CHECK_EQ_INT(history_count(h, 2, -1), 3);
	CHECK_EQ_INT(history_count(h, 0, -1), 0);  /* never seen */
	CHECK_EQ_INT(history_count(h, 99, -1), 0); /* beyond the table */
	CHECK_EQ_INT(history_get(h, 2, -1, 0, &out), 0);
	CHECK_NEAR(out.open, 104, 0);
	CHECK_EQ_INT(history_get(h, 2, -1, 2, &out), 0);
	CHECK_NEAR(out.open, 102, 0);
	CHECK_EQ_INT(history_get(h, 2, -1, 3, &out), -1);
	CHECK_EQ_INT(history_next_close(h), INT64_MAX);
	history_free(h);
}

static void test_frames_close_at_their_end_shortest_first(void)
{
	struct history *h = history_new(10, names, lens, 2);
	struct bar b = bar_at(3300, 0, 10), c = bar_at(3540, 1, 20), out;
	int frame = -1;
	history_add_bar(h, &b);
	history_add_bar(h, &c);
	CHECK_EQ_INT(history_next_close(h), 3600 * S_NS);
	CHECK_EQ_INT(history_pop_closed(h, 3600 * S_NS - 1, &out, &frame), 0); /* not yet */
	/* at 3600 all four end: the 5m ones first, symbol 0 then 1, then the 1h ones */
	int want_frame[] = {1, 1, 0, 0}, want_sym[] = {0, 1, 0, 1};
	for (int i = 0; i < 4; i++) {
		CHECK_EQ_INT(history_pop_closed(h, 3600 * S_NS, &out, &frame), 1);
		CHECK_EQ_INT(frame, want_frame[i]);
		CHECK_EQ_INT(out.sym, want_sym[i]);
	}
	CHECK_EQ_INT(out.time, 0); /* the 1h bar's time is its start */
	CHECK_EQ_INT(history_pop_closed(h, INT64_MAX, &out, &frame), 0);
	CHECK_EQ_INT(history_count(h, 1, 0), 1);
	CHECK_EQ_INT(history_frame(h, "5m"), 1);
	CHECK_EQ_INT(history_frame(h, "15m"), -1);
	CHECK(history_same(h, 10, names, lens, 2));
	CHECK(!history_same(h, 11, names, lens, 2));
	history_free(h);
}

static void test_trades_and_times_before_the_epoch(void)
{
	struct history *h = history_new(0, names + 1, lens + 1, 1);
	struct bar out;
	int frame;
	CHECK_EQ_INT(history_add_trade(h, 0, -10 * S_NS, 5, 100), 0);
	CHECK_EQ_INT(history_add_trade(h, 0, -1 * S_NS, 7, 50), 0);
	CHECK_EQ_INT(history_next_close(h), 0); /* [-300 s, 0) */
	CHECK_EQ_INT(history_pop_closed(h, 0, &out, &frame), 1);
	CHECK_EQ_INT(out.time, -300 * S_NS);
	CHECK_NEAR(out.open, 5, 0);
	CHECK_NEAR(out.high, 7, 0);
	CHECK_NEAR(out.close, 7, 0);
	CHECK_NEAR(out.volume, 150, 0);
	CHECK_EQ_INT(history_count(h, 0, 0), 0); /* depth 0 keeps none */
	history_free(h);
}

/* Frames on the half hour, cut short at 02:00 (a "session" open). */
static void half_past(void *ud, int64_t t, int64_t len, int64_t *start, int64_t *end)
{
	(void)ud;
	int64_t half = 1800 * S_NS, cut = 7200 * S_NS;
	*start = (t - half) / len * len + half;
	*end = *start + len;
	if (*start < cut && *end > cut)
		*end = cut;
}

static void test_aligned_bounds(void)
{
	struct history *h = history_new(4, names, lens, 1); /* 1h only */
	CHECK(h != NULL);
	history_align(h, half_past, NULL);
	CHECK(history_aligned(h));
	int64_t secs[] = {2700, 4500, 5500, 6900}; /* 00:45, 01:15, 01:31:40, 01:55 */
	for (int i = 0; i < 4; i++) {
		struct bar out;
		int frame;
		if (i == 2) { /* as the engine does: what closed by then, first */
			CHECK_EQ_INT(history_pop_closed(h, secs[i] * S_NS, &out, &frame), 1);
			CHECK(out.time == 1800 * S_NS); /* [00:30, 01:30) */
			CHECK_NEAR(out.volume, 2, 0);
			CHECK_NEAR(out.close, 101.5, 0);
		}
		struct bar b = bar_at(secs[i], 0, 100 + i);
		CHECK_EQ_INT(history_add_bar(h, &b), 0);
	}
	/* [01:30, 02:00): cut at 02:00, not 02:30 */
	CHECK(history_next_close(h) == 7200 * S_NS);
	struct bar out;
	int frame;
	CHECK_EQ_INT(history_pop_closed(h, 7199 * S_NS, &out, &frame), 0);
	CHECK_EQ_INT(history_pop_closed(h, 7200 * S_NS, &out, &frame), 1);
	CHECK(out.time == 5400 * S_NS);
	CHECK_NEAR(out.volume, 2, 0);
	history_free(h);
}

int main(void)
{
	RUN(test_ring_keeps_the_newest);
	RUN(test_frames_close_at_their_end_shortest_first);
	RUN(test_trades_and_times_before_the_epoch);
	RUN(test_aligned_bounds);
	return check_summary();
}
