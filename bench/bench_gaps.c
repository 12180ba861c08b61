/*
 * bench_gaps — the machine's own noise floor for latency tails: a thread
 * that only reads the clock, for SECONDS (default 3), counts the gaps
 * between two reads of 2 us and more (the thread was interrupted or
 * descheduled: timer ticks, other tenants of the host) and the time lost to
 * them. A tick-to-order window of under a microsecond that lands on such a
 * gap shows up in the probe's tail whatever the code does.
 * Usage: bench_gaps [SECONDS]. Prints one line; never fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3.0;
	if (!(secs > 0 && secs <= 600))
		secs = 3.0;
	int64_t prev = now_ns(), end = prev + (int64_t)(secs * 1e9);
	uint64_t reads = 0, g2 = 0, g10 = 0, g50 = 0, lost = 0;
	int64_t worst = 0;
	while (prev < end) {
		int64_t t = now_ns(), d = t - prev;
		if (d >= 2000) {
			g2++;
			g10 += d >= 10000;
			g50 += d >= 50000;
			lost += (uint64_t)d;
			worst = d > worst ? d : worst;
		}
		prev = t;
		reads++;
	}
	printf("clock-reading thread, %.0f s: gaps >= 2 us %llu (%.0f/s), >= 10 us %llu, >= 50 us %llu, "
	       "longest %.0f us, time lost %.2f%% (%llu reads)\n",
	       secs, (unsigned long long)g2, (double)g2 / secs, (unsigned long long)g10,
	       (unsigned long long)g50, (double)worst / 1e3, (double)lost / (secs * 1e7),
	       (unsigned long long)reads);
	return 0;
}
