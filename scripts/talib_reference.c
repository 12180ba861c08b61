/* talib_reference: prints TA-Lib's outputs for seeded bar series, the
 * expected values of spec/ta_spec.lua (spec/fixtures/talib/reference.csv).
 *
 * Not built by make: it needs TA-Lib's C sources, which we take from npm's
 * `talib` package (version 2.0.5 holds TA-Lib 0.6.0-dev's sources). To
 * rebuild the fixture, from the repository root:
 *
 *   (cd /tmp && npm pack talib@2.0.5 && tar xzf talib-2.0.5.tgz)
 *   L=/tmp/package/src/lib; mkdir -p /tmp/talibref
 *   for f in $L/src/ta_func/ta_*.c $L/src/ta_common/ta_global.c \
 *            $L/src/ta_common/ta_retcode.c $L/src/ta_common/ta_version.c; do
 *     cc -O2 -w -I$L/include -I$L/src/ta_common -I$L/src/ta_func \
 *        -c $f -o /tmp/talibref/$(basename $f .c).o; done
 *   ar rcs /tmp/talibref/libta.a /tmp/talibref/ta_*.o
 *   cc -std=c11 -O2 -Wall -I$L/include scripts/talib_reference.c \
 *      /tmp/talibref/libta.a -lm -o /tmp/talib_reference
 *   /tmp/talib_reference > spec/fixtures/talib/reference.csv
 *
 * One row per bar: the series it belongs to (indicators start over with
 * each series), the bar, then one column per output, empty while TA-Lib has
 * no value yet (its lookback). Numbers are printed with %.17g, so they read
 * back as the same doubles.
 *
 * Columns named *_exact are not TA-Lib's: TA-Lib's STDDEV and BBANDS use
 * mean(x^2) - mean(x)^2 and CCI sums the window in buffer order, which
 * lose digits (and on a flat window give rounding noise instead of 0). The
 * exact values are computed here in long double, two passes over the
 * window's deviations from its newest value; docs/ta.md says where gantry.ta follows them instead.
 *
 * Series: 1 a random walk; 2 a volatile stretch, then a flat run (equal
 * bars), then a quiet one (moves of 1e-4 on 100); 3 a rise with no losses
 * then tiny moves (1e-13) and a flat run; 4 moves of a few ulps on 1.0, where
 * RSI's average gain and loss are below TA-Lib's zero threshold (1e-14).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ta_libc.h"

#define MAXN 512

/* Parameters shared with spec/ta_spec.lua. */
enum { P_SMA = 10, P_RSI = 14, P_ATR = 14, P_STD = 20, P_MACD_F = 12,
       P_MACD_S = 26, P_MACD_G = 9, P_ADX = 14, P_CCI = 14, P_ROC = 10,
       P_WILLR = 14, P_DON = 20, P_KELT = 20, P_KELT_ATR = 10,
       P_STO_K = 5, P_STO_SK = 3, P_STO_SD = 3 };
#define BB_K 2.0
#define KELT_K 2.0
#define SAR_AF 0.02
#define SAR_MAX 0.2

struct series {
	int n;
	double o[MAXN], h[MAXN], l[MAXN], c[MAXN], v[MAXN];
};

struct col {
	const char *name;
	double val[MAXN];
	int has[MAXN];
};

#define MAXCOLS 40
static struct col cols[MAXCOLS];
static int ncols;

static uint64_t rng_state;

static double rng_unit(void)   /* xorshift64*, uniform in [0, 1) */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void bar(struct series *s, double open, double close, double spread, double vol)
{
	int i = s->n++;
	double hi = open > close ? open : close, lo = open < close ? open : close;
	s->o[i] = open;
	s->c[i] = close;
	s->h[i] = hi + spread * rng_unit();
	s->l[i] = lo - spread * rng_unit();
	s->v[i] = vol;
}

static void series_random(struct series *s)
{
	double x = 100.0;
	rng_state = 0x9E3779B97F4A7C15ULL;
	for (int i = 0; i < 150; i++) {
		double nx = x + (rng_unit() - 0.5) * 2.0;
		if (i % 17 == 5) nx = x;                      /* unchanged close */
		bar(s, x, nx, 0.8, floor(1000 + 9000 * rng_unit()));
		x = nx;
	}
}

static void series_flat_after_volatile(struct series *s)
{
	double x = 100.0;
	rng_state = 0xD1B54A32D192ED03ULL;
	for (int i = 0; i < 40; i++) {                /* volatile */
		double nx = x + (rng_unit() - 0.5) * 40.0;
		bar(s, x, nx, 10.0, floor(1000 + 9000 * rng_unit()));
		x = nx;
	}
	for (int i = 0; i < 40; i++) {                /* flat: equal bars */
		int k = s->n++;
		s->o[k] = s->h[k] = s->l[k] = s->c[k] = 100.25;
		s->v[k] = 500;
	}
	x = 100.25;
	for (int i = 0; i < 40; i++) {                /* quiet */
		double nx = 100.25 + (i % 3 - 1) * 1e-4;
		bar(s, x, nx, 1e-4, 700);
		x = nx;
	}
}

static void series_rsi_zero(struct series *s)
{
	double x = 1.0;
	for (int i = 0; i < 20; i++) {                /* rises: no losses */
		double nx = x + 0.01;
		bar(s, x, nx, 0.0, 100);
		x = nx;
	}
	for (int i = 0; i < 20; i++) {                /* tiny moves */
		double nx = x + ((i % 4 == 3) ? -1e-13 : 1e-13);
		bar(s, x, nx, 0.0, 100);
		x = nx;
	}
	for (int i = 0; i < 40; i++) bar(s, x, x, 0.0, 100);   /* flat */
}

/* Moves of a few ulps on 1.0: RSI's average gain and loss stay below
 * TA-Lib's zero threshold (1e-14) from the start, so TA-Lib's RSI is 0. */
static void series_rsi_tiny(struct series *s)
{
	double x = 1.0;
	for (int i = 0; i < 40; i++) {
		double nx = x + ((i % 3 == 2) ? -0x1p-51 : 0x1p-50);
		bar(s, x, nx, 0.0, 100);
		x = nx;
	}
}

static struct col *col(const char *name)
{
	for (int i = 0; i < ncols; i++)
		if (strcmp(cols[i].name, name) == 0) return &cols[i];
	if (ncols == MAXCOLS) { fprintf(stderr, "too many columns\n"); exit(1); }
	cols[ncols].name = name;
	return &cols[ncols++];
}

/* Stores TA-Lib's output of one call, aligned to the input bars. */
static void put(const char *name, TA_RetCode rc, int beg, int nb, const double *out, int n)
{
	struct col *k = col(name);
	if (rc != TA_SUCCESS) { fprintf(stderr, "%s: TA-Lib error %d\n", name, rc); exit(1); }
	for (int i = 0; i < n; i++) k->has[i] = 0;
	for (int i = 0; i < nb; i++) { k->val[beg + i] = out[i]; k->has[beg + i] = 1; }
}

static void put_exact(const char *name, int first, const long double *v, int n)
{
	struct col *k = col(name);
	for (int i = 0; i < n; i++) {
		k->has[i] = i >= first;
		k->val[i] = (double)v[i];
	}
}

/* Population std of each window of w values, two passes in long double
 * on the deviations from the newest value (exact differences), so windows
 * whose spread is far below their level keep their digits too. */
static void exact_std(const double *x, int n, int w, long double *mean, long double *out)
{
	for (int t = w - 1; t < n; t++) {
		long double m = 0, s = 0, z = x[t];
		for (int j = t - w + 1; j <= t; j++) m += x[j] - z;
		m /= w;
		for (int j = t - w + 1; j <= t; j++) s += (x[j] - z - m) * (x[j] - z - m);
		out[t] = sqrtl(s / w);
		mean[t] = z + m;
	}
}

static void exact_cci(const struct series *s, int w, long double *out)
{
	double tp[MAXN];
	for (int i = 0; i < s->n; i++) tp[i] = (s->h[i] + s->l[i] + s->c[i]) / 3;
	for (int t = w - 1; t < s->n; t++) {
		long double m = 0, d = 0, z = tp[t];   /* as in exact_std */
		for (int j = t - w + 1; j <= t; j++) m += tp[j] - z;
		m /= w;
		for (int j = t - w + 1; j <= t; j++) d += fabsl(tp[j] - z - m);
		long double dev = -m;
		out[t] = (dev == 0 || d == 0) ? 0 : dev / (0.015L * (d / w));
	}
}

static void run(const struct series *s)
{
	int n = s->n, e = n - 1, beg, nb;
	double a[MAXN], b[MAXN], c3[MAXN], tp[MAXN];
	long double x[MAXN], mean[MAXN];
	TA_RetCode rc;

	rc = TA_SMA(0, e, s->c, P_SMA, &beg, &nb, a);
	put("sma", rc, beg, nb, a, n);
	rc = TA_EMA(0, e, s->c, P_SMA, &beg, &nb, a);
	put("ema", rc, beg, nb, a, n);
	rc = TA_WMA(0, e, s->c, P_SMA, &beg, &nb, a);
	put("wma", rc, beg, nb, a, n);
	rc = TA_RSI(0, e, s->c, P_RSI, &beg, &nb, a);
	put("rsi", rc, beg, nb, a, n);
	rc = TA_ATR(0, e, s->h, s->l, s->c, P_ATR, &beg, &nb, a);
	put("atr", rc, beg, nb, a, n);
	rc = TA_STDDEV(0, e, s->c, P_STD, 1.0, &beg, &nb, a);
	put("stddev", rc, beg, nb, a, n);
	exact_std(s->c, n, P_STD, mean, x);
	put_exact("stddev_exact", P_STD - 1, x, n);
	rc = TA_MACD(0, e, s->c, P_MACD_F, P_MACD_S, P_MACD_G, &beg, &nb, a, b, c3);
	put("macd", rc, beg, nb, a, n);
	put("macd_signal", rc, beg, nb, b, n);
	put("macd_hist", rc, beg, nb, c3, n);
	rc = TA_BBANDS(0, e, s->c, P_STD, BB_K, BB_K, TA_MAType_SMA, &beg, &nb, a, b, c3);
	put("bb_upper", rc, beg, nb, a, n);
	put("bb_middle", rc, beg, nb, b, n);
	put("bb_lower", rc, beg, nb, c3, n);
	{
		long double up[MAXN], lo[MAXN];
		for (int t = P_STD - 1; t < n; t++) {
			up[t] = mean[t] + BB_K * x[t];
			lo[t] = mean[t] - BB_K * x[t];
		}
		put_exact("bb_upper_exact", P_STD - 1, up, n);
		put_exact("bb_lower_exact", P_STD - 1, lo, n);
	}
	rc = TA_ADX(0, e, s->h, s->l, s->c, P_ADX, &beg, &nb, a);
	put("adx", rc, beg, nb, a, n);
	rc = TA_PLUS_DI(0, e, s->h, s->l, s->c, P_ADX, &beg, &nb, a);
	put("plus_di", rc, beg, nb, a, n);
	rc = TA_MINUS_DI(0, e, s->h, s->l, s->c, P_ADX, &beg, &nb, a);
	put("minus_di", rc, beg, nb, a, n);
	rc = TA_STOCH(0, e, s->h, s->l, s->c, P_STO_K, P_STO_SK, TA_MAType_SMA,
		      P_STO_SD, TA_MAType_SMA, &beg, &nb, a, b);
	put("stoch_k", rc, beg, nb, a, n);
	put("stoch_d", rc, beg, nb, b, n);
	rc = TA_CCI(0, e, s->h, s->l, s->c, P_CCI, &beg, &nb, a);
	put("cci", rc, beg, nb, a, n);
	exact_cci(s, P_CCI, x);
	put_exact("cci_exact", P_CCI - 1, x, n);
	rc = TA_OBV(0, e, s->c, s->v, &beg, &nb, a);
	put("obv", rc, beg, nb, a, n);
	rc = TA_ROC(0, e, s->c, P_ROC, &beg, &nb, a);
	put("roc", rc, beg, nb, a, n);
	rc = TA_WILLR(0, e, s->h, s->l, s->c, P_WILLR, &beg, &nb, a);
	put("willr", rc, beg, nb, a, n);
	rc = TA_SAR(0, e, s->h, s->l, SAR_AF, SAR_MAX, &beg, &nb, a);
	put("sar", rc, beg, nb, a, n);
	rc = TA_MAX(0, e, s->h, P_DON, &beg, &nb, a);
	put("don_upper", rc, beg, nb, a, n);
	rc = TA_MIN(0, e, s->l, P_DON, &beg, &nb, a);
	put("don_lower", rc, beg, nb, a, n);
	/* Keltner: EMA(P_KELT) of the typical price +- KELT_K * ATR(P_KELT_ATR). */
	for (int i = 0; i < n; i++) tp[i] = (s->h[i] + s->l[i] + s->c[i]) / 3;
	rc = TA_EMA(0, e, tp, P_KELT, &beg, &nb, a);
	put("kc_middle", rc, beg, nb, a, n);
	rc = TA_ATR(0, e, s->h, s->l, s->c, P_KELT_ATR, &beg, &nb, b);
	put("kc_atr", rc, beg, nb, b, n);
}

static void print_header(void)
{
	printf("series,bar,open,high,low,close,volume");
	for (int i = 0; i < ncols; i++) printf(",%s", cols[i].name);
	printf("\n");
}

static void print_rows(int id, const struct series *s)
{
	for (int t = 0; t < s->n; t++) {
		printf("%d,%d,%.17g,%.17g,%.17g,%.17g,%.17g", id, t + 1,
		       s->o[t], s->h[t], s->l[t], s->c[t], s->v[t]);
		for (int i = 0; i < ncols; i++) {
			if (cols[i].has[t]) printf(",%.17g", cols[i].val[t]);
			else printf(",");
		}
		printf("\n");
	}
}

int main(void)
{
	static struct series s[4];
	if (TA_Initialize() != TA_SUCCESS) { fprintf(stderr, "TA_Initialize failed\n"); return 1; }
	series_random(&s[0]);
	series_flat_after_volatile(&s[1]);
	series_rsi_zero(&s[2]);
	series_rsi_tiny(&s[3]);
	for (int k = 0; k < 4; k++) {
		run(&s[k]);
		if (k == 0) print_header();
		print_rows(k + 1, &s[k]);
	}
	TA_Shutdown();
	return 0;
}
