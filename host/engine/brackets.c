/*
 * brackets — a bracket's exits and one-cancels-other pairs, managed by the
 * host so they work while the strategy is halted, quarantined or reloading.
 *
 * A bracket is an entry with a take-profit, a stop-loss or both. Each time
 * the entry has filled more (partly or wholly), brackets_settle places the
 * exits for that quantity: a GTC limit at the take-profit and a GTC stop at
 * the stop-loss, on the other side, linked as an OCO pair in the book of
 * record (oms_link_oco: a fill of one reduces the other, a cancel of one
 * cancels the other). Exits take the exit gate (engine_exit_order: they may
 * only reduce the position), not the strategy's limits, and survive a halt.
 *
 * Invariant: settle runs only between venue calls (never inside a venue's
 * matching loop), so placing an order never moves a list a venue walks.
 */
#include "engine-internal.h"
#include "journal_rec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "log.h"

struct bracket {
	int64_t entry;
	double take_profit, stop_loss; /* 0: none */
	double placed;		       /* entry quantity whose exits are placed */
};

const char *brackets_check(const struct order_request *req)
{
	double tp = req->take_profit, sl = req->stop_loss;
	if ((tp != 0 && !(isfinite(tp) && tp > 0)) || (sl != 0 && !(isfinite(sl) && sl > 0)))
		return "bad_price";
	/* a long's take-profit above its stop-loss, a short's below */
	if (tp != 0 && sl != 0 && (req->side == SIDE_BUY ? tp <= sl : tp >= sl))
		return "bad_bracket";
	return NULL;
}

int brackets_add(struct engine *e, const struct order *entry, const struct order_request *req)
{
	struct bracket *v = grow_array(e->brk, &e->brk_cap, e->nbrk + 1, sizeof *v, 16);
	if (!v)
		return -1;
	e->brk = v;
	e->brk[e->nbrk++] = (struct bracket){entry->id, req->take_profit, req->stop_loss, 0};
	return 0;
}

/* One exit of qty; its id, or 0 (logged). */
static int64_t place_exit(struct strategy *s, const struct order *entry, double qty, int role,
			  double px)
{
	struct order_request req = {.sym = entry->sym,
				    .side = -entry->side,
				    .qty = qty,
				    .limit = NAN,
				    .tif = TIF_GTC,
				    .role = role};
	if (role == ROLE_TAKE_PROFIT)
		req.limit = px;
	else
		req.stop = px;
	const char *why = NULL;
	int64_t id = engine_exit_order(s, &req, &why);
	if (id <= 0)
		log_msg(LOG_WARN, "bracket", "%s: the %s of order %lld refused: %s", s->name,
			role == ROLE_TAKE_PROFIT ? "take-profit" : "stop-loss",
			(long long)entry->id, why ? why : "?");
	return id;
}

static void place_exits(struct engine *e, struct bracket *b, struct order *entry, double qty)
{
	struct strategy *s = &e->strats[entry->strat];
	int64_t tp =
	    b->take_profit ? place_exit(s, entry, qty, ROLE_TAKE_PROFIT, b->take_profit) : 0;
	int64_t sl = b->stop_loss ? place_exit(s, entry, qty, ROLE_STOP_LOSS, b->stop_loss) : 0;
	if (tp > 0 && sl > 0)
		if (oms_link_oco(e->oms, oms_get(e->oms, tp), oms_get(e->oms, sl)) == 0 && e->jr)
			jrec_oco(e, tp, sl);
}

void brackets_settle(struct engine *e)
{
	for (int i = 0; i < e->nbrk;) {
		struct bracket *b = &e->brk[i];
		struct order *entry = oms_get(e->oms, b->entry);
		double more = entry->filled - b->placed;
		if (more > 0) {
			b->placed = entry->filled;
			place_exits(e, b, entry, more);
			b = &e->brk[i];
		}
		if (!oms_is_open(entry) && b->placed >= entry->filled)
			e->brk[i] = e->brk[--e->nbrk];
		else
			i++;
	}
}

int brackets_oco(struct strategy *s, int64_t a, int64_t b, const char **reason)
{
	struct oms *oms = s->eng->oms;
	struct order *x = oms_get(oms, a), *y = oms_get(oms, b);
	if (!x || !y)
		*reason = "unknown_order";
	else if (x->strat != s->id || y->strat != s->id)
		*reason = "not_owner";
	else if (!oms_is_open(x) || !oms_is_open(y))
		*reason = "not_open";
	else if (x == y)
		*reason = "same_order";
	else if (x->oco || y->oco)
		*reason = "already_linked";
	else if (oms_link_oco(oms, x, y) == 0) {
		if (s->eng->jr)
			jrec_oco(s->eng, a, b);
		return 0;
	} else
		*reason = "not_open";
	return -1;
}

void brackets_free(struct engine *e)
{
	free(e->brk);
	e->brk = NULL;
	e->nbrk = e->brk_cap = 0;
}
