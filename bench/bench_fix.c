/*
 * bench_fix — the FIX 4.4 codec on the hot path of an order: encoding a
 * NewOrderSingle as venue_fix.c does (header 49/56/34/52, then 11 55 54 60
 * 38 40 44 59, BodyLength and CheckSum) and framing + parsing an
 * ExecutionReport (a fill, 25 fields) and reading the fields venue_fix.c
 * reads (11 150 39 31 32 14 151 6 37 17 58). ns per message: the median and
 * p99 of the per-message mean of batches of 1024, for each and for the two
 * together (the goal: 1 us together). Never fails on time.
 *
 * Usage: bench_fix [MESSAGES]   (default 2097152)
 */
#include "clock.h"
#include "fix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 1024

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static volatile long sink;

static long encode_one(char *buf, size_t cap, int64_t seq, int64_t now)
{
	struct fix_writer w;
	char id[32];
	int n = snprintf(id, sizeof id, "R7-%lld-0", (long long)seq);
	fix_begin(&w, buf, cap, "D");
	fix_add_str(&w, 49, "HOST");
	fix_add_str(&w, 56, "EXEC");
	fix_add_int(&w, 34, seq);
	fix_add_time(&w, 52, now);
	fix_add_strn(&w, 11, id, (size_t)n);
	fix_add_str(&w, 55, "AAPL");
	fix_add_char(&w, 54, '1');
	fix_add_time(&w, 60, now);
	fix_add_price(&w, 38, 100);
	fix_add_char(&w, 40, '2');
	fix_add_price(&w, 44, 187.25 + (double)(seq & 7) * 0.01);
	fix_add_char(&w, 59, '0');
	const char *m;
	long len = fix_finish(&w, &m);
	sink += m[len - 2];
	return len;
}

static struct fix_msg msg;

static void parse_one(const char *p, size_t n)
{
	size_t used;
	const char *why;
	struct fix_error err;
	if (fix_frame(p, n, 8192, &used, &why) != FIX_FRAME_OK ||
	    fix_parse(p, used, &msg, &err) != 0)
		abort();
	char id[64], oid[64], eid[64];
	double px = 0, q = 0, cum = 0, leaves = 0, avg = 0;
	fix_get_str(&msg, 11, id, sizeof id);
	char et = fix_get_char(&msg, 150), st = fix_get_char(&msg, 39);
	fix_get_double(&msg, 31, &px);
	fix_get_double(&msg, 32, &q);
	fix_get_double(&msg, 14, &cum);
	fix_get_double(&msg, 151, &leaves);
	fix_get_double(&msg, 6, &avg);
	fix_get_str(&msg, 37, oid, sizeof oid);
	fix_get_str(&msg, 17, eid, sizeof eid);
	size_t tl;
	const char *text = fix_get(&msg, 58, &tl);
	sink += et + st + (long)(px + q + cum + leaves + avg) + id[0] + oid[0] + eid[0] +
		(text != NULL);
}

/* An ExecutionReport as the QuickFIX acceptor sends a fill. */
static size_t exec_report(char *buf, size_t cap, int k)
{
	char raw[512];
	int n = snprintf(raw, sizeof raw,
			 "37=O%d\00117=E%d\001150=F\00139=2\00111=R7-%d-0\00155=AAPL\00154=1\001"
			 "38=100\00140=2\00144=187.25\00159=0\001151=0\00114=100\0016=187.25\001"
			 "31=187.25\00132=100\00160=20261207-03:00:00.123\00158=filled\001",
			 k, k, k);
	struct fix_writer w;
	fix_begin(&w, buf, cap, "8");
	fix_add_str(&w, 49, "EXEC");
	fix_add_str(&w, 56, "HOST");
	fix_add_int(&w, 34, k + 2);
	fix_add_str(&w, 52, "20261207-03:00:00.123");
	fix_add_raw(&w, raw, (size_t)n);
	const char *m;
	long len = fix_finish(&w, &m);
	memmove(buf, m, (size_t)len);
	return (size_t)len;
}

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 2097152;
	long nb = total / BATCH;
	if (nb < 16)
		nb = 16;
	double *enc = malloc((size_t)nb * sizeof *enc), *par = malloc((size_t)nb * sizeof *par);
	double *both = malloc((size_t)nb * sizeof *both);
	enum { NIN = 64 };
	static char in[NIN][512];
	static size_t inlen[NIN];
	for (int k = 0; k < NIN; k++)
		inlen[k] = exec_report(in[k], sizeof in[k], k + 1);
	char buf[1024];
	int64_t now = clock_wall_ns(), seq = 1;
	long bytes = 0;
	for (long b = 0; b < nb; b++) {
		int64_t t0 = clock_mono_ns();
		for (int i = 0; i < BATCH; i++)
			bytes += encode_one(buf, sizeof buf, seq++, now + i);
		int64_t t1 = clock_mono_ns();
		for (int i = 0; i < BATCH; i++)
			parse_one(in[i % NIN], inlen[i % NIN]);
		int64_t t2 = clock_mono_ns();
		enc[b] = (double)(t1 - t0) / BATCH;
		par[b] = (double)(t2 - t1) / BATCH;
		both[b] = enc[b] + par[b];
	}
	qsort(enc, (size_t)nb, sizeof *enc, cmp_double);
	qsort(par, (size_t)nb, sizeof *par, cmp_double);
	qsort(both, (size_t)nb, sizeof *both, cmp_double);
	long p50 = nb / 2, p99 = nb * 99 / 100;
	printf("fix_codec: NewOrderSingle encode median %.0f ns p99 %.0f ns (%ld bytes)\n",
	       enc[p50], enc[p99], bytes / (nb * BATCH));
	printf(
	    "fix_codec: ExecutionReport frame+parse+read median %.0f ns p99 %.0f ns (%zu bytes)\n",
	    par[p50], par[p99], inlen[0]);
	printf(
	    "fix_codec: together median %.0f ns p99 %.0f ns (goal <= 1000 ns), %ld messages each\n",
	    both[p50], both[p99], nb * BATCH);
	free(enc);
	free(par);
	free(both);
	return sink == 42 ? 1 : 0;
}
