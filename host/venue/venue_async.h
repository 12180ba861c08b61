/*
 * venue_async — a test venue that answers late, over another venue (a
 * simulator). It proves the engine never assumes a synchronous venue:
 * an order is pending (ST_PENDING, working for risk and the kill switch)
 * until `after` market events have passed, then reaches the inner venue,
 * which acknowledges it and fills it on its own later; a cancel is pending
 * (ST_CANCEL_PENDING) for as long before it reaches the inner venue.
 * Selected with `--venue async:N` (tests only: no real venue behaves so).
 */
#ifndef GANTRY_VENUE_ASYNC_H
#define GANTRY_VENUE_ASYNC_H

#include "oms.h"
#include "venue.h"

/* Takes ownership of inner. NULL when out of memory. */
struct venue_async *venue_async_new(struct oms *oms, struct venue inner, int after);
extern const struct venue_ops venue_async_ops;

#endif
