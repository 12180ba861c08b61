/*
 * test_series — the bounded chart sample: at most SERIES_CAP points, evenly
 * strided from the first point pushed, the last point pushed always in the
 * output of series_points.
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "series.h"

static int64_t out_t[SERIES_CAP + 1];
static double out_v[SERIES_CAP + 1];

/* Pushes t = 0..n-1 with v = t / 2. */
static void push_n(struct series *s, long n)
{
	for (long i = 0; i < n; i++)
		if (series_push(s, i, (double)i / 2) != 0)
			return;
}

/* 1 when out_t[0..n) is 0, stride, 2 * stride, ... (the sample proper) with
 * matching values. */
static int evenly_strided(size_t n, int64_t stride)
{
	for (size_t k = 0; k < n; k++)
		if (out_t[k] != (int64_t)k * stride || out_v[k] != (double)out_t[k] / 2)
			return 0;
	return 1;
}

static void test_empty(void)
{
	struct series s = {0};
	CHECK_EQ_INT(series_points(&s, out_t, out_v), 0);
	series_free(&s);
}

static void test_short_stream_is_kept_whole(void)
{
	struct series s = {0};
	push_n(&s, 10);
	size_t n = series_points(&s, out_t, out_v);
	CHECK_EQ_INT(n, 10);
	CHECK(evenly_strided(n, 1));
	CHECK_EQ_INT(out_t[9], 9);
	series_free(&s);
}

static void test_exactly_cap(void)
{
	struct series s = {0};
	push_n(&s, SERIES_CAP);
	size_t n = series_points(&s, out_t, out_v);
	CHECK_EQ_INT(n, SERIES_CAP);
	CHECK(evenly_strided(n, 1));
	series_free(&s);
}

static void test_one_past_cap_halves(void)
{
	struct series s = {0};
	push_n(&s, SERIES_CAP + 1); /* 0..4096: every other point, 4096 on the stride */
	size_t n = series_points(&s, out_t, out_v);
	CHECK_EQ_INT(n, SERIES_CAP / 2 + 1);
	CHECK(evenly_strided(n, 2));
	CHECK_EQ_INT(out_t[n - 1], SERIES_CAP);
	CHECK_EQ_INT(s.stride, 2);
	series_free(&s);
}

static void test_last_point_off_stride_is_added(void)
{
	struct series s = {0};
	push_n(&s, SERIES_CAP + 2); /* the last, 4097, is odd: not in the sample */
	size_t n = series_points(&s, out_t, out_v);
	CHECK_EQ_INT(n, SERIES_CAP / 2 + 2);
	CHECK(evenly_strided(n - 1, 2));
	CHECK_EQ_INT(out_t[n - 1], SERIES_CAP + 1);
	CHECK(out_v[n - 1] == (double)(SERIES_CAP + 1) / 2);
	series_free(&s);
}

static void test_long_stream_is_bounded(void)
{
	static const long lens[] = {SERIES_CAP * 3 + 7, 100000, 1000003};
	for (size_t k = 0; k < 3; k++) {
		struct series s = {0};
		push_n(&s, lens[k]);
		size_t n = series_points(&s, out_t, out_v);
		CHECK(n <= SERIES_CAP + 1);
		CHECK(n > SERIES_CAP / 2); /* after a halving at least half the cap is used */
		int64_t stride = (int64_t)s.stride;
		CHECK(stride > 1);
		/* the sample starts at the first point and steps by the stride */
		int last_is_extra = out_t[n - 1] % stride != 0;
		CHECK(evenly_strided(n - (size_t)last_is_extra, stride));
		CHECK_EQ_INT(out_t[0], 0);
		/* the sample covers the whole stream: the last sampled point is
		 * within one stride of the end */
		size_t ns = n - (size_t)last_is_extra;
		CHECK(out_t[ns - 1] > lens[k] - 1 - stride);
		CHECK_EQ_INT(out_t[n - 1], lens[k] - 1);
		CHECK(out_v[n - 1] == (double)(lens[k] - 1) / 2);
		series_free(&s);
	}
}

static void test_free_twice_is_safe(void)
{
	struct series s = {0};
	push_n(&s, 3);
	series_free(&s);
	CHECK(s.t == NULL && s.v == NULL && s.n == 0);
	series_free(&s);
	CHECK(s.t == NULL);
}

/* The header promises the last point pushed is always kept. When the last
 * push repeats the time of the last sampled point, series_points compares
 * times only and returns the sampled value instead of the last one pushed. */
static void test_last_point_with_repeated_time(void)
{
	struct series s = {0};
	push_n(&s, SERIES_CAP + 1); /* stride 2; t = 4096 is the last sampled point */
	series_push(&s, SERIES_CAP, -1.0); /* same time, new value; off the stride */
	size_t n = series_points(&s, out_t, out_v);
	CHECK_EQ_INT(out_t[n - 1], SERIES_CAP);
	/* regression: the last value pushed is kept even when its time equals
	 * the last sampled time (it once came back as 2048) */
	CHECK(out_v[n - 1] == -1.0);
	series_free(&s);
}

int main(void)
{
	RUN(test_empty);
	RUN(test_short_stream_is_kept_whole);
	RUN(test_exactly_cap);
	RUN(test_one_past_cap_halves);
	RUN(test_last_point_off_stride_is_added);
	RUN(test_long_stream_is_bounded);
	RUN(test_free_twice_is_safe);
	RUN(test_last_point_with_repeated_time);
	return check_summary();
}
