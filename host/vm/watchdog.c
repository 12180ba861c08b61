/*
 * watchdog — one thread, one signal (SIGRTMIN), one callback at a time
 * (the engine runs callbacks on one thread).
 */
#include "watchdog.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static struct {
	pthread_t main, thread;
	clockid_t clock;
	int started;
	atomic_int stop;
	atomic_uint_fast64_t seq;      /* odd while inside a callback */
	atomic_uint_fast64_t fire_seq; /* the seq the thread decided to interrupt */
	_Atomic(watchdog_interrupt) fn;
	_Atomic(void *) target;
	atomic_int_fast64_t budget;
	atomic_uint_fast64_t fired;
	atomic_int nth; /* the how-manyth signal to the callback of fire_seq */
} wd;

/* CPU time of the main thread: a callback is charged for what it runs, not
 * for the time the scheduler gave to another thread. */
static int64_t main_cpu_ns(void)
{
	struct timespec ts;
	if (clock_gettime(wd.clock, &ts) != 0)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_signal(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	uint64_t s = atomic_load_explicit(&wd.seq, memory_order_acquire);
	if ((s & 1) == 0 || s != atomic_load_explicit(&wd.fire_seq, memory_order_acquire))
		return;
	watchdog_interrupt fn = atomic_load_explicit(&wd.fn, memory_order_relaxed);
	void *target = atomic_load_explicit(&wd.target, memory_order_relaxed);
	int nth = atomic_load_explicit(&wd.nth, memory_order_relaxed);
	if (fn && target) {
		/* counted first: the interrupt may leave by siglongjmp */
		atomic_fetch_add_explicit(&wd.fired, 1, memory_order_relaxed);
		fn(target, uc, nth);
	}
}

static void *watch(void *arg)
{
	(void)arg;
	uint64_t seen = 0, fired_for = 0;
	int64_t since = main_cpu_ns(), next = 0;
	while (!atomic_load(&wd.stop)) {
		int64_t budget = atomic_load_explicit(&wd.budget, memory_order_relaxed);
		int64_t period = budget / 4;
		if (period <= 0 || period > 1000000)
			period = 1000000;
		if (period < 100000)
			period = 100000;
		struct timespec ts = {0, (long)period};
		nanosleep(&ts, NULL);
		uint64_t s = atomic_load_explicit(&wd.seq, memory_order_acquire);
		int64_t now = main_cpu_ns();
		if (s != seen) {
			seen = s;
			since = now;
			continue;
		}
		if (!(s & 1) || budget <= 0 || now - since < budget)
			continue;
		if (fired_for != s) { /* the first signal to this callback */
			fired_for = s;
			next = now + budget;
			atomic_store_explicit(&wd.nth, 1, memory_order_relaxed);
			atomic_store_explicit(&wd.fire_seq, s, memory_order_release);
			pthread_kill(wd.main, SIGRTMIN);
		} else if (now >= next) { /* still running a budget later: again */
			next = now + budget;
			atomic_fetch_add_explicit(&wd.nth, 1, memory_order_relaxed);
			pthread_kill(wd.main, SIGRTMIN);
		}
	}
	return NULL;
}

int watchdog_start(void)
{
	if (wd.started)
		return 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMIN, &sa, NULL) != 0)
		return -1;
	wd.main = pthread_self();
	if (pthread_getcpuclockid(wd.main, &wd.clock) != 0)
		wd.clock = CLOCK_MONOTONIC;
	atomic_store(&wd.stop, 0);
	/* the watcher must never take the signal itself */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	int rc = pthread_create(&wd.thread, NULL, watch, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	wd.started = 1;
	return 0;
}

void watchdog_stop(void)
{
	if (!wd.started)
		return;
	atomic_store(&wd.stop, 1);
	pthread_join(wd.thread, NULL);
	wd.started = 0;
}

void watchdog_enter(watchdog_interrupt fn, void *target, int64_t budget_ns)
{
	atomic_store_explicit(&wd.fn, fn, memory_order_relaxed);
	atomic_store_explicit(&wd.target, target, memory_order_relaxed);
	atomic_store_explicit(&wd.budget, budget_ns, memory_order_relaxed);
	uint64_t s = atomic_load_explicit(&wd.seq, memory_order_relaxed);
	atomic_store_explicit(&wd.seq, s + 1, memory_order_release);
}

void watchdog_leave(void)
{
	uint64_t s = atomic_load_explicit(&wd.seq, memory_order_relaxed);
	atomic_store_explicit(&wd.seq, s + 1, memory_order_release);
}

uint64_t watchdog_fired(void)
{
	return atomic_load(&wd.fired);
}

void watchdog_after_fork(void)
{
	/* the thread did not come across fork(): the next start makes one */
	wd.started = 0;
	atomic_store(&wd.stop, 0);
	atomic_store(&wd.seq, 0);
	atomic_store(&wd.fire_seq, 0);
}
