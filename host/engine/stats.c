/*
 * stats — see stats.h: the accessors over the engine's own structs.
 */
#include "stats.h"

#include <string.h>

#include "engine-internal.h"

void engine_set_timing(struct engine *e, int on, unsigned sample)
{
	e->stats.timing = on;
	e->stats.sample_mask = sample > 1 ? sample - 1 : 0;
}

const struct engine_stats *engine_stats(const struct engine *e)
{
	return &e->stats;
}

const struct strat_stats *engine_strat_stats(const struct strategy *s)
{
	return &s->stats;
}

void engine_venue_status(struct engine *e, struct venue_status *out)
{
	memset(out, 0, sizeof *out);
	out->state = VENUE_UP;
	if (e->venue.ops && e->venue.ops->status)
		e->venue.ops->status(e->venue.self, out);
}

int engine_symbol_trading(struct engine *e, int sym)
{
	return !e->feed || !e->feed->ops->trading || e->feed->ops->trading(e->feed, sym);
}

size_t engine_memory_limit(const struct engine *e)
{
	return e->cfg.memory_limit;
}

const char *engine_venue_kind(const struct engine *e)
{
	return e->venue.ops && e->venue.ops->name ? e->venue.ops->name : "";
}
