/*
 * bench_mem — the machine's memory latency for the minute the books are
 * measured in: dependent reads of one cache line after another, in a random
 * cycle over a buffer (2 MB pages asked for, as the book tables do), so that
 * every read waits for the one before. The books' direct table (64 MB by
 * default) is read at random once a message: this is the latency its
 * prefetch hints have to hide on this machine. A dependent chain of
 * multiply-adds gives the CPU's own speed in the same minute, for contrast,
 * and 4 MB (past the 1 MB L2, inside a shared L3) how much of the L3 the
 * machine's other tenants leave us: a tick's code and state live there.
 * Usage: bench_mem [MB ...] (default 4 64 256). Prints one line; exits 1
 * when out of memory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

enum { LINE_WORDS = 8, READS = 5000000 };

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ns per read of a random cycle through the lines of mb megabytes; < 0 when
 * the memory is not there */
static double chase(size_t mb)
{
	size_t words = (mb << 20) / sizeof(uint64_t), lines = words / LINE_WORDS;
	uint64_t *a = mmap(NULL, words * sizeof *a, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t *order = malloc(lines * sizeof *order);
	if (a == MAP_FAILED || !order) {
		free(order);
		if (a != MAP_FAILED)
			munmap(a, words * sizeof *a);
		return -1;
	}
	madvise(a, words * sizeof *a, MADV_HUGEPAGE);
	/* Sattolo's shuffle: one cycle through every line, seeded (xorshift) */
	for (size_t i = 0; i < lines; i++)
		order[i] = (uint32_t)i;
	uint64_t s = 88172645463325252ull;
	for (size_t i = lines - 1; i > 0; i--) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		size_t j = s % i;
		uint32_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < lines; i++)
		a[(size_t)order[i] * LINE_WORDS] = (uint64_t)order[(i + 1) % lines] * LINE_WORDS;
	free(order);
	uint64_t p = 0; /* the pages were faulted in by the writes above */
	double t0 = now_s();
	for (int i = 0; i < READS; i++)
		p = a[p];
	double ns = (now_s() - t0) / READS * 1e9;
	volatile uint64_t sink = p;
	(void)sink;
	munmap(a, words * sizeof *a);
	return ns;
}

static double alu(void)
{
	uint64_t x = 1;
	const long n = 100000000;
	double t0 = now_s();
	for (long i = 0; i < n; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	double ns = (now_s() - t0) / (double)n * 1e9;
	volatile uint64_t sink = x;
	(void)sink;
	return ns;
}

int main(int argc, char **argv)
{
	size_t def[] = {4, 64, 256}, sizes[8];
	int n = 0;
	for (int i = 1; i < argc && n < 8; i++) {
		long mb = atol(argv[i]);
		if (mb >= 1 && mb <= 16384)
			sizes[n++] = (size_t)mb;
	}
	if (n == 0) {
		memcpy(sizes, def, sizeof def);
		n = (int)(sizeof def / sizeof *def);
	}
	printf("memory: a random read waiting on the one before (2 MB pages asked):");
	for (int i = 0; i < n; i++) {
		double ns = chase(sizes[i]);
		if (ns < 0) {
			printf("\n");
			fprintf(stderr, "bench_mem: no memory for %zu MB\n", sizes[i]);
			return 1;
		}
		printf(" %zu MB %.0f ns%s", sizes[i], ns, i + 1 < n ? "," : "");
	}
	printf("; a dependent multiply-add %.2f ns\n", alu());
	return 0;
}
