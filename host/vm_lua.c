/*
 * vm_lua — the backend of host/vm.h for both builds: Lua 5.4 (the default)
 * and LuaJIT 2.1 (`make VM=luajit`, see host/lua_compat.h). One lua_State
 * per strategy.
 *
 * The sandbox (linit.c's advice: pick the libraries) holds base without
 * dofile/loadfile (load takes text chunks only, in the strategy's
 * environment; collectgarbage answers "count" only; print goes to the log;
 * setmetatable refuses __gc), string without dump (its metatable hidden),
 * table, math (random seeded per run), utf8 and coroutine (resume tracks the
 * running coroutine so the CPU budget reaches it). require loads gantry.*
 * from the stdlib and modules beside the strategy, as text, in the sandbox.
 * Under LuaJIT: no utf8; bit; no getfenv, setfenv, newproxy, gcinfo or
 * loadstring; table.pack and table.unpack as in 5.4; ffi and jit only in
 * the host's own glue (bindings/ffi/gantry.lua), never in the strategy's reach.
 *
 * Memory: a counting allocator refuses growth past the cap and flags it, so
 * a strategy that catches the error with pcall is still halted.
 * CPU: host/watchdog.c interrupts a callback past its budget by arming a
 * count hook that raises an error at every instruction until the callback
 * returns; the flag makes the halt stick even through pcall.
 *
 * Persistent stack slots (absolute indices) hold what every event needs, so
 * the hot path pushes values and calls, nothing else.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctx.h"
#include "lua_compat.h"
#include "engine.h"
#include "log.h"
#include "vm.h"
#include "watchdog.h"

#if GANTRY_LUAJIT
#include <link.h>
#include <ucontext.h>
#endif

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
	SLOT_KEYS, /* the event field names, one slot each (see key_names) */
	SLOT_CB0 = SLOT_KEYS + 24, /* one slot per callback, in the order of cb_names */
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
	K__COUNT
};
static const char *const key_names[K__COUNT] = {
	"symbol", "time",  "open", "high", "low",     "close",	"volume",
	"bid",	  "bid_qty", "ask", "ask_qty", "price", "qty",	"side",
	"id",	  "order_id", "filled", "avg_price", "status", "reason", "fee"};
_Static_assert(K__COUNT <= SLOT_CB0 - SLOT_KEYS, "the key slots overlap the callback slots");

static const char *const cb_names[] = {"on_start", "on_bar",    "on_book",   "on_trade", "on_order",
				       "on_fill",  "on_timer",  "on_reload", "on_stop"};
#define NCB ((int)(sizeof cb_names / sizeof cb_names[0]))

/*
 * An event kind: its reused table, its callback and its fields in the order
 * they are set (the order the first event inserts them in, so the table's
 * layout, and what pairs() sees, stays the same from run to run).
 *
 * The fields are set in Lua bytecode: a setter compiled at open, kept in a
 * stack slot out of the strategy's reach,
 *     function(cb, ctx, ev, v1, ..., vN) ev.k1 = v1 ... return cb(ctx, ev) end
 * so C pushes N values and makes one protected call, instead of N rawsets
 * through the API. A SETFIELD on a table without a metatable is a rawset;
 * the event table is the strategy's, so when it has been given a metatable
 * (a __newindex could see the writes) the fields go in with rawset as
 * before. The setter tail-calls the callback: error(msg, 2) and tracebacks
 * see what they saw when C called the callback (msgh drops the one
 * "(...tail calls...)" line the setter's tail call adds).
 */
enum { EV_BAR, EV_BOOK, EV_TRADE, EV_ORDER, EV_FILL, EV__COUNT };
#define EV_MAX_FIELDS 10

struct event_kind {
	int slot; /* the reused event table */
	int cb;   /* index in cb_names */
	const char *what;
	int nfields;
	int keys[EV_MAX_FIELDS];
};

#define SLOT_SET0 (SLOT_CB0 + NCB) /* one setter per event kind */
#define SLOT_TOP (SLOT_SET0 + EV__COUNT)

static const struct event_kind event_kinds[EV__COUNT] = {
	[EV_BAR] = {SLOT_BAR, 1, "on_bar", 7,
		    {K_SYMBOL, K_TIME, K_OPEN, K_HIGH, K_LOW, K_CLOSE, K_VOLUME}},
	[EV_BOOK] = {SLOT_BOOK, 2, "on_book", 6,
		     {K_SYMBOL, K_TIME, K_BID, K_BID_QTY, K_ASK, K_ASK_QTY}},
	[EV_TRADE] = {SLOT_TRADE, 3, "on_trade", 5, {K_SYMBOL, K_TIME, K_PRICE, K_QTY, K_SIDE}},
	[EV_ORDER] = {SLOT_ORDER, 4, "on_order", 9,
		      {K_ID, K_SYMBOL, K_SIDE, K_QTY, K_FILLED, K_PRICE, K_AVG_PRICE, K_STATUS,
		       K_REASON}},
	[EV_FILL] = {SLOT_FILL, 5, "on_fill", 7,
		     {K_ORDER_ID, K_SYMBOL, K_SIDE, K_QTY, K_PRICE, K_FEE, K_TIME}},
};

/* A state left mid-trace (LuaJIT, see escape): nothing may run on it again. */
#define ABANDONED(vm) __builtin_expect((vm)->wrecked, 0)

#define MEM_SLACK (1u << 20) /* room to report the error once the cap is hit */
#define LOAD_BUDGET_NS (500LL * 1000000)

struct vm {
	lua_State *L;
	size_t mem_used, mem_limit;
	int mem_exceeded;
	int64_t budget_ns;
	int off_thread;	 /* opening on a helper thread (see vm_config) */
	int64_t deadline; /* off_thread: CLOCK_THREAD_CPUTIME_ID deadline of the call */
	volatile sig_atomic_t interrupted;
	lua_State *volatile running; /* the coroutine being resumed, if any */
	const void *cb_fn[NCB];	 /* the callbacks (lua_topointer), to know them in msgh */
	const void *via_setter; /* the callback a setter is running (see msgh), else NULL */
	struct strategy *host;
	char path[PATH_MAX];
	char dir[PATH_MAX];
	char stdlib[PATH_MAX];
	char modules[16][PATH_MAX]; /* local modules it required, for the watcher */
	int nmodules;
	struct vm_info info;
	int wrecked; /* LuaJIT: its state was abandoned mid-trace (see escape_jit); never touched again */
#if GANTRY_LUAJIT
	struct ctx_boxes box; /* the bar, book and trade events, filled in place */
	sigjmp_buf escape;
	volatile sig_atomic_t escape_armed; /* inside a budgeted callback on the main thread */
#endif
	char err[2048];
};

/* ------------------------------------------------------------ memory */

static void *vm_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct vm *vm = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		vm->mem_used -= old;
		return NULL;
	}
	if (vm->mem_limit && nsize > old) {
		size_t cap = vm->mem_limit + (vm->mem_exceeded ? MEM_SLACK : 0);
		if (vm->mem_used + (nsize - old) > cap) {
			vm->mem_exceeded = 1;
			return NULL;
		}
	}
	void *p = realloc(ptr, nsize);
	if (p)
		vm->mem_used = vm->mem_used - old + nsize;
	return p;
}

/* ------------------------------------------------------------ CPU budget */

/* Callbacks running on this thread (vm_pcall's, so loads count too). */
static _Thread_local int callback_depth;

static void budget_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	void *ud;
	lua_getallocf(L, &ud);
	struct vm *vm = ud;
	char msg[64];
	snprintf(msg, sizeof msg, "cpu budget of %.3g ms exceeded", (double)vm->budget_ns / 1e6);
	luaL_error(L, "%s", msg);
}

#if GANTRY_LUAJIT
/*
 * LuaJIT's machine code never checks hooks (see LuaJIT's FAQ): a loop that
 * was compiled, `while true do end`, runs past the hook the watchdog arms.
 * When the watchdog signals a second time and finds the thread outside every
 * executable segment of the program and its libraries (so in JIT-compiled
 * code, which holds no lock and is halfway through nothing of the host's), the
 * handler jumps back to vm_pcall. The strategy's Lua state is then abandoned:
 * nothing runs in it again, lvm_close frees it (lua_close resets its stack and
 * frames first, and runs no Lua: the sandbox lets no finalizer in, as
 * setmetatable refuses __gc and newproxy and ffi.gc are out of reach), and the
 * strategy is halted like any other over budget; a reload starts its next
 * version from an empty ctx.state. Anywhere else (the interpreter, C) the
 * hook will fire, so it waits. The table of executable segments is read on
 * the main thread at each open (so a library loaded since is in it); if it
 * overflows, or the PC cannot be read on this architecture, no jump is made,
 * and there the compiler stays off (see lvm_open).
 */
static struct {
	uintptr_t lo, hi;
} code[128];
static int ncode, code_full;

static int add_code(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			if (ncode == (int)(sizeof code / sizeof code[0])) {
				code_full = 1;
				return 1;
			}
			code[ncode].lo = info->dlpi_addr + ph->p_vaddr;
			code[ncode].hi = code[ncode].lo + ph->p_memsz;
			ncode++;
		}
	}
	return 0;
}

/* Main thread, outside any callback: the handler cannot be reading it. */
static void find_code(void)
{
	ncode = code_full = 0;
	dl_iterate_phdr(add_code, NULL);
}

/* Where the signal found the thread; 0 where we cannot tell. */
static uintptr_t interrupted_pc(const void *uc)
{
	const ucontext_t *u = uc;
#if defined(__x86_64__)
	return (uintptr_t)u->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uintptr_t)u->uc_mcontext.pc;
#else
	(void)u;
	return 0;
#endif
}

static int in_jit_code(const void *uc)
{
	uintptr_t pc = interrupted_pc(uc);
	if (!pc || ncode == 0 || code_full)
		return 0;
	for (int i = 0; i < ncode; i++)
		if (pc >= code[i].lo && pc < code[i].hi)
			return 0;
	return 1;
}

/* vm_pcall's landing after the jump: the callback is over, its state lost. */
static int escaped(struct vm *vm, const char *what, int64_t budget)
{
	callback_depth--; /* the jump skipped vm_pcall's */
	watchdog_leave();
	sigset_t sig;
	sigemptyset(&sig);
	sigaddset(&sig, SIGRTMIN); /* blocked while its handler ran; the jump skipped the unblock */
	pthread_sigmask(SIG_UNBLOCK, &sig, NULL);
	vm->wrecked = 1;
	snprintf(vm->err, sizeof vm->err,
		 "%s: %s: cpu budget of %.3g ms exceeded in JIT-compiled code",
		 vm->path, what, (double)budget / 1e6);
	return VM_ERRCPU;
}
#endif

/* Runs in a signal handler: lua_sethook is safe to call asynchronously. */
static void vm_interrupt(void *target, const void *uc, int nth)
{
	struct vm *vm = target;
#if GANTRY_LUAJIT
	if (nth >= 2 && vm->escape_armed && in_jit_code(uc)) {
		vm->escape_armed = 0;
		siglongjmp(vm->escape, 1);
	}
#else
	(void)uc;
	(void)nth;
#endif
	vm->interrupted = 1;
	lua_sethook(vm->L, budget_hook, LUA_MASKCOUNT, 1);
	lua_State *co = vm->running;
	if (co)
		lua_sethook(co, budget_hook, LUA_MASKCOUNT, 1);
}

static void disarm(struct vm *vm)
{
	lua_sethook(vm->L, NULL, 0, 0);
	if (vm->running)
		lua_sethook(vm->running, NULL, 0, 0);
	vm->running = NULL;
}

#if !GANTRY_LUAJIT
/* The deepest stack level (lauxlib's lastlevel: a bound, then a bisection). */
static int last_level(lua_State *L)
{
	lua_Debug ar;
	int lo = 1, hi = 1;
	while (lua_getstack(L, hi, &ar)) {
		lo = hi;
		hi *= 2;
	}
	while (lo < hi) {
		int m = (lo + hi) / 2;
		if (lua_getstack(L, m, &ar))
			lo = m + 1;
		else
			hi = m;
	}
	return hi - 1;
}

/* The traceback at -1 ends with the "(...tail calls...)" of the setter's
 * tail call when the callback itself is the bottom frame: drop that line, so
 * a strategy's traceback reads as when C called the callback directly. */
static void drop_setter_tail(lua_State *L)
{
	static const char tail[] = "\n\t(...tail calls...)";
	const size_t tn = sizeof tail - 1;
	void *ud;
	lua_getallocf(L, &ud);
	struct vm *vm = ud;
	size_t n;
	const char *tb = lua_tolstring(L, -1, &n);
	lua_Debug ar;
	if (!vm->via_setter || n < tn || memcmp(tb + n - tn, tail, tn) != 0 ||
	    !lua_getstack(L, last_level(L), &ar) || !lua_getinfo(L, "tf", &ar))
		return;
	int ours = ar.istailcall && lua_topointer(L, -1) == vm->via_setter;
	lua_pop(L, 1);
	if (ours) {
		lua_pushlstring(L, tb, n - tn);
		lua_remove(L, -2);
	}
}
#else
/* LuaJIT calls callbacks directly (no setters): nothing to drop. */
static void drop_setter_tail(lua_State *L)
{
	(void)L;
}
#endif

static int msgh(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	drop_setter_tail(L);
	return 1;
}

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Off the main thread the watchdog cannot reach us: look at the clock every
 * 1000 instructions instead (only while a file loads, never per event). */
static void load_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	void *ud;
	lua_getallocf(L, &ud);
	struct vm *vm = ud;
	if (thread_cpu_ns() > vm->deadline) {
		vm->interrupted = 1;
		lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
		budget_hook(L, ar);
	}
}

static int lvm_in_callback(void)
{
	return callback_depth > 0;
}

/* The one protected-call path: function and arguments are on the stack. */
static int vm_pcall(struct vm *vm, int nargs, int nresults, const char *what, int64_t budget)
{
	lua_State *L = vm->L;
	if (budget > 0 && vm->off_thread) {
		vm->deadline = thread_cpu_ns() + budget;
		lua_sethook(L, load_hook, LUA_MASKCOUNT, 1000);
	} else if (budget > 0) {
#if GANTRY_LUAJIT
		if (sigsetjmp(vm->escape, 0))
			return escaped(vm, what, budget);
		vm->escape_armed = 1;
#endif
		watchdog_enter(vm_interrupt, vm, budget);
	}
	callback_depth++;
	int rc = lua_pcall(L, nargs, nresults, SLOT_MSGH);
	callback_depth--;
	if (budget > 0 && vm->off_thread) {
		lua_sethook(L, NULL, 0, 0);
	} else if (budget > 0) {
		watchdog_leave();
#if GANTRY_LUAJIT
		vm->escape_armed = 0;
#endif
	}
	if (rc == LUA_OK && !vm->interrupted && !vm->mem_exceeded)
		return VM_OK;

	const char *msg = rc == LUA_OK ? "" : lua_tostring(L, -1);
	int status = VM_ERROR;
	if (vm->interrupted) {
		disarm(vm);
		status = VM_ERRCPU;
		/* the traceback's first line repeats what the hook said: keep the trace */
		if (msg && strncmp(msg, "cpu budget", 10) == 0 && strchr(msg, '\n'))
			msg = strchr(msg, '\n') + 1;
		snprintf(vm->err, sizeof vm->err, "%s: %s: cpu budget of %.3g ms exceeded%s%s",
			 vm->path, what, (double)budget / 1e6, msg && *msg ? "\n" : "",
			 msg ? msg : "");
		vm->interrupted = 0;
	} else if (vm->mem_exceeded) {
		status = VM_ERRMEM;
		snprintf(vm->err, sizeof vm->err, "%s: %s: memory cap of %.4g MB exceeded", vm->path,
			 what, (double)vm->mem_limit / (1 << 20));
	} else {
		snprintf(vm->err, sizeof vm->err, "%s (in %s)", msg ? msg : "error", what);
	}
	lua_settop(L, SLOT_TOP);
	lua_gc(L, LUA_GCCOLLECT, 0); /* give back what the failed callback left behind */
	return status;
}

/* ------------------------------------------------------------ sandbox */

static int sb_print(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	struct vm *vm = ud;
	luaL_Buffer b;
	int n = lua_gettop(L);
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	if (vm->host)
		engine_log(vm->host, LOG_INFO, lua_tostring(L, -1));
	else
		fprintf(stderr, "%s\n", lua_tostring(L, -1));
	return 0;
}

static int sb_load(lua_State *L)
{
	size_t len;
	const char *chunk = lua_tolstring(L, 1, &len);
	if (!chunk || lua_type(L, 1) != LUA_TSTRING)
		return luaL_error(L, "load: only text chunks (strings) are allowed in the sandbox");
	const char *name = luaL_optstring(L, 2, "=(load)");
	const char *mode = luaL_optstring(L, 3, "t");
	if (strcmp(mode, "t") != 0)
		return luaL_error(L, "load: binary chunks are not allowed (mode must be \"t\")");
	int has_env = !lua_isnone(L, 4);
#if GANTRY_LUAJIT /* an environment is a table there: lua_setfenv takes anything for one */
	if (has_env && !lua_istable(L, 4))
		return luaL_error(L, "load: the environment must be a table (got %s)",
				  luaL_typename(L, 4));
#endif
	if (luaL_loadbufferx(L, chunk, len, name, "t") != LUA_OK) {
		lua_pushnil(L);
		lua_insert(L, -2);
		return 2;
	}
	if (has_env) {
		lua_pushvalue(L, 4);
		lua_setchunkenv(L, -2);
	}
	return 1;
}

static int sb_collectgarbage(lua_State *L)
{
	const char *opt = luaL_optstring(L, 1, "count");
	if (strcmp(opt, "count") != 0)
		return luaL_error(L, "collectgarbage: only \"count\" is allowed in the sandbox");
	int kb = lua_gc(L, LUA_GCCOUNT, 0), b = lua_gc(L, LUA_GCCOUNTB, 0);
	lua_pushnumber(L, (lua_Number)kb + (lua_Number)b / 1024);
	return 1;
}

static int sb_setmetatable(lua_State *L)
{
	if (lua_istable(L, 2) && lua_getfield(L, 2, "__gc") != LUA_TNIL)
		return luaL_error(L, "setmetatable: __gc metamethods are not allowed in the sandbox");
	lua_settop(L, 2);
	lua_getfield(L, LUA_REGISTRYINDEX, "gantry.setmetatable");
	lua_insert(L, 1);
	lua_call(L, 2, 1);
	return 1;
}

/* coroutine.resume that records the running coroutine for the watchdog. */
static int sb_resume(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	struct vm *vm = ud;
	lua_State *co = lua_tothread(L, 1);
	luaL_argexpected(L, co, 1, "coroutine");
	lua_State *prev = vm->running;
	vm->running = co;
	if (vm->interrupted)
		lua_sethook(co, budget_hook, LUA_MASKCOUNT, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, "gantry.resume");
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	vm->running = prev;
	return lua_gettop(L);
}

/*
 * Lua patterns run in C, out of the hook's reach: a pattern with q
 * variable-length items can take len^(q+1) steps on a len-byte subject
 * (every start position, then every split) and hold the host past any
 * budget. The sandbox's string.find, match, gmatch and gsub refuse a pattern
 * whose len^(q+1) passes PATTERN_STEPS, about a quarter of a second of
 * matching at worst; the budget catches the callback as soon as it returns.
 */
#define PATTERN_STEPS 1e8

static int pattern_quantifiers(const char *p, size_t n)
{
	int q = 0, in_set = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '%') {
			i++; /* an escape, a class, %b xy, %f[...] */
			if (i < n && p[i] == 'b')
				i += 2;
		} else if (in_set) {
			in_set = c != ']';
		} else if (c == '[') {
			in_set = 1;
			if (i + 1 < n && p[i + 1] == '^')
				i++;
			if (i + 1 < n && p[i + 1] == ']')
				i++;
		} else if ((c == '*' || c == '+' || c == '-' || c == '?') && i > 0) {
			q++;
		}
	}
	return q;
}

static int sb_pattern(lua_State *L)
{
	size_t len, plen;
	luaL_checklstring(L, 1, &len);
	const char *pat = luaL_checklstring(L, 2, &plen);
	int plain = lua_toboolean(L, 4) && lua_tointeger(L, lua_upvalueindex(2)) == 1;
	if (!plain) {
		int q = pattern_quantifiers(pat, plen);
		if (q >= 1 && pow((double)len, q + 1) > PATTERN_STEPS)
			return luaL_error(L, "pattern too costly for the sandbox: %d quantifiers over a "
					     "%d-byte string (len^(q+1) must stay under 1e8)",
					  q, (int)len);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* xpcall whose handler runs after the error, not inside it: Lua runs a
 * message handler with hooks off when the error came from a hook (the CPU
 * budget's), so a looping handler could never be stopped. The handler still
 * gets the error and its result is returned; it runs under the budget. */
static const char xpcall_src[] =
	"local pcall, pack, unpack = ...\n"
	"return function(f, h, ...)\n"
	"  local r = pack(pcall(f, ...))\n"
	"  if r[1] then return unpack(r, 1, r.n) end\n"
	"  return false, h(r[2])\n"
	"end\n";

#if GANTRY_LUAJIT
static const char table_pack_src[] =
	"local select = select\n"
	"return function(...) return { n = select('#', ...), ... } end\n";
#endif

/* coroutine.wrap in terms of the resume above. */
static const char wrap_src[] =
	"local create, resume, error, pack, unpack = ...\n"
	"return function(f)\n"
	"  local co = create(f)\n"
	"  return function(...)\n"
	"    local r = pack(resume(co, ...))\n"
	"    if r[1] then return unpack(r, 2, r.n) end\n"
	"    error(r[2], 0)\n"
	"  end\n"
	"end\n";

static int valid_module_name(const char *s)
{
	if (!*s || *s == '.')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || (*s == '.' && s[1] != '.' && s[1])))
			return 0;
	return 1;
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n < cap)
			break;
		char *nb = realloc(buf, cap *= 2);
		if (!nb) {
			free(buf);
			buf = NULL;
		} else {
			buf = nb;
		}
	}
	int err = ferror(f);
	fclose(f);
	if (!buf || err) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int sb_require(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	struct vm *vm = ud;
	const char *name = luaL_checkstring(L, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, "gantry.loaded");
	if (lua_getfield(L, -1, name) != LUA_TNIL)
		return 1;
	lua_pop(L, 1);
	if (!valid_module_name(name))
		return luaL_error(L, "require: bad module name '%s'", name);
	char path[PATH_MAX * 2], rel[256];
	int n = snprintf(rel, sizeof rel, "%s", strncmp(name, "gantry.", 7) == 0 ? name + 7 : name);
	if (n < 0 || (size_t)n >= sizeof rel)
		return luaL_error(L, "require: module name too long");
	for (char *p = rel; *p; p++)
		if (*p == '.')
			*p = '/';
	if (strncmp(name, "gantry.", 7) == 0)
		snprintf(path, sizeof path, "%s/gantry/%s.lua", vm->stdlib, rel);
	else
		snprintf(path, sizeof path, "%s/%s.lua", vm->dir, rel);
	char *src;
	size_t len;
	if (read_file(path, &src, &len) != 0)
		return luaL_error(L, "require: module '%s' not found (looked for %s)", name, path);
	if (strncmp(name, "gantry.", 7) != 0 && vm->nmodules < 16)
		snprintf(vm->modules[vm->nmodules++], sizeof vm->modules[0], "%s", path);
	lua_pushfstring(L, "@%s", path);
	int rc = luaL_loadbufferx(L, src, len, lua_tostring(L, -1), "t");
	free(src);
	if (rc != LUA_OK)
		return lua_error(L);
	lua_pushstring(L, name);
	lua_call(L, 1, 1);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_pushboolean(L, 1);
	}
	lua_pushvalue(L, -1);
	lua_setfield(L, -4, name); /* gantry.loaded[name] */
	return 1;
}

static void open_lib(lua_State *L, const char *name, lua_CFunction open)
{
	luaL_requiref(L, name, open, 1);
	lua_pop(L, 1);
}

static void set_global_fn(lua_State *L, const char *name, lua_CFunction fn)
{
	lua_pushcfunction(L, fn);
	lua_setglobal(L, name);
}

static void open_sandbox(struct vm *vm, uint64_t seed)
{
	lua_State *L = vm->L;
	open_lib(L, LUA_GNAME, luaopen_base); /* LuaJIT: coroutine too */
	open_lib(L, LUA_STRLIBNAME, luaopen_string);
	open_lib(L, LUA_TABLIBNAME, luaopen_table);
	open_lib(L, LUA_MATHLIBNAME, luaopen_math);
#if GANTRY_LUAJIT
	open_lib(L, LUA_BITLIBNAME, luaopen_bit);
	/* opening the jit library is what turns the compiler on; the global goes
	 * with the others below */
	open_lib(L, LUA_JITLIBNAME, luaopen_jit);
	/* table.pack and table.unpack, as a strategy written for 5.4 calls them */
	lua_getglobal(L, "table");
	luaL_loadbufferx(L, table_pack_src, sizeof table_pack_src - 1, "=table.pack", "t");
	lua_call(L, 0, 1);
	lua_setfield(L, -2, "pack");
	lua_getglobal(L, "unpack");
	lua_setfield(L, -2, "unpack");
	lua_pop(L, 1);
#else
	open_lib(L, LUA_UTF8LIBNAME, luaopen_utf8);
	open_lib(L, LUA_COLIBNAME, luaopen_coroutine);
#endif

	/* keep the originals the sandbox wraps */
	lua_getglobal(L, "setmetatable");
	lua_setfield(L, LUA_REGISTRYINDEX, "gantry.setmetatable");
	lua_getglobal(L, "string");
	lua_getfield(L, -1, "format");
	lua_setfield(L, LUA_REGISTRYINDEX, "gantry.format");
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);

	static const char *const removed[] = {
		"dofile", "loadfile", "require", "package", "io", "os", "debug",
		/* LuaJIT's base: environments, finalizable proxies, a second load */
		"getfenv", "setfenv", "newproxy", "gcinfo", "loadstring", "module", "jit", NULL};
	for (int i = 0; removed[i]; i++) {
		lua_pushnil(L);
		lua_setglobal(L, removed[i]);
	}
	set_global_fn(L, "print", sb_print);
	set_global_fn(L, "load", sb_load);
	set_global_fn(L, "collectgarbage", sb_collectgarbage);
	set_global_fn(L, "setmetatable", sb_setmetatable);
	set_global_fn(L, "require", sb_require);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, "gantry.loaded");

	/* the string metatable: hidden, so no strategy can change it */
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);

	/* coroutine.resume/wrap through the watchdog-aware resume */
	lua_getglobal(L, "coroutine");
	lua_getfield(L, -1, "resume");
	lua_setfield(L, LUA_REGISTRYINDEX, "gantry.resume");
	lua_pushcfunction(L, sb_resume);
	lua_setfield(L, -2, "resume");
	luaL_loadbufferx(L, wrap_src, sizeof wrap_src - 1, "=coroutine.wrap", "t");
	lua_getfield(L, -2, "create");
	lua_pushcfunction(L, sb_resume);
	lua_getglobal(L, "error");
	lua_getglobal(L, "table");
	lua_getfield(L, -1, "pack");
	lua_getfield(L, -2, "unpack");
	lua_remove(L, -3);
	lua_call(L, 5, 1);
	lua_setfield(L, -2, "wrap");
	lua_pop(L, 1);

	/* patterns guarded; xpcall without in-error handlers */
	static const char *const pattern_fns[] = {"find", "match", "gmatch", "gsub", NULL};
	lua_getglobal(L, "string");
	for (int i = 0; pattern_fns[i]; i++) {
		lua_getfield(L, -1, pattern_fns[i]);
		lua_pushinteger(L, i == 0); /* only find has a `plain` argument */
		lua_pushcclosure(L, sb_pattern, 2);
		lua_setfield(L, -2, pattern_fns[i]);
	}
	lua_pop(L, 1);
	luaL_loadbufferx(L, xpcall_src, sizeof xpcall_src - 1, "=xpcall", "t");
	lua_getglobal(L, "pcall");
	lua_getglobal(L, "table");
	lua_getfield(L, -1, "pack");
	lua_getfield(L, -2, "unpack");
	lua_remove(L, -3);
	lua_call(L, 3, 1);
	lua_setglobal(L, "xpcall");

	/* math.random, seeded per run so a backtest replays identically */
	lua_getglobal(L, "math");
	lua_getfield(L, -1, "randomseed");
	lua_pushinteger(L, (lua_Integer)seed);
	lua_call(L, 1, 0);
	lua_pop(L, 1);
}

/* ------------------------------------------------------------ loading */

static void split_path(struct vm *vm, const char *path)
{
	snprintf(vm->path, sizeof vm->path, "%s", path);
	snprintf(vm->dir, sizeof vm->dir, "%s", path);
	char *slash = strrchr(vm->dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(vm->dir, sizeof vm->dir, ".");
	const char *env = getenv("GANTRY_STDLIB");
	snprintf(vm->stdlib, sizeof vm->stdlib, "%s", env && *env ? env : GANTRY_ROOT "/stdlib");
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	snprintf(vm->info.name, sizeof vm->info.name, "%.*s", (int)strcspn(base, "."), base);
}

static int fail(struct vm *vm, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct vm *vm, char *err, size_t errlen, const char *fmt, ...)
{
	(void)vm;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Whether a parameter's default at idx makes it an integer parameter. Lua
 * 5.4 tells `3` from `3.0`; LuaJIT has one number type, so there every
 * number parameter takes any finite number (`entry = 2.0` must take 1.5). */
static int integer_param(lua_State *L, int idx)
{
#if GANTRY_LUAJIT
	(void)L;
	(void)idx;
	return 0;
#else
	return lua_isinteger(L, idx);
#endif
}

/* t[k] at idx, raw: inspecting a strategy's tables from C (outside any
 * protected call, with no budget) must run none of its metamethods. */
static int raw_field(lua_State *L, int idx, const char *k)
{
	idx = lua_absindex(L, idx);
	lua_pushstring(L, k);
	return lua_rawget(L, idx);
}

/* Pushes the value at idx as text for a listing, calling nothing of the
 * strategy's: strings, numbers and booleans as tostring shows them, any
 * other value as its type in angle brackets. */
static const char *plain_text(lua_State *L, int idx)
{
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
	case LUA_TNUMBER:
		lua_pushvalue(L, idx);
		return lua_tostring(L, -1);
	case LUA_TBOOLEAN:
		lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
		return lua_tostring(L, -1);
	default: return lua_pushfstring(L, "<%s>", luaL_typename(L, idx));
	}
}

/* Converts an override to the type of the default at -1; pushes the value. */
static int convert_param(lua_State *L, const struct param *p, const char *strat, char *err,
			 size_t errlen)
{
	int t = lua_type(L, -1);
	char *end;
	if (p->kind == PARAM_TEXT) {
		const char *v = p->str;
		if (t == LUA_TNUMBER && integer_param(L, -1)) {
			errno = 0;
			long long x = strtoll(v, &end, 10);
			if (*v && !*end && errno == 0) {
				lua_pushinteger(L, x);
				return 0;
			}
			return fail(NULL, err, errlen, "%s %s=%s: expected an integer for %s.%s",
				    p->origin, p->key, v, strat, p->key);
		}
		if (t == LUA_TNUMBER) {
			double x = strtod(v, &end);
			if (*v && !*end && isfinite(x)) {
				lua_pushnumber(L, x);
				return 0;
			}
			return fail(NULL, err, errlen, "%s %s=%s: expected a number for %s.%s",
				    p->origin, p->key, v, strat, p->key);
		}
		if (t == LUA_TBOOLEAN) {
			if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
				lua_pushboolean(L, 1);
			else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
				lua_pushboolean(L, 0);
			else
				return fail(NULL, err, errlen,
					    "%s %s=%s: expected true or false for %s.%s", p->origin,
					    p->key, v, strat, p->key);
			return 0;
		}
		lua_pushstring(L, v);
		return 0;
	}
	int ok = (t == LUA_TNUMBER && integer_param(L, -1)) ? p->kind == PARAM_INTEGER
		 : t == LUA_TNUMBER ? (p->kind == PARAM_NUMBER || p->kind == PARAM_INTEGER)
		 : t == LUA_TBOOLEAN ? p->kind == PARAM_BOOLEAN
				     : p->kind == PARAM_STRING;
	if (!ok)
		return fail(NULL, err, errlen, "%s: params.%s: expected %s for %s.%s like its "
					       "default", p->origin, p->key,
			    (t == LUA_TNUMBER && integer_param(L, -1)) ? "an integer"
			    : t == LUA_TNUMBER			      ? "a number"
			    : t == LUA_TBOOLEAN			      ? "a boolean"
								      : "a string",
			    strat, p->key);
	switch (p->kind) {
	case PARAM_INTEGER:
		if (t == LUA_TNUMBER && !integer_param(L, -1))
			lua_pushnumber(L, (lua_Number)p->integer);
		else
			lua_pushinteger(L, p->integer);
		break;
	case PARAM_NUMBER: lua_pushnumber(L, p->num); break;
	case PARAM_BOOLEAN: lua_pushboolean(L, p->boolean); break;
	default: lua_pushstring(L, p->str); break;
	}
	return 0;
}

static void known_keys(lua_State *L, int tbl, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	lua_pushnil(L);
	while (lua_next(L, tbl) != 0) {
		if (lua_type(L, -2) == LUA_TSTRING && n < len) {
			int w = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", lua_tostring(L, -2));
			n += w > 0 ? (size_t)w : 0;
		}
		lua_pop(L, 1);
	}
	if (!n)
		snprintf(buf, len, "none");
}

/* Builds ctx.params from the module's defaults and the overrides; at -1. */
static int merge_params(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	lua_State *L = vm->L;
	lua_newtable(L);
	int merged = lua_gettop(L);
	int t = raw_field(L, SLOT_MODULE, "params");
	if (t != LUA_TNIL && t != LUA_TTABLE)
		return fail(vm, err, errlen, "%s: params must be a table", vm->path);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		lua_newtable(L);
	}
	int defaults = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, defaults) != 0) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, merged);
	}
	for (int i = 0; i < cfg->nparams; i++) {
		const struct param *p = &cfg->params[i];
		if (raw_field(L, defaults, p->key) == LUA_TNIL) {
			char known[512];
			known_keys(L, defaults, known, sizeof known);
			return fail(vm, err, errlen, "%s: unknown parameter '%s' for strategy %s "
						     "(known: %s)", p->origin, p->key, vm->info.name,
				    known);
		}
		if (convert_param(L, p, vm->info.name, err, errlen) != 0)
			return -1;
		lua_setfield(L, merged, p->key);
		lua_pop(L, 1);
	}
	lua_settop(L, merged);
	return 0;
}

static int read_symbols(struct vm *vm, int params, char *err, size_t errlen)
{
	lua_State *L = vm->L;
	int t = raw_field(L, SLOT_MODULE, "symbols");
	if (t == LUA_TFUNCTION) { /* symbols(params) -> list, for symbols that are params */
		lua_pushvalue(L, params);
		if (vm_pcall(vm, 1, 1, "symbols", LOAD_BUDGET_NS) != VM_OK)
			return fail(vm, err, errlen, "%s", vm->err);
		t = lua_type(L, -1);
	}
	if (t == LUA_TTABLE) {
		lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) >= 32 ||
			    vm->info.nsymbols >= 64)
				return fail(vm, err, errlen, "%s: symbols must be a list of at most "
							     "64 names", vm->path);
			snprintf(vm->info.symbols[vm->info.nsymbols++], 32, "%s", lua_tostring(L, -1));
			lua_pop(L, 1);
		}
	} else if (t != LUA_TNIL) {
		return fail(vm, err, errlen, "%s: symbols must be a list of names", vm->path);
	} else if (lua_getfield(L, params, "symbol") == LUA_TSTRING && lua_rawlen(L, -1) < 32) {
		snprintf(vm->info.symbols[vm->info.nsymbols++], 32, "%s", lua_tostring(L, -1));
	}
	lua_settop(L, params);
	return 0;
}

static int find_callbacks(struct vm *vm, char *err, size_t errlen)
{
	lua_State *L = vm->L;
	for (int i = 0; i < NCB; i++) {
		int t = raw_field(L, SLOT_MODULE, cb_names[i]);
		if (t != LUA_TNIL && t != LUA_TFUNCTION)
			return fail(vm, err, errlen, "%s: %s must be a function, got a %s", vm->path,
				    cb_names[i], lua_typename(L, t));
		if (t == LUA_TFUNCTION)
			vm->info.callbacks |= 1 << i;
		vm->cb_fn[i] = lua_topointer(L, -1);
		lua_replace(L, SLOT_CB0 + i);
	}
	/* a misspelt callback would silently never run: name it */
	lua_pushnil(L);
	while (lua_next(L, SLOT_MODULE) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING || strncmp(lua_tostring(L, -1), "on_", 3) != 0)
			continue;
		int known = 0;
		for (int i = 0; i < NCB; i++)
			known |= strcmp(lua_tostring(L, -1), cb_names[i]) == 0;
		if (!known)
			return fail(vm, err, errlen, "%s: unknown callback '%s' (callbacks: on_start, "
						     "on_bar, on_book, on_trade, on_order, on_fill, "
						     "on_timer, on_reload, on_stop)", vm->path,
				    lua_tostring(L, -1));
	}
	return 0;
}

static int load_module(struct vm *vm, char *err, size_t errlen)
{
	lua_State *L = vm->L;
	char *src;
	size_t len;
	if (read_file(vm->path, &src, &len) != 0)
		return fail(vm, err, errlen, "%s: cannot read: %s", vm->path, strerror(errno));
	if (len > 0 && src[0] == LUA_SIGNATURE[0]) {
		free(src);
		return fail(vm, err, errlen, "%s: binary chunks are not allowed (a strategy is Lua "
					     "source text)", vm->path);
	}
	lua_pushfstring(L, "@%s", vm->path);
	int rc = luaL_loadbufferx(L, src, len, lua_tostring(L, -1), "t");
	free(src);
	lua_remove(L, -2);
	if (rc != LUA_OK)
		return fail(vm, err, errlen, "%s", rc == LUA_ERRMEM ? "out of memory" : lua_tostring(L, -1));
	if (vm_pcall(vm, 0, 1, "load", LOAD_BUDGET_NS) != VM_OK)
		return fail(vm, err, errlen, "%s", vm->err);
	if (!lua_istable(L, -1))
		return fail(vm, err, errlen, "%s: a strategy must return a table (got %s)",
			    vm->path, luaL_typename(L, -1));
	lua_replace(L, SLOT_MODULE);
	if (raw_field(L, SLOT_MODULE, "name") == LUA_TSTRING)
		snprintf(vm->info.name, sizeof vm->info.name, "%s", lua_tostring(L, -1));
	lua_pop(L, 1);
	return 0;
}

#if !GANTRY_LUAJIT
/* The setters of event_kinds, one per kind, into their slots. */
static int compile_setters(struct vm *vm, char *err, size_t errlen)
{
	lua_State *L = vm->L;
	for (int kind = 0; kind < EV__COUNT; kind++) {
		const struct event_kind *k = &event_kinds[kind];
		char src[1024];
		size_t n = (size_t)snprintf(src, sizeof src, "return function(cb, ctx, ev");
		for (int i = 0; i < k->nfields; i++)
			n += (size_t)snprintf(src + n, sizeof src - n, ", v%d", i + 1);
		n += (size_t)snprintf(src + n, sizeof src - n, ")\n");
		for (int i = 0; i < k->nfields; i++)
			n += (size_t)snprintf(src + n, sizeof src - n, "  ev.%s = v%d\n",
					      key_names[k->keys[i]], i + 1);
		n += (size_t)snprintf(src + n, sizeof src - n, "  return cb(ctx, ev)\nend\n");
		if (luaL_loadbufferx(L, src, n, "=(event fields)", "t") != LUA_OK ||
		    lua_pcall(L, 0, 1, 0) != LUA_OK)
			return fail(vm, err, errlen, "%s: cannot compile the event setters: %s",
				    vm->path, lua_tostring(L, -1));
		lua_replace(L, SLOT_SET0 + kind);
	}
	return 0;
}
#endif

static void new_event_table(lua_State *L, int slot, int nfields)
{
	lua_createtable(L, 0, nfields);
	lua_replace(L, slot);
}

static struct vm *lvm_open(const struct vm_config *cfg, char *err, size_t errlen)
{
	struct vm *vm = calloc(1, sizeof *vm);
	if (!vm) {
		fail(NULL, err, errlen, "out of memory");
		return NULL;
	}
	vm->mem_limit = cfg->memory_limit;
	vm->budget_ns = (int64_t)(cfg->callback_ms * 1e6);
	vm->host = cfg->host;
	vm->off_thread = cfg->off_thread;
	split_path(vm, cfg->path);
	vm->L = lua_newstate(vm_alloc, vm);
	if (!vm->L) {
		fail(vm, err, errlen, "%s: cannot create a Lua state", cfg->path);
		free(vm);
		return NULL;
	}
	lua_State *L = vm->L;
	/* the persistent slots, and room above them for what a call pushes: the
	 * C API promises only LUA_MINSTACK free slots unless asked */
	if (!lua_checkstack(L, SLOT_TOP + 2 * LUA_MINSTACK)) {
		fail(vm, err, errlen, "%s: cannot grow the Lua stack", cfg->path);
		lua_close(L);
		free(vm);
		return NULL;
	}
	lua_settop(L, SLOT_TOP);
	lua_pushcfunction(L, msgh);
	lua_replace(L, SLOT_MSGH);
	open_sandbox(vm, cfg->seed);
#if GANTRY_LUAJIT
	/* Loading runs interpreted: the load budget is a count hook (on a helper
	 * thread nothing can jump out of a compiled loop), and hooks hold only in
	 * the interpreter. The compiler is turned on once the strategy is in. */
	luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
	if (!cfg->off_thread)
		find_code();
#endif
	/* on the main thread the load budget needs the watchdog too, even with no
	 * budget per callback (`gantry check`) */
	if (!vm->off_thread && watchdog_start() != 0)
		log_msg(LOG_WARN, "vm", "cannot start the watchdog: no CPU budget enforcement");

	/* ctx (its params and state come once the module is read), before the
	 * strategy runs: what the host's glue captures is the sandbox as built */
	lua_pushcfunction(L, luaopen_gantry_ctx);
	lua_pushlightuserdata(L, cfg->host);
	lua_call(L, 1, 1);
	lua_replace(L, SLOT_CTX);
#if GANTRY_LUAJIT
	if (ctx_ffi_install(L, cfg->host, SLOT_CTX, &vm->box) != 0) {
		fail(vm, err, errlen, "%s: %s", cfg->path, lua_tostring(L, -1));
		goto failed;
	}
	lua_replace(L, SLOT_TRADE);
	lua_replace(L, SLOT_BOOK);
	lua_replace(L, SLOT_BAR);
#endif

	if (load_module(vm, err, errlen) != 0 || find_callbacks(vm, err, errlen) != 0 ||
	    merge_params(vm, cfg, err, errlen) != 0 || read_symbols(vm, lua_gettop(L), err, errlen))
		goto failed;

	/* ctx's params, and an empty state */
	lua_setfield(L, SLOT_CTX, "params");
	lua_newtable(L);
	lua_setfield(L, SLOT_CTX, "state");
	lua_settop(L, SLOT_TOP);

	new_event_table(L, SLOT_ORDER, 10);
	new_event_table(L, SLOT_FILL, 7);
	new_event_table(L, SLOT_SYMS, 0);
	for (int k = 0; k < K__COUNT; k++) {
		lua_pushstring(L, key_names[k]);
		lua_replace(L, SLOT_KEYS + k);
	}
#if !GANTRY_LUAJIT
	new_event_table(L, SLOT_BAR, 7);
	new_event_table(L, SLOT_BOOK, 6);
	new_event_table(L, SLOT_TRADE, 5);
	if (compile_setters(vm, err, errlen) != 0)
		goto failed;
#endif
	vm->off_thread = 0; /* from here on it runs on the main thread */
#if GANTRY_LUAJIT && (defined(__x86_64__) || defined(__aarch64__))
	/* elsewhere the handler cannot see where a loop is: the compiler stays off */
	luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_ON);
#endif
	return vm;

failed:
	lua_close(L);
	free(vm);
	return NULL;
}

static void lvm_close(struct vm *vm)
{
	if (!vm)
		return;
#if GANTRY_LUAJIT
	if (vm->host && !vm->wrecked)
		log_msg(LOG_DEBUG, "vm", "%s: %llu orders through the FFI fast path", vm->info.name,
			(unsigned long long)ctx_ffi_orders(&vm->box));
#endif
	lua_close(vm->L); /* an abandoned one too: lua_close resets the stack and frames first */
	free(vm);
}

static void lvm_info(struct vm *vm, struct vm_info *out)
{
	*out = vm->info;
}

static void lvm_describe_params(struct vm *vm, char *buf, size_t len)
{
	if (ABANDONED(vm)) {
		snprintf(buf, len, "  (abandoned: %s)\n", vm->err);
		return;
	}
	lua_State *L = vm->L;
	size_t n = 0;
	buf[0] = '\0';
	/* keys sorted, so the listing reads the same every time */
	lua_getfield(L, SLOT_CTX, "params");
	int params = lua_gettop(L);
	lua_newtable(L);
	int keys = lua_gettop(L), nkeys = 0;
	lua_pushnil(L);
	while (lua_next(L, params) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TSTRING) {
			lua_pushvalue(L, -1);
			lua_rawseti(L, keys, ++nkeys);
		}
	}
	lua_getglobal(L, "table");
	lua_getfield(L, -1, "sort");
	lua_pushvalue(L, keys);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK)
		lua_pop(L, 1);
	for (int i = 1; i <= nkeys && n < len; i++) {
		lua_rawgeti(L, keys, i);
		const char *k = lua_tostring(L, -1);
		lua_getfield(L, params, k);
		const char *type = integer_param(L, -1) ? "integer" : luaL_typename(L, -1);
		const char *q = lua_type(L, -1) == LUA_TSTRING ? "\"" : "";
		const char *v = plain_text(L, -1);
		int w = snprintf(buf + n, len - n, "  %s = %s%s%s (%s)\n", k, q, v, q, type);
		n += w > 0 ? (size_t)w : 0;
		lua_pop(L, 3);
	}
	lua_settop(L, SLOT_TOP);
}

/* ------------------------------------------------------------ events */

static inline void push_symbol(struct vm *vm, int sym)
{
	lua_State *L = vm->L;
	if (lua_rawgeti(L, SLOT_SYMS, sym + 1) == LUA_TSTRING)
		return;
	lua_pop(L, 1);
	lua_pushstring(L, symtab_name(engine_symtab(vm->host->eng), sym));
	lua_pushvalue(L, -1);
	lua_rawseti(L, SLOT_SYMS, sym + 1);
}

/* Starts an event: the setter, the callback, ctx and the event table; the
 * caller then pushes the kind's field values, in its order, and calls
 * call_event. */
static inline void begin_event(struct vm *vm, int kind)
{
	lua_State *L = vm->L;
	const struct event_kind *k = &event_kinds[kind];
	lua_pushvalue(L, SLOT_SET0 + kind);
	lua_pushvalue(L, SLOT_CB0 + k->cb);
	lua_pushvalue(L, SLOT_CTX);
	lua_pushvalue(L, k->slot);
}

/* The strategy gave the event table a metatable: set the fields with rawset
 * (no metamethod sees them), then call the callback itself. */
static int call_event_raw(struct vm *vm, const struct event_kind *k)
{
	lua_State *L = vm->L;
	int first = lua_gettop(L) - k->nfields + 1;
	for (int i = 0; i < k->nfields; i++) {
		lua_pushvalue(L, SLOT_KEYS + k->keys[i]);
		lua_pushvalue(L, first + i);
		lua_rawset(L, k->slot);
	}
	lua_settop(L, first - 1);
	lua_remove(L, first - 4); /* the setter */
	return vm_pcall(vm, 2, 0, k->what, vm->budget_ns);
}

static inline int call_event(struct vm *vm, int kind)
{
	const struct event_kind *k = &event_kinds[kind];
#if GANTRY_LUAJIT /* no setters: order and fill events are set through the API */
	return call_event_raw(vm, k);
#else
	lua_State *L = vm->L;
	if (lua_getmetatable(L, k->slot)) {
		lua_pop(L, 1);
		return call_event_raw(vm, k);
	}
	vm->via_setter = vm->cb_fn[k->cb];
	int rc = vm_pcall(vm, 3 + k->nfields, 0, k->what, vm->budget_ns);
	vm->via_setter = NULL;
	return rc;
#endif
}

#if GANTRY_LUAJIT
/* A boxed event (bindings/ffi/gantry.lua), its fields already written. */
static int call_box(struct vm *vm, int kind)
{
	lua_State *L = vm->L;
	const struct event_kind *k = &event_kinds[kind];
	lua_pushvalue(L, SLOT_CB0 + k->cb);
	lua_pushvalue(L, SLOT_CTX);
	lua_pushvalue(L, k->slot);
	return vm_pcall(vm, 2, 0, k->what, vm->budget_ns);
}
#endif

static inline void push_str(lua_State *L, const char *s)
{
	if (s && *s) /* a string field, or nil when s is NULL or empty */
		lua_pushstring(L, s);
	else
		lua_pushnil(L);
}

static int lvm_on_bar(struct vm *vm, const struct bar *b)
{
	if (ABANDONED(vm))
		return VM_ERROR;
#if GANTRY_LUAJIT
	struct gantry_ev_bar *e = vm->box.bar;
	*e = (struct gantry_ev_bar){(double)b->time, b->open,  b->high, b->low,
				    b->close,	     b->volume, b->sym};
	return call_box(vm, EV_BAR);
#else
	lua_State *L = vm->L;
	begin_event(vm, EV_BAR);
	push_symbol(vm, b->sym);
	lua_pushinteger(L, (lua_Integer)b->time);
	lua_pushnumber(L, b->open);
	lua_pushnumber(L, b->high);
	lua_pushnumber(L, b->low);
	lua_pushnumber(L, b->close);
	lua_pushnumber(L, b->volume);
	return call_event(vm, EV_BAR);
#endif
}

static int lvm_on_book(struct vm *vm, const struct top_of_book *t)
{
	if (ABANDONED(vm))
		return VM_ERROR;
#if GANTRY_LUAJIT
	struct gantry_ev_book *e = vm->box.book;
	*e = (struct gantry_ev_book){(double)t->time, t->bid, t->bid_qty, t->ask, t->ask_qty, t->sym};
	return call_box(vm, EV_BOOK);
#else
	lua_State *L = vm->L;
	begin_event(vm, EV_BOOK);
	push_symbol(vm, t->sym);
	lua_pushinteger(L, (lua_Integer)t->time);
	lua_pushnumber(L, t->bid);
	lua_pushnumber(L, t->bid_qty);
	lua_pushnumber(L, t->ask);
	lua_pushnumber(L, t->ask_qty);
	return call_event(vm, EV_BOOK);
#endif
}

static int lvm_on_trade(struct vm *vm, const struct trade_event *t)
{
	if (ABANDONED(vm))
		return VM_ERROR;
#if GANTRY_LUAJIT
	struct gantry_ev_trade *e = vm->box.trade;
	*e = (struct gantry_ev_trade){(double)t->time, t->price, t->qty, t->sym, t->side};
	return call_box(vm, EV_TRADE);
#else
	lua_State *L = vm->L;
	begin_event(vm, EV_TRADE);
	push_symbol(vm, t->sym);
	lua_pushinteger(L, (lua_Integer)t->time);
	lua_pushnumber(L, t->price);
	lua_pushnumber(L, t->qty);
	push_str(L, t->side ? oms_side_name(t->side) : NULL);
	return call_event(vm, EV_TRADE);
#endif
}

static int lvm_on_order(struct vm *vm, const struct order *o)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	lua_State *L = vm->L;
	begin_event(vm, EV_ORDER);
	lua_pushinteger(L, (lua_Integer)o->id);
	push_symbol(vm, o->sym);
	push_str(L, oms_side_name(o->side));
	lua_pushinteger(L, (lua_Integer)o->qty);
	lua_pushinteger(L, (lua_Integer)o->filled);
	if (o->type == ORD_LIMIT)
		lua_pushnumber(L, o->price);
	else
		lua_pushnil(L);
	if (o->filled > 0)
		lua_pushnumber(L, o->avg_price);
	else
		lua_pushnil(L);
	push_str(L, oms_status_name(o->status));
	push_str(L, o->reason);
	return call_event(vm, EV_ORDER);
}

static int lvm_on_fill(struct vm *vm, const struct fill *f)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	lua_State *L = vm->L;
	begin_event(vm, EV_FILL);
	lua_pushinteger(L, (lua_Integer)f->order_id);
	push_symbol(vm, f->sym);
	push_str(L, oms_side_name(f->side));
	lua_pushinteger(L, (lua_Integer)f->qty);
	lua_pushnumber(L, f->price);
	lua_pushnumber(L, f->fee);
	lua_pushinteger(L, (lua_Integer)f->time);
	return call_event(vm, EV_FILL);
}

static int lvm_on_timer(struct vm *vm, const char *name)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	lua_State *L = vm->L;
	lua_pushvalue(L, SLOT_CB0 + 6);
	lua_pushvalue(L, SLOT_CTX);
	lua_pushstring(L, name);
	return vm_pcall(vm, 2, 0, "on_timer", vm->budget_ns);
}

static int call_plain(struct vm *vm, int cb, const char *what)
{
	lua_State *L = vm->L;
	lua_pushvalue(L, SLOT_CB0 + cb);
	lua_pushvalue(L, SLOT_CTX);
	return vm_pcall(vm, 1, 0, what, vm->budget_ns);
}

static int lvm_on_start(struct vm *vm)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	return call_plain(vm, 0, "on_start");
}

static int lvm_on_stop(struct vm *vm)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	return call_plain(vm, 8, "on_stop");
}

static int lvm_set_param(struct vm *vm, const char *key, const char *text, int apply, char *old,
			  size_t oldlen, char *err, size_t errlen)
{
	if (ABANDONED(vm))
		return fail(vm, err, errlen, "set %s: the strategy's Lua state is gone (%s); reload it",
			    key, vm->err);
	lua_State *L = vm->L;
	struct param p = {.kind = PARAM_TEXT, .str = text, .origin = "set"};
	snprintf(p.key, sizeof p.key, "%s", key);
	lua_getfield(L, SLOT_CTX, "params");
	int params = lua_gettop(L);
	if (lua_getfield(L, params, key) == LUA_TNIL) {
		char known[512];
		known_keys(L, params, known, sizeof known);
		fail(vm, err, errlen, "unknown parameter '%s' for strategy %s (known: %s)", key,
		     vm->info.name, known);
		lua_settop(L, SLOT_TOP);
		return -1;
	}
	snprintf(old, oldlen, "%s", plain_text(L, -1));
	lua_pop(L, 1);
	int rc = convert_param(L, &p, vm->info.name, err, errlen);
	if (rc == 0 && apply)
		lua_setfield(L, params, key);
	lua_settop(L, SLOT_TOP);
	return rc;
}

/* ------------------------------------------------------------ reload */

#define COPY_DEPTH 64

#if GANTRY_LUAJIT
/* The number fields of each event box, in the order Lua 5.4's event tables
 * get them; the symbol (and a trade's side) are ids turned into strings. */
struct box_field {
	const char *name;
	size_t off;
};
#define BAR_F(f) {#f, offsetof(struct gantry_ev_bar, f)}
#define BOOK_F(f) {#f, offsetof(struct gantry_ev_book, f)}
#define TRADE_F(f) {#f, offsetof(struct gantry_ev_trade, f)}
static const struct box_field bar_fields[] = {BAR_F(time), BAR_F(open),	 BAR_F(high),
					      BAR_F(low),  BAR_F(close), BAR_F(volume)};
static const struct box_field book_fields[] = {BOOK_F(time), BOOK_F(bid), BOOK_F(bid_qty),
					       BOOK_F(ask), BOOK_F(ask_qty)};
static const struct box_field trade_fields[] = {TRADE_F(time), TRADE_F(price), TRADE_F(qty)};

/* An event box kept in ctx.state (`ctx.state.last = bar`) survives a reload
 * as what Lua 5.4 keeps there, a table of the event's fields. 0 when the
 * value at idx is one of from's boxes (copied onto to), else -1. */
static int copy_box(lua_State *from, int idx, lua_State *to)
{
	void *ud;
	lua_getallocf(from, &ud);
	const struct vm *vm = ud;
	const char *p = lua_topointer(from, idx);
	const struct box_field *f;
	size_t nf;
	int32_t sym, side = 0;
	if (!p || !vm->host)
		return -1;
	if (p == (const char *)vm->box.bar) {
		f = bar_fields, nf = sizeof bar_fields / sizeof *f, sym = vm->box.bar->sym_;
	} else if (p == (const char *)vm->box.book) {
		f = book_fields, nf = sizeof book_fields / sizeof *f, sym = vm->box.book->sym_;
	} else if (p == (const char *)vm->box.trade) {
		f = trade_fields, nf = sizeof trade_fields / sizeof *f, sym = vm->box.trade->sym_;
		side = vm->box.trade->side_;
	} else {
		return -1;
	}
	lua_createtable(to, 0, (int)nf + 2);
	lua_pushstring(to, symtab_name(engine_symtab(vm->host->eng), sym));
	lua_setfield(to, -2, "symbol");
	for (size_t i = 0; i < nf; i++) {
		double v;
		memcpy(&v, p + f[i].off, sizeof v);
		lua_pushnumber(to, v);
		lua_setfield(to, -2, f[i].name);
	}
	if (side) {
		lua_pushstring(to, oms_side_name(side));
		lua_setfield(to, -2, "side");
	}
	return 0;
}
#endif

/* Copies the value at `idx` of from onto the top of to. seen (in from) maps
 * tables already copied to their index in made (in to): shared and cyclic
 * tables stay shared. */
static int copy_value(lua_State *from, int idx, lua_State *to, int seen, int made, int depth,
		      char *path, size_t plen, char *err, size_t errlen)
{
	idx = lua_absindex(from, idx);
	switch (lua_type(from, idx)) {
	case LUA_TNIL: lua_pushnil(to); return 0;
	case LUA_TBOOLEAN: lua_pushboolean(to, lua_toboolean(from, idx)); return 0;
	case LUA_TNUMBER:
		if (lua_isinteger(from, idx))
			lua_pushinteger(to, lua_tointeger(from, idx));
		else
			lua_pushnumber(to, lua_tonumber(from, idx));
		return 0;
	case LUA_TSTRING: {
		size_t n;
		const char *str = lua_tolstring(from, idx, &n);
		lua_pushlstring(to, str, n);
		return 0;
	}
	case LUA_TTABLE: break;
	default:
#if GANTRY_LUAJIT
		if (copy_box(from, idx, to) == 0)
			return 0;
#endif
		snprintf(err, errlen, "%s is a %s: only plain data (tables, strings, numbers, "
				      "booleans) survives a reload",
			 path, luaL_typename(from, idx));
		return -1;
	}
	if (depth > COPY_DEPTH) {
		snprintf(err, errlen, "%s: tables nested more than %d deep", path, COPY_DEPTH);
		return -1;
	}
	lua_pushvalue(from, idx);
	if (lua_rawget(from, seen) == LUA_TNUMBER) {
		lua_rawgeti(to, made, lua_tointeger(from, -1));
		lua_pop(from, 1);
		return 0;
	}
	lua_pop(from, 1);
	lua_newtable(to);
	lua_Integer id = (lua_Integer)luaL_len(to, made) + 1;
	lua_pushvalue(to, -1);
	lua_rawseti(to, made, id);
	lua_pushvalue(from, idx);
	lua_pushinteger(from, id);
	lua_rawset(from, seen);
	size_t base = strlen(path);
	lua_pushnil(from);
	while (lua_next(from, idx) != 0) {
		int kt = lua_type(from, -2);
		if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN) {
			snprintf(err, errlen, "%s has a %s key: only plain data survives a reload",
				 path, luaL_typename(from, -2));
			lua_pop(from, 2);
			return -1;
		}
		if (kt == LUA_TSTRING)
			snprintf(path + base, plen - base, ".%s", lua_tostring(from, -2));
		else if (kt == LUA_TNUMBER && lua_isinteger(from, -2))
			snprintf(path + base, plen - base, "[%lld]",
				 (long long)lua_tointeger(from, -2));
		else if (kt == LUA_TNUMBER)
			snprintf(path + base, plen - base, "[%g]", (double)lua_tonumber(from, -2));
		else
			snprintf(path + base, plen - base, "[%s]",
				 lua_toboolean(from, -2) ? "true" : "false");
		if (copy_value(from, -2, to, seen, made, depth + 1, path, plen, err, errlen) != 0 ||
		    copy_value(from, -1, to, seen, made, depth + 1, path, plen, err, errlen) != 0) {
			lua_pop(from, 2);
			return -1;
		}
		lua_rawset(to, -3);
		lua_pop(from, 1);
		path[base] = '\0';
	}
	return 0;
}

/* from's ctx.state, copied onto to's stack; 0, or -1 with err. */
static int copy_state(struct vm *from, struct vm *to, char *err, size_t errlen)
{
	lua_State *F = from->L, *T = to->L;
	char path[512] = "state";
	if (!lua_checkstack(F, 2 * COPY_DEPTH + 16)) {
		snprintf(err, errlen, "reload: out of stack");
		return -1;
	}
	lua_newtable(F);
	int seen = lua_gettop(F);
	lua_newtable(T);
	int made = lua_gettop(T);
	lua_getfield(F, SLOT_CTX, "state");
	int rc = copy_value(F, -1, T, seen, made, 0, path, sizeof path, err, errlen);
	lua_settop(F, SLOT_TOP);
	if (rc != 0 || to->mem_exceeded) {
		if (rc == 0)
			snprintf(err, errlen, "reload: the state does not fit in the memory cap");
		lua_settop(T, SLOT_TOP);
		to->mem_exceeded = 0;
		return -1;
	}
	lua_remove(T, made);
	return 0;
}

static int lvm_migrate(struct vm *from, struct vm *to, char *err, size_t errlen)
{
	if (ABANDONED(to))
		return fail(to, err, errlen, "reload: %s", to->err);
	lua_State *T = to->L;
	if (!lua_checkstack(T, 2 * COPY_DEPTH + 16)) {
		snprintf(err, errlen, "reload: out of stack");
		return -1;
	}
	if (ABANDONED(from)) {
		/* its state went with it: the new version starts from an empty one */
		log_msg(LOG_WARN, "reload", "%s: the running version was stopped in JIT-compiled "
					    "code; its ctx.state is lost, the new version starts from an "
					    "empty one", from->path);
		lua_newtable(T);
	} else if (copy_state(from, to, err, errlen) != 0) {
		return -1;
	}
	if (to->info.callbacks & VM_ON_RELOAD) {
		lua_pushvalue(T, SLOT_CB0 + 7);
		lua_pushvalue(T, SLOT_CTX);
		lua_pushvalue(T, -3);
		lua_remove(T, -4);
		/* one result, left at the top on success */
		if (vm_pcall(to, 2, 1, "on_reload", to->budget_ns ? to->budget_ns : LOAD_BUDGET_NS) !=
		    VM_OK) {
			snprintf(err, errlen, "%s", to->err);
			return -1;
		}
		if (lua_isnil(T, -1)) {
			lua_pop(T, 1);
			lua_newtable(T);
		} else if (!lua_istable(T, -1)) {
			snprintf(err, errlen, "%s: on_reload must return the new state (a table), got %s",
				 to->path, luaL_typename(T, -1));
			lua_settop(T, SLOT_TOP);
			return -1;
		}
	}
	lua_setfield(T, SLOT_CTX, "state");
	lua_settop(T, SLOT_TOP);
	return 0;
}

static int lvm_modules(struct vm *vm, const char **paths, int max)
{
	int n = 0;
	for (int i = 0; i < vm->nmodules && n < max; i++)
		paths[n++] = vm->modules[i];
	return n;
}

static int lvm_alive(struct vm *vm)
{
	return !ABANDONED(vm);
}

static const char *lvm_error(struct vm *vm)
{
	return vm->err;
}

static size_t lvm_memory(struct vm *vm)
{
	return vm->mem_used;
}

const struct vm_ops vm_backend = {
#if GANTRY_LUAJIT
	.name = "LuaJIT 2.1",
#else
	.name = "Lua 5.4",
#endif
	.open = lvm_open,
	.close = lvm_close,
	.info = lvm_info,
	.describe_params = lvm_describe_params,
	.on_start = lvm_on_start,
	.on_bar = lvm_on_bar,
	.on_book = lvm_on_book,
	.on_trade = lvm_on_trade,
	.on_order = lvm_on_order,
	.on_fill = lvm_on_fill,
	.on_timer = lvm_on_timer,
	.on_stop = lvm_on_stop,
	.set_param = lvm_set_param,
	.migrate = lvm_migrate,
	.modules = lvm_modules,
	.error = lvm_error,
	.memory = lvm_memory,
	.in_callback = lvm_in_callback,
	.alive = lvm_alive,
};
