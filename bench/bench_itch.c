/*
 * bench_itch — ITCH decode and book-building throughput on one file.
 *
 *   bench_itch --decode FILE    framing + decoding of every message
 *   bench_itch --books FILE     the same + book_apply on every message (all symbols)
 *
 * Prints messages, seconds, ns/message, messages/s and the peak RSS of the
 * process (getrusage). Time runs from open to the last message: the file
 * should already be in the page cache (bench/itch.bench.sh reads it first).
 * The book's tables are made (and faulted in) before that, as `gantry itch`
 * and a tick backtest do; that setup is printed on its own.
 */
#include "book.h"
#include "itch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "--decode") && strcmp(argv[1], "--books"))) {
		fprintf(stderr, "usage: bench_itch --decode|--books FILE\n");
		return 2;
	}
	int books = strcmp(argv[1], "--books") == 0;
	/* BENCH_ORDERS: the pool hint; without it the library default, as `gantry itch` */
	const char *bo = getenv("BENCH_ORDERS");
	struct book_config bc = {.orders_hint = bo ? (uint32_t)strtoul(bo, NULL, 10) : 0,
				 .prefault = 1};
	double ts = now_s();
	struct book_set *b = books ? book_set_new(&bc) : NULL;
	if (books && !b) {
		fprintf(stderr, "bench_itch: out of memory\n");
		return 2;
	}
	double setup = now_s() - ts;
	double t0 = now_s();
	struct itch_reader rd;
	char err[256];
	if (itch_reader_open(&rd, argv[2], err, sizeof err) != 0) {
		fprintf(stderr, "bench_itch: %s\n", err);
		return 2;
	}
	struct itch_msg m;
	struct book_event ev;
	uint64_t n = 0, sum = 0, errors = 0, tops = 0;
	int rc;
	/* BENCH_PREFETCH=FAR,NEAR frames ahead for the two hints; 0,0: off */
	const char *pf = getenv("BENCH_PREFETCH");
	int ahead_n = 16, near_n = 8;
	if (pf && sscanf(pf, "%d,%d", &ahead_n, &near_n) != 2)
		ahead_n = near_n = 0;
	struct itch_ahead ahead = {0}, near = {0};
	const uint8_t *p;
	size_t len;
	for (int i = 0; books && i < ahead_n; i++)
		if ((p = itch_reader_peek(&rd, &ahead, &len)))
			book_prefetch(b, p, len);
	for (int i = 0; books && i < near_n; i++)
		if ((p = itch_reader_peek(&rd, &near, &len)))
			book_prefetch_near(b, p, len);
	if (books) {
		while ((rc = itch_reader_next(&rd, &m)) != 0) {
			if (ahead_n && (p = itch_reader_peek(&rd, &ahead, &len)))
				book_prefetch(b, p, len);
			if (near_n && (p = itch_reader_peek(&rd, &near, &len)))
				book_prefetch_near(b, p, len);
			if (rc < 0) {
				errors++;
				continue;
			}
			n++;
			errors += book_apply(b, &m, &ev) != 0;
			tops += ev.top_changed;
		}
	} else {
		while ((rc = itch_reader_next(&rd, &m)) != 0) {
			if (rc < 0) {
				errors++;
				continue;
			}
			n++;
			sum += m.ts ^ m.locate ^ (uint8_t)m.type;
		}
	}
	double secs = now_s() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("%-14s %" PRIu64 " msgs  %.3f s  %.1f ns/msg  %.2f M msgs/s  peak RSS %.0f MB",
	       books ? "decode+books" : "decode", n, secs, secs * 1e9 / (double)(n ? n : 1),
	       (double)n / secs / 1e6, (double)ru.ru_maxrss / 1024.0);
	if (books)
		printf("  (peak live orders %" PRIu64 ", top-of-book changes %" PRIu64
		       ", setup %.0f ms)", book_peak_orders(b), tops, setup * 1e3);
	printf("  errors %" PRIu64 "  [%" PRIx64 "]\n", errors, sum & 0xff);
	itch_reader_close(&rd);
	book_set_free(b);
	return errors ? 1 : 0;
}
