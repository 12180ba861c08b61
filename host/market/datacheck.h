/*
 * datacheck — data integrity checks on bars and ticks before a strategy
 * sees them (issue 17 item 5), and the checks of `gantry data check`.
 *
 * Pure: no I/O, no logging, no clock; the caller (engine, data check
 * command) logs, counts and applies the policy. Checks are per value, per
 * symbol: a symbol's state is its last time, its reference price (the last
 * close or trade that was not a jump, see datacheck.c), running statistics of
 * its log returns and volumes (exponentially weighted, findings left out so
 * that one bad value does not hide the next) and its run of equal closes.
 * Feed health (gaps in a network feed's sequence, a stale feed, a book that
 * stays crossed) is the feed's business, not this file's.
 *
 * A move over a break in the data (a step more than 4 times the smallest:
 * a night or a weekend in intraday bars) is held to the percentage test
 * only, and stays out of the statistics of the bars' own moves.
 *
 * Which checks apply where (docs/data.md, "Data integrity checks"):
 *   bars:  prices, ohlc, time_back, duplicates, gaps, jump, stale, volume_spike
 *   ticks: prices (trade price, quotes), time_back (the feed's time), jump
 *          (a trade against the previous trade), crossed (bid > ask)
 */
#ifndef GANTRY_DATACHECK_H
#define GANTRY_DATACHECK_H

#include <stddef.h>
#include <stdint.h>

#include "bars.h"
#include "event.h"

enum datacheck_kind {
	DC_PRICES,	 /* a price <= 0 or not finite; a volume < 0 or not finite */
	DC_OHLC,	 /* high < low, open or close outside low..high */
	DC_TIME_BACK,	 /* earlier than the symbol's last value (ticks: the feed's) */
	DC_DUPLICATES,	 /* the same time as the symbol's last bar */
	DC_GAPS,	 /* bars missing from the regular grid before this one */
	DC_JUMP,	 /* a move beyond N sigmas of recent moves or N % of the reference */
	DC_STALE,	 /* the close equal to the last for a run of N bars */
	DC_VOLUME_SPIKE, /* log(1 + volume) beyond N sigmas above recent ones */
	DC_CROSSED,	 /* a quote whose bid is above its ask */
	DC__COUNT
};

enum datacheck_level { DC_OFF, DC_WARN, DC_ERROR };
/* What the engine does with a value that has findings: pass it (logged and
 * counted), flag it to the strategy (ctx:data_flags()), or hold it back
 * (values with an error-level finding are not delivered; warnings flagged). */
enum datacheck_policy { DC_PASS, DC_FLAG, DC_HOLD };

struct datacheck_config {
	int level[DC__COUNT];
	double gap_interval_s; /* 0: the smallest step seen (per symbol) */
	double jump_sigmas;    /* 0: no sigma test */
	double jump_pct;       /* 0: no percentage test */
	int stale_run;	       /* bars of one close in a row */
	double volume_sigmas;
	int window;   /* the statistics' span (EWMA alpha = 2 / (window + 1)) */
	int warmup;   /* values before the sigma tests start */
	int policy;   /* enum datacheck_policy */
	int disabled; /* `data_checks = false`: nothing is checked (the engine skips the checks) */
};

/* The defaults (docs/data.md): errors for prices, ohlc, time_back; warnings
 * for the rest; gaps on the smallest step; jump 15 sigmas or 25 %;
 * stale 50; volume 10 sigmas; window 100, warm-up 20; policy pass. */
void datacheck_defaults(struct datacheck_config *c);

/* What one value tripped: a bit per kind, and per kind the value found and
 * what it was held against (e.g. the jump in % and the reference price). */
struct datacheck_result {
	unsigned mask;
	double value[DC__COUNT], ref[DC__COUNT];
	double z[DC__COUNT]; /* jump, volume_spike: standard deviations (0: not tested) */
};

struct datacheck;

/* NULL when out of memory. The config is copied. */
struct datacheck *datacheck_new(const struct datacheck_config *c);
void datacheck_free(struct datacheck *d);
/* The checks of a bar; the mask of what it tripped (0: clean). */
unsigned datacheck_bar(struct datacheck *d, const struct bar *b, struct datacheck_result *r);
/* The checks of a tick: a quote (top, may be NULL) and/or a trade (may be
 * NULL) of sym at time t. */
unsigned datacheck_tick(struct datacheck *d, int64_t t, int sym, const struct top_of_book *top,
			const struct trade_event *trade, struct datacheck_result *r);
/* Findings so far by kind. */
long datacheck_count(const struct datacheck *d, int kind);
const struct datacheck_config *datacheck_config_of(const struct datacheck *d);
/* The worst level among the kinds in mask. */
int datacheck_worst(const struct datacheck_config *c, unsigned mask);

/* "prices", "ohlc", ... (the config keys); -1 for an unknown name. */
const char *datacheck_name(int kind);
int datacheck_kind(const char *name);
const char *datacheck_level_name(int level);
const char *datacheck_policy_name(int policy);
/* One finding in words: "close 0 is not a positive price", "jump +35.2%
 * from 100.5 (12.3 sigmas)". Returns out. */
char *datacheck_describe(int kind, const struct datacheck_result *r, char *out, size_t len);

#endif
