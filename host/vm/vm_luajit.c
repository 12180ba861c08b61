/*
 * vm_luajit — the LuaJIT 2.1 backend of host/vm/vm.h (`make VM=luajit`).
 * One lua_State per strategy; what both backends share is host/vm/vm.c.
 *
 * Events: bar, book and trade are FFI boxes (bindings/ctx_ffi.h) written in
 * place before each callback, so a strategy reads b.close as one load in
 * compiled code; order and fill events are reused tables set through the API
 * (vm.c's vm_call_event_raw: there are no setters here).
 * ctx:buy, ctx:sell and ctx:position have an FFI fast path.
 *
 * The compiler is off while a strategy loads (the load budget is a count
 * hook there, and hooks hold only in the interpreter) and on once it is in.
 * Compiled code never checks hooks: a loop the JIT compiled is stopped by
 * jumping out of the watchdog's signal handler (see the escape below), which
 * abandons the strategy's Lua state for good.
 */
#include <link.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

#include "ctx_ffi.h"
#include "log.h"
#include "vm-internal.h"

struct jit_vm {
	struct vm vm;	      /* first: see vm-internal.h */
	struct ctx_boxes box; /* the bar, book and trade events, filled in place */
	sigjmp_buf escape;
	volatile sig_atomic_t escape_armed; /* inside a budgeted callback on the main thread */
};

static struct jit_vm *jit(struct vm *vm)
{
	return (struct jit_vm *)vm;
}

/* ------------------------------------------------------------ the escape */

/*
 * LuaJIT's machine code never checks hooks (see LuaJIT's FAQ): a loop that
 * was compiled, `while true do end`, runs past the hook the watchdog arms.
 * When the watchdog signals a second time and finds the thread outside every
 * executable segment of the program and its libraries (so in JIT-compiled
 * code, which holds no lock and is halfway through nothing of the host's), the
 * handler jumps back to jit_pcall. The strategy's Lua state is then abandoned:
 * nothing runs in it again, vm_free frees it (lua_close resets its stack and
 * frames first, and runs no Lua: the sandbox lets no finalizer in, as
 * setmetatable refuses __gc and newproxy and ffi.gc are out of reach), and the
 * strategy is halted like any other over budget; a reload starts its next
 * version from an empty ctx.state. Anywhere else (the interpreter, C) the
 * hook will fire, so it waits. The table of executable segments is read on
 * the main thread at each open (so a library loaded since is in it); if it
 * overflows, or the PC cannot be read on this architecture, no jump is made,
 * and there the compiler stays off (see jit_open).
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

/* The watchdog's interrupt (a signal handler): out of compiled code, else
 * vm.c's hook. */
static void jit_interrupt(void *target, const void *uc, int nth)
{
	struct jit_vm *j = target;
	if (nth >= 2 && j->escape_armed && in_jit_code(uc)) {
		j->escape_armed = 0;
		siglongjmp(j->escape, 1);
	}
	vm_interrupt(target, uc, nth);
}

/* jit_pcall's landing after the jump: the callback is over, its state lost. */
static int escaped(struct vm *vm, const char *what, int64_t budget)
{
	vm_core_call_abandoned(); /* the jump skipped the end of vm_core_call */
	sigset_t sig;
	sigemptyset(&sig);
	sigaddset(&sig, SIGRTMIN); /* blocked while its handler ran; the jump skipped the unblock */
	pthread_sigmask(SIG_UNBLOCK, &sig, NULL);
	vm->abandoned = 1;
	snprintf(vm->err, sizeof vm->err,
		 "%s: %s: cpu budget of %.3g ms exceeded in JIT-compiled code", vm->path, what,
		 (double)budget / 1e6);
	return VM_ERRCPU;
}

/* vm_pcall, with the landing the escape jumps to while the watchdog watches. */
static int jit_pcall(struct vm *vm, int nargs, int nresults, const char *what, int64_t budget)
{
	/* nothing local is written after sigsetjmp: the jump keeps what it reads */
	if (budget > 0 && !vm->core.off_thread) {
		if (sigsetjmp(jit(vm)->escape, 0))
			return escaped(vm, what, budget);
		jit(vm)->escape_armed = 1;
	}
	int rc = vm_pcall(vm, nargs, nresults, what, budget);
	jit(vm)->escape_armed = 0;
	return rc;
}

/* ------------------------------------------------------------ events */

/* A boxed event, its fields already written. */
static inline int call_box(struct vm *vm, int kind)
{
	lua_State *L = vm->core.L;
	const struct event_kind *k = &vm_event_kinds[kind];
	lua_pushvalue(L, SLOT_CB0 + k->cb);
	lua_pushvalue(L, SLOT_CTX);
	lua_pushvalue(L, k->slot);
	return jit_pcall(vm, 2, 0, k->what, vm->core.budget_ns);
}

static int jit_on_bar(struct vm *vm, const struct bar *b)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	struct gantry_ev_bar *e = jit(vm)->box.bar;
	*e = (struct gantry_ev_bar){(double)b->time, b->open,  b->high, b->low,
				    b->close,	     b->volume, b->sym, NULL};
	return call_box(vm, EV_BAR);
}

/* A timeframe's bar: the bar box, its tf_ naming the timeframe. */
static int jit_on_frame_bar(struct vm *vm, const struct bar *b, int frame)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	struct gantry_ev_bar *e = jit(vm)->box.bar;
	*e = (struct gantry_ev_bar){(double)b->time, b->open,	b->high, b->low, b->close,
				    b->volume,	     b->sym, vm->info.timeframes[frame]};
	return call_box(vm, EV_BAR);
}

static int jit_on_book(struct vm *vm, const struct top_of_book *t)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	struct gantry_ev_book *e = jit(vm)->box.book;
	*e = (struct gantry_ev_book){(double)t->time, t->bid, t->bid_qty, t->ask, t->ask_qty, t->sym};
	return call_box(vm, EV_BOOK);
}

static int jit_on_trade(struct vm *vm, const struct trade_event *t)
{
	if (ABANDONED(vm))
		return VM_ERROR;
	struct gantry_ev_trade *e = jit(vm)->box.trade;
	*e = (struct gantry_ev_trade){(double)t->time, t->price, t->qty, t->sym, t->side};
	return call_box(vm, EV_TRADE);
}

/* ------------------------------------------------------------ reload */

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
 * as what Lua 5.4 keeps there, a table of the event's fields (vm->copy_own). */
static int copy_box(const struct vm *vm, int idx, lua_State *to)
{
	const struct ctx_boxes *box = &((const struct jit_vm *)vm)->box;
	const char *p = lua_topointer(vm->core.L, idx);
	const struct box_field *f;
	size_t nf;
	int32_t sym, side = 0;
	if (!p || !vm->host)
		return -1;
	if (p == (const char *)box->bar) {
		f = bar_fields, nf = sizeof bar_fields / sizeof *f, sym = box->bar->sym_;
	} else if (p == (const char *)box->book) {
		f = book_fields, nf = sizeof book_fields / sizeof *f, sym = box->book->sym_;
	} else if (p == (const char *)box->trade) {
		f = trade_fields, nf = sizeof trade_fields / sizeof *f, sym = box->trade->sym_;
		side = box->trade->side_;
	} else {
		return -1;
	}
	lua_createtable(to, 0, (int)nf + 2);
	lua_pushstring(to, symtab_name(vm->host->symtab, sym));
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
	if (p == (const char *)box->bar && box->bar->tf_) {
		lua_pushstring(to, box->bar->tf_);
		lua_setfield(to, -2, "timeframe");
	}
	return 0;
}

/* ------------------------------------------------------------ open */

static struct vm *jit_open(const struct vm_config *cfg, char *err, size_t errlen)
{
	struct vm *vm = vm_new(sizeof(struct jit_vm), cfg, vm_msgh, err, errlen);
	if (!vm)
		return NULL;
	vm->pcall = jit_pcall;
	vm->copy_own = copy_box;
	vm->core.interrupt = jit_interrupt;
	lua_State *L = vm->core.L;
	/* Loading runs interpreted: the load budget is a count hook (on a helper
	 * thread nothing can jump out of a compiled loop), and hooks hold only in
	 * the interpreter. The compiler is turned on once the strategy is in. */
	lua_interpreted(L);
	if (!cfg->off_thread)
		find_code();
	if (ctx_ffi_install(L, cfg->host, SLOT_CTX, &jit(vm)->box) != 0) {
		vm_fail(err, errlen, "%s: %s", cfg->path, lua_tostring(L, -1));
		goto failed;
	}
	lua_replace(L, SLOT_TRADE);
	lua_replace(L, SLOT_BOOK);
	lua_replace(L, SLOT_BAR);
	if (vm_load(vm, cfg, err, errlen) != 0)
		goto failed;
	vm->core.off_thread = 0; /* from here on it runs on the main thread */
#if defined(__x86_64__) || defined(__aarch64__)
	/* elsewhere the handler cannot see where a loop is: the compiler stays off */
	luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_ON);
#endif
	return vm;

failed:
	vm_free(vm);
	return NULL;
}

static void jit_close(struct vm *vm)
{
	if (!vm)
		return;
	if (vm->host && !vm->abandoned)
		log_msg(LOG_DEBUG, "vm", "%s: %llu orders through the FFI fast path", vm->info.name,
			(unsigned long long)ctx_ffi_orders(&jit(vm)->box));
	vm_free(vm);
}

const struct vm_ops vm_backend = {
	.name = "LuaJIT 2.1",
	.open = jit_open,
	.close = jit_close,
	.on_bar = jit_on_bar,
	.on_frame_bar = jit_on_frame_bar,
	.on_book = jit_on_book,
	.on_trade = jit_on_trade,
	VM_SHARED_OPS,
};
