/*
 * vm — one sandboxed interpreter per strategy, behind a small table of
 * operations so that the engine never sees the interpreter.
 *
 * Two backends, each one file exporting `const struct vm_ops vm_backend`;
 * the build links the one it is made for: host/vm/vm_lua54.c (Lua 5.4, the
 * default) and host/vm/vm_luajit.c (`make VM=luajit`: JIT on, events as FFI
 * structs, FFI order methods). What they share, written once over
 * bindings/lua_compat.h, is host/vm/vm.c (its header vm-internal.h is the
 * VM's own); what a strategy's sandbox holds is bindings/linit.c.
 *
 * Every callback goes through one protected-call path with a traceback
 * naming the strategy file and line. A callback that fails returns
 * VM_ERROR (or VM_ERRMEM / VM_ERRCPU) with the message in vm_error(); the
 * caller decides the policy (halt, quarantine).
 */
#ifndef GANTRY_VM_H
#define GANTRY_VM_H

#include <stddef.h>
#include <stdint.h>

#include "bars.h"
#include "event.h"
#include "jsonfmt.h"
#include "oms.h"

struct vm;
struct vm_host; /* bindings/ctx.h: what ctx talks to */

enum vm_status { VM_OK = 0, VM_ERROR = 1, VM_ERRMEM = 2, VM_ERRCPU = 3 };

enum vm_callback {
	VM_ON_START = 1 << 0,
	VM_ON_BAR = 1 << 1,
	VM_ON_BOOK = 1 << 2,
	VM_ON_TRADE = 1 << 3,
	VM_ON_ORDER = 1 << 4,
	VM_ON_FILL = 1 << 5,
	VM_ON_TIMER = 1 << 6,
	VM_ON_RELOAD = 1 << 7,
	VM_ON_STOP = 1 << 8,
	VM_ON_PARAMS = 1 << 9,
	VM_ON_FEED = 1 << 10,
};

/* A parameter override: from --param (text, converted to the default's type)
 * or from the deploy config (already typed). */
enum param_kind { PARAM_TEXT, PARAM_NUMBER, PARAM_INTEGER, PARAM_BOOLEAN, PARAM_STRING };

struct param {
	char key[64];
	int kind;
	double num;
	long long integer;
	int boolean;
	const char *str; /* borrowed: text or string value */
	const char *origin; /* "--param" or the config file, for messages */
};

struct vm_config {
	const char *path;       /* the strategy file */
	const struct param *params;
	int nparams;
	size_t memory_limit;    /* bytes; 0 = none */
	double callback_ms;     /* CPU budget per callback; 0 = none */
	uint64_t seed;          /* math.random seed */
	struct vm_host *host;   /* what ctx talks to (borrowed, outlives the vm);
				 * NULL for `gantry check` */
	int off_thread;         /* opened on a helper thread: the load budget is enforced
				 * by a count hook on that thread's CPU time, not the watchdog */
};

#define VM_MAX_TIMEFRAMES 8
#define VM_MAX_HISTORY 100000

/* What a loaded strategy declares, for `gantry check` and subscriptions. */
struct vm_info {
	char name[64];
	int callbacks; /* enum vm_callback bits */
	char symbols[64][32];
	int nsymbols;
	/* Where each symbol came from, for what a message about it suggests: the
	 * string parameter whose value it is ("" when none), and whether the
	 * table's `symbols` (a list or a function) named it. */
	char symbol_param[64][64];
	int symbols_declared;
	/* `history = N`: bars kept per symbol and timeframe (0: none); `timeframes
	 * = { "5m", ... }`: their names as written and their lengths in ns. */
	int history;
	int ntimeframes;
	char timeframes[VM_MAX_TIMEFRAMES][8];
	int64_t timeframe_ns[VM_MAX_TIMEFRAMES];
	/* `timeframes_align = "session"`: frames start at the session's open in
	 * the exchange's zone (engine/session.c); 0 ("utc", the default): at
	 * multiples of their length since the epoch */
	int timeframes_session;
};

struct vm_ops {
	const char *name;
	/* Creates the sandbox and loads the strategy file; NULL with err on failure. */
	struct vm *(*open)(const struct vm_config *cfg, char *err, size_t errlen);
	void (*close)(struct vm *vm);
	void (*info)(struct vm *vm, struct vm_info *out);
	/* Writes `key = value (type)` lines describing the merged params. */
	void (*describe_params)(struct vm *vm, char *buf, size_t len);

	int (*on_start)(struct vm *vm);
	int (*on_bar)(struct vm *vm, const struct bar *b);
	/* A bar of the strategy's timeframe info.timeframes[frame]: on_bar with
	 * bar.timeframe set (the feed's own bars have none). */
	int (*on_frame_bar)(struct vm *vm, const struct bar *b, int frame);
	int (*on_book)(struct vm *vm, const struct top_of_book *t);
	int (*on_trade)(struct vm *vm, const struct trade_event *t);
	int (*on_order)(struct vm *vm, const struct order *o);
	int (*on_fill)(struct vm *vm, const struct fill *f);
	int (*on_timer)(struct vm *vm, const char *name);
	int (*on_stop)(struct vm *vm);
	/* After `ctl set`: on_params(ctx, changed), changed = { key = its new value }. */
	int (*on_params)(struct vm *vm, const char *const *keys, int nkeys);
	/* A feed's health changed: on_feed(ctx, {state = "up"|"down", reason =, detail =}). */
	int (*on_feed)(struct vm *vm, int up, const char *reason, const char *detail);

	/* Hot reload: copies ctx.state of `from` into `to` as plain data (tables,
	 * strings, numbers, booleans; anything else is refused, naming where it
	 * is), then runs to's on_reload(ctx, old_state) under the budget; what it
	 * returns (or the copy, without on_reload) becomes to's ctx.state.
	 * 0, or -1 with err; `from` is left as it was. */
	int (*migrate)(struct vm *from, struct vm *to, char *err, size_t errlen);
	/* The Lua files a strategy loaded with require, beside it (for the watcher). */
	int (*modules)(struct vm *vm, const char **paths, int max);

	/* Sets one param from text, converted to its current type; the old value as
	 * text in old. apply = 0 only validates. */
	int (*set_param)(struct vm *vm, const char *key, const char *text, int apply, char *old,
			 size_t oldlen, char *err, size_t errlen);
	/* The merged params as one JSON object, keys sorted, through put (`null`
	 * once the state is gone; a value that is not plain data as null). */
	void (*params_json)(struct vm *vm, json_sink put, void *ud);

	const char *(*error)(struct vm *vm);
	size_t (*memory)(struct vm *vm);
	/* Whether the calling thread is inside a strategy callback (the host was
	 * reached from Lua: ctx:buy, a risk halt it causes). Nothing may run a
	 * callback then; the engine queues what it would deliver. */
	int (*in_callback)(void);
	/* 0 once the strategy's Lua state is gone (LuaJIT: stopped in compiled
	 * code, see host/vm/vm_luajit.c): nothing runs in it again; a reload
	 * starts its new version from an empty ctx.state. */
	int (*alive)(struct vm *vm);
};

extern const struct vm_ops vm_backend;

/*
 * The host's own Lua programs (the report, stdlib/gantry/report.lua) run in a
 * sandbox like a strategy's: the same libraries (bindings/linit.c), require
 * of gantry.* modules from the stdlib and of nothing else, no ctx and no
 * host; a memory cap, and a CPU budget for each call (on the main thread, by
 * the watchdog). The caller pushes its own C functions to hand it data; that
 * is the one place above the VM that writes Lua.
 */
struct vm_script;
struct lua_State;

/* NULL when out of memory. */
struct vm_script *vm_script_open(size_t memory_limit, double cpu_ms);
struct lua_State *vm_script_state(struct vm_script *vs);
/* lua_pcall under the cap and the budget, no message handler: VM_OK, or
 * VM_ERROR with Lua's message at -1, or VM_ERRMEM / VM_ERRCPU with the cap
 * or the budget named at -1 (even when the script caught the error). */
int vm_script_call(struct vm_script *vs, int nargs, int nresults);
void vm_script_close(struct vm_script *vs);

/* In a child after fork() (playbook workers): the CPU budget's thread and
 * the call depth start afresh, so the child's strategies are budgeted. */
void vm_after_fork(void);

#endif
