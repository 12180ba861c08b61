/*
 * datagate — the data integrity checks (market/datacheck.c) between the
 * feed and the strategies: every bar and tick a feed hands out is checked
 * before anything sees it; each finding is counted (summary.json
 * `data_checks`) and logged (the first DATAGATE_SHOWN of each kind, then a
 * total at the end), and by the policy the value is passed, flagged
 * (ctx:data_flags() lists its findings) or held back.
 *
 * Held back: a bar with an error-level finding is not delivered at all (no
 * fill, mark, history or callback against it); a tick's message has already
 * changed the feed's book, which is the exchange's, so a held tick still
 * reaches the venue, but no strategy callback, mark, chart or history sees
 * it. Warnings are flagged under hold. A paper host's warm-up history is
 * not checked (no part of the run). Per value, not per feed: feed health
 * (a feed in a gap, stale, crossed for long) is the feed's.
 */
#include <stdlib.h>
#include <string.h>

#include "datacheck.h"
#include "engine-internal.h"
#include "log.h"
#include "symtab.h"
#include "timefmt.h"

#define DATAGATE_SHOWN 20

struct data_gate {
	struct datacheck *dc;
	unsigned mask; /* the findings of the value last delivered */
	long shown[DC__COUNT];
};

int engine_set_data_checks(struct engine *e, const struct datacheck_config *c)
{
	data_gate_free(e);
	struct data_gate *g = calloc(1, sizeof *g);
	if (!g || !(g->dc = datacheck_new(c))) {
		free(g);
		return -1;
	}
	e->gate = g;
	return 0;
}

void data_gate_free(struct engine *e)
{
	if (!e->gate)
		return;
	datacheck_free(e->gate->dc);
	free(e->gate);
	e->gate = NULL;
}

static void log_findings(struct engine *e, const struct datacheck_result *r, int sym, int64_t t)
{
	struct data_gate *g = e->gate;
	const struct datacheck_config *c = datacheck_config_of(g->dc);
	for (int k = 0; k < DC__COUNT; k++) {
		if (!(r->mask & (1u << k)) || g->shown[k] >= DATAGATE_SHOWN)
			continue;
		char what[200], at[TIME_ISO_LEN + 1];
		int last = ++g->shown[k] == DATAGATE_SHOWN;
		time_format_iso(
		    t, at); /* the value's time: the run's clock is still at the one before */
		log_msg(
		    c->level[k] == DC_ERROR ? LOG_ERROR : LOG_WARN, "data",
		    "%s at %s: %s: %s (%s)%s", symtab_name(e->symtab, sym), at, datacheck_name(k),
		    datacheck_describe(k, r, what, sizeof what), datacheck_level_name(c->level[k]),
		    last
			? "; further findings of this check are counted, the total shown at the end"
			: "");
	}
}

int data_gate_pass(struct engine *e)
{
	if (e->warming) /* warmup.c: history is no part of the run (it may overlap the feed) */
		return 1;
	if (!e->gate) { /* no config said: the defaults, silent on clean data */
		struct datacheck_config c;
		datacheck_defaults(&c);
		if (engine_set_data_checks(e, &c) != 0)
			return 1; /* out of memory: the data goes unchecked rather than nowhere */
	}
	struct data_gate *g = e->gate;
	if (datacheck_config_of(g->dc)->disabled)
		return 1;
	struct feed_event *ev = &e->ev;
	struct datacheck_result r;
	unsigned mask;
	if (ev->kind == FEED_BAR)
		mask = datacheck_bar(g->dc, &ev->bar, &r);
	else
		mask = datacheck_tick(g->dc, ev->time, ev->sym, ev->top_changed ? &ev->top : NULL,
				      ev->has_trade ? &ev->trade : NULL, &r);
	g->mask = 0;
	if (!mask)
		return 1;
	log_findings(e, &r, ev->sym, ev->time);
	const struct datacheck_config *c = datacheck_config_of(g->dc);
	if (c->policy == DC_PASS)
		return 1;
	g->mask = mask;
	if (c->policy != DC_HOLD || datacheck_worst(c, mask & ~(1u << DC_GAPS)) < DC_ERROR)
		return 1;
	g->mask = 0;
	if (ev->kind == FEED_BAR)
		return 0;
	ev->top_changed = ev->has_trade = 0; /* the venue's book moved; no strategy sees it */
	ev->mark = 0;
	return 1;
}

int data_gate_flags(void *self, const char **names, int max)
{
	const struct strategy *s = self;
	const struct data_gate *g = s->eng->gate;
	int n = 0;
	for (int k = 0; g && k < DC__COUNT && n < max; k++)
		if (g->mask & (1u << k))
			names[n++] = datacheck_name(k);
	return n;
}

void engine_data_check_counts(const struct engine *e, long *counts)
{
	int on = e->gate && !datacheck_config_of(e->gate->dc)->disabled;
	for (int k = 0; k < DC__COUNT; k++)
		counts[k] = on ? datacheck_count(e->gate->dc, k) : -1;
}

void data_gate_report(const struct engine *e)
{
	if (!e->gate)
		return;
	const struct datacheck_config *c = datacheck_config_of(e->gate->dc);
	for (int k = 0; k < DC__COUNT; k++) {
		long n = datacheck_count(e->gate->dc, k);
		if (n > e->gate->shown[k])
			log_msg(c->level[k] == DC_ERROR ? LOG_ERROR : LOG_WARN, "data",
				"%s: %ld findings in all (%ld logged)", datacheck_name(k), n,
				e->gate->shown[k]);
	}
}
