/*
 * engine — the run loop and the order path.
 *
 * Events for a strategy (fills, order updates) are queued while the venue
 * or a callback is running and delivered at the next safe point, so no
 * callback ever runs inside another and the venue never sees its lists
 * change under it. Per event the loop does: equity when event time moved
 * on (per distinct time, or per second for order-book feeds), timers due,
 * the venue's matching, delivery, marks, the strategies' callbacks,
 * delivery. Orders go out through one function, order_path: sanity, risk,
 * the oms, the venue.
 */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"
#include "journal_rec.h"
#include "grow.h"
#include "history.h"
#include "log.h"
#include "numfmt.h"
#include "output.h"
#include "probe.h"
#include "risk_config.h"
#include "timefmt.h"
#include "tz.h"

enum { NOTIF_ORDER, NOTIF_FILL };

struct notif {
	int kind;
	int strat;
	struct order order; /* a snapshot: the state when it happened */
	struct fill fill;
};

static const struct vm_ops *const vm = &vm_backend;

static int cancel_all(struct strategy *s, int sym, int keep_exits);
static int set_timer(struct strategy *s, const char *name, double ms);
static int set_daily(struct strategy *s, const char *name, int sec, const char **reason);
static int make_history(struct strategy *s, const struct vm_info *info);
static void close_frames(struct engine *e, int64_t t);

int64_t engine_now(const struct engine *e)
{
	return clock_now(&e->clock);
}

/* The feed's messages, but for one fetched and not yet dispatched. */
long engine_events(const struct engine *e)
{
	return e->feed ? e->feed->ops->messages(e->feed) - e->have_ev : 0;
}

struct oms *engine_oms(struct engine *e)
{
	return e->oms;
}

struct symtab *engine_symtab(struct engine *e)
{
	return e->symtab;
}

long engine_rejects(const struct engine *e, enum risk_reason r)
{
	return e->rejects_by_reason[r];
}

int engine_nstrat(const struct engine *e)
{
	return e->nstrat;
}

struct strategy *engine_strategy(struct engine *e, int i)
{
	return i >= 0 && i < e->nstrat ? &e->strats[i] : NULL;
}

struct strategy *engine_find(struct engine *e, const char *name)
{
	for (int i = 0; i < e->nstrat; i++)
		if (strcmp(e->strats[i].name, name) == 0)
			return &e->strats[i];
	return NULL;
}

void engine_describe(const struct strategy *s, struct strategy_view *out)
{
	out->id = s->id;
	out->name = s->name;
	out->path = s->path;
	out->reason = s->reason;
	out->state = s->state;
	out->version = s->version;
	out->hash = s->hash;
	out->memory = vm->memory(s->vm);
}

void engine_params_json(const struct strategy *s, json_sink put, void *ud)
{
	vm->params_json(s->vm, put, ud);
}

int engine_strategy_files(const struct strategy *s, const char **paths, int max)
{
	if (max < 1)
		return 0;
	paths[0] = s->path;
	return 1 + vm->modules(s->vm, paths + 1, max - 1);
}

void engine_set_stop_reason(struct engine *e, const char *why)
{
	e->stop_reason = why;
}

int engine_stopped(const struct engine *e)
{
	return e->failed;
}

const char *engine_failure(const struct engine *e)
{
	return e->failure;
}

int64_t engine_failed_at(const struct engine *e)
{
	return e->failure[0] ? e->failed_at : INT64_MIN;
}

struct risk_limits *engine_limits(struct engine *e, int firm)
{
	return firm ? &e->firm_limits : &e->limits;
}

void engine_limits_changed(struct engine *e)
{
	risk_limits_narrow(&e->limits); /* a limit set to none: its check costs nothing again */
	risk_limits_narrow(&e->firm_limits);
	e->risk_active = 1;
}

/* ------------------------------------------------------------ queue */

static struct notif *enqueue(struct engine *e)
{
	struct notif *q = grow_array(e->q, &e->qcap, e->qn + 1, sizeof *q, 256);
	if (!q)
		return NULL;
	e->q = q;
	return &e->q[e->qn++];
}

static void write_fill_row(struct engine *e, const struct fill *f)
{
	if (!e->fills_csv)
		return;
	char line[256], *p = line;
	const char *sym = symtab_name(e->symtab, f->sym);
	size_t n = strlen(sym);
	p += time_format_iso(f->time, p);
	*p++ = ',';
	memcpy(p, sym, n);
	p += n;
	p += sprintf(p, ",%s,", oms_side_name(f->side));
	p = numfmt(p, f->qty, 8); /* whole shares print whole; lots print their decimals */
	*p++ = ',';
	p = numfmt(p, f->price, 8);
	p += sprintf(p, ",%lld,", (long long)f->order_id);
	p = numfmt(p, f->fee, 8);
	*p++ = '\n';
	fwrite(line, 1, (size_t)(p - line), e->fills_csv);
}

/* The oms listener: every change of the book of record, as the venue
 * reports it (now or later). */
static void on_oms_event(void *ud, const struct oms_event *ev)
{
	struct engine *e = ud;
	if (e->jr && jrec_oms(e->jr, ev)) /* recovery replays it: nothing more */
		return;
	struct strategy *s = &e->strats[ev->order->strat];
	if (ev->kind == OMS_EV_ORDER && e->orders_csv)
		output_order_row(e->orders_csv, e, ev->order);
	if (ev->kind == OMS_EV_FILL) {
		risk_on_fill(s->risk, ev->fill->time);
		risk_on_fill(e->firm_risk, ev->fill->time);
		write_fill_row(e, ev->fill);
		if (e->nfills < ENGINE_REPORT_FILLS)
			e->fills[e->nfills++] = *ev->fill;
		if (!(s->info.callbacks & VM_ON_FILL))
			return;
	} else if (!(s->info.callbacks & VM_ON_ORDER)) {
		return;
	}
	struct notif *n = enqueue(e);
	if (!n) {
		log_msg(LOG_ERROR, "engine", "out of memory queueing an event for %s", s->name);
		return;
	}
	n->kind = ev->kind == OMS_EV_FILL ? NOTIF_FILL : NOTIF_ORDER;
	n->strat = s->id;
	n->order = *ev->order;
	if (ev->fill)
		n->fill = *ev->fill;
}

/* What a strategy was handling, for its failure: "on_bar of SPY at
 * 2024-01-02T00:00:00.000000Z" (event time), just the callback before the
 * first event. */
static void failure_context(struct engine *e, const char *what, int sym, char *buf, size_t len)
{
	char t[TIME_ISO_LEN + 1] = "";
	if (e->cur != INT64_MIN)
		time_format_iso(engine_now(e), t);
	snprintf(buf, len, "%s%s%s%s%s", what, sym >= 0 ? " of " : "",
		 sym >= 0 ? symtab_name(e->symtab, sym) : "", *t ? " at " : "", t);
}

/* A callback failed: the strategy is quarantined, its orders cancelled
 * (unless the config leaves them), and the error printed once, whole, with
 * the event (a backtest prints nothing more). Its message without the
 * traceback is the strategy's reason and, for the first failure, the run's. */
static void strategy_failed(struct engine *e, struct strategy *s, const char *what, int sym)
{
	const char *msg = vm->error(s->vm), *trace = strstr(msg, "\nstack traceback:");
	int head = trace ? (int)(trace - msg) : (int)strlen(msg);
	char where[256];
	failure_context(e, what, sym, where, sizeof where);
	s->state = STRAT_QUARANTINED;
	snprintf(s->reason, sizeof s->reason, "failed in %s: %.*s", where, head, msg);
	log_msg(LOG_ERROR, "strategy", "%s failed in %s: %s", s->name, where, msg);
	if (e->jr)
		jrec_halt(s, s->reason, 2);
	if (!e->failure[0]) {
		snprintf(e->failure, sizeof e->failure, "%s %s", s->name, s->reason);
		e->failed_at = e->cur != INT64_MIN ? engine_now(e) : INT64_MIN;
	}
	if (!e->cfg.leave_orders_on_halt)
		cancel_all(s, -1, 1);
	if (e->cfg.fail_fast)
		e->failed = 1;
}

static void deliver(struct engine *e)
{
	if (vm->in_callback()) /* reached from a callback (a risk halt): later */
		return;
	/* callbacks may queue more: walk by index, the array may move */
	for (int i = 0; i < e->qn; i++) {
		struct notif *n = &e->q[i];
		struct strategy *s = &e->strats[n->strat];
		if (s->state == STRAT_QUARANTINED)
			continue;
		int rc = n->kind == NOTIF_FILL ? vm->on_fill(s->vm, &e->q[i].fill)
					       : vm->on_order(s->vm, &e->q[i].order);
		if (rc != VM_OK)
			strategy_failed(e, s, e->q[i].kind == NOTIF_FILL ? "on_fill" : "on_order",
					e->q[i].order.sym); /* the queue may have moved */
	}
	e->qn = 0;
}

/* Every callback ends the same way: a failure quarantines its strategy,
 * then what it caused (fills, order updates) is delivered. what and sym
 * (-1: none) name the event it was handling, for the failure's message. */
static void after_callback(struct engine *e, struct strategy *s, int rc, const char *what, int sym)
{
	if (rc != VM_OK)
		strategy_failed(e, s, what, sym);
	if (e->qn)
		deliver(e);
}

/* ------------------------------------------------------------ order path */

/* What risk needs to know about one account (a strategy, or every strategy
 * when strat < 0) in the order's symbol. O(open orders + held symbols).
 * need (RISK_CHK_* bits of the checks that will run): gross exposure and
 * the P&L figures are worked out only for the checks that read them. */
static void risk_account_of(struct engine *e, int strat, int sym, uint32_t need,
			    struct risk_account *a)
{
	bool gross = need & RISK_CHK_GROSS, loss = need & RISK_CHK_LOSS;
	memset(a, 0, sizeof *a);
	int lo = strat < 0 ? 0 : strat, hi = strat < 0 ? e->nstrat : strat + 1;
	for (int id = lo; id < hi; id++) {
		const struct account *acct = oms_account(e->oms, id);
		const struct strategy *s = &e->strats[id];
		a->position += oms_position(e->oms, id, sym)->qty;
		a->open_orders += oms_open_count(e->oms, id);
		for (int i = 0; i < oms_open_count(e->oms, id); i++) {
			const struct order *o = oms_open_at(e->oms, id, i);
			double left = o->qty - o->filled;
			if (o->id == e->risk_skip) { /* replace.c: the order as it was */
				a->open_orders--;
				continue;
			}
			if (gross) {
				double px = o->type == ORD_LIMIT ? o->price : oms_mark_of(e->oms, o->sym);
				if (isfinite(px))
					a->gross_exposure += left * px;
			}
			if (o->sym != sym)
				continue;
			if (o->side == SIDE_BUY) {
				a->working_buy += left;
				if (o->type == ORD_LIMIT && o->price > a->resting_buy)
					a->resting_buy = o->price;
			} else {
				a->working_sell += left;
				if (o->type == ORD_LIMIT &&
				    (a->resting_sell == 0 || o->price < a->resting_sell))
					a->resting_sell = o->price;
			}
		}
		for (int i = 0; gross && i < acct->nheld; i++) {
			int h = acct->held[i];
			double m = oms_mark_of(e->oms, h);
			if (isfinite(m))
				a->gross_exposure += fabs(oms_position(e->oms, id, h)->qty) * m;
		}
		if (!loss)
			continue;
		double eq = oms_equity(e->oms, id);
		a->equity += eq;
		a->peak_equity += s->peak_equity > eq ? s->peak_equity : eq;
		a->pnl += eq - s->day_equity;
	}
}

/* The quantity step of a symbol: whole shares unless the config says. */
static double lot_of(const struct engine *e, int sym)
{
	return sym >= 0 && sym < e->ninstr && e->instr[sym].lot > 0 ? e->instr[sym].lot : 1;
}

int engine_set_instrument(struct engine *e, int sym, double lot, double tick)
{
	if (sym < 0 || !(lot > 0) || !(tick >= 0))
		return -1;
	struct instrument *v = grow_array(e->instr, &e->ninstr, sym + 1, sizeof *v, 16);
	if (!v)
		return -1;
	e->instr = v;
	e->instr[sym] = (struct instrument){lot, tick};
	return 0;
}

static enum risk_reason risk_gate(struct strategy *s, const struct order_request *req)
{
	struct engine *e = s->eng;
	struct risk_order ro = {s->id, req->sym, req->side == SIDE_BUY ? RISK_BUY : RISK_SELL,
				req->qty, isnan(req->limit) ? 0 : req->limit, false};
	struct risk_view v;
	memset(&v, 0, sizeof v);
	uint32_t need = ~(e->limits.off & e->firm_limits.off);
	risk_account_of(e, s->id, req->sym, need, &v.strat);
	if (e->nstrat == 1)
		v.firm = v.strat; /* one strategy: the firm is that account */
	else
		risk_account_of(e, -1, req->sym, need, &v.firm);
	if (req->sym < e->nlast && e->last[req->sym].time != 0) {
		v.ref_price = e->last[req->sym].close;
		v.ref_ns = e->last[req->sym].time;
		v.symbol_known = true;
	}
	/* an order-book feed knows when a symbol is halted or paused */
	v.trading = !e->feed->ops->trading || e->feed->ops->trading(e->feed, req->sym);
	if (req->sym >= 0 && req->sym < e->ninstr) {
		v.lot = e->instr[req->sym].lot;
		v.tick = e->instr[req->sym].tick;
	}
	v.now_ns = engine_now(e);
	enum risk_reason r = risk_check(&e->limits, s->risk, &e->firm_limits, e->firm_risk, &ro, &v);
	if (r != RISK_OK) {
		e->rejects_by_reason[r]++;
		log_msg(LOG_WARN, "risk", "%s rejected %s %.10g %s: %s", s->name,
			oms_side_name(req->side), req->qty, symtab_name(e->symtab, req->sym),
			risk_reason_name(r));
	}
	return r;
}

static void check_risk_halts(struct engine *e, struct strategy *s);

enum risk_reason engine_risk_gate(struct strategy *s, const struct order_request *req,
				  int64_t skip)
{
	s->eng->risk_skip = skip;
	enum risk_reason r = risk_gate(s, req);
	s->eng->risk_skip = 0;
	check_risk_halts(s->eng, s);
	return r;
}

/* A limit (max_loss, max_drawdown, the throttle) halted an account. */
static void check_risk_halts(struct engine *e, struct strategy *s)
{
	if (s->risk->halted && s->state == STRAT_RUNNING)
		engine_halt(s, risk_reason_name(s->risk->halt_reason));
	if (e->firm_risk->halted)
		for (int i = 0; i < e->nstrat; i++)
			if (e->strats[i].state == STRAT_RUNNING)
				engine_halt(&e->strats[i], risk_reason_name(e->firm_risk->halt_reason));
}

/* The operator's orders (flatten) skip the limits, halted included: a kill
 * switch must be able to close. In exchange they may only reduce: against the
 * position, and no more than what is left of it once every working order
 * on the same side has filled, so no fill can open or increase a position. */
static const char *operator_gate(struct strategy *s, const struct order_request *req)
{
	struct engine *e = s->eng;
	struct risk_order ro = {s->id, req->sym, req->side == SIDE_BUY ? RISK_BUY : RISK_SELL,
				req->qty, 0, false};
	struct risk_account a = {.position = oms_position(e->oms, s->id, req->sym)->qty};
	oms_working(e->oms, s->id, req->sym, &a.working_buy, &a.working_sell);
	return risk_is_reducing(&ro, &a) ? NULL : "not_reducing";
}

/* A bracket's exit may only reduce: against the position and no larger
 * than it (its OCO sibling is the same quantity, never both fill). */
static const char *exit_gate(struct strategy *s, const struct order_request *req)
{
	struct risk_order ro = {s->id, req->sym, req->side == SIDE_BUY ? RISK_BUY : RISK_SELL,
				req->qty, 0, false};
	struct risk_account a = {.position = oms_position(s->eng->oms, s->id, req->sym)->qty};
	return risk_is_reducing(&ro, &a) ? NULL : "not_reducing";
}

/* A stop's trigger price as placed (a trailing stop's: the distance from the
 * last close) and its reference; the bracket's prices. NULL, or why not. */
static const char *stop_check(const struct engine *e, const struct order_request *req,
			      double *stop, double *best)
{
	*stop = req->stop;
	*best = 0;
	if (req->stop != 0 && !(isfinite(req->stop) && req->stop > 0))
		return "bad_price";
	if (req->trail != 0) {
		if (!(isfinite(req->trail) && req->trail > 0) || (req->trail_pct && req->trail >= 100))
			return "bad_price";
		if (req->sym >= e->nlast || e->last[req->sym].time == 0)
			return "no_price"; /* nothing to trail from yet */
		*best = e->last[req->sym].close;
		double d = req->trail_pct ? *best * req->trail / 100 : req->trail;
		*stop = req->side == SIDE_BUY ? *best + d : *best - d;
		if (!(*stop > 0))
			return "bad_price";
	}
	return brackets_check(req);
}

/* The one way an order leaves: sanity, risk (for the operator's own orders
 * operator_gate instead, for a bracket's exits exit_gate), the oms, the
 * venue. Every refusal is an order in the book of record, rejected with its
 * reason. */
static int64_t order_path(struct strategy *s, const struct order_request *req, const char **reason,
			  int operator)
{
	struct engine *e = s->eng;
	const char *why = NULL;
	int64_t now = engine_now(e);
	int qty_ok = risk_qty_ok(req->qty, lot_of(e, req->sym));
	double stop = 0, best = 0;
	if (s->state == STRAT_QUARANTINED && !operator && !req->role)
		why = "halted";
	else if (e->feed_down && !operator && !req->role)
		why = "feed_unhealthy"; /* feed_health.c */
	else if (!qty_ok)
		why = "bad_qty";
	else if (!isnan(req->limit) && !(isfinite(req->limit) && req->limit > 0))
		why = "bad_price";
	else if (req->stop != 0 || req->trail != 0 || req->take_profit != 0 || req->stop_loss != 0)
		why = stop_check(e, req, &stop, &best);
	int code = -1;
	PROBE_MARK(PROBE_SUBMITTED);
	if (!why && !operator && !req->role) {
		enum risk_reason r = risk_gate(s, req);
		if (r != RISK_OK) {
			why = risk_reason_name(r);
			code = (int)r;
		}
		check_risk_halts(e, s);
	} else if (!why) {
		why = operator ? operator_gate(s, req) : exit_gate(s, req);
	}
	int type = isnan(req->limit) ? ORD_MARKET : ORD_LIMIT;
	if (stop > 0)
		type = type == ORD_LIMIT ? ORD_STOP_LIMIT : ORD_STOP;
	struct order *o = oms_create(e->oms, s->id, req->sym, req->side, type, req->tif,
				     qty_ok ? req->qty : 0, isnan(req->limit) ? 0 : req->limit, now,
				     s->version);
	if (!o) {
		*reason = "out_of_memory";
		return 0;
	}
	if (operator)
		o->origin = ORIGIN_OPERATOR; /* before its first event: every output says so */
	if (stop > 0) {
		o->stop = stop;
		o->trail = req->trail;
		o->trail_pct = req->trail_pct != 0;
		o->trail_best = best;
	}
	o->role = (unsigned char)req->role;
	if (why) {
		oms_reject(e->oms, o, why, code);
		*reason = why;
		return 0;
	}
	PROBE_ORDER();
	if (e->stats.tick_t0)
		histo_add(&s->stats.tick_to_order, clock_mono_ns() - e->stats.tick_t0);
	if (e->venue.ops->submit(e->venue.self, o, now) != 0) {
		const char *vr = o->reason && *o->reason ? o->reason : "venue"; /* "venue_down" */
		oms_reject(e->oms, o, vr, -1);
		*reason = vr;
		return 0;
	}
	if ((req->take_profit != 0 || req->stop_loss != 0) && brackets_add(e, o, req) != 0)
		log_msg(LOG_ERROR, "bracket", "%s: out of memory: order %lld has no exits", s->name,
			(long long)o->id);
	return o->id;
}

int64_t engine_exit_order(struct strategy *s, const struct order_request *req, const char **reason)
{
	return order_path(s, req, reason, 0);
}

static int cancel_order(struct strategy *s, int64_t id, const char **reason)
{
	struct engine *e = s->eng;
	struct order *o = oms_get(e->oms, id);
	if (!o) {
		*reason = "unknown_order";
		return -1;
	}
	if (o->strat != s->id) {
		*reason = "not_owner";
		return -1;
	}
	if (!oms_is_open(o)) {
		*reason = "not_open";
		return -1;
	}
	/* a strategy's cancel is a message (max_msgs_per_sec); the kill switch's
	 * cancels (engine_cancel_all) never wait for a budget */
	struct risk_order ro = {s->id, o->sym, o->side == SIDE_BUY ? RISK_BUY : RISK_SELL,
				o->qty - o->filled, o->price, true};
	struct risk_view v;
	memset(&v, 0, sizeof v);
	v.now_ns = engine_now(e);
	enum risk_reason r = risk_check(&e->limits, s->risk, &e->firm_limits, e->firm_risk, &ro, &v);
	if (r != RISK_OK) {
		e->rejects_by_reason[r]++;
		log_msg(LOG_WARN, "risk", "%s cancel of order %lld refused: %s", s->name,
			(long long)id, risk_reason_name(r));
		*reason = risk_reason_name(r);
		return -1;
	}
	if (e->venue.ops->cancel(e->venue.self, o, v.now_ns) != 0) {
		*reason = "not_open";
		return -1;
	}
	return 0;
}

/* keep_exits: a halt or a failure leaves a bracket's exits working (they
 * only reduce, and protect what the strategy can no longer watch). */
static int cancel_all(struct strategy *s, int sym, int keep_exits)
{
	struct engine *e = s->eng;
	int n = 0;
	for (int i = oms_open_count(e->oms, s->id) - 1; i >= 0; i--) {
		if (i >= oms_open_count(e->oms, s->id))
			continue;
		struct order *o = oms_open_at(e->oms, s->id, i);
		if ((sym >= 0 && o->sym != sym) || (keep_exits && o->role != ROLE_NONE))
			continue;
		if (e->venue.ops->cancel(e->venue.self, o, engine_now(e)) == 0)
			n++;
	}
	return n;
}

int engine_halt(struct strategy *s, const char *reason)
{
	struct engine *e = s->eng;
	if (e->jr)
		jrec_halt(s, reason, 1);
	if (s->state == STRAT_RUNNING) {
		s->state = STRAT_HALTED;
		snprintf(s->reason, sizeof s->reason, "%s", reason);
		s->stats.halts++;
	}
	if (!s->risk->halted)
		risk_halt(s->risk, RISK_HALTED, engine_now(e));
	int n = cancel_all(s, -1, 1);
	log_msg(LOG_WARN, "risk", "%s halted: %s (%d working orders canceled)", s->name, reason, n);
	deliver(e);
	return n;
}

void engine_after_callback(struct engine *e, struct strategy *s, int rc, const char *what)
{
	after_callback(e, s, rc, what, -1);
}

int engine_cancel_working(struct strategy *s)
{
	int n = cancel_all(s, -1, 1);
	deliver(s->eng);
	return n;
}

int engine_resume(struct strategy *s)
{
	if (s->state == STRAT_RUNNING && !s->risk->halted)
		return 0;
	if (!vm->alive(s->vm)) {
		log_msg(LOG_WARN, "risk", "%s not resumed: its Lua state is gone (%s); reload it",
			s->name, s->reason);
		return 0;
	}
	log_msg(LOG_WARN, "risk", "%s resumed (was %s: %s)", s->name,
		s->state == STRAT_HALTED ? "halted" : "quarantined", s->reason);
	s->state = STRAT_RUNNING;
	s->reason[0] = '\0';
	if (s->eng->jr)
		jrec_halt(s, "operator", 0);
	risk_resume(s->risk);
	if (s->eng->firm_risk->halted)
		risk_resume(s->eng->firm_risk);
	return 1;
}

/* The operator's orders are cut into pieces of at most the smaller
 * max_order_qty (the strategies', the firm's) when one is set: no order is
 * larger than a strategy may send. At most this many pieces a symbol per
 * flatten (the log says what is left: flatten again). */
#define FLATTEN_MAX_PIECES 1000

static double flatten_piece(const struct engine *e, int sym)
{
	double lot = lot_of(e, sym), m = fmin(e->limits.max_order_qty, e->firm_limits.max_order_qty);
	double lots = floor(m / lot + 1e-9); /* 0.3 / 0.1 is 2.9999999999999996 */
	return lots >= 1 ? lots * lot : lot;
}

/* Closes one position: what is not already being closed by working orders
 * on the same side (operator_gate would refuse more), in pieces. */
static int flatten_symbol(struct strategy *s, int sym)
{
	struct engine *e = s->eng;
	double q = oms_position(e->oms, s->id, sym)->qty, buy, sell;
	oms_working(e->oms, s->id, sym, &buy, &sell);
	double left = q > 0 ? q - sell : -q - buy, piece = flatten_piece(e, sym);
	struct order_request req = {.sym = sym, .side = q > 0 ? SIDE_SELL : SIDE_BUY,
				    .limit = NAN, .tif = TIF_DAY};
	const char *side = oms_side_name(req.side), *name = symtab_name(e->symtab, sym), *why;
	int n = 0;
	while (left > 0 && n < FLATTEN_MAX_PIECES) {
		req.qty = left < piece ? left : piece;
		if (left - req.qty < lot_of(e, sym) * 1e-6) /* a rounding sliver goes with it */
			req.qty = left;
		int64_t id = order_path(s, &req, &why, 1);
		if (id <= 0) {
			log_msg(LOG_WARN, "operator", "%s flatten: %s %.10g %s rejected: %s", s->name,
				side, req.qty, name, why);
			break;
		}
		log_msg(LOG_WARN, "operator", "%s flatten: order %lld %s %.10g %s at market", s->name,
			(long long)id, side, req.qty, name);
		left -= req.qty;
		n++;
	}
	double unsent = (q > 0 ? sell : buy) + left; /* held back by working orders, or over */
	if (q != 0 && unsent > 0)
		log_msg(LOG_WARN, "operator", "%s flatten: %.10g %s not closed (orders still being "
					      "cancelled could fill, or over %d pieces): flatten again",
			s->name, unsent, name, FLATTEN_MAX_PIECES);
	return n;
}

int engine_flatten(struct strategy *s)
{
	struct engine *e = s->eng;
	cancel_all(s, -1, 0);
	struct account *a = oms_account(e->oms, s->id);
	int n = 0;
	/* copy: fills may change the held list as orders go out */
	int held[256], nheld = a->nheld < 256 ? a->nheld : 256;
	if (nheld > 0) /* never traded: a->held is still NULL */
		memcpy(held, a->held, (size_t)nheld * sizeof *held);
	for (int i = 0; i < nheld; i++)
		n += flatten_symbol(s, held[i]);
	log_msg(LOG_WARN, "operator", "%s flatten: %d closing orders sent", s->name, n);
	deliver(e);
	return n;
}

/* `set risk.KEY=V` / `firm_risk.KEY=V`: checked as the config is. */
static int set_limit(struct engine *e, const char *key, const char *value, char *old,
		     size_t oldlen, char *err, size_t errlen)
{
	int firm = strncmp(key, "firm_risk.", 10) == 0;
	/* the limits parser knows keys as risk.KEY */
	int rc = risk_limits_set(engine_limits(e, firm), firm ? key + 5 : key, value, old, oldlen,
				 err, errlen);
	if (rc == 0)
		engine_limits_changed(e);
	return rc;
}

/* Keeps the operator's set of a parameter (the last value for a key), to
 * apply it again to every new version a reload brings. 0, or -1 when out of
 * memory. */
static int keep_set(struct strategy *s, const char *key, const char *value)
{
	struct strat_set *k = NULL;
	for (int i = 0; i < s->nsets && !k; i++)
		if (strcmp(s->sets[i].key, key) == 0)
			k = &s->sets[i];
	char *v = strdup(value);
	if (!v)
		return -1;
	if (!k) {
		struct strat_set *more =
			grow_array(s->sets, &s->sets_cap, s->nsets + 1, sizeof *more, 4);
		if (!more) {
			free(v);
			return -1;
		}
		s->sets = more;
		k = &s->sets[s->nsets++];
		snprintf(k->key, sizeof k->key, "%s", key);
	}
	free(k->value);
	k->value = v;
	return 0;
}

static void free_sets(struct strategy *s)
{
	for (int i = 0; i < s->nsets; i++)
		free(s->sets[i].value);
	free(s->sets);
	s->sets = NULL;
	s->nsets = s->sets_cap = 0;
}

int engine_set(struct engine *e, const char *kv, char *old, size_t oldlen, char *err,
	       size_t errlen)
{
	char key[128];
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key) {
		errf(err, errlen, "set: expected KEY=VALUE, got '%s'", kv);
		return -1;
	}
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	const char *value = eq + 1, *dot = strchr(key, '.');
	if (strncmp(key, "risk.", 5) == 0 || strncmp(key, "firm_risk.", 10) == 0)
		return set_limit(e, key, value, old, oldlen, err, errlen);
	struct strategy *only = NULL;
	const char *pkey = key;
	if (dot) {
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)(dot - key), key);
		if (!(only = engine_find(e, name))) {
			errf(err, errlen, "set %s: no strategy named '%s'", key, name);
			return -1;
		}
		pkey = dot + 1;
	}
	/* validate on every target first, so a bad value changes nothing */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < e->nstrat; i++) {
			struct strategy *s = &e->strats[i];
			if ((only && s != only) || (!only && !vm->alive(s->vm)))
				continue; /* one whose state is gone answers only by name */
			char o[128];
			if (vm->set_param(s->vm, pkey, value, pass, o, sizeof o, err, errlen) != 0)
				return -1;
			snprintf(old, oldlen, "%s", o);
			if (pass && keep_set(s, pkey, value) != 0) {
				errf(err, errlen, "set %s: out of memory", key);
				return -1;
			}
		}
	/* then each strategy hears of it, to rebuild what it built from the value */
	for (int i = 0; i < e->nstrat; i++) {
		struct strategy *s = &e->strats[i];
		if ((only && s != only) || !vm->alive(s->vm) || s->state == STRAT_QUARANTINED ||
		    !(s->info.callbacks & VM_ON_PARAMS))
			continue;
		int rc = vm->on_params(s->vm, &pkey, 1);
		after_callback(e, s, rc, "on_params", -1);
	}
	return 0;
}

/* ------------------------------------------------------------ the host of a VM */

static int64_t host_submit(void *self, const struct order_request *req, const char **reason)
{
	if (((struct strategy *)self)->eng->warming) { /* warmup.c: refused at the door */
		((struct strategy *)self)->eng->warm_refused++;
		*reason = "warming_up";
		return 0;
	}
	int64_t id = order_path(self, req, reason, 0);
	struct engine *e = ((struct strategy *)self)->eng;
	if (e->nbrk) /* an entry filled as it was placed (a book venue without latency) */
		brackets_settle(e);
	return id;
}

static int host_oco(void *self, int64_t a, int64_t b, const char **reason)
{
	return brackets_oco(self, a, b, reason);
}

static int host_replace(void *self, int64_t id, double qty, double price, const char **reason)
{
	return engine_replace_order(self, id, qty, price, reason);
}

static int host_cancel(void *self, int64_t id, const char **reason)
{
	return cancel_order(self, id, reason);
}

static int host_cancel_all(void *self, int sym)
{
	return cancel_all(self, sym, 0);
}

static int host_top(void *self, int sym, struct top_of_book *out)
{
	struct engine *e = ((struct strategy *)self)->eng;
	if (e->feed && e->feed->ops->top) {
		if (e->feed->ops->top(e->feed, sym, out) != 0)
			return -1;
		out->time = engine_now(e);
		return 0;
	}
	if (sym < 0 || sym >= e->nlast || e->last[sym].time == 0)
		return -1;
	const struct bar *b = &e->last[sym];
	out->time = b->time;
	out->sym = sym;
	out->bid = out->ask = b->close;
	out->bid_qty = out->ask_qty = 0;
	return 0;
}

static int host_depth(void *self, int sym, int side, double (*out)[3], int n)
{
	struct engine *e = ((struct strategy *)self)->eng;
	if (e->feed && e->feed->ops->depth)
		return e->feed->ops->depth(e->feed, sym, side, out, n);
	struct top_of_book t;
	if (n < 1 || host_top(self, sym, &t) != 0)
		return 0;
	out[0][0] = side ? t.ask : t.bid;
	out[0][1] = 0;
	out[0][2] = 0;
	return 1;
}

static int64_t host_now(void *self)
{
	return engine_now(((struct strategy *)self)->eng);
}

static int host_timer(void *self, const char *name, double ms)
{
	return set_timer(self, name, ms);
}

static void host_log(void *self, int level, const char *msg)
{
	log_msg((enum log_level)level, ((struct strategy *)self)->name, "%s", msg);
}

static int host_bars(void *self, int sym, const char *tf, int back, struct bar *out)
{
	const struct history *h = ((struct strategy *)self)->hist;
	int frame = -1;
	if (tf && (!h || (frame = history_frame(h, tf)) < 0))
		return -1;
	if (!h)
		return 0;
	if (out)
		return history_get(h, sym, frame, back, out);
	return history_count(h, sym, frame);
}

static int host_at(void *self, const char *name, int sec, const char **reason)
{
	return set_daily(self, name, sec, reason);
}

static const struct vm_host_ops host_ops = {
	.submit = host_submit,
	.cancel = host_cancel,
	.cancel_all = host_cancel_all,
	.top = host_top,
	.depth = host_depth,
	.now = host_now,
	.timer = host_timer,
	.log = host_log,
	.bars = host_bars,
	.at = host_at,
	.oco = host_oco,
	.replace = host_replace,
	.data_flags = data_gate_flags,
};

/* ------------------------------------------------------------ reload */

static uint64_t file_hash(const char *path)
{
	uint64_t h = 1469598103934665603ULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	int c;
	while ((c = getc(f)) != EOF)
		h = (h ^ (uint64_t)(unsigned char)c) * 1099511628211ULL;
	fclose(f);
	return h;
}

static double mono_ms(void)
{
	return (double)clock_mono_ns() / 1e6;
}

static struct vm *open_version(struct strategy *s, int off_thread, char *err, size_t errlen)
{
	struct engine *e = s->eng;
	struct vm_config vc = {.path = s->path,
			       .params = s->params,
			       .nparams = s->nparams,
			       .memory_limit = e->cfg.memory_limit,
			       .callback_ms = e->cfg.callback_ms,
			       .seed = e->cfg.seed + (uint64_t)s->id,
			       .host = &s->host,
			       .off_thread = off_thread};
	/* the vm reads vc while it opens and keeps none of it */
	// cppcheck-suppress returnDanglingLifetime
	return vm->open(&vc, err, errlen);
}

int engine_reload_prepare(struct strategy *s, struct reload_job *job, int off_thread)
{
	double t0 = mono_ms();
	job->s = s;
	job->hash = file_hash(s->path);
	job->next = open_version(s, off_thread, job->err, sizeof job->err);
	job->prepare_ms = mono_ms() - t0;
	return job->next ? 0 : -1;
}

/* The operator's sets, on a new version before its state migrates (so its
 * on_reload sees them): an override outlives every reload. 0, or -1 with
 * err when the new version has no such parameter or cannot take the value:
 * then the reload fails and the running version stays. */
static int reapply_sets(struct strategy *s, struct vm *next, char *err, size_t errlen)
{
	for (int i = 0; i < s->nsets; i++) {
		char old[128], why[1024];
		const struct strat_set *k = &s->sets[i];
		if (vm->set_param(next, k->key, k->value, 1, old, sizeof old, why, sizeof why)) {
			errf(err, errlen, "%s: the operator's `set %s=%s` does not apply to the "
					  "new version: %s", s->path, k->key, k->value, why);
			return -1;
		}
	}
	return 0;
}

int engine_reload_commit(struct reload_job *job, char *msg, size_t msglen)
{
	struct strategy *s = job->s;
	struct vm *next = job->next;
	double t0 = mono_ms();
	job->next = NULL;
	if (next && (reapply_sets(s, next, job->err, sizeof job->err) != 0 ||
		     vm->migrate(s->vm, next, job->err, sizeof job->err) != 0)) {
		vm->close(next);
		next = NULL;
	}
	if (!next) {
		snprintf(msg, msglen, "%s (still running version %d)", job->err, s->version);
		log_msg(LOG_ERROR, "reload", "%s", msg);
		if (s->eng->jr)
			jrec_reload(s, msg, 0);
		return -1;
	}
	struct vm_info info;
	vm->info(next, &info);
	if (strcmp(info.name, s->name) != 0) {
		snprintf(msg, msglen, "%s: the new version is named '%s', not '%s' (still running "
				      "version %d)", s->path, info.name, s->name, s->version);
		log_msg(LOG_ERROR, "reload", "%s", msg);
		vm->close(next);
		return -1;
	}
	if (make_history(s, &info) != 0) {
		snprintf(msg, msglen, "%s: out of memory (still running version %d)", s->path,
			 s->version);
		log_msg(LOG_ERROR, "reload", "%s", msg);
		vm->close(next);
		return -1;
	}
	vm->close(s->vm);
	s->vm = next;
	s->info = info;
	s->version++;
	s->stats.reloads++;
	s->hash = job->hash;
	if (s->state == STRAT_QUARANTINED) {
		s->state = STRAT_RUNNING;
		s->reason[0] = '\0';
	}
	job->commit_ms = mono_ms() - t0;
	/* swap: what the loop waited for; compiled on a helper thread, only the commit */
	snprintf(msg, msglen, "%s version %d ok (swap %.2f ms)", s->path, s->version,
		 job->commit_ms + (job->off_thread ? 0 : job->prepare_ms));
	log_msg(LOG_INFO, "reload", "%s", msg);
	if (s->eng->jr)
		jrec_reload(s, msg, 1);
	log_msg(LOG_DEBUG, "reload", "%s: compile and load %.2f ms%s, state and swap %.2f ms", s->path,
		job->prepare_ms, job->off_thread ? " off the loop" : "", job->commit_ms);
	return 0;
}

int engine_reload(struct strategy *s, char *msg, size_t msglen)
{
	struct reload_job job = {.off_thread = 0};
	engine_reload_prepare(s, &job, 0);
	return engine_reload_commit(&job, msg, msglen);
}

/* ------------------------------------------------------------ timers */

static void recompute_next_timer(struct engine *e)
{
	e->next_timer = INT64_MAX;
	for (int i = 0; i < e->nstrat; i++)
		for (int j = 0; j < STRAT_MAX_TIMERS; j++) {
			int64_t d = e->strats[i].timers[j].deadline;
			if (d && d < e->next_timer)
				e->next_timer = d;
		}
}

static int set_timer(struct strategy *s, const char *name, double ms)
{
	struct strat_timer *slot = NULL, *free_slot = NULL;
	for (int j = 0; j < STRAT_MAX_TIMERS; j++) {
		struct strat_timer *t = &s->timers[j];
		if (t->deadline && strcmp(t->name, name) == 0)
			slot = t;
		else if (!t->deadline && !free_slot)
			free_slot = t;
	}
	if (ms <= 0) {
		if (slot)
			slot->deadline = 0;
		recompute_next_timer(s->eng);
		return 0;
	}
	if (!slot)
		slot = free_slot;
	if (!slot)
		return -1;
	snprintf(slot->name, sizeof slot->name, "%s", name);
	slot->daily = slot->unarmed = 0;
	slot->deadline = engine_now(s->eng) + (int64_t)(ms * 1e6);
	if (slot->deadline <= engine_now(s->eng))
		slot->deadline = engine_now(s->eng) + 1;
	recompute_next_timer(s->eng);
	return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The first instant (ns) at or after `after` (strictly after: strict) at
 * which the wall clock in z reads sec seconds after midnight. In the hour
 * the clocks go back over, its first pass; a time the clocks skip, the
 * instant it would have been without the change (an hour late). */
static int64_t next_daily(const struct tz *z, int sec, int64_t after, int strict)
{
	int64_t s = floor_div(after, 1000000000);
	int64_t day = floor_div(s + tz_offset_at(z, s), 86400);
	for (int64_t d = day - 1;; d++) {
		int64_t local = d * 86400 + sec, u[2];
		int64_t at = tz_local_to_utc(z, local, u) ? u[0]
							  : local - tz_offset_at(z, local - 86400);
		at *= 1000000000;
		if (strict ? at > after : at >= after)
			return at;
	}
}

/* The local calendar day of t (ns) in z. */
static int64_t local_day(const struct tz *z, int64_t t)
{
	int64_t s = floor_div(t, 1000000000);
	return floor_div(s + tz_offset_at(z, s), 86400);
}

/* ctx:at: a timer that fires each day at a wall-clock time of the exchange's
 * zone, in event time; before the first event its first deadline waits for
 * that event's time. */
static int set_daily(struct strategy *s, const char *name, int sec, const char **reason)
{
	struct engine *e = s->eng;
	if (!e->tz) {
		char err[256];
		const char *zone = e->cfg.timezone ? e->cfg.timezone : "America/New_York";
		if (!(e->tz = tz_load(zone, err, sizeof err))) {
			log_msg(LOG_WARN, s->name, "ctx:at: %s", err);
			*reason = "unknown time zone";
			return -1;
		}
	}
	if (set_timer(s, name, 1) != 0) {
		*reason = "too many timers";
		return -1;
	}
	for (int j = 0; j < STRAT_MAX_TIMERS; j++) {
		struct strat_timer *t = &s->timers[j];
		if (!t->deadline || strcmp(t->name, name) != 0)
			continue;
		t->daily = 1 + sec;
		t->unarmed = e->cur == INT64_MIN;
		t->deadline = t->unarmed ? 1 : next_daily(e->tz, sec, engine_now(e), 0);
	}
	recompute_next_timer(e);
	return 0;
}

/* Fires every timer due at or before t, in deadline order, at its deadline.
 * A daily timer (ctx:at) fires only when the event that passes it is on the
 * same local day (a day without events from then on, a weekend, does not
 * fire it), and is armed again for its next time after t. */
static void fire_timers(struct engine *e, int64_t t)
{
	while (e->next_timer <= t && !e->failed) {
		struct strategy *best = NULL;
		struct strat_timer *bt = NULL;
		for (int i = 0; i < e->nstrat; i++)
			for (int j = 0; j < STRAT_MAX_TIMERS; j++) {
				struct strat_timer *tm = &e->strats[i].timers[j];
				if (tm->deadline && tm->deadline <= t &&
				    (!bt || tm->deadline < bt->deadline)) {
					bt = tm;
					best = &e->strats[i];
				}
			}
		if (!bt)
			break;
		if (bt->unarmed) { /* set before the first event: armed from t, not fired */
			bt->unarmed = 0;
			bt->deadline = next_daily(e->tz, bt->daily - 1, t, 0);
			recompute_next_timer(e);
			continue;
		}
		char name[sizeof bt->name];
		memcpy(name, bt->name, sizeof name);
		clock_set(&e->clock, bt->deadline);
		int skip = bt->daily && local_day(e->tz, bt->deadline) != local_day(e->tz, t);
		bt->deadline = bt->daily ? next_daily(e->tz, bt->daily - 1, t, 1) : 0;
		recompute_next_timer(e);
		if (skip)
			continue;
		if (best->state != STRAT_QUARANTINED && (best->info.callbacks & VM_ON_TIMER)) {
			int rc = vm->on_timer(best->vm, name);
			after_callback(e, best, rc, "on_timer", -1);
		}
	}
	clock_set(&e->clock, t);
}

/* ------------------------------------------------------------ set-up */

struct engine *engine_new(const struct engine_config *cfg, struct symtab *st)
{
	struct engine *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->cfg = *cfg;
	e->symtab = st;
	clock_init(&e->clock, CLOCK_REPLAY);
	risk_limits_init(&e->limits);
	risk_limits_init(&e->firm_limits);
	risk_limits_narrow(&e->limits); /* nothing set: only what no limit turns off */
	risk_limits_narrow(&e->firm_limits);
	e->next_timer = INT64_MAX;
	e->next_close = INT64_MAX;
	e->cur = INT64_MIN;
	e->fills = malloc(ENGINE_REPORT_FILLS * sizeof *e->fills);
	/* not zeroed here: engine_add_strategy clears each slot it takes (a
	 * sweep's worker reuses heap memory, where calloc cleared all 64) */
	e->strats = malloc(ENGINE_MAX_STRATEGIES * sizeof *e->strats);
	e->firm_risk = malloc(sizeof *e->firm_risk);
	if (!e->fills || !e->strats || !e->firm_risk) {
		free(e->fills);
		free(e->strats);
		free(e->firm_risk);
		free(e);
		return NULL;
	}
	risk_state_init(e->firm_risk);
	return e;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	if (e->cfg.log_event_time)
		log_set_event_clock(NULL, NULL);
	brackets_free(e);
	data_gate_free(e);
	for (int i = 0; i < e->nstrat; i++) {
		vm->close(e->strats[i].vm);
		free(e->strats[i].subscribed);
		free(e->strats[i].risk);
		free(e->strats[i].params);
		free_sets(&e->strats[i]);
		history_free(e->strats[i].hist);
	}
	free(e->strats);
	tz_free(e->tz);
	free(e->firm_risk);
	if (e->venue.ops)
		e->venue.ops->free(e->venue.self);
	jrec_free(e); /* after the venue it wraps */
	oms_free(e->oms);
	free(e->q);
	free(e->last);
	free(e->instr);
	if (e->fills_csv)
		fclose(e->fills_csv);
	if (e->equity_csv)
		fclose(e->equity_csv);
	if (e->orders_csv)
		fclose(e->orders_csv);
	equity_log_free(&e->eqlog);
	for (int i = 0; i < e->nprices; i++)
		series_free(&e->prices[i]);
	free(e->prices);
	free(e->fills);
	free(e);
}

/* The strategy's history as info asks (none: NULL), unless the one it has
 * is already that: a reload keeps the bars. 0, or -1 out of memory. */
static int make_history(struct strategy *s, const struct vm_info *info)
{
	struct engine *e = s->eng;
	if (s->hist && history_same(s->hist, info->history, info->timeframes, info->timeframe_ns,
				    info->ntimeframes) &&
	    history_aligned(s->hist) == (info->timeframes_session && info->ntimeframes > 0))
		return 0;
	struct history *h = NULL;
	if ((info->history > 0 || info->ntimeframes > 0) &&
	    !(h = history_new(info->history, info->timeframes, info->timeframe_ns,
			      info->ntimeframes)))
		return -1;
	if (h && info->timeframes_session && info->ntimeframes > 0)
		engine_session_align(e, h); /* or UTC, logged */
	e->nhist += (h != NULL) - (s->hist != NULL);
	history_free(s->hist);
	s->hist = h;
	e->next_close = INT64_MAX;
	for (int i = 0; i < e->nstrat; i++)
		if (e->strats[i].hist && history_next_close(e->strats[i].hist) < e->next_close)
			e->next_close = history_next_close(e->strats[i].hist);
	return 0;
}

static void drop_strategy(struct strategy *s)
{
	free_sets(s);
	free(s->risk);
	free(s->params);
	s->risk = NULL;
	s->params = NULL;
}

int engine_add_strategy(struct engine *e, const char *path, const struct param *params,
			int nparams, char *err, size_t errlen)
{
	if (e->nstrat == ENGINE_MAX_STRATEGIES) {
		errf(err, errlen, "%s: at most %d strategies in one host", path,
		     ENGINE_MAX_STRATEGIES);
		return -1;
	}
	/* the array never moves: each vm keeps its strategy's host table */
	struct strategy *s = &e->strats[e->nstrat];
	memset(s, 0, sizeof *s);
	s->id = e->nstrat;
	s->path = path;
	s->eng = e;
	s->version = 1;
	s->day = INT64_MIN;
	s->host = (struct vm_host){.ops = &host_ops, .self = s, .account = s->id,
				   .symtab = e->symtab};
	s->risk = malloc(sizeof *s->risk);
	s->params = malloc((size_t)(nparams + 1) * sizeof *s->params);
	if (!s->risk || !s->params) {
		errf(err, errlen, "out of memory");
		drop_strategy(s);
		return -1;
	}
	risk_state_init(s->risk);
	if (nparams > 0)
		memcpy(s->params, params, (size_t)nparams * sizeof *params);
	s->nparams = nparams;
	s->hash = file_hash(path);
	s->vm = open_version(s, 0, err, errlen);
	if (!s->vm) {
		drop_strategy(s);
		return -1;
	}
	vm->info(s->vm, &s->info);
	if (make_history(s, &s->info) != 0) {
		errf(err, errlen, "out of memory");
		vm->close(s->vm);
		drop_strategy(s);
		return -1;
	}
	snprintf(s->name, sizeof s->name, "%s", s->info.name);
	for (int i = 0; i < e->nstrat; i++)
		if (strcmp(e->strats[i].name, s->name) == 0) {
			errf(err, errlen, "%s: two strategies are named '%s' (set `name` in one of them)",
			     path, s->name);
			vm->close(s->vm);
			history_free(s->hist);
			drop_strategy(s);
			return -1;
		}
	e->nstrat++;
	return 0;
}

int engine_symbols(struct engine *e, const char **names, int max)
{
	int n = 0;
	for (int i = 0; i < e->nstrat; i++)
		for (int k = 0; k < e->strats[i].info.nsymbols && n < max; k++)
			names[n++] = e->strats[i].info.symbols[k];
	return n;
}

struct oms *engine_open_oms(struct engine *e)
{
	if (!e->oms && (e->oms = oms_new(e->nstrat, e->cfg.cash)))
		for (int i = 0; i < e->nstrat; i++)
			e->strats[i].host.oms = e->oms;
	return e->oms;
}

void engine_attach(struct engine *e, struct feed *feed, struct venue venue)
{
	e->feed = feed;
	e->venue = venue;
	e->sample_ns = feed->ops->equity_every_ns;
	clock_init(&e->clock, feed->ops->live ? CLOCK_WALL : CLOCK_REPLAY);
}

int engine_open_outputs(struct engine *e, const char *dir, int resume, char *err, size_t errlen)
{
	/* a backtest writes in big blocks; a running host line by line, so that
	 * what happened is in the files when it is killed */
	int wt = e->cfg.write_through;
	static const char fills[] = "time,symbol,side,qty,price,order_id,fee\n",
			  equity[] = "time,equity,cash,position_value\n";
	if (!(e->fills_csv = output_open_csv(dir, "fills.csv", fills, resume, wt ? 0 : 1 << 18, NULL,
					      err, errlen)) ||
	    !(e->equity_csv = output_open_csv(dir, "equity.csv", equity, resume, wt ? 0 : 1 << 20,
					       NULL, err, errlen)))
		return -1;
	if (wt && !(e->orders_csv = output_open_csv(dir, "orders.csv", output_orders_header, resume, 0,
						    &e->orders_start, err, errlen)))
		return -1;
	return 0;
}

void engine_flush(struct engine *e)
{
	equity_log_flush(&e->eqlog);
}

/* Peaks and the day's start for the loss limits, then max_loss and
 * max_drawdown, once per event time. */
static void watch_pnl(struct engine *e, int64_t t)
{
	int64_t day = t / NS_PER_DAY;
	struct risk_account firm = {0};
	for (int i = 0; i < e->nstrat; i++) {
		struct strategy *s = &e->strats[i];
		double eq = oms_equity(e->oms, i);
		if (day != s->day) { /* the day starts where the last one closed */
			s->day = day;
			s->day_equity = s->last_equity;
		}
		s->last_equity = eq;
		if (eq > s->peak_equity)
			s->peak_equity = eq;
		struct risk_account a = {.pnl = eq - s->day_equity,
					 .equity = eq,
					 .peak_equity = s->peak_equity};
		if (s->state == STRAT_RUNNING && risk_on_pnl(&e->limits, s->risk, &a, t) != RISK_OK)
			check_risk_halts(e, s);
		firm.pnl += a.pnl;
		firm.equity += a.equity;
		firm.peak_equity += a.peak_equity;
	}
	/* the firm: every strategy's loss and drawdown together */
	if (!e->firm_risk->halted && risk_on_pnl(&e->firm_limits, e->firm_risk, &firm, t) != RISK_OK &&
	    e->nstrat > 0)
		check_risk_halts(e, &e->strats[0]);
}

static void record_equity(struct engine *e, int64_t t)
{
	double eq = 0, cash = 0;
	if (e->warming) /* warmup.c: history is no part of the run's outputs */
		return;
	int held = 0;
	for (int i = 0; i < e->nstrat; i++) {
		eq += oms_equity(e->oms, i);
		cash += oms_account(e->oms, i)->cash;
		held |= oms_account(e->oms, i)->nheld > 0;
	}
	if (e->risk_active)
		watch_pnl(e, t);
	equity_log_push(&e->eqlog, t, eq, cash, held);
}

static int charts(struct engine *e, int sym)
{
	int any_all = 0;
	if (e->warming)
		return 0;
	for (int i = 0; i < e->nstrat; i++) {
		if (!e->strats[i].subscribed)
			any_all = 1;
		else if (e->strats[i].subscribed[sym])
			return 1;
	}
	return any_all && sym < 8; /* every symbol subscribed: chart the first few */
}

/* s trades its k-th symbol, which the data lacks: say what the data has,
 * and the change that applies to s: the parameter that names the symbol
 * (to a symbol of the data s does not trade yet), else its `symbols`, else
 * nothing (a strategy without the parameter could not take it). */
static void missing_symbol(const struct engine *e, const struct strategy *s, int k,
			   const int *data_syms, int ndata, char *err, size_t errlen)
{
	const char *name = s->info.symbols[k], *param = s->info.symbol_param[k], *other = NULL;
	char have[256] = "", hint[512] = "";
	size_t n = 0;
	for (int d = 0; d < ndata && n < sizeof have - 40; d++)
		n += (size_t)snprintf(have + n, sizeof have - n, "%s%s", d ? ", " : "",
				      symtab_name(e->symtab, data_syms[d]));
	for (int d = 0; d < ndata && !other; d++) {
		const char *sym = symtab_name(e->symtab, data_syms[d]);
		int taken = 0;
		for (int j = 0; j < s->info.nsymbols; j++)
			taken |= strcmp(sym, s->info.symbols[j]) == 0;
		other = taken ? NULL : sym;
	}
	const char *scope = e->nstrat > 1 ? s->name : "", *dot = e->nstrat > 1 ? "." : "";
	if (*param && other && ndata == 1) /* a file named for more than its symbol */
		snprintf(hint, sizeof hint, "; if the file holds %s, say so with --symbol %s, or "
					    "try --param %s%s%s=%s", name, name, scope, dot, param,
			 other);
	else if (*param && other)
		snprintf(hint, sizeof hint, "; try --param %s%s%s=%s", scope, dot, param, other);
	else if (*param)
		snprintf(hint, sizeof hint, "; add a --data file of %s, or set %s to a symbol of "
					    "the data (--param %s%s%s=SYM)",
			 name, param, scope, dot, param);
	else if (s->info.symbols_declared)
		snprintf(hint, sizeof hint, "; change `symbols` in the strategy, or add a --data "
					    "file of %s", name);
	errf(err, errlen, "%s: strategy %s trades %s, which no --data file has (the data has %s)%s",
	     s->path, s->name, name, have, hint);
}

int engine_subscribe(struct engine *e, const int *data_syms, int ndata, char *err, size_t errlen)
{
	for (int i = 0; i < e->nstrat; i++) {
		struct strategy *s = &e->strats[i];
		if (s->info.nsymbols == 0)
			continue;
		s->subscribed = calloc(SYMTAB_MAX, 1);
		if (!s->subscribed) {
			errf(err, errlen, "out of memory");
			return -1;
		}
		for (int k = 0; k < s->info.nsymbols; k++) {
			const char *name = s->info.symbols[k];
			int id = symtab_intern(e->symtab, name, strlen(name));
			if (id < 0) {
				errf(err, errlen, "%s: bad symbol '%s'", s->path, name);
				return -1;
			}
			int found = ndata < 0;
			for (int d = 0; d < ndata; d++)
				found |= data_syms[d] == id;
			if (!found) {
				missing_symbol(e, s, k, data_syms, ndata, err, errlen);
				return -1;
			}
			s->subscribed[id] = 1;
		}
	}
	return 0;
}

static int grow_symbols(struct engine *e, int sym)
{
	struct bar *l = grow_array(e->last, &e->nlast, sym + 1, sizeof *l, 16);
	if (!l)
		return -1;
	e->last = l;
	struct series *p = grow_array(e->prices, &e->nprices, sym + 1, sizeof *p, 16);
	if (!p)
		return -1;
	e->prices = p;
	return 0;
}

/* ------------------------------------------------------------ the run */

/* The feed's sink: event time moves to t before a message applies, and
 * what the venue has due by then happens first. */
static void sink_advance(void *ud, int64_t t)
{
	struct engine *e = ud;
	clock_set(&e->clock, t);
	e->venue.ops->advance(e->venue.self, t);
	if (e->nbrk)
		brackets_settle(e);
	if (e->qn)
		deliver(e);
}

/* The log's event time (backtests): none before the first event. */
static int64_t event_clock(const void *ud)
{
	const struct engine *e = ud;
	return e->cur == INT64_MIN ? INT64_MIN : engine_now(e);
}

int engine_begin(struct engine *e, char *err, size_t errlen)
{
	if (!engine_open_oms(e)) {
		errf(err, errlen, "out of memory");
		return -1;
	}
	oms_set_listener(e->oms, on_oms_event, e);
	if (e->cfg.log_event_time)
		log_set_event_clock(event_clock, e);
	struct feed_sink sink = {e->venue.ops->due, e->venue.self, sink_advance, e};
	if (e->feed->ops->start(e->feed, &sink, err, errlen) != 0)
		return -1;
	equity_log_start(&e->eqlog, e->equity_csv, e->cfg.cash * e->nstrat);
	e->equity_csv = NULL; /* the log owns it now */
	for (int i = 0; i < e->nstrat; i++)
		e->strats[i].peak_equity = e->strats[i].day_equity = e->strats[i].last_equity =
			e->cfg.cash;
	if (e->jr && jrec_recover(e, err, errlen) != 0) /* before any event, before on_start */
		return -1;
	for (int i = 0; i < e->nstrat && !e->failed; i++) {
		struct strategy *s = &e->strats[i];
		if (s->info.callbacks & VM_ON_START) {
			int rc = vm->on_start(s->vm);
			after_callback(e, s, rc, "on_start", -1);
		}
	}
	return 0;
}

int engine_fetch(struct engine *e, char *err, size_t errlen)
{
	if (e->have_ev)
		return 1;
	int r;
	do /* a value the data checks hold back is skipped; a feed's status is no value */
		r = e->feed->ops->next(e->feed, &e->ev, err, errlen);
	while (r == 1 && e->ev.kind != FEED_STATUS && !data_gate_pass(e));
	e->have_ev = r == 1; /* FEED_WAIT: nothing yet */
	return r;
}

int64_t engine_next_time(const struct engine *e)
{
	return e->have_ev ? e->ev.time : INT64_MAX;
}

/* Event time moved on: an equity point for the time before (per distinct
 * time, or per sample period), then timers due by now. */
static void time_moves(struct engine *e, int64_t t)
{
	int64_t p = e->sample_ns;
	if (e->cur != INT64_MIN && (p ? t / p != e->cur / p : t != e->cur))
		record_equity(e, e->cur);
	e->cur = t;
	if (t >= e->next_timer)
		fire_timers(e, t);
	clock_set(&e->clock, t);
	if (t >= e->next_close)
		close_frames(e, t);
}

/* Each strategy's timeframe bars that closed by t, oldest first, to its
 * on_bar (bar.timeframe set): at the first event at or after their end. */
static void close_frames(struct engine *e, int64_t t)
{
	e->next_close = INT64_MAX;
	for (int i = 0; i < e->nstrat; i++) {
		struct strategy *s = &e->strats[i];
		struct bar b;
		int frame;
		while (s->hist && !e->failed && history_pop_closed(s->hist, t, &b, &frame)) {
			if (s->state == STRAT_QUARANTINED || !(s->info.callbacks & VM_ON_BAR))
				continue;
			int rc = vm->on_frame_bar(s->vm, &b, frame);
			after_callback(e, s, rc, "on_bar", b.sym);
		}
		if (s->hist && history_next_close(s->hist) < e->next_close)
			e->next_close = history_next_close(s->hist);
	}
}

/* A feed's bar (trade: NULL, a trade event) into the history of each
 * strategy that follows its symbol. 0, or -1 out of memory. */
static int keep_history(struct engine *e, const struct bar *b, const struct trade_event *tr)
{
	for (int i = 0; i < e->nstrat; i++) {
		struct strategy *s = &e->strats[i];
		int sym = b ? b->sym : tr->sym;
		if (!s->hist || (s->subscribed && !s->subscribed[sym]))
			continue;
		if (b ? history_add_bar(s->hist, b)
		      : history_add_trade(s->hist, sym, tr->time, tr->price, tr->qty))
			return -1;
		if (history_next_close(s->hist) < e->next_close)
			e->next_close = history_next_close(s->hist);
	}
	return 0;
}

static void call_bar(struct engine *e, const struct bar *b)
{
	for (int i = 0; i < e->nstrat; i++) {
		struct strategy *s = &e->strats[i];
		if (s->state == STRAT_QUARANTINED || !(s->info.callbacks & VM_ON_BAR) ||
		    (s->subscribed && !s->subscribed[b->sym]))
			continue;
		int64_t t0 = stats_begin(&e->stats);
		int rc = vm->on_bar(s->vm, b);
		stats_end(&s->stats, t0);
		after_callback(e, s, rc, "on_bar", b->sym);
	}
}

static void call_book(struct engine *e, const struct feed_event *ev)
{
	PROBE_MARK(PROBE_CALLED);
	for (int i = 0; i < e->nstrat; i++) {
		struct strategy *s = &e->strats[i];
		if (s->state == STRAT_QUARANTINED || (s->subscribed && !s->subscribed[ev->sym]))
			continue;
		int rc = VM_OK;
		const char *what = "on_book";
		int64_t t0 = stats_begin(&e->stats);
		if (ev->top_changed && (s->info.callbacks & VM_ON_BOOK))
			rc = vm->on_book(s->vm, &ev->top);
		if (rc == VM_OK && ev->has_trade && (s->info.callbacks & VM_ON_TRADE)) {
			what = "on_trade";
			rc = vm->on_trade(s->vm, &ev->trade);
		}
		stats_end(&s->stats, t0);
		after_callback(e, s, rc, what, ev->sym);
	}
}

static int dispatch_bar(struct engine *e, const struct feed_event *ev, char *err, size_t errlen)
{
	const struct bar *b = &ev->bar;
	if (b->time != e->cur && e->cur != INT64_MIN)
		record_equity(e, e->cur);
	e->cur = b->time;
	if (grow_symbols(e, b->sym) != 0) {
		errf(err, errlen, "out of memory");
		return -1;
	}
	if (e->last[b->sym].time >= b->time && e->last[b->sym].time != 0) {
		errf(err, errlen, "%s appears in more than one --data file with overlapping times",
		     symtab_name(e->symtab, b->sym));
		return -1;
	}
	if (b->time >= e->next_timer)
		fire_timers(e, b->time);
	clock_set(&e->clock, b->time);
	if (b->time >= e->next_close)
		close_frames(e, b->time);
	e->venue.ops->market(e->venue.self, ev, b->time);
	if (e->nbrk)
		brackets_settle(e);
	if (e->qn)
		deliver(e);
	oms_mark(e->oms, b->sym, b->close);
	e->last[b->sym] = *b;
	if (charts(e, b->sym))
		series_push(&e->prices[b->sym], b->time, b->close);
	if (e->nhist && keep_history(e, b, NULL) != 0) {
		errf(err, errlen, "out of memory");
		return -1;
	}
	call_bar(e, b);
	return 0;
}

static int dispatch_book(struct engine *e, const struct feed_event *ev, char *err, size_t errlen)
{
	int sym = ev->sym;
	if (grow_symbols(e, sym) != 0) {
		errf(err, errlen, "out of memory");
		return -1;
	}
	time_moves(e, ev->time);
	e->venue.ops->market(e->venue.self, ev, ev->time);
	if (e->nbrk)
		brackets_settle(e);
	if (e->qn)
		deliver(e);
	if (ev->mark > 0) {
		oms_mark(e->oms, sym, ev->mark);
		e->last[sym].time = ev->time;
		e->last[sym].close = ev->mark;
	}
	if (ev->top_changed || ev->has_trade) {
		if (charts(e, sym))
			series_push(&e->prices[sym], ev->time, e->last[sym].close);
		if (e->nhist && ev->has_trade && keep_history(e, NULL, &ev->trade) != 0) {
			errf(err, errlen, "out of memory");
			return -1;
		}
		call_book(e, ev);
	}
	return 0;
}

int engine_dispatch(struct engine *e, char *err, size_t errlen)
{
	if (!e->have_ev)
		return 0;
	e->have_ev = 0;
	if (e->ev.kind == FEED_STATUS) /* feed_health.c */
		return engine_feed_status(e, &e->ev.status);
	if (e->stats.timing && !(e->stats.seq++ & e->stats.sample_mask)) /* stats.h: sampled */
		e->stats.tick_t0 = clock_mono_ns();
	if (e->jr)
		jrec_event_begin(e->jr, &e->ev);
	int rc = e->ev.kind == FEED_BAR ? dispatch_bar(e, &e->ev, err, errlen)
					: dispatch_book(e, &e->ev, err, errlen);
	if (e->jr)
		jrec_event_end(e);
	oms_reserve(e->oms); /* between events: the next orders find their room */
	e->stats.tick_t0 = 0;
	return rc;
}

void engine_deliver(struct engine *e)
{
	if (!e->ended) /* after on_stop a strategy hears nothing more (the files still do) */
		deliver(e);
}

static void run_stop(struct engine *e, int64_t t)
{
	const char *why = e->stop_reason ? e->stop_reason : "end_of_data";
	clock_set(&e->clock, t);
	e->venue.ops->cancel_all(e->venue.self, why, t);
	deliver(e);
	for (int i = 0; i < e->nstrat; i++) {
		struct strategy *s = &e->strats[i];
		if (s->state != STRAT_QUARANTINED && (s->info.callbacks & VM_ON_STOP)) {
			int rc = vm->on_stop(s->vm);
			after_callback(e, s, rc, "on_stop", -1);
		}
	}
	e->venue.ops->cancel_all(e->venue.self, why, t); /* what on_stop may have sent */
	deliver(e);
}

int engine_end(struct engine *e, int data_error, char *err, size_t errlen)
{
	e->ended = 1;
	if (data_error && !e->failed) {
		equity_log_finish(&e->eqlog);
		return 2;
	}
	if (e->jr)
		jrec_stop_begin(e->jr);
	if (e->cur != INT64_MIN) {
		if (e->nhist && !e->failed)
			close_frames(e, INT64_MAX); /* the bars being built, at the end of data */
		run_stop(e, e->cur);
		record_equity(e, e->cur);
	}
	if (e->jr)
		jrec_stop_end(e);
	int werr = equity_log_finish(&e->eqlog);
	data_gate_report(e);
	if (e->fills_csv && fflush(e->fills_csv) != 0)
		werr = -1;
	if (werr) {
		errf(err, errlen, "cannot write the output files: %s", strerror(errno));
		return 2;
	}
	return e->failed ? 1 : 0;
}

int engine_run(struct engine *e, char *err, size_t errlen)
{
	int r = engine_begin(e, err, errlen);
	while (r == 0 && !e->failed) {
		int f = engine_fetch(e, err, errlen);
		if (f <= 0) {
			r = f;
			break;
		}
		r = engine_dispatch(e, err, errlen);
	}
	return engine_end(e, r < 0, err, errlen);
}
