/*
 * replace — ctx:replace(id, {qty=, price=}): a working order's quantity
 * and/or limit price changed, through the same gates as a new order and
 * then the venue's replace op (sim.c: from the next bar; simbook.c: a price
 * change or a larger size goes to the back of the queue, a smaller size
 * keeps its place; venue_async.c: pending, then replaced events later).
 *
 * What is checked: the id as ctx:cancel checks it (unknown_order,
 * not_owner, not_open), then `pending` while the order is not acknowledged
 * or a cancel or replace of it is under way (one change at a time, as FIX
 * venues require). A replace that can add exposure (a larger quantity or a
 * new price) is checked by risk as the order it becomes: its unfilled
 * quantity at its new price, the account seen without the order's old
 * remainder, and the new total against max_order_qty; a smaller size only
 * counts as a message (max_msgs_per_sec), and is allowed while halted. A
 * bracket's exit may be made smaller or repriced, never larger
 * (not_reducing). A refusal leaves the order unchanged and is an on_order
 * with its reason; a quantity at or below what filled makes the order done
 * (FIX: filled, reason "replaced").
 */
#include "engine-internal.h"

#include <math.h>

#include "log.h"

static double lot_for(const struct engine *e, int sym)
{
	return sym >= 0 && sym < e->ninstr && e->instr[sym].lot > 0 ? e->instr[sym].lot : 1;
}

static int has_limit(const struct order *o)
{
	return o->type == ORD_LIMIT || o->type == ORD_STOP_LIMIT;
}

/* The id and the arguments: NULL when they make a replace, else why not. */
static const char *replace_args(struct strategy *s, const struct order *o, double qty, double price)
{
	if (!o)
		return "unknown_order";
	if (o->strat != s->id)
		return "not_owner";
	if (!oms_is_open(o))
		return "not_open";
	if (o->status != ST_ACCEPTED && o->status != ST_PARTIAL)
		return "pending";
	if (!isnan(qty) && !risk_qty_ok(qty, lot_for(s->eng, o->sym)))
		return "bad_qty";
	if (!isnan(price) && (!has_limit(o) || !(isfinite(price) && price > 0)))
		return "bad_price";
	double nq = isnan(qty) ? o->qty : qty, np = isnan(price) ? o->price : price;
	if (nq == o->qty && np == o->price)
		return "no_change";
	return NULL;
}

/* Risk for a replace that may add exposure: NULL, or the reason. */
static const char *replace_risk(struct strategy *s, const struct order *o, double nq, double np)
{
	struct engine *e = s->eng;
	if (o->role != ROLE_NONE) /* a bracket's exit: never larger */
		return nq > o->qty ? "not_reducing" : NULL;
	if (nq > e->limits.max_order_qty || nq > e->firm_limits.max_order_qty) {
		e->rejects_by_reason[RISK_MAX_ORDER_QTY]++;
		return risk_reason_name(RISK_MAX_ORDER_QTY);
	}
	struct order_request req = {.sym = o->sym,
				    .side = o->side,
				    .qty = nq - o->filled,
				    .limit = o->type == ORD_LIMIT ? np : NAN,
				    .tif = o->tif};
	enum risk_reason r = engine_risk_gate(s, &req, o->id);
	return r == RISK_OK ? NULL : risk_reason_name(r);
}

/* A smaller size: a message, as a cancel is. */
static const char *replace_message(struct strategy *s, const struct order *o)
{
	struct engine *e = s->eng;
	struct risk_order ro = {
	    s->id,    o->sym, o->side == SIDE_BUY ? RISK_BUY : RISK_SELL, o->qty - o->filled,
	    o->price, true};
	struct risk_view v = {.now_ns = engine_now(e)};
	enum risk_reason r =
	    risk_check(&e->limits, s->risk, &e->firm_limits, e->firm_risk, &ro, &v);
	if (r == RISK_OK)
		return NULL;
	e->rejects_by_reason[r]++;
	return risk_reason_name(r);
}

int engine_replace_order(struct strategy *s, int64_t id, double qty, double price,
			 const char **reason)
{
	struct engine *e = s->eng;
	struct order *o = oms_get(e->oms, id);
	const char *why = replace_args(s, o, qty, price);
	if (why) { /* nothing to change, or not this strategy's to change: no event */
		*reason = why;
		return -1;
	}
	double nq = isnan(qty) ? o->qty : qty, np = isnan(price) ? o->price : price;
	int64_t now = engine_now(e);
	int adds = nq > o->qty || np != o->price;
	if (nq > o->filled)
		why = adds ? replace_risk(s, o, nq, np) : replace_message(s, o);
	if (!why && e->venue.ops->replace(e->venue.self, o, nq, np, now) != 0)
		why = "venue";
	if (why) {
		log_msg(LOG_WARN, "risk",
			"%s replace of order %lld (qty %.10g, price %.10g) refused: %s", s->name,
			(long long)id, nq, np, why);
		oms_replace_rejected(e->oms, o, why, now);
		*reason = why;
		return -1;
	}
	if (e->nbrk) /* a repriced entry that took the book at once */
		brackets_settle(e);
	return 0;
}
