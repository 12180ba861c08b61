/*
 * sim — the simulated venue for bars (the contract's bar execution model).
 *
 * A market order placed while handling bar t fills at the open of the next
 * bar of its symbol; a limit order fills at that bar or later when the bar
 * trades through the limit, at the limit or at the open if the open is
 * better. Nothing fills on a bar whose time is not after the order's
 * creation (no look-ahead across symbols either). IOC orders get one bar.
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
