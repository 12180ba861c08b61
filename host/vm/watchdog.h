/*
 * watchdog — CPU budget per callback at no cost on the hot path.
 *
 * A callback brackets itself with watchdog_enter/watchdog_leave: two plain
 * stores and a sequence bump, no syscall. A thread wakes every
 * budget/4 (at most 1 ms); when the same callback has used its budget of
 * the main thread's CPU time it signals the main thread, whose handler calls the interrupt
 * function given at enter (for Lua: arm a hook that raises an error). The
 * handler acts only if that same callback is still running. A callback that
 * is still running a budget later is signalled again, and again after each
 * further budget: `nth` counts the signals, and `ucontext` (a ucontext_t) is
 * where the signal found the thread, for an interrupt that must look (LuaJIT:
 * JIT-compiled loops never check hooks, see host/vm/vm_luajit.c).
 */
#ifndef GANTRY_WATCHDOG_H
#define GANTRY_WATCHDOG_H

#include <stdint.h>

typedef void (*watchdog_interrupt)(void *target, const void *ucontext, int nth);

/* Starts the thread once (idempotent). 0, or -1 when it could not start. */
int watchdog_start(void);
void watchdog_stop(void);
void watchdog_enter(watchdog_interrupt fn, void *target, int64_t budget_ns);
void watchdog_leave(void);
/* In a child after fork(): forgets the thread that stayed in the parent
 * and any callback in progress there, so the child's first start makes its own. */
void watchdog_after_fork(void);
/* How many interrupts were delivered since start. */
uint64_t watchdog_fired(void);

#endif
