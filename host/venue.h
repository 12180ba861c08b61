/*
 * venue — where orders go once the core has checked them. Backends: the
 * simulated venue (host/sim.c) for backtests and paper; FIX 4.4 later.
 * A venue reports acceptance, fills and cancels through the oms.
 */
#ifndef GANTRY_VENUE_H
#define GANTRY_VENUE_H

#include <stdint.h>

#include "oms.h"

struct venue_ops {
	const char *name;
	/* Takes an order in ST_NEW; accepts (or rejects) it through the oms. 0, or -1. */
	int (*submit)(void *self, struct order *o, int64_t now);
	/* Cancels a working order; 0 when done (or pending), -1 when not cancellable. */
	int (*cancel)(void *self, struct order *o, int64_t now);
};

#endif
