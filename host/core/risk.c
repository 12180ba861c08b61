/*
 * risk — the pre-trade checks (see risk.h for the contract).
 *
 * One call, risk_check, runs in a fixed order and stops at the first failure:
 *   cancel:  message rate only
 *   order:   sanity (bad_qty, bad_price, unknown_symbol, not_trading, off_tick)
 *            -> per account (strategy, then firm): loss / drawdown trip, halted gate
 *            -> per account: restricted, max_order_qty, stale_reference,
 *               max_order_notional, price_collar, max_position,
 *               max_gross_exposure, max_open_orders, self_cross, duplicate,
 *               rate_limit, throttle
 *            -> accepted: recorded in both accounts' windows.
 * Every enabled comparison is written `!(value <= limit)` so a NaN figure
 * fails closed; a disabled limit (RISK_UNSET) is skipped before comparing.
 */
#include "risk.h"

#include <string.h>

_Static_assert(RISK_MAX_OVERRIDES <= 255, "override_slot is a uint8_t");
_Static_assert(RISK_MAX_SYMBOLS % 64 == 0, "restricted is a bitset of uint64_t");

static const char *const reason_names[RISK_REASON_COUNT] = {
    [RISK_OK] = "ok",
    [RISK_MAX_ORDER_QTY] = "max_order_qty",
    [RISK_MAX_ORDER_NOTIONAL] = "max_order_notional",
    [RISK_MAX_POSITION] = "max_position",
    [RISK_PRICE_COLLAR] = "price_collar",
    [RISK_STALE_REFERENCE] = "stale_reference",
    [RISK_RATE_LIMIT] = "rate_limit",
    [RISK_MAX_OPEN_ORDERS] = "max_open_orders",
    [RISK_MAX_LOSS] = "max_loss",
    [RISK_MAX_DRAWDOWN] = "max_drawdown",
    [RISK_HALTED] = "halted",
    [RISK_RESTRICTED] = "restricted",
    [RISK_DUPLICATE] = "duplicate",
    [RISK_SELF_CROSS] = "self_cross",
    [RISK_MAX_GROSS_EXPOSURE] = "max_gross_exposure",
    [RISK_THROTTLE] = "throttle",
    [RISK_BAD_QTY] = "bad_qty",
    [RISK_BAD_PRICE] = "bad_price",
    [RISK_UNKNOWN_SYMBOL] = "unknown_symbol",
    [RISK_NOT_TRADING] = "not_trading",
    [RISK_OFF_TICK] = "off_tick",
};

const char *risk_reason_name(enum risk_reason r)
{
	if ((unsigned)r >= RISK_REASON_COUNT)
		return "unknown";
	return reason_names[r];
}

int risk_reason_from_name(const char *name)
{
	for (int i = 0; i < RISK_REASON_COUNT; i++)
		if (strcmp(reason_names[i], name) == 0)
			return i;
	return -1;
}

void risk_limits_init(struct risk_limits *l)
{
	memset(l, 0, sizeof *l);
	l->max_order_qty = RISK_UNSET;
	l->max_order_notional = RISK_UNSET;
	l->max_position.max_long = RISK_UNSET;
	l->max_position.max_short = RISK_UNSET;
	l->price_collar_pct = RISK_UNSET;
	l->stale_reference_ns = RISK_UNSET_NS;
	l->max_gross_exposure = RISK_UNSET;
	l->max_open_orders = RISK_UNSET;
	l->max_orders_per_sec = RISK_UNSET;
	l->max_msgs_per_sec = RISK_UNSET;
	l->duplicate_window_ns = 0;
	l->max_daily_loss = RISK_UNSET;
	l->max_drawdown = RISK_UNSET;
	l->max_drawdown_pct = RISK_UNSET;
	l->throttle_fills = RISK_UNSET;
	l->throttle_window_ns = 0;
	l->reduce_only_when_halted = false;
	l->off = 0; /* every check runs until narrowed */
}

static bool any_restricted(const struct risk_limits *l)
{
	uint64_t any = 0;
	for (int i = 0; i < RISK_MAX_SYMBOLS / 64; i++)
		any |= l->restricted[i];
	return any != 0;
}

uint32_t risk_limits_needed(const struct risk_limits *l)
{
	uint32_t m = 0;
	m |= any_restricted(l) ? RISK_CHK_RESTRICTED : 0;
	m |= l->max_order_qty < RISK_UNSET ? RISK_CHK_ORDER_QTY : 0;
	m |= (l->price_collar_pct < RISK_UNSET || l->max_order_notional < RISK_UNSET ||
	      l->max_gross_exposure < RISK_UNSET)
		 ? RISK_CHK_PRICE
		 : 0;
	m |= (l->max_position.max_long < RISK_UNSET || l->max_position.max_short < RISK_UNSET ||
	      l->n_overrides > 0)
		 ? RISK_CHK_POSITION
		 : 0;
	m |= l->max_gross_exposure < RISK_UNSET ? RISK_CHK_GROSS : 0;
	m |= l->max_open_orders < RISK_UNSET ? RISK_CHK_OPEN_ORDERS : 0;
	m |= l->duplicate_window_ns > 0 ? RISK_CHK_DUPLICATE : 0;
	m |= (l->max_orders_per_sec < RISK_UNSET || l->max_msgs_per_sec < RISK_UNSET)
		 ? RISK_CHK_RATE
		 : 0;
	m |= l->throttle_fills < RISK_UNSET ? RISK_CHK_THROTTLE : 0;
	m |= (l->max_daily_loss < RISK_UNSET || l->max_drawdown < RISK_UNSET ||
	      l->max_drawdown_pct < RISK_UNSET)
		 ? RISK_CHK_LOSS
		 : 0;
	return m;
}

void risk_limits_narrow(struct risk_limits *l)
{
	l->off = RISK_CHK_ALL & ~risk_limits_needed(l);
}

void risk_state_init(struct risk_state *s)
{
	memset(s, 0, sizeof *s);
}

int risk_limits_set_position(struct risk_limits *l, int symbol, double max_long, double max_short)
{
	if (symbol < 0 || symbol >= RISK_MAX_SYMBOLS)
		return -1;
	unsigned slot = l->override_slot[symbol];
	if (slot == 0) {
		if (l->n_overrides >= RISK_MAX_OVERRIDES)
			return -1;
		slot = (unsigned)++l->n_overrides;
		l->override_slot[symbol] = (uint8_t)slot;
	}
	l->override[slot - 1].max_long = max_long;
	l->override[slot - 1].max_short = max_short;
	l->off &= ~(uint32_t)RISK_CHK_POSITION;
	return 0;
}

int risk_limits_restrict(struct risk_limits *l, int symbol, bool restricted)
{
	if (symbol < 0 || symbol >= RISK_MAX_SYMBOLS)
		return -1;
	uint64_t bit = UINT64_C(1) << (symbol & 63);
	if (restricted) {
		l->restricted[symbol >> 6] |= bit;
		l->off &= ~(uint32_t)RISK_CHK_RESTRICTED;
	} else {
		l->restricted[symbol >> 6] &= ~bit;
	}
	return 0;
}

static inline const struct risk_position_limit *position_limit(const struct risk_limits *l,
							       int symbol)
{
	if ((unsigned)symbol >= RISK_MAX_SYMBOLS)
		return &l->max_position;
	unsigned slot = l->override_slot[symbol];
	return slot ? &l->override[slot - 1] : &l->max_position;
}

struct risk_position_limit risk_limits_position(const struct risk_limits *l, int symbol)
{
	return *position_limit(l, symbol);
}

static inline bool is_restricted(const struct risk_limits *l, int symbol)
{
	return (unsigned)symbol < RISK_MAX_SYMBOLS &&
	       ((l->restricted[symbol >> 6] >> (symbol & 63)) & 1);
}

/* An enabled limit that value does not meet (NaN never meets it). */
static inline bool over(double value, double limit)
{
	return limit < RISK_UNSET && !(value <= limit);
}

static inline bool is_market(double price)
{
	return !(price > 0); /* 0 or NaN; negatives are rejected before */
}

bool risk_is_reducing(const struct risk_order *o, const struct risk_account *a)
{
	if (o->side == RISK_BUY)
		return a->position < 0 && a->position + a->working_buy + o->qty <= 0;
	return a->position > 0 && a->position - a->working_sell - o->qty >= 0;
}

/* ---- windows: rings of timestamps, newest at head - 1 ---- */

/* Whether the n-th newest of count timestamps lies within window of now,
 * i.e. n events already happened in (now - window, now]. */
static inline bool nth_newest_within(const int64_t *ts, uint32_t cap, uint32_t head, uint32_t count,
				     uint32_t n, int64_t now, int64_t window)
{
	if (count < n)
		return false;
	return now - ts[(head + cap - n) % cap] < window;
}

/* Whether one more event would exceed limit events per window. */
static inline bool window_full(const int64_t *ts, uint32_t cap, uint32_t head, uint32_t count,
			       double limit, int64_t now, int64_t window)
{
	if (!(limit < RISK_UNSET))
		return false;
	if (!(limit >= 1))
		return true;
	uint32_t n = limit >= cap ? cap : (uint32_t)limit;
	return nth_newest_within(ts, cap, head, count, n, now, window);
}

static inline bool rate_full(const struct risk_rate_ring *r, double limit, int64_t now)
{
	return window_full(r->ts, RISK_RATE_CAP, r->head, r->count, limit, now, RISK_NS_PER_SEC);
}

static inline void rate_push(struct risk_rate_ring *r, int64_t now)
{
	r->ts[r->head] = now;
	r->head = (r->head + 1) % RISK_RATE_CAP;
	if (r->count < RISK_RATE_CAP)
		r->count++;
}

/* ---- duplicates: a set-associative table of recent accepted orders ---- */

/* What makes two orders the same, and where they live in the table. */
struct dup_probe {
	uint64_t key; /* symbol and side */
	double qty;
	double price; /* 0 for a market order */
	uint32_t set;
};

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

static inline struct dup_probe dup_probe(const struct risk_order *o)
{
	struct dup_probe p;
	uint64_t qbits, pbits;
	p.key = ((uint64_t)(uint32_t)o->symbol << 1) | (o->side == RISK_SELL);
	p.qty = o->qty;
	p.price = is_market(o->price) ? 0.0 : o->price;
	memcpy(&qbits, &p.qty, sizeof qbits);
	memcpy(&pbits, &p.price, sizeof pbits);
	p.set = (uint32_t)(mix64(p.key * UINT64_C(0x9e3779b97f4a7c15) ^ qbits ^ mix64(pbits)) %
			   RISK_DUP_SETS);
	return p;
}

static inline bool dup_same(const struct risk_dup_entry *e, const struct dup_probe *p)
{
	return e->key == p->key && e->qty == p->qty && e->price == p->price;
}

static bool is_duplicate(const struct risk_limits *l, const struct risk_state *s,
			 const struct dup_probe *p, int64_t now)
{
	if (l->duplicate_window_ns <= 0)
		return false;
	const struct risk_dup_entry *set = s->dup[p->set];
	for (int w = 0; w < RISK_DUP_WAYS; w++)
		if (dup_same(&set[w], p)) /* at most one entry matches */
			return now - set[w].ts < l->duplicate_window_ns;
	return false;
}

/* Stamps the order's entry, or replaces the set's oldest. */
static void dup_record(struct risk_state *s, const struct dup_probe *p, int64_t now)
{
	struct risk_dup_entry *set = s->dup[p->set];
	int victim = 0;
	int64_t oldest = set[0].ts;
	for (int w = 0; w < RISK_DUP_WAYS; w++) {
		if (dup_same(&set[w], p)) {
			victim = w;
			break;
		}
		/* which way is oldest varies from order to order: no branch */
		bool older = set[w].ts < oldest;
		victim = older ? w : victim;
		oldest = older ? set[w].ts : oldest;
	}
	set[victim] = (struct risk_dup_entry){p->key, p->qty, p->price, now};
}

static bool throttle_trips(const struct risk_limits *l, const struct risk_state *s, int64_t now)
{
	if (!s->fill_pending)
		return false;
	return window_full(s->cycle_ts, RISK_THROTTLE_CAP, s->cycle_head, s->cycle_count,
			   l->throttle_fills, now, l->throttle_window_ns);
}

/* ---- halts ---- */

void risk_halt(struct risk_state *s, enum risk_reason reason, int64_t now_ns)
{
	if (s->halted)
		return;
	s->halted = true;
	s->halt_reason = reason == RISK_OK ? RISK_HALTED : reason;
	s->halted_at_ns = now_ns;
}

void risk_resume(struct risk_state *s)
{
	s->halted = false;
	s->halt_reason = RISK_OK;
	s->halted_at_ns = 0;
	s->fill_pending = false;
	s->cycle_count = 0;
	s->cycle_head = 0;
}

void risk_on_fill(struct risk_state *s, int64_t now_ns)
{
	(void)now_ns; /* the cycle is stamped when the re-entry is accepted */
	s->fill_pending = true;
}

static enum risk_reason loss_breach(const struct risk_limits *l, const struct risk_account *a)
{
	if (over(-a->pnl, l->max_daily_loss))
		return RISK_MAX_LOSS;
	double drawdown = a->peak_equity - a->equity;
	if (over(drawdown, l->max_drawdown))
		return RISK_MAX_DRAWDOWN;
	if (l->max_drawdown_pct < RISK_UNSET && a->peak_equity > 0 &&
	    !(drawdown * 100.0 <= l->max_drawdown_pct * a->peak_equity))
		return RISK_MAX_DRAWDOWN;
	return RISK_OK;
}

enum risk_reason risk_on_pnl(const struct risk_limits *l, struct risk_state *s,
			     const struct risk_account *acct, int64_t now_ns)
{
	enum risk_reason r = loss_breach(l, acct);
	if (r != RISK_OK)
		risk_halt(s, r, now_ns);
	return r;
}

/* ---- the check ---- */

static inline enum risk_reason reject(struct risk_state *s, enum risk_reason r)
{
	s->rejects[r]++;
	return r;
}

bool risk_qty_ok(double q, double lot)
{
	if (!(lot > 0) || lot == 1.0) /* whole shares: exactly */
		return q >= 1.0 && q <= 9007199254740992.0 && (double)(int64_t)q == q;
	/* lots: 0.3 / 0.1 is 2.9999999999999996, so a lot count within 1e-9 of
	 * a whole number is one */
	double n = q / lot, r = nearbyint(n);
	return r >= 1.0 && r <= 9007199254740992.0 && fabs(n - r) <= 1e-9 * r;
}

static enum risk_reason check_sanity(const struct risk_order *o, const struct risk_view *v)
{
	if (!risk_qty_ok(o->qty, v->lot))
		return RISK_BAD_QTY;
	double p = o->price;
	if (p < 0 || isinf(p))
		return RISK_BAD_PRICE;
	if (o->symbol < 0 || !v->symbol_known)
		return RISK_UNKNOWN_SYMBOL;
	if (!v->trading)
		return RISK_NOT_TRADING;
	if (v->tick > 0 && isfinite(v->tick)) {
		/* a market price (0 or NaN) is never off tick: no test of it */
		double ticks = p / v->tick;
		if (fabs(ticks - floor(ticks + 0.5)) > 1e-6 + fabs(ticks) * 1e-15)
			return RISK_OFF_TICK;
	}
	return RISK_OK;
}

/* Halt on a loss breach; then a halted account passes only reducing orders,
 * and only with reduce_only_when_halted. */
static enum risk_reason check_halt(const struct risk_limits *l, struct risk_state *s,
				   const struct risk_order *o, const struct risk_account *a,
				   int64_t now)
{
	enum risk_reason tripped = RISK_OK;
	if (!s->halted) {
		if (l->off & RISK_CHK_LOSS)
			return RISK_OK;
		tripped = loss_breach(l, a);
		if (tripped == RISK_OK)
			return RISK_OK;
		risk_halt(s, tripped, now);
	}
	if (l->reduce_only_when_halted && risk_is_reducing(o, a))
		return RISK_OK;
	return tripped != RISK_OK ? tripped : RISK_HALTED;
}

static inline bool needs_reference(const struct risk_limits *l)
{
	return l->price_collar_pct < RISK_UNSET || l->max_order_notional < RISK_UNSET ||
	       l->max_gross_exposure < RISK_UNSET;
}

/* now - then, saturated: the reference time comes from the caller. */
static inline int64_t age_ns(int64_t now, int64_t then)
{
	int64_t d;
	if (__builtin_sub_overflow(now, then, &d))
		return then > now ? INT64_MIN : INT64_MAX;
	return d;
}

static inline bool reference_ok(const struct risk_limits *l, const struct risk_view *v)
{
	/* age <= RISK_UNSET_NS always holds: no test for a disabled limit */
	return (v->ref_price > 0) & (v->ref_price < RISK_UNSET) &
	       (age_ns(v->now_ns, v->ref_ns) <= l->stale_reference_ns);
}

static enum risk_reason check_price(const struct risk_limits *l, const struct risk_order *o,
				    const struct risk_view *v, double notional)
{
	/* market and limit orders come mixed: test flags, not the order type */
	bool market = is_market(o->price);
	bool ref_bad = !reference_ok(l, v);
	if (market & ref_bad && needs_reference(l))
		return RISK_STALE_REFERENCE;
	if (over(notional, l->max_order_notional))
		return RISK_MAX_ORDER_NOTIONAL;
	if (l->price_collar_pct < RISK_UNSET) {
		double band = v->ref_price * l->price_collar_pct * 0.01;
		bool outside = !(fabs(o->price - v->ref_price) <= band * (1.0 + 1e-9));
		if (!market & ref_bad)
			return RISK_STALE_REFERENCE;
		if (!market & outside)
			return RISK_PRICE_COLLAR;
	}
	return RISK_OK;
}

static enum risk_reason check_exposure(const struct risk_limits *l, const struct risk_order *o,
				       const struct risk_account *a, double notional)
{
	const struct risk_position_limit *pl = position_limit(l, o->symbol);
	/* the side is a coin toss from order to order: select, do not branch */
	bool buy = o->side == RISK_BUY;
	double fig = buy ? a->position + a->working_buy + o->qty
			 : o->qty + a->working_sell - a->position;
	double lim = buy ? pl->max_long : pl->max_short;
	if (over(fig, lim))
		return RISK_MAX_POSITION;
	/* the (rare) breach first: whether the order reduces is a coin toss */
	if (over(a->gross_exposure + notional, l->max_gross_exposure) && !risk_is_reducing(o, a))
		return RISK_MAX_GROSS_EXPOSURE;
	if (over(a->open_orders + 1, l->max_open_orders))
		return RISK_MAX_OPEN_ORDERS;
	return RISK_OK;
}

static bool crosses_own(const struct risk_order *o, const struct risk_account *a)
{
	/* side, own quotes and market come mixed: flags, no branches */
	bool market = is_market(o->price);
	bool buy_crosses = (a->resting_sell > 0) & (market | (o->price >= a->resting_sell));
	bool sell_crosses = (a->resting_buy > 0) & (market | (o->price <= a->resting_buy));
	return o->side == RISK_BUY ? buy_crosses : sell_crosses;
}

/* Every limit of one account but the halt gate; trips the throttle. */
static enum risk_reason check_account(const struct risk_limits *l, struct risk_state *s,
				      const struct risk_order *o, const struct risk_view *v,
				      const struct risk_account *a, double notional,
				      const struct dup_probe *dp)
{
	enum risk_reason r;
	if (is_restricted(l, o->symbol))
		return RISK_RESTRICTED;
	if (over(o->qty, l->max_order_qty))
		return RISK_MAX_ORDER_QTY;
	if ((r = check_price(l, o, v, notional)) != RISK_OK)
		return r;
	if ((r = check_exposure(l, o, a, notional)) != RISK_OK)
		return r;
	if (crosses_own(o, a))
		return RISK_SELF_CROSS;
	if (is_duplicate(l, s, dp, v->now_ns))
		return RISK_DUPLICATE;
	if (rate_full(&s->orders, l->max_orders_per_sec, v->now_ns) ||
	    rate_full(&s->msgs, l->max_msgs_per_sec, v->now_ns))
		return RISK_RATE_LIMIT;
	if (throttle_trips(l, s, v->now_ns)) {
		risk_halt(s, RISK_THROTTLE, v->now_ns);
		return RISK_THROTTLE;
	}
	return RISK_OK;
}

/* The checks check_account runs but self_cross, which no limit turns off. */
#define CHK_ACCOUNT (RISK_CHK_ALL & ~RISK_CHK_LOSS)

/* check_account, or only the self-cross test when the account's limits are
 * all off (one test of the mask: with limits on, the checks run as written). */
static inline enum risk_reason account_checks(const struct risk_limits *l, struct risk_state *s,
					      const struct risk_order *o,
					      const struct risk_view *v,
					      const struct risk_account *a, double notional,
					      const struct dup_probe *dp)
{
	if ((l->off & CHK_ACCOUNT) != CHK_ACCOUNT)
		return check_account(l, s, o, v, a, notional, dp);
	return crosses_own(o, a) ? RISK_SELF_CROSS : RISK_OK;
}

static void record_order(struct risk_state *s, const struct dup_probe *dp, int64_t now)
{
	rate_push(&s->orders, now);
	rate_push(&s->msgs, now);
	dup_record(s, dp, now);

	if (s->fill_pending) {
		s->cycle_ts[s->cycle_head] = now;
		s->cycle_head = (s->cycle_head + 1) % RISK_THROTTLE_CAP;
		if (s->cycle_count < RISK_THROTTLE_CAP)
			s->cycle_count++;
		s->fill_pending = false;
	}
	s->accepted++;
}

static enum risk_reason check_cancel(const struct risk_limits *l, struct risk_state *s,
				     const struct risk_limits *fl, struct risk_state *fs,
				     int64_t now)
{
	if (rate_full(&s->msgs, l->max_msgs_per_sec, now))
		return reject(s, RISK_RATE_LIMIT);
	if (fs && rate_full(&fs->msgs, fl->max_msgs_per_sec, now))
		return reject(fs, RISK_RATE_LIMIT);
	rate_push(&s->msgs, now);
	s->accepted++;
	if (fs) {
		rate_push(&fs->msgs, now);
		fs->accepted++;
	}
	return RISK_OK;
}

enum risk_reason risk_check(const struct risk_limits *limits, struct risk_state *state,
			    const struct risk_limits *firm_limits, struct risk_state *firm_state,
			    const struct risk_order *order, const struct risk_view *view)
{
	struct risk_state *fs = firm_limits ? firm_state : NULL;
	enum risk_reason r;

	state->checked++;
	if (fs)
		fs->checked++;
	if (order->is_cancel)
		return check_cancel(limits, state, firm_limits, fs, view->now_ns);

	if ((r = check_sanity(order, view)) != RISK_OK)
		return reject(state, r);
	if ((r = check_halt(limits, state, order, &view->strat, view->now_ns)) != RISK_OK)
		return reject(state, r);
	if (fs && (r = check_halt(firm_limits, fs, order, &view->firm, view->now_ns)) != RISK_OK)
		return reject(fs, r);

	double px = is_market(order->price) ? view->ref_price : order->price;
	double notional = order->qty * px;
	struct dup_probe dp = dup_probe(order);

	r = account_checks(limits, state, order, view, &view->strat, notional, &dp);
	if (r != RISK_OK)
		return reject(state, r);
	if (fs) {
		r = account_checks(firm_limits, fs, order, view, &view->firm, notional, &dp);
		if (r != RISK_OK)
			return reject(fs, r);
	}

	record_order(state, &dp, view->now_ns);
	if (fs)
		record_order(fs, &dp, view->now_ns);
	return RISK_OK;
}

void risk_record(struct risk_state *state, struct risk_state *firm_state,
		 const struct risk_order *order, int64_t now_ns)
{
	if (order->is_cancel) {
		rate_push(&state->msgs, now_ns);
		state->accepted++;
		if (firm_state) {
			rate_push(&firm_state->msgs, now_ns);
			firm_state->accepted++;
		}
		return;
	}
	struct dup_probe dp = dup_probe(order);
	record_order(state, &dp, now_ns);
	if (firm_state)
		record_order(firm_state, &dp, now_ns);
}
