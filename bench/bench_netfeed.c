/*
 * bench_netfeed — an ITCH day into the books through a feed: the file
 * replay (file:PATH), a loopback SoupBinTCP session (soup://...) or a
 * loopback MoldUDP64 stream (mold://...), messages per second from the
 * first event to the end of the session. With --send-log FILE (the peer's
 * CLOCK_MONOTONIC send time of each message, u64 ns by sequence number,
 * written by feedpeer --send-log) it prints the receive-to-strategy latency:
 * from the peer handing the message to the kernel to the feed handing its
 * event to the engine (the moment a strategy's callback would start), over
 * the events of the followed symbol, p50 and p99.
 *
 *   bench_netfeed NAME URL|FILE [--symbol AAAA] [--send-log FILE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "feed.h"
#include "symtab.h"

static int64_t never(void *ud)
{
	(void)ud;
	return INT64_MAX;
}

static void nothing(void *ud, int64_t t)
{
	(void)ud;
	(void)t;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
			"usage: bench_netfeed NAME URL|FILE [--symbol S] [--send-log FILE]\n");
		return 2;
	}
	const char *name = argv[1], *src = argv[2], *sym = "AAAA", *send_log = NULL;
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--symbol"))
			sym = argv[i + 1];
		else if (!strcmp(argv[i], "--send-log"))
			send_log = argv[i + 1];
	}
	char err[2048];
	struct symtab *st = symtab_new();
	const char *syms[1] = {sym};
	struct itch_feed_config c = {.path = src, .symbols = syms, .nsymbols = 1};
	struct feed *f = feed_net_scheme(src) ? feed_net_open(src, NULL, &c, st, err, sizeof err)
					      : feed_itch_open(&c, st, err, sizeof err);
	if (!f) {
		fprintf(stderr, "bench_netfeed: %s\n", err);
		return 2;
	}
	struct feed_sink sink = {never, NULL, nothing, NULL};
	if (f->ops->start(f, &sink, err, sizeof err) != 0)
		return fprintf(stderr, "bench_netfeed: %s\n", err), 2;
	size_t cap = 1 << 20, nlat = 0;
	int64_t *recv_at = send_log ? malloc(cap * sizeof *recv_at) : NULL;
	long *seq_of = send_log ? malloc(cap * sizeof *seq_of) : NULL;
	struct feed_event ev;
	int64_t t0 = 0, t1 = 0;
	int r;
	while ((r = f->ops->next(f, &ev, err, sizeof err)) != 0) {
		if (r < 0)
			return fprintf(stderr, "bench_netfeed: %s\n", err), 2;
		if (r != 1 || ev.kind != FEED_BOOK)
			continue;
		int64_t now = clock_mono_ns();
		if (!t0)
			t0 = now;
		t1 = now;
		if (recv_at && nlat < cap) {
			recv_at[nlat] = now;
			seq_of[nlat++] = f->ops->messages(f); /* the message just applied */
		}
	}
	long msgs = f->ops->messages(f);
	double s = (double)(t1 - t0) / 1e9;
	printf("%-14s %ld msgs  %.3f s  %.0f msgs/s\n", name, msgs, s, s > 0 ? msgs / s : 0);
	feed_close(f); /* the peer writes its log once the session is over */
	f = NULL;
	if (send_log) {
		FILE *lf = NULL;
		for (int i = 0; i < 500 && !(lf = fopen(send_log, "rb")); i++) {
			struct timespec ts = {0, 20000000};
			nanosleep(&ts, NULL);
		}
		if (!lf)
			return perror(send_log), 2;
		fseek(lf, 0, SEEK_END);
		long n = ftell(lf) / 8;
		fseek(lf, 0, SEEK_SET);
		int64_t *sent = malloc((size_t)(n + 1) * sizeof *sent);
		if (fread(sent, 8, (size_t)n, lf) != (size_t)n)
			return fprintf(stderr, "bench_netfeed: %s: short\n", send_log), 2;
		fclose(lf);
		int64_t *lat = malloc((nlat + 1) * sizeof *lat);
		size_t k = 0;
		for (size_t i = 0; i < nlat; i++)
			if (seq_of[i] >= 1 && seq_of[i] <= n && sent[seq_of[i] - 1] > 0)
				lat[k++] = recv_at[i] - sent[seq_of[i] - 1];
		qsort(lat, k, sizeof *lat, cmp64);
		if (k)
			printf("%-14s receive-to-strategy latency over %zu events: p50 %.1f us  "
			       "p99 %.1f us\n",
			       name, k, lat[k / 2] / 1e3, lat[k * 99 / 100] / 1e3);
		free(lat);
		free(sent);
	}
	symtab_free(st);
	free(recv_at);
	free(seq_of);
	return 0;
}
