/*
 * config — the deploy config: a Lua file that returns a table, run as data
 * in a sandbox with no globals, a memory cap and an instruction budget.
 * Unknown keys and wrong types are errors naming the key.
 */
#ifndef GANTRY_CONFIG_H
#define GANTRY_CONFIG_H

#include "lua_compat.h"

#include "vm.h"

struct vm_core;

/* `symbols.NAME`: lot and tick (0 when not given). */
struct config_symbol {
	char name[32];
	double lot, tick;
};

struct deploy_config {
	const char *path;
	struct param *params; /* key "k" for every strategy, "name.k" for one */
	int nparams;
	double memory_mb, callback_ms;	       /* < 0: unset */
	double fee_bps, fee_per_share, slippage_bps; /* < 0: unset */
	double cash;			       /* < 0: unset */
	int on_halt_leave;		       /* sandbox.on_halt = "leave" */
	int trail_extreme, stop_on_touch; /* sim.trail_on = "extreme", sim.stop_trigger = "touch" */
	lua_State *L;			       /* holds the table, for the risk section */
	struct vm_core *core; /* L's allocator and budget (host/vm/vm-internal.h); owned */
	struct config_symbol *symbols; /* owned */
	int nsymbols;
	/* `data`: how CSV files are read (bars.h), as --columns (a FIELD=NAME
	 * list), --header (comma-separated), --tz; owned, NULL: unset */
	char *data_columns, *data_header, *data_tz;
	int data_time_form; /* enum time_form; < 0: unset */
	char *timezone;	    /* the exchange's zone (ctx:at); owned, NULL: unset */
	char *warmup;	    /* `warmup = "PATH"`: history for a warm start (paper); owned */
	int has_session_open, session_open_sec; /* `session_open = "09:30"` (timeframes_align) */
	char *feed_passfile; /* feed.passfile: a network feed's password file; owned, NULL: unset */
	int has_risk; /* bit 0: a `risk` table, bit 1: `firm_risk`; the config table is at 1 of L */
};

/* Every field unset: what a run without --config uses. */
void config_init(struct deploy_config *c);
int config_load(struct deploy_config *c, const char *path, char *err, size_t errlen);
void config_free(struct deploy_config *c);

#endif
