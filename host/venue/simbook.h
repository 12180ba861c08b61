/*
 * simbook — the simulated venue for order-book data (ITCH backtests).
 *
 * An order reaches the venue `latency` ns of event time after it was sent.
 * On arrival a market order walks the displayed levels on the other side
 * (each fill at its level's price; what the book cannot fill is cancelled,
 * reason `no_liquidity`); a limit order that crosses fills the same way up to
 * its limit, and the rest rests at its price behind the shares displayed
 * there at that moment (its queue position). A resting order advances as
 * orders at its price execute (executions take the queue ahead first, then
 * fill it) or cancel (in proportion: a cancel of c shares from a level of L
 * removes c * ahead / L from the queue ahead); it also fills, at its price,
 * when the other side's best price comes to it. IOC orders do not rest.
 * Our orders never change the real book (no market impact), and each order
 * sees the whole displayed book. Cancels act at once. FOK orders fill
 * wholly against the displayed depth (up to the limit) on arrival, or
 * expire (reason `fok`) without a fill.
 *
 * Stops are held here until triggered: by a trade (an execution's price at
 * or beyond the stop), or with stop_on_touch by the best price of the side
 * they would take (a buy stop when the best ask is at or above it, a sell
 * stop when the best bid is at or below it). The triggered order then
 * reaches the book `latency` later and walks it as a market (stop) or limit
 * (stop limit) order. A trailing stop follows the watched price.
 */
#ifndef GANTRY_SIMBOOK_H
#define GANTRY_SIMBOOK_H

#include <stdint.h>

#include "book.h"
#include "feed.h"
#include "oms.h"
#include "sim.h"
#include "venue.h"

struct simbook;

/* Over the books of an ITCH feed (feed_itch_open), whose symbols it trades. */
struct simbook *simbook_new(struct oms *oms, struct feed *itch, const struct sim_config *cfg,
			    int64_t latency_ns);
void simbook_free(struct simbook *sb);
extern const struct venue_ops simbook_venue;

#endif
