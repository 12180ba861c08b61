/* datacheck: each check fires on a value built to trip it, and a clean
 * random walk (seeded) trips nothing. */
#include "check.h"
#include "datacheck.h"

#include <math.h>
#include <stdint.h>

#define NS 1000000000LL
#define DAY (86400LL * NS)
/* 2024-01-01 was a Monday */
#define MON (19723LL * DAY)

static struct bar mk(int64_t t, double o, double h, double l, double c, double v)
{
	struct bar b = {t, o, h, l, c, v, 0};
	return b;
}

/* Daily bars on weekdays from MON, a seeded walk. */
static uint64_t rng = 42;
static double unif(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static int64_t weekday(int i)
{
	return MON + (int64_t)(i / 5 * 7 + i % 5) * DAY;
}

static void test_clean_walk(void)
{
	struct datacheck_config c;
	datacheck_defaults(&c);
	c.jump_pct = 20;
	struct datacheck *d = datacheck_new(&c);
	struct datacheck_result r;
	double p = 100;
	unsigned any = 0;
	for (int i = 0; i < 2000; i++) {
		double np = p * exp((unif() - 0.5) * 0.04);
		double hi = fmax(p, np) * 1.003, lo = fmin(p, np) * 0.997;
		struct bar b = mk(weekday(i), p, hi, lo, np, 1000 + unif() * 500);
		any |= datacheck_bar(d, &b, &r);
		p = np;
	}
	CHECK_EQ_INT(any, 0);
	for (int k = 0; k < DC__COUNT; k++)
		CHECK_EQ_INT(datacheck_count(d, k), 0);
	datacheck_free(d);
}

static struct datacheck *warm(struct datacheck_config *c, int n, double *last)
{
	struct datacheck *d = datacheck_new(c);
	struct datacheck_result r;
	double p = 100;
	for (int i = 0; i < n; i++) {
		double np = p * (i % 2 ? 1.01 : 0.995);
		struct bar b = mk(weekday(i), p, fmax(p, np), fmin(p, np), np, 1000 + (i % 3) * 10);
		datacheck_bar(d, &b, &r);
		p = np;
	}
	*last = p;
	return d;
}

static void test_each_check(void)
{
	struct datacheck_config c;
	datacheck_defaults(&c);
	c.jump_pct = 20;
	c.stale_run = 3;
	double p;
	struct datacheck *d = warm(&c, 40, &p);
	struct datacheck_result r;
	char buf[160];
	struct bar b = mk(weekday(40), p, p, 0, p, 10); /* low 0 */
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 1u << DC_PRICES);
	CHECK(strcmp(datacheck_describe(DC_PRICES, &r, buf, sizeof buf),
		     "low 0 is not a positive price") == 0);
	b = mk(weekday(41), p, p * 0.99, p * 1.01, p, 10); /* high < low */
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 1u << DC_OHLC);
	b = mk(weekday(42), p, p * 1.01, p * 0.99, p * 1.02, 10); /* close above high */
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 1u << DC_OHLC);
	CHECK(strstr(datacheck_describe(DC_OHLC, &r, buf, sizeof buf), "is outside low..high") !=
	      NULL);
	CHECK(strncmp(buf, "close ", 6) == 0);
	b = mk(weekday(42), p, p, p, p, 10); /* the same time again */
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 1u << DC_DUPLICATES);
	b = mk(weekday(30), p, p, p, p, 10); /* back */
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 1u << DC_TIME_BACK);
	CHECK_NEAR(r.value[DC_TIME_BACK], -(double)(weekday(42) - weekday(30)) / NS, 1e-6);
	/* a weekday missing: Wednesday of the next week skipped */
	b = mk(weekday(44), p, p, p, p, 1000);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 1u << DC_GAPS);
	CHECK_NEAR(r.value[DC_GAPS], 1, 0);
	/* a 30 % jump, over 20 % and far beyond the sigmas */
	b = mk(weekday(45), p, p * 1.3, p, p * 1.3, 1000);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 1u << DC_JUMP);
	CHECK_NEAR(r.value[DC_JUMP], 30, 1e-9);
	CHECK_NEAR(r.ref[DC_JUMP], p, 1e-9);
	CHECK(r.z[DC_JUMP] > 10);
	/* back at the reference: no finding (one bad print, one finding) */
	b = mk(weekday(46), p, p * 1.3, p, p, 1000);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 0);
	/* a split: -50 %, then the new level holds: one finding */
	b = mk(weekday(47), p / 2, p, p / 2, p / 2, 1000);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 1u << DC_JUMP);
	CHECK_NEAR(r.value[DC_JUMP], -50, 1e-9);
	p /= 2;
	b = mk(weekday(48), p, p * 1.001, p, p * 1.001, 1000);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 0);
	/* stale: 3 equal closes in a row */
	b = mk(weekday(49), p, p, p, p, 1000);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 0);
	b = mk(weekday(50), p, p, p, p, 1000);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 0);
	b = mk(weekday(51), p, p, p, p, 1000);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 1u << DC_STALE);
	CHECK_NEAR(r.value[DC_STALE], 3, 0);
	/* a volume spike */
	b = mk(weekday(52), p, p * 1.01, p, p * 1.005, 1e6);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 1u << DC_VOLUME_SPIKE);
	CHECK(r.z[DC_VOLUME_SPIKE] > 10);
	b = mk(weekday(53), p, p, p, p, NAN);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r) & (1u << DC_PRICES), 1u << DC_PRICES);
	CHECK(strcmp(datacheck_describe(DC_PRICES, &r, buf, sizeof buf),
		     "volume nan is not a volume (finite, >= 0)") == 0);
	CHECK_EQ_INT(datacheck_count(d, DC_JUMP), 2);
	CHECK_EQ_INT(datacheck_count(d, DC_OHLC), 2);
	CHECK_EQ_INT(datacheck_worst(&c, (1u << DC_GAPS) | (1u << DC_OHLC)), DC_ERROR);
	CHECK_EQ_INT(datacheck_worst(&c, 1u << DC_GAPS), DC_WARN);
	datacheck_free(d);
}

static void test_off_and_sigma_only(void)
{
	struct datacheck_config c;
	datacheck_defaults(&c);
	c.level[DC_GAPS] = DC_OFF;
	c.jump_pct = 0;
	double p;
	struct datacheck *d = warm(&c, 40, &p);
	struct datacheck_result r;
	/* no percentage test: a 20 % move is over 15 sigmas of moves of +-1 % */
	struct bar b = mk(weekday(40), p, p * 1.2, p, p * 1.2, 1000);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 1u << DC_JUMP);
	CHECK(r.z[DC_JUMP] > 15);
	CHECK_EQ_INT(datacheck_count(d, DC_GAPS), 0);
	datacheck_free(d);
	/* before the warm-up, sigmas say nothing */
	d = warm(&c, 5, &p);
	b = mk(weekday(5), p, p * 1.1, p, p * 1.1, 1000);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 0);
	datacheck_free(d);
}

static void test_intraday_gaps(void)
{
	struct datacheck_config c;
	datacheck_defaults(&c);
	struct datacheck *d = datacheck_new(&c);
	struct datacheck_result r;
	int64_t open = MON + (13 * 3600 + 30 * 60) * NS, m = 60 * NS;
	unsigned any = 0;
	for (int i = 0; i < 390; i++) {
		struct bar b = mk(open + i * m, 100, 100.1, 99.9, 100 + (i % 2) * 0.05, 500);
		any |= datacheck_bar(d, &b, &r);
	}
	CHECK_EQ_INT(any, 0);
	/* the next day's open: no gap over the night */
	struct bar b = mk(open + DAY, 100, 100.1, 99.9, 100.05, 500);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 0);
	b = mk(open + DAY + 4 * m, 100, 100.1, 99.9, 100, 500);
	CHECK_EQ_INT(datacheck_bar(d, &b, &r), 1u << DC_GAPS);
	CHECK_NEAR(r.value[DC_GAPS], 3, 0);
	datacheck_free(d);
}

static void test_ticks(void)
{
	struct datacheck_config c;
	datacheck_defaults(&c);
	c.jump_pct = 20;
	struct datacheck *d = datacheck_new(&c);
	struct datacheck_result r;
	struct top_of_book top = {MON, 0, 10.0, 100, 10.01, 100};
	CHECK_EQ_INT(datacheck_tick(d, MON, 0, &top, NULL, &r), 0);
	top.bid = 10.02;
	CHECK_EQ_INT(datacheck_tick(d, MON + 1, 0, &top, NULL, &r), 1u << DC_CROSSED);
	top.bid = 0; /* an empty side is no finding */
	CHECK_EQ_INT(datacheck_tick(d, MON + 2, 0, &top, NULL, &r), 0);
	struct trade_event tr = {MON + 3, 0, 10.0, 100, 0};
	CHECK_EQ_INT(datacheck_tick(d, MON + 3, 0, NULL, &tr, &r), 0);
	tr.price = 0;
	CHECK_EQ_INT(datacheck_tick(d, MON + 4, 0, NULL, &tr, &r), 1u << DC_PRICES);
	tr.price = 14;
	CHECK_EQ_INT(datacheck_tick(d, MON + 5, 0, NULL, &tr, &r), 1u << DC_JUMP);
	CHECK_EQ_INT(datacheck_tick(d, MON + 1, 1, NULL, &tr, &r), 1u << DC_TIME_BACK);
	/* the same stamp is not a finding on ticks */
	CHECK_EQ_INT(datacheck_tick(d, MON + 5, 0, NULL, &tr, &r), 0);
	datacheck_free(d);
}

static void test_names(void)
{
	for (int k = 0; k < DC__COUNT; k++)
		CHECK_EQ_INT(datacheck_kind(datacheck_name(k)), k);
	CHECK_EQ_INT(datacheck_kind("nope"), -1);
	CHECK(strcmp(datacheck_policy_name(DC_HOLD), "hold") == 0);
}

int main(void)
{
	test_clean_walk();
	test_each_check();
	test_off_and_sigma_only();
	test_intraday_gaps();
	test_ticks();
	test_names();
	return check_summary();
}
