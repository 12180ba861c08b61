/*
 * datacheck — the per-value integrity checks (datacheck.h). Statistics are
 * exponentially weighted (alpha = 2 / (window + 1)) over log returns and
 * log(1 + volume) (volumes are skewed: a spike is a multiple); a value that trips a sigma test is
 * left out of them, and the sigma tests wait for `warmup` values. The reference price is the last
 * value that was not a jump, so that the good value after one bad print is
 * not a finding; a jump the next value confirms (a split, a new level) is
 * one finding, and that value the new reference.
 */
#include "datacheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

#define NS 1000000000LL
#define DAY_NS (86400LL * NS)

/* a - b, saturated: times come from any feed, and an overflow is UB */
static int64_t tdiff(int64_t a, int64_t b)
{
	int64_t d;
	if (__builtin_sub_overflow(a, b, &d))
		return a < b ? INT64_MIN : INT64_MAX;
	return d;
}

struct ewma {
	double mean, var;
	long n;
};

struct dc_sym {
	int64_t last_t; /* INT64_MIN: nothing yet */
	int64_t min_step;
	double ref;	/* the last close or trade that was not a jump; 0: none */
	double pending; /* the last jump, if the one before; 0: none */
	double last_close;
	int run;	 /* bars in a row with last_close */
	int after_break; /* this bar comes after a step over 4 times the smallest */
	struct ewma ret, vol;
};

struct datacheck {
	struct datacheck_config cfg;
	struct dc_sym *sym;
	int nsym;
	int64_t tick_t; /* the tick feed's last time */
	long count[DC__COUNT];
};

static const char *const names[DC__COUNT] = {"prices",	   "ohlc",	   "time_back",
					     "duplicates", "gaps",	   "jump",
					     "stale",	   "volume_spike", "crossed"};

void datacheck_defaults(struct datacheck_config *c)
{
	memset(c, 0, sizeof *c);
	for (int k = 0; k < DC__COUNT; k++)
		c->level[k] = DC_WARN;
	c->level[DC_PRICES] = c->level[DC_OHLC] = c->level[DC_TIME_BACK] = DC_ERROR;
	c->jump_sigmas = 15;
	c->jump_pct = 25;
	c->stale_run = 50;
	c->volume_sigmas = 10;
	c->window = 100;
	c->warmup = 20;
	c->policy = DC_PASS;
}

struct datacheck *datacheck_new(const struct datacheck_config *c)
{
	struct datacheck *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->cfg = *c;
	if (d->cfg.window < 1)
		d->cfg.window = 1;
	d->tick_t = INT64_MIN;
	return d;
}

void datacheck_free(struct datacheck *d)
{
	if (!d)
		return;
	free(d->sym);
	free(d);
}

static struct dc_sym *sym_state(struct datacheck *d, int sym)
{
	if (sym < 0)
		return NULL;
	int had = d->nsym;
	struct dc_sym *p = grow_array(d->sym, &d->nsym, sym + 1, sizeof *p, 16);
	if (!p)
		return NULL;
	for (int i = had; i < d->nsym; i++)
		p[i].last_t = INT64_MIN;
	d->sym = p;
	return &d->sym[sym];
}

static int finite_pos(double v)
{
	return isfinite(v) && v > 0;
}

static void found(struct datacheck *d, struct datacheck_result *r, int kind, double value,
		  double ref)
{
	if (d->cfg.level[kind] == DC_OFF)
		return;
	if (!(r->mask & (1u << kind)))
		d->count[kind]++;
	r->mask |= 1u << kind;
	r->value[kind] = value;
	r->ref[kind] = ref;
}

static void ewma_add(struct ewma *e, double x, int window)
{
	double alpha = 2.0 / (window + 1.0);
	if (e->n++ == 0) {
		e->mean = x;
		e->var = 0;
		return;
	}
	double diff = x - e->mean, incr = alpha * diff;
	e->mean += incr;
	e->var = (1 - alpha) * (e->var + diff * incr);
}

/* Standard deviations of x from the statistics; 0 before the warm-up or
 * when they have no spread. */
static double ewma_z(const struct ewma *e, double x, int warmup)
{
	if (e->n < warmup || e->n < 2)
		return 0;
	double sd = sqrt(e->var);
	return sd > 0 ? (x - e->mean) / sd : 0;
}

static int is_jump(const struct datacheck *d, const struct dc_sym *s, double from, double price,
		   double *pct, double *z)
{
	double lr = log(price / from);
	*pct = (price / from - 1) * 100;
	*z = s->after_break ? 0 : ewma_z(&s->ret, lr, d->cfg.warmup);
	return (d->cfg.jump_pct > 0 && fabs(*pct) > d->cfg.jump_pct) ||
	       (d->cfg.jump_sigmas > 0 && fabs(*z) > d->cfg.jump_sigmas);
}

/* A move from the reference to price. The reference is the last value
 * that was not a jump: one bad print is one finding, and the value after
 * it is measured against the good one before. A jump confirmed by the next
 * value (no jump from it: a split, a new level) becomes the reference
 * without a second finding. */
static void check_move(struct datacheck *d, struct dc_sym *s, double price,
		       struct datacheck_result *r)
{
	if (!finite_pos(price))
		return;
	double pct, z, p2, z2;
	if (s->ref > 0 && is_jump(d, s, s->ref, price, &pct, &z)) {
		if (s->pending > 0 && !is_jump(d, s, s->pending, price, &p2, &z2)) {
			s->ref = price; /* the new level holds */
			s->pending = 0;
			return;
		}
		found(d, r, DC_JUMP, pct, s->ref);
		r->z[DC_JUMP] = z;
		s->pending = price;
		return;
	}
	if (s->ref > 0 && !s->after_break)
		ewma_add(&s->ret, log(price / s->ref), d->cfg.window);
	s->ref = price;
	s->pending = 0;
}

/* Weekdays strictly between the UTC days of a and b (a < b). */
static int64_t weekdays_between(int64_t a, int64_t b)
{
	int64_t da = a / DAY_NS, db = b / DAY_NS, n = 0;
	for (int64_t day = da + 1; day < db && n < 100000; day++) {
		int64_t wd = ((day % 7) + 7 + 3) % 7; /* 0 Monday: 1970-01-01 was a Thursday */
		n += wd < 5;
	}
	return n;
}

/* Bars missing between the symbol's last bar and one at t (t > last). */
static double missing_bars(const struct datacheck *d, const struct dc_sym *s, int64_t t)
{
	int64_t step = tdiff(t, s->last_t);
	double g = d->cfg.gap_interval_s;
	int64_t grid = g > 0 ? (g < 9e9 ? (int64_t)(g * NS) : (int64_t)9e18) : s->min_step;
	if (grid <= 0)
		return 0;
	if (grid >= 6 * DAY_NS) /* weekly, monthly: more than half a period late */
		return step - grid > grid / 2 ? floor((double)step / (double)grid + 0.5) - 1 : 0;
	if (grid >= DAY_NS * 5 / 6) /* daily: weekdays without a bar (holidays count) */
		return (double)weekdays_between(s->last_t, t);
	/* intraday: within one UTC day (a session), steps past the grid */
	if (t / DAY_NS != s->last_t / DAY_NS || step <= grid)
		return 0;
	int64_t missing = step / grid - (step % grid == 0); /* whole bars */
	return (double)missing;
}

static void check_time(struct datacheck *d, struct dc_sym *s, int64_t t, int gaps,
		       struct datacheck_result *r)
{
	if (s->last_t == INT64_MIN) {
		s->last_t = t;
		return;
	}
	if (t < s->last_t) {
		found(d, r, DC_TIME_BACK, (double)tdiff(t, s->last_t) / NS, (double)s->last_t);
		return; /* the symbol's clock stays where it was */
	}
	if (t == s->last_t) {
		found(d, r, DC_DUPLICATES, (double)t, (double)s->last_t);
		return;
	}
	int64_t step = tdiff(t, s->last_t);
	if (gaps) {
		double miss = missing_bars(d, s, t);
		if (miss > 0)
			found(d, r, DC_GAPS, miss, (double)s->last_t);
	}
	/* over a break (a night in intraday bars) moves are not the bars' own */
	s->after_break = s->min_step > 0 && step / 4 > s->min_step;
	if (s->min_step == 0 || step < s->min_step)
		s->min_step = step;
	s->last_t = t;
}

unsigned datacheck_bar(struct datacheck *d, const struct bar *b, struct datacheck_result *r)
{
	memset(r, 0, sizeof *r);
	struct dc_sym *s = sym_state(d, b->sym);
	if (!s)
		return 0;
	const double px[4] = {b->open, b->high, b->low, b->close};
	int bad_price = 0;
	for (int i = 0; i < 4; i++)
		if (!finite_pos(px[i]) && !bad_price) {
			bad_price = 1;
			found(d, r, DC_PRICES, px[i], (double)i);
		}
	if (!bad_price && !(isfinite(b->volume) && b->volume >= 0))
		found(d, r, DC_PRICES, b->volume, 4);
	if (!bad_price) {
		if (b->high < b->low)
			found(d, r, DC_OHLC, b->high, b->low);
		else if (b->open < b->low || b->open > b->high)
			found(d, r, DC_OHLC, b->open, 0);
		else if (b->close < b->low || b->close > b->high)
			found(d, r, DC_OHLC, b->close, 3);
	}
	check_time(d, s, b->time, d->cfg.level[DC_GAPS] != DC_OFF, r);
	if (r->mask & ((1u << DC_TIME_BACK) | (1u << DC_DUPLICATES)))
		return r->mask; /* out of order: its move means nothing */
	if (!bad_price) {
		check_move(d, s, b->close, r);
		if (b->close == s->last_close) {
			s->run++;
			if (d->cfg.stale_run > 1 && s->run >= d->cfg.stale_run)
				found(d, r, DC_STALE, (double)s->run, b->close);
		} else {
			s->last_close = b->close;
			s->run = 1;
		}
	}
	if (isfinite(b->volume) && b->volume >= 0) {
		/* in log(1 + volume): volumes are skewed, a spike is a multiple */
		double lv = log1p(b->volume), z = ewma_z(&s->vol, lv, d->cfg.warmup);
		if (d->cfg.volume_sigmas > 0 && z > d->cfg.volume_sigmas) {
			found(d, r, DC_VOLUME_SPIKE, b->volume, expm1(s->vol.mean));
			r->z[DC_VOLUME_SPIKE] = z;
		} else if (!(d->cfg.volume_sigmas > 0 && z < -d->cfg.volume_sigmas)) {
			ewma_add(&s->vol, lv, d->cfg.window); /* a drop as far is left out too */
		}
	}
	return r->mask;
}

unsigned datacheck_tick(struct datacheck *d, int64_t t, int sym, const struct top_of_book *top,
			const struct trade_event *tr, struct datacheck_result *r)
{
	memset(r, 0, sizeof *r);
	struct dc_sym *s = sym_state(d, sym);
	if (!s)
		return 0;
	if (d->tick_t != INT64_MIN && t < d->tick_t)
		found(d, r, DC_TIME_BACK, (double)tdiff(t, d->tick_t) / NS, (double)d->tick_t);
	else
		d->tick_t = t;
	if (top) {
		/* 0 is an empty side; a negative or non-finite quote is bad */
		if (!(isfinite(top->bid) && top->bid >= 0))
			found(d, r, DC_PRICES, top->bid, 5);
		else if (!(isfinite(top->ask) && top->ask >= 0))
			found(d, r, DC_PRICES, top->ask, 6);
		else if (top->bid > 0 && top->ask > 0 && top->bid > top->ask)
			found(d, r, DC_CROSSED, top->bid, top->ask);
	}
	if (tr) {
		if (!finite_pos(tr->price))
			found(d, r, DC_PRICES, tr->price, 7);
		else if (!(r->mask & (1u << DC_TIME_BACK)))
			check_move(d, s, tr->price, r);
	}
	return r->mask;
}

long datacheck_count(const struct datacheck *d, int kind)
{
	return kind >= 0 && kind < DC__COUNT ? d->count[kind] : 0;
}

const struct datacheck_config *datacheck_config_of(const struct datacheck *d)
{
	return &d->cfg;
}

int datacheck_worst(const struct datacheck_config *c, unsigned mask)
{
	int worst = DC_OFF;
	for (int k = 0; k < DC__COUNT; k++)
		if ((mask & (1u << k)) && c->level[k] > worst)
			worst = c->level[k];
	return worst;
}

const char *datacheck_name(int kind)
{
	return kind >= 0 && kind < DC__COUNT ? names[kind] : "?";
}

int datacheck_kind(const char *name)
{
	for (int k = 0; k < DC__COUNT; k++)
		if (strcmp(name, names[k]) == 0)
			return k;
	return -1;
}

const char *datacheck_level_name(int level)
{
	return level == DC_ERROR ? "error" : level == DC_WARN ? "warn" : "off";
}

const char *datacheck_policy_name(int policy)
{
	return policy == DC_HOLD ? "hold" : policy == DC_FLAG ? "flag" : "pass";
}

char *datacheck_describe(int kind, const struct datacheck_result *r, char *out, size_t len)
{
	static const char *const field[] = {"open",   "high", "low", "close",
					    "volume", "bid",  "ask", "trade price"};
	double v = r->value[kind], ref = r->ref[kind];
	int fi = ref >= 0 && ref < 8 ? (int)ref : 0;
	switch (kind) {
	case DC_PRICES:
		snprintf(out, len, "%s %.10g is not %s", field[fi], v,
			 fi == 4	      ? "a volume (finite, >= 0)"
			 : fi >= 5 && fi <= 6 ? "a quote (finite, >= 0)"
					      : "a positive price");
		break;
	case DC_OHLC:
		if (ref == 0 || ref == 3)
			snprintf(out, len, "%s %.10g is outside low..high",
				 ref == 0 ? "open" : "close", v);
		else
			snprintf(out, len, "high %.10g is below low %.10g", v, ref);
		break;
	case DC_TIME_BACK:
		snprintf(out, len, "time goes back %.9g s", -v);
		break;
	case DC_DUPLICATES:
		snprintf(out, len, "duplicate time stamp");
		break;
	case DC_GAPS:
		snprintf(out, len, "%.0f bar%s missing before it", v, v == 1 ? "" : "s");
		break;
	case DC_JUMP:
		if (r->z[DC_JUMP] != 0)
			snprintf(out, len, "jump %+.2f%% from %.10g (%.1f sigmas)", v, ref,
				 r->z[DC_JUMP]);
		else /* before the warm-up, over a break: the percentage alone */
			snprintf(out, len, "jump %+.2f%% from %.10g", v, ref);
		break;
	case DC_STALE:
		snprintf(out, len, "close %.10g for %.0f bars in a row", ref, v);
		break;
	case DC_VOLUME_SPIKE:
		snprintf(out, len, "volume %.10g against a typical %.10g (%.1f sigmas)", v, ref,
			 r->z[DC_VOLUME_SPIKE]);
		break;
	case DC_CROSSED:
		snprintf(out, len, "crossed: bid %.10g above ask %.10g", v, ref);
		break;
	default:
		snprintf(out, len, "?");
	}
	return out;
}
