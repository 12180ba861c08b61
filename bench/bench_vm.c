/*
 * bench_vm — the cost of the sandbox and of hot reload (issue 5 figures):
 *   1. per-event cost of on_bar through the sandboxed VM (budget armed by
 *      the watchdog, counting allocator, reused event table) against a plain
 *      lua_State with luaL_openlibs calling the same function two ways: the
 *      plain way (lua_setfield per field), and the host's way (the fields
 *      set by a Lua setter that tail-calls the callback), which leaves the
 *      sandbox's own cost;
 *   2. reload swap time of a generated 500-line strategy (median, p99);
 *   3. memory of an idle strategy state (sma_cross after on_start).
 * Usage: bench_vm DIR (a scratch directory). Prints figures; never fails on time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua_compat.h"
#include "engine.h"
#include "engine-internal.h" /* the strategy's vm, to time it alone */
#include "log.h"
#include "symtab.h"

#define EVENTS 1000000
#define ROUNDS 7
#define RELOADS 200

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static const char counting[] = "local S = { params = { symbol = 'XYZ' } }\n"
			       "local n, s = 0, 0\n"
			       "function S.on_bar(ctx, bar) n = n + 1; s = s + bar.close end\n"
			       "return S\n";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static struct engine *engine_with(const char *path, struct symtab *st, double callback_ms)
{
	char err[2048];
	struct engine_config ec = {.cash = 100000, .memory_limit = 64u << 20, .callback_ms = callback_ms,
				   .seed = 1};
	struct engine *e = engine_new(&ec, st);
	if (!e || engine_add_strategy(e, path, NULL, 0, err, sizeof err) != 0) {
		fprintf(stderr, "bench_vm: %s\n", err);
		exit(2);
	}
	return e;
}

static double sandboxed(const char *path, double budget_ms)
{
	struct symtab *st = symtab_new();
	int sym = symtab_intern(st, "XYZ", 3);
	struct engine *e = engine_with(path, st, budget_ms);
	struct vm *v = e->strats[0].vm;
	struct bar b = {.time = 1, .open = 1, .high = 2, .low = 0.5, .close = 1.5, .volume = 10, .sym = sym};
	double t0 = now_ns();
	for (int i = 0; i < EVENTS; i++) {
		b.time = i;
		if (vm_backend.on_bar(v, &b) != VM_OK) {
			fprintf(stderr, "bench_vm: %s\n", vm_backend.error(v));
			exit(2);
		}
	}
	double ns = (now_ns() - t0) / EVENTS;
	engine_free(e);
	symtab_free(st);
	return ns;
}

/* A plain lua_State (luaL_openlibs, no sandbox, no watchdog) with the
 * counting strategy's module, a ctx and a bar table, and on_bar, pushed in
 * that order on top of what is already there. */
struct plain {
	lua_State *L;
	int ctx, bar, fn;
};

static void plain_open(struct plain *p, const char *setter)
{
	lua_State *L = p->L = luaL_newstate();
	luaL_openlibs(L);
	if ((setter && (luaL_loadstring(L, setter) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)) ||
	    luaL_loadstring(L, counting) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
		fprintf(stderr, "bench_vm: %s\n", lua_tostring(L, -1));
		exit(2);
	}
	int mod = lua_gettop(L);
	lua_newtable(L);
	p->ctx = lua_gettop(L);
	lua_newtable(L);
	p->bar = lua_gettop(L);
	lua_getfield(L, mod, "on_bar");
	p->fn = lua_gettop(L);
}

/* The same call the plain way: field names from C strings, lua_pcall with
 * no message handler. */
static double plain(void)
{
	struct plain p;
	plain_open(&p, NULL);
	lua_State *L = p.L;
	double t0 = now_ns();
	for (int i = 0; i < EVENTS; i++) {
		lua_pushstring(L, "XYZ");
		lua_setfield(L, p.bar, "symbol");
		lua_pushinteger(L, i);
		lua_setfield(L, p.bar, "time");
		lua_pushnumber(L, 1);
		lua_setfield(L, p.bar, "open");
		lua_pushnumber(L, 2);
		lua_setfield(L, p.bar, "high");
		lua_pushnumber(L, 0.5);
		lua_setfield(L, p.bar, "low");
		lua_pushnumber(L, 1.5);
		lua_setfield(L, p.bar, "close");
		lua_pushnumber(L, 10);
		lua_setfield(L, p.bar, "volume");
		lua_pushvalue(L, p.fn);
		lua_pushvalue(L, p.ctx);
		lua_pushvalue(L, p.bar);
		if (lua_pcall(L, 2, 0, 0) != LUA_OK)
			exit(2);
	}
	double ns = (now_ns() - t0) / EVENTS;
	lua_close(L);
	return ns;
}

/* The host's way without the sandbox: one protected call of a setter that
 * sets the fields in bytecode and tail-calls the callback. */
static double plain_setter(void)
{
	static const char setter[] =
		"return function(cb, ctx, ev, a, b, c, d, e, f, g)\n"
		"  ev.symbol = a; ev.time = b; ev.open = c; ev.high = d\n"
		"  ev.low = e; ev.close = f; ev.volume = g\n"
		"  return cb(ctx, ev)\nend\n";
	struct plain p;
	plain_open(&p, setter); /* the setter at 1 */
	lua_State *L = p.L;
	lua_pushstring(L, "XYZ");
	int sym = lua_gettop(L);
	double t0 = now_ns();
	for (int i = 0; i < EVENTS; i++) {
		lua_pushvalue(L, 1);
		lua_pushvalue(L, p.fn);
		lua_pushvalue(L, p.ctx);
		lua_pushvalue(L, p.bar);
		lua_pushvalue(L, sym);
		lua_pushinteger(L, i);
		lua_pushnumber(L, 1);
		lua_pushnumber(L, 2);
		lua_pushnumber(L, 0.5);
		lua_pushnumber(L, 1.5);
		lua_pushnumber(L, 10);
		if (lua_pcall(L, 10, 0, 0) != LUA_OK)
			exit(2);
	}
	double ns = (now_ns() - t0) / EVENTS;
	lua_close(L);
	return ns;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* A 500-line strategy: 60 helper functions and a state to migrate. */
static void write_big(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fprintf(f, "local ta = require 'gantry.ta'\nlocal S = { params = { symbol = 'XYZ', k = 3 } }\n");
	int lines = 2;
	for (int i = 0; lines < 480; i++) {
		fprintf(f, "local function helper%d(ctx, x)\n  local y = x * %d + 1\n"
			   "  if y > %d then y = y - %d end\n  for i = 1, 3 do y = y + i end\n"
			   "  ctx.state.h%d = y\n  return y\nend\n\n", i, i + 1, i * 7, i, i % 20);
		lines += 8;
	}
	fprintf(f, "function S.on_start(ctx) for i = 1, 200 do ctx.state['k' .. i] = { i, tostring(i), i * 0.5 } end end\n"
		   "function S.on_bar(ctx, bar) helper0(ctx, bar.close) end\n"
		   "function S.on_reload(ctx, old) return old end\nreturn S\n");
	lines += 4;
	fclose(f);
}

static void reloads(const char *dir)
{
	char path[4096], msg[4096];
	snprintf(path, sizeof path, "%s/big.lua", dir);
	write_big(path);
	struct symtab *st = symtab_new();
	symtab_intern(st, "XYZ", 3);
	struct engine *e = engine_with(path, st, 5);
	struct strategy *s = &e->strats[0];
	vm_backend.on_start(s->vm);
	double t[RELOADS], prep[RELOADS], swap[RELOADS];
	for (int i = 0; i < RELOADS; i++) {
		/* a save: compile and load off the loop, then state and swap on it */
		struct reload_job job = {.off_thread = 1};
		double t0 = now_ns();
		engine_reload_prepare(s, &job, 1);
		double t1 = now_ns();
		if (engine_reload_commit(&job, msg, sizeof msg) != 0) {
			fprintf(stderr, "bench_vm: %s\n", msg);
			exit(2);
		}
		double t2 = now_ns();
		t[i] = (t2 - t0) / 1e6;
		prep[i] = (t1 - t0) / 1e6;
		swap[i] = (t2 - t1) / 1e6;
	}
	qsort(t, RELOADS, sizeof t[0], cmp_double);
	qsort(prep, RELOADS, sizeof prep[0], cmp_double);
	qsort(swap, RELOADS, sizeof swap[0], cmp_double);
	FILE *f = fopen(path, "r");
	int lines = 0, c;
	while (f && (c = getc(f)) != EOF)
		lines += c == '\n';
	if (f)
		fclose(f);
	printf("reload of a %d-line strategy with a 200-entry state (%d reloads):\n"
	       "  swap between two events (state copy, on_reload, swap): median %.3f ms, p99 %.3f ms, max %.3f ms\n"
	       "  compile and load (off the loop when a save triggers it): median %.3f ms, p99 %.3f ms\n"
	       "  both, as ctl reload and SIGHUP run them in line: median %.3f ms, p99 %.3f ms\n",
	       lines, RELOADS, swap[RELOADS / 2], swap[RELOADS * 99 / 100], swap[RELOADS - 1],
	       prep[RELOADS / 2], prep[RELOADS * 99 / 100], t[RELOADS / 2], t[RELOADS * 99 / 100]);
	engine_free(e);
	symtab_free(st);
}

static void idle_memory(void)
{
	struct symtab *st = symtab_new();
	symtab_intern(st, "AAPL", 4);
	struct engine *e = engine_with(GANTRY_ROOT "/strategies/sma_cross.lua", st, 5);
	vm_backend.on_start(e->strats[0].vm);
	printf("idle strategy state (sma_cross after on_start): %.1f KiB\n",
	       (double)vm_backend.memory(e->strats[0].vm) / 1024.0);
	engine_free(e);
	symtab_free(st);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bench_vm DIR\n");
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/count.lua", argv[1]);
	write_file(path, counting);
	log_set_level(LOG_WARN);
	double best_s = INFINITY, best_p = INFINITY, best_n = INFINITY, best_q = INFINITY;
	for (int r = 0; r < ROUNDS; r++) { /* interleaved: a slow spell hits every side */
		double s = sandboxed(path, 5), n = sandboxed(path, 0), p = plain(),
		       q = plain_setter();
		best_s = s < best_s ? s : best_s;
		best_n = n < best_n ? n : best_n;
		best_p = p < best_p ? p : best_p;
		best_q = q < best_q ? q : best_q;
	}
	printf("on_bar per event (%s): sandboxed %.1f ns (%.1f ns without the CPU budget); plain "
	       "lua_State, fields by lua_setfield %.1f ns, by a setter in Lua %.1f ns: ",
	       vm_backend.name, best_s, best_n, best_p, best_q);
#if GANTRY_LUAJIT /* the host hands an FFI box, not a table: no like for like */
	printf("the FFI box takes %.1f ns less than that setter, budget included (best of %d rounds of "
	       "%d events)\n", best_q - best_s, ROUNDS, EVENTS);
#else
	printf("sandbox overhead %+.1f%% (against the latter, the host's way; best of %d rounds of %d "
	       "events)\n", (best_s / best_q - 1) * 100, ROUNDS, EVENTS);
#endif
	reloads(argv[1]);
	idle_memory();
	return 0;
}
