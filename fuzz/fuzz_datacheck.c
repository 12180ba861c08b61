/*
 * fuzz_datacheck — libFuzzer over the data integrity checks: any bytes are
 * a config (the first 16) and a stream of 48-byte records (a kind byte, a
 * symbol byte, a time and five doubles taken as they are: NaN, infinities,
 * extreme times), checked as bars or ticks. No finding may read out of
 * bounds, overflow or divide by zero (ASan, UBSan).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "datacheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static double dbl(const uint8_t *p)
{
	double v;
	memcpy(&v, p, sizeof v);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 16)
		return 0;
	struct datacheck_config c;
	datacheck_defaults(&c);
	for (int k = 0; k < DC__COUNT; k++)
		c.level[k] = data[k] % 3;
	c.gap_interval_s = data[9] & 1 ? dbl(data + 8) : 0; /* any double, as a config may give */
	if (!(c.gap_interval_s >= 0))
		c.gap_interval_s = 0;
	c.jump_pct = data[10] % 50;
	c.jump_sigmas = data[11] % 20;
	c.stale_run = data[12] % 8;
	c.volume_sigmas = data[13] % 20;
	c.window = 1 + data[14] % 64;
	c.warmup = data[15] % 32;
	struct datacheck *d = datacheck_new(&c);
	if (!d)
		return 0;
	char text[256];
	for (size_t at = 16; at + 48 <= size; at += 48) {
		const uint8_t *p = data + at;
		int64_t t;
		memcpy(&t, p + 8, sizeof t);
		int sym = p[1] % 16;
		struct datacheck_result r;
		unsigned mask;
		if (p[0] & 1) {
			struct bar b = {t,	     dbl(p + 16), dbl(p + 24),
					dbl(p + 32), dbl(p + 40), dbl(p + 16) - dbl(p + 40),
					sym};
			mask = datacheck_bar(d, &b, &r);
		} else {
			struct top_of_book top = {t, sym, dbl(p + 16), 1, dbl(p + 24), 1};
			struct trade_event tr = {t, sym, dbl(p + 32), dbl(p + 40), 0};
			mask = datacheck_tick(d, t, sym, p[0] & 2 ? &top : NULL,
					      p[0] & 4 ? &tr : NULL, &r);
		}
		for (int k = 0; k < DC__COUNT; k++)
			if (mask & (1u << k))
				datacheck_describe(k, &r, text, sizeof text);
		(void)datacheck_worst(&c, mask);
	}
	datacheck_free(d);
	return 0;
}
