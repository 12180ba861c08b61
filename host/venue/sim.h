/*
 * sim — the simulated venue for bars (the contract's bar execution model).
 *
 * A market order placed while handling bar t fills at the open of the next
 * bar of its symbol; a limit order fills at that bar or later when the bar
 * trades through the limit, at the limit or at the open if the open is
 * better. Nothing fills on a bar whose time is not after the order's
 * creation (no look-ahead across symbols either). IOC and FOK orders get
 * one bar (a bar fill is whole: FOK is IOC here).
 *
 * Stops: a buy stop triggers when the bar's high reaches it and fills at the
 * stop, or at the open when the open is at or beyond it (a gap); a sell stop
 * mirrors it on the low. A stop limit triggered at the open is a limit for
 * that bar; triggered inside it, it fills at the stop when its limit is at
 * or beyond the stop, else it rests as a limit from the next bar. A trailing
 * stop is tried, then moves toward the market by the bar's close (or high /
 * low: trail_extreme), never away. When a bar reaches both orders of an OCO
 * pair, the one the open passed fills, else the stop; the account counts it
 * (bracket_ambiguous).
 * Fees: per share plus basis points of notional. Slippage moves market
 * fills against the order by slippage_bps.
 */
#ifndef GANTRY_SIM_H
#define GANTRY_SIM_H

#include "bars.h"
#include "oms.h"
#include "venue.h"

struct sim_config {
	double fee_per_share;
	double fee_bps;
	double slippage_bps;
	int trail_extreme; /* sim.trail_on = "extreme": trailing stops follow highs/lows, not closes */
	int stop_on_touch; /* sim.stop_trigger = "touch": book stops trigger on the best
			    * price of the other side, not on trades (simbook.c) */
};

struct sim;

struct sim *sim_new(struct oms *oms, const struct sim_config *cfg);
void sim_free(struct sim *s);
extern const struct venue_ops sim_venue;

/* Matches the working orders of bar->sym against the bar. */
void sim_on_bar(struct sim *s, const struct bar *bar);
/* Cancels every working order (end of data). */
void sim_cancel_all(struct sim *s, const char *reason, int64_t now);
double sim_fee(const struct sim *s, double qty, double price);

#endif
