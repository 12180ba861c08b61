/*
 * event — what the market did, as the engine hands it to strategies: the top
 * of a book and a trade. Bars are struct bar (bars.h). Prices are doubles in
 * the instrument's currency; times nanoseconds since the epoch.
 */
#ifndef GANTRY_EVENT_H
#define GANTRY_EVENT_H

#include <stdint.h>

struct top_of_book {
	int64_t time;
	int sym;
	double bid, bid_qty, ask, ask_qty;
};

struct trade_event {
	int64_t time;
	int sym;
	double price, qty;
	int side; /* SIDE_BUY aggressor, SIDE_SELL, 0 unknown */
};

#endif
