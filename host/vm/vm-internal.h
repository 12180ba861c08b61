/*
 * vm-internal — what the VM's own files share (host/vm/vm.c, the backends
 * vm_lua54.c and vm_luajit.c, config.c); the engine sees only vm.h.
 *
 * Two levels. struct vm_core is any Lua state of the host's kept within a
 * memory cap and a CPU budget: a strategy's, the deploy config's, the
 * report's. struct vm is a strategy's: a core, its sandbox (bindings/
 * sandbox.h), the persistent stack slots, what it declared. A backend
 * allocates a larger struct that starts with struct vm and keeps its own
 * fields after it (LuaJIT: the event boxes, the escape from compiled code).
 *
 * Invariants: the allocator's userdata is the core, and the core is the first
 * member of struct vm, so lua_getallocf leads from any lua_State (a
 * coroutine's too) to its core and its vm. Every call into code a user wrote
 * goes through vm_core_call (vm_pcall for a strategy): one budget, one
 * traceback, one error path.
 */
#ifndef GANTRY_VM_INTERNAL_H
#define GANTRY_VM_INTERNAL_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "ctx.h"
#include "lua_compat.h"
#include "sandbox.h"
#include "symtab.h"
#include "vm.h"
#include "watchdog.h"

/* ------------------------------------------------------------ core */

struct vm_core {
	lua_State *L;
	size_t mem_used, mem_limit; /* limit 0: none */
	int mem_exceeded;	    /* sticky: a pcall that catches the error is still halted */
	int64_t budget_ns;	    /* a callback's CPU budget, the one its error names; 0: none */
	/* > 0: a call may run this many instructions, and no clock is read (the
	 * deploy config: the same file always passes or fails); overrun is the error */
	int instructions;
	const char *overrun;
	int off_thread;	  /* the clock hook instead of the watchdog (see vm_config) */
	int64_t deadline; /* off_thread: CLOCK_THREAD_CPUTIME_ID deadline of the call */
	volatile sig_atomic_t interrupted; /* sticky, as mem_exceeded */
	lua_State *volatile running;	   /* the coroutine being resumed, if any */
	watchdog_interrupt interrupt;	   /* vm_interrupt, or a backend's that looks first */
	int msgh;			   /* stack index of the message handler; 0: none */
};

/* Sets c up: the cap, the budget, the watchdog's interrupt, no handler. */
void vm_core_init(struct vm_core *c, size_t memory_limit, int64_t budget_ns);
/* A new state on vm_alloc with c as its userdata (c->L); NULL when out of memory. */
lua_State *vm_core_newstate(struct vm_core *c);
/* The counting allocator: refuses growth past the cap (plus room to report it once hit). */
void *vm_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* The watchdog's interrupt (runs in a signal handler): arms the hook that
 * raises the budget's error at every instruction until the call returns. */
void vm_interrupt(void *target, const void *ucontext, int nth);
/* A call left by a jump out of the interrupt (LuaJIT, compiled code):
 * undoes what vm_core_call did before lua_pcall. */
void vm_core_call_abandoned(void);
/* Opens the sandbox of bindings/linit.c in c->L with env (which must outlive
 * the state); env's resume callbacks are set to c's. */
void vm_open_sandbox(struct vm_core *c, struct sandbox_env *env);
/* The message handler: the error with a traceback from where it was raised.
 * vm_traceback returns 1 when it wrote a traceback, 0 when the error object's
 * __tostring gave the message (then nothing is to be trimmed). */
int vm_msgh(lua_State *L);
int vm_traceback(lua_State *L);
/* Whether this thread is inside a call (vm_ops.in_callback). */
int vm_in_callback(void);

/* What vm_core_call uses; nothing else should. */
extern _Thread_local int vm_callback_depth; /* calls running on this thread, loads too */
void vm_budget_hook(lua_State *L, lua_Debug *ar); /* raises the budget's error */
void vm_clock_hook(lua_State *L, lua_Debug *ar);  /* off_thread: past the deadline? */

/*
 * lua_pcall of the function and arguments on the stack, under the budget
 * (budget_ns of CPU time, or c->instructions): the Lua status; c->interrupted
 * and c->mem_exceeded say whether the budget or the cap stopped it. Inline:
 * every event goes through it, and on the main thread the watchdog's bracket
 * (a few stores, no syscall) is all it adds to lua_pcall.
 */
static inline int vm_core_call(struct vm_core *c, int nargs, int nresults, int64_t budget)
{
	lua_State *L = c->L;
	if (budget > 0 && !c->off_thread) {
		watchdog_enter(c->interrupt, c, budget);
	} else if (budget > 0) {
		c->deadline = clock_thread_ns() + budget;
		lua_sethook(L, vm_clock_hook, LUA_MASKCOUNT, 1000);
	} else if (c->instructions > 0) {
		lua_sethook(L, vm_budget_hook, LUA_MASKCOUNT, c->instructions);
	}
	vm_callback_depth++;
	int rc = lua_pcall(L, nargs, nresults, c->msgh);
	vm_callback_depth--;
	if (budget > 0 && !c->off_thread)
		watchdog_leave();
	else if (budget > 0 || c->instructions > 0)
		lua_sethook(L, NULL, 0, 0);
	return rc;
}

/* ------------------------------------------------------------ strategy */

/* Persistent stack slots (absolute indices) hold what every event needs, so
 * the hot path pushes values and calls, nothing else. */
enum {
	SLOT_MSGH = 1,
	SLOT_MODULE,
	SLOT_CTX,
	SLOT_BAR,
	SLOT_ORDER,
	SLOT_FILL,
	SLOT_BOOK,
	SLOT_TRADE,
	SLOT_SYMS,
	SLOT_FRAME, /* a timeframe's bar (Lua 5.4; LuaJIT writes the bar box) */
	SLOT_KEYS, /* the event field names, one slot each (see vm_key_names) */
	SLOT_CB0 = SLOT_KEYS + 28, /* one slot per callback, in the order of vm_cb_names */
};

/* Field names pushed from stack slots: a TValue copy, no string lookup. */
enum {
	K_SYMBOL,
	K_TIME,
	K_OPEN,
	K_HIGH,
	K_LOW,
	K_CLOSE,
	K_VOLUME,
	K_BID,
	K_BID_QTY,
	K_ASK,
	K_ASK_QTY,
	K_PRICE,
	K_QTY,
	K_SIDE,
	K_ID,
	K_ORDER_ID,
	K_FILLED,
	K_AVG_PRICE,
	K_STATUS,
	K_REASON,
	K_FEE,
	K_ORIGIN,
	K_TIMEFRAME,
	K_TYPE,
	K_STOP,
	K_BRACKET_EXIT,
	K_OCO,
	K__COUNT
};
extern const char *const vm_key_names[K__COUNT];

/* The callbacks, in the order of enum vm_callback's bits and of their slots. */
enum {
	CB_START,
	CB_BAR,
	CB_BOOK,
	CB_TRADE,
	CB_ORDER,
	CB_FILL,
	CB_TIMER,
	CB_RELOAD,
	CB_STOP,
	CB_PARAMS,
	CB_FEED,
	NCB
};
extern const char *const vm_cb_names[NCB];

/*
 * An event kind: its reused table, its callback and its fields in the order
 * they are set (the order the first event inserts them in, so the table's
 * layout, and what pairs() sees, stays the same from run to run). A backend
 * may keep a setter per kind in SLOT_SET0 + kind (Lua 5.4 does); the slot is
 * nil otherwise.
 */
enum { EV_BAR, EV_BOOK, EV_TRADE, EV_ORDER, EV_FILL, EV_FRAME, EV__COUNT };
#define EV_MAX_FIELDS 14

struct event_kind {
	int slot; /* the reused event table */
	int cb;	  /* CB_* */
	const char *what;
	int nfields;
	int keys[EV_MAX_FIELDS];
};
extern const struct event_kind vm_event_kinds[EV__COUNT];

#define SLOT_SET0 (SLOT_CB0 + NCB) /* one setter per event kind */
#define SLOT_TOP (SLOT_SET0 + EV__COUNT)

#define VM_LOAD_BUDGET_NS (500LL * 1000000) /* loading, symbols(), on_reload without a budget */

struct vm {
	struct vm_core core; /* first: the allocator's userdata leads to the vm */
	struct vm_host *host; /* borrowed (vm_config); NULL for `gantry check` */
	struct sandbox_env env; /* the stdlib, the strategy's directory, its modules */
	char path[PATH_MAX];
	struct vm_info info;
	const void *cb_fn[NCB]; /* the callbacks (lua_topointer), to know them in a traceback */
	int abandoned; /* its state was left mid-call (LuaJIT, compiled code): never touched again */
	/* The backend's protected call (LuaJIT's can leave compiled code); what
	 * vm.c runs in the strategy's state goes through it. */
	int (*pcall)(struct vm *vm, int nargs, int nresults, const char *what, int64_t budget);
	/* Calls an order or fill event vm.c has begun and pushed the fields of
	 * (Lua 5.4: through its setter; LuaJIT: vm_call_event_raw). */
	int (*call_event)(struct vm *vm, int kind);
	/* NULL, or copies a value at idx of vm's state that is not plain data but
	 * is the backend's own (LuaJIT's event boxes) onto to as plain data: 0,
	 * or -1 when it is not one of those. */
	int (*copy_own)(const struct vm *vm, int idx, lua_State *to);
	char err[2048];
};

#define ABANDONED(vm) __builtin_expect((vm)->abandoned, 0)

static inline struct vm *vm_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ud;
}

/* Allocates size bytes (a backend's struct that starts with struct vm),
 * creates the state, the slots, the sandbox, ctx; NULL with err on failure.
 * msgh is the message handler the backend's calls use. */
struct vm *vm_new(size_t size, const struct vm_config *cfg, lua_CFunction msgh, char *err,
		  size_t errlen);
/* Loads the strategy: its module, callbacks, params, symbols, ctx.params,
 * ctx.state, the order, fill and symbol tables. 0, or -1 with err. */
int vm_load(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen);
void vm_free(struct vm *vm);
/* Why a call failed, in vm->err, and the stack back to its slots: the status. */
int vm_call_failed(struct vm *vm, int rc, const char *what, int64_t budget);

/* The one protected-call path of a strategy: function and arguments on the
 * stack. VM_OK, or a status with the message in vm->err. */
static inline int vm_pcall(struct vm *vm, int nargs, int nresults, const char *what,
			   int64_t budget)
{
	struct vm_core *c = &vm->core;
	int rc = vm_core_call(c, nargs, nresults, budget);
	if (__builtin_expect(rc == LUA_OK && !c->interrupted && !c->mem_exceeded, 1))
		return VM_OK;
	return vm_call_failed(vm, rc, what, budget);
}
int vm_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The operations both backends share (struct vm_ops). */
void vm_get_info(struct vm *vm, struct vm_info *out);
void vm_describe_params(struct vm *vm, char *buf, size_t len);
int vm_set_param(struct vm *vm, const char *key, const char *text, int apply, char *old,
		 size_t oldlen, char *err, size_t errlen);
int vm_migrate(struct vm *from, struct vm *to, char *err, size_t errlen);
int vm_modules(struct vm *vm, const char **paths, int max);
const char *vm_error(struct vm *vm);
size_t vm_memory(struct vm *vm);
int vm_alive(struct vm *vm);
int vm_on_start(struct vm *vm);
int vm_on_order(struct vm *vm, const struct order *o);
int vm_on_fill(struct vm *vm, const struct fill *f);
int vm_on_timer(struct vm *vm, const char *name);
int vm_on_stop(struct vm *vm);
int vm_on_params(struct vm *vm, const char *const *keys, int nkeys);
int vm_on_feed(struct vm *vm, int up, const char *reason, const char *detail);
void vm_params_json(struct vm *vm, json_sink put, void *ud);

/* What a backend's struct vm_ops takes from vm.c: all but its name, open,
 * close and the bar, book and trade events. */
#define VM_SHARED_OPS                                                                       \
	.info = vm_get_info, .describe_params = vm_describe_params, .on_start = vm_on_start,  \
	.on_order = vm_on_order, .on_fill = vm_on_fill, .on_timer = vm_on_timer,             \
	.on_stop = vm_on_stop, .on_params = vm_on_params, .on_feed = vm_on_feed, .set_param = vm_set_param,         \
	.params_json = vm_params_json, .migrate = vm_migrate,                                \
	.modules = vm_modules, .error = vm_error, .memory = vm_memory,                       \
	.in_callback = vm_in_callback, .alive = vm_alive

/* ------------------------------------------------------------ events */

/* Starts an event: the setter, the callback, ctx and the event table; the
 * caller then pushes the kind's field values, in its order, and calls. */
static inline void vm_begin_event(struct vm *vm, int kind)
{
	lua_State *L = vm->core.L;
	const struct event_kind *k = &vm_event_kinds[kind];
	lua_pushvalue(L, SLOT_SET0 + kind);
	lua_pushvalue(L, SLOT_CB0 + k->cb);
	lua_pushvalue(L, SLOT_CTX);
	lua_pushvalue(L, k->slot);
}

/* A symbol's name, interned in SLOT_SYMS: one string per symbol per state. */
static inline void vm_push_symbol(struct vm *vm, int sym)
{
	lua_State *L = vm->core.L;
	if (lua_rawgeti(L, SLOT_SYMS, sym + 1) == LUA_TSTRING)
		return;
	lua_pop(L, 1);
	lua_pushstring(L, symtab_name(vm->host->symtab, sym));
	lua_pushvalue(L, -1);
	lua_rawseti(L, SLOT_SYMS, sym + 1);
}

static inline void vm_push_str(lua_State *L, const char *s)
{
	if (s && *s) /* a string field, or nil when s is NULL or empty */
		lua_pushstring(L, s);
	else
		lua_pushnil(L);
}

/* Sets the pushed fields with rawset (no metamethod sees them) and calls the
 * callback itself, without the setter: for an event table the strategy gave
 * a metatable, and for a backend without setters. */
int vm_call_event_raw(struct vm *vm, int kind);

#endif
